//! The real terminal, and the only place that sets it up and tears it down: raw mode, the
//! alternate screen and mouse capture go on in [`Console::open`] and come off when the
//! console drops, when it lends the terminal to another program, and on panic. It also runs
//! the input reader thread. The loop in `super` only sees a ratatui `Terminal` and a channel
//! of input events, so tests drive it on a `TestBackend`.

use std::io::Stdout;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use tokio::sync::mpsc;

/// The terminal in raw mode with the alternate screen and mouse capture on, plus its input
/// reader; restored on drop, so every way out (quit, error, SIGTERM) leaves it usable.
pub struct Console {
    input: InputReader,
}

/// The ratatui terminal on the real console.
pub type ConsoleTerminal = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode, alternate screen, mouse capture: on.
fn enter() -> std::io::Result<()> {
    enable_raw_mode()?;
    execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)
}

/// Raw mode, alternate screen, mouse capture: off (raw mode first, it has the most effects).
fn leave() {
    let _ = disable_raw_mode();
    let _ = execute!(std::io::stdout(), DisableMouseCapture, LeaveAlternateScreen);
}

impl Console {
    /// Takes over the terminal and starts reading keys and mouse events into the channel.
    pub fn open() -> Result<(
        Console,
        ConsoleTerminal,
        mpsc::UnboundedReceiver<event::Event>,
    )> {
        enter().context("opening the terminal")?;
        // Restore the terminal before a panic message prints.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            leave();
            hook(info);
        }));
        let (tx, rx) = mpsc::unbounded_channel();
        let opened = Terminal::new(CrosstermBackend::new(std::io::stdout()))
            .context("opening the terminal")
            .and_then(|terminal| Ok((terminal, InputReader::start(tx)?)));
        match opened {
            Ok((terminal, input)) => Ok((Console { input }, terminal, rx)),
            Err(e) => {
                leave();
                Err(e)
            }
        }
    }

    /// Hands the terminal to another program (the editor) and takes it back afterwards. The
    /// input reader is paused first, so it does not steal the editor's keys. The caller
    /// clears its `Terminal` afterwards so the next frame redraws everything.
    pub fn lend<T>(&mut self, f: impl FnOnce() -> T) -> Result<T> {
        self.input.pause();
        leave();
        let out = tokio::task::block_in_place(f);
        enter().context("reopening the terminal")?;
        self.input.resume();
        Ok(out)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        leave();
    }
}

/// The keyboard and mouse reader thread. It polls in short slices so it can be paused (while
/// the editor owns the terminal) without a key being read by the wrong program.
struct InputReader {
    paused: Arc<AtomicBool>,
    idle: Arc<AtomicBool>,
}

impl InputReader {
    /// crossterm's reader blocks; it gets a thread so the async loop never waits on it.
    fn start(tx: mpsc::UnboundedSender<event::Event>) -> Result<InputReader> {
        let paused = Arc::new(AtomicBool::new(false));
        let idle = Arc::new(AtomicBool::new(false));
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
        self.paused.store(true, Ordering::Release);
        for _ in 0..100 {
            if self.idle.load(Ordering::Acquire) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn resume(&self) {
        self.paused.store(false, Ordering::Release);
    }
}
