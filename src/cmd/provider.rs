//! `hooklens provider`: an offline ModelGates video API on 127.0.0.1 (submit, polling,
//! signed webhooks with retries, the video download), printing every request it serves and
//! every delivery attempt. The simulator itself is [`crate::net::provider`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::cmd::args::{self, Exit, usage};
use crate::model::secret::Secret;
use crate::net::provider::deliver::{Misbehave, Schedule};
use crate::net::provider::jobs::{OutcomePlan, check_callback_url};
use crate::net::provider::{self, Settings, api::DEFAULT_PORT};

const NAME: &str = "provider";

/// Flags of `hooklens provider`.
#[derive(Debug, Args, Clone)]
pub struct ProviderArgs {
    /// Port on 127.0.0.1; 0 picks a free port and prints it.
    #[arg(long, short, default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Webhook signing secret. Also read from MODELGATES_WEBHOOK_SECRET or HOOKLENS_SECRET.
    #[arg(long = "secret", short = 's', value_name = "SECRET")]
    pub secrets: Vec<String>,
    /// The only API key accepted as `Authorization: Bearer <key>` (default: any non-empty one).
    #[arg(
        long,
        value_name = "KEY",
        env = "MODELGATES_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Where webhooks go for jobs submitted without `callback_url` (the workspace default).
    #[arg(long, value_name = "URL")]
    pub default_callback_url: Option<String>,
    /// How long a job stays `pending` (0 for tests).
    #[arg(long, value_name = "DURATION", default_value = "40s", value_parser = args::duration)]
    pub job_time: Duration,
    /// How jobs end: completed, failed, cancelled, expired, or cycle (each in turn). A prompt
    /// containing `[outcome:failed]` (and the like) picks its own.
    #[arg(long, value_name = "OUTCOME", default_value = "completed", value_parser = OutcomePlan::parse)]
    pub outcome: OutcomePlan,
    /// Retry schedule after a failed attempt: svix, standard, none, or waits like `5s,5m,30m`.
    #[arg(long, value_name = "svix|standard|none|LIST", default_value = "svix", value_parser = retry)]
    pub retry: Schedule,
    /// Multiply every retry wait by this (0.001: 5 min becomes 300 ms).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = scale)]
    pub retry_scale: f64,
    /// An attempt without a 2xx answer within this long has failed.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = args::duration)]
    pub delivery_timeout: Duration,
    /// Deliver every webhook twice (same idempotency key).
    #[arg(long)]
    pub duplicate: bool,
    /// Sign with this old secret too, as during a rotation: its `v1=` first, then the current one.
    #[arg(long, value_name = "OLD_SECRET", hide_env_values = true)]
    pub rotate: Option<String>,
    /// Sign with a timestamp this far in the past (e.g. 400s: stale).
    #[arg(long, value_name = "DURATION", value_parser = args::duration)]
    pub late: Option<Duration>,
    /// Change the body after signing (a correct receiver answers 401).
    #[arg(long)]
    pub tamper: bool,
    /// Hold each webhook until the next job's is ready, and send the newer one first.
    #[arg(long)]
    pub reorder: bool,
    /// Extra CA certificate (PEM) for https callback URLs; repeatable.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// One JSON object per request and per attempt instead of a line.
    #[arg(long)]
    pub json: bool,
}

/// `--retry`: a preset name or comma-separated waits.
fn retry(text: &str) -> Result<Schedule, String> {
    if let Some(preset) = Schedule::preset(text) {
        return Ok(preset);
    }
    text.split(',')
        .map(args::duration)
        .collect::<Result<Vec<_>, _>>()
        .map(Schedule)
        .map_err(|e| format!("{e}; or use svix, standard or none"))
}

fn scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 => Ok(f),
        _ => Err(format!("not a factor: {text:?} (try 0.001)")),
    }
}

impl ProviderArgs {
    /// The simulator's settings from these flags.
    pub fn settings(&self) -> Result<Settings> {
        let secret = args::signing_secret(NAME, &self.secrets)?;
        if let Some(url) = &self.default_callback_url {
            check_callback_url(url)
                .map_err(|e| usage(NAME, format!("--default-callback-url {url:?} {e}")))?;
        }
        let rotate = match &self.rotate {
            Some(old) => {
                Some(Secret::new(old.as_str()).map_err(|e| usage(NAME, format!("--rotate: {e}")))?)
            }
            None => None,
        };
        Ok(Settings {
            secret,
            api_key: self.api_key.clone().filter(|k| !k.is_empty()),
            job_time: self.job_time,
            outcome: self.outcome,
            default_callback_url: self.default_callback_url.clone(),
            schedule: self.retry.scaled(self.retry_scale),
            delivery_timeout: self.delivery_timeout,
            misbehave: Misbehave {
                duplicate: self.duplicate,
                rotate,
                late: self.late,
                tamper: self.tamper,
                reorder: self.reorder,
            },
            cacert: self.cacert.clone(),
        })
    }
}

/// Runs `hooklens provider` until Ctrl-C or SIGTERM.
pub async fn run(args: ProviderArgs) -> Result<Exit> {
    let mut shutdown = crate::cmd::listen::Shutdown::listen();
    let settings = args.settings()?;
    let key = match &settings.api_key {
        Some(_) => "the --api-key".to_owned(),
        None => "any non-empty key".to_owned(),
    };
    let running = provider::start([127, 0, 0, 1].into(), args.port, settings).await?;
    let mut events = running.provider.events.subscribe();
    let ready = format!(
        "ModelGates API on {base}  (submit: POST {base}/api/v1/videos, Authorization: Bearer {key})",
        base = running.base()
    );
    if args.json {
        eprintln!("{ready}");
    } else {
        println!("{ready}");
    }
    loop {
        tokio::select! {
            () = shutdown.wait() => break,
            event = events.recv() => match event {
                Ok(e) if args.json => println!("{}", crate::sanitize::to_json_line(&e.json())),
                Ok(e) => println!("{}", e.line()),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    eprintln!("hooklens: {n} events not shown (output too slow)");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    running.stop().await;
    Ok(Exit::Success)
}
