//! `hooklens replay` (the real binary) against a receiver running the guide's check.

mod common;

use assert_cmd::prelude::*;
use common::{Receiver, guide_check, hooklens};

const SECRET: &str = "whsec_replay_test_secret_value";

/// The guide's receiver: 204 when its check passes, 401 otherwise.
fn receiver() -> Receiver {
    Receiver::start(guide_check(SECRET, 204, ""))
}

/// A log with one capture signed an hour ago (stale now).
fn stale_log(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fixtures.jsonl");
    std::fs::write(&path, capture_line(1)).unwrap();
    path
}

/// One capture line (id `n`, job `job_n`), signed long ago.
fn capture_line(n: u64) -> Vec<u8> {
    let body = format!(r#"{{"type":"video.generation.completed","data":{{"id":"job_{n}"}}}}"#);
    let body = body.as_bytes();
    let len = body.len().to_string();
    let old = 1_700_000_000;
    let sig = hooklens::verify::modelgates::signature_header(SECRET.as_bytes(), old, body);
    let mut capture = hooklens::model::capture::Capture::fixture(
        body,
        &[
            ("Host", "x"),
            ("X-ModelGates-Signature", sig.as_str()),
            ("Content-Length", len.as_str()),
        ],
    );
    capture.id = hooklens::model::capture::CaptureId(n);
    let mut verdict =
        hooklens::verify::Verdict::new(Some("modelgates"), hooklens::verify::Outcome::Stale, "old");
    verdict.timestamp = Some(old);
    let record = hooklens::model::record::CaptureRecord {
        capture,
        verdict,
        event_type: Some("video.generation.completed".into()),
        data_id: None,
        idempotency_key: None,
        response_status: 401,
    };
    hooklens::store::encode_line(hooklens::model::capture::CaptureId(n), &record).unwrap()
}

/// `hooklens show 1 --json` of a log.
fn show_json(log: &std::path::Path) -> serde_json::Value {
    let out = hooklens()
        .args(["show", "1", "--json", "--store"])
        .arg(log)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stale_replay_is_refused_resigned_replay_passes() {
    let dir = tempfile::tempdir().unwrap();
    let log = stale_log(dir.path());
    let r = receiver().expect(3);
    let url = r.url();

    hooklens()
        .args(["replay", "1", "--to", &url, "--from"])
        .arg(&log)
        .assert()
        .code(1)
        .stdout(
            predicates::str::contains("#1 replay → 401")
                .and(predicates::str::contains("use --resign")),
        );
    hooklens()
        .args([
            "replay", "#1", "--resign", "--secret", SECRET, "--to", &url, "--from",
        ])
        .arg(&log)
        .assert()
        .success()
        .stdout(
            predicates::str::contains("#1 replay → 204")
                .and(predicates::str::contains("re-signed")),
        );
    // --expect turns the refused replay into the expected answer.
    hooklens()
        .args([
            "replay",
            "--all",
            "--expect",
            "401",
            "--no-replay-header",
            "--to",
            &url,
            "--from",
        ])
        .arg(&log)
        .assert()
        .success();
    let seen = r.seen();
    assert_eq!(seen[0].header("X-Hooklens-Replay"), Some(&b"1"[..]));
    assert!(
        seen[0]
            .head
            .as_deref()
            .is_some_and(|h| h.contains("\r\nX-Hooklens-Replay: 1\r\n")),
        "{:?}",
        seen[0].head
    );
    assert_eq!(seen[2].header("X-Hooklens-Replay"), None);
}

#[test]
fn unknown_id_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = stale_log(dir.path());
    hooklens()
        .args(["replay", "7", "--to", "http://127.0.0.1:9", "--from"])
        .arg(&log)
        .assert()
        .failure()
        .stderr(predicates::str::contains("no capture #7"));
}

#[test]
fn replays_are_recorded_linked_to_their_capture_and_fixtures_stay_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let log = stale_log(dir.path());
    let r = receiver().expect(4);
    let url = r.url();
    // --from: a fixtures log is only read.
    let before = std::fs::read(&log).unwrap();
    hooklens()
        .args([
            "replay", "1", "--resign", "--secret", SECRET, "--to", &url, "--from",
        ])
        .arg(&log)
        .assert()
        .success();
    assert_eq!(std::fs::read(&log).unwrap(), before);
    // --store: the listener's log gets a replay record per replay.
    for _ in 0..2 {
        hooklens()
            .args([
                "replay", "1", "--resign", "--secret", SECRET, "--to", &url, "--store",
            ])
            .arg(&log)
            .assert()
            .success();
    }
    hooklens()
        .args(["replay", "1", "--to", &url, "--store"])
        .arg(&log)
        .assert()
        .code(1);
    let shown = show_json(&log);
    let exchanges = shown["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 3, "{shown}");
    assert_eq!(exchanges[0]["kind"], "replay");
    assert_eq!(exchanges[0]["capture"], 1);
    assert_eq!(exchanges[0]["resigned"], true);
    assert_eq!(exchanges[0]["response"]["status"], 204);
    assert_eq!(exchanges[2]["response"]["status"], 401);
    assert_eq!(exchanges[2]["received"], exchanges[2]["sent"]);
    let list = hooklens()
        .args(["list", "--store"])
        .arg(&log)
        .output()
        .unwrap();
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.contains("replay → 401"),
        "latest replay in the list: {list}"
    );
    let text = hooklens()
        .args(["show", "1", "--store"])
        .arg(&log)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("forwards and replays (3)"), "{text}");
    assert!(text.contains("X-Hooklens-Replay: 1"), "{text}");
}

#[test]
fn edit_opens_the_editor_and_resigns_the_new_body() {
    let dir = tempfile::tempdir().unwrap();
    let log = stale_log(dir.path());
    let r = receiver().expect(1);
    let url = r.url();
    hooklens()
        .args([
            "replay", "1", "--edit", "--secret", SECRET, "--to", &url, "--store",
        ])
        .arg(&log)
        .env("VISUAL", "")
        .env("EDITOR", "sed -i s/job_1/job_1234/")
        .assert()
        .success()
        .stdout(predicates::str::contains("[edited]"))
        // The integrity notes name the lengths plainly, not as Rust debug text.
        .stdout(predicates::str::contains("Content-Length: received "))
        .stdout(predicates::str::contains("Some(").not());
    let seen = &r.seen()[0];
    assert_eq!(
        seen.body.as_ref(),
        br#"{"type":"video.generation.completed","data":{"id":"job_1234"}}"#
    );
    assert_eq!(
        seen.header("Content-Length"),
        Some(seen.body.len().to_string().as_bytes()),
        "length follows the edit"
    );
    assert!(seen.guide_verifies(SECRET), "the edited body is re-signed");
    let shown = show_json(&log);
    let e = &shown["exchanges"][0];
    assert_eq!(e["edited"], true);
    assert_ne!(e["received"]["sha256"], e["sent"]["sha256"]);
}

#[test]
fn a_failing_editor_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = stale_log(dir.path());
    let r = receiver().expect(0);
    let url = r.url();
    hooklens()
        .args([
            "replay", "1", "--edit", "--secret", SECRET, "--to", &url, "--store",
        ])
        .arg(&log)
        .env("VISUAL", "false")
        .assert()
        .failure()
        .stderr(predicates::str::contains("the editor (false) exited"));
}

#[test]
fn concurrent_bulk_replay_sends_every_capture() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.jsonl");
    let lines: Vec<u8> = (1..=12).flat_map(capture_line).collect();
    std::fs::write(&path, lines).unwrap();
    let r = receiver().expect(12);
    let url = r.url();
    hooklens()
        .args([
            "replay",
            "--all",
            "--concurrency",
            "4",
            "--resign",
            "--secret",
            SECRET,
            "--to",
            &url,
            "--store",
        ])
        .arg(&path)
        .assert()
        .success();
    let mut ids: Vec<String> = r
        .bodies()
        .iter()
        .map(|body| String::from_utf8_lossy(body).into_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "each capture once: {ids:?}");
    let log = hooklens::store::Store::open_readonly(&path).unwrap();
    assert_eq!(log.index().len(), 12);
    for row in log.index().rows() {
        assert_eq!(log.exchanges(row.id).unwrap().len(), 1, "{}", row.id);
    }
}

#[test]
fn the_default_target_is_the_listeners_forward_to() {
    let dir = tempfile::tempdir().unwrap();
    let log = stale_log(dir.path());
    hooklens()
        .args(["replay", "1", "--store"])
        .arg(&log)
        .assert()
        .failure()
        .stderr(predicates::str::contains("no receiver: give --to URL"));
    // A listener started with --forward-to records its target in the log.
    let r = receiver().expect(1);
    let url = r.url();
    let mut cli = hooklens();
    let mut listener = cli
        .args([
            "listen",
            "--no-tui",
            "--port",
            "0",
            "--forward-to",
            &url,
            "--store",
        ])
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(listener.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert!(ready.starts_with("Listening on "), "{ready}");
    listener.kill().unwrap();
    listener.wait().unwrap();
    hooklens()
        .args(["replay", "1", "--resign", "--secret", SECRET, "--store"])
        .arg(&log)
        .assert()
        .success();
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn a_corrupt_line_is_one_clear_error_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.jsonl");
    let mut bytes = capture_line(1);
    bytes.extend_from_slice(b"{\"v\":1,\"kind\":\"capture\",\"id\":2,\"received_at_ms\":\n");
    std::fs::write(&path, bytes).unwrap();
    // All ids are checked before sending: nothing arrives.
    let r = receiver().expect(0);
    let url = r.url();
    let out = hooklens()
        .args(["replay", "1", "2", "--to", &url, "--from"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no capture #2 in the log") && err.contains("(1 unreadable line was skipped;"),
        "{err}"
    );
}

#[test]
fn a_filter_alone_selects_the_matching_captures() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("three.jsonl");
    let lines: Vec<u8> = (1..=3).flat_map(capture_line).collect();
    std::fs::write(&path, lines).unwrap();
    let r = receiver().expect(2);
    let url = r.url();
    hooklens()
        .args([
            "replay", "--filter", "#2", "--resign", "--secret", SECRET, "--to", &url, "--from",
        ])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicates::str::contains("#2 replay → 204"));
    let seen = r.seen();
    assert_eq!(seen.len(), 1);
    assert!(String::from_utf8_lossy(&seen[0].body).contains("job_2"));
    // --json: one replay record per line, for scripts.
    let out = hooklens()
        .args(["replay", "--filter", "#3", "--json", "--to", &url, "--from"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "stale signature refused");
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["kind"], "replay");
    assert_eq!(record["capture"], 3);
    assert_eq!(record["response"]["status"], 401);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("#3 [original signature"), "{err}");
}
