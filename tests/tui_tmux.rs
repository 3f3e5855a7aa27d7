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

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

#[test]
fn verdicts_appear_live_and_q_restores_the_terminal() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed (.ci/run installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let bin = env!("CARGO_BIN_EXE_hooklens");
    let tmux = Tmux {
        socket: format!("hooklens-test-{}", std::process::id()),
    };
    // `; echo EXITED` shows when the inspector has returned the terminal to the shell.
    let cmd = format!(
        "env -u MODELGATES_WEBHOOK_SECRET -u HOOKLENS_SECRET NO_COLOR=1 {bin} --port 0 --secret dev_secret --store {}; echo EXITED $?; sleep 30",
        log.display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "hl",
        "-x",
        "120",
        "-y",
        "40",
        &cmd,
    ]);
    let screen = tmux.wait_for("the header bar", |s| s.contains("Waiting for webhooks"));
    let port: u16 = screen
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port on screen:\n{screen}"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("http://127.0.0.1:{port}/modelgates/video-webhook");
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
