//! Entry points for the fuzz targets in `fuzz/` and their proptest twins in the normal suite:
//! each runs one parser of the log on arbitrary bytes and checks what must always hold.
#![doc(hidden)]

use std::sync::Arc;

use super::index::Index;
use super::line::{decode_exchange, decode_line, index_fields, looks_like_record};
use super::scan::scan;

/// One log line through every decoder: none may panic, and the index fields of a line agree
/// with the full decode about whether it is a readable capture.
pub fn line(data: &[u8]) {
    let fields = index_fields(data, &mut |s| Arc::from(s));
    let capture = decode_line(data);
    let _ = decode_exchange(data);
    if capture.is_ok() {
        assert!(
            matches!(fields, Ok(Some(super::line::Fields::Capture(_)))),
            "a decodable capture has a capture's index fields"
        );
    }
}

/// `data` as a whole log file, scanned read-only and then with repair: nothing panics, a
/// read-only scan changes nothing, repair only ever cuts a torn last line that starts like a
/// record (the bytes before it stay as they were), and a repaired log scans clean of torn
/// bytes.
pub fn scan_file(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("log.jsonl");
    std::fs::write(&path, data).expect("writing the log");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .open(&path)
        .expect("opening the log");
    let ro = scan(&mut file, &mut Index::new(), None).expect("scanning");
    assert_eq!(
        std::fs::read(&path).expect("reading"),
        data,
        "a read-only scan changes nothing"
    );
    let fixed = scan(&mut file, &mut Index::new(), Some(&path)).expect("repairing");
    assert_eq!(ro.captures, fixed.captures);
    let after = std::fs::read(&path).expect("reading");
    let kept = after.len().min(data.len());
    assert_eq!(
        &after[..kept],
        &data[..kept],
        "repair only cuts or adds at the end"
    );
    if after.len() < data.len() {
        let cut = &data[after.len()..];
        assert!(looks_like_record(cut), "only a record-like tail is cut");
        let saved = fixed.torn_saved.expect("cut bytes are saved");
        assert_eq!(std::fs::read(saved).expect("reading the torn file"), cut);
    }
    let again = scan(&mut file, &mut Index::new(), None).expect("rescanning");
    assert_eq!(again.torn_bytes, 0, "a repaired log has no torn tail");
    assert_eq!(again.captures, fixed.captures);
}
