//! The inspector at 1,000,000 captures: each filter keystroke (the list rebuilt, the new
//! selection's detail derived) and each tab's frame, against the 16 ms of one frame at 60 Hz.
//! Prints a table, then the same figures as one JSON object.
//! `cargo bench --bench tui_render` (`HOOKLENS_BENCH_ROWS=N` for another size)

use std::sync::Arc;
use std::time::Instant;

use hooklens::front::tui::{Action, App, HeaderInfo};
use hooklens::model::capture::{Capture, CaptureId};
use hooklens::model::record::{CaptureRecord, Summary};
use hooklens::verify::{Outcome, Verdict};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

const BODY: &[u8] = br#"{"type":"video.generation.completed","created_at":"2026-11-26T10:00:00.000Z","data":{"id":"job_1","status":"completed","unsigned_urls":["https://example.com/video.mp4"]}}"#;

struct Stats {
    name: String,
    samples: Vec<f64>,
}

impl Stats {
    fn new(name: impl Into<String>) -> Stats {
        Stats {
            name: name.into(),
            samples: Vec::new(),
        }
    }

    fn q(&self, f: f64) -> f64 {
        let mut s = self.samples.clone();
        s.sort_by(f64::total_cmp);
        s[((s.len() - 1) as f64 * f) as usize]
    }
}

fn rows(n: u64) -> Vec<Summary> {
    let target: Arc<str> = Arc::from("/modelgates/video-webhook");
    let kinds: [Arc<str>; 3] = [
        Arc::from("video.generation.completed"),
        Arc::from("video.generation.failed"),
        Arc::from("video.generation.cancelled"),
    ];
    let method: Arc<str> = Arc::from("POST");
    (1..=n)
        .map(|i| {
            // Every tenth delivery is a retry of the one before (same job, same key).
            let job = if i.is_multiple_of(10) { i - 1 } else { i };
            Summary {
                id: CaptureId(i),
                received_at_ms: 1_764_151_200_000 + i as i64,
                method: method.clone(),
                target: target.clone(),
                event_type: Some(kinds[(job % 3) as usize].clone()),
                outcome: match i % 7 {
                    0 => Outcome::InvalidSignature,
                    3 => Outcome::Stale,
                    _ => Outcome::Valid,
                },
                skew_secs: Some(-1),
                idempotency_key: Some(format!("job_{job}-completed").into()),
                data_id: Some(format!("job_{job}").into()),
                dup_of: i.is_multiple_of(10).then_some(CaptureId(i - 1)),
                body_len: BODY.len() as u64,
                truncated: false,
                response_status: if i.is_multiple_of(7) || i % 7 == 3 {
                    401
                } else {
                    204
                },
                exchange: None,
            }
        })
        .collect()
}

/// What the loop does with an action: a load installs the (here: made-up) record of that id.
fn play(app: &mut App, template: &CaptureRecord, action: Option<Action>) {
    if let Some(Action::Load(id)) = action {
        let mut record = template.clone();
        record.capture.id = id;
        let row = app.selected_row().cloned();
        if let Some(row) = row {
            record.idempotency_key = row.idempotency_key.as_deref().map(str::to_owned);
            record.data_id = row.data_id.as_deref().map(str::to_owned);
        }
        app.set_detail(Arc::new(record), Vec::new());
    }
}

/// One key press and what it starts, timed (ms).
fn press(app: &mut App, template: &CaptureRecord, code: KeyCode) -> f64 {
    let t = Instant::now();
    let action = app.handle_key(KeyEvent::from(code));
    play(app, template, action);
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n: u64 = std::env::var("HOOKLENS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let mut template = CaptureRecord {
        capture: Capture::fixture(
            BODY,
            &[
                ("Host", "127.0.0.1:8787"),
                ("Content-Type", "application/json"),
                ("X-ModelGates-Signature", "t=1764151200,v1=00"),
                ("X-ModelGates-Idempotency-Key", "job_1-completed"),
            ],
        ),
        verdict: Verdict::new(Some("modelgates"), Outcome::Valid, "signature matches"),
        event_type: Some("video.generation.completed".into()),
        data_id: None,
        idempotency_key: None,
        response_status: 204,
    };
    template.verdict.timestamp = Some(1_764_151_200);
    template.verdict.skew_secs = Some(-1);

    let mut app = App::new(HeaderInfo::default(), 1_764_151_300_000);
    let t = Instant::now();
    let first = app.load_rows(rows(n));
    play(&mut app, &template, first);
    let load_ms = t.elapsed().as_secs_f64() * 1e3;

    // Filter keystrokes: open the line, type, then Backspace and Esc back to everything.
    let mut keys = Stats::new("filter keystroke");
    let mut per_filter = Vec::new();
    for filter in [
        "invalid",
        "type:failed",
        "key:job_99",
        "-valid",
        "dup",
        "job_5",
    ] {
        press(&mut app, &template, KeyCode::Char('/'));
        let mut typed = Vec::new();
        for c in filter.chars() {
            typed.push(press(&mut app, &template, KeyCode::Char(c)));
        }
        typed.push(press(&mut app, &template, KeyCode::Backspace));
        typed.push(press(&mut app, &template, KeyCode::Esc));
        let (worst, at) = typed
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, i))
            .fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
        let which = if at < filter.len() {
            format!("typing {:?}", &filter[..=at])
        } else if at == filter.len() {
            "Backspace".into()
        } else {
            "Esc".into()
        };
        per_filter.push(format!("  /{filter}: slowest key {worst:.2} ms ({which})"));
        keys.samples.extend(typed);
    }

    // Moving the selection: each step loads the next capture and derives its detail.
    let mut steps = Stats::new("j (select + derive detail)");
    press(&mut app, &template, KeyCode::Char('g'));
    for _ in 0..500 {
        steps
            .samples
            .push(press(&mut app, &template, KeyCode::Char('j')));
    }

    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut tabs = Vec::new();
    for (tab, name) in hooklens::front::tui::app::TABS.iter().enumerate() {
        press(
            &mut app,
            &template,
            KeyCode::Char(char::from(b'1' + tab as u8)),
        );
        let mut frames = Stats::new(format!("frame: {name} tab"));
        for i in 0..300u32 {
            // Move around so the window and the detail really change.
            let key = if i.is_multiple_of(100) { 'G' } else { 'k' };
            press(&mut app, &template, KeyCode::Char(key));
            let t = Instant::now();
            terminal
                .draw(|f| hooklens::front::tui::ui::render(&app, f))
                .unwrap();
            frames.samples.push(t.elapsed().as_secs_f64() * 1e3);
        }
        tabs.push(frames);
    }

    println!("inspector with {n} captures, 120x40 (target: 16 ms per keystroke and per frame)");
    println!("loaded the rows in {load_ms:.1} ms");
    println!(
        "{:<30} {:>9} {:>9} {:>9} {:>9}",
        "", "p50 ms", "p99 ms", "max ms", "samples"
    );
    let all: Vec<&Stats> = [&keys, &steps].into_iter().chain(tabs.iter()).collect();
    for s in &all {
        println!(
            "{:<30} {:>9.2} {:>9.2} {:>9.2} {:>9}",
            s.name,
            s.q(0.5),
            s.q(0.99),
            s.q(1.0),
            s.samples.len()
        );
    }
    for line in &per_filter {
        println!("{line}");
    }
    let extra = heap_report(&app, n);
    let json: Vec<String> = all
        .iter()
        .map(|s| {
            format!(
                "{{\"name\":\"{}\",\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"max_ms\":{:.3}}}",
                s.name,
                s.q(0.5),
                s.q(0.99),
                s.q(1.0)
            )
        })
        .collect();
    println!(
        "{{\"bench\":\"tui_render\",\"captures\":{n},\"load_ms\":{load_ms:.1},{extra}\"results\":[{}]}}",
        json.join(",")
    );
}

/// What the inspector adds beside its rows, per capture.
fn heap_report(app: &App, n: u64) -> String {
    let bytes = app.columns_heap_bytes() as f64 / n as f64;
    println!("filter columns: {bytes:.0} bytes per capture (beside the inspector's rows)");
    format!("\"columns_bytes_per_capture\":{bytes:.0},")
}
