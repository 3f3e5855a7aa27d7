//! The one benchmark command: `cargo bench --bench all` runs every measurement of the fast
//! paths in one go (each as its own `cargo bench --bench NAME`, one after the other, so they
//! do not share the CPU) and prints them as one table and as one JSON document:
//!
//! * `capture`: the bare hyper floor, the durable floor (group-commit `fdatasync`), hooklens
//!   with its durable log and with `--no-store`: req/s at 50 connections, p50/p99, and server
//!   CPU µs per request (the servers' own threads, from /proc);
//! * `forward`: what relaying adds at p50/p99 (concurrency 1), durable log and `--no-store`, in
//!   one run, beside the durable floor and a durable listener that only captures;
//! * `tui_render`: a filter keystroke and each tab's frame with 1,000,000 captures;
//! * `reopen`: reopening 1,000,000 captures, index bytes per capture, and `show`,
//!   `export --curl`, `replay` of one id on that log (the real binary);
//! * `verify`: ns and allocations per request of verification + envelope reading alone.
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

/// The `{"bench":"NAME",…}` line a part prints (forward, tui_render).
fn bench_line(text: &str, name: &str) -> Value {
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["bench"] == name)
        .unwrap_or(Value::Null)
}

/// `forward`'s line: the direct path, and what relaying added (durable log and `--no-store`),
/// beside the durable floor and a durable listener that only captures, all from one run.
fn forward(text: &str) -> Value {
    let v = bench_line(text, "forward");
    let path = |key: &str| {
        json!({
            "direct_p50_us": v["direct"]["p50_us"],
            "added_p50_us": v[key]["added_p50_us"],
            "added_p99_us": v[key]["added_p99_us"],
        })
    };
    json!({
        "durable": path("durable"),
        "no_store": path("no_store"),
        "durable_floor": path("durable_floor"),
        "capture_only_durable": path("capture_only_durable"),
        "capture_only_no_store": path("capture_only_no_store"),
    })
}

/// `tui_render`'s line: each measurement's p50/p99/max in ms, and the filter's bytes per capture.
fn tui(text: &str) -> Value {
    let v = bench_line(text, "tui_render");
    let find = |name: &str| {
        v["results"]
            .as_array()
            .and_then(|r| r.iter().find(|m| m["name"] == name).cloned())
            .unwrap_or(Value::Null)
    };
    let frames: Vec<Value> = v["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|m| m["name"].as_str().is_some_and(|n| n.starts_with("frame")))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let worst = |key: &str| {
        frames
            .iter()
            .filter_map(|f| f[key].as_f64())
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    };
    json!({
        "keystroke": find("filter keystroke"),
        "frame_worst_tab_p50_ms": worst("p50_ms"),
        "frame_worst_tab_p99_ms": worst("p99_ms"),
        "columns_bytes_per_capture": v["columns_bytes_per_capture"],
        "inspector_bytes_per_capture": v["inspector_bytes_per_capture"],
        "slowest_key": v["slowest_key"],
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
    all.insert("forward".into(), forward(&part("forward", &[])));
    all.insert("tui".into(), tui(&part("tui_render", &[])));
    all.insert(
        "verify".into(),
        bench_line(&part("verify", &[]), "verify")["cases"].clone(),
    );
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
            format!("{label}: server CPU / allocations per request"),
            format!(
                "{} / {}",
                cell(&v["cpu_us_per_request"], "µs"),
                cell(&v["allocs_per_request"], "")
            ),
            "allocations: whole process, load generator included".into(),
        ));
    }
    if let Some(pieces) = get(&all, &["capture", "allocations_by_piece"]).as_object() {
        for (piece, n) in pieces {
            rows.push((
                format!("allocations per request: {piece}"),
                cell(n, ""),
                String::new(),
            ));
        }
    }
    if let Some(cases) = all["verify"].as_object() {
        for (case, v) in cases {
            rows.push((
                format!("verify + envelope, {case}"),
                format!(
                    "{} / {}",
                    cell(&v["ns_per_request"], "ns"),
                    cell(&v["allocs_per_request"], "allocs")
                ),
                String::new(),
            ));
        }
    }
    for (label, key) in [
        ("durable floor (receiver fdatasyncs first)", "durable_floor"),
        (
            "capture only, no forward (durable log)",
            "capture_only_durable",
        ),
        (
            "capture only, no forward (--no-store)",
            "capture_only_no_store",
        ),
        ("durable", "durable"),
        ("--no-store", "no_store"),
    ] {
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
        "TUI at 1M: filter keystroke p50 / p99".into(),
        format!(
            "{} / {}",
            cell(&t["keystroke"]["p50_ms"], "ms"),
            cell(&t["keystroke"]["p99_ms"], "ms")
        ),
        format!(
            "max {} (slowest: {} in {:?})",
            cell(&t["keystroke"]["max_ms"], "ms"),
            t["slowest_key"]["key"],
            t["slowest_key"]["filter"].as_str().unwrap_or("?")
        ),
    ));
    rows.push((
        "TUI at 1M: frame p50 / p99 (slowest tab)".into(),
        format!(
            "{} / {}",
            cell(&t["frame_worst_tab_p50_ms"], "ms"),
            cell(&t["frame_worst_tab_p99_ms"], "ms")
        ),
        String::new(),
    ));
    rows.push((
        "TUI filter columns per capture".into(),
        cell(&t["columns_bytes_per_capture"], "B"),
        "beside the inspector's rows".into(),
    ));
    rows.push((
        "TUI inspector memory per capture (rows + columns)".into(),
        cell(&t["inspector_bytes_per_capture"], "B"),
        "resident growth".into(),
    ));
    let b = &all["big_log"];
    for (label, key, unit) in [
        ("reopen at 1M (through the index snapshot)", "reopen_s", "s"),
        (
            "reopen at 1M without a snapshot (full scan)",
            "reopen_full_scan_s",
            "s",
        ),
        ("index memory per capture", "index_bytes_per_capture", "B"),
        ("show ID at 1M (binary)", "show_ms", "ms"),
        ("export --curl ID at 1M (binary)", "export_curl_ms", "ms"),
        ("replay ID at 1M (binary)", "replay_ms", "ms"),
        (
            "first show after writing (builds the offset index)",
            "first_show_ms",
            "ms",
        ),
        (
            "list --json at 1M: first row",
            "list_json_first_row_ms",
            "ms",
        ),
        ("list --json at 1M: all rows", "list_json_total_ms", "ms"),
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
