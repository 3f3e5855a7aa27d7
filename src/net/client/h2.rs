//! The HTTP/2 path: the pre-built HTTP/1.1 head translated for HTTP/2 ([`H2Head`]) and sent
//! with hyper's HTTP/2 client on a shared connection (see the [`crate::net::client`] docs).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::model::exchange::HTTP_2;
use crate::net::client::reply::{
    ClientError, MAX_RESPONSE_BODY, Reply, closed_without_answer, connect_error,
};
use crate::net::client::target::Target;
use crate::net::hop::HopByHop;

static NEXT_H2_CONN: AtomicU64 = AtomicU64::new(1);

/// The HTTP/1.1 head translated for HTTP/2.
#[derive(Debug)]
pub(super) struct H2Head {
    method: http::Method,
    /// `https://authority/path?query`: hyper turns it into `:scheme`, `:authority`, `:path`.
    uri: http::Uri,
    headers: http::HeaderMap,
}

impl H2Head {
    /// Re-parses a request head written for HTTP/1.1.
    pub(super) fn parse(target: &Target, head: &[u8]) -> Result<H2Head, ClientError> {
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
        // Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2) are the hop-by-hop
        // ones, including those named in Connection; `te: trailers` is allowed.
        let hop = HopByHop::of(req.headers.iter().map(|h| (h.name, h.value)));
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
            if !is_trailers && hop.contains(h.name) {
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
pub(super) async fn start_h2(
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

/// Why an HTTP/2 request produced no reply.
pub(super) enum H2Fail {
    /// The connection ended before the request was handed to it.
    Unsent,
    /// Anything else.
    Failed(ClientError),
}

impl H2Fail {
    pub(super) fn error(self) -> ClientError {
        match self {
            H2Fail::Unsent => closed_without_answer(),
            H2Fail::Failed(e) => e,
        }
    }
}

/// Sends one request on a shared HTTP/2 connection and reads the whole answer (capped).
pub(super) async fn h2_exchange(
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
        headers: crate::net::rawhead::parsed_headers(&parts.headers),
        body: buf.freeze(),
        version: HTTP_2,
        early: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
