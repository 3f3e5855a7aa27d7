//! `hooklens send`: signs and posts a provider-shaped test event, valid or broken on purpose,
//! and says whether the receiver answered as a correct receiver should.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::{Args, ValueEnum};
use http_body_util::{BodyExt, Full};

use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::sanitize::escape_text;
use crate::verify::recipe::Recipe;
use crate::verify::{SchemeChoice, modelgates};

/// Built-in events (compact JSON as `JSON.stringify` writes it); `{{job_id}}` and
/// `{{created_at}}` are filled in at send time.
const EVENTS: [(&str, &str); 4] = [
    (
        "completed",
        include_str!("../../assets/events/completed.json"),
    ),
    ("failed", include_str!("../../assets/events/failed.json")),
    (
        "cancelled",
        include_str!("../../assets/events/cancelled.json"),
    ),
    ("expired", include_str!("../../assets/events/expired.json")),
];

/// Ways to break a delivery so a receiver's 401 path can be exercised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Break {
    /// Sign with a different secret.
    WrongSecret,
    /// Timestamp 360 s in the past.
    Stale,
    /// Timestamp 360 s in the future.
    Future,
    /// Change the body after signing.
    Body,
    /// Send no signature header.
    MissingSignature,
}

/// Flags of `hooklens send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Receiver URL.
    #[arg(long, default_value = "http://127.0.0.1:8787/modelgates/video-webhook")]
    pub to: String,
    /// Signing secret (also MODELGATES_WEBHOOK_SECRET or HOOKLENS_SECRET).
    #[arg(long, short = 's')]
    pub secret: Option<String>,
    /// completed, failed, cancelled, expired, or a file whose bytes are sent as they are.
    #[arg(long, default_value = "completed")]
    pub event: String,
    /// Job id (`data.id`) for the built-in events.
    #[arg(long, default_value = "job_test")]
    pub id: String,
    /// Signature scheme to sign with.
    #[arg(long, value_enum, default_value = "modelgates")]
    pub scheme: SchemeChoice,
    /// Custom scheme recipe (file or inline), for `--scheme custom`.
    #[arg(long, value_name = "FILE|RECIPE", value_parser = crate::cmd::parse_recipe)]
    pub recipe: Option<Arc<Recipe>>,
    /// Break the delivery on purpose; a correct receiver answers 401.
    #[arg(long = "break", value_enum, value_name = "HOW")]
    pub break_: Option<Break>,
    /// Expected status (default: 2xx for a valid delivery, 401 for a broken one).
    #[arg(long)]
    pub expect: Option<u16>,
    /// Number of deliveries.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Deliveries in flight at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: u64,
    /// Extra CA certificate (PEM) to trust for https:// receivers; repeatable.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Give up on a response after this long.
    #[arg(long, default_value = "10s", value_parser = crate::cmd::args::parse)]
    pub timeout: Duration,
}

/// A delivery ready to send.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Headers in order.
    pub headers: Vec<Header>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The event body: a built-in template filled in, or a file's bytes untouched.
pub fn event_body(event: &str, job_id: &str, created_at: &str) -> Result<Vec<u8>> {
    if let Some((_, template)) = EVENTS.iter().find(|(name, _)| *name == event) {
        return Ok(template
            .replace("{{job_id}}", job_id)
            .replace("{{created_at}}", created_at)
            .into_bytes());
    }
    std::fs::read(event).with_context(|| {
        format!("--event {event}: not completed|failed|cancelled|expired and not a readable file")
    })
}

/// Signs `body` as the chosen scheme would, then applies the requested breakage.
pub fn build(
    recipe: Option<&Recipe>,
    secret: &Secret,
    body: Vec<u8>,
    now: i64,
    broken: Option<Break>,
) -> Result<Delivery> {
    let t = match broken {
        Some(Break::Stale) => now - 360,
        Some(Break::Future) => now + 360,
        _ => now,
    };
    let signing = match broken {
        Some(Break::WrongSecret) => {
            Secret::new(format!("{}-not-it", secret.expose_str())).context("secret")?
        }
        _ => secret.clone(),
    };
    let envelope = crate::envelope::summarize(&body);
    let job = envelope
        .data_id
        .clone()
        .unwrap_or_else(|| "job_test".into());
    let mut headers = vec![Header::new("Content-Type", "application/json")];
    let signature = match recipe {
        None => vec![Header::new(
            modelgates::SIGNATURE_HEADER,
            modelgates::signature_header(signing.expose(), t, &body),
        )],
        Some(r) => r
            .sign(&signing, t, &format!("msg_{job}"), &body)
            .map_err(|e| anyhow::anyhow!("signing: {e}"))?,
    };
    if broken != Some(Break::MissingSignature) {
        headers.extend(signature);
    }
    if recipe.is_none() {
        let status = envelope.data_status.unwrap_or_else(|| "event".into());
        headers.push(Header::new(
            modelgates::IDEMPOTENCY_HEADER,
            format!("{job}-{status}"),
        ));
    }
    let mut body = body;
    if broken == Some(Break::Body) {
        // One byte more than was signed: what a proxy or a re-encoding does.
        body.push(b' ');
    }
    Ok(Delivery { headers, body })
}

type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// The one outbound client `send` uses: http and https (system roots, `--cacert`, and the
/// hooklens local CA for loopback names).
fn client(cacert: &[PathBuf]) -> Result<Client> {
    let tls = crate::net::tls::client_config(cacert)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

/// What came back.
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body (first 64 KiB).
    pub body: Bytes,
    /// Request to end of body.
    pub latency: Duration,
}

async fn post(client: &Client, url: &str, d: &Delivery, timeout: Duration) -> Result<Answer> {
    let mut req = hyper::Request::post(url);
    for h in &d.headers {
        req = req.header(h.name.as_str(), h.value.as_ref());
    }
    let req = req
        .body(Full::new(Bytes::from(d.body.clone())))
        .with_context(|| format!("building a request to {url}"))?;
    let started = Instant::now();
    let work = async {
        let resp = client.request(req).await?;
        let status = resp.status().as_u16();
        let body = http_body_util::Limited::new(resp.into_body(), 64 * 1024)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        anyhow::Ok((status, body))
    };
    let (status, body) = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| anyhow::anyhow!("{url} did not answer within {timeout:?}"))?
        .map_err(|e| anyhow::anyhow!("posting to {url}: {}", crate::fmt::error_chain(&*e)))?;
    Ok(Answer {
        status,
        body,
        latency: started.elapsed(),
    })
}

fn expected(args: &SendArgs, status: u16) -> bool {
    match (args.expect, args.break_) {
        (Some(e), _) => status == e,
        (None, Some(_)) => status == 401,
        (None, None) => (200..300).contains(&status),
    }
}

/// Runs `hooklens send`.
pub async fn run(args: SendArgs) -> Result<ExitCode> {
    let secret = args
        .secret
        .clone()
        .or_else(|| std::env::var("MODELGATES_WEBHOOK_SECRET").ok())
        .or_else(|| std::env::var("HOOKLENS_SECRET").ok())
        .unwrap_or_else(|| {
            crate::cmd::usage_error("send needs --secret (or MODELGATES_WEBHOOK_SECRET)")
        });
    let secret = Secret::new(secret).unwrap_or_else(|e| crate::cmd::usage_error(e));
    let recipe = match args.scheme {
        SchemeChoice::Auto | SchemeChoice::Modelgates => None,
        SchemeChoice::Custom => Some(
            args.recipe
                .as_deref()
                .cloned()
                .unwrap_or_else(|| crate::cmd::usage_error("--scheme custom needs --recipe")),
        ),
        other => crate::verify::built_in(&format!("{other:?}").to_lowercase()),
    };
    if args.count == 0 || args.concurrency == 0 {
        crate::cmd::usage_error("--count and --concurrency must be at least 1");
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let created_at = crate::fmt::rfc3339(now * 1000);
    let body = event_body(&args.event, &args.id, &created_at)?;
    let delivery = build(recipe.as_ref(), &secret, body, now, args.break_)?;
    let client = client(&args.cacert)?;

    if args.count == 1 {
        let answer = post(&client, &args.to, &delivery, args.timeout).await?;
        let reason = http::StatusCode::from_u16(answer.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        println!(
            "{} {reason} in {:.1} ms",
            answer.status,
            answer.latency.as_secs_f64() * 1e3
        );
        if !answer.body.is_empty() {
            println!("{}", escape_text(&answer.body));
        }
        if !expected(&args, answer.status) {
            eprintln!(
                "hooklens: a correct receiver answers {} here, this one answered {}",
                describe_expectation(&args),
                answer.status
            );
            return Ok(ExitCode::from(1));
        }
        return Ok(ExitCode::SUCCESS);
    }

    // Load mode: `count` deliveries, `concurrency` at a time, each freshly signed.
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.min(args.count) {
        let (client, next, delivery) = (client.clone(), next.clone(), delivery.clone());
        let (to, timeout, count) = (args.to.clone(), args.timeout, args.count);
        tasks.push(tokio::spawn(async move {
            let mut results = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                results.push(
                    post(&client, &to, &delivery, timeout)
                        .await
                        .map(|a| (a.status, a.latency)),
                );
            }
            results
        }));
    }
    let mut latencies = Vec::new();
    let mut statuses = std::collections::BTreeMap::<String, u64>::new();
    let mut unexpected = 0;
    for t in tasks {
        for r in t.await? {
            match r {
                Ok((status, latency)) => {
                    *statuses.entry(status.to_string()).or_default() += 1;
                    if !expected(&args, status) {
                        unexpected += 1;
                    }
                    latencies.push(latency);
                }
                Err(e) => {
                    *statuses.entry(format!("error ({e:#})")).or_default() += 1;
                    unexpected += 1;
                }
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "{} deliveries in {:.2} s ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms",
        args.count,
        elapsed.as_secs_f64(),
        args.count as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
    for (status, n) in &statuses {
        println!("  {status}: {n}");
    }
    if unexpected > 0 {
        eprintln!(
            "hooklens: {unexpected} answers were not {}",
            describe_expectation(&args)
        );
        bail!(
            "{unexpected} of {} deliveries got an unexpected answer",
            args.count
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_expectation(args: &SendArgs) -> String {
    match (args.expect, args.break_) {
        (Some(e), _) => e.to_string(),
        (None, Some(b)) => format!("401 (the delivery was broken: {b:?})"),
        (None, None) => "2xx (204 for a valid delivery)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{Outcome, VerifyConfig, verify};

    fn check(d: &Delivery, secret: &str, now: i64) -> Outcome {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(secret).unwrap()],
            ..Default::default()
        };
        verify(&d.headers, &d.body, &cfg, now).outcome
    }

    #[test]
    fn each_break_mode_fails_the_way_it_says() {
        let s = Secret::new("dev_secret").unwrap();
        let body = event_body("completed", "job_1", "2026-11-26T10:00:00.000Z").unwrap();
        let now = 1_764_151_200;
        let d = |b| build(None, &s, body.clone(), now, b).unwrap();
        assert_eq!(check(&d(None), "dev_secret", now), Outcome::Valid);
        assert_eq!(
            check(&d(Some(Break::WrongSecret)), "dev_secret", now),
            Outcome::InvalidSignature
        );
        assert_eq!(
            check(&d(Some(Break::Stale)), "dev_secret", now),
            Outcome::Stale
        );
        assert_eq!(
            check(&d(Some(Break::Future)), "dev_secret", now),
            Outcome::Stale
        );
        assert_eq!(
            check(&d(Some(Break::Body)), "dev_secret", now),
            Outcome::InvalidSignature
        );
        assert_eq!(
            check(&d(Some(Break::MissingSignature)), "dev_secret", now),
            Outcome::MissingHeader
        );
        let valid = d(None);
        assert_eq!(
            crate::model::capture::header_value(&valid.headers, modelgates::IDEMPOTENCY_HEADER),
            Some(&b"job_1-completed"[..])
        );
    }

    #[test]
    fn built_in_events_are_provider_shaped() {
        for (name, _) in EVENTS {
            let body = event_body(name, "job_9", "2026-11-26T10:00:00.000Z").unwrap();
            let headers = vec![
                Header::new("Content-Type", "application/json"),
                Header::new(modelgates::SIGNATURE_HEADER, "t=1,v1=00"),
                Header::new(modelgates::IDEMPOTENCY_HEADER, format!("job_9-{name}")),
            ];
            let report = crate::envelope::shape_report("POST", &headers, &body);
            assert!(report.issues.is_empty(), "{name}: {:?}", report.issues);
        }
    }

    #[test]
    fn every_scheme_signs_what_it_verifies() {
        let s = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = event_body("failed", "job_2", "2026-11-26T10:00:00.000Z").unwrap();
        for name in ["standard", "stripe", "github", "slack", "shopify"] {
            let r = crate::verify::built_in(name).unwrap();
            let d = build(Some(&r), &s, body.clone(), 1_764_151_200, None).unwrap();
            let cfg = VerifyConfig {
                secrets: vec![s.clone()],
                ..Default::default()
            };
            let v = verify(&d.headers, &d.body, &cfg, 1_764_151_200);
            assert_eq!(
                (v.scheme.as_deref(), v.outcome),
                (Some(name), Outcome::Valid),
                "{}",
                v.reason
            );
        }
    }
}
