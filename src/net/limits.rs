//! What one listener allows a sender: how long a request head, a body and an idle keep-alive
//! connection may take, how many connections it serves at once, and how long shutdown waits.
//! Also the file-descriptor limit (raised to the hard limit at start) that the connection cap
//! is sized under, and the set of tasks (connections, background forwards) shutdown waits for
//! and then ends.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinSet;

/// Default for `--header-timeout`: a request head must arrive within this long.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for `--body-timeout`: the whole body must arrive within this long of its head.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// Default for `--idle-timeout`: a keep-alive connection with no request is closed after this.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default for `--grace`: how long shutdown lets in-flight requests and forwards finish.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// File descriptors kept back from the connection cap: the log, the terminal, the runtime,
/// outbound forwards' pooled connections.
const FD_RESERVE: u64 = 64;

/// Timeouts and caps of one listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Time from a connection's start (or the first byte of a later request) to its complete head.
    pub header_timeout: Duration,
    /// Time from a head to the end of its body.
    pub body_timeout: Duration,
    /// Time a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the accept queue until one ends.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight work before it closes what is left.
    pub grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: default_max_connections(open_files_limit()),
            grace: DEFAULT_GRACE,
        }
    }
}

/// The soft limit on open files in force now (1024 when it cannot be read).
pub fn open_files_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
        .min(1 << 20)
}

/// Raises the soft limit on open files to the hard limit; returns the limit now in force.
pub fn raise_open_files_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    if now.current != now.maximum {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: now.maximum,
                maximum: now.maximum,
            },
        );
    }
    open_files_limit()
}

/// The connection cap for an open-files limit: half of what is left after a reserve, since a
/// forwarded connection can need a second descriptor for the receiver (at least 16).
pub fn default_max_connections(open_files: u64) -> usize {
    (open_files.saturating_sub(FD_RESERVE) / 2).clamp(16, 1 << 16) as usize
}

/// Tasks a listener runs for its connections and background forwards: shutdown waits for
/// them (up to the grace period) and then ends the rest. Cheap to clone.
#[derive(Clone, Default)]
pub struct Tasks(Arc<Mutex<JoinSet<()>>>);

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Tasks").field(&self.running()).finish()
    }
}

impl Tasks {
    fn set(&self) -> std::sync::MutexGuard<'_, JoinSet<()>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `task` on the runtime, tracked.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut set = self.set();
        while set.try_join_next().is_some() {}
        set.spawn(task);
    }

    /// Tasks not yet finished.
    pub fn running(&self) -> usize {
        let mut set = self.set();
        while set.try_join_next().is_some() {}
        set.len()
    }

    /// Resolves once every task (including ones spawned meanwhile) has finished.
    pub async fn finished(&self) {
        while self.running() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ends every task still running; returns how many there were.
    pub async fn abort_all(&self) -> usize {
        let left = {
            let mut set = self.set();
            set.abort_all();
            set.len()
        };
        // Aborted tasks drop their state (and their hold on the log) at their next poll.
        let _ = tokio::time::timeout(Duration::from_secs(1), self.finished()).await;
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_under_the_open_files_limit() {
        assert_eq!(default_max_connections(1024), 480);
        assert_eq!(default_max_connections(100), 18);
        assert_eq!(default_max_connections(10), 16);
        assert!(default_max_connections(u64::MAX) <= 1 << 16);
    }

    #[tokio::test]
    async fn abort_ends_what_would_never_finish() {
        let tasks = Tasks::default();
        tasks.spawn(async {});
        tasks.spawn(std::future::pending());
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(tasks.running(), 1);
        assert_eq!(tasks.abort_all().await, 1);
        assert_eq!(tasks.running(), 0);
    }
}
