//! Headless front end: one line (or one JSON object) per capture, as `listen --no-tui`,
//! `list` and `wait` print them. The `show` detail view is in [`super::show`].
//!
//! Everything printed from request bytes goes through `sanitize` first; JSON output is made
//! terminal-safe too (serde_json leaves DEL, C1 controls and bidi overrides raw).

use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::fmt::{clock, rfc3339, size, skew};
use crate::model::capture::TlsInfo;
use crate::model::record::{Event, Stored, Summary};
use crate::sanitize::escape_line;
use crate::sanitize::to_json_line;
use crate::verify::{MatchedSecret, Verdict};

/// `list` format: the line starts with the id, so `cut -d' ' -f1` gives ids.
pub fn list_line(s: &Summary) -> String {
    let live = line(s);
    // `line` is "<time> <padded id>  <rest>": move the id to the front.
    let rest = live
        .split_once(&s.id.to_string())
        .map_or(live.as_str(), |(_, rest)| rest);
    format!("{}  {}{rest}", s.id, clock(s.received_at_ms))
}

/// One line per capture (the `listen --no-tui` format).
pub fn line(s: &Summary) -> String {
    let mut out = format!(
        "{} {:>5}  {} {}  {}  {}  skew {}",
        clock(s.received_at_ms),
        s.id.to_string(),
        escape_line(s.method.as_bytes()),
        escape_line(s.target.as_bytes()),
        s.event_type
            .as_deref()
            .map_or_else(|| "-".to_string(), |t| escape_line(t.as_bytes())),
        s.outcome.label(),
        skew(s.skew_secs),
    );
    match (&s.idempotency_key, s.dup_of) {
        (Some(k), Some(first)) => {
            let _ = write!(out, "  key {} (dup of {first})", escape_line(k.as_bytes()));
        }
        (Some(k), None) => {
            let _ = write!(out, "  key {}", escape_line(k.as_bytes()));
        }
        (None, _) => out.push_str("  key -"),
    }
    let _ = write!(out, "  {}", size(s.body_len));
    if s.truncated {
        out.push_str(" (truncated)");
    }
    let _ = write!(out, "  → {}", s.response_status);
    if let Some(e) = &s.exchange {
        let _ = write!(out, "  {} {}", e.kind.name(), e.label());
    }
    out
}

/// The stable JSON object printed by `--json` (field names documented in the README).
#[derive(Serialize)]
pub struct JsonCapture<'a> {
    /// Always `capture` (forward outcomes in the same stream say `forward`).
    pub kind: &'static str,
    /// Capture id (number).
    pub id: u64,
    /// RFC 3339 arrival time.
    pub received_at: String,
    /// Unix ms arrival time.
    pub received_at_ms: i64,
    /// Method.
    pub method: &'a str,
    /// Path and query.
    pub target: &'a str,
    /// Envelope type.
    pub event_type: Option<&'a str>,
    /// Outcome machine name (`valid`, `invalid_signature`, ...).
    pub verdict: &'static str,
    /// One-line reason.
    pub reason: &'a str,
    /// Scheme checked.
    pub scheme: Option<&'a str>,
    /// Signed timestamp.
    pub timestamp: Option<i64>,
    /// Signed skew in seconds.
    pub skew_secs: Option<i64>,
    /// Which secret matched.
    pub matched_secret: Option<&'a MatchedSecret>,
    /// Confirmed diagnoses.
    pub hints: &'a [crate::verify::Hint],
    /// Idempotency key.
    pub idempotency_key: Option<&'a str>,
    /// First capture with the same key.
    pub dup_of: Option<u64>,
    /// Body length in bytes.
    pub body_len: u64,
    /// Body was cut at the size limit.
    pub truncated: bool,
    /// Status hooklens answered with.
    pub response_status: u16,
    /// TLS version, cipher, ALPN and SNI when it arrived over HTTPS; null for plain HTTP.
    pub tls: Option<&'a TlsInfo>,
    /// The latest forward or replay, when there is one.
    pub forward: Option<JsonForward>,
}

/// `forward` in the `--json` object: the latest forward or replay of the capture.
#[derive(Serialize)]
pub struct JsonForward {
    /// `forward` or `replay`.
    pub kind: &'static str,
    /// The receiver's status; null when it did not answer.
    pub status: Option<u16>,
    /// Round trip in milliseconds.
    pub latency_ms: f64,
    /// Forwards and replays of this capture so far.
    pub count: u32,
}

/// Builds the `--json` object for a capture.
pub fn json_capture<'a>(s: &'a Summary, v: &'a Verdict) -> JsonCapture<'a> {
    JsonCapture {
        kind: "capture",
        id: s.id.0,
        received_at: rfc3339(s.received_at_ms),
        received_at_ms: s.received_at_ms,
        method: &s.method,
        target: &s.target,
        event_type: s.event_type.as_deref(),
        verdict: v.outcome.name(),
        reason: &v.reason,
        scheme: v.scheme.as_deref(),
        timestamp: v.timestamp,
        skew_secs: v.skew_secs,
        matched_secret: v.matched_secret.as_ref(),
        hints: &v.hints,
        idempotency_key: s.idempotency_key.as_deref(),
        dup_of: s.dup_of.map(|d| d.0),
        body_len: s.body_len,
        truncated: s.truncated,
        response_status: s.response_status,
        tls: None,
        forward: s.exchange.as_ref().map(|e| JsonForward {
            kind: e.kind.name(),
            status: e.receiver_status,
            latency_ms: e.latency_us as f64 / 1000.0,
            count: e.count,
        }),
    }
}

/// Prints each event as it arrives until the channel closes.
pub async fn print_events(mut rx: broadcast::Receiver<Event>, json: bool) {
    loop {
        match rx.recv().await {
            Ok(Event::Captured(stored)) => print_stored(&stored, json),
            Ok(Event::Notice(text)) => eprintln!("hooklens: {}", escape_line(text.as_bytes())),
            Ok(Event::Forwarded(exchange)) => {
                let text = if json {
                    to_json_line(&*exchange)
                } else {
                    format!("        {}", escape_line(exchange.line().as_bytes()))
                };
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                eprintln!(
                    "hooklens: output fell behind; {n} captures not printed (they are in the log)"
                );
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

fn print_stored(stored: &Stored, json: bool) {
    let text = if json {
        let mut j = json_capture(&stored.summary, &stored.verdict);
        j.tls = stored.tls.as_ref();
        to_json_line(&j)
    } else {
        let mut l = line(&stored.summary);
        if stored.verdict.outcome.is_rejected() {
            let _ = write!(
                l,
                "\n        {}",
                escape_line(stored.verdict.reason.as_bytes())
            );
        }
        for h in &stored.verdict.hints {
            let _ = write!(l, "\n        hint: {}", escape_line(h.message.as_bytes()));
        }
        l
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn clock_and_sizes() {
        assert_eq!(clock(1_700_000_000_000), "22:13:20");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(size(312), "312 B");
        assert_eq!(size(4200), "4.1 KiB");
        assert_eq!(skew(Some(-3)), "-3s");
        assert_eq!(skew(Some(4)), "+4s");
    }

    #[test]
    fn json_output_escapes_what_serde_leaves_raw() {
        let line = to_json_line(&serde_json::json!({"p": "a\u{9b}b\u{202e}\u{1b}"}));
        assert_eq!(line, r#"{"p":"a\u009bb\u202e\u001b"}"#);
        let back: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["p"], "a\u{9b}b\u{202e}\u{1b}");
    }
}
