//! `hooklens flow` end to end on 127.0.0.1:0, through the real binary: the in-process
//! provider, the report with the guide's keys, a receiver behind the listener (204 passes,
//! 401 fails by name), `--api` against a separately running provider, usage errors, and a
//! download that is cut short.

mod common;

use std::time::Duration;

use common::{Receiver, always, guide_check, hooklens};
use hooklens::model::secret::Secret;
use hooklens::net::provider::{self, Settings};
use serde_json::Value;

const SECRET: &str = "dev_secret";

fn sample_len() -> u64 {
    std::fs::metadata(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/video/sample.mp4"
    ))
    .unwrap()
    .len()
}

/// Runs `hooklens flow ARGS` (off the async threads): exit code, stdout, stderr.
async fn flow(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let mut cmd = hooklens();
        cmd.env_remove("MODELGATES_API_KEY")
            .arg("flow")
            .args(&args)
            .args(["--timeout", "30s"]);
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn flow_runs_steps_4_and_5_and_prints_the_guides_report() {
    let (code, stdout, stderr) =
        flow(args(&["--secret", SECRET, "--job-time", "1s", "--json"])).await;
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "--json: only the report on stdout: {stdout}"
    );
    let report: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(report["job"]["downloaded_bytes"], sample_len());
    let polls = report["job"]["poll_statuses"].as_array().unwrap();
    assert_eq!(polls.first().unwrap()["status"], "pending");
    assert_eq!(polls.last().unwrap()["status"], "completed");
    let request = &report["request"];
    assert_eq!(request["method"], "POST");
    assert_eq!(request["content_type"], "application/json");
    assert_eq!(request["has_signature_header"], true);
    assert_eq!(
        request["signature"]["redacted_format"],
        "t=<timestamp>,v1=<hex>"
    );
    assert_eq!(request["idempotency_key_shape"]["includes_job_id"], true);
    assert_eq!(request["idempotency_key_shape"]["length"], 30);
    assert_eq!(request["body_shape"]["data_id_matches_job"], true);
    assert_eq!(request["body_shape"]["type"], "video.generation.completed");
    assert_eq!(request["body_shape"]["unsigned_url_count"], 1);
    for step in ["listen", "submit", "poll", "webhook", "download"] {
        assert!(stderr.contains(&format!("✓ {step}")), "{step}: {stderr}");
    }
    assert!(stderr.contains("flow passed: 5 steps"), "{stderr}");
    assert!(!stderr.contains(SECRET), "the secret is never printed");
}

#[tokio::test]
async fn flow_proves_the_receiver_behind_the_listener_answered_204() {
    let receiver = Receiver::start(guide_check(SECRET, 204, "")).expect(1);
    let to = format!("{}/modelgates/video-webhook", receiver.url());
    let (code, stdout, stderr) = flow(args(&[
        "--secret",
        SECRET,
        "--job-time",
        "0",
        "--forward-to",
        &to,
    ]))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("✓ receiver  your receiver answered 204"),
        "{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["job"]["downloaded_bytes"], sample_len());
    let seen = receiver.arrived(1).await;
    assert_eq!(seen[0].path(), "/modelgates/video-webhook");
    assert!(seen[0].guide_verifies(SECRET));
}

#[tokio::test]
async fn flow_fails_by_name_when_the_receiver_answers_401() {
    let receiver = Receiver::start(always(401, "")).expect(1);
    let (code, stdout, stderr) = flow(args(&[
        "--secret",
        SECRET,
        "--job-time",
        "0",
        "--forward-to",
        &receiver.url(),
    ]))
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("✓ webhook"),
        "the delivery itself was valid: {stderr}"
    );
    assert!(
        stderr.contains("✗ receiver  your receiver answered 401"),
        "{stderr}"
    );
    assert!(stderr.contains("flow failed at step receiver"), "{stderr}");
    // The report is printed all the same.
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["request"]["has_signature_header"], true);
    // The in-process provider does not retry: the flow judges the first delivery.
    receiver.arrived(1).await;
}

#[tokio::test]
async fn a_failed_job_has_no_video_to_download_and_the_flow_still_passes() {
    let (code, stdout, stderr) = flow(args(&[
        "--secret",
        SECRET,
        "--job-time",
        "0",
        "--outcome",
        "failed",
        "--json",
    ]))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("- download  the job ended failed"),
        "{stderr}"
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["job"]["downloaded_bytes"], Value::Null);
    assert_eq!(report["request"]["body_shape"]["data_status"], "failed");
}

#[tokio::test]
async fn flow_against_an_api_signing_with_another_secret_fails_at_the_webhook() {
    let mut settings = Settings::new(Secret::new("not_the_apps_secret").unwrap());
    settings.job_time = Duration::ZERO;
    settings.api_key = Some("mg_test".into());
    let p = provider::start("127.0.0.1".parse().unwrap(), 0, settings)
        .await
        .unwrap();
    let base = p.base().to_owned();
    let (code, _, stderr) = flow(args(&[
        "--secret",
        SECRET,
        "--api",
        &base,
        "--api-key",
        "mg_test",
        "--poll-interval",
        "200ms",
    ]))
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("✓ submit"), "{stderr}");
    assert!(
        stderr.contains("✗ webhook   signature invalid signature"),
        "{stderr}"
    );
    assert!(stderr.contains("flow failed at step webhook"), "{stderr}");
    // A wrong API key fails at the submit, by name.
    let (code, _, stderr) = flow(args(&[
        "--secret",
        SECRET,
        "--api",
        &base,
        "--api-key",
        "mg_wrong",
    ]))
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("✗ submit    the API answered 401"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("mg_wrong"),
        "the key is never printed: {stderr}"
    );
    p.stop().await;
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let (code, _, stderr) = flow(args(&["--secret", SECRET, "--api", "http://127.0.0.1:9"])).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("--api needs --api-key"), "{stderr}");
    let (code, _, stderr) = flow(args(&["--job-time", "0"])).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("flow needs --secret"), "{stderr}");
    let (code, _, stderr) = flow(args(&[
        "--secret",
        SECRET,
        "--callback-url",
        "ftp://example.com/x",
    ]))
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("--callback-url"), "{stderr}");
}

#[tokio::test]
async fn a_download_cut_short_says_how_much_arrived() {
    use tokio::io::AsyncWriteExt;
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/files/x.mp4", tcp.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut s, _) = tcp.accept().await.unwrap();
        let _ = common::read_request(&mut s).await;
        s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000\r\n\r\n0123456789",
        )
        .await
        .unwrap();
        // Closed here, 990 bytes short.
    });
    let client = hooklens::net::send::client(&[]).unwrap();
    let err = hooklens::net::flow::http::download(&client, &url, None, Duration::from_secs(10))
        .await
        .err()
        .expect("a short body is an error");
    let text = format!("{err:#}");
    assert!(text.contains("cut short after 10 of 1000 bytes"), "{text}");
}

#[tokio::test]
async fn flow_can_use_a_listener_already_running_through_its_capture_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("captures.jsonl");
    // A listener without a secret: the flow verifies with its own.
    let listener = common::start(Default::default(), Some(&log)).await;
    let mut settings = Settings::new(Secret::new(SECRET).unwrap());
    settings.job_time = Duration::ZERO;
    let p = provider::start("127.0.0.1".parse().unwrap(), 0, settings)
        .await
        .unwrap();
    let hook = listener.url("/modelgates/video-webhook");
    let base = p.base().to_owned();
    let log_arg = log.display().to_string();
    let (code, stdout, stderr) = flow(args(&[
        "--secret",
        SECRET,
        "--api",
        &base,
        "--api-key",
        "k",
        "--poll-interval",
        "200ms",
        "--callback-url",
        &hook,
        "--store",
        &log_arg,
        "--json",
    ]))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("webhooks looked for in"), "{stderr}");
    assert!(stderr.contains("✓ webhook"), "{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["job"]["downloaded_bytes"], sample_len());
    // The same with the wrong secret fails at the webhook, by name.
    let (code, _, stderr) = flow(args(&[
        "--secret",
        "another",
        "--api",
        &base,
        "--api-key",
        "k",
        "--poll-interval",
        "200ms",
        "--callback-url",
        &hook,
        "--store",
        &log_arg,
    ]))
    .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("flow failed at step webhook"), "{stderr}");
    p.stop().await;
    listener.stop().await;
}
