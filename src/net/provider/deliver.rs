//! The terminal webhook, delivered like a real provider delivers it: signed, retried on a
//! schedule until a 2xx, each attempt re-timestamped and re-signed with the same body and
//! idempotency key, every attempt recorded. Plus the misbehaviour a receiver should survive
//! ([`Misbehave`]).
//!
//! An attempt fails when there is no 2xx within the delivery timeout: a connection error, a
//! timeout, any other status (a redirect too: it is not followed, as Svix and the Standard
//! Webhooks spec do).

use std::sync::Arc;
use std::time::Duration;

use crate::model::capture::{Header, now_ms};
use crate::model::secret::Secret;
use crate::net::send::{self, Break, Client, Delivery};
use crate::verify::modelgates;

use super::events::{Attempt, Event, Events, Outcome};
use super::jobs::Job;

/// Svix's published schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 10 h (docs.svix.com/retries).
pub const SVIX: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
/// The Standard Webhooks spec's example schedule after the first attempt: 5 s, 5 min,
/// 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h (spec/standard-webhooks.md).
pub const STANDARD: [u64; 9] = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];

/// The waits before each retry (the first attempt is immediate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule(pub Vec<Duration>);

impl Schedule {
    /// `svix`, `standard` or `none`.
    pub fn preset(name: &str) -> Option<Schedule> {
        let secs = |s: &[u64]| Schedule(s.iter().map(|s| Duration::from_secs(*s)).collect());
        match name {
            "svix" => Some(secs(&SVIX)),
            "standard" => Some(secs(&STANDARD)),
            "none" => Some(Schedule(Vec::new())),
            _ => None,
        }
    }

    /// Each wait multiplied by `scale` (`--retry-scale 0.001` turns 5 min into 300 ms).
    pub fn scaled(&self, scale: f64) -> Schedule {
        Schedule(self.0.iter().map(|d| d.mul_f64(scale)).collect())
    }
}

/// Misbehaviour on demand.
#[derive(Clone, Debug, Default)]
pub struct Misbehave {
    /// Deliver every attempt twice (same key, same body, each signed).
    pub duplicate: bool,
    /// Sign with this old secret too: two `v1=` values, the old one first.
    pub rotate: Option<Secret>,
    /// Timestamp this far in the past.
    pub late: Option<Duration>,
    /// Change the body after signing.
    pub tamper: bool,
    /// Hold each job's webhook until the next job's is ready, then send the newer first.
    pub reorder: bool,
}

/// How webhooks go out.
#[derive(Clone)]
pub struct Deliverer {
    /// The outbound client.
    pub client: Client,
    /// The signing secret.
    pub secret: Secret,
    /// Waits between attempts (already scaled).
    pub schedule: Schedule,
    /// No 2xx within this long: the attempt failed.
    pub timeout: Duration,
    /// Misbehaviour.
    pub misbehave: Misbehave,
    /// Where the events go.
    pub events: Events,
    /// A held webhook (with `--reorder`): the job and the signal that lets it go.
    held: Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
}

impl Deliverer {
    /// A deliverer with nothing held.
    pub fn new(
        client: Client,
        secret: Secret,
        schedule: Schedule,
        timeout: Duration,
        misbehave: Misbehave,
        events: Events,
    ) -> Deliverer {
        Deliverer {
            client,
            secret,
            schedule,
            timeout,
            misbehave,
            events,
            held: Arc::default(),
        }
    }

    /// Delivers `job`'s terminal webhook to its callback URL (`base` is the simulator's own
    /// URL, for `unsigned_urls`), retrying on the schedule; the last word is an
    /// [`Event::Finished`].
    pub async fn deliver(&self, job: &Job, base: &str) -> Outcome {
        let Some(url) = job.callback_url.clone() else {
            return Outcome {
                job: job.id.clone(),
                delivered: false,
                attempts: 0,
            };
        };
        // With --reorder: the earlier job held back, let go once this one's first attempt is done.
        let mut release = if self.misbehave.reorder {
            self.hold().await
        } else {
            None
        };
        let body = job.event_body(base, &crate::fmt::rfc3339(now_ms()));
        let key = job.idempotency_key();
        let mut attempts = 0;
        let mut delivered = false;
        for n in 0..=self.schedule.0.len() {
            if n > 0 {
                tokio::time::sleep(self.schedule.0[n - 1]).await;
            }
            attempts += 1;
            let copies = if self.misbehave.duplicate { 2 } else { 1 };
            for copy in 1..=copies {
                let a = self.attempt(job, &url, &body, &key, attempts, copy).await;
                delivered |= a.ok();
                self.events.send(Event::Attempt(Box::new(a)));
            }
            if let Some(go) = release.take() {
                let _ = go.send(());
            }
            if delivered {
                break;
            }
        }
        let outcome = Outcome {
            job: job.id.clone(),
            delivered,
            attempts,
        };
        self.events.send(Event::Finished(outcome.clone()));
        outcome
    }

    /// One attempt: signed now (or `--late` ago), posted, judged.
    async fn attempt(
        &self,
        job: &Job,
        url: &str,
        body: &[u8],
        key: &str,
        n: u32,
        copy: u32,
    ) -> Attempt {
        let at_ms = now_ms();
        let late = self.misbehave.late.map_or(0, |d| d.as_secs() as i64);
        let t = at_ms.div_euclid(1000) - late;
        let broken = self.misbehave.tamper.then_some(Break::Body);
        let mut attempt = Attempt {
            job: job.id.clone(),
            url: url.to_string(),
            attempt: n,
            copy,
            at_ms,
            timestamp: t,
            idempotency_key: key.to_string(),
            status: None,
            latency_ms: 0.0,
            error: None,
            next_retry_ms: None,
        };
        let delivery = match send::build(None, &self.secret, body.to_vec(), t, broken) {
            Ok(d) => self.rotated(d, t, body),
            Err(e) => {
                attempt.error = Some(format!("signing: {e:#}"));
                return attempt;
            }
        };
        let started = std::time::Instant::now();
        match send::post(&self.client, url, &delivery, self.timeout).await {
            Ok(answer) => {
                attempt.status = Some(answer.status);
                if !(200..300).contains(&answer.status) {
                    attempt.error = Some(match answer.status {
                        300..=399 => {
                            format!("answered {} (a redirect; not followed)", answer.status)
                        }
                        s => format!("answered {s}, not 2xx"),
                    });
                }
            }
            Err(e) => attempt.error = Some(format!("{e:#}")),
        }
        attempt.latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        if !attempt.ok() {
            attempt.next_retry_ms = self
                .schedule
                .0
                .get(n as usize - 1)
                .map(|d| d.as_millis() as u64);
        }
        attempt
    }

    /// With `--rotate`: the signature header carries the old secret's `v1` first, then the
    /// current one (as during a secret rotation).
    fn rotated(&self, mut d: Delivery, t: i64, signed: &[u8]) -> Delivery {
        if let Some(old) = &self.misbehave.rotate {
            let both = format!(
                "t={t},v1={},v1={}",
                modelgates::sign(old.expose(), t, signed),
                modelgates::sign(self.secret.expose(), t, signed)
            );
            for h in &mut d.headers {
                if h.name.eq_ignore_ascii_case(modelgates::SIGNATURE_HEADER) {
                    *h = Header::new(modelgates::SIGNATURE_HEADER, both.clone());
                }
            }
        }
        d.headers
            .push(Header::new("User-Agent", "hooklens-provider"));
        d
    }

    /// `--reorder`: a job that finishes while none is held waits (at most 30 s) for the next
    /// one; the next one takes it and lets it go after its own first attempt, so the newer
    /// webhook arrives first. Returns the held job's signal, for the job that goes first.
    async fn hold(&self) -> Option<tokio::sync::oneshot::Sender<()>> {
        let earlier = self.held.lock().unwrap_or_else(|p| p.into_inner()).take();
        if earlier.is_some() {
            return earlier;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        let _ = tokio::time::timeout(Duration::from_secs(30), rx).await;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_follow_the_published_schedules() {
        let svix = Schedule::preset("svix").unwrap();
        assert_eq!(svix.0.len(), 7);
        // Svix: three failures then a success arrive about 35 min 5 s after the first try.
        let three: Duration = svix.0[..3].iter().sum();
        assert_eq!(three, Duration::from_secs(35 * 60 + 5));
        let standard: Duration = Schedule::preset("standard").unwrap().0.iter().sum();
        assert_eq!(standard, Duration::from_secs(75 * 3600 + 35 * 60 + 5));
        assert_eq!(
            svix.scaled(0.001).0[1],
            Duration::from_millis(300),
            "5 min at 0.001"
        );
        assert!(Schedule::preset("none").unwrap().0.is_empty());
        assert!(Schedule::preset("often").is_none());
    }
}
