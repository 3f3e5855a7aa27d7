//! The inspector as a person sees it: the real binary under tmux, real signed deliveries,
//! the screen read back with `capture-pane`. Skips (saying so) only where tmux is absent.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("running tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "hl"])
    }

    /// Polls the screen until `pred` holds (bounded; the bound is a failure, not a timing).
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Tmux {
    /// Starts `cmd` in a 120×40 session and waits for the inspector's header bar; returns the
    /// session and the URL of the listener's webhook path.
    fn start(name: &str, cmd: &str) -> (Tmux, String) {
        let tmux = Tmux {
            socket: format!("hooklens-test-{name}-{}", std::process::id()),
        };
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "hl",
            "-x",
            "120",
            "-y",
            "40",
            cmd,
        ]);
        let screen = tmux.wait_for("the header bar", |s| s.contains("Waiting for webhooks"));
        let url = format!(
            "http://127.0.0.1:{}/modelgates/video-webhook",
            port_on(&screen)
        );
        (tmux, url)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn tmux_missing() -> bool {
    let missing = Command::new("tmux").arg("-V").output().is_err();
    if missing {
        eprintln!("SKIPPED: tmux is not installed (.ci/run installs it)");
    }
    missing
}

/// The port the header bar shows.
fn port_on(screen: &str) -> u16 {
    screen
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port on screen:\n{screen}"))
}

/// A receiver that answers 204 when the guide's check passes (secret `dev_secret`), else 401,
/// and keeps every body it got.
fn checking_receiver() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let field = |name: &str| {
                        head.lines()
                            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
                    };
                    let len: usize = field("content-length:").map_or(0, |v| v.parse().unwrap());
                    while buf.len() < end + 4 + len {
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body = buf[end + 4..end + 4 + len].to_vec();
                    buf.drain(..end + 4 + len);
                    let ok = field("x-modelgates-signature:").is_some_and(|sig| {
                        let t: i64 = sig
                            .split(',')
                            .find_map(|p| p.trim().strip_prefix("t="))
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(0);
                        sig.contains(&format!(
                            "v1={}",
                            common::guide_signature("dev_secret", t, &body)
                        ))
                    });
                    seen.lock().unwrap().push(body);
                    let status = if ok {
                        "204 No Content"
                    } else {
                        "401 Unauthorized"
                    };
                    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                    if s.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, bodies)
}

#[test]
fn e_edits_the_body_in_the_editor_and_replays_it_re_signed() {
    if tmux_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let bin = env!("CARGO_BIN_EXE_hooklens");
    let (receiver_port, bodies) = checking_receiver();
    // The "editor" rewrites the job id in place, as a person would.
    let cmd = format!(
        "env -u MODELGATES_WEBHOOK_SECRET -u HOOKLENS_SECRET -u VISUAL NO_COLOR=1 EDITOR='sed -i s/job_test/job_edited/' {bin} --port 0 --secret dev_secret --forward-to http://127.0.0.1:{receiver_port} --store {}; echo EXITED $?; sleep 30",
        log.display()
    );
    let (tmux, url) = Tmux::start("e", &cmd);
    let body = common::guide_body("2026-11-26T10:00:00.000Z");
    let t = common::now_secs();
    let sig = format!(
        "t={t},v1={}",
        common::guide_signature("dev_secret", t, &body)
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(rt.block_on(common::post_signed(&url, &sig, body)), 204);
    tmux.wait_for("the forwarded capture", |s| s.contains("✓ valid"));

    tmux.run(&["send-keys", "-t", "hl", "e"]);
    tmux.run(&["send-keys", "-t", "hl", "5"]);
    let screen = tmux.wait_for("the edited replay in the Forward tab", |s| {
        s.contains("(re-signed, body edited)")
    });
    assert!(screen.contains("answer    204 No Content"), "{screen}");
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "the forward, then the edited replay");
    let edited = String::from_utf8(bodies[1].clone()).unwrap();
    assert!(edited.contains("\"id\":\"job_edited\""), "{edited}");

    tmux.run(&["send-keys", "-t", "hl", "q"]);
    tmux.wait_for("the inspector to exit", |s| s.contains("EXITED 0"));
    let shown = Command::new(bin)
        .args(["show", "1", "--store"])
        .arg(&log)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("forwards and replays (2)"), "{shown}");
}

#[test]
fn verdicts_appear_live_and_q_restores_the_terminal() {
    if tmux_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let bin = env!("CARGO_BIN_EXE_hooklens");
    // `; echo EXITED` shows when the inspector has returned the terminal to the shell.
    let cmd = format!(
        "env -u MODELGATES_WEBHOOK_SECRET -u HOOKLENS_SECRET NO_COLOR=1 {bin} --port 0 --secret dev_secret --store {}; echo EXITED $?; sleep 30",
        log.display()
    );
    let (tmux, url) = Tmux::start("live", &cmd);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = common::guide_body("2026-11-26T10:00:00.000Z");
    let t = common::now_secs();
    let good = format!(
        "t={t},v1={}",
        common::guide_signature("dev_secret", t, &body)
    );
    let bad = format!("t={t},v1={}", common::guide_signature("wrong", t, &body));
    assert_eq!(
        rt.block_on(common::post_signed(&url, &good, body.clone())),
        204
    );
    assert_eq!(rt.block_on(common::post_signed(&url, &bad, body)), 401);

    let screen = tmux.wait_for("both verdicts", |s| {
        s.contains("✓ valid") && s.contains("✗ invalid")
    });
    assert!(screen.contains("2 captures"), "{screen}");
    // The invalid one is selected (follow) and its reason is in the detail pane.
    assert!(screen.contains("no signature matches"), "{screen}");

    tmux.run(&[
        "send-keys",
        "-t",
        "hl",
        "/",
        "v",
        "a",
        "l",
        "i",
        "d",
        "Enter",
    ]);
    tmux.wait_for("the filter", |s| s.contains("Requests (1) filter: valid"));

    tmux.run(&["send-keys", "-t", "hl", "q"]);
    let screen = tmux.wait_for("the inspector to exit", |s| s.contains("EXITED 0"));
    assert!(
        !screen.contains("Requests ("),
        "alternate screen left behind:\n{screen}"
    );
}
