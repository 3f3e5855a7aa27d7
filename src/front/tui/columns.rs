//! The inspector's filter index: the fields a filter reads, kept as flat columns beside the
//! rows, so a keystroke at a million captures evaluates each term over contiguous memory (a
//! byte per verdict, one substring search over all keys at once) into a bitset instead of
//! walking every row. Once few rows are left, the remaining terms are tested on those rows
//! only. [`Recent`] keeps the last few filters' results, so typing narrows the previous result
//! and Backspace finds an earlier one. The answers are those of [`Filter::matches`] without a
//! body (tests compare the two). It also finds a capture's job timeline (same idempotency key
//! or `data.id`) without a scan of the rows. Pure: no terminal, no store.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use memchr::memmem::{self, Finder};

use crate::filter::{Filter, Term};
use crate::model::capture::CaptureId;
use crate::model::record::Summary;
use crate::verify::Outcome;

/// Row value of a column entry that is absent (no event type).
const NONE: u32 = u32::MAX;

/// Below one row in this many still passing, the remaining terms are tested row by row.
const SPARSE: usize = 16;

/// Filter results [`Recent`] keeps.
const RECENT: usize = 8;

/// A set of row positions, one bit each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    /// `len` positions, all in or all out.
    pub fn new(len: usize, on: bool) -> Bits {
        let mut b = Bits {
            words: vec![if on { !0 } else { 0 }; len.div_ceil(64)],
            len,
        };
        b.trim();
        b
    }

    /// One bit per item, `in` when `pred` holds (64 at a time, so the loop vectorises).
    fn from_fn<T>(items: &[T], pred: impl Fn(&T) -> bool) -> Bits {
        let words = items
            .chunks(64)
            .map(|chunk| {
                chunk
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (i, x)| m | ((pred(x) as u64) << i))
            })
            .collect();
        Bits {
            words,
            len: items.len(),
        }
    }

    /// Clears the bits past `len` in the last word.
    fn trim(&mut self) {
        if !self.len.is_multiple_of(64)
            && let Some(w) = self.words.last_mut()
        {
            *w &= (1u64 << (self.len % 64)) - 1;
        }
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether position `i` is in.
    pub fn get(&self, i: usize) -> bool {
        i < self.len && (self.words[i / 64] >> (i % 64)) & 1 == 1
    }

    /// Puts position `i` in.
    fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Grows to `len` positions, the new ones `on`.
    fn grow(&mut self, len: usize, on: bool) {
        let old = self.len;
        self.words.resize(len.div_ceil(64), 0);
        self.len = len;
        if on {
            for i in old..len {
                self.set(i);
            }
        }
    }

    /// Positions in.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Appends the positions in from `from` on, ascending, to `out`.
    pub fn extend_from(&self, from: usize, out: &mut Vec<u32>) {
        out.reserve(self.count());
        for (k, &word) in self.words.iter().enumerate().skip(from / 64) {
            let mut w = word;
            if k == from / 64 {
                w &= !0 << (from % 64);
            }
            while w != 0 {
                out.push((k * 64) as u32 + w.trailing_zeros());
                w &= w - 1;
            }
        }
    }

    /// Keeps the positions that are (`negated`: are not) in `other`.
    fn and(&mut self, other: &Bits, negated: bool) {
        let flip = if negated { !0 } else { 0 };
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w &= *o ^ flip;
        }
    }

    /// Adds the positions in `other`.
    fn or(&mut self, other: &Bits) {
        for (w, o) in self.words.iter_mut().zip(&other.words) {
            *w |= *o;
        }
    }

    /// Keeps the positions for which `keep` holds.
    fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        for (k, word) in self.words.iter_mut().enumerate() {
            let mut w = *word;
            while w != 0 {
                let i = w.trailing_zeros() as usize;
                w &= w - 1;
                if !keep(k * 64 + i) {
                    *word &= !(1 << i);
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// Texts lowercased (ASCII) end to end in one buffer, `\n` between them (a `\n` inside one is
/// kept as a space: a filter needle never holds whitespace, so neither can be part of a match,
/// and one search over the buffer finds every entry that contains a needle).
#[derive(Default)]
struct Texts {
    bytes: Vec<u8>,
    /// Where each entry starts; it ends one byte before the next one's start.
    starts: Vec<u32>,
    /// Per block of 64 entries, how long a prefix and a suffix all of them share (at most
    /// 255): a needle inside the shared part (`job_`, `-completed`) is in the whole block
    /// without a look at its entries, the case where a search would stop at every entry.
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl Texts {
    fn push(&mut self, text: &str) -> u32 {
        let n = self.starts.len();
        self.starts.push(self.bytes.len() as u32);
        self.bytes.extend(text.bytes().map(|b| match b {
            b'\n' => b' ',
            b => b.to_ascii_lowercase(),
        }));
        self.bytes.push(b'\n');
        let len = text.len().min(255) as u8;
        if n.is_multiple_of(64) {
            self.prefix.push(len);
            self.suffix.push(len);
        } else {
            // Only as far as the block still shares: most pushes compare a few bytes.
            let b = n / 64;
            let (first, this) = (self.entry(n - n % 64), self.entry(n));
            let (pre, suf) = (self.prefix[b] as usize, self.suffix[b] as usize);
            let pre = first[..pre]
                .iter()
                .zip(this)
                .take_while(|(a, b)| a == b)
                .count() as u8;
            let suf = first[first.len() - suf..]
                .iter()
                .rev()
                .zip(this.iter().rev())
                .take_while(|(a, b)| a == b)
                .count() as u8;
            (self.prefix[b], self.suffix[b]) = (pre, suf);
        }
        n as u32
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

    fn entry(&self, entry: usize) -> &[u8] {
        &self.bytes[self.starts[entry] as usize..self.end(entry)]
    }

    /// Whether the part block `b` shares holds the needle.
    fn block_holds(&self, b: usize, finder: &Finder) -> bool {
        let first = self.entry(b * 64);
        let n = finder.needle().len();
        let (pre, suf) = (self.prefix[b] as usize, self.suffix[b] as usize);
        (pre >= n && finder.find(&first[..pre]).is_some())
            || (suf >= n && finder.find(&first[first.len() - suf..]).is_some())
    }

    /// Entries that contain `needle` (already lowercase).
    fn containing(&self, needle: &[u8]) -> Bits {
        let n = self.len();
        if needle.is_empty() {
            return Bits::new(n, true);
        }
        let finder = Finder::new(needle);
        let mut out = Bits::new(n, false);
        let decided: Vec<bool> = (0..n.div_ceil(64))
            .map(|b| self.block_holds(b, &finder))
            .collect();
        let mut b = 0;
        while b < decided.len() {
            if decided[b] {
                out.words[b] = !0;
                b += 1;
                continue;
            }
            let run = decided[b..].iter().take_while(|d| !**d).count();
            self.search(&finder, b * 64, ((b + run) * 64).min(n), &mut out);
            b += run;
        }
        out.trim();
        out
    }

    /// Marks the entries in `from..to` that hold the needle: one search over their bytes,
    /// going on after each hit from the next entry.
    fn search(&self, finder: &Finder, from: usize, to: usize, out: &mut Bits) {
        let stop = self.end(to - 1);
        let (mut at, mut entry) = (self.starts[from] as usize, from);
        while at < stop {
            let Some(found) = finder.find(&self.bytes[at..stop]) else {
                break;
            };
            let hit = at + found;
            // Dense hits are near; a far one is found by halving.
            let mut steps = 0;
            while self.end(entry) < hit {
                entry += 1;
                steps += 1;
                if steps == 8 {
                    entry += self.starts[entry..to].partition_point(|&s| s as usize <= hit) - 1;
                }
            }
            out.set(entry);
            at = self.end(entry) + 1;
            entry += 1;
        }
    }

    /// Entries equal to `text` once lowercased (candidates: the caller checks the case).
    fn equal_to(&self, text: &str) -> Vec<usize> {
        let mut needle = Vec::with_capacity(text.len() + 2);
        needle.push(b'\n');
        needle.extend(text.bytes().map(|b| match b {
            b'\n' => b' ',
            b => b.to_ascii_lowercase(),
        }));
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
            entry += self.starts[entry..].partition_point(|&s| (s as usize) < start);
            out.push(entry);
            from = start + needle.len() - 2;
        }
        out
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
            + self.starts.capacity() * 4
            + self.prefix.capacity()
            + self.suffix.capacity()
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
    /// Rows that have a value: the answer when every value matches.
    present: Bits,
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
        self.present.grow(self.rows.len(), n != NONE);
    }

    /// Per row: the value contains `needle`.
    fn containing(&self, needle: &str) -> Bits {
        let values = self.values.containing(needle.as_bytes());
        match values.count() {
            0 => Bits::new(self.rows.len(), false),
            n if n == values.len() => self.present.clone(),
            _ => Bits::from_fn(&self.rows, |&v| v != NONE && values.get(v as usize)),
        }
    }

    /// Row `pos`'s value contains the needle.
    fn holds(&self, pos: usize, finder: &Finder) -> bool {
        let v = self.rows[pos];
        v != NONE && finder.find(self.values.entry(v as usize)).is_some()
    }

    fn heap_bytes(&self) -> usize {
        // A map entry: the Arc (16), the number (4), the table's control byte and padding.
        self.values.heap_bytes()
            + self.numbers.capacity() * 32
            + self.rows.capacity() * 4
            + self.present.heap_bytes()
    }
}

/// The filterable fields of every row, in row order.
#[derive(Default)]
pub struct Columns {
    outcome: Vec<Outcome>,
    status: Vec<u16>,
    dup: Bits,
    target: Shared,
    event_type: Shared,
    /// Idempotency keys, one entry per row (absent: empty, `has_key` out).
    key: Texts,
    has_key: Bits,
    /// `data.id`, one entry per row, for the job timeline.
    job: Texts,
}

/// A term ready to be tested on single rows: its needle's searcher built once.
struct Ready<'a> {
    negated: bool,
    term: &'a Term,
    finder: Option<Finder<'a>>,
    id: Option<CaptureId>,
}

impl Columns {
    /// Columns for these rows.
    pub fn of(rows: &[Summary]) -> Columns {
        let mut c = Columns::default();
        c.outcome.reserve(rows.len());
        c.status.reserve(rows.len());
        c.target.rows.reserve(rows.len());
        c.event_type.rows.reserve(rows.len());
        c.key.starts.reserve(rows.len());
        c.job.starts.reserve(rows.len());
        for r in rows {
            c.push(r);
        }
        c
    }

    /// Rows the columns hold.
    pub fn len(&self) -> usize {
        self.outcome.len()
    }

    /// Takes in the next row.
    pub fn push(&mut self, r: &Summary) {
        let pos = self.len();
        self.outcome.push(r.outcome);
        self.status.push(r.response_status);
        self.dup.grow(pos + 1, r.dup_of.is_some());
        self.target.push(Some(&r.target));
        self.event_type.push(r.event_type.as_ref());
        self.key.push(r.idempotency_key.as_deref().unwrap_or(""));
        self.has_key.grow(pos + 1, r.idempotency_key.is_some());
        self.job.push(r.data_id.as_deref().unwrap_or(""));
    }

    /// The status of row `pos` changed (a relayed forward).
    pub fn set_status(&mut self, pos: usize, status: u16) {
        if let Some(s) = self.status.get_mut(pos) {
            *s = status;
        }
    }

    /// The rows that pass `filter` (as [`Filter::matches`] without a body), among `within`
    /// when given (rows outside it are out). `rows` are the rows the columns were built from
    /// (for id terms). Cheap terms go first; once few rows are left, the rest are tested on
    /// those rows alone.
    pub fn matching(&self, filter: &Filter, rows: &[Summary], within: Option<&Bits>) -> Bits {
        let n = self.len();
        let mut pass = within.cloned().unwrap_or_else(|| Bits::new(n, true));
        let mut terms: Vec<&(bool, Term)> = filter.terms().iter().collect();
        terms.sort_by_key(|(_, t)| cost(t));
        for (k, (negated, term)) in terms.iter().enumerate() {
            if pass.count() <= n / SPARSE {
                let ready: Vec<Ready> = terms[k..].iter().map(|(n, t)| ready(*n, t)).collect();
                pass.retain(|pos| {
                    ready
                        .iter()
                        .all(|r| self.row_holds(r, pos, rows) != r.negated)
                });
                break;
            }
            pass.and(&self.term(term, rows), *negated);
        }
        pass
    }

    /// Per row, whether it holds `term`.
    fn term(&self, term: &Term, rows: &[Summary]) -> Bits {
        let n = self.len();
        let id = |id: CaptureId, hits: &mut Bits| {
            if let Ok(pos) = rows.binary_search_by_key(&id, |r| r.id) {
                hits.set(pos);
            }
        };
        match term {
            Term::Outcomes(o) => {
                // One bit per verdict: the test per row is a shift, which vectorises.
                let set = o.iter().fold(0u8, |m, x| m | (1 << *x as u8));
                Bits::from_fn(&self.outcome, |out| (set >> *out as u8) & 1 == 1)
            }
            Term::Status(s) => Bits::from_fn(&self.status, |st| st == s),
            Term::Dup => self.dup.clone(),
            Term::Id(i) => {
                let mut hits = Bits::new(n, false);
                id(*i, &mut hits);
                hits
            }
            Term::Type(t) => self.event_type.containing(t),
            Term::Path(p) => self.target.containing(p),
            Term::Key(k) => self.keys_containing(k),
            Term::Text(t) => {
                // Once every row matches (a needle such as `t` in every path), the other
                // fields cannot add one.
                let mut hits = self.target.containing(t);
                if hits.count() < n {
                    hits.or(&self.event_type.containing(t));
                }
                if hits.count() < n {
                    hits.or(&self.keys_containing(t));
                }
                if let Ok(num) = t.parse::<u64>() {
                    id(CaptureId(num), &mut hits);
                }
                hits
            }
        }
    }

    fn keys_containing(&self, needle: &str) -> Bits {
        let mut found = self.key.containing(needle.as_bytes());
        found.and(&self.has_key, false);
        found
    }

    /// Whether row `pos` holds the term (the same answers as [`Columns::term`], for one row).
    fn row_holds(&self, r: &Ready, pos: usize, rows: &[Summary]) -> bool {
        let finder = || r.finder.as_ref().expect("text terms have a searcher");
        let key = || self.has_key.get(pos) && finder().find(self.key.entry(pos)).is_some();
        match r.term {
            Term::Outcomes(o) => o.contains(&self.outcome[pos]),
            Term::Status(s) => self.status[pos] == *s,
            Term::Dup => self.dup.get(pos),
            Term::Id(id) => rows[pos].id == *id,
            Term::Type(_) => self.event_type.holds(pos, finder()),
            Term::Path(_) => self.target.holds(pos, finder()),
            Term::Key(_) => key(),
            Term::Text(_) => {
                self.target.holds(pos, finder())
                    || self.event_type.holds(pos, finder())
                    || key()
                    || r.id == Some(rows[pos].id)
            }
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
            + self.dup.heap_bytes()
            + self.target.heap_bytes()
            + self.event_type.heap_bytes()
            + self.key.heap_bytes()
            + self.has_key.heap_bytes()
            + self.job.heap_bytes()
    }
}

/// How much a term costs over all rows: verdicts and flags first, keys last.
fn cost(term: &Term) -> u8 {
    match term {
        Term::Id(_) | Term::Dup | Term::Outcomes(_) | Term::Status(_) => 0,
        Term::Type(_) | Term::Path(_) => 1,
        Term::Key(_) | Term::Text(_) => 2,
    }
}

fn ready(negated: bool, term: &Term) -> Ready<'_> {
    let (finder, id) = match term {
        Term::Type(t) | Term::Path(t) | Term::Key(t) => (Some(Finder::new(t.as_bytes())), None),
        Term::Text(t) => (
            Some(Finder::new(t.as_bytes())),
            t.parse().ok().map(CaptureId),
        ),
        _ => (None, None),
    };
    Ready {
        negated,
        term,
        finder,
        id,
    }
}

/// The last few filters' results, newest first, each over the rows there were then: a filter
/// seen again (Backspace) is taken as it is, one that narrows a kept one (a term gained
/// characters or a term was added) is tested only on the rows that one passed. Rows that
/// arrived since are tested on reuse; a changed status (which a `status:` term reads) empties
/// it.
#[derive(Default)]
pub struct Recent {
    kept: VecDeque<(Filter, Bits)>,
}

impl Recent {
    /// The rows that pass `filter`.
    pub fn matching(&mut self, filter: &Filter, columns: &Columns, rows: &[Summary]) -> &Bits {
        let n = columns.len();
        let same = self
            .kept
            .iter()
            .position(|(f, _)| f.terms() == filter.terms());
        let result = match same {
            Some(i) => {
                let (f, mut bits) = self.kept.remove(i).expect("position is in range");
                if bits.len() < n {
                    let mut new = Bits::new(bits.len(), false);
                    new.grow(n, true);
                    bits.grow(n, false);
                    bits.or(&columns.matching(&f, rows, Some(&new)));
                }
                bits
            }
            None => {
                let narrowest = self
                    .kept
                    .iter()
                    .filter(|(f, _)| filter.narrows(f))
                    .min_by_key(|(_, b)| b.count() + (n - b.len()));
                let within = narrowest.map(|(_, b)| {
                    let mut b = b.clone();
                    b.grow(n, true);
                    b
                });
                columns.matching(filter, rows, within.as_ref())
            }
        };
        self.kept.push_front((filter.clone(), result));
        self.kept.truncate(RECENT);
        &self.kept[0].1
    }

    /// Forgets every result (the rows' statuses changed, or the rows were replaced).
    pub fn clear(&mut self) {
        self.kept.clear();
    }

    /// Heap bytes of the kept results.
    pub fn heap_bytes(&self) -> usize {
        self.kept.iter().map(|(_, b)| b.heap_bytes()).sum()
    }
}

#[cfg(test)]
pub(crate) mod tests {
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

    /// Every outcome, for tests that make up rows.
    pub(crate) const OUTCOMES: [Outcome; 6] = [
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
            let fast = columns.matching(&filter, &rows, None);
            let fast: Vec<bool> = (0..rows.len()).map(|i| fast.get(i)).collect();
            let slow: Vec<bool> = rows.iter().map(|r| filter.matches(r, None)).collect();
            prop_assert_eq!(fast, slow);
        }
    }

    proptest! {
        /// The block shortcut and the search find exactly the entries that hold the needle,
        /// blocks of shared prefixes and suffixes included.
        #[test]
        fn texts_find_exactly_the_entries_that_hold_the_needle(
            parts in proptest::collection::vec(("[ab_]{0,3}", 0u8..4, "[ab\n-]{0,3}"), 0..300),
            needle in "[ab_-]{0,4}",
        ) {
            let mut texts = Texts::default();
            let entries: Vec<String> = parts
                .iter()
                .map(|(a, shared, b)| {
                    // Many neighbours share a prefix and a suffix.
                    let (pre, suf) = if *shared > 0 { ("job_", "-Done") } else { ("", "") };
                    format!("{pre}{a}{b}{suf}")
                })
                .collect();
            for e in &entries {
                texts.push(e);
            }
            let found = texts.containing(needle.as_bytes());
            for (i, e) in entries.iter().enumerate() {
                let holds = e.to_ascii_lowercase().replace('\n', " ").contains(needle.as_str());
                prop_assert_eq!(found.get(i), holds, "entry {} {:?}", i, e);
            }
            let mut listed = Vec::new();
            found.extend_from(0, &mut listed);
            prop_assert_eq!(found.count(), listed.len());
            prop_assert!(listed.iter().all(|&i| found.get(i as usize)));
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
