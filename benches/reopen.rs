//! Reopen benchmark: how long `Store::open` takes to rebuild the index from a big log.
//! Target (DESIGN.md): 1,000,000 captures in ≤ 2 s.
//!
//! `cargo bench --bench reopen` (env: HOOKLENS_REOPEN_N=1000000).

use std::io::Write;
use std::time::Instant;

use hooklens::model::capture::{Capture, CaptureId};
use hooklens::model::record::CaptureRecord;
use hooklens::store::{Store, encode_line};
use hooklens::verify::{Outcome, Verdict};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: u64 = std::env::var("HOOKLENS_REOPEN_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let body = br#"{"type":"video.generation.completed","created_at":"2026-11-26T10:00:00.000Z","data":{"id":"job_bench","status":"completed","generation_id":"gen_1","model":"google/veo-3.1-lite","unsigned_urls":["https://example.com/video.mp4"],"usage":{"cost":0.4,"is_byok":false}}}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&path).unwrap());
    let t = Instant::now();
    for i in 1..=n {
        let record = CaptureRecord {
            capture: Capture::fixture(
                body,
                &[
                    ("Content-Type", "application/json"),
                    (
                        "X-ModelGates-Signature",
                        "t=1764151200,v1=5257a869e7ecebeda32affa62cdcab3fa0c2d1a9e2d8cd0e0e4e6e8e1a2b3c4d",
                    ),
                    (
                        "X-ModelGates-Idempotency-Key",
                        &format!("job_{i}-completed"),
                    ),
                ],
            ),
            verdict: Verdict::new(
                Some("modelgates"),
                Outcome::Valid,
                "signature matches secret 0",
            ),
            event_type: Some("video.generation.completed".into()),
            data_id: Some(format!("job_{i}")),
            idempotency_key: Some(format!("job_{i}-completed")),
            response_status: 204,
        };
        out.write_all(&encode_line(CaptureId(i), &record).unwrap())
            .unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "wrote {n} captures ({:.0} MiB) in {:.1} s",
        size as f64 / (1024.0 * 1024.0),
        t.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let t = Instant::now();
        let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
        let took = t.elapsed();
        assert_eq!(recovery.captures as u64, n);
        println!(
            "reopened {} captures in {:.2} s ({:.0} captures/s)",
            recovery.captures,
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64()
        );
        drop(store);
        writer.join().await;
    });
}
