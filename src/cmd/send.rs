//! `hooklens send`: its flags, and whether the receiver answered as a correct receiver should.
//! Building, signing and posting the event is `net/send.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use clap::Args;

use crate::cmd::args::{self, Exit, usage};
use crate::model::secret::Secret;
use crate::net::send::{Break, build, build_with, client, event_body, post, post_many};
use crate::sanitize::escape_text;
use crate::verify::SchemeChoice;
use crate::verify::recipe::Recipe;

const NAME: &str = "send";

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
    /// Job id (`data.id`) for the built-in events.
    #[arg(long, default_value = "job_test")]
    pub id: String,
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
        SchemeChoice::Auto | SchemeChoice::Modelgates => None,
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
    let body = event_body(&args.event, &args.id, &created_at)?;
    // Twilio signs JSON by URL: the body's SHA-256 goes into the query it is sent to.
    let to = match args.scheme {
        SchemeChoice::Twilio => crate::verify::twilio::with_body_hash(&args.to, &body),
        _ => args.to.clone(),
    };
    let code = |s: &Secret, t: i64, id: &str, b: &[u8]| {
        crate::verify::sign_code(args.scheme, s, t, id, &to, b)
    };
    if let Some(why) = args.break_.and_then(|b| pointless_break(args.scheme, b)) {
        return Err(usage(NAME, why));
    }
    // A key of the wrong form is a usage error, said before anything is sent.
    if let Some(Err(e)) = crate::verify::sign_code(args.scheme, &secret, now, "", &to, b"") {
        return Err(usage(NAME, format!("--secret: {e}")));
    }
    let delivery = if crate::verify::signs_as_code(args.scheme, &secret) {
        let sign = |s: &Secret, t: i64, id: &str, b: &[u8]| {
            code(s, t, id, b).unwrap_or_else(|| Err("no signer".into()))
        };
        build_with(&sign, false, &secret, body, now, args.break_)?
    } else {
        build(recipe.as_ref(), &secret, body, now, args.break_)?
    };
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
    let started = Instant::now();
    let results = post_many(
        &client,
        &to,
        &delivery,
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
