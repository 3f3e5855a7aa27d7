//! The log file itself: what it must look like before hooklens writes to it, who may write it,
//! and the one way bytes are added to it.
//!
//! * **Identity.** A log hooklens creates starts with a `log` header record; an older log
//!   starts with any record (`{"v":1,"kind":"…`). A non-empty file that starts otherwise is
//!   not a capture log: it is refused ([`Refused`]) and never modified.
//! * **One listener per log.** A listener holds an advisory lock (`flock`) on the log for as
//!   long as it runs and writes its PID into `<log>.lock`; a second listener is refused and
//!   told that PID.
//! * **Appends.** Every writer (the listener's lanes and `hooklens replay`) appends whole
//!   lines under the write lock on `<log>.lock` ([`append_lines`]): the append starts on a
//!   fresh line, and a failed or short write (a full disk, a file-size limit) is cut back, so
//!   the log always ends with a complete record and the next append does not follow half a
//!   line.
//! * **Private files.** [`open_private`] creates files 0600 whatever the umask, and warns
//!   about an existing file other users can read.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::line::looks_like_record;
use crate::sanitize::{escape_line, shell_quote};

/// A file hooklens will not use as asked (exit code 2): not a capture log, or a log another
/// listener owns. The message is one line and names the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// How many first bytes decide whether a file is a capture log.
const IDENTITY_PROBE: usize = 64;

/// Opens `path` with `options` (which must not ask for `create`), creating it first with mode
/// 0600 (set explicitly, so the umask cannot change it) when it does not exist. The second
/// value warns when an existing file is readable or writable by other users.
pub fn open_private(path: &Path, options: &OpenOptions) -> std::io::Result<(File, Option<String>)> {
    let mut create = options.clone();
    match create.create_new(true).mode(0o600).open(path) {
        Ok(file) => {
            file.set_permissions(Permissions::from_mode(0o600))?;
            Ok((file, None))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let file = options.open(path)?;
            let mode = file.metadata()?.permissions().mode() & 0o777;
            let warning = (mode & 0o077 != 0).then(|| {
                format!(
                    "{} has mode {mode:04o}, so other users can read it; to keep it private: chmod 600 {}",
                    display(path),
                    shell_quote(path.as_os_str().as_encoded_bytes())
                )
            });
            Ok((file, warning))
        }
        Err(e) => Err(e),
    }
}

/// `path` for a one-line message.
pub(super) fn display(path: &Path) -> String {
    escape_line(path.as_os_str().as_encoded_bytes())
}

/// Refuses a non-empty file that does not start like a capture log (reading only its first
/// bytes, so a huge foreign file costs nothing). True when the file is empty.
pub(super) fn check_identity(file: &File, path: &Path) -> Result<bool, anyhow::Error> {
    let mut head = [0u8; IDENTITY_PROBE];
    let mut n = 0;
    while n < head.len() {
        match file.read_at(&mut head[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("reading capture log {}", display(path)))
                );
            }
        }
    }
    if n == 0 {
        return Ok(true);
    }
    if looks_like_record(&head[..n]) {
        return Ok(false);
    }
    Err(Refused(format!(
        "{} is not a hooklens capture log (its first line is not a hooklens record); it was left untouched: give --store a new file",
        display(path)
    ))
    .into())
}

/// `<log>.lock`: the owner's PID, and the write lock every appender takes.
pub(super) fn lock_path(log: &Path) -> PathBuf {
    // The real path, so two spellings of one log share one lock file.
    let real = std::fs::canonicalize(log).unwrap_or_else(|_| log.to_path_buf());
    let mut name = real.into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// The lock file, opened (created 0600) for locking.
pub(super) fn open_lock(log: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    open_private(&lock_path(log), &options).map(|(f, _)| f)
}

/// Makes this process the one listener writing `log` (`file`: the log, opened for appending;
/// the lock lasts as long as it or a clone of it is open). Returns the write lock file.
pub(super) fn claim(file: &File, log: &Path) -> anyhow::Result<File> {
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = File::open(lock_path(log)).and_then(|mut f| f.read_to_string(&mut pid));
            let pid = pid.trim();
            let who = if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                "another hooklens listener".to_owned()
            } else {
                format!("another hooklens listener (PID {pid})")
            };
            return Err(Refused(format!(
                "capture log {} is in use by {who}; stop it, or give this listener another --store",
                display(log)
            ))
            .into());
        }
        // A file system without locks (some network mounts): go on unguarded.
        Err(std::fs::TryLockError::Error(_)) => {}
    }
    let lock = open_lock(log).map_err(|e| {
        anyhow::Error::new(e).context(format!("creating {}", display(&lock_path(log))))
    })?;
    let pid = format!("{}\n", std::process::id());
    lock.set_len(0)
        .and_then(|()| lock.write_all_at(pid.as_bytes(), 0))
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("writing {}", display(&lock_path(log))))
        })?;
    Ok(lock)
}

/// Appends `lines` (whole lines) to the log `file` (opened with `O_APPEND`) under the write
/// lock `lock`, and returns the offset where they start. If the log does not end with a
/// newline (another writer was cut short), a newline comes first. If the write fails or is
/// short, the log is cut back to where it ended, so it still ends with a complete record.
pub(super) fn append_lines(
    file: &mut File,
    lock: Option<&File>,
    lines: &[u8],
) -> std::io::Result<u64> {
    let locked = lock.is_some_and(|l| l.lock().is_ok());
    let result = append_unlocked(file, lines);
    if locked && let Some(l) = lock {
        let _ = l.unlock();
    }
    result
}

fn append_unlocked(file: &mut File, lines: &[u8]) -> std::io::Result<u64> {
    let end = file.metadata()?.len();
    let mut start = end;
    if end > 0 {
        let mut last = [0u8];
        file.read_exact_at(&mut last, end - 1)?;
        if last[0] != b'\n' {
            start += 1;
        }
    }
    let fresh = start > end;
    let written =
        (if fresh { file.write_all(b"\n") } else { Ok(()) }).and_then(|()| file.write_all(lines));
    match written {
        Ok(()) => Ok(start),
        Err(e) => {
            // Cut back what this append added; the next one then starts where this one did.
            let _ = file.set_len(if fresh { start } else { end });
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_files_are_0600_whatever_the_umask_and_wide_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new");
        let mut options = OpenOptions::new();
        options.write(true);
        let (_, warning) = open_private(&path, &options).unwrap();
        assert_eq!(warning, None);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let (_, warning) = open_private(&path, &options).unwrap();
        let warning = warning.unwrap();
        assert!(
            warning.contains("mode 0644") && warning.contains("chmod 600"),
            "{warning}"
        );
    }

    #[test]
    fn an_append_starts_on_a_fresh_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, b"{\"v\":1,\"kind\":\"log\"}\n{\"v\":1,\"ki").unwrap();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        let at = append_lines(&mut file, None, b"{\"v\":1,\"kind\":\"x\"}\n").unwrap();
        let text = std::fs::read(&path).unwrap();
        assert_eq!(&text[at as usize..], b"{\"v\":1,\"kind\":\"x\"}\n");
        assert_eq!(text[at as usize - 1], b'\n');
    }
}
