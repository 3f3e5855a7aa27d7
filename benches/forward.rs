//! Forwarding overhead, in one run: p50/p99 of N sequential signed POSTs (c=1, keep-alive)
//! straight to a receiver, and the same POSTs through an in-process `hooklens listen
//! --forward-to` in relay mode, once with a durable log (fdatasync, on the disk that holds the
//! system temp dir) and once with `--no-store`; two interleaved rounds, samples pooled. Prints
//! a table, the added µs against the targets (durable ≤ 300 µs, `--no-store` ≤ 100 µs at p50),
//! and the same as one JSON line. Beside them, the durable floor: the receiver itself answering
//! only after an `fdatasync` of each body, what being durable before answering costs on this
//! disk with nothing else in the way (the honest reference for the durable leg), and a
//! durable listener that only captures (no forward): what the capture's own path adds, so the
//! durable forward's excess splits into the capture's and the relay's.
//! A listener that only captures with `--no-store` splits the `--no-store` forward's excess the
//! same way.
//! Run: `cargo bench --bench forward` (every leg runs; `HOOKLENS_BENCH_DURABLE` from older
//! instructions is accepted and changes nothing). `HOOKLENS_BENCH_ONLY=<leg>` (`direct`,
//! `floor`, `durable`, `nostore`, `captured`, `captured_memory`) runs one leg alone, ten times
//! as long, for a profiler.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hooklens::model::capture::Capture;
use hooklens::model::exchange::PathMode;
use hooklens::net::client::{Client, Target};
use hooklens::net::forward;
use hooklens::net::server::{self, ListenConfig, Listener, Respond};
use hooklens::net::tls::client_config;
use hooklens::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const N: usize = 3000;

/// The receiver: answers 204 to each request. With `persist`, it first appends the body to
/// that file and `fdatasync`s it (on a blocking thread, as any tokio server must): the durable
/// floor, what answering only after the request is on disk costs on this machine at c=1.
async fn receiver(persist: Option<std::fs::File>) -> Target {
    let persist = persist.map(Arc::new);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let t = Target::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.set_nodelay(true);
            let persist = persist.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16384];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap_or(0));
                    while buf.len() < end + 4 + len {
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let request: Vec<u8> = buf.drain(..end + 4 + len).collect();
                    if let Some(file) = persist.clone() {
                        let synced = tokio::task::spawn_blocking(move || {
                            use std::io::Write;
                            (&*file).write_all(&request[end + 4..])?;
                            file.sync_data()
                        })
                        .await;
                        assert!(matches!(synced, Ok(Ok(()))), "durable floor: {synced:?}");
                    }
                    if s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    t
}

fn percentiles(mut v: Vec<u64>) -> (u64, u64) {
    v.sort_unstable();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

async fn run(client: &Client, target: &Target, capture: &Capture) -> Vec<u64> {
    let mut times = Vec::with_capacity(N);
    for i in 0..N + 200 {
        let t0 = Instant::now();
        let sent = forward::forward(
            client,
            target,
            PathMode::Auto,
            capture,
            Duration::from_secs(10),
        )
        .await;
        let us = t0.elapsed().as_micros() as u64;
        assert_eq!(sent.result.expect("answer").status, 204);
        if i >= 200 {
            times.push(us); // the first 200 warm up pools and caches
        }
    }
    times
}

/// An in-process relaying listener in front of `receiver` (or, with none, a listener that only
/// captures and answers 204), with a durable log in `log` or none.
async fn relay_listener(receiver: Option<&Target>, log: Option<&std::path::Path>) -> Target {
    let tcp = server::bind("127.0.0.1".parse().unwrap(), 0).await.unwrap();
    let via = Target::parse(&format!("http://{}", tcp.local_addr().unwrap())).unwrap();
    let (store, writer, _) = Store::open(log).unwrap();
    std::mem::forget(writer); // the lanes run until the process ends
    let config = match receiver {
        Some(receiver) => ListenConfig {
            respond: Respond::Relay,
            forward: Some(forward::ForwardConfig {
                client: Client::new(client_config(&[]).unwrap()),
                target: receiver.clone(),
                mode: PathMode::Auto,
                timeout: Duration::from_secs(10),
            }),
            ..ListenConfig::default()
        },
        None => ListenConfig::default(),
    };
    let state = Arc::new(Listener::new(config, store));
    tokio::spawn(server::serve(tcp, state, std::future::pending()));
    via
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let direct_receiver = receiver(None).await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("forward.jsonl");
        let floor_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("durable-floor.log"))
            .unwrap();
        let durable_floor = receiver(Some(floor_file)).await;
        let receiver = direct_receiver;
        let durable = relay_listener(Some(&receiver), Some(&log)).await;
        let memory = relay_listener(Some(&receiver), None).await;
        // The capture leg alone (no forward): what the durable log costs hooklens at c=1,
        // beside what it costs the durable floor.
        let capture_only = relay_listener(None, Some(&dir.path().join("capture.jsonl"))).await;
        let capture_memory = relay_listener(None, None).await;

        let body = br#"{"type":"video.generation.completed","data":{"id":"job_1","status":"completed","url":"https://cdn.example/v.mp4"}}"#;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let sig = hooklens::verify::modelgates::signature_header(b"whsec_bench_secret", now, body);
        let len = body.len().to_string();
        let capture = Capture::fixture(body, &[
            ("Host", "x"),
            ("Content-Type", "application/json"),
            ("X-ModelGates-Signature", sig.as_str()),
            ("X-ModelGates-Idempotency-Key", "job_1-completed"),
            ("Content-Length", len.as_str()),
        ]);
        let client = Client::new(client_config(&[]).unwrap());
        // Each leg once, by the name `HOOKLENS_BENCH_ONLY` takes.
        let legs = [
            ("direct", &receiver),
            ("floor", &durable_floor),
            ("durable", &durable),
            ("nostore", &memory),
            ("captured", &capture_only),
            ("captured_memory", &capture_memory),
        ];
        // `HOOKLENS_BENCH_ONLY=<leg>` runs that leg alone, ten times as long, for a profiler;
        // the table is then not printed.
        if let Ok(only) = std::env::var("HOOKLENS_BENCH_ONLY") {
            let Some((_, target)) = legs.iter().find(|(name, _)| *name == only) else {
                let names: Vec<_> = legs.iter().map(|(name, _)| *name).collect();
                panic!("HOOKLENS_BENCH_ONLY: no leg {only:?} (legs: {})", names.join(", "));
            };
            let mut times = Vec::new();
            for _ in 0..10 {
                times.extend(run(&client, target, &capture).await);
            }
            let (p50, p99) = percentiles(times);
            println!("{only}: p50 {p50} µs, p99 {p99} µs");
            return;
        }
        let mut samples: Vec<Vec<u64>> = vec![Vec::new(); legs.len()];
        for _round in 0..2 {
            for ((_, target), times) in legs.iter().zip(&mut samples) {
                times.extend(run(&client, target, &capture).await);
            }
        }
        let [direct, floor, stored, nostore, captured, captured_memory] =
            samples.try_into().expect("one sample list per leg");
        let direct = percentiles(direct);
        let stored = percentiles(stored);
        let nostore = percentiles(nostore);
        let floor = percentiles(floor);
        let captured = percentiles(captured);
        let captured_memory = percentiles(captured_memory);
        let added = |p: (u64, u64)| (p.0 as i64 - direct.0 as i64, p.1 as i64 - direct.1 as i64);
        let (sa, na, fa, ca) = (added(stored), added(nostore), added(floor), added(captured));
        let cma = added(captured_memory);
        println!("requests per path: 2 rounds × {N} sequential, concurrency 1, keep-alive; log on {}", dir.path().display());
        println!("| path | p50 µs | p99 µs | added p50 µs | added p99 µs | target (added p50) |");
        println!("|---|---:|---:|---:|---:|---|");
        println!("| direct to receiver | {} | {} | | | |", direct.0, direct.1);
        println!(
            "| durable floor: receiver answers after fdatasync | {} | {} | {} | {} | (the disk's own price) |",
            floor.0, floor.1, fa.0, fa.1
        );
        println!(
            "| capture only (no forward), durable log | {} | {} | {} | {} | (beside the floor) |",
            captured.0, captured.1, ca.0, ca.1
        );
        println!(
            "| capture only (no forward), --no-store | {} | {} | {} | {} | (what relaying adds is the rest) |",
            captured_memory.0, captured_memory.1, cma.0, cma.1
        );
        println!(
            "| forward, durable log | {} | {} | {} | {} | ≤ 300 {} |",
            stored.0, stored.1, sa.0, sa.1, if sa.0 <= 300 { "met" } else { "MISSED" }
        );
        println!(
            "| forward, --no-store | {} | {} | {} | {} | ≤ 100 {} |",
            nostore.0, nostore.1, na.0, na.1, if na.0 <= 100 { "met" } else { "MISSED" }
        );
        println!(
            "{}",
            serde_json::json!({
                "bench": "forward",
                "requests_per_path": 2 * N,
                "direct": {"p50_us": direct.0, "p99_us": direct.1},
                "durable_floor": {"p50_us": floor.0, "p99_us": floor.1, "added_p50_us": fa.0, "added_p99_us": fa.1},
                "capture_only_durable": {"p50_us": captured.0, "p99_us": captured.1, "added_p50_us": ca.0, "added_p99_us": ca.1},
                "capture_only_no_store": {"p50_us": captured_memory.0, "p99_us": captured_memory.1, "added_p50_us": cma.0, "added_p99_us": cma.1},
                "durable": {"p50_us": stored.0, "p99_us": stored.1, "added_p50_us": sa.0, "added_p99_us": sa.1},
                "no_store": {"p50_us": nostore.0, "p99_us": nostore.1, "added_p50_us": na.0, "added_p99_us": na.1},
            })
        );
    });
}
