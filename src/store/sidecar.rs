//! The offset index beside the log (`<log>.idx`, 0600): where each capture, forward, replay
//! and `session` line is, so `show ID`, `export --curl ID` and `replay ID` read a few lines
//! instead of the whole log.
//!
//! * **Format.** A 72-byte header (magic, the log's device and inode, the hash of its first
//!   bytes, how many bytes of the log it covers, the entry count, the highest capture id, the
//!   unreadable lines seen, a checksum), then 32-byte entries: kind, line length, capture id,
//!   line offset and a hash of the idempotency key (which finds a repeat's first capture).
//! * **Never trusted blindly.** Every line read through it is checked to be what the entry
//!   says (a capture line with that id; a forward naming that capture); a mismatch rebuilds
//!   the sidecar from the log and asks again. A missing or unreadable sidecar, another log at
//!   the path (`identity`, as the index snapshot judges it), or a log shorter than what the
//!   sidecar covers, rebuild it too.
//! * **Growing logs.** When the log grew since (a listener is running), only the new lines are
//!   read, and added to the sidecar under its lock.
//! * **`list`.** Streaming rows in log order, `list` reads ahead only the forward and replay
//!   lines the sidecar places, each checked the same way.
//! * **Best effort.** A sidecar that cannot be written (a read-only directory) costs only
//!   speed: the answer comes from the scan held in memory.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::file::{check_identity, open_private};
use super::identity::{LogIdentity, fnv};
use super::index::{ExchangeAt, Index, Location};
use super::line::{Fields, decode_exchange, decode_line, index_fields};
use super::scan::{scan, scan_range};
use crate::model::capture::CaptureId;
use crate::model::exchange::{Exchange, RecordedTarget};
use crate::model::record::CaptureRecord;

const MAGIC: &[u8; 8] = b"HLOFFS01";
const HEADER: usize = 72;
const ENTRY: usize = 32;

const CAPTURE: u8 = 1;
const EXCHANGE: u8 = 2;
const SESSION: u8 = 3;

/// One indexed line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ent {
    kind: u8,
    len: u32,
    /// The capture's id (a capture), the capture it links to (an exchange), 0 (a session).
    id: u64,
    offset: u64,
    /// A capture's idempotency key hashed (0: none).
    key: u64,
}

impl Ent {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.kind);
        out.extend_from_slice(&[0; 3]);
        out.extend_from_slice(&self.len.to_le_bytes());
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.key.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Ent {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        Ent {
            kind: b[0],
            len: u32::from_le_bytes(b[4..8].try_into().unwrap_or([0; 4])),
            id: u64_at(8),
            offset: u64_at(16),
            key: u64_at(24),
        }
    }
}

/// The entries as read from the sidecar (decoded one at a time when looked at; a million
/// take one read and no allocation each).
#[derive(Debug, Default)]
struct Entries {
    bytes: Vec<u8>,
    /// Where the first entry starts in `bytes` (after the header, when read from the file).
    from: usize,
}

impl Entries {
    fn len(&self) -> usize {
        (self.bytes.len() - self.from) / ENTRY
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = Ent> + '_ {
        self.bytes[self.from..].chunks_exact(ENTRY).map(Ent::decode)
    }

    fn push(&mut self, e: &Ent) {
        e.encode(&mut self.bytes);
    }

    fn raw(&self) -> &[u8] {
        &self.bytes[self.from..]
    }
}

/// What the header says about the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Head {
    dev: u64,
    ino: u64,
    identity: u64,
    covered: u64,
    count: u64,
    last_id: u64,
    corrupt: u64,
}

impl Head {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER);
        out.extend_from_slice(MAGIC);
        for v in [
            self.dev,
            self.ino,
            self.identity,
            self.covered,
            self.count,
            self.last_id,
            self.corrupt,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let sum = fnv(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    fn decode(b: &[u8]) -> Option<Head> {
        if b.len() < HEADER || &b[..8] != MAGIC {
            return None;
        }
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        if fnv(&b[..HEADER - 8]) != u64_at(HEADER - 8) {
            return None;
        }
        Some(Head {
            dev: u64_at(8),
            ino: u64_at(16),
            identity: u64_at(24),
            covered: u64_at(32),
            count: u64_at(40),
            last_id: u64_at(48),
            corrupt: u64_at(56),
        })
    }
}

/// A key's hash (`identity::fnv`; never 0 for a key).
fn key_hash(key: Option<&str>) -> u64 {
    key.map_or(0, |k| fnv(k.as_bytes()).max(1))
}

/// `<log>.idx`.
pub(super) fn sidecar_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".idx");
    PathBuf::from(name)
}

/// One capture (or a few) read from a log through its offset index: `show ID`,
/// `export --curl ID`, `replay ID`.
pub struct Lookup {
    path: PathBuf,
    log: File,
    entries: Entries,
    corrupt: u64,
    /// The entries were rebuilt from the whole log in this run (a second mismatch is an error).
    rebuilt: bool,
}

impl Lookup {
    /// Opens the log at `path` for lookups (never modifies it): the sidecar is read, extended
    /// with what the log gained since, or rebuilt. A file that is not a capture log is refused
    /// ([`super::Refused`]) and nothing is created beside it.
    pub(super) fn open(path: &Path) -> Result<Lookup> {
        let log =
            File::open(path).with_context(|| format!("opening capture log {}", path.display()))?;
        check_identity(&log, path)?;
        let mut lookup = Lookup {
            path: path.to_path_buf(),
            log,
            entries: Entries::default(),
            corrupt: 0,
            rebuilt: false,
        };
        let here = lookup.head_now()?;
        match read_sidecar(&sidecar_path(path)) {
            Some((head, entries))
                if (head.dev, head.ino, head.identity) == (here.dev, here.ino, here.identity)
                    && head.covered <= here.covered =>
            {
                lookup.entries = entries;
                lookup.corrupt = head.corrupt;
                if head.covered < here.covered {
                    lookup.extend(head)?;
                }
            }
            _ => lookup.rebuild()?,
        }
        Ok(lookup)
    }

    /// The log's identity and size now (`covered`: its length).
    fn head_now(&self) -> Result<Head> {
        let (id, len) = LogIdentity::of(&self.log, None).context("reading the capture log")?;
        Ok(Head {
            dev: id.dev,
            ino: id.ino,
            identity: id.first,
            covered: len,
            count: 0,
            last_id: 0,
            corrupt: 0,
        })
    }

    /// Reads the whole log (as `list` does) and writes a new sidecar.
    fn rebuild(&mut self) -> Result<()> {
        let mut here = self.head_now()?;
        let mut index = Index::new();
        let mut file = self.log.try_clone().context("reading the capture log")?;
        let recovery = scan(&mut file, &mut index, None)
            .with_context(|| format!("reading capture log {}", self.path.display()))?;
        let mut entries = Entries {
            bytes: Vec::with_capacity((index.len() + 16) * ENTRY),
            from: 0,
        };
        for (row, at) in index.rows().iter().zip(index.locations()) {
            if let Location::File { offset, len } = at {
                entries.push(&Ent {
                    kind: CAPTURE,
                    len: *len,
                    id: row.id.0,
                    offset: *offset,
                    key: key_hash(row.idempotency_key.as_deref()),
                });
            }
        }
        for (id, places) in index.all_exchange_places() {
            for at in places {
                if let ExchangeAt::File { offset, len } = at {
                    entries.push(&Ent {
                        kind: EXCHANGE,
                        len: *len,
                        id: id.0,
                        offset: *offset,
                        key: 0,
                    });
                }
            }
        }
        if let Some((offset, len)) = index.session_at() {
            entries.push(&Ent {
                kind: SESSION,
                len,
                id: 0,
                offset,
                key: 0,
            });
        }
        // A line still being written is left for the next look.
        here.covered = here.covered.saturating_sub(recovery.torn_bytes);
        here.count = entries.len() as u64;
        here.last_id = index.rows().last().map_or(0, |r| r.id.0);
        here.corrupt = recovery.corrupt_lines as u64;
        self.entries = entries;
        self.corrupt = here.corrupt;
        self.rebuilt = true;
        let _ = write_sidecar(&sidecar_path(&self.path), &here, &self.entries);
        Ok(())
    }

    /// Indexes the lines the log gained after `old.covered`, and adds them to the sidecar.
    fn extend(&mut self, old: Head) -> Result<()> {
        let here = self.head_now()?;
        let lines =
            scan_range(&self.log, old.covered, here.covered).context("reading the capture log")?;
        let mut fresh = Vec::new();
        let mut covered = old.covered;
        let mut last_id = old.last_id;
        let mut corrupt = old.corrupt;
        for line in lines {
            if !line.complete {
                break; // a write in progress
            }
            covered = line.offset + line.size;
            let len = (line.size - 1) as u32;
            let ent = |kind, id, key| Ent {
                kind,
                len,
                id,
                offset: line.offset,
                key,
            };
            match line.fields {
                Err(()) if line.blank => {}
                Err(()) => corrupt += 1,
                Ok(None) => {}
                Ok(Some(Fields::Capture(row))) if row.id.0 > last_id => {
                    last_id = row.id.0;
                    fresh.push(ent(
                        CAPTURE,
                        row.id.0,
                        key_hash(row.idempotency_key.as_deref()),
                    ));
                }
                Ok(Some(Fields::Capture(_))) => corrupt += 1,
                Ok(Some(Fields::Exchange(id, _))) => fresh.push(ent(EXCHANGE, id.0, 0)),
                Ok(Some(Fields::Session(Some(_)))) => fresh.push(ent(SESSION, 0, 0)),
                Ok(Some(Fields::Session(None))) => {}
            }
        }
        for e in &fresh {
            self.entries.push(e);
        }
        self.corrupt = corrupt;
        let head = Head {
            covered,
            count: self.entries.len() as u64,
            last_id,
            corrupt,
            ..here
        };
        let _ = append_sidecar(&sidecar_path(&self.path), &old, &head, &fresh);
        Ok(())
    }

    fn not_found(&self, id: CaptureId) -> anyhow::Error {
        anyhow::anyhow!(match self.corrupt {
            0 => format!("no capture {id} in the log"),
            1 => format!("no capture {id} in the log (1 unreadable line was skipped)"),
            n => format!("no capture {id} in the log ({n} unreadable lines were skipped)"),
        })
    }

    /// Runs `f`; when a line was not what the sidecar said, rebuilds it and runs `f` again.
    fn checked<T>(&mut self, f: impl Fn(&Lookup) -> Result<T, Check>) -> Result<T> {
        match f(self) {
            Ok(v) => Ok(v),
            Err(Check::Failed(e)) => Err(e),
            Err(Check::Stale) if !self.rebuilt => {
                self.rebuild()?;
                self.checked(f)
            }
            Err(Check::Stale) => bail!(
                "capture log {} changed while it was read; try again",
                self.path.display()
            ),
        }
    }

    fn capture(&self, id: CaptureId) -> Option<Ent> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.kind == CAPTURE && e.id == id.0)
    }

    fn read_line(&self, e: &Ent) -> Result<Vec<u8>, Check> {
        let mut line = vec![0u8; e.len as usize];
        self.log
            .read_exact_at(&mut line, e.offset)
            .map_err(|_| Check::Stale)?;
        Ok(line)
    }

    fn capture_at(&self, e: &Ent) -> Result<CaptureRecord, Check> {
        let line = self.read_line(e)?;
        let head = format!("{{\"v\":1,\"kind\":\"capture\",\"id\":{},", e.id);
        if !line.starts_with(head.as_bytes()) {
            return Err(Check::Stale);
        }
        match decode_line(&line) {
            Ok(record) if record.capture.id.0 == e.id => Ok(record),
            _ => Err(Check::Stale),
        }
    }

    /// Whether the log holds capture `id` (as the offset index says; [`Lookup::load`] checks).
    pub fn holds(&self, id: CaptureId) -> bool {
        self.capture(id).is_some()
    }

    /// The newest capture's id, if the log holds any.
    pub fn newest(&self) -> Option<CaptureId> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.kind == CAPTURE)
            .map(|e| CaptureId(e.id))
    }

    /// Lines of the log that could not be read (skipped).
    pub fn corrupt_lines(&self) -> u64 {
        self.corrupt
    }

    /// Reads one capture record.
    pub fn load(&mut self, id: CaptureId) -> Result<CaptureRecord> {
        self.checked(|l| match l.capture(id) {
            Some(e) => l.capture_at(&e),
            None => Err(Check::Failed(l.not_found(id))),
        })
    }

    /// The first capture with the same idempotency key as `id`, when `id` repeats one.
    pub fn dup_of(&mut self, id: CaptureId) -> Result<Option<CaptureId>> {
        self.checked(|l| {
            let Some(me) = l.capture(id) else {
                return Err(Check::Failed(l.not_found(id)));
            };
            if me.key == 0 {
                return Ok(None);
            }
            let mine = l.capture_at(&me)?.idempotency_key;
            for e in l.entries.iter() {
                if e.kind != CAPTURE || e.key != me.key {
                    continue;
                }
                if e.id >= id.0 {
                    return Ok(None);
                }
                // Equal hashes: the keys themselves decide.
                if l.capture_at(&e)?.idempotency_key == mine {
                    return Ok(Some(CaptureId(e.id)));
                }
            }
            Ok(None)
        })
    }

    /// The forwards and replays of a capture, oldest first.
    pub fn exchanges(&mut self, id: CaptureId) -> Result<Vec<Exchange>> {
        self.checked(|l| {
            let mut places: Vec<Ent> = l
                .entries
                .iter()
                .filter(|e| e.kind == EXCHANGE && e.id == id.0)
                .collect();
            places.sort_by_key(|e| e.offset);
            places
                .into_iter()
                .map(|e| match decode_exchange(&l.read_line(&e)?) {
                    Ok(x) if x.capture == id => Ok(x),
                    _ => Err(Check::Stale),
                })
                .collect()
        })
    }

    /// Where the forward and replay lines are that end before `limit` (a length of the log):
    /// `(capture, offset, len)`, by capture and then by offset (for `list` as it streams).
    pub(super) fn exchange_lines(&self, limit: u64) -> Vec<(u64, u64, u32)> {
        let mut out: Vec<(u64, u64, u32)> = self
            .entries
            .iter()
            .filter(|e| e.kind == EXCHANGE && e.offset + u64::from(e.len) < limit)
            .map(|e| (e.id, e.offset, e.len))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Reads the forward or replay line of `capture` the sidecar placed at `offset`; None when
    /// the line is not that (the sidecar is stale: [`Lookup::rebuild_once`]).
    pub(super) fn linked_brief(
        &self,
        capture: u64,
        offset: u64,
        len: u32,
    ) -> Option<crate::model::record::LinkedBrief> {
        let e = Ent {
            kind: EXCHANGE,
            len,
            id: capture,
            offset,
            key: 0,
        };
        match index_fields(&self.read_line(&e).ok()?, &mut |s| s.into()) {
            Ok(Some(Fields::Exchange(id, brief))) if id.0 == capture => Some(brief),
            _ => None,
        }
    }

    /// Rebuilds the sidecar from the log, unless that was done in this run already (false).
    pub(super) fn rebuild_once(&mut self) -> Result<bool> {
        if self.rebuilt {
            return Ok(false);
        }
        self.rebuild()?;
        Ok(true)
    }

    /// The newest `--forward-to` a listener recorded in this log.
    pub fn forward_to(&mut self) -> Result<Option<RecordedTarget>> {
        self.checked(|l| {
            let Some(e) = l
                .entries
                .iter()
                .filter(|e| e.kind == SESSION)
                .max_by_key(|e| e.offset)
            else {
                return Ok(None);
            };
            match index_fields(&l.read_line(&e)?, &mut |s| s.into()) {
                Ok(Some(Fields::Session(Some(t)))) => Ok(Some(t)),
                _ => Err(Check::Stale),
            }
        })
    }
}

/// Why a lookup failed: the sidecar was wrong (rebuild and ask again), or a plain error.
enum Check {
    Stale,
    Failed(anyhow::Error),
}

fn read_sidecar(path: &Path) -> Option<(Head, Entries)> {
    let file = File::open(path).ok()?;
    file.lock_shared().ok()?;
    let bytes = std::fs::read(path).ok();
    let _ = file.unlock();
    let bytes = bytes?;
    let head = Head::decode(&bytes)?;
    if (bytes.len() - HEADER) as u64 != head.count.checked_mul(ENTRY as u64)? {
        return None;
    }
    Some((
        head,
        Entries {
            bytes,
            from: HEADER,
        },
    ))
}

/// Writes a whole new sidecar beside the log: a private temporary file, renamed into place.
fn write_sidecar(path: &Path, head: &Head, entries: &Entries) -> std::io::Result<()> {
    let mut bytes = head.encode();
    bytes.extend_from_slice(entries.raw());
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let mut options = OpenOptions::new();
    options.write(true).truncate(true);
    let written = open_private(&tmp, &options).and_then(|(f, _)| {
        f.set_len(0)?;
        f.write_all_at(&bytes, 0)
    });
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Adds `fresh` entries to the sidecar, if it still says what it said when it was read (`old`).
fn append_sidecar(path: &Path, old: &Head, head: &Head, fresh: &[Ent]) -> std::io::Result<()> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    file.lock()?;
    let mut now = [0u8; HEADER];
    let result = file.read_exact_at(&mut now, 0).and_then(|()| {
        if Head::decode(&now).as_ref() != Some(old) {
            return Ok(()); // another reader got there first
        }
        let mut bytes = Vec::with_capacity(fresh.len() * ENTRY);
        for e in fresh {
            e.encode(&mut bytes);
        }
        file.write_all_at(&bytes, HEADER as u64 + old.count * ENTRY as u64)?;
        file.write_all_at(&head.encode(), 0)
    });
    let _ = file.unlock();
    result
}

#[cfg(test)]
mod tests {
    use super::super::readonly::{ReadOnlyLog, append_exchanges_to};
    use super::*;
    use crate::store::fixtures::{exchange, record};
    use crate::store::line::encode_line;

    /// Captures `from..=to` as a listener writes them (key `k{i % 3}`, body `body {i}`).
    fn lines(from: u64, to: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for i in from..=to {
            let key = format!("k{}", i % 3);
            let rec = record(format!("body {i}").as_bytes(), Some(&key));
            out.extend(encode_line(CaptureId(i), &rec).unwrap());
        }
        out
    }

    fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut text =
            format!("{{\"v\":1,\"kind\":\"log\",\"created_by\":\"hooklens\",\"n\":{n}}}\n")
                .into_bytes();
        text.extend(lines(1, n));
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn lookups_agree_with_the_full_scan_and_the_sidecar_is_private() {
        let (_dir, path) = log_with(7);
        append_exchanges_to(&path, &[exchange(4, Some(502), false)]).unwrap();
        let mut lookup = Lookup::open(&path).unwrap();
        let full = ReadOnlyLog::open(&path).unwrap();
        for id in 1..=7 {
            let id = CaptureId(id);
            assert_eq!(lookup.load(id).unwrap(), full.load(id).unwrap());
            assert_eq!(
                lookup.dup_of(id).unwrap(),
                full.index().get(id).unwrap().dup_of
            );
            assert_eq!(lookup.exchanges(id).unwrap(), full.exchanges(id).unwrap());
        }
        let err = lookup.load(CaptureId(8)).unwrap_err().to_string();
        assert_eq!(err, "no capture #8 in the log");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sidecar_path(&path))
            .unwrap()
            .permissions();
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    #[test]
    fn a_grown_log_is_read_from_where_the_sidecar_ends() {
        let (_dir, path) = log_with(3);
        let before = Lookup::open(&path).unwrap().entries.len();
        // A listener adds a capture later; the sidecar gets only the new line.
        let mut more = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut more, &lines(4, 4)).unwrap();
        let mut lookup = Lookup::open(&path).unwrap();
        assert!(!lookup.rebuilt, "extended, not rebuilt");
        assert_eq!(lookup.entries.len(), before + 1);
        assert_eq!(
            lookup.load(CaptureId(4)).unwrap().capture.body.as_ref(),
            b"body 4"
        );
        assert_eq!(lookup.dup_of(CaptureId(4)).unwrap(), Some(CaptureId(1)));
        let (head, _) = read_sidecar(&sidecar_path(&path)).unwrap();
        assert_eq!(head.covered, std::fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn a_sidecar_that_lies_is_caught_and_rebuilt() {
        let (_dir, path) = log_with(3);
        let _ = Lookup::open(&path).unwrap();
        // Point capture 2's entry at capture 3's line, keeping the header valid.
        let side = sidecar_path(&path);
        let (head, entries) = read_sidecar(&side).unwrap();
        let three = entries.iter().find(|e| e.id == 3).unwrap();
        let mut lying = Entries::default();
        for mut e in entries.iter() {
            if e.id == 2 {
                (e.offset, e.len) = (three.offset, three.len);
            }
            lying.push(&e);
        }
        write_sidecar(&side, &head, &lying).unwrap();
        let mut lookup = Lookup::open(&path).unwrap();
        assert_eq!(
            lookup.load(CaptureId(2)).unwrap().capture.body.as_ref(),
            b"body 2"
        );
        assert!(lookup.rebuilt);
        // Garbage, or another log at the same path: rebuilt as well.
        std::fs::write(&side, b"garbage").unwrap();
        let mut lookup = Lookup::open(&path).unwrap();
        assert!(lookup.rebuilt);
        assert_eq!(
            lookup.load(CaptureId(3)).unwrap().capture.body.as_ref(),
            b"body 3"
        );
        std::fs::remove_file(&path).unwrap();
        let (_d2, other) = log_with(1);
        std::fs::copy(&other, &path).unwrap();
        let mut lookup = Lookup::open(&path).unwrap();
        assert!(lookup.rebuilt);
        assert!(lookup.load(CaptureId(2)).is_err());
    }
}
