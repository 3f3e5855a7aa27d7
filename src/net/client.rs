//! The outbound HTTP client shared by forwarding and replay: hand-written HTTP/1.1, plus
//! HTTP/2 (hyper) for TLS receivers that pick `h2` over ALPN.
//!
//! Why HTTP/1.1 is written by hand: hyper 1.x cannot send original-case header names through
//! its public API, and a forwarder must deliver the provider's headers exactly (names, case,
//! order, values) so the receiver sees what the provider sent. So the request head is written
//! by hand ([`crate::net::forward::outbound_head`] builds it) and the response is read with
//! `httparse` plus a Content-Length / chunked / read-to-close body reader with a size cap.
//!
//! HTTP/1.1 connections are pooled per origin (keep-alive): an idle connection is reused when
//! the previous response was fully read and did not say `Connection: close`. When a reused
//! connection turns out to be closed before any response byte arrived, the request is retried
//! once on a fresh connection (the receiver closed an idle connection; it never answered).
//!
//! HTTPS uses tokio-rustls with native roots plus `--cacert` files ([`tls_config`]) and offers
//! ALPN `h2` then `http/1.1`. When the receiver picks `h2`, the same pre-built HTTP/1.1 head is
//! re-parsed and sent with hyper's HTTP/2 client: header names become lowercase (HTTP/2
//! requires it, RFC 9113 §8.2.1), connection-specific headers are dropped (§8.2.2; `te:
//! trailers` stays), `Host` becomes `:authority`, and headers keep their order except that
//! repeats of a name travel together (`http::HeaderMap`). Values and body bytes are unchanged,
//! so signatures still verify; the exact-case guarantee holds for HTTP/1.1 receivers (plain
//! `http://`, TLS receivers that pick `http/1.1`, or any receiver with
//! [`Client::http1_only`]). Each origin that spoke HTTP/2 gets one shared, multiplexed
//! connection; a closed one is replaced on the next request, and the client remembers which
//! protocol each origin picked so requests do not open TLS connections just to learn it again.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Result;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::model::capture::Header;
use crate::model::exchange::{ExchangeResponse, HTTP_2, HTTP_10, HTTP_11, RESPONSE_BODY_KEEP};

/// Largest response body relayed back; bigger answers are an error (the provider gets 502).
pub const MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
const MAX_IDLE_PER_ORIGIN: usize = 8;

/// Why a request did not produce a response; the caller maps it to 502/504.
#[derive(Debug, Error)]
pub enum ClientError {
    /// TCP connect, TLS handshake or HTTP/2 connection setup failed.
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
    /// The connection broke or the answer was not valid HTTP.
    #[error("{0}")]
    Protocol(String),
}

impl ClientError {
    /// The status the provider gets when the forward failed: 504 on timeout, else 502.
    pub fn provider_status(&self) -> u16 {
        match self {
            ClientError::Timeout(_) => 504,
            _ => 502,
        }
    }
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
    /// Reason phrase as sent (HTTP/1); the canonical phrase for the status over HTTP/2, which
    /// has none on the wire.
    pub reason: String,
    /// Headers in order, as sent (names are lowercase over HTTP/2).
    pub headers: Vec<Header>,
    /// Body (de-chunked).
    pub body: Bytes,
    /// The protocol that answered: [`HTTP_11`], [`HTTP_10`] or [`HTTP_2`].
    pub version: &'static str,
}

impl Reply {
    /// The answer as the log keeps it: the first [`RESPONSE_BODY_KEEP`] bytes of the body and
    /// the whole length.
    pub fn kept(&self) -> ExchangeResponse {
        ExchangeResponse {
            version: self.version.to_owned(),
            status: self.status,
            reason: self.reason.clone(),
            headers: self.headers.clone(),
            body: self.body.slice(..self.body.len().min(RESPONSE_BODY_KEEP)),
            body_len: self.body.len() as u64,
        }
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Conn {
    io: Box<dyn Io>,
}

/// A new connection, by the protocol the receiver picked.
enum Fresh {
    H1(Conn),
    H2(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Pool key: (https, host, port).
type Origin = (bool, String, u16);

/// What an HTTPS origin picked over ALPN the last time a connection was opened to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Picked {
    #[default]
    Unknown,
    Http1,
    H2,
}

/// Per-origin HTTP/2 state. Its async lock is held while a connection to an origin that may
/// speak HTTP/2 is opened, so concurrent requests wait for (and then share) that connection
/// instead of each opening one.
#[derive(Default)]
struct H2Slot {
    picked: Picked,
    /// The shared connection (with an id, to tell connections apart) while it is open.
    conn: Option<(u64, SendRequest<Full<Bytes>>)>,
}

type Slot = Arc<tokio::sync::Mutex<H2Slot>>;

static NEXT_H2_CONN: AtomicU64 = AtomicU64::new(1);

/// Pooled HTTP/1.1 + HTTP/2 client. Cheap to clone (clones share the pools).
#[derive(Clone)]
pub struct Client {
    idle: Arc<Mutex<HashMap<Origin, Vec<Conn>>>>,
    /// HTTP/2 state per HTTPS origin; `None` when HTTP/2 is off ([`Client::http1_only`]).
    h2: Option<Arc<Mutex<HashMap<Origin, Slot>>>>,
    tls: Arc<rustls::ClientConfig>,
}

/// ALPN offered by [`Client::new`], most preferred first.
const ALPN_H2: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The rustls configuration for HTTPS targets: native roots plus extra PEM CA files.
///
/// This is the one place outbound trust is decided (swap point for a shared TLS module).
/// ALPN offers `h2` and `http/1.1`; [`Client::new`] and [`Client::http1_only`] set it to what
/// they speak either way.
pub fn tls_config(extra_ca: &[PathBuf]) -> Result<rustls::ClientConfig> {
    // One trust policy for every outbound leg: system roots, --cacert files, and the hooklens
    // local CA for loopback names (see `tls::client_config`).
    let mut config = crate::net::tls::client_config(extra_ca)?;
    config.alpn_protocols = ALPN_H2.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

impl Client {
    /// A client trusting `tls` for HTTPS targets; it uses HTTP/2 with TLS receivers that pick
    /// `h2` over ALPN and HTTP/1.1 otherwise. `tls`'s ALPN list is replaced.
    pub fn new(mut tls: rustls::ClientConfig) -> Client {
        tls.alpn_protocols = ALPN_H2.iter().map(|p| p.to_vec()).collect();
        Client {
            idle: Arc::default(),
            h2: Some(Arc::default()),
            tls: Arc::new(tls),
        }
    }

    /// A client that speaks only HTTP/1.1 (ALPN offers only `http/1.1`), so every receiver
    /// gets header names in their exact case.
    pub fn http1_only(mut tls: rustls::ClientConfig) -> Client {
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Client {
            idle: Arc::default(),
            h2: None,
            tls: Arc::new(tls),
        }
    }

    /// Sends `head` (a complete HTTP/1.1 request head ending in a blank line) and `body`, and
    /// reads the answer, all within `timeout`. Over HTTP/2 the head is translated (see the
    /// module docs).
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
        let slot = match &self.h2 {
            Some(slots) if target.https => slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.clone())
                .or_default()
                .clone(),
            _ => {
                return self
                    .send_h1(key, None, target, head, body, is_head_request)
                    .await;
            }
        };
        let mut request = None;
        let mut retried = false;
        loop {
            let mut state = slot.lock().await;
            let live = state.conn.clone().filter(|(_, s)| !s.is_closed());
            if let Some((id, sender)) = live {
                drop(state);
                if request.is_none() {
                    request = Some(H2Head::parse(target, head)?);
                }
                let req = request.as_ref().expect("parsed above");
                match h2_exchange(sender, req, body).await {
                    Ok(reply) => return Ok(reply),
                    // The connection went away before taking the request (GOAWAY, close while
                    // idle): the receiver never saw it, so one more try on a new connection.
                    Err(H2Fail::Unsent) if !retried => {
                        retried = true;
                        let mut state = slot.lock().await;
                        if state.conn.as_ref().is_some_and(|(c, _)| *c == id) {
                            state.conn = None;
                        }
                        continue;
                    }
                    Err(H2Fail::Unsent) => return Err(closed_without_answer()),
                    Err(H2Fail::Failed(e)) => return Err(e),
                }
            }
            state.conn = None;
            if state.picked == Picked::Http1 {
                drop(state);
                return self
                    .send_h1(key, Some(&slot), target, head, body, is_head_request)
                    .await;
            }
            // First contact, or an HTTP/2 origin without a live connection: connect while
            // holding the slot, so concurrent requests share the outcome.
            return match self.connect(target).await? {
                Fresh::H2(tls) => {
                    let (id, sender) = start_h2(tls, target).await?;
                    state.picked = Picked::H2;
                    state.conn = Some((id, sender.clone()));
                    drop(state);
                    if request.is_none() {
                        request = Some(H2Head::parse(target, head)?);
                    }
                    let req = request.as_ref().expect("parsed above");
                    h2_exchange(sender, req, body).await.map_err(H2Fail::error)
                }
                Fresh::H1(conn) => {
                    state.picked = Picked::Http1;
                    drop(state);
                    self.h1_fresh(key, conn, head, body, is_head_request).await
                }
            };
        }
    }

    /// The HTTP/1.1 path: a pooled connection when there is one, else a new connection.
    /// `slot` is the origin's HTTP/2 state when HTTP/2 is on for it (a new connection may
    /// still pick `h2` if the receiver changed its mind).
    async fn send_h1(
        &self,
        key: Origin,
        slot: Option<&Slot>,
        target: &Target,
        head: &[u8],
        body: &[u8],
        is_head_request: bool,
    ) -> Result<Reply, ClientError> {
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
        match self.connect(target).await? {
            Fresh::H1(conn) => self.h1_fresh(key, conn, head, body, is_head_request).await,
            Fresh::H2(tls) => {
                let Some(slot) = slot else {
                    return Err(ClientError::Protocol(
                        "the receiver picked h2, which was not offered".into(),
                    ));
                };
                let (id, sender) = start_h2(tls, target).await?;
                {
                    let mut state = slot.lock().await;
                    state.picked = Picked::H2;
                    state.conn = Some((id, sender.clone()));
                }
                let req = H2Head::parse(target, head)?;
                h2_exchange(sender, &req, body).await.map_err(H2Fail::error)
            }
        }
    }

    async fn h1_fresh(
        &self,
        key: Origin,
        conn: Conn,
        head: &[u8],
        body: &[u8],
        is_head_request: bool,
    ) -> Result<Reply, ClientError> {
        match exchange(conn, head, body, is_head_request).await {
            Ok((reply, reusable)) => {
                self.put_back(key, reusable);
                Ok(reply)
            }
            Err(Exchange::ClosedBeforeAnswer) => Err(closed_without_answer()),
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

    async fn connect(&self, target: &Target) -> Result<Fresh, ClientError> {
        let fail = |reason: String| connect_error(target, reason);
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        if !target.https {
            return Ok(Fresh::H1(Conn { io: Box::new(tcp) }));
        }
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| fail(format!("bad TLS server name: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| fail(format!("TLS handshake: {e}")))?;
        if self.h2.is_some() && tls.get_ref().1.alpn_protocol() == Some(b"h2") {
            return Ok(Fresh::H2(Box::new(tls)));
        }
        Ok(Fresh::H1(Conn { io: Box::new(tls) }))
    }
}

fn connect_error(target: &Target, reason: String) -> ClientError {
    ClientError::Connect {
        origin: format!("{}:{}", target.host, target.port),
        reason,
    }
}

fn closed_without_answer() -> ClientError {
    ClientError::Protocol("the receiver closed the connection without answering".into())
}

// ---- HTTP/2 ----

/// The HTTP/1.1 head translated for HTTP/2.
#[derive(Debug)]
struct H2Head {
    method: http::Method,
    /// `https://authority/path?query`: hyper turns it into `:scheme`, `:authority`, `:path`.
    uri: http::Uri,
    headers: http::HeaderMap,
}

/// Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2); `te: trailers` is allowed.
const NOT_IN_H2: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
];

impl H2Head {
    /// Re-parses a request head written for HTTP/1.1.
    fn parse(target: &Target, head: &[u8]) -> Result<H2Head, ClientError> {
        let bad = |what: String| ClientError::Protocol(format!("cannot send over HTTP/2: {what}"));
        let lines = head.iter().filter(|b| **b == b'\n').count();
        let mut slots = vec![httparse::EMPTY_HEADER; lines.max(1)];
        let mut req = httparse::Request::new(&mut slots);
        match req.parse(head) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => return Err(bad("incomplete request head".into())),
            Err(e) => return Err(bad(format!("invalid request head: {e}"))),
        }
        let method = http::Method::from_bytes(req.method.unwrap_or("").as_bytes())
            .map_err(|e| bad(format!("method: {e}")))?;
        let path = req.path.unwrap_or("/");
        // Headers named in Connection are connection-specific too.
        let mut dropped: Vec<String> = NOT_IN_H2.iter().map(|s| s.to_string()).collect();
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("connection") {
                for token in String::from_utf8_lossy(h.value).split(',') {
                    let t = token.trim().to_ascii_lowercase();
                    if !t.is_empty() && t != "te" {
                        dropped.push(t);
                    }
                }
            }
        }
        let mut authority = None;
        let mut headers = http::HeaderMap::with_capacity(req.headers.len());
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("host") {
                if authority.is_none() {
                    authority = Some(
                        std::str::from_utf8(h.value)
                            .map_err(|_| bad("the Host header is not text".into()))?
                            .trim()
                            .to_string(),
                    );
                }
                continue;
            }
            let is_trailers = h.name.eq_ignore_ascii_case("te")
                && h.value.trim_ascii().eq_ignore_ascii_case(b"trailers");
            if !is_trailers && dropped.iter().any(|d| d.eq_ignore_ascii_case(h.name)) {
                continue;
            }
            // `from_bytes` lowercases the name, as HTTP/2 requires.
            let name = http::HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|e| bad(format!("header name {:?}: {e}", h.name)))?;
            let value = if is_trailers {
                http::HeaderValue::from_static("trailers")
            } else {
                http::HeaderValue::from_bytes(h.value)
                    .map_err(|e| bad(format!("value of {}: {e}", h.name)))?
            };
            headers.append(name, value);
        }
        let authority = authority.unwrap_or_else(|| target.authority.clone());
        let uri = format!("https://{authority}{path}")
            .parse()
            .map_err(|e| bad(format!("request target {authority}{path}: {e}")))?;
        Ok(H2Head {
            method,
            uri,
            headers,
        })
    }
}

/// Opens HTTP/2 on a TLS stream that picked `h2`; the connection runs in its own task.
async fn start_h2(
    tls: Box<tokio_rustls::client::TlsStream<TcpStream>>,
    target: &Target,
) -> Result<(u64, SendRequest<Full<Bytes>>), ClientError> {
    let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake::<_, Full<Bytes>>(TokioIo::new(tls))
        .await
        .map_err(|e| {
            connect_error(
                target,
                format!("HTTP/2 handshake: {}", crate::fmt::error_chain(&e)),
            )
        })?;
    tokio::spawn(async move {
        // Ends when the receiver or every `SendRequest` goes away; errors surface per request.
        let _ = conn.await;
    });
    Ok((NEXT_H2_CONN.fetch_add(1, Ordering::Relaxed), sender))
}

enum H2Fail {
    /// The connection ended before the request was handed to it.
    Unsent,
    Failed(ClientError),
}

impl H2Fail {
    fn error(self) -> ClientError {
        match self {
            H2Fail::Unsent => closed_without_answer(),
            H2Fail::Failed(e) => e,
        }
    }
}

/// Sends one request on a shared HTTP/2 connection and reads the whole answer (capped).
async fn h2_exchange(
    mut sender: SendRequest<Full<Bytes>>,
    head: &H2Head,
    body: &[u8],
) -> Result<Reply, H2Fail> {
    let fail = |msg: String| H2Fail::Failed(ClientError::Protocol(msg));
    let mut req = http::Request::new(Full::new(Bytes::copy_from_slice(body)));
    *req.method_mut() = head.method.clone();
    *req.uri_mut() = head.uri.clone();
    *req.version_mut() = http::Version::HTTP_2;
    *req.headers_mut() = head.headers.clone();
    let resp = match sender.try_send_request(req).await {
        Ok(resp) => resp,
        Err(mut e) => {
            if e.take_message().is_some() {
                return Err(H2Fail::Unsent);
            }
            return Err(fail(format!(
                "HTTP/2 request to the receiver failed: {}",
                crate::fmt::error_chain(&e.into_error())
            )));
        }
    };
    let (parts, mut incoming) = resp.into_parts();
    let too_big = || {
        fail(format!(
            "the receiver's response body exceeds the {} MiB relay limit",
            MAX_RESPONSE_BODY >> 20
        ))
    };
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_RESPONSE_BODY as u64) {
        return Err(too_big());
    }
    let mut buf = BytesMut::new();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| {
            fail(format!(
                "reading the receiver's HTTP/2 response: {}",
                crate::fmt::error_chain(&e)
            ))
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > MAX_RESPONSE_BODY {
                return Err(too_big());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Reply {
        status: parts.status.as_u16(),
        reason: parts.status.canonical_reason().unwrap_or("").to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| Header::new(n.as_str(), Bytes::copy_from_slice(v.as_bytes())))
            .collect(),
        body: buf.freeze(),
        version: HTTP_2,
    })
}

// ---- HTTP/1.1 ----

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
    let (version, status, reason, headers) = loop {
        let parsed = {
            let mut slots = [httparse::EMPTY_HEADER; 128];
            let mut resp = httparse::Response::new(&mut slots);
            match resp.parse(&buf) {
                Ok(httparse::Status::Complete(used)) => Some((
                    used,
                    resp.version,
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
            Some((used, _, code, _, _)) if (100..200).contains(&code) && code != 101 => {
                let _ = buf.split_to(used);
            }
            Some((used, minor, code, reason, headers)) => {
                let _ = buf.split_to(used);
                let version = if minor == Some(0) { HTTP_10 } else { HTTP_11 };
                break (version, code, reason, headers);
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
    let get = |name: &str| crate::model::capture::header_value(&headers, name);
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
        version,
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

    #[test]
    fn h2_head_lowercases_drops_connection_headers_and_moves_host_to_authority() {
        let t = Target::parse("https://127.0.0.1:8443/").unwrap();
        let head = b"POST /hook?x=1 HTTP/1.1\r\nHost: rcv.test:8443\r\n\
X-ModelGates-Signature: t=1,v1=ab\r\nConnection: close, X-Private\r\nX-Private: 1\r\n\
Keep-Alive: timeout=5\r\nTE: Trailers\r\nUpgrade: h2c\r\nTransfer-Encoding: chunked\r\n\
Proxy-Connection: keep-alive\r\nAccept: a\r\nContent-Length: 2\r\naccept: b\r\n\r\n";
        let h = H2Head::parse(&t, head).unwrap();
        assert_eq!(h.method, http::Method::POST);
        assert_eq!(h.uri, "https://rcv.test:8443/hook?x=1");
        let names: Vec<&str> = h.headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(
            names,
            ["x-modelgates-signature", "te", "accept", "content-length"]
        );
        assert_eq!(h.headers["x-modelgates-signature"], "t=1,v1=ab");
        assert_eq!(h.headers["te"], "trailers");
        let accept: Vec<_> = h.headers.get_all("accept").iter().collect();
        assert_eq!(accept, ["a", "b"]);

        // Without Host the target's authority is used; TE other than trailers is dropped.
        let h = H2Head::parse(&t, b"GET / HTTP/1.1\r\nTE: gzip\r\n\r\n").unwrap();
        assert_eq!(h.uri, "https://127.0.0.1:8443/");
        assert!(h.headers.is_empty());
    }
}
