//! Lines other processes append to a log a listener owns (`hooklens replay` records its
//! replays with [`super::append_exchanges_to`]): the owning store takes them in as if it had
//! written them, so its index and its front ends (the TUI, the printer) see them live.
//!
//! The store knows where the log ended after its own last write (`accounted`). Bytes past that
//! are someone else's: they are read when the store next writes (its write lands after them)
//! and by a poll every [`POLL_EVERY`] while it is idle. Forward and replay records link to
//! their capture and are announced ([`Event::Forwarded`]); other kinds are left to the next
//! scan. Only whole lines are taken; a line still being written waits for the next look.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use tokio::sync::broadcast;

use super::index::{ExchangeAt, Index};
use super::line::{Fields, decode_exchange};
use super::scan::scan_range;
use crate::model::record::Event;

/// How often an idle listener looks for lines other processes appended.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// Where the log ends as far as this store knows, and what to tell when it learns more.
pub(super) struct Foreign {
    accounted: Mutex<u64>,
    reader: File,
    index: Arc<RwLock<Index>>,
    events: broadcast::Sender<Event>,
}

impl Foreign {
    /// Starts watching the log (`reader`: opened for reading; `end`: where it ends now) and
    /// the poll thread, which stops once the store's writer is gone.
    pub(super) fn start(
        reader: File,
        end: u64,
        index: Arc<RwLock<Index>>,
        events: broadcast::Sender<Event>,
    ) -> std::io::Result<Arc<Foreign>> {
        let foreign = Arc::new(Foreign {
            accounted: Mutex::new(end),
            reader,
            index,
            events,
        });
        let weak: Weak<Foreign> = Arc::downgrade(&foreign);
        std::thread::Builder::new()
            .name("hooklens-tail".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(POLL_EVERY);
                    let Some(foreign) = weak.upgrade() else {
                        return;
                    };
                    foreign.poll();
                }
            })?;
        Ok(foreign)
    }

    /// Runs the store's own append (`write` returns where its `len` bytes landed), taking in
    /// whatever others appended before it.
    pub(super) fn around_write(
        &self,
        len: u64,
        write: impl FnOnce() -> std::io::Result<u64>,
    ) -> std::io::Result<u64> {
        let mut accounted = self.accounted.lock().unwrap_or_else(|p| p.into_inner());
        let base = write()?;
        if base > *accounted {
            self.take(*accounted, base);
        }
        *accounted = base + len;
        Ok(base)
    }

    /// Takes in the whole lines others appended since the store last looked.
    fn poll(&self) {
        let mut accounted = self.accounted.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(len) = self.reader.metadata().map(|m| m.len()) else {
            return;
        };
        if len > *accounted {
            *accounted = self.take(*accounted, len);
        }
    }

    /// Reads the lines that start in `[from, to)`, links and announces the forward and replay
    /// records among them; returns where the last whole line ends.
    fn take(&self, from: u64, to: u64) -> u64 {
        let Ok(lines) = scan_range(&self.reader, from, to) else {
            return from;
        };
        let mut end = from;
        for line in lines {
            if !line.complete {
                break;
            }
            end = line.offset + line.size;
            let Ok(Some(Fields::Exchange(id, brief))) = line.fields else {
                continue;
            };
            let len = (line.size - 1) as u32;
            let mut bytes = vec![0u8; len as usize];
            if self.reader.read_exact_at(&mut bytes, line.offset).is_err() {
                continue;
            }
            let Ok(exchange) = decode_exchange(&bytes) else {
                continue;
            };
            let linked = self.index.write().unwrap_or_else(|p| p.into_inner()).link(
                id,
                brief,
                ExchangeAt::File {
                    offset: line.offset,
                    len,
                },
            );
            if linked {
                let _ = self.events.send(Event::Forwarded(Arc::new(exchange)));
            }
        }
        end
    }
}
