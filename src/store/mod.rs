//! The capture log: one append-only JSON Lines file, one writer, an in-memory index.
//!
//! * Durability: appends go through a channel to two "sync lanes" (threads). A lane takes
//!   every pending append (group commit), assigns ids and writes them with one `write` while it
//!   holds the intake, then releases the intake and calls `fdatasync`, so the other lane can
//!   gather and write the next batch while this one syncs (concurrent syncs overlap in the
//!   kernel). Batches are published in order: rows join the index, front ends hear of them,
//!   and only then is each request answered.
//! * Recovery: on open the log is scanned to rebuild the index; a torn last line (a crash mid
//!   write) is reported and truncated; ids continue after the highest one found.
//! * Memory: the index keeps a compact [`Summary`](crate::model::record::Summary) per capture
//!   and the byte range of its line; bodies stay on disk and are read back on demand
//!   ([`Store::load`]).
//!
//! The format is versioned (`"v": 1` on every line) and documented in the README.
//!
//! The parts: `line` (the line format), `index` (the rows and where records are), `commit`
//! (the group commit and its sync lanes), `scan` (recovery), `readonly` (the log as offline
//! commands read it, and appends from another process) and [`tail`] (`hooklens wait`).

mod commit;
#[cfg(test)]
mod fixtures;
mod index;
mod line;
mod readonly;
mod scan;
pub mod tail;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, bail};
use tokio::sync::broadcast;

use crate::model::capture::{CaptureId, now_ms};
use crate::model::exchange::{Exchange, RecordedTarget};
use crate::model::record::{CaptureRecord, Event, Stored};
use commit::{Committed, Entry, Sink};
use index::read_exchanges;

pub use commit::WriterHandle;
pub use index::{Index, MEMORY_KEEP};
pub use line::{FORMAT_VERSION, decode_exchange, decode_line, encode_line};
pub use readonly::{ReadOnlyLog, append_exchanges_to};
pub use scan::Recovery;

/// Default log path.
pub const DEFAULT_PATH: &str = "hooklens-captures.jsonl";
const EVENT_CAPACITY: usize = 4096;

/// Shared handle to the capture log. Cloning is cheap.
#[derive(Clone)]
pub struct Store {
    sink: Sink,
    index: Arc<RwLock<Index>>,
    reader: Option<Arc<File>>,
    events: broadcast::Sender<Event>,
    path: Option<PathBuf>,
    /// The log file's size after the last write; and whether `--max-log` was announced.
    log_bytes: Arc<AtomicU64>,
    full_noticed: Arc<AtomicBool>,
}

impl Store {
    /// Opens (creating with mode 0600) or, with `None`, keeps captures in memory only.
    pub fn open(path: Option<&Path>) -> Result<(Store, WriterHandle, Recovery)> {
        let mut index = Index::new();
        let (file, reader, recovery) = match path {
            Some(path) => {
                let mut file = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .open(path)
                    .with_context(|| format!("opening capture log {}", path.display()))?;
                let recovery = scan::scan(&mut file, &mut index, true)
                    .with_context(|| format!("reading capture log {}", path.display()))?;
                let reader = File::open(path)
                    .with_context(|| format!("opening capture log {}", path.display()))?;
                (Some(file), Some(Arc::new(reader)), recovery)
            }
            None => (None, None, Recovery::default()),
        };
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let index = Arc::new(RwLock::new(index));
        let size = match &file {
            Some(f) => f.metadata().map_or(0, |m| m.len()),
            None => 0,
        };
        let log_bytes = Arc::new(AtomicU64::new(size));
        let (sink, writer) = Sink::start(file, index.clone(), events.clone(), log_bytes.clone())?;
        let store = Store {
            sink,
            index,
            reader,
            events,
            path: path.map(Path::to_path_buf),
            log_bytes,
            full_noticed: Arc::new(AtomicBool::new(false)),
        };
        Ok((store, writer, recovery))
    }

    /// Opens an existing log for reading only (never modifies it; a listener may be writing).
    pub fn open_readonly(path: &Path) -> Result<ReadOnlyLog> {
        ReadOnlyLog::open(path)
    }

    /// Appends a capture and resolves once it is durable. The record's id is assigned here.
    pub async fn append(&self, record: CaptureRecord) -> Result<Arc<Stored>> {
        // Encoded here, on the request's task, so a lane only concatenates.
        let tail = if self.sink.to_file() {
            line::encode_capture_tail(&record)?
        } else {
            Vec::new()
        };
        match self
            .sink
            .commit(Entry::Capture(Arc::new(record)), tail)
            .await?
        {
            Committed::Capture(stored) => Ok(stored),
            Committed::Other => bail!("writing capture log: the capture was not committed"),
        }
    }

    /// Appends a forward or replay record linked to its capture; resolves once it is durable
    /// and front ends have heard of it ([`Event::Forwarded`]).
    pub async fn append_exchange(&self, exchange: Exchange) -> Result<()> {
        let tail = line::encode_exchange_tail(&exchange)?;
        self.sink
            .commit(Entry::Exchange(Arc::new(exchange)), tail)
            .await
            .map(|_| ())
    }

    /// Records that a listener started on this log, with its `--forward-to` target (the
    /// default target of a later `hooklens replay`) and the public URL of its `--tunnel`.
    pub async fn append_session(
        &self,
        forward_to: Option<RecordedTarget>,
        public_url: Option<&str>,
    ) -> Result<()> {
        let tail = line::encode_session_tail(now_ms(), forward_to.as_ref(), public_url)?;
        self.sink
            .commit(Entry::Session(forward_to), tail)
            .await
            .map(|_| ())
    }

    /// Whether the log file has reached `cap` bytes (`--max-log`). The first time it has, front
    /// ends get one notice saying so.
    pub fn log_full(&self, cap: u64) -> bool {
        let size = self.log_bytes.load(Ordering::Relaxed);
        if size < cap || self.path.is_none() {
            return false;
        }
        if !self.full_noticed.swap(true, Ordering::Relaxed) {
            self.notice(format!(
                "capture log reached --max-log ({size} of {cap} bytes): new requests are answered 507 and not stored"
            ));
        }
        true
    }

    /// Subscribes to events published after each durable append.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Publishes a one-line notice to front ends.
    pub fn notice(&self, message: impl Into<String>) {
        let _ = self.events.send(Event::Notice(message.into()));
    }

    /// Read access to the index.
    pub fn index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Path of the log file, if captures are stored.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Reads a full capture record back (from disk, or memory with `--no-store`).
    pub fn load(&self, id: CaptureId) -> Result<CaptureRecord> {
        // The location is copied out so the disk read does not hold up the writer.
        let at = self
            .index()
            .location(id)
            .cloned()
            .with_context(|| format!("no capture {id}"))?;
        at.read(self.reader.as_deref(), id)
    }

    /// The forwards and replays of a capture, oldest first.
    pub fn exchanges(&self, id: CaptureId) -> Result<Vec<Exchange>> {
        let places = self.index().exchange_places(id).to_vec();
        read_exchanges(self.reader.as_deref(), &places)
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::io::Write;

    use super::*;
    use crate::model::exchange::PathMode;
    use crate::store::fixtures::{exchange, record};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_appends_get_unique_ordered_ids_on_disk_and_in_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let (store, writer, _) = Store::open(Some(&path)).unwrap();
        let tasks: Vec<_> = (0..300)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let key = format!("job_{}-completed", i % 50);
                    store
                        .append(record(format!("{i}").as_bytes(), Some(&key)))
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let ids: Vec<u64> = store.index().rows().iter().map(|r| r.id.0).collect();
        assert_eq!(ids, (1..=300).collect::<Vec<_>>());
        // Exactly one capture per key is the first; the rest point at an earlier capture.
        let firsts = store
            .index()
            .rows()
            .iter()
            .filter(|r| r.dup_of.is_none())
            .count();
        assert_eq!(firsts, 50);
        assert!(
            store
                .index()
                .rows()
                .iter()
                .all(|r| r.dup_of.is_none_or(|d| d < r.id))
        );
        drop(store);
        writer.join().await;
        let ro = Store::open_readonly(&path).unwrap();
        assert_eq!(
            ro.recovery,
            Recovery {
                captures: 300,
                ..Default::default()
            }
        );
        let reread: Vec<u64> = ro.index().rows().iter().map(|r| r.id.0).collect();
        assert_eq!(reread, ids, "file lines are in id order");
    }

    #[tokio::test]
    async fn memory_mode_keeps_every_row_but_only_the_newest_bodies() {
        let (store, writer, _) = Store::open(None).unwrap();
        for i in 0..MEMORY_KEEP + 2 {
            store
                .append(record(format!("{i}").as_bytes(), None))
                .await
                .unwrap();
        }
        assert_eq!(store.index().len(), MEMORY_KEEP + 2);
        let err = store.load(CaptureId(2)).unwrap_err().to_string();
        assert!(err.contains("no longer in memory"), "{err}");
        let newest = store.load(CaptureId(MEMORY_KEEP as u64 + 2)).unwrap();
        assert_eq!(newest.capture.id, CaptureId(MEMORY_KEEP as u64 + 2));
        assert_eq!(
            newest.capture.body.as_ref(),
            format!("{}", MEMORY_KEEP + 1).as_bytes()
        );
        assert!(store.load(CaptureId(3)).is_ok());
        drop(store);
        writer.join().await;
    }

    #[tokio::test]
    async fn append_recover_and_continue_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        {
            let (store, writer, _) = Store::open(Some(&path)).unwrap();
            let a = store.append(record(b"a", Some("k"))).await.unwrap();
            let b = store.append(record(b"b", Some("k"))).await.unwrap();
            assert_eq!((a.summary.id, b.summary.id), (CaptureId(1), CaptureId(2)));
            assert_eq!(b.summary.dup_of, Some(CaptureId(1)));
            assert_eq!(
                store.load(CaptureId(2)).unwrap().capture.body.as_ref(),
                b"b"
            );
            drop(store);
            writer.join().await;
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Simulate a crash in the middle of the next line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"v\":1,\"kind\":\"capture\",\"id\":3,\"rece")
            .unwrap();
        drop(f);
        let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
        assert_eq!(recovery.captures, 2);
        assert!(recovery.torn_bytes > 0);
        let c = store.append(record(b"c", Some("k"))).await.unwrap();
        assert_eq!(c.summary.id, CaptureId(3));
        assert_eq!(c.summary.dup_of, Some(CaptureId(1)));
        drop(store);
        writer.join().await;
        let ro = Store::open_readonly(&path).unwrap();
        assert_eq!(ro.index().len(), 3);
        assert_eq!(
            ro.recovery,
            Recovery {
                captures: 3,
                ..Default::default()
            }
        );
        assert_eq!(ro.load(CaptureId(3)).unwrap().capture.body.as_ref(), b"c");
    }

    #[tokio::test]
    async fn exchanges_link_to_their_capture_live_and_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        {
            let (store, writer, _) = Store::open(Some(&path)).unwrap();
            let target = RecordedTarget {
                url: "http://127.0.0.1:3000/app".into(),
                path: PathMode::Replace,
            };
            store
                .append_session(Some(target.clone()), None)
                .await
                .unwrap();
            assert_eq!(store.index().forward_to(), Some(&target));
            let mut events = store.subscribe();
            store.append(record(b"a", None)).await.unwrap();
            store.append(record(b"b", None)).await.unwrap();
            store
                .append_exchange(exchange(1, Some(500), true))
                .await
                .unwrap();
            store
                .append_exchange(exchange(1, None, false))
                .await
                .unwrap();
            let _ = events.recv().await; // the captures
            let _ = events.recv().await;
            assert!(
                matches!(events.recv().await, Ok(Event::Forwarded(e)) if e.capture == CaptureId(1))
            );
            let row = store.index().get(CaptureId(1)).unwrap().clone();
            assert_eq!(
                row.response_status, 500,
                "relayed status replaces the verdict's"
            );
            let brief = row.exchange.unwrap();
            assert_eq!((brief.receiver_status, brief.count), (None, 2));
            assert_eq!(store.exchanges(CaptureId(1)).unwrap().len(), 2);
            assert!(store.exchanges(CaptureId(2)).unwrap().is_empty());
            drop(store);
            writer.join().await;
        }
        // A crash in the middle of a forward record is cut like a torn capture.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"v\":1,\"kind\":\"forward\",\"capture\":2,\"at")
            .unwrap();
        drop(f);
        let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
        assert_eq!(recovery.captures, 2);
        assert!(recovery.torn_bytes > 0);
        assert_eq!(recovery.corrupt_lines, 0);
        assert_eq!(
            store.index().get(CaptureId(1)).unwrap().response_status,
            500
        );
        assert_eq!(
            store.index().forward_to().map(|t| t.path),
            Some(PathMode::Replace)
        );
        let again = store.exchanges(CaptureId(1)).unwrap();
        assert_eq!(again[0], exchange(1, Some(500), true));
        assert_eq!(again[1].error.as_deref(), Some("reset"));
        assert!(store.exchanges(CaptureId(2)).unwrap().is_empty());
        drop(store);
        writer.join().await;
    }

    #[tokio::test]
    async fn another_process_appending_does_not_confuse_the_listeners_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let (store, writer, _) = Store::open(Some(&path)).unwrap();
        store.append(record(b"first", None)).await.unwrap();
        // `hooklens replay` appends from another process while the listener runs.
        append_exchanges_to(&path, &[exchange(1, Some(204), false)]).unwrap();
        store.append(record(b"second", None)).await.unwrap();
        assert_eq!(
            store.load(CaptureId(2)).unwrap().capture.body.as_ref(),
            b"second"
        );
        drop(store);
        writer.join().await;
        let ro = Store::open_readonly(&path).unwrap();
        assert_eq!(ro.recovery.corrupt_lines, 0);
        assert_eq!(ro.exchanges(CaptureId(1)).unwrap().len(), 1);
        assert_eq!(
            ro.load(CaptureId(2)).unwrap().capture.body.as_ref(),
            b"second"
        );
    }

    #[tokio::test]
    async fn memory_mode_keeps_exchanges_too() {
        let (store, writer, _) = Store::open(None).unwrap();
        store.append(record(b"a", None)).await.unwrap();
        store
            .append_exchange(exchange(1, Some(204), false))
            .await
            .unwrap();
        assert_eq!(store.exchanges(CaptureId(1)).unwrap().len(), 1);
        drop(store);
        writer.join().await;
    }
}
