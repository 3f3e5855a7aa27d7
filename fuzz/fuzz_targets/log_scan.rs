//! Bytes as a whole log file, scanned and repaired (`hooklens::store::fuzzing::scan_file`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hooklens::store::fuzzing::scan_file(data));
