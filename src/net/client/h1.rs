//! The exact-case HTTP/1.1 path: write the pre-built head and the body, read one response
//! (1xx skipped; Content-Length, chunked or read-to-close body, capped), and say whether the
//! connection can be reused.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::model::capture::Header;
use crate::model::exchange::{HTTP_10, HTTP_11};
use crate::model::text::ByteStr;
use crate::net::chunk::chunk_size;
use crate::net::client::conn::Conn;
use crate::net::client::reply::{ClientError, MAX_RESPONSE_BODY, Reply};
use crate::net::hop::HopByHop;

const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Why an exchange produced no reply.
pub(super) enum Exchange {
    /// The receiver closed the connection before sending a byte of an answer.
    ClosedBeforeAnswer,
    /// Anything else.
    Failed(ClientError),
}

fn protocol(msg: impl Into<String>) -> Exchange {
    Exchange::Failed(ClientError::Protocol(msg.into()))
}

/// Writes one request and reads one response; returns the connection when it can be reused.
pub(super) async fn exchange(
    mut conn: Conn,
    head: &[u8],
    body: &[u8],
    is_head_request: bool,
) -> Result<(Reply, Option<Conn>), Exchange> {
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head);
    out.extend_from_slice(body);
    let mut buf = BytesMut::with_capacity(8192);
    // Read while writing: a receiver may answer (413, 401) before it takes the whole body and
    // stop reading or close. That answer is the reply, not "closed without answering".
    let sent_whole = {
        let (mut r, mut w) = tokio::io::split(&mut conn.io);
        let write = async {
            w.write_all(&out).await?;
            w.flush().await
        };
        tokio::select! {
            biased;
            wrote = write => wrote.is_ok(),
            read = r.read_buf(&mut buf) => match read {
                Ok(n) if n > 0 => false,
                _ => return Err(Exchange::ClosedBeforeAnswer),
            },
        }
    };
    if !sent_whole && buf.is_empty() {
        // The write failed: an answer may still be waiting to be read.
        match conn.io.read_buf(&mut buf).await {
            Ok(n) if n > 0 => {}
            _ => return Err(Exchange::ClosedBeforeAnswer),
        }
    }
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
                        .map(|h| {
                            Header::new(ByteStr::copy_from(h.name), Bytes::copy_from_slice(h.value))
                        })
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
    let closes = HopByHop::of(headers.iter().map(|h| (h.name.as_str(), h.value.as_ref()))).closes();
    let chunked = get("transfer-encoding").is_some_and(|v| {
        String::from_utf8_lossy(v)
            .to_ascii_lowercase()
            .trim_end()
            .ends_with("chunked")
    });
    // A 101 ends the HTTP exchange at its head (what follows is another protocol).
    let no_body = is_head_request || status == 204 || status == 304 || status == 101;
    let (body, reusable) = if status == 101 {
        (Bytes::new(), false)
    } else if no_body {
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
        early: !sent_whole,
    };
    Ok((reply, (reusable && !closes && sent_whole).then_some(conn)))
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
        let size = chunk_size(&line)
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| protocol("the receiver sent an invalid chunk size"))?;
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
