//! A webhook body through the envelope summary and shape report (`hooklens::envelope::fuzz`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hooklens::envelope::fuzz(data));
