//! The one receiver stub: a real HTTP server (hyper, HTTP/1.1 and HTTP/2, optionally over TLS)
//! on 127.0.0.1:0 that records every request it gets (method, URI, headers in arrival order,
//! body bytes, and over HTTP/1 the request head exactly as it crossed the wire) and answers
//! with a closure. It runs on its own thread and runtime, so sync and async tests use it alike.
//!
//! A receiver is told what it should receive (`expect(n)`, `expect_paths([...])`); when it is
//! dropped it asserts it got exactly that, unless the test is already failing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a receiver answers.
pub type Response = http::Response<BoxBody<Bytes, Infallible>>;

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub version: http::Version,
    pub method: String,
    pub uri: http::Uri,
    /// Arrival order; original case over HTTP/1 (read off the wire), lowercase over HTTP/2.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The request line and headers exactly as they arrived, up to the blank line (HTTP/1).
    pub head: Option<String>,
    pub body: Bytes,
}

impl Seen {
    /// Path and query.
    pub fn path(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }

    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Header names in arrival order.
    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The guide's receiver check on this request's signature header and raw body.
    pub fn guide_verifies(&self, secret: &str) -> bool {
        super::guide_verifies(secret, self.header("x-modelgates-signature"), &self.body)
    }
}

/// An answer with `status`, an `X-Receiver: hooklens-test` header and `body`.
pub fn respond(status: u16, body: &'static str) -> Response {
    http::Response::builder()
        .status(status)
        .header("X-Receiver", "hooklens-test")
        .body(Full::new(Bytes::from_static(body.as_bytes())).boxed())
        .unwrap()
}

/// A 200 whose body is `mib` MiB of `x` with no length given (chunked over HTTP/1.1, DATA
/// frames over HTTP/2).
pub fn streamed(mib: usize) -> Response {
    http::Response::new(Streamed { chunks: mib }.boxed())
}

struct Streamed {
    chunks: usize,
}

impl hyper::body::Body for Streamed {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        if self.chunks == 0 {
            return Poll::Ready(None);
        }
        self.chunks -= 1;
        Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from(vec![
            b'x';
            1 << 20
        ])))))
    }
}

/// Answers every request with `status` and `body`.
pub fn always(status: u16, body: &'static str) -> impl Fn(&Seen) -> Response + Send + Sync {
    move |_| respond(status, body)
}

/// The guide's receiver: `ok` with `ok_body` when the signature verifies with `secret`,
/// else 401 `bad signature`.
pub fn guide_check(
    secret: &'static str,
    ok: u16,
    ok_body: &'static str,
) -> impl Fn(&Seen) -> Response + Send + Sync {
    move |seen| {
        if seen.guide_verifies(secret) {
            respond(ok, ok_body)
        } else {
            respond(401, "bad signature")
        }
    }
}

/// How a receiver is served.
#[derive(Default)]
pub struct Setup {
    /// HTTPS with this acceptor (its ALPN list decides HTTP/2 or HTTP/1.1).
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Each request waits this long (after it is recorded) before it is answered.
    pub delay: Duration,
}

enum Expect {
    Count(usize),
    Paths(Vec<String>),
}

type Handler = Arc<dyn Fn(&Seen) -> Response + Send + Sync>;

struct Shared {
    seen: Mutex<Vec<Seen>>,
    accepts: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    connections: Mutex<Vec<tokio::task::AbortHandle>>,
    delay: Duration,
    answer: Handler,
}

pub struct Receiver {
    pub addr: SocketAddr,
    https: bool,
    shared: Arc<Shared>,
    expect: Option<Expect>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// A plain-HTTP receiver answering with `answer`.
    pub fn start(answer: impl Fn(&Seen) -> Response + Send + Sync + 'static) -> Receiver {
        Receiver::start_with(Setup::default(), answer)
    }

    pub fn start_with(
        setup: Setup,
        answer: impl Fn(&Seen) -> Response + Send + Sync + 'static,
    ) -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            seen: Mutex::default(),
            accepts: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            connections: Mutex::default(),
            delay: setup.delay,
            answer: Arc::new(answer),
        });
        let https = setup.tls.is_some();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let tcp = tokio::net::TcpListener::from_std(listener).unwrap();
                let accept = async {
                    loop {
                        let Ok((stream, _)) = tcp.accept().await else {
                            continue;
                        };
                        state.accepts.fetch_add(1, Ordering::SeqCst);
                        let (state2, tls) = (state.clone(), setup.tls.clone());
                        let task = tokio::spawn(async move {
                            match tls {
                                Some(acceptor) => {
                                    if let Ok(tls) = acceptor.accept(stream).await {
                                        serve(tls, state2).await;
                                    }
                                }
                                None => serve(stream, state2).await,
                            }
                        });
                        state.connections.lock().unwrap().push(task.abort_handle());
                    }
                };
                tokio::select! {
                    _ = stopped => {}
                    _ = accept => {}
                }
            });
            // Dropping the runtime cancels every connection still open.
        });
        Receiver {
            addr,
            https,
            shared,
            expect: None,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// It must receive exactly `n` requests.
    pub fn expect(mut self, n: usize) -> Receiver {
        self.expect = Some(Expect::Count(n));
        self
    }

    /// It must receive exactly these paths (with query), in this order.
    pub fn expect_paths<'a>(mut self, paths: impl IntoIterator<Item = &'a str>) -> Receiver {
        self.expect = Some(Expect::Paths(
            paths.into_iter().map(str::to_owned).collect(),
        ));
        self
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn target(&self) -> hooklens::net::client::Target {
        hooklens::net::client::Target::parse(&self.url()).unwrap()
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Every body so far, in arrival order.
    pub fn bodies(&self) -> Vec<Bytes> {
        self.seen().into_iter().map(|s| s.body).collect()
    }

    /// TCP connections accepted so far.
    pub fn accepts(&self) -> usize {
        self.shared.accepts.load(Ordering::SeqCst)
    }

    /// The most requests that were being handled at the same time.
    pub fn most_in_flight(&self) -> usize {
        self.shared.most_in_flight.load(Ordering::SeqCst)
    }

    /// Ends every open connection (the sockets close).
    pub fn drop_connections(&self) {
        for task in self.shared.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Waits until `n` requests have arrived (bounded: a guard against hangs, not a timing).
    pub async fn arrived(&self, n: usize) -> Vec<Seen> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the receiver got {} of {n} requests",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if std::thread::panicking() {
            return;
        }
        let seen = self.seen();
        let paths: Vec<&str> = seen.iter().map(Seen::path).collect();
        match &self.expect {
            None => panic!(
                "the receiver at {} was never told what it should receive (.expect(n) or \
                 .expect_paths([..])); it got {paths:?}",
                self.url()
            ),
            Some(Expect::Count(n)) => assert_eq!(
                seen.len(),
                *n,
                "the receiver at {} got {} requests, expected {n}: {paths:?}",
                self.url(),
                seen.len()
            ),
            Some(Expect::Paths(want)) => assert_eq!(
                paths,
                *want,
                "the receiver at {} got other paths than expected",
                self.url()
            ),
        }
    }
}

/// Bytes read off one connection, and where the next request head starts.
#[derive(Default)]
struct Wire {
    bytes: Vec<u8>,
    next: usize,
}

impl Wire {
    /// The head of the request whose body was just read whole (HTTP/1: one request at a time).
    fn take_head(&mut self) -> Option<String> {
        let rest = &self.bytes[self.next..];
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.next = self.bytes.len();
        Some(head)
    }
}

/// A stream that copies every byte read into its [`Wire`].
struct Tap<S> {
    inner: S,
    wire: Arc<Mutex<Wire>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let new = &buf.filled()[before..];
            self.wire.lock().unwrap().bytes.extend_from_slice(new);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

async fn serve<S>(stream: S, state: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let wire = Arc::new(Mutex::new(Wire::default()));
    let io = TokioIo::new(Tap {
        inner: stream,
        wire: wire.clone(),
    });
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let (state, wire) = (state.clone(), wire.clone());
        async move { Ok::<_, Infallible>(handle(req, &state, &wire).await) }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .title_case_headers(true)
        .auto_date_header(false);
    let _ = builder.serve_connection(io, service).await;
}

async fn handle(req: http::Request<Incoming>, state: &Shared, wire: &Mutex<Wire>) -> Response {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let head = if parts.version == http::Version::HTTP_2 {
        None
    } else {
        wire.lock().unwrap().take_head()
    };
    let headers = match &head {
        Some(head) => wire_headers(head.as_bytes()),
        None => parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect(),
    };
    let seen = Seen {
        version: parts.version,
        method: parts.method.to_string(),
        uri: parts.uri,
        headers,
        head,
        body,
    };
    state.seen.lock().unwrap().push(seen.clone());
    tokio::time::sleep(state.delay).await;
    let answer = (state.answer)(&seen);
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    answer
}

/// Header names (original case) and values of a raw HTTP/1 request head, in order.
fn wire_headers(head: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut slots = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut slots);
    req.parse(head).expect("hyper accepted this head");
    req.headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect()
}
