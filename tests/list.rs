//! `hooklens list` as the real binary on a real log: it streams, and what it writes is what the
//! index says (the same rows, JSON objects and lines as building the whole index first).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;

use bytes::Bytes;
use common::hooklens;
use hooklens::front::printer;
use hooklens::model::capture::{Capture, CaptureId, Header};
use hooklens::model::exchange::{
    BodyDigest, Exchange, ExchangeKind, ExchangeResponse, HTTP_11, PathMode, RecordedTarget,
};
use hooklens::model::record::CaptureRecord;
use hooklens::store::{Store, append_exchanges_to, encode_line};
use hooklens::verify::{Outcome, Verdict};

fn capture(i: u64) -> Vec<u8> {
    let key = format!("job_{}-completed", i % 700);
    let outcome = if i.is_multiple_of(5) {
        Outcome::InvalidSignature
    } else {
        Outcome::Valid
    };
    let record = CaptureRecord {
        capture: Capture::fixture(
            format!("{{\"n\":{i}}}").as_bytes(),
            &[
                ("Content-Type", "application/json"),
                ("X-ModelGates-Idempotency-Key", &key),
            ],
        ),
        verdict: Verdict::new(Some("modelgates"), outcome, "a reason"),
        event_type: Some("video.generation.completed".into()),
        data_id: Some(format!("job_{i}")),
        idempotency_key: (!i.is_multiple_of(3)).then_some(key),
        // A relayed capture's status is the forward's; `0` until it is recorded.
        response_status: if i.is_multiple_of(4) { 0 } else { 204 },
    };
    encode_line(CaptureId(i), &record).unwrap()
}

fn exchange(capture: u64, kind: ExchangeKind, status: Option<u16>, relayed: bool) -> Exchange {
    Exchange {
        kind,
        capture: CaptureId(capture),
        at_ms: 0,
        url: "http://127.0.0.1:3000/hook".into(),
        method: "POST".into(),
        request_headers: vec![Header::new("Content-Type", "application/json")],
        received: BodyDigest::of(b"a"),
        sent: BodyDigest::of(b"a"),
        integrity: Vec::new(),
        resigned: false,
        edited: false,
        relayed,
        latency_us: 1_000 + capture,
        response: status.map(|status| ExchangeResponse {
            version: HTTP_11.into(),
            status,
            reason: "Whatever".into(),
            headers: Vec::new(),
            body: Bytes::from_static(b"ok"),
            body_len: 2,
        }),
        error: status.is_none().then(|| "reset".to_owned()),
        status: status.unwrap_or(502),
    }
}

/// A listener's log of `n` captures that forwarded and relayed some, then replays recorded
/// much later by another process, a corrupt line and a torn tail.
fn write_log(path: &Path, n: u64) {
    let mut text = b"{\"v\":1,\"kind\":\"log\",\"created_by\":\"hooklens\"}\n".to_vec();
    std::fs::write(path, &text).unwrap();
    let target = RecordedTarget {
        url: "http://127.0.0.1:3000/hook".into(),
        path: PathMode::Exact,
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (store, writer, _) = Store::open(Some(path)).unwrap();
        store.append_session(Some(target), None).await.unwrap();
        drop(store);
        writer.join().await;
    });
    text = std::fs::read(path).unwrap();
    for i in 1..=n {
        text.extend(capture(i));
        if i.is_multiple_of(4) {
            let e = exchange(i, ExchangeKind::Forward, Some(500 + (i % 3) as u16), true);
            text.extend(line_of(&e));
        } else if i.is_multiple_of(7) {
            text.extend(line_of(&exchange(i, ExchangeKind::Forward, None, false)));
        }
        if i == n / 2 {
            text.extend(b"not a record\n");
        }
    }
    std::fs::write(path, &text).unwrap();
    let replays: Vec<Exchange> = (1..=n)
        .filter(|i| i.is_multiple_of(11))
        .map(|i| exchange(i, ExchangeKind::Replay, Some(202), false))
        .collect();
    append_exchanges_to(path, &replays).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    std::io::Write::write_all(&mut f, b"{\"v\":1,\"kind\":\"capture\",\"id\":99999,\"rec").unwrap();
}

fn line_of(e: &Exchange) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.jsonl");
    std::fs::write(
        &one,
        b"{\"v\":1,\"kind\":\"log\",\"created_by\":\"hooklens\"}\n",
    )
    .unwrap();
    append_exchanges_to(&one, std::slice::from_ref(e)).unwrap();
    let text = std::fs::read(&one).unwrap();
    let start = text.iter().position(|&b| b == b'\n').unwrap() + 1;
    text[start..].to_vec()
}

#[test]
fn list_writes_what_the_whole_index_says_row_for_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    write_log(&path, 3_000);
    // Today's output, built from the whole index.
    let log = Store::open_readonly(&path).unwrap();
    let rows = log.index().rows();
    assert!(rows.iter().any(|r| r.dup_of.is_some()));
    assert!(rows.iter().any(|r| r.response_status == 501));
    assert!(
        rows.iter()
            .any(|r| r.exchange.as_ref().is_some_and(|e| e.count == 2))
    );
    let mut json = String::new();
    let mut plain = String::new();
    for row in rows {
        let record = log.load(row.id).unwrap();
        let mut j = printer::json_capture(row, &record.verdict);
        j.tls = record.capture.tls.as_ref();
        json.push_str(&hooklens::sanitize::to_json_line(&j));
        json.push('\n');
        plain.push_str(&printer::list_line(row));
        plain.push('\n');
    }
    let report: Vec<String> = log
        .recovery
        .report(&path, false)
        .iter()
        .map(|l| format!("hooklens: {l}\n"))
        .collect();
    // The first run builds the offset index beside the log, the second reads it.
    for _ in 0..2 {
        let out = hooklens()
            .args(["list", "--json", "--store"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8(out.stdout).unwrap() == json,
            "list --json differs"
        );
        assert_eq!(String::from_utf8(out.stderr).unwrap(), report.concat());
        let out = hooklens()
            .args(["list", "--store"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(
            String::from_utf8(out.stdout).unwrap() == plain,
            "list differs"
        );
    }
}

#[test]
fn a_reader_that_stops_early_ends_list_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    write_log(&path, 20_000);
    let mut cli = hooklens();
    let mut child = cli
        .args(["list", "--json", "--store"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.starts_with("{\"kind\":\"capture\",\"id\":1,"),
        "{first}"
    );
    // The pipe is closed here, with thousands of rows still to write.
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    // As for every command stopped by a closed pipe (README): 141, and nothing said.
    assert_eq!(status.code(), Some(141), "{err}");
    assert_eq!(err, "");
}
