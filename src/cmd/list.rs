//! `hooklens list`: one line (or JSON object) per stored capture.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::cmd::args::{self, Exit};
use crate::front::printer;

#[derive(Debug, Args)]
/// Flags of `hooklens list`.
pub struct ListArgs {
    /// Capture log file.
    #[arg(long, value_name = "FILE", default_value_os_t = args::default_log())]
    pub store: PathBuf,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Colour the lines: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: printer::ColorChoice,
}

/// Runs `hooklens list`.
pub fn run(args: ListArgs) -> Result<Exit> {
    let log = args::open_log(&args.store)?;
    let palette = printer::Palette::for_stdout(args.color);
    let mut out = String::new();
    for row in log.index().rows() {
        if args.json {
            let record = log.load(row.id)?;
            let mut j = printer::json_capture(row, &record.verdict);
            j.tls = record.capture.tls.as_ref();
            out.push_str(&crate::sanitize::to_json_line(&j));
        } else {
            out.push_str(&printer::list_line_in(row, palette));
        }
        out.push('\n');
    }
    print!("{out}");
    for line in log.recovery.report(&args.store, false) {
        eprintln!("hooklens: {line}");
    }
    Ok(Exit::Success)
}
