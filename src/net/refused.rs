//! Requests hyper refused before the handler saw them (400 for a head that is not HTTP, 431
//! for too many or too large headers, 414 for a long target): captured anyway, with what was
//! read and the error, so the user sees a sender sending something broken.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::model::capture::{Capture, CaptureId, Header, HeaderCase, HttpVersion, TlsInfo, now_ms};
use crate::model::record::CaptureRecord;
use crate::model::text::ByteStr;
use crate::net::rawhead::Refused;
use crate::store::Store;
use crate::verify::{self, VerifyConfig};

/// The status hyper answered a refused head with, and the error's own words; `None` when the
/// error is not a refused head.
pub fn refusal(e: &(dyn std::error::Error + 'static)) -> Option<(u16, String)> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if !h.is_parse() || h.is_parse_version_h2() {
                return None;
            }
            let text = h.to_string();
            let status = if !h.is_parse_too_large() {
                400
            } else if text.contains("URI") {
                414
            } else {
                431
            };
            return Some((status, text));
        }
        cur = err.source();
    }
    None
}

/// A token for the method when the head did not parse (`-` when the line has none).
fn first_token(line: &[u8]) -> String {
    let word = line.split(|b| *b == b' ').next().unwrap_or_default();
    let token = !word.is_empty()
        && word
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(b));
    if token {
        String::from_utf8_lossy(word).into_owned()
    } else {
        "-".into()
    }
}

/// The capture of a refused request, from what the head recorder kept.
pub fn capture(
    refused: Refused,
    status: u16,
    error: &str,
    peer: SocketAddr,
    tls: Option<TlsInfo>,
) -> Capture {
    let (method, target, headers, raw_head) = match refused {
        Refused::Parsed(head) => (head.method, head.target, head.headers, Bytes::new()),
        Refused::Raw(raw) => {
            let line = raw.split(|b| *b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let target = line
                .split(|b| *b == b' ')
                .nth(1)
                .filter(|t| !t.is_empty())
                .map_or_else(
                    || ByteStr::from_static("-"),
                    |t| String::from_utf8_lossy(t).into_owned().into(),
                );
            (first_token(line).into(), target, Vec::<Header>::new(), raw)
        }
    };
    Capture {
        id: CaptureId::default(),
        received_at_ms: now_ms(),
        peer,
        tls,
        method,
        target,
        version: HttpVersion::Http11,
        header_case: HeaderCase::Original,
        headers,
        body: Bytes::new(),
        truncated: false,
        fault: Some(format!("refused with {status}: {error}")),
        raw_head,
    }
}

/// Stores the capture of a refused request (verified as far as its head allows).
pub async fn store(capture: Capture, status: u16, verify_config: &VerifyConfig, store: &Store) {
    let peer = capture.peer;
    let verdict = verify::verify_request(
        &verify::RequestLine {
            method: &capture.method,
            target: &capture.target,
        },
        &capture.headers,
        &capture.body,
        verify_config,
        capture.received_at_ms.div_euclid(1000),
    );
    let record = CaptureRecord {
        capture,
        verdict,
        event_type: None,
        data_id: None,
        idempotency_key: None,
        response_status: status,
    };
    if let Err(e) = store.append(record).await {
        store.notice(format!("refused request from {peer} not stored: {e:#}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_keeps_its_bytes_and_a_readable_method() {
        let peer = "127.0.0.1:1".parse().unwrap();
        let c = capture(
            Refused::Raw(Bytes::from_static(b"\x16\x03\x01 junk\r\n")),
            400,
            "invalid HTTP method parsed",
            peer,
            None,
        );
        assert_eq!((c.method.as_str(), c.target.as_str()), ("-", "junk"));
        assert_eq!(c.raw_head.as_ref(), b"\x16\x03\x01 junk\r\n");
        assert_eq!(
            c.fault.as_deref(),
            Some("refused with 400: invalid HTTP method parsed")
        );
        let c = capture(Refused::Raw(Bytes::new()), 400, "x", peer, None);
        assert_eq!((c.method.as_str(), c.target.as_str()), ("-", "-"));
    }
}
