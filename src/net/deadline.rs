//! Server-side read deadlines for one connection, below hyper.
//!
//! [`Deadlined`] wraps the connection's stream. While no request is in flight, a read that
//! would wait past the deadline fails instead, and hyper closes the connection:
//! * the first request's head must be complete within the header timeout of the connection's
//!   start (a client that connects and sends nothing, or sends a head a byte at a time);
//! * a later request's head within the header timeout of its first byte;
//! * between requests, a kept-alive connection waits at most the idle timeout.
//!
//! While a request is in flight (the handler runs) reads have no deadline here: the handler
//! bounds its body read with the body timeout itself. Where the stream is between requests
//! comes from the head recorder ([`crate::net::rawhead`]); HTTP/2 connections (which it does
//! not follow) get the first-request and idle deadlines.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::net::limits::Limits;
use crate::net::rawhead::{Phase, SharedRecorder};

/// Why a connection was closed by its deadline (the `io::Error`'s inner error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// No complete request head within the header timeout.
    Header(Duration),
    /// No new request on a kept-alive connection within the idle timeout.
    Idle(Duration),
}

impl std::fmt::Display for Expired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expired::Header(d) => write!(f, "closed: no complete request head within {d:?}"),
            Expired::Idle(d) => write!(f, "closed: idle for {d:?}"),
        }
    }
}

impl std::error::Error for Expired {}

impl Expired {
    /// Finds the deadline in an error's source chain.
    pub fn of(e: &(dyn std::error::Error + 'static)) -> Option<Expired> {
        let mut cur = Some(e);
        while let Some(err) = cur {
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && let Some(exp) = io.get_ref().and_then(|i| i.downcast_ref::<Expired>())
            {
                return Some(*exp);
            }
            cur = err.source();
        }
        None
    }
}

/// What the handler tells the deadlines: requests in flight, and when the last one ended.
#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    served: AtomicBool,
    idle_since: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since: Mutex::new(Instant::now()),
        }
    }
}

/// Held while a request is in flight.
pub struct Busy(Arc<Activity>);

impl Activity {
    /// Marks a request in flight until the returned guard drops.
    pub fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.served.store(true, Ordering::SeqCst);
        Busy(self.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self
            .0
            .idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A stream whose reads fail once the connection's deadline has passed (see the module docs).
pub struct Deadlined<S> {
    inner: S,
    recorder: SharedRecorder,
    activity: Arc<Activity>,
    limits: Limits,
    started: Instant,
    head_started: Option<Instant>,
    sleep: Pin<Box<Sleep>>,
}

impl<S> Deadlined<S> {
    /// Wraps `inner`; `recorder` is the head recorder reading the same stream.
    pub fn new(
        inner: S,
        recorder: SharedRecorder,
        activity: Arc<Activity>,
        limits: Limits,
    ) -> Self {
        let started = Instant::now();
        Deadlined {
            inner,
            recorder,
            activity,
            limits,
            started,
            head_started: None,
            sleep: Box::pin(tokio::time::sleep_until(started + limits.header_timeout)),
        }
    }

    fn phase(&self) -> Phase {
        self.recorder.lock().map_or(Phase::Unknown, |r| r.phase())
    }

    fn deadline(&self) -> Option<(Instant, Expired)> {
        if self.activity.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let header = Expired::Header(self.limits.header_timeout);
        if !self.activity.served.load(Ordering::SeqCst) {
            return Some((self.started + self.limits.header_timeout, header));
        }
        if let Some(at) = self.head_started {
            return Some((at + self.limits.header_timeout, header));
        }
        let idle_since = *self
            .activity
            .idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Some((
            idle_since + self.limits.idle_timeout,
            Expired::Idle(self.limits.idle_timeout),
        ))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Deadlined<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        match res {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                match self.phase() {
                    Phase::Head => {
                        if self.head_started.is_none() {
                            self.head_started = Some(Instant::now());
                        }
                    }
                    _ => self.head_started = None,
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let Some((at, why)) = self.deadline() else {
                    return Poll::Pending;
                };
                if self.sleep.deadline() != at {
                    self.sleep.as_mut().reset(at);
                }
                match self.sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, why)))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
            other => other,
        }
    }
}

crate::net::passthrough::write_through!(Deadlined);

/// Lets one "closed by its deadline" notice through per interval, counting the rest, so a
/// thousand slow connections make a few lines, not a thousand.
#[derive(Debug, Default)]
pub struct NoticeGate {
    last: Mutex<Option<Instant>>,
    held: AtomicUsize,
}

impl NoticeGate {
    const EVERY: Duration = Duration::from_secs(5);

    /// `Some(n)` when a notice may go out now (`n` were held back since the last one).
    pub fn pass(&self) -> Option<usize> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|at| now < at + Self::EVERY) {
            self.held.fetch_add(1, Ordering::SeqCst);
            return None;
        }
        *last = Some(now);
        Some(self.held.swap(0, Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_counts_what_it_holds_back() {
        let gate = NoticeGate::default();
        assert_eq!(gate.pass(), Some(0));
        assert_eq!(gate.pass(), None);
        assert_eq!(gate.pass(), None);
        *gate.last.lock().unwrap() = Some(Instant::now() - NoticeGate::EVERY);
        assert_eq!(gate.pass(), Some(2));
    }
}
