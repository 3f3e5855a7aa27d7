//! One capture-log line through every decoder (`hooklens::store::fuzzing::line`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hooklens::store::fuzzing::line(data));
