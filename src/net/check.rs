//! Sending the `hooklens check` suite to a receiver: each case's deliveries are built (by
//! [`crate::net::suite`]) the moment they go out, so their timestamps are exact, sent one
//! after another over the shared outbound [`Client`] (exact header case, keep-alive), and
//! graded as their answers come in. The flags and the printing are in `cmd/check.rs`.
//!
//! The URL is the endpoint as given: its path (`/` when it has none) and query are the
//! request target of every delivery.

use std::time::{Duration, Instant};

use crate::model::capture::{Header, now_ms};
use crate::model::secret::Secret;
use crate::net::client::{Client, ClientError, Target};
use crate::net::forward::outbound_head;
use crate::net::grade::{self, Answer, Graded, Rules};
use crate::net::send::Delivery;
use crate::net::suite::{self, Ctx, Kind};
use crate::verify::recipe::Recipe;

/// One run of the suite.
pub struct Check<'a> {
    /// The receiver.
    pub target: &'a Target,
    /// The scheme to sign with.
    pub recipe: &'a Recipe,
    /// The receiver's secret.
    pub secret: &'a Secret,
    /// The run id (`check-<case>-<run>`).
    pub run: &'a str,
    /// The cases to run, in order.
    pub cases: &'a [Kind],
    /// How answers are judged.
    pub rules: Rules<'a>,
}

/// The receiver could not be reached at all (the first delivery found no one listening).
#[derive(Debug, thiserror::Error)]
#[error("cannot reach the receiver at {url}: {reason}")]
pub struct Unreachable {
    /// The URL as given.
    pub url: String,
    /// The connect error.
    pub reason: String,
}

/// How long hooklens waits for an answer: past the provider's timeout (to see what the
/// answer would have been), twice it and at least 10 s more.
pub fn wait_for(provider_timeout: Duration) -> Duration {
    (provider_timeout * 2).max(provider_timeout + Duration::from_secs(10))
}

/// A run id: the start time in milliseconds, base 36 (short, and new each run).
pub fn run_id(now_ms: i64) -> String {
    let mut n = now_ms.unsigned_abs();
    let mut out = Vec::new();
    loop {
        out.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

/// The request target of every delivery: the URL's path and query.
fn request_target(t: &Target) -> String {
    match &t.query {
        Some(q) => format!("{}?{q}", t.path),
        None => t.path.clone(),
    }
}

/// Posts one delivery; the second value is the connect error when no connection was made.
async fn post(
    client: &Client,
    target: &Target,
    d: &Delivery,
    wait: Duration,
) -> (Answer, Option<String>) {
    let mut headers = vec![
        Header::new("Host", target.authority.clone()),
        Header::new(
            "User-Agent",
            concat!("hooklens-check/", env!("CARGO_PKG_VERSION")),
        ),
    ];
    headers.extend(d.headers.iter().cloned());
    headers.push(Header::new("Content-Length", d.body.len().to_string()));
    let head = outbound_head("POST", &request_target(target), &headers);
    let started = Instant::now();
    let sent = client.send(target, &head, &d.body, false, wait).await;
    let latency = started.elapsed();
    let unreachable = match &sent {
        Err(ClientError::Connect { reason, .. }) => Some(reason.clone()),
        _ => None,
    };
    let status = sent.map(|r| r.status).map_err(|e| match e {
        ClientError::Timeout(_) => format!("timed out after {}", grade::secs(wait)),
        other => other.to_string(),
    });
    (Answer { status, latency }, unreachable)
}

/// Runs the cases in order, calling `each` with every graded case as soon as it is graded
/// (the slow case last, over every answer). Errors only when the first delivery cannot
/// connect.
pub async fn run(
    client: &Client,
    check: &Check<'_>,
    mut each: impl FnMut(&Graded),
) -> Result<Vec<Graded>, Unreachable> {
    let wait = wait_for(check.rules.provider_timeout);
    let ctx = Ctx {
        recipe: check.recipe,
        secret: check.secret,
        run: check.run,
    };
    let mut all: Vec<(Kind, Answer)> = Vec::new();
    let mut graded = Vec::new();
    let mut valid_rejected = false;
    for &kind in check.cases.iter().filter(|k| **k != Kind::Slow) {
        let mut answers = Vec::new();
        let mut failed_to_build = None;
        match suite::deliveries(kind, &ctx, now_ms()) {
            Ok(deliveries) => {
                for d in &deliveries {
                    let (answer, unreachable) = post(client, check.target, d, wait).await;
                    if let Some(reason) = unreachable
                        && all.is_empty()
                        && answers.is_empty()
                    {
                        return Err(Unreachable {
                            url: crate::net::forward::target_url(check.target),
                            reason,
                        });
                    }
                    answers.push(answer);
                }
            }
            Err(e) => failed_to_build = Some(e),
        }
        let mut g = grade::grade(kind, &answers, &check.rules, valid_rejected);
        if let Some(e) = failed_to_build {
            g.why = Some(format!("could not build the delivery: {e}"));
        }
        if kind == Kind::Valid && !g.passed {
            valid_rejected = true;
        }
        all.extend(answers.into_iter().map(|a| (kind, a)));
        each(&g);
        graded.push(g);
    }
    if check.cases.contains(&Kind::Slow) {
        let g = grade::grade_slow(&all, &check.rules);
        each(&g);
        graded.push(g);
    }
    Ok(graded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_base36_of_the_start() {
        assert_eq!(run_id(0), "0");
        assert_eq!(run_id(35), "z");
        assert_eq!(run_id(36), "10");
        assert_eq!(run_id(1_764_601_234_567).len(), 8);
    }

    #[test]
    fn the_wait_runs_past_the_provider_timeout() {
        assert_eq!(wait_for(Duration::from_secs(15)), Duration::from_secs(30));
        assert_eq!(wait_for(Duration::from_secs(1)), Duration::from_secs(11));
    }
}
