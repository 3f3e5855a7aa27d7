//! `hooklens show`: one capture in full (headers, verdict, body, exchanges), its log record as
//! JSON, or its delivery shape report.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::cmd::args::{self, Exit};
use crate::model::capture::CaptureId;
use crate::store;

#[derive(Debug, Args)]
/// Flags of `hooklens show`.
pub struct ShowArgs {
    /// Capture id, e.g. 12 or #12.
    pub id: CaptureId,
    /// Capture log file.
    #[arg(long, value_name = "FILE", default_value_os_t = args::default_log())]
    pub store: PathBuf,
    /// The full record as JSON (as stored, body base64).
    #[arg(long, conflicts_with = "shape")]
    pub json: bool,
    /// Only the delivery shape report.
    #[arg(long)]
    pub shape: bool,
}

/// Runs `hooklens show`.
pub fn run(args: ShowArgs) -> Result<Exit> {
    // Through the offset index beside the log: a few lines read, not the whole log.
    let mut log = args::open_lookup(&args.store)?;
    let record = args::look_up(&mut log, &args.store, args.id)?;
    let dup_of = log.dup_of(args.id)?;
    let exchanges = log.exchanges(args.id)?;
    if args.json {
        // The capture's log line, plus its forward and replay records.
        let line = store::encode_line(args.id, &record)?;
        let mut value: serde_json::Value = serde_json::from_slice(&line)?;
        // In relay mode the status the provider got is in the relayed forward record.
        value["response_status"] =
            crate::model::exchange::provider_status(record.response_status, &exchanges).into();
        value["exchanges"] = serde_json::to_value(&exchanges)?;
        println!("{}", crate::sanitize::to_json_line(&value));
    } else if args.shape {
        let report = crate::envelope::shape_report(
            &record.capture.method,
            &record.capture.headers,
            &record.capture.body,
        );
        println!("{}", crate::sanitize::to_json_line(&report));
    } else {
        print!(
            "{}",
            crate::front::show::show_text(&record, dup_of, &exchanges)
        );
    }
    Ok(Exit::Success)
}
