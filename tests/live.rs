//! Live across processes: what `hooklens replay` (another process) records in the log a
//! listener owns reaches that listener's front ends while it runs.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Receiver, always, hooklens};

const SECRET: &str = "dev_secret";

#[test]
fn a_replay_recorded_by_another_process_reaches_the_running_listeners_output() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("c.jsonl");
    let receiver = Receiver::start(always(204, "")).expect(1);
    let mut cli = hooklens();
    let mut child = cli
        .args([
            "listen", "--no-tui", "--json", "--port", "0", "--secret", SECRET, "--store",
        ])
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = |pipe: Box<dyn std::io::Read + Send>| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        rx
    };
    let stdout = lines(Box::new(child.stdout.take().unwrap()));
    let stderr = lines(Box::new(child.stderr.take().unwrap()));
    // With --json, stdout is JSON Lines only; the readiness line is on stderr.
    let ready = stderr
        .recv_timeout(Duration::from_secs(20))
        .expect("readiness");
    let next = || {
        stdout
            .recv_timeout(Duration::from_secs(20))
            .expect("a line")
    };
    let url = ready
        .strip_prefix("Listening on ")
        .unwrap_or_else(|| panic!("readiness line: {ready}"))
        .to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = common::guide_body("2026-11-26T10:00:00.000Z");
    let t = common::now_secs();
    let sig = format!("t={t},v1={}", common::guide_signature(SECRET, t, &body));
    let target = format!("{url}/modelgates/video-webhook");
    assert_eq!(rt.block_on(common::post_signed(&target, &sig, body)), 204);
    let captured: serde_json::Value = serde_json::from_str(&next()).unwrap();
    assert_eq!(captured["id"], 1, "{captured}");

    // A second process replays the capture and records it in the listener's log.
    let replay = hooklens()
        .args(["replay", "1", "--to", &receiver.url(), "--store"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(replay.status.success(), "{replay:?}");
    // The listener, idle meanwhile, announces the replay it did not make.
    let replayed: serde_json::Value = loop {
        let line: serde_json::Value = serde_json::from_str(&next()).unwrap();
        if line["kind"] == "replay" {
            break line;
        }
    };
    assert_eq!(replayed["capture"], 1, "{replayed}");
    assert_eq!(replayed["response"]["status"], 204, "{replayed}");

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success(), "SIGTERM is a clean exit");
    // Offline, the log still holds one capture with its one replay, once.
    let shown = hooklens()
        .args(["show", "1", "--json", "--store"])
        .arg(&log)
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["exchanges"].as_array().map(Vec::len), Some(1));
}
