//! Forwarding to the URL the user typed, and every surface saying what the provider really got:
//! the real binary, real receivers on 127.0.0.1:0, the guide's signature check.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Receiver, always, guide_check};

const SECRET: &str = "whsec_relay_test_secret";
const HOOK: &str = "/modelgates/video-webhook";

/// A `hooklens listen --no-tui` (or `--json`) child: its address, its stdout lines as they come,
/// and its stderr so far. Killed when dropped.
struct Listening {
    child: Child,
    addr: String,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    _cli: common::Cli,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Listening {
    fn start(log: &Path, extra: &[&str]) -> Listening {
        let json = extra.contains(&"--json");
        let mut cli = common::hooklens();
        cli.args(["listen", "--port", "0", "--secret", SECRET, "--store"])
            .arg(log)
            .args(if json { &[][..] } else { &["--no-tui"][..] })
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cli.spawn().unwrap();
        let stderr = common::collect(child.stderr.take().unwrap());
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut l = Listening {
            child,
            addr: String::new(),
            lines,
            stderr,
            _cli: cli,
        };
        // The readiness line: stdout, or stderr with --json (stdout stays JSON).
        let ready = if json {
            l.stderr_line_with("Listening on http://")
        } else {
            l.next_line()
        };
        l.addr = ready
            .strip_prefix("Listening on http://")
            .unwrap_or_else(|| panic!("readiness line: {ready:?}"))
            .to_owned();
        l
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no line; stderr: {}", self.stderr.lock().unwrap()))
    }

    /// The next capture line or forward line (not the start line, a reason or a hint).
    fn next_record(&self) -> String {
        loop {
            let line = self.next_line();
            let detail = line.starts_with(' ') && !line.contains(" forward → ");
            if !line.starts_with("forwarding ") && !detail {
                return line;
            }
        }
    }

    fn stderr_line_with(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self
                .stderr
                .lock()
                .unwrap()
                .lines()
                .find(|l| l.contains(text))
            {
                return line.to_owned();
            }
            assert!(Instant::now() < deadline, "no stderr line with {text:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A signed delivery to `path`, as the provider sends it; returns the status it got.
fn deliver(addr: &str, path: &str, body: &[u8]) -> u16 {
    let t = common::now_secs();
    let sig = format!("t={t},v1={}", common::guide_signature(SECRET, t, body));
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: hooklens.test\r\nContent-Type: application/json\r\nX-ModelGates-Signature: {sig}\r\nX-ModelGates-Idempotency-Key: job_relay-completed\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(&req).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"))
}

fn body() -> Vec<u8> {
    common::guide_body("2026-11-26T10:00:00.000Z")
}

/// Runs a short `hooklens` command to the end.
fn run(args: &[&str]) -> std::process::Output {
    let mut cli = common::hooklens();
    cli.args(args).output().unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// A log holding one signed delivery to [`HOOK`], captured by a listener without forwarding.
fn one_capture(dir: &Path) -> PathBuf {
    let log = dir.join("captures.jsonl");
    let l = Listening::start(&log, &[]);
    assert_eq!(deliver(&l.addr, HOOK, &body()), 204);
    assert!(l.next_record().contains("#1"));
    log
}

#[test]
fn the_guide_receiver_behind_a_full_url_gets_the_delivery_at_that_path() {
    let r = Receiver::start(guide_check(SECRET, 200, "ok")).expect_paths([HOOK]);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}{HOOK}", r.url());
    let l = Listening::start(&dir.path().join("log.jsonl"), &["--forward-to", &url]);
    // The start line shows the rule with an example.
    assert_eq!(
        l.next_line(),
        format!(
            "forwarding POST {HOOK} → {url} (--forward-path auto: the URL has a path, so every request goes to it; --forward-path prefix appends the captured path instead)"
        )
    );
    assert_eq!(deliver(&l.addr, HOOK, &body()), 200);
    let seen = r.seen();
    assert_eq!(seen[0].path(), HOOK, "not doubled");
    assert!(
        seen[0].guide_verifies(SECRET),
        "the receiver's check passes"
    );
    let line = l.next_record();
    assert!(line.starts_with("valid "), "{line}");
    assert!(line.contains(" → 200  POST "), "{line}");
}

#[test]
fn a_url_without_a_scheme_means_http() {
    let r = Receiver::start(always(202, "queued")).expect_paths(["/hook?attempt=1"]);
    let dir = tempfile::tempdir().unwrap();
    let port = r.url().rsplit(':').next().unwrap().to_owned();
    let typed = format!("127.0.0.1:{port}/hook");
    let l = Listening::start(&dir.path().join("log.jsonl"), &["--forward-to", &typed]);
    assert!(
        l.next_line()
            .contains(&format!("→ http://127.0.0.1:{port}/hook (")),
    );
    assert_eq!(deliver(&l.addr, &format!("{HOOK}?attempt=1"), &body()), 202);
}

#[test]
fn a_receiver_404_is_what_the_line_json_show_list_and_har_say() {
    let r = Receiver::start(always(404, "no such route")).expect(3);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    let wrong = format!("{}/api", r.url());
    let l = Listening::start(&log, &["--forward-to", &wrong, "--forward-path", "prefix"]);
    assert_eq!(deliver(&l.addr, HOOK, &body()), 404);
    assert_eq!(deliver(&l.addr, HOOK, &body()), 404);
    let line = l.next_record();
    assert!(
        line.contains("#1  ") && line.contains(" → 404  POST "),
        "{line}"
    );
    let forward = l.next_record();
    assert!(forward.contains("#1 forward → 404 "), "{forward}");
    // Said once, locally: which URL was called and which flag changes it.
    let hint = l.stderr_line_with("answered 404");
    assert!(
        hint.contains(&format!("POST {}/api{HOOK}", r.url())) && hint.contains("--forward-path"),
        "{hint}"
    );
    let _ = l.next_record();
    let _ = l.next_record();
    assert_eq!(
        l.stderr.lock().unwrap().matches("answered 404").count(),
        1,
        "said once"
    );

    let store = log.to_str().unwrap();
    let show = run(&["show", "1", "--store", store]);
    assert!(
        text(&show.stdout).contains("response  404\n"),
        "{}",
        text(&show.stdout)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&run(&["show", "1", "--json", "--store", store]).stdout).unwrap();
    assert_eq!(json["response_status"], 404);
    let list = text(&run(&["list", "--store", store]).stdout);
    assert!(list.lines().all(|l| l.contains(" → 404  ")), "{list}");
    let list_json = text(&run(&["list", "--json", "--store", store]).stdout);
    let first: serde_json::Value = serde_json::from_str(list_json.lines().next().unwrap()).unwrap();
    assert_eq!(first["response_status"], 404);
    let har_file = dir.path().join("out.har");
    let out = run(&[
        "export",
        "--har",
        har_file.to_str().unwrap(),
        "--store",
        store,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let har: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&har_file).unwrap()).unwrap();
    assert_eq!(har["log"]["entries"][0]["response"]["status"], 404);
    drop(l);

    // --json: the capture object carries the status the provider got.
    let l = Listening::start(&log, &["--forward-to", &wrong, "--json"]);
    assert_eq!(deliver(&l.addr, HOOK, &body()), 404);
    let capture: serde_json::Value = serde_json::from_str(&l.next_line()).unwrap();
    assert_eq!(capture["kind"], "capture");
    assert_eq!(capture["response_status"], 404);
}

#[test]
fn replay_to_a_full_url_goes_to_that_url() {
    let dir = tempfile::tempdir().unwrap();
    let log = one_capture(dir.path());
    let r =
        Receiver::start(always(204, "")).expect_paths([HOOK, HOOK, "/in/modelgates/video-webhook"]);
    let store = log.to_str().unwrap();
    let full = format!("{}{HOOK}", r.url());
    let out = run(&["replay", "1", "--to", &full, "--store", store]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("#1 replay → 204"),
        "{}",
        text(&out.stdout)
    );
    let port = r.url().rsplit(':').next().unwrap().to_owned();
    let out = run(&[
        "replay",
        "1",
        "--to",
        &format!(":{port}{HOOK}"),
        "--store",
        store,
    ]);
    assert!(out.status.success(), "scheme-less: {}", text(&out.stderr));
    let prefixed = format!("{}/in", r.url());
    let out = run(&[
        "replay",
        "1",
        "--to",
        &prefixed,
        "--forward-path",
        "prefix",
        "--store",
        store,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn port_zero_or_past_65535_is_a_usage_error() {
    for (args, port) in [
        (vec!["listen", "--forward-to", "localhost:0"], "0"),
        (
            vec!["listen", "--forward-to", "http://127.0.0.1:65536/hook"],
            "65536",
        ),
        (vec!["replay", "1", "--to", ":70000/hook"], "70000"),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("port {port} is out of range")),
            "{err}"
        );
    }
}

#[test]
fn lines_are_coloured_as_color_and_no_color_say() {
    let dir = tempfile::tempdir().unwrap();
    let log = one_capture(dir.path());
    let store = log.to_str().unwrap();
    let always = text(&run(&["list", "--color", "always", "--store", store]).stdout);
    assert!(always.contains("\x1b[32mvalid"), "{always:?}");
    let never = text(&run(&["list", "--color", "never", "--store", store]).stdout);
    assert!(
        never.starts_with("#1    valid ") && !never.contains('\x1b'),
        "{never:?}"
    );
    // On a terminal (script gives one), `auto` colours unless NO_COLOR is non-empty.
    if !common::require_tool("script") {
        return;
    }
    let on_terminal = |no_color: &str| {
        let cli = common::hooklens();
        let bin = cli.get_program().to_owned();
        let cmd = format!("{} list --store {store}", bin.to_string_lossy());
        let out = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .envs(
                cli.get_envs()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
            )
            .env("NO_COLOR", no_color)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        text(&out.stdout)
    };
    assert!(
        on_terminal("").contains("\x1b[32mvalid"),
        "NO_COLOR= keeps colour"
    );
    assert!(
        !on_terminal("1").contains("\x1b["),
        "NO_COLOR=1 turns it off"
    );
}

#[test]
fn respond_delay_holds_the_relayed_answer_too() {
    let r = Receiver::start(always(200, "ok")).expect(1);
    let dir = tempfile::tempdir().unwrap();
    let l = Listening::start(
        &dir.path().join("log.jsonl"),
        &["--forward-to", &r.url(), "--respond-delay", "60s"],
    );
    let body = body();
    let t = common::now_secs();
    let sig = format!("t={t},v1={}", common::guide_signature(SECRET, t, &body));
    let mut s = std::net::TcpStream::connect(&l.addr).unwrap();
    write!(
        s,
        "POST {HOOK} HTTP/1.1\r\nHost: x\r\nX-ModelGates-Signature: {sig}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body).unwrap();
    // The receiver has answered, but a provider that gives up after 2 s has no answer yet.
    let deadline = Instant::now() + Duration::from_secs(20);
    while r.seen().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the receiver never got the delivery"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut byte = [0u8; 1];
    let e = s
        .read(&mut byte)
        .expect_err("answered before --respond-delay");
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{e}"
    );
}
