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
use crate::net::tunnel::{self, Kind, Tunnel};
use crate::store::Store;
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
    /// Signing secret (for discord, sendgrid and Standard Webhooks v1a: the public key); repeat
    /// for rotation. Also read from MODELGATES_WEBHOOK_SECRET or HOOKLENS_SECRET.
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
    /// The URL the provider calls, for the URL-signed schemes (twilio, square, hubspot): an
    /// origin such as https://abc.example (each request's path and query are added) or a full
    /// URL. Default with --tunnel: the tunnel's public URL.
    #[arg(long, value_name = "URL", value_parser = args::public_url)]
    pub public_url: Option<String>,
    /// How to answer: a status for every request, `mimic` (204/401 by verdict), or `relay`
    /// (the receiver's answer; the default with --forward-to).
    #[arg(long, value_name = "STATUS|mimic|relay", value_parser = args::respond)]
    pub respond: Option<Respond>,
    /// Send every capture on to this receiver, e.g. http://localhost:3001/modelgates/video-webhook
    /// (no scheme means http://; `3000` is http://localhost:3000).
    #[arg(long, value_name = "URL", value_parser = crate::net::forward::parse_target)]
    pub forward_to: Option<crate::net::client::Target>,
    /// `auto`: a URL with a path is the endpoint (the captured query is added when it has
    /// none), a URL without one keeps the captured path; `exact`: always the URL's path;
    /// `prefix`: the URL's path + the captured path and query.
    #[arg(
        long,
        value_enum,
        value_name = "auto|exact|prefix",
        default_value = "auto"
    )]
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
    #[arg(long, value_name = "FILE", default_value_os_t = args::default_log())]
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
    /// Colour the lines: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: printer::ColorChoice,
    /// HTTPS: --tls, --tls-port, --cert, --key, --tls-name.
    #[command(flatten)]
    pub tls: crate::cmd::cert::TlsFlags,
    /// Make the listener reachable from the internet through a tunnel you have:
    /// cloudflared (quick tunnel), ngrok (attaches to a running agent, else starts one),
    /// tailscale (Funnel), bore[=HOST[:PORT]] (default bore.pub). Shows the public URL.
    #[arg(long, value_name = "TOOL", value_parser = Kind::parse)]
    pub tunnel: Option<Kind>,
    /// Any tunnel command; `{port}` becomes the listener's port. Its first https:// (else
    /// http://) URL on stdout or stderr is the public URL.
    #[arg(long, value_name = "CMD", conflicts_with = "tunnel")]
    pub tunnel_cmd: Option<String>,
    /// How long to wait for the tunnel's public URL.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = args::duration)]
    pub tunnel_timeout: Duration,
    /// Stop storing once the capture log is this large (e.g. 500MiB): requests then get 507.
    /// Default with a tunnel: 1GiB; otherwise no cap.
    #[arg(long, value_name = "SIZE", value_parser = args::size, conflicts_with = "no_store")]
    pub max_log: Option<usize>,
}

/// `--max-log` when a tunnel is on and none is given: a flood cannot fill the disk.
const TUNNEL_MAX_LOG: u64 = 1 << 30;
/// Where the guide's provider posts (the path the `callback_url` line ends with).
const CALLBACK_PATH: &str = "/modelgates/video-webhook";

/// Runs `hooklens listen` until Ctrl-C, SIGTERM, or the user quits the inspector.
pub async fn run(args: ListenArgs) -> Result<Exit> {
    let signals = Signals::start();
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
    let mut config = ListenConfig {
        verify: VerifyConfig {
            secrets,
            tolerance_secs: args.tolerance.as_secs() as i64,
            scheme: args.scheme,
            custom: args.recipe.clone(),
            public_url: args.public_url.clone(),
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
        max_log: args.max_log.map(|m| m as u64),
    };
    let tunnel_kind = match (&args.tunnel, &args.tunnel_cmd) {
        (Some(kind), _) => Some(kind.clone()),
        (None, Some(cmd)) => Some(Kind::Command(cmd.clone())),
        (None, None) => None,
    };
    if let Some(kind) = &tunnel_kind {
        if args.tls.tls && !kind.passes_tls_through() {
            return Err(usage(
                NAME,
                format!(
                    "--tunnel {} terminates TLS itself and forwards plain HTTP: drop --tls (bore passes TLS through)",
                    kind.tool()
                ),
            ));
        }
        config.max_log = config.max_log.or(Some(TUNNEL_MAX_LOG));
    }

    // The log first: a file that is not a log, or a log another listener holds, is refused
    // before this one takes a port.
    let (store, writer, recovery) = if args.no_store {
        Store::open_in_memory(args.memory_cap as u64)
    } else {
        args::prepare_log(&args.store)?;
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

    if tunnel_kind.is_none() {
        // A session line even without --forward-to: a restart tells from it which captures
        // were meant to be forwarded.
        record_session(&store, &args, None).await?;
    }
    let scheme = if args.tls.tls { "https" } else { "http" };
    let mut ready = format!("Listening on {scheme}://{addr}");
    let mut https_port = addr.port();
    if let Some(t) = &tls_tcp {
        let tls_addr = t.local_addr().context("reading the bound address")?;
        https_port = tls_addr.port();
        ready.push_str(&format!("\nListening on https://{tls_addr}"));
    }
    // Start-up notes for stderr. With --json they go out in the readiness line's own write
    // (stderr), so a script that reads that line and closes the pipe never makes a later
    // write fail.
    let mut notes = Vec::new();
    if let Some(path) = store.path() {
        notes.push(match recovery.captures {
            0 => format!("hooklens: capture log {}", path.display()),
            n => format!(
                "hooklens: capture log {} ({n} earlier captures)",
                path.display()
            ),
        });
    }
    // With a tunnel the public-URL warning says it.
    if config.verify.secrets.is_empty() && tunnel_kind.is_none() {
        notes.push(
            "hooklens: no --secret (nor MODELGATES_WEBHOOK_SECRET, HOOKLENS_SECRET): every delivery is accepted and shown as unverified".to_owned(),
        );
    }
    // Where deliveries go, with an example, beside the readiness line (in the same write).
    let shown = match &args.forward_to {
        Some(t) => format!(
            "{ready}\n{}",
            crate::net::forward::rule_line(t, args.forward_path, CALLBACK_PATH)
        ),
        None => ready.clone(),
    };
    // One write: a reader that takes the first line and closes the pipe gets no half.
    let mut shown = format!("{shown}\n");
    let _ = if args.json {
        for note in &notes {
            shown.push_str(note);
            shown.push('\n');
        }
        std::io::Write::write_all(&mut std::io::stderr(), shown.as_bytes())
    } else {
        let mut out = std::io::stdout().lock();
        let written = std::io::Write::write_all(&mut out, shown.as_bytes())
            .and_then(|()| std::io::Write::flush(&mut out));
        for note in &notes {
            eprintln!("{note}");
        }
        written
    };
    // Started once the port is bound (a failed bind starts nothing) and stopped on every way
    // out of this function: `stop` below, or dropping `tunnel` on an error or a panic.
    let mut tunnel = match &tunnel_kind {
        Some(kind) => Some(start_tunnel(kind, addr, args.tls.tls, &args, &signals).await?),
        None => None,
    };
    let public_url = tunnel.as_ref().map(|t| t.url.clone());
    if config.verify.public_url.is_none() {
        // What the URL-signed schemes sign: the tunnel's URL + each request's path and query.
        config.verify.public_url.clone_from(&public_url);
    }
    if config.verify.public_url.is_none()
        && matches!(
            config.verify.scheme,
            SchemeChoice::Twilio | SchemeChoice::Square | SchemeChoice::Hubspot
        )
    {
        eprintln!(
            "hooklens: warning: --scheme {} signs the URL the provider calls; without --public-url (or --tunnel) every request shows as unverified",
            format!("{:?}", config.verify.scheme).to_lowercase()
        );
    }
    if let Some(url) = &public_url {
        // On disk before the URL is shown, like the forward target before readiness.
        record_session(&store, &args, Some(url)).await?;
        let ready = format!("Public URL {url}\ncallback_url: {url}{CALLBACK_PATH}");
        if args.json {
            eprintln!("{ready}");
            println!("{}", serde_json::json!({"kind": "tunnel", "url": url}));
        } else {
            println!("{ready}");
        }
        let disk = match (args.no_store, config.max_log) {
            (true, _) | (_, None) => {
                "captures stay in memory (the newest 10,000 keep bodies)".to_owned()
            }
            (false, Some(cap)) => format!(
                "at --max-log {} the log stops growing and requests get 507",
                crate::fmt::size(cap)
            ),
        };
        eprintln!(
            "hooklens: warning: {url} is public: anyone who has it can POST here. Bodies over --max-body get 413; {disk}.{}",
            if config.verify.secrets.is_empty() {
                " No --secret: every request is answered 204 as unverified; set one so forged deliveries show as invalid."
            } else {
                ""
            }
        );
    }
    if let Some(t) = tunnel.as_mut() {
        let events = std::mem::replace(&mut t.events, tokio::sync::mpsc::unbounded_channel().1);
        tokio::spawn(announce(events, store.clone(), args.json));
    }
    for line in tls.iter().flat_map(|t| t.banner(https_port)) {
        eprintln!("{line}");
    }
    let interactive = !args.no_tui && !args.json && std::io::stdout().is_terminal();
    let header = crate::front::tui::HeaderInfo {
        addresses: ready
            .lines()
            .filter_map(|l| l.strip_prefix("Listening on "))
            .map(str::to_owned)
            .chain(public_url.iter().map(|u| format!("public {u}")))
            .collect(),
        forward: args
            .forward_to
            .as_ref()
            .map(|t| crate::net::forward::rule_example(t, args.forward_path, CALLBACK_PATH)),
        secrets: crate::front::tui::HeaderInfo::fingerprints(&config.verify.secrets),
        scheme: format!("{:?}", config.verify.scheme).to_lowercase(),
        tolerance_secs: config.verify.tolerance_secs,
    };
    let printer = (!interactive).then(|| {
        tokio::spawn(printer::print_events(
            store.subscribe(),
            args.json,
            printer::Palette::for_stdout(args.color),
        ))
    });
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
        let forward = state.config.forward.clone();
        let replays = crate::front::tui::ReplayTarget {
            client: match &forward {
                Some(f) => f.client.clone(),
                None => {
                    crate::net::client::Client::new(crate::net::tls::client_config(&args.cacert)?)
                }
            },
            timeout: args.forward_timeout,
            forward: forward.map(|f| (f.target, f.mode)),
            secret: state.config.verify.secrets.first().cloned(),
        };
        let ui = crate::front::tui::run(tui_store, header, replays).await;
        let _ = stop.send(());
        if let Some(t) = tunnel.take() {
            t.stop().await;
        }
        let open = state.tasks().running();
        if open > 0 {
            // The inspector is gone; its notices with it. Say why the prompt is not back yet.
            eprintln!(
                "hooklens: letting {open} open connections or forwards finish, for up to {:?} (Ctrl-C exits now)",
                state.config.limits.grace
            );
        }
        // The terminal is the shell's again, so Ctrl-C is a signal again: the next one stops
        // waiting for what is still open (every answered capture is on disk already).
        let again = signals.after_now();
        tokio::select! {
            served = server => served.context("listener task")??,
            () = again => {
                eprintln!("hooklens: interrupted: exiting now");
                return Ok(Exit::Success);
            }
        }
        ui?;
    } else {
        drop(tui_store);
        let server = server::serve_endpoints(endpoints, state.clone(), signals.nth(1));
        let served = tokio::select! {
            served = server => served,
            () = signals.nth(2) => {
                // Every answered capture was on disk before its answer; nothing waits for more.
                eprintln!("hooklens: interrupted again: exiting now");
                drop(tunnel.take()); // its watchdog ends the tool
                return Ok(Exit::Success);
            }
        };
        if let Some(t) = tunnel.take() {
            t.stop().await;
        }
        served?;
    }
    drop(state);
    if let Some(notice) = writer.join().await {
        eprintln!("hooklens: {notice}");
    }
    if let Some(printer) = printer {
        let _ = printer.await;
    }
    Ok(Exit::Success)
}

/// Counts Ctrl-C and SIGTERM from the moment it starts (the first asks for a graceful stop,
/// the second for an immediate one).
struct Signals(tokio::sync::watch::Receiver<usize>);

impl Signals {
    fn start() -> Signals {
        let (count, seen) = tokio::sync::watch::channel(0usize);
        let mut shutdown = Shutdown::listen();
        tokio::spawn(async move {
            loop {
                shutdown.wait().await;
                count.send_modify(|n| *n += 1);
            }
        });
        Signals(seen)
    }

    /// Resolves at the next signal from now on.
    fn after_now(&self) -> impl Future<Output = ()> + use<> {
        let seen = *self.0.borrow();
        self.nth(seen + 1)
    }

    /// Resolves once `n` signals have arrived.
    fn nth(&self, n: usize) -> impl Future<Output = ()> + use<> {
        let mut seen = self.0.clone();
        async move {
            let _ = seen.wait_for(|c| *c >= n).await;
        }
    }
}

/// The log's `session` line: so a later `hooklens replay` knows where this listener
/// forwarded, and the log says which public URL the provider was given.
async fn record_session(store: &Store, args: &ListenArgs, public_url: Option<&str>) -> Result<()> {
    let forward_to =
        args.forward_to
            .as_ref()
            .map(|target| crate::model::exchange::RecordedTarget {
                url: crate::net::forward::target_url(target),
                path: args.forward_path,
            });
    store.append_session(forward_to, public_url).await
}

/// Starts the tunnel, or says in one line (exit code 2) why it cannot.
async fn start_tunnel(
    kind: &Kind,
    addr: std::net::SocketAddr,
    tls: bool,
    args: &ListenArgs,
    signals: &Signals,
) -> Result<Tunnel> {
    let opts = tunnel::Options {
        local: addr,
        tls,
        timeout: args.tunnel_timeout,
    };
    // Ctrl-C while waiting for the URL stops the tool too (dropping the start ends it).
    tokio::select! {
        started = tunnel::start(kind, &opts) => started.map_err(|e| match e.downcast::<tunnel::StartError>() {
            Ok(start) => args::EnvironmentError(start.0).into(),
            Err(e) => e,
        }),
        () = signals.nth(1) => Err(args::EnvironmentError("interrupted while the tunnel was starting".into()).into()),
    }
}

/// Says loudly, on every front end, when the tunnel goes down or its URL changes: the
/// `callback_url` the provider has is stale then.
async fn announce(
    mut events: tokio::sync::mpsc::UnboundedReceiver<tunnel::Event>,
    store: Store,
    json: bool,
) {
    while let Some(event) = events.recv().await {
        let (line, object) = match &event {
            tunnel::Event::Down { reason } => (
                format!(
                    "TUNNEL DOWN: {reason}. The public URL no longer reaches this listener; the provider's callback_url is stale (restart hooklens to get a new one)"
                ),
                serde_json::json!({"kind": "tunnel", "url": null, "down": reason}),
            ),
            tunnel::Event::UrlChanged { old, new } => (
                format!(
                    "TUNNEL URL CHANGED: {old} → {new}. Update the provider's callback_url to {new}{CALLBACK_PATH}"
                ),
                serde_json::json!({"kind": "tunnel", "url": new, "previous": old}),
            ),
        };
        if json {
            println!("{object}");
        }
        store.notice(line);
    }
}

/// Ctrl-C and SIGTERM, listened for from the moment this is made, so a signal that comes
/// between two waits (the tunnel starting, then the listener serving) is not lost.
pub struct Shutdown {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Shutdown {
    /// Starts listening for both signals.
    pub fn listen() -> Shutdown {
        use tokio::signal::unix::{SignalKind, signal};
        Shutdown {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Resolves at the next Ctrl-C or SIGTERM (or the first one since [`Shutdown::listen`]).
    pub async fn wait(&mut self) {
        async fn recv(s: Option<&mut tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            () = recv(self.int.as_mut()) => {}
            () = recv(self.term.as_mut()) => {}
        }
    }
}
