//! Shared helpers for end-to-end tests: an in-process listener on 127.0.0.1:0, a real HTTP
//! client, a signer written independently of the crate (as the guide's sender does it), the
//! receiver stub ([`Receiver`]), the binary's test preset ([`hooklens`]) and the check for
//! outside tools ([`require_tool`]).
#![allow(dead_code, unused_imports)]

mod cli;
mod receiver;

pub use cli::{CLEARED, Cli, default_log, hooklens, hooklens_under, require_tool, shell_env};
pub use receiver::{Receiver, Response, Seen, Setup, always, guide_check, respond, streamed};

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use hooklens::net::server::{self, ListenConfig, Listener};
use hooklens::store::{Store, WriterHandle};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;
use tokio::sync::oneshot;

/// A listener running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    writer: Option<WriterHandle>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Graceful shutdown, then waits for the log writer to flush and exit.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        drop(self.store);
        if let Some(w) = self.writer.take() {
            w.join().await;
        }
    }
}

pub async fn start(config: ListenConfig, log: Option<&Path>) -> Running {
    let tcp = server::bind("127.0.0.1".parse().unwrap(), 0).await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (store, writer, _) = Store::open(log).unwrap();
    let state = Arc::new(Listener::new(config, store.clone()));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server::serve(tcp, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Running {
        addr,
        store,
        stop: Some(tx),
        task: Some(task),
        writer: Some(writer),
    }
}

/// The guide's sender, re-implemented without the crate: hex HMAC-SHA256 of "<t>," ++ body.
pub fn guide_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp},").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The guide's test event, as `JSON.stringify` would produce it.
pub fn guide_body(created_at: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"video.generation.completed","created_at":"{created_at}","data":{{"id":"job_test","status":"completed","unsigned_urls":["https://example.com/video.mp4"]}}}}"#
    )
    .into_bytes()
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A real HTTP/1.1 client request; returns status and body.
pub async fn post(url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = hyper::Request::post(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

/// Posts a signed delivery as the provider would.
pub async fn post_signed(url: &str, signature: &str, body: Vec<u8>) -> u16 {
    post(
        url,
        &[
            ("Content-Type", "application/json"),
            ("X-ModelGates-Signature", signature),
            ("X-ModelGates-Idempotency-Key", "job_test-completed"),
        ],
        body,
    )
    .await
    .0
}

/// Reads one HTTP/1.1 request (head + Content-Length body) from a stream, as a test receiver.
pub async fn read_request<S: tokio::io::AsyncRead + Unpin>(
    s: &mut S,
) -> Option<(Vec<u8>, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = buf[..end + 4].to_vec();
            let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let len: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some((head, buf[end + 4..end + 4 + len].to_vec()));
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The guide's receiver check, written as the guide's Express receiver does it: split the
/// signature header on ",", trim, take `t=` and `v1=`, refuse |now − t| > 300, then compare
/// HMAC-SHA256(secret, "<t>," ++ raw body) in constant time.
pub fn guide_verifies(secret: &str, signature: Option<&[u8]>, body: &[u8]) -> bool {
    let Some(value) = signature.map(String::from_utf8_lossy) else {
        return false;
    };
    let (mut t, mut v1) = (None, None);
    for part in value.split(',').map(str::trim) {
        if let Some(x) = part.strip_prefix("t=") {
            t = x.parse::<i64>().ok();
        } else if let Some(x) = part.strip_prefix("v1=") {
            v1 = hex::decode(x).ok();
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now_secs() - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t},").as_bytes());
    mac.update(body);
    mac.verify_slice(&v1).is_ok()
}

/// A capture as the provider would deliver it: signed now with `secret`, the provider's
/// headers in mixed case (plus `extra` at the end), ready to forward.
pub fn provider_capture(
    secret: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> hooklens::model::capture::Capture {
    let sig = hooklens::verify::modelgates::signature_header(secret.as_bytes(), now_secs(), body);
    let len = body.len().to_string();
    let mut headers = vec![
        ("Host", "hooklens.test:8787"),
        ("User-Agent", "ModelGates-Webhooks/1.0"),
        ("Content-Type", "application/json"),
        ("X-ModelGates-Signature", sig.as_str()),
        ("x-MODELGATES-idempotency-key", "job_1-completed"),
        ("Content-Length", len.as_str()),
        ("Connection", "keep-alive"),
    ];
    headers.extend_from_slice(extra);
    hooklens::model::capture::Capture::fixture(body, &headers)
}

/// Collects what a child writes to a pipe (its stderr, say) as it comes, on a thread of its
/// own, so the child never blocks and the test can read what arrived so far.
pub fn collect(mut pipe: impl std::io::Read + Send + 'static) -> Arc<std::sync::Mutex<String>> {
    let text = Arc::new(std::sync::Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}
