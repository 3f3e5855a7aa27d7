//! `listen --tunnel`: drives the tunnel the user already has (cloudflared, ngrok, Tailscale
//! Funnel, bore, or any command) as a child process pointed at the listener's port, finds the
//! public URL it publishes ([`discover`]), and watches it until the listener stops.
//!
//! The child lives and dies with hooklens, on every exit path: see [`child`].

pub mod child;
pub mod discover;

pub use child::find_on_path;
use child::{Proc, drain, exit_text, spawn, stop_child};

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// The default bore server, as `bore local --to` documents it.
pub const BORE_PUB: &str = "bore.pub";
/// Where a running ngrok agent serves its API.
const NGROK_API: &str = "127.0.0.1:4040";
/// How often the URL is asked for again (metrics endpoint, agent API) once it is known.
const RECHECK: Duration = Duration::from_secs(5);

/// Which tunnel `--tunnel` (or `--tunnel-cmd`) drives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A cloudflared quick tunnel (`https://….trycloudflare.com`, no account).
    Cloudflared,
    /// ngrok: an agent already forwarding to the port, else `ngrok http PORT`.
    Ngrok,
    /// `tailscale funnel PORT` (`https://NODE.TAILNET.ts.net`).
    Tailscale,
    /// `bore local PORT --to HOST [--port PORT]` (plain TCP; the listener's own scheme).
    Bore {
        /// The bore server.
        host: String,
        /// The public port to ask for (else the server picks one).
        port: Option<u16>,
    },
    /// Any command; `{port}` is replaced by the listener's port.
    Command(String),
}

impl Kind {
    /// Parses `cloudflared`, `ngrok`, `tailscale`, `bore` or `bore=HOST[:PORT]`.
    pub fn parse(s: &str) -> Result<Kind, String> {
        let (name, value) = s.split_once('=').map_or((s, None), |(n, v)| (n, Some(v)));
        match (name, value) {
            ("cloudflared", None) => Ok(Kind::Cloudflared),
            ("ngrok", None) => Ok(Kind::Ngrok),
            ("tailscale", None) => Ok(Kind::Tailscale),
            ("bore", None) => Ok(Kind::Bore {
                host: BORE_PUB.into(),
                port: None,
            }),
            ("bore", Some(v)) => {
                let (host, port) = match v.rsplit_once(':') {
                    Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
                        let port = p
                            .parse::<u16>()
                            .map_err(|_| format!("bore={v}: `{p}` is not a port"))?;
                        (h, Some(port))
                    }
                    _ => (v, None),
                };
                if host.is_empty() {
                    return Err("bore=HOST[:PORT] needs a host".into());
                }
                Ok(Kind::Bore {
                    host: host.into(),
                    port,
                })
            }
            (_, Some(_)) => Err(format!(
                "only bore takes a value (bore=HOST[:PORT]), not `{name}`"
            )),
            _ => Err(format!(
                "unknown tunnel `{s}`: use cloudflared, ngrok, tailscale, bore[=HOST[:PORT]], or --tunnel-cmd"
            )),
        }
    }

    /// The program it runs.
    pub fn tool(&self) -> &str {
        match self {
            Kind::Cloudflared => "cloudflared",
            Kind::Ngrok => "ngrok",
            Kind::Tailscale => "tailscale",
            Kind::Bore { .. } => "bore",
            Kind::Command(_) => "--tunnel-cmd",
        }
    }

    fn install_hint(&self) -> &'static str {
        match self {
            Kind::Cloudflared => {
                "install it from https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/"
            }
            Kind::Ngrok => "install it from https://ngrok.com/download",
            Kind::Tailscale => "install it from https://tailscale.com/download",
            Kind::Bore { .. } => "install it with `cargo install bore-cli`",
            Kind::Command(_) => "",
        }
    }

    /// Whether the tunnel forwards bytes as they are (bore), rather than terminating TLS.
    pub fn passes_tls_through(&self) -> bool {
        matches!(self, Kind::Bore { .. })
    }
}

/// Where the tunnel points and how long it may take to come up.
#[derive(Clone, Debug)]
pub struct Options {
    /// The listener's address the tunnel forwards to.
    pub local: SocketAddr,
    /// The listener speaks HTTPS on that port (bore then gives an `https://` URL).
    pub tls: bool,
    /// The bound on every wait for the tool.
    pub timeout: Duration,
}

/// Why a tunnel could not start, as one line: a missing tool, a login it needs, no URL in time,
/// or an exit before it gave one. Every case is the environment's (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// What happened to a running tunnel that the user must know about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The public URL is now another one (a quick tunnel restarted).
    UrlChanged {
        /// The URL shown at start (or at the last change).
        old: String,
        /// The new one.
        new: String,
    },
    /// The tunnel is gone: the tool exited, or the ngrok agent no longer forwards here.
    Down {
        /// Why, in words (`bore exited with status 1: …`).
        reason: String,
    },
}

/// A running tunnel: its public URL and the events that follow.
pub struct Tunnel {
    /// The public base URL (`https://x.trycloudflare.com`, `http://bore.pub:12345`).
    pub url: String,
    /// URL changes and the tunnel going down.
    pub events: mpsc::UnboundedReceiver<Event>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Tunnel {
    /// Stops the tool (SIGTERM to its process group, then SIGKILL) and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        // Not stopped in order (an error path, a panic): the task ends at the closed channel,
        // and if the runtime is going away instead, dropping the child closes the watchdog's
        // pipe and kills the tool.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts (or, for ngrok, attaches to) the tunnel and waits, at most `opts.timeout`, for its
/// public URL.
pub async fn start(kind: &Kind, opts: &Options) -> Result<Tunnel> {
    let deadline = Instant::now() + opts.timeout;
    if *kind == Kind::Ngrok
        && let Some(url) = ngrok_url(opts.local.port()).await
    {
        // An agent already forwards to this port: use it, and leave it running at the end.
        return Ok(spawn_monitor(kind.clone(), opts.clone(), url, None));
    }
    // Tailscale: logged in, and the node's name (the URL if funnel prints none).
    let node = match kind {
        Kind::Tailscale => Some(check_tailscale(deadline).await?),
        _ => None,
    };
    let (argv, metrics) = command_line(kind, opts)?;
    if !matches!(kind, Kind::Command(_)) && find_on_path(&argv[0]).is_none() {
        return Err(StartError(format!(
            "{} not found on PATH: {}",
            argv[0],
            kind.install_hint()
        ))
        .into());
    }
    let mut proc = spawn(&argv)?;
    let fallback = node.map(|name| {
        (
            format!("https://{name}"),
            Instant::now() + Duration::from_secs(3),
        )
    });
    let url = match discover(kind, opts, &mut proc, metrics, fallback, deadline).await {
        Ok(url) => url,
        Err(e) => {
            stop_child(proc.child, proc.stdin).await;
            return Err(e);
        }
    };
    Ok(spawn_monitor(
        kind.clone(),
        opts.clone(),
        url,
        Some((proc, metrics)),
    ))
}

/// The program and its arguments, and the cloudflared metrics address when there is one.
fn command_line(kind: &Kind, opts: &Options) -> Result<(Vec<String>, Option<SocketAddr>)> {
    let local = local_target(opts.local);
    let port = local.port().to_string();
    let s = |v: &str| v.to_owned();
    Ok(match kind {
        Kind::Cloudflared => {
            let metrics = free_port().context("choosing a port for cloudflared's metrics")?;
            (
                vec![
                    s("cloudflared"),
                    s("tunnel"),
                    s("--no-autoupdate"),
                    s("--metrics"),
                    metrics.to_string(),
                    s("--url"),
                    format!("http://{local}"),
                ],
                Some(metrics),
            )
        }
        Kind::Ngrok => (
            vec![
                s("ngrok"),
                s("http"),
                format!("http://{local}"),
                s("--log"),
                s("stdout"),
            ],
            None,
        ),
        Kind::Tailscale => (vec![s("tailscale"), s("funnel"), port], None),
        Kind::Bore { host, port: remote } => {
            let mut argv = vec![
                s("bore"),
                s("local"),
                port,
                s("--local-host"),
                local.ip().to_string(),
                s("--to"),
                host.clone(),
            ];
            if let Some(p) = remote {
                argv.extend([s("--port"), p.to_string()]);
            }
            (argv, None)
        }
        Kind::Command(cmd) => (vec![s("sh"), s("-c"), cmd.replace("{port}", &port)], None),
    })
}

/// The address a tunnel on this machine reaches the listener at (loopback for 0.0.0.0 / ::).
fn local_target(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        }
        ip if ip.is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    }
}

fn free_port() -> std::io::Result<SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// A URL the tool printed on this line, for the kinds that print one.
fn line_url(kind: &Kind, line: &str, tls: bool) -> Option<String> {
    match kind {
        Kind::Cloudflared => discover::cloudflared_line(line),
        Kind::Tailscale => discover::tailscale_line(line),
        Kind::Bore { .. } => discover::bore_line(line)
            .map(|addr| format!("{}://{addr}", if tls { "https" } else { "http" })),
        Kind::Ngrok => discover::ngrok_line(line),
        Kind::Command(_) => {
            let (https, http) = discover::public_urls(line);
            https.or(http)
        }
    }
}

/// The URL the tool serves on its local API, for the kinds that have one.
async fn polled_url(kind: &Kind, port: u16, metrics: Option<SocketAddr>) -> Option<String> {
    match (kind, metrics) {
        (Kind::Cloudflared, Some(m)) => {
            discover::cloudflared_quicktunnel(&local_get(&m.to_string(), "/quicktunnel").await?)
        }
        (Kind::Ngrok, _) => ngrok_url(port).await,
        _ => None,
    }
}

async fn ngrok_url(port: u16) -> Option<String> {
    discover::ngrok_tunnels(&local_get(NGROK_API, "/api/tunnels").await?, port)
}

/// Waits for the public URL: from the tool's output or its local API, else `fallback` once
/// its time comes while the tool runs (`--tunnel-cmd`: an `http://` URL when no `https://`
/// one follows within two seconds; Tailscale: `https://` + the node's name after 3 s).
async fn discover(
    kind: &Kind,
    opts: &Options,
    proc: &mut Proc,
    metrics: Option<SocketAddr>,
    mut fallback: Option<(String, Instant)>,
    deadline: Instant,
) -> Result<String> {
    let tool = kind.tool().to_owned();
    let polls = matches!(kind, Kind::Cloudflared | Kind::Ngrok);
    let mut poll = tokio::time::interval(Duration::from_millis(250));
    loop {
        let grace = fallback
            .as_ref()
            .map_or(deadline, |(_, at)| (*at).min(deadline));
        tokio::select! {
            line = proc.lines.recv(), if proc.lines_open => {
                let Some(line) = line else { proc.lines_open = false; continue };
                proc.tail.note(&line);
                if let Some(what) = discover::needs_login(kind.tool(), &line) {
                    return Err(StartError(what.to_owned()).into());
                }
                match line_url(kind, &line, opts.tls) {
                    Some(url) if url.starts_with("https://") || !matches!(kind, Kind::Command(_)) => return Ok(url),
                    Some(url) => { fallback.get_or_insert((url, Instant::now() + Duration::from_secs(2))); }
                    None => {}
                }
            }
            status = proc.child.wait() => {
                // Take what it printed before it went.
                drain(&mut proc.lines, &mut proc.tail).await;
                if let Some(what) = proc.tail.lines().iter().find_map(|l| discover::needs_login(kind.tool(), l)) {
                    return Err(StartError(what.to_owned()).into());
                }
                if let (Kind::Command(_), Some((url, _))) = (kind, fallback) { return Ok(url); }
                let status = status.map_or_else(|e| e.to_string(), exit_text);
                return Err(StartError(format!(
                    "tunnel: {tool} exited ({status}) before it gave a public URL{}", proc.tail.text()
                )).into());
            }
            _ = poll.tick(), if polls => {
                if let Some(url) = polled_url(kind, opts.local.port(), metrics).await { return Ok(url); }
            }
            () = tokio::time::sleep_until(grace) => {
                if let Some((url, _)) = fallback { return Ok(url); }
                return Err(StartError(format!(
                    "tunnel: {tool} gave no public URL within {}s (raise --tunnel-timeout){}",
                    opts.timeout.as_secs_f64(), proc.tail.text()
                )).into());
            }
        }
    }
}

/// Watches a tunnel once its URL is known: the tool exiting, a new URL in its output or on
/// its API. Stops the tool when told to (or when the [`Tunnel`] is dropped).
fn spawn_monitor(
    kind: Kind,
    opts: Options,
    url: String,
    proc: Option<(Proc, Option<SocketAddr>)>,
) -> Tunnel {
    let (events_tx, events) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let watch = Watch {
        kind,
        opts,
        current: url.clone(),
        events: events_tx,
    };
    let task = tokio::spawn(async move {
        match proc {
            Some((p, metrics)) => watch.child(p, metrics, stop_rx).await,
            None => watch.attached(stop_rx).await,
        }
    });
    Tunnel {
        url,
        events,
        stop: Some(stop_tx),
        task: Some(task),
    }
}

/// The monitor's state: what the URL is now, and where events go.
struct Watch {
    kind: Kind,
    opts: Options,
    current: String,
    events: mpsc::UnboundedSender<Event>,
}

impl Watch {
    fn saw(&mut self, new: String) {
        if new != self.current {
            let old = std::mem::replace(&mut self.current, new.clone());
            let _ = self.events.send(Event::UrlChanged { old, new });
        }
    }

    async fn child(
        mut self,
        proc: Proc,
        metrics: Option<SocketAddr>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let Proc {
            mut child,
            stdin,
            mut lines,
            mut lines_open,
            mut tail,
        } = proc;
        let polls = self.kind == Kind::Cloudflared;
        let mut recheck = tokio::time::interval_at(Instant::now() + RECHECK, RECHECK);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                line = lines.recv(), if lines_open => {
                    let Some(line) = line else { lines_open = false; continue };
                    tail.note(&line);
                    if let Some(new) = line_url(&self.kind, &line, self.opts.tls) { self.saw(new); }
                }
                status = child.wait() => {
                    drain(&mut lines, &mut tail).await;
                    let status = status.map_or_else(|e| e.to_string(), exit_text);
                    let _ = self.events.send(Event::Down {
                        reason: format!("{} exited ({status}){}", self.kind.tool(), tail.text()),
                    });
                    return;
                }
                _ = recheck.tick(), if polls => {
                    if let Some(new) = polled_url(&self.kind, self.opts.local.port(), metrics).await {
                        self.saw(new);
                    }
                }
            }
        }
        stop_child(child, stdin).await;
    }

    /// An ngrok agent hooklens did not start: watch its API, leave it running.
    async fn attached(mut self, mut stop: oneshot::Receiver<()>) {
        let mut recheck = tokio::time::interval_at(Instant::now() + RECHECK, RECHECK);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = recheck.tick() => match ngrok_url(self.opts.local.port()).await {
                    Some(new) => self.saw(new),
                    None => {
                        let _ = self.events.send(Event::Down {
                            reason: format!(
                                "the ngrok agent no longer forwards a tunnel to port {}",
                                self.opts.local.port()
                            ),
                        });
                        return;
                    }
                },
            }
        }
    }
}

/// Refuses early, with what to do, when Tailscale is missing or not logged in; else the
/// node's MagicDNS name.
async fn check_tailscale(deadline: Instant) -> Result<String> {
    if find_on_path("tailscale").is_none() {
        return Err(StartError(format!(
            "tailscale not found on PATH: {}",
            Kind::Tailscale.install_hint()
        ))
        .into());
    }
    let out = tokio::time::timeout_at(
        deadline,
        Command::new("tailscale")
            .args(["status", "--json"])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| StartError("tunnel: `tailscale status --json` did not answer in time".into()))?
    .context("running tailscale status --json")?;
    match discover::tailscale_status(&String::from_utf8_lossy(&out.stdout)) {
        Some(discover::TailscaleStatus::Running(name)) => Ok(name),
        Some(discover::TailscaleStatus::NotRunning(state)) => Err(StartError(format!(
            "tailscale is not logged in or not running (BackendState {state}): run `tailscale up` first"
        ))
        .into()),
        None => Err(StartError(
            "tailscale status --json gave no status: is tailscaled running? (`tailscale up`)"
                .into(),
        )
        .into()),
    }
}

/// `GET path` on a local API (cloudflared's metrics, ngrok's agent): the body of a 200, or
/// None when nothing answers (in time).
async fn local_get(addr: &str, path: &str) -> Option<String> {
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request =
            format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = Vec::new();
        stream.take(1 << 20).read_to_end(&mut response).await.ok()?;
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text.split_once("\r\n\r\n")?;
        let ok = head
            .split_whitespace()
            .nth(1)
            .is_some_and(|status| status == "200");
        ok.then(|| body.to_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), fetch)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_names() {
        assert_eq!(Kind::parse("cloudflared"), Ok(Kind::Cloudflared));
        assert_eq!(
            Kind::parse("bore"),
            Ok(Kind::Bore {
                host: "bore.pub".into(),
                port: None
            })
        );
        assert_eq!(
            Kind::parse("bore=127.0.0.1:4000"),
            Ok(Kind::Bore {
                host: "127.0.0.1".into(),
                port: Some(4000)
            })
        );
        assert_eq!(
            Kind::parse("bore=tunnel.example.com"),
            Ok(Kind::Bore {
                host: "tunnel.example.com".into(),
                port: None
            })
        );
        assert!(Kind::parse("bore=h:x").unwrap_err().contains("not a port"));
        assert!(Kind::parse("frp").unwrap_err().contains("unknown tunnel"));
        assert!(Kind::parse("ngrok=x").is_err());
    }

    #[test]
    fn unspecified_binds_are_reached_on_loopback() {
        assert_eq!(
            local_target("0.0.0.0:8787".parse().unwrap()),
            "127.0.0.1:8787".parse().unwrap()
        );
        assert_eq!(
            local_target("192.168.1.2:8787".parse().unwrap()),
            "192.168.1.2:8787".parse().unwrap()
        );
    }

    #[test]
    fn path_lookup() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("hooklens-no-such-tool").is_none());
    }
}
