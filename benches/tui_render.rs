//! TUI frame time with 1,000,000 captures in the list (target: well under 16 ms per frame).
//! `cargo bench --bench tui_render`

use std::sync::Arc;
use std::time::Instant;

use hooklens::front::tui::{App, HeaderInfo};
use hooklens::model::capture::CaptureId;
use hooklens::model::record::Summary;
use hooklens::verify::Outcome;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = 1_000_000u64;
    let target: Arc<str> = Arc::from("/modelgates/video-webhook");
    let kind: Arc<str> = Arc::from("video.generation.completed");
    let method: Arc<str> = Arc::from("POST");
    let rows: Vec<Summary> = (1..=n)
        .map(|i| Summary {
            id: CaptureId(i),
            received_at_ms: 1_764_151_200_000 + i as i64,
            method: method.clone(),
            target: target.clone(),
            event_type: Some(kind.clone()),
            outcome: if i % 7 == 0 {
                Outcome::InvalidSignature
            } else {
                Outcome::Valid
            },
            skew_secs: Some(-1),
            idempotency_key: Some(format!("job_{i}-completed").into()),
            data_id: Some(format!("job_{i}").into()),
            dup_of: None,
            body_len: 300,
            truncated: false,
            response_status: 204,
            exchange: None,
        })
        .collect();
    let mut app = App::new(HeaderInfo::default(), 1_764_151_300_000);
    let t = Instant::now();
    app.load_rows(rows);
    println!(
        "loaded {n} rows into the inspector in {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    app.handle_key(KeyEvent::from(KeyCode::Char('/')));
    for c in "invalid".chars() {
        app.handle_key(KeyEvent::from(KeyCode::Char(c)));
    }
    app.handle_key(KeyEvent::from(KeyCode::Esc));
    println!(
        "filter over {n} rows (type 'invalid', then clear): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut frames = Vec::new();
    for i in 0..500 {
        // Move around so the window really changes: jump to the top, then walk down.
        let key = if i == 0 {
            KeyCode::Char('g')
        } else {
            KeyCode::Char('j')
        };
        app.handle_key(KeyEvent::from(key));
        let t = Instant::now();
        terminal
            .draw(|f| hooklens::front::tui::ui::render(&app, f))
            .unwrap();
        frames.push(t.elapsed().as_micros() as u64);
    }
    frames.sort_unstable();
    let mean = frames.iter().sum::<u64>() as f64 / frames.len() as f64;
    println!(
        "frame with {n} captures at 120x40: mean {:.0} µs, p50 {} µs, p99 {} µs, max {} µs",
        mean,
        frames[frames.len() / 2],
        frames[frames.len() * 99 / 100],
        frames[frames.len() - 1]
    );
}
