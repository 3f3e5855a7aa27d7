//! Every scheme's signature header (`hooklens::verify::fuzzing::signature_headers`): the first
//! byte splits the input into header value and body.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len().saturating_sub(1));
    let rest = data.get(1..).unwrap_or_default();
    let (value, body) = rest.split_at(split.min(rest.len()));
    hooklens::verify::fuzzing::signature_headers(value, body);
});
