//! What the simulator reports: every request it serves and every delivery attempt, as events
//! any number of front ends subscribe to, each with its one line and its JSON object.
//!
//! Request-derived text (paths, error messages that quote a receiver) passes through
//! [`crate::sanitize`] in [`Event::line`]; the API key and the secret never appear.

use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast;

use crate::sanitize::escape_line;

/// One delivery attempt, as recorded.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Attempt {
    /// The job id.
    pub job: String,
    /// The callback URL.
    pub url: String,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    /// 1, or 2 for the copy `--duplicate` sends.
    pub copy: u32,
    /// When it was sent (unix ms).
    pub at_ms: i64,
    /// The `t=` it was signed with.
    pub timestamp: i64,
    /// `X-ModelGates-Idempotency-Key` (the same on every attempt).
    pub idempotency_key: String,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// From sending to the end of the answer (or the failure).
    pub latency_ms: f64,
    /// Why the attempt failed (`None`: a 2xx).
    pub error: Option<String>,
    /// When it failed and a retry follows: the wait before it.
    pub next_retry_ms: Option<u64>,
}

impl Attempt {
    /// The receiver answered 2xx.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// What became of one webhook.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Outcome {
    /// The job.
    pub job: String,
    /// Whether an attempt got a 2xx.
    pub delivered: bool,
    /// How many attempts were made (duplicates not counted).
    pub attempts: u32,
}

/// One API request the simulator answered.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Served {
    /// Arrival (unix ms).
    pub at_ms: i64,
    /// Method.
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    /// The status answered.
    pub status: u16,
    /// The job it concerns, when there is one.
    pub job: Option<String>,
    /// What was wrong with the request, or what it did (`created`, `completed`…).
    pub note: String,
}

/// Everything the simulator reports.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// An API request was answered.
    Served(Served),
    /// A webhook delivery attempt ended.
    Attempt(Box<Attempt>),
    /// A job's webhook is done with: delivered, or out of retries.
    Finished(Outcome),
}

impl Event {
    /// The line output: `HH:MM:SS  …`, terminal-safe.
    pub fn line(&self) -> String {
        match self {
            Event::Served(s) => format!(
                "{}  {} {}  → {}  {}{}",
                crate::fmt::clock(s.at_ms),
                escape_line(s.method.as_bytes()),
                escape_line(s.target.as_bytes()),
                s.status,
                s.job
                    .as_deref()
                    .map_or(String::new(), |j| format!("job {j}  ")),
                escape_line(s.note.as_bytes()),
            ),
            Event::Attempt(a) => {
                let answer = match (a.status, &a.error) {
                    (Some(s), None) => format!("→ {s}"),
                    (Some(s), Some(e)) => format!("→ {s}  {}", escape_line(e.as_bytes())),
                    (None, Some(e)) => format!("✗ {}", escape_line(e.as_bytes())),
                    (None, None) => "✗".into(),
                };
                let copy = if a.copy > 1 { " (duplicate)" } else { "" };
                let retry = a
                    .next_retry_ms
                    .map_or(String::new(), |ms| format!("  retry in {}", wait(ms)));
                format!(
                    "{}  webhook job {} attempt {}{copy}  t={}  key {}  {}  {answer}  {:.1}ms{retry}",
                    crate::fmt::clock(a.at_ms),
                    a.job,
                    a.attempt,
                    a.timestamp,
                    a.idempotency_key,
                    escape_line(a.url.as_bytes()),
                    a.latency_ms,
                )
            }
            Event::Finished(o) if o.delivered => format!(
                "          webhook job {} delivered after {} attempt{}",
                o.job,
                o.attempts,
                if o.attempts == 1 { "" } else { "s" }
            ),
            Event::Finished(o) => format!(
                "          webhook job {} NOT delivered: {} attempt{} failed, no retries left",
                o.job,
                o.attempts,
                if o.attempts == 1 { "" } else { "s" }
            ),
        }
    }

    /// The `--json` object: `{"kind": "request" | "attempt" | "finished", …}`.
    pub fn json(&self) -> serde_json::Value {
        let mut v = match self {
            Event::Served(s) => json!(s),
            Event::Attempt(a) => json!(a),
            Event::Finished(o) => json!(o),
        };
        let kind = match self {
            Event::Served(_) => "request",
            Event::Attempt(_) => "attempt",
            Event::Finished(_) => "finished",
        };
        if let Some(map) = v.as_object_mut() {
            map.insert("kind".into(), json!(kind));
        }
        v
    }
}

/// `300ms`, `5s`, `5m`, `2h`.
fn wait(ms: u64) -> String {
    match ms {
        m if m < 1000 => format!("{m}ms"),
        m if m < 60_000 => format!("{:.0}s", m as f64 / 1000.0),
        m if m < 3_600_000 => format!("{:.0}m", m as f64 / 60_000.0),
        m => format!("{:.0}h", m as f64 / 3_600_000.0),
    }
}

/// The simulator's event channel (cheap to clone; sending with nobody listening is fine).
#[derive(Clone, Debug)]
pub struct Events(broadcast::Sender<Event>);

impl Default for Events {
    fn default() -> Self {
        Events(broadcast::channel(4096).0)
    }
}

impl Events {
    /// Publishes an event.
    pub fn send(&self, event: Event) {
        let _ = self.0.send(event);
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.0.subscribe()
    }
}
