//! The verdict steps the code schemes (asymmetric, URL-signed, token) share, in the order the
//! contract in the signature reference gives: a header that is absent or empty is
//! `missing_header`, one that is present but unparsable is `malformed_header`, then every key
//! is tried (constant time, in the scheme), then freshness decides `stale` over `valid`.
//! Without a configured key nothing is rejected: the verdict is `unverified`.

use std::fmt::Write as _;

use super::config::VerifyConfig;
use super::diagnose::reserialized;
use super::recipe::Window;
use super::wording::{conclude, describe_skew};
use crate::model::capture::{Header, header_value};
use crate::model::secret::Secret;
use crate::model::verdict::{Hint, Outcome, Verdict};

/// A header's value when it is present and not empty (an empty one counts as absent).
pub(crate) fn present<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    header_value(headers, name).filter(|v| !v.is_empty())
}

/// `missing_header` (or `unverified` when no key is configured) with `reason`.
pub(crate) fn missing(scheme: &str, cfg: &VerifyConfig, reason: impl Into<String>) -> Verdict {
    let outcome = if cfg.secrets.is_empty() {
        Outcome::Unverified
    } else {
        Outcome::MissingHeader
    };
    Verdict::new(Some(scheme), outcome, reason)
}

/// `malformed_header` (or `unverified` when no key is configured) with `reason`.
pub(crate) fn malformed(scheme: &str, cfg: &VerifyConfig, reason: impl Into<String>) -> Verdict {
    let outcome = if cfg.secrets.is_empty() {
        Outcome::Unverified
    } else {
        Outcome::MalformedHeader
    };
    Verdict::new(Some(scheme), outcome, reason)
}

/// A unix-seconds timestamp as sent: digits only, else `None`.
pub(crate) fn unix_seconds(text: &[u8]) -> Option<i64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Tries every configured key with `matches` (which says whether the key verifies the
/// request, or why the key itself is unusable) and words the verdict. `ts` is the signed
/// timestamp in unix seconds, judged by `window` against the configured tolerance.
pub(crate) fn judge(
    scheme: &str,
    cfg: &VerifyConfig,
    ts: Option<i64>,
    now: i64,
    window: Window,
    mut matches: impl FnMut(&Secret) -> Result<bool, String>,
) -> Verdict {
    let mut verdict = Verdict::new(Some(scheme), Outcome::Unverified, "no secret configured");
    verdict.timestamp = ts;
    verdict.skew_secs = ts.map(|t| t.saturating_sub(now));
    if cfg.secrets.is_empty() {
        return verdict;
    }
    let mut key_errors = Vec::new();
    let matched = cfg
        .secrets
        .iter()
        .enumerate()
        .find(|(i, s)| match matches(s) {
            Ok(m) => m,
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
    let fresh = match (window, verdict.skew_secs) {
        (Window::None, _) | (_, None) => true,
        (Window::Both, Some(s)) => s.unsigned_abs() <= tol,
        (Window::Past, Some(s)) => s >= 0 || s.unsigned_abs() <= tol,
    };
    conclude(&mut verdict, matched, fresh, cfg, &age);
    // Keys of another scheme's form are noise once one matched (a listener for several
    // providers holds several kinds of key).
    if verdict.outcome == Outcome::Valid {
        key_errors.clear();
    }
    for e in key_errors {
        let _ = write!(verdict.reason, "; {e}");
    }
    verdict
}

/// On an invalid signature, the confirmed `body_reserialized` hint when `matches` accepts a
/// re-serialization of the JSON body (the same code and wording as the recipes' diagnosis).
pub(crate) fn body_hint(v: &mut Verdict, body: &[u8], matches: impl Fn(&[u8]) -> bool) {
    if v.outcome != Outcome::InvalidSignature {
        return;
    }
    if let Some((_, how)) = reserialized(body).into_iter().find(|(b, _)| matches(b)) {
        v.hints.push(Hint {
            code: "body_reserialized".into(),
            message: format!(
                "the signature matches a {how} re-serialization of the JSON body, not the bytes that arrived: something parsed and re-encoded the body; sign and verify the raw bytes"
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_digits_only() {
        assert_eq!(unix_seconds(b"1700000000"), Some(1_700_000_000));
        for bad in [&b""[..], b"-1", b"1.5", b" 1", b"99999999999999999999"] {
            assert_eq!(unix_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_empty_header_is_absent() {
        let h = [Header::new("X-A", ""), Header::new("X-B", "v")];
        assert_eq!(present(&h, "x-a"), None);
        assert_eq!(present(&h, "x-b"), Some(&b"v"[..]));
    }
}
