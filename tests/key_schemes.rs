//! The code schemes end to end on the real binary: `hooklens send` signs with a private key,
//! a URL or a token, a real listener judges it, and `hooklens verify --public-url` re-checks
//! a stored URL-signed capture.

mod common;

use assert_cmd::prelude::*;
use common::hooklens;
use hooklens::model::capture::CaptureId;
use hooklens::model::secret::Secret;
use hooklens::net::server::ListenConfig;
use hooklens::verify::{Outcome, VerifyConfig};
use rstest::rstest;

// Keys made with python3 `cryptography` 48.0.0:
//   Ed25519PrivateKey.from_private_bytes(bytes(range(32))): seed, public_bytes_raw() (hex, and
//   as whsk_/whpk_ + base64);
//   ec.derive_private_key(12345678901234567890, SECP256R1()): PKCS#8 / SPKI DER, base64.
const ED_SEED_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const ED_PUBLIC_HEX: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
const WHSK: &str = "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const WHPK: &str = "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
const P256_PUBLIC: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPteijsZI7c5dW34lL2sqr7tEg1EUoks8qo9xD2SZO8JXEaNM3JIpCAtjnwmXf+t8qR7M4WSb/qithccrIGrefg==";
const P256_PRIVATE: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAq1SpjOsfCtKhRANCAAQ+16KOxkjtzl1bfiUvayqvu0SDURSiSzyqj3EPZJk7wlcRo0zckikIC2OfCZd/63ypHszhZJv+qK2Fxysgat5+";

fn listening_with(key: &str) -> ListenConfig {
    ListenConfig {
        verify: VerifyConfig {
            secrets: vec![Secret::new(key).unwrap()],
            ..VerifyConfig::default()
        },
        ..ListenConfig::default()
    }
}

/// Sends one delivery signed with `signing` in `scheme` (broken as `how`, if given) to a
/// listener that checks with `checking` under `--scheme auto`; the listener's verdict.
fn send_to_listener(
    scheme: &str,
    signing: &str,
    checking: &str,
    how: Option<&str>,
) -> (String, Outcome, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let l = rt.block_on(common::start(listening_with(checking), None));
    let mut cmd = hooklens();
    cmd.args(["send", "--scheme", scheme, "--secret", signing, "--to"])
        .arg(l.url("/interactions"));
    if let Some(how) = how {
        cmd.args(["--break", how]);
    }
    cmd.assert().success();
    let v = l.store.load(CaptureId(1)).unwrap().verdict;
    rt.block_on(l.stop());
    (v.scheme.unwrap_or_default().into(), v.outcome, v.reason)
}

#[rstest]
#[case::discord("discord", ED_SEED_HEX, ED_PUBLIC_HEX)]
#[case::standard_v1a("standard", WHSK, WHPK)]
#[case::sendgrid("sendgrid", P256_PRIVATE, P256_PUBLIC)]
#[case::gitlab("gitlab", "gl-token", "gl-token")]
fn send_signs_with_the_private_key_and_the_listener_says_valid(
    #[case] scheme: &str,
    #[case] signing: &str,
    #[case] checking: &str,
) {
    let (found, outcome, reason) = send_to_listener(scheme, signing, checking, None);
    assert_eq!(
        (found.as_str(), outcome),
        (scheme, Outcome::Valid),
        "{reason}"
    );
}

#[rstest]
#[case::discord_wrong_key(
    "discord",
    ED_SEED_HEX,
    ED_PUBLIC_HEX,
    "wrong-secret",
    Outcome::InvalidSignature
)]
#[case::discord_body(
    "discord",
    ED_SEED_HEX,
    ED_PUBLIC_HEX,
    "body",
    Outcome::InvalidSignature
)]
#[case::discord_missing(
    "discord",
    ED_SEED_HEX,
    ED_PUBLIC_HEX,
    "missing-signature",
    Outcome::MissingHeader
)]
#[case::v1a_wrong_key("standard", WHSK, WHPK, "wrong-secret", Outcome::InvalidSignature)]
#[case::v1a_stale("standard", WHSK, WHPK, "stale", Outcome::Stale)]
#[case::sendgrid_body(
    "sendgrid",
    P256_PRIVATE,
    P256_PUBLIC,
    "body",
    Outcome::InvalidSignature
)]
#[case::sendgrid_wrong_key(
    "sendgrid",
    P256_PRIVATE,
    P256_PUBLIC,
    "wrong-secret",
    Outcome::InvalidSignature
)]
#[case::gitlab_wrong_token(
    "gitlab",
    "gl-token",
    "gl-token",
    "wrong-secret",
    Outcome::InvalidSignature
)]
fn broken_deliveries_get_the_contract_verdicts(
    #[case] scheme: &str,
    #[case] signing: &str,
    #[case] checking: &str,
    #[case] how: &str,
    #[case] expected: Outcome,
) {
    let (_, outcome, reason) = send_to_listener(scheme, signing, checking, Some(how));
    assert_eq!(outcome, expected, "{reason}");
}

/// A URL-signed delivery: the listener has no public URL, so it can only say so; `verify
/// --capture --public-url` then checks the stored request against the URL it was sent to,
/// and names the URL form when the one given differs only in form.
#[rstest]
#[case::twilio("twilio")]
#[case::square("square")]
#[case::hubspot("hubspot")]
fn url_signed_captures_verify_with_the_public_url(#[case] scheme: &str) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let origin = rt.block_on(async {
        let l = common::start(listening_with("auth-token"), Some(&log)).await;
        hooklens()
            .args([
                "send",
                "--scheme",
                scheme,
                "--secret",
                "auth-token",
                "--expect",
                "204",
                "--to",
            ])
            .arg(l.url("/hooks/in?src=test"))
            .assert()
            .success();
        let v = l.store.load(CaptureId(1)).unwrap().verdict;
        assert_eq!(v.outcome, Outcome::Unverified, "{}", v.reason);
        assert!(v.reason.contains("--public-url"), "{}", v.reason);
        let origin = l.url("");
        l.stop().await;
        origin
    });
    let verify = |url: &str| {
        let out = hooklens()
            .args([
                "verify",
                "--json",
                "--capture",
                "1",
                "--secret",
                "auth-token",
                "--public-url",
                url,
                "--store",
            ])
            .arg(&log)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), v)
    };
    let (code, v) = verify(&origin);
    assert_eq!(
        (code, v["verdict"].as_str()),
        (Some(0), Some("valid")),
        "{v}"
    );
    assert_eq!(v["scheme"], scheme);
    let https = origin.replacen("http://", "https://", 1);
    let (code, v) = verify(&https);
    assert_eq!(
        (code, v["verdict"].as_str()),
        (Some(1), Some("invalid_signature")),
        "{v}"
    );
    assert_eq!(v["hints"][0]["code"], "url_form", "{v}");
    assert!(
        v["hints"][0]["message"]
            .as_str()
            .unwrap()
            .contains("http:// instead of https://"),
        "{v}"
    );
}

#[test]
fn bad_public_urls_and_keys_are_one_line_usage_errors() {
    hooklens()
        .args([
            "verify",
            "--secret",
            "k",
            "--public-url",
            "example.com/hook",
            "--body",
            "-",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "is not an http:// or https:// URL",
        ));
    // A break a correct receiver of that scheme would not refuse.
    hooklens()
        .args([
            "send",
            "--scheme",
            "gitlab",
            "--secret",
            "t",
            "--break",
            "body",
            "--to",
            "http://127.0.0.1:9/",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("does not cover the body"));
    hooklens()
        .args([
            "send",
            "--scheme",
            "discord",
            "--secret",
            ED_SEED_HEX,
            "--break",
            "stale",
            "--to",
            "http://127.0.0.1:9/",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("do not judge the timestamp"));
    // A signing key of the wrong form: one line, exit 2 before anything is sent.
    hooklens()
        .args([
            "send",
            "--scheme",
            "discord",
            "--secret",
            "not-hex",
            "--to",
            "http://127.0.0.1:9/",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "discord signs with a hex ed25519 private key",
        ));
}
