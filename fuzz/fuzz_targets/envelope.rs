//! A webhook body through the envelope summary and shape report (`hooklens::verify::fuzzing::envelope`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hooklens::verify::fuzzing::envelope(data));
