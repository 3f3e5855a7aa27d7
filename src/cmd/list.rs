//! `hooklens list`: one line (or JSON object) per stored capture.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::cmd::args::{self, Exit};
use crate::front::printer;
use crate::store;

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

/// Runs `hooklens list`: rows are written as the log is read (in log order), so the first
/// come at once and a million rows are never held.
pub fn run(args: ListArgs) -> Result<Exit> {
    if !args.store.exists() {
        return Err(args::environment(args::missing_log(&args.store)));
    }
    let palette = printer::Palette::for_stdout(args.color);
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut text = String::new();
    let streamed = store::stream_rows(&args.store, &mut |row, line| {
        text.clear();
        if args.json {
            let (verdict, tls) = store::decode_verdict(line)?;
            let mut j = printer::json_capture(row, &verdict);
            j.tls = tls.as_ref();
            text.push_str(&crate::sanitize::to_json_line(&j));
        } else {
            text.push_str(&printer::list_line_in(row, palette));
        }
        text.push('\n');
        out.write_all(text.as_bytes())?;
        Ok(())
    });
    // A reader that went away (`| head`) is main's to end quietly, like every command's.
    let recovery = streamed.and_then(|r| Ok(out.flush().map(|()| r)?))?;
    for line in recovery.report(&args.store, false) {
        eprintln!("hooklens: {line}");
    }
    Ok(Exit::Success)
}
