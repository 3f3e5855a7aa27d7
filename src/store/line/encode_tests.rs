//! The hand-written capture encoder against the serde-derived form it replaces: random
//! records encode to the same bytes both ways and decode back to themselves.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use bytes::Bytes;
use proptest::prelude::*;
use serde::Serialize;

use super::{decode_line, encode_capture_tail, encode_line};
use crate::model::capture::{Capture, CaptureId, Header, HeaderCase, HttpVersion, TlsInfo};
use crate::model::record::CaptureRecord;
use crate::model::verdict::{Hint, MatchedSecret, Outcome, Verdict};

/// The reference: the tail as `CaptureRecord`'s derived `Serialize` writes it.
fn derived_tail(record: &CaptureRecord) -> Vec<u8> {
    #[derive(Serialize)]
    struct Tail<'a> {
        #[serde(flatten)]
        record: &'a CaptureRecord,
        body_len: usize,
    }
    serde_json::to_vec(&Tail {
        record,
        body_len: record.capture.body.len(),
    })
    .expect("the derived form encodes")
}

/// Text with the characters JSON escapes (quotes, backslashes, controls) and the ones it does
/// not (DEL, non-ASCII, line separators) mixed in.
fn text() -> impl Strategy<Value = String> {
    let tricky = prop::sample::select(vec![
        '"', '\\', '\n', '\r', '\t', '\u{0}', '\u{1f}', '\u{7f}', 'é', '\u{2028}', '😀', '/',
    ]);
    prop::collection::vec(prop_oneof![any::<char>(), tricky, Just('a')], 0..12)
        .prop_map(String::from_iter)
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    prop_oneof![
        Just(Bytes::new()),
        prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from),
        text().prop_map(Bytes::from),
    ]
}

/// A peer as accepted sockets have them: the flow label is not in the text form, so it is 0.
fn peer() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        any::<(std::net::Ipv4Addr, u16)>()
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(ip), port)),
        any::<(std::net::Ipv6Addr, u16)>()
            .prop_map(|(ip, port)| SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0))),
    ]
}

fn tls() -> impl Strategy<Value = Option<TlsInfo>> {
    prop::option::of(
        (
            text(),
            text(),
            prop::option::of(text()),
            prop::option::of(text()),
        )
            .prop_map(|(version, cipher, alpn, sni)| TlsInfo {
                version,
                cipher,
                alpn,
                sni,
            }),
    )
}

fn verdict() -> impl Strategy<Value = Verdict> {
    let outcome = prop::sample::select(vec![
        Outcome::Valid,
        Outcome::Unverified,
        Outcome::InvalidSignature,
        Outcome::Stale,
        Outcome::MissingHeader,
        Outcome::MalformedHeader,
    ]);
    let matched =
        prop::option::of(
            (any::<usize>(), text()).prop_map(|(index, fingerprint)| MatchedSecret {
                index,
                fingerprint: fingerprint.into(),
            }),
        );
    let hints = prop::collection::vec(
        (text(), text()).prop_map(|(code, message)| Hint { code, message }),
        0..3,
    );
    (
        prop::option::of(text()),
        outcome,
        text(),
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
        matched,
        hints,
    )
        .prop_map(
            |(scheme, outcome, reason, timestamp, skew_secs, matched_secret, hints)| Verdict {
                scheme: scheme.map(Into::into),
                outcome,
                reason,
                timestamp,
                skew_secs,
                matched_secret,
                hints,
            },
        )
}

fn capture() -> impl Strategy<Value = Capture> {
    let version = prop::sample::select(vec![
        HttpVersion::Http10,
        HttpVersion::Http11,
        HttpVersion::H2,
    ]);
    let case = prop::sample::select(vec![HeaderCase::Original, HeaderCase::Lowercase]);
    let headers = prop::collection::vec(
        (text(), bytes(24)).prop_map(|(name, value)| Header::new(name, value)),
        0..6,
    );
    (
        (any::<i64>(), peer(), tls(), text(), text(), version, case),
        (
            headers,
            bytes(300),
            any::<bool>(),
            prop::option::of(text()),
            bytes(40),
        ),
    )
        .prop_map(
            |(
                (received_at_ms, peer, tls, method, target, version, header_case),
                (headers, body, truncated, fault, raw_head),
            )| Capture {
                id: CaptureId::default(),
                received_at_ms,
                peer,
                tls,
                method: method.into(),
                target: target.into(),
                version,
                header_case,
                headers,
                body,
                truncated,
                fault,
                raw_head,
            },
        )
}

fn record() -> impl Strategy<Value = CaptureRecord> {
    (
        capture(),
        verdict(),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        any::<u16>(),
    )
        .prop_map(
            |(capture, verdict, event_type, data_id, idempotency_key, response_status)| {
                CaptureRecord {
                    capture,
                    verdict,
                    event_type,
                    data_id,
                    idempotency_key,
                    response_status,
                }
            },
        )
}

proptest! {
    #[test]
    fn the_hand_encoder_writes_the_derived_bytes_and_decodes_back(
        rec in record(),
        id in any::<u64>(),
    ) {
        // Compared as text, for a readable difference (both are JSON, so UTF-8).
        let tail = String::from_utf8(encode_capture_tail(&rec, Vec::new()).unwrap()).unwrap();
        let derived = String::from_utf8(derived_tail(&rec)).unwrap();
        prop_assert_eq!(tail, derived);
        let line = encode_line(CaptureId(id), &rec).unwrap();
        let back = decode_line(&line[..line.len() - 1]).unwrap();
        let mut expected = rec;
        expected.capture.id = CaptureId(id);
        prop_assert_eq!(back, expected);
    }
}

#[test]
fn a_binary_header_value_and_a_refused_head_are_base64() {
    let mut rec = crate::store::fixtures::record(b"", None);
    rec.capture
        .headers
        .push(Header::new("X-Bin", Bytes::from_static(b"\xff\x00ok")));
    rec.capture.raw_head = Bytes::from_static(b"GET\x00 /");
    rec.capture.fault = Some("head did not parse".into());
    let tail = encode_capture_tail(&rec, Vec::new()).unwrap();
    assert_eq!(tail, derived_tail(&rec));
    let text = String::from_utf8(tail).unwrap();
    assert!(text.contains(r#"["X-Bin",{"b64":"/wBvaw=="}]"#), "{text}");
    assert!(text.contains(r#""body_b64":"","#), "{text}");
    assert!(text.contains(r#""raw_head_b64":"R0VUACAv""#), "{text}");
}
