//! A request checked against a [`Recipe`]: read the headers, refuse a malformed signature or
//! timestamp, try every secret in turn, then judge freshness by the recipe's window. The
//! wording of the result is shared with the ModelGates reference (`wording`).

use std::fmt::Write as _;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::config::VerifyConfig;
use super::recipe::{Encoding, Recipe, Window};
use super::wording::{conclude, describe_skew};
use crate::model::capture::Header;
use crate::model::verdict::{Outcome, Verdict};
use crate::sanitize::escape_line;

impl Recipe {
    /// Verifies a request.
    pub fn verify(&self, headers: &[Header], body: &[u8], cfg: &VerifyConfig, now: i64) -> Verdict {
        let name = Some(self.name.as_str());
        let none_configured = cfg.secrets.is_empty();
        // Without a secret nothing is rejected: a bad header is only reported.
        let malformed = if none_configured {
            Outcome::Unverified
        } else {
            Outcome::MalformedHeader
        };
        let parsed = match self.parse_headers(headers) {
            Ok(Some(p)) => p,
            Ok(None) => {
                let o = if none_configured {
                    Outcome::Unverified
                } else {
                    Outcome::MissingHeader
                };
                return Verdict::new(name, o, format!("no {} header", self.header));
            }
            Err(why) => {
                return Verdict::new(name, malformed, why);
            }
        };
        if self.strict {
            let mac_len = self.algorithm.output_len();
            let well_formed = |c: &str| match self.encoding {
                Encoding::Hex => c.len() == mac_len * 2 && c.bytes().all(|b| b.is_ascii_hexdigit()),
                Encoding::Base64 => B64.decode(c).is_ok_and(|d| d.len() == mac_len),
            };
            if let Some(bad) = parsed.signatures.iter().find(|c| !well_formed(c)) {
                return Verdict::new(
                    name,
                    malformed,
                    format!(
                        "signature is not a {}-byte {} MAC (got {} characters)",
                        mac_len,
                        match self.encoding {
                            Encoding::Hex => "hex",
                            Encoding::Base64 => "base64",
                        },
                        bad.chars().count()
                    ),
                );
            }
        }
        let mut verdict = Verdict::new(name, Outcome::Unverified, "no secret configured");
        let ts = match parsed.timestamp.as_deref() {
            Some(t) => match t.parse::<i64>() {
                Ok(v) if t.bytes().all(|b| b.is_ascii_digit()) => Some(v),
                _ => {
                    return Verdict::new(
                        name,
                        malformed,
                        format!(
                            "timestamp {:?} is not unix seconds",
                            escape_line(t.as_bytes())
                        ),
                    );
                }
            },
            None => None,
        };
        verdict.timestamp = ts;
        verdict.skew_secs = ts.map(|t| t.saturating_sub(now));
        if none_configured {
            return verdict;
        }
        let t_text = parsed.timestamp.clone().unwrap_or_default();
        let id = parsed.id.clone().unwrap_or_default();
        let signed = self.signed_bytes(&self.template, &t_text, &id, body);
        let mut key_errors = Vec::new();
        let matched = cfg
            .secrets
            .iter()
            .enumerate()
            .find(|(i, s)| match self.key_bytes(s) {
                Ok(key) => self.matches(&key, &signed, &parsed.signatures),
                Err(e) => {
                    key_errors.push(format!("secret {i}: {e}"));
                    false
                }
            });
        let age = match verdict.skew_secs {
            Some(s) => describe_skew(s),
            None => "no timestamp".into(),
        };
        let tol = cfg.tolerance_secs.unsigned_abs();
        let fresh = match (self.window, verdict.skew_secs) {
            (Window::None, _) | (_, None) => true,
            (Window::Both, Some(s)) => s.unsigned_abs() <= tol,
            (Window::Past, Some(s)) => s >= 0 || s.unsigned_abs() <= tol,
        };
        conclude(&mut verdict, matched, fresh, cfg, &age);
        for e in key_errors {
            let _ = write!(verdict.reason, "; {e}");
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::secret::Secret;
    use rstest::rstest;

    #[rstest]
    fn sign_then_verify_for_every_algorithm_and_encoding(
        #[values("sha1", "sha256", "sha512")] alg: &str,
        #[values("hex", "base64")] enc: &str,
    ) {
        let r = Recipe::parse(&format!("header=X-S;split=bare;prefix=v=;timestamp_header=X-T;template={{t}}|{{body}};algorithm={alg};encoding={enc}")).unwrap();
        let secret = Secret::new("k").unwrap();
        let headers = r.sign(&secret, 1000, "", b"body").unwrap();
        let cfg = VerifyConfig {
            secrets: vec![secret],
            ..Default::default()
        };
        assert_eq!(
            r.verify(&headers, b"body", &cfg, 1000).outcome,
            Outcome::Valid
        );
        assert_eq!(
            r.verify(&headers, b"bodY", &cfg, 1000).outcome,
            Outcome::InvalidSignature
        );
    }
}
