//! The capture log: one append-only JSON Lines file, one writer, an in-memory index.
//!
//! * Durability: appends go through a channel to two "sync lanes" (threads). A lane takes
//!   every pending append (group commit), assigns ids and writes them with one `write` while it
//!   holds the intake, then releases the intake and calls `fdatasync`, so the other lane can
//!   gather and write the next batch while this one syncs (concurrent syncs overlap in the
//!   kernel). Batches are published in order: rows join the index, front ends hear of them,
//!   and only then is each request answered.
//! * One owner: a listener locks the log for as long as it runs (a second one is refused), and
//!   a file that is not a capture log is refused and left untouched (`file`).
//! * Recovery: on open the log is scanned to rebuild the index, from where its index snapshot
//!   (`<log>.rows`, `snapshot`) ends when it has a usable one; a torn last line (a crash mid
//!   write) is reported, saved beside the log and cut; ids continue after the highest one
//!   found. The snapshot is brought up to date when the writer ends
//!   ([`WriterHandle::join`]). A failed or short write (a full disk) is cut back, so the log
//!   always ends with a whole record.
//! * Memory: the index keeps a compact [`Summary`](crate::model::record::Summary) per capture
//!   and the byte range of its line; bodies stay on disk and are read back on demand
//!   ([`Store::load`]).
//!
//! The format is versioned (`"v": 1` on every line) and documented in the README.
//!
//! The parts: `file` (identity, the owner's lock, appends, private files), `line` (the line
//! format), `index` (the rows and where records are), `commit`
//! (the group commit and its sync lanes), `scan` (recovery), `snapshot` (the index snapshot
//! beside the log that opening loads instead of scanning what it covers), `readonly` (the
//! log as offline commands read it, and appends from another process), `foreign` (what other
//! processes append while a listener owns the log, taken in live), `sidecar` (the offset
//! index beside the log that `show`, `export --curl` and `replay` look ids up in), `identity`
//! (which log a file beside it belongs to, for those two), `stream` (`list`: the rows in log
//! order as they are read, without the index) and [`tail`] (`hooklens wait`).

mod commit;
mod file;
#[cfg(test)]
mod fixtures;
mod foreign;
pub mod fuzzing;
mod identity;
mod index;
mod line;
mod readonly;
mod scan;
mod sidecar;
mod snapshot;
mod stream;
pub mod tail;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, bail};
use tokio::sync::broadcast;

use crate::model::capture::{CaptureId, now_ms};
use crate::model::exchange::{Exchange, RecordedTarget};
use crate::model::record::{CaptureRecord, Event, Stored};
use commit::{Entry, Sink};
use index::read_exchanges;

pub use commit::{WriteFailed, WriterHandle};
pub use file::{Refused, open_private};
pub use index::{DEFAULT_MEMORY_CAP, Index, MEMORY_KEEP};
pub use line::{FORMAT_VERSION, decode_exchange, decode_line, decode_verdict, encode_line};
pub use readonly::{ReadOnlyLog, append_exchanges_to};
pub use scan::Recovery;
pub use sidecar::Lookup;
pub use stream::stream_rows;

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
    /// Opens (creating with mode 0600 and a header record) the log at `path` and becomes its
    /// one writer, or, with `None`, keeps captures in memory only (bodies up to
    /// [`DEFAULT_MEMORY_CAP`]). A file that is not a capture log, or a log another listener
    /// holds, is refused with [`Refused`] before anything is changed.
    pub fn open(path: Option<&Path>) -> Result<(Store, WriterHandle, Recovery)> {
        match path {
            Some(path) => Store::open_file(path),
            None => Ok(Store::open_in_memory(DEFAULT_MEMORY_CAP)),
        }
    }

    /// Keeps captures in memory only; the newest bodies are kept up to `cap` bytes in all (and
    /// [`MEMORY_KEEP`] records), older ones are let go (their rows stay listed).
    pub fn open_in_memory(cap: u64) -> (Store, WriterHandle, Recovery) {
        let mut index = Index::new();
        index.set_memory_cap(cap);
        Store::start(None, None, index, None, Recovery::default())
            .expect("an in-memory store starts without I/O")
    }

    fn open_file(path: &Path) -> Result<(Store, WriterHandle, Recovery)> {
        let mut options = OpenOptions::new();
        options.read(true).append(true);
        let (mut file, warning) = open_private(path, &options)
            .with_context(|| format!("opening capture log {}", path.display()))?;
        // Nothing is written before the file is known to be a log and this listener owns it.
        let empty = file::check_identity(&file, path)?;
        let lock = file::claim(&file, path)?;
        if empty {
            let mut header = Vec::new();
            line::push_line(&mut header, None, &line::encode_header_tail(now_ms())?);
            file::append_lines(&mut file, Some(&lock), &header)
                .and_then(|_| file.sync_data())
                .with_context(|| format!("writing capture log {}", path.display()))?;
        }
        let (index, mut recovery) = snapshot::open_index(&mut file, path, true)?;
        recovery.warnings.extend(warning);
        Store::start(Some(file), Some(lock), index, Some(path), recovery)
    }

    fn start(
        file: Option<File>,
        lock: Option<File>,
        index: Index,
        path: Option<&Path>,
        recovery: Recovery,
    ) -> Result<(Store, WriterHandle, Recovery)> {
        let reader = match path {
            Some(p) => {
                Some(Arc::new(File::open(p).with_context(|| {
                    format!("opening capture log {}", p.display())
                })?))
            }
            None => None,
        };
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let index = Arc::new(RwLock::new(index));
        let size = match &file {
            Some(f) => f.metadata().map_or(0, |m| m.len()),
            None => 0,
        };
        let log_bytes = Arc::new(AtomicU64::new(size));
        let foreign = match path {
            Some(p) => Some(
                File::open(p)
                    .and_then(|r| foreign::Foreign::start(r, size, index.clone(), events.clone()))
                    .with_context(|| format!("opening capture log {}", p.display()))?,
            ),
            None => None,
        };
        let (sink, mut writer) = Sink::start(
            file,
            lock,
            index.clone(),
            events.clone(),
            log_bytes.clone(),
            foreign,
        )?;
        if let Some(p) = path {
            writer.snapshot_at_end(p);
        }
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

    /// Opens an existing log for looking up a few captures by id through its offset index
    /// (`<log>.idx`, kept beside it; see `sidecar`). Never modifies the log.
    pub fn open_lookup(path: &Path) -> Result<Lookup> {
        Lookup::open(path)
    }

    /// Appends a capture and resolves once it is durable. The record's id is assigned here.
    pub async fn append(&self, record: CaptureRecord) -> Result<Arc<Stored>> {
        // Encoded here, on the request's task, so a lane only concatenates; into a buffer an
        // earlier append on this thread handed back, when there is one.
        let tail = if self.sink.to_file() {
            line::encode_capture_tail(&record, commit::line_buffer())?
        } else {
            Vec::new()
        };
        match self
            .sink
            .commit(Entry::Capture(Arc::new(record)), tail)
            .await?
            .finish()
        {
            Some(stored) => Ok(stored),
            None => bail!("writing capture log: the capture was not committed"),
        }
    }

    /// Appends a forward or replay record linked to its capture; resolves once it is durable
    /// and front ends have heard of it ([`Event::Forwarded`]).
    pub async fn append_exchange(&self, exchange: Exchange) -> Result<()> {
        let tail = line::encode_exchange_tail(&exchange)?;
        self.sink
            .commit(Entry::Exchange(Arc::new(exchange)), tail)
            .await
            .map(|committed| {
                committed.finish();
            })
    }

    /// Like [`Store::append_exchange`], but with no `fdatasync` of its own: it is written and
    /// announced in order, and becomes durable with the next synced append (or the kernel's
    /// writeback). For a relayed forward's record, whose answer the provider already has: a
    /// crash before then loses that record, never a capture.
    pub async fn append_exchange_unsynced(&self, exchange: Exchange) -> Result<()> {
        let tail = line::encode_exchange_tail(&exchange)?;
        self.sink
            .commit_as(Entry::Exchange(Arc::new(exchange)), tail, false)
            .await
            .map(|committed| {
                committed.finish();
            })
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
            .map(|committed| {
                committed.finish();
            })
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
                path: PathMode::Exact,
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
            Some(PathMode::Exact)
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
        // The listener took the other process's record in (once), by its next write at the
        // latest, and its index links it.
        assert_eq!(store.exchanges(CaptureId(1)).unwrap().len(), 1);
        assert_eq!(
            store
                .index()
                .get(CaptureId(1))
                .unwrap()
                .exchange
                .as_ref()
                .map(|b| b.count),
            Some(1)
        );
        // While idle, the poll announces what others append.
        let mut events = store.subscribe();
        append_exchanges_to(&path, &[exchange(2, Some(202), false)]).unwrap();
        let heard = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv()).await;
        assert!(
            matches!(&heard, Ok(Ok(Event::Forwarded(e))) if e.capture == CaptureId(2)),
            "{heard:?}"
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
    async fn memory_mode_caps_bodies_by_bytes_and_says_so_once() {
        let (store, writer, _) = Store::open_in_memory(10_000);
        let mut events = store.subscribe();
        let body = vec![b'x'; 3_000];
        for _ in 0..5 {
            store.append(record(&body, None)).await.unwrap();
        }
        assert_eq!(store.index().len(), 5, "every row stays listed");
        // 3 bodies (9,000 bytes) fit under 10,000: #1 and #2 were let go.
        for id in [1, 2] {
            let err = store.load(CaptureId(id)).unwrap_err().to_string();
            assert!(err.contains("no longer in memory"), "{err}");
        }
        for id in 3..=5 {
            assert_eq!(store.load(CaptureId(id)).unwrap().capture.body.len(), 3_000);
        }
        let mut notices = Vec::new();
        while let Ok(e) = events.try_recv() {
            if let Event::Notice(n) = e {
                notices.push(n);
            }
        }
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].contains("memory cap reached"), "{}", notices[0]);
        drop(store);
        writer.join().await;
    }

    #[tokio::test]
    async fn captures_a_forwarding_listener_never_forwarded_are_named_on_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let target = RecordedTarget {
            url: "http://127.0.0.1:3000/app".into(),
            path: PathMode::Prefix,
        };
        {
            let (store, writer, _) = Store::open(Some(&path)).unwrap();
            store.append_session(None, None).await.unwrap();
            store.append(record(b"not forwarding", None)).await.unwrap();
            store.append_session(Some(target), None).await.unwrap();
            for _ in 0..3 {
                store.append(record(b"to forward", None)).await.unwrap();
            }
            store
                .append_exchange(exchange(3, Some(204), false))
                .await
                .unwrap();
            drop(store);
            writer.join().await;
        }
        let ro = Store::open_readonly(&path).unwrap();
        assert_eq!(ro.recovery.unforwarded, [CaptureId(2), CaptureId(4)]);
        let report = ro.recovery.report(&path, false).join("\n");
        assert!(
            report.contains("2 captures were meant to be forwarded")
                && report.contains("replay --pending"),
            "{report}"
        );
        // A replay record (`hooklens replay --pending`) settles them.
        let mut replayed = exchange(2, Some(204), false);
        replayed.kind = crate::model::exchange::ExchangeKind::Replay;
        append_exchanges_to(&path, &[replayed, exchange(4, None, false)]).unwrap();
        let ro = Store::open_readonly(&path).unwrap();
        assert!(ro.recovery.unforwarded.is_empty());
    }

    #[tokio::test]
    async fn a_torn_record_is_saved_beside_the_log_before_it_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        {
            let (store, writer, _) = Store::open(Some(&path)).unwrap();
            store.append(record(b"a", None)).await.unwrap();
            drop(store);
            writer.join().await;
        }
        let whole = std::fs::read(&path).unwrap();
        let torn = b"{\"v\":1,\"kind\":\"capture\",\"id\":2,\"rece";
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(torn).unwrap();
        drop(f);
        let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
        drop(store);
        writer.join().await;
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        let saved = recovery.torn_saved.clone().unwrap();
        assert!(saved.to_string_lossy().contains("log.jsonl.torn-"));
        assert_eq!(std::fs::read(&saved).unwrap(), torn);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let report = recovery.report(&path, true).join("\n");
        assert!(report.contains("saved in"), "{report}");

        // A last line that is not a record is never cut: it stays, and the next capture
        // starts on a line of its own.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"hand-written note without newline").unwrap();
        drop(f);
        let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
        assert_eq!((recovery.torn_bytes, recovery.corrupt_lines), (0, 1));
        store.append(record(b"b", None)).await.unwrap();
        drop(store);
        writer.join().await;
        let text = std::fs::read(&path).unwrap();
        assert!(
            text.windows(34)
                .any(|w| w == b"hand-written note without newline\n")
        );
        let ro = Store::open_readonly(&path).unwrap();
        assert_eq!((ro.index().len(), ro.recovery.corrupt_lines), (2, 1));
        assert_eq!(ro.recovery.corrupt_at, [3]);
    }

    #[tokio::test]
    async fn a_second_writer_is_refused_with_the_owners_pid_and_a_new_log_has_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let (store, writer, _) = Store::open(Some(&path)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("{\"v\":1,\"kind\":\"log\",\"created_by\":\"hooklens\","),
            "{text}"
        );
        let before = std::fs::read(&path).unwrap();
        // Another spelling of the same file.
        let other = dir.path().join(".").join("log.jsonl");
        let err = Store::open(Some(&other)).err().unwrap();
        let refused = err.downcast_ref::<Refused>().expect("refused").to_string();
        assert!(
            refused.contains("in use by another hooklens listener"),
            "{refused}"
        );
        assert!(
            refused.contains(&format!("PID {}", std::process::id())),
            "{refused}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        drop(store);
        writer.join().await;
        // Once the owner is gone the log opens again.
        let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
        assert_eq!((recovery.captures, recovery.corrupt_lines), (0, 0));
        drop(store);
        writer.join().await;
    }

    #[test]
    fn files_that_are_not_logs_are_refused_and_left_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let readme = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let cases: [(&str, &[u8]); 4] = [
            (
                "data.json",
                b"{\"name\":\"a config\",\"values\":[1,2,3],\"nested\":{\"k\":true}}",
            ),
            (
                "notes.txt",
                b"remember: buy milk\nand call back\nno newline here",
            ),
            ("README.md", &readme),
            ("blank", b"\n\n"),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let err = Store::open(Some(&path)).err().unwrap();
            let msg = err.downcast_ref::<Refused>().expect("refused").to_string();
            assert!(msg.contains("is not a hooklens capture log"), "{msg}");
            assert!(Store::open_readonly(&path).is_err());
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} untouched");
            assert!(
                !file::lock_path(&path).exists(),
                "no lock file beside {name}"
            );
        }
        // A 1 GiB file without a newline (sparse): refused from its first bytes, not scanned.
        let huge = dir.path().join("huge.bin");
        File::create(&huge).unwrap().set_len(1 << 30).unwrap();
        let err = Store::open(Some(&huge)).err().unwrap();
        assert!(err.downcast_ref::<Refused>().is_some(), "{err}");
        assert_eq!(std::fs::metadata(&huge).unwrap().len(), 1 << 30);
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
