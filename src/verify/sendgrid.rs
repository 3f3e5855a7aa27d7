//! SendGrid Event Webhook: `X-Twilio-Email-Event-Webhook-Signature` (base64 DER ECDSA
//! signature) over `X-Twilio-Email-Event-Webhook-Timestamp` ++ raw body, ECDSA P-256 with
//! SHA-256, checked with the "Verification Key" SendGrid shows: base64 DER
//! SubjectPublicKeyInfo (a PEM `-----BEGIN PUBLIC KEY-----` block is read too).
//!
//! SendGrid's own helper (`@sendgrid/eventwebhook` `verifySignature`) does not judge the
//! timestamp, so neither does this; the skew is shown.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey};

use super::config::VerifyConfig;
use super::judge::{body_hint, judge, malformed, missing, present, unix_seconds};
use super::recipe::Window;
use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::model::verdict::Verdict;

/// Scheme name.
pub const NAME: &str = "sendgrid";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Email-Event-Webhook-Signature";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Twilio-Email-Event-Webhook-Timestamp";

/// The DER bytes of a key given as base64, or as a PEM block.
fn der(text: &str) -> Result<Vec<u8>, String> {
    let b64: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.trim().chars())
        .collect();
    B64.decode(b64)
        .map_err(|_| "not base64 DER (SendGrid's Verification Key)".to_string())
}

fn public_key(s: &Secret) -> Result<VerifyingKey, String> {
    let bytes = der(s.expose_str())?;
    VerifyingKey::from_public_key_der(&bytes).map_err(|_| {
        if SigningKey::from_pkcs8_der(&bytes).is_ok() {
            "this is a P-256 private key; give the public Verification Key".to_string()
        } else {
            "not a P-256 public key (base64 DER SubjectPublicKeyInfo)".to_string()
        }
    })
}

/// Whether `s` is a key SendGrid can be checked with.
pub fn is_key(s: &Secret) -> bool {
    public_key(s).is_ok()
}

/// Verifies a SendGrid Event Webhook delivery.
pub fn verify(headers: &[Header], body: &[u8], cfg: &VerifyConfig, now: i64) -> Verdict {
    let Some(sig) = present(headers, SIGNATURE_HEADER) else {
        return missing(NAME, cfg, format!("no {SIGNATURE_HEADER} header"));
    };
    let Some(ts) = present(headers, TIMESTAMP_HEADER) else {
        return missing(NAME, cfg, format!("no {TIMESTAMP_HEADER} header"));
    };
    let Some(sig) = B64
        .decode(sig)
        .ok()
        .and_then(|d| Signature::from_der(&d).ok())
    else {
        return malformed(
            NAME,
            cfg,
            format!("{SIGNATURE_HEADER} is not a base64 DER ECDSA signature"),
        );
    };
    let signed = [ts, body].concat();
    let mut v = judge(NAME, cfg, unix_seconds(ts), now, Window::None, |s| {
        Ok(public_key(s)?.verify(&signed, &sig).is_ok())
    });
    v.reason = format!("ECDSA P-256: {}", v.reason);
    let keys: Vec<VerifyingKey> = cfg
        .secrets
        .iter()
        .filter_map(|s| public_key(s).ok())
        .collect();
    body_hint(&mut v, body, |b| {
        let signed = [ts, b].concat();
        keys.iter().any(|k| k.verify(&signed, &sig).is_ok())
    });
    v
}

/// Another P-256 private key in the same form as `secret`, for `send --break wrong-secret`.
pub fn other_key(secret: &Secret) -> Option<Secret> {
    use p256::pkcs8::EncodePrivateKey;
    let key = SigningKey::from_pkcs8_der(&der(secret.expose_str()).ok()?).ok()?;
    let mut bytes = key.to_bytes();
    bytes[31] ^= 1;
    let other = SigningKey::from_bytes(&bytes).ok()?;
    let der = other.to_pkcs8_der().ok()?;
    Secret::new(B64.encode(der.as_bytes())).ok()
}

/// Signs a delivery as SendGrid does, with a base64 DER (PKCS#8) P-256 private key.
pub fn sign(secret: &Secret, ts: i64, body: &[u8]) -> Result<Vec<Header>, String> {
    let key = SigningKey::from_pkcs8_der(&der(secret.expose_str())?)
        .map_err(|_| "sendgrid signs with a base64 DER (PKCS#8) P-256 private key")?;
    let t = ts.to_string();
    let mut signed = t.clone().into_bytes();
    signed.extend_from_slice(body);
    let sig: DerSignature = key.sign(&signed);
    Ok(vec![
        Header::new(SIGNATURE_HEADER, B64.encode(sig.as_bytes())),
        Header::new(TIMESTAMP_HEADER, t),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::verdict::Outcome;
    use rstest::rstest;

    // SendGrid's published example: sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js
    // (PUBLIC_KEY, SIGNATURE, TIMESTAMP, PAYLOAD = JSON.stringify({...})); re-checked with
    // python3 `cryptography` 48.0.0 (load_der_public_key(...).verify(sig, ts + payload,
    // ECDSA(SHA256()))).
    const KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
    const OTHER_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==";
    const SIG: &str = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    const BAD_SIG: &str = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=";
    const TS: &str = "1588788367";
    const PAYLOAD: &[u8] =
        br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
    // A key pair made with python3 `cryptography` 48.0.0:
    // ec.derive_private_key(12345678901234567890, SECP256R1()), DER SPKI / PKCS#8, base64.
    const PY_PUBLIC: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPteijsZI7c5dW34lL2sqr7tEg1EUoks8qo9xD2SZO8JXEaNM3JIpCAtjnwmXf+t8qR7M4WSb/qithccrIGrefg==";
    const PY_PRIVATE: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAq1SpjOsfCtKhRANCAAQ+16KOxkjtzl1bfiUvayqvu0SDURSiSzyqj3EPZJk7wlcRo0zckikIC2OfCZd/63ypHszhZJv+qK2Fxysgat5+";

    fn check(key: &str, sig: &str, ts: &str, body: &[u8]) -> Verdict {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(key).unwrap()],
            ..Default::default()
        };
        let h = vec![
            Header::new(SIGNATURE_HEADER, sig.to_string()),
            Header::new(TIMESTAMP_HEADER, ts.to_string()),
        ];
        verify(&h, body, &cfg, 1_588_788_367)
    }

    // The cases of SendGrid's spec file, then the contract's (signature-schemes.md): absent or
    // empty → missing_header, present but unparsable → malformed_header.
    #[rstest]
    #[case::valid(KEY, SIG, TS, PAYLOAD, Outcome::Valid)]
    #[case::invalid_key(OTHER_KEY, SIG, TS, PAYLOAD, Outcome::InvalidSignature)]
    #[case::bad_payload(KEY, SIG, TS, b"payload", Outcome::InvalidSignature)]
    #[case::bad_signature(KEY, BAD_SIG, TS, PAYLOAD, Outcome::InvalidSignature)]
    #[case::bad_timestamp(KEY, SIG, "timestamp", PAYLOAD, Outcome::InvalidSignature)]
    #[case::empty_signature(KEY, "", TS, PAYLOAD, Outcome::MissingHeader)]
    #[case::empty_timestamp(KEY, SIG, "", PAYLOAD, Outcome::MissingHeader)]
    #[case::not_der(KEY, "bm90IGRlcg==", TS, PAYLOAD, Outcome::MalformedHeader)]
    #[case::not_base64(KEY, "!!", TS, PAYLOAD, Outcome::MalformedHeader)]
    fn published_example_and_broken_variants(
        #[case] key: &str,
        #[case] sig: &str,
        #[case] ts: &str,
        #[case] body: &[u8],
        #[case] expected: Outcome,
    ) {
        let v = check(key, sig, ts, body);
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }

    #[test]
    fn a_pem_key_is_read_and_a_private_key_is_named() {
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
            &KEY[..64],
            &KEY[64..]
        );
        assert_eq!(check(&pem, SIG, TS, PAYLOAD).outcome, Outcome::Valid);
        let v = check(PY_PRIVATE, SIG, TS, PAYLOAD);
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        assert!(
            v.reason.contains("give the public Verification Key"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_python_signature_verifies_and_sign_round_trips() {
        // python3 `cryptography` 48.0.0: k.sign(b"1700000000" + b"[]", ECDSA(SHA256())), base64
        // (random nonce; picked with a high S, which SendGrid's Node helper accepts, so this must too).
        let py_sig = "MEYCIQCMhGrRErxnevF25dosy72LAyvmbNy+TCayYnaHt2NDegIhAPp4cY9L5lCeHZt/dsseNEh0zs82nf+bKNgCnbiyjBxI";
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(PY_PUBLIC).unwrap()],
            ..Default::default()
        };
        let h = vec![
            Header::new(SIGNATURE_HEADER, py_sig),
            Header::new(TIMESTAMP_HEADER, "1700000000"),
        ];
        assert_eq!(verify(&h, b"[]", &cfg, 0).outcome, Outcome::Valid);
        let signed = sign(&Secret::new(PY_PRIVATE).unwrap(), 1_700_000_000, b"[]").unwrap();
        assert_eq!(verify(&signed, b"[]", &cfg, 0).outcome, Outcome::Valid);
        assert_eq!(
            verify(&signed, b"[ ]", &cfg, 0).outcome,
            Outcome::InvalidSignature
        );
    }
}
