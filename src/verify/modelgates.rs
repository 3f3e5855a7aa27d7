//! ModelGates: `X-ModelGates-Signature: t=<unix s>,v1=<hex>`, where
//! `v1 = lowercase hex HMAC-SHA256(secret, "<t>," ++ raw body)`.
//!
//! This is the reference implementation: it accepts exactly what the provider guide's receiver
//! accepts (comma-separated parts with optional spaces, any of several `v1` values, |skew| ≤
//! tolerance) and compares in constant time.

use std::sync::LazyLock;

use super::config::VerifyConfig;
use super::contract::{Evidence, Fault, Window, judge, required};
use super::mac::{self, Algorithm};
use super::recipe::Recipe;
use crate::model::capture::Header;
use crate::model::verdict::Verdict;

/// Scheme name in verdicts.
pub const NAME: &str = "modelgates";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-ModelGates-Signature";
/// The idempotency header (stable across retries of one event).
pub const IDEMPOTENCY_HEADER: &str = "X-ModelGates-Idempotency-Key";

/// A parsed signature header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The `t=` value.
    pub timestamp: i64,
    /// Every `v1=` value, in order.
    pub v1: Vec<String>,
}

/// A signature header that parsed, still borrowed from the request (verification copies
/// nothing out of it).
struct Parsed<'a> {
    timestamp: i64,
    /// The `t=` value as the signed string has it: the integer's digits, without leading
    /// zeros (what formatting `timestamp` gives).
    signed_t: &'a str,
    text: &'a str,
}

impl<'a> Parsed<'a> {
    /// The `v1=` values, in order (each already checked to be 64 hex characters).
    fn v1(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        parts(self.text).filter_map(|p| p.strip_prefix("v1="))
    }
}

fn parts(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// Parses `t=…,v1=…[,v1=…]` (parts separated by commas, optional spaces, unknown `key=value`
/// parts ignored; a part without `=` is malformed, as the reference says).
pub fn parse_header(value: &[u8]) -> Result<SignatureHeader, String> {
    let text = std::str::from_utf8(value).map_err(|_| "header is not valid UTF-8".to_string())?;
    let parsed = parse(text)?;
    Ok(SignatureHeader {
        timestamp: parsed.timestamp,
        v1: parsed.v1().map(str::to_owned).collect(),
    })
}

/// [`parse_header`] without copying: one pass that checks every part, allocating only for
/// the message of a malformed header.
fn parse(text: &str) -> Result<Parsed<'_>, String> {
    let mut timestamp = None;
    let mut has_v1 = false;
    for part in parts(text) {
        if let Some(t) = part.strip_prefix("t=") {
            if timestamp.is_some() {
                return Err("more than one t= part".into());
            }
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "t= is not unix seconds: {:?}",
                    crate::sanitize::escape_line(t.as_bytes())
                ));
            }
            let n = t
                .parse::<i64>()
                .map_err(|_| "t= is out of range".to_string())?;
            // Digits only, so the integer's decimal form is the text without leading zeros.
            let digits = t.trim_start_matches('0');
            timestamp = Some((n, if digits.is_empty() { "0" } else { digits }));
        } else if let Some(sig) = part.strip_prefix("v1=") {
            if sig.len() != 64 || !sig.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "v1= is not 64 hex characters (got {} characters)",
                    sig.chars().count()
                ));
            }
            has_v1 = true;
        } else if !part.contains('=') {
            return Err(format!(
                "part {:?} is not key=value (expected t=<unix seconds>,v1=<hex>)",
                crate::sanitize::escape_line(part.as_bytes())
            ));
        }
    }
    match (timestamp, has_v1) {
        (None, false) => Err("no t= and no v1= part (expected t=<unix seconds>,v1=<hex>)".into()),
        (None, true) => Err("no t= part (expected t=<unix seconds>,v1=<hex>)".into()),
        (Some(_), false) => Err("no v1= part (expected t=<unix seconds>,v1=<hex>)".into()),
        (Some((timestamp, signed_t)), true) => Ok(Parsed {
            timestamp,
            signed_t,
            text,
        }),
    }
}

/// The same scheme written as a recipe (used for diagnosis, and proven equivalent in tests).
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=modelgates;header=X-ModelGates-Signature;split=pairs;signature=v1;timestamp=t;template={t},{body};lowercase_only=true;strict=true",
    )
    .expect("built-in recipe")
}

/// [`recipe`], parsed once: the diagnosis of every failed ModelGates delivery reads it.
pub(crate) fn reference_recipe() -> &'static Recipe {
    static RECIPE: LazyLock<Recipe> = LazyLock::new(recipe);
    &RECIPE
}

/// Lowercase hex HMAC-SHA256 of `"<t>," ++ body`.
///
/// ```
/// use hooklens::verify::modelgates::sign;
/// let sig = sign(b"dev_secret", 1700000000, b"{}");
/// assert_eq!(sig, "bacdd267024c88db3912de7c03e346680375730ddd796d002a314e64ddbcbb20");
/// assert_ne!(sign(b"other", 1700000000, b"{}"), sig);
/// ```
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    hex::encode(mac::compute(
        Algorithm::Sha256,
        secret,
        &[t.as_bytes(), b",", body],
    ))
}

/// The full header value a provider would send: `t=<t>,v1=<hex>`.
pub fn signature_header(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

/// The `v1=` values as MACs, decoded on the stack. Uppercase hex is dropped (it never
/// matches): the provider sends lowercase and the guide's receiver compares strings.
fn candidates<'a>(v1: impl Iterator<Item = &'a str>) -> impl Iterator<Item = [u8; 32]> {
    v1.filter(|sig| !sig.bytes().any(|b| b.is_ascii_uppercase()))
        .filter_map(|sig| {
            let mut mac = [0u8; 32];
            hex::decode_to_slice(sig, &mut mac).ok().map(|()| mac)
        })
}

/// Verifies a ModelGates delivery.
///
/// ```
/// use hooklens::model::capture::Header;
/// use hooklens::model::secret::Secret;
/// use hooklens::verify::{Outcome, VerifyConfig, modelgates};
/// let cfg = VerifyConfig { secrets: vec![Secret::new("dev_secret").unwrap()], ..Default::default() };
/// let body = br#"{"type":"video.generation.completed"}"#;
/// let good = vec![Header::new("X-ModelGates-Signature", modelgates::signature_header(b"dev_secret", 1000, body))];
/// assert_eq!(modelgates::verify(&good, body, &cfg, 1010).outcome, Outcome::Valid);
/// let bad = vec![Header::new("X-ModelGates-Signature", modelgates::signature_header(b"wrong", 1000, body))];
/// assert_eq!(modelgates::verify(&bad, body, &cfg, 1010).outcome, Outcome::InvalidSignature);
/// ```
pub fn verify(headers: &[Header], body: &[u8], cfg: &VerifyConfig, now_secs: i64) -> Verdict {
    judge(NAME, &cfg.secrets, now_secs, evidence(headers, body, cfg))
}

fn evidence<'c>(
    headers: &[Header],
    body: &[u8],
    cfg: &'c VerifyConfig,
) -> Result<Evidence<'c>, Fault> {
    let raw = required(headers, SIGNATURE_HEADER)?;
    let parsed = parse(raw).map_err(Fault::Malformed)?;
    let signed: [&[u8]; 3] = [parsed.signed_t.as_bytes(), b",", body];
    let matched = cfg.secrets.iter().enumerate().find(|(_, secret)| {
        mac::secret_matches_any(Algorithm::Sha256, secret, signed, candidates(parsed.v1()))
    });
    Ok(Evidence {
        timestamp: Some(parsed.timestamp),
        window: Window::Both,
        tolerance: cfg.tolerance_secs,
        matched,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::secret::Secret;
    use crate::model::verdict::Outcome;
    use proptest::prelude::*;
    use rstest::rstest;

    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":"video.generation.completed","created_at":"2026-01-01T00:00:00Z","data":{"id":"job_test","status":"completed"}}"#;

    fn cfg(secrets: &[&str]) -> VerifyConfig {
        VerifyConfig {
            secrets: secrets.iter().map(|s| Secret::new(*s).unwrap()).collect(),
            tolerance_secs: 300,
            ..Default::default()
        }
    }

    fn with_sig(value: &str) -> Vec<Header> {
        vec![Header::new(SIGNATURE_HEADER, value.to_string())]
    }

    #[rstest]
    #[case::valid(signature_header(b"dev_secret", NOW, BODY), BODY, Outcome::Valid)]
    #[case::wrong_secret(signature_header(b"nope", NOW, BODY), BODY, Outcome::InvalidSignature)]
    #[case::tampered(
        signature_header(b"dev_secret", NOW, BODY),
        b"{}",
        Outcome::InvalidSignature
    )]
    #[case::stale_301(signature_header(b"dev_secret", NOW - 301, BODY), BODY, Outcome::Stale)]
    #[case::future_301(signature_header(b"dev_secret", NOW + 301, BODY), BODY, Outcome::Stale)]
    #[case::old_299(signature_header(b"dev_secret", NOW - 299, BODY), BODY, Outcome::Valid)]
    #[case::exactly_300(signature_header(b"dev_secret", NOW - 300, BODY), BODY, Outcome::Valid)]
    #[case::spaces(format!("t={NOW}, v1={}", sign(b"dev_secret", NOW, BODY)), BODY, Outcome::Valid)]
    #[case::second_v1(format!("t={NOW},v1={},v1={}", sign(b"x", NOW, BODY), sign(b"dev_secret", NOW, BODY)), BODY, Outcome::Valid)]
    #[case::uppercase(format!("t={NOW},v1={}", sign(b"dev_secret", NOW, BODY).to_uppercase()), BODY, Outcome::InvalidSignature)]
    #[case::no_v1(format!("t={NOW}"), BODY, Outcome::MalformedHeader)]
    #[case::no_t(format!("v1={}", sign(b"dev_secret", NOW, BODY)), BODY, Outcome::MalformedHeader)]
    #[case::ms_timestamp(format!("t=abc,v1={}", sign(b"dev_secret", NOW, BODY)), BODY, Outcome::MalformedHeader)]
    #[case::short_sig(format!("t={NOW},v1=abcd"), BODY, Outcome::MalformedHeader)]
    #[case::garbage("garbage".to_string(), BODY, Outcome::MalformedHeader)]
    fn verdict_matrix(#[case] header: String, #[case] body: &[u8], #[case] expected: Outcome) {
        let v = verify(&with_sig(&header), body, &cfg(&["dev_secret"]), NOW);
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }

    #[rstest]
    // signature-schemes.md §1 l.48: the header absent or its value empty is missing.
    #[case::absent(None, NOW, Outcome::MissingHeader)]
    #[case::empty(Some(String::new()), NOW, Outcome::MissingHeader)]
    #[case::blank(Some("  ".to_string()), NOW, Outcome::MissingHeader)]
    // §1 l.49: no t, no v1, a non-integer t, or an item without `=`.
    #[case::no_t(Some(format!("v1={}", sign(b"dev_secret", NOW, BODY))), NOW, Outcome::MalformedHeader)]
    #[case::no_v1(Some(format!("t={NOW}")), NOW, Outcome::MalformedHeader)]
    #[case::non_integer_t(Some(format!("t=1e9,v1={}", sign(b"dev_secret", NOW, BODY))), NOW, Outcome::MalformedHeader)]
    #[case::item_without_eq(Some(format!("t={NOW},v1,v1={}", sign(b"dev_secret", NOW, BODY))), NOW, Outcome::MalformedHeader)]
    // §1 l.50 (before l.51): |now − t| > 300 is stale, whether or not the signature matches.
    #[case::stale(Some(signature_header(b"dev_secret", NOW, BODY)), NOW + 301, Outcome::Stale)]
    #[case::stale_and_wrong(Some(signature_header(b"nope", NOW, BODY)), NOW + 301, Outcome::Stale)]
    // §1 l.51: no v1 equals the digest.
    #[case::invalid(
        Some(signature_header(b"nope", NOW, BODY)),
        NOW,
        Outcome::InvalidSignature
    )]
    // §1 l.56: t in milliseconds is stale (the signature matches the literal t).
    #[case::milliseconds(Some(signature_header(b"dev_secret", NOW * 1000, BODY)), NOW, Outcome::Stale)]
    #[case::valid(Some(signature_header(b"dev_secret", NOW, BODY)), NOW, Outcome::Valid)]
    fn contract(#[case] header: Option<String>, #[case] now: i64, #[case] expected: Outcome) {
        let headers = header.map(|h| with_sig(&h)).unwrap_or_default();
        let v = verify(&headers, BODY, &cfg(&["dev_secret"]), now);
        assert_eq!(v.outcome, expected, "{}", v.reason);
        if expected == Outcome::Stale {
            let says = if v.matched_secret.is_some() {
                "signature matches"
            } else {
                "no signature matches"
            };
            assert!(v.reason.contains(says), "{}", v.reason);
        }
    }

    #[test]
    fn missing_header_and_unverified() {
        assert_eq!(
            verify(&[], BODY, &cfg(&["dev_secret"]), NOW).outcome,
            Outcome::MissingHeader
        );
        let v = verify(
            &with_sig(&signature_header(b"k", NOW - 5, BODY)),
            BODY,
            &cfg(&[]),
            NOW,
        );
        assert_eq!(v.outcome, Outcome::Unverified);
        assert_eq!(v.skew_secs, Some(-5));
    }

    #[test]
    fn rotation_reports_index_and_fingerprint_never_the_secret() {
        let c = cfg(&["old_secret", "new_secret"]);
        let v = verify(
            &with_sig(&signature_header(b"new_secret", NOW, BODY)),
            BODY,
            &c,
            NOW,
        );
        assert_eq!(v.outcome, Outcome::Valid);
        let m = v.matched_secret.clone().unwrap();
        assert_eq!(m.index, 1);
        assert_eq!(m.fingerprint, c.secrets[1].fingerprint());
        let json = serde_json::to_string(&v).unwrap();
        assert!(!json.contains("new_secret") && !v.reason.contains("new_secret"));
    }

    #[test]
    fn skew_is_signed() {
        let v = verify(
            &with_sig(&signature_header(b"dev_secret", NOW + 400, BODY)),
            BODY,
            &cfg(&["dev_secret"]),
            NOW,
        );
        assert_eq!(v.skew_secs, Some(400));
        assert!(v.reason.contains("in the future"));
    }

    proptest! {
        /// The ModelGates scheme written as a custom recipe gives the same verdicts as the
        /// built-in reference implementation.
        #[test]
        fn recipe_form_agrees_with_the_reference(
            body in proptest::collection::vec(any::<u8>(), 0..120),
            signer in 0usize..3,
            offset in -400i64..400,
            variant in 0usize..9,
        ) {
            let secrets = ["dev_secret", "old_secret", "attacker"];
            let c = cfg(&secrets[..2]);
            let t = NOW + offset;
            let sig = sign(secrets[signer].as_bytes(), t, &body);
            let header = match variant {
                0 => format!("t={t},v1={sig}"),
                1 => format!("t={t}, v1={}, v1={sig}", sign(b"x", t, &body)),
                2 => format!("t={t},v1={}", sig.to_uppercase()),
                3 => format!("t={t},v1={}", &sig[..10]),
                4 => format!("v1={sig}"),
                5 => format!("t={t}"),
                6 => format!("t={}000,v1={sig}", t),
                7 => "garbage".to_string(),
                _ => format!("t=x{t},v1={sig}"),
            };
            let headers = with_sig(&header);
            let reference = verify(&headers, &body, &c, NOW);
            let custom = recipe().verify(&headers, &body, &c, NOW);
            prop_assert_eq!(reference.outcome, custom.outcome, "{} / {} for {}", reference.reason, custom.reason, header);
            prop_assert_eq!(reference.matched_secret, custom.matched_secret);
            if reference.outcome != Outcome::MalformedHeader {
                prop_assert_eq!(reference.skew_secs, custom.skew_secs);
            }
        }

        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_header(&bytes);
        }

        #[test]
        fn sign_then_verify_round_trips(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            // A blank secret is refused (`Secret::new`), so one starts with a visible character.
            secret in "[!-~][ -~]{0,39}",
            t in 0i64..4_000_000_000,
        ) {
            let c = cfg(&[secret.as_str()]);
            let headers = with_sig(&signature_header(secret.as_bytes(), t, &body));
            prop_assert_eq!(verify(&headers, &body, &c, t).outcome, Outcome::Valid);
        }
    }
}
