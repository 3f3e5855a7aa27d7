//! The log as the offline commands see it (`list`, `show`, `export`, `replay`, …): opened for
//! reading only, never modified (a listener may be writing it), and the one way another
//! process adds to it ([`append_exchanges_to`], for `hooklens replay`).

use std::fs::{File, OpenOptions};
use std::path::Path;

use anyhow::{Context, Result};

use super::file::{append_lines, check_identity, open_lock};
use super::index::{Index, read_exchanges};
use super::line::{encode_exchange_tail, push_line};
use super::scan::Recovery;
use super::snapshot::open_index;
use crate::model::capture::CaptureId;
use crate::model::exchange::Exchange;
use crate::model::record::CaptureRecord;

/// A log opened for reading by `list`, `show` and other offline commands.
pub struct ReadOnlyLog {
    file: File,
    index: Index,
    /// What the scan found.
    pub recovery: Recovery,
}

impl ReadOnlyLog {
    /// Reads an existing log, through its index snapshot when it has a usable one (a torn
    /// last line is reported, not cut; nothing is written). A file that is not a capture log
    /// is refused ([`super::Refused`]).
    pub(super) fn open(path: &Path) -> Result<ReadOnlyLog> {
        let mut file =
            File::open(path).with_context(|| format!("opening capture log {}", path.display()))?;
        check_identity(&file, path)?;
        let (index, recovery) = open_index(&mut file, path, false)?;
        Ok(ReadOnlyLog {
            file,
            index,
            recovery,
        })
    }

    /// The index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Reads one capture record.
    pub fn load(&self, id: CaptureId) -> Result<CaptureRecord> {
        let at = self
            .index
            .location(id)
            .with_context(|| match self.recovery.corrupt_lines {
                0 => format!("no capture {id} in the log"),
                1 => format!("no capture {id} in the log (1 unreadable line was skipped)"),
                n => format!("no capture {id} in the log ({n} unreadable lines were skipped)"),
            })?;
        at.read(Some(&self.file), id)
    }

    /// The forwards and replays of a capture, oldest first.
    pub fn exchanges(&self, id: CaptureId) -> Result<Vec<Exchange>> {
        read_exchanges(Some(&self.file), self.index.exchange_places(id))
    }
}

/// Appends forward or replay records to a log another process may be writing (`hooklens
/// replay`): whole lines with `O_APPEND` under the log's write lock (`<log>.lock`, which the
/// listener takes for each batch too), then a sync. A listener on the same file keeps its own
/// records' positions (it learns where its writes landed), and a later scan finds these.
pub fn append_exchanges_to(path: &Path, exchanges: &[Exchange]) -> Result<()> {
    let mut buf = Vec::new();
    for e in exchanges {
        push_line(&mut buf, None, &encode_exchange_tail(e)?);
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening capture log {}", path.display()))?;
    check_identity(&file, path)?;
    let lock = open_lock(path).ok();
    append_lines(&mut file, lock.as_ref(), &buf)
        .and_then(|_| file.sync_data())
        .with_context(|| format!("writing capture log {}", path.display()))
}
