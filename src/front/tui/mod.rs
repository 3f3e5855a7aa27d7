//! The terminal inspector. `app` is the state (filtered through the flat `columns`), `ui` the
//! pure renderer (the detail tabs in `tabs`, shared styling in `style`, the mouse's regions in
//! `mouse`), `keys` the key table, `console` the real terminal (raw mode, alternate screen,
//! mouse capture, input thread), `clipboard` OSC 52. This module holds the loop, [`inspect`],
//! which runs on any ratatui backend, and [`run`], which runs it on the console.
//!
//! The loop reads the store's event stream and never blocks the server: it drains everything
//! pending before each frame, resyncs from the index if it falls behind, and draws only when
//! something changed (plus a 1 s tick while a detail with a countdown is shown).

pub mod app;
mod clipboard;
mod columns;
mod console;
mod footer;
pub mod keys;
mod mouse;
mod style;
mod tabs;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{self, KeyEventKind};
use tokio::sync::{broadcast, mpsc};

use console::Console;

use crate::model::capture::CaptureId;
use crate::model::capture::now_ms;
use crate::model::exchange::PathMode;
use crate::model::record::{CaptureRecord, Event};
use crate::model::secret::Secret;
use crate::net::client::{Client, Target};
use crate::sanitize::{escape_line, escape_text};
use crate::store::Store;
pub use app::{Action, App, HeaderInfo, Overlay, OverlayKind};

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

/// What `r`/`R`/`e` need: a client, where to send, and the secret to re-sign with.
#[derive(Clone)]
pub struct ReplayTarget {
    /// The outbound client (the forwarder's when forwarding).
    pub client: Client,
    /// `--forward-to` and its path rule. `None`: each replay goes where the log says the
    /// last forwarding listener sent (as `hooklens replay` without `--to` does).
    pub forward: Option<(Target, PathMode)>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// First configured secret, for `R` and `e`.
    pub secret: Option<Secret>,
}

impl ReplayTarget {
    /// Where a replay goes now: `--forward-to`, else the target the log records.
    fn resolve(&self, store: &Store) -> Result<(Target, PathMode)> {
        if let Some(forward) = &self.forward {
            return Ok(forward.clone());
        }
        crate::net::replay::recorded_target(store.index().forward_to())?.context(
            "replay needs a target: start with --forward-to URL (this log records no listener that had one)",
        )
    }
}

/// Sends a stored capture again in the background; the outcome becomes a `replay` record and
/// arrives as a `Forwarded` event. Returns where it went.
fn replay(
    store: &Store,
    target: &ReplayTarget,
    capture: crate::model::capture::Capture,
    resign: bool,
    body: Option<bytes::Bytes>,
) -> Result<String> {
    let id = capture.id;
    let resign = match (resign, &target.secret) {
        (false, _) => None,
        (true, Some(secret)) => Some(secret.clone()),
        (true, None) => anyhow::bail!("re-signing needs a secret: start with --secret"),
    };
    let (to, mode) = target.resolve(store)?;
    let shown = crate::net::forward::target_url(&to);
    let changes = crate::net::replay::Changes {
        resign,
        body,
        replay_header: true,
    };
    let (client, timeout) = (target.client.clone(), target.timeout);
    let store = store.clone();
    tokio::spawn(async move {
        let sent =
            crate::net::replay::send_one(&client, &to, mode, &capture, &changes, timeout).await;
        let result = match sent {
            Ok(exchange) => store.append_exchange(exchange).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            store.notice(format!("replay of {id}: {e:#}"));
        }
    });
    Ok(escape_line(shown.as_bytes()))
}

/// What the loop works with besides the terminal it draws on.
pub(crate) struct Session<'a> {
    /// The capture log: events to follow, records to load.
    pub store: &'a Store,
    /// Where `r`/`R`/`e` send.
    pub replays: &'a ReplayTarget,
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
                let (status, text) = match clipboard::copy(&cmd) {
                    Ok(()) => (format!("copied {id} as curl (OSC 52)"), cmd),
                    Err(why) => (
                        format!("{id} not copied: the clipboard cannot be reached"),
                        format!("Not copied: the clipboard cannot be reached: {why}.\n\n{cmd}"),
                    ),
                };
                app.status = Some(status);
                app.overlay = Some(Overlay {
                    title: format!("curl for {id}"),
                    text,
                    scroll: 0,
                    kind: OverlayKind::Text,
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
                    kind: OverlayKind::Diff,
                })
            }
            (Err(e), _) | (_, Err(e)) => app.status = Some(format!("{e:#}")),
        },
        Action::Replay(id, resign) => {
            let started = store
                .load(id)
                .and_then(|r| replay(store, session.replays, r.capture, resign, None));
            app.status = Some(match started {
                Ok(to) => format!("replaying {id} to {to}…"),
                Err(e) => format!("{e:#}"),
            });
        }
        Action::EditReplay(id) => {
            let t = session.replays;
            let started = t.resolve(store).and_then(|_| {
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
                Ok(to) => format!("replaying {id} (edited, re-signed) to {to}…"),
                Err(e) => format!("{e:#}"),
            });
        }
    }
    true
}

/// Runs the inspector on the real terminal until the user quits or SIGTERM arrives. The
/// caller then shuts the listener down gracefully.
pub async fn run(store: Store, header: HeaderInfo, replays: ReplayTarget) -> Result<()> {
    let mut app = App::new(header, now_ms());
    app.color = crate::front::color::allowed();
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
        replays: &replays,
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
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::model::capture::Capture;
    use crate::model::exchange::RecordedTarget;
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

    fn replays() -> ReplayTarget {
        ReplayTarget {
            client: Client::new(crate::net::tls::client_config_in(&[], None).unwrap()),
            forward: None,
            timeout: Duration::from_secs(10),
            secret: None,
        }
    }

    fn key(c: char) -> event::Event {
        event::Event::Key(KeyEvent::from(KeyCode::Char(c)))
    }

    fn mouse(kind: MouseEventKind, column: u16, row: u16) -> event::Event {
        event::Event::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    }

    /// Runs the loop over `events` on a `width`×`height` test terminal until `stop` (or a
    /// `q` among the events); returns the last screen.
    async fn run_loop(
        store: &Store,
        events: Vec<event::Event>,
        size: (u16, u16),
        stop: impl Future<Output = ()>,
    ) -> String {
        let (keys, input) = mpsc::unbounded_channel();
        for ev in events {
            keys.send(ev).unwrap();
        }
        let mut app = App::new(HeaderInfo::default(), now_ms());
        app.color = false;
        let mut edit = |_: CaptureId, _: &[u8]| -> Result<Bytes> { anyhow::bail!("no editor") };
        let target = replays();
        let session = Session {
            store,
            replays: &target,
            input,
            edit: &mut edit,
        };
        let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
        inspect(&mut terminal, app, session, stop).await.unwrap();
        drop(keys);
        screen(&terminal)
    }

    #[tokio::test]
    async fn the_loop_loads_and_draws_what_the_keys_ask_for() {
        let (store, writer, _) = Store::open(None).unwrap();
        for job in ["job_first", "job_second"] {
            store.append(record(job)).await.unwrap();
        }
        // First capture, then down to the second, its Headers tab, and quit.
        let keys = ['g', 'j', '2', 'q'].map(key).to_vec();
        let text = run_loop(&store, keys, (100, 30), std::future::pending()).await;
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

    #[tokio::test]
    async fn a_click_selects_a_row_and_a_tab_and_the_wheel_scrolls_the_pane_under_it() {
        let (store, writer, _) = Store::open(None).unwrap();
        for job in ["job_first", "job_second", "job_third"] {
            store.append(record(job)).await.unwrap();
        }
        // At 100×30: header 2 rows, the list 10 (title, table header, then #1 on row 4),
        // the tab bar on row 12 (` 1 Overview │ 2 Headers │ …`), the detail below it.
        let left = MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left);
        // `?` and `x` (open and close the help) make sure a frame was drawn first.
        let events = vec![key('?'), key('x'), mouse(left, 10, 4), mouse(left, 16, 12)];
        let text = run_loop(
            &store,
            [events, vec![key('q')]].concat(),
            (100, 30),
            std::future::pending(),
        )
        .await;
        assert!(
            text.contains("X-Job: job_first") && !text.contains("job_third"),
            "the clicked row (#1) in the clicked tab (Headers): {text}"
        );
        // The wheel over the list moves the selection (from the newest up two, down one).
        let events = vec![
            key('?'),
            key('x'),
            mouse(MouseEventKind::ScrollUp, 10, 6),
            mouse(MouseEventKind::ScrollUp, 10, 6),
            mouse(MouseEventKind::ScrollDown, 10, 6),
            key('2'),
            key('q'),
        ];
        let text = run_loop(&store, events, (100, 30), std::future::pending()).await;
        assert!(text.contains("X-Job: job_second"), "{text}");
        drop(store);
        writer.join().await;
        // Over the detail it scrolls the detail, whatever has the focus.
        let (store, writer, _) = Store::open(None).unwrap();
        let mut many = record("job_many");
        for n in 1..=8 {
            many.capture
                .headers
                .push(crate::model::capture::Header::new(format!("X-H{n}"), "v"));
        }
        store.append(many).await.unwrap();
        let events = vec![
            key('?'),
            key('x'),
            key('2'),
            mouse(MouseEventKind::ScrollDown, 10, 20),
            key('q'),
        ];
        let text = run_loop(&store, events, (100, 30), std::future::pending()).await;
        assert!(
            !text.contains("HTTP/1.1  (") && !text.contains("X-Job") && text.contains("X-H1: v"),
            "scrolled by three lines: {text}"
        );
        drop(store);
        writer.join().await;
    }

    /// A receiver of one request: answers 204 and hands over what it read.
    async fn receiver() -> (String, tokio::sync::oneshot::Receiver<Vec<u8>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // The fixture's body is `{}`: the request is read once the head and it are in.
            while !seen.windows(6).any(|w| w == b"\r\n\r\n{}") {
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the request ended early");
                seen.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                .await
                .unwrap();
            let _ = tx.send(seen);
        });
        (url, rx)
    }

    #[tokio::test]
    async fn r_without_forward_to_replays_to_the_target_the_log_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let (url, got) = receiver().await;
        let (store, writer, _) = Store::open(Some(&path)).unwrap();
        // An earlier listener on this log forwarded to the receiver.
        store
            .append_session(
                Some(RecordedTarget {
                    url: url.clone(),
                    path: PathMode::Exact,
                }),
                None,
            )
            .await
            .unwrap();
        store.append(record("job_replayed")).await.unwrap();
        let id = store.index().rows()[0].id;
        let recorded = {
            let store = store.clone();
            async move {
                let seen = got.await.expect("the receiver got the replay");
                assert!(
                    String::from_utf8_lossy(&seen).starts_with("POST /hook HTTP/1.1"),
                    "{}",
                    String::from_utf8_lossy(&seen)
                );
                // Stop once the replay record is in the log.
                for _ in 0..500 {
                    if !store.exchanges(id).unwrap().is_empty() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                panic!("no replay record");
            }
        };
        let text = run_loop(&store, vec![key('r')], (100, 30), recorded).await;
        assert!(text.contains("replay"), "{text}");
        let exchanges = store.exchanges(id).unwrap();
        assert_eq!(exchanges[0].receiver_status(), Some(204));
        drop(store);
        writer.join().await;
    }

    #[tokio::test]
    async fn r_with_no_target_anywhere_says_how_to_get_one() {
        let (store, writer, _) = Store::open(None).unwrap();
        store.append(record("job_x")).await.unwrap();
        let text = run_loop(
            &store,
            vec![key('r'), key('q')],
            (100, 30),
            std::future::pending(),
        )
        .await;
        assert!(
            text.contains("replay needs a target: start with --forward-to URL"),
            "{text}"
        );
        drop(store);
        writer.join().await;
    }
}
