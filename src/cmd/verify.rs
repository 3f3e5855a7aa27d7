//! `hooklens verify`: the offline check for scripts and CI. Exit 0 valid, 1 not valid,
//! 2 usage error.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use bytes::Bytes;
use clap::Args;
use serde::Serialize;

use crate::cmd::args::{self, Exit, usage};
use crate::fmt::skew;
use crate::model::capture::{CaptureId, Header};
use crate::model::text::ByteStr;
use crate::sanitize::escape_line;
use crate::sanitize::to_json_line;
use crate::verify::recipe::Recipe;
use crate::verify::{
    Hint, MatchedSecret, Outcome, RequestLine, SchemeChoice, VerifyConfig, verify_request,
};

/// Flags of `hooklens verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Secret to check against (for discord, sendgrid and Standard Webhooks v1a: the public
    /// key); repeat for rotation (also MODELGATES_WEBHOOK_SECRET, HOOKLENS_SECRET).
    #[arg(long = "secret", short = 's', value_name = "SECRET")]
    pub secrets: Vec<String>,
    /// A request header, `Name: value`; repeatable.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The raw body (`-` reads stdin).
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
    /// Check a stored capture instead of --header/--body.
    #[arg(long, value_name = "ID", conflicts_with_all = ["headers", "body"])]
    pub capture: Option<CaptureId>,
    /// Capture log for --capture.
    #[arg(long, value_name = "FILE", default_value_os_t = args::default_log())]
    pub store: PathBuf,
    /// Check as of this unix time (default: now; for --capture, when it arrived).
    #[arg(long, value_name = "UNIX")]
    pub at: Option<i64>,
    /// Signature scheme.
    #[arg(long, value_enum, default_value = "auto")]
    pub scheme: SchemeChoice,
    /// Custom scheme recipe (file or inline).
    #[arg(long, value_name = "FILE|RECIPE", value_parser = args::recipe)]
    pub recipe: Option<Arc<Recipe>>,
    /// The URL the provider called, for the URL-signed schemes (twilio, square, hubspot): the
    /// full URL, or an origin that a --capture's path and query are added to.
    #[arg(long, value_name = "URL", value_parser = args::public_url)]
    pub public_url: Option<String>,
    /// The request method, for HubSpot v3 with --header/--body (a --capture has its own).
    #[arg(long, default_value = "POST", conflicts_with = "capture")]
    pub method: String,
    /// Allowed timestamp skew.
    #[arg(long, default_value = "300s", value_parser = args::duration)]
    pub tolerance: Duration,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    verdict: &'static str,
    valid: bool,
    scheme: Option<&'a str>,
    reason: &'a str,
    timestamp: Option<i64>,
    skew_secs: Option<i64>,
    matched_secret: Option<&'a MatchedSecret>,
    hints: &'a [Hint],
}

const NAME: &str = "verify";

fn parse_header(text: &str) -> Result<Header> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => Ok(Header::new(
            ByteStr::copy_from(name.trim()),
            Bytes::copy_from_slice(value.trim().as_bytes()),
        )),
        _ => Err(usage(
            NAME,
            format!("--header {text:?} is not \"Name: value\""),
        )),
    }
}

/// Runs `hooklens verify`: negative when the signature is not valid.
pub fn run(args: VerifyArgs) -> Result<Exit> {
    let secrets = args::secrets(NAME, &args.secrets)?;
    if secrets.is_empty() {
        return Err(usage(
            NAME,
            "verify needs --secret (or MODELGATES_WEBHOOK_SECRET, HOOKLENS_SECRET)",
        ));
    }
    let (headers, body, arrived, method, target) = match args.capture {
        Some(id) => {
            let log = args::open_log(&args.store)?;
            let record = args::load(&log, &args.store, id)?;
            let at = record.capture.received_at_ms.div_euclid(1000);
            (
                record.capture.headers,
                record.capture.body.to_vec(),
                Some(at),
                record.capture.method,
                record.capture.target,
            )
        }
        None => {
            let Some(path) = &args.body else {
                return Err(usage(
                    NAME,
                    "verify needs --capture ID, or --header … and --body FILE",
                ));
            };
            let body = if path.as_os_str() == "-" {
                let mut buf = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buf)
                    .context("reading the body from stdin")?;
                buf
            } else {
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
            };
            let headers = args
                .headers
                .iter()
                .map(|h| parse_header(h))
                .collect::<Result<Vec<Header>>>()?;
            (
                headers,
                body,
                None,
                args.method.clone().into(),
                ByteStr::new(),
            )
        }
    };
    let now = args.at.or(arrived).unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    let cfg = VerifyConfig {
        secrets,
        tolerance_secs: args.tolerance.as_secs() as i64,
        scheme: args.scheme,
        custom: args.recipe.clone(),
        public_url: args.public_url.clone(),
    };
    let req = RequestLine {
        method: &method,
        target: &target,
    };
    let v = verify_request(&req, &headers, &body, &cfg, now);
    if args.json {
        println!(
            "{}",
            to_json_line(&Report {
                verdict: v.outcome.name(),
                valid: v.outcome == Outcome::Valid,
                scheme: v.scheme.as_deref(),
                reason: &v.reason,
                timestamp: v.timestamp,
                skew_secs: v.skew_secs,
                matched_secret: v.matched_secret.as_ref(),
                hints: &v.hints,
            })
        );
    } else {
        println!(
            "{} ({}): {}",
            v.outcome.label(),
            v.scheme.as_deref().unwrap_or("-"),
            escape_line(v.reason.as_bytes())
        );
        if let Some(ts) = v.timestamp {
            println!(
                "timestamp {ts}, skew {} (checked at {now})",
                skew(v.skew_secs)
            );
        }
        if let Some(m) = &v.matched_secret {
            println!("secret    #{} (fingerprint {})", m.index, m.fingerprint);
        }
        for h in &v.hints {
            println!("hint      {}", escape_line(h.message.as_bytes()));
        }
    }
    Ok(if v.outcome == Outcome::Valid {
        Exit::Success
    } else {
        Exit::Negative
    })
}
