//! The inspector's filter index: the fields a filter reads, kept as flat columns beside the
//! rows, so a keystroke at a million captures evaluates each term over contiguous memory
//! (a byte per verdict, one substring search over all keys at once) instead of walking every
//! row. The answers are those of [`Filter::matches`] without a body (a test compares the two).
//! It also finds a capture's job timeline (same idempotency key or `data.id`) without a scan
//! of the rows. Pure: no terminal, no store.

use std::collections::HashMap;
use std::sync::Arc;

use memchr::memmem;

use crate::filter::{Filter, Term};
use crate::model::capture::CaptureId;
use crate::model::record::Summary;
use crate::verify::Outcome;

/// Row value of a column entry that is absent (no event type).
const NONE: u32 = u32::MAX;

/// Texts lowercased (ASCII) end to end in one buffer, `\n` between them: a filter needle never
/// holds whitespace, so one search over the buffer finds every entry that contains it.
#[derive(Default)]
struct Texts {
    bytes: Vec<u8>,
    /// Where each entry starts; it ends one byte before the next one's start.
    starts: Vec<u32>,
}

impl Texts {
    fn push(&mut self, text: &str) -> u32 {
        let n = self.starts.len() as u32;
        self.starts.push(self.bytes.len() as u32);
        self.bytes
            .extend(text.bytes().map(|b| b.to_ascii_lowercase()));
        self.bytes.push(b'\n');
        n
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn end(&self, entry: usize) -> usize {
        self.starts
            .get(entry + 1)
            .map_or(self.bytes.len(), |&s| s as usize)
            - 1
    }

    /// Entries that contain `needle` (already lowercase), one flag per entry.
    fn containing(&self, needle: &[u8]) -> Vec<bool> {
        let mut out = vec![needle.is_empty(); self.len()];
        if needle.is_empty() {
            return out;
        }
        // One pass of the searcher over the whole buffer (no restart per entry, which costs
        // more than it saves when most entries match); hits are in order, so the entry
        // cursor only moves forward.
        let (mut entry, mut next) = (0, 0);
        for at in memmem::find_iter(&self.bytes, needle) {
            if at < next {
                continue; // this entry is already in
            }
            while self.end(entry) < at {
                entry += 1;
            }
            out[entry] = true;
            next = self.end(entry);
        }
        out
    }

    /// Entries equal to `text` once lowercased (candidates: the caller checks the case).
    fn equal_to(&self, text: &str) -> Vec<usize> {
        let mut needle = Vec::with_capacity(text.len() + 2);
        needle.push(b'\n');
        needle.extend(text.bytes().map(|b| b.to_ascii_lowercase()));
        needle.push(b'\n');
        let mut out = Vec::new();
        // The first entry has no separator before it.
        if self.len() > 0 && self.bytes.get(..needle.len() - 1) == Some(&needle[1..]) {
            out.push(0);
        }
        let finder = memmem::Finder::new(&needle);
        let (mut from, mut entry) = (0, 0);
        // Neighbours share a separator, so the search goes on from this one's last byte.
        while let Some(found) = finder.find(&self.bytes[from..]) {
            let start = from + found + 1;
            while (self.starts[entry] as usize) < start {
                entry += 1;
            }
            out.push(entry);
            from = start + needle.len() - 2;
        }
        out
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.starts.capacity() * 4
    }
}

/// A column of repeated strings (paths, event types): each distinct value once, a number per
/// row. A term is decided once per distinct value.
#[derive(Default)]
struct Shared {
    values: Texts,
    numbers: HashMap<Arc<str>, u32>,
    /// The last value seen: rows from the index share one `Arc` per value, so most lookups end
    /// at a pointer compare.
    last: Option<(Arc<str>, u32)>,
    rows: Vec<u32>,
}

impl Shared {
    fn push(&mut self, value: Option<&Arc<str>>) {
        let n = match value {
            None => NONE,
            Some(v) => match &self.last {
                Some((last, n)) if Arc::ptr_eq(last, v) => *n,
                _ => {
                    let n = match self.numbers.get(v) {
                        Some(&n) => n,
                        None => {
                            let n = self.values.push(v);
                            self.numbers.insert(v.clone(), n);
                            n
                        }
                    };
                    self.last = Some((v.clone(), n));
                    n
                }
            },
        };
        self.rows.push(n);
    }

    /// Per row: the value contains `needle`.
    fn containing(&self, needle: &str, hits: &mut [bool]) {
        let values = self.values.containing(needle.as_bytes());
        for (hit, &n) in hits.iter_mut().zip(&self.rows) {
            *hit |= n != NONE && values[n as usize];
        }
    }

    fn heap_bytes(&self) -> usize {
        // A map entry: the Arc (16), the number (4), the table's control byte and padding.
        self.values.heap_bytes() + self.numbers.capacity() * 32 + self.rows.capacity() * 4
    }
}

/// The filterable fields of every row, in row order.
#[derive(Default)]
pub struct Columns {
    outcome: Vec<Outcome>,
    status: Vec<u16>,
    dup: Vec<bool>,
    target: Shared,
    event_type: Shared,
    /// Idempotency keys, one entry per row (absent: empty, `has_key` false).
    key: Texts,
    has_key: Vec<bool>,
    /// `data.id`, one entry per row, for the job timeline.
    job: Texts,
}

impl Columns {
    /// Columns for these rows.
    pub fn of(rows: &[Summary]) -> Columns {
        let mut c = Columns::default();
        for r in rows {
            c.push(r);
        }
        c
    }

    /// Takes in the next row.
    pub fn push(&mut self, r: &Summary) {
        self.outcome.push(r.outcome);
        self.status.push(r.response_status);
        self.dup.push(r.dup_of.is_some());
        self.target.push(Some(&r.target));
        self.event_type.push(r.event_type.as_ref());
        self.key.push(r.idempotency_key.as_deref().unwrap_or(""));
        self.has_key.push(r.idempotency_key.is_some());
        self.job.push(r.data_id.as_deref().unwrap_or(""));
    }

    /// The status of row `pos` changed (a relayed forward).
    pub fn set_status(&mut self, pos: usize, status: u16) {
        if let Some(s) = self.status.get_mut(pos) {
            *s = status;
        }
    }

    /// Per row, whether it passes `filter` (as [`Filter::matches`] without a body). `rows` are
    /// the rows the columns were built from (for id terms).
    pub fn matching(&self, filter: &Filter, rows: &[Summary]) -> Vec<bool> {
        let n = self.outcome.len();
        let mut pass = vec![true; n];
        let mut hits = vec![false; n];
        for (negated, term) in filter.terms() {
            hits.iter_mut().for_each(|h| *h = false);
            self.term(term, rows, &mut hits);
            for (p, h) in pass.iter_mut().zip(&hits) {
                *p &= *h != *negated;
            }
        }
        pass
    }

    fn term(&self, term: &Term, rows: &[Summary], hits: &mut [bool]) {
        let id = |id: CaptureId, hits: &mut [bool]| {
            if let Ok(pos) = rows.binary_search_by_key(&id, |r| r.id) {
                hits[pos] = true;
            }
        };
        match term {
            Term::Outcomes(o) => {
                for (h, out) in hits.iter_mut().zip(&self.outcome) {
                    *h = o.contains(out);
                }
            }
            Term::Status(s) => {
                for (h, st) in hits.iter_mut().zip(&self.status) {
                    *h = st == s;
                }
            }
            Term::Dup => hits.copy_from_slice(&self.dup),
            Term::Id(i) => id(*i, hits),
            Term::Type(t) => self.event_type.containing(t, hits),
            Term::Path(p) => self.target.containing(p, hits),
            Term::Key(k) => self.keys_containing(k, hits),
            Term::Text(t) => {
                self.target.containing(t, hits);
                self.event_type.containing(t, hits);
                // When every path or type already matches, the keys cannot add a row (a
                // needle such as `t` or `-` would otherwise hit every key).
                if !hits.iter().all(|h| *h) {
                    self.keys_containing(t, hits);
                }
                if let Ok(n) = t.parse::<u64>() {
                    id(CaptureId(n), hits);
                }
            }
        }
    }

    fn keys_containing(&self, needle: &str, hits: &mut [bool]) {
        let found = self.key.containing(needle.as_bytes());
        for ((h, f), has) in hits.iter_mut().zip(found).zip(&self.has_key) {
            *h |= f && *has;
        }
    }

    /// Row positions of the captures sharing `row`'s idempotency key or `data.id`, oldest
    /// first (the per-job timeline). Two substring searches, no walk over the rows.
    pub fn same_job(&self, row: &Summary, rows: &[Summary]) -> Vec<usize> {
        let mut out = Vec::new();
        if let Some(key) = row.idempotency_key.as_deref() {
            out.extend(
                self.key
                    .equal_to(key)
                    .into_iter()
                    .filter(|&p| rows[p].idempotency_key.as_deref() == Some(key)),
            );
        }
        if let Some(job) = row.data_id.as_deref() {
            out.extend(
                self.job
                    .equal_to(job)
                    .into_iter()
                    .filter(|&p| rows[p].data_id.as_deref() == Some(job)),
            );
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Heap bytes these columns hold (what the inspector adds per capture, beside its rows).
    pub fn heap_bytes(&self) -> usize {
        self.outcome.capacity()
            + self.status.capacity() * 2
            + self.dup.capacity()
            + self.target.heap_bytes()
            + self.event_type.heap_bytes()
            + self.key.heap_bytes()
            + self.has_key.capacity()
            + self.job.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn row(
        id: u64,
        outcome: Outcome,
        target: &str,
        kind: Option<&str>,
        key: Option<&str>,
    ) -> Summary {
        Summary {
            id: CaptureId(id),
            received_at_ms: 0,
            method: Arc::from("POST"),
            target: Arc::from(target),
            event_type: kind.map(Arc::from),
            outcome,
            skew_secs: None,
            idempotency_key: key.map(Arc::from),
            data_id: key.map(|k| Box::from(k.split('-').next().unwrap_or(k))),
            dup_of: id.is_multiple_of(3).then_some(CaptureId(1)),
            body_len: 0,
            truncated: false,
            response_status: if outcome.is_rejected() { 401 } else { 204 },
            exchange: None,
        }
    }

    const OUTCOMES: [Outcome; 6] = [
        Outcome::Valid,
        Outcome::InvalidSignature,
        Outcome::Stale,
        Outcome::MissingHeader,
        Outcome::MalformedHeader,
        Outcome::Unverified,
    ];

    fn rows_from(spec: &[(u8, u8, u8, u8)]) -> Vec<Summary> {
        let targets = ["/modelgates/video-webhook", "/x?a=1", "/Hooks/Stripe", "/"];
        let kinds = [
            Some("video.generation.completed"),
            Some("video.generation.failed"),
            None,
            Some("Ping"),
        ];
        let keys = [
            Some("job_1-completed"),
            Some("JOB_2-failed"),
            None,
            Some("12"),
        ];
        spec.iter()
            .enumerate()
            .map(|(i, &(o, t, k, y))| {
                row(
                    i as u64 + 1,
                    OUTCOMES[o as usize % 6],
                    targets[t as usize % 4],
                    kinds[k as usize % 4],
                    keys[y as usize % 4],
                )
            })
            .collect()
    }

    proptest! {
        /// The columns answer exactly what the filter answers row by row.
        #[test]
        fn columns_agree_with_the_filter(
            spec in proptest::collection::vec((0u8..6, 0u8..4, 0u8..4, 0u8..4), 0..40),
            words in proptest::collection::vec(prop_oneof![
                Just("invalid"), Just("valid"), Just("-stale"), Just("type:comp"), Just("type:"),
                Just("path:/x"), Just("key:job"), Just("key:"), Just("-key:JOB_2"),
                Just("status:401"), Just("dup"), Just("-dup"), Just("#3"), Just("12"), Just("e"),
                Just("hooks"), Just("ping"), Just("-g"), Just("id:2"), Just("zzz"), Just("/"),
            ], 0..4),
        ) {
            let rows = rows_from(&spec);
            let filter = Filter::parse(&words.join(" ")).unwrap();
            let columns = Columns::of(&rows);
            let fast = columns.matching(&filter, &rows);
            let slow: Vec<bool> = rows.iter().map(|r| filter.matches(r, None)).collect();
            prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn the_job_timeline_is_found_by_key_or_job_exactly() {
        let rows = vec![
            row(1, Outcome::Valid, "/", None, Some("job_1-completed")),
            row(2, Outcome::Valid, "/", None, Some("job_1-completed-x")),
            row(3, Outcome::Valid, "/", None, Some("JOB_1-COMPLETED")),
            row(4, Outcome::Valid, "/", None, Some("job_1-completed")),
            row(5, Outcome::Valid, "/", None, None),
            row(6, Outcome::Valid, "/", None, Some("k2")),
            row(7, Outcome::Valid, "/", None, Some("k2")),
            row(8, Outcome::Valid, "/", None, Some("k2")),
        ];
        let columns = Columns::of(&rows);
        // Rows 1 and 4 share the key; 1, 2 and 4 share the job `job_1`.
        assert_eq!(columns.same_job(&rows[3], &rows), vec![0, 1, 3]);
        assert_eq!(columns.same_job(&rows[2], &rows), vec![2]);
        assert!(columns.same_job(&rows[4], &rows).is_empty());
        // Neighbours with the same key share a separator; each one is found.
        assert_eq!(columns.same_job(&rows[6], &rows), vec![5, 6, 7]);
    }
}
