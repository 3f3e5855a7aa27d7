//! The JSON Schemas in schemas/ against the real binary: `hooklens listen --json` with real
//! signed deliveries (valid, invalid, stale, missing, malformed, binary) forwarded to a
//! receiver, a replay, and every line of the capture log. And the schemas do reject.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Receiver, guide_check};
use rstest::rstest;
use serde_json::{Value, json};

const SECRET: &str = "schema_test_secret";
const BASE: &str = "https://hooklens.invalid/schemas/";

fn schema(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// A validator for `schemas/<name>`, with the other schemas resolvable by their `$id`.
fn validator(name: &str) -> jsonschema::Validator {
    let mut registry = jsonschema::Registry::new();
    for file in ["capture.json", "forward.json", "log-line.json"] {
        let doc = schema(file);
        assert_eq!(doc["$id"], format!("{BASE}{file}"), "$id of {file}");
        registry = registry.add(format!("{BASE}{file}"), doc).unwrap();
    }
    let registry = registry.prepare().unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(&registry)
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("schemas/{name} does not compile: {e}"))
}

/// Every error `v` gets from `schema`, as text (empty: valid).
fn errors(schema: &jsonschema::Validator, v: &Value) -> Vec<String> {
    schema
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn assert_valid(schema: &jsonschema::Validator, what: &str, v: &Value) {
    let errs = errors(schema, v);
    assert!(
        errs.is_empty(),
        "{what} does not match its schema: {errs:#?}\n{v:#}"
    );
}

#[rstest]
#[case("capture.json")]
#[case("forward.json")]
#[case("log-line.json")]
fn each_schema_is_valid_draft_2020_12(#[case] name: &str) {
    let doc = schema(name);
    assert_eq!(
        doc["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    if let Err(e) = jsonschema::meta::validate(&doc) {
        panic!("schemas/{name} is not a valid schema: {e}");
    }
}

/// Kills the listener on drop (a failed assertion must not leave it running).
struct Listening(Child);

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One raw HTTP/1.1 request over a fresh connection; returns the status.
fn deliver(addr: &str, headers: &[(&str, &[u8])], body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut req = b"POST /modelgates/video-webhook HTTP/1.1\r\nHost: hooklens.test\r\n".to_vec();
    for (name, value) in headers {
        req.extend_from_slice(name.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(value);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    req.extend_from_slice(body);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(&req).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"))
}

/// Headers, body and the status the provider gets.
type Delivery<'a> = (Vec<(&'a str, &'a [u8])>, &'a [u8], u16);

fn signature(secret: &str, t: i64, body: &[u8]) -> Vec<u8> {
    format!("t={t},v1={}", common::guide_signature(secret, t, body)).into_bytes()
}

#[test]
fn listen_json_replay_json_and_every_log_line_match_the_schemas() {
    let capture_schema = validator("capture.json");
    let forward_schema = validator("forward.json");
    let line_schema = validator("log-line.json");

    // Six deliveries forwarded, then one replay.
    let receiver = Receiver::start(guide_check(SECRET, 202, "queued")).expect(7);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("captures.jsonl");
    let mut cli = common::hooklens();
    cli.args(["listen", "--json", "--port", "0", "--secret", SECRET])
        .arg("--forward-to")
        .arg(receiver.url())
        .arg("--store")
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Listening(cli.spawn().unwrap());
    let mut ready = String::new();
    BufReader::new(child.0.stderr.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let addr = ready
        .trim()
        .strip_prefix("Listening on http://")
        .unwrap_or_else(|| panic!("readiness line on stderr: {ready:?}"))
        .to_owned();
    let (tx, lines) = mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let body = common::guide_body("2026-11-26T10:00:00.000Z");
    let now = common::now_secs();
    let json = ("Content-Type", &b"application/json"[..]);
    let key = ("X-ModelGates-Idempotency-Key", &b"job_test-completed"[..]);
    let valid = signature(SECRET, now, &body);
    let invalid = signature("not_the_secret", now, &body);
    let stale = signature(SECRET, now - 400, &body);
    let binary = b"\x00\xffnot utf-8\x80";
    let deliveries: Vec<Delivery> = vec![
        (
            vec![json, key, ("X-ModelGates-Signature", &valid)],
            &body,
            202,
        ),
        (
            vec![json, key, ("X-ModelGates-Signature", &invalid)],
            &body,
            401,
        ),
        (
            vec![json, key, ("X-ModelGates-Signature", &stale)],
            &body,
            401,
        ),
        (vec![json], &body, 401),
        (vec![("X-ModelGates-Signature", b"v1=zz")], b"{}", 401),
        // A header value that is not UTF-8 (obs-text) and a binary body.
        (
            vec![("X-ModelGates-Signature", &valid), ("X-Note", b"\xe9t\xe9")],
            binary,
            401,
        ),
    ];
    for (n, (headers, body, status)) in deliveries.iter().enumerate() {
        assert_eq!(deliver(&addr, headers, body), *status, "delivery {}", n + 1);
    }

    // Each delivery prints its capture object, then its forward object.
    let mut printed: Vec<Value> = Vec::new();
    while printed.len() < 2 * deliveries.len() {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("listen --json prints a capture and a forward per delivery");
        printed
            .push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")));
    }
    let mut verdicts = Vec::new();
    for v in &printed {
        match v["kind"].as_str() {
            Some("capture") => {
                assert_valid(&capture_schema, "a --json capture object", v);
                verdicts.push(v["verdict"].as_str().unwrap().to_owned());
            }
            Some("forward") => assert_valid(&forward_schema, "a --json forward object", v),
            _ => panic!("unexpected object on stdout: {v}"),
        }
    }
    assert_eq!(
        verdicts,
        [
            "valid",
            "invalid_signature",
            "stale",
            "missing_header",
            "malformed_header",
            "invalid_signature"
        ]
    );
    drop(child);

    // A replay: its --json record, then the log it was recorded in.
    let out = common::hooklens()
        .args([
            "replay", "3", "--resign", "--secret", SECRET, "--json", "--to",
        ])
        .arg(receiver.url())
        .arg("--store")
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replay: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replay["kind"], "replay");
    assert_valid(&forward_schema, "a replay --json record", &replay);

    let text = std::fs::read_to_string(&log).unwrap();
    let mut kinds = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_valid(&line_schema, &format!("log line {}", n + 1), &v);
        kinds.push(v["kind"].as_str().unwrap().to_owned());
    }
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(
        (
            count("session"),
            count("capture"),
            count("forward"),
            count("replay")
        ),
        (1, 6, 6, 1),
        "{kinds:?}"
    );
    assert!(
        text.contains(r#"["X-Note",{"b64":"6XTp"}]"#),
        "the non-UTF-8 header is kept as b64"
    );

    // list --json prints the same capture objects.
    let out = common::hooklens()
        .args(["list", "--json", "--store"])
        .arg(&log)
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed.lines().count(), 6, "{listed}");
    for line in listed.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_valid(&capture_schema, "a list --json object", &v);
    }
}

/// A capture object as `listen --json` prints it (checked valid first).
fn capture_object() -> Value {
    json!({
        "kind": "capture", "id": 2, "received_at": "2026-12-01T15:17:39.408Z",
        "received_at_ms": 1796138259408_i64, "method": "POST", "target": "/x",
        "event_type": "video.generation.completed", "verdict": "stale",
        "reason": "signature matches but timestamp is 360 s old, outside the 300 s tolerance",
        "scheme": "modelgates", "timestamp": 1796137899, "skew_secs": -360,
        "matched_secret": {"index": 0, "fingerprint": "9c3f6fbb"}, "hints": [],
        "idempotency_key": "job_test-completed", "dup_of": 1, "body_len": 271,
        "truncated": false, "response_status": 401, "tls": null,
        "forward": {"kind": "forward", "status": 202, "latency_ms": 1.2, "count": 1}
    })
}

/// A forward object as `listen --json` prints it.
fn forward_object() -> Value {
    json!({
        "kind": "forward", "capture": 1, "at_ms": 1796138259350_i64,
        "url": "http://127.0.0.1:18555/modelgates/video-webhook", "method": "POST",
        "request_headers": [["content-type", "application/json"], ["X-Forwarded-Proto", "http"]],
        "received": {"sha256": "59f9bb4ec99203d650fda48d529d2485ff8277ef8c3d94b84784d6bd5fd69db8", "len": 271},
        "sent": {"sha256": "59f9bb4ec99203d650fda48d529d2485ff8277ef8c3d94b84784d6bd5fd69db8", "len": 271},
        "integrity": [], "resigned": false, "edited": false, "relayed": true, "latency_us": 1009,
        "response": {"version": "HTTP/1.1", "status": 202, "reason": "Accepted",
            "headers": [["Content-Length", "2"]], "body_b64": "b2s=", "body_len": 2},
        "error": null, "status": 202
    })
}

fn with(mut v: Value, pointer: &str, value: Value) -> Value {
    *v.pointer_mut(pointer).unwrap() = value;
    v
}

fn without(mut v: Value, field: &str) -> Value {
    v.as_object_mut().unwrap().remove(field).unwrap();
    v
}

fn plus(mut v: Value, field: &str, value: Value) -> Value {
    v.as_object_mut().unwrap().insert(field.to_owned(), value);
    v
}

#[derive(Debug, Clone, Copy)]
enum Wrong {
    SortaVerdict,
    ExtraField,
    MissingField,
    FingerprintInFull,
    DigestNotHex,
    FailedWithoutError,
    HeaderNotAPair,
    LogLineWithoutVersion,
    UnknownLogKind,
}

/// The schemas reject what hooklens never prints; each wrong object is one small change to a
/// valid one.
#[rstest]
#[case::sorta_verdict(Wrong::SortaVerdict)]
#[case::extra_field(Wrong::ExtraField)]
#[case::missing_field(Wrong::MissingField)]
#[case::fingerprint_in_full(Wrong::FingerprintInFull)]
#[case::digest_not_hex(Wrong::DigestNotHex)]
#[case::failed_without_error(Wrong::FailedWithoutError)]
#[case::header_not_a_pair(Wrong::HeaderNotAPair)]
#[case::log_line_without_version(Wrong::LogLineWithoutVersion)]
#[case::unknown_log_kind(Wrong::UnknownLogKind)]
fn the_schemas_reject_a_wrong_object(#[case] wrong: Wrong) {
    let capture = validator("capture.json");
    let forward = validator("forward.json");
    let line = validator("log-line.json");
    let forward_line = plus(forward_object(), "v", json!(1));
    assert_valid(&capture, "the capture example", &capture_object());
    assert_valid(&forward, "the forward example", &forward_object());
    assert_valid(&line, "the forward line example", &forward_line);

    let (schema, bad) = match wrong {
        Wrong::SortaVerdict => (&capture, with(capture_object(), "/verdict", json!("sorta"))),
        Wrong::ExtraField => (&capture, plus(capture_object(), "secret", json!("dev"))),
        Wrong::MissingField => (&capture, without(capture_object(), "reason")),
        Wrong::FingerprintInFull => (
            &capture,
            with(
                capture_object(),
                "/matched_secret/fingerprint",
                json!("9c3f6fbb9c3f6fbb9c3f6fbb9c3f6fbb"),
            ),
        ),
        Wrong::DigestNotHex => (
            &forward,
            with(forward_object(), "/sent/sha256", json!("not a digest")),
        ),
        Wrong::FailedWithoutError => (&forward, with(forward_object(), "/response", json!(null))),
        Wrong::HeaderNotAPair => (
            &forward,
            with(
                forward_object(),
                "/request_headers/0",
                json!(["content-type"]),
            ),
        ),
        Wrong::LogLineWithoutVersion => (&line, forward_object()),
        Wrong::UnknownLogKind => (&line, with(forward_line.clone(), "/kind", json!("sorta"))),
    };
    assert!(
        !errors(schema, &bad).is_empty(),
        "{wrong:?} was accepted:\n{bad:#}"
    );
}

#[tokio::test]
async fn refused_and_cut_requests_are_log_lines_of_the_schema() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let line_schema = validator("log-line.json");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("captures.jsonl");
    let config = hooklens::net::server::ListenConfig {
        max_body: 16,
        ..Default::default()
    };
    let l = common::start(config, Some(&log)).await;
    let sends: [&[u8]; 3] = [
        b"\x01\x02 not http\r\n\r\n",
        b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nConnection: close\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
        b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ];
    for (n, bytes) in sends.iter().enumerate() {
        let mut s = tokio::net::TcpStream::connect(l.addr).await.unwrap();
        s.write_all(bytes).await.unwrap();
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut sink)).await;
        let until = std::time::Instant::now() + Duration::from_secs(30);
        while l.store.index().len() <= n {
            assert!(
                std::time::Instant::now() < until,
                "request {n} not captured"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    l.stop().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let all: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        all[0]["kind"], "log",
        "a new log starts with its header record"
    );
    assert_valid(&line_schema, "the log header", &all[0]);
    let lines: Vec<&Value> = all.iter().filter(|l| l["kind"] == "capture").collect();
    assert_eq!(lines.len(), 3);
    for line in lines.iter().copied() {
        assert!(line["fault"].is_string(), "{line}");
        assert_valid(&line_schema, "a refused or cut capture", line);
    }
    assert!(lines[0]["raw_head_b64"].is_string());
}
