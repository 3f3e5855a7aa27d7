//! `hooklens listen` (also `hooklens` alone): capture, verify, store and show incoming webhooks,
//! optionally forwarding each one to a receiver.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use crate::cmd::args::{self, Exit, usage};
use crate::front::printer;
use crate::net::server::{self, ListenConfig, Listener, Respond};
use crate::store::{self, Store};
use crate::verify::recipe::Recipe;
use crate::verify::{SchemeChoice, VerifyConfig};

const NAME: &str = "listen";

/// Flags of `hooklens listen`.
#[derive(Debug, Args, Clone)]
pub struct ListenArgs {
    /// Address or name to bind (loopback by default; 0.0.0.0 exposes hooklens to your network).
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1")]
    pub bind: String,
    /// Port to listen on; 0 picks a free port and prints it.
    #[arg(long, short, default_value_t = server::DEFAULT_PORT)]
    pub port: u16,
    /// Signing secret; repeat for rotation. Also read from MODELGATES_WEBHOOK_SECRET or HOOKLENS_SECRET.
    #[arg(long = "secret", short = 's', value_name = "SECRET")]
    pub secrets: Vec<String>,
    /// Allowed timestamp skew, past or future (e.g. 300s, 5m).
    #[arg(long, default_value = "300s", value_parser = args::duration)]
    pub tolerance: Duration,
    /// Signature scheme; auto picks it from the headers present.
    #[arg(long, value_enum, default_value = "auto")]
    pub scheme: SchemeChoice,
    /// A custom scheme: a recipe file, or inline `header=X-Sig;split=bare;template={body}`.
    #[arg(long, value_name = "FILE|RECIPE", value_parser = args::recipe)]
    pub recipe: Option<Arc<Recipe>>,
    /// How to answer: a status for every request, `mimic` (204/401 by verdict), or `relay`
    /// (the receiver's answer; the default with --forward-to).
    #[arg(long, value_name = "STATUS|mimic|relay", value_parser = args::respond)]
    pub respond: Option<Respond>,
    /// Send every capture on to this receiver (http:// or https://) once it is stored.
    #[arg(long, value_name = "URL", value_parser = crate::net::client::Target::parse)]
    pub forward_to: Option<crate::net::client::Target>,
    /// `keep`: the URL's path + the captured path and query; `replace`: the URL's path only.
    #[arg(long, value_enum, default_value = "keep")]
    pub forward_path: crate::model::exchange::PathMode,
    /// Give up on the receiver after this long (the provider gets 504 with relay).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = args::duration)]
    pub forward_timeout: Duration,
    /// Extra CA certificate (PEM) to trust for an https receiver; repeatable.
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Wait this long before answering (e.g. 2s), to exercise a sender's timeouts and retries.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = args::duration)]
    pub respond_delay: Duration,
    /// Largest body kept (e.g. 10MiB, 512KiB, 1000000); larger requests get 413.
    #[arg(long, value_name = "SIZE", default_value = "10MiB", value_parser = args::size)]
    pub max_body: usize,
    /// Close a connection whose request head is not complete this long after it opened (or
    /// after the head's first byte, on a kept-alive connection).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = args::duration)]
    pub header_timeout: Duration,
    /// Answer 408 when a body has not fully arrived this long after its head.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = args::duration)]
    pub body_timeout: Duration,
    /// Close a kept-alive connection that sends no new request for this long.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = args::duration)]
    pub idle_timeout: Duration,
    /// Connections served at once; more wait until one closes [default: half the open-files
    /// limit, which hooklens raises to the hard limit]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// On Ctrl-C or SIGTERM, let in-flight requests and forwards finish for this long, then
    /// close what is left (a second Ctrl-C exits at once).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = args::duration)]
    pub grace: Duration,
    /// Capture log file (JSON Lines).
    #[arg(long, value_name = "FILE", default_value = store::DEFAULT_PATH)]
    pub store: PathBuf,
    /// Keep captures in memory only.
    #[arg(long, conflicts_with = "store")]
    pub no_store: bool,
    /// With --no-store: the most body bytes kept in memory; older bodies are let go (their
    /// rows stay listed).
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = args::size, requires = "no_store")]
    pub memory_cap: usize,
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

/// Runs `hooklens listen` until Ctrl-C, SIGTERM, or the user quits the inspector.
pub async fn run(args: ListenArgs) -> Result<Exit> {
    let secrets = args::secrets(NAME, &args.secrets)?;
    for (i, s) in secrets.iter().enumerate() {
        for w in s.hygiene_warnings() {
            eprintln!(
                "hooklens: warning: secret {i} ({s}, fingerprint {}) {w}",
                s.fingerprint()
            );
        }
    }
    let bind: IpAddr = server::resolve_bind(&args.bind)
        .await
        .map_err(|e| usage(NAME, format!("--bind {}: {e:#}", args.bind)))?;
    if !bind.is_loopback() {
        eprintln!(
            "hooklens: warning: listening on {bind}, reachable from other machines; use --bind 127.0.0.1 to keep it local"
        );
    }
    let open_files = crate::net::limits::raise_open_files_limit();
    let limits = crate::net::limits::Limits {
        header_timeout: args.header_timeout,
        body_timeout: args.body_timeout,
        idle_timeout: args.idle_timeout,
        max_connections: args.max_connections.map_or_else(
            || crate::net::limits::default_max_connections(open_files),
            |n| n as usize,
        ),
        grace: args.grace,
    };
    let config = ListenConfig {
        verify: VerifyConfig {
            secrets,
            tolerance_secs: args.tolerance.as_secs() as i64,
            scheme: args.scheme,
            custom: args.recipe.clone(),
        },
        respond: match (args.respond, &args.forward_to) {
            (Some(Respond::Relay | Respond::Mimic), None) => {
                return Err(usage(
                    NAME,
                    "--respond relay and mimic need --forward-to URL",
                ));
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
        limits,
    };

    // The log first: a file that is not a log, or a log another listener holds, is refused
    // before this one takes a port.
    let (store, writer, recovery) = if args.no_store {
        Store::open_in_memory(args.memory_cap as u64)
    } else {
        Store::open(Some(&args.store))?
    };
    for line in recovery.report(&args.store, true) {
        eprintln!("hooklens: {line}");
    }
    let tls = crate::cmd::cert::listen_setup(&args.tls)?;
    let tcp = server::bind(bind, args.port).await?;
    let addr = tcp.local_addr().context("reading the bound address")?;
    let tls_tcp = match args.tls.tls_port {
        Some(port) => Some(server::bind(bind, port).await?),
        None => None,
    };
    // So a later `hooklens replay` knows where this listener forwarded, and a restart knows
    // which captures were meant to be forwarded.
    store
        .append_session(args.forward_to.as_ref().map(|target| {
            crate::model::exchange::RecordedTarget {
                url: crate::net::forward::target_url(target),
                path: args.forward_path,
            }
        }))
        .await?;

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
    let state = Arc::new(Listener::new(config, store));
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
        let open = state.tasks().running();
        if open > 0 {
            // The inspector is gone; its notices with it. Say why the prompt is not back yet.
            eprintln!(
                "hooklens: letting {open} open connections or forwards finish, for up to {:?} (Ctrl-C exits now)",
                state.config.limits.grace
            );
        }
        server.await.context("listener task")??;
        ui?;
    } else {
        drop(tui_store);
        let signals = Signals::start();
        let server = server::serve_endpoints(endpoints, state.clone(), signals.nth(1));
        tokio::select! {
            served = server => served?,
            () = signals.nth(2) => {
                // Every answered capture was on disk before its answer; nothing waits for more.
                eprintln!("hooklens: interrupted again: exiting now");
                return Ok(Exit::Success);
            }
        }
    }
    drop(state);
    writer.join().await;
    if let Some(printer) = printer {
        let _ = printer.await;
    }
    Ok(Exit::Success)
}

/// Counts Ctrl-C and SIGTERM from the moment it starts.
struct Signals(tokio::sync::watch::Receiver<usize>);

impl Signals {
    fn start() -> Signals {
        let (count, seen) = tokio::sync::watch::channel(0usize);
        tokio::spawn(async move {
            loop {
                shutdown_signal().await;
                count.send_modify(|n| *n += 1);
            }
        });
        Signals(seen)
    }

    /// Resolves once `n` signals have arrived.
    fn nth(&self, n: usize) -> impl Future<Output = ()> + use<> {
        let mut seen = self.0.clone();
        async move {
            let _ = seen.wait_for(|c| *c >= n).await;
        }
    }
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
