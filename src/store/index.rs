//! The in-memory index of the log: one compact [`Summary`] row per capture, in id order, with
//! where its record is (a byte range of the file, or memory with `--no-store`); the first
//! capture of each idempotency key; the forwards and replays of each capture; the newest
//! `--forward-to` a listener recorded. Bodies stay on disk: [`Location::read`] and
//! [`read_exchanges`] are the one way records are read back.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::line::{decode_exchange, decode_line};
use crate::model::capture::CaptureId;
use crate::model::exchange::{Exchange, RecordedTarget};
use crate::model::record::{CaptureRecord, ExchangeBrief, LinkedBrief, Summary};

/// With `--no-store`, how many full records stay in memory (the index keeps every row).
pub const MEMORY_KEEP: usize = 10_000;
/// With `--no-store`, how many body bytes stay in memory in all (`--memory-cap`).
pub const DEFAULT_MEMORY_CAP: u64 = 256 << 20;

/// Where a capture record is.
#[derive(Clone, Debug)]
pub(super) enum Location {
    File {
        offset: u64,
        len: u32,
    },
    /// `--no-store`: the record as received (its `capture.id` is not set; the row has it).
    Memory(Arc<CaptureRecord>),
    /// `--no-store` keeps only the newest records ([`MEMORY_KEEP`], and bodies up to its
    /// memory cap); older rows stay listed.
    Evicted,
}

/// Where an exchange record is.
#[derive(Clone, Debug)]
pub(super) enum ExchangeAt {
    File { offset: u64, len: u32 },
    Memory(Arc<Exchange>),
}

impl Location {
    /// Reads capture `id` back from here (`file` is the log, when there is one).
    pub(super) fn read(&self, file: Option<&File>, id: CaptureId) -> Result<CaptureRecord> {
        match self {
            Location::Memory(record) => {
                let mut record = (**record).clone();
                record.capture.id = id;
                Ok(record)
            }
            Location::File { offset, len } => {
                let file = file.context("capture log is not open")?;
                decode_line(
                    &read_at(file, *offset, *len).context("reading a capture from the log")?,
                )
            }
            Location::Evicted => bail!(
                "capture {id} is no longer in memory (--no-store keeps only the newest bodies, see --memory-cap; use --store to keep all)"
            ),
        }
    }
}

/// Reads exchange records back, in order (`file` is the log, when there is one).
pub(super) fn read_exchanges(file: Option<&File>, places: &[ExchangeAt]) -> Result<Vec<Exchange>> {
    places
        .iter()
        .map(|at| match at {
            ExchangeAt::Memory(e) => Ok((**e).clone()),
            ExchangeAt::File { offset, len } => {
                let file = file.context("capture log is not open")?;
                decode_exchange(
                    &read_at(file, *offset, *len)
                        .context("reading a forward record from the log")?,
                )
            }
        })
        .collect()
}

fn read_at(file: &File, offset: u64, len: u32) -> std::io::Result<Vec<u8>> {
    let mut line = vec![0u8; len as usize];
    file.read_exact_at(&mut line, offset)?;
    Ok(line)
}

/// Shares the few distinct methods, paths and types between rows, so a million rows do not
/// hold (and a scan does not allocate) three strings each. The index has one; each recovery
/// scan thread has its own.
#[derive(Debug, Default)]
pub(super) struct Intern {
    seen: HashSet<Arc<str>>,
    /// The newest values handed out, checked before hashing.
    last: [Arc<str>; 4],
}

impl Intern {
    /// Beyond this many distinct values, new ones are not kept (they are not repeating).
    const KEEP: usize = 10_000;

    /// The shared copy of `s`.
    pub(super) fn get(&mut self, s: &str) -> Arc<str> {
        // Consecutive captures nearly always share method, path and type.
        if let Some(last) = self.last.iter().find(|l| &***l == s) {
            return last.clone();
        }
        let arc = match self.seen.get(s) {
            Some(hit) => hit.clone(),
            None => {
                let arc: Arc<str> = Arc::from(s);
                if self.seen.len() < Self::KEEP {
                    self.seen.insert(arc.clone());
                }
                arc
            }
        };
        self.last.rotate_right(1);
        self.last[0] = arc.clone();
        arc
    }
}

/// What [`Index::restore`] takes in.
pub(super) struct Restored {
    pub(super) rows: Vec<Summary>,
    pub(super) locations: Vec<Location>,
    /// The first capture of each idempotency key (sharing the row's key).
    pub(super) firsts: HashMap<Arc<str>, CaptureId>,
    pub(super) exchanges: HashMap<CaptureId, Vec<ExchangeAt>>,
    pub(super) next_id: u64,
    pub(super) forward_to: Option<RecordedTarget>,
    pub(super) session_at: Option<(u64, u32)>,
}

/// Everything known about the log, in id order.
#[derive(Debug)]
pub struct Index {
    rows: Vec<Summary>,
    locations: Vec<Location>,
    first_by_key: FirstByKey,
    intern: Intern,
    next_id: u64,
    /// Forward and replay records per capture, oldest first.
    exchanges: HashMap<CaptureId, Vec<ExchangeAt>>,
    /// The newest `--forward-to` a listener recorded in this log (`replay`'s default target),
    /// and where its `session` line is.
    forward_to: Option<RecordedTarget>,
    session_at: Option<(u64, u32)>,
    /// `--no-store`: bodies kept in memory, the most body bytes kept, and the position of the
    /// oldest record still in memory.
    memory: MemoryUse,
}

#[derive(Debug)]
struct MemoryUse {
    records: usize,
    bytes: u64,
    cap: u64,
    oldest: usize,
    /// Records let go so far.
    dropped: u64,
}

impl Index {
    /// An empty index; the first capture gets id 1.
    pub(super) fn new() -> Index {
        Index {
            rows: Vec::new(),
            locations: Vec::new(),
            first_by_key: FirstByKey::default(),
            intern: Intern::default(),
            next_id: 1,
            exchanges: HashMap::new(),
            forward_to: None,
            session_at: None,
            memory: MemoryUse {
                records: 0,
                bytes: 0,
                cap: DEFAULT_MEMORY_CAP,
                oldest: 0,
                dropped: 0,
            },
        }
    }

    /// `--no-store`: the most body bytes kept in memory.
    pub(super) fn set_memory_cap(&mut self, cap: u64) {
        self.memory.cap = cap;
    }

    /// `--no-store`: how many records have been let go to stay under the caps.
    pub(super) fn memory_dropped(&self) -> u64 {
        self.memory.dropped
    }

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

    /// About how many bytes the index holds in memory (rows, record places, the key map,
    /// the strings rows own, the forward lists), for the benchmark's bytes per capture.
    /// Shared strings (method, path, type) are counted once; allocator overhead is not.
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        // A string on the heap: an `Arc<str>` adds its two counters.
        let arc = |s: &str| 2 * size_of::<usize>() + s.len();
        let owned: usize = self
            .rows
            .iter()
            .map(|r| {
                r.idempotency_key.as_deref().map_or(0, arc)
                    + r.data_id.as_deref().map_or(0, str::len)
                    + r.exchange
                        .as_ref()
                        .map_or(0, |_| size_of::<ExchangeBrief>())
            })
            .sum();
        // A hash map slot is its entry plus one control byte.
        let slots = |cap: usize, entry: usize| cap * (entry + 1);
        self.rows.capacity() * size_of::<Summary>()
            + self.locations.capacity() * size_of::<Location>()
            + slots(
                self.first_by_key.0.capacity(),
                size_of::<(Arc<str>, CaptureId)>(),
            )
            + slots(
                self.exchanges.capacity(),
                size_of::<(CaptureId, Vec<ExchangeAt>)>(),
            )
            + self
                .exchanges
                .values()
                .map(|v| v.capacity() * size_of::<ExchangeAt>())
                .sum::<usize>()
            + owned
            + self.intern.seen.iter().map(|s| arc(s)).sum::<usize>()
    }

    /// Row position of an id.
    pub fn position(&self, id: CaptureId) -> Option<usize> {
        self.rows.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// Row for an id.
    pub fn get(&self, id: CaptureId) -> Option<&Summary> {
        self.position(id).map(|i| &self.rows[i])
    }

    /// The newest `--forward-to` URL a listener recorded in this log.
    pub fn forward_to(&self) -> Option<&RecordedTarget> {
        self.forward_to.as_ref()
    }

    /// Where capture `id`'s record is.
    pub(super) fn location(&self, id: CaptureId) -> Option<&Location> {
        self.position(id).map(|i| &self.locations[i])
    }

    /// Where each row's record is, in row order.
    pub(super) fn locations(&self) -> &[Location] {
        &self.locations
    }

    /// Where the forwards and replays of every capture are.
    pub(super) fn all_exchange_places(
        &self,
    ) -> impl Iterator<Item = (&CaptureId, &Vec<ExchangeAt>)> {
        self.exchanges.iter()
    }

    /// Where the `session` line of the newest `--forward-to` is (read from a file).
    pub(super) fn session_at(&self) -> Option<(u64, u32)> {
        self.session_at
    }

    /// Where the forwards and replays of capture `id` are, oldest first.
    pub(super) fn exchange_places(&self, id: CaptureId) -> &[ExchangeAt] {
        self.exchanges.get(&id).map_or(&[], Vec::as_slice)
    }

    /// The id the next capture gets.
    pub(super) fn next_id(&self) -> u64 {
        self.next_id
    }

    /// The index's shared copy of `s` (a snapshot's strings are shared as a scan's are).
    pub(super) fn shared(&mut self, s: &str) -> Arc<str> {
        self.intern.get(s)
    }

    /// Takes in what a snapshot kept (`snapshot`), into an empty index: the rows (their
    /// `dup_of` already set) and where their records are, the first capture of each key, the
    /// forwards and replays of each capture, the next id and the newest `--forward-to` and
    /// its line.
    pub(super) fn restore(&mut self, restored: Restored) {
        let Restored {
            rows,
            locations,
            firsts,
            exchanges,
            next_id,
            forward_to,
            session_at,
        } = restored;
        self.rows = rows;
        self.locations = locations;
        self.first_by_key = FirstByKey(firsts);
        self.exchanges = exchanges;
        self.next_id = next_id;
        self.forward_to = forward_to;
        self.session_at = session_at;
    }

    /// Makes room for `n` more rows (a scan knows how many lines it found).
    pub(super) fn reserve(&mut self, n: usize) {
        self.rows.reserve(n);
        self.locations.reserve(n);
        self.first_by_key.0.reserve(n);
    }

    /// Gives back the room [`Index::reserve`] made beyond the rows there are (a scan reserves
    /// for an estimate).
    pub(super) fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.locations.shrink_to_fit();
    }

    /// Reserves the next capture id.
    pub(super) fn take_id(&mut self) -> CaptureId {
        let id = CaptureId(self.next_id);
        self.next_id += 1;
        id
    }

    /// The row for a new capture: shared strings, and its idempotency key claimed (`dup_of`
    /// names the first capture with the same key).
    pub(super) fn row_for(&mut self, id: CaptureId, record: &CaptureRecord) -> Summary {
        let mut row = Summary::build(id, record, &mut |s| self.intern.get(s));
        row.dup_of = self.first_by_key.claim(row.idempotency_key.as_ref(), id);
        row
    }

    /// Takes in a row read back from the log (its strings re-shared with the index's, its key
    /// claimed). False, and nothing added, when its id does not follow the last row's: ids
    /// only grow in a log hooklens wrote.
    pub(super) fn push_read(&mut self, mut row: Summary, location: Location) -> bool {
        if self.rows.last().is_some_and(|r| r.id >= row.id) {
            return false;
        }
        row.method = self.intern.get(&row.method);
        row.target = self.intern.get(&row.target);
        row.event_type = row.event_type.map(|t| self.intern.get(&t));
        row.dup_of = self
            .first_by_key
            .claim(row.idempotency_key.as_ref(), row.id);
        // A row read back has its record in a file: nothing in memory to let go.
        self.push(row, location, &mut Vec::new());
        true
    }

    /// Appends a row. With `--no-store`, the oldest records in memory beyond [`MEMORY_KEEP`] or
    /// the memory cap are let go (their rows stay; the newest record always stays): moved to
    /// `let_go`, for the caller to drop once it has released the index lock. Freeing a
    /// record's allocations (each a cold cache miss by then) is the slowest part of an
    /// append, and readers of the index need not wait for it.
    pub(super) fn push(
        &mut self,
        row: Summary,
        location: Location,
        let_go: &mut Vec<Arc<CaptureRecord>>,
    ) {
        let body = match &location {
            Location::Memory(record) => Some(record.capture.body.len() as u64),
            _ => None,
        };
        self.next_id = self.next_id.max(row.id.0 + 1);
        self.rows.push(row);
        self.locations.push(location);
        let Some(body) = body else {
            return;
        };
        self.memory.records += 1;
        self.memory.bytes += body;
        while self.memory.records > 1
            && (self.memory.records > MEMORY_KEEP || self.memory.bytes > self.memory.cap)
        {
            let oldest = self.memory.oldest;
            self.memory.oldest += 1;
            if let Location::Memory(record) =
                std::mem::replace(&mut self.locations[oldest], Location::Evicted)
            {
                self.memory.records -= 1;
                self.memory.bytes -= record.capture.body.len() as u64;
                self.memory.dropped += 1;
                let evicted = self.rows[oldest].id;
                self.exchanges.remove(&evicted);
                let_go.push(record);
            }
        }
    }

    /// Links an exchange to its capture's row (false when there is no such capture).
    pub(super) fn link(&mut self, id: CaptureId, brief: LinkedBrief, at: ExchangeAt) -> bool {
        let Some(pos) = self.position(id) else {
            return false;
        };
        self.rows[pos].apply_link(&brief);
        self.exchanges.entry(id).or_default().push(at);
        true
    }

    /// A listener started; with a `--forward-to`, that becomes `replay`'s default target.
    /// `at`: where its line is, when read from a file.
    pub(super) fn note_session(
        &mut self,
        forward_to: Option<RecordedTarget>,
        at: Option<(u64, u32)>,
    ) {
        if forward_to.is_some() {
            self.forward_to = forward_to;
            self.session_at = at;
        }
    }
}

/// The first capture of each idempotency key (the key shared with its row): the index's, and
/// `list`'s as it streams.
#[derive(Debug, Default)]
pub(super) struct FirstByKey(HashMap<Arc<str>, CaptureId>);

impl FirstByKey {
    /// The capture that first used `key`, or None after recording `id` as that first one.
    /// One hash lookup; the map shares the row's key.
    pub(super) fn claim(&mut self, key: Option<&Arc<str>>, id: CaptureId) -> Option<CaptureId> {
        use std::collections::hash_map::Entry as Slot;
        match self.0.entry(key?.clone()) {
            Slot::Occupied(first) => Some(*first.get()),
            Slot::Vacant(slot) => {
                slot.insert(id);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::record;

    #[test]
    fn one_interner_shares_repeated_strings() {
        let mut intern = Intern::default();
        let a = intern.get("/hook");
        let _ = intern.get("POST");
        let b = intern.get("/hook");
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn rows_claim_keys_and_memory_keeps_only_the_newest_records() {
        let mut index = Index::new();
        let mut let_go = Vec::new();
        for _ in 0..MEMORY_KEEP + 1 {
            let id = index.take_id();
            let rec = Arc::new(record(b"x", Some("k")));
            let row = index.row_for(id, &rec);
            index.push(row, Location::Memory(rec), &mut let_go);
        }
        // The one record let go is handed back to be dropped outside the lock.
        assert_eq!(let_go.len(), 1);
        let rows = index.rows();
        assert_eq!(rows[0].dup_of, None);
        assert_eq!(rows[1].dup_of, Some(CaptureId(1)));
        assert!(Arc::ptr_eq(&rows[0].target, &rows[1].target));
        assert!(matches!(
            index.location(CaptureId(1)),
            Some(Location::Evicted)
        ));
        assert!(matches!(
            index.location(CaptureId(2)),
            Some(Location::Memory(_))
        ));
        // A row read back with an id that does not grow is refused.
        let stale = Summary::of(&record(b"y", None));
        assert!(!index.push_read(stale, Location::Evicted));
    }
}
