//! Command line: the `hooklens` parser and the dispatch to one file per subcommand.
//!
//! `hooklens` with no subcommand is `hooklens listen`. Each subcommand's `--help` ends with
//! examples (the `ex` module below). Each subcommand's file holds its clap flags and its `run`
//! (`completions` is handed the parser it completes, so it needs nothing from here); what
//! they share (value parsers, secrets, the default log, [`args::UsageError`], [`args::Exit`])
//! is in [`args`], which imports none of them. [`run`] returns errors and never exits:
//! `main.rs` prints them and maps the result to the exit code.

pub mod args;
pub mod cert;
pub mod check;
pub mod completions;
pub mod export;
pub mod flow;
pub mod list;
pub mod listen;
pub mod provider;
pub mod replay;
pub mod send;
pub mod show;
pub mod verify;
pub mod wait;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// See, check, forward and replay signed webhooks on your own machine.
#[derive(Debug, Parser)]
#[command(
    name = "hooklens",
    version = env!("HOOKLENS_VERSION"),
    args_conflicts_with_subcommands = true,
    after_help = ex::ROOT
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    listen: listen::ListenArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Capture, verify and show incoming webhooks (the default).
    #[command(after_help = ex::LISTEN)]
    Listen(Box<listen::ListenArgs>),
    /// One line per stored capture.
    #[command(after_help = ex::LIST)]
    List(list::ListArgs),
    /// Full detail of one capture: headers, verdict, body, shape report.
    #[command(after_help = ex::SHOW)]
    Show(show::ShowArgs),
    /// Check a signature offline (exit 0 valid, 1 invalid, 2 usage error).
    #[command(after_help = ex::VERIFY)]
    Verify(verify::VerifyArgs),
    /// Sign and post a provider-shaped test event (valid, or broken with --break).
    #[command(after_help = ex::SEND)]
    Send(send::SendArgs),
    /// Export captures: HAR 1.2 (--har FILE) or a byte-exact curl command (--curl ID).
    #[command(after_help = ex::EXPORT)]
    Export(export::ExportArgs),
    /// Block until a matching capture arrives in the log (exit 0), or time out (exit 1).
    #[command(after_help = ex::WAIT)]
    Wait(wait::WaitArgs),
    /// Send stored captures again (exactly, or re-signed with --resign).
    #[command(after_help = ex::REPLAY)]
    Replay(replay::ReplayArgs),
    /// Show the local HTTPS certificate and its CA (--renew, --regenerate change them).
    #[command(after_help = ex::CERT)]
    Cert(cert::CertArgs),
    /// Grade a webhook receiver with signed and broken deliveries (exit 0 all passed, 1 not).
    #[command(after_help = ex::CHECK)]
    Check(check::CheckArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = ex::COMPLETIONS)]
    Completions(completions::CompletionsArgs),
    /// An offline ModelGates video API: submit, polling, signed webhooks with retries, the video.
    #[command(after_help = ex::PROVIDER)]
    Provider(Box<provider::ProviderArgs>),
    /// Run the guide's Steps 4-5 and check every link (exit 0 all passed, 1 a step failed).
    #[command(after_help = ex::FLOW)]
    Flow(Box<flow::FlowArgs>),
}

/// The examples each `--help` ends with (every one runs as written).
mod ex {
    pub const ROOT: &str = "Examples:
  hooklens --secret dev_secret            listen on 127.0.0.1:8787 (same as `hooklens listen`)
  hooklens send --secret dev_secret       post a signed test event to it
  hooklens list                           what arrived, from any folder

Exit codes: 0 success or valid; 1 a negative result (invalid signature, receiver not 2xx,
wait timed out, a check case failed); 2 a usage or environment error.";
    pub const LISTEN: &str = "Examples:
  hooklens listen --secret dev_secret
  hooklens listen --secret dev_secret --forward-to http://127.0.0.1:3001/modelgates/video-webhook
  hooklens listen --no-tui --json --port 0 --store ./hooks.jsonl";
    pub const LIST: &str = "Examples:
  hooklens list
  hooklens list --json | head -1
  hooklens list --store ./hooks.jsonl";
    pub const SHOW: &str = "Examples:
  hooklens show 12
  hooklens show 12 --json
  hooklens show 12 --shape";
    pub const VERIFY: &str = "Examples:
  hooklens verify --capture 12 --secret dev_secret
  hooklens verify --capture 12 --secret old_secret --secret new_secret --json
  hooklens verify --header 'X-ModelGates-Signature: t=1764600000,v1=…' --body body.json --at 1764600000 --secret dev_secret";
    pub const SEND: &str = "Examples:
  hooklens send --secret dev_secret
  hooklens send --secret dev_secret --break stale        a correct receiver answers 401
  hooklens send --secret dev_secret --count 1000 --concurrency 50 --to http://127.0.0.1:3001/modelgates/video-webhook";
    pub const EXPORT: &str = "Examples:
  hooklens export --curl 12
  hooklens export --curl 12 --body-file body.bin
  hooklens export --har captures.har --filter valid";
    pub const WAIT: &str = "Examples:
  hooklens wait --type video.generation.completed --timeout 2m
  hooklens wait --verdict invalid --include-existing --json";
    pub const REPLAY: &str = "Examples:
  hooklens replay 12 --to http://127.0.0.1:3001
  hooklens replay 12 --resign --secret dev_secret
  hooklens replay --from assets/fixtures/modelgates.jsonl --all --filter valid --resign --secret dev_secret --to http://127.0.0.1:3001";
    pub const CERT: &str = "Examples:
  hooklens cert                            show; changes nothing
  hooklens cert --renew --tls-name myapp.test
  hooklens cert --export ./certs";
    pub const CHECK: &str = "Examples:
  hooklens check http://127.0.0.1:3001/modelgates/video-webhook --secret dev_secret
  hooklens check http://127.0.0.1:3001/modelgates/video-webhook --secret dev_secret --json";
    pub const COMPLETIONS: &str = "Examples:
  hooklens completions bash > ~/.local/share/bash-completion/completions/hooklens
  hooklens completions zsh > ~/.zfunc/_hooklens      (with fpath+=~/.zfunc in .zshrc)
  hooklens completions fish > ~/.config/fish/completions/hooklens.fish";
    pub const PROVIDER: &str = "Examples:
  hooklens provider --secret dev_secret
  hooklens provider --secret dev_secret --job-time 0 --retry-scale 0.001 --outcome cycle --json
  hooklens provider --secret dev_secret --default-callback-url http://127.0.0.1:8787/modelgates/video-webhook --duplicate";
    pub const FLOW: &str = "Examples:
  hooklens flow --secret dev_secret
  hooklens flow --secret dev_secret --forward-to http://127.0.0.1:3001/modelgates/video-webhook
  hooklens flow --secret dev_secret --outcome failed --json";
}

/// Runs the parsed command line: what the command concluded, or why it could not run (a
/// [`args::UsageError`] for a command line it cannot act on).
pub async fn run(cli: Cli) -> Result<args::Exit> {
    match cli.command {
        None => listen::run(cli.listen).await,
        Some(Command::Listen(a)) => listen::run(*a).await,
        Some(Command::List(a)) => list::run(a),
        Some(Command::Show(a)) => show::run(a),
        Some(Command::Verify(a)) => verify::run(a),
        Some(Command::Send(a)) => send::run(a).await,
        Some(Command::Export(a)) => export::run(a),
        Some(Command::Wait(a)) => wait::run(a).await,
        Some(Command::Replay(a)) => replay::run(a).await,
        Some(Command::Cert(a)) => cert::run(a),
        Some(Command::Check(a)) => check::run(a).await,
        Some(Command::Completions(a)) => {
            completions::run(a, <Cli as clap::CommandFactory>::command())
        }
        Some(Command::Provider(a)) => provider::run(*a).await,
        Some(Command::Flow(a)) => flow::run(*a).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[tokio::test]
    async fn usage_errors_are_returned_not_exits() {
        let cli = Cli::try_parse_from(["hooklens", "replay", "--store", "/nonexistent"]).unwrap();
        let err = run(cli).await.unwrap_err();
        let usage = err
            .downcast_ref::<args::UsageError>()
            .expect("a usage error");
        assert_eq!(usage.command, "replay");
        assert!(usage.message.contains("give capture ids"), "{usage}");
    }
}
