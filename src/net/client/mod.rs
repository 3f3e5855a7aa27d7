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
//! HTTPS uses tokio-rustls with the trust the caller's config carries (hooklens builds it with
//! [`crate::net::tls::client_config`]: system roots, `--cacert` files, the local CA for loopback
//! names) and offers ALPN `h2` then `http/1.1`. When the receiver picks `h2`, the same pre-built HTTP/1.1 head is
//! re-parsed and sent with hyper's HTTP/2 client: header names become lowercase (HTTP/2
//! requires it, RFC 9113 §8.2.1), connection-specific headers are dropped (§8.2.2; `te:
//! trailers` stays), `Host` becomes `:authority`, and headers keep their order except that
//! repeats of a name travel together (`http::HeaderMap`). Values and body bytes are unchanged,
//! so signatures still verify; the exact-case guarantee holds for HTTP/1.1 receivers (plain
//! `http://`, TLS receivers that pick `http/1.1`, or any receiver with
//! [`Client::http1_only`]). Each origin that spoke HTTP/2 gets one shared, multiplexed
//! connection; a closed one is replaced on the next request, and the client remembers which
//! protocol each origin picked so requests do not open TLS connections just to learn it again.
//!
//! Files: this one holds the [`Client`] and its pools; `h1.rs` the HTTP/1.1 exchange, `h2.rs`
//! the HTTP/2 one; `target.rs`, `reply.rs` and `conn.rs` the types they share (leaves; the
//! public ones are re-exported here). Hop-by-hop rules come from [`crate::net::hop`].

mod conn;
mod h1;
mod h2;
mod reply;
mod target;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http2::SendRequest;
use tokio::net::TcpStream;

use conn::Conn;
use h1::{Exchange, exchange};
use h2::{H2Fail, H2Head, h2_exchange, start_h2};
use reply::{closed_without_answer, connect_error};

pub use reply::{ClientError, MAX_RESPONSE_BODY, Reply};
pub use target::Target;

const MAX_IDLE_PER_ORIGIN: usize = 8;

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

/// Pooled HTTP/1.1 + HTTP/2 client. Cheap to clone (clones share the pools).
#[derive(Clone)]
pub struct Client {
    idle: Arc<Mutex<HashMap<Origin, Vec<Conn>>>>,
    /// HTTP/2 state per HTTPS origin; `None` when HTTP/2 is off ([`Client::http1_only`]).
    h2: Option<Arc<Mutex<HashMap<Origin, Slot>>>>,
    tls: Arc<rustls::ClientConfig>,
}

impl Client {
    /// A client trusting `tls` for HTTPS targets; it uses HTTP/2 with TLS receivers that pick
    /// `h2` over ALPN and HTTP/1.1 otherwise. `tls`'s ALPN list is replaced.
    pub fn new(mut tls: rustls::ClientConfig) -> Client {
        tls.alpn_protocols = crate::net::tls::alpn(&crate::net::tls::ALPN);
        Client {
            idle: Arc::default(),
            h2: Some(Arc::default()),
            tls: Arc::new(tls),
        }
    }

    /// A client that speaks only HTTP/1.1 (ALPN offers only `http/1.1`), so every receiver
    /// gets header names in their exact case.
    pub fn http1_only(mut tls: rustls::ClientConfig) -> Client {
        tls.alpn_protocols = crate::net::tls::alpn(&crate::net::tls::ALPN_HTTP1);
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
