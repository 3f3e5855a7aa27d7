//! The listener: request → [`Capture`] → verdict → durable append → response.
//!
//! Every request on any path and method is captured. The answer is sent only after the capture
//! is on disk. Per-connection failures are reported as one-line notices and never stop the
//! server. The HTTP response never carries the diagnosis or anything derived from a secret.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use crate::envelope;
use crate::model::capture::{Capture, CaptureId, Header, HeaderCase, HttpVersion, TlsInfo, now_ms};
use crate::model::record::CaptureRecord;
use crate::net::rawhead::{Recorded, SharedRecorder};
use crate::store::Store;
use crate::verify::{self, VerifyConfig};

/// Default port, as in `hooklens listen`.
pub const DEFAULT_PORT: u16 = 8787;
/// Default body limit: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How hooklens answers the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Respond {
    /// Like the guide's receiver: 204 valid (or unverified), 401 otherwise.
    #[default]
    Verdict,
    /// Always this status.
    Status(u16),
    /// With `--forward-to`: the provider gets the receiver's answer (502/504 on failure).
    Relay,
    /// With `--forward-to`: answer by verdict like `Verdict`, forward in the background.
    Mimic,
}

/// Everything the request handler needs, shared by all connections.
#[derive(Clone, Debug)]
pub struct ListenConfig {
    /// Secrets and tolerance.
    pub verify: VerifyConfig,
    /// Response policy.
    pub respond: Respond,
    /// Delay before answering (to exercise a sender's timeouts).
    pub respond_delay: Duration,
    /// Largest body kept; larger ones get 413 and are stored truncated.
    pub max_body: usize,
    /// `--forward-to` and friends, when forwarding.
    pub forward: Option<crate::net::forward::ForwardConfig>,
    /// `--max-log`: once the log file is this large, requests get 507 and are not stored.
    pub max_log: Option<u64>,
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            verify: VerifyConfig::default(),
            respond: Respond::default(),
            respond_delay: Duration::ZERO,
            max_body: DEFAULT_MAX_BODY_BYTES,
            forward: None,
            max_log: None,
        }
    }
}

/// Shared state of a running listener.
pub struct Listener {
    /// Handler configuration.
    pub config: ListenConfig,
    /// The capture log.
    pub store: Store,
}

/// Binds a TCP listener with a one-line error for the common failures.
pub async fn bind(ip: IpAddr, port: u16) -> Result<TcpListener> {
    let addr = SocketAddr::new(ip, port);
    TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow!(
            "cannot listen on {addr}: the port is already in use (pick another with --port, or --port 0 for any free port)"
        ),
        std::io::ErrorKind::PermissionDenied => {
            anyhow!("cannot listen on {addr}: permission denied (ports below 1024 need privileges)")
        }
        std::io::ErrorKind::AddrNotAvailable => {
            anyhow!("cannot listen on {addr}: no such local address")
        }
        _ => anyhow!("cannot listen on {addr}: {e}"),
    })
}

/// One listening socket, and the TLS acceptor when it serves HTTPS.
pub struct Endpoint {
    /// The bound socket.
    pub tcp: TcpListener,
    /// `Some` for an HTTPS port.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Accepts connections until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    tcp: TcpListener,
    state: Arc<Listener>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    serve_endpoints(vec![Endpoint { tcp, tls: None }], state, shutdown).await
}

/// Like [`serve`] for several sockets (an HTTP and an HTTPS port) under one graceful shutdown.
pub async fn serve_endpoints(
    endpoints: Vec<Endpoint>,
    state: Arc<Listener>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let graceful = GracefulShutdown::new();
    // Dropped at shutdown so TLS handshakes still in progress give up instead of holding it up.
    let (closing, closing_rx) = tokio::sync::watch::channel(());
    tokio::pin!(shutdown);
    let mut turn = 0usize;
    loop {
        // Start polling at a different socket each time so a busy port cannot starve the other.
        turn = turn.wrapping_add(1);
        let accept_any = std::future::poll_fn(|cx| {
            for k in 0..endpoints.len() {
                let i = (turn + k) % endpoints.len();
                if let std::task::Poll::Ready(r) = endpoints[i].tcp.poll_accept(cx) {
                    return std::task::Poll::Ready((i, r));
                }
            }
            std::task::Poll::Pending
        });
        tokio::select! {
            (i, accepted) = accept_any => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let watcher = graceful.watcher();
                    let state = state.clone();
                    let tls = endpoints[i].tls.clone();
                    let mut closing = closing_rx.clone();
                    tokio::spawn(async move {
                        let Some(acceptor) = tls else {
                            return serve_connection(stream, peer, None, state, watcher).await;
                        };
                        tokio::select! {
                            done = crate::net::tls::handshake(&acceptor, stream, peer) => match done {
                                Ok((stream, info)) => {
                                    serve_connection(stream, peer, Some(info), state, watcher).await;
                                }
                                Err(line) => state.store.notice(line),
                            },
                            _ = closing.changed() => {}
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: report, back off, keep serving.
                    state.store.notice(format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(endpoints);
    drop(closing);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            state.store.notice("shutdown: some connections did not finish in time");
        }
    }
    Ok(())
}

/// Serves one accepted connection (plain TCP, or TLS after the handshake).
pub async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    tls: Option<TlsInfo>,
    state: Arc<Listener>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (io, recorder) = Recorded::new(stream);
    let tls = tls.map(Arc::new);
    let handler_state = state.clone();
    let service = service_fn(move |req| {
        let state = handler_state.clone();
        let recorder = recorder.clone();
        let tls = tls.clone();
        async move { Ok::<_, Infallible>(handle(req, peer, tls, recorder, &state).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn.into_owned()).await {
        let text = e.to_string();
        // A peer closing an idle keep-alive connection is normal, not worth a line.
        if !text.contains("connection closed before message completed") {
            state
                .store
                .notice(format!("connection from {peer}: {text}"));
        }
    }
}

/// Header list for a request: the recorded original-case head when it matches, else hyper's.
fn headers_of(
    parts: &http::request::Parts,
    recorder: &SharedRecorder,
) -> (Vec<Header>, HeaderCase) {
    if parts.version != http::Version::HTTP_2
        && let Ok(mut rec) = recorder.lock()
        && let Some(head) = rec.pop()
    {
        let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
        let same = head.method == parts.method.as_str()
            && (head.target == target || head.target == parts.uri.to_string())
            && head.headers.len() == parts.headers.len();
        if same {
            return (head.headers, HeaderCase::Original);
        }
        // Out of step with hyper: stop trusting the recorder on this connection.
        rec.turn_off();
    }
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| Header::new(n.as_str(), Bytes::copy_from_slice(v.as_bytes())))
        .collect();
    (headers, HeaderCase::Lowercase)
}

enum BodyEnd {
    Complete,
    TooLarge,
    Dropped(String),
}

/// Reads the body, keeping at most `max` bytes; a single-frame body is kept without copying.
async fn read_body(mut body: Incoming, max: usize) -> (Bytes, BodyEnd) {
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue, // trailers
            },
            Err(e) => return (join(first, rest), BodyEnd::Dropped(e.to_string())),
        };
        let room = max - len;
        let over = data.len() > room;
        let data = if over { data.slice(..room) } else { data };
        len += data.len();
        match (&mut first, &mut rest) {
            (None, _) => first = Some(data),
            (Some(f), None) => {
                let mut buf = BytesMut::with_capacity(f.len() + data.len());
                buf.extend_from_slice(f);
                buf.extend_from_slice(&data);
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&data),
        }
        if over {
            return (join(first, rest), BodyEnd::TooLarge);
        }
    }
    (join(first, rest), BodyEnd::Complete)
}

fn join(first: Option<Bytes>, rest: Option<BytesMut>) -> Bytes {
    match (first, rest) {
        (_, Some(buf)) => buf.freeze(),
        (Some(b), None) => b,
        (None, None) => Bytes::new(),
    }
}

fn version_of(v: http::Version) -> HttpVersion {
    match v {
        http::Version::HTTP_10 | http::Version::HTTP_09 => HttpVersion::Http10,
        http::Version::HTTP_2 => HttpVersion::H2,
        _ => HttpVersion::Http11,
    }
}

fn reply(status: u16, body: &'static str, close: bool) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT);
    if !body.is_empty() {
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    if close {
        resp.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    resp
}

async fn handle(
    req: Request<Incoming>,
    peer: SocketAddr,
    tls: Option<Arc<TlsInfo>>,
    recorder: SharedRecorder,
    state: &Listener,
) -> Response<Full<Bytes>> {
    let received_at_ms = now_ms();
    if let Some(cap) = state.config.max_log
        && state.store.log_full(cap)
    {
        // Nothing is stored, so nothing is acknowledged: a sender that retries 5xx tries later.
        return reply(
            507,
            "hooklens capture log is full (--max-log); not stored\n",
            true,
        );
    }
    let (parts, body) = req.into_parts();
    let (headers, header_case) = headers_of(&parts, &recorder);
    let (body, end) = read_body(body, state.config.max_body).await;
    let truncated = !matches!(end, BodyEnd::Complete);

    let capture = Capture {
        id: CaptureId::default(),
        received_at_ms,
        peer,
        tls: tls.map(|t| (*t).clone()),
        method: parts.method.as_str().to_owned(),
        target: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.to_string(), |p| p.as_str().to_owned()),
        version: version_of(parts.version),
        header_case,
        headers,
        body,
        truncated,
    };
    let verdict = verify::verify(
        &capture.headers,
        &capture.body,
        &state.config.verify,
        received_at_ms.div_euclid(1000),
    );
    let status = match (&end, state.config.respond) {
        (BodyEnd::TooLarge, _) => 413,
        (_, Respond::Status(s)) => s,
        (_, Respond::Verdict | Respond::Relay | Respond::Mimic)
            if verdict.outcome.is_rejected() =>
        {
            401
        }
        (_, Respond::Verdict | Respond::Relay | Respond::Mimic) => 204,
    };
    let env = envelope::summarize(&capture.body);
    let idempotency_key = capture
        .header(verify::modelgates::IDEMPOTENCY_HEADER)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_owned);
    let record = CaptureRecord {
        capture,
        verdict,
        event_type: env.event_type,
        data_id: env.data_id,
        idempotency_key,
        response_status: status,
    };
    // Forwarding starts only once the capture is durable, so it needs its own copy.
    let to_forward = (state.config.forward.is_some() && matches!(end, BodyEnd::Complete))
        .then(|| record.capture.clone());
    let stored = match state.store.append(record).await {
        Ok(stored) => stored,
        Err(e) => {
            state
                .store
                .notice(format!("capture from {peer} not stored: {e:#}"));
            return reply(500, "hooklens could not store this request\n", false);
        }
    };
    if let (Some(fwd), Some(mut capture)) = (&state.config.forward, to_forward) {
        let relay = state.config.respond == Respond::Relay;
        capture.id = stored.summary.id;
        if let Some(resp) =
            crate::net::forward::after_capture(fwd, relay, capture, &state.store).await
        {
            return resp;
        }
    }
    match end {
        BodyEnd::TooLarge => {
            return reply(
                413,
                "request body exceeds the hooklens --max-body limit\n",
                true,
            );
        }
        BodyEnd::Dropped(why) => {
            state.store.notice(format!(
                "request from {peer} ended before its body did: {why}"
            ));
        }
        BodyEnd::Complete => {}
    }
    if !state.config.respond_delay.is_zero() {
        tokio::time::sleep(state.config.respond_delay).await;
    }
    reply(status, "", false)
}
