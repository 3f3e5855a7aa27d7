//! How each tunnel tool publishes its public URL, as pure functions over the text it prints or
//! serves: cloudflared's `/quicktunnel` metrics JSON and its banner line, ngrok's agent API
//! `/api/tunnels` JSON, bore's `listening at HOST:PORT` log line, Tailscale's `status --json`
//! and funnel output, and the first URL any `--tunnel-cmd` prints. A leaf: it imports nothing.

use serde::Deserialize;

/// A line as the tool printed it, without ANSI colour escapes (bore colours its log even when
/// it goes to a pipe).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // CSI: parameters and intermediates up to a final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Every `http://` or `https://` URL in a line, in order, trimmed of trailing punctuation and
/// box-drawing (`|  https://x.trycloudflare.com  |`).
fn urls(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = line;
    std::iter::from_fn(move || {
        let at = [rest.find("https://"), rest.find("http://")]
            .into_iter()
            .flatten()
            .min()?;
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '|' | '`'))
            .unwrap_or(tail.len());
        rest = &tail[end..];
        Some(tail[..end].trim_end_matches(['.', ',', ';', ')', ']']))
    })
}

/// The host of a URL (`https://a.b:8/x` → `a.b`), for telling public URLs from local ones.
fn host_of(url: &str) -> &str {
    let after = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = after.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

/// Whether a URL points at this machine (the tool echoing the local address it forwards to).
fn is_local(url: &str) -> bool {
    let host = host_of(url);
    host.is_empty()
        || host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "::1"
        || host == "0.0.0.0"
}

/// The public URLs in a line (local ones skipped), `https://` ones first.
pub fn public_urls(line: &str) -> (Option<String>, Option<String>) {
    let line = strip_ansi(line);
    let mut https = None;
    let mut http = None;
    for url in urls(&line).filter(|u| !is_local(u) && !host_of(u).is_empty()) {
        let slot = if url.starts_with("https://") {
            &mut https
        } else {
            &mut http
        };
        slot.get_or_insert_with(|| url.trim_end_matches('/').to_owned());
    }
    (https, http)
}

/// cloudflared's quick-tunnel banner: `|  https://word-word.trycloudflare.com  |`.
pub fn cloudflared_line(line: &str) -> Option<String> {
    public_urls(line)
        .0
        .filter(|u| host_of(u).ends_with(".trycloudflare.com"))
}

/// cloudflared's metrics endpoint `GET /quicktunnel`: `{"hostname":"x.trycloudflare.com"}`
/// (the hostname is empty until the tunnel is registered).
pub fn cloudflared_quicktunnel(json: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Quick {
        hostname: Option<String>,
    }
    let q: Quick = serde_json::from_str(json).ok()?;
    let host = q.hostname?.trim().trim_end_matches('/').to_owned();
    if host.is_empty() {
        return None;
    }
    Some(match host.split_once("://") {
        Some(_) => host,
        None => format!("https://{host}"),
    })
}

/// The port an ngrok tunnel's `config.addr` points at: `http://localhost:8787`,
/// `localhost:8787`, `127.0.0.1:8787` or `8787`.
pub fn addr_port(addr: &str) -> Option<u16> {
    let after = addr.split_once("://").map_or(addr, |(_, r)| r);
    let authority = after.split('/').next().unwrap_or("");
    let port = authority.rsplit_once(':').map_or(authority, |(_, p)| p);
    port.parse().ok()
}

/// ngrok's agent API `GET /api/tunnels`: the public URL of the tunnel whose `config.addr` is
/// `port` (`https` preferred over `http`), if the agent has one.
pub fn ngrok_tunnels(json: &str, port: u16) -> Option<String> {
    #[derive(Deserialize)]
    struct List {
        #[serde(default)]
        tunnels: Vec<Tunnel>,
    }
    #[derive(Deserialize)]
    struct Tunnel {
        public_url: String,
        #[serde(default)]
        config: Config,
    }
    #[derive(Deserialize, Default)]
    struct Config {
        #[serde(default)]
        addr: String,
    }
    let list: List = serde_json::from_str(json).ok()?;
    let mut ours: Vec<&Tunnel> = list
        .tunnels
        .iter()
        .filter(|t| addr_port(&t.config.addr) == Some(port))
        .collect();
    ours.sort_by_key(|t| !t.public_url.starts_with("https://"));
    ours.first().map(|t| t.public_url.clone())
}

/// ngrok's own log (`--log stdout`): `msg="started tunnel" … url=https://x.ngrok-free.app`.
pub fn ngrok_line(line: &str) -> Option<String> {
    if !line.contains("started tunnel") {
        return None;
    }
    let (https, http) = public_urls(line);
    https.or(http)
}

/// bore's client log: `INFO bore_cli::client: listening at bore.pub:12345` → `bore.pub:12345`.
pub fn bore_line(line: &str) -> Option<String> {
    let line = strip_ansi(line);
    let (_, rest) = line.split_once("listening at ")?;
    let addr = rest.split_whitespace().next()?;
    addr_port(addr)?;
    Some(addr.to_owned())
}

/// What `tailscale status --json` says about this node.
#[derive(Debug, PartialEq, Eq)]
pub enum TailscaleStatus {
    /// Logged in: the node's MagicDNS name without the trailing dot (`box.tail1234.ts.net`).
    Running(String),
    /// `BackendState` is not `Running` (`NeedsLogin`, `Stopped`, …).
    NotRunning(String),
}

/// `tailscale status --json`: `BackendState` and `Self.DNSName`.
pub fn tailscale_status(json: &str) -> Option<TailscaleStatus> {
    #[derive(Deserialize)]
    struct Status {
        #[serde(rename = "BackendState", default)]
        backend_state: String,
        #[serde(rename = "Self")]
        me: Option<Node>,
    }
    #[derive(Deserialize)]
    struct Node {
        #[serde(rename = "DNSName", default)]
        dns_name: String,
    }
    let s: Status = serde_json::from_str(json).ok()?;
    let name = s.me.map(|n| n.dns_name.trim_end_matches('.').to_owned());
    match name {
        Some(name) if s.backend_state == "Running" && !name.is_empty() => {
            Some(TailscaleStatus::Running(name))
        }
        _ => Some(TailscaleStatus::NotRunning(s.backend_state)),
    }
}

/// `tailscale funnel PORT` prints `https://box.tail1234.ts.net/` once it is on; other URLs it
/// prints (the admin page that enables Funnel) are not the tunnel.
pub fn tailscale_line(line: &str) -> Option<String> {
    public_urls(line)
        .0
        .filter(|u| host_of(u).ends_with(".ts.net"))
}

/// A line that says the tool needs an account or login first, with what to do about it.
pub fn needs_login(tool: &str, line: &str) -> Option<&'static str> {
    let l = strip_ansi(line).to_ascii_lowercase();
    match tool {
        "ngrok" if l.contains("authtoken") || l.contains("err_ngrok_4018") => Some(
            "ngrok needs an authtoken: run `ngrok config add-authtoken TOKEN` (from https://dashboard.ngrok.com/get-started/your-authtoken)",
        ),
        "tailscale"
            if l.contains("funnel is not enabled") || l.contains("not enabled on your tailnet") =>
        {
            Some(
                "Tailscale Funnel is not enabled for this tailnet: enable it at the URL tailscale printed (https://tailscale.com/kb/1223/funnel)",
            )
        }
        "tailscale"
            if l.contains("needslogin")
                || l.contains("logged out")
                || l.contains("tailscale up") =>
        {
            Some("tailscale is not logged in: run `tailscale up` first")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    //! The inputs are the tools' documented output shapes (their docs and their own logs), as
    //! cloudflared, ngrok and Tailscale cannot run here; bore's line is what bore 0.6 prints.
    use super::*;

    #[test]
    fn cloudflared_quicktunnel_json_as_its_metrics_endpoint_serves_it() {
        // cloudflared `--metrics 127.0.0.1:PORT`, GET /quicktunnel once the tunnel is up.
        assert_eq!(
            cloudflared_quicktunnel(
                r#"{"hostname":"seasonal-deck-organisms-sf.trycloudflare.com"}"#
            ),
            Some("https://seasonal-deck-organisms-sf.trycloudflare.com".into())
        );
        // Before registration the hostname is empty: not a URL yet.
        assert_eq!(cloudflared_quicktunnel(r#"{"hostname":""}"#), None);
        assert_eq!(cloudflared_quicktunnel("404 page not found"), None);
    }

    #[test]
    fn cloudflared_banner_line() {
        // cloudflared's documented quick-tunnel banner (stderr, logfmt timestamps).
        let banner = "2024-05-01T10:00:00Z INF |  https://seasonal-deck-organisms-sf.trycloudflare.com                                 |";
        assert_eq!(
            cloudflared_line(banner),
            Some("https://seasonal-deck-organisms-sf.trycloudflare.com".into())
        );
        // The line that names the terms of service is not the tunnel.
        let tos = "2024-05-01T10:00:00Z INF Thank you for trying Cloudflare Tunnel. ... https://www.cloudflare.com/website-terms/";
        assert_eq!(cloudflared_line(tos), None);
    }

    #[test]
    fn ngrok_agent_api_picks_the_tunnel_pointed_at_our_port() {
        // GET http://127.0.0.1:4040/api/tunnels, as ngrok's agent API documents it: two
        // tunnels, only the second forwards to our port; https is preferred over http.
        let json = r#"{"tunnels":[
            {"name":"other","public_url":"https://1111.ngrok-free.app","proto":"https","config":{"addr":"http://localhost:3000","inspect":true}},
            {"name":"command_line (http)","public_url":"http://2222.ngrok-free.app","proto":"http","config":{"addr":"http://localhost:8787","inspect":true}},
            {"name":"command_line","public_url":"https://2222.ngrok-free.app","proto":"https","config":{"addr":"http://localhost:8787","inspect":true}}
        ],"uri":"/api/tunnels"}"#;
        assert_eq!(
            ngrok_tunnels(json, 8787),
            Some("https://2222.ngrok-free.app".into())
        );
        assert_eq!(ngrok_tunnels(json, 9999), None);
        assert_eq!(
            ngrok_tunnels(r#"{"tunnels":[],"uri":"/api/tunnels"}"#, 8787),
            None
        );
    }

    #[test]
    fn ngrok_log_line() {
        // ngrok v3 `--log stdout` (logfmt), as its docs show it.
        let line = r#"t=2024-05-01T10:00:00+0000 lvl=info msg="started tunnel" obj=tunnels name=command_line addr=http://127.0.0.1:8787 url=https://2222.ngrok-free.app"#;
        assert_eq!(ngrok_line(line), Some("https://2222.ngrok-free.app".into()));
        let other = r#"t=2024-05-01T10:00:00+0000 lvl=info msg="starting web service" obj=web addr=127.0.0.1:4040"#;
        assert_eq!(ngrok_line(other), None);
    }

    #[test]
    fn ngrok_addr_forms() {
        for (addr, port) in [
            ("http://localhost:8787", Some(8787)),
            ("localhost:8787", Some(8787)),
            ("127.0.0.1:8787", Some(8787)),
            ("8787", Some(8787)),
            ("https://127.0.0.1:8787/", Some(8787)),
            ("localhost", None),
        ] {
            assert_eq!(addr_port(addr), port, "{addr}");
        }
    }

    #[test]
    fn bore_listening_line_with_and_without_colour() {
        assert_eq!(
            bore_line("2024-01-01T00:00:00Z  INFO bore_cli::client: listening at bore.pub:12345"),
            Some("bore.pub:12345".into())
        );
        // bore 0.6 writes ANSI colours even to a pipe.
        let coloured = "\u{1b}[2m2026-12-01T15:59:59Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2mbore_cli::client\u{1b}[0m\u{1b}[2m:\u{1b}[0m listening at 127.0.0.1:30794";
        assert_eq!(bore_line(coloured), Some("127.0.0.1:30794".into()));
        assert_eq!(
            bore_line("INFO bore_cli::client: connected to server remote_port=30794"),
            None
        );
    }

    #[test]
    fn tailscale_status_json_and_funnel_output() {
        // `tailscale status --json`, trimmed to the fields used.
        let up = r#"{"Version":"1.66.4","BackendState":"Running","Self":{"DNSName":"box.tail1234.ts.net.","HostName":"box"}}"#;
        assert_eq!(
            tailscale_status(up),
            Some(TailscaleStatus::Running("box.tail1234.ts.net".into()))
        );
        let out = r#"{"BackendState":"NeedsLogin","Self":{"DNSName":""}}"#;
        assert_eq!(
            tailscale_status(out),
            Some(TailscaleStatus::NotRunning("NeedsLogin".into()))
        );
        // `tailscale funnel 8787` output: the public URL, then what it proxies to.
        assert_eq!(
            tailscale_line("https://box.tail1234.ts.net/"),
            Some("https://box.tail1234.ts.net".into())
        );
        assert_eq!(tailscale_line("|-- / proxy http://127.0.0.1:8787"), None);
        assert_eq!(
            tailscale_line(
                "Funnel is not enabled on your tailnet. To enable, visit: https://login.tailscale.com/f/funnel?node=n1"
            ),
            None
        );
    }

    #[test]
    fn first_public_url_prefers_https_and_skips_local_ones() {
        assert_eq!(
            public_urls("Forwarding https://abc.example.net -> http://localhost:8787"),
            (Some("https://abc.example.net".into()), None)
        );
        assert_eq!(
            public_urls("your url is: http://abc.example.net:8080/."),
            (None, Some("http://abc.example.net:8080".into()))
        );
        assert_eq!(public_urls("proxying http://127.0.0.1:8787"), (None, None));
        assert_eq!(public_urls("no url here"), (None, None));
    }

    #[test]
    fn login_messages() {
        assert!(needs_login("ngrok", "ERROR:  authentication failed: Usage of ngrok requires a verified account and authtoken.").is_some());
        assert!(needs_login("ngrok", "t=... lvl=info msg=\"started tunnel\"").is_none());
        assert!(needs_login("tailscale", "Funnel is not enabled on your tailnet.").is_some());
    }
}
