//! The flow's API calls: JSON in and out with a bearer token, and a download that counts
//! its bytes. Every call is bounded by a timeout; a body that breaks off is an error that
//! says how much arrived.

use std::time::Duration;

use anyhow::{Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use crate::net::send::Client;

/// Largest JSON answer read.
const MAX_JSON_BYTES: usize = 1024 * 1024;

/// A JSON answer.
pub struct JsonAnswer {
    /// Status code.
    pub status: u16,
    /// The body parsed, or why it is not JSON.
    pub body: Result<Value, String>,
}

fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<hyper::Request<Full<Bytes>>> {
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("User-Agent", "hooklens-flow")
        .header("Accept", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header("Content-Type", "application/json");
    }
    req.body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| anyhow!("{url}: not a URL hooklens can request ({e})"))
}

/// Sends a JSON request (`body` given: POST, else GET) and reads a JSON answer, all within
/// `timeout`.
pub async fn json(
    client: &Client,
    url: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<JsonAnswer> {
    let method = if body.is_some() { "POST" } else { "GET" };
    let req = request(method, url, token, body)?;
    let work = async {
        let resp = client.request(req).await?;
        let status = resp.status().as_u16();
        let bytes = http_body_util::Limited::new(resp.into_body(), MAX_JSON_BYTES)
            .collect()
            .await
            .map_err(|e| anyhow!("the answer did not arrive whole: {e}"))?
            .to_bytes();
        let body = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "not JSON ({e}): {}",
                crate::sanitize::escape_line(&bytes[..bytes.len().min(200)])
            )
        });
        anyhow::Ok(JsonAnswer { status, body })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| anyhow!("{method} {url}: no answer within {timeout:?}"))?
        .map_err(|e| anyhow!("{method} {url}: {}", crate::fmt::error_chain(&*e)))
}

/// What a download brought.
pub struct Download {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Content-Length`, when given.
    pub declared: Option<u64>,
    /// Bytes received.
    pub bytes: u64,
    /// The first bytes (for a sniff of the file type).
    pub head: Vec<u8>,
}

/// GETs `url` and counts the body's bytes (within `timeout`); a body that ends before its
/// `Content-Length` is an error saying how many bytes arrived.
pub async fn download(
    client: &Client,
    url: &str,
    token: Option<&str>,
    timeout: Duration,
) -> Result<Download> {
    let mut req = request("GET", url, token, None)?;
    req.headers_mut().remove("Accept");
    let work = async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| anyhow!("{}", crate::fmt::error_chain(&e)))?;
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut d = Download {
            status: resp.status().as_u16(),
            content_type: header("content-type"),
            declared: header("content-length").and_then(|v| v.parse().ok()),
            bytes: 0,
            head: Vec::new(),
        };
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                anyhow!(
                    "cut short after {} of {} bytes: {}",
                    d.bytes,
                    d.declared.map_or("?".into(), |n| n.to_string()),
                    crate::fmt::error_chain(&e)
                )
            })?;
            if let Some(data) = frame.data_ref() {
                d.bytes += data.len() as u64;
                let room = 64usize.saturating_sub(d.head.len());
                d.head.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
        anyhow::Ok(d)
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| anyhow!("GET {url}: the download did not finish within {timeout:?}"))?
        .map_err(|e| anyhow!("GET {url}: {e:#}"))
}
