//! The inspector at 1,000,000 captures: each filter keystroke (the list rebuilt, the new
//! selection's detail derived) and each tab's frame, against the 16 ms of one frame at 60 Hz.
//! Prints a table, every keystroke of every filter (the filter text after it, the rows shown,
//! the time) and the slowest one, then the same figures as one JSON object, with the bytes per
//! capture of the filter index and of the whole inspector (rows included).
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

    let rss_before = rss_bytes();
    let mut app = App::new(HeaderInfo::default(), 1_764_151_300_000);
    let t = Instant::now();
    let first = app.load_rows(rows(n));
    play(&mut app, &template, first);
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let inspector_bytes = rss_bytes().saturating_sub(rss_before) as f64 / n as f64;

    // Filter keystrokes: open the line, type, then Backspace and Esc back to everything.
    let mut keys = Stats::new("filter keystroke");
    let mut per_filter: Vec<(&str, Vec<Key>)> = Vec::new();
    for filter in [
        "invalid",
        "type:failed",
        "key:job_99",
        "-valid",
        "dup",
        "job_5",
        // Needles in every row: the search cannot stop early anywhere.
        "e",
        "key:-completed",
        "9",
        "invalid job_3 -dup",
        "status:401 key:job_12",
    ] {
        press(&mut app, &template, KeyCode::Char('/'));
        let mut typed = Vec::new();
        let mut text = String::new();
        for c in filter.chars() {
            text.push(c);
            let ms = press(&mut app, &template, KeyCode::Char(c));
            typed.push(Key::new(format!("typed {text}"), ms, &app));
        }
        // Back to the start, one key at a time (each an earlier filter), then Esc.
        while text.pop().is_some() {
            let ms = press(&mut app, &template, KeyCode::Backspace);
            typed.push(Key::new(format!("Backspace to {text}"), ms, &app));
        }
        for c in filter.chars().take(3) {
            text.push(c);
            let ms = press(&mut app, &template, KeyCode::Char(c));
            typed.push(Key::new(format!("typed {text} again"), ms, &app));
        }
        let ms = press(&mut app, &template, KeyCode::Esc);
        typed.push(Key::new("Esc".into(), ms, &app));
        keys.samples.extend(typed.iter().map(|k| k.ms));
        per_filter.push((filter, typed));
    }
    let slowest_of = |keys: &[Key]| -> usize {
        (0..keys.len())
            .max_by(|&a, &b| keys[a].ms.total_cmp(&keys[b].ms))
            .expect("keys were pressed")
    };
    let (slowest_filter, slowest) = per_filter
        .iter()
        .map(|(f, keys)| (*f, &keys[slowest_of(keys)]))
        .max_by(|a, b| a.1.ms.total_cmp(&b.1.ms))
        .expect("filters were typed");

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
    println!("every keystroke: the filter after it, ms, rows shown");
    for (filter, keys) in &per_filter {
        let worst = &keys[slowest_of(keys)];
        println!("  /{filter}: slowest {:.2} ms ({})", worst.ms, worst.what);
        for line in keys.chunks(4) {
            let cells: Vec<String> = line
                .iter()
                .map(|k| format!("{:<30} {:6.2} {:>8}", k.what, k.ms, k.shown))
                .collect();
            println!("    {}", cells.join(" | "));
        }
    }
    println!(
        "slowest keystroke: {:.2} ms, /{slowest_filter}: {} ({} rows shown)",
        slowest.ms, slowest.what, slowest.shown
    );
    let json_str = |s: &str| serde_json::to_string(s).expect("a string");
    let filters: Vec<String> = per_filter
        .iter()
        .map(|(filter, keys)| {
            let worst = &keys[slowest_of(keys)];
            format!(
                "{{\"filter\":{},\"max_ms\":{:.3},\"slowest_key\":{},\"rows_shown\":{}}}",
                json_str(filter),
                worst.ms,
                json_str(&worst.what),
                worst.shown
            )
        })
        .collect();
    let mut extra = heap_report(&app, n, inspector_bytes);
    extra.push_str(&format!(
        "\"keystroke_max_ms\":{:.3},\"slowest_key\":{{\"filter\":{},\"key\":{},\"ms\":{:.3},\"rows_shown\":{}}},\"per_filter\":[{}],",
        slowest.ms,
        json_str(slowest_filter),
        json_str(&slowest.what),
        slowest.ms,
        slowest.shown,
        filters.join(",")
    ));
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

/// One timed keystroke: the filter text it left, the time, the rows the list then showed.
struct Key {
    what: String,
    ms: f64,
    shown: usize,
}

impl Key {
    fn new(what: String, ms: f64, app: &App) -> Key {
        Key {
            what,
            ms,
            shown: app.visible_len(),
        }
    }
}

/// Resident bytes of this process (Linux; 0 elsewhere).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// What the inspector holds per capture: its filter index (columns, list positions, kept
/// results; counted exactly) and everything, its rows included (the resident growth while
/// loading them).
fn heap_report(app: &App, n: u64, inspector_bytes: f64) -> String {
    let bytes = app.columns_heap_bytes() as f64 / n as f64;
    println!(
        "filter index (columns, list, kept results): {bytes:.0} bytes per capture; \
         the whole inspector, rows included: {inspector_bytes:.0} bytes per capture (resident growth)"
    );
    format!(
        "\"columns_bytes_per_capture\":{bytes:.0},\"inspector_bytes_per_capture\":{inspector_bytes:.0},"
    )
}
