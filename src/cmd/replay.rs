//! `hooklens replay`: its flags, and the run over the chosen captures: read (and edit) them
//! all first, send them `--concurrency` at a time with `net/replay.rs`, print each outcome,
//! and record the replays in the log they came from (not a `--from` log, which is only read).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::cmd::args::{self, Exit, usage};
use crate::filter::Filter;
use crate::model::capture::{CaptureId, now_ms};
use crate::model::exchange::{Exchange, PathMode, RecordedTarget};
use crate::model::record::CaptureRecord;
use crate::net::client::{Client, Target};
use crate::net::replay::{Changes, edit_body, recorded_target, send_one};
use crate::sanitize::escape_line;
use crate::store;

const NAME: &str = "replay";

/// Flags of `hooklens replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture ids, e.g. 12 or #12.
    pub ids: Vec<CaptureId>,
    /// Receiver URL, e.g. http://localhost:3001/modelgates/video-webhook (no scheme means
    /// http://). Default: the --forward-to of the listener that wrote the log.
    #[arg(long, value_name = "URL", value_parser = crate::net::forward::parse_target)]
    pub to: Option<Target>,
    /// How the captured path combines with the URL's: `auto` (a URL with a path is the
    /// endpoint, one without keeps the captured path), `exact`, or `prefix` (URL path +
    /// captured path). Default: auto with --to, else what the listener used.
    #[arg(long, value_enum, value_name = "auto|exact|prefix")]
    pub forward_path: Option<PathMode>,
    /// Every capture in the log (narrow with --filter).
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// The captures a forwarding listener stored but never forwarded (it was stopped or killed
    /// first; a restarted listener names them); sent to its --forward-to unless --to.
    #[arg(long, conflicts_with_all = ["ids", "all", "from"])]
    pub pending: bool,
    /// Every matching capture (same syntax as the TUI filter; implies --all).
    #[arg(
        long,
        value_name = "FILTER",
        default_value = "",
        conflicts_with = "ids"
    )]
    pub filter: String,
    /// Replace the timestamp with now and sign again (needs a secret).
    #[arg(long)]
    pub resign: bool,
    /// Edit each body in $VISUAL/$EDITOR before sending; re-signed afterwards (needs a secret).
    #[arg(long)]
    pub edit: bool,
    /// Signing secret for --resign and --edit (also MODELGATES_WEBHOOK_SECRET or HOOKLENS_SECRET).
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// The listener's capture log; replays are recorded in it, linked to their captures.
    #[arg(long, value_name = "FILE", default_value_os_t = args::default_log())]
    pub store: PathBuf,
    /// Replay from any capture log instead (e.g. fixtures checked into a repo); only read.
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    pub from: Option<PathBuf>,
    /// Do not record the replays in the log.
    #[arg(long)]
    pub no_record: bool,
    /// Statuses that count as success (default: any 2xx); repeatable.
    #[arg(long, value_name = "STATUS", value_parser = args::status)]
    pub expect: Vec<u16>,
    /// Do not add X-Hooklens-Replay.
    #[arg(long)]
    pub no_replay_header: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = args::duration)]
    pub timeout: Duration,
    /// Replays in flight at once (default 1: one after another, in id order).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Extra CA certificate (PEM) to trust for https receivers; repeatable.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// One JSON object per replay (the log's replay record) instead of a line.
    #[arg(long)]
    pub json: bool,
}

/// Where the replays go: `--to`, else the listener's `--forward-to` recorded in the log; and
/// how paths combine: `--forward-path`, else `auto` with `--to`, else the listener's rule.
fn resolve_target(
    to: Option<&Target>,
    mode: Option<PathMode>,
    recorded: Option<RecordedTarget>,
    path: &Path,
) -> Result<(Target, PathMode)> {
    if let Some(t) = to {
        return Ok((t.clone(), mode.unwrap_or_default()));
    }
    match recorded_target(recorded.as_ref())? {
        Some((target, recorded_mode)) => Ok((target, mode.unwrap_or(recorded_mode))),
        None => bail!(
            "no receiver: give --to URL ({} records no listener started with --forward-to)",
            path.display()
        ),
    }
}

/// How the log is read: a few ids through its offset index, or whole for a selection.
enum Source {
    Ids(store::Lookup),
    Whole(Box<store::ReadOnlyLog>),
}

impl Source {
    fn load(&mut self, id: CaptureId, path: &Path) -> Result<CaptureRecord> {
        match self {
            Source::Ids(lookup) => args::look_up(lookup, path, id),
            Source::Whole(log) => args::load(log, path, id),
        }
    }
}

/// Runs `hooklens replay`: negative when any answer was not the expected one.
pub async fn run(args: ReplayArgs) -> Result<Exit> {
    let all = args.all || !args.filter.is_empty();
    if args.ids.is_empty() && !all && !args.pending {
        return Err(usage(
            NAME,
            "give capture ids to replay, or --all / --filter FILTER / --pending",
        ));
    }
    let filter = Filter::parse(&args.filter).map_err(|e| usage(NAME, e))?;
    let resign = if args.resign || args.edit {
        match args::secrets(NAME, args.secret.as_slice())?
            .into_iter()
            .next()
        {
            Some(secret) => Some(secret),
            None => {
                return Err(usage(
                    NAME,
                    "--resign and --edit need --secret (or MODELGATES_WEBHOOK_SECRET, HOOKLENS_SECRET)",
                ));
            }
        }
    } else {
        None
    };
    let record = !args.no_record && args.from.is_none();
    let log_path = args.from.as_deref().unwrap_or(&args.store);

    // Ids given: looked up through the offset index beside the log; a selection reads it all.
    let (target, mode, ids, mut source) = if args.pending || all {
        let log = args::open_log(log_path)?;
        let (target, mode) = resolve_target(
            args.to.as_ref(),
            args.forward_path,
            log.index().forward_to().cloned(),
            log_path,
        )?;
        let ids = if args.pending {
            let pending: Vec<CaptureId> = log
                .recovery
                .unforwarded
                .iter()
                .copied()
                .filter(|id| {
                    log.index()
                        .get(*id)
                        .is_some_and(|r| filter.matches(r, None))
                })
                .collect();
            if pending.is_empty() {
                eprintln!(
                    "hooklens: nothing pending: every capture meant to be forwarded has a forward or replay record"
                );
                return Ok(Exit::Success);
            }
            pending
        } else {
            log.index()
                .rows()
                .iter()
                .filter(|r| filter.matches(r, None))
                .map(|r| r.id)
                .collect()
        };
        (target, mode, ids, Source::Whole(Box::new(log)))
    } else {
        let mut log = args::open_lookup(log_path)?;
        let recorded = match args.to {
            Some(_) => None,
            None => log.forward_to()?,
        };
        let (target, mode) =
            resolve_target(args.to.as_ref(), args.forward_path, recorded, log_path)?;
        (target, mode, args.ids.clone(), Source::Ids(log))
    };
    if ids.is_empty() {
        bail!("nothing to replay (give capture ids, or --all; the filter matched none)");
    }
    // Read (and edit) everything first: an unknown id or a corrupt line stops the run before
    // anything is sent.
    let mut work = Vec::with_capacity(ids.len());
    for id in ids {
        let record = source.load(id, log_path)?;
        let body = if args.edit {
            Some(edit_body(id, &record.capture.body)?)
        } else {
            None
        };
        work.push((record, body));
    }
    let client = Client::new(crate::net::tls::client_config(&args.cacert)?);
    let target = Arc::new(target);
    let limit = Arc::new(tokio::sync::Semaphore::new(usize::from(args.concurrency)));
    let mut tasks = tokio::task::JoinSet::new();
    for (n, (record, body)) in work.into_iter().enumerate() {
        let permit = limit.clone().acquire_owned().await?;
        let (client, target) = (client.clone(), target.clone());
        let changes = Changes {
            resign: resign.clone(),
            body,
            replay_header: !args.no_replay_header,
        };
        let timeout = args.timeout;
        tasks.spawn(async move {
            let result = send_one(&client, &target, mode, &record.capture, &changes, timeout).await;
            drop(permit);
            (n, record.verdict.timestamp, result)
        });
    }
    let mut done = Vec::new();
    let mut failures = 0;
    while let Some(joined) = tasks.join_next().await {
        let (n, signed_at, result) = joined.context("a replay task failed")?;
        let exchange = match result {
            Ok(exchange) => exchange,
            Err(e) => {
                // Could not be prepared (re-signing failed): say so, go on with the rest.
                eprintln!("hooklens: {}", escape_line(format!("{e:#}").as_bytes()));
                failures += 1;
                continue;
            }
        };
        let ok = match exchange.receiver_status() {
            Some(s) if args.expect.is_empty() => (200..300).contains(&s),
            Some(s) => args.expect.contains(&s),
            None => false,
        };
        let mut notes = String::new();
        let now_secs = now_ms().div_euclid(1000);
        if !exchange.resigned && signed_at.is_some_and(|t| (now_secs - t).abs() > 300) {
            notes.push_str(" [original signature; its timestamp is older than 5 minutes, so a receiver checking the tolerance refuses it: use --resign]");
        }
        if !ok {
            failures += 1;
            notes.push_str(if args.expect.is_empty() {
                " [not 2xx]"
            } else {
                " [unexpected]"
            });
        }
        if args.json {
            // stdout stays pure JSON Lines; the notes go to stderr.
            println!("{}", crate::sanitize::to_json_line(&exchange));
            if !notes.is_empty() {
                eprintln!("hooklens: {}{notes}", exchange.capture);
            }
        } else {
            let line = exchange.line() + &notes;
            println!("{}", escape_line(line.as_bytes()));
        }
        done.push((n, exchange));
    }
    if record {
        done.sort_by_key(|(n, _)| *n);
        let records: Vec<Exchange> = done.into_iter().map(|(_, e)| e).collect();
        if let Err(e) = store::append_exchanges_to(log_path, &records) {
            eprintln!("hooklens: replays not recorded in the log: {e:#}");
        }
    }
    Ok(if failures == 0 {
        Exit::Success
    } else {
        Exit::Negative
    })
}
