//! How a verdict is worded once the MAC check is done. Shared by the ModelGates reference and
//! recipes so both word their reasons the same way.

use super::config::VerifyConfig;
use crate::model::secret::Secret;
use crate::model::verdict::{MatchedSecret, Outcome, Verdict};

/// Fills in a verdict once the MAC check is done: which secret matched (if any) and whether
/// the timestamp is fresh.
pub(crate) fn conclude(
    verdict: &mut Verdict,
    matched: Option<(usize, &Secret)>,
    fresh: bool,
    cfg: &VerifyConfig,
    age: &str,
) {
    match matched {
        None => {
            verdict.outcome = Outcome::InvalidSignature;
            let whom = if cfg.secrets.len() == 1 {
                "the configured secret".to_string()
            } else {
                format!("any of the {} configured secrets", cfg.secrets.len())
            };
            verdict.reason = format!("no signature matches {whom} ({age})");
        }
        Some((index, secret)) => {
            verdict.matched_secret = Some(MatchedSecret {
                index,
                fingerprint: secret.fingerprint(),
            });
            if fresh {
                verdict.outcome = Outcome::Valid;
                verdict.reason = format!("signature matches secret {index} ({age})");
            } else {
                verdict.outcome = Outcome::Stale;
                verdict.reason = format!(
                    "signature matches but timestamp is {age}, outside the {} s tolerance",
                    cfg.tolerance_secs
                );
            }
        }
    }
}

/// `12 s old`, `5 s in the future`, `current`.
pub fn describe_skew(skew: i64) -> String {
    match skew {
        0 => "current".into(),
        s if s < 0 => format!("{} s old", s.unsigned_abs()),
        s => format!("{s} s in the future"),
    }
}
