//! Command line: the `hooklens` parser and the dispatch to one file per subcommand.
//!
//! `hooklens` with no subcommand is `hooklens listen`. Each subcommand's file holds its clap
//! flags and its `run`; what they share (value parsers, secrets, [`args::UsageError`],
//! [`args::Exit`]) is in [`args`], which imports none of them. [`run`] returns errors and
//! never exits: `main.rs` prints them and maps the result to the exit code.

pub mod args;
pub mod cert;
pub mod check;
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
#[command(name = "hooklens", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    listen: listen::ListenArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Capture, verify and show incoming webhooks (the default).
    Listen(Box<listen::ListenArgs>),
    /// One line per stored capture.
    List(list::ListArgs),
    /// Full detail of one capture: headers, verdict, body, shape report.
    Show(show::ShowArgs),
    /// Check a signature offline (exit 0 valid, 1 invalid, 2 usage error).
    Verify(verify::VerifyArgs),
    /// Sign and post a provider-shaped test event (valid, or broken with --break).
    Send(send::SendArgs),
    /// Export captures: HAR 1.2 (--har FILE) or a byte-exact curl command (--curl ID).
    Export(export::ExportArgs),
    /// Block until a matching capture arrives in the log (exit 0), or time out (exit 1).
    Wait(wait::WaitArgs),
    /// Send stored captures again (exactly, or re-signed with --resign).
    Replay(replay::ReplayArgs),
    /// Show, regenerate or export the local HTTPS certificate and its CA.
    Cert(cert::CertArgs),
    /// Grade a webhook receiver with signed and broken deliveries (exit 0 all passed, 1 not).
    Check(check::CheckArgs),
    /// An offline ModelGates video API: submit, polling, signed webhooks with retries, the video.
    Provider(Box<provider::ProviderArgs>),
    /// Run the guide's Steps 4-5 and check every link (exit 0 all passed, 1 a step failed).
    Flow(Box<flow::FlowArgs>),
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
