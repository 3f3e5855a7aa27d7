//! The verdict contract of `signature-schemes.md`, written once. Every scheme reads a request
//! into [`Evidence`] (or stops at a [`Fault`]) and [`judge`] turns that into the verdict, in the
//! contract's order:
//!
//! 1. `missing_header`: a header the scheme needs (signature, timestamp, id) is absent, or its
//!    value is empty (stripe-go's `ErrNotSigned`; the guide's `if (!signature)`);
//! 2. `malformed_header`: present but unparsable (no `t`, a non-integer timestamp, an item
//!    without `=`, a signature that is not a MAC of the scheme's size where the scheme says so);
//! 3. `stale`: the timestamp is outside the window. Judged before the signature, as the
//!    guide's receiver, stripe-go, the Standard Webhooks libraries and Slack's SDK do; the
//!    reason still says whether the signature matched;
//! 4. `invalid_signature`: no signature matches any configured secret;
//! 5. `valid`.
//!
//! Without a configured secret nothing is rejected: the outcome is `unverified`, and the reason
//! says what was wrong.

use super::wording::describe_skew;
use crate::model::capture::{Header, header_value};
use crate::model::secret::Secret;
use crate::model::verdict::{MatchedSecret, Outcome, Verdict};

/// Why a request stopped before its signature was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A needed header is absent or empty.
    Missing(String),
    /// A needed header is present but cannot be parsed.
    Malformed(String),
}

/// Which timestamps are too far off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// |now − t| ≤ tolerance.
    Both,
    /// Only old timestamps are refused (Stripe's SDKs).
    Past,
    /// No freshness check.
    None,
}

/// What a scheme read from a request that could be checked.
pub struct Evidence<'a> {
    /// The signed timestamp, unix seconds.
    pub timestamp: Option<i64>,
    /// Which timestamps are refused.
    pub window: Window,
    /// Allowed skew, seconds.
    pub tolerance: i64,
    /// The first secret whose MAC matched.
    pub matched: Option<(usize, &'a Secret)>,
    /// Said after the reason (which headers were read, what the signature does not cover).
    pub notes: Vec<String>,
}

/// A header the scheme needs: absent or empty is [`Fault::Missing`], not UTF-8 is
/// [`Fault::Malformed`]. The value comes back trimmed of surrounding spaces.
pub fn required<'a>(headers: &'a [Header], name: &str) -> Result<&'a str, Fault> {
    let raw =
        header_value(headers, name).ok_or_else(|| Fault::Missing(format!("no {name} header")))?;
    let text = std::str::from_utf8(raw)
        .map_err(|_| Fault::Malformed(format!("{name} is not valid UTF-8")))?
        .trim();
    if text.is_empty() {
        return Err(Fault::Missing(format!("{name} header is empty")));
    }
    Ok(text)
}

/// The first of `names` that is present (non-empty counts as present), as [`required`] reads
/// it; `Missing` names the first when none is.
pub fn first_of<'a, 'n>(
    headers: &'a [Header],
    names: &[&'n str],
) -> Result<(&'n str, &'a str), Fault> {
    let mut first = None;
    for name in names {
        match required(headers, name) {
            Ok(v) => return Ok((name, v)),
            Err(Fault::Missing(why)) => {
                first.get_or_insert(why);
            }
            Err(malformed) => return Err(malformed),
        }
    }
    Err(Fault::Missing(
        first.unwrap_or_else(|| "no signature header".into()),
    ))
}

/// The verdict for what a scheme read, by the contract above.
pub fn judge(
    name: &str,
    secrets: &[Secret],
    now: i64,
    read: Result<Evidence<'_>, Fault>,
) -> Verdict {
    let none_configured = secrets.is_empty();
    let evidence = match read {
        Ok(e) => e,
        Err(fault) => {
            let (outcome, why) = match fault {
                Fault::Missing(why) => (Outcome::MissingHeader, why),
                Fault::Malformed(why) => (Outcome::MalformedHeader, why),
            };
            let outcome = if none_configured {
                Outcome::Unverified
            } else {
                outcome
            };
            return Verdict::new(Some(name), outcome, why);
        }
    };
    let mut verdict = Verdict::new(Some(name), Outcome::Unverified, "no secret configured");
    verdict.timestamp = evidence.timestamp;
    verdict.skew_secs = evidence.timestamp.map(|t| t.saturating_sub(now));
    if none_configured {
        return verdict;
    }
    let age = match verdict.skew_secs {
        Some(s) => describe_skew(s),
        None => "no timestamp".into(),
    };
    let tol = evidence.tolerance.unsigned_abs();
    let fresh = match (evidence.window, verdict.skew_secs) {
        (Window::None, _) | (_, None) => true,
        (Window::Both, Some(s)) => s.unsigned_abs() <= tol,
        (Window::Past, Some(s)) => s >= 0 || s.unsigned_abs() <= tol,
    };
    let whom = if secrets.len() == 1 {
        "the configured secret".to_string()
    } else {
        format!("any of the {} configured secrets", secrets.len())
    };
    if let Some((index, secret)) = evidence.matched {
        verdict.matched_secret = Some(MatchedSecret {
            index,
            fingerprint: secret.fingerprint(),
        });
    }
    (verdict.outcome, verdict.reason) = match (fresh, evidence.matched) {
        (false, Some(_)) => (
            Outcome::Stale,
            format!("signature matches but timestamp is {age}, outside the {tol} s tolerance"),
        ),
        (false, None) => (
            Outcome::Stale,
            format!(
                "timestamp is {age}, outside the {tol} s tolerance (and no signature matches {whom} either)"
            ),
        ),
        (true, Some((index, _))) => (
            Outcome::Valid,
            format!("signature matches secret {index} ({age})"),
        ),
        (true, None) => (
            Outcome::InvalidSignature,
            format!("no signature matches {whom} ({age})"),
        ),
    };
    for note in evidence.notes {
        verdict.reason.push_str("; ");
        verdict.reason.push_str(&note);
    }
    verdict
}
