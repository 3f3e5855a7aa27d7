//! The capture log: one append-only JSON Lines file, one writer, an in-memory index.
//!
//! * Durability: a single writer thread owns the file. It takes every pending append from its
//!   channel (group commit), writes them with one `write`, calls `fdatasync` once, and only then
//!   answers each request and broadcasts the new captures. While it syncs, the next batch
//!   gathers in the channel, so batches grow with load instead of requests waiting on each
//!   other's fsync.
//! * Recovery: on open the log is scanned to rebuild the index; a torn last line (a crash mid
//!   write) is reported and truncated; ids continue after the highest one found.
//! * Memory: the index keeps a compact [`Summary`] per capture and the byte range of its line;
//!   bodies stay on disk and are read back on demand ([`Store::load`]).
//!
//! The format is versioned (`"v": 1` on every line) and documented in the README.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::capture::{Capture, CaptureId};
use crate::verify::{Outcome, Verdict};

/// Version written on every line.
pub const FORMAT_VERSION: u32 = 1;
/// Default log path.
pub const DEFAULT_PATH: &str = "hooklens-captures.jsonl";
const MAX_BATCH: usize = 1024;
const EVENT_CAPACITY: usize = 4096;

/// A capture with everything derived from it at arrival; one `capture` line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureRecord {
    /// The request as received.
    #[serde(flatten)]
    pub capture: Capture,
    /// Verification result at arrival.
    pub verdict: Verdict,
    /// Envelope `type`, when the body is the provider's JSON.
    pub event_type: Option<String>,
    /// Envelope `data.id`.
    pub data_id: Option<String>,
    /// `X-ModelGates-Idempotency-Key`, when present and UTF-8.
    pub idempotency_key: Option<String>,
    /// Status hooklens answered with.
    pub response_status: u16,
}

/// The line as read back: the header fields plus the record.
#[derive(Deserialize)]
struct LineOut {
    v: u32,
    kind: String,
    id: CaptureId,
    #[serde(flatten)]
    record: CaptureRecord,
}

/// Just what the index needs; deserializing this skips the body without decoding it.
#[derive(Deserialize)]
struct LineSummary<'a> {
    v: u32,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    id: Option<u64>,
    received_at_ms: Option<i64>,
    #[serde(borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    target: Option<std::borrow::Cow<'a, str>>,
    event_type: Option<String>,
    idempotency_key: Option<String>,
    verdict: Option<VerdictSummary>,
    #[serde(default)]
    body_len: Option<u64>,
    #[serde(default)]
    truncated: bool,
    #[serde(default)]
    response_status: u16,
}

#[derive(Deserialize)]
struct VerdictSummary {
    outcome: Outcome,
    skew_secs: Option<i64>,
}

/// The compact index row for one capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Capture id.
    pub id: CaptureId,
    /// Unix ms of arrival.
    pub received_at_ms: i64,
    /// Method.
    pub method: Arc<str>,
    /// Path and query.
    pub target: Arc<str>,
    /// Envelope type.
    pub event_type: Option<Arc<str>>,
    /// Verification outcome.
    pub outcome: Outcome,
    /// Signed skew in seconds.
    pub skew_secs: Option<i64>,
    /// Idempotency key.
    pub idempotency_key: Option<Box<str>>,
    /// The first capture with the same idempotency key, when this one repeats it.
    pub dup_of: Option<CaptureId>,
    /// Body length in bytes (as kept).
    pub body_len: u64,
    /// Body was cut at the size limit.
    pub truncated: bool,
    /// Status hooklens answered with.
    pub response_status: u16,
}

#[derive(Clone, Debug)]
enum Location {
    File { offset: u64, len: u32 },
    Memory(Arc<CaptureRecord>),
}

/// Everything known about the log, in id order.
#[derive(Debug, Default)]
pub struct Index {
    rows: Vec<Summary>,
    locations: Vec<Location>,
    first_by_key: HashMap<Box<str>, CaptureId>,
    interned: HashSet<Arc<str>>,
    next_id: u64,
}

impl Index {
    /// All rows, oldest first.
    pub fn rows(&self) -> &[Summary] {
        &self.rows
    }

    /// Number of captures.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no captures.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row position of an id.
    pub fn position(&self, id: CaptureId) -> Option<usize> {
        self.rows.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// Row for an id.
    pub fn get(&self, id: CaptureId) -> Option<&Summary> {
        self.position(id).map(|i| &self.rows[i])
    }

    /// Other captures with the same idempotency key, oldest first.
    pub fn same_key(&self, key: &str) -> Vec<CaptureId> {
        self.rows
            .iter()
            .filter(|r| r.idempotency_key.as_deref() == Some(key))
            .map(|r| r.id)
            .collect()
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(hit) = self.interned.get(s) {
            return hit.clone();
        }
        let arc: Arc<str> = Arc::from(s);
        // Paths and types repeat; unbounded distinct values are not worth keeping shared.
        if self.interned.len() < 10_000 {
            self.interned.insert(arc.clone());
        }
        arc
    }

    fn dup_of(&self, key: Option<&str>) -> Option<CaptureId> {
        key.and_then(|k| self.first_by_key.get(k).copied())
    }

    fn push(&mut self, row: Summary, location: Location) {
        if let Some(k) = &row.idempotency_key {
            self.first_by_key.entry(k.clone()).or_insert(row.id);
        }
        self.next_id = self.next_id.max(row.id.0 + 1);
        self.rows.push(row);
        self.locations.push(location);
    }
}

/// Published to front ends after a record is durable.
#[derive(Clone, Debug)]
pub enum Event {
    /// A new capture is on disk.
    Captured(Arc<Stored>),
    /// Something the user should see (a warning, a connection error), one line.
    Notice(String),
}

/// A capture as announced to front ends.
#[derive(Clone, Debug)]
pub struct Stored {
    /// Index row.
    pub summary: Summary,
    /// Full verdict (reason, hints, matched secret).
    pub verdict: Verdict,
}

/// What recovery found when opening the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Captures loaded.
    pub captures: usize,
    /// Bytes of a torn last line that were cut off.
    pub torn_bytes: u64,
    /// Lines that could not be parsed (kept in the file, skipped).
    pub corrupt_lines: usize,
    /// Lines of a newer format version or unknown kind (kept, skipped).
    pub skipped_lines: usize,
}

struct Job {
    record: Arc<CaptureRecord>,
    tail: Vec<u8>,
    reply: oneshot::Sender<Result<Arc<Stored>, String>>,
}

/// Shared handle to the capture log. Cloning is cheap.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::Sender<Job>,
    index: Arc<RwLock<Index>>,
    reader: Option<Arc<File>>,
    events: broadcast::Sender<Event>,
    path: Option<PathBuf>,
}

/// Publishes one-line notices to front ends (see [`Store::notifier`]).
#[derive(Clone, Debug)]
pub struct Notifier(broadcast::Sender<Event>);

impl Notifier {
    /// Publishes a one-line notice.
    pub fn notice(&self, message: impl Into<String>) {
        let _ = self.0.send(Event::Notice(message.into()));
    }
}

/// Joins the writer thread; the log is flushed and synced once this returns.
pub struct WriterHandle(std::thread::JoinHandle<()>);

impl WriterHandle {
    /// Waits for the writer to drain and exit (after every `Store` clone is dropped).
    pub async fn join(self) {
        let _ = tokio::task::spawn_blocking(move || self.0.join()).await;
    }
}

impl Store {
    /// Opens (creating with mode 0600) or, with `None`, keeps captures in memory only.
    pub fn open(path: Option<&Path>) -> Result<(Store, WriterHandle, Recovery)> {
        let mut index = Index {
            next_id: 1,
            ..Index::default()
        };
        let (file, reader, recovery) = match path {
            Some(path) => {
                let mut file = OpenOptions::new()
                    .read(true)
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .open(path)
                    .with_context(|| format!("opening capture log {}", path.display()))?;
                let recovery = scan(&mut file, &mut index, true)
                    .with_context(|| format!("reading capture log {}", path.display()))?;
                let reader = File::open(path)
                    .with_context(|| format!("opening capture log {}", path.display()))?;
                (Some(file), Some(Arc::new(reader)), recovery)
            }
            None => (None, None, Recovery::default()),
        };
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let index = Arc::new(RwLock::new(index));
        let writer = {
            let index = index.clone();
            let events = events.clone();
            std::thread::Builder::new()
                .name("hooklens-writer".into())
                .spawn(move || write_loop(file, rx, index, events))
                .context("starting the log writer")?
        };
        let store = Store {
            tx,
            index,
            reader,
            events,
            path: path.map(Path::to_path_buf),
        };
        Ok((store, WriterHandle(writer), recovery))
    }

    /// Opens an existing log for reading only (never modifies it; a listener may be writing).
    pub fn open_readonly(path: &Path) -> Result<ReadOnlyLog> {
        let mut file =
            File::open(path).with_context(|| format!("opening capture log {}", path.display()))?;
        let mut index = Index::default();
        let recovery = scan(&mut file, &mut index, false)
            .with_context(|| format!("reading capture log {}", path.display()))?;
        Ok(ReadOnlyLog {
            file,
            index,
            recovery,
        })
    }

    /// Appends a capture and resolves once it is durable. The record's id is assigned here.
    pub async fn append(&self, record: CaptureRecord) -> Result<Arc<Stored>> {
        let tail = encode_tail(&record)?;
        let (reply, answer) = oneshot::channel();
        let job = Job {
            record: Arc::new(record),
            tail,
            reply,
        };
        if self.tx.send(job).await.is_err() {
            bail!("the capture log writer has stopped");
        }
        match answer.await {
            Ok(Ok(stored)) => Ok(stored),
            Ok(Err(e)) => bail!("writing capture log: {e}"),
            Err(_) => bail!("the capture log writer has stopped"),
        }
    }

    /// Subscribes to events published after each durable append.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Publishes a one-line notice to front ends.
    pub fn notice(&self, message: impl Into<String>) {
        let _ = self.events.send(Event::Notice(message.into()));
    }

    /// A handle that publishes notices without keeping the writer alive (background tasks).
    pub fn notifier(&self) -> Notifier {
        Notifier(self.events.clone())
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
        let location = {
            let index = self.index();
            let pos = index
                .position(id)
                .with_context(|| format!("no capture {id}"))?;
            index.locations[pos].clone()
        };
        match location {
            Location::Memory(record) => Ok((*record).clone()),
            Location::File { offset, len } => {
                let reader = self.reader.as_ref().context("capture log is not open")?;
                read_record(reader, offset, len)
            }
        }
    }
}

/// A log opened for reading by `list`, `show` and other offline commands.
pub struct ReadOnlyLog {
    file: File,
    index: Index,
    /// What the scan found.
    pub recovery: Recovery,
}

impl ReadOnlyLog {
    /// The index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Reads one capture record.
    pub fn load(&self, id: CaptureId) -> Result<CaptureRecord> {
        let pos = self
            .index
            .position(id)
            .with_context(|| format!("no capture {id} in the log"))?;
        match &self.index.locations[pos] {
            Location::File { offset, len } => read_record(&self.file, *offset, *len),
            Location::Memory(r) => Ok((**r).clone()),
        }
    }
}

fn read_record(file: &File, offset: u64, len: u32) -> Result<CaptureRecord> {
    let mut line = vec![0u8; len as usize];
    file.read_exact_at(&mut line, offset)
        .context("reading a capture from the log")?;
    decode_line(&line)
}

/// Parses one full `capture` line (without the newline).
pub fn decode_line(line: &[u8]) -> Result<CaptureRecord> {
    let out: LineOut = serde_json::from_slice(line).context("corrupt capture line")?;
    if out.v > FORMAT_VERSION || out.kind != "capture" {
        bail!(
            "unsupported record (v {}, kind {:?}); this hooklens reads v{FORMAT_VERSION} captures",
            out.v,
            out.kind
        );
    }
    let mut record = out.record;
    record.capture.id = out.id;
    Ok(record)
}

/// Serializes a record without its id: `"received_at_ms":…}` (the writer prepends the head).
fn encode_tail(record: &CaptureRecord) -> Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Tail<'a> {
        #[serde(flatten)]
        record: &'a CaptureRecord,
        body_len: usize,
    }
    let mut bytes = serde_json::to_vec(&Tail {
        record,
        body_len: record.capture.body.len(),
    })
    .context("encoding capture")?;
    bytes.remove(0); // the leading '{'
    Ok(bytes)
}

/// The full line for a record with an id (used by the writer and by tests).
pub fn encode_line(id: CaptureId, record: &CaptureRecord) -> Result<Vec<u8>> {
    let tail = encode_tail(record)?;
    Ok(line_from_tail(id, &tail))
}

fn line_from_tail(id: CaptureId, tail: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(tail.len() + 40);
    line.extend_from_slice(
        format!(
            "{{\"v\":{FORMAT_VERSION},\"kind\":\"capture\",\"id\":{},",
            id.0
        )
        .as_bytes(),
    );
    line.extend_from_slice(tail);
    line.push(b'\n');
    line
}

fn summary_of(index: &mut Index, id: CaptureId, record: &CaptureRecord) -> Summary {
    let c = &record.capture;
    Summary {
        id,
        received_at_ms: c.received_at_ms,
        method: index.intern(&c.method),
        target: index.intern(&c.target),
        event_type: record.event_type.as_deref().map(|t| index.intern(t)),
        outcome: record.verdict.outcome,
        skew_secs: record.verdict.skew_secs,
        idempotency_key: record.idempotency_key.as_deref().map(Box::from),
        dup_of: index.dup_of(record.idempotency_key.as_deref()),
        body_len: c.body.len() as u64,
        truncated: c.truncated,
        response_status: record.response_status,
    }
}

fn write_loop(
    mut file: Option<File>,
    mut rx: mpsc::Receiver<Job>,
    index: Arc<RwLock<Index>>,
    events: broadcast::Sender<Event>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut buf: Vec<u8> = Vec::new();
    let mut end = match file.as_mut().map(|f| f.seek(SeekFrom::End(0))) {
        Some(Ok(pos)) => pos,
        _ => 0,
    };
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }

        // Assign ids and build rows (only this thread appends, so ids cannot race).
        buf.clear();
        let mut staged = Vec::with_capacity(batch.len());
        {
            let mut idx = index.write().unwrap_or_else(|p| p.into_inner());
            let first_id = idx.next_id;
            let mut keys_in_batch: HashMap<&str, CaptureId> = HashMap::new();
            for (n, job) in (first_id..).zip(batch.iter()) {
                let id = CaptureId(n);
                let mut row = summary_of(&mut idx, id, &job.record);
                if row.dup_of.is_none()
                    && let Some(k) = job.record.idempotency_key.as_deref()
                {
                    row.dup_of = keys_in_batch.get(k).copied();
                    keys_in_batch.entry(k).or_insert(id);
                }
                let location = if file.is_some() {
                    let start = buf.len() as u64;
                    buf.extend_from_slice(&line_from_tail(id, &job.tail));
                    Location::File {
                        offset: end + start,
                        len: (buf.len() as u64 - start - 1) as u32,
                    }
                } else {
                    let mut rec = (*job.record).clone();
                    rec.capture.id = id;
                    Location::Memory(Arc::new(rec))
                };
                staged.push((row, location));
            }
        }

        let written = match file.as_mut() {
            Some(f) => f
                .write_all(&buf)
                .and_then(|()| f.sync_data())
                .map_err(|e| e.to_string()),
            None => Ok(()),
        };
        match written {
            Ok(()) => {
                end += buf.len() as u64;
                let mut idx = index.write().unwrap_or_else(|p| p.into_inner());
                for (job, (row, location)) in batch.drain(..).zip(staged) {
                    let stored = Arc::new(Stored {
                        summary: row.clone(),
                        verdict: job.record.verdict.clone(),
                    });
                    idx.push(row, location);
                    let _ = job.reply.send(Ok(stored.clone()));
                    let _ = events.send(Event::Captured(stored));
                }
            }
            Err(e) => {
                // Nothing of this batch is acknowledged; put the file end back where it was so
                // the next batch does not follow a partial write.
                if let Some(f) = file.as_mut() {
                    let _ = f.set_len(end);
                }
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(e.clone()));
                }
                let _ = events.send(Event::Notice(format!("capture log write failed: {e}")));
            }
        }
    }
    if let Some(f) = file.as_mut() {
        let _ = f.sync_all();
    }
}

/// Scans the whole log into `index`. With `repair`, a torn last line is truncated.
fn scan(file: &mut File, index: &mut Index, repair: bool) -> Result<Recovery> {
    let mut recovery = Recovery::default();
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(1 << 20, &*file);
    let mut line = Vec::with_capacity(4096);
    let mut offset = 0u64;
    let mut torn_at = None;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        let complete = line.last() == Some(&b'\n');
        let content = if complete { &line[..n - 1] } else { &line[..] };
        match parse_summary(index, content) {
            Ok(Some((row, len))) => {
                index.push(
                    row,
                    Location::File {
                        offset,
                        len: len as u32,
                    },
                );
                recovery.captures += 1;
                if !complete {
                    // A whole record that only lacks its newline: keep it, finish the line.
                    torn_at = Some((offset + n as u64, true));
                }
            }
            Ok(None) => recovery.skipped_lines += 1,
            Err(()) if !complete => torn_at = Some((offset, false)),
            Err(()) if content.iter().all(u8::is_ascii_whitespace) => {}
            Err(()) => recovery.corrupt_lines += 1,
        }
        offset += n as u64;
    }
    drop(reader);
    if let Some((at, whole)) = torn_at {
        if whole {
            if repair {
                file.write_all(b"\n")?;
            }
        } else {
            recovery.torn_bytes = offset - at;
            if repair {
                file.set_len(at)?;
                file.sync_all()?;
            }
        }
    }
    Ok(recovery)
}

/// Parses the index fields of one line; `Ok(None)` for a record that is not a capture.
fn parse_summary(index: &mut Index, content: &[u8]) -> Result<Option<(Summary, usize)>, ()> {
    let s: LineSummary = serde_json::from_slice(content).map_err(|_| ())?;
    if s.v > FORMAT_VERSION || s.kind != "capture" {
        return Ok(None);
    }
    let (Some(id), Some(verdict)) = (s.id, s.verdict) else {
        return Err(());
    };
    let id = CaptureId(id);
    let row = Summary {
        id,
        received_at_ms: s.received_at_ms.unwrap_or(0),
        method: index.intern(s.method.as_deref().unwrap_or("")),
        target: index.intern(s.target.as_deref().unwrap_or("")),
        event_type: s.event_type.as_deref().map(|t| index.intern(t)),
        outcome: verdict.outcome,
        skew_secs: verdict.skew_secs,
        dup_of: index.dup_of(s.idempotency_key.as_deref()),
        idempotency_key: s.idempotency_key.map(Box::from),
        body_len: s.body_len.unwrap_or(0),
        truncated: s.truncated,
        response_status: s.response_status,
    };
    if index.position(id).is_some() || index.rows.last().is_some_and(|r| r.id > id) {
        // Ids are strictly increasing in a log we wrote; anything else is corruption.
        return Err(());
    }
    Ok(Some((row, content.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Verdict;

    fn record(body: &[u8], key: Option<&str>) -> CaptureRecord {
        CaptureRecord {
            capture: Capture::fixture(body, &[("Content-Type", "application/json")]),
            verdict: Verdict::new(Some("modelgates"), Outcome::Valid, "ok"),
            event_type: Some("video.generation.completed".into()),
            data_id: Some("job".into()),
            idempotency_key: key.map(str::to_owned),
            response_status: 204,
        }
    }

    #[test]
    fn line_round_trips_byte_for_byte() {
        let rec = record(b"\x00\xff\x1b[31m", Some("job-completed"));
        let line = encode_line(CaptureId(42), &rec).unwrap();
        assert!(line.starts_with(b"{\"v\":1,\"kind\":\"capture\",\"id\":42,"));
        let back = decode_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(back.capture.id, CaptureId(42));
        assert_eq!(back.capture.body, rec.capture.body);
        let mut expected = rec.clone();
        expected.capture.id = CaptureId(42);
        assert_eq!(back, expected);
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
}
