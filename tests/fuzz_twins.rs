//! The fuzz targets of `fuzz/` run as proptests, so the normal suite exercises the same code
//! (`hooklens::store::fuzzing`, `hooklens::verify::fuzzing`) on every run.

use hooklens::model::capture::{Capture, CaptureId};
use hooklens::model::record::CaptureRecord;
use hooklens::model::verdict::{Outcome, Verdict};
use hooklens::store::{encode_line, fuzzing as store_fuzz};
use hooklens::verify::fuzzing as verify_fuzz;
use proptest::prelude::*;

fn capture_line(id: u64, body: &[u8]) -> Vec<u8> {
    let record = CaptureRecord {
        capture: Capture::fixture(body, &[("Content-Type", "application/json")]),
        verdict: Verdict::new(Some("modelgates"), Outcome::Valid, "ok"),
        event_type: Some("video.generation.completed".into()),
        data_id: None,
        idempotency_key: Some(format!("job_{}", id % 3)),
        response_status: 204,
    };
    encode_line(CaptureId(id), &record).unwrap()
}

/// A piece of a log file: whole records, cut records, garbage, blank lines.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (1u64..50, prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(id, b)| capture_line(id, &b)),
        (1u64..50, prop::collection::vec(any::<u8>(), 0..40), 0usize..200).prop_map(|(id, b, cut)| {
            let line = capture_line(id, &b);
            line[..cut.min(line.len())].to_vec()
        }),
        Just(b"{\"v\":1,\"kind\":\"log\",\"created_by\":\"hooklens\"}\n".to_vec()),
        Just(b"{\"v\":1,\"kind\":\"session\",\"forward_to\":\"http://x/\",\"forward_path\":\"keep\"}\n".to_vec()),
        Just(b"{\"v\":1,\"kind\":\"forward\",\"capture\":1,\"status\":204}\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..60),
        Just(b"\n".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn log_lines_never_panic_and_decoders_agree(data in prop::collection::vec(any::<u8>(), 0..300)) {
        store_fuzz::line(&data);
    }

    #[test]
    fn log_lines_from_real_records_and_their_cuts(id in 1u64..1000, body in prop::collection::vec(any::<u8>(), 0..100), cut in 0usize..400) {
        let line = capture_line(id, &body);
        store_fuzz::line(&line[..line.len() - 1]);
        store_fuzz::line(&line[..cut.min(line.len())]);
    }

    #[test]
    fn scanning_and_repairing_any_file_only_cuts_a_torn_record(pieces in prop::collection::vec(piece(), 0..12)) {
        store_fuzz::scan_file(&pieces.concat());
    }

    #[test]
    fn scanning_random_bytes(data in prop::collection::vec(any::<u8>(), 0..400)) {
        store_fuzz::scan_file(&data);
    }

    #[test]
    fn signature_headers_never_panic_nor_pass(value in prop::collection::vec(any::<u8>(), 0..200), body in prop::collection::vec(any::<u8>(), 0..50)) {
        verify_fuzz::signature_headers(&value, &body);
    }

    #[test]
    fn signature_headers_that_look_right(t in 0i64..4_000_000_000, sig in "[0-9a-f]{64}", extra in "[ ,=a-z0-9]{0,20}") {
        verify_fuzz::signature_headers(format!("t={t},v1={sig}{extra}").as_bytes(), b"{}");
        verify_fuzz::signature_headers(format!("t={t},v1={sig},v1={sig}").as_bytes(), b"{}");
    }

    #[test]
    fn recipes_never_panic(text in "(header|split|template|timestamp|encoding|algorithm|prefix|[a-z]{1,8})=[ -~]{0,30}(;(header|split|template|timestamp|encoding|algorithm|prefix)=[ -~]{0,30}){0,5}") {
        verify_fuzz::recipe(text.as_bytes());
    }

    #[test]
    fn envelopes_never_panic(body in prop::collection::vec(any::<u8>(), 0..300)) {
        hooklens::envelope::fuzz(&body);
    }

    #[test]
    fn json_envelopes_never_panic(kind in "video\\.generation\\.[a-z]{0,10}", status in "[a-z]{0,10}", id in "[a-z_0-9]{0,10}") {
        let body = format!(r#"{{"type":"{kind}","created_at":"2026-01-01T00:00:00Z","data":{{"id":"{id}","status":"{status}","unsigned_urls":[1,"x"],"usage":{{"cost":"a"}}}}}}"#);
        hooklens::envelope::fuzz(body.as_bytes());
    }
}
