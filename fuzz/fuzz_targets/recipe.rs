//! A `--recipe` text (`hooklens::verify::fuzzing::recipe`).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| hooklens::verify::fuzzing::recipe(data));
