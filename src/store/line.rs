//! The line format of the capture log: one JSON object per line, each starting with the head
//! `{"v":1,"kind":…` ([`FORMAT_VERSION`]; the kinds are `capture`, `forward`, `replay` and
//! `session`). A capture line carries its `id` right after the kind.
//!
//! Each kind is written by one encoder and read back by one decoder: [`decode_line`] for a
//! whole capture, [`decode_exchange`] for a whole forward or replay, and [`index_fields`] for
//! just what the index keeps of any line (the recovery scan reads a million lines through it
//! without decoding bodies). A line of a newer version or an unknown kind is skipped, never
//! misread.

use std::borrow::Cow;
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::model::capture::CaptureId;
use crate::model::exchange::{Exchange, ExchangeKind, PathMode, RecordedTarget};
use crate::model::record::{CaptureRecord, LinkedBrief, Summary};
use crate::model::verdict::Outcome;

/// Version written on every line.
pub const FORMAT_VERSION: u32 = 1;

/// Every capture line hooklens writes starts like this.
const CAPTURE_HEAD: &[u8] = b"{\"v\":1,\"kind\":\"capture\",";

/// How every record starts, up to its kind's name (`{"v":1,"kind":"`).
const RECORD_HEAD: &[u8] = b"{\"v\":1,\"kind\":\"";

/// Whether `bytes` (the start of a line) look like a hooklens record: `{"v":N,"kind":"…`, or
/// a start of that cut short. Only such a line is ever treated as torn and cut; the first
/// bytes of a file decide whether it is a capture log at all.
pub(super) fn looks_like_record(bytes: &[u8]) -> bool {
    if bytes.len() < RECORD_HEAD.len() {
        return !bytes.is_empty() && RECORD_HEAD.starts_with(bytes);
    }
    let Some(rest) = bytes.strip_prefix(b"{\"v\":") else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && rest[digits..].starts_with(b",\"kind\":\"")
}

/// Whether this hooklens reads lines of version `v`.
fn readable(v: u32) -> bool {
    v <= FORMAT_VERSION
}

// ---- writing ----

/// Serializes a capture as the tail of its line: one JSON object `{"received_at_ms":…}`
/// whose `{` [`push_line`] replaces with the line head. Done on the request's task, so the
/// log writer only concatenates.
///
/// Written field by field rather than through `CaptureRecord`'s derived `Serialize` (whose
/// `flatten` goes through serde's map machinery, and whose base64 body is escaped chunk by
/// chunk though base64 never needs escaping): the same fields in the same order, strings and
/// nested values still through `serde_json`, the base64 straight into the buffer. The bytes
/// are the derived form's exactly (`line/encode_tests.rs` holds the two to that).
pub(super) fn encode_capture_tail(record: &CaptureRecord) -> Result<Vec<u8>> {
    // Sized for the whole line up front: the base64 body, the headers as text (a binary
    // value grows by a third, rarely), and a few hundred bytes for the rest.
    let c = &record.capture;
    let headers: usize = c
        .headers
        .iter()
        .map(|h| h.name.len() + h.value.len() + 8)
        .sum();
    let mut out = Vec::with_capacity(
        512 + base64_len(c.body.len()) + base64_len(c.raw_head.len()) + headers + c.target.len(),
    );
    write_capture_tail(&mut out, record).context("encoding capture")?;
    Ok(out)
}

/// The fields of `CaptureRecord` (its `Capture` flattened) and then `body_len`, in the order
/// and the forms its derived `Serialize` gives them.
fn write_capture_tail(out: &mut Vec<u8>, record: &CaptureRecord) -> serde_json::Result<()> {
    let c = &record.capture;
    out.extend_from_slice(b"{\"received_at_ms\":");
    json(out, &c.received_at_ms)?;
    out.extend_from_slice(b",\"peer\":");
    json(out, &c.peer)?;
    out.extend_from_slice(b",\"tls\":");
    json(out, &c.tls)?;
    out.extend_from_slice(b",\"method\":");
    json(out, &*c.method)?;
    out.extend_from_slice(b",\"target\":");
    json(out, &*c.target)?;
    out.extend_from_slice(b",\"version\":");
    json(out, &c.version)?;
    out.extend_from_slice(b",\"header_case\":");
    json(out, &c.header_case)?;
    out.extend_from_slice(b",\"headers\":[");
    for (i, h) in c.headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        json(out, &*h.name)?;
        out.push(b',');
        // As `Header`'s `Serialize` writes it: text when UTF-8, else `{"b64":…}`.
        match std::str::from_utf8(&h.value) {
            Ok(text) => json(out, text)?,
            Err(_) => {
                out.extend_from_slice(b"{\"b64\":");
                base64_string(out, &h.value);
                out.push(b'}');
            }
        }
        out.push(b']');
    }
    out.extend_from_slice(b"],\"body_b64\":");
    base64_string(out, &c.body);
    out.extend_from_slice(if c.truncated {
        b",\"truncated\":true"
    } else {
        b",\"truncated\":false"
    });
    if let Some(fault) = &c.fault {
        out.extend_from_slice(b",\"fault\":");
        json(out, fault)?;
    }
    if !c.raw_head.is_empty() {
        out.extend_from_slice(b",\"raw_head_b64\":");
        base64_string(out, &c.raw_head);
    }
    out.extend_from_slice(b",\"verdict\":");
    json(out, &record.verdict)?;
    out.extend_from_slice(b",\"event_type\":");
    json(out, &record.event_type)?;
    out.extend_from_slice(b",\"data_id\":");
    json(out, &record.data_id)?;
    out.extend_from_slice(b",\"idempotency_key\":");
    json(out, &record.idempotency_key)?;
    out.extend_from_slice(b",\"response_status\":");
    json(out, &record.response_status)?;
    out.extend_from_slice(b",\"body_len\":");
    json(out, &c.body.len())?;
    out.push(b'}');
    Ok(())
}

/// One value as `serde_json` writes it (escaping, numbers, nested structs).
fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, value)
}

/// Length of the padded standard base64 of `n` bytes.
fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// `bytes` as a JSON string of their standard base64, encoded in place (its alphabet never
/// needs escaping).
fn base64_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    out.resize(start + base64_len(bytes.len()), 0);
    let written = B64
        .encode_slice(bytes, &mut out[start..])
        .expect("room for the padded base64 was made");
    out.truncate(start + written);
    out.push(b'"');
}

/// Serializes a forward or replay record (it has its own `kind`) as a line tail.
pub(super) fn encode_exchange_tail(exchange: &Exchange) -> Result<Vec<u8>> {
    encode_plain_tail(exchange)
}

/// Serializes a `session` line (a listener started, with its `--forward-to` and its tunnel's
/// public URL) as a line tail.
pub(super) fn encode_session_tail(
    started_at_ms: i64,
    forward_to: Option<&RecordedTarget>,
    public_url: Option<&str>,
) -> Result<Vec<u8>> {
    #[derive(Serialize)]
    struct SessionLine<'a> {
        kind: &'static str,
        started_at_ms: i64,
        forward_to: Option<&'a str>,
        forward_path: Option<PathMode>,
        #[serde(skip_serializing_if = "Option::is_none")]
        public_url: Option<&'a str>,
    }
    encode_plain_tail(&SessionLine {
        kind: "session",
        started_at_ms,
        forward_to: forward_to.map(|f| f.url.as_str()),
        forward_path: forward_to.map(|f| f.path),
        public_url,
    })
}

/// Serializes the `log` header, the first line of every log hooklens creates, as a line
/// tail: it says what the file is, so a file that is not a log is never taken for one.
pub(super) fn encode_header_tail(created_at_ms: i64) -> Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Header {
        kind: &'static str,
        created_by: &'static str,
        hooklens_version: &'static str,
        created_at_ms: i64,
    }
    encode_plain_tail(&Header {
        kind: "log",
        created_by: "hooklens",
        hooklens_version: env!("CARGO_PKG_VERSION"),
        created_at_ms,
    })
}

fn encode_plain_tail<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).context("encoding log record")
}

/// The full line for a capture with an id, newline included (the writer's format; tests and
/// benchmarks build logs with it).
pub fn encode_line(id: CaptureId, record: &CaptureRecord) -> Result<Vec<u8>> {
    let tail = encode_capture_tail(record)?;
    let mut line = Vec::with_capacity(tail.len() + 40);
    push_line(&mut line, Some(id), &tail);
    Ok(line)
}

/// Appends one whole line: the head (`{"v":1,` plus, for a capture, its kind and id), the
/// encoded tail after its `{`, and the newline.
pub(super) fn push_line(buf: &mut Vec<u8>, capture_id: Option<CaptureId>, tail: &[u8]) {
    match capture_id {
        Some(id) => {
            let _ = write!(
                buf,
                "{{\"v\":{FORMAT_VERSION},\"kind\":\"capture\",\"id\":{},",
                id.0
            );
        }
        None => {
            let _ = write!(buf, "{{\"v\":{FORMAT_VERSION},");
        }
    }
    // The tail is a whole JSON object; its `{` is the head's.
    buf.extend_from_slice(tail.strip_prefix(b"{").unwrap_or(tail));
    buf.push(b'\n');
}

// ---- reading whole records ----

/// Parses one full `capture` line (without the newline).
pub fn decode_line(line: &[u8]) -> Result<CaptureRecord> {
    #[derive(Deserialize)]
    struct LineOut {
        v: u32,
        kind: String,
        id: CaptureId,
        #[serde(flatten)]
        record: CaptureRecord,
    }
    let out: LineOut = serde_json::from_slice(line).context("corrupt capture line")?;
    if !readable(out.v) || out.kind != "capture" {
        bail!(
            "unsupported record (v {}, kind {:?}); this hooklens reads v{FORMAT_VERSION} captures",
            out.v,
            out.kind
        );
    }
    let mut record = out.record;
    record.capture.id = out.id;
    Ok(record)
}

/// Parses one `forward` or `replay` line (without the newline).
pub fn decode_exchange(line: &[u8]) -> Result<Exchange> {
    #[derive(Deserialize)]
    struct Out {
        v: u32,
        #[serde(flatten)]
        exchange: Exchange,
    }
    let out: Out = serde_json::from_slice(line).context("corrupt forward record")?;
    if !readable(out.v) {
        bail!("unsupported forward record (v {})", out.v);
    }
    Ok(out.exchange)
}

// ---- reading index fields ----

/// What the index keeps of one line, by kind.
pub(super) enum Fields {
    /// A capture's row (`dup_of` and shared strings are the index's to fill in).
    Capture(Summary),
    /// A forward or replay, for its capture's row.
    Exchange(CaptureId, LinkedBrief),
    /// A listener started (its forward target, for `replay`'s default).
    Session(Option<RecordedTarget>),
}

/// Just what a capture's row needs; deserializing this skips the body without decoding it.
#[derive(Deserialize)]
struct CaptureFields<'a> {
    v: u32,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    id: Option<u64>,
    received_at_ms: Option<i64>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    target: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_type: Option<Cow<'a, str>>,
    idempotency_key: Option<String>,
    data_id: Option<String>,
    verdict: Option<VerdictFields>,
    #[serde(default)]
    body_len: Option<u64>,
    #[serde(default)]
    truncated: bool,
    #[serde(default)]
    response_status: u16,
}

/// The index fields of a `forward`, `replay` or `session` line (kept apart from
/// [`CaptureFields`] so the million-line capture scan matches fewer field names).
#[derive(Deserialize)]
struct OtherFields<'a> {
    v: u32,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    capture: Option<u64>,
    latency_us: Option<u64>,
    status: Option<u16>,
    #[serde(default)]
    relayed: bool,
    response: Option<ResponseFields>,
    #[serde(borrow)]
    forward_to: Option<Cow<'a, str>>,
    forward_path: Option<PathMode>,
}

#[derive(Deserialize)]
struct ResponseFields {
    status: u16,
}

#[derive(Deserialize)]
struct VerdictFields {
    outcome: Outcome,
    skew_secs: Option<i64>,
}

/// Parses the index fields of one line (without the newline). `Ok(None)`: a line hooklens
/// skips (a newer version, an unknown kind); `Err(())`: not a readable record. `intern`
/// shares the repeated strings (method, path, type).
pub(super) fn index_fields(
    content: &[u8],
    intern: &mut dyn FnMut(&str) -> Arc<str>,
) -> Result<Option<Fields>, ()> {
    // The capture lines hooklens writes are parsed with the capture fields only. Anything
    // else (other kinds, hand-edited lines) takes the general route.
    if content.starts_with(CAPTURE_HEAD) {
        return capture_fields(content, intern);
    }
    let s: OtherFields = serde_json::from_slice(content).map_err(|_| ())?;
    if !readable(s.v) {
        return Ok(None);
    }
    let kind = match &*s.kind {
        "capture" => return capture_fields(content, intern),
        "forward" => ExchangeKind::Forward,
        "replay" => ExchangeKind::Replay,
        "log" => return Ok(None),
        "session" => {
            return Ok(Some(Fields::Session(s.forward_to.map(|url| {
                RecordedTarget {
                    url: url.into_owned(),
                    // A session line without one predates `auto`: paths were appended then.
                    path: s.forward_path.unwrap_or(PathMode::Prefix),
                }
            }))));
        }
        _ => return Ok(None),
    };
    let (Some(capture), Some(status)) = (s.capture, s.status) else {
        return Err(());
    };
    Ok(Some(Fields::Exchange(
        CaptureId(capture),
        LinkedBrief {
            kind,
            receiver_status: s.response.map(|r| r.status),
            latency_us: s.latency_us.unwrap_or(0),
            relayed: s.relayed,
            status,
        },
    )))
}

fn capture_fields(
    content: &[u8],
    intern: &mut dyn FnMut(&str) -> Arc<str>,
) -> Result<Option<Fields>, ()> {
    let s: CaptureFields = serde_json::from_slice(content).map_err(|_| ())?;
    if !readable(s.v) || s.kind != "capture" {
        return Ok(None);
    }
    let (Some(id), Some(verdict)) = (s.id, s.verdict) else {
        return Err(());
    };
    Ok(Some(Fields::Capture(Summary {
        id: CaptureId(id),
        received_at_ms: s.received_at_ms.unwrap_or(0),
        method: intern(s.method.as_deref().unwrap_or_default()),
        target: intern(s.target.as_deref().unwrap_or_default()),
        event_type: s.event_type.as_deref().map(&mut *intern),
        outcome: verdict.outcome,
        skew_secs: verdict.skew_secs,
        idempotency_key: s.idempotency_key.as_deref().map(Arc::from),
        data_id: s.data_id.map(String::into_boxed_str),
        dup_of: None,
        body_len: s.body_len.unwrap_or(0),
        truncated: s.truncated,
        response_status: s.response_status,
        exchange: None,
    })))
}

#[cfg(test)]
mod encode_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixtures::{exchange, record};

    fn plain(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn line_round_trips_byte_for_byte() {
        let rec = record(b"\x00\xff\x1b[31m", Some("job-completed"));
        let line = encode_line(CaptureId(42), &rec).unwrap();
        assert!(line.starts_with(b"{\"v\":1,\"kind\":\"capture\",\"id\":42,"));
        let back = decode_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(back.capture.id, CaptureId(42));
        assert_eq!(back.capture.body, rec.capture.body);
        let mut expected = rec.clone();
        expected.capture.id = CaptureId(42);
        assert_eq!(back, expected);
        // The index fields agree with the row built from the record itself.
        let Ok(Some(Fields::Capture(row))) = index_fields(&line[..line.len() - 1], &mut plain)
        else {
            panic!("a capture line has a capture's index fields");
        };
        assert_eq!(row, Summary::of(&expected));
    }

    #[test]
    fn exchange_and_session_lines_round_trip() {
        let e = exchange(7, Some(500), true);
        let mut line = Vec::new();
        push_line(&mut line, None, &encode_exchange_tail(&e).unwrap());
        assert!(line.starts_with(b"{\"v\":1,\"kind\":\"forward\","));
        let content = &line[..line.len() - 1];
        assert_eq!(decode_exchange(content).unwrap(), e);
        assert!(decode_line(content).is_err(), "not a capture");
        let Ok(Some(Fields::Exchange(id, brief))) = index_fields(content, &mut plain) else {
            panic!("a forward line links to its capture");
        };
        assert_eq!((id, brief.status, brief.relayed), (CaptureId(7), 500, true));

        let target = RecordedTarget {
            url: "http://127.0.0.1:3000/app".into(),
            path: PathMode::Exact,
        };
        let mut line = Vec::new();
        push_line(
            &mut line,
            None,
            &encode_session_tail(1, Some(&target), None).unwrap(),
        );
        let Ok(Some(Fields::Session(Some(back)))) =
            index_fields(&line[..line.len() - 1], &mut plain)
        else {
            panic!("a session line keeps its target");
        };
        assert_eq!(back, target);
    }

    #[test]
    fn newer_versions_and_unknown_kinds_are_skipped_not_misread() {
        for line in [
            &b"{\"v\":2,\"kind\":\"capture\",\"id\":1}"[..],
            b"{\"v\":1,\"kind\":\"telemetry\"}",
        ] {
            assert!(matches!(index_fields(line, &mut plain), Ok(None)));
            assert!(decode_line(line).is_err());
        }
        assert!(index_fields(b"{\"v\":1,\"kind\":\"capture\",\"id\":", &mut plain).is_err());
    }
}
