//! Faults on real files and the real binary: two listeners on one log, a `--store` that is not
//! a log, a full disk (a file-size limit) that is lifted again, `kill -9` under load, and
//! `--respond mimic` killed before it forwarded.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{Cli, hooklens};
use hooklens::model::capture::CaptureId;
use hooklens::store::Store;

const SECRET: &str = "dev_secret";

/// A listener child: its address, its stdout lines as they come, its stderr so far.
struct Listening {
    child: Child,
    _cli: Cli,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Listening {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) -> String {
        // One answered request first: the listener installs its SIGTERM handler when it starts
        // serving, a moment after the readiness line.
        let _ = deliver(&self.addr, b"{}");
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        assert!(
            self.child.wait().unwrap().success(),
            "SIGTERM is a clean exit"
        );
        self.stderr()
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }

    fn stderr(&self) -> String {
        // Give the reader thread a moment to catch up with what was written.
        std::thread::sleep(Duration::from_millis(200));
        self.stderr.lock().unwrap().clone()
    }
}

/// Starts `hooklens listen --no-tui --port 0 --secret … ARGS`, optionally under a shell
/// prefix (`limit`: a `bash -c` script that execs the binary), and waits for readiness.
fn listen(args: &[&str], log: &Path, limit: Option<&str>) -> Listening {
    let mut cli = hooklens();
    let bin = cli.get_program().to_owned();
    let mut full: Vec<std::ffi::OsString> =
        ["listen", "--no-tui", "--port", "0", "--secret", SECRET]
            .iter()
            .map(Into::into)
            .collect();
    full.extend(args.iter().map(Into::into));
    full.push("--store".into());
    full.push(log.into());
    let mut child = match limit {
        Some(script) => {
            let mut sh = Command::new("bash");
            sh.arg("-c").arg(script).arg(&bin).args(&full);
            for (k, v) in cli.get_envs() {
                match v {
                    Some(v) => sh.env(k, v),
                    None => sh.env_remove(k),
                };
            }
            sh.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        }
        None => cli
            .args(&full)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    };
    let stderr = common::collect(child.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("no readiness line; stderr: {}", stderr.lock().unwrap()));
    let addr = ready
        .strip_prefix("Listening on http://")
        .unwrap_or_else(|| panic!("readiness line: {ready}"))
        .to_owned();
    // Drain the capture lines so the child never blocks on a full pipe.
    std::thread::spawn(move || while rx.recv().is_ok() {});
    Listening {
        child,
        _cli: cli,
        addr,
        stderr,
    }
}

/// One signed delivery over a fresh connection; the status, or None when the connection failed.
fn deliver(addr: &str, body: &[u8]) -> Option<u16> {
    let t = common::now_secs();
    let sig = format!("t={t},v1={}", common::guide_signature(SECRET, t, body));
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let head = format!(
        "POST /modelgates/video-webhook HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-ModelGates-Signature: {sig}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

fn body(n: usize, pad: usize) -> Vec<u8> {
    format!(
        r#"{{"type":"video.generation.completed","created_at":"2026-11-26T10:00:00.000Z","data":{{"id":"job_{n}","status":"completed","pad":"{}"}}}}"#,
        "x".repeat(pad)
    )
    .into_bytes()
}

/// Every capture body in the log, after checking the log reads back clean.
fn bodies_in(log: &Path) -> Vec<Vec<u8>> {
    let ro = Store::open_readonly(log).unwrap();
    assert_eq!(ro.recovery.corrupt_lines, 0, "{:?}", ro.recovery);
    assert_eq!(ro.recovery.torn_bytes, 0, "{:?}", ro.recovery);
    ro.index()
        .rows()
        .iter()
        .map(|r| ro.load(r.id).unwrap().capture.body.to_vec())
        .collect()
}

/// The capture ids in the log, in order.
fn ids_in(log: &Path) -> Vec<u64> {
    Store::open_readonly(log)
        .unwrap()
        .index()
        .rows()
        .iter()
        .map(|r| r.id.0)
        .collect()
}

fn assert_all_present(acked: &[Vec<u8>], log: &Path) {
    let stored: HashSet<Vec<u8>> = bodies_in(log).into_iter().collect();
    let missing = acked.iter().filter(|b| !stored.contains(*b)).count();
    assert_eq!(
        missing,
        0,
        "{missing} of {} acknowledged deliveries missing",
        acked.len()
    );
}

#[test]
fn a_second_listener_on_the_same_log_is_refused_before_it_binds_and_the_first_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let first = listen(&[], &log, None);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    // On a port already taken: refused for the log, so it never got as far as the port.
    let out = hooklens()
        .args(["listen", "--no-tui", "--port", &port, "--store"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&log.display().to_string()), "{err}");
    assert!(err.contains(&format!("(PID {})", first.pid())), "{err}");
    assert!(
        !err.contains("already in use"),
        "refused before the port: {err}"
    );

    let acked: Vec<Vec<u8>> = (0..50)
        .map(|n| body(n, 10))
        .filter(|b| deliver(&first.addr, b) == Some(204))
        .collect();
    assert_eq!(acked.len(), 50);
    first.stop();
    assert_all_present(&acked, &log);
    let ids = ids_in(&log);
    assert_eq!(
        ids,
        (1..=51).collect::<Vec<_>>(),
        "50 deliveries and stop()'s one"
    );
}

#[test]
fn a_store_that_is_not_a_log_is_refused_and_left_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let readme = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let cases: [(&str, &[u8]); 3] = [
        (
            "config.json",
            br#"{"name":"my app","port":3000,"features":["a","b"],"debug":true}"#,
        ),
        (
            "notes.txt",
            b"call the provider about retries\nTODO: rotate keys",
        ),
        ("README.md", &readme),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for cmd in [
            &["listen", "--no-tui", "--port", "0"][..],
            &["list"],
            &["export", "--har", "out.har"],
        ] {
            let out = hooklens()
                .args(cmd)
                .arg("--store")
                .arg(&path)
                .current_dir(dir.path())
                .output()
                .unwrap();
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(out.status.code(), Some(2), "{cmd:?} {name}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.contains("is not a hooklens capture log") && err.contains(name),
                "{err}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} after {cmd:?}");
        }
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "nothing created beside them: {left:?}");
}

#[test]
fn a_full_disk_costs_500s_and_one_notice_and_nothing_acknowledged_once_space_returns() {
    if !common::require_tool("prlimit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    // A 64 KiB file-size limit (soft, so it can be lifted); SIGXFSZ ignored, so a write past
    // it fails with EFBIG as a full disk fails with ENOSPC.
    let l = listen(
        &[],
        &log,
        Some(r#"trap "" XFSZ; ulimit -S -f 64; exec "$0" "$@""#),
    );
    let mut acked = Vec::new();
    let mut refused = 0;
    let mut n = 0;
    while refused < 5 {
        let b = body(n, 900);
        n += 1;
        match deliver(&l.addr, &b) {
            Some(204) => acked.push(b),
            Some(500) => refused += 1,
            other => panic!("delivery {n}: {other:?}"),
        }
        assert!(n < 1000, "the limit never bit");
    }
    let lifted = Command::new("prlimit")
        .args(["--pid", &l.pid().to_string(), "--fsize=unlimited"])
        .status()
        .unwrap();
    assert!(lifted.success());
    for _ in 0..20 {
        let b = body(n, 900);
        n += 1;
        assert_eq!(
            deliver(&l.addr, &b),
            Some(204),
            "captures resume once space returns"
        );
        acked.push(b);
    }
    let err = l.stop();
    eprintln!("{err}");
    assert_eq!(
        err.matches("capture log write failed").count(),
        1,
        "one notice per episode: {err}"
    );
    assert_eq!(
        err.matches("capture log writable again").count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.matches("not stored").count(),
        0,
        "no per-request line while the disk is full: {err}"
    );
    assert_all_present(&acked, &log);
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let l = listen(&[], &log, None);
    let addr = l.addr.clone();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    const TOTAL: usize = 400;
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (addr, acked, next) = (addr.clone(), acked.clone(), next.clone());
            std::thread::spawn(move || {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if n >= TOTAL {
                        return;
                    }
                    let b = body(n, n % 700);
                    if deliver(&addr, &b).is_some_and(|s| (200..300).contains(&s)) {
                        acked.lock().unwrap().push(b);
                    }
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 150 {
        std::thread::sleep(Duration::from_millis(5));
    }
    l.kill9();
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 150 && acked.len() < TOTAL, "{}", acked.len());
    // The restarted listener takes the log over (the lock died with the process) and finds
    // every acknowledged delivery, byte for byte.
    let again = listen(&[], &log, None);
    assert_eq!(deliver(&again.addr, &body(TOTAL, 1)), Some(204));
    let err = again.stop();
    assert!(err.contains("earlier captures"), "{err}");
    assert_all_present(&acked, &log);
}

#[test]
fn mimic_killed_before_forwarding_names_the_captures_and_replay_pending_sends_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    // A receiver that accepts and never answers: every forward is still in flight.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/hook", silent.local_addr().unwrap());
    let l = listen(
        &["--forward-to", &silent_url, "--respond", "mimic"],
        &log,
        None,
    );
    for n in 0..5 {
        assert_eq!(deliver(&l.addr, &body(n, 1)), Some(204));
    }
    l.kill9();
    drop(silent);

    let again = listen(&[], &log, None);
    let err = again.stop();
    assert!(
        err.contains("5 captures were meant to be forwarded") && err.contains("#1 … #5"),
        "{err}"
    );
    assert!(err.contains("hooklens replay --pending --store"), "{err}");

    let receiver = common::Receiver::start(common::always(204, "")).expect(5);
    let out = hooklens()
        .args(["replay", "--pending", "--to", &receiver.url(), "--store"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sent: HashSet<Vec<u8>> = receiver.bodies().into_iter().map(|b| b.to_vec()).collect();
    assert_eq!(sent, (0..5).map(|n| body(n, 1)).collect::<HashSet<_>>());
    let ro = Store::open_readonly(&log).unwrap();
    assert!(
        ro.recovery.unforwarded.is_empty(),
        "{:?}",
        ro.recovery.unforwarded
    );
    assert_eq!(ro.exchanges(CaptureId(1)).unwrap().len(), 1);
    // Nothing is left pending, and a second run says so.
    let out = hooklens()
        .args(["replay", "--pending", "--to", &receiver.url(), "--store"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing pending"));
}

#[test]
fn list_and_har_export_say_how_many_lines_are_unreadable_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let l = listen(&[], &log, None);
    for n in 0..3 {
        assert_eq!(deliver(&l.addr, &body(n, 1)), Some(204));
    }
    l.stop();
    // Damage the middle: line 3 (after the header and #1) becomes garbage.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "this line was damaged";
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    for cmd in [&["list"][..], &["export", "--har", "out.har"]] {
        let out = hooklens()
            .args(cmd)
            .arg("--store")
            .arg(&log)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("skipped 1 unreadable line (line 4; left in the file)"),
            "{cmd:?}: {err}"
        );
    }
}

#[test]
fn files_hooklens_writes_are_0600_whatever_the_umask_and_wide_ones_are_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let l = listen(&[], &log, Some(r#"umask 0000; exec "$0" "$@""#));
    assert_eq!(deliver(&l.addr, &body(1, 1)), Some(204));
    l.stop();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&log), 0o600);
    let lock = dir.path().join("c.jsonl.lock");
    assert_eq!(mode(&lock), 0o600);
    let cli = hooklens();
    let bin = cli.get_program().to_owned();
    for umask in ["0000", "0277"] {
        let (har, raw) = (
            dir.path().join(format!("{umask}.har")),
            dir.path().join(format!("{umask}.bin")),
        );
        let status = Command::new("bash")
            .arg("-c")
            .arg(format!(r#"umask {umask}; "$0" export --har "$1" --store "$3" 2>/dev/null && "$0" export --curl 1 --body-file "$2" --store "$3" >/dev/null"#))
            .arg(&bin)
            .arg(&har)
            .arg(&raw)
            .arg(&log)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!((mode(&har), mode(&raw)), (0o600, 0o600), "umask {umask}");
    }
    // An existing file other users can read: written, with one warning naming it.
    let wide = dir.path().join("wide.har");
    std::fs::write(&wide, b"old").unwrap();
    std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = hooklens()
        .args(["export", "--har"])
        .arg(&wide)
        .arg("--store")
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let warning: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warning.len(), 1, "{err}");
    assert!(
        warning[0].contains("wide.har has mode 0644") && warning[0].contains("chmod 600"),
        "{err}"
    );
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).unwrap();
    let l = listen(&[], &log, None);
    let err = l.stop();
    assert!(err.contains("c.jsonl has mode 0640"), "{err}");
}

/// Resident memory of a process, from /proc (kB).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

#[test]
fn no_store_memory_is_capped_by_bytes_not_by_count() {
    // 40 bodies of 9 MB used to stay in memory (about 360 MB); with a 32 MiB cap the listener
    // keeps at most that much of them and says so once.
    let mut cli = hooklens();
    let mut child = cli
        .args(["listen", "--no-tui", "--port", "0", "--secret", SECRET])
        .args(["--no-store", "--memory-cap", "32MiB"])
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
        .unwrap_or_else(|| panic!("readiness line: {ready}"))
        .to_owned();
    std::thread::spawn(move || for _ in out.lines().map_while(Result::ok) {});
    let mut err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    for n in 0..40 {
        assert_eq!(deliver(&addr, &body(n, 9_000_000)), Some(204));
    }
    let rss_mib = rss_kib(child.id()) / 1024;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    let stderr = stderr.join().unwrap();
    // 32 MiB of bodies plus the binary, the runtime and buffers: far under the ~360 MB that
    // keeping every body took.
    assert!(rss_mib < 160, "RSS {rss_mib} MiB with --memory-cap 32MiB");
    assert!(
        stderr.matches("memory cap reached").count() == 1,
        "one notice says older bodies are let go: {stderr}"
    );
}

#[test]
fn a_clean_stop_leaves_an_index_snapshot_and_a_restart_after_kill_9_loses_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let snapshot = dir.path().join("c.jsonl.rows");
    let sent: Vec<Vec<u8>> = (0..11).map(|n| body(n, 10)).collect();
    let first = listen(&[], &log, None);
    for b in &sent[..5] {
        assert_eq!(deliver(&first.addr, b), Some(204));
    }
    let stopped = first.stop(); // one more delivery (`{}`) before the SIGTERM
    assert!(!stopped.contains("snapshot"), "{stopped}");
    let mode = std::fs::metadata(&snapshot).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let after_stop = std::fs::read(&snapshot).unwrap();

    // Killed after more deliveries: the snapshot stays as the clean stop left it, and the
    // next listener reads it and the lines after it (a few lines after the snapshot are left
    // for the next open to read, so it is not rewritten either).
    let second = listen(&[], &log, None);
    for b in &sent[5..10] {
        assert_eq!(deliver(&second.addr, b), Some(204));
    }
    second.kill9();
    assert_eq!(std::fs::read(&snapshot).unwrap(), after_stop);
    let third = listen(&[], &log, None);
    assert_eq!(deliver(&third.addr, &sent[10]), Some(204));
    third.stop();
    assert_eq!(std::fs::read(&snapshot).unwrap(), after_stop);

    let mut expected: Vec<Vec<u8>> = sent[..5].to_vec();
    expected.push(b"{}".to_vec());
    expected.extend_from_slice(&sent[5..]);
    expected.push(b"{}".to_vec());
    assert_eq!(bodies_in(&log), expected);
    let ids = ids_in(&log);
    assert_eq!(ids, (1..=13).collect::<Vec<_>>());
}
