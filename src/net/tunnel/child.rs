//! The tunnel tool as a child process that cannot outlive hooklens, and its output as lines.
//!
//! The tool runs in a process group of its own (a Ctrl-C in the terminal reaches hooklens
//! only, which then stops the tunnel in order) under a small `sh` watchdog ([`WATCHDOG`])
//! that holds the read end of a pipe only hooklens writes to. When hooklens exits by any path
//! (a return, an error, a panic, SIGKILL), the pipe closes and the watchdog sends SIGTERM to
//! the whole group, then SIGKILL two seconds later. [`stop_child`] closes the pipe itself and
//! waits; the child is also `kill_on_drop`. A leaf: it imports only [`super::discover`]'s
//! pure helpers and `sanitize`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use super::discover::strip_ansi;

/// How long [`stop_child`] waits for the tool to exit after asking it to.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// Lines of the tool's output kept for the message when it fails.
const TAIL_LINES: usize = 6;

/// Runs `"$@"` so that closing stdin (hooklens exiting, by any path) ends the whole group; when
/// the tool exits on its own, it takes down what the tool left in the group and passes on the
/// tool's status.
const WATCHDOG: &str = r#"exec 3<&0 </dev/null
( trap '' TERM INT; read _ <&3; kill -TERM 0 2>/dev/null; sleep 2; kill -KILL 0 2>/dev/null ) &
watchdog=$!
exec 3<&-
"$@"
status=$?
kill -KILL "$watchdog" 2>/dev/null
trap '' TERM
kill -TERM 0 2>/dev/null
exit "$status""#;

/// The last lines the tool printed, escaped for the terminal.
#[derive(Default)]
pub(super) struct Tail(Vec<String>);

impl Tail {
    pub(super) fn note(&mut self, line: &str) {
        if self.0.len() == TAIL_LINES {
            self.0.remove(0);
        }
        self.0
            .push(crate::sanitize::escape_line(strip_ansi(line).as_bytes()));
    }

    pub(super) fn lines(&self) -> &[String] {
        &self.0
    }

    /// `: line | line` for a message, or nothing when the tool printed nothing.
    pub(super) fn text(&self) -> String {
        match self.0.is_empty() {
            true => String::new(),
            false => format!(": {}", self.0.join(" | ")),
        }
    }
}

/// The tool as a child process, with its output as lines.
pub(super) struct Proc {
    pub(super) child: Child,
    pub(super) stdin: Option<ChildStdin>,
    pub(super) lines: mpsc::Receiver<String>,
    pub(super) lines_open: bool,
    pub(super) tail: Tail,
}

/// Starts `argv` under the watchdog, in its own process group, its output read as lines.
pub(super) fn spawn(argv: &[String]) -> Result<Proc> {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(WATCHDOG)
        .arg("hooklens-tunnel")
        .args(argv)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", argv[0]))?;
    let (tx, lines) = mpsc::channel(256);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(read_lines(out, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(read_lines(err, tx));
    }
    Ok(Proc {
        stdin: child.stdin.take(),
        child,
        lines,
        lines_open: true,
        tail: Tail::default(),
    })
}

/// Asks the group to stop (the watchdog sees its pipe close), then kills the child if it is
/// still there after [`STOP_GRACE`].
pub(super) async fn stop_child(mut child: Child, stdin: Option<ChildStdin>) {
    drop(stdin);
    if tokio::time::timeout(STOP_GRACE, child.wait())
        .await
        .is_err()
    {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

/// Forwards the tool's output line by line. The pipe is always drained, so the tool never
/// blocks on it; a line longer than 8 KiB is cut, and lines nobody reads are dropped.
async fn read_lines(pipe: impl tokio::io::AsyncRead + Unpin, tx: mpsc::Sender<String>) {
    let mut reader = BufReader::new(pipe);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                buf.truncate(8192);
                let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                let _ = tx.try_send(line);
            }
        }
    }
}

/// After the tool exited: takes what it printed last, up to the pipes' end (bounded, in case
/// something it started still holds them).
pub(super) async fn drain(lines: &mut mpsc::Receiver<String>, tail: &mut Tail) {
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(line) = lines.recv().await {
            tail.note(&line);
        }
    })
    .await;
}

/// How the tool ended, in words.
pub(super) fn exit_text(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(127), _) => "status 127: command not found".into(),
        (Some(c), _) => format!("status {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

/// The first executable `name` on `$PATH` (or `name` itself when it has a slash).
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let p = PathBuf::from(name);
        return executable(&p).then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| executable(p))
}
