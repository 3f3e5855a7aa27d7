//! Command line: clap definitions and the subcommand runners.
//!
//! `hooklens` with no subcommand is `hooklens listen`. Errors reach the user as one line
//! (`hooklens: error: …`); bad flags exit with 2, failures with 1.

pub mod args;
pub mod cert;
pub mod send;
pub mod verify;

use std::io::{IsTerminal, Write as _};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand, error::ErrorKind};

use crate::front::printer;
use crate::model::capture::CaptureId;
use crate::model::secret::Secret;
use crate::net::server::{self, ListenConfig, Listener, Respond};
use crate::store::{self, Store};
use crate::verify::recipe::Recipe;
use crate::verify::{SchemeChoice, VerifyConfig};

/// See, check, forward and replay signed webhooks on your own machine.
#[derive(Debug, Parser)]
#[command(name = "hooklens", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    listen: ListenArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Capture, verify and show incoming webhooks (the default).
    Listen(ListenArgs),
    /// One line per stored capture.
    List(ListArgs),
    /// Full detail of one capture: headers, verdict, body, shape report.
    Show(ShowArgs),
    /// Check a signature offline (exit 0 valid, 1 invalid, 2 usage error).
    Verify(crate::cmd::verify::VerifyArgs),
    /// Sign and post a provider-shaped test event (valid, or broken with --break).
    Send(crate::cmd::send::SendArgs),
    /// Export captures: HAR 1.2 (--har FILE) or a byte-exact curl command (--curl ID).
    Export(ExportArgs),
    /// Block until a matching capture arrives in the log (exit 0), or time out (exit 1).
    Wait(WaitArgs),
    /// Send stored captures again (exactly, or re-signed with --resign).
    Replay(ReplayArgs),
    /// Show, regenerate or export the local HTTPS certificate and its CA.
    Cert(crate::cmd::cert::CertArgs),
}

/// Flags of `hooklens listen`.
#[derive(Debug, Args, Clone)]
pub struct ListenArgs {
    /// Address to bind (loopback by default; 0.0.0.0 exposes hooklens to your network).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on; 0 picks a free port and prints it.
    #[arg(long, short, default_value_t = server::DEFAULT_PORT)]
    pub port: u16,
    /// Signing secret; repeat for rotation. Also read from MODELGATES_WEBHOOK_SECRET or HOOKLENS_SECRET.
    #[arg(long = "secret", short = 's', value_name = "SECRET")]
    pub secrets: Vec<String>,
    /// Allowed timestamp skew, past or future (e.g. 300s, 5m).
    #[arg(long, default_value = "300s", value_parser = crate::cmd::args::parse)]
    pub tolerance: Duration,
    /// Signature scheme; auto picks it from the headers present.
    #[arg(long, value_enum, default_value = "auto")]
    pub scheme: SchemeChoice,
    /// A custom scheme: a recipe file, or inline `header=X-Sig;split=bare;template={body}`.
    #[arg(long, value_name = "FILE|RECIPE", value_parser = parse_recipe)]
    pub recipe: Option<Arc<Recipe>>,
    /// How to answer: a status for every request, `mimic` (204/401 by verdict), or `relay`
    /// (the receiver's answer; the default with --forward-to).
    #[arg(long, value_name = "STATUS|mimic|relay", value_parser = parse_respond)]
    pub respond: Option<Respond>,
    /// Send every capture on to this receiver (http:// or https://) once it is stored.
    #[arg(long, value_name = "URL", value_parser = crate::net::client::Target::parse)]
    pub forward_to: Option<crate::net::client::Target>,
    /// `keep`: the URL's path + the captured path and query; `replace`: the URL's path only.
    #[arg(long, value_enum, default_value = "keep")]
    pub forward_path: crate::model::exchange::PathMode,
    /// Give up on the receiver after this long (the provider gets 504 with relay).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::cmd::args::parse)]
    pub forward_timeout: Duration,
    /// Extra CA certificate (PEM) to trust for an https receiver; repeatable.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Wait this long before answering (e.g. 2s), to exercise a sender's timeouts and retries.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = crate::cmd::args::parse)]
    pub respond_delay: Duration,
    /// Largest body kept (e.g. 10MiB, 512KiB, 1000000); larger requests get 413.
    #[arg(long, value_name = "SIZE", default_value = "10MiB", value_parser = parse_size)]
    pub max_body: usize,
    /// Capture log file (JSON Lines).
    #[arg(long, value_name = "FILE", default_value = store::DEFAULT_PATH)]
    pub store: PathBuf,
    /// Keep captures in memory only.
    #[arg(long, conflicts_with = "store")]
    pub no_store: bool,
    /// Print one JSON object per capture instead of a line.
    #[arg(long)]
    pub json: bool,
    /// Print lines instead of opening the terminal inspector.
    #[arg(long)]
    pub no_tui: bool,
    /// HTTPS: --tls, --tls-port, --cert, --key, --tls-name.
    #[command(flatten)]
    pub tls: crate::cmd::cert::TlsFlags,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Capture log file.
    #[arg(long, value_name = "FILE", default_value = store::DEFAULT_PATH)]
    store: PathBuf,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("format").required(true).args(["har", "curl"])))]
struct ExportArgs {
    /// Write an HTTP Archive (HAR 1.2) to FILE.
    #[arg(long, value_name = "FILE")]
    har: Option<PathBuf>,
    /// With --har: only captures matching this filter (same syntax as the TUI filter).
    #[arg(long, value_name = "FILTER", default_value = "")]
    filter: String,
    /// Print a curl command for this capture.
    #[arg(long, value_name = "ID")]
    curl: Option<CaptureId>,
    /// Write the body to this file and have curl read it (`--data-binary @FILE`); without it
    /// the body is quoted inline.
    #[arg(long, value_name = "FILE")]
    body_file: Option<PathBuf>,
    /// Capture log file.
    #[arg(long, value_name = "FILE", default_value = store::DEFAULT_PATH)]
    store: PathBuf,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Capture id, e.g. 12 or #12.
    id: CaptureId,
    /// Capture log file.
    #[arg(long, value_name = "FILE", default_value = store::DEFAULT_PATH)]
    store: PathBuf,
    /// The full record as JSON (as stored, body base64).
    #[arg(long, conflicts_with = "shape")]
    json: bool,
    /// Only the delivery shape report.
    #[arg(long)]
    shape: bool,
}

/// Reads a recipe from a file, or parses it inline when no such file exists.
pub fn parse_recipe(s: &str) -> Result<Arc<Recipe>, String> {
    let text = match std::fs::read_to_string(s) {
        Ok(text) => text,
        Err(_) if s.contains('=') => s.to_string(),
        Err(e) => return Err(format!("reading recipe {s}: {e}")),
    };
    Recipe::parse(&text).map(Arc::new)
}

#[derive(Debug, Args)]
struct WaitArgs {
    /// Capture log file (the one a running listener writes).
    #[arg(long, value_name = "FILE", default_value = store::DEFAULT_PATH)]
    store: PathBuf,
    /// Exact event type, e.g. video.generation.completed.
    #[arg(long = "type", value_name = "TYPE")]
    event_type: Option<String>,
    /// Verdict, e.g. valid, invalid, stale (filter words).
    #[arg(long, value_name = "VERDICT")]
    verdict: Option<String>,
    /// Exact X-ModelGates-Idempotency-Key.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    /// Any filter (same syntax as the TUI filter).
    #[arg(long, value_name = "FILTER", default_value = "")]
    filter: String,
    /// Also match captures already in the log when waiting starts.
    #[arg(long)]
    include_existing: bool,
    /// Give up after this long (exit 1).
    #[arg(long, default_value = "60s", value_parser = crate::cmd::args::parse)]
    timeout: Duration,
    /// Print the capture as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// Capture ids, e.g. 12 or #12.
    ids: Vec<CaptureId>,
    /// Receiver URL (the captured path and query are appended to its path). Default: the
    /// --forward-to of the listener that wrote the log.
    #[arg(long, value_name = "URL", value_parser = crate::net::client::Target::parse)]
    to: Option<crate::net::client::Target>,
    /// Every capture in the log (narrow with --filter).
    #[arg(long, conflicts_with = "ids")]
    all: bool,
    /// Every matching capture (same syntax as the TUI filter; implies --all).
    #[arg(
        long,
        value_name = "FILTER",
        default_value = "",
        conflicts_with = "ids"
    )]
    filter: String,
    /// Replace the timestamp with now and sign again (needs --secret).
    #[arg(long, requires = "secret")]
    resign: bool,
    /// Edit each body in $VISUAL/$EDITOR before sending; re-signed afterwards (needs --secret).
    #[arg(long, requires = "secret")]
    edit: bool,
    /// Signing secret for --resign and --edit.
    #[arg(
        long,
        value_name = "SECRET",
        hide_env_values = true,
        env = "MODELGATES_WEBHOOK_SECRET"
    )]
    secret: Option<String>,
    /// The listener's capture log; replays are recorded in it, linked to their captures.
    #[arg(long, value_name = "FILE", default_value = store::DEFAULT_PATH)]
    store: PathBuf,
    /// Replay from any capture log instead (e.g. fixtures checked into a repo); only read.
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    from: Option<PathBuf>,
    /// Do not record the replays in the log.
    #[arg(long)]
    no_record: bool,
    /// Statuses that count as success (default: any 2xx); repeatable.
    #[arg(long, value_name = "STATUS", value_parser = parse_status)]
    expect: Vec<u16>,
    /// Do not add X-Hooklens-Replay.
    #[arg(long)]
    no_replay_header: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = crate::cmd::args::parse)]
    timeout: Duration,
    /// Replays in flight at once (default 1: one after another, in id order).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Extra CA certificate (PEM) to trust for https receivers; repeatable.
    #[arg(long, value_name = "FILE")]
    cacert: Vec<PathBuf>,
    /// One JSON object per replay (the log's replay record) instead of a line.
    #[arg(long)]
    json: bool,
}

fn parse_respond(s: &str) -> Result<Respond, String> {
    match s {
        "relay" => Ok(Respond::Relay),
        "mimic" => Ok(Respond::Mimic),
        _ => parse_status(s).map(Respond::Status),
    }
}

fn parse_status(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(n) if (100..=599).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not an HTTP status (100-599)")),
    }
}

/// Parses `10MiB`, `512KiB`, `1MB`, `64k`, `1000`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("not a size: {s:?} (try 10MiB or 1000000)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1_000_000,
        "mib" => 1024 * 1024,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1024 * 1024 * 1024,
        _ => return Err(format!("unknown size unit in {s:?} (use KiB, MiB, kB, MB)")),
    };
    n.checked_mul(mult)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("size {s:?} is out of range"))
}

/// Exits like a bad flag does: one line on stderr, exit code 2.
pub fn usage_error(msg: impl std::fmt::Display) -> ! {
    let _ = report_clap_error(Cli::command().error(ErrorKind::ValueValidation, msg));
    std::process::exit(2)
}

/// Prints help/version as clap would; any other parse error becomes one line
/// (`hooklens: error: …`) with exit code 2.
pub fn report_clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    if matches!(
        e.kind(),
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("hooklens: error: {first} (see hooklens --help)");
    ExitCode::from(2)
}

/// Runs the parsed command line; the exit code is the command's verdict.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => listen(cli.listen).await,
        Some(Command::Listen(args)) => listen(args).await,
        Some(Command::List(args)) => list(args),
        Some(Command::Show(args)) => show(args),
        Some(Command::Verify(args)) => crate::cmd::verify::run(args),
        Some(Command::Send(args)) => crate::cmd::send::run(args).await,
        Some(Command::Export(args)) => export(args),
        Some(Command::Cert(args)) => crate::cmd::cert::run(args),
        Some(Command::Wait(args)) => wait(args).await,
        Some(Command::Replay(args)) => replay(args).await,
    }
}

/// Secrets from flags, else from the environment; empty ones are a usage error.
pub fn secrets_from(flags: &[String]) -> Vec<Secret> {
    let values: Vec<String> = if flags.is_empty() {
        ["MODELGATES_WEBHOOK_SECRET", "HOOKLENS_SECRET"]
            .iter()
            .find_map(|var| std::env::var(var).ok())
            .into_iter()
            .collect()
    } else {
        flags.to_vec()
    };
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| Secret::new(v).unwrap_or_else(|e| usage_error(format!("secret {i}: {e}"))))
        .collect()
}

async fn listen(args: ListenArgs) -> Result<ExitCode> {
    let secrets = secrets_from(&args.secrets);
    for (i, s) in secrets.iter().enumerate() {
        for w in s.hygiene_warnings() {
            eprintln!(
                "hooklens: warning: secret {i} ({s}, fingerprint {}) {w}",
                s.fingerprint()
            );
        }
    }
    if !args.bind.is_loopback() {
        eprintln!(
            "hooklens: warning: listening on {}, reachable from other machines; use --bind 127.0.0.1 to keep it local",
            args.bind
        );
    }
    let config = ListenConfig {
        verify: VerifyConfig {
            secrets,
            tolerance_secs: args.tolerance.as_secs() as i64,
            scheme: args.scheme,
            custom: args.recipe.clone(),
        },
        respond: match (args.respond, &args.forward_to) {
            (Some(Respond::Relay | Respond::Mimic), None) => {
                usage_error("--respond relay and mimic need --forward-to URL")
            }
            (Some(r), _) => r,
            (None, Some(_)) => Respond::Relay,
            (None, None) => Respond::Verdict,
        },
        respond_delay: args.respond_delay,
        max_body: args.max_body,
        forward: match args.forward_to.clone() {
            Some(target) => Some(crate::net::forward::ForwardConfig {
                client: crate::net::client::Client::new(crate::net::tls::client_config(
                    &args.cacert,
                )?),
                target,
                mode: args.forward_path,
                timeout: args.forward_timeout,
            }),
            None => None,
        },
    };

    let tls = crate::cmd::cert::listen_setup(&args.tls)?;
    let tcp = server::bind(args.bind, args.port).await?;
    let addr = tcp.local_addr().context("reading the bound address")?;
    let tls_tcp = match args.tls.tls_port {
        Some(port) => Some(server::bind(args.bind, port).await?),
        None => None,
    };
    let store_path = (!args.no_store).then_some(args.store.as_path());
    let (store, writer, recovery) = Store::open(store_path)?;
    if let Some(target) = &args.forward_to {
        // So a later `hooklens replay` knows where this listener forwarded.
        store
            .append_session(Some(crate::model::exchange::RecordedTarget {
                url: crate::net::forward::target_url(target),
                path: args.forward_path,
            }))
            .await?;
    }
    if recovery.torn_bytes > 0 {
        eprintln!(
            "hooklens: capture log: cut a torn last line ({} bytes) left by an interrupted write; earlier captures are intact",
            recovery.torn_bytes
        );
    }
    if recovery.corrupt_lines > 0 {
        eprintln!(
            "hooklens: capture log: skipped {} unreadable lines (left in the file)",
            recovery.corrupt_lines
        );
    }

    let scheme = if args.tls.tls { "https" } else { "http" };
    let mut ready = format!("Listening on {scheme}://{addr}");
    let mut https_port = addr.port();
    if let Some(t) = &tls_tcp {
        let tls_addr = t.local_addr().context("reading the bound address")?;
        https_port = tls_addr.port();
        ready.push_str(&format!("\nListening on https://{tls_addr}"));
    }
    if args.json {
        eprintln!("{ready}");
    } else {
        println!("{ready}");
    }
    for line in tls.iter().flat_map(|t| t.banner(https_port)) {
        eprintln!("{line}");
    }
    let interactive = !args.no_tui && !args.json && std::io::stdout().is_terminal();
    if let Some(path) = store.path()
        && recovery.captures > 0
    {
        eprintln!(
            "hooklens: {} earlier captures in {}",
            recovery.captures,
            path.display()
        );
    }
    let header = crate::front::tui::HeaderInfo {
        addresses: ready
            .lines()
            .filter_map(|l| l.strip_prefix("Listening on "))
            .map(str::to_owned)
            .collect(),
        forward: args
            .forward_to
            .as_ref()
            .map(crate::net::forward::target_url),
        secrets: config
            .verify
            .secrets
            .iter()
            .map(|s| format!("{s} {}", s.fingerprint()))
            .collect(),
        scheme: format!("{:?}", config.verify.scheme).to_lowercase(),
        tolerance_secs: config.verify.tolerance_secs,
    };
    let printer =
        (!interactive).then(|| tokio::spawn(printer::print_events(store.subscribe(), args.json)));
    let tui_store = store.clone();
    let state = Arc::new(Listener { config, store });
    let acceptor = tls.map(|t| t.acceptor);
    let mut endpoints = vec![server::Endpoint {
        tcp,
        tls: acceptor.clone().filter(|_| args.tls.tls),
    }];
    if let Some(tcp) = tls_tcp {
        endpoints.push(server::Endpoint { tcp, tls: acceptor });
    }
    if interactive {
        // The inspector owns the terminal; the server runs beside it until the user quits.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::serve_endpoints(endpoints, state.clone(), async {
            let _ = stopped.await;
        }));
        let replays = state
            .config
            .forward
            .clone()
            .map(|forward| crate::front::tui::ReplayTarget {
                forward,
                secret: state.config.verify.secrets.first().cloned(),
            });
        let ui = crate::front::tui::run(tui_store, header, replays).await;
        let _ = stop.send(());
        server.await.context("listener task")??;
        ui?;
    } else {
        drop(tui_store);
        server::serve_endpoints(endpoints, state.clone(), shutdown_signal()).await?;
    }
    drop(state);
    writer.join().await;
    if let Some(printer) = printer {
        let _ = printer.await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = ctrl_c => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
    }
}

fn list(args: ListArgs) -> Result<ExitCode> {
    let log = Store::open_readonly(&args.store)?;
    let mut out = String::new();
    for row in log.index().rows() {
        if args.json {
            let record = log.load(row.id)?;
            let mut j = printer::json_capture(row, &record.verdict);
            j.tls = record.capture.tls.as_ref();
            out.push_str(&crate::sanitize::to_json_line(&j));
        } else {
            out.push_str(&printer::list_line(row));
        }
        out.push('\n');
    }
    print!("{out}");
    if log.recovery.torn_bytes > 0 {
        eprintln!(
            "hooklens: the last line of the log is incomplete (a write in progress, or a crash)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn export(args: ExportArgs) -> Result<ExitCode> {
    if let Some(har) = &args.har {
        let filter = crate::filter::Filter::parse(&args.filter).unwrap_or_else(|e| usage_error(e));
        let n = export_har(&args.store, &filter, har)?;
        eprintln!("hooklens: wrote {n} captures to {}", har.display());
    }
    if let Some(id) = args.curl {
        let log = Store::open_readonly(&args.store)?;
        let record = log.load(id)?;
        if let Some(path) = &args.body_file {
            std::fs::write(path, &record.capture.body)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        println!(
            "{}",
            crate::export::curl::command(&record.capture, args.body_file.as_deref())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs) -> Result<ExitCode> {
    let log = Store::open_readonly(&args.store)?;
    let record = log.load(args.id)?;
    let dup_of = log.index().get(args.id).and_then(|r| r.dup_of);
    let exchanges = log.exchanges(args.id)?;
    if args.json {
        // The capture's log line, plus its forward and replay records.
        let line = store::encode_line(args.id, &record)?;
        let mut value: serde_json::Value = serde_json::from_slice(&line)?;
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
        print!("{}", printer::show_text(&record, dup_of, &exchanges));
    }
    Ok(ExitCode::SUCCESS)
}

async fn wait(args: WaitArgs) -> Result<ExitCode> {
    let mut text = args.filter.clone();
    if let Some(v) = &args.verdict {
        text = format!("verdict:{v} {text}");
    }
    let filter = crate::filter::Filter::parse(&text).unwrap_or_else(|e| usage_error(e));
    let what = crate::store::tail::WaitFor {
        event_type: args.event_type,
        idempotency_key: args.idempotency_key,
        filter,
        include_existing: args.include_existing,
    };
    let found = wait_and_print(&args.store, &what, args.timeout, args.json).await?;
    Ok(if found {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let all = args.all || !args.filter.is_empty();
    if args.ids.is_empty() && !all {
        usage_error("give capture ids to replay, or --all / --filter FILTER");
    }
    let secret = match ((args.resign || args.edit), args.secret) {
        (true, Some(s)) => Some(Secret::new(s).unwrap_or_else(|e| usage_error(e))),
        _ => None,
    };
    let opts = crate::net::replay::ReplayOptions {
        ids: args.ids,
        all,
        filter: crate::filter::Filter::parse(&args.filter).unwrap_or_else(|e| usage_error(e)),
        to: args.to,
        resign: secret,
        edit: args.edit,
        replay_header: !args.no_replay_header,
        expect: args.expect,
        timeout: args.timeout,
        concurrency: usize::from(args.concurrency),
        record: !args.no_record && args.from.is_none(),
        cacert: args.cacert,
        json: args.json,
    };
    let log = args.from.unwrap_or(args.store);
    crate::net::replay::run(&log, &opts).await
}

/// Runs `hooklens wait`; returns whether a capture was found (printed to stdout).
async fn wait_and_print(
    path: &std::path::Path,
    what: &crate::store::tail::WaitFor,
    timeout: Duration,
    json: bool,
) -> Result<bool> {
    match crate::store::tail::wait_for(path, what, timeout).await? {
        Some(record) => {
            let row = crate::model::record::Summary::of(&record);
            let text = if json {
                crate::sanitize::to_json_line(&printer::json_capture(&row, &record.verdict))
            } else {
                printer::line(&row)
            };
            println!("{text}");
            Ok(true)
        }
        None => {
            eprintln!(
                "hooklens: no matching capture in {} within {:?}",
                path.display(),
                timeout
            );
            Ok(false)
        }
    }
}

/// Runs `hooklens export --har FILE`: writes the captures of `store` that match `filter`.
/// Returns how many were written.
pub(crate) fn export_har(
    store: &std::path::Path,
    filter: &crate::filter::Filter,
    out: &std::path::Path,
) -> Result<usize> {
    let log = Store::open_readonly(store)?;
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
    let json = serde_json::to_vec_pretty(&har).context("encoding HAR")?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("creating {}", out.display()))?;
    file.write_all(&json)
        .and_then(|()| file.write_all(b"\n"))
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("10MiB").unwrap(), 10 * 1024 * 1024);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("64k").unwrap(), 64_000);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
