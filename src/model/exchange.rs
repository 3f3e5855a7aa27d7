//! What happened when a capture was sent on: a forward (`listen --forward-to`) or a replay.
//!
//! Each one is its own line in the capture log (`"kind":"forward"` or `"kind":"replay"`),
//! linked to its capture by `capture` (the id), written after the capture line. It keeps the
//! request as sent (URL, method, headers), the integrity proof (SHA-256 and length of the body
//! received and of the body sent, plus any difference in the headers that describe the body),
//! and the receiver's answer (status, headers, the first [`RESPONSE_BODY_KEEP`] bytes of the
//! body) or the error. Pure data: the store writes it, front ends render it.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::capture::{CaptureId, Header};

/// How much of a receiver's answer body is kept in the log (the rest is counted, not kept):
/// a receiver's 5 MB error page should not swell the capture log.
pub const RESPONSE_BODY_KEEP: usize = 64 * 1024;

/// Forward (the listener passed a delivery on) or replay (sent again later).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExchangeKind {
    /// `listen --forward-to`.
    Forward,
    /// `hooklens replay`, or `r`/`R`/`e` in the inspector.
    Replay,
}

impl ExchangeKind {
    /// `forward` or `replay`, as in the log.
    pub fn name(self) -> &'static str {
        match self {
            ExchangeKind::Forward => "forward",
            ExchangeKind::Replay => "replay",
        }
    }
}

/// SHA-256 (hex) and length of a body: one leg of the integrity proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyDigest {
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Length in bytes.
    pub len: u64,
}

impl BodyDigest {
    /// Digest of `body`.
    pub fn of(body: &[u8]) -> BodyDigest {
        BodyDigest {
            sha256: hex::encode(Sha256::digest(body)),
            len: body.len() as u64,
        }
    }
}

/// The receiver's answer as kept in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeResponse {
    /// `HTTP/1.1` or `HTTP/2`.
    #[serde(default = "http11")]
    pub version: String,
    /// Status code.
    pub status: u16,
    /// Reason phrase as sent.
    pub reason: String,
    /// Headers in order, as sent.
    pub headers: Vec<Header>,
    /// The first [`RESPONSE_BODY_KEEP`] bytes of the body.
    #[serde(with = "super::capture::b64_bytes", rename = "body_b64")]
    pub body: Bytes,
    /// Length of the whole body.
    pub body_len: u64,
}

impl ExchangeResponse {
    /// True when the body in the log is shorter than the answer was.
    pub fn body_cut(&self) -> bool {
        (self.body.len() as u64) < self.body_len
    }
}

/// [`ExchangeResponse::version`] (and the client's `Reply::version`) of an HTTP/1.1 answer.
pub const HTTP_11: &str = "HTTP/1.1";
/// The same for an HTTP/1.0 answer.
pub const HTTP_10: &str = "HTTP/1.0";
/// The same for an HTTP/2 answer.
pub const HTTP_2: &str = "HTTP/2";

fn http11() -> String {
    HTTP_11.to_owned()
}

/// One forward or replay of a capture and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// Forward or replay.
    pub kind: ExchangeKind,
    /// The capture it sent.
    pub capture: CaptureId,
    /// Unix ms when it was sent.
    pub at_ms: i64,
    /// Full URL sent to (target origin + path and query).
    pub url: String,
    /// Method sent.
    pub method: String,
    /// Headers sent, in order.
    pub request_headers: Vec<Header>,
    /// The body as captured.
    pub received: BodyDigest,
    /// The body as sent.
    pub sent: BodyDigest,
    /// Differences between the two legs (body, Content-Length/-Encoding/-Type). Empty when
    /// the receiver got the captured body described the same way.
    #[serde(default)]
    pub integrity: Vec<String>,
    /// Re-signed with a fresh timestamp before sending.
    #[serde(default)]
    pub resigned: bool,
    /// The body was edited before sending (`replay --edit`).
    #[serde(default)]
    pub edited: bool,
    /// `--respond relay`: the provider got this answer (or the 502/504 when it failed).
    #[serde(default)]
    pub relayed: bool,
    /// Round trip in microseconds.
    pub latency_us: u64,
    /// The receiver's answer, when there was one.
    pub response: Option<ExchangeResponse>,
    /// Why there was no answer.
    pub error: Option<String>,
    /// Status hooklens would give (relay): the receiver's, or 502/504 on failure.
    pub status: u16,
}

/// How the request was prepared, beyond what [`Sent`] records.
#[derive(Clone, Copy, Debug, Default)]
pub struct Prepared {
    /// Re-signed before sending.
    pub resigned: bool,
    /// Body edited before sending.
    pub edited: bool,
    /// The provider gets this answer.
    pub relayed: bool,
}

impl Exchange {
    /// True when the receiver answered 2xx.
    pub fn succeeded(&self) -> bool {
        self.response
            .as_ref()
            .is_some_and(|r| (200..300).contains(&r.status))
    }

    /// The receiver's status, or None when there was no answer.
    pub fn receiver_status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.status)
    }

    /// The short outcome shown after a capture: `→ 204 3.1ms`, `→ failed (502): …`.
    pub fn brief(&self) -> String {
        let ms = self.latency_us as f64 / 1000.0;
        match (&self.response, &self.error) {
            (Some(r), _) => format!("→ {} {ms:.1}ms", r.status),
            (None, Some(e)) => format!("→ failed ({}): {e}", self.status),
            (None, None) => format!("→ {}", self.status),
        }
    }

    /// One line for humans: `#12 forward → 204 3.1ms http://…/path [re-signed]`, plus any
    /// integrity flag.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} {} {} {}",
            self.capture,
            self.kind.name(),
            self.brief(),
            self.url
        );
        if self.resigned {
            line.push_str(" [re-signed]");
        }
        if self.edited {
            line.push_str(" [edited]");
        }
        for flag in &self.integrity {
            line.push_str("; integrity: ");
            line.push_str(flag);
        }
        line
    }
}

/// How the captured path combines with the target URL's path (`--forward-path`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PathMode {
    /// A URL with a path (anything but empty or `/`) is the exact endpoint; a URL without one
    /// keeps the captured path and query.
    #[default]
    Auto,
    /// Always the URL's path (and its query, else the captured query).
    #[serde(alias = "replace")]
    #[value(alias = "replace")]
    Exact,
    /// The URL's path + the captured path and query (a receiver mounted under a prefix).
    /// Logs written before `auto` existed say `keep` for this.
    #[serde(alias = "keep")]
    #[value(alias = "keep")]
    Prefix,
}

impl PathMode {
    /// What `auto` means for a target whose path is `target_path`: `Exact` or `Prefix`.
    pub fn resolve(self, target_path: &str) -> PathMode {
        match self {
            PathMode::Auto if target_path.is_empty() || target_path == "/" => PathMode::Prefix,
            PathMode::Auto => PathMode::Exact,
            other => other,
        }
    }

    /// `auto`, `exact` or `prefix`, as the flag and the log spell it.
    pub fn name(self) -> &'static str {
        match self {
            PathMode::Auto => "auto",
            PathMode::Exact => "exact",
            PathMode::Prefix => "prefix",
        }
    }
}

/// `response_status` of a capture whose answer is relayed from the receiver: the capture is
/// written before the receiver has answered, and the status the provider got is in the
/// capture's relayed `forward` record (see [`provider_status`]). A capture that keeps this
/// status had no answer recorded (the listener stopped in between).
pub const ANSWER_RELAYED: u16 = 0;

/// The status the provider got for a capture: the relayed forward's status when the listener
/// relayed the receiver's answer (`exchanges` of the capture, oldest first), else the status
/// recorded with the capture (`answered`).
pub fn provider_status(answered: u16, exchanges: &[Exchange]) -> u16 {
    exchanges
        .iter()
        .find(|e| e.relayed)
        .map_or(answered, |e| e.status)
}

/// A listener's `--forward-to` and `--forward-path`, as recorded in the log (the default target
/// of `hooklens replay`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedTarget {
    /// The URL as given.
    pub url: String,
    /// How paths combine.
    pub path: PathMode,
}
