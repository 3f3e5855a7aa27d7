//! The inspector as a person sees it: the real binary under tmux, real signed deliveries,
//! the screen read back with `capture-pane`. Skips (saying so) only where tmux is absent, and
//! fails instead under `CI=true`.

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
        Tmux::start_sized(name, cmd, (120, 40))
    }

    /// [`Tmux::start`] in a session of `width`×`height`.
    fn start_sized(name: &str, cmd: &str, (width, height): (u16, u16)) -> (Tmux, String) {
        let (width, height) = (width.to_string(), height.to_string());
        let tmux = Tmux {
            socket: format!("hooklens-test-{name}-{}", std::process::id()),
        };
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "hl",
            "-x",
            &width,
            "-y",
            &height,
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

/// The port the header bar shows.
fn port_on(screen: &str) -> u16 {
    screen
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port on screen:\n{screen}"))
}

#[test]
fn e_edits_the_body_in_the_editor_and_replays_it_re_signed() {
    if !common::require_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let bin = env!("CARGO_BIN_EXE_hooklens");
    let home = tempfile::tempdir().unwrap();
    // The forward, then the edited replay.
    let receiver = common::Receiver::start(common::guide_check("dev_secret", 204, "")).expect(2);
    // The "editor" rewrites the job id in place, as a person would.
    let cmd = format!(
        "{} VISUAL= EDITOR='sed -i s/job_test/job_edited/' {bin} --port 0 --secret dev_secret --forward-to {} --store {}; echo EXITED $?; sleep 30",
        common::shell_env(home.path()),
        receiver.url(),
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
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 2, "the forward, then the edited replay");
    let edited = String::from_utf8(bodies[1].to_vec()).unwrap();
    assert!(edited.contains("\"id\":\"job_edited\""), "{edited}");

    tmux.run(&["send-keys", "-t", "hl", "q"]);
    tmux.wait_for("the inspector to exit", |s| s.contains("EXITED 0"));
    let shown = common::hooklens()
        .args(["show", "1", "--store"])
        .arg(&log)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.contains("forwards and replays (2)"), "{shown}");
}

#[test]
fn verdicts_appear_live_and_q_restores_the_terminal() {
    if !common::require_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let bin = env!("CARGO_BIN_EXE_hooklens");
    let home = tempfile::tempdir().unwrap();
    // `; echo EXITED` shows when the inspector has returned the terminal to the shell.
    let cmd = format!(
        "{} {bin} --port 0 --secret dev_secret --store {}; echo EXITED $?; sleep 30",
        common::shell_env(home.path()),
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

#[test]
fn at_80_columns_the_footer_keeps_help_and_quit_and_y_says_when_the_clipboard_is_out_of_reach() {
    if !common::require_tool("tmux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let bin = env!("CARGO_BIN_EXE_hooklens");
    let home = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{} {bin} --port 0 --secret dev_secret --store {}; echo EXITED $?; sleep 30",
        common::shell_env(home.path()),
        log.display()
    );
    let (tmux, url) = Tmux::start_sized("clip", &cmd, (80, 24));
    let footer = |s: &str| {
        s.lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string()
    };
    let screen = tmux.screen();
    assert!(
        footer(&screen).contains("? help") && footer(&screen).contains("q quit"),
        "{screen}"
    );
    assert!(
        !screen.contains("dev_secret") && !screen.contains("dev…"),
        "{screen}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = common::guide_body("2026-11-26T10:00:00.000Z");
    let t = common::now_secs();
    let sig = format!(
        "t={t},v1={}",
        common::guide_signature("dev_secret", t, &body)
    );
    assert_eq!(rt.block_on(common::post_signed(&url, &sig, body)), 204);
    tmux.wait_for("the capture", |s| s.contains("✓ valid"));
    let screen = tmux.screen();
    assert!(
        screen.contains("job        job_test"),
        "the job id in the Overview: {screen}"
    );

    // tmux's default set-clipboard (external) drops a program's OSC 52: y says so, and shows
    // the whole command anyway.
    tmux.run(&["set-option", "-s", "set-clipboard", "external"]);
    tmux.run(&["send-keys", "-t", "hl", "y"]);
    let screen = tmux.wait_for("the whole curl overlay", |s| {
        s.contains("curl for #1") && s.contains("video.mp4")
    });
    assert!(footer(&screen).contains("? help"), "{screen}");
    // The overlay's lines, as one text (it wraps).
    let joined = screen
        .lines()
        .filter_map(|l| Some(l.split_once('│')?.1.rsplit_once('│')?.0.trim_end()))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        joined.contains("the clipboard cannot be reached: tmux has set-clipboard external")
            && joined.contains("tmux set -s set-clipboard on"),
        "{joined}"
    );
    assert!(
        joined.contains("curl -sS -g --path-as-is -X 'POST'") && joined.contains("video.mp4\"]}}'"),
        "the whole command: {joined}"
    );

    tmux.run(&["send-keys", "-t", "hl", "Escape"]);
    // The next key only once the overlay is closed: Esc with a key right behind it reads as
    // Alt and that key.
    tmux.wait_for("the overlay to close", |s| !s.contains("curl for #1"));
    tmux.run(&["set-option", "-s", "set-clipboard", "on"]);
    tmux.run(&["send-keys", "-t", "hl", "y"]);
    tmux.wait_for("the copy", |s| s.contains("copied #1 as curl (OSC 52)"));
    // With set-clipboard on, tmux took the copy into its paste buffer.
    let buffer = tmux.run(&["show-buffer"]);
    assert!(buffer.starts_with("curl "), "{buffer}");

    tmux.run(&["send-keys", "-t", "hl", "Escape"]);
    tmux.wait_for("the overlay to close", |s| !s.contains("curl for #1"));
    tmux.run(&["send-keys", "-t", "hl", "q"]);
    tmux.wait_for("the inspector to exit", |s| s.contains("EXITED 0"));
}
