//! The detail text of one capture: the `show` view, and the pieces the inspector's tabs and
//! diff reuse (the rendered body, one forward or replay in full, the shape report).
//!
//! Everything from request or receiver bytes goes through `sanitize` first.

use std::fmt::Write as _;

use serde_json::Value;

use crate::envelope;
use crate::fmt::{rfc3339, size, skew};
use crate::model::capture::{CaptureId, Header, HeaderCase, TlsInfo};
use crate::model::exchange::{BodyDigest, Exchange};
use crate::model::record::CaptureRecord;
use crate::sanitize::{escape_line, escape_text, hex_dump, looks_binary};
use crate::verify::describe_skew;

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

/// The status the provider got, for humans: `404`, or `none recorded` for a relayed capture
/// whose answer was not recorded (the listener stopped between the two).
pub fn answered_text(status: u16) -> String {
    if status == crate::model::exchange::ANSWER_RELAYED {
        "none recorded (relayed; the listener stopped before the answer was logged)".to_owned()
    } else {
        status.to_string()
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
    if let Some(url) = c.addressed_to() {
        let _ = writeln!(out, "to        {}", escape_line(url.as_bytes()));
    }
    if let Some((name, ip)) = c.forwarded_client() {
        let _ = writeln!(out, "client    {} ({name})", escape_line(ip.as_bytes()));
    }
    if let Some(tls) = &c.tls {
        let _ = writeln!(out, "tls       {}", tls_text(tls));
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
    let _ = writeln!(
        out,
        "response  {}",
        answered_text(crate::model::exchange::provider_status(
            record.response_status,
            exchanges
        ))
    );
    if let Some(fault) = &c.fault {
        let _ = writeln!(out, "fault     {}", escape_line(fault.as_bytes()));
    }
    if !c.raw_head.is_empty() {
        let _ = writeln!(
            out,
            "raw head  {} bytes: {}",
            c.raw_head.len(),
            escape_line(&c.raw_head)
        );
    }
    let _ = writeln!(
        out,
        "\nheaders ({}, arrival order, {})",
        c.headers.len(),
        header_case(c.header_case)
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
        BodyDigest::of(&c.body).sha256
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

/// How the headers' names are kept: `original case` (HTTP/1) or `lowercase` (HTTP/2).
pub fn header_case(case: HeaderCase) -> &'static str {
    match case {
        HeaderCase::Original => "original case",
        HeaderCase::Lowercase => "lowercase",
    }
}

/// The TLS facts of a capture on one line: version, cipher, ALPN and SNI.
pub fn tls_text(tls: &TlsInfo) -> String {
    format!(
        "{} {} alpn={} sni={}",
        tls.version,
        tls.cipher,
        tls.alpn.as_deref().unwrap_or("-"),
        escape_line(tls.sni.as_deref().unwrap_or("-").as_bytes())
    )
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

fn push_headers(out: &mut String, which: &str, headers: &[Header]) {
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
