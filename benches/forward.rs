//! Forwarding overhead: p50/p99 of N sequential signed POSTs straight to a receiver, and the
//! same POSTs through an in-process `hooklens listen --forward-to` (relay, in-memory log).
//! Run: `cargo bench --bench forward` (`HOOKLENS_BENCH_DURABLE=1`: with a durable log).

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

async fn receiver() -> Target {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let t = Target::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.set_nodelay(true);
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
                    buf.drain(..end + 4 + len);
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
            PathMode::Prefix,
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

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let receiver = receiver().await;
        let tcp = server::bind("127.0.0.1".parse().unwrap(), 0).await.unwrap();
        let via = Target::parse(&format!("http://{}", tcp.local_addr().unwrap())).unwrap();
        // HOOKLENS_BENCH_DURABLE=1: the listener keeps a durable log, so each relayed delivery
        // also waits for two fdatasyncs (the capture, then its forward record).
        let dir = tempfile::tempdir().unwrap();
        let durable = std::env::var("HOOKLENS_BENCH_DURABLE").is_ok();
        let log = durable.then(|| dir.path().join("forward.jsonl"));
        let (store, _writer, _) = Store::open(log.as_deref()).unwrap();
        let config = ListenConfig {
            respond: Respond::Relay,
            forward: Some(forward::ForwardConfig {
                client: Client::new(client_config(&[]).unwrap()),
                target: receiver.clone(),
                mode: PathMode::Prefix,
                timeout: Duration::from_secs(10),
            }),
            ..ListenConfig::default()
        };
        let state = Arc::new(Listener::new(config, store));
        tokio::spawn(server::serve(tcp, state, std::future::pending()));

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
        let direct = percentiles(run(&client, &receiver, &capture).await);
        let through = percentiles(run(&client, &via, &capture).await);
        println!("requests per path: {N} sequential, concurrency 1, keep-alive");
        println!("direct to receiver : p50 {:>6} µs  p99 {:>6} µs", direct.0, direct.1);
        println!("through hooklens   : p50 {:>6} µs  p99 {:>6} µs", through.0, through.1);
        println!(
            "added by forwarding: p50 {:>6} µs  p99 {:>6} µs  (target p50 ≤ 150 µs; {} log)",
            through.0 as i64 - direct.0 as i64,
            through.1 as i64 - direct.1 as i64,
            if durable { "durable" } else { "in-memory" }
        );
    });
}
