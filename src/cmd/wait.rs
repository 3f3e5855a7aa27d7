//! `hooklens wait`: block until a matching capture arrives in the log, for scripts and CI.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::cmd::args::{self, Exit, usage};
use crate::front::printer;

const NAME: &str = "wait";

#[derive(Debug, Args)]
/// Flags of `hooklens wait`.
pub struct WaitArgs {
    /// Capture log file (the one a running listener writes).
    #[arg(long, value_name = "FILE", default_value_os_t = args::default_log())]
    pub store: PathBuf,
    /// Exact event type, e.g. video.generation.completed.
    #[arg(long = "type", value_name = "TYPE")]
    pub event_type: Option<String>,
    /// Verdict, e.g. valid, invalid, stale (filter words).
    #[arg(long, value_name = "VERDICT")]
    pub verdict: Option<String>,
    /// Exact X-ModelGates-Idempotency-Key.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Any filter (same syntax as the TUI filter).
    #[arg(long, value_name = "FILTER", default_value = "")]
    pub filter: String,
    /// Also match captures already in the log when waiting starts.
    #[arg(long)]
    pub include_existing: bool,
    /// Give up after this long (exit 1).
    #[arg(long, default_value = "60s", value_parser = args::duration)]
    pub timeout: Duration,
    /// Print the capture as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `hooklens wait`: negative when nothing matched within the timeout.
pub async fn run(args: WaitArgs) -> Result<Exit> {
    let mut text = args.filter.clone();
    if let Some(v) = &args.verdict {
        text = format!("verdict:{v} {text}");
    }
    let filter = crate::filter::Filter::parse(&text).map_err(|e| usage(NAME, e))?;
    let what = crate::store::tail::WaitFor {
        event_type: args.event_type,
        idempotency_key: args.idempotency_key,
        filter,
        include_existing: args.include_existing,
    };
    let found = wait_and_print(&args.store, &what, args.timeout, args.json).await?;
    Ok(if found { Exit::Success } else { Exit::Negative })
}

/// Waits for a capture matching `what`; prints it and returns true, or says so on stderr and
/// returns false after `timeout`.
async fn wait_and_print(
    path: &std::path::Path,
    what: &crate::store::tail::WaitFor,
    timeout: Duration,
    json: bool,
) -> Result<bool> {
    match crate::store::tail::wait_for(path, what, timeout).await? {
        Some(record) => {
            let row = crate::model::record::Summary::of(&record);
            let text = if json {
                crate::sanitize::to_json_line(&printer::json_capture(&row, &record.verdict))
            } else {
                printer::line(&row)
            };
            println!("{text}");
            Ok(true)
        }
        None if !path.exists() => {
            eprintln!(
                "hooklens: nothing arrived within {timeout:?}: {}",
                args::missing_log(path)
            );
            Ok(false)
        }
        None => {
            eprintln!(
                "hooklens: no matching capture in {} within {:?}",
                path.display(),
                timeout
            );
            Ok(false)
        }
    }
}
