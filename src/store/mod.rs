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
//! * Memory: the index keeps a compact [`Summary`] per capture and the byte range of its line;
//!   bodies stay on disk and are read back on demand ([`Store::load`]).
//!
//! The format is versioned (`"v": 1` on every line) and documented in the README.

pub mod tail;

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::model::capture::{CaptureId, now_ms};
use crate::model::exchange::{Exchange, ExchangeKind};
use crate::model::exchange::{PathMode, RecordedTarget};
use crate::model::record::{CaptureRecord, Event, LinkedBrief, Stored, Summary};
use crate::verify::Outcome;

/// Version written on every line.
pub const FORMAT_VERSION: u32 = 1;
/// Default log path.
pub const DEFAULT_PATH: &str = "hooklens-captures.jsonl";
const MAX_BATCH: usize = 1024;
const EVENT_CAPACITY: usize = 4096;

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
    #[serde(borrow)]
    event_type: Option<std::borrow::Cow<'a, str>>,
    idempotency_key: Option<String>,
    data_id: Option<String>,
    verdict: Option<VerdictSummary>,
    #[serde(default)]
    body_len: Option<u64>,
    #[serde(default)]
    truncated: bool,
    #[serde(default)]
    response_status: u16,
}

/// The index fields of a `forward`, `replay` or `session` line (kept apart from
/// [`LineSummary`] so the million-line capture scan matches fewer field names).
#[derive(Deserialize)]
struct OtherSummary<'a> {
    v: u32,
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    capture: Option<u64>,
    latency_us: Option<u64>,
    status: Option<u16>,
    #[serde(default)]
    relayed: bool,
    response: Option<ResponseSummary>,
    #[serde(borrow)]
    forward_to: Option<std::borrow::Cow<'a, str>>,
    forward_path: Option<PathMode>,
}

#[derive(Deserialize)]
struct ResponseSummary {
    status: u16,
}

#[derive(Deserialize)]
struct VerdictSummary {
    outcome: Outcome,
    skew_secs: Option<i64>,
}

#[derive(Clone, Debug)]
enum Location {
    File {
        offset: u64,
        len: u32,
    },
    /// `--no-store`: the record as received (its `capture.id` is not set; the row has it).
    Memory(Arc<CaptureRecord>),
    /// `--no-store` keeps only the newest [`MEMORY_KEEP`] records; older rows stay listed.
    Evicted,
}

/// With `--no-store`, how many full records stay in memory (the index keeps every row).
pub const MEMORY_KEEP: usize = 10_000;

/// Where an exchange record is.
#[derive(Clone, Debug)]
enum ExchangeAt {
    File { offset: u64, len: u32 },
    Memory(Arc<Exchange>),
}

/// Everything known about the log, in id order.
#[derive(Debug, Default)]
pub struct Index {
    rows: Vec<Summary>,
    locations: Vec<Location>,
    /// The first capture of each idempotency key (the key shared with its row).
    first_by_key: HashMap<Arc<str>, CaptureId>,
    interned: HashSet<Arc<str>>,
    last_interned: [Arc<str>; 4],
    next_id: u64,
    /// Forward and replay records per capture, oldest first.
    exchanges: HashMap<CaptureId, Vec<ExchangeAt>>,
    /// The newest `--forward-to` a listener recorded in this log (`replay`'s default target).
    forward_to: Option<RecordedTarget>,
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

    /// The newest `--forward-to` URL a listener recorded in this log.
    pub fn forward_to(&self) -> Option<&RecordedTarget> {
        self.forward_to.as_ref()
    }

    /// Links an exchange to its capture's row. With `relayed`, the provider got `status`.
    fn link(&mut self, id: CaptureId, brief: LinkedBrief, at: ExchangeAt) -> bool {
        let Some(pos) = self.position(id) else {
            return false;
        };
        self.rows[pos].apply_link(&brief);
        self.exchanges.entry(id).or_default().push(at);
        true
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        // Consecutive captures nearly always share method, path and type: check the last
        // value handed out before hashing.
        if let Some(last) = self.last_interned.iter().find(|l| &***l == s) {
            return last.clone();
        }
        let arc = self.intern_slow(s);
        self.last_interned.rotate_right(1);
        self.last_interned[0] = arc.clone();
        arc
    }

    fn intern_slow(&mut self, s: &str) -> Arc<str> {
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

    /// The capture that first used `key`, or None after recording `id` as that first one.
    /// One hash lookup; the map shares the row's key.
    fn claim_key(&mut self, key: Option<&Arc<str>>, id: CaptureId) -> Option<CaptureId> {
        use std::collections::hash_map::Entry as Slot;
        match self.first_by_key.entry(key?.clone()) {
            Slot::Occupied(first) => Some(*first.get()),
            Slot::Vacant(slot) => {
                slot.insert(id);
                None
            }
        }
    }

    fn push(&mut self, row: Summary, location: Location) {
        self.next_id = self.next_id.max(row.id.0 + 1);
        self.rows.push(row);
        self.locations.push(location);
    }
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

/// What a log line holds.
#[derive(Clone, Debug)]
enum Entry {
    Capture(Arc<CaptureRecord>),
    Exchange(Arc<Exchange>),
    /// A listener started (its forward target, for `replay`'s default).
    Session(Option<RecordedTarget>),
}

/// What a committed entry produced.
enum Committed {
    Capture(Arc<Stored>),
    Other,
}

struct Job {
    entry: Entry,
    /// The encoded line without its head (see [`line_from_tail`]).
    tail: Vec<u8>,
    reply: oneshot::Sender<Result<Committed, String>>,
}

/// Shared handle to the capture log. Cloning is cheap.
#[derive(Clone)]
pub struct Store {
    sink: Sink,
    index: Arc<RwLock<Index>>,
    reader: Option<Arc<File>>,
    events: broadcast::Sender<Event>,
    path: Option<PathBuf>,
}

/// Where appends go: the sync lanes (file), or straight into memory (`--no-store`, where
/// there is nothing to sync and a thread hop would only add latency).
#[derive(Clone)]
enum Sink {
    Lanes(mpsc::Sender<Job>),
    Inline(Arc<std::sync::Mutex<Writer>>, broadcast::Sender<Event>),
}

/// Joins the sync lanes; every accepted capture is on disk once this returns.
pub struct WriterHandle(Vec<std::thread::JoinHandle<()>>);

impl WriterHandle {
    /// Waits for the lanes to drain and exit (after every `Store` clone is dropped).
    pub async fn join(self) {
        for thread in self.0 {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
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
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let index = Arc::new(RwLock::new(index));
        let mut writer = Writer {
            seq: 0,
            index: index.clone(),
            buf: Vec::new(),
            file,
        };
        let (sink, threads) = match writer.file.as_mut() {
            Some(f) => {
                let sync_fds = (0..SYNC_LANES)
                    .map(|_| f.try_clone())
                    .collect::<std::io::Result<Vec<File>>>()
                    .context("opening the capture log for syncing")?;
                let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
                let lanes = Arc::new(Lanes {
                    intake: std::sync::Mutex::new((rx, writer)),
                    published: std::sync::Mutex::new(0),
                    turn: std::sync::Condvar::new(),
                    index: index.clone(),
                    events: events.clone(),
                });
                let mut threads = Vec::new();
                for (n, fd) in sync_fds.into_iter().enumerate() {
                    let lanes = lanes.clone();
                    threads.push(
                        std::thread::Builder::new()
                            .name(format!("hooklens-log-{n}"))
                            .spawn(move || lane(lanes, fd))
                            .context("starting the log writer")?,
                    );
                }
                (Sink::Lanes(tx), threads)
            }
            None => (
                Sink::Inline(Arc::new(std::sync::Mutex::new(writer)), events.clone()),
                Vec::new(),
            ),
        };
        let store = Store {
            sink,
            index,
            reader,
            events,
            path: path.map(Path::to_path_buf),
        };
        Ok((store, WriterHandle(threads), recovery))
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
        // Encoded here, on the request's task, so a lane only concatenates.
        let tail = match self.sink {
            Sink::Lanes(_) => encode_tail(&record)?,
            Sink::Inline(..) => Vec::new(),
        };
        match self.commit(Entry::Capture(Arc::new(record)), tail).await? {
            Committed::Capture(stored) => Ok(stored),
            Committed::Other => bail!("writing capture log: the capture was not committed"),
        }
    }

    /// Appends a forward or replay record linked to its capture; resolves once it is durable
    /// and front ends have heard of it ([`Event::Forwarded`]).
    pub async fn append_exchange(&self, exchange: Exchange) -> Result<()> {
        let tail = encode_plain_tail(&exchange)?;
        self.commit(Entry::Exchange(Arc::new(exchange)), tail)
            .await
            .map(|_| ())
    }

    /// Records that a listener started on this log, with its `--forward-to` target (the
    /// default target of a later `hooklens replay`).
    pub async fn append_session(&self, forward_to: Option<RecordedTarget>) -> Result<()> {
        let tail = encode_plain_tail(&SessionLine {
            kind: "session",
            started_at_ms: now_ms(),
            forward_to: forward_to.as_ref().map(|f| f.url.as_str()),
            forward_path: forward_to.as_ref().map(|f| f.path),
        })?;
        self.commit(Entry::Session(forward_to), tail)
            .await
            .map(|_| ())
    }

    async fn commit(&self, entry: Entry, tail: Vec<u8>) -> Result<Committed> {
        let tx = match &self.sink {
            Sink::Lanes(tx) => tx,
            Sink::Inline(writer, events) => {
                // Memory only: nothing to sync, so stage and publish at once, in order.
                let mut writer = writer.lock().unwrap_or_else(|p| p.into_inner());
                let batch = [(entry, Vec::new())];
                let mut results = match writer.stage(&batch) {
                    Ok(st) => publish(&self.index, events, &batch, st.rows),
                    Err(e) => vec![Err(e)],
                };
                return match results.pop() {
                    Some(Ok(committed)) => Ok(committed),
                    Some(Err(e)) => bail!("writing capture log: {e}"),
                    None => bail!("writing capture log: nothing committed"),
                };
            }
        };
        let (reply, answer) = oneshot::channel();
        if tx.send(Job { entry, tail, reply }).await.is_err() {
            bail!("the capture log writer has stopped");
        }
        match answer.await {
            Ok(Ok(committed)) => Ok(committed),
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
            Location::Memory(record) => {
                let mut record = (*record).clone();
                record.capture.id = id;
                Ok(record)
            }
            Location::File { offset, len } => {
                let reader = self.reader.as_ref().context("capture log is not open")?;
                read_record(reader, offset, len)
            }
            Location::Evicted => bail!(
                "capture {id} is no longer in memory (--no-store keeps the newest {MEMORY_KEEP}; use --store to keep all)"
            ),
        }
    }

    /// The forwards and replays of a capture, oldest first.
    pub fn exchanges(&self, id: CaptureId) -> Result<Vec<Exchange>> {
        let places = self.index().exchanges.get(&id).cloned().unwrap_or_default();
        load_exchanges(self.reader.as_deref(), &places)
    }
}

fn load_exchanges(file: Option<&File>, places: &[ExchangeAt]) -> Result<Vec<Exchange>> {
    places
        .iter()
        .map(|at| match at {
            ExchangeAt::Memory(e) => Ok((**e).clone()),
            ExchangeAt::File { offset, len } => {
                let file = file.context("capture log is not open")?;
                let mut line = vec![0u8; *len as usize];
                file.read_exact_at(&mut line, *offset)
                    .context("reading a forward record from the log")?;
                decode_exchange(&line)
            }
        })
        .collect()
}

/// Parses one `forward` or `replay` line (without the newline).
pub fn decode_exchange(line: &[u8]) -> Result<Exchange> {
    #[derive(Deserialize)]
    struct Out {
        v: u32,
        #[serde(flatten)]
        exchange: Exchange,
    }
    let out: Out = serde_json::from_slice(line).context("corrupt forward record")?;
    if out.v > FORMAT_VERSION {
        bail!("unsupported forward record (v {})", out.v);
    }
    Ok(out.exchange)
}

/// Appends forward or replay records to a log another process may be writing (`hooklens
/// replay`): whole lines with `O_APPEND`, then a sync. A listener on the same file keeps its
/// own records' positions (it learns where its writes landed), and a later scan finds these.
pub fn append_exchanges_to(path: &Path, exchanges: &[Exchange]) -> Result<()> {
    let mut buf = Vec::new();
    for e in exchanges {
        push_line(&mut buf, None, &encode_plain_tail(e)?);
    }
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("opening capture log {}", path.display()))?;
    file.write_all(&buf)
        .and_then(|()| file.sync_data())
        .with_context(|| format!("writing capture log {}", path.display()))
}

#[derive(Serialize)]
struct SessionLine<'a> {
    kind: &'static str,
    started_at_ms: i64,
    forward_to: Option<&'a str>,
    forward_path: Option<PathMode>,
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
            .with_context(|| match self.recovery.corrupt_lines {
                0 => format!("no capture {id} in the log"),
                1 => format!("no capture {id} in the log (1 unreadable line was skipped)"),
                n => format!("no capture {id} in the log ({n} unreadable lines were skipped)"),
            })?;
        match &self.index.locations[pos] {
            Location::File { offset, len } => read_record(&self.file, *offset, *len),
            Location::Memory(_) | Location::Evicted => bail!("capture {id} is not in the log file"),
        }
    }

    /// The forwards and replays of a capture, oldest first.
    pub fn exchanges(&self, id: CaptureId) -> Result<Vec<Exchange>> {
        let places = self.index.exchanges.get(&id).map_or(&[][..], Vec::as_slice);
        load_exchanges(Some(&self.file), places)
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

/// Serializes a record that has a `kind` field, without its leading `{` (the writer prepends
/// `{"v":1,`).
fn encode_plain_tail<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec(value).context("encoding log record")?;
    bytes.remove(0);
    Ok(bytes)
}

/// The full line for a record with an id (used by the writer and by tests).
pub fn encode_line(id: CaptureId, record: &CaptureRecord) -> Result<Vec<u8>> {
    let tail = encode_tail(record)?;
    Ok(line_from_tail(id, &tail))
}

fn line_from_tail(id: CaptureId, tail: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(tail.len() + 40);
    push_line(&mut line, Some(id), tail);
    line
}

/// Appends one whole line: the head (`{"v":1,` plus, for a capture, its kind and id), the
/// encoded tail and the newline.
fn push_line(buf: &mut Vec<u8>, capture_id: Option<CaptureId>, tail: &[u8]) {
    match capture_id {
        Some(id) => {
            let _ = write!(
                buf,
                "{{\"v\":{FORMAT_VERSION},\"kind\":\"capture\",\"id\":{},",
                id.0
            );
        }
        None => {
            let _ = write!(buf, "{{\"v\":{FORMAT_VERSION},");
        }
    }
    buf.extend_from_slice(tail);
    buf.push(b'\n');
}

/// The row for a new capture; claims its idempotency key in the index.
fn summary_of(index: &mut Index, id: CaptureId, record: &CaptureRecord) -> Summary {
    let mut row = Summary::build(id, record, &mut |s| index.intern(s));
    row.dup_of = index.claim_key(row.idempotency_key.as_ref(), id);
    row
}

/// The single appender of the log file (or, with `--no-store`, of the in-memory records).
/// Only the thread holding it assigns ids and writes, so ids and lines cannot interleave.
struct Writer {
    file: Option<File>,
    /// Sequence number of the next staged batch (publication follows it).
    seq: u64,
    index: Arc<RwLock<Index>>,
    buf: Vec<u8>,
}

/// One entry waiting to be committed, with its encoded line tail (file mode only).
type Pending = (Entry, Vec<u8>);

/// What publishing an entry adds to the index.
enum StagedRow {
    Capture(Summary, Location),
    Exchange(ExchangeAt),
    Session,
}

/// A batch that is written (not yet synced): its rows, in order, and its sequence number.
struct Staged {
    seq: u64,
    rows: Vec<StagedRow>,
}

impl Writer {
    /// Assigns ids, builds index rows and appends the batch to the file with one write (no
    /// sync). Ids and idempotency keys are reserved in the index at once, so the next batch
    /// can be staged while this one syncs.
    fn stage(&mut self, batch: &[Pending]) -> Result<Staged, String> {
        self.buf.clear();
        let mut rows = Vec::with_capacity(batch.len());
        let to_file = self.file.is_some();
        {
            let mut idx = self.index.write().unwrap_or_else(|p| p.into_inner());
            for (entry, tail) in batch {
                // Offsets are relative to the batch until the write says where it landed.
                let start = self.buf.len() as u64;
                let id = match entry {
                    Entry::Capture(_) => {
                        let id = CaptureId(idx.next_id);
                        idx.next_id += 1;
                        Some(id)
                    }
                    Entry::Exchange(_) | Entry::Session(_) => None,
                };
                if to_file {
                    push_line(&mut self.buf, id, tail);
                }
                let len = (self.buf.len() as u64).saturating_sub(start + 1) as u32;
                rows.push(match entry {
                    Entry::Capture(record) => {
                        let id = id.unwrap_or_default();
                        let row = summary_of(&mut idx, id, record);
                        let location = if to_file {
                            Location::File { offset: start, len }
                        } else {
                            Location::Memory(record.clone())
                        };
                        StagedRow::Capture(row, location)
                    }
                    Entry::Exchange(e) => StagedRow::Exchange(if to_file {
                        ExchangeAt::File { offset: start, len }
                    } else {
                        ExchangeAt::Memory(e.clone())
                    }),
                    Entry::Session(_) => StagedRow::Session,
                });
            }
        }
        if let Some(f) = self.file.as_mut() {
            // The file is opened with O_APPEND, so the write lands at the end even when
            // another process (`hooklens replay`) appended since; the position afterwards says
            // where.
            let written = f.write_all(&self.buf).and_then(|()| f.stream_position());
            let base = match written {
                Ok(end) => end - self.buf.len() as u64,
                Err(e) => {
                    // End any partial line, so the next batch does not follow half a line
                    // (the partial one is then skipped as corrupt on the next scan).
                    let _ = f.write_all(b"\n");
                    return Err(e.to_string());
                }
            };
            for row in &mut rows {
                match row {
                    StagedRow::Capture(_, Location::File { offset, .. })
                    | StagedRow::Exchange(ExchangeAt::File { offset, .. }) => *offset += base,
                    _ => {}
                }
            }
        }
        self.seq += 1;
        Ok(Staged {
            seq: self.seq,
            rows,
        })
    }
}

/// Makes durable batches visible in order: rows join the index, front ends hear of them, and
/// only then is each request answered.
fn publish(
    index: &RwLock<Index>,
    events: &broadcast::Sender<Event>,
    batch: &[Pending],
    rows: Vec<StagedRow>,
) -> Vec<Result<Committed, String>> {
    let mut idx = index.write().unwrap_or_else(|p| p.into_inner());
    let mut results = Vec::with_capacity(batch.len());
    for ((entry, _), row) in batch.iter().zip(rows) {
        match (entry, row) {
            (Entry::Capture(record), StagedRow::Capture(row, location)) => {
                let stored = Arc::new(Stored {
                    summary: row.clone(),
                    verdict: record.verdict.clone(),
                    tls: record.capture.tls.clone(),
                });
                let in_memory = matches!(location, Location::Memory(_));
                idx.push(row, location);
                if in_memory && idx.locations.len() > MEMORY_KEEP {
                    let oldest = idx.locations.len() - MEMORY_KEEP - 1;
                    idx.locations[oldest] = Location::Evicted;
                    let evicted = idx.rows[oldest].id;
                    idx.exchanges.remove(&evicted);
                }
                let _ = events.send(Event::Captured(stored.clone()));
                results.push(Ok(Committed::Capture(stored)));
            }
            (Entry::Exchange(e), StagedRow::Exchange(at)) => {
                idx.link(e.capture, LinkedBrief::of(e), at);
                let _ = events.send(Event::Forwarded(e.clone()));
                results.push(Ok(Committed::Other));
            }
            (Entry::Session(forward_to), _) => {
                if forward_to.is_some() {
                    idx.forward_to = forward_to.clone();
                }
                results.push(Ok(Committed::Other));
            }
            _ => results.push(Err("internal: staged row does not match its entry".into())),
        }
    }
    results
}

/// How many batches may be syncing at once. Concurrent `fdatasync`s on one file overlap in the
/// kernel and the device (two in flight nearly double syncs/s at the same latency here), so
/// a batch does not wait for the previous batch's sync before starting its own.
const SYNC_LANES: usize = 2;

/// State shared by the sync lanes.
struct Lanes {
    /// The channel and the writer: whoever holds this gathers and writes the next batch.
    intake: std::sync::Mutex<(mpsc::Receiver<Job>, Writer)>,
    /// Sequence number of the last published batch.
    published: std::sync::Mutex<u64>,
    turn: std::sync::Condvar,
    index: Arc<RwLock<Index>>,
    events: broadcast::Sender<Event>,
}

/// One sync lane: gather everything pending (group commit), write it, sync it while the other
/// lane gathers and writes the next batch, publish in order, answer.
fn lane(lanes: Arc<Lanes>, sync_fd: File) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    loop {
        let staged = {
            let mut intake = lanes.intake.lock().unwrap_or_else(|p| p.into_inner());
            let (rx, writer) = &mut *intake;
            let Some(first) = rx.blocking_recv() else {
                return;
            };
            jobs.push(first);
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let batch: Vec<Pending> = jobs
                .iter_mut()
                .map(|j| (j.entry.clone(), std::mem::take(&mut j.tail)))
                .collect();
            (writer.stage(&batch), batch)
        };
        let (staged, batch) = staged;
        let fail = |e: String| -> Vec<Result<Committed, String>> {
            let _ = lanes
                .events
                .send(Event::Notice(format!("capture log write failed: {e}")));
            batch.iter().map(|_| Err(e.clone())).collect()
        };
        let results = match staged {
            Err(e) => fail(e),
            Ok(st) => match sync_fd.sync_data() {
                Ok(()) => {
                    let mut out = Vec::new();
                    wait_turn_and(&lanes, st.seq, || {
                        out = publish(&lanes.index, &lanes.events, &batch, st.rows);
                    });
                    out
                }
                Err(e) => {
                    // The turn must still pass this batch, or later ones would wait forever.
                    wait_turn_and(&lanes, st.seq, || {});
                    fail(e.to_string())
                }
            },
        };
        for (job, result) in jobs.drain(..).zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

/// Runs `f` when batch `seq` is next to publish, then passes the turn on.
fn wait_turn_and(lanes: &Lanes, seq: u64, f: impl FnOnce()) {
    let mut published = lanes.published.lock().unwrap_or_else(|p| p.into_inner());
    while *published + 1 != seq {
        published = lanes
            .turn
            .wait(published)
            .unwrap_or_else(|p| p.into_inner());
    }
    f();
    *published = seq;
    lanes.turn.notify_all();
}

/// The index fields of one line, parsed (owned, so ranges can be parsed on other threads).
struct Parsed {
    id: u64,
    received_at_ms: i64,
    method: Arc<str>,
    target: Arc<str>,
    event_type: Option<Arc<str>>,
    idempotency_key: Option<Arc<str>>,
    data_id: Option<Box<str>>,
    outcome: Outcome,
    skew_secs: Option<i64>,
    body_len: u64,
    truncated: bool,
    response_status: u16,
}

/// One line as found by a range scan.
struct Scanned {
    offset: u64,
    /// Bytes including the newline.
    size: u64,
    /// Ends with a newline.
    complete: bool,
    /// Only whitespace.
    blank: bool,
    /// `Ok(None)`: a record hooklens skips (another kind, a newer version).
    parsed: Result<Option<ParsedLine>, ()>,
}

/// A line's index fields, by kind.
enum ParsedLine {
    Capture(Parsed),
    Exchange(CaptureId, LinkedBrief),
    Session(Option<RecordedTarget>),
}

/// Shares the few distinct methods, paths and types within one scan thread, so parsing a
/// million lines does not allocate (and the index thread free) three strings per line.
#[derive(Default)]
struct LocalIntern {
    seen: HashMap<Box<str>, Arc<str>>,
    last: Option<Arc<str>>,
}

impl LocalIntern {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(last) = self.last.as_ref().filter(|l| &***l == s) {
            return last.clone();
        }
        let arc = match self.seen.get(s) {
            Some(hit) => hit.clone(),
            None => {
                let arc: Arc<str> = Arc::from(s);
                if self.seen.len() < 10_000 {
                    self.seen.insert(Box::from(s), arc.clone());
                }
                arc
            }
        };
        self.last = Some(arc.clone());
        arc
    }
}

/// Parses the index fields of one line; `Ok(None)` for a record hooklens does not know.
fn parse_line(content: &[u8], intern: &mut LocalIntern) -> Result<Option<ParsedLine>, ()> {
    // Every capture line hooklens writes starts like this: parse it with the capture fields
    // only. Anything else (other kinds, hand-edited lines) takes the general route.
    const CAPTURE_HEAD: &[u8] = b"{\"v\":1,\"kind\":\"capture\",";
    if !content.starts_with(CAPTURE_HEAD) {
        let s: OtherSummary = serde_json::from_slice(content).map_err(|_| ())?;
        if s.v > FORMAT_VERSION {
            return Ok(None);
        }
        let kind = match &*s.kind {
            "capture" => return parse_capture(content, intern),
            "forward" => ExchangeKind::Forward,
            "replay" => ExchangeKind::Replay,
            "session" => {
                return Ok(Some(ParsedLine::Session(s.forward_to.map(|url| {
                    RecordedTarget {
                        url: url.into_owned(),
                        path: s.forward_path.unwrap_or_default(),
                    }
                }))));
            }
            _ => return Ok(None),
        };
        let (Some(capture), Some(status)) = (s.capture, s.status) else {
            return Err(());
        };
        return Ok(Some(ParsedLine::Exchange(
            CaptureId(capture),
            LinkedBrief {
                kind,
                receiver_status: s.response.map(|r| r.status),
                latency_us: s.latency_us.unwrap_or(0),
                relayed: s.relayed,
                status,
            },
        )));
    }
    parse_capture(content, intern)
}

fn parse_capture(content: &[u8], intern: &mut LocalIntern) -> Result<Option<ParsedLine>, ()> {
    let s: LineSummary = serde_json::from_slice(content).map_err(|_| ())?;
    if s.v > FORMAT_VERSION || s.kind != "capture" {
        return Ok(None);
    }
    let (Some(id), Some(verdict)) = (s.id, s.verdict) else {
        return Err(());
    };
    Ok(Some(ParsedLine::Capture(Parsed {
        id,
        received_at_ms: s.received_at_ms.unwrap_or(0),
        method: intern.get(s.method.as_deref().unwrap_or_default()),
        target: intern.get(s.target.as_deref().unwrap_or_default()),
        event_type: s.event_type.as_deref().map(|t| intern.get(t)),
        idempotency_key: s.idempotency_key.as_deref().map(Arc::from),
        data_id: s.data_id.map(String::into_boxed_str),
        outcome: verdict.outcome,
        skew_secs: verdict.skew_secs,
        body_len: s.body_len.unwrap_or(0),
        truncated: s.truncated,
        response_status: s.response_status,
    })))
}

/// Scans the lines that start in `[start, end)` (`start` is at a line start).
fn scan_range(file: &File, start: u64, end: u64) -> std::io::Result<Vec<Scanned>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut line: Vec<u8> = Vec::with_capacity(4096);
    let mut intern = LocalIntern::default();
    let mut pos = start;
    let mut line_start = start;
    let file_len = file.metadata()?.len();
    loop {
        let n = if pos < file_len {
            file.read_at(&mut buf, pos)?
        } else {
            0
        };
        if n == 0 {
            break;
        }
        let mut rest = &buf[..n];
        while let Some(i) = memchr::memchr(b'\n', rest) {
            // A line inside the buffer is parsed in place; only one that spans two reads is
            // put together in `line`.
            let whole: &[u8] = if line.is_empty() {
                &rest[..i]
            } else {
                line.extend_from_slice(&rest[..i]);
                &line
            };
            out.push(scanned(line_start, whole, true, &mut intern));
            line_start += whole.len() as u64 + 1;
            line.clear();
            rest = &rest[i + 1..];
            if line_start >= end {
                return Ok(out);
            }
        }
        line.extend_from_slice(rest);
        pos += n as u64;
    }
    if !line.is_empty() {
        out.push(scanned(line_start, &line, false, &mut intern));
    }
    Ok(out)
}

fn scanned(offset: u64, content: &[u8], complete: bool, intern: &mut LocalIntern) -> Scanned {
    Scanned {
        offset,
        size: content.len() as u64 + u64::from(complete),
        complete,
        blank: content.iter().all(u8::is_ascii_whitespace),
        parsed: parse_line(content, intern),
    }
}

/// Where to split the file so each range starts at a line start.
fn split_points(file: &File, len: u64, parts: u64) -> std::io::Result<Vec<u64>> {
    let mut points = vec![0];
    let mut probe = [0u8; 64 * 1024];
    for i in 1..parts {
        let mut pos = (len * i / parts).max(*points.last().unwrap_or(&0));
        loop {
            let n = file.read_at(&mut probe, pos)?;
            if n == 0 {
                pos = len;
                break;
            }
            if let Some(nl) = probe[..n].iter().position(|&b| b == b'\n') {
                pos += nl as u64 + 1;
                break;
            }
            pos += n as u64;
        }
        points.push(pos.min(len));
    }
    points.push(len);
    points.dedup();
    Ok(points)
}

/// Scans the whole log into `index`. Big logs are parsed on several threads (in ranges that
/// start at line starts), then applied in order. With `repair`, a torn last line is cut.
fn scan(file: &mut File, index: &mut Index, repair: bool) -> Result<Recovery> {
    let mut recovery = Recovery::default();
    let len = file.metadata()?.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8)) as u64;
    let parts = if len > 16 << 20 { threads } else { 1 };
    let points = split_points(file, len, parts)?;
    let shared: &File = file;
    let ranges: Vec<Vec<Scanned>> = std::thread::scope(|scope| {
        let handles: Vec<_> = points
            .windows(2)
            .map(|w| {
                let (start, end) = (w[0], w[1]);
                scope.spawn(move || scan_range(shared, start, end))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("scan thread panicked")))
            })
            .collect::<std::io::Result<Vec<_>>>()
    })?;

    let total: usize = ranges.iter().map(Vec::len).sum();
    index.rows.reserve(total);
    index.locations.reserve(total);
    index.first_by_key.reserve(total);
    let mut torn_at = None;
    let mut end = 0u64;
    for line in ranges.into_iter().flatten() {
        end = line.offset + line.size;
        let content_len = line.size - u64::from(line.complete);
        match line.parsed {
            Ok(Some(ParsedLine::Exchange(capture, brief))) => {
                let at = ExchangeAt::File {
                    offset: line.offset,
                    len: content_len as u32,
                };
                if !index.link(capture, brief, at) {
                    // A forward record follows its capture; one that links nowhere is corrupt.
                    recovery.corrupt_lines += 1;
                }
                if !line.complete {
                    torn_at = Some((end, true));
                }
            }
            Ok(Some(ParsedLine::Session(forward_to))) => {
                if forward_to.is_some() {
                    index.forward_to = forward_to;
                }
                if !line.complete {
                    torn_at = Some((end, true));
                }
            }
            Ok(Some(ParsedLine::Capture(p))) => {
                let id = CaptureId(p.id);
                if index.rows.last().is_some_and(|r| r.id >= id) {
                    // Ids only grow in a log hooklens wrote; anything else is corruption.
                    recovery.corrupt_lines += 1;
                    continue;
                }
                let row = Summary {
                    id,
                    received_at_ms: p.received_at_ms,
                    method: index.intern(&p.method),
                    target: index.intern(&p.target),
                    event_type: p.event_type.as_deref().map(|t| index.intern(t)),
                    outcome: p.outcome,
                    skew_secs: p.skew_secs,
                    dup_of: index.claim_key(p.idempotency_key.as_ref(), id),
                    idempotency_key: p.idempotency_key,
                    data_id: p.data_id,
                    body_len: p.body_len,
                    truncated: p.truncated,
                    response_status: p.response_status,
                    exchange: None,
                };
                index.push(
                    row,
                    Location::File {
                        offset: line.offset,
                        len: content_len as u32,
                    },
                );
                recovery.captures += 1;
                if !line.complete {
                    // A whole record that only lacks its newline: keep it, finish the line.
                    torn_at = Some((end, true));
                }
            }
            Ok(None) => recovery.skipped_lines += 1,
            Err(()) if !line.complete => torn_at = Some((line.offset, false)),
            Err(()) if line.blank => {}
            Err(()) => recovery.corrupt_lines += 1,
        }
    }
    if let Some((at, whole)) = torn_at {
        if whole {
            if repair {
                file.seek(SeekFrom::End(0))?;
                file.write_all(b"\n")?;
            }
        } else {
            recovery.torn_bytes = end - at;
            if repair {
                file.set_len(at)?;
                file.sync_all()?;
            }
        }
    }
    Ok(recovery)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::capture::Capture;
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

    fn exchange(capture: u64, status: Option<u16>, relayed: bool) -> Exchange {
        let target = crate::net::client::Target::parse("http://127.0.0.1:3000").unwrap();
        let sent = crate::net::forward::Sent {
            headers: Vec::new(),
            path: "/hook".into(),
            result: match status {
                Some(status) => Ok(crate::net::client::Reply {
                    version: crate::model::exchange::HTTP_11,
                    status,
                    reason: "Whatever".into(),
                    headers: Vec::new(),
                    body: bytes::Bytes::from_static(b"ok"),
                }),
                None => Err(crate::net::client::ClientError::Protocol("reset".into())),
            },
            latency_us: 1_500,
            flags: Vec::new(),
        };
        sent.record(
            ExchangeKind::Forward,
            CaptureId(capture),
            0,
            "POST",
            &target,
            b"a",
            b"a",
            crate::model::exchange::Prepared {
                relayed,
                ..Default::default()
            },
        )
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
            store.append_session(Some(target.clone())).await.unwrap();
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
    async fn lines_longer_than_a_read_buffer_reopen_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        {
            let (store, writer, _) = Store::open(Some(&path)).unwrap();
            store.append(record(b"small", None)).await.unwrap();
            store.append(record(&big, Some("big"))).await.unwrap();
            store.append(record(b"after", None)).await.unwrap();
            drop(store);
            writer.join().await;
        }
        let ro = Store::open_readonly(&path).unwrap();
        assert_eq!(ro.recovery.captures, 3);
        assert_eq!(ro.recovery.corrupt_lines, 0);
        assert_eq!(
            ro.load(CaptureId(2)).unwrap().capture.body.as_ref(),
            &big[..]
        );
        assert_eq!(
            ro.load(CaptureId(3)).unwrap().capture.body.as_ref(),
            b"after"
        );
        assert_eq!(
            ro.index()
                .get(CaptureId(2))
                .unwrap()
                .idempotency_key
                .as_deref(),
            Some("big")
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
