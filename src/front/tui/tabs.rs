//! The detail pane: the tab bar and the five tabs (Overview, Headers, Body, Shape, Forward)
//! of the selected capture. Pure rendering, like `ui`, which calls [`render_detail`]; it reads
//! what `App::set_detail` derived once (body lines, digest, shape report, timeline), so a frame
//! never scans the log or hashes a body. It notes where the tab titles are, for the mouse.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Paragraph, Tabs, Wrap};

use super::app::{App, Detail, Focus, TABS};
use super::style::{badge, fg, short_type};
use crate::fmt::{clock, rfc3339, size};
use crate::front::show;
use crate::model::record::{CaptureRecord, Summary};
use crate::sanitize::escape_line;
use crate::verify::describe_skew;
use crate::verify::modelgates::SIGNATURE_HEADER;

/// Captures of one job the Overview's timeline names at most.
const TIMELINE_SHOWN: usize = 8;

/// Draws the tab bar and the selected tab of the selected capture.
pub fn render_detail(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::Detail;
    let [tabs_area, content] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let titles: Vec<String> = TABS
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} {t}", i + 1))
        .collect();
    // Where each title lands (one space each side, a divider after), for the mouse.
    let mut hits = app.hits.get();
    let mut x = tabs_area.x;
    for (slot, title) in hits.tabs.iter_mut().zip(&titles) {
        let width = Line::raw(title.as_str()).width() as u16 + 2;
        *slot = (x, x.saturating_add(width));
        x = x.saturating_add(width + 1);
    }
    hits.tabs_y = tabs_area.y;
    hits.detail = content;
    app.hits.set(hits);
    let tabs = Tabs::new(titles).select(app.tab).highlight_style(
        fg(app, if focused { Color::Cyan } else { Color::White })
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
    );
    frame.render_widget(tabs, tabs_area);
    let Some(row) = app.selected_row() else {
        return;
    };
    let Some(detail) = app.detail.as_ref() else {
        frame.render_widget(Paragraph::new(format!("loading {}…", row.id)), content);
        return;
    };
    let lines: Vec<Line> = match app.tab {
        0 => overview(app, row, detail),
        1 => headers_tab(app, &detail.record),
        2 => {
            // Only the visible lines of the body are highlighted; the tab scrolls itself.
            frame.render_widget(
                Paragraph::new(body_tab(app, detail, content.height)),
                content,
            );
            return;
        }
        3 => shape_tab(app, detail),
        _ => forward_tab(app),
    };
    frame.render_widget(
        Paragraph::new(Text::from(lines))
            .wrap(Wrap { trim: false })
            .scroll((app.scroll, 0)),
        content,
    );
}

/// The Headers tab: the request line, then every header in arrival order and case.
fn headers_tab(app: &App, record: &CaptureRecord) -> Vec<Line<'static>> {
    let c = &record.capture;
    let mut lines = vec![Line::styled(
        format!(
            "{} {} {}  ({} headers, arrival order, {})",
            escape_line(c.method.as_bytes()),
            escape_line(c.target.as_bytes()),
            c.version.as_str(),
            c.headers.len(),
            show::header_case(c.header_case)
        ),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    lines.extend(c.headers.iter().map(|h| {
        Line::from(vec![
            Span::styled(escape_line(h.name.as_bytes()), fg(app, Color::Cyan)),
            Span::raw(": "),
            Span::raw(escape_line(&h.value)),
        ])
    }));
    lines
}

/// The Body tab: the `height` lines of the rendered body from the scroll position on.
fn body_tab<'a>(app: &App, detail: &'a Detail, height: u16) -> Vec<Line<'a>> {
    let body = &detail.body_lines;
    let start = (app.scroll as usize).min(body.len().saturating_sub(1));
    let end = (start + height as usize).min(body.len());
    body[start..end]
        .iter()
        .map(|l| highlight_json_line(app, l))
        .collect()
}

/// The Shape tab: inconsistencies first (in red), then the shape report (made at load).
fn shape_tab(app: &App, detail: &Detail) -> Vec<Line<'static>> {
    let report = &detail.shape;
    let mut lines: Vec<Line> = report
        .issues
        .iter()
        .map(|i| Line::styled(format!("⚠ {i}"), fg(app, Color::Red)))
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled("✓ no inconsistencies", fg(app, Color::Green)));
    }
    lines.extend(
        show::shape_text(report)
            .lines()
            .map(|l| Line::raw(l.to_string())),
    );
    lines
}

/// The Overview tab: verdict, the job id, hints, timestamp and tolerance countdown, secret,
/// key, the job's timeline, the redacted signature, body digest, TLS and the response. All of
/// it was derived when the capture was loaded: a frame reads, it never scans or hashes.
fn overview<'a>(app: &App, row: &Summary, detail: &Detail) -> Vec<Line<'a>> {
    let record = &detail.record;
    let v = &record.verdict;
    let c = &record.capture;
    let (label, color) = badge(v.outcome);
    let mut lines = vec![Line::from(vec![
        Span::styled(label, fg(app, color).add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            "  {} · {}",
            v.scheme.as_deref().unwrap_or("-"),
            escape_line(v.reason.as_bytes())
        )),
    ])];
    if let Some(job) = &record.data_id {
        lines.push(Line::from(vec![
            Span::raw("job        "),
            Span::styled(
                escape_line(job.as_bytes()),
                fg(app, Color::Cyan).add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("  {}", short_type(record.event_type.as_deref()))),
        ]));
    }
    for h in &v.hints {
        lines.push(Line::styled(
            format!("hint: {}", escape_line(h.message.as_bytes())),
            fg(app, Color::Yellow),
        ));
    }
    if let (Some(ts), Some(sk)) = (v.timestamp, v.skew_secs) {
        lines.push(Line::raw(format!(
            "timestamp  {} ({ts}), {} at arrival",
            rfc3339(ts.saturating_mul(1000)),
            describe_skew(sk)
        )));
        let tol = app.header.tolerance_secs.max(1);
        let age_now = app.now_ms.div_euclid(1000) - ts;
        let used = (sk.unsigned_abs() as f64 / tol as f64).min(1.0);
        let width = 20usize;
        let filled = (used * width as f64).round() as usize;
        let bar: String = "█".repeat(filled) + &"░".repeat(width - filled);
        let left = tol - age_now;
        let countdown = if left >= 0 && age_now >= -tol {
            format!("replayable unmodified for {}m{:02}s", left / 60, left % 60)
        } else {
            "too old to replay unmodified (re-sign it)".to_string()
        };
        lines.push(Line::from(vec![
            Span::raw("tolerance  "),
            Span::styled(
                bar,
                fg(
                    app,
                    if used < 0.8 {
                        Color::Green
                    } else {
                        Color::Yellow
                    },
                ),
            ),
            Span::raw(format!(
                " {}s of {tol}s used · {countdown}",
                sk.unsigned_abs()
            )),
        ]));
    }
    if let Some(m) = &v.matched_secret {
        lines.push(Line::raw(format!(
            "secret     #{} (fingerprint {})",
            m.index, m.fingerprint
        )));
    }
    if let Some(key) = &record.idempotency_key {
        let mut text = format!("key        {}", escape_line(key.as_bytes()));
        if let Some(d) = row.dup_of {
            text.push_str(&format!(" (dup of {d})"));
        }
        lines.push(Line::raw(text));
    }
    let timeline: Vec<&Summary> = app.timeline().collect();
    if timeline.len() > 1 {
        let entry = |r: &Summary| {
            let (b, _) = badge(r.outcome);
            let this = if r.id == row.id { " (this)" } else { "" };
            format!(
                "{} {} {} {}{this}",
                r.id,
                clock(r.received_at_ms),
                short_type(r.event_type.as_deref()),
                b
            )
        };
        // A job retried thousands of times shows its first and latest captures.
        let mut parts: Vec<String> = Vec::new();
        if timeline.len() > TIMELINE_SHOWN {
            parts.push(entry(timeline[0]));
            parts.push(format!("… {} more", timeline.len() - TIMELINE_SHOWN));
            let tail = &timeline[timeline.len() - (TIMELINE_SHOWN - 1)..];
            parts.extend(tail.iter().map(|r| entry(r)));
        } else {
            parts.extend(timeline.iter().map(|r| entry(r)));
        }
        lines.push(Line::raw(format!("timeline   {}", parts.join(" → "))));
    }
    if let Some(sig) = c.header(SIGNATURE_HEADER) {
        let redacted = crate::envelope::redact_signature(
            &String::from_utf8_lossy(sig),
            crate::envelope::Placeholder::Length,
        );
        lines.push(Line::raw(format!("signature  {redacted}")));
    }
    lines.push(Line::raw(format!(
        "body       {}{}, sha256 {}",
        size(c.body.len() as u64),
        if c.truncated { " (truncated)" } else { "" },
        detail.digest
    )));
    if let Some(tls) = &c.tls {
        lines.push(Line::raw(format!("tls        {}", show::tls_text(tls))));
    }
    lines.push(Line::raw(format!(
        "response   {} · from {} · {}",
        // The row takes in the relayed forward, so it holds the status the provider got.
        show::answered_text(row.response_status),
        c.peer,
        c.version.as_str()
    )));
    lines
}

/// The Forward tab: every forward and replay of the selected capture, newest first.
fn forward_tab(app: &App) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for e in app.exchanges.iter().rev() {
        let good = e.succeeded() && e.integrity.is_empty();
        for (n, l) in show::exchange_text(e).lines().enumerate() {
            lines.push(match n {
                0 => Line::styled(
                    l.to_string(),
                    fg(app, if good { Color::Green } else { Color::Red }),
                ),
                _ if l.trim_start().starts_with('⚠') => {
                    Line::styled(l.to_string(), fg(app, Color::Red))
                }
                _ => Line::raw(l.to_string()),
            });
        }
        lines.push(Line::raw(""));
    }
    match (&app.header.forward, lines.is_empty()) {
        (Some(target), true) => lines.push(Line::raw(format!(
            "not forwarded yet ({target}); r replays, R re-signs, e edits then replays"
        ))),
        (None, true) => lines.push(Line::raw(
            "not forwarded (start with --forward-to URL to forward deliveries)",
        )),
        _ => {}
    }
    lines
}

/// Colors one line of pretty-printed (already escaped) JSON: keys, strings, numbers, literals.
fn highlight_json_line<'a>(app: &App, line: &'a str) -> Line<'a> {
    if !app.color {
        return Line::raw(line);
    }
    let mut spans = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut plain_start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                let is_key = line[i..].trim_start().starts_with(':');
                spans.push(Span::raw(&line[plain_start..start]));
                let color = if is_key { Color::Cyan } else { Color::Green };
                spans.push(Span::styled(&line[start..i], Style::default().fg(color)));
                plain_start = i;
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
                if i == 0 || matches!(bytes[i - 1], b' ' | b':' | b'[') =>
            {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b',' | b' ' | b']' | b'}') {
                    i += 1;
                }
                spans.push(Span::raw(&line[plain_start..start]));
                spans.push(Span::styled(
                    &line[start..i],
                    Style::default().fg(Color::Magenta),
                ));
                plain_start = i;
            }
            _ => i += 1,
        }
    }
    if plain_start < line.len() {
        spans.push(Span::raw(&line[plain_start..]));
    }
    Line::from(spans)
}
