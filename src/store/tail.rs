//! `hooklens wait`: block until a matching capture appears in the log, for CI scripts.
//!
//! The log is tailed by polling its length (every 50 ms): new bytes are read from the last
//! offset, split into complete lines, and a partial last line (a write in progress by the
//! listener) is kept until its newline arrives. Only `capture` records are considered; other
//! record kinds and unreadable lines are skipped. If the file shrinks (it was replaced), the
//! tail starts again from the beginning.
//!
//! By default only captures that arrive after `wait` starts count; `--include-existing` also
//! matches captures already in the log (useful when the webhook may beat the `wait` call and
//! the match is specific, such as an idempotency key).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::line::decode_line;
use crate::filter::Filter;
use crate::model::record::{CaptureRecord, Summary};

const POLL_EVERY: Duration = Duration::from_millis(50);

/// What to wait for.
#[derive(Clone, Debug, Default)]
pub struct WaitFor {
    /// Exact envelope `type`.
    pub event_type: Option<String>,
    /// Exact idempotency key.
    pub idempotency_key: Option<String>,
    /// Filter (verdict words and the rest of the shared syntax).
    pub filter: Filter,
    /// Also match captures already in the log when waiting starts.
    pub include_existing: bool,
}

impl WaitFor {
    /// Whether a record is the one being waited for.
    pub fn matches(&self, record: &CaptureRecord) -> bool {
        if let Some(t) = &self.event_type
            && record.event_type.as_deref() != Some(t.as_str())
        {
            return false;
        }
        if let Some(k) = &self.idempotency_key
            && record.idempotency_key.as_deref() != Some(k.as_str())
        {
            return false;
        }
        self.filter
            .matches(&Summary::of(record), Some(&record.capture.body))
    }
}

/// A tail positioned on the log, ready to wait. Creating it first and waiting later closes
/// the race between "note where the log ends" and "trigger the webhook".
pub struct Waiter {
    tail: Tail,
    what: WaitFor,
}

impl Waiter {
    /// Positions on the log: at its end, or at its start with `include_existing`.
    pub fn start(path: &Path, what: WaitFor) -> Result<Waiter> {
        let mut tail = Tail::new(path.to_path_buf());
        if !what.include_existing {
            tail.skip_existing()?;
        }
        Ok(Waiter { tail, what })
    }

    /// Tails until a capture matches, or `timeout` passes (`Ok(None)`).
    pub async fn until(mut self, timeout: Duration) -> Result<Option<CaptureRecord>> {
        let deadline = Instant::now() + timeout;
        loop {
            for line in self.tail.poll()? {
                if let Ok(record) = decode_line(&line)
                    && self.what.matches(&record)
                {
                    return Ok(Some(record));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(POLL_EVERY.min(deadline - now)).await;
        }
    }
}

/// Tails `path` until a capture matches or `timeout` passes (`Ok(None)`).
pub async fn wait_for(
    path: &Path,
    what: &WaitFor,
    timeout: Duration,
) -> Result<Option<CaptureRecord>> {
    Waiter::start(path, what.clone())?.until(timeout).await
}

/// Reads complete new lines from a growing file.
struct Tail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl Tail {
    fn new(path: PathBuf) -> Self {
        Tail {
            path,
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// Starts after the last complete line currently in the file.
    fn skip_existing(&mut self) -> Result<()> {
        let _ = self.poll()?;
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<Vec<u8>>> {
        let mut file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            // Not created yet: the listener may start after us.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).with_context(|| format!("opening {}", self.path.display()));
            }
        };
        let len = file.metadata().context("reading the log's size")?.len();
        if len < self.offset {
            // Replaced or truncated: start over.
            self.offset = 0;
            self.partial.clear();
        }
        if len == self.offset {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::with_capacity((len - self.offset) as usize);
        (&mut file)
            .take(len - self.offset)
            .read_to_end(&mut fresh)
            .context("reading the log")?;
        self.offset += fresh.len() as u64;
        self.partial.extend_from_slice(&fresh);
        let mut lines = Vec::new();
        while let Some(nl) = self.partial.iter().position(|b| *b == b'\n') {
            let rest = self.partial.split_off(nl + 1);
            let mut line = std::mem::replace(&mut self.partial, rest);
            line.pop();
            lines.push(line);
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn tail_holds_a_partial_line_until_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut tail = Tail::new(path.clone());
        assert!(
            tail.poll().unwrap().is_empty(),
            "missing file is not an error"
        );
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(b"{\"a\":1}\n{\"b\"").unwrap();
        assert_eq!(tail.poll().unwrap(), vec![b"{\"a\":1}".to_vec()]);
        assert!(tail.poll().unwrap().is_empty());
        f.write_all(b":2}\n").unwrap();
        assert_eq!(tail.poll().unwrap(), vec![b"{\"b\":2}".to_vec()]);
        // Replaced by a shorter file: start over.
        std::fs::write(&path, b"{}\n").unwrap();
        assert_eq!(tail.poll().unwrap(), vec![b"{}".to_vec()]);
    }
}
