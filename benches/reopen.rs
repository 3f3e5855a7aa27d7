//! Big-log benchmark: how long `Store::open` takes to rebuild the index of a log of 1,000,000
//! captures through the index snapshot beside it (`reopen_s`, target ≤ 1 s) and by reading
//! the whole log without one (`reopen_full_scan_s`), what the index holds per capture (target
//! ≤ 300 bytes),
//! and how long the real binary takes for `show ID`, `export --curl ID` and `replay ID` on
//! that log (target ≤ 50 ms each, through the offset index beside the log; the first call
//! after the log was written builds that index and is shown apart), and how soon `list --json`
//! writes its first row and how long it takes for all (it streams the log).
//!
//! `cargo bench --bench reopen` (env: HOOKLENS_REOPEN_N=1000000; HOOKLENS_REOPEN_ONLY=1 times
//! only the reopen and skips the runs of the binary, for comparing builds quickly).

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
    let dir = tempfile::tempdir().unwrap();
    // HOOKLENS_REOPEN_LOG=FILE keeps the log there and reuses it when it exists (profiling,
    // repeated runs); the offset index and the snapshot beside it are removed, so the first
    // open scans the whole log and the first show rebuilds the offset index.
    let path = match std::env::var_os("HOOKLENS_REOPEN_LOG") {
        Some(p) => std::path::PathBuf::from(p),
        None => dir.path().join("big.jsonl"),
    };
    let reuse = path.exists();
    let _ = std::fs::remove_file(format!("{}.idx", path.display()));
    let snapshot = std::path::PathBuf::from(format!("{}.rows", path.display()));
    let _ = std::fs::remove_file(&snapshot);
    let t = Instant::now();
    if !reuse {
        write_log(&path, n);
    }
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "{} {n} captures ({:.0} MiB) in {:.1} s",
        if reuse { "reused" } else { "wrote" },
        size as f64 / (1024.0 * 1024.0),
        t.elapsed().as_secs_f64()
    );
    // The full scan (no snapshot beside the log; an offline reader writes none), and what the
    // index holds per capture.
    let rss_before = rss();
    let cpu_before = cpu_s();
    let t = Instant::now();
    let log = Store::open_readonly(&path).unwrap();
    let (full_s, full_cpu_s) = (t.elapsed().as_secs_f64(), cpu_s() - cpu_before);
    let rss_bytes = rss().saturating_sub(rss_before) as f64 / n as f64;
    assert_eq!(log.recovery.captures as u64, n);
    let index_bytes = log.index().memory_bytes() as f64 / n as f64;
    drop(log);
    println!(
        "full scan of {n} captures (no snapshot): {full_s:.2} s ({full_cpu_s:.2} s of CPU over all threads)"
    );
    println!(
        "index memory: {index_bytes:.0} bytes per capture counted ({rss_bytes:.0} bytes per capture of resident memory gained by the open)"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (first_open_s, first_close_s, reopen_s, reopen_cpu_s, close_s) = rt.block_on(async {
        // A listener's first open of the log: the full scan, then the snapshot is written.
        let t = Instant::now();
        let (store, writer, _) = Store::open(Some(&path)).unwrap();
        let first_open = t.elapsed().as_secs_f64();
        drop(store);
        let t = Instant::now();
        let _ = writer.join().await;
        let first_close = t.elapsed().as_secs_f64();
        // The reopen: through the snapshot.
        let cpu_before = cpu_s();
        let t = Instant::now();
        let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
        let took = t.elapsed().as_secs_f64();
        let cpu = cpu_s() - cpu_before;
        assert_eq!(recovery.captures as u64, n);
        println!(
            "reopened {} captures through the snapshot in {took:.2} s ({:.0} captures/s; {cpu:.2} s of CPU over all threads)",
            recovery.captures,
            n as f64 / took
        );
        // A listener that ran: its session line is new, and few enough bytes after the
        // snapshot that its end leaves the snapshot as it is (the next open reads them).
        store.append_session(None, None).await.unwrap();
        drop(store);
        let t = Instant::now();
        let _ = writer.join().await;
        (first_open, first_close, took, cpu, t.elapsed().as_secs_f64())
    });
    let snapshot_bytes = std::fs::metadata(&snapshot).map_or(0, |m| m.len());
    println!(
        "first open (full scan, snapshot written): {first_open_s:.2} s; snapshot {:.0} MiB ({:.0} bytes per capture); closing {:.0} ms, and after a new line {:.0} ms (freeing the index; the snapshot is left as it is)",
        snapshot_bytes as f64 / (1024.0 * 1024.0),
        snapshot_bytes as f64 / n as f64,
        first_close_s * 1e3,
        close_s * 1e3
    );

    let mut big = serde_json::json!({
        "captures": n,
        "reopen_s": reopen_s,
        "reopen_cpu_s": reopen_cpu_s,
        "reopen_full_scan_s": full_s,
        "reopen_full_scan_cpu_s": full_cpu_s,
        "first_open_s": first_open_s,
        "close_s": close_s,
        "snapshot_bytes": snapshot_bytes,
        "index_bytes_per_capture": index_bytes.round(),
        "rss_bytes_per_capture": rss_bytes.round(),
    });
    if std::env::var_os("HOOKLENS_REOPEN_ONLY").is_some() {
        println!("json: {}", serde_json::json!({ "big_log": big }));
        return;
    }
    // The commands a user runs on that log, as the real binary, one id from the middle.
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let to = format!("http://{}", receiver.local_addr().unwrap());
    std::thread::spawn(move || answer_204(receiver));
    let id = (n / 2).max(1).to_string();
    let store = path.to_str().unwrap().to_owned();
    let show = ["show", &id, "--store", &store];
    let first = run_ms(&show);
    let runs = 7;
    let timed = |args: &[&str]| {
        let mut v: Vec<f64> = (0..runs).map(|_| run_ms(args)).collect();
        v.sort_by(f64::total_cmp);
        v[runs / 2]
    };
    let show_ms = timed(&show);
    let curl_ms = timed(&["export", "--curl", &id, "--store", &store]);
    let replay_ms = timed(&["replay", &id, "--to", &to, "--store", &store]);
    println!(
        "at {n} captures (median of {runs} runs of the binary): show {show_ms:.1} ms, export --curl {curl_ms:.1} ms, replay {replay_ms:.1} ms (the first show, which built the offset index: {first:.0} ms)"
    );
    // `list --json` streams: the first row, and all of them, through a pipe (median of 3).
    let mut list: Vec<(f64, f64)> = (0..3).map(|_| list_json_ms(&store)).collect();
    list.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (list_first_ms, list_total_ms) = list[1];
    println!(
        "list --json at {n} captures: first row after {list_first_ms:.1} ms, all rows in {list_total_ms:.0} ms"
    );
    for (key, value) in [
        ("show_ms", show_ms),
        ("export_curl_ms", curl_ms),
        ("replay_ms", replay_ms),
        ("first_show_ms", first),
        ("list_json_first_row_ms", list_first_ms),
        ("list_json_total_ms", list_total_ms),
    ] {
        big[key] = value.into();
    }
    println!("json: {}", serde_json::json!({ "big_log": big }));
}

/// Writes a log of `n` captures as a listener would.
fn write_log(path: &std::path::Path, n: u64) {
    let body = br#"{"type":"video.generation.completed","created_at":"2026-11-26T10:00:00.000Z","data":{"id":"job_bench","status":"completed","generation_id":"gen_1","model":"google/veo-3.1-lite","unsigned_urls":["https://example.com/video.mp4"],"usage":{"cost":0.4,"is_byok":false}}}"#;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
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
}

/// CPU time this process has used (user and system, all threads), in seconds.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses): utime and stime are the
    // 12th and 13th, in clock ticks (100 a second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Runs the hooklens binary with `args`; how long it took, in ms (it must succeed).
fn run_ms(args: &[&str]) -> f64 {
    let t = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hooklens"))
        .args(args)
        .output()
        .unwrap();
    let took = t.elapsed().as_secs_f64() * 1e3;
    assert!(out.status.success(), "{args:?}: {out:?}");
    took
}

/// Runs `hooklens list --json` on `store`: when its first row arrived, and when it ended
/// (ms; every row is read).
fn list_json_ms(store: &str) -> (f64, f64) {
    use std::io::{BufRead, BufReader};
    let t = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hooklens"))
        .args(["list", "--json", "--store", store])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::with_capacity(1 << 20, child.stdout.take().unwrap());
    let mut line = Vec::new();
    out.read_until(b'\n', &mut line).unwrap();
    let first = t.elapsed().as_secs_f64() * 1e3;
    assert!(line.starts_with(b"{\"kind\":\"capture\""), "{line:?}");
    std::io::copy(&mut out, &mut std::io::sink()).unwrap();
    assert!(child.wait().unwrap().success());
    (first, t.elapsed().as_secs_f64() * 1e3)
}

/// A receiver for `replay`: answers every request 204 (keep-alive is not needed).
fn answer_204(listener: std::net::TcpListener) {
    use std::io::{BufRead, BufReader, Read};
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let mut reader = BufReader::new(&stream);
            let mut len = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let _ = (&stream).write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
        });
    }
}
