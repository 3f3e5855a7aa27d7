//! Capture-path benchmark: 50 concurrent keep-alive clients posting signed ModelGates
//! deliveries, against (a) a bare hyper server that reads the body and answers 204 (the floor)
//! and (b) hooklens with verification and the durable log, plus (c) hooklens with `--no-store`
//! to show what the rest of the path costs. One run, same machine, ratios printed.
//! `HOOKLENS_BENCH_DETAIL=1` adds (d) bare hyper served the way hooklens serves, and (e) bare
//! hyper that persists each body with a group-commit `fdatasync` before answering: the floor
//! for any server that is durable before it answers.
//!
//! Beside the timings, each server's heap allocations per request (the whole process, load
//! generator included, so compare servers by their difference from the floor): a count that a
//! busy machine does not blur, unlike CPU time.
//!
//! Last, the line encoder alone: nanoseconds per capture line (`HOOKLENS_BENCH_ENCODE=1`
//! prints only that, for comparing encoders without the servers).
//!
//! `cargo bench --bench capture` (env: HOOKLENS_BENCH_SECS=5, HOOKLENS_BENCH_CONNS=50).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hooklens::model::secret::Secret;
use hooklens::net::server::{self, ListenConfig, Listener};
use hooklens::store::Store;
use hooklens::verify::{VerifyConfig, modelgates};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const SECRET: &str = "dev_secret";

/// Counts heap allocations: each thread counts in its own cell and adds to the shared total
/// every [`FLUSH_EVERY`], so counting does not make threads contend on one cache line.
struct Counting;

static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
const FLUSH_EVERY: u64 = 256;

thread_local! {
    static UNCOUNTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = UNCOUNTED.try_with(|n| {
            let k = n.get() + 1;
            if k == FLUSH_EVERY {
                ALLOCATIONS.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
                n.set(0);
            } else {
                n.set(k);
            }
        });
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The floor: hyper reading the whole body and answering 204, nothing else. With
/// `like_hooklens`, served the way hooklens serves (auto h1/h2 + the raw head recorder), to
/// show what that layer costs on its own.
async fn bare_hyper(tcp: TcpListener, like_hooklens: bool) {
    loop {
        let Ok((stream, _)) = tcp.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                let _ = req.into_body().collect().await;
                let mut resp = hyper::Response::new(Full::new(Bytes::new()));
                *resp.status_mut() = hyper::StatusCode::NO_CONTENT;
                Ok::<_, Infallible>(resp)
            });
            if like_hooklens {
                let (io, _rec) = hooklens::net::rawhead::Recorded::new(stream);
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(TokioIo::new(io), svc)
                .await;
            } else {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            }
        });
    }
}

/// A durable floor: bare hyper whose handler appends the body to a file and answers only after
/// a group-commit `fdatasync`, with the same two-lane overlap hooklens uses (a lane takes
/// everything pending and writes it with one `write`, then syncs while the other lane gathers
/// the next batch). What any server that persists before answering pays on this machine;
/// `HOOKLENS_BENCH_DETAIL=1` runs it as (e).
async fn durable_hyper(tcp: TcpListener, path: std::path::PathBuf) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Pending>(4096);
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let file = Arc::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap(),
    );
    for n in 0..2 {
        let (rx, file) = (rx.clone(), file.clone());
        std::thread::Builder::new()
            .name(format!("srv-e-lane{n}"))
            .spawn(move || durable_lane(&rx, &file))
            .unwrap();
    }
    loop {
        let Ok((stream, _)) = tcp.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let tx = tx.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let tx = tx.clone();
                async move {
                    let body = req.into_body().collect().await.map(|b| b.to_bytes());
                    let (ack, done) = tokio::sync::oneshot::channel();
                    if let Ok(body) = body
                        && tx.send((body, ack)).await.is_ok()
                    {
                        let _ = done.await;
                    }
                    let mut resp = hyper::Response::new(Full::new(Bytes::new()));
                    *resp.status_mut() = hyper::StatusCode::NO_CONTENT;
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

type Pending = (Bytes, tokio::sync::oneshot::Sender<()>);

fn durable_lane(rx: &std::sync::Mutex<tokio::sync::mpsc::Receiver<Pending>>, file: &std::fs::File) {
    use std::io::Write;
    let mut batch = Vec::new();
    let mut buf = Vec::new();
    loop {
        {
            let mut rx = rx.lock().unwrap();
            let Some(first) = rx.blocking_recv() else {
                return;
            };
            batch.push(first);
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            buf.clear();
            for (body, _) in &batch {
                buf.extend_from_slice(body);
                buf.push(b'\n');
            }
            let mut f = file;
            f.write_all(&buf).unwrap();
        }
        file.sync_data().unwrap();
        for (_, ack) in batch.drain(..) {
            let _ = ack.send(());
        }
    }
}

struct Result {
    requests: u64,
    /// Every request answered, warm-up included (what the server's CPU time covers).
    answered: u64,
    /// Server CPU per answered request (its threads' run time, from /proc).
    cpu_us: f64,
    /// Heap allocations per answered request, whole process (client side included).
    allocs: f64,
    elapsed: Duration,
    p50_us: u64,
    p99_us: u64,
    errors: u64,
}

impl Result {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Drives `conns` keep-alive HTTP/1.1 connections for `secs` after a short warm-up.
async fn load(addr: SocketAddr, conns: u64, secs: u64) -> Result {
    let body = Bytes::from(
        r#"{"type":"video.generation.completed","created_at":"2026-11-26T10:00:00.000Z","data":{"id":"job_bench","status":"completed","generation_id":"gen_1","model":"google/veo-3.1-lite","unsigned_urls":["https://example.com/video.mp4"],"usage":{"cost":0.4,"is_byok":false}}}"#,
    );
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sig = modelgates::signature_header(SECRET.as_bytes(), t, &body);
    let warmup = Duration::from_millis(500);
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let body = body.clone();
        let sig = sig.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut send, conn) =
                hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(conn);
            let mut lat = Vec::with_capacity(100_000);
            let mut errors = 0u64;
            let mut answered = 0u64;
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let req = hyper::Request::post("/modelgates/video-webhook")
                    .header("host", "bench")
                    .header("content-type", "application/json")
                    .header("x-modelgates-signature", sig.as_str())
                    .header("x-modelgates-idempotency-key", "job_bench-completed")
                    .body(Full::new(body.clone()))
                    .unwrap();
                match send.send_request(req).await {
                    Ok(resp) => {
                        let ok = resp.status() == 204;
                        let _ = resp.into_body().collect().await;
                        answered += 1;
                        if sent >= measure_from {
                            if ok {
                                lat.push(sent.elapsed().as_micros() as u32);
                            } else {
                                errors += 1;
                            }
                        }
                    }
                    Err(_) => {
                        errors += 1;
                        break;
                    }
                }
            }
            (lat, errors, answered)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    let mut answered = 0;
    for t in tasks {
        let (lat, e, n) = t.await.unwrap();
        all.extend(lat);
        errors += e;
        answered += n;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as u64
    };
    Result {
        requests: all.len() as u64,
        answered,
        cpu_us: 0.0,
        allocs: 0.0,
        elapsed: Duration::from_secs(secs),
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        errors,
    }
}

/// Starts a server on its own runtime thread (so the load generator does not share its
/// scheduler) and returns its address.
/// Its threads are named `srv-TAG…`, so their CPU time can be told apart ([`cpu_ns`]).
fn spawn_server<F, Fut>(tag: &str, make: F) -> SocketAddr
where
    F: FnOnce(TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let name = format!("srv-{tag}");
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name(name)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(tcp.local_addr().unwrap()).unwrap();
                make(tcp).await;
            });
        })
        .unwrap();
    rx.recv().unwrap()
}

/// CPU time (ns) this process's threads whose names start with one of `prefixes` have run,
/// from /proc/self/task/*/schedstat (nanosecond run time, unlike the tick-rounded stat).
fn cpu_ns(prefixes: &[&str]) -> u64 {
    let mut total = 0;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !prefixes.iter().any(|p| name.trim_end().starts_with(p)) {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
        total += stat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total
}

fn hooklens_server(tag: &str, log: Option<std::path::PathBuf>) -> SocketAddr {
    spawn_server(tag, move |tcp| async move {
        let (store, _writer, _) = Store::open(log.as_deref()).unwrap();
        let config = ListenConfig {
            verify: VerifyConfig {
                secrets: vec![Secret::new(SECRET).unwrap()],
                ..VerifyConfig::default()
            },
            ..ListenConfig::default()
        };
        let state = Arc::new(Listener::new(config, store));
        server::serve(tcp, state, std::future::pending())
            .await
            .unwrap();
    })
}

/// The bench's own signed delivery as the server records it, and its verification as the
/// server runs it (one secret, the time it was signed at).
fn delivery() -> (
    hooklens::model::capture::Capture,
    impl Fn() -> hooklens::model::verdict::Verdict,
) {
    use hooklens::model::capture::Capture;
    let body = br#"{"type":"video.generation.completed","created_at":"2026-11-26T10:00:00.000Z","data":{"id":"job_bench","status":"completed","generation_id":"gen_1","model":"google/veo-3.1-lite","unsigned_urls":["https://example.com/video.mp4"],"usage":{"cost":0.4,"is_byok":false}}}"#;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let sig = modelgates::signature_header(SECRET.as_bytes(), now, body);
    let capture = Capture::fixture(
        body,
        &[
            ("host", "bench"),
            ("content-type", "application/json"),
            ("x-modelgates-signature", &sig),
            ("x-modelgates-idempotency-key", "job_bench-completed"),
            ("content-length", "262"),
        ],
    );
    let config = VerifyConfig {
        secrets: vec![Secret::new(SECRET).unwrap()],
        ..VerifyConfig::default()
    };
    let c = capture.clone();
    let verify = move || {
        hooklens::verify::verify_request(
            &hooklens::verify::RequestLine {
                method: &c.method,
                target: &c.target,
            },
            &c.headers,
            &c.body,
            &config,
            now,
        )
    };
    (capture, verify)
}

/// The record the server makes of `capture` (a copy, the verdict, the envelope's fields).
fn captured(
    capture: &hooklens::model::capture::Capture,
    verdict: hooklens::model::verdict::Verdict,
) -> hooklens::model::record::CaptureRecord {
    hooklens::model::record::CaptureRecord {
        capture: capture.clone(),
        verdict,
        event_type: Some("video.generation.completed".into()),
        data_id: Some("job_bench".into()),
        idempotency_key: Some("job_bench-completed".into()),
        response_status: 204,
    }
}

/// Nanoseconds per `store::encode_line` (the capture's line, encoded on the request's task),
/// median of 7 rounds, for the bench's delivery and for the same with a 16 KiB binary body
/// (where the base64 of the body dominates). `HOOKLENS_BENCH_ENCODE=1` prints only these.
fn encode_ns() -> Vec<(&'static str, f64)> {
    use hooklens::model::capture::CaptureId;
    use std::hint::black_box;
    let (capture, verify) = delivery();
    let small = captured(&capture, verify());
    let mut large = small.clone();
    large.capture.body = (0..16 * 1024u32).map(|i| (i * 7919 % 251) as u8).collect();
    let time = |record: &hooklens::model::record::CaptureRecord| {
        let iters = (40_000_000 / (record.capture.body.len() as u64 + 500)).max(100);
        let mut rounds: Vec<f64> = (0..7)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(
                        hooklens::store::encode_line(CaptureId(1), black_box(record)).unwrap(),
                    );
                }
                start.elapsed().as_nanos() as f64 / iters as f64
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        rounds[rounds.len() / 2]
    };
    vec![
        ("encode_line, bench delivery", time(&small)),
        ("encode_line, 16 KiB binary body", time(&large)),
    ]
}

/// Heap allocations per request of each piece of the capture path, one thread, for the
/// bench's own signed delivery: where the difference from the floor comes from.
fn pieces() -> Vec<(&'static str, f64)> {
    use hooklens::model::capture::CaptureId;
    use hooklens::model::record::CaptureRecord;
    const N: u64 = 2000;
    let (capture, verify) = delivery();
    let body = &capture.body;
    let record = || captured(&capture, verify());
    let per = |f: &mut dyn FnMut()| {
        f();
        let before = allocations();
        for _ in 0..N {
            f();
        }
        // The thread's uncounted remainder is at most FLUSH_EVERY; N is large beside it.
        (allocations() - before) as f64 / N as f64
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (memory, _w1, _) = Store::open(None).unwrap();
    let (durable, _w2, _) = Store::open(Some(&dir.path().join("pieces.jsonl"))).unwrap();
    let mut out = vec![
        ("verify_request", per(&mut || drop(verify()))),
        (
            "envelope::summarize",
            per(&mut || drop(hooklens::envelope::summarize(body))),
        ),
        (
            "capture record (copy + verify)",
            per(&mut || drop(record())),
        ),
    ];
    let prepared = record();
    out.push((
        "store::encode_line",
        per(&mut || drop(hooklens::store::encode_line(CaptureId(1), &prepared))),
    ));
    let prepared: Vec<CaptureRecord> = (0..N + 1).map(|_| record()).collect();
    let mut it = prepared.into_iter();
    out.push((
        "Store::append --no-store",
        per(&mut || drop(rt.block_on(memory.append(it.next().unwrap())))),
    ));
    let prepared: Vec<CaptureRecord> = (0..N + 1).map(|_| record()).collect();
    let mut it = prepared.into_iter();
    out.push((
        "Store::append durable (encode + lanes)",
        per(&mut || drop(rt.block_on(durable.append(it.next().unwrap())))),
    ));
    out
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes harness=false benches this way
    }
    if std::env::var("HOOKLENS_BENCH_ENCODE").is_ok() {
        for (what, ns) in encode_ns() {
            println!("{what:<40} {ns:>8.0} ns");
        }
        return;
    }
    if let Ok(which) = std::env::var("HOOKLENS_BENCH_SERVE") {
        // Serve one of the servers for an external load generator (e.g. wrk), until killed.
        let dir = tempfile::tempdir().unwrap();
        let addr = match which.as_str() {
            "floor" => spawn_server("a", |tcp| bare_hyper(tcp, false)),
            "durable" => hooklens_server("b", Some(dir.path().join("bench.jsonl"))),
            _ => hooklens_server("c", None),
        };
        println!("{which} on http://{addr}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    let secs = env_num("HOOKLENS_BENCH_SECS", 4);
    let conns = env_num("HOOKLENS_BENCH_CONNS", 50);
    let rounds = env_num("HOOKLENS_BENCH_ROUNDS", 3) as usize;
    let dir = tempfile::tempdir().unwrap();
    let floor = spawn_server("a", |tcp| bare_hyper(tcp, false));
    let durable = hooklens_server("b", Some(dir.path().join("bench.jsonl")));
    let memory = hooklens_server("c", None);
    // (name, key in the JSON, address, the threads that are this server's)
    let mut servers: Vec<(&str, &str, SocketAddr, &[&str])> = vec![
        ("(a) bare hyper: read body, 204", "floor", floor, &["srv-a"]),
        (
            "(b) hooklens: verify + durable log",
            "hooklens_durable",
            durable,
            &["srv-b", "hooklens-log", "hooklens-tail"],
        ),
        (
            "(c) hooklens --no-store",
            "hooklens_no_store",
            memory,
            &["srv-c"],
        ),
    ];
    if std::env::var("HOOKLENS_BENCH_DETAIL").is_ok() {
        servers.push((
            "(d) bare hyper via auto + head recorder",
            "floor_like_hooklens",
            spawn_server("d", |tcp| bare_hyper(tcp, true)),
            &["srv-d"],
        ));
        let floor_log = dir.path().join("durable-floor.log");
        servers.push((
            "(e) bare hyper + group-commit fdatasync",
            "durable_floor",
            spawn_server("e", move |tcp| durable_hyper(tcp, floor_log)),
            &["srv-e"],
        ));
    }

    if let Ok(only) = std::env::var("HOOKLENS_BENCH_ONLY") {
        // e.g. "a,c": profile one server at a time.
        servers.retain(|(name, ..)| only.split(',').any(|k| name.starts_with(&format!("({k})"))));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .unwrap();
    println!(
        "capture path: {conns} concurrent keep-alive clients, signed POSTs, {rounds} interleaved rounds of {secs} s per server (median shown)"
    );
    // Warm every server once so no one pays for first-touch page faults in the measurement.
    for (_, _, addr, _) in &servers {
        rt.block_on(load(*addr, conns, 1));
    }
    let mut results: Vec<Vec<Result>> = servers.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, (_, _, addr, threads)) in servers.iter().enumerate() {
            let before = cpu_ns(threads);
            let allocated = allocations();
            let mut r = rt.block_on(load(*addr, conns, secs));
            let spent = cpu_ns(threads).saturating_sub(before);
            r.cpu_us = spent as f64 / 1e3 / r.answered.max(1) as f64;
            r.allocs = allocations().saturating_sub(allocated) as f64 / r.answered.max(1) as f64;
            results[i].push(r);
        }
    }
    let median = |rs: &mut Vec<Result>| {
        rs.sort_by(|a, b| a.rps().total_cmp(&b.rps()));
        rs.swap_remove(rs.len() / 2)
    };
    let medians: Vec<Result> = results.iter_mut().map(median).collect();
    let durable_floor = servers
        .iter()
        .position(|s| s.1 == "durable_floor")
        .map(|i| medians[i].rps());
    println!(
        "{:<40} {:>9} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8} {:>6}",
        "server", "req/s", "p50 µs", "p99 µs", "ratio", "vs dur", "cpu µs/r", "allocs/r", "errors"
    );
    let mut json = serde_json::Map::new();
    for ((name, key, ..), r) in servers.iter().zip(&medians) {
        let vs_durable = durable_floor.map(|d| r.rps() / d);
        println!(
            "{name:<40} {:>9.0} {:>8} {:>8} {:>6.2}x {:>7} {:>8.1} {:>8.1} {:>6}",
            r.rps(),
            r.p50_us,
            r.p99_us,
            r.rps() / medians[0].rps(),
            vs_durable.map_or("-".into(), |v| format!("{v:.2}x")),
            r.cpu_us,
            r.allocs,
            r.errors
        );
        json.insert(
            (*key).into(),
            serde_json::json!({
                "rps": r.rps().round(),
                "p50_us": r.p50_us,
                "p99_us": r.p99_us,
                "vs_floor": r.rps() / medians[0].rps(),
                "vs_durable_floor": vs_durable,
                "cpu_us_per_request": r.cpu_us,
                "allocs_per_request": r.allocs,
                "errors": r.errors,
            }),
        );
    }
    let pieces = pieces();
    println!("allocations per request, by piece (one thread):");
    for (piece, n) in &pieces {
        println!("  {piece:<40} {n:>6.1}");
    }
    let encode = encode_ns();
    println!("ns per line encode (one thread, median of 7):");
    for (what, ns) in &encode {
        println!("  {what:<40} {ns:>6.0}");
    }
    let encode: serde_json::Map<String, serde_json::Value> = encode
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
    let pieces: serde_json::Map<String, serde_json::Value> = pieces
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into()))
        .collect();
    let lines = std::fs::read_to_string(dir.path().join("bench.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    println!("durable log holds {lines} captures");
    // One line for `cargo bench --bench all` to collect.
    println!(
        "json: {}",
        serde_json::json!({ "capture": { "conns": conns, "secs": secs, "rounds": rounds, "servers": json, "allocations_by_piece": pieces, "encode_ns": encode } })
    );
}
