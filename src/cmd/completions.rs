//! `hooklens completions SHELL`: the shell completion script for bash, zsh, fish, elvish or
//! PowerShell, generated from the same parser the binary uses (clap_complete).

use anyhow::Result;
use clap::Args;
use clap_complete::Shell;

use crate::cmd::args::Exit;

/// Flags of `hooklens completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `root` (the whole command line, `Cli::command()`) to stdout.
pub fn run(args: CompletionsArgs, mut root: clap::Command) -> Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut root, "hooklens", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
    Ok(Exit::Success)
}
