//! Forwarding a capture to the developer's real receiver (`--forward-to`) and replaying it.
//!
//! The outbound request is the captured one: same method, exact body bytes, and every
//! end-to-end header with its original name, case, order and value. Changes, all per RFC 9110:
//! * hop-by-hop headers are dropped (§7.6.1: `Connection` and every header it names,
//!   `Proxy-Connection`, `Keep-Alive`, `TE`, `Transfer-Encoding`, `Upgrade`; see
//!   [`crate::net::hop`]), from the request and from an answer relayed to the provider;
//! * `Host` is rewritten to the target's authority, in place (added first when missing, e.g.
//!   for an HTTP/2 capture);
//! * `X-Forwarded-For` gets the provider's address appended (or is added), and
//!   `X-Forwarded-Proto` says how the provider reached hooklens;
//! * the body always travels with `Content-Length` (kept exactly as sent when present; added
//!   when the provider used chunked framing, since the capture holds the de-chunked bytes).
//!
//! Target (`--forward-to`, `replay --to`): a URL as typed; without a scheme it means `http://`
//! (`localhost:3000/hook`, `:3000/hook` and `3000` are `http://localhost:3000…`), see
//! [`parse_target`]. Path (`--forward-path`): `auto` (the default) treats a URL with a path
//! (anything but empty or `/`) as the exact endpoint, so `--forward-to
//! http://localhost:3001/modelgates/video-webhook` sends there, with the captured query appended
//! when the URL has none; a URL without a path keeps the captured path and query
//! (`http://localhost:3000` gets `/modelgates/video-webhook`). `exact` always uses the URL's
//! path; `prefix` appends the captured path and query to the URL's path (`http://localhost:3000/api`
//! gets `/api/modelgates/video-webhook`).
//!
//! Relay (`--respond relay`, the default with `--forward-to`): the listener starts the forward
//! as soon as the request is read, beside the capture's fsync, and answers the provider once
//! both are done ([`finish_relay`]); the forward record is appended after, with no `fdatasync`
//! of its own (the next capture's sync, or the kernel's writeback, makes it durable). With `mimic` the forward starts once the capture is durable and runs in the
//! background ([`in_background`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::model::capture::{Capture, CaptureId, Header};
use crate::model::exchange::{BodyDigest, Exchange, ExchangeKind, PathMode, Prepared};
use crate::net::client::{Client, ClientError, Reply, Target};
use crate::net::hop::HopByHop;

mod target;
pub use target::{parse_target, path_for, rule_example, rule_line};

/// The URL of a target, as the user would write it.
pub fn target_url(t: &Target) -> String {
    match &t.query {
        Some(q) => format!("{}{}?{q}", t.origin(), t.path),
        None => format!("{}{}", t.origin(), t.path),
    }
}

/// Whether a receiver's status can go back to the provider: a final status (200–599). A 1xx
/// (such as 101 to a POST) is not an answer, and 600 and up is not HTTP; the provider gets 502.
pub fn relayable(status: u16) -> bool {
    (200..=599).contains(&status)
}

/// The hop-by-hop headers of a captured request or a receiver's answer.
fn hop_by_hop(headers: &[Header]) -> HopByHop {
    HopByHop::of(headers.iter().map(|h| (h.name.as_str(), h.value.as_ref())))
}

/// The request target (path and query) sent to the receiver.
pub fn outbound_path(capture: &Capture, target: &Target, mode: PathMode) -> String {
    path_for(&capture.target, target, mode)
}

/// Watches forward outcomes for a receiver that answers 404/405 to everything, and says once
/// which URL was called and which flag changes it.
#[derive(Debug, Default)]
pub struct Misses {
    /// A forward got something other than 404/405.
    answered: AtomicBool,
    /// The notice was given.
    said: AtomicBool,
}

impl Misses {
    /// Takes in one forward's outcome; returns the notice the first time every forward so far
    /// got 404 or 405.
    pub fn note(&self, sent: &Sent, target: &Target, method: &str) -> Option<String> {
        let status = sent.result.as_ref().ok().map(|r| r.status);
        if !matches!(status, Some(404 | 405)) {
            self.answered.store(true, Ordering::Relaxed);
            return None;
        }
        if self.answered.load(Ordering::Relaxed) || self.said.swap(true, Ordering::Relaxed) {
            return None;
        }
        Some(format!(
            "the receiver answered {} to {method} {}{}: if that is not its webhook endpoint, give the full endpoint URL to --forward-to (a URL with a path is used as is), or choose how paths combine with --forward-path exact|prefix",
            status.unwrap_or_default(),
            target.origin(),
            sent.path
        ))
    }
}

/// The headers sent to the receiver, in order (see the module docs for what changes).
pub fn outbound_headers(capture: &Capture, target: &Target) -> Vec<Header> {
    let hop = hop_by_hop(&capture.headers);
    let peer_ip = capture.peer.ip().to_string();
    let proto = if capture.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let mut out = Vec::with_capacity(capture.headers.len() + 3);
    let (mut host, mut xff, mut xfp, mut length) = (false, false, false, false);
    for h in &capture.headers {
        if hop.contains(&h.name) {
            continue;
        }
        match h.name.to_ascii_lowercase().as_str() {
            "host" => {
                if !host {
                    out.push(Header::new(h.name.clone(), target.authority.clone()));
                    host = true;
                }
            }
            "x-forwarded-for" if !xff => {
                let mut v = h.value.to_vec();
                v.extend_from_slice(format!(", {peer_ip}").as_bytes());
                out.push(Header::new(h.name.clone(), v));
                xff = true;
            }
            "x-forwarded-proto" => {
                if !xfp {
                    out.push(Header::new(h.name.clone(), proto));
                    xfp = true;
                }
            }
            "content-length" => {
                length = true;
                out.push(h.clone());
            }
            _ => out.push(h.clone()),
        }
    }
    if !host {
        out.insert(0, Header::new("Host", target.authority.clone()));
    }
    if !xff {
        out.push(Header::new("X-Forwarded-For", peer_ip));
    }
    if !xfp {
        out.push(Header::new("X-Forwarded-Proto", proto));
    }
    let method_has_body = !capture.body.is_empty()
        || !matches!(
            capture.method.as_str(),
            "GET" | "HEAD" | "DELETE" | "OPTIONS"
        );
    if !length && method_has_body {
        out.push(Header::new(
            "Content-Length",
            capture.body.len().to_string(),
        ));
    }
    out
}

/// The complete HTTP/1.1 request head (request line, headers, blank line).
pub fn outbound_head(method: &str, path: &str, headers: &[Header]) -> Vec<u8> {
    let mut head = Vec::with_capacity(256 + headers.len() * 48);
    head.extend_from_slice(method.as_bytes());
    head.push(b' ');
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for h in headers {
        head.extend_from_slice(h.name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(&h.value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// Differences between what was received and what goes out, in the headers that describe the
/// body. Empty means the receiver gets the same body bytes described the same way.
pub fn integrity_flags(capture: &Capture, sent: &[Header], sent_body: &[u8]) -> Vec<String> {
    let mut flags = Vec::new();
    if sent_body != capture.body.as_ref() {
        flags.push("body differs".to_string());
    }
    for name in ["Content-Length", "Content-Encoding", "Content-Type"] {
        let before = capture.header(name);
        let after = crate::model::capture::header_value(sent, name);
        if before != after {
            // A chunked delivery gains a Content-Length; say so rather than hide it.
            let shown = |v: Option<&[u8]>| {
                v.map_or_else(
                    || "none".to_owned(),
                    |v| String::from_utf8_lossy(v).into_owned(),
                )
            };
            flags.push(format!(
                "{name}: received {}, forwarded {}",
                shown(before),
                shown(after)
            ));
        }
    }
    flags
}

/// What one forward (or replay) produced.
#[derive(Debug)]
pub struct Sent {
    /// Headers sent (for the record and tests).
    pub headers: Vec<Header>,
    /// Path sent.
    pub path: String,
    /// The answer, or why there is none.
    pub result: Result<Reply, ClientError>,
    /// Round trip in microseconds.
    pub latency_us: u64,
    /// Integrity differences (see [`integrity_flags`]).
    pub flags: Vec<String>,
}

impl Sent {
    /// The record for one forward or replay, from what the client did.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        kind: ExchangeKind,
        capture: CaptureId,
        at_ms: i64,
        method: &str,
        target: &Target,
        received_body: &[u8],
        sent_body: &[u8],
        how: Prepared,
    ) -> Exchange {
        let sent = self;
        let (response, error, status) = match &sent.result {
            Ok(reply) if relayable(reply.status) => (Some(reply.kept()), None, reply.status),
            Ok(reply) => (Some(reply.kept()), None, 502),
            Err(e) => (None, Some(e.to_string()), e.provider_status()),
        };
        Exchange {
            kind,
            capture,
            at_ms,
            url: format!("{}{}", target.origin(), sent.path),
            method: method.to_owned(),
            request_headers: sent.headers.clone(),
            received: BodyDigest::of(received_body),
            sent: BodyDigest::of(sent_body),
            integrity: sent.flags.clone(),
            resigned: how.resigned,
            edited: how.edited,
            relayed: how.relayed,
            latency_us: sent.latency_us,
            response,
            error,
            status,
        }
    }
}

/// Sends `capture` (with `headers` and `body` as prepared by the caller) to `target`.
pub async fn send_prepared(
    client: &Client,
    target: &Target,
    capture: &Capture,
    path: String,
    headers: Vec<Header>,
    body: &[u8],
    timeout: Duration,
) -> Sent {
    let head = outbound_head(&capture.method, &path, &headers);
    let mut flags = integrity_flags(capture, &headers, body);
    let started = Instant::now();
    let result = client
        .send(target, &head, body, capture.method == "HEAD", timeout)
        .await;
    if let Ok(reply) = &result
        && reply.early
    {
        flags.push(format!(
            "answered early: the receiver answered {} before it had taken the whole request ({} body bytes)",
            reply.status,
            body.len()
        ));
    }
    Sent {
        headers,
        path,
        result,
        latency_us: started.elapsed().as_micros() as u64,
        flags,
    }
}

/// Forwards a capture unchanged (apart from the proxy rules above).
pub async fn forward(
    client: &Client,
    target: &Target,
    mode: PathMode,
    capture: &Capture,
    timeout: Duration,
) -> Sent {
    let path = outbound_path(capture, target, mode);
    let headers = outbound_headers(capture, target);
    send_prepared(
        client,
        target,
        capture,
        path,
        headers,
        &capture.body,
        timeout,
    )
    .await
}

/// The listener's forwarding setup (`--forward-to` and friends).
#[derive(Clone)]
pub struct ForwardConfig {
    /// Shared pooled client.
    pub client: Client,
    /// Where to send.
    pub target: Target,
    /// `--forward-path`.
    pub mode: PathMode,
    /// `--forward-timeout`.
    pub timeout: Duration,
}

impl std::fmt::Debug for ForwardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardConfig")
            .field("target", &self.target.origin())
            .field("mode", &self.mode)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The provider's answer relayed from the receiver (hop-by-hop and framing headers dropped;
/// hyper frames the body itself).
pub fn relay_response(reply: &Reply) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    if !relayable(reply.status) {
        // 1xx (a 101 to a POST) is not an answer, and 600+ is not HTTP.
        let text = format!(
            "hooklens: the receiver answered with status {}, which is not a final HTTP status and cannot be relayed\n",
            reply.status
        );
        let mut resp = http::Response::new(http_body_util::Full::new(bytes::Bytes::from(text)));
        *resp.status_mut() = http::StatusCode::BAD_GATEWAY;
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return resp;
    }
    let mut resp = http::Response::new(http_body_util::Full::new(reply.body.clone()));
    *resp.status_mut() =
        http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    let hop = hop_by_hop(&reply.headers);
    for h in &reply.headers {
        if hop.contains(&h.name) || h.name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(h.name.as_bytes()),
            http::HeaderValue::from_bytes(&h.value),
        ) {
            resp.headers_mut().append(name, value);
        }
    }
    resp
}

/// The short answer the provider gets when the forward failed (502/504).
pub fn failure_response(e: &ClientError) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let text = format!("hooklens: forwarding failed: {e}\n");
    let mut resp = http::Response::new(http_body_util::Full::new(bytes::Bytes::from(text)));
    *resp.status_mut() =
        http::StatusCode::from_u16(e.provider_status()).unwrap_or(http::StatusCode::BAD_GATEWAY);
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The record of a listener's forward of `capture` (its id already assigned).
fn forward_record(
    sent: &Sent,
    config: &ForwardConfig,
    capture: &Capture,
    at_ms: i64,
    relayed: bool,
) -> Exchange {
    sent.record(
        ExchangeKind::Forward,
        capture.id,
        at_ms,
        &capture.method,
        &config.target,
        &capture.body,
        &capture.body,
        Prepared {
            relayed,
            ..Prepared::default()
        },
    )
}

/// Appends a forward record (`synced`: with its own `fdatasync`); a failure is told to front
/// ends (the capture itself is stored).
async fn record_forward(store: &crate::store::Store, exchange: Exchange, synced: bool) {
    let id = exchange.capture;
    let appended = if synced {
        store.append_exchange(exchange).await
    } else {
        store.append_exchange_unsynced(exchange).await
    };
    if let Err(e) = appended {
        store.notice(format!("forward of {id} not recorded: {e:#}"));
    }
}

/// Relay: the forward (started beside the capture's fsync) and the capture are both done;
/// builds the provider's answer from the receiver's and appends the forward record in the
/// background (tracked by `tasks`), so the answer does not wait for that record's sync. A crash
/// in between loses the record of the answer, never the capture.
#[allow(clippy::too_many_arguments)]
pub fn finish_relay(
    config: &ForwardConfig,
    misses: &Misses,
    sent: Sent,
    capture: &Capture,
    at_ms: i64,
    store: &crate::store::Store,
    tasks: &crate::net::limits::Tasks,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    if let Some(line) = misses.note(&sent, &config.target, &capture.method) {
        store.notice(line);
    }
    let exchange = forward_record(&sent, config, capture, at_ms, true);
    let store = store.clone();
    // No sync of its own: the provider's answer does not wait for it, and the next capture's
    // sync (or the kernel's writeback) makes it durable.
    tasks.spawn(async move { record_forward(&store, exchange, false).await });
    match &sent.result {
        Ok(reply) => relay_response(reply),
        Err(e) => failure_response(e),
    }
}

/// `--respond mimic`: called once the capture is durable; forwards it in the background
/// (tracked, so shutdown waits for it up to the grace period and then ends it) and records
/// the outcome as a `forward` record linked to the capture.
pub fn in_background(
    config: &ForwardConfig,
    misses: &std::sync::Arc<Misses>,
    capture: Capture,
    store: &crate::store::Store,
    tasks: &crate::net::limits::Tasks,
) {
    let config = config.clone();
    let store = store.clone();
    let misses = misses.clone();
    tasks.spawn(async move {
        let at_ms = crate::model::capture::now_ms();
        let sent = forward(
            &config.client,
            &config.target,
            config.mode,
            &capture,
            config.timeout,
        )
        .await;
        if let Some(line) = misses.note(&sent, &config.target, &capture.method) {
            store.notice(line);
        }
        record_forward(
            &store,
            forward_record(&sent, &config, &capture, at_ms, false),
            true,
        )
        .await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(h: &[Header]) -> Vec<&str> {
        h.iter().map(|h| h.name.as_str()).collect()
    }

    #[test]
    fn hop_by_hop_dropped_host_rewritten_forwarded_added() {
        let c = Capture::fixture(
            b"{}",
            &[
                ("hOsT", "hooklens.local:8787"),
                ("Connection", "keep-alive, X-Private"),
                ("X-Private", "drop me"),
                ("Keep-Alive", "timeout=5"),
                ("X-ModelGates-Signature", "t=1,v1=ab"),
                ("Content-Length", "2"),
                ("X-Forwarded-For", "10.0.0.1"),
            ],
        );
        let t = Target::parse("http://127.0.0.1:3000/api/").unwrap();
        let h = outbound_headers(&c, &t);
        assert_eq!(
            names(&h),
            [
                "hOsT",
                "X-ModelGates-Signature",
                "Content-Length",
                "X-Forwarded-For",
                "X-Forwarded-Proto"
            ]
        );
        assert_eq!(h[0].value.as_ref(), b"127.0.0.1:3000");
        assert_eq!(h[3].value.as_ref(), b"10.0.0.1, 127.0.0.1");
        assert_eq!(h[4].value.as_ref(), b"http");
        assert!(integrity_flags(&c, &h, &c.body).is_empty());
        assert_eq!(
            outbound_path(&c, &t, PathMode::Prefix),
            "/api/modelgates/video-webhook"
        );
        assert_eq!(outbound_path(&c, &t, PathMode::Exact), "/api/");
        assert_eq!(outbound_path(&c, &t, PathMode::Auto), "/api/");
    }

    #[test]
    fn chunked_delivery_gets_a_content_length_and_is_flagged() {
        let c = Capture::fixture(b"abc", &[("Transfer-Encoding", "chunked")]);
        let t = Target::parse("http://h:1").unwrap();
        let h = outbound_headers(&c, &t);
        assert_eq!(
            names(&h),
            [
                "Host",
                "X-Forwarded-For",
                "X-Forwarded-Proto",
                "Content-Length"
            ]
        );
        let flags = integrity_flags(&c, &h, &c.body);
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert!(flags[0].starts_with("Content-Length"));
        assert_eq!(
            outbound_head("POST", "/x", &h[..1]),
            b"POST /x HTTP/1.1\r\nHost: h:1\r\n\r\n"
        );
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;
    use crate::model::capture::{CaptureId, Header};
    use crate::model::exchange::RESPONSE_BODY_KEEP;
    use crate::net::client::ClientError;
    use bytes::Bytes;

    fn sent(result: Result<Reply, ClientError>) -> Sent {
        Sent {
            headers: vec![Header::new("Host", "127.0.0.1:3000")],
            path: "/hook?x=1".into(),
            result,
            latency_us: 3_100,
            flags: Vec::new(),
        }
    }

    #[test]
    fn a_big_answer_keeps_its_length_but_not_all_its_bytes() {
        let reply = Reply {
            version: crate::model::exchange::HTTP_11,
            status: 200,
            reason: "OK".into(),
            headers: vec![Header::new("Content-Type", "text/html")],
            body: Bytes::from(vec![b'x'; RESPONSE_BODY_KEEP + 10]),
            early: false,
        };
        let t = Target::parse("http://127.0.0.1:3000").unwrap();
        let ex = (sent(Ok(reply))).record(
            ExchangeKind::Forward,
            CaptureId(4),
            0,
            "POST",
            &t,
            b"{}",
            b"{}",
            Prepared::default(),
        );
        let r = ex.response.as_ref().unwrap();
        assert_eq!(r.body.len(), RESPONSE_BODY_KEEP);
        assert_eq!(r.body_len, RESPONSE_BODY_KEEP as u64 + 10);
        assert!(r.body_cut());
        assert_eq!(ex.url, "http://127.0.0.1:3000/hook?x=1");
        assert_eq!(ex.received, ex.sent);
        assert_eq!(
            ex.line(),
            "#4 forward → 200 3.1ms http://127.0.0.1:3000/hook?x=1"
        );
        let json = serde_json::to_string(&ex).unwrap();
        let back: Exchange = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ex);
    }

    #[test]
    fn a_failed_forward_records_the_error_and_the_gateway_status() {
        let t = Target::parse("http://127.0.0.1:9").unwrap();
        let ex = (sent(Err(ClientError::Timeout(std::time::Duration::from_secs(2))))).record(
            ExchangeKind::Replay,
            CaptureId(7),
            0,
            "POST",
            &t,
            b"a",
            b"b",
            Prepared {
                resigned: true,
                ..Prepared::default()
            },
        );
        assert_eq!(ex.status, 504);
        assert!(!ex.succeeded());
        assert_ne!(ex.received.sha256, ex.sent.sha256);
        assert!(
            ex.line()
                .starts_with("#7 replay → failed (504): no answer within 2s")
        );
        assert!(ex.line().ends_with("[re-signed]"));
    }
}
