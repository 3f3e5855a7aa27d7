//! The CLI contract on the real binary: readiness line, exit codes, errors (usage errors as
//! clap renders them, failures as one line), list/show.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use assert_cmd::prelude::*;
use common::hooklens;
use predicates::prelude::*;

fn one_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr).into_owned();
    assert_eq!(
        text.trim_end().lines().count(),
        1,
        "expected one line, got:\n{text}"
    );
    text
}

#[test]
fn bad_flags_exit_2_with_a_clear_line() {
    let out = hooklens()
        .args(["listen", "--port", "notaport"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port"));

    hooklens()
        .args(["listen", "--tolerance", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a duration"));
    hooklens()
        .args(["listen", "--secret", ""])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty secret refused"));
    hooklens()
        .args(["show", "twelve"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a capture id"));
}

#[test]
fn a_missing_argument_is_named_with_the_usage_line() {
    let out = hooklens().arg("show").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the following required arguments were not provided"),
        "{err}"
    );
    assert!(err.contains("<ID>"), "names the missing argument: {err}");
    assert!(err.contains("Usage: hooklens show <ID>"), "{err}");
}

#[test]
fn a_mistyped_flag_gets_the_tip() {
    let out = hooklens().args(["listen", "--prot", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unexpected argument '--prot'"), "{err}");
    assert!(
        err.contains("tip: a similar argument exists: '--port'"),
        "{err}"
    );
    assert!(err.contains("Usage: hooklens listen"), "{err}");
}

#[test]
fn our_usage_errors_look_like_claps_for_their_subcommand() {
    let out = hooklens()
        .args(["replay", "--store", "x.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: give capture ids to replay"),
        "{err}"
    );
    assert!(err.contains("Usage: hooklens replay"), "{err}");
    // Every command reads its secret the same way: --secret, then the environment.
    hooklens()
        .args(["send", "--to", "http://127.0.0.1:9/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("send needs --secret"));
    hooklens()
        .args(["replay", "1", "--resign", "--to", "http://127.0.0.1:9/"])
        .env("HOOKLENS_SECRET", "")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("secret 0: empty secret refused"));
}

#[test]
fn port_in_use_is_one_line_not_a_panic() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = hooklens()
        .args(["listen", "--no-tui", "--no-store", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = one_line(&out.stderr);
    assert!(
        err.starts_with("hooklens: error:") && err.contains("already in use"),
        "{err}"
    );
}

#[test]
fn listen_prints_readiness_captures_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let mut cli = hooklens();
    let mut child = cli
        .args([
            "listen",
            "--no-tui",
            "--port",
            "0",
            "--secret",
            "dev_secret",
            "--store",
        ])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let url = ready
        .strip_prefix("Listening on ")
        .unwrap_or_else(|| panic!("readiness line: {ready}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = common::guide_body("2026-11-26T10:00:00.000Z");
    let t = common::now_secs();
    let sig = format!(
        "t={t},v1={}",
        common::guide_signature("dev_secret", t, &body)
    );
    let target = format!("{url}/modelgates/video-webhook");
    assert_eq!(
        rt.block_on(common::post_signed(&target, &sig, body.clone())),
        204
    );
    assert_eq!(rt.block_on(common::post_signed(&target, &sig, body)), 204);

    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("#1") && first.contains("valid"), "{first}");
    assert!(first.contains("video.generation.completed") && first.contains("job_test-completed"));
    let second = lines.next().unwrap().unwrap();
    assert!(
        second.contains("#2") && second.contains("(dup of #1)"),
        "{second}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "SIGTERM is a clean exit");

    // What the listener stored is listed and shown by the offline commands.
    let listed = hooklens()
        .arg("list")
        .arg("--store")
        .arg(&log)
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    let ids: Vec<&str> = listed
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, ["#1", "#2"]);

    hooklens()
        .args(["show", "#2", "--store"])
        .arg(&log)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "x-modelgates-idempotency-key: job_test-completed",
        ))
        .stdout(predicate::str::contains("verdict   valid"))
        .stdout(predicate::str::contains("\"status\": \"completed\""))
        .stdout(predicate::str::contains("redacted_format"));
    hooklens()
        .args(["show", "99", "--store"])
        .arg(&log)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no capture #99"));
}

#[test]
fn json_lines_have_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let l = common::start(Default::default(), Some(&log)).await;
        common::post(
            &l.url("/p"),
            &[("X-ModelGates-Idempotency-Key", "k-1")],
            b"{}".to_vec(),
        )
        .await;
        l.stop().await;
    });
    let out = hooklens()
        .arg("list")
        .arg("--json")
        .arg("--store")
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let expect = [
        ("id", "number"),
        ("received_at", "string"),
        ("received_at_ms", "number"),
        ("method", "string"),
        ("target", "string"),
        ("event_type", "null"),
        ("verdict", "string"),
        ("reason", "string"),
        ("scheme", "string"),
        ("timestamp", "null"),
        ("skew_secs", "null"),
        ("matched_secret", "null"),
        ("hints", "array"),
        ("idempotency_key", "string"),
        ("dup_of", "null"),
        ("body_len", "number"),
        ("truncated", "bool"),
        ("response_status", "number"),
    ];
    for (field, kind) in expect {
        let value = v
            .get(field)
            .unwrap_or_else(|| panic!("missing {field}: {v}"));
        let ok = match kind {
            "number" => value.is_number(),
            "string" => value.is_string(),
            "null" => value.is_null(),
            "array" => value.is_array(),
            _ => value.is_boolean(),
        };
        assert!(ok, "{field} should be {kind}: {value}");
    }
    assert_eq!(v["verdict"], "unverified");
    assert_eq!(v["target"], "/p");
}

#[test]
fn suspicious_secrets_are_warned_about_without_printing_them() {
    // An occupied port makes listen stop right after its start-up checks.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = hooklens()
        .args(["listen", "--no-tui", "--no-store", "--port", &port])
        .args(["--secret", "dev_secret\n", "--secret", "whsec_abc123xyz"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("secret 0") && err.contains("newline"), "{err}");
    assert!(err.contains("secret 1") && err.contains("whsec_"), "{err}");
    assert!(
        !err.contains("dev_secret") && !err.contains("abc123xyz"),
        "secret leaked: {err}"
    );
}
