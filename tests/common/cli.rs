//! The one way tests run the real binary, and the one check for outside tools.
//!
//! `hooklens()` starts from the user's environment minus everything that would make a test
//! depend on the machine it runs on: no secrets or extra trust from the environment, a fresh
//! empty HOME, data and state directory (the local CA, the default capture log), and
//! `NO_COLOR=1`.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variables a test run must not inherit: secrets, and trust added by the machine.
pub const CLEARED: [&str; 5] = [
    "MODELGATES_WEBHOOK_SECRET",
    "MODELGATES_API_KEY",
    "HOOKLENS_SECRET",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// The binary with the test preset. Derefs to [`Command`]; the temporary HOME lives as long
/// as this value (keep it in a variable while a spawned child runs).
pub struct Cli {
    cmd: Command,
    home: tempfile::TempDir,
}

pub fn hooklens() -> Cli {
    hooklens_under(&[])
}

/// The binary run by a wrapper command (`["prlimit", "--nofile=1024:1024", "--"]`), with the
/// same preset.
pub fn hooklens_under(wrapper: &[&str]) -> Cli {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(env!("CARGO_BIN_EXE_hooklens"));
            cmd
        }
        None => Command::new(env!("CARGO_BIN_EXE_hooklens")),
    };
    for (name, value) in preset(home.path()) {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    Cli { cmd, home }
}

impl Cli {
    /// The temporary HOME.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Where this command's default capture log is (under the temporary HOME).
    pub fn default_log(&self) -> PathBuf {
        default_log(self.home.path())
    }

    /// The same command for tokio (with the HOME that must outlive the child).
    pub fn into_tokio(self) -> (tokio::process::Command, tempfile::TempDir) {
        (tokio::process::Command::from(self.cmd), self.home)
    }
}

impl Deref for Cli {
    type Target = Command;
    fn deref(&self) -> &Command {
        &self.cmd
    }
}

impl DerefMut for Cli {
    fn deref_mut(&mut self) -> &mut Command {
        &mut self.cmd
    }
}

/// The default capture log of a preset whose HOME is `home`.
pub fn default_log(home: &Path) -> PathBuf {
    home.join(".local/state/hooklens/captures.jsonl")
}

/// The preset as variable → value (`None`: removed).
fn preset(home: &Path) -> Vec<(&'static str, Option<PathBuf>)> {
    let mut vars: Vec<(&'static str, Option<PathBuf>)> =
        CLEARED.iter().map(|name| (*name, None)).collect();
    vars.extend([
        ("HOME", Some(home.to_path_buf())),
        ("XDG_DATA_HOME", Some(home.join(".local/share"))),
        // The default capture log lives here: never the user's own.
        ("XDG_STATE_HOME", Some(home.join(".local/state"))),
        (
            "HOOKLENS_DATA_DIR",
            Some(home.join(".local/share/hooklens")),
        ),
        ("NO_COLOR", Some(PathBuf::from("1"))),
    ]);
    vars
}

/// The preset as an `env …` prefix for a shell command line (tmux runs a shell).
pub fn shell_env(home: &Path) -> String {
    let mut out = String::from("env");
    for (name, value) in preset(home) {
        match value {
            Some(v) => out.push_str(&format!(" {name}='{}'", v.display())),
            None => out.push_str(&format!(" -u {name}")),
        }
    }
    out
}

/// Whether `tool` is installed. Under `CI=true` a missing tool fails the test (CI installs
/// every tool the tests use); elsewhere the test may skip, and this says so.
pub fn require_tool(tool: &str) -> bool {
    let probe = match tool {
        "tmux" => "-V",
        "openssl" => "version",
        "ss" => "-V",
        "ffprobe" => "-version",
        _ => "--version",
    };
    let found = Command::new(tool)
        .arg(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return true;
    }
    assert!(
        !in_ci(),
        "{tool} is not installed, and under CI=true a test that needs it must not skip \
         (.ci/run installs it)"
    );
    eprintln!("SKIPPED: {tool} is not installed (.ci/run installs it; under CI=true this fails)");
    false
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}
