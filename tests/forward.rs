//! Forwarding to real receivers on 127.0.0.1: exact bytes, the guide's signature check, and
//! misbehaving receivers (refuse, reset, huge body, silence, garbage).

mod common;

use common::{Receiver, Setup, always, guide_check, read_request};
use rstest::rstest;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hooklens::model::capture::Capture;
use hooklens::model::exchange::PathMode;
use hooklens::net::client::{Client, ClientError, Target};
use hooklens::net::forward;
use hooklens::net::tls::client_config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "whsec_test_forwarding_secret";

fn signed(body: &[u8]) -> Capture {
    common::provider_capture(SECRET, body, &[])
}

fn client() -> Client {
    Client::new(client_config(&[]).unwrap())
}

/// A misbehaving receiver (raw TCP, for what no HTTP server would do): runs `answer` for each
/// request on each accepted connection.
async fn receiver<F, Fut>(answer: F) -> (Target, Arc<AtomicUsize>)
where
    F: Fn(Vec<u8>, Vec<u8>, TcpStream) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Option<TcpStream>> + Send,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = Target::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    let accepts = Arc::new(AtomicUsize::new(0));
    let counter = accepts.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                while let Some((head, body)) = read_request(&mut s).await {
                    match answer(head, body, s).await {
                        Some(back) => s = back,
                        None => break,
                    }
                }
            });
        }
    });
    (target, accepts)
}

#[tokio::test]
async fn receiver_sees_exact_headers_and_body_and_signature_verifies() {
    let r = Receiver::start(guide_check(SECRET, 204, "")).expect(2);
    let target = r.target();
    let c = client();
    let body = b"{\"type\":\"video.generation.completed\",\"data\":{\"id\":\"job_1\"}}\n\xff";
    let capture = signed(body);
    let sent = forward::forward(
        &c,
        &target,
        PathMode::Prefix,
        &capture,
        Duration::from_secs(10),
    )
    .await;
    let reply = sent.result.unwrap();
    assert_eq!(
        reply.status, 204,
        "a valid delivery verifies at the receiver"
    );
    assert_eq!(reply.headers[0].name, "X-Receiver");
    assert!(sent.flags.is_empty());

    // Tampered body: the receiver's own check refuses it, and we relay that.
    let mut tampered = signed(body);
    tampered.body = Bytes::from_static(
        b"{\"type\":\"video.generation.completed\",\"data\":{\"id\":\"job_2\"}}\n\xff",
    );
    let sent2 = forward::forward(
        &c,
        &target,
        PathMode::Prefix,
        &tampered,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(sent2.result.unwrap().status, 401);
    assert_eq!(r.accepts(), 1, "keep-alive: one connection for both");

    let seen = &r.seen()[0];
    assert_eq!(seen.body.as_ref(), body);
    let expected = format!(
        "POST /modelgates/video-webhook HTTP/1.1\r\nHost: {}\r\nUser-Agent: ModelGates-Webhooks/1.0\r\nContent-Type: application/json\r\nX-ModelGates-Signature: {}\r\nx-MODELGATES-idempotency-key: job_1-completed\r\nContent-Length: {}\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n",
        target.authority,
        String::from_utf8_lossy(capture.header("X-ModelGates-Signature").unwrap()),
        body.len()
    );
    assert_eq!(seen.head.as_deref(), Some(expected.as_str()));
}

async fn fault(
    answer: &'static [u8],
    close_after: bool,
) -> Result<hooklens::net::client::Reply, ClientError> {
    let target = misbehaving(answer, close_after).await;
    forward::forward(
        &client(),
        &target,
        PathMode::Prefix,
        &signed(b"{}"),
        Duration::from_secs(10),
    )
    .await
    .result
}

#[tokio::test]
async fn refused_connection_is_a_502_connect_error() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = Target::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    drop(l);
    let e = forward::forward(
        &client(),
        &dead,
        PathMode::Prefix,
        &signed(b"{}"),
        Duration::from_secs(10),
    )
    .await
    .result
    .unwrap_err();
    assert!(matches!(e, ClientError::Connect { .. }), "{e}");
    assert_eq!(e.provider_status(), 502);
}

#[tokio::test]
async fn reset_mid_response_is_a_502_protocol_error() {
    let e = fault(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
        true,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ClientError::Protocol(_)), "{e}");
    assert_eq!(e.provider_status(), 502);
}

#[tokio::test]
async fn invalid_http_is_a_502_protocol_error() {
    let e = fault(b"SMTP ready\r\n\r\n", false).await.unwrap_err();
    assert!(e.to_string().contains("invalid HTTP response"), "{e}");
}

/// A receiver that takes the request and never answers (within the tests' time).
fn silent() -> Receiver {
    Receiver::start_with(
        Setup {
            delay: Duration::from_secs(30),
            ..Setup::default()
        },
        always(204, ""),
    )
}

#[tokio::test]
async fn never_answering_times_out_as_504() {
    let r = silent().expect(1);
    let e = forward::forward(
        &client(),
        &r.target(),
        PathMode::Prefix,
        &signed(b"{}"),
        Duration::from_millis(300),
    )
    .await
    .result
    .unwrap_err();
    assert!(matches!(e, ClientError::Timeout(_)));
    assert_eq!(e.provider_status(), 504);
}

#[tokio::test]
async fn five_megabyte_chunked_answer_is_relayed_whole() {
    let r = Receiver::start(|_: &common::Seen| common::streamed(5)).expect(1);
    let reply = forward::forward(
        &client(),
        &r.target(),
        PathMode::Prefix,
        &signed(b"{}"),
        Duration::from_secs(10),
    )
    .await
    .result
    .unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), 5 * 1024 * 1024);
    assert!(reply.body.iter().all(|b| *b == b'x'));
}

/// Starts a listener forwarding to `target`; returns its address and the log path.
async fn listener(
    target: Target,
    respond: hooklens::net::server::Respond,
    timeout: Duration,
    dir: &std::path::Path,
) -> (std::net::SocketAddr, std::path::PathBuf) {
    use hooklens::net::server::{self, ListenConfig, Listener};
    let path = dir.join("log.jsonl");
    let tcp = server::bind("127.0.0.1".parse().unwrap(), 0).await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (store, writer, _) = hooklens::store::Store::open(Some(&path)).unwrap();
    let config = ListenConfig {
        respond,
        forward: Some(forward::ForwardConfig {
            client: client(),
            target,
            mode: PathMode::Prefix,
            timeout,
        }),
        ..ListenConfig::default()
    };
    let state = Arc::new(Listener::new(config, store));
    tokio::spawn(async move {
        let _ = server::serve(tcp, state, std::future::pending()).await;
        writer.join().await;
    });
    (addr, path)
}

async fn deliver(addr: std::net::SocketAddr, body: &[u8]) -> String {
    let c = signed(body);
    let mut req = format!("POST {} HTTP/1.1\r\n", c.target).into_bytes();
    for h in c.headers.iter().filter(|h| h.name != "Connection") {
        req.extend_from_slice(format!("{}: ", h.name).as_bytes());
        req.extend_from_slice(&h.value);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"Connection: close\r\n\r\n");
    req.extend_from_slice(body);
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&req).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    String::from_utf8_lossy(&resp).into_owned()
}

#[tokio::test]
async fn listener_relays_the_receivers_answer_and_keeps_the_capture() {
    let r = Receiver::start(guide_check(SECRET, 202, "queued"))
        .expect_paths(["/modelgates/video-webhook"]);
    let target = r.target();
    let dir = tempfile::tempdir().unwrap();
    let (addr, path) = listener(
        target,
        hooklens::net::server::Respond::Relay,
        Duration::from_secs(10),
        dir.path(),
    )
    .await;
    let resp = deliver(addr, b"{\"type\":\"video.generation.completed\"}").await;
    assert!(resp.starts_with("HTTP/1.1 202"), "{resp}");
    assert!(
        resp.to_ascii_lowercase()
            .contains("\r\nx-receiver: hooklens-test\r\n"),
        "the receiver's headers are relayed: {resp}"
    );
    assert!(resp.ends_with("queued"));
    let log = hooklens::store::Store::open_readonly(&path).unwrap();
    assert_eq!(log.index().len(), 1, "the capture is on disk");

    // The forward is its own record, linked to the capture, appended right after the answer.
    let log = forwards_recorded(&path, 1).await;
    let row = &log.index().rows()[0];
    assert_eq!(
        row.response_status, 202,
        "the provider got the relayed status"
    );
    let brief = row.exchange.as_ref().expect("forward linked to its row");
    assert_eq!(brief.receiver_status, Some(202));
    let exchanges = log.exchanges(row.id).unwrap();
    assert_eq!(exchanges.len(), 1);
    let e = &exchanges[0];
    assert_eq!(e.kind, hooklens::model::exchange::ExchangeKind::Forward);
    assert!(e.relayed);
    assert_eq!(e.received, e.sent, "integrity: same body both legs");
    assert_eq!(
        e.received,
        hooklens::model::exchange::BodyDigest::of(b"{\"type\":\"video.generation.completed\"}")
    );
    assert!(e.integrity.is_empty(), "{:?}", e.integrity);
    let r = e.response.as_ref().unwrap();
    assert_eq!((r.status, r.body.as_ref()), (202, &b"queued"[..]));
    assert!(
        r.headers.iter().any(|h| h.name == "X-Receiver"),
        "receiver headers kept in their case"
    );

    // Every front end shows it: the list line, show, and the HAR response.
    let line = hooklens::front::printer::list_line(row);
    assert!(
        line.contains(" → 202  POST /modelgates/video-webhook "),
        "{line}"
    );
    assert!(line.contains("  forward → 202 "), "{line}");
    let shown = hooklens::front::show::show_text(&log.load(row.id).unwrap(), None, &exchanges);
    assert!(shown.contains("response  202\n"), "{shown}");
    let record = log.load(row.id).unwrap();
    let shown = hooklens::front::show::show_text(&record, None, &exchanges);
    assert!(shown.contains("answer    202 Accepted in "), "{shown}");
    assert!(shown.contains("relayed to the provider"), "{shown}");
    assert!(shown.contains("✓ same body bytes"), "{shown}");
    let har = serde_json::to_value(hooklens::export::har::to_har([(
        &record,
        hooklens::export::har::shown_exchange(&exchanges),
    )]))
    .unwrap();
    let resp = &har["log"]["entries"][0]["response"];
    assert_eq!(resp["status"], 202);
    assert_eq!(resp["content"]["text"], "queued");
}

#[tokio::test]
async fn listener_answers_502_and_504_and_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = Target::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    drop(l);
    let (addr, path) = listener(
        dead,
        hooklens::net::server::Respond::Relay,
        Duration::from_secs(10),
        dir.path(),
    )
    .await;
    let resp = deliver(addr, b"{}").await;
    assert!(resp.starts_with("HTTP/1.1 502"), "{resp}");
    assert!(resp.contains("forwarding failed: cannot connect"), "{resp}");
    // Still up: a second delivery is captured and answered the same way.
    assert!(deliver(addr, b"{}").await.starts_with("HTTP/1.1 502"));
    let log = forwards_recorded(&path, 2).await;
    assert_eq!(log.index().len(), 2);
    for row in log.index().rows() {
        assert_eq!(
            row.response_status, 502,
            "the relayed failure is the answer"
        );
        let e = &log.exchanges(row.id).unwrap()[0];
        assert_eq!(e.status, 502);
        assert!(e.response.is_none());
        assert!(
            e.error
                .as_deref()
                .is_some_and(|e| e.contains("cannot connect")),
            "{:?}",
            e.error
        );
    }

    let silent = silent().expect(1);
    let dir2 = tempfile::tempdir().unwrap();
    let (addr2, path2) = listener(
        silent.target(),
        hooklens::net::server::Respond::Relay,
        Duration::from_millis(300),
        dir2.path(),
    )
    .await;
    let resp = deliver(addr2, b"{}").await;
    assert!(resp.starts_with("HTTP/1.1 504"), "{resp}");
    let log = forwards_recorded(&path2, 1).await;
    let e = &log
        .exchanges(hooklens::model::capture::CaptureId(1))
        .unwrap()[0];
    assert_eq!(e.status, 504);
    assert!(
        e.error
            .as_deref()
            .is_some_and(|e| e.contains("no answer within")),
        "{:?}",
        e.error
    );
}

#[tokio::test]
async fn mimic_answers_by_verdict_and_forwards_in_the_background() {
    let r = Receiver::start(always(500, "")).expect(1);
    let target = r.target();
    let dir = tempfile::tempdir().unwrap();
    let (addr, path) = listener(
        target,
        hooklens::net::server::Respond::Mimic,
        Duration::from_secs(10),
        dir.path(),
    )
    .await;
    let resp = deliver(addr, b"{\"a\":1}").await;
    assert!(
        resp.starts_with("HTTP/1.1 204"),
        "no secret configured: unverified → 204: {resp}"
    );
    assert_eq!(r.arrived(1).await[0].body.as_ref(), b"{\"a\":1}");
    // The background forward is recorded too; the provider's answer stays the mimicked one.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = hooklens::store::Store::open_readonly(&path).unwrap();
        let row = log.index().rows()[0].clone();
        if let Some(brief) = &row.exchange {
            assert_eq!(brief.receiver_status, Some(500));
            assert_eq!(row.response_status, 204);
            assert!(!log.exchanges(row.id).unwrap()[0].relayed);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "forward never recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The log at `path` once `n` captures have their forward record (appended just after the
/// provider's answer, without holding it up).
async fn forwards_recorded(path: &std::path::Path, n: usize) -> hooklens::store::ReadOnlyLog {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = hooklens::store::Store::open_readonly(path).unwrap();
        let linked = log
            .index()
            .rows()
            .iter()
            .filter(|r| r.exchange.is_some())
            .count();
        if linked >= n {
            return log;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{linked} of {n} forwards recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the real binary with `--forward-to`, posts one delivery, returns its stdout lines
/// (the capture, then the forward outcome).
async fn listen_output(target: &Target, extra: &[&str]) -> Vec<String> {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}", target.authority);
    let (mut cmd, _home) = common::hooklens().into_tokio();
    let mut child = cmd
        .args(["listen", "--port", "0", "--forward-to", &url, "--store"])
        .arg(dir.path().join("log.jsonl"))
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let json = extra.contains(&"--json");
    // The readiness line is on stdout, or on stderr with --json (stdout stays pure JSON).
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut err = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = if json {
        err.next_line().await.unwrap().unwrap()
    } else {
        out.next_line().await.unwrap().unwrap()
    };
    let addr: std::net::SocketAddr = ready
        .strip_prefix("Listening on http://")
        .unwrap_or_else(|| panic!("{ready}"))
        .parse()
        .unwrap();
    assert!(
        deliver(addr, b"{\"a\":1}")
            .await
            .starts_with("HTTP/1.1 202")
    );
    let mut lines = Vec::new();
    while lines.len() < 2 {
        let line = tokio::time::timeout(Duration::from_secs(20), out.next_line())
            .await
            .expect("the forward outcome is printed")
            .unwrap()
            .unwrap();
        if line.starts_with("forwarding POST ") {
            continue; // the start line that shows where deliveries go
        }
        if !line.starts_with(' ') || lines.is_empty() || line.contains("forward") {
            lines.push(line);
        }
    }
    lines
}

#[tokio::test]
async fn listen_prints_each_forward_outcome_as_a_line_or_json() {
    let r = Receiver::start(always(202, "ok")).expect(2);
    let target = r.target();
    let lines = listen_output(&target, &["--no-tui"]).await;
    assert!(lines[1].contains("#1 forward → 202 "), "{lines:?}");
    let lines = listen_output(&target, &["--json"]).await;
    let capture: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let forward: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(
        (capture["kind"].as_str(), capture["id"].as_u64()),
        (Some("capture"), Some(1))
    );
    assert_eq!(forward["kind"], "forward");
    assert_eq!(forward["capture"], 1);
    assert_eq!(forward["response"]["status"], 202);
    assert_eq!(forward["relayed"], true);
    assert_eq!(forward["received"], forward["sent"]);
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    ResetMidResponse,
    InvalidHttp,
    FiveMegabyteAnswer,
}

/// Each misbehaving receiver, through the listener: the provider gets `status`, the listener
/// stays up, and the forward record holds `error` (or none when there is an answer).
#[rstest]
#[case::reset_mid_response(Fault::ResetMidResponse, 502, Some(RESET_ERROR))]
#[case::invalid_http(Fault::InvalidHttp, 502, Some("invalid HTTP response"))]
#[case::five_megabyte_answer(Fault::FiveMegabyteAnswer, 200, None)]
#[tokio::test]
async fn through_the_listener_every_fault_is_answered_and_recorded(
    #[case] fault: Fault,
    #[case] status: u16,
    #[case] error: Option<&str>,
) {
    let big_receiver;
    let target = match fault {
        Fault::ResetMidResponse => {
            misbehaving(
                b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
                true,
            )
            .await
        }
        Fault::InvalidHttp => misbehaving(b"SMTP ready\r\n\r\n", false).await,
        Fault::FiveMegabyteAnswer => {
            big_receiver = Receiver::start(|_: &common::Seen| {
                http::Response::builder()
                    .header("Content-Type", "text/plain")
                    .body(http_body_util::BodyExt::boxed(http_body_util::Full::new(
                        Bytes::from(vec![b'x'; 5 * 1024 * 1024]),
                    )))
                    .unwrap()
            })
            .expect(2);
            big_receiver.target()
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let (addr, path) = listener(
        target,
        hooklens::net::server::Respond::Relay,
        Duration::from_secs(10),
        dir.path(),
    )
    .await;
    let resp = deliver(addr, b"{}").await;
    assert!(
        resp.starts_with(&format!("HTTP/1.1 {status}")),
        "{}",
        &resp[..resp.len().min(200)]
    );
    // Still up, and the capture and the outcome are on disk.
    assert!(
        deliver(addr, b"{}")
            .await
            .starts_with(&format!("HTTP/1.1 {status}"))
    );
    let log = hooklens::store::Store::open_readonly(&path).unwrap();
    assert_eq!(log.index().len(), 2);
    let e = &log
        .exchanges(hooklens::model::capture::CaptureId(1))
        .unwrap()[0];
    assert_eq!(e.status, status);
    match error {
        Some(want) => assert!(
            e.error.as_deref().is_some_and(|got| got.contains(want)),
            "{:?}",
            e.error
        ),
        None => assert_eq!(e.error, None),
    }
    match fault {
        Fault::FiveMegabyteAnswer => {
            let r = e.response.as_ref().expect("the answer is recorded");
            assert_eq!(r.body_len, 5 * 1024 * 1024, "length of the whole answer");
            assert_eq!(
                r.body.len(),
                hooklens::model::exchange::RESPONSE_BODY_KEEP,
                "the log keeps the start"
            );
        }
        _ => assert!(e.response.is_none(), "a failed forward has no answer"),
    }
}

/// What the forward record says when the receiver resets the connection mid-answer.
const RESET_ERROR: &str = "reading the receiver's response";

/// A raw receiver that answers every request with `answer` and then, with `reset`, resets
/// the connection.
async fn misbehaving(answer: &'static [u8], reset: bool) -> Target {
    receiver(move |_, _, mut s| async move {
        s.write_all(answer).await.ok()?;
        if reset {
            #[allow(deprecated)] // blocking on drop is what a reset needs here
            let _ = s.set_linger(Some(Duration::ZERO));
            return None;
        }
        Some(s)
    })
    .await
    .0
}

#[test]
#[should_panic(expected = "got 0 requests, expected 1")]
fn the_receiver_stub_fails_a_test_that_sent_it_less_than_expected() {
    let _r = Receiver::start(always(204, "")).expect(1);
}

#[test]
#[should_panic(expected = "never told what it should receive")]
fn the_receiver_stub_must_be_told_what_to_expect() {
    let _r = Receiver::start(always(204, ""));
}
