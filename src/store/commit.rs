//! The group commit: how an append becomes durable, visible, and answered, in that order.
//!
//! Appends ([`Sink::commit`]) carry their line already encoded (on the request's task) and go
//! through one channel to [`SYNC_LANES`] threads, the sync lanes. Each lane loops:
//!
//! 1. **Intake.** It takes the intake lock (the channel plus the one [`Writer`]), waits for an
//!    append, and gathers every other pending one, up to [`MAX_BATCH`] (group commit).
//! 2. **Write.** Still holding the intake, it stages the batch: assigns capture ids, reserves
//!    idempotency keys in the index (so the next batch sees them), and writes every line with
//!    one `write` on the `O_APPEND` file, under the write lock (`file::append_lines`: a failed
//!    or short write is cut back, so the log still ends with a whole record). Lines another
//!    process appended since the last write are taken in first (`foreign`). Batch sequence
//!    numbers follow the write order.
//! 3. **Sync, overlapped.** It releases the intake and calls `fdatasync` on its own handle.
//!    Meanwhile the other lane can gather and write the next batch and start its own sync;
//!    concurrent syncs of one file overlap in the kernel and the device.
//! 4. **Publish in order.** It waits until every earlier batch is published (the `published`
//!    counter and its condition variable), then adds the rows to the index, sends the events
//!    to front ends, and passes the turn on. A batch whose write or sync failed still passes
//!    the turn, or later batches would wait forever.
//! 5. **Answer.** Only then is each request answered: a capture is on disk, in the index and
//!    announced before its `append` returns, and is never visible before an earlier one.
//!    With the answer goes what is left of the entry ([`Spent`]), to be freed or reused on
//!    the appending thread rather than the lane's.
//!
//! With `--no-store` there is nothing to sync: the append is staged and published at once on
//! the caller's task, under the writer's lock, in the same order. The oldest records the
//! index lets go to stay under its caps are freed after both locks are released.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;

use anyhow::{Context, Result, bail};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::file::{append_lines, display};
use super::foreign::Foreign;
use super::index::{ExchangeAt, Index, Location};
use super::line::push_line;
use super::snapshot;
use crate::model::exchange::{Exchange, RecordedTarget};
use crate::model::record::{CaptureRecord, Event, LinkedBrief, Stored, Summary};
use crate::model::verdict::{Outcome, Verdict};

/// How many batches may be syncing at once. Concurrent `fdatasync`s on one file overlap in the
/// kernel and the device (two in flight nearly double syncs/s at the same latency here), so
/// a batch does not wait for the previous batch's sync before starting its own.
const SYNC_LANES: usize = 2;
/// The most appends one batch gathers.
const MAX_BATCH: usize = 1024;

/// The log could not be written (a full disk, a file-size limit, an I/O error). The store has
/// already told front ends once for this episode, so a caller need not tell them again.
#[derive(Debug, thiserror::Error)]
#[error("writing capture log: {0}")]
pub struct WriteFailed(pub String);

/// What a log line holds.
#[derive(Clone, Debug)]
pub(super) enum Entry {
    Capture(Arc<CaptureRecord>),
    Exchange(Arc<Exchange>),
    /// A listener started (its forward target, for `replay`'s default).
    Session(Option<RecordedTarget>),
}

/// What a committed entry produced, and what is left of it.
pub(super) enum Committed {
    Capture(Arc<Stored>, Spent),
    Other(Spent),
}

/// What is left of an entry once it is committed: the capture record's `Arc` (its verdict
/// and TLS moved into the event) and the buffer of its encoded line. A lane hands it back to the
/// appending task, to be freed or reused there: glibc frees a block another thread allocated
/// through that thread's arena lock, and the line buffer spares the next append an
/// allocation.
pub(super) struct Spent {
    pub(super) record: Option<Arc<CaptureRecord>>,
    pub(super) line: Vec<u8>,
}

impl Committed {
    /// What the commit announced (a capture's event), with what is left of the entry freed
    /// here, on the appending task's thread, and its line buffer kept for the thread's next
    /// append (see [`Spent`]).
    pub(super) fn finish(self) -> Option<Arc<Stored>> {
        let (stored, spent) = match self {
            Committed::Capture(stored, spent) => (Some(stored), spent),
            Committed::Other(spent) => (None, spent),
        };
        drop(spent.record);
        if spent.line.capacity() <= LINE_BUFFER_MAX {
            let _ = LINE_BUFFERS.try_with(|kept| {
                let mut kept = kept.borrow_mut();
                if kept.len() < LINE_BUFFERS_KEEP {
                    kept.push(spent.line);
                }
            });
        }
        stored
    }
}

thread_local! {
    /// Line buffers committed appends handed back, for the next appends on this thread (many
    /// appends are in flight on one thread at a time, so one buffer would rarely be free).
    static LINE_BUFFERS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// How many line buffers a thread keeps, and up to what size (a big body's line is freed).
const LINE_BUFFERS_KEEP: usize = 64;
const LINE_BUFFER_MAX: usize = 16 << 10;

/// A line buffer to encode into: a kept one, or a new one.
pub(super) fn line_buffer() -> Vec<u8> {
    LINE_BUFFERS
        .try_with(|kept| kept.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// One append on its way to a lane.
struct Job {
    entry: Entry,
    /// The encoded line tail (see [`push_line`]).
    tail: Vec<u8>,
    /// Needs an `fdatasync` before it is published. A batch of only unsynced appends (a relayed
    /// forward's record, whose answer is already on its way) is written and published without
    /// one; the next synced batch, or the kernel's writeback, makes it durable.
    sync: bool,
    reply: oneshot::Sender<Result<Committed, String>>,
}

/// Where appends go: the sync lanes (file), or straight into memory (`--no-store`, where
/// there is nothing to sync and a thread hop would only add latency).
#[derive(Clone)]
pub(super) struct Sink(Route);

#[derive(Clone)]
enum Route {
    Lanes(mpsc::Sender<Job>),
    Inline(
        Arc<Mutex<Writer>>,
        Arc<RwLock<Index>>,
        broadcast::Sender<Event>,
    ),
}

/// Joins the sync lanes; every accepted capture is on disk once this returns.
pub struct WriterHandle {
    lanes: Vec<JoinHandle<()>>,
    /// The log whose index snapshot is brought up to date once the lanes are done.
    snapshot: Option<PathBuf>,
}

impl WriterHandle {
    /// Waits for the lanes to drain and exit (after every `Store` clone is dropped), then
    /// brings the log's index snapshot up to date (`snapshot`), so the next open reads only
    /// what is appended after this. A snapshot that cannot be written costs only speed: the
    /// answer is one line saying so, for the user, never an error.
    pub async fn join(self) -> Option<String> {
        for thread in self.lanes {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        let log = self.snapshot?;
        let written = tokio::task::spawn_blocking(move || {
            snapshot::refresh(&log).map_err(|e| {
                format!(
                    "could not write the index snapshot {} ({e}); the next start reads the whole log",
                    display(&snapshot::snapshot_path(&log))
                )
            })
        })
        .await;
        written.ok()?.err()
    }

    /// Brings the index snapshot of `log` up to date when the lanes are done.
    pub(super) fn snapshot_at_end(&mut self, log: &Path) {
        self.snapshot = Some(log.to_path_buf());
    }
}

impl Sink {
    /// Starts the sync lanes on `file` (the log, opened with `O_APPEND`; `lock`: its write
    /// lock), or, without one, the in-memory writer.
    pub(super) fn start(
        file: Option<File>,
        lock: Option<File>,
        index: Arc<RwLock<Index>>,
        events: broadcast::Sender<Event>,
        log_bytes: Arc<AtomicU64>,
        foreign: Option<Arc<Foreign>>,
    ) -> Result<(Sink, WriterHandle)> {
        let Some(file) = file else {
            let writer = Writer::new(None, None, index.clone(), log_bytes, None);
            let sink = Sink(Route::Inline(Arc::new(Mutex::new(writer)), index, events));
            return Ok((
                sink,
                WriterHandle {
                    lanes: Vec::new(),
                    snapshot: None,
                },
            ));
        };
        let sync_fds = (0..SYNC_LANES)
            .map(|_| file.try_clone())
            .collect::<std::io::Result<Vec<File>>>()
            .context("opening the capture log for syncing")?;
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let lanes = Arc::new(Lanes {
            intake: Mutex::new((
                rx,
                Writer::new(Some(file), lock, index.clone(), log_bytes, foreign),
            )),
            published: Mutex::new(0),
            failing: AtomicBool::new(false),
            turn: Condvar::new(),
            index,
            events,
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
        Ok((
            Sink(Route::Lanes(tx)),
            WriterHandle {
                lanes: threads,
                snapshot: None,
            },
        ))
    }

    /// True when appends go to a file (and so need their line encoded).
    pub(super) fn to_file(&self) -> bool {
        matches!(self.0, Route::Lanes(_))
    }

    /// Commits one entry (`tail`: its encoded line, when [`Sink::to_file`]) and resolves once
    /// it is durable, in the index and announced.
    pub(super) async fn commit(&self, entry: Entry, tail: Vec<u8>) -> Result<Committed> {
        self.commit_as(entry, tail, true).await
    }

    /// [`Sink::commit`], with `sync: false` for an append that needs no `fdatasync` of its own.
    pub(super) async fn commit_as(
        &self,
        entry: Entry,
        tail: Vec<u8>,
        sync: bool,
    ) -> Result<Committed> {
        let tx = match &self.0 {
            Route::Lanes(tx) => tx,
            Route::Inline(writer, index, events) => {
                // Memory only: nothing to sync, so stage and publish at once, in order, with
                // this thread's buffers. The records this lets go are dropped once both locks
                // are released.
                let result = SCRATCH.with_borrow_mut(|scratch| {
                    let Scratch {
                        rows,
                        results,
                        let_go,
                    } = scratch;
                    {
                        let mut writer = writer.lock().unwrap_or_else(|p| p.into_inner());
                        let batch = [(entry, Vec::new())];
                        match writer.stage(&batch, rows) {
                            Ok(_) => publish(index, events, batch, rows.drain(..), results, let_go),
                            Err(e) => results.push(Err(e)),
                        }
                    }
                    let_go.clear();
                    let result = results.pop();
                    results.clear();
                    result
                });
                return match result {
                    Some(Ok(committed)) => Ok(committed),
                    Some(Err(e)) => bail!("writing capture log: {e}"),
                    None => bail!("writing capture log: nothing committed"),
                };
            }
        };
        let (reply, answer) = oneshot::channel();
        if tx
            .send(Job {
                entry,
                tail,
                sync,
                reply,
            })
            .await
            .is_err()
        {
            bail!("the capture log writer has stopped");
        }
        match answer.await {
            Ok(Ok(committed)) => Ok(committed),
            Ok(Err(e)) => Err(WriteFailed(e).into()),
            Err(_) => bail!("the capture log writer has stopped"),
        }
    }
}

/// The single appender of the log file (or, with `--no-store`, of the in-memory records).
/// Only the thread holding it assigns ids and writes, so ids and lines cannot interleave.
struct Writer {
    file: Option<File>,
    /// The write lock other appenders (`hooklens replay`) share.
    lock: Option<File>,
    /// Sequence number of the last staged batch (publication follows it).
    seq: u64,
    index: Arc<RwLock<Index>>,
    buf: Vec<u8>,
    /// Where the file ends after the last write (for `--max-log`).
    log_bytes: Arc<AtomicU64>,
    /// Lines other processes append to the log (`hooklens replay`), taken in live.
    foreign: Option<Arc<Foreign>>,
}

/// One entry waiting to be committed, with its encoded line tail (file mode only).
type Pending = (Entry, Vec<u8>);

/// What publishing an entry adds to the index.
enum StagedRow {
    Capture(Summary, Location),
    Exchange(ExchangeAt),
    Session,
}

/// Buffers appends reuse instead of allocating their own: the rows a batch stages, the
/// answers it publishes, and (`--no-store`) the records the index lets go, held until the
/// locks are released. Each sync lane has one, and each thread that appends to memory.
struct Scratch {
    rows: Vec<StagedRow>,
    results: Vec<Result<Committed, String>>,
    let_go: Vec<Arc<CaptureRecord>>,
}

impl Scratch {
    const fn new() -> Scratch {
        Scratch {
            rows: Vec::new(),
            results: Vec::new(),
            let_go: Vec::new(),
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = const { std::cell::RefCell::new(Scratch::new()) };
}

impl Writer {
    fn new(
        file: Option<File>,
        lock: Option<File>,
        index: Arc<RwLock<Index>>,
        log_bytes: Arc<AtomicU64>,
        foreign: Option<Arc<Foreign>>,
    ) -> Writer {
        Writer {
            file,
            lock,
            seq: 0,
            index,
            buf: Vec::new(),
            log_bytes,
            foreign,
        }
    }

    /// Assigns ids, builds index rows (into `rows`, in order) and appends the batch to the
    /// file with one write (no sync); returns the batch's sequence number. Ids and
    /// idempotency keys are reserved in the index at once, so the next batch can be staged
    /// while this one syncs.
    fn stage(&mut self, batch: &[Pending], rows: &mut Vec<StagedRow>) -> Result<u64, String> {
        self.buf.clear();
        rows.clear();
        let to_file = self.file.is_some();
        {
            let mut idx = self.index.write().unwrap_or_else(|p| p.into_inner());
            for (entry, tail) in batch {
                // Offsets are relative to the batch until the write says where it landed.
                let start = self.buf.len() as u64;
                let id = match entry {
                    Entry::Capture(_) => Some(idx.take_id()),
                    Entry::Exchange(_) | Entry::Session(_) => None,
                };
                if to_file {
                    push_line(&mut self.buf, id, tail);
                }
                let len = (self.buf.len() as u64).saturating_sub(start + 1) as u32;
                rows.push(match entry {
                    Entry::Capture(record) => {
                        let row = idx.row_for(id.unwrap_or_default(), record);
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
            // Under the write lock, so the start is where this batch lands even when another
            // process (`hooklens replay`) appends too; a failed write is cut back.
            let (lock, buf) = (self.lock.as_ref(), &self.buf);
            let base = match &self.foreign {
                Some(foreign) => {
                    foreign.around_write(buf.len() as u64, || append_lines(f, lock, buf))
                }
                None => append_lines(f, lock, buf),
            }
            .map_err(|e| e.to_string())?;
            self.log_bytes
                .store(base + self.buf.len() as u64, Ordering::Relaxed);
            for row in rows.iter_mut() {
                match row {
                    StagedRow::Capture(_, Location::File { offset, .. })
                    | StagedRow::Exchange(ExchangeAt::File { offset, .. }) => *offset += base,
                    _ => {}
                }
            }
        }
        self.seq += 1;
        Ok(self.seq)
    }
}

/// Makes durable batches visible in order: rows join the index, front ends hear of them, and
/// only then is each request answered (one entry of `results` each, in order). Records the
/// index lets go (`--no-store`) are moved to `let_go`, for the caller to drop after its locks.
fn publish(
    index: &RwLock<Index>,
    events: &broadcast::Sender<Event>,
    batch: impl IntoIterator<Item = Pending>,
    rows: impl IntoIterator<Item = StagedRow>,
    results: &mut Vec<Result<Committed, String>>,
    let_go: &mut Vec<Arc<CaptureRecord>>,
) {
    let mut idx = index.write().unwrap_or_else(|p| p.into_inner());
    let dropped_before = idx.memory_dropped();
    for ((entry, line), row) in batch.into_iter().zip(rows) {
        match (entry, row) {
            (Entry::Capture(mut record), StagedRow::Capture(row, location)) => {
                // Written to the file, the record is this batch's alone: its verdict moves
                // into the event instead of being copied (in memory, the index keeps it),
                // and the rest goes back to the appender.
                let (verdict, tls) = match Arc::get_mut(&mut record) {
                    Some(own) => (
                        std::mem::replace(
                            &mut own.verdict,
                            Verdict::new(None, Outcome::Unverified, String::new()),
                        ),
                        own.capture.tls.take(),
                    ),
                    None => (record.verdict.clone(), record.capture.tls.clone()),
                };
                // The whole `Arc` goes back, so its allocation too is freed by the appender.
                let spent = Spent {
                    record: Some(record),
                    line,
                };
                let stored = Arc::new(Stored {
                    summary: row.clone(),
                    verdict,
                    tls,
                });
                idx.push(row, location, let_go);
                let _ = events.send(Event::Captured(stored.clone()));
                results.push(Ok(Committed::Capture(stored, spent)));
            }
            (Entry::Exchange(e), StagedRow::Exchange(at)) => {
                idx.link(e.capture, LinkedBrief::of(&e), at);
                let _ = events.send(Event::Forwarded(e));
                results.push(Ok(Committed::Other(Spent { record: None, line })));
            }
            (Entry::Session(forward_to), _) => {
                idx.note_session(forward_to, None);
                results.push(Ok(Committed::Other(Spent { record: None, line })));
            }
            _ => results.push(Err("internal: staged row does not match its entry".into())),
        }
    }
    if dropped_before == 0 && idx.memory_dropped() > 0 {
        let _ = events.send(Event::Notice(
            "--no-store: memory cap reached; from now on the oldest bodies are let go (their rows stay listed; see --memory-cap, or use --store to keep all)".into(),
        ));
    }
}

/// State shared by the sync lanes.
struct Lanes {
    /// The channel and the writer: whoever holds this gathers and writes the next batch.
    intake: Mutex<(mpsc::Receiver<Job>, Writer)>,
    /// Sequence number of the last published batch.
    published: Mutex<u64>,
    turn: Condvar,
    /// A write or sync failed and none has succeeded since (one notice per episode).
    failing: AtomicBool,
    index: Arc<RwLock<Index>>,
    events: broadcast::Sender<Event>,
}

/// One sync lane: gather everything pending (group commit), write it, sync it while the other
/// lane gathers and writes the next batch, publish in order, answer.
fn lane(lanes: Arc<Lanes>, sync_fd: File) {
    // Who waits for each entry of the batch, and whether it asked for a sync.
    let mut waiting: Vec<(bool, oneshot::Sender<Result<Committed, String>>)> =
        Vec::with_capacity(MAX_BATCH);
    // The lane's buffers, reused batch after batch (a log file keeps no record in memory, so
    // nothing is let go here).
    let mut scratch = Scratch::new();
    let Scratch {
        rows,
        results,
        let_go,
    } = &mut scratch;
    loop {
        let (staged, batch) = {
            let mut intake = lanes.intake.lock().unwrap_or_else(|p| p.into_inner());
            let (rx, writer) = &mut *intake;
            let Some(first) = rx.blocking_recv() else {
                return;
            };
            let mut batch: Vec<Pending> = Vec::with_capacity(rx.len() + 1);
            let mut next = Some(first);
            while let Some(job) = next.take() {
                batch.push((job.entry, job.tail));
                waiting.push((job.sync, job.reply));
                if batch.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            (writer.stage(&batch, rows), batch)
        };
        let sync = waiting.iter().any(|(sync, _)| *sync);
        let fail = |e: String, n: usize, results: &mut Vec<_>| {
            if !lanes.failing.swap(true, Ordering::SeqCst) {
                let _ = lanes.events.send(Event::Notice(format!(
                    "capture log write failed: {e}; requests get 500 until the log can be written again (nothing half-written is left in it)"
                )));
            }
            results.extend((0..n).map(|_| Err(e.clone())));
        };
        match staged {
            Err(e) => fail(e, batch.len(), results),
            Ok(seq) => match if sync { sync_fd.sync_data() } else { Ok(()) } {
                Ok(()) => {
                    wait_turn_and(&lanes, seq, || {
                        publish(
                            &lanes.index,
                            &lanes.events,
                            batch,
                            rows.drain(..),
                            results,
                            let_go,
                        );
                    });
                    if lanes.failing.swap(false, Ordering::SeqCst) {
                        let _ = lanes.events.send(Event::Notice(
                            "capture log writable again; captures are stored again".into(),
                        ));
                    }
                }
                Err(e) => {
                    // The turn must still pass this batch, or later ones would wait forever.
                    wait_turn_and(&lanes, seq, || {});
                    fail(e.to_string(), batch.len(), results);
                }
            },
        }
        for ((_, reply), result) in waiting.drain(..).zip(results.drain(..)) {
            let _ = reply.send(result);
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
