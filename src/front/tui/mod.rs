//! The terminal inspector. `app` is the state, `ui` the pure renderer (the detail tabs in `tabs`,
//! shared styling in `style`), `keys` the key table;
//! this module owns the terminal and the loop.
//!
//! The loop reads the store's event stream and never blocks the server: it drains everything
//! pending before each frame, resyncs from the index if it falls behind, and draws only when
//! something changed (plus a 1 s tick while a detail with a countdown is shown).

pub mod app;
pub mod keys;
mod style;
mod tabs;
pub mod ui;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use base64::Engine;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, KeyEventKind};
use ratatui::crossterm::execute;
use tokio::sync::{broadcast, mpsc};

use crate::model::capture::CaptureId;
use crate::model::capture::now_ms;
use crate::model::record::{CaptureRecord, Event};
use crate::sanitize::escape_text;
use crate::store::Store;
pub use app::{Action, App, HeaderInfo, Overlay};

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

    /// Hands the terminal to another program (the editor) and takes it back afterwards. The
    /// input reader is paused first, so it does not steal the editor's keys.
    fn lend<T>(&mut self, input: &InputReader, f: impl FnOnce() -> T) -> Result<T> {
        input.pause();
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
        let out = tokio::task::block_in_place(f);
        self.terminal = ratatui::try_init().context("reopening the terminal")?;
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
        let _ = self.terminal.clear();
        input.resume();
        Ok(out)
    }
}

/// The keyboard and mouse reader thread. It polls in short slices so it can be paused (while
/// the editor owns the terminal) without a key being read by the wrong program.
struct InputReader {
    paused: Arc<std::sync::atomic::AtomicBool>,
    idle: Arc<std::sync::atomic::AtomicBool>,
}

impl InputReader {
    fn start(tx: mpsc::UnboundedSender<event::Event>) -> Result<InputReader> {
        use std::sync::atomic::Ordering;
        let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let idle = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, i) = (paused.clone(), idle.clone());
        std::thread::Builder::new()
            .name("hooklens-input".into())
            .spawn(move || {
                loop {
                    if p.load(Ordering::Acquire) {
                        i.store(true, Ordering::Release);
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    i.store(false, Ordering::Release);
                    match event::poll(Duration::from_millis(50)) {
                        Ok(true) => match event::read() {
                            Ok(ev) => {
                                if tx.send(ev).is_err() {
                                    break;
                                }
                            }
                            Err(_) => break,
                        },
                        Ok(false) => {}
                        Err(_) => break,
                    }
                }
            })
            .context("starting the input reader")?;
        Ok(InputReader { paused, idle })
    }

    /// Stops reading and waits until the thread is out of its poll.
    fn pause(&self) {
        use std::sync::atomic::Ordering;
        self.paused.store(true, Ordering::Release);
        for _ in 0..100 {
            if self.idle.load(Ordering::Acquire) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn resume(&self) {
        self.paused
            .store(false, std::sync::atomic::Ordering::Release);
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

/// The terminal and its reader, for actions that hand the terminal to another program.
struct Terminal {
    guard: TerminalGuard,
    input: InputReader,
}

fn perform(
    app: &mut App,
    store: &Store,
    action: Action,
    replays: Option<&ReplayTarget>,
    term: &mut Terminal,
) -> bool {
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
            let started = replays
                .context("replay needs --forward-to")
                .and_then(|t| replay(store, t, store.load(id)?.capture, resign, None));
            app.status = Some(match started {
                Ok(()) => format!("replaying {id}…"),
                Err(e) => format!("{e:#}"),
            });
        }
        Action::EditReplay(id) => {
            let started = replays.context("replay needs --forward-to").and_then(|t| {
                if t.secret.is_none() {
                    anyhow::bail!("an edited body must be re-signed: start with --secret");
                }
                let capture = store.load(id)?.capture;
                let body = term.guard.lend(&term.input, || {
                    crate::net::replay::edit_body(id, &capture.body)
                })??;
                replay(store, t, capture, true, Some(body))
            });
            app.status = Some(match started {
                Ok(()) => format!("replaying {id} (edited, re-signed)…"),
                Err(e) => format!("{e:#}"),
            });
        }
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

    let guard = TerminalGuard::new()?;
    let (input_tx, mut input) = mpsc::unbounded_channel();
    // crossterm's reader blocks; give it a thread so the async loop never waits on it.
    let mut term = Terminal {
        guard,
        input: InputReader::start(input_tx)?,
    };
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    if let Some(action) = initial {
        perform(&mut app, &store, action, replays.as_ref(), &mut term);
    }
    let mut dirty = true;
    loop {
        if dirty {
            term.guard
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
            _ = sigterm.recv() => break,
            _ = tick.tick() => {
                app.now_ms = now_ms();
                dirty = app.detail.is_some();
            }
        }
        for action in actions {
            if !perform(&mut app, &store, action, replays.as_ref(), &mut term) {
                return Ok(());
            }
        }
    }
    Ok(())
}
