//! The snapshot against the full scan, on real files: whatever the log holds and wherever the
//! snapshot ends, opening through it gives what reading the whole log gives; a snapshot that
//! does not fit the log is not used.

use std::fs::OpenOptions;
use std::io::Write;

use proptest::prelude::*;

use super::*;
use crate::model::exchange::ExchangeKind;
use crate::store::fixtures::{exchange, record};
use crate::store::line::{
    encode_exchange_tail, encode_header_tail, encode_line, encode_session_tail, push_line,
};
use crate::store::scan::scan;

/// One line of a test log.
#[derive(Clone, Debug)]
enum Line {
    Header,
    /// A capture with this id, idempotency key (`k{n}`) and variant of its fields.
    Capture(u64, Option<u8>, u8),
    /// A forward (or replay) of a capture, answered or not, relayed or not.
    Exchange(u64, bool, bool, bool),
    /// A listener started, forwarding (`true`) or not.
    Session(bool),
    Garbage,
    Blank,
}

fn bytes_of(line: &Line) -> Vec<u8> {
    let mut out = Vec::new();
    match line {
        Line::Header => push_line(&mut out, None, &encode_header_tail(1).unwrap()),
        Line::Capture(id, key, variant) => {
            let key = key.map(|k| format!("k{k}"));
            let mut rec = record(format!("body {id}").as_bytes(), key.as_deref());
            match variant % 4 {
                0 => {}
                1 => {
                    rec.verdict.skew_secs = Some(-7);
                    rec.capture.truncated = true;
                    rec.verdict.outcome = Outcome::Stale;
                }
                2 => {
                    rec.event_type = None;
                    rec.data_id = None;
                    rec.capture.method = "PUT".into();
                    rec.response_status = 401;
                }
                _ => rec.capture.target = format!("/hook?n={id}").into(),
            }
            out = encode_line(CaptureId(*id), &rec).unwrap();
        }
        Line::Exchange(id, answered, relayed, replay) => {
            let mut e = exchange(*id, answered.then_some(503), *relayed);
            if *replay {
                e.kind = ExchangeKind::Replay;
            }
            push_line(&mut out, None, &encode_exchange_tail(&e).unwrap());
        }
        Line::Session(forwarding) => {
            let target = RecordedTarget {
                url: "http://127.0.0.1:3000/app".into(),
                path: PathMode::Prefix,
            };
            let tail = encode_session_tail(1, forwarding.then_some(&target), None).unwrap();
            push_line(&mut out, None, &tail);
        }
        Line::Garbage => out.extend_from_slice(b"not a record\n"),
        Line::Blank => out.extend_from_slice(b"\n"),
    }
    out
}

/// A log with every kind of line: forwards, replays, sessions, repeated keys, an id that does
/// not grow, a forward that links nowhere, unreadable and blank lines, unforwarded captures.
fn every_kind() -> Vec<Line> {
    use Line::*;
    vec![
        Header,
        Session(false),
        Capture(1, Some(1), 0),
        Capture(2, Some(1), 1),
        Session(true),
        Capture(3, None, 2),
        Garbage,
        Capture(4, Some(2), 3),
        Exchange(3, true, true, false),
        Capture(4, Some(3), 0),
        Blank,
        Exchange(9, true, false, false),
        Capture(5, Some(2), 1),
        Exchange(1, false, false, true),
        Exchange(3, true, false, true),
        Session(false),
        Capture(6, Some(1), 2),
        Session(true),
        Capture(7, Some(4), 0),
        Garbage,
    ]
}

/// Everything an open gives a user, to compare: rows, record places, the key map's claims,
/// forwards per capture, `--forward-to` and its line, the next id, the recovery report.
fn seen(mut index: Index, recovery: &Recovery) -> String {
    let mut out = format!("{recovery:?}\n{:?}\n", index.rows());
    out += &format!("{:?}\n", index.locations());
    out += &format!("{:?} {:?}\n", index.forward_to(), index.session_at());
    let ids: Vec<CaptureId> = index.rows().iter().map(|r| r.id).collect();
    for id in ids {
        out += &format!("{id}: {:?}\n", index.exchange_places(id));
    }
    out += &format!("next {}\n", index.next_id());
    // A new capture with each key: which earlier capture it repeats.
    for k in 0..6 {
        let id = index.take_id();
        let row = index.row_for(id, &record(b"new", Some(&format!("k{k}"))));
        out += &format!("k{k}: {:?}\n", row.dup_of);
    }
    out
}

/// What reading the whole of `bytes` gives (in another file: no snapshot beside it).
fn full_scan(dir: &Path, bytes: &[u8]) -> String {
    let path = dir.join("whole.jsonl");
    std::fs::write(&path, bytes).unwrap();
    let mut file = File::open(&path).unwrap();
    let mut index = Index::new();
    let recovery = scan(&mut file, &mut index, None).unwrap();
    seen(index, &recovery)
}

/// What opening the log at `path` gives (through its snapshot, when it has a usable one).
fn opened(path: &Path) -> String {
    let mut file = File::open(path).unwrap();
    let (index, recovery) = open_index(&mut file, path, false).unwrap();
    seen(index, &recovery)
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// Writes the first `cut` lines as the log, snapshots them, appends the rest; whether the
/// snapshot was used for the open afterwards, and what that open gives.
fn snapshot_then_append(dir: &Path, lines: &[Line], cut: usize) -> (bool, String) {
    let path = dir.join("log.jsonl");
    let _ = std::fs::remove_file(snapshot_path(&path));
    let encoded: Vec<Vec<u8>> = lines.iter().map(bytes_of).collect();
    let head = encoded[..cut].concat();
    std::fs::write(&path, &head).unwrap();
    refresh(&path).unwrap();
    append(&path, &encoded[cut..].concat());
    let used = load(&path, &File::open(&path).unwrap(), &mut Index::new())
        .is_some_and(|(_, covered)| covered == head.len() as u64);
    (used, opened(&path))
}

#[test]
fn through_the_snapshot_an_open_gives_what_the_full_scan_gives_wherever_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let lines = every_kind();
    let whole: Vec<u8> = lines.iter().flat_map(bytes_of).collect();
    let expected = full_scan(dir.path(), &whole);
    assert!(
        expected.contains("unforwarded: [CaptureId(4), CaptureId(5), CaptureId(7)]"),
        "{expected}"
    );
    for cut in 1..=lines.len() {
        let (used, got) = snapshot_then_append(dir.path(), &lines, cut);
        assert!(used, "a snapshot after line {cut} is used");
        assert_eq!(got, expected, "snapshot after line {cut}");
    }
    // A torn tail after the snapshot is reported (and, by a listener, cut) as without one.
    let torn = &bytes_of(&Line::Capture(8, None, 0))[..30];
    append(&dir.path().join("log.jsonl"), torn);
    let expected = full_scan(dir.path(), &[whole.as_slice(), torn].concat());
    assert!(expected.contains("torn_bytes: 30"), "{expected}");
    assert_eq!(opened(&dir.path().join("log.jsonl")), expected);
}

#[test]
fn a_snapshot_that_does_not_fit_the_log_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let lines = every_kind();
    let whole: Vec<u8> = lines.iter().flat_map(bytes_of).collect();
    let expected = full_scan(dir.path(), &whole);
    let snap = snapshot_path(&path);
    let fresh = || {
        std::fs::write(&path, &whole).unwrap();
        refresh(&path).unwrap();
        std::fs::read(&snap).unwrap()
    };
    let good = fresh();
    let usable = || load(&path, &File::open(&path).unwrap(), &mut Index::new()).is_some();
    assert!(usable());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&snap).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Damaged anywhere (header or body), cut short, another version, or empty.
    for at in [3, HEAD + 1, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x20;
        std::fs::write(&snap, &bad).unwrap();
        assert!(!usable(), "a changed byte at {at}");
        assert_eq!(opened(&path), expected);
    }
    let mut other = good.clone();
    other[7] = b'2';
    for bad in [&good[..good.len() - 5], &good[..HEAD], &other[..], b""] {
        std::fs::write(&snap, bad).unwrap();
        assert!(!usable());
        assert_eq!(opened(&path), expected);
    }

    // The log's last covered line rewritten in place (same length, same file).
    std::fs::write(&snap, &good).unwrap();
    let log = OpenOptions::new().write(true).open(&path).unwrap();
    let last = whole.len() as u64 - 5;
    log.write_all_at(b"X", last).unwrap();
    assert!(!usable());
    let mut changed = whole.clone();
    changed[last as usize] = b'X';
    assert_eq!(opened(&path), full_scan(dir.path(), &changed));

    // A log shorter than the snapshot covers, then another log at the same path.
    fresh();
    log.set_len(whole.len() as u64 - 40).unwrap();
    assert!(!usable());
    assert_eq!(
        opened(&path),
        full_scan(dir.path(), &whole[..whole.len() - 40])
    );
    fresh();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, &whole).unwrap();
    assert!(!usable(), "another file (inode) with the same bytes");
    assert_eq!(opened(&path), expected);
}

#[test]
fn a_snapshot_is_written_only_after_whole_lines_and_never_changes_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let snap = snapshot_path(&path);
    let whole: Vec<u8> = every_kind().iter().flat_map(bytes_of).collect();
    // A log that ends inside a line (a write in progress): no snapshot.
    let torn = [whole.as_slice(), b"{\"v\":1,\"kind\":\"capt"].concat();
    std::fs::write(&path, &torn).unwrap();
    refresh(&path).unwrap();
    assert!(!snap.exists());
    assert_eq!(std::fs::read(&path).unwrap(), torn);
    // A whole log: one; refreshed again with nothing new, it is left as it is.
    std::fs::write(&path, &whole).unwrap();
    refresh(&path).unwrap();
    let first = std::fs::metadata(&snap).unwrap().modified().unwrap();
    std::fs::write(&snap, std::fs::read(&snap).unwrap()).unwrap();
    let rewritten = std::fs::metadata(&snap).unwrap().modified().unwrap();
    refresh(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&snap).unwrap().modified().unwrap(),
        rewritten
    );
    assert!(rewritten >= first);
    // A few lines more are left for the next open to read; a lot more, and it is rewritten.
    append(&path, &bytes_of(&Line::Capture(8, None, 0)));
    refresh(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&snap).unwrap().modified().unwrap(),
        rewritten
    );
    let big = encode_line(CaptureId(9), &record(&vec![b'x'; 3 << 20], None)).unwrap();
    append(&path, &big);
    refresh(&path).unwrap();
    let log = File::open(&path).unwrap();
    let covered = load(&path, &log, &mut Index::new()).map(|(_, c)| c);
    assert_eq!(covered, Some(log.metadata().unwrap().len()));
    let whole = std::fs::read(&path).unwrap();
    // Where it cannot be written (here a directory is in its way), the refresh says so.
    std::fs::remove_file(&snap).unwrap();
    std::fs::create_dir_all(snap.join("in the way")).unwrap();
    assert!(refresh(&path).is_err());
    assert_eq!(opened(&path), full_scan(dir.path(), &whole));
}

/// A random line: captures with ids that mostly grow, a few keys, forwards to any id.
fn any_line() -> impl Strategy<Value = Line> {
    prop_oneof![
        6 => (1u64..40, proptest::option::of(0u8..4), any::<u8>())
            .prop_map(|(id, key, v)| Line::Capture(id, key, v)),
        3 => (1u64..40, any::<bool>(), any::<bool>(), any::<bool>())
            .prop_map(|(id, a, r, p)| Line::Exchange(id, a, r, p)),
        1 => any::<bool>().prop_map(Line::Session),
        1 => Just(Line::Garbage),
        1 => Just(Line::Blank),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_logs_and_random_snapshot_points_open_as_the_full_scan(
        mut lines in proptest::collection::vec(any_line(), 1..40),
        cut in any::<proptest::sample::Index>(),
    ) {
        // Ids as a listener writes them, mostly: growing, with a repeat now and then.
        let mut next = 0;
        for line in &mut lines {
            if let Line::Capture(id, _, _) = line {
                if *id % 7 != 0 {
                    next += 1 + *id % 2;
                }
                *id = next.max(1);
            }
        }
        lines.insert(0, Line::Header);
        let dir = tempfile::tempdir().unwrap();
        let whole: Vec<u8> = lines.iter().flat_map(bytes_of).collect();
        let cut = 1 + cut.index(lines.len());
        let (used, got) = snapshot_then_append(dir.path(), &lines, cut);
        prop_assert!(used);
        prop_assert_eq!(got, full_scan(dir.path(), &whole));
    }
}

#[tokio::test]
async fn a_listener_whose_snapshot_cannot_be_written_hears_it_once_and_keeps_every_capture() {
    use crate::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    let (store, writer, _) = Store::open(Some(&path)).unwrap();
    store.append(record(b"a", Some("k"))).await.unwrap();
    drop(store);
    assert_eq!(writer.join().await, None, "written, nothing to say");
    assert!(snapshot_path(&path).is_file());
    // Now something is in the snapshot's way.
    std::fs::remove_file(snapshot_path(&path)).unwrap();
    std::fs::create_dir_all(snapshot_path(&path).join("in the way")).unwrap();
    let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
    assert_eq!(recovery.captures, 1);
    let b = store.append(record(b"b", Some("k"))).await.unwrap();
    assert_eq!(
        (b.summary.id, b.summary.dup_of),
        (CaptureId(2), Some(CaptureId(1)))
    );
    drop(store);
    let notice = writer.join().await.unwrap();
    assert!(
        notice.contains("could not write the index snapshot")
            && notice.contains("log.jsonl.rows")
            && notice.contains("the next start reads the whole log"),
        "{notice}"
    );
    let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
    assert_eq!(recovery.captures, 2);
    assert_eq!(
        store.load(CaptureId(2)).unwrap().capture.body.as_ref(),
        b"b"
    );
    drop(store);
    writer.join().await;
}

#[tokio::test]
async fn a_listener_that_had_to_scan_a_big_log_snapshots_it_at_once() {
    use crate::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.jsonl");
    // Five captures of 4 MiB (more than WRITE_AFTER_SCANNING in all), the last two repeats.
    let mut log = bytes_of(&Line::Header);
    for id in 1..=5 {
        let key = format!("k{}", id.min(3));
        let rec = record(&vec![b'x'; 4 << 20], Some(&key));
        log.extend(encode_line(CaptureId(id), &rec).unwrap());
    }
    std::fs::write(&path, &log).unwrap();
    let (store, writer, recovery) = Store::open(Some(&path)).unwrap();
    assert_eq!(recovery.captures, 5);
    // Written before the first capture, so a kill -9 from here on still finds it.
    let file = File::open(&path).unwrap();
    let covered = load(&path, &file, &mut Index::new()).map(|(_, c)| c);
    assert_eq!(covered, Some(log.len() as u64));
    let six = store.append(record(b"six", Some("k3"))).await.unwrap();
    assert_eq!(
        (six.summary.id, six.summary.dup_of),
        (CaptureId(6), Some(CaptureId(3)))
    );
    drop(store);
    writer.join().await;
    assert_eq!(
        opened(&path),
        full_scan(dir.path(), &std::fs::read(&path).unwrap())
    );
}
