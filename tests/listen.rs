//! End-to-end: real sockets on 127.0.0.1:0, a real HTTP client, a real log file.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use hooklens::model::capture::{CaptureId, HeaderCase};
use hooklens::model::secret::Secret;
use hooklens::net::server::{ListenConfig, Respond};
use hooklens::store::Store;
use hooklens::verify::{Outcome, VerifyConfig};
use rstest::rstest;

fn config(secrets: &[&str]) -> ListenConfig {
    ListenConfig {
        verify: VerifyConfig {
            secrets: secrets.iter().map(|s| Secret::new(*s).unwrap()).collect(),
            tolerance_secs: 300,
            ..VerifyConfig::default()
        },
        ..ListenConfig::default()
    }
}

#[derive(Debug, Clone, Copy)]
enum Case {
    Valid,
    WrongSecret,
    Tampered,
    Stale301,
    Future301,
    Old299,
    Missing,
    Malformed,
    SecondV1Matches,
}

#[rstest]
#[case(Case::Valid, 204, Outcome::Valid)]
#[case(Case::WrongSecret, 401, Outcome::InvalidSignature)]
#[case(Case::Tampered, 401, Outcome::InvalidSignature)]
#[case(Case::Stale301, 401, Outcome::Stale)]
#[case(Case::Future301, 401, Outcome::Stale)]
#[case(Case::Old299, 204, Outcome::Valid)]
#[case(Case::Missing, 401, Outcome::MissingHeader)]
#[case(Case::Malformed, 401, Outcome::MalformedHeader)]
#[case(Case::SecondV1Matches, 204, Outcome::Valid)]
#[tokio::test]
async fn verdict_matrix_over_real_sockets(
    #[case] case: Case,
    #[case] status: u16,
    #[case] outcome: Outcome,
) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("captures.jsonl");
    let l = start(config(&["dev_secret"]), Some(&log)).await;
    let body = guide_body("2026-11-26T10:00:00.000Z");
    let now = now_secs();
    let sig =
        |secret: &str, t: i64, b: &[u8]| format!("t={t},v1={}", guide_signature(secret, t, b));
    let (header, sent) = match case {
        Case::Valid => (Some(sig("dev_secret", now, &body)), body.clone()),
        Case::WrongSecret => (Some(sig("not_the_secret", now, &body)), body.clone()),
        Case::Tampered => {
            let mut changed = body.clone();
            changed.extend_from_slice(b" ");
            (Some(sig("dev_secret", now, &body)), changed)
        }
        Case::Stale301 => (Some(sig("dev_secret", now - 301, &body)), body.clone()),
        Case::Future301 => (Some(sig("dev_secret", now + 301, &body)), body.clone()),
        Case::Old299 => (Some(sig("dev_secret", now - 299, &body)), body.clone()),
        Case::Missing => (None, body.clone()),
        Case::Malformed => (Some("v1=deadbeef".to_string()), body.clone()),
        Case::SecondV1Matches => (
            Some(format!(
                "t={now}, v1={}, v1={}",
                guide_signature("old", now, &body),
                guide_signature("dev_secret", now, &body)
            )),
            body.clone(),
        ),
    };
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(h) = header.as_deref() {
        headers.push(("X-ModelGates-Signature", h));
    }
    let (got, resp_body) = post(&l.url("/modelgates/video-webhook"), &headers, sent.clone()).await;
    assert_eq!(got, status, "{case:?}");
    // The answer never carries the diagnosis.
    assert!(resp_body.is_empty(), "response body leaked: {resp_body:?}");

    // Answered only after the capture was durable: it is on disk already.
    let ro = Store::open_readonly(&log).unwrap();
    assert_eq!(ro.index().len(), 1);
    let record = ro.load(CaptureId(1)).unwrap();
    assert_eq!(record.verdict.outcome, outcome, "{}", record.verdict.reason);
    assert_eq!(record.response_status, status);
    assert_eq!(record.capture.body.as_ref(), sent.as_slice());
    l.stop().await;
}

#[tokio::test]
async fn rotation_reports_which_secret_matched() {
    let l = start(config(&["old_secret", "new_secret"]), None).await;
    let body = guide_body("2026-11-26T10:00:00.000Z");
    let t = now_secs();
    let header = format!("t={t},v1={}", guide_signature("new_secret", t, &body));
    assert_eq!(post_signed(&l.url("/hook"), &header, body).await, 204);
    let rec = l.store.load(CaptureId(1)).unwrap();
    let m = rec.verdict.matched_secret.unwrap();
    assert_eq!(m.index, 1);
    assert_eq!(
        m.fingerprint,
        Secret::new("new_secret").unwrap().fingerprint()
    );
    l.stop().await;
}

#[tokio::test]
async fn without_a_secret_everything_is_captured_unverified() {
    let l = start(config(&[]), None).await;
    let (status, _) = post(&l.url("/any/path?x=1"), &[], b"not json".to_vec()).await;
    assert_eq!(status, 204);
    let row = l.store.index().rows()[0].clone();
    assert_eq!(row.outcome, Outcome::Unverified);
    assert_eq!(&*row.target, "/any/path?x=1");
    l.stop().await;
}

#[tokio::test]
async fn hostile_bytes_round_trip_and_print_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let l = start(config(&[]), Some(&log)).await;
    let body = b"\x1b[31mred\x1b[0m\x07\xff\xfe\x00 \x1b]0;pwned\x07".to_vec();
    // HTTP forbids controls in header values, but obs-text bytes (a raw C1 CSI) get through.
    let mut raw = b"POST /x HTTP/1.1\r\nHost: x\r\nX-Note: \x9b2Jclear\r\n".to_vec();
    raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    raw.extend_from_slice(&body);
    let addr = l.addr;
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(&raw).unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 204"));
    })
    .await
    .unwrap();
    l.stop().await;

    let ro = Store::open_readonly(&log).unwrap();
    let rec = ro.load(CaptureId(1)).unwrap();
    assert_eq!(
        rec.capture.body.as_ref(),
        body.as_slice(),
        "body not byte for byte"
    );
    let shown = hooklens::front::show::show_text(&rec, None, &[]);
    let line = hooklens::front::printer::line(&ro.index().rows()[0]);
    for text in [&shown, &line] {
        assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\0'));
    }
    assert!(shown.contains("X-Note: \\x9b2Jclear"), "{shown}");
    assert_eq!(rec.capture.headers[1].value.as_ref(), b"\x9b2Jclear");
    assert!(
        shown.contains("1b 5b 33 31 6d"),
        "binary body is shown as a hex dump:\n{shown}"
    );
}

#[tokio::test]
async fn headers_keep_arrival_order_and_case() {
    let l = start(config(&[]), None).await;
    let addr = l.addr;
    let raw = "POST /h HTTP/1.1\r\nhOsT: x\r\nX-ModelGates-Signature: t=1,v1=2\r\nzz-last-first: 1\r\nContent-Length: 2\r\nAA-First-Last: 2\r\n\r\n{}";
    let response = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 204"), "{response}");
    let rec = l.store.load(CaptureId(1)).unwrap();
    let names: Vec<&str> = rec
        .capture
        .headers
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "hOsT",
            "X-ModelGates-Signature",
            "zz-last-first",
            "Content-Length",
            "AA-First-Last"
        ]
    );
    assert_eq!(rec.capture.header_case, HeaderCase::Original);
    l.stop().await;
}

#[tokio::test]
async fn h2c_prior_knowledge_is_captured_and_verified() {
    let l = start(config(&["dev_secret"]), None).await;
    let body = guide_body("2026-11-26T10:00:00.000Z");
    let t = now_secs();
    let sig = format!("t={t},v1={}", guide_signature("dev_secret", t, &body));
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let req = hyper::Request::post(l.url("/h2"))
        .header("x-modelgates-signature", sig)
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 204);
    let rec = l.store.load(CaptureId(1)).unwrap();
    assert_eq!(
        rec.capture.version,
        hooklens::model::capture::HttpVersion::H2
    );
    assert_eq!(rec.capture.header_case, HeaderCase::Lowercase);
    assert_eq!(rec.verdict.outcome, Outcome::Valid);
    l.stop().await;
}

#[tokio::test]
async fn restart_continues_ids_and_lists_earlier_captures() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let l = start(config(&[]), Some(&log)).await;
    post(&l.url("/one"), &[], b"1".to_vec()).await;
    post(&l.url("/two"), &[], b"2".to_vec()).await;
    l.stop().await;

    let l = start(config(&[]), Some(&log)).await;
    assert_eq!(l.store.index().len(), 2, "earlier captures are listed");
    post(&l.url("/three"), &[], b"3".to_vec()).await;
    let ids: Vec<u64> = l.store.index().rows().iter().map(|r| r.id.0).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(
        l.store.load(CaptureId(1)).unwrap().capture.body.as_ref(),
        b"1"
    );
    l.stop().await;
}

#[tokio::test]
async fn a_torn_last_line_is_cut_and_the_log_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let l = start(config(&[]), Some(&log)).await;
    post(&l.url("/one"), &[], b"1".to_vec()).await;
    l.stop().await;
    let intact = std::fs::read(&log).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(br#"{"v":1,"kind":"capture","id":2,"received_at_ms":17"#)
        .unwrap();
    drop(f);

    let (store, writer, recovery) = Store::open(Some(&log)).unwrap();
    // The log is this store's until its writer has finished.
    drop(store);
    writer.join().await;
    assert_eq!(recovery.captures, 1);
    assert!(recovery.torn_bytes > 0);
    assert_eq!(
        std::fs::read(&log).unwrap(),
        intact,
        "only the torn tail was cut"
    );

    let l = start(config(&[]), Some(&log)).await;
    post(&l.url("/two"), &[], b"2".to_vec()).await;
    assert_eq!(l.store.index().rows()[1].id, CaptureId(2));
    l.stop().await;
}

#[tokio::test]
async fn oversize_body_gets_413_is_kept_truncated_and_the_server_goes_on() {
    let cfg = ListenConfig {
        max_body: 1000,
        ..config(&[])
    };
    let l = start(cfg, None).await;
    let (status, _) = post(&l.url("/big"), &[], vec![b'a'; 5000]).await;
    assert_eq!(status, 413);
    let rec = l.store.load(CaptureId(1)).unwrap();
    assert!(rec.capture.truncated);
    assert_eq!(rec.capture.body.len(), 1000);
    let (status, _) = post(&l.url("/small"), &[], b"ok".to_vec()).await;
    assert_eq!(status, 204);
    l.stop().await;
}

#[tokio::test]
async fn garbage_and_dropped_connections_do_not_stop_the_server() {
    let l = start(config(&[]), None).await;
    let addr = l.addr;
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"\x16\x03\x01garbage not http\r\n\r\n")
            .unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
        // A request whose body never finishes, then the client goes away.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
            .unwrap();
        drop(s);
    })
    .await
    .unwrap();
    let (status, _) = post(&l.url("/after"), &[], b"fine".to_vec()).await;
    assert_eq!(status, 204);
    l.stop().await;
}

#[tokio::test]
async fn fixed_status_and_delay() {
    let cfg = ListenConfig {
        respond: Respond::Status(503),
        respond_delay: Duration::from_millis(50),
        ..config(&["dev_secret"])
    };
    let l = start(cfg, None).await;
    let (status, _) = post(&l.url("/x"), &[], b"{}".to_vec()).await;
    assert_eq!(status, 503);
    l.stop().await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let cfg = ListenConfig {
        respond_delay: Duration::from_millis(300),
        ..config(&[])
    };
    let l = start(cfg, Some(&log)).await;
    let url = l.url("/slow");
    let mut events = l.store.subscribe();
    let inflight = tokio::spawn(async move { post(&url, &[], b"late".to_vec()).await.0 });
    // Stop once the request is being answered (captured, now in its delay).
    let _ = events.recv().await;
    l.stop().await;
    assert_eq!(
        inflight.await.unwrap(),
        204,
        "the in-flight request was answered"
    );
    let ro = Store::open_readonly(&log).unwrap();
    assert_eq!(
        ro.load(CaptureId(1)).unwrap().capture.body.as_ref(),
        b"late"
    );
}

#[tokio::test]
async fn shape_report_matches_the_guide_where_they_overlap() {
    let l = start(config(&["dev_secret"]), None).await;
    let body = guide_body("2026-11-26T10:00:00.000Z");
    let t = now_secs();
    let sig = format!("t={t},v1={}", guide_signature("dev_secret", t, &body));
    post_signed(&l.url("/modelgates/video-webhook"), &sig, body).await;
    let rec = l.store.load(CaptureId(1)).unwrap();
    let report = hooklens::envelope::shape_report(
        &rec.capture.method,
        &rec.capture.headers,
        &rec.capture.body,
    );
    let ours = serde_json::to_value(&report).unwrap();
    // The guide's "Example Webhook.site delivery", request part, verbatim.
    let guide: serde_json::Value = serde_json::from_str(
        r#"{"method":"POST","content_type":"application/json","has_signature_header":true,
        "signature":{"has_timestamp":true,"has_v1":true,"redacted_format":"t=<timestamp>,v1=<hex>"},
        "has_idempotency_key_header":true,"idempotency_key_shape":{"includes_job_id":true,"length":30},
        "body_shape":{"top_level_keys":["created_at","data","type"],"type":"video.generation.completed",
        "data_keys":["generation_id","id","model","status","unsigned_urls","usage"],
        "data_id_matches_job":true,"data_status":"completed","unsigned_url_count":1,
        "usage_keys":["cost","is_byok"]}}"#,
    )
    .unwrap();
    // Overlap: everything except what depends on the real job (key length, data/usage keys).
    for pointer in [
        "/method",
        "/content_type",
        "/has_signature_header",
        "/signature",
        "/has_idempotency_key_header",
        "/idempotency_key_shape/includes_job_id",
        "/body_shape/top_level_keys",
        "/body_shape/type",
        "/body_shape/data_id_matches_job",
        "/body_shape/data_status",
        "/body_shape/unsigned_url_count",
    ] {
        assert_eq!(ours.pointer(pointer), guide.pointer(pointer), "{pointer}");
    }
    assert_eq!(
        ours["idempotency_key_shape"]["length"],
        "job_test-completed".len()
    );
    assert_eq!(ours["issues"], serde_json::json!([]));
    l.stop().await;
}

#[tokio::test]
async fn at_max_log_requests_get_507_are_not_stored_and_one_notice_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.jsonl");
    let cfg = ListenConfig {
        max_log: Some(2000),
        ..config(&[])
    };
    let l = start(cfg, Some(&path)).await;
    let mut events = l.store.subscribe();
    // Each capture line of a 1000-byte body is over 1300 bytes: the second fills the cap.
    for _ in 0..2 {
        let (status, _) = post(&l.url("/x"), &[], vec![b'a'; 1000]).await;
        assert_eq!(status, 204);
    }
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size >= 2000, "{size}");
    for _ in 0..3 {
        let (status, body) = post(&l.url("/x"), &[], b"late".to_vec()).await;
        assert_eq!(status, 507);
        assert_eq!(
            &body[..],
            b"hooklens capture log is full (--max-log); not stored\n"
        );
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        size,
        "nothing more is written"
    );
    assert_eq!(l.store.index().rows().len(), 2);
    let mut notices = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let hooklens::model::record::Event::Notice(text) = e {
            notices.push(text);
        }
    }
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("reached --max-log"), "{notices:?}");
    l.stop().await;
}
