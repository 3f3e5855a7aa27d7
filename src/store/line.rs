//! The line format of the capture log: one JSON object per line, each starting with the head
//! `{"v":1,"kind":…` ([`FORMAT_VERSION`]; the kinds are `capture`, `forward`, `replay` and
//! `session`). A capture line carries its `id` right after the kind.
//!
//! Each kind is written by one encoder and read back by one decoder: [`decode_line`] for a
//! whole capture, [`decode_exchange`] for a whole forward or replay, [`decode_verdict`] for
//! just a capture's verdict and TLS details (`list --json`), and [`index_fields`] for
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

use crate::model::capture::{CaptureId, TlsInfo};
use crate::model::exchange::{Exchange, ExchangeKind, PathMode, RecordedTarget};
use crate::model::record::{CaptureRecord, LinkedBrief, Summary};
use crate::model::verdict::{Outcome, Verdict};

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
pub(super) fn encode_capture_tail(record: &CaptureRecord, mut out: Vec<u8>) -> Result<Vec<u8>> {
    // Into `out` (emptied first; a buffer to reuse, or a new one), sized for the whole line
    // up front: the base64 body, the headers as text (a binary value grows by a third,
    // rarely), and a kilobyte for the rest (field names, peer, verdict, envelope fields).
    let c = &record.capture;
    let headers: usize = c
        .headers
        .iter()
        .map(|h| h.name.len() + h.value.len() + 8)
        .sum();
    out.clear();
    out.reserve(
        1024 + base64_len(c.body.len()) + base64_len(c.raw_head.len()) + headers + c.target.len(),
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
    let tail = encode_capture_tail(record, Vec::new())?;
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
    readable_capture(out.v, &out.kind)?;
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

/// A capture line's verdict and TLS details, what `list --json` prints beside a row, read
/// without decoding its headers or body (a million rows are read this way).
pub fn decode_verdict(line: &[u8]) -> Result<(Verdict, Option<TlsInfo>)> {
    #[derive(Deserialize)]
    struct Out<'a> {
        v: u32,
        #[serde(borrow)]
        kind: Cow<'a, str>,
        verdict: Verdict,
        tls: Option<TlsInfo>,
    }
    let out: Out = serde_json::from_slice(line).context("corrupt capture line")?;
    readable_capture(out.v, &out.kind)?;
    Ok((out.verdict, out.tls))
}

/// A line read as a whole capture must be one, of a version this hooklens reads.
fn readable_capture(v: u32, kind: &str) -> Result<()> {
    if !readable(v) || kind != "capture" {
        bail!(
            "unsupported record (v {v}, kind {kind:?}); this hooklens reads v{FORMAT_VERSION} captures"
        );
    }
    Ok(())
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

/// Just what a capture's row needs. Read by [`CaptureVisit`]: its strings borrow from the
/// line ([`Text`]), so only the key and `data_id` the row keeps are allocated, once each;
/// field names and the body are only looked through for their ends ([`Unread`]).
#[derive(Default)]
struct CaptureFields<'a> {
    v: Option<u32>,
    kind: Option<Text<'a>>,
    id: Option<u64>,
    received_at_ms: Option<i64>,
    method: Option<Text<'a>>,
    target: Option<Text<'a>>,
    event_type: Option<Text<'a>>,
    idempotency_key: Option<Text<'a>>,
    data_id: Option<Text<'a>>,
    verdict: Option<VerdictFields>,
    body_len: Option<u64>,
    truncated: Option<bool>,
    response_status: Option<u16>,
}

/// Reads [`CaptureFields`] from a JSON object, as `#[derive(Deserialize)]` would (a missing
/// `v` or `kind`, a repeated field or a value of the wrong type makes the line unreadable),
/// but with field names compared as bytes: serde_json then finds a name's end with `memchr`
/// and does not check it as UTF-8 (a name that is not one of these is skipped either way).
struct CaptureVisit;

impl<'de> serde::de::Visitor<'de> for CaptureVisit {
    type Value = CaptureFields<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a capture record")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        fn once<'de, T: Deserialize<'de>, M: serde::de::MapAccess<'de>>(
            map: &mut M,
            slot: &mut Option<T>,
            name: &'static str,
        ) -> Result<(), M::Error> {
            if slot.is_some() {
                return Err(serde::de::Error::duplicate_field(name));
            }
            *slot = Some(map.next_value()?);
            Ok(())
        }
        // `Option` fields: a `null` reads as absent, as with the derive.
        fn once_opt<'de, T: Deserialize<'de>, M: serde::de::MapAccess<'de>>(
            map: &mut M,
            slot: &mut Option<T>,
            seen: &mut bool,
            name: &'static str,
        ) -> Result<(), M::Error> {
            if std::mem::replace(seen, true) {
                return Err(serde::de::Error::duplicate_field(name));
            }
            *slot = map.next_value()?;
            Ok(())
        }
        let mut out = CaptureFields::default();
        let mut seen = [false; 9];
        while let Some(Name(name)) = map.next_key()? {
            let m = &mut map;
            match &*name {
                b"v" => once(m, &mut out.v, "v")?,
                b"kind" => once(m, &mut out.kind, "kind")?,
                b"id" => once_opt(m, &mut out.id, &mut seen[0], "id")?,
                b"received_at_ms" => {
                    once_opt(m, &mut out.received_at_ms, &mut seen[1], "received_at_ms")?
                }
                b"method" => once_opt(m, &mut out.method, &mut seen[2], "method")?,
                b"target" => once_opt(m, &mut out.target, &mut seen[3], "target")?,
                b"event_type" => once_opt(m, &mut out.event_type, &mut seen[4], "event_type")?,
                b"idempotency_key" => {
                    once_opt(m, &mut out.idempotency_key, &mut seen[5], "idempotency_key")?
                }
                b"data_id" => once_opt(m, &mut out.data_id, &mut seen[6], "data_id")?,
                b"verdict" => once_opt(m, &mut out.verdict, &mut seen[7], "verdict")?,
                b"body_len" => once_opt(m, &mut out.body_len, &mut seen[8], "body_len")?,
                b"truncated" => once(m, &mut out.truncated, "truncated")?,
                b"response_status" => once(m, &mut out.response_status, "response_status")?,
                b"body_b64" => {
                    m.next_value::<Option<Unread>>()?;
                }
                _ => {
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        if out.v.is_none() {
            return Err(serde::de::Error::missing_field("v"));
        }
        if out.kind.is_none() {
            return Err(serde::de::Error::missing_field("kind"));
        }
        Ok(out)
    }
}

/// A field name, as its bytes (escapes decoded).
struct Name<'a>(Cow<'a, [u8]>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_bytes<E>(self, v: &'de [u8]) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_vec())))
            }
        }
        d.deserialize_bytes(Visit)
    }
}

/// A string the index does not keep (the body, in base64): only its end is found, with
/// `memchr`. Its bytes are not checked here (nor is the base64); reading the capture back
/// ([`decode_line`]) checks them.
struct Unread;

impl<'de> Deserialize<'de> for Unread {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Unread;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Unread, E> {
                Ok(Unread)
            }
        }
        d.deserialize_bytes(Visit)
    }
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
    forward_to: Option<Text<'a>>,
    forward_path: Option<PathMode>,
}

/// A string of a line: borrowed from it when it has no escapes, decoded into its own
/// allocation when it has. (serde borrows only a bare `Cow` field, never an `Option<Cow>`;
/// this one borrows inside an `Option` too.)
struct Text<'a>(Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visit)
    }
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
                    url: url.0.into_owned(),
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
    let mut de = serde_json::Deserializer::from_slice(content);
    let s = serde::Deserializer::deserialize_map(&mut de, CaptureVisit).map_err(|_| ())?;
    de.end().map_err(|_| ())?;
    if !s.v.is_some_and(readable) || s.kind.as_deref() != Some("capture") {
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
        data_id: s.data_id.as_deref().map(Box::from),
        dup_of: None,
        body_len: s.body_len.unwrap_or(0),
        truncated: s.truncated.unwrap_or(false),
        response_status: s.response_status.unwrap_or(0),
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
    fn a_capture_lines_verdict_and_tls_read_alone_match_the_whole_record() {
        use crate::model::verdict::Hint;
        let mut rec = record(b"{\"type\":\"x\"}", Some("k"));
        rec.verdict.outcome = Outcome::InvalidSignature;
        rec.verdict.reason = "no signature matches \"v1\"\u{1b}".into();
        rec.verdict.timestamp = Some(1_764_151_200);
        rec.verdict.skew_secs = Some(-3);
        rec.verdict.hints = vec![Hint {
            code: "secret_whitespace".into(),
            message: "the secret ends in a newline".into(),
        }];
        rec.capture.tls = Some(TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_128_GCM_SHA256".into(),
            alpn: Some("h2".into()),
            sni: None,
        });
        let line = encode_line(CaptureId(9), &rec).unwrap();
        let line = &line[..line.len() - 1];
        let whole = decode_line(line).unwrap();
        let (verdict, tls) = decode_verdict(line).unwrap();
        assert_eq!((verdict, tls), (whole.verdict, whole.capture.tls));
        // Only capture lines of a version this hooklens reads.
        let mut forward = Vec::new();
        push_line(
            &mut forward,
            None,
            &encode_exchange_tail(&exchange(9, Some(200), false)).unwrap(),
        );
        assert!(decode_verdict(&forward[..forward.len() - 1]).is_err());
        let newer = String::from_utf8(line.to_vec())
            .unwrap()
            .replacen("\"v\":1,", "\"v\":2,", 1);
        assert!(decode_verdict(newer.as_bytes()).is_err());
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
    fn escaped_strings_in_index_fields_are_decoded() {
        let mut rec = record(b"{}", Some("key \"quoted\" \\ back"));
        rec.capture.method = "PO\"ST".into();
        rec.capture.target = "/hook?q=\"a\"\\b".into();
        rec.event_type = Some("type\twith tab".into());
        rec.data_id = Some("job \"1\"".into());
        let line = encode_line(CaptureId(3), &rec).unwrap();
        // serde_json writes `é` as is; written as an escape by another writer, it reads the same.
        let text = String::from_utf8(line)
            .unwrap()
            .replace("/hook?", "/h\\u00e9ok?");
        rec.capture.target = "/h\u{e9}ok?q=\"a\"\\b".into();
        let content = text.trim_end().as_bytes();
        let Ok(Some(Fields::Capture(row))) = index_fields(content, &mut plain) else {
            panic!("a capture line with escapes is still a capture");
        };
        rec.capture.id = CaptureId(3);
        assert_eq!(row, Summary::of(&rec));
        assert_eq!(&*row.target, "/h\u{e9}ok?q=\"a\"\\b");
        assert_eq!(
            row.idempotency_key.as_deref(),
            Some("key \"quoted\" \\ back")
        );
    }

    #[test]
    fn capture_fields_are_read_as_the_full_decode_reads_them() {
        let line = encode_line(CaptureId(5), &record(b"a", Some("k"))).unwrap();
        let text = String::from_utf8(line).unwrap();
        let content = text.trim_end();
        let row = |line: &str| match index_fields(line.as_bytes(), &mut plain) {
            Ok(Some(Fields::Capture(row))) => Some(row),
            _ => None,
        };
        let expected = row(content).expect("a capture");
        // A field name or a body written with escapes reads the same.
        let b64 = String::from("\"body_b64\":\"YQ==\"");
        assert!(content.contains(&b64));
        assert!(content.contains("\"outcome\":\"valid\""));
        for other in [
            content.replace("\"idempotency_key\"", "\"idempotency\\u005fkey\""),
            content.replace("\"skew_secs\"", "\"skew\\u005fsecs\""),
            content.replace(&b64, "\"body_b64\":\"YQ\\u003d\\u003d\""),
        ] {
            assert!(decode_line(other.as_bytes()).is_ok(), "{other}");
            assert_eq!(row(&other).as_ref(), Some(&expected), "{other}");
        }
        // A repeated field, a body that is not a string, trailing bytes: not a record.
        for bad in [
            content.replacen(
                "\"method\":\"POST\"",
                "\"method\":\"POST\",\"method\":\"GET\"",
                1,
            ),
            content.replace(&b64, "\"body_b64\":[1]"),
            content.replace(
                "\"outcome\":\"valid\"",
                "\"outcome\":\"valid\",\"outcome\":\"valid\"",
            ),
            content.replace("\"outcome\":\"valid\",", ""),
            format!("{content} x"),
        ] {
            assert_ne!(bad, content);
            assert!(index_fields(bad.as_bytes(), &mut plain).is_err(), "{bad}");
            assert!(decode_line(bad.as_bytes()).is_err(), "{bad}");
        }
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
