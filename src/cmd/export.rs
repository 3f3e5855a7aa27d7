//! `hooklens export`: captures as an HTTP Archive (`--har FILE`, written 0600, as is
//! `--body-file`) or one capture
//! as a byte-exact curl command (`--curl ID`). The formats are in `export/`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::cmd::args::{self, Exit, usage};
use crate::model::capture::CaptureId;
use crate::store;

const NAME: &str = "export";

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("format").required(true).args(["har", "curl"])))]
/// Flags of `hooklens export`.
pub struct ExportArgs {
    /// Write an HTTP Archive (HAR 1.2) to FILE.
    #[arg(long, value_name = "FILE")]
    pub har: Option<PathBuf>,
    /// With --har: only captures matching this filter (same syntax as the TUI filter).
    #[arg(long, value_name = "FILTER", default_value = "")]
    pub filter: String,
    /// Print a curl command for this capture.
    #[arg(long, value_name = "ID")]
    pub curl: Option<CaptureId>,
    /// Write the body to this file and have curl read it (`--data-binary @FILE`); without it
    /// the body is quoted inline.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Capture log file.
    #[arg(long, value_name = "FILE", default_value_os_t = args::default_log())]
    pub store: PathBuf,
}

/// Runs `hooklens export`.
pub fn run(args: ExportArgs) -> Result<Exit> {
    if let Some(har) = &args.har {
        let filter = crate::filter::Filter::parse(&args.filter).map_err(|e| usage(NAME, e))?;
        let n = export_har(&args.store, &filter, har)?;
        eprintln!("hooklens: wrote {n} captures to {}", har.display());
    }
    if let Some(id) = args.curl {
        let mut log = args::open_lookup(&args.store)?;
        let record = args::look_up(&mut log, &args.store, id)?;
        if let Some(path) = &args.body_file {
            write_private(path, &[&record.capture.body])?;
        }
        println!(
            "{}",
            crate::export::curl::command(&record.capture, args.body_file.as_deref())
        );
    }
    Ok(Exit::Success)
}

/// Writes (`hooklens export --har FILE`) the captures of `store` that match `filter`.
/// Returns how many were written.
pub fn export_har(
    store: &std::path::Path,
    filter: &crate::filter::Filter,
    out: &std::path::Path,
) -> Result<usize> {
    let log = args::open_log(store)?;
    for line in log.recovery.report(store, false) {
        eprintln!("hooklens: {line}");
    }
    let mut records = Vec::new();
    for row in log.index().rows() {
        if filter.is_empty() || !filter.wants_body() {
            if !filter.matches(row, None) {
                continue;
            }
            records.push(log.load(row.id)?);
        } else {
            let record = log.load(row.id)?;
            if filter.matches(row, Some(&record.capture.body)) {
                records.push(record);
            }
        }
    }
    let exchanges = records
        .iter()
        .map(|r| log.exchanges(r.capture.id))
        .collect::<Result<Vec<_>>>()?;
    let har = crate::export::har::to_har(
        records
            .iter()
            .zip(&exchanges)
            .map(|(r, e)| (r, crate::export::har::shown_exchange(e))),
    );
    let json = crate::sanitize::to_json_pretty(&har).context("encoding HAR")?;
    write_private(out, &[json.as_bytes(), b"\n"])?;
    Ok(records.len())
}

/// Writes `parts` to `path`, replacing what it held; a new file is 0600 whatever the umask,
/// and an existing one other users can read gets a warning.
fn write_private(path: &std::path::Path, parts: &[&[u8]]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).truncate(true);
    let (mut file, warning) = store::open_private(path, &options)
        .with_context(|| format!("creating {}", path.display()))?;
    if let Some(w) = warning {
        eprintln!("hooklens: warning: {w}");
    }
    parts
        .iter()
        .try_for_each(|p| file.write_all(p))
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::har::tests::{record, validate_har};
    use crate::verify::Outcome;
    use serde_json::Value;

    #[tokio::test]
    async fn export_writes_filtered_captures_from_a_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let (store, writer, _) = crate::store::Store::open(Some(&path)).unwrap();
        store.append(record(b"{}", "/keep")).await.unwrap();
        let mut stale = record(b"{}", "/other");
        stale.verdict.outcome = Outcome::Stale;
        store.append(stale).await.unwrap();
        drop(store);
        writer.join().await;

        let out = dir.path().join("out.har");
        let n = export_har(&path, &crate::filter::Filter::parse("valid").unwrap(), &out).unwrap();
        assert_eq!(n, 1);
        let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        validate_har(&doc);
        let entries = doc["log"]["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["request"]["url"], "http://127.0.0.1:8787/keep");
        assert!(entries[0]["comment"].as_str().unwrap().contains("#1"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn the_har_file_holds_no_raw_control_or_bidi_character() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let (store, writer, _) = crate::store::Store::open(Some(&path)).unwrap();
        let hostile = "{\"a\":\"\u{1b}[31m \u{85} \u{202e}gnp.exe \u{2066}x\u{7f}\"}";
        store
            .append(record(hostile.as_bytes(), "/hook"))
            .await
            .unwrap();
        drop(store);
        writer.join().await;
        let out = dir.path().join("out.har");
        export_har(&path, &crate::filter::Filter::parse("").unwrap(), &out).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let raw: Vec<char> = text
            .chars()
            .filter(|c| {
                *c != '\n'
                    && (c.is_control()
                        || ('\u{2066}'..='\u{2069}').contains(c)
                        || ('\u{202a}'..='\u{202e}').contains(c))
            })
            .collect();
        assert!(raw.is_empty(), "raw characters in the HAR: {raw:?}");
        // Still valid JSON that decodes to the exact body.
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            doc["log"]["entries"][0]["request"]["postData"]["text"],
            hostile
        );
    }
}
