//! `hooklens send` and `hooklens verify` on the real binary, against a real listener.

mod common;

use assert_cmd::prelude::*;
use common::hooklens;
use hooklens::model::capture::CaptureId;
use hooklens::model::secret::Secret;
use hooklens::net::server::ListenConfig;
use hooklens::verify::{Outcome, SchemeChoice, VerifyConfig};
use predicates::prelude::*;
use rstest::rstest;

fn listen_config(scheme: SchemeChoice) -> ListenConfig {
    ListenConfig {
        verify: VerifyConfig {
            secrets: vec![Secret::new("dev_secret").unwrap()],
            scheme,
            ..VerifyConfig::default()
        },
        ..ListenConfig::default()
    }
}

#[test]
fn send_delivers_a_valid_signature_the_listener_accepts() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let l = rt.block_on(common::start(listen_config(SchemeChoice::Auto), None));
    hooklens()
        .args(["send", "--secret", "dev_secret", "--to"])
        .arg(l.url("/modelgates/video-webhook"))
        .assert()
        .success()
        .stdout(predicate::str::starts_with("204 No Content"));
    let record = l.store.load(CaptureId(1)).unwrap();
    assert_eq!(
        record.verdict.outcome,
        Outcome::Valid,
        "{}",
        record.verdict.reason
    );
    rt.block_on(l.stop());
}

/// Each `--break` mode is a delivery a correct receiver refuses, and the listener agrees.
#[rstest]
#[case::wrong_secret("wrong-secret", Outcome::InvalidSignature)]
#[case::stale("stale", Outcome::Stale)]
#[case::future("future", Outcome::Stale)]
#[case::body("body", Outcome::InvalidSignature)]
#[case::missing_signature("missing-signature", Outcome::MissingHeader)]
fn send_exercises_every_401_path_and_the_listener_agrees(
    #[case] how: &str,
    #[case] outcome: Outcome,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let l = rt.block_on(common::start(listen_config(SchemeChoice::Auto), None));
    hooklens()
        .args(["send", "--secret", "dev_secret", "--break", how, "--to"])
        .arg(l.url("/modelgates/video-webhook"))
        .assert()
        .success()
        .stdout(predicate::str::starts_with("401"));
    let record = l.store.load(CaptureId(1)).unwrap();
    assert_eq!(record.verdict.outcome, outcome, "{}", record.verdict.reason);
    rt.block_on(l.stop());
}

#[test]
fn send_fails_against_a_receiver_that_accepts_a_broken_delivery() {
    // A receiver that accepts a broken delivery makes send fail (so it can sit in CI).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lax = rt.block_on(common::start(ListenConfig::default(), None));
    hooklens()
        .args([
            "send",
            "--secret",
            "dev_secret",
            "--break",
            "stale",
            "--to",
            &lax.url("/"),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("a correct receiver answers 401"));
    rt.block_on(lax.stop());
}

#[rstest]
#[case::stripe(SchemeChoice::Stripe)]
#[case::github(SchemeChoice::Github)]
#[case::slack(SchemeChoice::Slack)]
#[case::shopify(SchemeChoice::Shopify)]
#[case::paddle(SchemeChoice::Paddle)]
#[case::linear(SchemeChoice::Linear)]
#[case::zoom(SchemeChoice::Zoom)]
#[case::twitch(SchemeChoice::Twitch)]
#[case::vercel(SchemeChoice::Vercel)]
#[case::woocommerce(SchemeChoice::Woocommerce)]
#[case::intercom(SchemeChoice::Intercom)]
#[case::mailgun(SchemeChoice::Mailgun)]
fn send_signs_other_schemes_and_a_listener_in_that_scheme_accepts_them(
    #[case] scheme: SchemeChoice,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let l = rt.block_on(common::start(listen_config(scheme), None));
    let name = format!("{scheme:?}").to_lowercase();
    hooklens()
        .args([
            "send",
            "--secret",
            "dev_secret",
            "--scheme",
            &name,
            "--event",
            "failed",
            "--to",
            &l.url("/hook"),
        ])
        .assert()
        .success();
    let record = l.store.load(CaptureId(1)).unwrap();
    assert_eq!(record.verdict.scheme.as_deref(), Some(name.as_str()));
    assert_eq!(
        record.verdict.outcome,
        Outcome::Valid,
        "{name}: {}",
        record.verdict.reason
    );
    rt.block_on(l.stop());
}

#[test]
fn standard_webhooks_keys_are_found_by_their_header() {
    // Standard Webhooks keys are whsec_<base64>; auto-detection finds the scheme by header.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let cfg = ListenConfig {
        verify: VerifyConfig {
            secrets: vec![Secret::new(secret).unwrap()],
            ..VerifyConfig::default()
        },
        ..ListenConfig::default()
    };
    let l = rt.block_on(common::start(cfg, None));
    hooklens()
        .args([
            "send",
            "--secret",
            secret,
            "--scheme",
            "standard",
            "--to",
            &l.url("/svix"),
        ])
        .assert()
        .success();
    let record = l.store.load(CaptureId(1)).unwrap();
    assert_eq!(
        (record.verdict.scheme.as_deref(), record.verdict.outcome),
        (Some("standard"), Outcome::Valid)
    );
    rt.block_on(l.stop());
}

#[test]
fn verify_exit_codes_json_and_hints() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    let payload =
        br#"{"type":"video.generation.completed","data":{"id":"job_1","status":"completed"}}"#;
    std::fs::write(&body, payload).unwrap();
    let t = 1_764_151_200;
    let good = format!(
        "X-ModelGates-Signature: t={t},v1={}",
        common::guide_signature("dev_secret", t, payload)
    );
    let newline = format!(
        "X-ModelGates-Signature: t={t},v1={}",
        common::guide_signature("dev_secret\n", t, payload)
    );
    let at = t.to_string();
    hooklens()
        .args([
            "verify",
            "--secret",
            "dev_secret",
            "-H",
            &good,
            "--at",
            &at,
            "--body",
        ])
        .arg(&body)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("valid (modelgates)"));
    let out = hooklens()
        .args([
            "verify",
            "--json",
            "--secret",
            "dev_secret",
            "-H",
            &newline,
            "--at",
            &at,
            "--body",
        ])
        .arg(&body)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "invalid_signature");
    assert_eq!(v["hints"][0]["code"], "secret_whitespace");
    // 301 s later the same delivery is stale.
    let later = (t + 301).to_string();
    hooklens()
        .args([
            "verify",
            "--secret",
            "dev_secret",
            "-H",
            &good,
            "--at",
            &later,
            "--body",
        ])
        .arg(&body)
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("stale"));
    hooklens()
        .args(["verify", "--secret", "dev_secret"])
        .assert()
        .code(2);
    hooklens()
        .args([
            "verify",
            "--secret",
            "dev_secret",
            "-H",
            "no colon",
            "--body",
        ])
        .arg(&body)
        .assert()
        .code(2);
}

#[test]
fn verify_a_stored_capture() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let l = common::start(listen_config(SchemeChoice::Auto), Some(&log)).await;
        let body = common::guide_body("2026-11-26T10:00:00.000Z");
        let t = common::now_secs();
        let sig = format!(
            "t={t},v1={}",
            common::guide_signature("dev_secret", t, &body)
        );
        common::post_signed(&l.url("/x"), &sig, body).await;
        l.stop().await;
    });
    hooklens()
        .args([
            "verify",
            "--capture",
            "#1",
            "--secret",
            "dev_secret",
            "--store",
        ])
        .arg(&log)
        .assert()
        .code(0);
    hooklens()
        .args([
            "verify",
            "--capture",
            "1",
            "--secret",
            "rotated_away",
            "--store",
        ])
        .arg(&log)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("invalid signature"));
}

/// The published examples through the real binary, auto-detected by their headers (or, for
/// Mailgun, body): `verify --json` names the scheme and keeps its stable fields.
#[rstest]
// Svix-branded Standard Webhooks: the official vector (signature-schemes.md §2 l.90).
#[case::svix(
    "standard",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    r#"{"test": 2432232314}"#,
    &["svix-id: msg_p5jXN8AQM9LWM0D4loKWxJek", "svix-timestamp: 1614265330", "svix-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="],
    1614265330,
)]
// Paddle; the value computed independently with Python's hmac (see src/verify/paddle.rs).
#[case::paddle(
    "paddle",
    "pdl_ntfset_01h8_secret",
    r#"{"event_id":"evt_01h8","event_type":"transaction.completed","data":{"id":"txn_01h8"}}"#,
    &["Paddle-Signature: ts=1671552777;h1=b23a60911da63218cf3ede499fd9c6c5f670b5914fb8aa986343fd69c79f9d48"],
    1671552777,
)]
// Mailgun: no header; computed with Python's hmac (see src/verify/mailgun.rs).
#[case::mailgun(
    "mailgun",
    "key-mailgun-signing",
    r#"{"signature":{"timestamp":"1700000000","token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0","signature":"bc1d4695b271aaa416998b45ddede459c204863b78219cf9fc0d64a057a67253"},"event-data":{"event":"delivered"}}"#,
    &[],
    1700000000,
)]
fn verify_detects_the_newer_schemes(
    #[case] scheme: &str,
    #[case] secret: &str,
    #[case] payload: &str,
    #[case] headers: &[&str],
    #[case] at: i64,
) {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, payload).unwrap();
    let mut cmd = hooklens();
    cmd.args([
        "verify",
        "--json",
        "--secret",
        secret,
        "--at",
        &at.to_string(),
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg("--body").arg(&body).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert_eq!(v["scheme"], scheme);
    assert_eq!(v["verdict"], "valid");
}
