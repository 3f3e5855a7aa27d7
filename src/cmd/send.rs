//! `hooklens send`: its flags, and whether the receiver answered as a correct receiver should.
//! Building, signing and posting the event is `net/send.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use clap::Args;

use crate::cmd::args::{self, Exit, usage};
use crate::model::secret::Secret;
use crate::net::send::{
    Break, Delivery, build, build_mailgun, build_with, client, event_body, post, post_many,
};
use crate::sanitize::escape_text;
use crate::verify::SchemeChoice;
use crate::verify::recipe::Recipe;

const NAME: &str = "send";
/// The job id (`data.id`) of a built-in event without --id.
const DEFAULT_JOB: &str = "job_test";

/// Flags of `hooklens send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Receiver URL.
    #[arg(long, default_value = "http://127.0.0.1:8787/modelgates/video-webhook")]
    pub to: String,
    /// Signing secret (also MODELGATES_WEBHOOK_SECRET or HOOKLENS_SECRET). For the key
    /// schemes, the private key: `whsk_…` (standard, signs v1a), 64 hex (discord), base64
    /// DER PKCS#8 P-256 (sendgrid).
    #[arg(long, short = 's')]
    pub secret: Option<String>,
    /// completed, failed, cancelled, expired, or a file whose bytes are sent as they are.
    #[arg(long, default_value = "completed")]
    pub event: String,
    /// Job id (`data.id`) for the built-in events [default: job_test]. With --count, every
    /// delivery has this one id (and idempotency key): one job's retries.
    #[arg(long)]
    pub id: Option<String>,
    /// Signature scheme to sign with.
    #[arg(long, value_enum, default_value = "modelgates")]
    pub scheme: SchemeChoice,
    /// Custom scheme recipe (file or inline), for `--scheme custom`.
    #[arg(long, value_name = "FILE|RECIPE", value_parser = args::recipe)]
    pub recipe: Option<Arc<Recipe>>,
    /// Break the delivery on purpose; a correct receiver answers 401.
    #[arg(long = "break", value_enum, value_name = "HOW")]
    pub break_: Option<Break>,
    /// Expected status (default: 2xx for a valid delivery, 401 for a broken one).
    #[arg(long)]
    pub expect: Option<u16>,
    /// Number of deliveries. Each is its own job (id `job_<run>_<n>`, its own idempotency
    /// key) unless --id or --same-id is given.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// With --count: send one job's retries (one job id and idempotency key for all), so a
    /// receiver's duplicate handling is what gets exercised.
    #[arg(long)]
    pub same_id: bool,
    /// Deliveries in flight at once.
    #[arg(long, default_value_t = 1)]
    pub concurrency: u64,
    /// Extra CA certificate (PEM) to trust for https:// receivers; repeatable.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Give up on a response after this long.
    #[arg(long, default_value = "10s", value_parser = args::duration)]
    pub timeout: Duration,
}

fn expected(args: &SendArgs, status: u16) -> bool {
    match (args.expect, args.break_) {
        (Some(e), _) => status == e,
        (None, Some(_)) => status == 401,
        (None, None) => (200..300).contains(&status),
    }
}

fn describe_expectation(args: &SendArgs) -> String {
    match (args.expect, args.break_) {
        (Some(e), _) => e.to_string(),
        (None, Some(b)) => format!("401 (the delivery was broken: {b:?})"),
        (None, None) => "2xx (204 for a valid delivery)".into(),
    }
}

/// How each event body of this run is signed, for delivery to `to`.
#[derive(Clone)]
struct Signing {
    scheme: SchemeChoice,
    recipe: Option<Recipe>,
    secret: Secret,
    to: String,
    now: i64,
    broken: Option<Break>,
}

impl Signing {
    /// Signs one event body: Mailgun inside the body, the schemes written as code (keys, URLs,
    /// tokens) through `verify::sign_code`, the rest as recipes (none: ModelGates).
    fn deliver(&self, body: Vec<u8>) -> Result<Delivery> {
        let (secret, now, broken) = (&self.secret, self.now, self.broken);
        if self.scheme == SchemeChoice::Mailgun {
            return build_mailgun(secret, body, now, broken)
                .map_err(|e| usage(NAME, format!("{e:#}")));
        }
        if crate::verify::signs_as_code(self.scheme, secret) {
            let code = |s: &Secret, t: i64, id: &str, b: &[u8]| {
                crate::verify::sign_code(self.scheme, s, t, id, &self.to, b)
                    .unwrap_or_else(|| Err("no signer".into()))
            };
            return build_with(&code, None, false, secret, body, now, broken);
        }
        build(self.recipe.as_ref(), secret, body, now, broken)
    }
}

/// Why `--break how` cannot make a `scheme` delivery one a correct receiver refuses.
fn pointless_break(scheme: SchemeChoice, how: Break) -> Option<String> {
    use SchemeChoice as S;
    let name = format!("{scheme:?}").to_lowercase();
    match how {
        Break::Stale | Break::Future => match scheme {
            S::Discord | S::Sendgrid => Some(format!(
                "--break {}: {name}'s own libraries do not judge the timestamp, so a correct receiver accepts it",
                if how == Break::Stale { "stale" } else { "future" }
            )),
            S::Twilio | S::Square | S::Gitlab | S::Basic | S::Bearer => Some(format!(
                "--break {}: {name} signs no timestamp",
                if how == Break::Stale { "stale" } else { "future" }
            )),
            S::Hubspot if how == Break::Future => Some(
                "--break future: HubSpot refuses only old timestamps, so a correct receiver accepts it".into(),
            ),
            _ => None,
        },
        Break::Body if matches!(scheme, S::Gitlab | S::Basic | S::Bearer) => Some(format!(
            "--break body: a {name} token does not cover the body, so a correct receiver accepts it"
        )),
        _ => None,
    }
}

/// Runs `hooklens send`: negative when the receiver did not answer as expected.
pub async fn run(args: SendArgs) -> Result<Exit> {
    let secret = args::signing_secret(NAME, args.secret.as_slice())?;
    let recipe = match args.scheme {
        SchemeChoice::Auto | SchemeChoice::Modelgates | SchemeChoice::Mailgun => None,
        SchemeChoice::Custom => match args.recipe.as_deref() {
            Some(r) => Some(r.clone()),
            None => return Err(usage(NAME, "--scheme custom needs --recipe")),
        },
        other => crate::verify::built_in(&format!("{other:?}").to_lowercase()),
    };
    if args.count == 0 || args.concurrency == 0 {
        return Err(usage(NAME, "--count and --concurrency must be at least 1"));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let created_at = crate::fmt::rfc3339(now * 1000);
    // Twilio signs JSON by URL: the body's SHA-256 goes into the query it is sent to, so a run
    // for Twilio is one job (one body, one URL).
    let one_job =
        args.count == 1 || args.same_id || args.id.is_some() || args.scheme == SchemeChoice::Twilio;
    let job = args.id.clone().unwrap_or_else(|| DEFAULT_JOB.to_owned());
    let body = event_body(&args.event, &job, &created_at)?;
    let to = match args.scheme {
        SchemeChoice::Twilio => crate::verify::twilio::with_body_hash(&args.to, &body),
        _ => args.to.clone(),
    };
    if let Some(why) = args.break_.and_then(|b| pointless_break(args.scheme, b)) {
        return Err(usage(NAME, why));
    }
    // A key of the wrong form is a usage error, said before anything is sent.
    if let Some(Err(e)) = crate::verify::sign_code(args.scheme, &secret, now, "", &to, b"") {
        return Err(usage(NAME, format!("--secret: {e}")));
    }
    let signing = Signing {
        scheme: args.scheme,
        recipe,
        secret,
        to: to.clone(),
        now,
        broken: args.break_,
    };
    let delivery = signing.deliver(body)?;
    let client = client(&args.cacert)?;

    if args.count == 1 {
        let answer = post(&client, &to, &delivery, args.timeout).await?;
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
            return Ok(Exit::Negative);
        }
        return Ok(Exit::Success);
    }

    // Load mode: `count` deliveries, `concurrency` at a time.
    let deliveries: Arc<dyn Fn(u64) -> Delivery + Send + Sync> = if one_job {
        Arc::new(move |_| delivery.clone())
    } else {
        // A job of its own for each: the same event with `data.id` job_<run>_<n>, signed anew.
        let event = args.event.clone();
        Arc::new(move |n| {
            event_body(&event, &format!("job_{now}_{}", n + 1), &created_at)
                .and_then(|body| signing.deliver(body))
                .unwrap_or_else(|_| delivery.clone())
        })
    };
    let started = Instant::now();
    let results = post_many(
        &client,
        &to,
        deliveries,
        args.timeout,
        args.count,
        args.concurrency,
    )
    .await?;
    let mut latencies = Vec::new();
    let mut statuses = std::collections::BTreeMap::<String, u64>::new();
    let mut unexpected = 0;
    for r in results {
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
    Ok(Exit::Success)
}
