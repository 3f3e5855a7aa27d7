//! The index snapshot beside the log (`<log>.rows`, 0600): what the recovery scan built from
//! the first `covered` bytes of the log, so opening the log loads it and scans only the lines
//! after it (a listener killed with `kill -9` reopens from the snapshot and the new tail).
//!
//! * **Contents.** Every row ([`Summary`], with its `dup_of`) and where its line is, the
//!   forwards and replays of each capture, the next id, the newest `--forward-to` and its
//!   line, and what the recovery rules carry from line to line ([`Rules`]: unreadable lines,
//!   the captures not yet forwarded, the line count). The key map is rebuilt from the rows.
//! * **Format.** Little-endian, by hand: a [`HEAD`]-byte header (magic and version, the log's
//!   identity and covered length, a hash of the last [`TAIL_BYTES`] bytes covered, the body's
//!   length and checksum, the header's checksum), then the body: a table of the shared
//!   strings (method, target, type), the rules, the index's scalars, the rows (fixed fields,
//!   then the optional ones a flag byte announces), the exchanges.
//! * **Never trusted blindly.** A missing, cut, damaged or other-version snapshot, one of
//!   another log (device, inode, first bytes: `identity`), a log shorter than the snapshot
//!   covers or whose bytes before that point differ: [`load`] gives nothing, and the whole log
//!   is scanned, as without a snapshot.
//! * **When written.** When a listener's writer ends ([`refresh`], after the last append) and
//!   the log has no snapshot, or more than [`REFRESH_AFTER`] bytes after it; and when opening
//!   scanned more than [`WRITE_AFTER_SCANNING`] bytes. Always to a private temporary file
//!   renamed into place; a failure costs only speed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use super::file::open_private;
use super::identity::{LogIdentity, checksum, fnv, read_full_at};
use super::index::{ExchangeAt, Index, Location, Restored};
use super::scan::{Recovery, Rules, scan_from};
use crate::model::capture::CaptureId;
use crate::model::exchange::{ExchangeKind, PathMode, RecordedTarget};
use crate::model::record::{ExchangeBrief, Summary};
use crate::model::verdict::Outcome;

/// The format's magic and version.
const MAGIC: &[u8; 8] = b"HLROWS01";
/// The magic, seven numbers and the header's checksum.
const HEAD: usize = 8 + 8 * 8;
/// How many bytes before the covered length must still be what they were.
const TAIL_BYTES: u64 = 256;
/// Opening writes a snapshot when it scanned more of the log than this.
const WRITE_AFTER_SCANNING: u64 = 16 << 20;
/// The writer's end rewrites a snapshot that leaves more of the log than this after it (about
/// 4,000 captures of the benchmark's, which an open scans in about 10 ms).
const REFRESH_AFTER: u64 = 4 << 20;
/// No event type (a string table position).
const NONE: u32 = u32::MAX;

// Which optional fields a row has (its flag byte), and whether its body was cut.
const SKEW: u8 = 1;
const KEY: u8 = 2;
const DATA_ID: u8 = 4;
const DUP: u8 = 8;
const TRUNCATED: u8 = 16;
const EXCHANGE: u8 = 32;

/// `<log>.rows`.
pub(super) fn snapshot_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".rows");
    PathBuf::from(name)
}

/// What the header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    log: LogIdentity,
    covered: u64,
    tail: u64,
    body_len: u64,
    body_sum: u64,
}

impl Head {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEAD);
        out.extend_from_slice(MAGIC);
        for v in [
            self.log.dev,
            self.log.ino,
            self.log.first,
            self.covered,
            self.tail,
            self.body_len,
            self.body_sum,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let sum = fnv(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    fn decode(b: &[u8]) -> Option<Head> {
        if b.len() < HEAD || &b[..8] != MAGIC {
            return None;
        }
        let at =
            |i: usize| u64::from_le_bytes(b[8 + 8 * i..16 + 8 * i].try_into().unwrap_or([0; 8]));
        if fnv(&b[..HEAD - 8]) != at(7) {
            return None;
        }
        Some(Head {
            log: LogIdentity {
                dev: at(0),
                ino: at(1),
                first: at(2),
            },
            covered: at(3),
            tail: at(4),
            body_len: at(5),
            body_sum: at(6),
        })
    }

    /// The header a snapshot of the first `covered` bytes of `log` has (without its body).
    fn of_log(log: &File, covered: u64) -> std::io::Result<Option<Head>> {
        let (id, len) = LogIdentity::of(log, Some(covered))?;
        if len < covered {
            return Ok(None);
        }
        let from = covered.saturating_sub(TAIL_BYTES);
        let mut tail = vec![0u8; (covered - from) as usize];
        if read_full_at(log, &mut tail, from)? != tail.len() {
            return Ok(None);
        }
        Ok(Some(Head {
            log: id,
            covered,
            tail: fnv(&tail),
            body_len: 0,
            body_sum: 0,
        }))
    }

    /// Whether this header describes a snapshot of the log as it is now.
    fn fits(&self, log: &File) -> bool {
        matches!(Head::of_log(log, self.covered), Ok(Some(now))
            if (now.log, now.tail) == (self.log, self.tail))
    }
}

/// Builds the index of the log at `path` (`file`: open) from its snapshot and the lines after
/// it, or from all its lines when there is no usable snapshot. With `repair` (a listener's
/// open), a torn last line is cut, and a snapshot is written when a big part of the log had
/// to be scanned (so the next open, even after a crash, need not scan it again).
pub(super) fn open_index(
    file: &mut File,
    path: &Path,
    repair: bool,
) -> anyhow::Result<(Index, Recovery)> {
    use anyhow::Context;
    let mut index = Index::new();
    let (rules, start) = load(path, file, &mut index).unwrap_or_default();
    let (recovery, kept) = scan_from(file, &mut index, rules, start, repair.then_some(path))
        .with_context(|| format!("reading capture log {}", path.display()))?;
    if let Some(rules) = kept
        && repair
        && rules.end - start > WRITE_AFTER_SCANNING
    {
        // Only speed is lost when it cannot be written; the writer's end tries again.
        let _ = write(path, file, &index, &rules);
    }
    Ok((index, recovery))
}

/// Loads the snapshot of the log at `path` (`log`: open) into `index` (empty; when there is no
/// usable snapshot it is left without rows, at most with a few shared strings): the rules to
/// go on scanning with, and where to go on from.
pub(super) fn load(path: &Path, log: &File, index: &mut Index) -> Option<(Rules, u64)> {
    let bytes = std::fs::read(snapshot_path(path)).ok()?;
    let head = Head::decode(&bytes)?;
    let body = &bytes[HEAD..];
    if body.len() as u64 != head.body_len || checksum(body) != head.body_sum || !head.fits(log) {
        return None;
    }
    let (rules, restored) = decode_body(body, index, head.covered)?;
    index.restore(restored);
    Some((rules, head.covered))
}

/// Brings the snapshot of the log at `path` up to its end: loads it, scans the lines after it
/// and writes the result. Nothing is written when the log has a snapshot that leaves at most
/// [`REFRESH_AFTER`] bytes after it (the next open reads those in a few milliseconds, and
/// rewriting a million rows would take longer than that), or when the log ends with a part
/// of a line. Never modifies the log.
pub(super) fn refresh(path: &Path) -> std::io::Result<()> {
    let mut log = File::open(path)?;
    let len = log.metadata()?.len();
    if current_covered(path, &log).is_some_and(|covered| len - covered <= REFRESH_AFTER) {
        return Ok(());
    }
    let mut index = Index::new();
    let (rules, start) = load(path, &log, &mut index).unwrap_or_default();
    let (_, kept) = scan_from(&mut log, &mut index, rules, start, None)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    match kept {
        Some(rules) if rules.end > start => write(path, &log, &index, &rules),
        _ => Ok(()),
    }
}

/// How much of the log the snapshot beside it covers, judging by its header alone (a damaged
/// body is found by the next open, which then scans the whole log and writes a new one).
fn current_covered(path: &Path, log: &File) -> Option<u64> {
    let file = File::open(snapshot_path(path)).ok()?;
    let mut head = [0u8; HEAD];
    file.read_exact_at(&mut head, 0).ok()?;
    let head = Head::decode(&head)?;
    head.fits(log).then_some(head.covered)
}

/// Writes the snapshot of `index` and `rules` (what a scan built from the log's first
/// `rules.end` bytes, ending with a whole line) beside the log at `path`: a private
/// temporary file, renamed into place.
pub(super) fn write(path: &Path, log: &File, index: &Index, rules: &Rules) -> std::io::Result<()> {
    let Some(mut head) = Head::of_log(log, rules.end)? else {
        return Err(std::io::Error::other("the log is shorter than its index"));
    };
    let body = encode_body(index, rules)?;
    head.body_len = body.len() as u64;
    head.body_sum = checksum(&body);
    let target = snapshot_path(path);
    let mut tmp = target.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut options = OpenOptions::new();
    options.write(true);
    let written = open_private(&tmp, &options).and_then(|(f, _)| {
        f.set_len(0)?;
        f.write_all_at(&head.encode(), 0)?;
        f.write_all_at(&body, HEAD as u64)
    });
    match written.and_then(|()| std::fs::rename(&tmp, &target)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

// ---- the body ----

fn outcome_code(o: Outcome) -> u8 {
    match o {
        Outcome::Valid => 0,
        Outcome::Unverified => 1,
        Outcome::InvalidSignature => 2,
        Outcome::Stale => 3,
        Outcome::MissingHeader => 4,
        Outcome::MalformedHeader => 5,
    }
}

fn outcome_of(code: u8) -> Option<Outcome> {
    Some(match code {
        0 => Outcome::Valid,
        1 => Outcome::Unverified,
        2 => Outcome::InvalidSignature,
        3 => Outcome::Stale,
        4 => Outcome::MissingHeader,
        5 => Outcome::MalformedHeader,
        _ => return None,
    })
}

fn path_code(p: PathMode) -> u8 {
    match p {
        PathMode::Auto => 0,
        PathMode::Exact => 1,
        PathMode::Prefix => 2,
    }
}

fn path_of(code: u8) -> Option<PathMode> {
    Some(match code {
        0 => PathMode::Auto,
        1 => PathMode::Exact,
        2 => PathMode::Prefix,
        _ => return None,
    })
}

fn kind_code(k: ExchangeKind) -> u8 {
    match k {
        ExchangeKind::Forward => 0,
        ExchangeKind::Replay => 1,
    }
}

fn kind_of(code: u8) -> Option<ExchangeKind> {
    match code {
        0 => Some(ExchangeKind::Forward),
        1 => Some(ExchangeKind::Replay),
        _ => None,
    }
}

/// The little-endian writer of the body.
struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
}

/// The shared strings of the rows, each once, in a table the rows point into.
#[derive(Default)]
struct Table<'a> {
    at: HashMap<&'a str, u32>,
    strings: Vec<&'a str>,
    /// The last string looked up (by address: consecutive rows share the index's copies).
    last: Option<(*const u8, u32)>,
}

impl<'a> Table<'a> {
    fn place(&mut self, s: &'a Arc<str>) -> u32 {
        let ptr = s.as_ptr();
        if let Some((p, i)) = self.last
            && p == ptr
        {
            return i;
        }
        let next = self.strings.len() as u32;
        let i = *self.at.entry(&**s).or_insert(next);
        if i == next {
            self.strings.push(s);
        }
        self.last = Some((ptr, i));
        i
    }
}

fn encode_body(index: &Index, rules: &Rules) -> std::io::Result<Vec<u8>> {
    let rows = index.rows();
    let mut columns = [Table::default(), Table::default(), Table::default()];
    let mut places = Vec::with_capacity(rows.len());
    for r in rows {
        let [m, t, e] = &mut columns;
        places.push([
            m.place(&r.method),
            t.place(&r.target),
            r.event_type.as_ref().map_or(NONE, |s| e.place(s)),
        ]);
    }
    let mut out = Out(Vec::with_capacity(rows.len() * 96 + 4096));
    for table in &columns {
        out.u32(table.strings.len() as u32);
        for s in &table.strings {
            out.str(s);
        }
    }
    // The rules.
    let found = &rules.recovery;
    out.u64(found.captures as u64);
    out.u64(found.corrupt_lines as u64);
    out.u32(found.corrupt_at.len() as u32);
    for line in &found.corrupt_at {
        out.u64(*line);
    }
    out.u64(rules.line_no);
    out.u8(u8::from(rules.forwarding));
    out.u64(rules.unforwarded.len() as u64);
    for id in &rules.unforwarded {
        out.u64(id.0);
    }
    // The index's scalars.
    out.u64(index.next_id());
    match index.forward_to() {
        Some(t) => {
            out.u8(1);
            out.str(&t.url);
            out.u8(path_code(t.path));
        }
        None => out.u8(0),
    }
    match index.session_at() {
        Some((offset, len)) => {
            out.u8(1);
            out.u64(offset);
            out.u32(len);
        }
        None => out.u8(0),
    }
    out.u64(rows.len() as u64);
    for ((r, at), [m, t, e]) in rows.iter().zip(index.locations()).zip(places) {
        let Location::File { offset, len } = at else {
            return Err(std::io::Error::other("a row without its line in the log"));
        };
        let flags = [
            (r.skew_secs.is_some(), SKEW),
            (r.idempotency_key.is_some(), KEY),
            (r.data_id.is_some(), DATA_ID),
            (r.dup_of.is_some(), DUP),
            (r.truncated, TRUNCATED),
            (r.exchange.is_some(), EXCHANGE),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |f, (_, bit)| f | bit);
        out.u64(r.id.0);
        out.u64(r.received_at_ms as u64);
        out.u32(m);
        out.u32(t);
        out.u32(e);
        out.u8(outcome_code(r.outcome));
        out.u8(flags);
        out.u16(r.response_status);
        out.u64(r.body_len);
        out.u64(*offset);
        out.u32(*len);
        if let Some(s) = r.skew_secs {
            out.u64(s as u64);
        }
        if let Some(k) = &r.idempotency_key {
            out.str(k);
        }
        if let Some(d) = &r.data_id {
            out.str(d);
        }
        if let Some(d) = r.dup_of {
            out.u64(d.0);
        }
        if let Some(x) = &r.exchange {
            out.u8(kind_code(x.kind));
            match x.receiver_status {
                Some(s) => {
                    out.u8(1);
                    out.u16(s);
                }
                None => {
                    out.u8(0);
                    out.u16(0);
                }
            }
            out.u64(x.latency_us);
            out.u32(x.count);
        }
    }
    let exchanges: Vec<_> = index.all_exchange_places().collect();
    out.u64(exchanges.len() as u64);
    for (id, places) in exchanges {
        out.u64(id.0);
        out.u32(places.len() as u32);
        for at in places {
            let ExchangeAt::File { offset, len } = at else {
                return Err(std::io::Error::other(
                    "an exchange without its line in the log",
                ));
            };
            out.u64(*offset);
            out.u32(*len);
        }
    }
    Ok(out.0)
}

/// The little-endian reader of the body; every read is checked against its end.
struct In<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
    /// A count of items at least `each` bytes long (so a damaged count cannot ask for more
    /// memory than the body could hold).
    fn count(&mut self, each: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(each)? <= self.b.len() - self.at).then_some(n)
    }
}

fn decode_body(body: &[u8], index: &mut Index, covered: u64) -> Option<(Rules, Restored)> {
    let mut r = In { b: body, at: 0 };
    let mut columns: [Vec<Arc<str>>; 3] = Default::default();
    for table in &mut columns {
        let n = r.u32()? as usize;
        for _ in 0..n {
            table.push(index.shared(r.str()?));
        }
    }
    let mut rules = Rules::default();
    rules.recovery.captures = usize::try_from(r.u64()?).ok()?;
    rules.recovery.corrupt_lines = usize::try_from(r.u64()?).ok()?;
    for _ in 0..r.u32()? {
        rules.recovery.corrupt_at.push(r.u64()?);
    }
    rules.line_no = r.u64()?;
    rules.forwarding = r.u8()? != 0;
    for _ in 0..r.count(8)? {
        rules.unforwarded.insert(CaptureId(r.u64()?));
    }
    rules.end = covered;
    let next_id = r.u64()?;
    let forward_to = match r.u8()? {
        0 => None,
        _ => Some(RecordedTarget {
            url: r.str()?.to_owned(),
            path: path_of(r.u8()?)?,
        }),
    };
    let session_at = match r.u8()? {
        0 => None,
        _ => Some((r.u64()?, r.u32()?)),
    };
    let n = r.count(52)?;
    // The key map is built on a second thread while the rows are decoded (a million inserts
    // take about as long as decoding the rows): the first capture of a key is the one row
    // with it and no `dup_of`.
    let (rows, locations, firsts) = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<(Arc<str>, CaptureId)>>(16);
        let builder = scope.spawn(move || {
            let mut firsts = HashMap::with_capacity(n);
            for batch in rx {
                firsts.extend(batch);
            }
            firsts
        });
        let decoded = decode_rows(&mut r, n, &columns, &tx);
        drop(tx);
        let firsts = builder.join().ok()?;
        decoded.map(|(rows, locations)| (rows, locations, firsts))
    })?;
    let mut exchanges = HashMap::new();
    for _ in 0..r.count(12)? {
        let id = CaptureId(r.u64()?);
        let k = r.u32()? as usize;
        let mut places = Vec::with_capacity(k.min(body.len()));
        for _ in 0..k {
            places.push(ExchangeAt::File {
                offset: r.u64()?,
                len: r.u32()?,
            });
        }
        exchanges.insert(id, places);
    }
    if r.at != body.len() {
        return None;
    }
    Some((
        rules,
        Restored {
            rows,
            locations,
            firsts,
            exchanges,
            next_id,
            forward_to,
            session_at,
        },
    ))
}

#[cfg(test)]
mod tests;

/// Decodes `n` rows, sending the first capture of each key to `firsts` in batches.
fn decode_rows(
    r: &mut In<'_>,
    n: usize,
    columns: &[Vec<Arc<str>>; 3],
    firsts: &mpsc::SyncSender<Vec<(Arc<str>, CaptureId)>>,
) -> Option<(Vec<Summary>, Vec<Location>)> {
    const BATCH: usize = 4096;
    let mut batch = Vec::with_capacity(BATCH);
    let mut rows = Vec::with_capacity(n);
    let mut locations = Vec::with_capacity(n);
    let [methods, targets, types] = &columns;
    for _ in 0..n {
        let id = CaptureId(r.u64()?);
        let received_at_ms = r.u64()? as i64;
        let method = methods.get(r.u32()? as usize)?.clone();
        let target = targets.get(r.u32()? as usize)?.clone();
        let event_type = match r.u32()? {
            NONE => None,
            i => Some(types.get(i as usize)?.clone()),
        };
        let outcome = outcome_of(r.u8()?)?;
        let flags = r.u8()?;
        let response_status = r.u16()?;
        let body_len = r.u64()?;
        locations.push(Location::File {
            offset: r.u64()?,
            len: r.u32()?,
        });
        let on = |bit| flags & bit != 0;
        let skew_secs = if on(SKEW) {
            Some(r.u64()? as i64)
        } else {
            None
        };
        let idempotency_key = if on(KEY) {
            Some(Arc::from(r.str()?))
        } else {
            None
        };
        let data_id = if on(DATA_ID) {
            Some(Box::from(r.str()?))
        } else {
            None
        };
        let dup_of = if on(DUP) {
            Some(CaptureId(r.u64()?))
        } else {
            None
        };
        let exchange = if on(EXCHANGE) {
            let kind = kind_of(r.u8()?)?;
            let answered = r.u8()? != 0;
            let status = r.u16()?;
            Some(Box::new(ExchangeBrief {
                kind,
                receiver_status: answered.then_some(status),
                latency_us: r.u64()?,
                count: r.u32()?,
            }))
        } else {
            None
        };
        if let (Some(key), None) = (&idempotency_key, dup_of) {
            batch.push((Arc::clone(key), id));
            if batch.len() == BATCH {
                firsts
                    .send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                    .ok()?;
            }
        }
        rows.push(Summary {
            id,
            received_at_ms,
            method,
            target,
            event_type,
            outcome,
            skew_secs,
            idempotency_key,
            data_id,
            dup_of,
            body_len,
            truncated: on(TRUNCATED),
            response_status,
            exchange,
        });
    }
    firsts.send(batch).ok()?;
    Some((rows, locations))
}
