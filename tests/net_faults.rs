//! Faults a sender or a receiver can cause, on real sockets: slow, idle and stalled
//! connections, more connections than the open-files limit allows, shutdown with clients
//! stalled mid-request, heads hyper refuses, oversized bodies, receivers that answer oddly.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use hooklens::model::capture::CaptureId;
use hooklens::model::exchange::PathMode;
use hooklens::model::secret::Secret;
use hooklens::net::client::{Client, Target};
use hooklens::net::forward::ForwardConfig;
use hooklens::net::limits::Limits;
use hooklens::net::server::{ListenConfig, Respond};
use hooklens::store::Store;
use hooklens::verify::VerifyConfig;
use rstest::rstest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "whsec_fault_probe";
/// How long a test waits for something that must happen; only a hang reaches it (no timing
/// is asserted).
const PATIENCE: Duration = Duration::from_secs(60);

fn config(limits: Limits) -> ListenConfig {
    ListenConfig {
        verify: VerifyConfig {
            secrets: vec![Secret::new(SECRET).unwrap()],
            tolerance_secs: 300,
            ..VerifyConfig::default()
        },
        limits,
        ..ListenConfig::default()
    }
}

fn short(header_ms: u64, idle_ms: u64, body_ms: u64) -> Limits {
    Limits {
        header_timeout: Duration::from_millis(header_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        body_timeout: Duration::from_millis(body_ms),
        ..Limits::default()
    }
}

/// A signed delivery as raw HTTP/1.1 bytes (the guide's scheme, signed now).
fn signed_request(body: &[u8], close: bool) -> Vec<u8> {
    let t = now_secs();
    let sig = format!("t={t},v1={}", guide_signature(SECRET, t, body));
    let mut req = format!(
        "POST /modelgates/video-webhook HTTP/1.1\r\nHost: hooklens\r\nContent-Type: application/json\r\nX-ModelGates-Signature: {sig}\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    if close {
        req.extend_from_slice(b"Connection: close\r\n");
    }
    req.extend_from_slice(b"\r\n");
    req.extend_from_slice(body);
    req
}

/// Reads until the peer closes (or `PATIENCE` runs out, which fails the test).
async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 8192];
    let until = tokio::time::Instant::now() + PATIENCE;
    loop {
        match tokio::time::timeout_at(until, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&chunk[..n]),
            Err(_) => panic!(
                "the listener kept the connection open; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

/// Waits until the store holds `n` captures.
async fn captures(store: &Store, n: usize) {
    let until = Instant::now() + PATIENCE;
    while store.index().len() < n {
        assert!(Instant::now() < until, "capture {n} never stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn slow_silent_and_idle_connections_are_closed() {
    let l = start(config(short(300, 300, 60_000)), None).await;
    // Connects and sends nothing.
    let mut silent = TcpStream::connect(l.addr).await.unwrap();
    // Slowloris: part of a head, then nothing.
    let mut slow = TcpStream::connect(l.addr).await.unwrap();
    slow.write_all(b"POST /hook HTTP/1.1\r\nHost: a\r\nX-Slow: 1")
        .await
        .unwrap();
    // One request on a kept-alive connection, then idle.
    let mut idle = TcpStream::connect(l.addr).await.unwrap();
    idle.write_all(&signed_request(b"{}", false)).await.unwrap();

    assert!(read_to_close(&mut silent).await.is_empty());
    assert!(read_to_close(&mut slow).await.is_empty());
    let answer = read_to_close(&mut idle).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 204"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // Only the complete request became a capture.
    assert_eq!(l.store.index().len(), 1);
    l.stop().await;
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_and_is_kept_as_far_as_it_came() {
    let l = start(config(short(10_000, 10_000, 300)), None).await;
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    s.write_all(b"POST /hook HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let rec = l.store.load(CaptureId(1)).unwrap();
    assert_eq!(rec.capture.body.as_ref(), b"0123456789");
    assert!(rec.capture.truncated);
    assert!(
        rec.capture
            .fault
            .as_deref()
            .unwrap()
            .contains("--body-timeout"),
        "{:?}",
        rec.capture.fault
    );
    assert_eq!(rec.response_status, 408);
    l.stop().await;
}

#[tokio::test]
async fn refused_heads_and_broken_bodies_are_captured_with_what_went_wrong() {
    let l = start(config(Limits::default()), None).await;

    // 150 headers: hyper allows 100 and answers 431.
    let mut head = b"POST /many HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..150 {
        head.extend_from_slice(format!("X-Header-{i}: {i}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    s.write_all(&head).await.unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with(b"HTTP/1.1 431"), "{answer:?}");
    captures(&l.store, 1).await;
    let rec = l.store.load(CaptureId(1)).unwrap();
    assert_eq!(
        (rec.capture.method.as_str(), rec.capture.target.as_str()),
        ("POST", "/many")
    );
    assert_eq!(rec.capture.headers.len(), 151);
    assert_eq!(rec.capture.headers[1].name, "X-Header-0");
    assert!(
        rec.capture
            .fault
            .as_deref()
            .unwrap()
            .starts_with("refused with 431"),
        "{:?}",
        rec.capture.fault
    );
    assert_eq!(rec.response_status, 431);

    // Not HTTP at all: 400, and the bytes are kept.
    let garbage = b"\x01\x02 not http\r\n\r\n";
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    s.write_all(garbage).await.unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(answer.starts_with(b"HTTP/1.1 400"), "{answer:?}");
    captures(&l.store, 2).await;
    let rec = l.store.load(CaptureId(2)).unwrap();
    assert_eq!(rec.capture.raw_head.as_ref(), garbage);
    assert!(
        rec.capture
            .fault
            .as_deref()
            .unwrap()
            .starts_with("refused with 400")
    );
    assert_eq!(rec.response_status, 400);
    // `show` tells the user, with the bytes escaped.
    let text = hooklens::front::show::show_text(&rec, None, &[]);
    assert!(text.contains("fault     refused with 400"), "{text}");
    assert!(
        text.contains("raw head  15 bytes: \\x01\\x02 not http"),
        "{text}"
    );

    // A chunked body with a chunk size that is not hex.
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    s.write_all(
        b"POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
    )
    .await
    .unwrap();
    read_to_close(&mut s).await;
    captures(&l.store, 3).await;
    let rec = l.store.load(CaptureId(3)).unwrap();
    let fault = rec.capture.fault.clone().unwrap();
    assert!(
        fault.starts_with("the body did not arrive whole") && fault.contains("chunk"),
        "{fault}"
    );
    assert!(rec.capture.truncated);
    assert_eq!(rec.capture.target, "/chunked");
    l.stop().await;
}

#[tokio::test]
async fn a_target_beyond_ascii_is_kept_as_sent() {
    let l = start(config(Limits::default()), None).await;
    // UTF-8 beyond ASCII is served, and the target kept exactly; bytes that are not UTF-8 are
    // refused with 400, and the head's bytes kept.
    let heads: [(&[u8], &[u8]); 2] = [
        (
            "GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".as_bytes(),
            b"HTTP/1.1 401",
        ),
        (b"GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n", b"HTTP/1.1 400"),
    ];
    for (n, (head, status)) in heads.into_iter().enumerate() {
        let mut s = TcpStream::connect(l.addr).await.unwrap();
        s.write_all(head).await.unwrap();
        let answer = read_to_close(&mut s).await;
        assert!(answer.starts_with(status), "{answer:?}");
        captures(&l.store, n + 1).await;
    }
    let utf8 = l.store.load(CaptureId(1)).unwrap().capture;
    assert_eq!(
        (utf8.method.as_str(), utf8.target.as_str()),
        ("GET", "/caf\u{e9}")
    );
    assert_eq!(utf8.headers[1].name, "Connection");
    assert!(utf8.raw_head.is_empty());
    let bytes = l.store.load(CaptureId(2)).unwrap().capture;
    assert_eq!(bytes.target, "/caf\u{fffd}");
    // As far as it had arrived when it failed to parse: at least the request line.
    assert!(
        bytes.raw_head.starts_with(b"GET /caf\xe9 HTTP/1.1\r\n"),
        "{:?}",
        bytes.raw_head
    );
    l.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_without_100_continue_and_kept_short() {
    let mut cfg = config(Limits::default());
    cfg.max_body = 100 * 1024;
    let l = start(cfg, None).await;

    // Expect: 100-continue with a Content-Length over the limit: 413 straight away.
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    s.write_all(
        b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 20971520\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let rec = l.store.load(CaptureId(1)).unwrap();
    assert!(rec.capture.body.is_empty());
    assert!(
        rec.capture
            .fault
            .as_deref()
            .unwrap()
            .contains("Content-Length 20971520"),
        "{:?}",
        rec.capture.fault
    );

    // A signed 1 MiB body without Expect: 413, the first 64 KiB kept, and the hint says
    // hooklens cut it (not "something changed it on the way").
    let body = vec![b'x'; 1 << 20];
    let mut s = TcpStream::connect(l.addr).await.unwrap();
    let (mut r, mut w) = s.split();
    let req = signed_request(&body, true);
    let (_, answer) = tokio::join!(w.write_all(&req), async {
        let mut got = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, r.read_to_end(&mut got)).await;
        got
    });
    assert!(answer.starts_with(b"HTTP/1.1 413"), "{answer:?}");
    let rec = l.store.load(CaptureId(2)).unwrap();
    assert_eq!(rec.capture.body.len(), 64 * 1024);
    assert!(rec.capture.truncated);
    let hints: Vec<_> = rec.verdict.hints.iter().map(|h| h.code.as_str()).collect();
    assert_eq!(hints.first(), Some(&"body_cut_by_hooklens"), "{hints:?}");
    assert!(
        rec.verdict
            .hints
            .iter()
            .all(|h| !h.message.contains("on the way")),
        "{:?}",
        rec.verdict.hints
    );
    l.stop().await;
}

/// A receiver on raw TCP that reads one request head, then runs `answer` on the stream.
async fn raw_receiver<F, Fut>(answer: F) -> Target
where
    F: Fn(TcpStream) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = Target::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if s.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                answer(s).await;
            });
        }
    });
    target
}

async fn relaying(target: Target) -> Running {
    let mut cfg = config(Limits::default());
    cfg.respond = Respond::Relay;
    cfg.forward = Some(ForwardConfig {
        client: Client::new(hooklens::net::tls::client_config(&[]).unwrap()),
        target,
        mode: PathMode::Prefix,
        timeout: Duration::from_secs(20),
    });
    start(cfg, None).await
}

#[rstest]
#[case::switching_protocols_to_a_post(
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "status 101"
)]
#[case::not_an_http_status(b"HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n", "status 999")]
#[tokio::test]
async fn a_status_that_is_not_a_final_answer_is_not_relayed(
    #[case] answer: &'static [u8],
    #[case] said: &str,
) {
    let target = raw_receiver(move |mut s| async move {
        let _ = s.write_all(answer).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    let l = relaying(target).await;
    let (status, body) = post(&l.url("/hook"), &[], b"{}".to_vec()).await;
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 502, "{text}");
    assert!(
        text.contains(said) && text.contains("cannot be relayed"),
        "{text}"
    );
    let ex = &l.store.exchanges(CaptureId(1)).unwrap()[0];
    assert_eq!(ex.status, 502);
    l.stop().await;
}

#[tokio::test]
async fn headers_the_receivers_connection_header_names_are_not_relayed() {
    let target = raw_receiver(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nConnection: X-Hop-Secret, close\r\nX-Hop-Secret: internal\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok")
            .await;
    })
    .await;
    let l = relaying(target).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let resp = client
        .request(
            hyper::Request::post(l.url("/hook"))
                .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-kept"], "yes");
    assert!(resp.headers().get("x-hop-secret").is_none());
    assert!(resp.headers().get("keep-alive").is_none());
    l.stop().await;
}

#[tokio::test]
async fn an_early_answer_from_the_receiver_is_relayed_as_what_it_is() {
    // The receiver refuses from the head (its own body limit) and stops reading.
    let target = raw_receiver(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 9\r\n\r\ntoo large")
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    })
    .await;
    let l = relaying(target).await;
    let (status, body) = post(&l.url("/hook"), &[], vec![b'x'; 4 << 20]).await;
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    assert_eq!(body.as_ref(), b"too large");
    let ex = &l.store.exchanges(CaptureId(1)).unwrap()[0];
    assert_eq!(ex.response.as_ref().unwrap().status, 413);
    assert!(
        ex.integrity.iter().any(|f| f.starts_with("answered early")),
        "{:?}",
        ex.integrity
    );
    l.stop().await;
}

#[test]
fn the_accept_queue_is_long() {
    if !require_tool("ss") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tcp = rt
        .block_on(hooklens::net::server::bind("127.0.0.1".parse().unwrap(), 0))
        .unwrap();
    let port = tcp.local_addr().unwrap().port();
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // For a listening socket, ss shows the backlog as Send-Q (the third column).
    let send_q: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(send_q.get(2), Some(&"1024"), "{text}");
}

/// `hooklens listen` as a child process, with its address and stderr.
struct Listening {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _cli: Cli,
}

impl Listening {
    fn start(wrapper: &[&str], extra: &[&str]) -> Listening {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.jsonl");
        let mut cli = hooklens_under(wrapper);
        let mut child = cli
            .args(["listen", "--no-tui", "--port", "0", "--secret", SECRET])
            .args(extra)
            .arg("--store")
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        out.read_line(&mut ready).unwrap();
        let addr = ready
            .trim()
            .strip_prefix("Listening on http://")
            .unwrap_or_else(|| panic!("readiness line: {ready:?}"))
            .parse()
            .unwrap();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let stderr = common::collect(child.stderr.take().unwrap());
        Listening {
            child,
            addr,
            stderr,
            log,
            _dir: dir,
            _cli: cli,
        }
    }

    fn signal(&self, sig: rustix::process::Signal) {
        rustix::process::kill_process(rustix::process::Pid::from_child(&self.child), sig).unwrap();
    }

    /// Waits for the child to exit (failing after `PATIENCE`); returns whether it exited 0.
    fn exited(&mut self) -> bool {
        let until = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > until {
                let _ = self.child.kill();
                panic!(
                    "hooklens did not exit; stderr: {}",
                    self.stderr.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// One signed delivery on its own connection; the status line.
    fn deliver(&self) -> String {
        let mut s = std::net::TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        s.write_all(&signed_request(
            &guide_body("2026-12-01T10:00:00.000Z"),
            true,
        ))
        .unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// A connection stalled mid-request: a complete head, a tenth of its body.
    fn stalled(&self) -> std::net::TcpStream {
        let mut s = std::net::TcpStream::connect(self.addr).unwrap();
        s.write_all(b"POST /stalled HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
            .unwrap();
        s
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn idle_connections_under_a_low_open_files_limit_do_not_block_a_signed_delivery() {
    if !require_tool("prlimit") {
        return;
    }
    // The hard limit is 1024 too, so hooklens cannot raise it.
    let l = Listening::start(
        &["prlimit", "--nofile=1024:1024", "--"],
        &["--header-timeout", "2s"],
    );
    let idle: Vec<std::net::TcpStream> = (0..1100)
        .map(|_| std::net::TcpStream::connect(l.addr).unwrap())
        .collect();
    assert_eq!(l.deliver(), "HTTP/1.1 204 No Content");
    drop(idle);
    let log = Store::open_readonly(&l.log).unwrap();
    let row = log.index().rows().last().unwrap().clone();
    assert_eq!(row.response_status, 204);
    let err = l.stderr();
    assert!(!err.contains("Too many open files"), "{err}");
}

#[test]
fn sigterm_with_stalled_clients_exits_within_the_grace_period_and_keeps_what_was_answered() {
    let mut l = Listening::start(&[], &["--grace", "1s"]);
    assert_eq!(l.deliver(), "HTTP/1.1 204 No Content");
    let _mid_body = l.stalled();
    let mut mid_head = std::net::TcpStream::connect(l.addr).unwrap();
    mid_head.write_all(b"POST /half HTTP/1.1\r\nHo").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    l.signal(rustix::process::Signal::TERM);
    assert!(l.exited(), "{}", l.stderr());
    assert!(l.stderr().contains("grace period"), "{}", l.stderr());
    let log = Store::open_readonly(&l.log).unwrap();
    let row = &log.index().rows()[0];
    assert_eq!(row.response_status, 204);
}

#[test]
fn a_second_interrupt_exits_at_once() {
    // A grace period longer than the test's patience: only the second Ctrl-C can end it.
    let mut l = Listening::start(&[], &["--grace", "600s"]);
    assert_eq!(l.deliver(), "HTTP/1.1 204 No Content");
    let _mid_body = l.stalled();
    std::thread::sleep(Duration::from_millis(200));
    l.signal(rustix::process::Signal::INT);
    std::thread::sleep(Duration::from_millis(300));
    l.signal(rustix::process::Signal::INT);
    assert!(l.exited(), "{}", l.stderr());
    assert!(l.stderr().contains("exiting now"), "{}", l.stderr());
    assert_eq!(Store::open_readonly(&l.log).unwrap().index().len(), 1);
}

#[test]
fn a_hanging_background_forward_does_not_hold_up_exit() {
    // A receiver that takes the connection and never answers.
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", receiver.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for s in receiver.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    let mut l = Listening::start(
        &[],
        &[
            "--forward-to",
            &url,
            "--respond",
            "mimic",
            "--forward-timeout",
            "600s",
            "--grace",
            "1s",
        ],
    );
    assert_eq!(l.deliver(), "HTTP/1.1 204 No Content");
    let until = Instant::now() + PATIENCE;
    while held.lock().unwrap().is_empty() {
        assert!(Instant::now() < until, "the forward never connected");
        std::thread::sleep(Duration::from_millis(20));
    }
    l.signal(rustix::process::Signal::TERM);
    assert!(l.exited(), "{}", l.stderr());
    let log = Store::open_readonly(&l.log).unwrap();
    assert_eq!(log.index().rows()[0].response_status, 204);
}

#[test]
fn bind_accepts_a_host_name() {
    let mut l = Listening::start(&[], &["--bind", "localhost"]);
    assert!(l.addr.ip().is_loopback(), "{}", l.addr);
    assert_eq!(l.deliver(), "HTTP/1.1 204 No Content");
    l.signal(rustix::process::Signal::TERM);
    assert!(l.exited());
    assert!(!l.stderr().contains("reachable from other machines"));
}
