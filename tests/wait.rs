//! `hooklens wait` against a real in-process listener writing the same log file.

mod common;

use std::sync::Arc;
use std::time::Duration;

use assert_cmd::prelude::*;
use hooklens::filter::Filter;
use hooklens::net::server::{self, ListenConfig, Listener};
use hooklens::store::Store;
use hooklens::store::tail::{WaitFor, Waiter, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn post(addr: std::net::SocketAddr, key: &str, body: &str) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /modelgates/video-webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-ModelGates-Idempotency-Key: {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    assert!(resp.starts_with(b"HTTP/1.1 "), "{resp:?}");
}

#[tokio::test]
async fn wait_returns_the_matching_capture_written_by_a_listener() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let tcp = server::bind("127.0.0.1".parse().unwrap(), 0).await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (store, writer, _) = Store::open(Some(&path)).unwrap();
    let state = Arc::new(Listener::new(ListenConfig::default(), store));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(tcp, state.clone(), async {
        let _ = stopped.await;
    }));

    // A capture from before the wait starts must not count by default.
    let completed = r#"{"type":"video.generation.completed","data":{"id":"job_1"}}"#;
    post(addr, "job_1-completed", completed).await;

    let what = WaitFor {
        event_type: Some("video.generation.completed".into()),
        idempotency_key: Some("job_2-completed".into()),
        filter: Filter::parse("unverified").unwrap(),
        include_existing: false,
    };
    // Position the tail before triggering anything, as a CI script would.
    let waiter = Waiter::start(&path, what).unwrap();
    let waiter = tokio::spawn(waiter.until(Duration::from_secs(20)));
    // Non-matching deliveries first: wrong type, then wrong key.
    post(
        addr,
        "job_2-failed",
        r#"{"type":"video.generation.failed","data":{"id":"job_2"}}"#,
    )
    .await;
    post(addr, "job_1-completed", completed).await;
    let wanted = r#"{"type":"video.generation.completed","data":{"id":"job_2"}}"#;
    post(addr, "job_2-completed", wanted).await;

    let found = waiter.await.unwrap().unwrap().expect("capture found");
    assert_eq!(found.capture.id.0, 4);
    assert_eq!(found.capture.body.as_ref(), wanted.as_bytes());

    // With --include-existing the first capture matches right away.
    let early = WaitFor {
        idempotency_key: Some("job_1-completed".into()),
        include_existing: true,
        ..WaitFor::default()
    };
    let hit = wait_for(&path, &early, Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hit.capture.id.0, 1);

    // Nothing matches: timeout gives None.
    let never = WaitFor {
        idempotency_key: Some("job_9-completed".into()),
        include_existing: true,
        ..WaitFor::default()
    };
    assert!(
        wait_for(&path, &never, Duration::from_millis(300))
            .await
            .unwrap()
            .is_none()
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    drop(state);
    writer.join().await;
}

#[test]
fn wait_binary_exits_1_on_timeout_and_export_writes_har() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("empty.jsonl");
    std::fs::write(&log, b"").unwrap();
    common::hooklens()
        .args(["wait", "--timeout", "200ms", "--type", "x", "--store"])
        .arg(&log)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no matching capture"));
    let har = dir.path().join("out.har");
    common::hooklens()
        .args(["export", "--har"])
        .arg(&har)
        .arg("--store")
        .arg(&log)
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&har).unwrap()).unwrap();
    assert_eq!(doc["log"]["version"], "1.2");
    assert_eq!(doc["log"]["entries"], serde_json::json!([]));
}
