//! `list` without the index: each capture's row in log order, exactly as the recovery scan
//! builds it ([`Rules`], [`Take`]), handed out as its line is read, in bounded memory.
//!
//! A row's own line says most of it; what it repeats (`dup_of`) comes from earlier lines, and
//! its forwards and replays (the brief, a relayed status) from later ones. The later ones are
//! found through the offset index beside the log (`sidecar`, built or extended first, as for
//! `show`): when a row is handed out, only its own forward and replay lines are read ahead,
//! each checked to be what the sidecar says (a stale sidecar is rebuilt once). Every forward
//! line met in the log is checked to have been read ahead too; one that was not is reported.
//!
//! Memory: the first capture of each idempotency key, 20 bytes per forward or replay line,
//! and the ids taken (as runs of consecutive ids); no rows and no bodies.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::file::check_identity;
use super::index::{FirstByKey, Intern};
use super::scan::{Recovery, Rules, Take, read_lines, repair_tail, scanned};
use super::sidecar::{Lookup, sidecar_path};
use crate::model::capture::CaptureId;
use crate::model::exchange::RecordedTarget;
use crate::model::record::{LinkedBrief, Summary};

/// Hands `each` every capture's row, in log order, with its line (without the newline), and
/// returns what the scan found. An error from `each` stops the reading and is returned.
pub fn stream_rows(
    path: &Path,
    each: &mut dyn FnMut(&Summary, &[u8]) -> Result<()>,
) -> Result<Recovery> {
    let mut file =
        File::open(path).with_context(|| format!("opening capture log {}", path.display()))?;
    check_identity(&file, path)?;
    // The log as it is now; what a listener appends after this is left for the next call.
    let limit = file
        .metadata()
        .with_context(|| format!("reading capture log {}", path.display()))?
        .len();
    let lookup = Lookup::open(path)?;
    let later = lookup.exchange_lines(limit);
    let mut streamer = Streamer {
        lookup,
        limit,
        later,
        keys: FirstByKey::default(),
        taken: Vec::new(),
        each,
        failed: None,
        missed: 0,
    };
    let mut rules = Rules::default();
    let mut intern = Intern::default();
    let read = read_lines(&file, 0, limit, limit, |offset, content, complete| {
        let line = scanned(offset, content, complete, &mut intern);
        rules.line(
            line,
            &mut OnLine {
                streamer: &mut streamer,
                content,
            },
        );
        match streamer.failed {
            Some(_) => Err(std::io::Error::other("stopped")),
            None => Ok(()),
        }
    });
    if let Some(e) = streamer.failed.take() {
        return Err(e);
    }
    read.with_context(|| format!("reading capture log {}", path.display()))?;
    let (recovery, torn_at, end) = rules.finish();
    let mut recovery = repair_tail(&mut file, None, recovery, torn_at, end)?;
    if streamer.missed > 0 {
        // The sidecar did not know every line: the next look rebuilds it.
        let _ = std::fs::remove_file(sidecar_path(path));
        recovery.warnings.push(format!(
            "capture log: {} forward or replay record{} appeared while the log was listed, so the rows above may not show {}; list again",
            streamer.missed,
            if streamer.missed == 1 { "" } else { "s" },
            if streamer.missed == 1 { "it" } else { "them" },
        ));
    }
    Ok(recovery)
}

struct Streamer<'f> {
    lookup: Lookup,
    /// How much of the log is listed.
    limit: u64,
    /// The forward and replay lines, `(capture, offset, len)` by capture then offset.
    later: Vec<(u64, u64, u32)>,
    keys: FirstByKey,
    /// The ids taken so far, as runs `[first, last]`.
    taken: Vec<(u64, u64)>,
    each: &'f mut dyn FnMut(&Summary, &[u8]) -> Result<()>,
    failed: Option<anyhow::Error>,
    /// Forward lines linked to a row that were not read ahead for it.
    missed: usize,
}

impl Streamer<'_> {
    fn holds(&self, id: u64) -> bool {
        let i = self.taken.partition_point(|r| r.0 <= id);
        i > 0 && self.taken[i - 1].1 >= id
    }

    /// The row with the forwards and replays after its line (at `offset`) applied.
    fn linked(&mut self, row: &Summary, offset: u64) -> Result<Summary> {
        loop {
            let mut out = row.clone();
            let from = self.later.partition_point(|e| e.0 < row.id.0);
            let mut stale = false;
            for &(_, at, len) in self.later[from..]
                .iter()
                .take_while(|e| e.0 == row.id.0)
                .filter(|e| e.1 > offset)
            {
                match self.lookup.linked_brief(row.id.0, at, len) {
                    Some(brief) => out.apply_link(&brief),
                    None => {
                        stale = true;
                        break;
                    }
                }
            }
            if !stale {
                return Ok(out);
            }
            if !self.lookup.rebuild_once()? {
                bail!("the capture log changed while it was listed; try again");
            }
            // Only what the log held when listing began counts.
            self.later = self.lookup.exchange_lines(self.limit);
        }
    }
}

/// The streamer, with the line being taken.
struct OnLine<'s, 'f, 'l> {
    streamer: &'s mut Streamer<'f>,
    content: &'l [u8],
}

impl Take for OnLine<'_, '_, '_> {
    fn capture(&mut self, mut row: Summary, offset: u64, _len: u32) -> bool {
        let s = &mut *self.streamer;
        if s.taken.last().is_some_and(|r| r.1 >= row.id.0) {
            return false;
        }
        match s.taken.last_mut() {
            Some(run) if run.1 + 1 == row.id.0 => run.1 = row.id.0,
            _ => s.taken.push((row.id.0, row.id.0)),
        }
        row.dup_of = s.keys.claim(row.idempotency_key.as_ref(), row.id);
        let done = s
            .linked(&row, offset)
            .and_then(|row| (s.each)(&row, self.content));
        if let Err(e) = done {
            s.failed = Some(e);
        }
        true
    }

    fn exchange(&mut self, capture: CaptureId, _brief: LinkedBrief, offset: u64, len: u32) -> bool {
        let s = &mut *self.streamer;
        if !s.holds(capture.0) {
            return false;
        }
        if s.later.binary_search(&(capture.0, offset, len)).is_err() {
            s.missed += 1;
        }
        true
    }

    fn session(&mut self, _forward_to: Option<RecordedTarget>, _offset: u64, _len: u32) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exchange::{ExchangeKind, PathMode};
    use crate::store::fixtures::{exchange, record};
    use crate::store::line::{encode_exchange_tail, encode_line, encode_session_tail, push_line};
    use crate::store::readonly::ReadOnlyLog;

    fn other(tail: Vec<u8>) -> Vec<u8> {
        let mut line = Vec::new();
        push_line(&mut line, None, &tail);
        line
    }

    /// A log with every kind of line: a forwarding session, captures repeating keys, forwards
    /// (relayed and failed) and replays long after their capture, one before its capture, one
    /// linking nowhere, a repeated id, foreign kinds, garbage, a blank line, a torn tail.
    fn every_kind() -> Vec<u8> {
        let target = RecordedTarget {
            url: "http://127.0.0.1:3000/app".into(),
            path: PathMode::Exact,
        };
        let capture = |id: u64, key: Option<&str>| {
            encode_line(CaptureId(id), &record(format!("body {id}").as_bytes(), key)).unwrap()
        };
        let fwd = |id, status, relayed| {
            other(encode_exchange_tail(&exchange(id, status, relayed)).unwrap())
        };
        let mut replay = exchange(2, Some(201), false);
        replay.kind = ExchangeKind::Replay;
        let mut relayed_answer = exchange(3, Some(503), true);
        relayed_answer.latency_us = 9_000;
        let lines: Vec<Vec<u8>> = vec![
            b"{\"v\":1,\"kind\":\"log\",\"created_by\":\"hooklens\"}\n".to_vec(),
            other(encode_session_tail(1, Some(&target), None).unwrap()),
            fwd(1, Some(204), false), // before its capture: links nowhere
            capture(1, Some("k1")),
            capture(2, Some("k2")),
            fwd(1, Some(500), true),
            capture(3, Some("k1")),
            b"not json at all\n".to_vec(),
            b"   \n".to_vec(),
            b"{\"v\":1,\"kind\":\"telemetry\",\"x\":1}\n".to_vec(),
            b"{\"v\":7,\"kind\":\"capture\",\"id\":99}\n".to_vec(),
            capture(2, Some("k9")),    // an id that does not grow
            fwd(42, Some(204), false), // no such capture
            other(encode_session_tail(2, None, None).unwrap()),
            capture(7, None),
            capture(8, Some("k2")),
            other(encode_exchange_tail(&replay).unwrap()),
            other(encode_exchange_tail(&relayed_answer).unwrap()),
            fwd(1, None, false),
            capture(9, Some("k9"))[..30].to_vec(), // torn
        ];
        lines.concat()
    }

    fn streamed(path: &Path) -> (Vec<Summary>, Recovery) {
        let mut rows = Vec::new();
        let recovery = stream_rows(path, &mut |row, line| {
            assert_eq!(crate::store::line::decode_line(line)?.capture.id, row.id);
            rows.push(row.clone());
            Ok(())
        })
        .unwrap();
        (rows, recovery)
    }

    #[test]
    fn streamed_rows_and_recovery_are_the_full_scans() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, every_kind()).unwrap();
        let full = ReadOnlyLog::open(&path).unwrap();
        assert!(full.recovery.corrupt_lines >= 4 && full.recovery.torn_bytes > 0);
        assert!(full.index().rows().iter().any(|r| r.dup_of.is_some()));
        assert!(full.index().rows().iter().any(|r| r.response_status == 500));
        // No sidecar yet (built on the way), then with it, then with a stale one.
        for _ in 0..2 {
            let (rows, recovery) = streamed(&path);
            assert_eq!(rows, full.index().rows());
            assert_eq!(recovery, full.recovery);
        }
        let side = sidecar_path(&path);
        assert!(side.exists());
        // A sidecar of another log with the same start is caught and rebuilt.
        let saved = std::fs::read(&side).unwrap();
        let mut shorter = every_kind();
        shorter.truncate(shorter.len() - 200);
        std::fs::write(&path, &shorter).unwrap();
        let (short_rows, _) = streamed(&path);
        assert_eq!(short_rows, ReadOnlyLog::open(&path).unwrap().index().rows());
        std::fs::write(&path, every_kind()).unwrap();
        std::fs::write(&side, saved).unwrap();
        let (rows, _) = streamed(&path);
        assert_eq!(rows, full.index().rows());
    }

    #[test]
    fn a_forward_the_sidecar_does_not_know_is_reported_and_the_next_list_is_right() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let forward = other(encode_exchange_tail(&exchange(1, Some(500), true)).unwrap());
        let mut filler = vec![b'x'; forward.len() - 1];
        filler.push(b'\n');
        let head = b"{\"v\":1,\"kind\":\"log\",\"created_by\":\"hooklens\"}\n".to_vec();
        let one = encode_line(CaptureId(1), &record(b"a", None)).unwrap();
        std::fs::write(&path, [&head[..], &one, &filler].concat()).unwrap();
        let _ = streamed(&path);
        // Rewritten in place to the same length with a forward instead: the sidecar looks
        // current but does not know that line.
        std::fs::write(&path, [&head[..], &one, &forward].concat()).unwrap();
        let (_, recovery) = streamed(&path);
        assert_eq!(recovery.warnings.len(), 1, "{:?}", recovery.warnings);
        assert!(recovery.warnings[0].contains("list again"));
        let (rows, recovery) = streamed(&path);
        assert!(recovery.warnings.is_empty(), "{:?}", recovery.warnings);
        assert_eq!(rows, ReadOnlyLog::open(&path).unwrap().index().rows());
        assert_eq!(rows[0].response_status, 500);
    }
}
