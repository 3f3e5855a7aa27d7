//! The terminal inspector. `app` is the state, `ui` the pure renderer (the detail tabs in `tabs`,
//! shared styling in `style`), `keys` the key table, `console` the real terminal (raw mode,
//! alternate screen, mouse capture, input thread). This module holds the loop, [`inspect`],
//! which runs on any ratatui backend, and [`run`], which runs it on the console.
//!
//! The loop reads the store's event stream and never blocks the server: it drains everything
//! pending before each frame, resyncs from the index if it falls behind, and draws only when
//! something changed (plus a 1 s tick while a detail with a countdown is shown).

pub mod app;
mod console;
pub mod keys;
mod style;
mod tabs;
pub mod ui;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use bytes::Bytes;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{self, KeyEventKind};
use tokio::sync::{broadcast, mpsc};

use console::Console;

use crate::model::capture::CaptureId;
use crate::model::capture::now_ms;
use crate::model::record::{CaptureRecord, Event};
use crate::sanitize::escape_text;
use crate::store::Store;
pub use app::{Action, App, HeaderInfo, Overlay};

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
        text.push_str(&crate::front::show::render_body(&r.capture.body));
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
    pub forward: crate::net::forward::ForwardConfig,
    /// First configured secret, for `R`.
    pub secret: Option<crate::model::secret::Secret>,
}

/// Sends a stored capture again in the background; the outcome becomes a `replay` record and
/// arrives as a `Forwarded` event.
fn replay(
    store: &Store,
    target: &ReplayTarget,
    capture: crate::model::capture::Capture,
    resign: bool,
    body: Option<bytes::Bytes>,
) -> Result<()> {
    let id = capture.id;
    let resign = match (resign, &target.secret) {
        (false, _) => None,
        (true, Some(secret)) => Some(secret.clone()),
        (true, None) => anyhow::bail!("re-signing needs a secret: start with --secret"),
    };
    let changes = crate::net::replay::Changes {
        resign,
        body,
        replay_header: true,
    };
    let fwd = target.forward.clone();
    let store = store.clone();
    tokio::spawn(async move {
        let sent = crate::net::replay::send_one(
            &fwd.client,
            &fwd.target,
            fwd.mode,
            &capture,
            &changes,
            fwd.timeout,
        )
        .await;
        let result = match sent {
            Ok(exchange) => store.append_exchange(exchange).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            store.notice(format!("replay of {id}: {e:#}"));
        }
    });
    Ok(())
}

/// What the loop works with besides the terminal it draws on.
pub(crate) struct Session<'a> {
    /// The capture log: events to follow, records to load.
    pub store: &'a Store,
    /// Where `r`/`R`/`e` send; `None` without `--forward-to`.
    pub replays: Option<&'a ReplayTarget>,
    /// Key and mouse events.
    pub input: mpsc::UnboundedReceiver<event::Event>,
    /// Edits a body for `e` (the real terminal lends itself to `$EDITOR`).
    pub edit: &'a mut dyn FnMut(CaptureId, &[u8]) -> Result<Bytes>,
}

fn perform<B: Backend>(
    app: &mut App,
    session: &mut Session,
    action: Action,
    terminal: &mut Terminal<B>,
) -> bool {
    let store = session.store;
    let load = |id: CaptureId| store.load(id).map(Arc::new);
    match action {
        Action::Quit => return false,
        Action::Load(id) => match (load(id), store.exchanges(id)) {
            (Ok(record), Ok(exchanges)) => {
                app.set_detail(record, exchanges.into_iter().map(Arc::new).collect())
            }
            (Err(e), _) | (_, Err(e)) => app.status = Some(format!("{e:#}")),
        },
        Action::CopyCurl(id) => match load(id) {
            Ok(record) => {
                let cmd = crate::export::curl::command(&record.capture, None);
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
        Action::Replay(id, resign) => {
            let started = session
                .replays
                .context("replay needs --forward-to")
                .and_then(|t| replay(store, t, store.load(id)?.capture, resign, None));
            app.status = Some(match started {
                Ok(()) => format!("replaying {id}…"),
                Err(e) => format!("{e:#}"),
            });
        }
        Action::EditReplay(id) => {
            let started = session
                .replays
                .context("replay needs --forward-to")
                .and_then(|t| {
                    if t.secret.is_none() {
                        anyhow::bail!("an edited body must be re-signed: start with --secret");
                    }
                    let capture = store.load(id)?.capture;
                    let body = (session.edit)(id, &capture.body);
                    // Another program had the screen: the next frame redraws all of it.
                    let _ = terminal.clear();
                    replay(store, t, capture, true, Some(body?))
                });
            app.status = Some(match started {
                Ok(()) => format!("replaying {id} (edited, re-signed)…"),
                Err(e) => format!("{e:#}"),
            });
        }
    }
    true
}

/// Runs the inspector on the real terminal until the user quits or SIGTERM arrives. The
/// caller then shuts the listener down gracefully.
pub async fn run(store: Store, header: HeaderInfo, replays: Option<ReplayTarget>) -> Result<()> {
    let mut app = App::new(header, now_ms());
    app.color = std::env::var_os("NO_COLOR").is_none();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let (mut console, mut terminal, input) = Console::open()?;
    let mut edit = |id, body: &[u8]| {
        console
            .lend(|| crate::net::replay::edit_body(id, body))
            .and_then(|edited| edited)
    };
    let session = Session {
        store: &store,
        replays: replays.as_ref(),
        input,
        edit: &mut edit,
    };
    inspect(&mut terminal, app, session, async move {
        sigterm.recv().await;
    })
    .await
}

/// The inspector's loop, on any ratatui backend: the console in [`run`], a `TestBackend` in
/// tests. It returns when the user quits, the store closes, or `stop` resolves.
pub(crate) async fn inspect<B>(
    terminal: &mut Terminal<B>,
    mut app: App,
    mut session: Session<'_>,
    stop: impl Future<Output = ()>,
) -> Result<()>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
{
    let store = session.store;
    // Subscribe before reading the index so nothing falls between the two.
    let mut events = store.subscribe();
    let initial = app.load_rows(store.index().rows().to_vec());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(stop);

    if let Some(action) = initial {
        perform(&mut app, &mut session, action, terminal);
    }
    let mut dirty = true;
    loop {
        if dirty {
            terminal
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
            Some(ev) = session.input.recv() => {
                match ev {
                    event::Event::Key(key) if key.kind != KeyEventKind::Release => {
                        actions.extend(app.handle_key(key));
                    }
                    event::Event::Mouse(mouse) => actions.extend(app.handle_mouse(mouse)),
                    _ => {}
                }
                dirty = true;
            }
            _ = &mut stop => break,
            _ = tick.tick() => {
                app.now_ms = now_ms();
                dirty = app.detail.is_some();
            }
        }
        for action in actions {
            if !perform(&mut app, &mut session, action, terminal) {
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    use super::*;
    use crate::model::capture::Capture;
    use crate::verify::{Outcome, Verdict};

    fn record(job: &str) -> CaptureRecord {
        CaptureRecord {
            capture: Capture::fixture(b"{}", &[("Host", "127.0.0.1:8787"), ("X-Job", job)]),
            verdict: Verdict::new(None, Outcome::Unverified, "no secret configured"),
            response_status: 204,
            event_type: None,
            data_id: None,
            idempotency_key: None,
        }
    }

    fn screen(terminal: &Terminal<TestBackend>) -> String {
        super::ui::tests::screen_text(terminal.backend().buffer())
    }

    #[tokio::test]
    async fn the_loop_loads_and_draws_what_the_keys_ask_for() {
        let (store, writer, _) = Store::open(None).unwrap();
        for job in ["job_first", "job_second"] {
            store.append(record(job)).await.unwrap();
        }
        let (keys, input) = mpsc::unbounded_channel();
        // First capture, then down to the second, its Headers tab, and quit.
        for c in ['g', 'j', '2', 'q'] {
            keys.send(event::Event::Key(KeyEvent::from(KeyCode::Char(c))))
                .unwrap();
        }
        let mut app = App::new(HeaderInfo::default(), now_ms());
        app.color = false;
        let mut edit = |_: CaptureId, _: &[u8]| -> Result<Bytes> { anyhow::bail!("no editor") };
        let session = Session {
            store: &store,
            replays: None,
            input,
            edit: &mut edit,
        };
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        inspect(&mut terminal, app, session, std::future::pending())
            .await
            .unwrap();
        let text = screen(&terminal);
        assert!(
            text.contains("POST /modelgates/video-webhook HTTP/1.1  (2 headers, arrival order"),
            "the Headers tab: {text}"
        );
        assert!(
            text.contains("X-Job: job_second") && !text.contains("job_first"),
            "the second capture, loaded from the store: {text}"
        );
        drop(store);
        writer.join().await;
    }
}
