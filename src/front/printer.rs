//! Headless front end: one line (or one JSON object) per capture, as `listen --no-tui`,
//! `list` and `wait` print them. The `show` detail view is in [`super::show`].
//!
//! A line starts with the verdict, then the id, the time and the status the provider got, each
//! padded so columns line up (`#9` under `#10`); the variable parts follow. On a terminal the
//! verdict and the status are coloured (`--color auto|always|never`; `NO_COLOR` set to a
//! non-empty value turns `auto` off). In relay mode a capture's line is printed once the
//! provider's answer is known, just before its forward line, so it shows that answer.
//!
//! Everything printed from request bytes goes through `sanitize` first; JSON output is made
//! terminal-safe too (serde_json leaves DEL, C1 controls and bidi overrides raw).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::fmt::{clock, rfc3339, size, skew};
use crate::model::capture::{CaptureId, TlsInfo};
use crate::model::exchange::ANSWER_RELAYED;
use crate::model::record::{Event, Stored, Summary};
use crate::model::verdict::Outcome;
use crate::sanitize::escape_line;
use crate::sanitize::to_json_line;
use crate::verify::{MatchedSecret, Verdict};

/// `--color`: when lines are coloured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set to a non-empty value.
    #[default]
    Auto,
    /// Always (even into a pipe, and whatever `NO_COLOR` says).
    Always,
    /// Never.
    Never,
}

/// Whether lines are coloured, decided once per run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Palette {
    on: bool,
}

impl Palette {
    /// No colour.
    pub const PLAIN: Palette = Palette { on: false };

    /// The choice for output to a terminal or not, with `NO_COLOR` as given.
    pub fn choose(choice: ColorChoice, terminal: bool, no_color: bool) -> Palette {
        Palette {
            on: match choice {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => terminal && !no_color,
            },
        }
    }

    /// The choice for this process's stdout and environment.
    pub fn for_stdout(choice: ColorChoice) -> Palette {
        Palette::choose(
            choice,
            std::io::stdout().is_terminal(),
            !crate::front::color::allowed(),
        )
    }

    /// `text` (already padded and escaped) in SGR `code`, when colour is on.
    fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn verdict(self, outcome: Outcome) -> String {
        let text = format!("{:<VERDICT_WIDTH$}", outcome.label());
        let code = match outcome {
            Outcome::Valid => "32",
            Outcome::Unverified => "33",
            _ => "1;31",
        };
        self.paint(code, &text)
    }

    fn status(self, status: u16) -> String {
        let text = format!("→ {:<3}", status_text(status));
        let code = match status {
            200..=299 => "32",
            ANSWER_RELAYED => "2",
            300..=399 => "33",
            _ => "31",
        };
        self.paint(code, &text)
    }
}

/// The widest verdict label (`invalid signature`).
const VERDICT_WIDTH: usize = 17;
/// Room for ids up to `#9999` before columns shift.
const ID_WIDTH: usize = 5;

/// The status the provider got, or `-` when none is recorded (a relayed capture whose answer
/// was not recorded).
fn status_text(status: u16) -> String {
    if status == ANSWER_RELAYED {
        "-".to_owned()
    } else {
        status.to_string()
    }
}

/// `list` format: the line starts with the id, so `cut -d' ' -f1` gives ids.
pub fn list_line(s: &Summary) -> String {
    list_line_in(s, Palette::PLAIN)
}

/// [`list_line`] with colour as `palette` says.
pub fn list_line_in(s: &Summary, palette: Palette) -> String {
    format!(
        "{:<ID_WIDTH$} {}  {}  {}  {}",
        s.id.to_string(),
        palette.verdict(s.outcome),
        clock(s.received_at_ms),
        palette.status(s.response_status),
        rest(s)
    )
}

/// One line per capture (the `listen --no-tui` format).
pub fn line(s: &Summary) -> String {
    line_in(s, Palette::PLAIN)
}

/// [`line`] with colour as `palette` says.
pub fn line_in(s: &Summary, palette: Palette) -> String {
    format!(
        "{} {:>ID_WIDTH$}  {}  {}  {}",
        palette.verdict(s.outcome),
        s.id.to_string(),
        clock(s.received_at_ms),
        palette.status(s.response_status),
        rest(s)
    )
}

/// The variable part of a line: request, type, skew, key, size, latest forward or replay.
fn rest(s: &Summary) -> String {
    let mut out = format!(
        "{} {}  {}  skew {}",
        escape_line(s.method.as_bytes()),
        escape_line(s.target.as_bytes()),
        s.event_type
            .as_deref()
            .map_or_else(|| "-".to_string(), |t| escape_line(t.as_bytes())),
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

/// Relayed captures waiting for their answer, at most this many (more are printed at once).
const HOLD_MAX: usize = 4096;

/// Prints each event as it arrives until the channel closes. A relayed capture (its status
/// not known when it is stored) is held until its forward record arrives, then printed with
/// the status the provider got, followed by the forward line.
pub async fn print_events(mut rx: broadcast::Receiver<Event>, json: bool, palette: Palette) {
    let mut held: HashMap<CaptureId, Arc<Stored>> = HashMap::new();
    loop {
        match rx.recv().await {
            Ok(Event::Captured(stored)) => {
                if stored.summary.response_status == ANSWER_RELAYED && held.len() < HOLD_MAX {
                    held.insert(stored.summary.id, stored);
                } else {
                    print_stored(&stored, json, palette);
                }
            }
            Ok(Event::Notice(text)) => eprintln!("hooklens: {}", escape_line(text.as_bytes())),
            Ok(Event::Forwarded(exchange)) => {
                if let Some(stored) = held.remove(&exchange.capture) {
                    let mut answered = (*stored).clone();
                    answered.summary.note_exchange(&exchange);
                    print_stored(&answered, json, palette);
                }
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
                // Their forward records may be among the lost: print what is held as it is.
                flush(&mut held, json, palette);
            }
            Err(broadcast::error::RecvError::Closed) => {
                flush(&mut held, json, palette);
                break;
            }
        }
    }
}

/// Prints every held capture, in id order.
fn flush(held: &mut HashMap<CaptureId, Arc<Stored>>, json: bool, palette: Palette) {
    let mut left: Vec<_> = held.drain().map(|(_, s)| s).collect();
    left.sort_by_key(|s| s.summary.id);
    for stored in left {
        print_stored(&stored, json, palette);
    }
}

fn print_stored(stored: &Stored, json: bool, palette: Palette) {
    let text = if json {
        let mut j = json_capture(&stored.summary, &stored.verdict);
        j.tls = stored.tls.as_ref();
        to_json_line(&j)
    } else {
        let mut l = line_in(&stored.summary, palette);
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

    fn row(id: u64, outcome: Outcome, status: u16) -> Summary {
        Summary {
            id: CaptureId(id),
            received_at_ms: 1_700_000_000_000,
            method: "POST".into(),
            target: "/modelgates/video-webhook".into(),
            event_type: Some("video.generation.completed".into()),
            outcome,
            skew_secs: Some(0),
            idempotency_key: None,
            data_id: None,
            dup_of: None,
            body_len: 312,
            truncated: false,
            response_status: status,
            exchange: None,
        }
    }

    #[test]
    fn lines_start_with_the_verdict_and_their_columns_line_up() {
        let a = line(&row(9, Outcome::Valid, 204));
        let b = line(&row(10, Outcome::InvalidSignature, 401));
        assert!(a.starts_with("valid              "), "{a}");
        assert!(b.starts_with("invalid signature  "), "{b}");
        assert_eq!(a.find("→"), b.find("→"), "\n{a}\n{b}");
        assert_eq!(a.find("POST"), b.find("POST"), "\n{a}\n{b}");
        assert_eq!(a.find("#9").map(|i| i + 2), b.find("#10").map(|i| i + 3));
        let l = list_line(&row(10, Outcome::Valid, 204));
        assert!(l.starts_with("#10   valid "), "{l}");
        assert!(!a.contains('\x1b'));
        let unknown = line(&row(3, Outcome::Valid, ANSWER_RELAYED));
        assert!(unknown.contains("→ -  "), "{unknown}");
    }

    #[test]
    fn colour_follows_the_flag_the_terminal_and_a_non_empty_no_color() {
        use std::ffi::OsStr;
        let env = |v: Option<&str>| !crate::front::color::allowed_by(v.map(OsStr::new));
        assert!(!env(None) && !env(Some("")) && env(Some("1")));
        let on = |c, tty, v| Palette::choose(c, tty, env(v)) != Palette::PLAIN;
        assert!(on(ColorChoice::Auto, true, None));
        assert!(
            on(ColorChoice::Auto, true, Some("")),
            "NO_COLOR= keeps colour"
        );
        assert!(!on(ColorChoice::Auto, true, Some("1")));
        assert!(!on(ColorChoice::Auto, false, None));
        assert!(on(ColorChoice::Always, false, Some("1")));
        assert!(!on(ColorChoice::Never, true, None));
        let painted = line_in(
            &row(1, Outcome::Valid, 204),
            Palette::choose(ColorChoice::Always, false, false),
        );
        assert!(painted.starts_with("\x1b[32mvalid"), "{painted:?}");
    }

    #[test]
    fn json_output_escapes_what_serde_leaves_raw() {
        let line = to_json_line(&serde_json::json!({"p": "a\u{9b}b\u{202e}\u{1b}"}));
        assert_eq!(line, r#"{"p":"a\u009bb\u202e\u001b"}"#);
        let back: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["p"], "a\u{9b}b\u{202e}\u{1b}");
    }
}
