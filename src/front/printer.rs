//! Headless front end: one line (or one JSON object) per capture, and the `show` detail view.
//!
//! Everything printed from request bytes goes through `sanitize` first; JSON output is made
//! terminal-safe too (serde_json leaves DEL, C1 controls and bidi overrides raw).

use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use crate::envelope;
use crate::fmt::{clock, rfc3339, size, skew};
use crate::model::capture::{CaptureId, TlsInfo};
use crate::model::exchange::Exchange;
use crate::model::record::{CaptureRecord, Event, Stored, Summary};
use crate::sanitize::to_json_line;
use crate::sanitize::{escape_line, escape_text, hex_dump, looks_binary};
use crate::verify::{MatchedSecret, Verdict, describe_skew};

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

/// Pretty JSON when the body parses, else escaped text, else a hex dump.
pub fn render_body(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty)".into();
    }
    if let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Ok(pretty) = serde_json::to_string_pretty(&value)
    {
        return escape_text(pretty.as_bytes());
    }
    if looks_binary(body) {
        hex_dump(body)
    } else {
        escape_text(body)
    }
}

/// The full `show` view of one capture.
pub fn show_text(
    record: &CaptureRecord,
    dup_of: Option<CaptureId>,
    exchanges: &[Exchange],
) -> String {
    let c = &record.capture;
    let v = &record.verdict;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {} {}  {}  from {}",
        c.id,
        escape_line(c.method.as_bytes()),
        escape_line(c.target.as_bytes()),
        c.version.as_str(),
        c.peer
    );
    let _ = writeln!(out, "received  {}", rfc3339(c.received_at_ms));
    if let Some(tls) = &c.tls {
        let _ = writeln!(
            out,
            "tls       {} {} alpn={} sni={}",
            tls.version,
            tls.cipher,
            tls.alpn.as_deref().unwrap_or("-"),
            escape_line(tls.sni.as_deref().unwrap_or("-").as_bytes())
        );
    }
    let _ = writeln!(
        out,
        "verdict   {} ({}): {}",
        v.outcome.label(),
        v.scheme.as_deref().unwrap_or("-"),
        escape_line(v.reason.as_bytes())
    );
    for h in &v.hints {
        let _ = writeln!(out, "hint      {}", escape_line(h.message.as_bytes()));
    }
    if let Some(ts) = v.timestamp {
        let _ = writeln!(
            out,
            "timestamp {ts} ({}, skew {})",
            describe_skew(v.skew_secs.unwrap_or(0)),
            skew(v.skew_secs)
        );
    }
    if let Some(m) = &v.matched_secret {
        let _ = writeln!(
            out,
            "secret    #{} (fingerprint {})",
            m.index, m.fingerprint
        );
    }
    match (&record.idempotency_key, dup_of) {
        (Some(k), Some(d)) => {
            let _ = writeln!(out, "key       {} (dup of {d})", escape_line(k.as_bytes()));
        }
        (Some(k), None) => {
            let _ = writeln!(out, "key       {}", escape_line(k.as_bytes()));
        }
        (None, _) => {}
    }
    let _ = writeln!(out, "response  {}", record.response_status);
    let case = match c.header_case {
        crate::model::capture::HeaderCase::Original => "original case",
        crate::model::capture::HeaderCase::Lowercase => "lowercase",
    };
    let _ = writeln!(
        out,
        "\nheaders ({}, arrival order, {case})",
        c.headers.len()
    );
    for h in &c.headers {
        let _ = writeln!(
            out,
            "  {}: {}",
            escape_line(h.name.as_bytes()),
            escape_line(&h.value)
        );
    }
    let _ = writeln!(
        out,
        "\nbody ({} bytes{}, sha256 {})",
        c.body.len(),
        if c.truncated { ", truncated" } else { "" },
        hex::encode(Sha256::digest(&c.body))
    );
    for l in render_body(&c.body).lines() {
        let _ = writeln!(out, "  {l}");
    }
    let _ = writeln!(out, "\nshape");
    out.push_str(&shape_text(&envelope::shape_report(
        &c.method, &c.headers, &c.body,
    )));
    if !exchanges.is_empty() {
        let _ = writeln!(out, "\nforwards and replays ({})", exchanges.len());
        for e in exchanges {
            for l in exchange_text(e).lines() {
                let _ = writeln!(out, "  {l}");
            }
        }
    }
    out
}

/// One forward or replay in full: request, answer and the integrity proof (received vs sent).
pub fn exchange_text(e: &Exchange) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  {} {}",
        e.kind.name(),
        rfc3339(e.at_ms),
        escape_line(e.method.as_bytes()),
        escape_line(e.url.as_bytes())
    );
    let ms = e.latency_us as f64 / 1000.0;
    let how = [
        (e.resigned, "re-signed"),
        (e.edited, "body edited"),
        (e.relayed, "relayed to the provider"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, what)| *what)
    .collect::<Vec<_>>()
    .join(", ");
    let how = if how.is_empty() {
        String::new()
    } else {
        format!("  ({how})")
    };
    match (&e.response, &e.error) {
        (Some(r), _) => {
            let _ = writeln!(
                out,
                "  answer    {} {} in {ms:.1}ms, {}{how}",
                r.status,
                escape_line(r.reason.as_bytes()),
                r.version
            );
        }
        (None, error) => {
            let relayed = if e.relayed {
                format!("; the provider got {}", e.status)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  failed    {} after {ms:.1}ms{relayed}{how}",
                escape_line(error.as_deref().unwrap_or("no answer").as_bytes()),
            );
        }
    }
    let _ = writeln!(
        out,
        "  received  {:>10}  sha256 {}",
        size(e.received.len),
        e.received.sha256
    );
    let _ = writeln!(
        out,
        "  sent      {:>10}  sha256 {}",
        size(e.sent.len),
        e.sent.sha256
    );
    if e.integrity.is_empty() {
        out.push_str(
            "  ✓ same body bytes, same Content-Length, Content-Encoding and Content-Type\n",
        );
    }
    for flag in &e.integrity {
        let _ = writeln!(out, "  ⚠ {}", escape_line(flag.as_bytes()));
    }
    push_headers(&mut out, "request", &e.request_headers);
    if let Some(r) = &e.response {
        push_headers(&mut out, "response", &r.headers);
        let kept = if r.body_cut() {
            format!(", the first {} kept", size(r.body.len() as u64))
        } else {
            String::new()
        };
        let _ = writeln!(out, "  response body ({} bytes{kept})", r.body_len);
        if !r.body.is_empty() {
            for l in render_body(&r.body).lines() {
                let _ = writeln!(out, "    {l}");
            }
        }
    }
    out
}

fn push_headers(out: &mut String, which: &str, headers: &[crate::model::capture::Header]) {
    let _ = writeln!(out, "  {which} headers ({})", headers.len());
    for h in headers {
        let _ = writeln!(
            out,
            "    {}: {}",
            escape_line(h.name.as_bytes()),
            escape_line(&h.value)
        );
    }
}

/// The shape report as indented text.
pub fn shape_text(report: &envelope::ShapeReport) -> String {
    let mut out = String::new();
    let pretty = serde_json::to_value(report)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default();
    for l in escape_text(pretty.as_bytes()).lines() {
        let _ = writeln!(out, "  {l}");
    }
    if report.issues.is_empty() {
        out.push_str("  ✓ no inconsistencies\n");
    }
    out
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn body_rendering_picks_json_text_or_hex() {
        assert_eq!(
            render_body(br#"{"b":1,"a":2}"#),
            "{\n  \"b\": 1,\n  \"a\": 2\n}"
        );
        assert_eq!(render_body(b"x\x1b[2J"), "x\\e[2J");
        assert!(render_body(b"\x00\x01\x02").starts_with("00000000  00 01 02"));
    }

    #[test]
    fn a_failed_exchange_says_what_the_provider_got_only_when_it_was_relayed() {
        let target = crate::net::client::Target::parse("http://127.0.0.1:9").unwrap();
        let failed = |kind, relayed| {
            let sent = crate::net::forward::Sent {
                headers: vec![crate::model::capture::Header::new(
                    "X-Evil",
                    "\x1b]0;pwned\x07",
                )],
                path: "/hook".into(),
                result: Err(crate::net::client::ClientError::Protocol(
                    "reset \x1b[2J".into(),
                )),
                latency_us: 300,
                flags: Vec::new(),
            };
            let how = crate::model::exchange::Prepared {
                relayed,
                ..Default::default()
            };
            let e = sent.record(kind, CaptureId(3), 0, "POST", &target, b"{}", b"{}", how);
            exchange_text(&e)
        };
        let relayed = failed(crate::model::exchange::ExchangeKind::Forward, true);
        assert!(
            relayed.contains("failed    reset \\e[2J after 0.3ms; the provider got 502  (relayed to the provider)"),
            "{relayed}"
        );
        let replay = failed(crate::model::exchange::ExchangeKind::Replay, false);
        assert!(!replay.contains("provider"), "{replay}");
        // Bytes from the receiver or the request never reach the terminal raw.
        assert!(
            !replay.contains('\x1b') && replay.contains("X-Evil: \\e]0;pwned\\x07"),
            "{replay}"
        );
    }
}
