//! Recovery: rebuilding the index from the log when it is opened.
//!
//! A big log (over 16 MiB) is split into ranges that start at line starts and parsed on
//! several threads, each with its own [`Intern`]; the lines are then applied to the index in
//! file order by [`Rules`], the recovery rules below, which `list` streams through too (into
//! a row printer instead of the index: [`Take`]). Only the index fields of each line are read
//! ([`index_fields`]); bodies stay on disk.
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

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::file::{append_lines, display, open_private};
use super::index::{ExchangeAt, Index, Intern, Location};
use super::line::{Fields, index_fields, looks_like_record};
use crate::model::capture::{CaptureId, now_ms};
use crate::model::exchange::RecordedTarget;
use crate::model::record::{LinkedBrief, Summary};

/// Logs bigger than this are parsed on several threads.
const PARALLEL_FROM: u64 = 16 << 20;
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
    let len = file.metadata()?.len();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8)) as u64;
    let parts = if len > PARALLEL_FROM { threads } else { 1 };
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

    index.reserve(ranges.iter().map(Vec::len).sum());
    let mut rules = Rules::default();
    for line in ranges.into_iter().flatten() {
        rules.line(line, index);
    }
    let (recovery, torn_at, end) = rules.finish();
    repair_tail(file, repair, recovery, torn_at, end)
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

/// The recovery rules, applied to the lines of a log in file order.
#[derive(Default)]
pub(super) struct Rules {
    recovery: Recovery,
    /// Where the file ends up torn: at a line start (cut it), or after a whole record that
    /// lacks its newline (`true`: finish it).
    torn_at: Option<(u64, bool)>,
    end: u64,
    line_no: u64,
    /// Whether the listener that wrote these lines forwarded, and its captures not yet sent.
    forwarding: bool,
    unforwarded: BTreeSet<CaptureId>,
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
    mut each: impl FnMut(u64, &[u8], bool) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut line: Vec<u8> = Vec::with_capacity(4096);
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
            // A line inside the buffer is parsed in place; only one that spans two reads is
            // put together in `line`.
            let whole: &[u8] = if line.is_empty() {
                &rest[..i]
            } else {
                line.extend_from_slice(&rest[..i]);
                &line
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
        each(line_start, &line, false)?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::capture::CaptureId;
    use crate::store::fixtures::record;
    use crate::store::line::encode_line;

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
}
