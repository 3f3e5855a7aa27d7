//! `hooklens replay` (the real binary) against a receiver running the guide's check.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &str = "whsec_replay_test_secret_value";

/// A blocking receiver: 204 when the guide's check passes, 401 otherwise; records heads.
fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let log = heads.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        let n = s.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_string())
                        })
                        .map_or(0, |v| v.parse().unwrap());
                    while buf.len() < end + 4 + len {
                        let n = s.read(&mut chunk).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = buf[end + 4..end + 4 + len].to_vec();
                    buf.drain(..end + 4 + len);
                    let ok = verifies(&head, &body);
                    log.lock().unwrap().push(head);
                    let status = if ok {
                        "204 No Content"
                    } else {
                        "401 Unauthorized"
                    };
                    if s.write_all(
                        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
                    )
                    .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, heads)
}

fn verifies(head: &str, body: &[u8]) -> bool {
    let Some(value) = head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case("x-modelgates-signature")
            .then(|| v.trim().to_string())
    }) else {
        return false;
    };
    let (mut t, mut v1) = (None, None);
    for part in value.split(',').map(str::trim) {
        if let Some(x) = part.strip_prefix("t=") {
            t = x.parse::<i64>().ok();
        } else if let Some(x) = part.strip_prefix("v1=") {
            v1 = hex::decode(x).ok();
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t},").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

/// A log with one capture signed an hour ago (stale now).
fn stale_log(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fixtures.jsonl");
    let body = br#"{"type":"video.generation.completed","data":{"id":"job_1"}}"#;
    let old = 1_700_000_000;
    let sig = hooklens::verify::modelgates::signature_header(SECRET.as_bytes(), old, body);
    let mut capture = hooklens::capture::Capture::fixture(
        body,
        &[
            ("Host", "x"),
            ("X-ModelGates-Signature", sig.as_str()),
            ("Content-Length", "59"),
        ],
    );
    capture.id = hooklens::capture::CaptureId(1);
    let mut verdict =
        hooklens::verify::Verdict::new(Some("modelgates"), hooklens::verify::Outcome::Stale, "old");
    verdict.timestamp = Some(old);
    let record = hooklens::store::CaptureRecord {
        capture,
        verdict,
        event_type: Some("video.generation.completed".into()),
        data_id: None,
        idempotency_key: None,
        response_status: 401,
    };
    std::fs::write(
        &path,
        hooklens::store::encode_line(hooklens::capture::CaptureId(1), &record).unwrap(),
    )
    .unwrap();
    path
}

fn hooklens() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("hooklens").unwrap();
    c.env_remove("MODELGATES_WEBHOOK_SECRET");
    c
}

#[test]
fn stale_replay_is_refused_resigned_replay_passes() {
    let dir = tempfile::tempdir().unwrap();
    let log = stale_log(dir.path());
    let (url, heads) = receiver();

    hooklens()
        .args(["replay", "1", "--to", &url, "--from"])
        .arg(&log)
        .assert()
        .code(1)
        .stdout(
            predicates::str::contains("#1 → 401").and(predicates::str::contains("use --resign")),
        );
    hooklens()
        .args([
            "replay", "#1", "--resign", "--secret", SECRET, "--to", &url, "--from",
        ])
        .arg(&log)
        .assert()
        .success()
        .stdout(predicates::str::contains("#1 → 204").and(predicates::str::contains("re-signed")));
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
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 3);
    assert!(
        heads[0].contains("\r\nX-Hooklens-Replay: 1"),
        "{}",
        heads[0]
    );
    assert!(!heads[2].contains("X-Hooklens-Replay"));
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

use predicates::prelude::PredicateBooleanExt;
