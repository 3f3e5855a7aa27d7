//! `hooklens flow`: the guide's Steps 4–5 run end to end, every link checked (see
//! [`crate::net::flow`]). Prints one verdict line per step (stderr; stdout before the report
//! on a terminal) and the guide's delivery report (stdout; `--json`: only the report, one
//! line). Exit 0 when every step passed, 1 when one failed (named), 2 for usage errors.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::cmd::args::{self, Exit, usage};
use crate::model::secret::Secret;
use crate::net::client::Target;
use crate::net::flow::{self, FlowConfig, State, Step};
use crate::net::provider::{self, Settings, jobs::OutcomePlan};

const NAME: &str = "flow";
/// The bearer token sent to the in-process provider when none is given.
const LOCAL_KEY: &str = "hooklens-flow";

/// Flags of `hooklens flow`.
#[derive(Debug, Args, Clone)]
pub struct FlowArgs {
    /// The API's base URL, e.g. https://modelgates.ai (default: a `hooklens provider` in this
    /// process). A real API spends credits.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// Bearer token for the API (needed with --api).
    #[arg(
        long,
        value_name = "KEY",
        env = "MODELGATES_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Webhook signing secret. Also read from MODELGATES_WEBHOOK_SECRET or HOOKLENS_SECRET.
    #[arg(long = "secret", short = 's', value_name = "SECRET")]
    pub secrets: Vec<String>,
    /// The callback_url to submit, e.g. a tunnel's public URL that leads to this flow's
    /// listener (--port) [default: the listener's own URL]
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    /// The flow's listener port on 127.0.0.1 (0: any free port).
    #[arg(long, short, default_value_t = 0)]
    pub port: u16,
    /// The capture log of a `hooklens listen` already running that --callback-url leads to:
    /// the webhook is looked for there (and verified with --secret); no listener is started.
    #[arg(long, value_name = "FILE", requires = "callback_url", conflicts_with_all = ["forward_to", "port"])]
    pub store: Option<PathBuf>,
    /// Your receiver, put behind the listener: the flow also checks that it answered 2xx.
    #[arg(long, value_name = "URL", value_parser = Target::parse)]
    pub forward_to: Option<Target>,
    /// With the in-process provider: how long the job stays pending.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = args::duration, conflicts_with = "api")]
    pub job_time: Duration,
    /// With the in-process provider: how the job ends (completed, failed, cancelled, expired).
    #[arg(long, value_name = "OUTCOME", default_value = "completed", value_parser = OutcomePlan::parse, conflicts_with = "api")]
    pub outcome: OutcomePlan,
    /// Time between polls [default: 1s; 10s with --api, as the guide's run]
    #[arg(long, value_name = "DURATION", value_parser = args::duration)]
    pub poll_interval: Option<Duration>,
    /// Give up on polling and on the webhook after this long.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = args::duration)]
    pub timeout: Duration,
    /// Extra CA certificate (PEM) for an https API or receiver; repeatable.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Print only the report, as one JSON line, on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `✓ submit    202 job … pending`.
pub fn step_line(step: &Step) -> String {
    let mark = match step.state {
        State::Passed => "✓",
        State::Failed => "✗",
        State::Skipped => "-",
    };
    format!("{mark} {:<9} {}", step.name, step.detail)
}

/// Runs `hooklens flow`.
pub async fn run(args: FlowArgs) -> Result<Exit> {
    let secret = args::signing_secret(NAME, &args.secrets)?;
    if let Some(url) = &args.callback_url {
        provider::jobs::check_callback_url(url)
            .map_err(|e| usage(NAME, format!("--callback-url {url:?} {e}")))?;
    }
    let key = args.api_key.clone().filter(|k| !k.is_empty());
    let (local, api, api_key) = match &args.api {
        Some(api) => {
            Target::parse(api).map_err(|e| usage(NAME, format!("--api: {e}")))?;
            let Some(key) = key else {
                return Err(usage(
                    NAME,
                    "--api needs --api-key (or MODELGATES_API_KEY): the API's bearer token",
                ));
            };
            (None, api.clone(), key)
        }
        None => {
            let mut settings = Settings::new(secret.clone());
            settings.job_time = args.job_time;
            settings.outcome = args.outcome;
            settings.cacert = args.cacert.clone();
            // The flow judges the first delivery; retries would only reach the receiver
            // after the flow has ended.
            settings.schedule = crate::net::provider::deliver::Schedule(Vec::new());
            let running = provider::start([127, 0, 0, 1].into(), 0, settings).await?;
            let base = running.base().to_owned();
            (Some(running), base, key.unwrap_or_else(|| LOCAL_KEY.into()))
        }
    };
    let api_key = Secret::new(api_key).map_err(|e| usage(NAME, format!("--api-key: {e}")))?;
    let poll_interval = args.poll_interval.unwrap_or(if local.is_some() {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    });
    let cfg = FlowConfig {
        api,
        api_key,
        secret,
        callback_url: args.callback_url.clone(),
        listen_port: args.port,
        store: args.store.clone(),
        forward_to: args.forward_to.clone(),
        poll_interval,
        timeout: args.timeout,
        cacert: args.cacert.clone(),
    };
    // Lines go before the report on a terminal, else to stderr so stdout is the report.
    let lines_on_stdout = !args.json && std::io::stdout().is_terminal();
    let say = |line: &str| {
        if lines_on_stdout {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    };
    if let Some(p) = &local {
        say(&format!("  provider  {} (in process)", p.base()));
    }
    let result = flow::run(&cfg, |step| say(&step_line(step))).await;
    if let Some(p) = local {
        p.stop().await;
    }
    let result = result?;
    let failed = result.failed().cloned();
    match &failed {
        Some(step) => say(&format!("flow failed at step {}", step.name)),
        None => say(&format!("flow passed: {} steps", result.steps.len())),
    }
    if args.json {
        println!("{}", crate::sanitize::to_json_line(&result.report));
    } else {
        // Pretty JSON's newlines are its own; every string in it is escaped line by line.
        let pretty = serde_json::to_string_pretty(&result.report).unwrap_or_default();
        for line in pretty.lines() {
            println!("{}", crate::sanitize::terminal_safe_json(line));
        }
    }
    Ok(if failed.is_some() {
        Exit::Negative
    } else {
        Exit::Success
    })
}
