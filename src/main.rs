//! The `hooklens` binary: parse, run, map errors to exit codes. Everything else is the library.

use std::process::ExitCode;

use clap::Parser;
use hooklens::cmd::{self, Cli};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cmd::report_clap_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hooklens: error: starting the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hooklens: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
