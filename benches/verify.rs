//! Per-request CPU of the pure part of the capture path: `verify::verify_request` followed by
//! `envelope::summarize`, exactly what `net::server` runs for each captured request, with no
//! sockets or store. Five requests: a valid ModelGates delivery (the body and headers of the
//! capture bench's `load`), the same with a wrong signature, the same without its signature
//! header, a Stripe-signed one, and one that names no known scheme. For each: ns/request
//! (median of the rounds) and heap allocations/request (a counting global allocator).
//!
//! `cargo bench --bench verify` (env: HOOKLENS_BENCH_ROUNDS=5; HOOKLENS_BENCH_ITERS, else as
//! many iterations as take about 0.2 s per round; HOOKLENS_BENCH_ONLY=<request> runs one, for
//! a profiler).
//! Prints a table, then one JSON line `{"bench":"verify",...}`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hooklens::envelope;
use hooklens::model::capture::Header;
use hooklens::model::secret::Secret;
use hooklens::verify::{self, Outcome, RequestLine, VerifyConfig, modelgates};

/// Counts every allocation (and reallocation) the process makes.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SECRET: &str = "dev_secret";
/// The capture bench's body (benches/capture.rs `load`).
const BODY: &[u8] = br#"{"type":"video.generation.completed","created_at":"2026-11-26T10:00:00.000Z","data":{"id":"job_bench","status":"completed","generation_id":"gen_1","model":"google/veo-3.1-lite","unsigned_urls":["https://example.com/video.mp4"],"usage":{"cost":0.4,"is_byok":false}}}"#;
const NOW: i64 = 1_764_151_200;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The headers hyper's client sends in the capture bench, as the server records them.
fn modelgates_headers(signature: Option<String>) -> Vec<Header> {
    let mut h = vec![
        Header::new("host", "bench"),
        Header::new("content-type", "application/json"),
    ];
    if let Some(sig) = signature {
        h.push(Header::new("x-modelgates-signature", sig));
    }
    h.push(Header::new(
        "x-modelgates-idempotency-key",
        "job_bench-completed",
    ));
    h.push(Header::new("content-length", BODY.len().to_string()));
    h
}

struct Case {
    name: &'static str,
    headers: Vec<Header>,
    body: Vec<u8>,
    expect: Outcome,
}

fn cases() -> Vec<Case> {
    let stripe_body = br#"{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1","status":"paid"}}}"#.to_vec();
    // One listener, one secret: Stripe keys with the whole string, whatever it is.
    let stripe_secret = Secret::new(SECRET).unwrap();
    let mut stripe_headers = vec![
        Header::new("host", "bench"),
        Header::new(
            "user-agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        ),
        Header::new("content-type", "application/json; charset=utf-8"),
        Header::new("content-length", stripe_body.len().to_string()),
    ];
    stripe_headers.extend(
        verify::built_in("stripe")
            .unwrap()
            .sign(&stripe_secret, NOW, "", &stripe_body)
            .unwrap(),
    );
    let other_body = br#"{"event":"ping","id":42,"data":{"id":"x_1","status":"ok"}}"#.to_vec();
    vec![
        Case {
            name: "modelgates_valid",
            headers: modelgates_headers(Some(modelgates::signature_header(
                SECRET.as_bytes(),
                NOW,
                BODY,
            ))),
            body: BODY.to_vec(),
            expect: Outcome::Valid,
        },
        Case {
            name: "modelgates_invalid",
            headers: modelgates_headers(Some(modelgates::signature_header(
                b"wrong_secret",
                NOW,
                BODY,
            ))),
            body: BODY.to_vec(),
            expect: Outcome::InvalidSignature,
        },
        Case {
            name: "modelgates_unsigned",
            headers: modelgates_headers(None),
            body: BODY.to_vec(),
            expect: Outcome::MissingHeader,
        },
        Case {
            name: "stripe_valid",
            headers: stripe_headers,
            body: stripe_body,
            expect: Outcome::Valid,
        },
        Case {
            name: "no_known_scheme",
            headers: vec![
                Header::new("host", "bench"),
                Header::new("user-agent", "curl/8.5.0"),
                Header::new("accept", "*/*"),
                Header::new("content-type", "application/json"),
                Header::new("x-request-id", "req_123"),
                Header::new("content-length", other_body.len().to_string()),
            ],
            body: other_body,
            expect: Outcome::MissingHeader,
        },
    ]
}

/// What the server does per request (src/net/server.rs `handle`).
fn one(case: &Case, cfg: &VerifyConfig) -> (verify::Verdict, envelope::EnvelopeSummary) {
    let req = RequestLine {
        method: "POST",
        target: "/modelgates/video-webhook",
    };
    let v = verify::verify_request(&req, &case.headers, &case.body, cfg, NOW);
    let env = envelope::summarize(&case.body);
    (v, env)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let fixed_iters = env_num("HOOKLENS_BENCH_ITERS", 0);
    let rounds = env_num("HOOKLENS_BENCH_ROUNDS", 5).max(1);
    let cfg = VerifyConfig {
        secrets: vec![Secret::new(SECRET).unwrap()],
        ..Default::default()
    };
    let only = std::env::var("HOOKLENS_BENCH_ONLY").ok();
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| only.as_deref().is_none_or(|o| o == c.name))
        .collect();
    let mut rows = Vec::new();
    for case in &cases {
        let (v, _) = one(case, &cfg);
        assert_eq!(v.outcome, case.expect, "{}: {}", case.name, v.reason);
        // Warm up (lazy statics, caches) and calibrate, then count one request's allocations.
        for _ in 0..200 {
            black_box(one(black_box(case), &cfg));
        }
        let start = Instant::now();
        for _ in 0..1000 {
            black_box(one(black_box(case), &cfg));
        }
        let iters = match fixed_iters {
            0 => (200_000_000 / (start.elapsed().as_nanos() / 1000).max(1)) as u64,
            n => n,
        }
        .max(1000);
        let before = ALLOCS.load(Ordering::Relaxed);
        black_box(one(black_box(case), &cfg));
        let allocs = ALLOCS.load(Ordering::Relaxed) - before;
        let mut ns = Vec::new();
        for _ in 0..rounds {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(one(black_box(case), &cfg));
            }
            ns.push(start.elapsed().as_nanos() as f64 / iters as f64);
        }
        rows.push((case.name, median(ns), allocs, iters));
    }
    println!(
        "{:<22} {:>12} {:>14}",
        "request", "ns/request", "allocs/request"
    );
    for (name, ns, allocs, _) in &rows {
        println!("{name:<22} {ns:>12.0} {allocs:>14}");
    }
    let cases_json: serde_json::Map<String, serde_json::Value> = rows
        .iter()
        .map(|(name, ns, allocs, iters)| {
            let row = serde_json::json!({
                "ns_per_request": ns.round() as u64,
                "allocs_per_request": allocs,
                "iters": iters,
            });
            (name.to_string(), row)
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({ "bench": "verify", "rounds": rounds, "cases": cases_json })
    );
}
