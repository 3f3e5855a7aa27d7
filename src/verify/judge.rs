//! What the code schemes (asymmetric, URL-signed, token) share on the way to the one verdict
//! mapping in `contract`: reading a header (absent or empty counts as absent), trying every
//! key (constant time, in the scheme) and collecting why a key of another form could not be
//! used, and the re-serialized-body hint.

use super::config::VerifyConfig;
use super::contract::{self, Evidence, Fault, Window};
use super::diagnose::reserialized;
use crate::model::capture::{Header, header_value};
use crate::model::secret::Secret;
use crate::model::text::ByteStr;
use crate::model::verdict::{Hint, Outcome, Verdict};

/// A header's value when it is present and not empty (an empty one counts as absent).
pub(crate) fn present<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    header_value(headers, name).filter(|v| !v.is_empty())
}

/// `missing_header` (or `unverified` when no key is configured) with `reason`.
pub(crate) fn missing(scheme: &str, cfg: &VerifyConfig, reason: impl Into<String>) -> Verdict {
    contract::judge(
        ByteStr::copy_from(scheme),
        &cfg.secrets,
        0,
        Err(Fault::Missing(reason.into())),
    )
}

/// `malformed_header` (or `unverified` when no key is configured) with `reason`.
pub(crate) fn malformed(scheme: &str, cfg: &VerifyConfig, reason: impl Into<String>) -> Verdict {
    contract::judge(
        ByteStr::copy_from(scheme),
        &cfg.secrets,
        0,
        Err(Fault::Malformed(reason.into())),
    )
}

/// The base64 MAC `raw` of `header`, which must decode to `len` bytes (`what` names it in the
/// verdict: "32-byte HMAC-SHA256"); else the `malformed_header` verdict.
pub(crate) fn decode_mac(
    scheme: &str,
    cfg: &VerifyConfig,
    header: &str,
    raw: &[u8],
    len: usize,
    what: &str,
) -> Result<Vec<u8>, Box<Verdict>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(raw)
        .ok()
        .filter(|s| s.len() == len)
        .ok_or_else(|| {
            Box::new(malformed(
                scheme,
                cfg,
                format!("{header} is not a base64 {what}"),
            ))
        })
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
    // Keys of another scheme's form are noise once one matched (a listener for several
    // providers holds several kinds of key).
    if matched.is_some() {
        key_errors.clear();
    }
    let evidence = Evidence {
        timestamp: ts,
        window,
        tolerance: cfg.tolerance_secs,
        matched,
        notes: key_errors,
    };
    contract::judge(ByteStr::copy_from(scheme), &cfg.secrets, now, Ok(evidence))
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
