//! Records for the store's tests, built from the model only.

use bytes::Bytes;

use crate::model::capture::{Capture, CaptureId};
use crate::model::exchange::{BodyDigest, Exchange, ExchangeKind, ExchangeResponse, HTTP_11};
use crate::model::record::CaptureRecord;
use crate::model::verdict::{Outcome, Verdict};

/// A verified capture with `body` and, optionally, an idempotency key.
pub(super) fn record(body: &[u8], key: Option<&str>) -> CaptureRecord {
    CaptureRecord {
        capture: Capture::fixture(body, &[("Content-Type", "application/json")]),
        verdict: Verdict::new(Some("modelgates"), Outcome::Valid, "ok"),
        event_type: Some("video.generation.completed".into()),
        data_id: Some("job".into()),
        idempotency_key: key.map(str::to_owned),
        response_status: 204,
    }
}

/// A forward of `capture` that the receiver answered with `status`, or that failed (`None`).
pub(super) fn exchange(capture: u64, status: Option<u16>, relayed: bool) -> Exchange {
    let (response, error, provider_status) = match status {
        Some(status) => (
            Some(ExchangeResponse {
                version: HTTP_11.into(),
                status,
                reason: "Whatever".into(),
                headers: Vec::new(),
                body: Bytes::from_static(b"ok"),
                body_len: 2,
            }),
            None,
            status,
        ),
        None => (None, Some("reset".to_owned()), 502),
    };
    Exchange {
        kind: ExchangeKind::Forward,
        capture: CaptureId(capture),
        at_ms: 0,
        url: "http://127.0.0.1:3000/hook".into(),
        method: "POST".into(),
        request_headers: Vec::new(),
        received: BodyDigest::of(b"a"),
        sent: BodyDigest::of(b"a"),
        integrity: Vec::new(),
        resigned: false,
        edited: false,
        relayed,
        latency_us: 1_500,
        response,
        error,
        status: provider_status,
    }
}
