//! What the subcommands share: value parsers for flags (durations, sizes, statuses, `--respond`,
//! `--recipe`), the secrets lookup, the default capture log and opening it ([`default_log`],
//! [`open_log`], [`load`]: a missing log or an unknown id is an [`EnvironmentError`]),
//! [`UsageError`], [`EnvironmentError`] and [`Exit`].
//!
//! A leaf: every subcommand file imports it, it imports none of them (nor `cmd/mod.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::model::capture::CaptureId;
use crate::model::record::CaptureRecord;
use crate::store::{Lookup, ReadOnlyLog, Store};

use crate::model::secret::{self, Secret};
use crate::net::server::Respond;
use crate::verify::recipe::Recipe;

/// What a command concluded when it ran to the end (errors are the `Err` side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Done, or the answer is yes (exit code 0).
    Success,
    /// The answer is no: the signature is not valid, nothing arrived in time, the receiver
    /// answered wrongly (exit code 1).
    Negative,
}

/// A command line hooklens cannot act on (exit code 2), shown like clap's own errors with the
/// usage line of `command`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    /// The subcommand the message is about (`listen`, `replay`, …).
    pub command: &'static str,
    /// What is wrong, e.g. `--scheme custom needs --recipe`.
    pub message: String,
}

impl UsageError {
    /// The error as clap renders a bad value: message, `command`'s usage line, the `--help`
    /// pointer. `root` is the whole command line's definition (`Cli::command()`).
    pub fn to_clap(&self, mut root: clap::Command) -> clap::Error {
        root.build();
        let kind = clap::error::ErrorKind::ValueValidation;
        match root.find_subcommand_mut(self.command) {
            Some(sub) => sub.error(kind, &self.message),
            None => root.error(kind, &self.message),
        }
    }
}

/// What a command was pointed at, or the machine, cannot serve it: an unreachable receiver,
/// a tool the command drives missing, needing a login or not coming up in time. Exit code 2,
/// shown as one line `hooklens: error: …`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EnvironmentError(pub String);

/// An [`EnvironmentError`] saying `why`, as the `anyhow::Error` the runners return.
pub fn environment(why: impl std::fmt::Display) -> anyhow::Error {
    EnvironmentError(why.to_string()).into()
}

/// A [`UsageError`] about `command`, as the `anyhow::Error` the runners return.
pub fn usage(command: &'static str, message: impl std::fmt::Display) -> anyhow::Error {
    UsageError {
        command,
        message: message.to_string(),
    }
    .into()
}

/// The secrets for `command`: its `--secret` values, else the environment (see
/// [`secret::from_sources`]); an empty one is a usage error.
pub fn secrets(command: &'static str, flags: &[String]) -> anyhow::Result<Vec<Secret>> {
    secret::from_sources(flags, |name| std::env::var(name).ok()).map_err(|e| usage(command, e))
}

/// The one secret a signing command needs (the first, by the same lookup), or a usage error
/// saying where it can come from.
pub fn signing_secret(command: &'static str, flags: &[String]) -> anyhow::Result<Secret> {
    secrets(command, flags)?.into_iter().next().ok_or_else(|| {
        usage(
            command,
            format!(
                "{command} needs --secret (or MODELGATES_WEBHOOK_SECRET, HOOKLENS_SECRET): the signing secret"
            ),
        )
    })
}

/// The longest duration a flag takes: beyond it, timers and timestamps overflow.
const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Where `hooklens listen` keeps captures unless given `--store FILE`, and where every other
/// command looks: `$XDG_STATE_HOME/hooklens/captures.jsonl`, else
/// `~/.local/state/hooklens/captures.jsonl` (the per-user state directory, so every folder
/// sees the same log and none lands in a repository). Without a home directory at all, the
/// current folder's `hooklens-captures.jsonl`.
pub fn default_log() -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".local/state"))
        });
    match state {
        Some(dir) => dir.join("hooklens").join("captures.jsonl"),
        None => PathBuf::from("hooklens-captures.jsonl"),
    }
}

/// Makes the default log's folder (0700) when `path` is the default log; a `--store FILE`
/// elsewhere must name a folder that exists.
pub fn prepare_log(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if path != default_log() {
        return Ok(());
    }
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| {
            environment(format!(
                "creating the capture log's folder {}: {e}",
                dir.display()
            ))
        })
}

/// Opens the capture log at `path` for reading; a missing one is an [`EnvironmentError`]
/// that says where it looked and how to fill it.
pub fn open_log(path: &Path) -> anyhow::Result<ReadOnlyLog> {
    if !path.exists() {
        return Err(environment(missing_log(path)));
    }
    Store::open_readonly(path)
}

/// What to say when there is no capture log at `path`.
pub fn missing_log(path: &Path) -> String {
    let how = if path == default_log() {
        "run `hooklens listen` to capture into it (the default log), or give --store FILE"
            .to_owned()
    } else {
        format!(
            "run `hooklens listen --store {}` to capture into it, or leave out --store for the default log {}",
            path.display(),
            default_log().display()
        )
    };
    format!("no capture log at {}: {how}", path.display())
}

/// Capture `id` of `log`; an id the log does not hold is an [`EnvironmentError`] (exit 2).
pub fn load(log: &ReadOnlyLog, path: &Path, id: CaptureId) -> anyhow::Result<CaptureRecord> {
    if log.index().get(id).is_none() {
        let newest = log.index().rows().last().map(|r| r.id);
        return Err(not_held(
            id,
            path,
            log.recovery.corrupt_lines as u64,
            newest,
        ));
    }
    log.load(id)
}

/// The log at `path` opened for lookups by id through its offset index (`show`, `export
/// --curl`, `replay ID`): a few lines read, not the whole log. No log there is an
/// [`EnvironmentError`].
pub fn open_lookup(path: &Path) -> anyhow::Result<Lookup> {
    if !path.exists() {
        return Err(environment(missing_log(path)));
    }
    Store::open_lookup(path)
}

/// [`load`] through an offset-index lookup.
pub fn look_up(log: &mut Lookup, path: &Path, id: CaptureId) -> anyhow::Result<CaptureRecord> {
    if !log.holds(id) {
        return Err(not_held(id, path, log.corrupt_lines(), log.newest()));
    }
    log.load(id)
}

/// What to say when the log at `path` has no capture `id`.
fn not_held(id: CaptureId, path: &Path, corrupt: u64, newest: Option<CaptureId>) -> anyhow::Error {
    let skipped = match corrupt {
        0 => String::new(),
        1 => "1 unreadable line was skipped; ".to_owned(),
        n => format!("{n} unreadable lines were skipped; "),
    };
    let have = match newest {
        Some(newest) => format!("its newest is {newest}; `hooklens list` shows them all"),
        None => "it holds no captures yet".to_owned(),
    };
    environment(format!(
        "no capture {id} in the log {} ({skipped}{have})",
        path.display()
    ))
}

/// Parses a duration: `300` (seconds), `300s`, `500ms`, `2m`, `1h`.
pub fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (try 300s, 500ms or 2m)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("unknown unit in {text:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("not a duration: {text:?}"));
    }
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| *d <= MAX_DURATION)
        .ok_or_else(|| format!("duration {text:?} is out of range (at most 100 years)"))
}

/// Parses a size: `10MiB`, `512KiB`, `1MB`, `64k`, `1000`.
pub fn size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("not a size: {s:?} (try 10MiB or 1000000)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1_000_000,
        "mib" => 1024 * 1024,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1024 * 1024 * 1024,
        _ => return Err(format!("unknown size unit in {s:?} (use KiB, MiB, kB, MB)")),
    };
    n.checked_mul(mult)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("size {s:?} is out of range"))
}

/// Parses an HTTP status (100-599).
pub fn status(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(n) if (100..=599).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not an HTTP status (100-599)")),
    }
}

/// Parses `--respond`: `relay`, `mimic`, or a status.
pub fn respond(s: &str) -> Result<Respond, String> {
    match s {
        "relay" => Ok(Respond::Relay),
        "mimic" => Ok(Respond::Mimic),
        _ => status(s).map(Respond::Status),
    }
}

/// Parses `--public-url`: an `http://` or `https://` URL with a host, kept as written (the
/// URL-signed schemes sign its exact text).
pub fn public_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("{s:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with(['/', '?', ':']) {
        return Err(format!("{s:?} has no host"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{s:?} contains whitespace"));
    }
    Ok(s.to_string())
}

/// Parses `--recipe`: reads the file when there is one, else parses the text as an inline
/// recipe (the file is read here, so `verify` stays free of I/O).
pub fn recipe(s: &str) -> Result<Arc<Recipe>, String> {
    let text = match std::fs::read_to_string(s) {
        Ok(text) => text,
        Err(_) if s.contains('=') => s.to_string(),
        Err(e) => return Err(format!("reading recipe {s}: {e}")),
    };
    Recipe::parse(&text).map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(duration("300").unwrap(), Duration::from_secs(300));
        assert_eq!(duration("300s").unwrap(), Duration::from_secs(300));
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("2m").unwrap(), Duration::from_secs(120));
        assert!(duration("soon").is_err());
        assert!(duration("5d").is_err());
        assert!(duration("99999999999999999999h").is_err());
        assert!(duration("1e400").is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(size("10MiB").unwrap(), 10 * 1024 * 1024);
        assert_eq!(size("1000").unwrap(), 1000);
        assert_eq!(size("64k").unwrap(), 64_000);
        assert!(size("lots").is_err());
        assert!(size("0").is_err());
    }

    #[test]
    fn statuses_and_respond_parse() {
        assert_eq!(status("204"), Ok(204));
        assert!(status("99").is_err() && status("600").is_err() && status("ok").is_err());
        assert!(matches!(respond("relay"), Ok(Respond::Relay)));
        assert!(matches!(respond("mimic"), Ok(Respond::Mimic)));
        assert!(matches!(respond("418"), Ok(Respond::Status(418))));
    }

    #[test]
    fn usage_errors_render_for_their_subcommand() {
        let root = clap::Command::new("hooklens").subcommand(clap::Command::new("replay"));
        let e = UsageError {
            command: "replay",
            message: "give capture ids".into(),
        };
        let text = e.to_clap(root).render().to_string();
        assert!(text.contains("give capture ids"), "{text}");
        assert!(text.contains("Usage: hooklens replay"), "{text}");
    }
}
