//! The inspector state's tests, and the row builders other inspector tests share.

use super::*;
use crate::model::record::Stored;
use ratatui::crossterm::event::KeyEventKind;

pub fn row(id: u64, outcome: Outcome, key: Option<&str>) -> Summary {
    Summary {
        id: CaptureId(id),
        received_at_ms: 1_700_000_000_000 + id as i64 * 1000,
        method: Arc::from("POST"),
        target: Arc::from("/modelgates/video-webhook"),
        event_type: Some(Arc::from("video.generation.completed")),
        outcome,
        skew_secs: Some(-1),
        idempotency_key: key.map(Arc::from),
        data_id: None,
        dup_of: None,
        body_len: 169,
        truncated: false,
        response_status: if outcome.is_rejected() { 401 } else { 204 },
        exchange: None,
    }
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new_with_kind(KeyCode::Char(c), KeyModifiers::NONE, KeyEventKind::Press)
}

fn captured(r: Summary) -> Event {
    Event::Captured(Arc::new(Stored {
        verdict: crate::verify::Verdict::new(None, r.outcome, "x"),
        summary: r,
        tls: None,
    }))
}

#[test]
fn follow_keeps_newest_until_the_user_moves() {
    let mut app = App::new(HeaderInfo::default(), 0);
    assert_eq!(
        app.apply(&captured(row(1, Outcome::Valid, None))),
        Some(Action::Load(CaptureId(1)))
    );
    assert_eq!(
        app.apply(&captured(row(2, Outcome::Valid, None))),
        Some(Action::Load(CaptureId(2)))
    );
    assert_eq!(app.handle_key(key('k')), Some(Action::Load(CaptureId(1))));
    assert!(!app.follow);
    assert_eq!(app.apply(&captured(row(3, Outcome::Valid, None))), None);
    assert_eq!(app.selected_row().unwrap().id, CaptureId(1));
    assert_eq!(app.handle_key(key('G')), Some(Action::Load(CaptureId(3))));
    assert!(app.follow);
}

#[test]
fn filter_by_verdict_and_type_then_escape() {
    let mut app = App::new(HeaderInfo::default(), 0);
    app.load_rows(vec![
        row(1, Outcome::Valid, None),
        row(2, Outcome::InvalidSignature, None),
        row(3, Outcome::Stale, None),
    ]);
    app.handle_key(key('/'));
    for c in "invalid".chars() {
        app.handle_key(key(c));
    }
    app.handle_key(KeyEvent::from(KeyCode::Enter));
    assert_eq!(app.visible_len(), 2);
    assert_eq!(app.filter_text(), "invalid");
    app.handle_key(KeyEvent::from(KeyCode::Esc));
    assert_eq!(app.visible_len(), 3);
}

#[test]
fn replay_keys_ask_the_loop_which_finds_the_target() {
    let mut app = App::new(HeaderInfo::default(), 0);
    assert_eq!(app.handle_key(key('r')), None, "nothing selected");
    app.load_rows(vec![row(1, Outcome::Valid, None)]);
    assert_eq!(
        app.handle_key(key('r')),
        Some(Action::Replay(CaptureId(1), false))
    );
    assert_eq!(
        app.handle_key(key('R')),
        Some(Action::Replay(CaptureId(1), true))
    );
    assert_eq!(
        app.handle_key(key('e')),
        Some(Action::EditReplay(CaptureId(1)))
    );
}

#[test]
fn clear_view_mark_diff_tabs_and_quit() {
    let mut app = App::new(HeaderInfo::default(), 0);
    app.load_rows(vec![
        row(1, Outcome::Valid, Some("k")),
        row(2, Outcome::Valid, Some("k")),
    ]);
    assert_eq!(app.handle_key(key('d')), None);
    app.handle_key(key('m'));
    app.handle_key(key('k'));
    assert_eq!(
        app.handle_key(key('d')),
        Some(Action::Diff(CaptureId(2), CaptureId(1)))
    );
    app.handle_key(key('3'));
    assert_eq!(TABS[app.tab], "Body");
    app.handle_key(KeyEvent::from(KeyCode::Tab));
    assert_eq!(TABS[app.tab], "Shape");
    app.handle_key(key('c'));
    assert_eq!(app.visible_len(), 0);
    assert_eq!(app.counts().0, 2, "clearing the view keeps the captures");
    assert_eq!(app.handle_key(key('?')), None);
    assert!(app.help);
    app.handle_key(key('x'));
    assert!(!app.help);
    assert_eq!(app.handle_key(key('q')), Some(Action::Quit));
}

/// One step a user (or the listener) takes with the filter line open.
#[derive(Clone, Debug)]
enum Step {
    Type(char),
    Paste(&'static str),
    Backspace,
    /// Esc (the filter empties), then `/` again.
    Clear,
    /// Enter, `c` (hide everything so far), then `/` again.
    HideThrough,
    /// A new capture arrives: verdict, type, key, job.
    Arrive(u8, u8, u8, u8),
    /// A relayed forward gives this row (counted from the newest) another status.
    Relay(u8, u16),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        6 => proptest::sample::select(
            "job_1-2:kyetvdnis #x".chars().collect::<Vec<_>>()
        )
        .prop_map(Step::Type),
        2 => proptest::sample::select(vec![
            "key:job_1", "invalid", "type:fail", "-dup", "status:502", " job_", "#7",
            "job_17", "-e", "valid", "path:/b",
        ])
        .prop_map(Step::Paste),
        4 => Just(Step::Backspace),
        1 => Just(Step::Clear),
        1 => Just(Step::HideThrough),
        2 => (0u8..6, 0u8..3, 0u8..40, 0u8..4).prop_map(|(a, b, c, d)| Step::Arrive(a, b, c, d)),
        1 => (0u8..50, prop_oneof![Just(502u16), Just(200)]).prop_map(|(a, b)| Step::Relay(a, b)),
    ]
}

fn made_up(id: u64, (o, t, k, j): (u8, u8, u8, u8)) -> Summary {
    use crate::front::tui::columns::tests::OUTCOMES;
    let mut r = row(
        id,
        OUTCOMES[o as usize],
        // Keys that share a prefix and a suffix in long runs, as real ones do.
        match k {
            0..=29 => Some(format!("job_{k}-completed")),
            30..=35 => Some(format!("JOB_{k}-failed")),
            36 => Some(String::new()),
            _ => None,
        }
        .as_deref(),
    );
    r.event_type = ["video.failed", "video.completed", ""]
        .get(t as usize)
        .filter(|t| !t.is_empty())
        .map(|t| Arc::from(*t));
    r.target = Arc::from(if j == 0 { "/a?x=1" } else { "/b" });
    r.data_id = (j > 1).then(|| format!("job_{j}").into());
    r.dup_of = (k < 3).then_some(CaptureId(1));
    r
}

fn relayed(id: CaptureId, status: u16) -> Event {
    let digest = BodyDigest::of(b"");
    Event::Forwarded(Arc::new(Exchange {
        kind: crate::model::exchange::ExchangeKind::Forward,
        capture: id,
        at_ms: 0,
        url: "http://127.0.0.1:1/b".into(),
        method: "POST".into(),
        request_headers: Vec::new(),
        received: digest.clone(),
        sent: digest,
        integrity: Vec::new(),
        resigned: false,
        edited: false,
        relayed: true,
        latency_us: 1,
        response: None,
        error: None,
        status,
    }))
}

proptest::proptest! {
    /// Whatever was typed, pasted, erased or cleared, and whatever arrived meanwhile, the
    /// list shows exactly the rows a fresh filter over every row gives.
    #[test]
    fn the_list_always_equals_a_fresh_filter(
        first in proptest::collection::vec((0u8..6, 0u8..3, 0u8..40, 0u8..4), 0..200),
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let mut app = App::new(HeaderInfo::default(), 0);
        let rows: Vec<Summary> =
            first.iter().enumerate().map(|(i, s)| made_up(i as u64 + 1, *s)).collect();
        app.load_rows(rows);
        app.handle_key(key('/'));
        for step in steps {
            match step {
                Step::Type(c) => {
                    app.handle_key(key(c));
                }
                Step::Paste(text) => {
                    for c in text.chars() {
                        app.handle_key(key(c));
                    }
                }
                Step::Backspace => {
                    app.handle_key(KeyEvent::from(KeyCode::Backspace));
                }
                Step::Clear => {
                    app.handle_key(KeyEvent::from(KeyCode::Esc));
                    app.handle_key(key('/'));
                }
                Step::HideThrough => {
                    app.handle_key(KeyEvent::from(KeyCode::Enter));
                    app.handle_key(key('c'));
                    app.handle_key(key('/'));
                }
                Step::Arrive(o, t, k, j) => {
                    let id = app.rows().len() as u64 + 1;
                    app.apply(&captured(made_up(id, (o, t, k, j))));
                }
                Step::Relay(back, status) => {
                    if let Some(r) = app.rows().iter().rev().nth(back as usize) {
                        app.apply(&relayed(r.id, status));
                    }
                }
            }
            let fresh = Filter::parse(app.filter_text()).unwrap();
            let expected: Vec<CaptureId> = app
                .rows()
                .iter()
                .filter(|r| r.id.0 > app.hidden_through && fresh.matches(r, None))
                .map(|r| r.id)
                .collect();
            let shown: Vec<CaptureId> =
                (0..app.visible_len()).map(|p| app.visible_row(p).unwrap().id).collect();
            proptest::prop_assert_eq!(&shown, &expected, "filter {:?}", app.filter_text());
            proptest::prop_assert_eq!(app.selected_pos().is_some(), !shown.is_empty());
        }
    }
}
