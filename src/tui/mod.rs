//! The terminal inspector. `app` is the state, `ui` the pure renderer, `keys` the key table;
//! this module owns the terminal and the loop.
//!
//! The loop reads the store's event stream and never blocks the server: it drains everything
//! pending before each frame, resyncs from the index if it falls behind, and draws only when
//! something changed (plus a 1 s tick while a detail with a countdown is shown).

pub mod app;
pub mod keys;
pub mod ui;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use base64::Engine;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, KeyEventKind};
use ratatui::crossterm::execute;
use tokio::sync::{broadcast, mpsc};

use crate::capture::CaptureId;
use crate::sanitize::escape_text;
use crate::store::{CaptureRecord, Event, Store};
pub use app::{Action, App, HeaderInfo, Overlay};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Owns the terminal: raw mode, alternate screen and mouse capture on; restored on drop, so
/// every way out (quit, error, SIGTERM, panic via ratatui's hook) leaves the terminal usable.
struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    fn new() -> Result<TerminalGuard> {
        // try_init enables raw mode and the alternate screen and installs a panic hook that
        // restores the terminal before the panic message prints.
        let terminal = ratatui::try_init().context("opening the terminal")?;
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

/// Diff of two captures: headers, then the bodies pretty-printed (JSON-aware), line by line.
pub fn diff_text(a: &CaptureRecord, b: &CaptureRecord) -> String {
    let render = |r: &CaptureRecord| {
        let mut text = format!("{} {}\n", r.capture.method, r.capture.target);
        for h in &r.capture.headers {
            text.push_str(&format!(
                "{}: {}\n",
                h.name,
                String::from_utf8_lossy(&h.value)
            ));
        }
        text.push('\n');
        text.push_str(&crate::output::render_body(&r.capture.body));
        text.push('\n');
        escape_text(text.as_bytes())
    };
    let (left, right) = (render(a), render(b));
    let diff = similar::TextDiff::from_lines(&left, &right);
    let mut out = format!("--- {}\n+++ {}\n", a.capture.id, b.capture.id);
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        out.push(sign);
        out.push_str(change.value());
        if !change.value().ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Copies text to the terminal clipboard with OSC 52 (works over SSH and in tmux with
/// `set-clipboard on`).
fn osc52(text: &str) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{b64}\x07");
    let _ = out.flush();
}

/// What `r`/`R` need: where to send, and the secret to re-sign with.
#[derive(Clone)]
pub struct ReplayTarget {
    /// The listener's forward configuration.
    pub forward: crate::forward::ForwardConfig,
    /// First configured secret, for `R`.
    pub secret: Option<crate::secret::Secret>,
}

/// Sends a stored capture again in the background; the outcome arrives as a `Forwarded` event.
fn replay(store: &Store, target: &ReplayTarget, id: CaptureId, resign: bool) -> Result<()> {
    let mut capture = store.load(id)?.capture;
    if resign {
        let secret = target
            .secret
            .as_ref()
            .context("R re-signs with the first --secret, and none is configured")?;
        let now = now_ms().div_euclid(1000);
        capture.headers = crate::replay::resign(&capture, &capture.body, secret, now)
            .map_err(|e| anyhow::anyhow!("re-signing {id}: {e}"))?;
    }
    capture.headers.push(crate::capture::Header::new(
        crate::replay::REPLAY_HEADER,
        id.0.to_string(),
    ));
    let fwd = target.forward.clone();
    let notifier = store.notifier();
    tokio::spawn(async move {
        let sent =
            crate::forward::forward(&fwd.client, &fwd.target, fwd.mode, &capture, fwd.timeout)
                .await;
        let status = sent.result.as_ref().ok().map(|r| r.status);
        let line = crate::forward::outcome_line(id, &fwd.target, &sent);
        let how = if resign {
            "replay (re-signed)"
        } else {
            "replay"
        };
        notifier.forwarded(id, status, format!("{how} {line}"));
    });
    Ok(())
}

fn perform(app: &mut App, store: &Store, action: Action, replays: Option<&ReplayTarget>) -> bool {
    let load = |id: CaptureId| store.load(id).map(Arc::new);
    match action {
        Action::Quit => return false,
        Action::Load(id) => match load(id) {
            Ok(record) => app.set_detail(record),
            Err(e) => app.status = Some(format!("{e:#}")),
        },
        Action::CopyCurl(id) => match load(id) {
            Ok(record) => {
                let cmd = crate::export::curl(&record.capture, None);
                osc52(&cmd);
                app.status = Some(format!("copied {id} as curl (OSC 52)"));
                app.overlay = Some(Overlay {
                    title: format!("curl for {id}"),
                    text: cmd,
                    scroll: 0,
                });
            }
            Err(e) => app.status = Some(format!("{e:#}")),
        },
        Action::Diff(a, b) => match (load(a), load(b)) {
            (Ok(ra), Ok(rb)) => {
                app.overlay = Some(Overlay {
                    title: format!("diff {a} → {b}"),
                    text: diff_text(&ra, &rb),
                    scroll: 0,
                })
            }
            (Err(e), _) | (_, Err(e)) => app.status = Some(format!("{e:#}")),
        },
        Action::Replay(id, resign) => match replays.map(|t| replay(store, t, id, resign)) {
            Some(Ok(())) => app.status = Some(format!("replaying {id}…")),
            Some(Err(e)) => app.status = Some(format!("{e:#}")),
            None => app.status = Some("replay needs --forward-to".into()),
        },
    }
    true
}

/// Runs the inspector until the user quits or SIGTERM arrives. The caller then shuts the
/// listener down gracefully.
pub async fn run(store: Store, header: HeaderInfo, replays: Option<ReplayTarget>) -> Result<()> {
    // Subscribe before reading the index so nothing falls between the two.
    let mut events = store.subscribe();
    let mut app = App::new(header, now_ms());
    app.color = std::env::var_os("NO_COLOR").is_none();
    let initial = app.load_rows(store.index().rows().to_vec());

    let mut guard = TerminalGuard::new()?;
    let (input_tx, mut input) = mpsc::unbounded_channel();
    // crossterm's reader blocks; give it a thread so the async loop never waits on it.
    std::thread::Builder::new()
        .name("hooklens-input".into())
        .spawn(move || {
            while let Ok(ev) = event::read() {
                if input_tx.send(ev).is_err() {
                    break;
                }
            }
        })
        .context("starting the input reader")?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    if let Some(action) = initial {
        perform(&mut app, &store, action, replays.as_ref());
    }
    let mut dirty = true;
    loop {
        if dirty {
            guard
                .terminal
                .draw(|frame| ui::render(&app, frame))
                .context("drawing")?;
        }
        let mut actions = Vec::new();
        tokio::select! {
            received = events.recv() => {
                let mut next = Some(received);
                // Drain everything pending, then draw once.
                while let Some(received) = next.take() {
                    match received {
                        Ok(ev) => {
                            let seen = matches!(&ev, Event::Captured(s)
                                if app.rows().last().is_some_and(|r| r.id >= s.summary.id));
                            if !seen {
                                actions.extend(app.apply(&ev));
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            actions.extend(app.load_rows(store.index().rows().to_vec()));
                        }
                        Err(broadcast::error::RecvError::Closed) => return Ok(()),
                    }
                    next = match events.try_recv() {
                        Ok(ev) => Some(Ok(ev)),
                        Err(broadcast::error::TryRecvError::Lagged(n)) => {
                            Some(Err(broadcast::error::RecvError::Lagged(n)))
                        }
                        Err(_) => None,
                    };
                }
                // Keep only the last load: earlier selections are already gone.
                if let Some(last_load) = actions.iter().rposition(|a| matches!(a, Action::Load(_))) {
                    let keep = actions.remove(last_load);
                    actions.retain(|a| !matches!(a, Action::Load(_)));
                    actions.push(keep);
                }
                dirty = true;
            }
            Some(ev) = input.recv() => {
                match ev {
                    event::Event::Key(key) if key.kind != KeyEventKind::Release => {
                        actions.extend(app.handle_key(key));
                    }
                    event::Event::Mouse(mouse) => actions.extend(app.handle_mouse(mouse)),
                    _ => {}
                }
                dirty = true;
            }
            _ = term.recv() => break,
            _ = tick.tick() => {
                app.now_ms = now_ms();
                dirty = app.detail.is_some();
            }
        }
        for action in actions {
            if !perform(&mut app, &store, action, replays.as_ref()) {
                return Ok(());
            }
        }
    }
    Ok(())
}
