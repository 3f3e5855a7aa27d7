//! The provider's event envelope and the per-delivery shape report.
//!
//! The shape report reproduces the "delivery report" of the ModelGates guide (its Webhook.site
//! section) for any captured request, and flags inconsistencies the guide's receiver would trip
//! over. Pure: no I/O, no clock.

use std::borrow::Cow;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::capture::{Header, header_value};
use crate::sanitize::escape_line;
use crate::verify::modelgates::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER};

/// Event types the provider documents.
pub const KNOWN_TYPES: [&str; 4] = [
    "video.generation.completed",
    "video.generation.failed",
    "video.generation.cancelled",
    "video.generation.expired",
];

/// The few envelope fields the index and the list need.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSummary {
    /// `type`, when the body is a JSON object with a string `type`.
    pub event_type: Option<String>,
    /// `data.id`.
    pub data_id: Option<String>,
    /// `data.status`.
    pub data_status: Option<String>,
}

/// Extracts the envelope summary from a body (cheap; ignores non-JSON). Typed and borrowed:
/// the three fields are read in place and copied out only when they are strings; everything
/// else is skipped (runs for every captured request).
pub fn summarize(body: &[u8]) -> EnvelopeSummary {
    #[derive(Deserialize)]
    struct Data<'a> {
        #[serde(borrow)]
        id: Option<Text<'a>>,
        #[serde(borrow)]
        status: Option<Text<'a>>,
    }
    #[derive(Deserialize)]
    struct Env<'a> {
        #[serde(rename = "type", borrow)]
        kind: Option<Text<'a>>,
        #[serde(borrow)]
        data: Option<Data<'a>>,
    }
    let Ok(env) = serde_json::from_slice::<Env<'_>>(body) else {
        return EnvelopeSummary::default();
    };
    let text = |v: Option<Text<'_>>| v.and_then(|t| t.0).map(Cow::into_owned);
    let (data_id, data_status) = match env.data {
        Some(d) => (text(d.id), text(d.status)),
        None => (None, None),
    };
    EnvelopeSummary {
        event_type: text(env.kind),
        data_id,
        data_status,
    }
}

/// Any JSON value, kept only when it is a string (borrowed unless it has escapes). It
/// accepts and refuses exactly what a `serde_json::Value` does (numbers out of range, depth),
/// so the summary is the same as one read through a `Value`, without building one.
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Text<'a>, E> {
        Ok(Text(Some(Cow::Owned(v))))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_unit<E>(self) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_none<E>(self) -> Result<Text<'a>, E> {
        Ok(Text(None))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Text<'a>, D::Error> {
        Text::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'a>, A::Error> {
        // Each element read as a value would be, so an array a `Value` refuses is refused.
        while seq.next_element::<Text<'a>>()?.is_some() {}
        Ok(Text(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<'a>, A::Error> {
        while map.next_entry::<Text<'a>, Text<'a>>()?.is_some() {}
        Ok(Text(None))
    }
}

/// The guide's signature sub-report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureShape {
    /// A `t=` part is present.
    pub has_timestamp: bool,
    /// At least one `v1=` part is present.
    pub has_v1: bool,
    /// The header with values replaced by placeholders, e.g. `t=<timestamp>,v1=<hex>`.
    pub redacted_format: String,
}

/// The guide's idempotency key sub-report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyKeyShape {
    /// The key contains `data.id`.
    pub includes_job_id: bool,
    /// Length in bytes.
    pub length: usize,
}

/// The guide's body sub-report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyShape {
    /// Sorted top-level keys.
    pub top_level_keys: Vec<String>,
    /// `type`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Sorted keys of `data`.
    pub data_keys: Vec<String>,
    /// `data.id` is the job id carried by the idempotency key.
    pub data_id_matches_job: bool,
    /// `data.status`.
    pub data_status: Option<String>,
    /// Number of `data.unsigned_urls` entries.
    pub unsigned_url_count: usize,
    /// Sorted keys of `data.usage`.
    pub usage_keys: Vec<String>,
}

/// The delivery shape report, field for field as in the guide, plus the issues found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShapeReport {
    /// Request method.
    pub method: String,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// `X-ModelGates-Signature` is present.
    pub has_signature_header: bool,
    /// Signature header shape (when present).
    pub signature: Option<SignatureShape>,
    /// `X-ModelGates-Idempotency-Key` is present.
    pub has_idempotency_key_header: bool,
    /// Idempotency key shape (when present).
    pub idempotency_key_shape: Option<IdempotencyKeyShape>,
    /// Body shape (when the body is a JSON object).
    pub body_shape: Option<BodyShape>,
    /// Inconsistencies a receiver would trip over; empty when the delivery looks right.
    pub issues: Vec<String>,
}

/// What [`redact_signature`] puts in place of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholder {
    /// The value's kind: `t=<timestamp>,v1=<hex>` (the shape report).
    Kind,
    /// The timestamp as sent, other values by length: `t=1700000000,v1=<64 chars>` (the
    /// inspector).
    Length,
}

/// The one signature-header redactor: each value of a `k=v,k=v` header replaced by a
/// placeholder, keys kept (terminal-safe). A part without `=` becomes `<value>` (`Kind`) or
/// `<?>` (`Length`).
pub fn redact_signature(value: &str, placeholder: Placeholder) -> String {
    value
        .split(',')
        .map(|part| {
            let part = part.trim();
            let Some((k, v)) = part.split_once('=') else {
                return match placeholder {
                    Placeholder::Kind => "<value>",
                    Placeholder::Length => "<?>",
                }
                .to_string();
            };
            let shown = match placeholder {
                Placeholder::Kind => {
                    let kind = if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() {
                        if k == "t" { "timestamp" } else { "number" }
                    } else if !v.is_empty() && v.bytes().all(|b| b.is_ascii_hexdigit()) {
                        "hex"
                    } else {
                        "value"
                    };
                    format!("<{kind}>")
                }
                Placeholder::Length if k == "t" => escape_line(v.as_bytes()),
                Placeholder::Length => format!("<{} chars>", v.len()),
            };
            format!("{}={shown}", escape_line(k.as_bytes()))
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn sorted_keys(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Object(map)) => {
            let mut keys: Vec<String> = map.keys().cloned().collect();
            keys.sort();
            keys
        }
        _ => Vec::new(),
    }
}

/// Builds the shape report for one request.
pub fn shape_report(method: &str, headers: &[Header], body: &[u8]) -> ShapeReport {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let content_type = header_value(headers, "content-type").map(text);
    let signature = header_value(headers, SIGNATURE_HEADER).map(|raw| {
        let s = String::from_utf8_lossy(raw);
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        SignatureShape {
            has_timestamp: parts.iter().any(|p| p.starts_with("t=")),
            has_v1: parts.iter().any(|p| p.starts_with("v1=")),
            redacted_format: redact_signature(&s, Placeholder::Kind),
        }
    });
    let key = header_value(headers, IDEMPOTENCY_HEADER).map(text);
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let mut issues = Vec::new();

    let is_json_type = content_type
        .as_deref()
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
    if !is_json_type {
        issues.push(match &content_type {
            Some(ct) => format!(
                "Content-Type is {:?}, the provider sends application/json",
                escape_line(ct.as_bytes())
            ),
            None => "no Content-Type header (the provider sends application/json)".into(),
        });
    }
    if method != "POST" {
        issues.push(format!("method is {method}, the provider sends POST"));
    }
    if signature.is_none() {
        issues.push(format!("no {SIGNATURE_HEADER} header"));
    }
    if key.is_none() {
        issues.push(format!("no {IDEMPOTENCY_HEADER} header"));
    }

    let body_shape = match &json {
        Some(Value::Object(top)) => {
            let data = top.get("data");
            let event_type = top.get("type").and_then(Value::as_str).map(str::to_owned);
            let data_id = data.and_then(|d| d.get("id")).and_then(Value::as_str);
            let data_status = data
                .and_then(|d| d.get("status"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let urls = data
                .and_then(|d| d.get("unsigned_urls"))
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let matches_job = match (data_id, &key) {
                (Some(id), Some(k)) => !id.is_empty() && k.starts_with(&format!("{id}-")),
                _ => false,
            };
            match event_type.as_deref() {
                None => issues.push("no string \"type\" in the envelope".into()),
                Some(t) if !KNOWN_TYPES.contains(&t) => issues.push(format!(
                    "unknown event type {:?}",
                    escape_line(t.as_bytes())
                )),
                Some(t) => {
                    let suffix = t.rsplit('.').next().unwrap_or(t);
                    if data_status.as_deref() != Some(suffix) {
                        issues.push(format!(
                            "data.status is {:?} but the type says {suffix:?}",
                            data_status.as_deref().unwrap_or("(missing)")
                        ));
                    }
                }
            }
            if data.is_none() {
                issues.push("no \"data\" object in the envelope".into());
            } else if data_id.is_none() {
                issues.push("no data.id (the job id)".into());
            }
            if let (Some(id), Some(k)) = (data_id, &key)
                && !k.contains(id)
            {
                issues.push("idempotency key does not include data.id".into());
            }
            Some(BodyShape {
                top_level_keys: sorted_keys(json.as_ref()),
                event_type,
                data_keys: sorted_keys(data),
                data_id_matches_job: matches_job,
                data_status,
                unsigned_url_count: urls,
                usage_keys: sorted_keys(data.and_then(|d| d.get("usage"))),
            })
        }
        Some(_) => {
            issues.push("body is JSON but not an object".into());
            None
        }
        None if body.is_empty() => {
            issues.push("empty body".into());
            None
        }
        None => {
            issues.push("body is not valid JSON".into());
            None
        }
    };

    let idempotency_key_shape = key.as_ref().map(|k| IdempotencyKeyShape {
        includes_job_id: body_shape.as_ref().is_some_and(|_| {
            match json.as_ref().and_then(|j| j.pointer("/data/id")) {
                Some(Value::String(id)) => !id.is_empty() && k.contains(id.as_str()),
                _ => false,
            }
        }),
        length: k.len(),
    });

    ShapeReport {
        method: method.to_string(),
        content_type,
        has_signature_header: signature.is_some(),
        signature,
        has_idempotency_key_header: key.is_some(),
        idempotency_key_shape,
        body_shape,
        issues,
    }
}

/// A fuzzing entry point: any body through the summary and the delivery shape report, which
/// must never panic (`fuzz/fuzz_targets/envelope.rs`, `tests/fuzz_twins.rs`).
pub fn fuzz(body: &[u8]) {
    let _ = summarize(body);
    let _ = shape_report("POST", &[], body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn headers(key: &str) -> Vec<Header> {
        vec![
            Header::new("Content-Type", "application/json"),
            Header::new("X-ModelGates-Signature", "t=1700000000,v1=abcdef0123"),
            Header::new("X-ModelGates-Idempotency-Key", key.to_string()),
        ]
    }

    #[rstest]
    #[case::status_type_mismatch(
        r#"{"type":"video.generation.completed","created_at":"x","data":{"id":"j","status":"failed"}}"#,
        "j-completed",
        "\"failed\" but the type says \"completed\""
    )]
    #[case::unknown_type(
        r#"{"type":"video.generation.exploded","data":{"id":"j","status":"exploded"}}"#,
        "j-exploded",
        "unknown event type"
    )]
    #[case::missing_id(
        r#"{"type":"video.generation.failed","data":{"status":"failed"}}"#,
        "x-failed",
        "no data.id"
    )]
    fn flags_an_inconsistent_envelope(#[case] body: &str, #[case] key: &str, #[case] says: &str) {
        let r = shape_report("POST", &headers(key), body.as_bytes());
        assert!(r.issues.iter().any(|i| i.contains(says)), "{:?}", r.issues);
    }

    #[rstest]
    #[case::modelgates(
        "t=1700000000,v1=abcdef0123",
        "t=<timestamp>,v1=<hex>",
        "t=1700000000,v1=<10 chars>"
    )]
    #[case::spaces_and_two_v1(
        "t=1, v1=ab,v1=cd",
        "t=<timestamp>,v1=<hex>,v1=<hex>",
        "t=1,v1=<2 chars>,v1=<2 chars>"
    )]
    #[case::other_kinds(
        "n=12,s=xyz,e=",
        "n=<number>,s=<value>,e=<value>",
        "n=<2 chars>,s=<3 chars>,e=<0 chars>"
    )]
    #[case::no_equals("garbage", "<value>", "<?>")]
    #[case::escapes_keys_and_timestamp(
        "\u{1b}k=1,t=\u{1b}",
        "\\ek=<number>,t=<value>",
        "\\ek=<1 chars>,t=\\e"
    )]
    fn one_redactor_two_placeholders(
        #[case] header: &str,
        #[case] by_kind: &str,
        #[case] by_length: &str,
    ) {
        assert_eq!(redact_signature(header, Placeholder::Kind), by_kind);
        assert_eq!(redact_signature(header, Placeholder::Length), by_length);
    }

    #[test]
    fn clean_delivery_has_no_issues() {
        let body = br#"{"type":"video.generation.completed","created_at":"x","data":{"id":"j","status":"completed","unsigned_urls":["a","b"],"usage":{"is_byok":false,"cost":1}}}"#;
        let r = shape_report("POST", &headers("j-completed"), body);
        assert!(r.issues.is_empty(), "{:?}", r.issues);
        let b = r.body_shape.unwrap();
        assert_eq!(b.unsigned_url_count, 2);
        assert_eq!(b.usage_keys, vec!["cost", "is_byok"]);
        assert!(b.data_id_matches_job);
        assert_eq!(
            summarize(body).event_type.as_deref(),
            Some("video.generation.completed")
        );
    }

    #[rstest]
    #[case::not_strings(r#"{"type":5,"data":{"id":"j","status":null}}"#, None, Some("j"), None)]
    #[case::escaped(
        r#"{"type":"a\u002eb","data":{"id":"x"}}"#,
        Some("a.b"),
        Some("x"),
        None
    )]
    #[case::nested_values_skipped(
        r#"{"type":"t","data":{"id":{"a":[1,{"b":null}]},"status":"s"}}"#,
        Some("t"),
        None,
        Some("s")
    )]
    // A number no JSON reader can hold, or a repeated field, makes the body unreadable as an
    // envelope: nothing is summarized, as when it was read into a JSON value.
    #[case::number_out_of_range(
        r#"{"type":"t","data":{"id":[1e400],"status":"s"}}"#,
        None,
        None,
        None
    )]
    #[case::repeated_field(r#"{"type":"t","type":"u"}"#, None, None, None)]
    #[case::data_not_an_object(r#"{"type":"t","data":"x"}"#, None, None, None)]
    fn summarizes_only_string_fields(
        #[case] body: &str,
        #[case] event_type: Option<&str>,
        #[case] data_id: Option<&str>,
        #[case] data_status: Option<&str>,
    ) {
        let s = summarize(body.as_bytes());
        assert_eq!(
            (
                s.event_type.as_deref(),
                s.data_id.as_deref(),
                s.data_status.as_deref()
            ),
            (event_type, data_id, data_status)
        );
    }

    #[test]
    fn non_json_and_non_post_are_reported() {
        let r = shape_report("GET", &[], b"\xff\xfe");
        assert!(r.body_shape.is_none());
        assert!(r.issues.iter().any(|i| i.contains("not valid JSON")));
        assert!(r.issues.iter().any(|i| i.contains("method is GET")));
        assert_eq!(summarize(b"\xff"), EnvelopeSummary::default());
    }
}
