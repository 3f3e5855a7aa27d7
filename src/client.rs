//! The outbound HTTP/1.1 client shared by forwarding and replay.
//!
//! Why not hyper's client: hyper 1.x cannot send original-case header names through its public
//! API, and a forwarder must deliver the provider's headers exactly (names, case, order, values)
//! so the receiver sees what the provider sent. So the request head is written by hand
//! ([`crate::forward::outbound_head`] builds it) and the response is read with `httparse` plus
//! a Content-Length / chunked / read-to-close body reader with a size cap.
//!
//! Connections are pooled per origin (keep-alive): an idle connection is reused when the
//! previous response was fully read and did not say `Connection: close`. When a reused
//! connection turns out to be closed before any response byte arrived, the request is retried
//! once on a fresh connection (the receiver closed an idle connection; it never answered).
//! HTTPS uses tokio-rustls with native roots plus `--cacert` files ([`tls_config`]); only
//! `http/1.1` is offered over ALPN, so the exact-case guarantee holds there too.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use bytes::{Bytes, BytesMut};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::capture::Header;

/// Largest response body relayed back; bigger answers are an error (the provider gets 502).
pub const MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
const MAX_IDLE_PER_ORIGIN: usize = 8;

/// Why a request did not produce a response; the caller maps it to 502/504.
#[derive(Debug, Error)]
pub enum ClientError {
    /// TCP connect or TLS handshake failed.
    #[error("cannot connect to {origin}: {reason}")]
    Connect {
        /// `host:port`.
        origin: String,
        /// The OS or TLS error.
        reason: String,
    },
    /// No complete response within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection broke or the answer was not valid HTTP/1.1.
    #[error("{0}")]
    Protocol(String),
}

/// A parsed forward target (`--forward-to`, `--to`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// True for `https`.
    pub https: bool,
    /// Host name or IP literal (without brackets).
    pub host: String,
    /// Port (default 80/443).
    pub port: u16,
    /// `Host` header value: the authority as written in the URL.
    pub authority: String,
    /// Path of the URL (`/` when empty).
    pub path: String,
    /// Query of the URL, without `?`.
    pub query: Option<String>,
}

impl Target {
    /// Parses `http://host[:port][/path][?query]` or `https://…`.
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("not a URL: {url:?} ({e})"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(format!(
                    "{url:?}: the URL must start with http:// or https://"
                ));
            }
        };
        let auth = uri
            .authority()
            .ok_or_else(|| format!("{url:?}: no host in the URL"))?;
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        Ok(Target {
            https,
            host: host.to_string(),
            port: auth.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: auth.as_str().to_string(),
            path: match uri.path() {
                "" => "/".into(),
                p => p.to_string(),
            },
            query: uri.query().map(str::to_owned),
        })
    }

    /// `scheme://authority`, for messages.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }
}

/// An answer from the receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Reason phrase as sent.
    pub reason: String,
    /// Headers in order, as sent.
    pub headers: Vec<Header>,
    /// Body (de-chunked).
    pub body: Bytes,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Conn {
    io: Box<dyn Io>,
}

/// Pool key: (https, host, port).
type Origin = (bool, String, u16);

/// Pooled HTTP/1.1 client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    idle: Arc<Mutex<HashMap<Origin, Vec<Conn>>>>,
    tls: Arc<rustls::ClientConfig>,
}

/// The rustls configuration for HTTPS targets: native roots plus extra PEM CA files.
///
/// This is the one place outbound trust is decided (swap point for a shared TLS module).
pub fn tls_config(extra_ca: &[PathBuf]) -> Result<rustls::ClientConfig> {
    // One trust policy for every outbound leg: system roots, --cacert files, and the hooklens
    // local CA for loopback names (see `tls::client_config`). This client speaks HTTP/1.1 only.
    let mut config = crate::tls::client_config(extra_ca)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl Client {
    /// A client trusting `tls` for HTTPS targets.
    pub fn new(tls: rustls::ClientConfig) -> Client {
        Client {
            idle: Arc::default(),
            tls: Arc::new(tls),
        }
    }

    /// Sends `head` (a complete request head ending in a blank line) and `body`, and reads
    /// the answer, all within `timeout`.
    pub async fn send(
        &self,
        target: &Target,
        head: &[u8],
        body: &[u8],
        is_head_request: bool,
        timeout: Duration,
    ) -> Result<Reply, ClientError> {
        match tokio::time::timeout(
            timeout,
            self.send_inner(target, head, body, is_head_request),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }

    async fn send_inner(
        &self,
        target: &Target,
        head: &[u8],
        body: &[u8],
        is_head_request: bool,
    ) -> Result<Reply, ClientError> {
        let key = (target.https, target.host.clone(), target.port);
        let pooled = self
            .idle
            .lock()
            .ok()
            .and_then(|mut m| m.get_mut(&key).and_then(Vec::pop));
        if let Some(conn) = pooled {
            match exchange(conn, head, body, is_head_request).await {
                Ok((reply, reusable)) => {
                    self.put_back(key, reusable);
                    return Ok(reply);
                }
                // Closed while idle: the receiver never saw this request; try a fresh one.
                Err(Exchange::ClosedBeforeAnswer) => {}
                Err(Exchange::Failed(e)) => return Err(e),
            }
        }
        let conn = self.connect(target).await?;
        match exchange(conn, head, body, is_head_request).await {
            Ok((reply, reusable)) => {
                self.put_back(key, reusable);
                Ok(reply)
            }
            Err(Exchange::ClosedBeforeAnswer) => Err(ClientError::Protocol(
                "the receiver closed the connection without answering".into(),
            )),
            Err(Exchange::Failed(e)) => Err(e),
        }
    }

    fn put_back(&self, key: Origin, conn: Option<Conn>) {
        if let Some(conn) = conn
            && let Ok(mut m) = self.idle.lock()
        {
            let list = m.entry(key).or_default();
            if list.len() < MAX_IDLE_PER_ORIGIN {
                list.push(conn);
            }
        }
    }

    async fn connect(&self, target: &Target) -> Result<Conn, ClientError> {
        let origin = format!("{}:{}", target.host, target.port);
        let fail = |reason: String| ClientError::Connect {
            origin: origin.clone(),
            reason,
        };
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        if !target.https {
            return Ok(Conn { io: Box::new(tcp) });
        }
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| fail(format!("bad TLS server name: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| fail(format!("TLS handshake: {e}")))?;
        Ok(Conn { io: Box::new(tls) })
    }
}

enum Exchange {
    ClosedBeforeAnswer,
    Failed(ClientError),
}

fn protocol(msg: impl Into<String>) -> Exchange {
    Exchange::Failed(ClientError::Protocol(msg.into()))
}

/// Writes one request and reads one response; returns the connection when it can be reused.
async fn exchange(
    mut conn: Conn,
    head: &[u8],
    body: &[u8],
    is_head_request: bool,
) -> Result<(Reply, Option<Conn>), Exchange> {
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head);
    out.extend_from_slice(body);
    if conn.io.write_all(&out).await.is_err() || conn.io.flush().await.is_err() {
        return Err(Exchange::ClosedBeforeAnswer);
    }
    let mut buf = BytesMut::with_capacity(8192);
    // Head (skipping 1xx interim answers).
    let (status, reason, headers) = loop {
        let parsed = {
            let mut slots = [httparse::EMPTY_HEADER; 128];
            let mut resp = httparse::Response::new(&mut slots);
            match resp.parse(&buf) {
                Ok(httparse::Status::Complete(used)) => Some((
                    used,
                    resp.code.unwrap_or(0),
                    resp.reason.unwrap_or("").to_string(),
                    resp.headers
                        .iter()
                        .map(|h| Header::new(h.name, Bytes::copy_from_slice(h.value)))
                        .collect::<Vec<_>>(),
                )),
                Ok(httparse::Status::Partial) => None,
                Err(e) => {
                    return Err(protocol(format!(
                        "invalid HTTP response from the receiver: {e}"
                    )));
                }
            }
        };
        match parsed {
            Some((used, code, _, _)) if (100..200).contains(&code) && code != 101 => {
                let _ = buf.split_to(used);
            }
            Some((used, code, reason, headers)) => {
                let _ = buf.split_to(used);
                break (code, reason, headers);
            }
            None => {
                if buf.len() > MAX_RESPONSE_HEAD {
                    return Err(protocol(
                        "the receiver's response head is larger than 64 KiB",
                    ));
                }
                let n = read_more(&mut conn, &mut buf).await?;
                if n == 0 {
                    return Err(if buf.is_empty() {
                        Exchange::ClosedBeforeAnswer
                    } else {
                        protocol(
                            "the receiver closed the connection in the middle of its response head",
                        )
                    });
                }
            }
        }
    };
    let get = |name: &str| crate::capture::header_value(&headers, name);
    let closes = get("connection").is_some_and(|v| {
        String::from_utf8_lossy(v)
            .to_ascii_lowercase()
            .contains("close")
    });
    let chunked = get("transfer-encoding").is_some_and(|v| {
        String::from_utf8_lossy(v)
            .to_ascii_lowercase()
            .trim_end()
            .ends_with("chunked")
    });
    let no_body = is_head_request || status == 204 || status == 304;
    let (body, reusable) = if no_body {
        (Bytes::new(), buf.is_empty())
    } else if chunked {
        (read_chunked(&mut conn, &mut buf).await?, buf.is_empty())
    } else if let Some(v) = get("content-length") {
        let len: usize = std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| protocol("the receiver sent an invalid Content-Length"))?;
        if len > MAX_RESPONSE_BODY {
            return Err(protocol(format!(
                "the receiver's response body ({len} bytes) exceeds the {} MiB relay limit",
                MAX_RESPONSE_BODY >> 20
            )));
        }
        while buf.len() < len {
            if read_more(&mut conn, &mut buf).await? == 0 {
                return Err(protocol(format!(
                    "the receiver closed the connection after {} of {len} body bytes",
                    buf.len()
                )));
            }
        }
        let body = buf.split_to(len).freeze();
        (body, buf.is_empty())
    } else {
        // Delimited by close.
        loop {
            if buf.len() > MAX_RESPONSE_BODY {
                return Err(protocol(
                    "the receiver's response body exceeds the relay limit",
                ));
            }
            if read_more(&mut conn, &mut buf).await? == 0 {
                break;
            }
        }
        (buf.split().freeze(), false)
    };
    let reply = Reply {
        status,
        reason,
        headers,
        body,
    };
    Ok((reply, (reusable && !closes).then_some(conn)))
}

async fn read_more(conn: &mut Conn, buf: &mut BytesMut) -> Result<usize, Exchange> {
    buf.reserve(16 * 1024);
    conn.io
        .read_buf(buf)
        .await
        .map_err(|e| protocol(format!("reading the receiver's response: {e}")))
}

async fn read_line(conn: &mut Conn, buf: &mut BytesMut) -> Result<BytesMut, Exchange> {
    loop {
        if let Some(nl) = buf.iter().position(|b| *b == b'\n') {
            return Ok(buf.split_to(nl + 1));
        }
        if buf.len() > 8192 {
            return Err(protocol("a chunk line from the receiver is too long"));
        }
        if read_more(conn, buf).await? == 0 {
            return Err(protocol(
                "the receiver closed the connection mid-body (chunked)",
            ));
        }
    }
}

async fn read_chunked(conn: &mut Conn, buf: &mut BytesMut) -> Result<Bytes, Exchange> {
    let mut body = BytesMut::new();
    loop {
        let line = read_line(conn, buf).await?;
        let text = String::from_utf8_lossy(&line);
        let size_text = text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| protocol("the receiver sent an invalid chunk size"))?;
        if size == 0 {
            // Trailers until the blank line.
            loop {
                let l = read_line(conn, buf).await?;
                if l.as_ref() == b"\r\n" || l.as_ref() == b"\n" {
                    return Ok(body.freeze());
                }
            }
        }
        if body.len() + size > MAX_RESPONSE_BODY {
            return Err(protocol(
                "the receiver's response body exceeds the relay limit",
            ));
        }
        while buf.len() < size + 2 {
            if read_more(conn, buf).await? == 0 {
                return Err(protocol(
                    "the receiver closed the connection mid-body (chunked)",
                ));
            }
        }
        body.extend_from_slice(&buf.split_to(size));
        let _ = buf.split_to(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = Target::parse("http://127.0.0.1:3000/api?x=1").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 3000, "/api")
        );
        assert_eq!(t.query.as_deref(), Some("x=1"));
        let t = Target::parse("https://[::1]").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 443, "/")
        );
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("localhost:3000").is_err());
    }
}
