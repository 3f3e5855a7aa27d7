//! `hooklens check URL`: its flags, and the report card. The cases, their deliveries and the
//! grading are `net/suite.rs`; sending them is `net/check.rs`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

use crate::cmd::args::{self, Exit, environment, usage};
use crate::model::capture::now_ms;
use crate::net::check::{Check, run as send_suite, run_id};
use crate::net::client::{Client, Target};
use crate::net::grade::{Graded, Rules, secs};
use crate::net::suite::{CASES, Kind, window_text};
use crate::sanitize::{escape_line, to_json_line};
use crate::verify::SchemeChoice;
use crate::verify::recipe::Recipe;

const NAME: &str = "check";

/// Why `--scheme mailgun` is refused: its signature is not in a header.
pub const MAILGUN_REFUSED: &str = "--scheme mailgun is not supported: Mailgun signs inside the body (signature.timestamp, token, signature), which this suite's header cases cannot break; test a Mailgun receiver with `hooklens send --scheme mailgun` (and --break)";

/// Flags of `hooklens check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The receiver's endpoint, used as given (no path: `/`).
    pub url: String,
    /// The receiver's signing secret (also MODELGATES_WEBHOOK_SECRET or HOOKLENS_SECRET).
    #[arg(long, short = 's')]
    pub secret: Option<String>,
    /// Signature scheme to sign with (each gets the cases its rules allow).
    #[arg(long, value_enum, default_value = "modelgates")]
    pub scheme: SchemeChoice,
    /// Custom scheme recipe (file or inline), for `--scheme custom`.
    #[arg(long, value_name = "FILE|RECIPE", value_parser = args::recipe)]
    pub recipe: Option<Arc<Recipe>>,
    /// Run only these cases (comma-separated or repeated): valid, failed, cancelled, expired,
    /// rotation, byte-exact, charset, large-body, duplicate, fresh, wrong-secret,
    /// tampered-body, stale, future, missing-header, empty-header, no-t, no-v1,
    /// non-numeric-t, wrong-unit, slow.
    #[arg(
        long,
        value_name = "NAME",
        value_delimiter = ',',
        conflicts_with = "skip"
    )]
    pub only: Vec<String>,
    /// Run every case but these (comma-separated or repeated).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Statuses that count as a rejection (default 401; comma-separated or repeated).
    #[arg(long, value_name = "STATUS", value_delimiter = ',', value_parser = args::status)]
    pub reject_status: Vec<u16>,
    /// The provider's delivery timeout: a slower answer would be retried.
    #[arg(long, default_value = "15s", value_parser = args::duration)]
    pub provider_timeout: Duration,
    /// One JSON object per case, then a summary object.
    #[arg(long)]
    pub json: bool,
    /// Extra CA certificate (PEM) to trust for https:// receivers; repeatable.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
}

fn names() -> String {
    CASES.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
}

fn parse_names(flag: &str, given: &[String]) -> Result<Vec<Kind>> {
    given
        .iter()
        .map(|n| {
            Kind::by_name(n.trim()).ok_or_else(|| {
                usage(
                    NAME,
                    format!(
                        "{flag} {:?}: no such case (cases: {})",
                        escape_line(n.as_bytes()),
                        names()
                    ),
                )
            })
        })
        .collect()
}

/// The cases to run for `recipe`: `--only` (each must apply), or every case that applies
/// minus `--skip`.
fn cases(args: &CheckArgs, recipe: &Recipe) -> Result<Vec<Kind>> {
    let only = parse_names("--only", &args.only)?;
    let skip = parse_names("--skip", &args.skip)?;
    let mut out = Vec::new();
    for (kind, _) in CASES {
        if !only.is_empty() {
            if only.contains(&kind) {
                kind.applies(recipe).map_err(|why| usage(NAME, why))?;
                out.push(kind);
            }
        } else if !skip.contains(&kind) && kind.applies(recipe).is_ok() {
            out.push(kind);
        }
    }
    if out.is_empty() {
        return Err(usage(NAME, "no case left to run"));
    }
    Ok(out)
}

fn latency(ms: Option<f64>) -> String {
    match ms {
        None => String::new(),
        Some(ms) if ms >= 1000.0 => format!("{:.1} s", ms / 1000.0),
        Some(ms) => format!("{ms:.1} ms"),
    }
}

/// One case of the report card (with its why line when it failed).
fn card_line(g: &Graded, provider_timeout: Duration) -> String {
    let mark = if g.passed { '✓' } else { '✗' };
    let got = match (g.got.status, g.name == Kind::Slow.name()) {
        (_, true) => format!("slowest {}", latency(g.got.latency_ms)),
        (Some(s), _) => format!("{s}  {}", latency(g.got.latency_ms)),
        (None, _) => format!("no answer  {}", latency(g.got.latency_ms)),
    };
    let mut line = format!(
        "{mark} {:<15} expected {:<11} got {got}",
        g.name, g.expected
    );
    if g.retried && g.name != Kind::Slow.name() {
        line.push_str(&format!(
            "  ⏱ over the {} provider timeout: a provider would retry",
            secs(provider_timeout)
        ));
    }
    if let Some(why) = &g.why {
        line.push_str("\n    ");
        line.push_str(why);
    }
    line
}

/// Runs `hooklens check`: negative when any case failed.
pub async fn run(args: CheckArgs) -> Result<Exit> {
    let secret = args::signing_secret(NAME, args.secret.as_slice())?;
    let recipe = match args.scheme {
        SchemeChoice::Auto | SchemeChoice::Modelgates => crate::verify::modelgates::recipe(),
        SchemeChoice::Mailgun => return Err(usage(NAME, MAILGUN_REFUSED)),
        SchemeChoice::Custom => match args.recipe.as_deref() {
            Some(r) => r.clone(),
            None => return Err(usage(NAME, "--scheme custom needs --recipe")),
        },
        other => {
            let name = clap::ValueEnum::to_possible_value(&other)
                .map_or_else(|| format!("{other:?}"), |v| v.get_name().to_string());
            // A scheme signed by code rather than a header recipe has no suite (yet).
            crate::verify::built_in(&name).ok_or_else(|| {
                usage(
                    NAME,
                    format!(
                        "--scheme {name} is not supported: every case is built from a header recipe, and {name} is not one; test its receiver with `hooklens send --scheme {name}`"
                    ),
                )
            })?
        }
    };
    if let Err(why) = recipe.key_bytes(&secret) {
        return Err(usage(NAME, format!("--secret for {}: {why}", recipe.name)));
    }
    let target = Target::parse(&args.url).map_err(|e| usage(NAME, e))?;
    if args.provider_timeout.is_zero() {
        return Err(usage(NAME, "--provider-timeout must be more than 0"));
    }
    let kinds = cases(&args, &recipe)?;
    let reject = if args.reject_status.is_empty() {
        vec![401]
    } else {
        args.reject_status.clone()
    };
    let run_name = run_id(now_ms());
    let client = Client::new(crate::net::tls::client_config(&args.cacert)?);
    let url = crate::net::forward::target_url(&target);
    let check = Check {
        target: &target,
        recipe: &recipe,
        secret: &secret,
        run: &run_name,
        cases: &kinds,
        rules: Rules {
            reject: &reject,
            provider_timeout: args.provider_timeout,
        },
    };
    let mut out = std::io::stdout();
    if !args.json {
        let _ = writeln!(
            out,
            "hooklens check {}  scheme {}{}  run {run_name}  (ids check-<case>-{run_name})",
            escape_line(url.as_bytes()),
            recipe.name,
            window_text(&recipe).map_or(String::new(), |w| format!(" (timestamps {w})"))
        );
    }
    let graded = send_suite(&client, &check, |g| {
        let text = if args.json {
            to_json_line(g)
        } else {
            card_line(g, args.provider_timeout)
        };
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    })
    .await
    .map_err(environment)?;
    let passed = graded.iter().filter(|g| g.passed).count();
    if args.json {
        let failed: Vec<&str> = graded
            .iter()
            .filter(|g| !g.passed)
            .map(|g| g.name)
            .collect();
        let summary = serde_json::json!({
            "kind": "summary",
            "passed": passed,
            "total": graded.len(),
            "failed": failed,
            "url": url,
            "scheme": recipe.name,
            "run": run_name,
            "provider_timeout_ms": args.provider_timeout.as_millis() as u64,
        });
        let _ = writeln!(out, "{}", to_json_line(&summary));
    } else {
        let _ = writeln!(out, "{passed}/{} passed", graded.len());
    }
    Ok(if passed == graded.len() {
        Exit::Success
    } else {
        Exit::Negative
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: CheckArgs,
    }

    #[test]
    fn the_only_help_names_every_case() {
        let mut cmd = Wrapper::command();
        let help = cmd.render_long_help().to_string();
        let only = &help[help.find("--only").unwrap()..help.find("--skip").unwrap()];
        let words: Vec<&str> = only
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .collect();
        for (_, name) in CASES {
            assert!(words.contains(&name), "{name}");
        }
    }
}
