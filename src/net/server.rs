//! The listener: request → [`Capture`] → verdict → durable append → response.
//!
//! Every request on any path and method is captured. The answer is sent only after the capture
//! is on disk. With `--forward-to` and `--respond relay` the forward starts as soon as the
//! request is read, beside the capture's fsync, and the provider gets the receiver's answer
//! once both are done (see [`crate::net::forward`]). Per-connection failures are reported as
//! one-line notices and never stop the server. The HTTP response never carries the diagnosis
//! or anything derived from a secret.
//!
//! Limits ([`Limits`]): reads are bounded by [`crate::net::deadline`] (request head, idle
//! keep-alive) and by the handler (body); at most `max_connections` connections are served at
//! once, and more wait in the accept queue (backlog [`BACKLOG`]) until one ends. Shutdown
//! lets in-flight requests and background forwards finish for the grace period, then ends
//! what is left; every answered capture is on disk before its answer, so none is lost.

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
use tokio::net::{TcpListener, TcpSocket};

use crate::envelope;
use crate::model::capture::{Capture, CaptureId, Header, HeaderCase, HttpVersion, TlsInfo, now_ms};
use crate::model::record::CaptureRecord;
use crate::model::text::ByteStr;
use crate::net::deadline::{Activity, Deadlined, Expired, NoticeGate};
use crate::net::limits::{Limits, Tasks};
use crate::net::rawhead::{Recorded, SharedRecorder};
use crate::store::Store;
use crate::verify::{self, VerifyConfig};

/// Default port, as in `hooklens listen`.
pub const DEFAULT_PORT: u16 = 8787;
/// Default body limit: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Accept queue length: connections the kernel completes while hooklens is busy or at its cap.
pub const BACKLOG: u32 = 1024;
/// What is kept of a body refused with 413 (at most `--max-body`).
pub const REFUSED_BODY_KEEP: usize = 64 * 1024;

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
    /// Timeouts, the connection cap and the shutdown grace period.
    pub limits: Limits,
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
            limits: Limits::default(),
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
    /// Connections and background forwards, for shutdown.
    tasks: Tasks,
    /// Paces the notices about connections closed by their header deadline.
    expired: NoticeGate,
    /// Watches for a receiver that answers 404/405 to every forward.
    misses: Arc<crate::net::forward::Misses>,
}

impl Listener {
    /// The state for serving with `config` into `store`.
    pub fn new(config: ListenConfig, store: Store) -> Listener {
        Listener {
            config,
            store,
            tasks: Tasks::default(),
            expired: NoticeGate::default(),
            misses: Arc::default(),
        }
    }

    /// Connections and background forwards still running.
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }
}

/// The address to bind for `--bind`: an IP literal, or a name such as `localhost` (its first
/// IPv4 address, else its first address).
pub async fn resolve_bind(host: &str) -> Result<IpAddr> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(ip);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| anyhow!("cannot listen on {host}: the name does not resolve ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .map(SocketAddr::ip)
        .ok_or_else(|| anyhow!("cannot listen on {host}: the name has no addresses"))
}

/// Binds a TCP listener (accept queue [`BACKLOG`]) with a one-line error for the common
/// failures.
pub async fn bind(ip: IpAddr, port: u16) -> Result<TcpListener> {
    let addr = SocketAddr::new(ip, port);
    let listen = || -> std::io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(BACKLOG)
    };
    listen().map_err(|e| match e.kind() {
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
    let slots = Arc::new(tokio::sync::Semaphore::new(
        state.config.limits.max_connections.max(1),
    ));
    tokio::pin!(shutdown);
    let mut turn = 0usize;
    loop {
        // At the cap, new connections wait in the kernel's accept queue until one ends.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
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
                    let tasks = state.tasks.clone();
                    tasks.spawn(async move {
                        let _slot = slot;
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
    let grace = state.config.limits.grace;
    let open = state.tasks.running();
    if open > 0 {
        state.store.notice(format!(
            "shutting down: letting {open} open connections or forwards finish, for up to {grace:?} (Ctrl-C again exits now)"
        ));
    }
    let drained = tokio::time::timeout(grace, async {
        tokio::join!(graceful.shutdown(), state.tasks.finished());
    })
    .await;
    if drained.is_err() {
        let left = state.tasks.abort_all().await;
        state.store.notice(format!(
            "shutdown: closed {left} connections or forwards still running after the {grace:?} grace period (every answered capture is on disk)"
        ));
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
    let limits = state.config.limits;
    let (io, recorder) = Recorded::new(stream);
    let activity = Arc::new(Activity::default());
    let io = Deadlined::new(io, recorder.clone(), activity.clone(), limits);
    let tls = tls.map(Arc::new);
    let handler_state = state.clone();
    let handler_recorder = recorder.clone();
    let handler_tls = tls.clone();
    let service = service_fn(move |req| {
        let busy = activity.begin();
        let state = handler_state.clone();
        let recorder = handler_recorder.clone();
        let tls = handler_tls.clone();
        async move {
            let resp = handle(req, peer, tls, recorder, &state).await;
            drop(busy);
            Ok::<_, Infallible>(resp)
        }
    });
    // No hyper timer: the head and idle deadlines are `Deadlined`'s, below hyper (hyper's own
    // head timer would cost every request a timer of its own, and cannot tell a slow head
    // from an idle keep-alive connection).
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let Err(e) = watcher.watch(conn.into_owned()).await else {
        return;
    };
    let err: &(dyn std::error::Error + 'static) = &*e;
    if let Some(expired) = Expired::of(err) {
        // Closing an idle keep-alive connection is routine, not worth a line.
        if matches!(expired, Expired::Header(_))
            && let Some(held) = state.expired.pass()
        {
            let more = match held {
                0 => String::new(),
                n => format!(" ({n} more since the last such line)"),
            };
            state
                .store
                .notice(format!("connection from {peer}: {expired}{more}"));
        }
        return;
    }
    if let Some((status, why)) = crate::net::refused::refusal(err) {
        let refused = recorder
            .lock()
            .map(|mut r| r.refused())
            .unwrap_or(crate::net::rawhead::Refused::Raw(Bytes::new()));
        let capture =
            crate::net::refused::capture(refused, status, &why, peer, tls.map(|t| (*t).clone()));
        crate::net::refused::store(capture, status, &state.config.verify, &state.store).await;
        return;
    }
    let text = e.to_string();
    // A peer closing an idle keep-alive connection is normal, not worth a line; so is
    // shutdown ending a connection that had not sent a byte yet (hyper-util's "Cancelled").
    let routine = text.contains("connection closed before message completed")
        || e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::Interrupted);
    if !routine {
        state
            .store
            .notice(format!("connection from {peer}: {text}"));
    }
}

/// A request's head as captured: the recorded original-case head when it matches hyper's,
/// else hyper's (lowercase names). The recorder's method, target and names are slices of
/// the one copy of the head it keeps, so a request costs no second copy of them.
struct HeadParts {
    method: ByteStr,
    target: ByteStr,
    headers: Vec<Header>,
    case: HeaderCase,
}

fn head_of(parts: &http::request::Parts, recorder: &SharedRecorder) -> HeadParts {
    let target = parts.uri.path_and_query().map(|p| p.as_str());
    if parts.version != http::Version::HTTP_2
        && let Ok(mut rec) = recorder.lock()
        && let Some(head) = rec.pop()
    {
        let same = head.method == parts.method.as_str()
            && (Some(head.target.as_str()) == target || head.target == parts.uri.to_string())
            && head.headers.len() == parts.headers.len();
        if same {
            let target = match target {
                Some(t) if t != head.target => ByteStr::copy_from(t),
                _ => head.target,
            };
            return HeadParts {
                method: head.method,
                target,
                headers: head.headers,
                case: HeaderCase::Original,
            };
        }
        // Out of step with hyper: stop trusting the recorder on this connection.
        rec.turn_off();
    }
    HeadParts {
        method: ByteStr::copy_from(parts.method.as_str()),
        target: target.map_or_else(|| parts.uri.to_string().into(), ByteStr::copy_from),
        headers: crate::net::rawhead::parsed_headers(&parts.headers),
        case: HeaderCase::Lowercase,
    }
}

enum BodyEnd {
    Complete,
    TooLarge,
    Dropped(String),
    TimedOut,
}

/// Reads the body until `deadline`, keeping at most `max` bytes; a single-frame body is kept
/// without copying.
async fn read_body(
    mut body: Incoming,
    max: usize,
    deadline: tokio::time::Instant,
) -> (Bytes, BodyEnd) {
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut len = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => return (join(first, rest), BodyEnd::TimedOut),
        };
        let data = match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue, // trailers
            },
            Err(e) => {
                let why = crate::fmt::error_chain(&e);
                return (join(first, rest), BodyEnd::Dropped(why));
            }
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
        (Some(b), None) => own_small(b),
        (None, None) => Bytes::new(),
    }
}

/// Bodies up to this size that came in one piece are copied out of hyper's read buffer.
const OWN_BODY_UP_TO: usize = 16 << 10;

/// A small body in its own allocation: one that arrived in a single frame is a slice of
/// hyper's read buffer, and while the capture holds it (through the fsync) hyper, which reads
/// ahead on a kept-alive connection, must allocate a new buffer for every request.
fn own_small(body: Bytes) -> Bytes {
    if body.len() <= OWN_BODY_UP_TO {
        Bytes::copy_from_slice(&body)
    } else {
        body
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

/// `Content-Length` of a request head, when present and a number.
fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Why a body was not kept whole, for the capture's `fault`.
fn body_fault(
    end: &BodyEnd,
    declared: Option<u64>,
    max: usize,
    keep: usize,
    limits: &Limits,
) -> Option<String> {
    let size = |n: u64| crate::fmt::size(n);
    match end {
        BodyEnd::Complete => None,
        BodyEnd::TooLarge => Some(match declared {
            Some(n) => format!(
                "refused with 413: Content-Length {n} ({}) exceeds --max-body {}; kept at most the first {}",
                size(n),
                size(max as u64),
                size(keep as u64)
            ),
            None => format!(
                "refused with 413: the chunked body passed --max-body {}; kept the first {}",
                size(max as u64),
                size(keep as u64)
            ),
        }),
        BodyEnd::Dropped(why) => Some(format!("the body did not arrive whole: {why}")),
        BodyEnd::TimedOut => Some(format!(
            "refused with 408: the body did not arrive within --body-timeout {:?}",
            limits.body_timeout
        )),
    }
}

/// For a body hooklens cut itself, the length hint must not blame the way: say what happened.
fn explain_truncation(verdict: &mut crate::model::verdict::Verdict, kept: usize, fault: &str) {
    let before = verdict.hints.len();
    verdict.hints.retain(|h| h.code != "body_length_changed");
    if verdict.outcome.is_rejected() || verdict.hints.len() != before {
        verdict.hints.insert(
            0,
            crate::model::verdict::Hint {
                code: "body_cut_by_hooklens".into(),
                message: format!(
                    "hooklens kept only {kept} bytes of this body ({fault}); the signature covers the whole body, so it cannot be checked here"
                ),
            },
        );
    }
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
    let limits = state.config.limits;
    let deadline = tokio::time::Instant::now() + limits.body_timeout;
    let (parts, body) = req.into_parts();
    let head = head_of(&parts, &recorder);
    let max = state.config.max_body;
    let declared = declared_length(&parts.headers);
    let keep = max.min(REFUSED_BODY_KEEP);
    let (body, end) = if declared.is_some_and(|n| n > max as u64) {
        // Refused from its head: no `100 Continue` (the body is never asked for), and without
        // `Expect` only the first bytes are read, for the record.
        let expects = parts.headers.contains_key(http::header::EXPECT);
        if expects {
            (Bytes::new(), BodyEnd::TooLarge)
        } else {
            let (kept, _) = read_body(body, keep, deadline).await;
            (kept, BodyEnd::TooLarge)
        }
    } else {
        match read_body(body, max, deadline).await {
            (kept, BodyEnd::TooLarge) => (kept.slice(..kept.len().min(keep)), BodyEnd::TooLarge),
            other => other,
        }
    };
    let truncated = !matches!(end, BodyEnd::Complete);
    let fault = body_fault(&end, declared, max, keep, &limits);

    let capture = Capture {
        id: CaptureId::default(),
        received_at_ms,
        peer,
        tls: tls.map(|t| (*t).clone()),
        method: head.method,
        target: head.target,
        version: version_of(parts.version),
        header_case: head.case,
        headers: head.headers,
        body,
        truncated,
        fault,
        raw_head: Bytes::new(),
    };
    // hyper's parsed head holds slices of its read buffer; let go of them now, so that while
    // this request is stored the buffer is hyper's alone to reuse (see `own_small`).
    drop(parts);
    let mut verdict = verify::verify_request(
        &verify::RequestLine {
            method: &capture.method,
            target: &capture.target,
        },
        &capture.headers,
        &capture.body,
        &state.config.verify,
        received_at_ms.div_euclid(1000),
    );
    if let Some(fault) = &capture.fault {
        explain_truncation(&mut verdict, capture.body.len(), fault);
    }
    let status = match (&end, state.config.respond) {
        (BodyEnd::TooLarge, _) => 413,
        (BodyEnd::TimedOut, _) => 408,
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
    let forward = state
        .config
        .forward
        .as_ref()
        .filter(|_| matches!(end, BodyEnd::Complete));
    let relay = forward.is_some() && state.config.respond == Respond::Relay;
    let record = CaptureRecord {
        capture,
        verdict,
        event_type: env.event_type,
        data_id: env.data_id,
        idempotency_key,
        // Relayed: not known until the receiver answers; the forward record says.
        response_status: if relay {
            crate::model::exchange::ANSWER_RELAYED
        } else {
            status
        },
    };
    if let (true, Some(fwd)) = (relay, forward) {
        return relay_answer(record, fwd, state, peer).await;
    }
    // In the background, forwarding starts once the capture is durable: it needs its own copy.
    let to_forward = forward.map(|_| record.capture.clone());
    let stored = match state.store.append(record).await {
        Ok(stored) => stored,
        Err(e) => return not_stored(state, peer, e),
    };
    if let (Some(fwd), Some(mut capture)) = (forward, to_forward) {
        capture.id = stored.summary.id;
        crate::net::forward::in_background(fwd, &state.misses, capture, &state.store, &state.tasks);
    }
    match end {
        BodyEnd::TooLarge => {
            return reply(
                413,
                "request body exceeds the hooklens --max-body limit\n",
                true,
            );
        }
        BodyEnd::TimedOut => {
            return reply(
                408,
                "request body did not arrive within the hooklens --body-timeout\n",
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
    respond_delay(state).await;
    reply(status, "", false)
}

/// `--respond-delay`, before any answer.
async fn respond_delay(state: &Listener) {
    if !state.config.respond_delay.is_zero() {
        tokio::time::sleep(state.config.respond_delay).await;
    }
}

/// The 500 for a capture that could not be stored.
fn not_stored(state: &Listener, peer: SocketAddr, e: anyhow::Error) -> Response<Full<Bytes>> {
    // A failed write is announced once per episode by the store itself (not once per request
    // while the disk stays full); other errors are this request's alone.
    if e.downcast_ref::<crate::store::WriteFailed>().is_none() {
        state
            .store
            .notice(format!("capture from {peer} not stored: {e:#}"));
    }
    reply(500, "hooklens could not store this request\n", false)
}

/// Relay: the forward starts at once, beside the capture's fsync; the provider is answered
/// when both the capture is durable and the receiver has answered (never before the capture
/// is durable: a capture that cannot be stored gets 500, whatever the receiver said).
async fn relay_answer(
    record: CaptureRecord,
    fwd: &crate::net::forward::ForwardConfig,
    state: &Listener,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let mut capture = record.capture.clone();
    let at_ms = now_ms();
    let (sent, stored) = tokio::join!(
        crate::net::forward::forward(&fwd.client, &fwd.target, fwd.mode, &capture, fwd.timeout),
        state.store.append(record)
    );
    let stored = match stored {
        Ok(stored) => stored,
        Err(e) => return not_stored(state, peer, e),
    };
    capture.id = stored.summary.id;
    let resp = crate::net::forward::finish_relay(
        fwd,
        &state.misses,
        sent,
        &capture,
        at_ms,
        &state.store,
        &state.tasks,
    );
    respond_delay(state).await;
    resp
}
