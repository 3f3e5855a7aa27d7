//! The one benchmark command: `cargo bench --bench all` runs every measurement of the fast
//! paths in one go (each as its own `cargo bench --bench NAME`, one after the other, so they
//! do not share the CPU) and prints them as one table and as one JSON document:
//!
//! * `capture`: the bare hyper floor, the durable floor (group-commit `fdatasync`), hooklens
//!   with its durable log and with `--no-store`: req/s at 50 connections, p50/p99, and server
//!   CPU µs per request (the servers' own threads, from /proc);
//! * `forward`: what forwarding adds at p50/p99 (concurrency 1), in-memory and durable log;
//! * `tui_render`: a filter keystroke and a frame with 1,000,000 captures;
//! * `reopen`: reopening 1,000,000 captures, index bytes per capture, and `show`,
//!   `export --curl`, `replay` of one id on that log (the real binary).
//!
//! Their own knobs pass through (`HOOKLENS_BENCH_SECS`, `HOOKLENS_BENCH_ROUNDS`,
//! `HOOKLENS_REOPEN_N`, …); each part's own output goes to stderr as it runs. A part whose
//! output cannot be read is reported as missing, not guessed.

use std::process::{Command, Stdio};

use serde_json::{Map, Value, json};

/// Runs `cargo bench --bench NAME` with `env`; its stdout (also echoed to stderr).
fn part(name: &str, env: &[(&str, &str)]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("== cargo bench --bench {name} {env:?}");
    let mut cmd = Command::new(cargo);
    // What the outer `cargo bench` set for this process only (the package's variables, its
    // library path, the toolchain proxy's) would change the build's fingerprints and make the
    // inner cargo rebuild the dependencies.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_BIN_EXE_",
            "RUSTUP_TOOLCHAIN",
        ]
        .iter()
        .any(|p| key.starts_with(p))
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
            ]
            .contains(&key.as_str())
            || key == "RUST_RECURSION_COUNT"
        {
            cmd.env_remove(&key);
        }
    }
    if let Ok(paths) = std::env::var("LD_LIBRARY_PATH") {
        let kept: Vec<&str> = paths
            .split(':')
            .filter(|p| !p.contains("/target/") && !p.contains("/.rustup/"))
            .collect();
        if kept.is_empty() {
            cmd.env_remove("LD_LIBRARY_PATH");
        } else {
            cmd.env("LD_LIBRARY_PATH", kept.join(":"));
        }
    }
    let out = cmd
        .args(["bench", "--bench", name])
        .envs(env.iter().copied())
        .stderr(Stdio::inherit())
        .output();
    match out {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            eprint!("{text}");
            text
        }
        Err(e) => {
            eprintln!("could not run cargo bench --bench {name}: {e}");
            String::new()
        }
    }
}

/// The `json: {…}` line a part prints.
fn json_line(text: &str) -> Option<Value> {
    text.lines()
        .find_map(|l| l.strip_prefix("json: "))
        .and_then(|j| serde_json::from_str(j).ok())
}

/// The number right after `label` on the first line containing `line_has` (`12.3 ms` → 12.3).
fn number_after(text: &str, line_has: &str, label: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.contains(line_has))?;
    let rest = &line[line.find(label)? + label.len()..];
    let rest = rest.trim_start_matches([' ', ':']);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// `forward`'s own lines: what forwarding added, and the direct path's own latency.
fn forward(text: &str) -> Value {
    json!({
        "direct_p50_us": number_after(text, "direct to receiver", "p50"),
        "added_p50_us": number_after(text, "added by forwarding", "p50"),
        "added_p99_us": number_after(text, "added by forwarding", "p99"),
    })
}

/// `tui_render`'s own lines.
fn tui(text: &str) -> Value {
    json!({
        "filter_ms": number_after(text, "filter over", "):"),
        "frame_p50_us": number_after(text, "frame with", "p50"),
        "frame_p99_us": number_after(text, "frame with", "p99"),
    })
}

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

fn cell(v: &Value, unit: &str) -> String {
    match v.as_f64() {
        Some(x) if unit == "x" => format!("{x:.2}x"),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0} {unit}"),
        Some(x) => format!("{x:.1} {unit}"),
        None => "missing".into(),
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut all = Map::new();
    let capture = part("capture", &[("HOOKLENS_BENCH_DETAIL", "1")]);
    all.insert(
        "capture".into(),
        json_line(&capture).map_or(Value::Null, |v| v["capture"].clone()),
    );
    let memory = part("forward", &[]);
    let durable = part("forward", &[("HOOKLENS_BENCH_DURABLE", "1")]);
    all.insert(
        "forward".into(),
        json!({ "no_store": forward(&memory), "durable": forward(&durable) }),
    );
    all.insert("tui".into(), tui(&part("tui_render", &[])));
    let big = part("reopen", &[]);
    all.insert(
        "big_log".into(),
        json_line(&big).map_or(Value::Null, |v| v["big_log"].clone()),
    );
    let all = Value::Object(all);

    let s = |k: &str| get(&all, &["capture", "servers", k]).clone();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for (label, key) in [
        ("bare hyper (floor)", "floor"),
        ("durable floor (group-commit fdatasync)", "durable_floor"),
        ("hooklens durable", "hooklens_durable"),
        ("hooklens --no-store", "hooklens_no_store"),
    ] {
        let v = s(key);
        rows.push((
            format!("{label}: req/s c=50"),
            cell(&v["rps"], "req/s"),
            format!(
                "{} of floor, {} of durable floor",
                cell(&v["vs_floor"], "x"),
                cell(&v["vs_durable_floor"], "x")
            ),
        ));
        rows.push((
            format!("{label}: server CPU per request"),
            cell(&v["cpu_us_per_request"], "µs"),
            String::new(),
        ));
    }
    for (label, key) in [("durable", "durable"), ("--no-store", "no_store")] {
        let f = get(&all, &["forward", key]);
        rows.push((
            format!("forward added latency, {label}: p50 / p99"),
            format!(
                "{} / {}",
                cell(&f["added_p50_us"], "µs"),
                cell(&f["added_p99_us"], "µs")
            ),
            format!("direct p50 {}", cell(&f["direct_p50_us"], "µs")),
        ));
    }
    let t = &all["tui"];
    rows.push((
        "TUI at 1M: filter keystrokes ('/invalid' then Esc)".into(),
        cell(&t["filter_ms"], "ms"),
        "all keys together".into(),
    ));
    rows.push((
        "TUI at 1M: frame p50 / p99".into(),
        format!(
            "{} / {}",
            cell(&t["frame_p50_us"], "µs"),
            cell(&t["frame_p99_us"], "µs")
        ),
        String::new(),
    ));
    let b = &all["big_log"];
    for (label, key, unit) in [
        ("reopen at 1M", "reopen_s", "s"),
        ("index memory per capture", "index_bytes_per_capture", "B"),
        ("show ID at 1M (binary)", "show_ms", "ms"),
        ("export --curl ID at 1M (binary)", "export_curl_ms", "ms"),
        ("replay ID at 1M (binary)", "replay_ms", "ms"),
        (
            "first show after writing (builds the offset index)",
            "first_show_ms",
            "ms",
        ),
    ] {
        rows.push((label.into(), cell(&b[key], unit), String::new()));
    }
    println!();
    println!("{:<58} {:>18}  notes", "measurement", "value");
    for (label, value, note) in rows {
        println!("{label:<58} {value:>18}  {note}");
    }
    println!("{all}");
}
