//! `listen --tunnel` end to end: a real bore server and client on loopback, and `--tunnel-cmd`
//! with small `sh` scripts (a URL printed late, none, an early exit, a URL that changes, a
//! tunnel that dies). Every run checks that no tunnel process outlives hooklens.
//! cloudflared, ngrok and Tailscale cannot run here: their discovery is unit-tested against
//! their documented output in `src/net/tunnel/discover.rs`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::hooklens;
use rstest::rstest;

const WAIT: Duration = Duration::from_secs(30);

/// A running `hooklens listen`, its stdout and stderr as lines.
struct Running {
    child: Child,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    seen_err: Vec<String>,
    _cli: common::Cli,
}

fn lines_of(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn listen(extra: &[&str], log: &Path) -> Running {
    let mut cli = hooklens();
    cli.args([
        "listen",
        "--no-tui",
        "--port",
        "0",
        "--secret",
        "dev_secret",
    ])
    .arg("--store")
    .arg(log)
    .args(extra);
    Running::spawn(cli)
}

impl Running {
    fn spawn(mut cli: common::Cli) -> Running {
        let mut child = cli
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Running {
            out: lines_of(child.stdout.take().unwrap()),
            err: lines_of(child.stderr.take().unwrap()),
            child,
            seen_err: Vec::new(),
            _cli: cli,
        }
    }

    /// The next stdout line that satisfies `want` (bounded).
    fn stdout_until(&self, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(line) if want(&line) => return line,
                Ok(_) => {}
                Err(e) => panic!("no such stdout line ({e})"),
            }
        }
    }

    /// The next stderr line that satisfies `want` (bounded).
    fn stderr_until(&mut self, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.err.recv_timeout(left) {
                Ok(line) => {
                    self.seen_err.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(e) => panic!("no such stderr line ({e}); saw {:?}", self.seen_err),
            }
        }
    }

    /// The listener's own port, from the readiness line.
    fn local_port(&mut self, json: bool) -> u16 {
        let line = if json {
            self.stderr_until(|l| l.starts_with("Listening on "))
        } else {
            self.stdout_until(|l| l.starts_with("Listening on "))
        };
        line.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// Waits (bounded) for hooklens to exit.
    fn exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("hooklens did not exit");
    }

    fn stderr_rest(&mut self) -> String {
        while let Ok(line) = self.err.recv_timeout(Duration::from_secs(5)) {
            self.seen_err.push(line);
        }
        self.seen_err.join("\n")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A failed assertion must not leave a listener (and its tunnel) running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Processes whose arguments contain `parts` in a row (`["bore", "local", PORT]` is the bore
/// client itself: its watchdog's arguments have `hooklens-tunnel` before them).
fn processes_with(parts: &[&str]) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let at = args
            .windows(parts.len())
            .position(|w| w.iter().zip(parts).all(|(a, p)| a == p));
        let own = parts[0] == "hooklens-tunnel" || at == Some(0);
        if at.is_some() && own {
            found.push((pid, args.join(" ")));
        }
    }
    found
}

/// Waits (bounded: the watchdog's SIGKILL comes 2 s after its SIGTERM) until no process
/// matches; panics with the ones left.
fn assert_none_left(parts: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_with(parts);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pid_alive(pid: u32) -> bool {
    // A zombie has been killed; it only waits for its parent to reap it.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| !r.trim_start().starts_with('Z'))
    })
}

fn assert_pids_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|p| pid_alive(*p)) {
        assert!(Instant::now() < deadline, "still running: {pids:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// bore's control port is fixed (7835), so tests that run a bore server take turns.
static BORE: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct BoreServer(Child);

impl BoreServer {
    fn start() -> BoreServer {
        let child = Command::new("bore")
            .args(["server", "--bind-addr", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect("127.0.0.1:7835").is_err() {
            assert!(Instant::now() < deadline, "bore server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        BoreServer(child)
    }
}

impl Drop for BoreServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signed_delivery() -> (String, Vec<u8>) {
    let body = common::guide_body("2026-11-26T10:00:00.000Z");
    let t = common::now_secs();
    let sig = format!(
        "t={t},v1={}",
        common::guide_signature("dev_secret", t, &body)
    );
    (sig, body)
}

#[rstest]
#[case::sigterm("TERM")]
#[case::ctrl_c("INT")]
#[case::sigkill("KILL")]
fn bore_tunnel_delivers_a_verified_capture_and_leaves_no_bore_behind(#[case] signal: &str) {
    if !common::require_tool("bore") {
        return;
    }
    let _turn = BORE.lock().unwrap_or_else(|p| p.into_inner());
    let _server = BoreServer::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let mut l = listen(&["--json", "--tunnel", "bore=127.0.0.1"], &log);
    let port = l.local_port(true).to_string();

    let tunnel: serde_json::Value =
        serde_json::from_str(&l.stdout_until(|s| s.contains(r#""kind":"tunnel""#))).unwrap();
    let url = tunnel["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_ne!(
        url,
        format!("http://127.0.0.1:{port}"),
        "the public port is bore's"
    );
    let callback = l.stderr_until(|s| s.starts_with("callback_url: "));
    assert_eq!(
        callback,
        format!("callback_url: {url}/modelgates/video-webhook")
    );
    let warning = l.stderr_until(|s| s.contains("is public"));
    assert!(warning.contains("--max-log"), "{warning}");
    // The bore client runs, pointed at our port.
    assert_eq!(processes_with(&["bore", "local", &port]).len(), 1);

    let (sig, body) = signed_delivery();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(common::post_signed(
        &format!("{url}/modelgates/video-webhook"),
        &sig,
        body,
    ));
    assert_eq!(status, 204, "through the tunnel, verified");
    let capture: serde_json::Value =
        serde_json::from_str(&l.stdout_until(|s| s.contains(r#""kind":"capture""#))).unwrap();
    assert_eq!(capture["verdict"], "valid");
    assert_eq!(capture["event_type"], "video.generation.completed");

    let text = std::fs::read_to_string(&log).unwrap();
    let session = text
        .lines()
        .find(|l| l.contains(r#""kind":"session""#))
        .expect("a session line");
    assert!(
        session.contains(&format!(r#""public_url":"{url}""#)),
        "{session}"
    );
    let stored = text
        .lines()
        .find(|l| l.contains(r#""kind":"capture""#))
        .expect("the capture is in the log");
    assert!(stored.contains(r#""outcome":"valid""#), "{stored}");
    // `show` says which public address the capture was sent to (bore passes Host through).
    let mut show = hooklens();
    let shown = show
        .args(["show", "1", "--store"])
        .arg(&log)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains(&format!("to        {url}/modelgates/video-webhook")),
        "{shown}"
    );

    l.signal(signal);
    let status = l.exit();
    if signal == "KILL" {
        assert!(!status.success());
    } else {
        assert!(
            status.success(),
            "{signal} is a clean exit: {}",
            l.stderr_rest()
        );
    }
    assert_none_left(&["bore", "local", &port]);
    assert_none_left(&["hooklens-tunnel", "bore", "local", &port]);
}

/// A `--tunnel-cmd` script that writes its own pid and its background child's to `pids`.
fn script(pids: &Path, body: &str) -> String {
    format!(
        "echo $$ > {p}; sleep 600 & echo $! >> {p}; {body}",
        p = pids.display()
    )
}

fn pids_in(path: &Path) -> Vec<u32> {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let pids: Vec<u32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if pids.len() == 2 {
            return pids;
        }
        assert!(Instant::now() < deadline, "the script wrote no pids");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn tunnel_cmd_url_printed_late_is_shown_and_the_command_is_stopped_at_exit() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let cmd = script(
        &pids,
        "echo 'connecting to 127.0.0.1:{port}'; sleep 1; echo 'ready: https://late-tunnel.example.test/ (forwarding to http://localhost:{port})' >&2; wait",
    );
    let mut l = listen(&["--tunnel-cmd", &cmd], &dir.path().join("c.jsonl"));
    l.local_port(false);
    assert_eq!(
        l.stdout_until(|s| s.starts_with("Public URL")),
        "Public URL https://late-tunnel.example.test"
    );
    assert_eq!(
        l.stdout_until(|s| s.starts_with("callback_url:")),
        "callback_url: https://late-tunnel.example.test/modelgates/video-webhook"
    );
    let pids = pids_in(&pids);
    assert!(pids.iter().all(|p| pid_alive(*p)));
    l.signal("TERM");
    assert!(l.exit().success());
    assert_pids_gone(&pids);
}

#[test]
fn tunnel_cmd_that_prints_no_url_times_out_with_one_line_and_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let cmd = script(&pids, "echo 'still connecting'; wait");
    let mut l = listen(
        &["--tunnel-cmd", &cmd, "--tunnel-timeout", "2s"],
        &dir.path().join("c.jsonl"),
    );
    let pids = pids_in(&pids);
    let status = l.exit();
    assert_eq!(status.code(), Some(2));
    let err = l.stderr_rest();
    assert!(
        err.contains("gave no public URL within 2s (raise --tunnel-timeout): still connecting"),
        "{err}"
    );
    assert_pids_gone(&pids);
}

#[test]
fn tunnel_cmd_that_exits_early_says_so_with_what_it_printed() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = listen(
        &["--tunnel-cmd", "echo 'cannot reach the relay' >&2; exit 3"],
        &dir.path().join("c.jsonl"),
    );
    assert_eq!(l.exit().code(), Some(2));
    let err = l.stderr_rest();
    assert!(
        err.contains(
            "--tunnel-cmd exited (status 3) before it gave a public URL: cannot reach the relay"
        ),
        "{err}"
    );
}

#[test]
fn a_tunnel_that_changes_url_then_dies_is_announced_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let cmd = "echo https://first.example.test; sleep 1; echo https://second.example.test; sleep 1; echo 'relay closed' >&2; exit 1";
    let mut l = listen(
        &["--json", "--tunnel-cmd", cmd],
        &dir.path().join("c.jsonl"),
    );
    assert_eq!(
        l.stdout_until(|s| s.contains(r#""kind":"tunnel""#)),
        r#"{"kind":"tunnel","url":"https://first.example.test"}"#
    );
    let changed = l.stdout_until(|s| s.contains(r#""kind":"tunnel""#));
    assert_eq!(
        changed,
        r#"{"kind":"tunnel","url":"https://second.example.test","previous":"https://first.example.test"}"#
    );
    let line = l.stderr_until(|s| s.contains("TUNNEL URL CHANGED"));
    assert!(
        line.contains("https://second.example.test/modelgates/video-webhook"),
        "{line}"
    );
    let down: serde_json::Value =
        serde_json::from_str(&l.stdout_until(|s| s.contains(r#""kind":"tunnel""#))).unwrap();
    assert!(down["url"].is_null());
    assert!(
        down["down"].as_str().unwrap().contains("relay closed"),
        "{down}"
    );
    let line = l.stderr_until(|s| s.contains("TUNNEL DOWN"));
    assert!(line.contains("callback_url is stale"), "{line}");
    // The listener itself stays up.
    assert!(l.child.try_wait().unwrap().is_none());
    l.signal("TERM");
    assert!(l.exit().success());
}

#[rstest]
#[case::cloudflared(
    "cloudflared",
    "cloudflared not found on PATH: install it from https://developers.cloudflare.com/"
)]
#[case::tailscale(
    "tailscale",
    "tailscale not found on PATH: install it from https://tailscale.com/download"
)]
#[case::bore(
    "bore",
    "bore not found on PATH: install it with `cargo install bore-cli`"
)]
fn a_missing_tool_is_one_line_with_what_to_install_and_exit_2(
    #[case] tool: &str,
    #[case] says: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut cli = hooklens();
    let out = cli
        .args([
            "listen",
            "--no-tui",
            "--port",
            "0",
            "--no-store",
            "--tunnel",
            tool,
        ])
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("hooklens: error: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains(says), "{line}");
}

#[test]
fn tunnels_that_terminate_tls_refuse_tls_on_the_same_port() {
    let mut cli = hooklens();
    let out = cli
        .args([
            "listen",
            "--no-tui",
            "--port",
            "0",
            "--no-store",
            "--tls",
            "--tunnel",
            "cloudflared",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("terminates TLS itself"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A stand-in for a tool that cannot run here, on PATH: it records its pid and arguments in
/// `dir/args`, prints `output` (the tool's documented output) and waits like the real one.
fn stand_in(dir: &Path, tool: &str, output: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join(tool);
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho $$ > '{args}'\necho \"$@\" >> '{args}'\ncat >&2 <<'OUT'\n{output}\nOUT\nexec sleep 600\n",
            args = dir.join("args").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// The stand-in's pid and arguments, once it has written them.
fn stand_in_args(dir: &Path) -> (u32, String) {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
        if let Some((pid, args)) = text.split_once('\n')
            && !args.is_empty()
        {
            return (pid.trim().parse().unwrap(), args.trim().to_owned());
        }
        assert!(Instant::now() < deadline, "the stand-in did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn listen_with_path(bin: &Path, extra: &[&str]) -> Running {
    let mut cli = hooklens();
    cli.env(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    cli.args(["listen", "--no-tui", "--port", "0", "--no-store"])
        .args(extra);
    Running::spawn(cli)
}

#[test]
fn cloudflared_is_started_at_our_port_and_its_banner_gives_the_url() {
    // cloudflared's documented quick-tunnel banner, printed by a stand-in on PATH.
    let dir = tempfile::tempdir().unwrap();
    let bin = stand_in(
        dir.path(),
        "cloudflared",
        "2024-05-01T10:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...\n\
         2024-05-01T10:00:01Z INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |\n\
         2024-05-01T10:00:01Z INF |  https://seasonal-deck-organisms-sf.trycloudflare.com                                     |",
    );
    let mut l = listen_with_path(&bin, &["--tunnel", "cloudflared"]);
    let port = l.local_port(false);
    assert_eq!(
        l.stdout_until(|s| s.starts_with("callback_url:")),
        "callback_url: https://seasonal-deck-organisms-sf.trycloudflare.com/modelgates/video-webhook"
    );
    let (pid, args) = stand_in_args(dir.path());
    assert!(
        args.contains(&format!("--url http://127.0.0.1:{port}"))
            && args.contains("--metrics 127.0.0.1:"),
        "{args}"
    );
    l.signal("INT");
    assert!(l.exit().success());
    assert_pids_gone(&[pid]);
}

#[test]
fn ngrok_without_an_authtoken_says_how_to_add_one() {
    // ngrok's documented error when no authtoken is configured, printed by a stand-in.
    let dir = tempfile::tempdir().unwrap();
    let bin = stand_in(
        dir.path(),
        "ngrok",
        "ERROR:  authentication failed: Usage of ngrok requires a verified account and authtoken.\nERROR:  ERR_NGROK_4018",
    );
    let mut l = listen_with_path(&bin, &["--tunnel", "ngrok"]);
    let (pid, _) = stand_in_args(dir.path());
    assert_eq!(l.exit().code(), Some(2));
    let err = l.stderr_rest();
    assert!(
        err.contains(
            "hooklens: error: ngrok needs an authtoken: run `ngrok config add-authtoken TOKEN`"
        ),
        "{err}"
    );
    assert_pids_gone(&[pid]);
}

/// A Tailscale stand-in: `status --json` answers `status` (its documented JSON shape), `funnel
/// PORT` prints `funnel` (its documented output) and waits.
fn tailscale_stand_in(dir: &Path, status: &str, funnel: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join("tailscale");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nif [ \"$1\" = status ]; then cat <<'OUT'\n{status}\nOUT\nexit 0; fi\necho $$ > '{args}'\necho \"$@\" >> '{args}'\ncat <<'OUT'\n{funnel}\nOUT\nexec sleep 600\n",
            args = dir.join("args").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn tailscale_funnel_on_our_port_gives_the_ts_net_url() {
    let dir = tempfile::tempdir().unwrap();
    let bin = tailscale_stand_in(
        dir.path(),
        r#"{"BackendState":"Running","Self":{"DNSName":"box.tail1234.ts.net."}}"#,
        "Available on the internet:\n\nhttps://box.tail1234.ts.net/\n|-- / proxy http://127.0.0.1:8787\n\nPress Ctrl+C to exit.",
    );
    let mut l = listen_with_path(&bin, &["--tunnel", "tailscale"]);
    let port = l.local_port(false);
    assert_eq!(
        l.stdout_until(|s| s.starts_with("Public URL")),
        "Public URL https://box.tail1234.ts.net"
    );
    let (pid, args) = stand_in_args(dir.path());
    assert_eq!(args, format!("funnel {port}"));
    l.signal("TERM");
    assert!(l.exit().success());
    assert_pids_gone(&[pid]);
}

#[test]
fn tailscale_logged_out_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bin = tailscale_stand_in(
        dir.path(),
        r#"{"BackendState":"NeedsLogin","Self":{"DNSName":""}}"#,
        "",
    );
    let mut l = listen_with_path(&bin, &["--tunnel", "tailscale"]);
    assert_eq!(l.exit().code(), Some(2));
    let err = l.stderr_rest();
    assert!(
        err.contains("hooklens: error: tailscale is not logged in or not running (BackendState NeedsLogin): run `tailscale up` first"),
        "{err}"
    );
    assert!(!dir.path().join("args").exists(), "funnel was not started");
}
