//! `hooklens export --har FILE`: stored captures as an HTTP Archive (HAR 1.2).
//!
//! The structs below are our own serde model of the HAR 1.2 fields that browser devtools and
//! HAR viewers require. Conversion is a pure function of the capture records ([`to_har`]); the
//! `export` subcommand (`cmd/export.rs`) reads the log and writes the file (mode 0600: captures
//! may hold private data).
//!
//! Choices worth knowing:
//! * The URL is rebuilt from the `Host` header (`http`, or `https` when the capture came over
//!   TLS) plus the target exactly as sent; without a `Host` header it is `http://localhost`.
//! * A request body that is UTF-8 goes into `postData.text` as is. Any other body is base64
//!   with `"encoding": "base64"` and a `comment` saying so. HAR 1.2 defines `encoding` only for
//!   `response.content` (Chrome and Firefox write it there); for `postData` it is the extension
//!   the HAR writers that keep binary requests use, and viewers that ignore it show base64 text
//!   rather than bytes silently turned into U+FFFD. No byte is lost either way.
//! * The file has no raw control, bidi or zero-width character: they are `\uXXXX` escapes, as
//!   JSON allows (`sanitize::to_json_pretty`), so `cat`-ing it or a viewer cannot be tricked.
//! * Header values that are not UTF-8 are written lossily (HAR has no encoding for them); the
//!   capture log keeps the exact bytes.
//! * `response` is the receiver's answer to the capture's forward (or, when it was never
//!   forwarded, its latest replay): status, headers, the body kept in the log, and the round
//!   trip as `wait`. A capture never sent on (or whose forward failed) carries the status
//!   hooklens answered its sender, with a `comment` saying so; only a request nobody answered
//!   gets HAR's "no response" placeholder (status 0).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use crate::fmt::rfc3339;
use crate::model::capture::Capture;
use crate::model::exchange::{Exchange, ExchangeKind};
use crate::model::record::CaptureRecord;

/// The top-level HAR document.
#[derive(Debug, Serialize)]
pub struct Har {
    /// The log object.
    pub log: Log,
}

/// `log`: version, creator and entries.
#[derive(Debug, Serialize)]
pub struct Log {
    /// Always `1.2`.
    pub version: &'static str,
    /// The tool that wrote the file.
    pub creator: Creator,
    /// One entry per exported capture, oldest first.
    pub entries: Vec<Entry>,
}

/// `log.creator`.
#[derive(Debug, Serialize)]
pub struct Creator {
    /// `hooklens`.
    pub name: &'static str,
    /// Crate version.
    pub version: &'static str,
}

/// One request/response pair.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Arrival time, RFC 3339 with milliseconds.
    pub started_date_time: String,
    /// Total time in ms (0: hooklens does not time the sender's upload).
    pub time: f64,
    /// The captured request.
    pub request: Request,
    /// The answer (a placeholder when the capture was not forwarded).
    pub response: Response,
    /// Always empty (HAR requires the object).
    pub cache: Cache,
    /// Phase timings.
    pub timings: Timings,
    /// `#id` and the verdict, for people reading the file.
    pub comment: String,
}

/// `request`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// Method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// e.g. `HTTP/1.1`.
    pub http_version: String,
    /// Always empty: webhook deliveries carry no cookies worth parsing.
    pub cookies: Vec<NameValue>,
    /// Headers in arrival order, original case.
    pub headers: Vec<NameValue>,
    /// Query parameters as sent (not percent-decoded).
    pub query_string: Vec<NameValue>,
    /// The body, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_data: Option<PostData>,
    /// Bytes of the request head (request line, headers, blank line).
    pub headers_size: i64,
    /// Body bytes.
    pub body_size: i64,
}

/// `request.postData`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostData {
    /// `Content-Type` of the request (empty when absent).
    pub mime_type: String,
    /// The body: UTF-8 text, or base64 when `encoding` says so.
    pub text: String,
    /// `base64` for bodies that are not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// Says so when `text` is base64, for readers that skip `encoding`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<&'static str>,
}

/// `postData.comment` of a binary body.
const BASE64_COMMENT: &str = "binary body: text is its base64 (encoding: base64); `hooklens export --curl ID` sends the exact bytes";

/// `response`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// Status (0 = no response).
    pub status: u16,
    /// Reason phrase.
    pub status_text: String,
    /// e.g. `HTTP/1.1` (empty without a response).
    pub http_version: String,
    /// Always empty.
    pub cookies: Vec<NameValue>,
    /// Response headers.
    pub headers: Vec<NameValue>,
    /// Response body.
    pub content: Content,
    /// `Location`, or empty.
    #[serde(rename = "redirectURL")]
    pub redirect_url: String,
    /// -1: unknown.
    pub headers_size: i64,
    /// -1: unknown.
    pub body_size: i64,
}

/// `response.content`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    /// Body bytes.
    pub size: i64,
    /// Content type.
    pub mime_type: String,
    /// The body kept in the log (UTF-8, or base64 when `encoding` says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `base64` for bodies that are not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// Says when the log kept only the start of the body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `cache` (empty).
#[derive(Debug, Serialize)]
pub struct Cache {}

/// `timings`: only the required phases; -1 means not measured.
#[derive(Debug, Serialize)]
pub struct Timings {
    /// Sending the request.
    pub send: f64,
    /// Waiting for the answer.
    pub wait: f64,
    /// Reading the answer.
    pub receive: f64,
}

/// A header or query parameter.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NameValue {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

fn url_of(c: &Capture) -> String {
    let scheme = if c.tls.is_some() { "https" } else { "http" };
    let host = c
        .header("host")
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    if c.target.starts_with("http://") || c.target.starts_with("https://") {
        // Absolute-form target (a proxy-style request): already a URL.
        c.target.to_string()
    } else {
        format!("{scheme}://{host}{}", c.target)
    }
}

fn query_of(target: &str) -> Vec<NameValue> {
    let Some((_, query)) = target.split_once('?') else {
        return Vec::new();
    };
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            NameValue {
                name: name.into(),
                value: value.into(),
            }
        })
        .collect()
}

fn head_size(c: &Capture) -> i64 {
    // "METHOD SP target SP version CRLF" + "name: value CRLF"... + CRLF
    let line = c.method.len() + 1 + c.target.len() + 1 + c.version.as_str().len() + 2;
    let headers: usize = c
        .headers
        .iter()
        .map(|h| h.name.len() + 2 + h.value.len() + 2)
        .sum();
    (line + headers + 2) as i64
}

fn names_values(headers: &[crate::model::capture::Header]) -> Vec<NameValue> {
    headers
        .iter()
        .map(|h| NameValue {
            name: h.name.to_string(),
            value: String::from_utf8_lossy(&h.value).into_owned(),
        })
        .collect()
}

/// `response` and `timings` from the receiver's answer; without one (never forwarded, or the
/// forward failed), the status hooklens answered the sender (`answered`, from the record), or
/// HAR's "no response" placeholder (status 0) when there was no answer at all.
fn response_of(
    exchange: Option<&Exchange>,
    answered: u16,
    version: &str,
) -> (Response, Timings, f64) {
    let Some((e, r)) = exchange.and_then(|e| e.response.as_ref().map(|r| (e, r))) else {
        let failed = exchange.and_then(|e| e.error.clone());
        let (status_text, http_version, comment) = match answered {
            0 => (String::new(), String::new(), failed),
            n => (
                http::StatusCode::from_u16(n)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("")
                    .to_owned(),
                version.to_owned(),
                Some(match failed {
                    Some(why) => format!("hooklens's own answer; the forward failed: {why}"),
                    None => "hooklens's own answer (the capture was not forwarded)".to_owned(),
                }),
            ),
        };
        let placeholder = Response {
            status: answered,
            status_text,
            http_version,
            cookies: Vec::new(),
            headers: Vec::new(),
            content: Content {
                size: 0,
                mime_type: String::new(),
                text: None,
                encoding: None,
                comment,
            },
            redirect_url: String::new(),
            headers_size: -1,
            body_size: -1,
        };
        let timings = Timings {
            send: 0.0,
            wait: -1.0,
            receive: -1.0,
        };
        return (placeholder, timings, 0.0);
    };
    let header = |name: &str| {
        crate::model::capture::header_value(&r.headers, name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    let (text, encoding) = match std::str::from_utf8(&r.body) {
        _ if r.body.is_empty() => (None, None),
        Ok(text) => (Some(text.to_owned()), None),
        Err(_) => (Some(B64.encode(&r.body)), Some("base64")),
    };
    let ms = e.latency_us as f64 / 1000.0;
    let response = Response {
        status: r.status,
        status_text: r.reason.clone(),
        http_version: r.version.clone(),
        cookies: Vec::new(),
        headers: names_values(&r.headers),
        content: Content {
            size: r.body_len as i64,
            mime_type: header("content-type"),
            text,
            encoding,
            comment: r
                .body_cut()
                .then(|| format!("the log keeps the first {} bytes", r.body.len())),
        },
        redirect_url: header("location"),
        headers_size: -1,
        body_size: r.body_len as i64,
    };
    let timings = Timings {
        send: 0.0,
        wait: ms,
        receive: 0.0,
    };
    (response, timings, ms)
}

/// One HAR entry for a capture record and the exchange whose answer it shows (see the module
/// docs for which one).
pub fn entry(record: &CaptureRecord, exchange: Option<&Exchange>) -> Entry {
    let c = &record.capture;
    let headers = names_values(&c.headers);
    // Relayed: the provider got the receiver's status, or hooklens's 502/504 when it failed.
    let answered = match exchange {
        Some(e) if e.relayed => e.status,
        _ => record.response_status,
    };
    let (response, timings, time) = response_of(exchange, answered, c.version.as_str());
    let post_data = (!c.body.is_empty()).then(|| {
        let mime_type = c
            .header("content-type")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default();
        match std::str::from_utf8(&c.body) {
            Ok(text) => PostData {
                mime_type,
                text: text.to_owned(),
                encoding: None,
                comment: None,
            },
            Err(_) => PostData {
                mime_type,
                text: B64.encode(&c.body),
                encoding: Some("base64"),
                comment: Some(BASE64_COMMENT),
            },
        }
    });
    Entry {
        started_date_time: rfc3339(c.received_at_ms),
        time,
        request: Request {
            method: c.method.to_string(),
            url: url_of(c),
            http_version: c.version.as_str().to_owned(),
            cookies: Vec::new(),
            headers,
            query_string: query_of(&c.target),
            post_data,
            headers_size: head_size(c),
            body_size: c.body.len() as i64,
        },
        response,
        cache: Cache {},
        timings,
        comment: format!(
            "hooklens capture {} ({}{}); hooklens answered {}",
            c.id,
            record.verdict.outcome.name(),
            if c.truncated { ", body truncated" } else { "" },
            answered
        ),
    }
}

/// Which exchange a HAR entry shows: the forward, else the latest replay.
pub fn shown_exchange(exchanges: &[Exchange]) -> Option<&Exchange> {
    exchanges
        .iter()
        .find(|e| e.kind == ExchangeKind::Forward)
        .or_else(|| exchanges.last())
}

/// The whole document for a list of records (in the order given), each with the exchange
/// whose answer it shows.
pub fn to_har<'a>(
    records: impl IntoIterator<Item = (&'a CaptureRecord, Option<&'a Exchange>)>,
) -> Har {
    Har {
        log: Log {
            version: "1.2",
            creator: Creator {
                name: "hooklens",
                version: env!("CARGO_PKG_VERSION"),
            },
            entries: records.into_iter().map(|(r, e)| entry(r, e)).collect(),
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::verify::{Outcome, Verdict};
    use serde_json::Value;

    /// A valid ModelGates-looking capture record (also used by `cmd/export.rs`).
    pub(crate) fn record(body: &[u8], target: &str) -> CaptureRecord {
        let mut capture = Capture::fixture(
            body,
            &[
                ("Host", "127.0.0.1:8787"),
                ("Content-Type", "application/json"),
                ("X-ModelGates-Signature", "t=1700000000,v1=00"),
            ],
        );
        capture.target = crate::model::text::ByteStr::copy_from(target);
        CaptureRecord {
            capture,
            verdict: Verdict::new(Some("modelgates"), Outcome::Valid, "ok"),
            event_type: Some("video.generation.completed".into()),
            data_id: None,
            idempotency_key: None,
            response_status: 204,
        }
    }

    type Field<'a> = (&'a str, fn(&Value) -> bool);

    fn require(obj: &Value, path: &str, fields: &[Field<'_>]) {
        for (name, check) in fields {
            let v = obj
                .get(name)
                .unwrap_or_else(|| panic!("{path}.{name} is required by HAR 1.2 but missing"));
            assert!(check(v), "{path}.{name} has the wrong type: {v}");
        }
    }

    /// Checks a document against the HAR 1.2 required fields and their JSON types.
    pub(crate) fn validate_har(doc: &Value) {
        let s = Value::is_string as fn(&Value) -> bool;
        let n = Value::is_number as fn(&Value) -> bool;
        let a = Value::is_array as fn(&Value) -> bool;
        let o = Value::is_object as fn(&Value) -> bool;
        let log = &doc["log"];
        require(
            log,
            "log",
            &[("version", s), ("creator", o), ("entries", a)],
        );
        require(
            &log["creator"],
            "log.creator",
            &[("name", s), ("version", s)],
        );
        for e in log["entries"].as_array().unwrap() {
            require(
                e,
                "entry",
                &[
                    ("startedDateTime", s),
                    ("time", n),
                    ("request", o),
                    ("response", o),
                    ("cache", o),
                    ("timings", o),
                ],
            );
            let req = &e["request"];
            require(
                req,
                "request",
                &[
                    ("method", s),
                    ("url", s),
                    ("httpVersion", s),
                    ("cookies", a),
                    ("headers", a),
                    ("queryString", a),
                    ("headersSize", n),
                    ("bodySize", n),
                ],
            );
            for h in req["headers"].as_array().unwrap() {
                require(h, "header", &[("name", s), ("value", s)]);
            }
            if let Some(pd) = req.get("postData") {
                require(pd, "postData", &[("mimeType", s), ("text", s)]);
            }
            let resp = &e["response"];
            require(
                resp,
                "response",
                &[
                    ("status", n),
                    ("statusText", s),
                    ("httpVersion", s),
                    ("cookies", a),
                    ("headers", a),
                    ("content", o),
                    ("redirectURL", s),
                    ("headersSize", n),
                    ("bodySize", n),
                ],
            );
            require(&resp["content"], "content", &[("size", n), ("mimeType", s)]);
            require(
                &e["timings"],
                "timings",
                &[("send", n), ("wait", n), ("receive", n)],
            );
            // ISO 8601 with a zone designator.
            let t = e["startedDateTime"].as_str().unwrap();
            assert!(t.len() >= 20 && t.contains('T') && t.ends_with('Z'), "{t}");
        }
    }

    #[test]
    fn har_has_every_required_field_and_keeps_bytes() {
        let text = record(
            br#"{"type":"video.generation.completed"}"#,
            "/hook?a=1&b=x%20y",
        );
        let binary = record(b"\xff\x00\x1b", "/bin");
        let doc = serde_json::to_value(to_har([(&text, None), (&binary, None)])).unwrap();
        validate_har(&doc);
        assert_eq!(doc["log"]["version"], "1.2");
        let e0 = &doc["log"]["entries"][0]["request"];
        assert_eq!(e0["url"], "http://127.0.0.1:8787/hook?a=1&b=x%20y");
        assert_eq!(
            e0["queryString"],
            serde_json::json!([{"name":"a","value":"1"},{"name":"b","value":"x%20y"}])
        );
        assert_eq!(e0["headers"][2]["name"], "X-ModelGates-Signature");
        assert_eq!(
            e0["postData"]["text"],
            r#"{"type":"video.generation.completed"}"#
        );
        assert!(e0["postData"].get("encoding").is_none());
        let e1 = &doc["log"]["entries"][1]["request"];
        assert_eq!(e1["postData"]["encoding"], "base64");
        let back = B64
            .decode(e1["postData"]["text"].as_str().unwrap())
            .unwrap();
        assert_eq!(back, b"\xff\x00\x1b");
        assert_eq!(e1["bodySize"], 3);
    }

    /// A forward or replay record as the log keeps it (built by hand: export knows no client).
    fn exchange(
        kind: ExchangeKind,
        result: Result<crate::model::exchange::ExchangeResponse, &str>,
    ) -> Exchange {
        use crate::model::exchange::BodyDigest;
        let (response, error, status) = match result {
            Ok(r) => {
                let status = r.status;
                (Some(r), None, status)
            }
            Err(e) => (None, Some(e.to_owned()), 502),
        };
        Exchange {
            kind,
            capture: crate::model::capture::CaptureId(1),
            at_ms: 0,
            url: "http://127.0.0.1:3000/hook".into(),
            method: "POST".into(),
            request_headers: Vec::new(),
            received: BodyDigest::of(b"{}"),
            sent: BodyDigest::of(b"{}"),
            integrity: Vec::new(),
            resigned: false,
            edited: false,
            relayed: false,
            latency_us: 2_500,
            response,
            error,
            status,
        }
    }

    #[test]
    fn forwarded_entries_carry_the_receivers_answer() {
        let reply = |body: &'static [u8]| crate::model::exchange::ExchangeResponse {
            version: crate::model::exchange::HTTP_2.into(),
            status: 201,
            reason: "Created".into(),
            headers: vec![crate::model::capture::Header::new(
                "Content-Type",
                "text/plain",
            )],
            body: bytes::Bytes::from_static(body),
            body_len: body.len() as u64,
        };
        let forward = exchange(ExchangeKind::Forward, Ok(reply(b"made")));
        let replay = exchange(ExchangeKind::Replay, Ok(reply(b"\xff\xfe")));
        let failed = exchange(ExchangeKind::Forward, Err("connection reset"));
        // The forward is shown even when a replay came later; else the latest replay.
        let both = [forward.clone(), replay.clone()];
        assert_eq!(shown_exchange(&both), Some(&forward));
        assert_eq!(shown_exchange(std::slice::from_ref(&replay)), Some(&replay));
        let r = record(b"{}", "/hook");
        let doc = serde_json::to_value(to_har([
            (&r, Some(&forward)),
            (&r, Some(&replay)),
            (&r, Some(&failed)),
        ]))
        .unwrap();
        validate_har(&doc);
        let e = &doc["log"]["entries"];
        assert_eq!(e[0]["response"]["status"], 201);
        assert_eq!(e[0]["response"]["statusText"], "Created");
        assert_eq!(e[0]["response"]["httpVersion"], "HTTP/2");
        assert_eq!(e[0]["response"]["content"]["text"], "made");
        assert_eq!(e[0]["response"]["content"]["mimeType"], "text/plain");
        assert_eq!(e[0]["timings"]["wait"], 2.5);
        assert_eq!(e[0]["time"], 2.5);
        assert_eq!(e[1]["response"]["content"]["encoding"], "base64");
        assert_eq!(e[1]["response"]["content"]["text"], "//4=");
        // The forward failed: what the sender got is hooklens's own answer.
        assert_eq!(e[2]["response"]["status"], 204);
        let why = e[2]["response"]["content"]["comment"].as_str().unwrap();
        assert!(why.contains("connection reset"), "{why}");
    }

    #[test]
    fn a_capture_never_forwarded_carries_what_hooklens_answered() {
        let mut r = record(b"{}", "/hook");
        r.response_status = 401;
        let mut unanswered = record(b"{}", "/hook");
        unanswered.response_status = 0;
        let doc = serde_json::to_value(to_har([(&r, None), (&unanswered, None)])).unwrap();
        validate_har(&doc);
        let e = &doc["log"]["entries"];
        assert_eq!(e[0]["response"]["status"], 401);
        assert_eq!(e[0]["response"]["statusText"], "Unauthorized");
        assert_eq!(e[0]["response"]["httpVersion"], "HTTP/1.1");
        assert!(
            e[0]["response"]["content"]["comment"]
                .as_str()
                .unwrap()
                .contains("not forwarded")
        );
        assert_eq!(
            e[1]["response"]["status"], 0,
            "nobody answered: the placeholder"
        );
    }

    #[test]
    fn binary_request_bodies_say_they_are_base64() {
        let r = record(b"\xff\x00raw", "/hook");
        let doc = serde_json::to_value(to_har([(&r, None)])).unwrap();
        let pd = &doc["log"]["entries"][0]["request"]["postData"];
        assert_eq!(pd["encoding"], "base64");
        assert_eq!(
            B64.decode(pd["text"].as_str().unwrap()).unwrap(),
            b"\xff\x00raw"
        );
        assert!(pd["comment"].as_str().unwrap().contains("base64"));
    }
}
