//! The `hooklens` binary: parse, run, print what went wrong, map the result to the exit code.
//! Everything else is the library.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use hooklens::cmd::args::{EnvironmentError, Exit, UsageError};
use hooklens::cmd::{self, Cli};

fn main() -> ExitCode {
    quiet_output_failures();
    let result = Cli::try_parse()
        .map_err(anyhow::Error::from)
        .and_then(|cli| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| anyhow::anyhow!("starting the async runtime: {e}"))?
                .block_on(cmd::run(cli))
        });
    if let Err(e) = &result {
        if closed_pipe(e) {
            return ExitCode::from(CLOSED_PIPE);
        }
        report(e);
    }
    ExitCode::from(exit_code(&result))
}

/// The exit code when whoever read the output went away (`hooklens list | head -1`): quiet,
/// and 128 + SIGPIPE, as the shell reports a command a closed pipe stopped.
const CLOSED_PIPE: u8 = 141;

/// `println!` panics when stdout cannot be written. A reader that went away ends the process
/// quietly ([`CLOSED_PIPE`]); any other failure (a full disk) is one line and exit code 2.
/// Other panics keep the standard report.
fn quiet_output_failures() {
    let standard = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        match message.strip_prefix("failed printing to ") {
            Some(_) if message.contains("(os error 32)") => {
                std::process::exit(i32::from(CLOSED_PIPE))
            }
            Some(what) => {
                let what = what.replacen(": ", " failed: ", 1);
                eprintln!("hooklens: error: writing to {what}");
                std::process::exit(2)
            }
            None => standard(info),
        }
    }));
}

/// Whether `e` is a write to a reader that went away.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The one exit-code rule: 0 done (and `--help`, `--version`); 1 a negative answer (invalid
/// signature, wait timed out, a receiver answered wrongly) or a failure; 2 a command line that
/// cannot be acted on (clap's errors and ours), an unknown capture id, a missing or unreadable
/// log or file, a full disk, a receiver that cannot be reached, a tool that is missing, or a
/// `--store` file that is not a capture log or is another listener's.
fn exit_code(result: &anyhow::Result<Exit>) -> u8 {
    match result {
        Ok(Exit::Success) => 0,
        Ok(Exit::Negative) => 1,
        Err(e) => match e.downcast_ref::<clap::Error>() {
            Some(clap) => u8::try_from(clap.exit_code()).unwrap_or(2),
            None if e.downcast_ref::<UsageError>().is_some() => 2,
            None if e.downcast_ref::<EnvironmentError>().is_some() => 2,
            None if e.downcast_ref::<hooklens::store::Refused>().is_some() => 2,
            None if e.chain().any(|c| c.is::<std::io::Error>()) => 2,
            None => 1,
        },
    }
}

/// Usage errors as clap renders them (the message, the usage line, tips); anything else as
/// one line `hooklens: error: …` with its causes.
fn report(e: &anyhow::Error) {
    if let Some(clap) = e.downcast_ref::<clap::Error>() {
        let _ = clap.print();
    } else if let Some(usage) = e.downcast_ref::<UsageError>() {
        let _ = usage.to_clap(Cli::command()).print();
    } else {
        eprintln!("hooklens: error: {e:#}");
    }
}
