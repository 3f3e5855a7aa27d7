//! The CLI contract a user meets first, on the real binary: the default capture log found from
//! any folder, usage errors with clap's full message, one exit-code rule, no panic on odd
//! input or output (a closed pipe, a full disk), secrets from the same places everywhere,
//! completions, `--version` and the examples in `--help`, `send --count` jobs.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::hooklens;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The test preset, but with the HOME (and so the default log) of `home`.
fn hooklens_at(home: &Path) -> common::Cli {
    let mut cli = hooklens();
    cli.env("HOME", home)
        .env("XDG_STATE_HOME", home.join(".local/state"));
    cli
}

/// Starts `hooklens listen` with the default log under `home`; returns it and its URL.
fn listen(home: &Path, args: &[&str]) -> (std::process::Child, String, common::Cli) {
    let mut cli = hooklens_at(home);
    let mut child = cli
        .args(["listen", "--no-tui", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let url = ready
        .strip_prefix("Listening on ")
        .unwrap_or_else(|| panic!("readiness line: {ready}"))
        .to_owned();
    // Keep reading so the listener never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url, cli)
}

fn stop(mut child: std::process::Child) -> String {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(child.wait().unwrap().success(), "{err}");
    err
}

fn signed_post(url: &str, secret: &str) {
    let body = common::guide_body("2026-11-26T10:00:00.000Z");
    let t = common::now_secs();
    let sig = format!("t={t},v1={}", common::guide_signature(secret, t, &body));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(common::post_signed(
        &format!("{url}/modelgates/video-webhook"),
        &sig,
        body,
    ));
    assert_eq!(status, 204);
}

#[test]
fn every_offline_command_finds_the_default_log_from_any_folder() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let (child, url, _cli) = listen(home.path(), &["--secret", "dev_secret"]);
    signed_post(&url, "dev_secret");
    let err = stop(child);
    let log = common::default_log(home.path());
    assert!(
        err.contains(&format!("capture log {}", log.display())),
        "the log's place is printed at start: {err}"
    );
    assert!(log.exists());
    assert!(
        log.with_file_name("captures.jsonl.lock").exists(),
        "the lock file sits beside the log"
    );
    assert!(
        !Path::new("hooklens-captures.jsonl").exists(),
        "nothing lands in the current folder"
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| -> Output {
        hooklens_at(home.path())
            .args(args)
            .current_dir(elsewhere.path())
            .output()
            .unwrap()
    };
    let listed = run(&["list"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(
        text(&listed.stdout).contains("#1"),
        "{}",
        text(&listed.stdout)
    );
    for args in [
        &["show", "1"][..],
        &["export", "--curl", "1"],
        &["verify", "--capture", "1", "--secret", "dev_secret"],
        &["wait", "--include-existing", "--timeout", "5s"],
    ] {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let har = elsewhere.path().join("all.har");
    let out = run(&["export", "--har", har.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        std::fs::read_dir(project.path()).unwrap().next().is_none(),
        "no file in an unrelated folder"
    );
}

#[test]
fn a_missing_log_says_where_it_looked_and_how_to_fill_it() {
    let cli = hooklens();
    let log = cli.default_log();
    for args in [&["list"][..], &["show", "1"], &["export", "--curl", "1"]] {
        let out = hooklens_at(cli.home()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(&log.display().to_string()), "{err}");
        assert!(err.contains("hooklens listen"), "{err}");
    }
    let out = hooklens()
        .args(["list", "--store", "/nonexistent/project.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("/nonexistent/project.jsonl") && err.contains("--store"),
        "{err}"
    );
}

#[test]
fn show_without_an_id_names_it_with_the_usage_line() {
    let out = hooklens().arg("show").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("required arguments were not provided"),
        "{err}"
    );
    assert!(err.contains("<ID>"), "{err}");
    assert!(err.contains("Usage: hooklens show"), "{err}");

    let out = hooklens().args(["list", "--jsn"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("a similar argument exists"));

    let out = hooklens()
        .args(["verify", "--scheme", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("possible values"));
}

#[test]
fn a_huge_duration_is_a_usage_error_not_a_panic() {
    for flag in ["--tolerance", "--timeout"] {
        let cmd = if flag == "--tolerance" {
            "verify"
        } else {
            "wait"
        };
        let out = hooklens()
            .args([cmd, flag, "99999999999999999999h"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains(flag) && err.contains("out of range"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A log with `n` captures, made by the real binary (`send --count` into a listener).
fn log_with(n: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("many.jsonl");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let l = rt.block_on(common::start(Default::default(), Some(&log)));
    let out = hooklens()
        .args(["send", "--secret", "dev_secret", "--concurrency", "16"])
        .args(["--count", &n.to_string(), "--to"])
        .arg(l.url("/modelgates/video-webhook"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    rt.block_on(l.stop());
    (dir, log)
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_one_line() {
    if !common::require_tool("bash") || !common::require_tool("head") {
        return;
    }
    // Enough lines to overflow the pipe, so `list` writes after `head` has gone.
    let (_dir, log) = log_with(1500);
    let mut cli = hooklens();
    let out = cli
        .arg("list")
        .arg("--store")
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = out;
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader goes away after one line (what `| head -1` does).
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(first.contains("#1"), "{first}");
    assert!(err.is_empty(), "quiet: {err}");
    assert!(
        matches!(status.code(), Some(0 | 141)),
        "exit 0 or 141, got {status:?}"
    );

    // The shell pipeline itself, as a user types it.
    let pipeline = format!(
        "'{}' list --store '{}' | head -1",
        env!("CARGO_BIN_EXE_hooklens"),
        log.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&pipeline)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("#1"));
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));

    for args in [
        &["list", "--store", log.to_str().unwrap()][..],
        &["completions", "bash"],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = hooklens().args(args).stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("No space left on device"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn send_count_gives_each_delivery_its_own_job_unless_asked() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (extra, distinct) in [
        (&[][..], 5),
        (&["--same-id"][..], 1),
        (&["--id", "job_9"], 1),
    ] {
        let l = rt.block_on(common::start(Default::default(), None));
        let out = hooklens()
            .args(["send", "--secret", "dev_secret", "--count", "5"])
            .args(extra)
            .arg("--to")
            .arg(l.url("/modelgates/video-webhook"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let index = l.store.index();
        let rows = index.rows();
        assert_eq!(rows.len(), 5);
        let keys: std::collections::BTreeSet<_> =
            rows.iter().map(|r| r.idempotency_key.clone()).collect();
        let ids: std::collections::BTreeSet<_> = rows.iter().map(|r| r.data_id.clone()).collect();
        assert_eq!((keys.len(), ids.len()), (distinct, distinct), "{extra:?}");
        let dups = rows.iter().filter(|r| r.dup_of.is_some()).count();
        assert_eq!(dups, 5 - distinct, "{extra:?}");
        drop(index);
        rt.block_on(l.stop());
    }
}

#[test]
fn a_blank_secret_is_refused_from_every_place_by_every_command() {
    let sources: [(&str, Option<&str>); 3] = [
        ("--secret", None),
        ("MODELGATES_WEBHOOK_SECRET", Some(" \t")),
        ("HOOKLENS_SECRET", Some("   ")),
    ];
    let commands: [&[&str]; 5] = [
        &["verify", "--capture", "1"],
        &["send", "--to", "http://127.0.0.1:9/"],
        &["replay", "1", "--resign", "--to", "http://127.0.0.1:9/"],
        &["check", "http://127.0.0.1:9/"],
        &["listen", "--no-tui", "--port", "0", "--no-store"],
    ];
    for (source, value) in sources {
        for cmd in commands {
            let mut cli = hooklens();
            cli.args(cmd);
            match value {
                None => cli.args(["--secret", "  "]),
                Some(v) => cli.env(source, v),
            };
            let out = cli.output().unwrap();
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd:?} {source}: {err}");
            assert!(
                err.contains("empty secret refused"),
                "{cmd:?} {source}: {err}"
            );
        }
    }
}

#[test]
fn listen_without_a_secret_says_once_that_nothing_is_verified() {
    let home = tempfile::tempdir().unwrap();
    let (child, url, _cli) = listen(home.path(), &["--no-store"]);
    signed_post(&url, "whatever");
    signed_post(&url, "whatever");
    let err = stop(child);
    assert_eq!(
        err.matches("every delivery is accepted and shown as unverified")
            .count(),
        1,
        "{err}"
    );
    let (child, _, _cli) = listen(home.path(), &["--no-store", "--secret", "dev_secret"]);
    assert!(!stop(child).contains("unverified"));
}

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_hooklens()"),
        ("zsh", "#compdef hooklens"),
        ("fish", "complete -c hooklens"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[hooklens]"),
    ] {
        let out = hooklens().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script:.200}");
        assert!(
            script.contains("replay") && script.contains("store"),
            "{shell}"
        );
    }
    let out = hooklens().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("possible values"));
}

#[test]
fn bash_completes_subcommands_from_the_generated_script() {
    if !common::require_tool("bash") {
        return;
    }
    let out = hooklens().args(["completions", "bash"]).output().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hooklens.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let probe = format!(
        "source '{}'; COMP_WORDS=(hooklens rep); COMP_CWORD=1; _hooklens hooklens rep hooklens; echo \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let run = Command::new("bash").arg("-c").arg(&probe).output().unwrap();
    assert_eq!(text(&run.stdout).trim(), "replay", "{}", text(&run.stderr));
}

#[test]
fn version_names_the_commit_and_every_help_ends_with_examples() {
    let out = hooklens().arg("--version").output().unwrap();
    assert!(out.status.success());
    let version = text(&out.stdout);
    assert!(
        version.starts_with(&format!("hooklens {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(head) = head.ok().filter(|h| h.status.success()) {
        let commit = text(&head.stdout).trim().to_owned();
        assert!(
            version.contains(&format!("(commit {commit})")),
            "{version} vs {commit}"
        );
    }

    for sub in [
        "listen",
        "list",
        "show",
        "verify",
        "send",
        "export",
        "wait",
        "replay",
        "cert",
        "check",
        "completions",
        "provider",
        "flow",
    ] {
        let out = hooklens().args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub}");
        let help = text(&out.stdout);
        let examples = help
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{sub} --help has no examples:\n{help}"));
        let n = examples
            .lines()
            .filter(|l| l.starts_with(&format!("  hooklens {sub}")))
            .count();
        assert!((2..=3).contains(&n), "{sub}: {n} examples\n{examples}");
    }
}

/// The README's fixture commands against the guide's receiver logic: valid ones re-signed pass,
/// the others sent as captured get 401, and re-signing turns a broken one valid.
#[test]
fn the_shipped_fixtures_replay_as_the_readme_says() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fixtures/modelgates.jsonl");
    let listed = hooklens()
        .arg("list")
        .arg("--store")
        .arg(&fixtures)
        .output()
        .unwrap();
    let listed = text(&listed.stdout);
    for verdict in ["valid", "stale", "invalid signature", "missing"] {
        assert!(
            listed.contains(&format!("  {verdict}  ")),
            "{verdict}: {listed}"
        );
    }
    let receiver =
        |n| common::Receiver::start(common::guide_check("dev_secret", 204, "")).expect(n);
    let replay = |r: &common::Receiver, args: &[&str]| -> Output {
        hooklens()
            .args(["replay", "--from"])
            .arg(&fixtures)
            .args(["--all", "--to", &r.url()])
            .args(args)
            .output()
            .unwrap()
    };
    let r = receiver(3);
    let resign = ["--resign", "--secret", "dev_secret"];
    let out = replay(&r, &[&["--filter", "valid"][..], &resign].concat());
    assert!(out.status.success(), "{}", text(&out.stdout));

    let r = receiver(4);
    let out = replay(&r, &["--filter=-valid", "--expect", "401"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(r.seen().iter().all(|s| !s.guide_verifies("dev_secret")));

    // Re-signed, the broken ones verify too: that is why the 401 cases go without --resign.
    let r = receiver(4);
    let out = replay(&r, &[&["--filter=-valid"][..], &resign].concat());
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(r.seen().iter().all(|s| s.guide_verifies("dev_secret")));
}

#[test]
fn every_signing_command_takes_the_secret_from_hooklens_secret() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fixtures/modelgates.jsonl");
    for var in ["MODELGATES_WEBHOOK_SECRET", "HOOKLENS_SECRET"] {
        let r = common::Receiver::start(common::guide_check("dev_secret", 204, "")).expect(2);
        let out = hooklens()
            .args(["replay", "4", "--resign", "--to", &r.url(), "--from"])
            .arg(&fixtures)
            .env(var, "dev_secret")
            .output()
            .unwrap();
        assert!(out.status.success(), "replay {var}: {}", text(&out.stdout));
        let out = hooklens()
            .args(["send", "--to", &format!("{}/hook", r.url())])
            .env(var, "dev_secret")
            .output()
            .unwrap();
        assert!(out.status.success(), "send {var}: {}", text(&out.stderr));
        assert!(r.seen().iter().all(|s| s.guide_verifies("dev_secret")));

        let out = hooklens()
            .args(["verify", "--capture", "1", "--store"])
            .arg(&fixtures)
            .env(var, "dev_secret")
            .output()
            .unwrap();
        assert!(out.status.success(), "verify {var}: {}", text(&out.stdout));
    }
}

#[test]
fn without_xdg_state_home_the_log_is_under_home() {
    let home = tempfile::tempdir().unwrap();
    for state in [None, Some("relative/ignored")] {
        let mut cli = hooklens();
        cli.env("HOME", home.path()).arg("list");
        match state {
            Some(s) => cli.env("XDG_STATE_HOME", s),
            None => cli.env_remove("XDG_STATE_HOME"),
        };
        let out = cli.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let want = home.path().join(".local/state/hooklens/captures.jsonl");
        let err = text(&out.stderr);
        assert!(
            err.contains(&want.display().to_string()),
            "{state:?}: {err}"
        );
    }
}
