//! The ed25519 schemes: Standard Webhooks asymmetric `v1a` and Discord interactions.
//!
//! - Standard Webhooks `v1a`: `webhook-signature: v1a,<base64 signature> …` (space-separated,
//!   any entry may match; `svix-*` branded names are read first, as Svix does) over
//!   `<id>.<timestamp>.<body>`; checked with a `whpk_` public key (base64 of the 32 key
//!   bytes); `whsk_` secret keys (base64 of the 32-byte seed, or the 64-byte seed + public key
//!   form) sign. Timestamp: unix seconds, |now − t| ≤ tolerance.
//! - Discord: `X-Signature-Ed25519: <hex signature>` over `X-Signature-Timestamp` ++ body,
//!   checked with the application's hex public key (64 hex). Discord's own libraries do not
//!   judge the timestamp, so neither does this (the skew is still shown).
//!
//! Keys come in through the same `--secret` list as MAC secrets (rotation, environment,
//! fingerprints). A public key is not secret, but it is still only shown by fingerprint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use super::config::VerifyConfig;
use super::judge::{body_hint, judge, malformed, missing, present, unix_seconds};
use super::recipe::Window;
use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::model::verdict::{Hint, Outcome, Verdict};
use crate::sanitize::escape_line;

/// Scheme name of Standard Webhooks (symmetric `v1` and asymmetric `v1a`).
pub const STANDARD: &str = "standard";
/// Scheme name of Discord.
pub const DISCORD: &str = "discord";
/// Discord's signature header.
pub const DISCORD_SIGNATURE: &str = "X-Signature-Ed25519";
/// Discord's timestamp header.
pub const DISCORD_TIMESTAMP: &str = "X-Signature-Timestamp";
/// Prefix of a Standard Webhooks public key.
pub const PUBLIC_PREFIX: &str = "whpk_";
/// Prefix of a Standard Webhooks secret key.
pub const SECRET_PREFIX: &str = "whsk_";

/// Standard Webhooks headers: the branded name first, as Svix reads them.
const STANDARD_ID: [&str; 2] = ["svix-id", "webhook-id"];
const STANDARD_TS: [&str; 2] = ["svix-timestamp", "webhook-timestamp"];
const STANDARD_SIG: [&str; 2] = ["svix-signature", "webhook-signature"];

fn is_asymmetric(s: &Secret) -> bool {
    let k = s.expose_str();
    k.starts_with(PUBLIC_PREFIX) || k.starts_with(SECRET_PREFIX)
}

/// Whether a Standard Webhooks delivery is checked as asymmetric `v1a`: some configured key
/// is a `whpk_`/`whsk_` key, and either every key is, or the signature list has a `v1a` entry
/// (so a listener holding a `whsec_` secret and a `whpk_` key checks each delivery by what it
/// carries).
pub fn checks_as_v1a(headers: &[Header], cfg: &VerifyConfig) -> bool {
    if !cfg.secrets.iter().any(is_asymmetric) {
        return false;
    }
    cfg.secrets.iter().all(is_asymmetric)
        || first_present(headers, &STANDARD_SIG)
            .is_some_and(|v| v.split(|&b| b == b' ').any(|e| e.starts_with(b"v1a,")))
}

fn seed_key(bytes: &[u8]) -> Result<SigningKey, String> {
    match bytes.len() {
        32 => Ok(SigningKey::from_bytes(
            bytes.try_into().map_err(|_| "not 32 bytes")?,
        )),
        64 => SigningKey::from_keypair_bytes(bytes.try_into().map_err(|_| "not 64 bytes")?)
            .map_err(|_| "the 64-byte key's public half does not belong to its seed".into()),
        n => Err(format!(
            "an ed25519 secret key is 32 (or 64) bytes, this one {n}"
        )),
    }
}

fn public_key(bytes: &[u8]) -> Result<VerifyingKey, String> {
    let arr: &[u8; 32] = bytes.try_into().map_err(|_| {
        format!(
            "an ed25519 public key is 32 bytes, this one {}",
            bytes.len()
        )
    })?;
    VerifyingKey::from_bytes(arr).map_err(|_| "not a point on the ed25519 curve".into())
}

/// The Standard Webhooks key for verifying: a `whpk_` public key, or the public half of a
/// `whsk_` secret key (`true` when it was a secret key).
fn standard_verifying_key(s: &Secret) -> Result<(VerifyingKey, bool), String> {
    let k = s.expose_str();
    if let Some(b) = k.strip_prefix(PUBLIC_PREFIX) {
        let bytes = B64.decode(b).map_err(|_| "whpk_ key is not base64")?;
        return Ok((public_key(&bytes)?, false));
    }
    if let Some(b) = k.strip_prefix(SECRET_PREFIX) {
        let bytes = B64.decode(b).map_err(|_| "whsk_ key is not base64")?;
        return Ok((seed_key(&bytes)?.verifying_key(), true));
    }
    Err("not a whpk_ public key".into())
}

/// The Standard Webhooks signing key from a `whsk_` secret key.
fn standard_signing_key(s: &Secret) -> Result<SigningKey, String> {
    let b = s
        .expose_str()
        .strip_prefix(SECRET_PREFIX)
        .ok_or("v1a signs with a whsk_ secret key")?;
    seed_key(&B64.decode(b).map_err(|_| "whsk_ key is not base64")?)
}

fn first_present<'a>(headers: &'a [Header], names: &[&str]) -> Option<&'a [u8]> {
    names.iter().find_map(|n| present(headers, n))
}

fn key_hint(which: usize, form: &str, fix: &str) -> Hint {
    Hint {
        code: "private_key_configured".into(),
        message: format!(
            "key {which} is the {form}: it verifies, but a receiver needs only the public key ({fix}); keep the private one with the sender"
        ),
    }
}

/// Verifies a Standard Webhooks `v1a` delivery.
pub fn verify_standard(headers: &[Header], body: &[u8], cfg: &VerifyConfig, now: i64) -> Verdict {
    let Some(sig) = first_present(headers, &STANDARD_SIG) else {
        return missing(
            STANDARD,
            cfg,
            "no webhook-signature (or svix-signature) header",
        );
    };
    let Some(id) = first_present(headers, &STANDARD_ID) else {
        return missing(STANDARD, cfg, "no webhook-id (or svix-id) header");
    };
    let Some(ts_text) = first_present(headers, &STANDARD_TS) else {
        return missing(
            STANDARD,
            cfg,
            "no webhook-timestamp (or svix-timestamp) header",
        );
    };
    let Some(ts) = unix_seconds(ts_text) else {
        return malformed(
            STANDARD,
            cfg,
            format!(
                "webhook-timestamp {:?} is not unix seconds",
                escape_line(ts_text)
            ),
        );
    };
    let Ok(sig) = std::str::from_utf8(sig) else {
        return malformed(STANDARD, cfg, "webhook-signature is not valid UTF-8");
    };
    // As the reference libraries do: split on spaces, skip other versions and undecodable entries.
    let sigs: Vec<Signature> = sig
        .split(' ')
        .filter_map(|e| e.strip_prefix("v1a,"))
        .filter_map(|b| B64.decode(b).ok())
        .filter_map(|b| Signature::from_slice(&b).ok())
        .collect();
    let signed_with = |body: &[u8]| [id, b".", ts_text, b".", body].concat();
    let signed = signed_with(body);
    let mut secret_keys = Vec::new();
    let mut v = judge(STANDARD, cfg, Some(ts), now, Window::Both, |s| {
        let (key, was_secret) = standard_verifying_key(s)?;
        let ok = sigs.iter().any(|sig| key.verify(&signed, sig).is_ok());
        if ok && was_secret {
            secret_keys.push(s.clone());
        }
        Ok(ok)
    });
    v.reason = format!("v1a (ed25519): {}", v.reason);
    let keys: Vec<VerifyingKey> = cfg
        .secrets
        .iter()
        .filter_map(|s| standard_verifying_key(s).ok().map(|(k, _)| k))
        .collect();
    body_hint(&mut v, body, |b| {
        let signed = signed_with(b);
        keys.iter()
            .any(|k| sigs.iter().any(|sig| k.verify(&signed, sig).is_ok()))
    });
    if v.outcome == Outcome::InvalidSignature && sigs.is_empty() {
        v.reason.push_str(if sig.split(' ').any(|e| e.starts_with("v1,")) {
            "; the list has no v1a entry, only v1 (HMAC): give the whsec_ secret instead of a whpk_ key"
        } else {
            "; the list has no v1a entry"
        });
    }
    if let (Some(m), false) = (&v.matched_secret, secret_keys.is_empty()) {
        v.hints.push(key_hint(
            m.index,
            "whsk_ secret key",
            "whpk_ + base64 of its 32 public bytes",
        ));
    }
    v
}

/// Whether `s` is a key Standard Webhooks `v1a` can check with.
pub fn is_standard_key(s: &Secret) -> bool {
    standard_verifying_key(s).is_ok()
}

/// Whether `s` is a key Discord can be checked with.
pub fn is_discord_key(s: &Secret) -> bool {
    discord_keys(s).is_ok()
}

/// Signs a Standard Webhooks delivery as `v1a` with a `whsk_` secret key: the
/// `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.
pub fn sign_standard(
    secret: &Secret,
    ts: i64,
    id: &str,
    body: &[u8],
) -> Result<Vec<Header>, String> {
    let key = standard_signing_key(secret)?;
    let t = ts.to_string();
    let mut signed = format!("{id}.{t}.").into_bytes();
    signed.extend_from_slice(body);
    let sig = key.sign(&signed);
    Ok(vec![
        Header::new("webhook-id", id.to_string()),
        Header::new("webhook-timestamp", t),
        Header::new(
            "webhook-signature",
            format!("v1a,{}", B64.encode(sig.to_bytes())),
        ),
    ])
}

/// The keys to try for a hex Discord key, each with whether it came from a private key. A
/// public key and a private seed are both 32 bytes, so a 32-byte value is tried as the public
/// key first, then as a seed given by mistake; 64 bytes is the seed + public key form.
fn discord_keys(s: &Secret) -> Result<Vec<(VerifyingKey, bool)>, String> {
    let bytes = hex::decode(s.expose_str().trim_start_matches("0x"))
        .map_err(|_| "a Discord public key is 64 hex characters".to_string())?;
    match bytes.len() {
        32 => {
            let mut keys = Vec::new();
            if let Ok(k) = public_key(&bytes) {
                keys.push((k, false));
            }
            keys.push((seed_key(&bytes)?.verifying_key(), true));
            Ok(keys)
        }
        64 => Ok(vec![(seed_key(&bytes)?.verifying_key(), true)]),
        n => Err(format!(
            "a Discord public key is 32 bytes (64 hex), this one {n}"
        )),
    }
}

/// Verifies a Discord interaction.
pub fn verify_discord(headers: &[Header], body: &[u8], cfg: &VerifyConfig, now: i64) -> Verdict {
    let Some(sig) = present(headers, DISCORD_SIGNATURE) else {
        return missing(DISCORD, cfg, format!("no {DISCORD_SIGNATURE} header"));
    };
    let Some(ts_text) = present(headers, DISCORD_TIMESTAMP) else {
        return missing(DISCORD, cfg, format!("no {DISCORD_TIMESTAMP} header"));
    };
    let raw_sig = sig;
    let sig = match hex::decode(sig) {
        Ok(b) if b.len() == 64 => Signature::from_slice(&b).ok(),
        _ => None,
    };
    let Some(sig) = sig else {
        let base64 = B64.decode(raw_sig).is_ok_and(|b| b.len() == 64);
        return malformed(
            DISCORD,
            cfg,
            format!(
                "{DISCORD_SIGNATURE} is not 128 hex characters (a 64-byte ed25519 signature){}",
                if base64 {
                    "; it is base64: Discord sends hex"
                } else {
                    ""
                }
            ),
        );
    };
    let signed = [ts_text, body].concat();
    let mut private = false;
    let mut v = judge(
        DISCORD,
        cfg,
        unix_seconds(ts_text),
        now,
        Window::None,
        |s| {
            let found = discord_keys(s)?
                .into_iter()
                .find(|(k, _)| k.verify(&signed, &sig).is_ok());
            private = found.is_some_and(|(_, p)| p);
            Ok(found.is_some())
        },
    );
    v.reason = format!("ed25519: {}", v.reason);
    let keys: Vec<VerifyingKey> = cfg
        .secrets
        .iter()
        .filter_map(|s| discord_keys(s).ok())
        .flatten()
        .map(|(k, _)| k)
        .collect();
    body_hint(&mut v, body, |b| {
        let signed = [ts_text, b].concat();
        keys.iter().any(|k| k.verify(&signed, &sig).is_ok())
    });
    if let (Some(m), true) = (&v.matched_secret, private) {
        v.hints.push(key_hint(
            m.index,
            "private key (its seed)",
            "the application's PUBLIC KEY in the developer portal",
        ));
    }
    v
}

/// Signs a Discord interaction with a hex private key (the 32-byte seed, or seed + public
/// key): the `X-Signature-Ed25519` and `X-Signature-Timestamp` headers.
pub fn sign_discord(secret: &Secret, ts: i64, body: &[u8]) -> Result<Vec<Header>, String> {
    let bytes = hex::decode(secret.expose_str())
        .map_err(|_| "discord signs with a hex ed25519 private key (64 hex characters)")?;
    let key = seed_key(&bytes)?;
    let t = ts.to_string();
    let mut signed = t.clone().into_bytes();
    signed.extend_from_slice(body);
    Ok(vec![
        Header::new(DISCORD_SIGNATURE, hex::encode(key.sign(&signed).to_bytes())),
        Header::new(DISCORD_TIMESTAMP, t),
    ])
}

/// Another key of the same form as `secret`, for `send --break wrong-secret`.
pub fn other_key(secret: &Secret) -> Option<Secret> {
    let k = secret.expose_str();
    let flip = |mut b: Vec<u8>| {
        b[0] ^= 1;
        b
    };
    let other = if let Some(b) = k.strip_prefix(SECRET_PREFIX) {
        let b = B64.decode(b).ok().filter(|b| b.len() == 32)?;
        format!("{SECRET_PREFIX}{}", B64.encode(flip(b)))
    } else {
        let b = hex::decode(k).ok().filter(|b| b.len() == 32)?;
        hex::encode(flip(b))
    };
    Secret::new(other).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Vectors computed independently with python3 `cryptography` 48.0.0:
    //   k = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    //   k.public_key().public_bytes_raw().hex()         -> PUBLIC_HEX
    //   k.sign(b"1700000000" + BODY).hex()              -> DISCORD_SIG
    //   "v1a," + b64(k.sign(b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330." + SW_BODY)) -> V1A_SIG
    const SEED_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const PUBLIC_HEX: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    const BODY: &[u8] = br#"{"type":1}"#;
    const DISCORD_SIG: &str = "c1098e97d711377f30225d53d94b89d43537f92e5b3afaddc590781b1f9f9d4b2eeab335d370be3b9a090bc61a85b86448bc140dcd195f1569c2bff181257607";
    const NOW: i64 = 1_700_000_000;
    const WHSK: &str = "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const WHPK: &str = "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
    const SW_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SW_TS: i64 = 1614265330;
    const SW_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const V1A_SIG: &str = "v1a,yoUrgEkc12aGqm0n4Sydmdz55xJfTz4AsAgieHFjmkR7LJtqVCZOQYzvvHjI5kAey+r4iaBGxTFRrl2iBQxtDQ==";

    fn cfg(keys: &[&str]) -> VerifyConfig {
        VerifyConfig {
            secrets: keys.iter().map(|k| Secret::new(*k).unwrap()).collect(),
            ..Default::default()
        }
    }

    fn discord_headers(sig: &str, ts: &str) -> Vec<Header> {
        vec![
            Header::new(DISCORD_SIGNATURE, sig.to_string()),
            Header::new(DISCORD_TIMESTAMP, ts.to_string()),
        ]
    }

    fn sw_headers(prefix: &str, id: &str, ts: &str, sig: &str) -> Vec<Header> {
        let mut h = Vec::new();
        for (name, value) in [("id", id), ("timestamp", ts), ("signature", sig)] {
            if !value.is_empty() || name == "signature" {
                h.push(Header::new(format!("{prefix}-{name}"), value.to_string()));
            }
        }
        h
    }

    #[test]
    fn the_public_key_derives_from_the_seed() {
        let key = seed_key(&hex::decode(SEED_HEX).unwrap()).unwrap();
        assert_eq!(hex::encode(key.verifying_key().to_bytes()), PUBLIC_HEX);
    }

    // The verdict contract (signature-schemes.md, "Verdict mapping"): absent or empty →
    // missing_header; present but unparsable → malformed_header; no match → invalid_signature.
    #[rstest]
    #[case::valid(DISCORD_SIG, "1700000000", BODY, Outcome::Valid)]
    #[case::body_changed(DISCORD_SIG, "1700000000", br#"{"type":2}"#, Outcome::InvalidSignature)]
    #[case::timestamp_changed(DISCORD_SIG, "1700000001", BODY, Outcome::InvalidSignature)]
    #[case::empty_signature_is_missing("", "1700000000", BODY, Outcome::MissingHeader)]
    #[case::empty_timestamp_is_missing(DISCORD_SIG, "", BODY, Outcome::MissingHeader)]
    #[case::not_hex_is_malformed("zz", "1700000000", BODY, Outcome::MalformedHeader)]
    #[case::base64_is_malformed(
        "wQmOl9cRN38wIl1T2UuJ1DU3+S5bOvrdxZB4Gx+fnUsu6rM103C+O5oJC8YahbhkSLwUDc0ZXxVpwr/xgSV2Bw==",
        "1700000000",
        BODY,
        Outcome::MalformedHeader
    )]
    #[case::short_is_malformed(&DISCORD_SIG[..126], "1700000000", BODY, Outcome::MalformedHeader)]
    fn discord_verdicts(
        #[case] sig: &str,
        #[case] ts: &str,
        #[case] body: &[u8],
        #[case] expected: Outcome,
    ) {
        let v = verify_discord(&discord_headers(sig, ts), body, &cfg(&[PUBLIC_HEX]), NOW);
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }

    #[test]
    fn a_base64_discord_signature_is_named() {
        // DISCORD_SIG as base64 (python3 base64.b64encode(bytes.fromhex(DISCORD_SIG))).
        let b64 = "wQmOl9cRN38wIl1T2UuJ1DU3+S5bOvrdxZB4Gx+fnUsu6rM103C+O5oJC8YahbhkSLwUDc0ZXxVpwr/xgSV2Bw==";
        let v = verify_discord(
            &discord_headers(b64, "1700000000"),
            BODY,
            &cfg(&[PUBLIC_HEX]),
            NOW,
        );
        assert!(
            v.reason.ends_with("it is base64: Discord sends hex"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn discord_does_not_judge_the_timestamp_but_shows_the_skew() {
        let v = verify_discord(
            &discord_headers(DISCORD_SIG, "1700000000"),
            BODY,
            &cfg(&[PUBLIC_HEX]),
            NOW + 3600,
        );
        assert_eq!(v.outcome, Outcome::Valid);
        assert_eq!(v.skew_secs, Some(-3600));
        assert!(v.hints.is_empty());
    }

    #[test]
    fn discord_private_key_given_verifies_with_a_hint() {
        let v = verify_discord(
            &discord_headers(DISCORD_SIG, "1700000000"),
            BODY,
            &cfg(&[SEED_HEX]),
            NOW,
        );
        assert_eq!(v.outcome, Outcome::Valid);
        assert_eq!(v.hints[0].code, "private_key_configured");
        assert!(!v.hints[0].message.contains(SEED_HEX));
    }

    #[test]
    fn discord_rotation_and_bad_keys() {
        let other = "fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f618";
        let v = verify_discord(
            &discord_headers(DISCORD_SIG, "1700000000"),
            BODY,
            &cfg(&[other, PUBLIC_HEX]),
            NOW,
        );
        assert_eq!(v.outcome, Outcome::Valid);
        assert_eq!(v.matched_secret.unwrap().index, 1);
        let v = verify_discord(
            &discord_headers(DISCORD_SIG, "1700000000"),
            BODY,
            &cfg(&["not-hex"]),
            NOW,
        );
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        assert!(
            v.reason
                .contains("secret 0: a Discord public key is 64 hex"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_reserialized_body_is_named() {
        // Signed over the compact body, delivered pretty-printed (as a framework re-encodes it).
        let h = sign_discord(&Secret::new(SEED_HEX).unwrap(), NOW, BODY).unwrap();
        let v = verify_discord(&h, b"{\n  \"type\": 1\n}", &cfg(&[PUBLIC_HEX]), NOW);
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        assert_eq!(v.hints[0].code, "body_reserialized", "{:?}", v.hints);
        let h = sign_standard(&Secret::new(WHSK).unwrap(), SW_TS, SW_ID, b"{\"test\":1}").unwrap();
        let v = verify_standard(&h, b"{\"test\": 1}", &cfg(&[WHPK]), SW_TS);
        assert_eq!(v.hints[0].code, "body_reserialized", "{:?}", v.hints);
    }

    #[test]
    fn discord_sign_reproduces_the_python_vector() {
        let h = sign_discord(&Secret::new(SEED_HEX).unwrap(), NOW, BODY).unwrap();
        assert_eq!(h[0].value_str(), Some(DISCORD_SIG));
        assert_eq!(h[1].value_str(), Some("1700000000"));
        assert!(sign_discord(&Secret::new("whsk_x").unwrap(), NOW, BODY).is_err());
    }

    #[rstest]
    #[case::valid("webhook", SW_ID, "1614265330", V1A_SIG, Outcome::Valid)]
    #[case::svix_branded("svix", SW_ID, "1614265330", V1A_SIG, Outcome::Valid)]
    #[case::one_of_several(
        "webhook",
        SW_ID,
        "1614265330",
        &format!("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1a,AAAA {V1A_SIG}"),
        Outcome::Valid
    )]
    #[case::other_id(
        "webhook",
        "msg_other",
        "1614265330",
        V1A_SIG,
        Outcome::InvalidSignature
    )]
    #[case::only_v1(
        "webhook",
        SW_ID,
        "1614265330",
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        Outcome::InvalidSignature
    )]
    #[case::empty_signature_is_missing("webhook", SW_ID, "1614265330", "", Outcome::MissingHeader)]
    #[case::no_id_is_missing("webhook", "", "1614265330", V1A_SIG, Outcome::MissingHeader)]
    #[case::no_timestamp_is_missing("webhook", SW_ID, "", V1A_SIG, Outcome::MissingHeader)]
    #[case::bad_timestamp_is_malformed(
        "webhook",
        SW_ID,
        "16142653x0",
        V1A_SIG,
        Outcome::MalformedHeader
    )]
    fn standard_v1a_verdicts(
        #[case] prefix: &str,
        #[case] id: &str,
        #[case] ts: &str,
        #[case] sig: &str,
        #[case] expected: Outcome,
    ) {
        let v = verify_standard(
            &sw_headers(prefix, id, ts, sig),
            SW_BODY,
            &cfg(&[WHPK]),
            SW_TS,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
        assert_eq!(v.scheme.as_deref(), Some(STANDARD));
    }

    #[test]
    fn standard_v1a_tolerance_is_both_ways_and_300_s_is_fresh() {
        let h = sw_headers("webhook", SW_ID, "1614265330", V1A_SIG);
        let at = |now| verify_standard(&h, SW_BODY, &cfg(&[WHPK]), now).outcome;
        assert_eq!(at(SW_TS + 300), Outcome::Valid);
        assert_eq!(at(SW_TS - 300), Outcome::Valid);
        assert_eq!(at(SW_TS + 301), Outcome::Stale);
        assert_eq!(at(SW_TS - 301), Outcome::Stale);
    }

    #[test]
    fn standard_v1a_only_v1_entries_say_which_key_to_give() {
        let h = sw_headers(
            "webhook",
            SW_ID,
            "1614265330",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        );
        let v = verify_standard(&h, SW_BODY, &cfg(&[WHPK]), SW_TS);
        assert!(v.reason.contains("give the whsec_ secret"), "{}", v.reason);
    }

    #[test]
    fn standard_v1a_sign_round_trips_and_matches_python() {
        let h = sign_standard(&Secret::new(WHSK).unwrap(), SW_TS, SW_ID, SW_BODY).unwrap();
        assert_eq!(h[2].value_str(), Some(V1A_SIG), "ed25519 is deterministic");
        let v = verify_standard(&h, SW_BODY, &cfg(&[WHPK]), SW_TS);
        assert_eq!(v.outcome, Outcome::Valid);
        // The secret key given to verify works, with a hint that the public key suffices.
        let v = verify_standard(&h, SW_BODY, &cfg(&[WHSK]), SW_TS);
        assert_eq!(v.outcome, Outcome::Valid);
        assert_eq!(v.hints[0].code, "private_key_configured");
    }

    #[test]
    fn other_key_is_a_different_valid_key() {
        for k in [WHSK, SEED_HEX] {
            let o = other_key(&Secret::new(k).unwrap()).unwrap();
            assert_ne!(o.expose_str(), k);
        }
        let o = other_key(&Secret::new(WHSK).unwrap()).unwrap();
        let h = sign_standard(&o, SW_TS, SW_ID, SW_BODY).unwrap();
        assert_eq!(
            verify_standard(&h, SW_BODY, &cfg(&[WHPK]), SW_TS).outcome,
            Outcome::InvalidSignature
        );
    }
}
