//! Recovery: rebuilding the index from the log when it is opened.
//!
//! A big log (over 16 MiB) is parsed in blocks of [`BLOCK`] bytes (each block holds the lines
//! that start in it) by one thread per core, each with its own [`Intern`]; the threads take
//! the blocks in file order, and the opening thread applies each block's lines to the index,
//! in file order, as soon as that block is parsed, while the threads parse the next ones. At
//! most [`AHEAD`] parsed blocks wait to be applied; their line vectors are handed back to be
//! filled again, so the memory a scan holds stays small however big the log is. The lines
//! are applied by [`Rules`], the recovery rules below, which `list` streams through too (into
//! a row printer instead of the index: [`Take`]). Only the index fields of each line are read
//! ([`index_fields`]); bodies stay on disk. A scan may start after the part of the log an
//! index snapshot covers ([`scan_from`]), with the index and the rules as that part left them.
//!
//! * A torn last line (a crash mid write) is reported in [`Recovery::torn_bytes`] and, when
//!   repairing, saved beside the log (`<log>.torn-<time>`) and cut off; only a line that
//!   itself starts like a hooklens record is ever cut. A last line that is a whole record and
//!   only lacks its newline is kept and given one.
//! * A line that is not a readable record, a capture whose id does not grow, or a forward that
//!   links to no capture counts in [`Recovery::corrupt_lines`] (the first line numbers in
//!   [`Recovery::corrupt_at`]); it stays in the file.
//! * Captures a forwarding listener stored without a forward or replay record after them (it
//!   was killed before forwarding) are listed in [`Recovery::unforwarded`].
//! * Lines of a newer format version or an unknown kind are skipped silently; blank lines too.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, mpsc};

use anyhow::Result;

use super::file::{append_lines, display, open_private};
use super::index::{ExchangeAt, Index, Intern, Location};
use super::line::{Fields, index_fields, looks_like_record};
use crate::model::capture::{CaptureId, now_ms};
use crate::model::exchange::RecordedTarget;
use crate::model::record::{LinkedBrief, Summary};

/// Logs bigger than this are parsed on several threads.
const PARALLEL_FROM: u64 = 16 << 20;
/// The parallel scan parses the log in blocks of this many bytes (about 4,000 captures of
/// the benchmark's).
const BLOCK: u64 = 4 << 20;
/// How many parsed blocks may wait to be applied.
const AHEAD: usize = 8;
/// How much of the log one read takes (small enough that the bytes are still in the cache
/// when they are parsed).
const READ_BUF: usize = 256 << 10;
/// How many line numbers of unreadable lines are kept.
const CORRUPT_AT_KEEP: usize = 10;

/// What recovery found when opening the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Captures loaded.
    pub captures: usize,
    /// Bytes of a torn last line (cut off when repairing).
    pub torn_bytes: u64,
    /// Where the cut bytes were saved.
    pub torn_saved: Option<PathBuf>,
    /// Lines that could not be parsed (kept in the file, skipped).
    pub corrupt_lines: usize,
    /// Line numbers (from 1) of the first unreadable lines.
    pub corrupt_at: Vec<u64>,
    /// Captures stored while a listener forwarded that have no forward or replay record.
    pub unforwarded: Vec<CaptureId>,
    /// Warnings about the file (its permissions).
    pub warnings: Vec<String>,
}

impl Recovery {
    /// What a user should hear about the log `path`, one line each (`repaired`: a listener
    /// opened it and cut a torn tail; otherwise an offline command only read it).
    pub fn report(&self, path: &Path, repaired: bool) -> Vec<String> {
        let mut out = self.warnings.clone();
        if self.torn_bytes > 0 {
            out.push(match (&self.torn_saved, repaired) {
                (Some(saved), _) => format!(
                    "capture log: cut a torn last line ({} bytes) left by an interrupted write, saved in {}; earlier captures are intact",
                    self.torn_bytes,
                    display(saved)
                ),
                (None, true) => format!(
                    "capture log: the last line ({} bytes) is torn and could not be saved aside, so it was left in the file",
                    self.torn_bytes
                ),
                (None, false) => "capture log: the last line is incomplete (a write in progress, or a crash)".to_owned(),
            });
        }
        if self.corrupt_lines > 0 {
            let lines: Vec<String> = self.corrupt_at.iter().map(u64::to_string).collect();
            let more = if self.corrupt_lines > self.corrupt_at.len() {
                ", …"
            } else {
                ""
            };
            out.push(format!(
                "capture log {}: skipped {} unreadable line{} (line{} {}{more}; left in the file)",
                display(path),
                self.corrupt_lines,
                if self.corrupt_lines == 1 { "" } else { "s" },
                if self.corrupt_at.len() == 1 { "" } else { "s" },
                lines.join(", ")
            ));
        }
        if let (Some(first), Some(last)) = (self.unforwarded.first(), self.unforwarded.last()) {
            let (n, range) = match self.unforwarded.len() {
                1 => ("1 capture was".to_owned(), format!("{first}")),
                n => (format!("{n} captures were"), format!("{first} … {last}")),
            };
            out.push(format!(
                "capture log: {n} meant to be forwarded but never were (the listener stopped first: {range}); send them with: hooklens replay --pending --store {}",
                shell_quote_path(path)
            ));
        }
        out
    }
}

fn shell_quote_path(path: &Path) -> String {
    crate::sanitize::shell_quote(path.as_os_str().as_encoded_bytes())
}

/// One line as found by a range scan.
pub(super) struct Scanned {
    pub(super) offset: u64,
    /// Bytes including the newline.
    pub(super) size: u64,
    /// Ends with a newline.
    pub(super) complete: bool,
    /// Only whitespace.
    pub(super) blank: bool,
    /// Starts like a hooklens record (so, if it is the last line and unreadable, it is torn).
    record_like: bool,
    /// `Ok(None)`: a record hooklens skips (another kind, a newer version).
    pub(super) fields: Result<Option<Fields>, ()>,
}

/// Scans the whole log into `index`. With `repair` (the log's path), a torn last line is
/// saved beside the log and cut (and a whole last record given its newline).
pub(super) fn scan(file: &mut File, index: &mut Index, repair: Option<&Path>) -> Result<Recovery> {
    scan_from(file, index, Rules::default(), 0, repair).map(|(recovery, _)| recovery)
}

/// [`scan`] of the lines from `start` (a line start) on, into an index and rules that hold
/// what the lines before it gave (a snapshot: `snapshot`). Also returns the rules as they
/// end, when the log ends with a whole line (a state a snapshot can keep).
pub(super) fn scan_from(
    file: &mut File,
    index: &mut Index,
    rules: Rules,
    start: u64,
    repair: Option<&Path>,
) -> Result<(Recovery, Option<Rules>)> {
    let len = file.metadata()?.len();
    let block = (len.saturating_sub(start) > PARALLEL_FROM).then_some(BLOCK);
    scan_in(file, index, rules, start, repair, block)
}

/// [`scan_from`], in blocks of `block` bytes on one thread per core, or (`None`) all on this
/// one.
fn scan_in(
    file: &mut File,
    index: &mut Index,
    mut rules: Rules,
    start: u64,
    repair: Option<&Path>,
    block: Option<u64>,
) -> Result<(Recovery, Option<Rules>)> {
    let len = file.metadata()?.len();
    rules.end = rules.end.max(start);
    if let Some(block) = block {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        index.reserve(estimate_lines(file, start, len)?);
        scan_blocks(file, start, len, block, threads, &mut |line| {
            rules.line(line, index)
        })?;
        index.shrink_to_fit();
    } else {
        let mut intern = Intern::default();
        read_lines(file, start, len, len, |offset, content, complete| {
            rules.line(scanned(offset, content, complete, &mut intern), index);
            Ok(())
        })?;
    }
    // Only a log that ends with a whole line leaves rules a later scan may go on from.
    let kept = rules.torn_at.is_none().then(|| rules.clone());
    let (recovery, torn_at, end) = rules.finish();
    let recovery = repair_tail(file, repair, recovery, torn_at, end)?;
    Ok((recovery, kept))
}

/// About how many lines the bytes of a log from `start` to `len` hold, from the first lines
/// (with a margin, so a million rows are not copied again as the index grows).
fn estimate_lines(file: &File, start: u64, len: u64) -> std::io::Result<usize> {
    let mut probe = vec![0u8; 64 * 1024];
    let n = file.read_at(&mut probe, start)?.max(1);
    let lines = memchr::memchr_iter(b'\n', &probe[..n]).count().max(1) as u64;
    Ok(((len - start) * lines / n as u64 * 17 / 16 + 16) as usize)
}

/// Parses the blocks of the log from `start` (a line start) on `threads` threads and hands
/// `apply` every line in file order, each block as soon as it is parsed.
fn scan_blocks(
    file: &File,
    start: u64,
    len: u64,
    block_size: u64,
    threads: usize,
    apply: &mut dyn FnMut(Scanned),
) -> std::io::Result<()> {
    let blocks = (len - start).div_ceil(block_size);
    let next_block = AtomicU64::new(0);
    let (parsed_tx, parsed_rx) = mpsc::channel::<(u64, std::io::Result<Vec<Scanned>>)>();
    // The line vectors in use: a thread takes an empty one before it takes a block.
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<Scanned>>();
    for _ in 0..AHEAD {
        let _ = empty_tx.send(Vec::new());
    }
    let empty_rx = Mutex::new(empty_rx);
    let lost = || std::io::Error::other("scan thread panicked");
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let parsed_tx = parsed_tx.clone();
            let (next_block, empty_rx) = (&next_block, &empty_rx);
            scope.spawn(move || {
                let mut intern = Intern::default();
                let mut reader = LineReader::default();
                // A vector first, then a block: the blocks are taken in order, so the one the
                // applier waits for is always being parsed (never waiting for a vector).
                while let Some(mut lines) = empty_rx.lock().ok().and_then(|rx| rx.recv().ok()) {
                    let block = next_block.fetch_add(1, Ordering::Relaxed);
                    if block >= blocks {
                        return;
                    }
                    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        parse_block(
                            file,
                            (block == 0).then_some(start),
                            start + block * block_size,
                            block_size,
                            len,
                            &mut reader,
                            &mut intern,
                            &mut lines,
                        )
                    }))
                    .unwrap_or_else(|_| Err(lost()))
                    .map(|()| lines);
                    if parsed_tx.send((block, parsed)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(parsed_tx);
        // Dropped when this returns (done, or failed): threads waiting for a vector stop.
        let empty_tx = empty_tx;
        let mut early: BTreeMap<u64, std::io::Result<Vec<Scanned>>> = BTreeMap::new();
        for block in 0..blocks {
            let mut lines = loop {
                if let Some(parsed) = early.remove(&block) {
                    break parsed?;
                }
                let (at, parsed) = parsed_rx.recv().map_err(|_| lost())?;
                early.insert(at, parsed);
            };
            for line in lines.drain(..) {
                apply(line);
            }
            let _ = empty_tx.send(lines);
        }
        Ok(())
    })
}

/// Parses the lines that start in `[from, from + size)` of a log of `len` bytes into `lines`
/// (`line_start`: `from`, when it is known to start a line).
#[allow(clippy::too_many_arguments)]
fn parse_block(
    file: &File,
    line_start: Option<u64>,
    from: u64,
    size: u64,
    len: u64,
    reader: &mut LineReader,
    intern: &mut Intern,
    lines: &mut Vec<Scanned>,
) -> std::io::Result<()> {
    let to = (from + size).min(len);
    let start = match line_start {
        Some(at) => at,
        None => line_start_from(file, from, len)?,
    };
    if start >= to {
        return Ok(()); // inside a line that started in an earlier block
    }
    reader.read(file, start, to, len, |offset, content, complete| {
        lines.push(scanned(offset, content, complete, intern));
        Ok(())
    })
}

/// The first line start at or after `pos` (> 0), or `len`.
fn line_start_from(file: &File, pos: u64, len: u64) -> std::io::Result<u64> {
    let mut probe = [0u8; 4096];
    // A line starts at `pos` when the byte before it ends a line.
    let mut at = pos - 1;
    while at < len {
        let n = file.read_at(&mut probe, at)?;
        if n == 0 {
            break;
        }
        if let Some(nl) = memchr::memchr(b'\n', &probe[..n]) {
            return Ok(at + nl as u64 + 1);
        }
        at += n as u64;
    }
    Ok(len)
}

/// Where the lines of a log go, in file order: the index ([`scan`]), or `list`'s row
/// printer (`stream`). Both follow the same recovery rules ([`Rules`]).
pub(super) trait Take {
    /// A capture's row; false (and nothing taken) when its id does not grow.
    fn capture(&mut self, row: Summary, offset: u64, len: u32) -> bool;
    /// A forward or replay; false when it links to no capture before it.
    fn exchange(&mut self, capture: CaptureId, brief: LinkedBrief, offset: u64, len: u32) -> bool;
    /// A listener started.
    fn session(&mut self, forward_to: Option<RecordedTarget>, offset: u64, len: u32);
}

impl Take for Index {
    fn capture(&mut self, row: Summary, offset: u64, len: u32) -> bool {
        self.push_read(row, Location::File { offset, len })
    }

    fn exchange(&mut self, capture: CaptureId, brief: LinkedBrief, offset: u64, len: u32) -> bool {
        self.link(capture, brief, ExchangeAt::File { offset, len })
    }

    fn session(&mut self, forward_to: Option<RecordedTarget>, offset: u64, len: u32) {
        self.note_session(forward_to, Some((offset, len)));
    }
}

/// The recovery rules, applied to the lines of a log in file order. What they hold between
/// lines is what a snapshot keeps of them (`snapshot`), so a later scan can go on from there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Rules {
    /// What was found so far (captures, unreadable lines).
    pub(super) recovery: Recovery,
    /// Where the file ends up torn: at a line start (cut it), or after a whole record that
    /// lacks its newline (`true`: finish it).
    torn_at: Option<(u64, bool)>,
    /// Where the last line read ends.
    pub(super) end: u64,
    /// Lines read so far.
    pub(super) line_no: u64,
    /// Whether the listener that wrote these lines forwarded, and its captures not yet sent.
    pub(super) forwarding: bool,
    pub(super) unforwarded: BTreeSet<CaptureId>,
}

impl Rules {
    fn corrupt(&mut self) {
        self.recovery.corrupt_lines += 1;
        if self.recovery.corrupt_at.len() < CORRUPT_AT_KEEP {
            self.recovery.corrupt_at.push(self.line_no);
        }
    }

    /// Takes the next line into `into`.
    pub(super) fn line(&mut self, line: Scanned, into: &mut impl Take) {
        self.line_no += 1;
        self.end = line.offset + line.size;
        let (offset, len) = (line.offset, (line.size - u64::from(line.complete)) as u32);
        let kept = match line.fields {
            Err(()) => {
                if !line.complete && line.record_like {
                    self.torn_at = Some((line.offset, false));
                } else if !line.blank {
                    self.corrupt();
                }
                return;
            }
            Ok(None) => true,
            Ok(Some(Fields::Exchange(capture, brief))) => {
                // A forward record follows its capture; one that links nowhere is corrupt.
                self.unforwarded.remove(&capture);
                into.exchange(capture, brief, offset, len)
            }
            Ok(Some(Fields::Session(forward_to))) => {
                self.forwarding = forward_to.is_some();
                into.session(forward_to, offset, len);
                true
            }
            Ok(Some(Fields::Capture(row))) => {
                let id = row.id;
                let taken = into.capture(row, offset, len);
                self.recovery.captures += usize::from(taken);
                if taken && self.forwarding {
                    self.unforwarded.insert(id);
                }
                taken
            }
        };
        if !kept {
            self.corrupt();
        }
        if !line.complete {
            // A whole record that only lacks its newline: finish the line.
            self.torn_at = Some((self.end, true));
        }
    }

    /// What was found, where the file is torn, and where its last line ends.
    pub(super) fn finish(mut self) -> (Recovery, Option<(u64, bool)>, u64) {
        self.recovery.unforwarded = self.unforwarded.into_iter().collect();
        (self.recovery, self.torn_at, self.end)
    }
}

/// Reports (and, with `repair`, saves and cuts, or finishes) a torn last line.
pub(super) fn repair_tail(
    file: &mut File,
    repair: Option<&Path>,
    mut recovery: Recovery,
    torn_at: Option<(u64, bool)>,
    end: u64,
) -> Result<Recovery> {
    match torn_at {
        Some((_, true)) if repair.is_some() => {
            append_lines(file, None, b"")?;
        }
        Some((at, false)) => {
            recovery.torn_bytes = end - at;
            if let Some(path) = repair {
                // Saved first: if it cannot be saved, it stays (the next append starts on a
                // line of its own after it).
                if let Ok(saved) = save_torn(file, path, at, end) {
                    file.set_len(at)?;
                    file.sync_all()?;
                    recovery.torn_saved = Some(saved);
                }
            }
        }
        _ => {}
    }
    Ok(recovery)
}

/// Copies `[from, to)` of the log into `<log>.torn-<time>` (0600) and syncs it.
fn save_torn(file: &File, log: &Path, from: u64, to: u64) -> std::io::Result<PathBuf> {
    let stamp = crate::fmt::rfc3339(now_ms()).replace([':', '-'], "");
    let mut name = log.as_os_str().to_owned();
    name.push(format!(".torn-{stamp}"));
    let path = PathBuf::from(name);
    let mut options = OpenOptions::new();
    options.write(true).truncate(true);
    let (out, _) = open_private(&path, &options)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = from;
    while pos < to {
        let want = buf.len().min((to - pos) as usize);
        let n = file.read_at(&mut buf[..want], pos)?;
        if n == 0 {
            break;
        }
        out.write_all_at(&buf[..n], pos - from)?;
        pos += n as u64;
    }
    out.sync_all()?;
    Ok(path)
}

/// Scans the lines that start in `[start, end)` (`start` is at a line start).
pub(super) fn scan_range(file: &File, start: u64, end: u64) -> std::io::Result<Vec<Scanned>> {
    let file_len = file.metadata()?.len();
    // Sized from the first lines, so a million rows are not copied again and again as the
    // vector grows.
    let mut probe = vec![0u8; 64 * 1024];
    let n = file.read_at(&mut probe, start)?.max(1);
    let lines = memchr::memchr_iter(b'\n', &probe[..n]).count().max(1) as u64;
    let mut out = Vec::with_capacity((end.saturating_sub(start) * lines / n as u64 + 16) as usize);
    let mut intern = Intern::default();
    read_lines(file, start, end, file_len, |offset, content, complete| {
        out.push(scanned(offset, content, complete, &mut intern));
        Ok(())
    })?;
    Ok(out)
}

/// Calls `each(offset, content, complete)` for the lines that start in `[start, end)`
/// (`start` is at a line start), reading no further than `limit`; `content` is without its
/// newline, and `complete` says whether it had one.
pub(super) fn read_lines(
    file: &File,
    start: u64,
    end: u64,
    limit: u64,
    each: impl FnMut(u64, &[u8], bool) -> std::io::Result<()>,
) -> std::io::Result<()> {
    LineReader::default().read(file, start, end, limit, each)
}

/// The buffers of [`read_lines`], kept by a scan thread from one block to the next.
#[derive(Default)]
struct LineReader {
    buf: Vec<u8>,
    /// A line that spans two reads, put together.
    line: Vec<u8>,
}

impl LineReader {
    fn read(
        &mut self,
        file: &File,
        start: u64,
        end: u64,
        limit: u64,
        mut each: impl FnMut(u64, &[u8], bool) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.buf.resize(READ_BUF, 0);
        let (buf, line) = (&mut self.buf, &mut self.line);
        line.clear();
        let mut pos = start;
        let mut line_start = start;
        loop {
            let want = buf.len().min(limit.saturating_sub(pos) as usize);
            let n = if want > 0 {
                file.read_at(&mut buf[..want], pos)?
            } else {
                0
            };
            if n == 0 {
                break;
            }
            let mut rest = &buf[..n];
            while let Some(i) = memchr::memchr(b'\n', rest) {
                // A line inside the buffer is parsed in place; only one that spans two reads
                // is put together in `line`.
                let whole: &[u8] = if line.is_empty() {
                    &rest[..i]
                } else {
                    line.extend_from_slice(&rest[..i]);
                    line
                };
                each(line_start, whole, true)?;
                line_start += whole.len() as u64 + 1;
                line.clear();
                rest = &rest[i + 1..];
                if line_start >= end {
                    return Ok(());
                }
            }
            line.extend_from_slice(rest);
            pos += n as u64;
        }
        if !line.is_empty() {
            each(line_start, line, false)?;
        }
        Ok(())
    }
}

pub(super) fn scanned(offset: u64, content: &[u8], complete: bool, intern: &mut Intern) -> Scanned {
    Scanned {
        offset,
        size: content.len() as u64 + u64::from(complete),
        complete,
        blank: content.iter().all(u8::is_ascii_whitespace),
        record_like: looks_like_record(content),
        fields: index_fields(content, &mut |s| intern.get(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::capture::CaptureId;
    use crate::store::fixtures::{exchange, record};
    use crate::store::line::{encode_exchange_tail, encode_line, encode_session_tail, push_line};

    fn log_of(lines: &[&[u8]]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, lines.concat()).unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        (dir, file)
    }

    #[test]
    fn lines_longer_than_a_read_buffer_reopen_intact() {
        let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let lines = [
            encode_line(CaptureId(1), &record(b"small", None)).unwrap(),
            encode_line(CaptureId(2), &record(&big, Some("big"))).unwrap(),
            encode_line(CaptureId(3), &record(b"after", None)).unwrap(),
        ];
        let (_dir, mut file) = log_of(&lines.each_ref().map(Vec::as_slice));
        let mut index = Index::new();
        let recovery = scan(&mut file, &mut index, None).unwrap();
        assert_eq!((recovery.captures, recovery.corrupt_lines), (3, 0));
        let read = |id| {
            index
                .location(CaptureId(id))
                .unwrap()
                .read(Some(&file), CaptureId(id))
        };
        assert_eq!(read(2).unwrap().capture.body.as_ref(), &big[..]);
        assert_eq!(read(3).unwrap().capture.body.as_ref(), b"after");
        assert_eq!(
            index.get(CaptureId(2)).unwrap().idempotency_key.as_deref(),
            Some("big")
        );
    }

    #[test]
    fn a_torn_tail_is_cut_and_a_whole_last_record_finished() {
        let one = encode_line(CaptureId(1), &record(b"a", None)).unwrap();
        let two = encode_line(CaptureId(2), &record(b"b", None)).unwrap();
        // Torn in the middle of the second line: cut back to the first.
        let (_dir, mut file) = log_of(&[&one, &two[..20]]);
        let recovery = scan(
            &mut file,
            &mut Index::new(),
            Some(&_dir.path().join("log.jsonl")),
        )
        .unwrap();
        assert_eq!((recovery.captures, recovery.torn_bytes), (1, 20));
        assert_eq!(file.metadata().unwrap().len(), one.len() as u64);
        // Only the newline missing: the record is kept and the line finished.
        let (_dir, mut file) = log_of(&[&one, &two[..two.len() - 1]]);
        let recovery = scan(
            &mut file,
            &mut Index::new(),
            Some(&_dir.path().join("log.jsonl")),
        )
        .unwrap();
        assert_eq!((recovery.captures, recovery.torn_bytes), (2, 0));
        assert_eq!(
            file.metadata().unwrap().len(),
            (one.len() + two.len()) as u64
        );
    }

    #[test]
    fn unreadable_lines_and_ids_that_do_not_grow_are_corrupt_and_skipped() {
        let one = encode_line(CaptureId(1), &record(b"a", None)).unwrap();
        let lines: [&[u8]; 5] = [
            &one,
            b"not json\n",
            b"  \n",
            &one, // the same id again
            b"{\"v\":1,\"kind\":\"forward\",\"capture\":9,\"status\":204}\n",
        ];
        let (_dir, mut file) = log_of(&lines);
        let recovery = scan(&mut file, &mut Index::new(), None).unwrap();
        assert_eq!(
            recovery,
            Recovery {
                captures: 1,
                corrupt_lines: 3,
                corrupt_at: vec![2, 4, 5],
                ..Default::default()
            }
        );
    }

    #[test]
    fn blocks_edged_anywhere_give_what_one_pass_gives() {
        let cap = |id, key| encode_line(CaptureId(id), &record(b"a", key)).unwrap();
        let mut forward = Vec::new();
        push_line(
            &mut forward,
            None,
            &encode_exchange_tail(&exchange(2, Some(503), true)).unwrap(),
        );
        let mut session = Vec::new();
        let target = RecordedTarget {
            url: "http://127.0.0.1:1/x".into(),
            path: crate::model::exchange::PathMode::Exact,
        };
        push_line(
            &mut session,
            None,
            &encode_session_tail(1, Some(&target), None).unwrap(),
        );
        let (one, two, three) = (cap(1, Some("k")), cap(2, None), cap(3, Some("k")));
        let last = cap(4, None);
        let body: Vec<&[u8]> = vec![
            &session,
            &one,
            b"not json\n",
            b"\n",
            &two,
            &forward,
            &one,
            &three,
        ];
        // Torn mid line, a whole last record without its newline, and a whole file.
        let tails: [&[u8]; 3] = [&last[..40], &last[..last.len() - 1], &last];
        for tail in tails {
            let (_dir, mut file) = log_of(&[body.concat().as_slice(), tail]);
            let mut whole = Index::new();
            let (expected, _) =
                scan_in(&mut file, &mut whole, Rules::default(), 0, None, None).unwrap();
            assert_eq!(expected.corrupt_at, vec![3, 7]);
            assert_eq!(expected.captures, if tail.len() == 40 { 3 } else { 4 });
            assert_eq!(expected.torn_bytes, if tail.len() == 40 { 40 } else { 0 });
            let len = file.metadata().unwrap().len();
            // Blocks of one byte put an edge at every byte, bigger ones leave lines whole or
            // span several, and the last hold the whole log.
            for block in (1..=64).chain((65..len).step_by(29)).chain([len, len + 1]) {
                let mut index = Index::new();
                let (recovery, _) = scan_in(
                    &mut file,
                    &mut index,
                    Rules::default(),
                    0,
                    None,
                    Some(block),
                )
                .unwrap();
                assert_eq!(recovery, expected, "blocks of {block} bytes");
                assert_eq!(index.rows(), whole.rows(), "blocks of {block} bytes");
                assert_eq!(index.forward_to(), whole.forward_to());
                assert_eq!(index.exchange_places(CaptureId(2)).len(), 1);
            }
        }
    }
}
