//! Pure rendering: `render(&App, &mut Frame)` lays out the header (secrets by fingerprint
//! only), the request list, the detail pane (drawn by `tabs`), the footer (its text from
//! `footer`) and the overlays (the diff coloured, the curl command wrapped). It notes where the
//! panes landed in `App::hits` for the mouse. Everything from a request is already escaped by
//! `sanitize` before it becomes a `Span`; only visible rows and lines are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, Wrap};

use super::app::{App, Focus, Overlay, OverlayKind};
use super::keys::KEYS;
use super::style::{badge, fg, short_type};
use super::tabs::render_detail;
use crate::fmt::{clock, skew};
use crate::model::record::Summary;
use crate::sanitize::escape_line;

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(6),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(app, frame, header);
    let list_height = (body.height * 2 / 5).max(4);
    let [list, detail] =
        Layout::vertical([Constraint::Length(list_height), Constraint::Min(3)]).areas(body);
    render_list(app, frame, list);
    render_detail(app, frame, detail);
    render_footer(app, frame, footer);
    if app.help {
        render_help(app, frame, area);
    }
    if let Some(overlay) = &app.overlay {
        render_overlay(app, overlay, frame, inset(area, 2, 1));
    }
}

/// The diff (its `+` lines green, `-` lines red) or the curl command (wrapped, so all of it
/// can be read), scrolled.
fn render_overlay(app: &App, overlay: &Overlay, frame: &mut Frame, rect: Rect) {
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} (Esc closes, j/k scroll) ", overlay.title));
    let para = match overlay.kind {
        OverlayKind::Diff => {
            // Only the lines in view are styled.
            let lines: Vec<Line> = overlay
                .text
                .lines()
                .skip(overlay.scroll as usize)
                .take(rect.height as usize)
                .map(|l| {
                    let color = match l.as_bytes().first() {
                        Some(b'+') => Some(Color::Green),
                        Some(b'-') => Some(Color::Red),
                        _ => None,
                    };
                    match color {
                        Some(c) => Line::styled(l, fg(app, c)),
                        None => Line::raw(l),
                    }
                })
                .collect();
            Paragraph::new(lines).block(block)
        }
        OverlayKind::Text => Paragraph::new(overlay.text.as_str())
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((overlay.scroll, 0)),
    };
    frame.render_widget(para, rect);
}

fn inset(area: Rect, dx: u16, dy: u16) -> Rect {
    Rect {
        x: area.x + dx.min(area.width / 4),
        y: area.y + dy.min(area.height / 4),
        width: area.width.saturating_sub(2 * dx.min(area.width / 4)),
        height: area.height.saturating_sub(2 * dy.min(area.height / 4)),
    }
}

fn render_header(app: &App, frame: &mut Frame, area: Rect) {
    let (total, valid, rejected) = app.counts();
    // Fingerprints only: the header never shows a character of a secret.
    let secrets = match app.header.secrets.len() {
        0 => "secret none (unverified)".to_string(),
        1 => format!("secret {}", app.header.secrets[0]),
        _ => format!("secrets {}", app.header.secrets.join(", ")),
    };
    let line1 = Line::from(vec![
        Span::styled(
            "hooklens ",
            fg(app, Color::Cyan).add_modifier(Modifier::BOLD),
        ),
        Span::raw(app.header.addresses.join("  ")),
        Span::raw(match &app.header.forward {
            Some(f) => format!("  {f}"),
            None => String::new(),
        }),
    ]);
    let line2 = Line::from(vec![
        Span::raw(format!(
            "{secrets} · {} · ±{}s · {total} captures ",
            app.header.scheme, app.header.tolerance_secs
        )),
        Span::styled(format!("✓{valid} "), fg(app, Color::Green)),
        Span::styled(format!("✗{rejected}"), fg(app, Color::Red)),
        Span::raw(if app.follow { " · follow" } else { "" }),
    ]);
    frame.render_widget(Paragraph::new(vec![line1, line2]), area);
}

fn list_row<'a>(app: &App, r: &'a Summary, forwarding: bool) -> Row<'a> {
    let (label, color) = badge(r.outcome);
    let mut cells = vec![
        Span::raw(clock(r.received_at_ms)),
        Span::raw(r.id.to_string()),
        Span::raw(escape_line(r.method.as_bytes())),
        Span::raw(escape_line(r.target.as_bytes())),
        Span::raw(short_type(r.event_type.as_deref())),
        Span::styled(label, fg(app, color)),
        Span::raw(skew(r.skew_secs)),
        Span::styled(
            // 0: relayed, the answer not known yet (or never recorded).
            if r.response_status == crate::model::exchange::ANSWER_RELAYED {
                "-".to_owned()
            } else {
                r.response_status.to_string()
            },
            fg(
                app,
                if (1..300).contains(&r.response_status) {
                    Color::Green
                } else {
                    Color::Red
                },
            ),
        ),
    ];
    if forwarding {
        cells.push(match r.exchange.as_ref().map(|e| e.receiver_status) {
            Some(Some(status)) => Span::styled(
                status.to_string(),
                fg(
                    app,
                    if status < 300 {
                        Color::Green
                    } else {
                        Color::Red
                    },
                ),
            ),
            Some(None) => Span::styled("err", fg(app, Color::Red)),
            None => Span::raw("-"),
        });
    }
    cells.push(Span::styled(
        if r.dup_of.is_some() { "dup" } else { "" },
        fg(app, Color::Yellow),
    ));
    Row::new(cells)
}

fn render_list(app: &App, frame: &mut Frame, area: Rect) {
    let focused = app.focus == Focus::List;
    let title = match (app.filter_input.as_deref(), app.filter_text()) {
        (Some(input), _) => format!(" /{}▏ ", escape_line(input.as_bytes())),
        (None, "") => format!(" Requests ({}) ", app.visible_len()),
        (None, f) => format!(
            " Requests ({}) filter: {} ",
            app.visible_len(),
            escape_line(f.as_bytes())
        ),
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .title(title)
        .border_style(if focused {
            fg(app, Color::Cyan)
        } else {
            Style::default()
        });
    let inner_rows = area.height.saturating_sub(2) as usize; // border + table header
    let mut hits = app.hits.get();
    hits.list = area;
    hits.first_row_y = area.y.saturating_add(2);
    app.hits.set(hits);
    if app.visible_len() == 0 {
        let waiting = format!(
            "Waiting for webhooks… POST anything to {}",
            app.header
                .addresses
                .first()
                .map_or("the listener", |a| a.as_str())
        );
        let msg = if !app.filter_text().is_empty() {
            "No capture matches the filter (Esc clears it).".to_string()
        } else if app.view_cleared() {
            format!("View cleared; new captures show here. {waiting}")
        } else {
            waiting
        };
        frame.render_widget(Paragraph::new(msg).block(block), area);
        return;
    }
    // Only the visible window is built, so a million captures cost the same as ten.
    let selected = app.selected_pos().unwrap_or(0);
    let mut offset = app.list_offset.get();
    if selected < offset {
        offset = selected;
    } else if inner_rows > 0 && selected >= offset + inner_rows {
        offset = selected + 1 - inner_rows;
    }
    offset = offset.min(app.visible_len().saturating_sub(inner_rows.max(1)));
    app.list_offset.set(offset);
    let end = (offset + inner_rows).min(app.visible_len());
    let window: Vec<&Summary> = (offset..end).filter_map(|p| app.visible_row(p)).collect();
    // Column widths fit the visible window, so the path keeps as much room as possible.
    let width_of = |f: &dyn Fn(&Summary) -> usize, min: usize| {
        window.iter().map(|r| f(r)).max().unwrap_or(min).max(min) as u16
    };
    let id_w = width_of(&|r| r.id.to_string().len(), 2);
    let method_w = width_of(&|r| r.method.len().min(7), 4);
    let type_w = width_of(
        &|r| short_type(r.event_type.as_deref()).chars().count().min(16),
        4,
    );
    let forwarding = app.header.forward.is_some();
    let rows: Vec<Row> = window
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let row = list_row(app, r, forwarding);
            if offset + i == selected {
                row.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                row
            }
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(id_w),
        Constraint::Length(method_w),
        Constraint::Min(12),
        Constraint::Length(type_w),
        Constraint::Length(12),
        Constraint::Length(5),
        Constraint::Length(4),
    ];
    let mut titles = vec![
        "time", "id", "method", "path", "type", "verdict", "skew", "resp",
    ];
    if forwarding {
        widths.push(Constraint::Length(4));
        titles.push("fwd");
    }
    widths.push(Constraint::Length(3));
    titles.push("");
    let table = Table::new(rows, widths)
        .header(Row::new(titles).style(Style::default().add_modifier(Modifier::BOLD)))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let text = super::footer::footer_text(app.status.as_deref(), area.width as usize);
    frame.render_widget(Paragraph::new(text).style(fg(app, Color::DarkGray)), area);
}

fn render_help(app: &App, frame: &mut Frame, area: Rect) {
    let rect = inset(area, 4, 2);
    frame.render_widget(Clear, rect);
    let mut lines: Vec<Line> = KEYS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("{:<12}", b.keys), fg(app, Color::Cyan)),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::raw(
        "Verdicts: ✓ valid  ✗ invalid/missing/malformed  ⏱ stale  ? unverified",
    ));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Keys (any key closes) "),
        ),
        rect,
    );
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    use super::*;
    use crate::front::tui::app::{Action, App, HeaderInfo};
    use crate::model::capture::{Capture, CaptureId};
    use crate::model::record::CaptureRecord;
    use crate::verify::{Hint, MatchedSecret, Outcome, Verdict};

    const NOW_MS: i64 = 1_700_000_010_000;

    fn header() -> HeaderInfo {
        HeaderInfo {
            addresses: vec!["http://127.0.0.1:8787".into()],
            forward: None,
            secrets: HeaderInfo::fingerprints(&[
                crate::model::secret::Secret::new("dev_secret").unwrap()
            ]),
            scheme: "modelgates".into(),
            tolerance_secs: 300,
        }
    }

    fn record(id: u64, body: &[u8], verdict: Verdict) -> CaptureRecord {
        let mut capture = Capture::fixture(
            body,
            &[
                ("Host", "127.0.0.1:8787"),
                ("Content-Type", "application/json"),
                (
                    "X-ModelGates-Signature",
                    "t=1700000000,v1=5257a869e7ecebeda32affa62cdcab3fa0c2d1a9e2d8cd0e0e4e6e8e1a2b3c4d",
                ),
                ("X-ModelGates-Idempotency-Key", "job_test-completed"),
            ],
        );
        capture.id = CaptureId(id);
        capture.received_at_ms = 1_700_000_000_000 + id as i64 * 1000;
        let env = crate::envelope::summarize(body);
        CaptureRecord {
            response_status: if verdict.outcome.is_rejected() {
                401
            } else {
                204
            },
            capture,
            verdict,
            event_type: env.event_type,
            data_id: env.data_id,
            idempotency_key: Some("job_test-completed".into()),
        }
    }

    fn summary(r: &CaptureRecord) -> Summary {
        Summary::of(r)
    }

    fn valid() -> Verdict {
        let mut v = Verdict::new(
            Some("modelgates"),
            Outcome::Valid,
            "signature matches secret 0, timestamp 10 s old",
        );
        v.timestamp = Some(1_700_000_000);
        v.skew_secs = Some(-10);
        v.matched_secret = Some(MatchedSecret {
            index: 0,
            fingerprint: "9c3f6fbb".into(),
        });
        v
    }

    const BODY: &[u8] = br#"{"type":"video.generation.completed","created_at":"2026-11-26T10:00:00.000Z","data":{"id":"job_test","status":"completed","unsigned_urls":["https://example.com/video.mp4"]}}"#;

    fn screen(app: &App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|f| render(app, f)).unwrap();
        screen_text(terminal.backend().buffer())
    }

    /// The screen as text, one trimmed line per row (for the render and loop tests).
    pub(crate) fn screen_text(buf: &ratatui::buffer::Buffer) -> String {
        let mut out = String::new();
        for y in 0..buf.area.height {
            let line: String = (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    fn app_with(records: Vec<CaptureRecord>) -> App {
        let mut app = App::new(header(), NOW_MS);
        app.color = false;
        app.load_rows(records.iter().map(summary).collect());
        if let Some(last) = records.last() {
            app.set_detail(Arc::new(last.clone()), Vec::new());
        }
        app
    }

    #[test]
    fn empty_state() {
        insta::assert_snapshot!(screen(&app_with(vec![]), 80, 24));
    }

    #[test]
    fn valid_delivery_80x24() {
        let app = app_with(vec![record(1, BODY, valid())]);
        let text = screen(&app, 80, 24);
        assert!(text.contains("✓ valid"));
        assert!(
            text.contains("job        job_test  completed"),
            "the job id without opening the body: {text}"
        );
        insta::assert_snapshot!(text);
    }

    /// Presses a key and plays its action as the loop would: a load installs that record.
    fn play(app: &mut App, records: &[CaptureRecord], key: KeyEvent) {
        if let Some(Action::Load(id)) = app.handle_key(key) {
            let r = records.iter().find(|r| r.capture.id == id).unwrap();
            app.set_detail(Arc::new(r.clone()), Vec::new());
        }
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::from(c)
    }

    /// The id in the highlighted (reversed) list row.
    fn highlighted_id(terminal: &Terminal<TestBackend>) -> Option<String> {
        let buf = terminal.backend().buffer();
        (0..buf.area.height).find_map(|y| {
            let reversed = buf[(9, y)].modifier.contains(Modifier::REVERSED);
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            reversed.then(|| line.split_whitespace().nth(1).unwrap_or("").to_string())
        })
    }

    fn stale() -> Verdict {
        let mut v = Verdict::new(Some("modelgates"), Outcome::Stale, "timestamp 400 s old");
        v.timestamp = Some(1_699_999_600);
        v.skew_secs = Some(-400);
        v
    }

    #[test]
    fn after_filtering_the_highlighted_row_and_the_detail_show_the_same_capture() {
        let records = vec![
            record(1, BODY, valid()),
            record(2, BODY, stale()),
            record(3, BODY, valid()),
        ];
        let mut app = app_with(records.clone());
        assert_eq!(app.selected_row().unwrap().id, CaptureId(3));
        play(&mut app, &records, key(KeyCode::Char('/')));
        for c in "stale".chars() {
            play(&mut app, &records, key(KeyCode::Char(c)));
        }
        play(&mut app, &records, key(KeyCode::Enter));
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| render(&app, f)).unwrap();
        let text = screen_text(terminal.backend().buffer());
        assert_eq!(highlighted_id(&terminal).as_deref(), Some("#2"), "{text}");
        let detail = text
            .lines()
            .skip_while(|l| !l.contains("1 Overview"))
            .nth(1)
            .unwrap();
        assert_eq!(
            detail, "⏱ stale  modelgates · timestamp 400 s old",
            "{text}"
        );
        // Clearing the filter keeps #2 selected and shown.
        play(&mut app, &records, key(KeyCode::Esc));
        terminal.draw(|f| render(&app, f)).unwrap();
        assert_eq!(highlighted_id(&terminal).as_deref(), Some("#2"));
        assert_eq!(app.detail.as_ref().unwrap().record.capture.id, CaptureId(2));
    }

    #[test]
    fn no_capture_matches_the_filter_is_said_only_when_a_filter_is_set() {
        let records = vec![record(1, BODY, valid())];
        let mut app = app_with(records.clone());
        app.handle_key(key(KeyCode::Char('c')));
        let text = screen(&app, 80, 24);
        assert!(!text.contains("No capture matches"), "{text}");
        assert!(
            text.contains("View cleared; new captures show here"),
            "{text}"
        );
        let mut app = app_with(records);
        app.handle_key(key(KeyCode::Char('/')));
        for c in "stale".chars() {
            app.handle_key(key(KeyCode::Char(c)));
        }
        let text = screen(&app, 80, 24);
        assert!(text.contains("No capture matches the filter"), "{text}");
    }

    #[test]
    fn the_footer_at_80x24_keeps_help_and_quit_with_a_long_status() {
        let status = "replay of #12: connecting to http://127.0.0.1:3000/hook: connection refused (is the receiver running?)";
        // At 80×24 the rendered footer says it too, with a status.
        let mut app = app_with(vec![record(1, BODY, valid())]);
        app.status = Some(status.into());
        let text = screen(&app, 80, 24);
        let footer = text.lines().last().unwrap();
        assert!(
            footer.contains("? help") && footer.contains("q quit"),
            "{footer}"
        );
        assert!(
            footer.starts_with("replay of #12:") && footer.contains('…'),
            "{footer}"
        );
    }

    #[test]
    fn the_header_shows_the_fingerprint_and_no_character_of_the_secret() {
        let secret = crate::model::secret::Secret::new("dev_secret").unwrap();
        let mut app = app_with(vec![]);
        app.header.secrets = HeaderInfo::fingerprints(std::slice::from_ref(&secret));
        let text = screen(&app, 120, 24);
        let header: String = text.lines().take(2).collect::<Vec<_>>().join("\n");
        assert!(
            header.contains(&format!("secret {}", secret.fingerprint())),
            "{header}"
        );
        assert!(!header.contains("dev") && !header.contains('…'), "{header}");
    }

    #[test]
    fn the_diff_is_coloured_and_the_curl_overlay_wraps_all_of_it() {
        let mut app = app_with(vec![record(1, BODY, valid())]);
        app.color = true;
        app.overlay = Some(Overlay {
            title: "diff #1 → #2".into(),
            text: "--- #1\n+++ #2\n POST /x\n-X-A: 1\n+X-A: 2\n".into(),
            scroll: 0,
            kind: OverlayKind::Diff,
        });
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| render(&app, f)).unwrap();
        let buf = terminal.backend().buffer();
        let row_of = |needle: &str| {
            (0..24)
                .find(|&y| {
                    let line: String = (0..80).map(|x| buf[(x, y)].symbol()).collect();
                    line.contains(needle)
                })
                .unwrap()
        };
        assert_eq!(buf[(3, row_of("-X-A: 1"))].fg, Color::Red);
        assert_eq!(buf[(3, row_of("+X-A: 2"))].fg, Color::Green);
        assert_eq!(buf[(3, row_of(" POST /x"))].fg, Color::Reset);

        let long = format!(
            "curl -X POST 'http://127.0.0.1:8787/x' --data-binary '{}END'",
            "a".repeat(300)
        );
        app.overlay = Some(Overlay {
            title: "curl for #1".into(),
            text: long,
            scroll: 0,
            kind: OverlayKind::Text,
        });
        let text = screen(&app, 80, 24);
        assert!(
            text.contains("END'"),
            "the end of the command is on screen: {text}"
        );
    }

    #[test]
    fn invalid_with_hint() {
        let mut v = Verdict::new(
            Some("modelgates"),
            Outcome::InvalidSignature,
            "no v1 signature matches the configured secret (timestamp 10 s old)",
        );
        v.timestamp = Some(1_700_000_000);
        v.skew_secs = Some(-10);
        v.hints.push(Hint {
            code: "trailing_newline".into(),
            message: "the signature matches the secret with a trailing newline".into(),
        });
        let app = app_with(vec![record(1, BODY, valid()), record(2, BODY, v)]);
        let text = screen(&app, 80, 24);
        assert!(text.contains("✗ invalid") && text.contains("hint: the signature matches"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn binary_body_as_hex_dump() {
        let mut app = app_with(vec![record(1, b"\x00\x01\x02\xffPNG\r\n", valid())]);
        app.tab = 2;
        let text = screen(&app, 80, 24);
        assert!(text.contains("00000000  00 01 02 ff 50 4e 47 0d  0a"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn escape_sequences_are_shown_not_executed() {
        let mut app = app_with(vec![record(1, b"\x1b[2J\x1b[31mhello\x1b[0m", valid())]);
        app.tab = 2;
        let text = screen(&app, 80, 24);
        assert!(text.contains(r"\e[2J\e[31mhello\e[0m"), "{text}");
        assert!(!text.contains('\x1b'));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn help_overlay() {
        let mut app = app_with(vec![record(1, BODY, valid())]);
        app.help = true;
        insta::assert_snapshot!(screen(&app, 80, 24));
    }

    #[test]
    fn shape_tab_highlights_inconsistencies() {
        let body =
            br#"{"type":"video.generation.completed","data":{"id":"job_test","status":"failed"}}"#;
        let mut app = app_with(vec![record(1, body, valid())]);
        app.tab = 3;
        let text = screen(&app, 100, 30);
        assert!(
            text.contains("⚠ data.status is \"failed\" but the type says \"completed\""),
            "{text}"
        );
    }

    #[test]
    fn forward_outcomes_show_in_the_list_and_the_forward_tab() {
        let mut app = app_with(vec![record(1, BODY, valid()), record(2, BODY, valid())]);
        app.header.forward = Some("forwarding POST /app → http://127.0.0.1:3000/app".into());
        let target = crate::net::client::Target::parse("http://127.0.0.1:3000/app").unwrap();
        let sent = crate::net::forward::Sent {
            headers: vec![crate::model::capture::Header::new("Host", "127.0.0.1:3000")],
            path: "/app/modelgates/video-webhook".into(),
            result: Ok(crate::net::client::Reply {
                version: crate::model::exchange::HTTP_11,
                status: 204,
                reason: "No Content".into(),
                headers: Vec::new(),
                body: bytes::Bytes::new(),
                early: false,
            }),
            latency_us: 3_100,
            flags: Vec::new(),
        };
        let exchange = sent.record(
            crate::model::exchange::ExchangeKind::Forward,
            CaptureId(2),
            NOW_MS,
            "POST",
            &target,
            BODY,
            BODY,
            crate::model::exchange::Prepared::default(),
        );
        app.apply(&crate::model::record::Event::Forwarded(Arc::new(exchange)));
        app.tab = 4;
        let text = screen(&app, 100, 30);
        assert!(text.contains("fwd"), "{text}");
        assert!(
            text.contains("forward ")
                && text.contains("POST http://127.0.0.1:3000/app/modelgates/video-webhook"),
            "{text}"
        );
        assert!(text.contains("answer    204 No Content in 3.1ms"), "{text}");
        assert!(text.contains("✓ same body bytes"), "{text}");
        let second = text
            .lines()
            .find(|l| l.contains("#2 ") && l.contains("POST"))
            .unwrap();
        assert!(
            second.contains(" 204  204"),
            "resp and fwd columns: {second}"
        );
        let first = text
            .lines()
            .find(|l| l.contains("#1 ") && l.contains("POST"))
            .unwrap();
        assert!(
            first.trim_end().ends_with('-'),
            "not forwarded yet: {first}"
        );
    }

    #[test]
    fn a_relayed_404_is_the_status_in_the_list_and_the_overview() {
        let mut relayed = record(1, BODY, valid());
        relayed.response_status = crate::model::exchange::ANSWER_RELAYED;
        let mut app = app_with(vec![relayed]);
        let text = screen(&app, 100, 30);
        assert!(text.contains("response   none recorded"), "{text}");
        let target = crate::net::client::Target::parse("http://127.0.0.1:3000/hook").unwrap();
        let sent = crate::net::forward::Sent {
            headers: Vec::new(),
            path: "/hook".into(),
            result: Ok(crate::net::client::Reply {
                version: crate::model::exchange::HTTP_11,
                status: 404,
                reason: "Not Found".into(),
                headers: Vec::new(),
                body: bytes::Bytes::new(),
                early: false,
            }),
            latency_us: 900,
            flags: Vec::new(),
        };
        let exchange = sent.record(
            crate::model::exchange::ExchangeKind::Forward,
            CaptureId(1),
            NOW_MS,
            "POST",
            &target,
            BODY,
            BODY,
            crate::model::exchange::Prepared {
                relayed: true,
                ..Default::default()
            },
        );
        app.apply(&crate::model::record::Event::Forwarded(Arc::new(exchange)));
        let text = screen(&app, 100, 30);
        assert!(text.contains("response   404 · from"), "{text}");
        let row = text
            .lines()
            .find(|l| l.contains("#1 ") && l.contains("POST"))
            .unwrap();
        assert!(row.trim_end().ends_with(" 404"), "the resp column: {row}");
    }

    #[test]
    fn a_million_rows_render_only_the_window() {
        let r = record(1, BODY, valid());
        let base = summary(&r);
        let rows: Vec<Summary> = (1..=1_000_000u64)
            .map(|i| Summary {
                id: CaptureId(i),
                ..base.clone()
            })
            .collect();
        let mut app = App::new(header(), NOW_MS);
        app.load_rows(rows);
        let text = screen(&app, 80, 24);
        assert!(
            text.contains("#1000000") && text.contains("1000000 captures"),
            "{text}"
        );
    }
}
