//! Original header case and order for HTTP/1, recorded below hyper.
//!
//! hyper 1.x keeps header case and order only in crate-private types, so we read them
//! ourselves: [`Recorded`] wraps the accepted stream and feeds every byte hyper reads into a
//! [`HeadRecorder`], a small framing state machine that re-parses each request head with
//! `httparse` (hyper's own parser) and skips bodies by `Content-Length` or chunked framing. The
//! server pops one recorded head per request, in order. If the recorder cannot follow the
//! stream (h2 preface, upgrade, a head it cannot parse) or a head does not match the request
//! hyper parsed, the capture falls back to hyper's lowercase names and says so
//! (`header_case: "lowercase"`). HTTP/2 names are lowercase by spec anyway.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, ReadBuf};

use crate::model::capture::Header;
use crate::model::text::ByteStr;
use crate::net::chunk::chunk_size;

/// Largest head we buffer while waiting for its end (hyper's default limit is similar).
const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 256;

/// Headers as hyper parsed them (lowercase names, each name's repeats together), copied: what
/// a capture or a reply holds where no head was recorded (HTTP/2, or a recorder out of step).
pub fn parsed_headers(map: &http::HeaderMap) -> Vec<Header> {
    map.iter()
        .map(|(n, v)| {
            Header::new(
                ByteStr::copy_from(n.as_str()),
                Bytes::copy_from_slice(v.as_bytes()),
            )
        })
        .collect()
}

/// One request head as it was on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHead {
    /// Method token (a slice of the head, like every name and value).
    pub method: ByteStr,
    /// Request target as sent.
    pub target: ByteStr,
    /// Headers in arrival order, original case.
    pub headers: Vec<Header>,
}

#[derive(Debug)]
enum Chunk {
    SizeLine(Vec<u8>),
    Data(u64),
    DataEnd(u8),
    Trailer(Vec<u8>),
}

#[derive(Debug)]
enum State {
    Head,
    Fixed(u64),
    Chunked(Chunk),
    /// The stream is no longer HTTP/1 framed requests we can follow.
    Off,
}

/// Splits an HTTP/1 request byte stream into heads, skipping bodies.
#[derive(Debug)]
pub struct HeadRecorder {
    state: State,
    buf: Vec<u8>,
    heads: VecDeque<RawHead>,
    /// The first bytes of a head that did not parse.
    failed: Vec<u8>,
}

/// Where an HTTP/1 connection is, as far as the bytes read so far show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Between requests (or before the first): no byte of the next head yet.
    Idle,
    /// Part of a request head has arrived.
    Head,
    /// Inside a request body.
    Body,
    /// Not followed (HTTP/2, an upgrade, a head that did not parse).
    Unknown,
}

/// What the recorder holds of a request hyper refused.
#[derive(Debug)]
pub enum Refused {
    /// The head parsed here (hyper is stricter, e.g. about the number of headers).
    Parsed(RawHead),
    /// The bytes of a head that did not parse (empty when nothing was kept).
    Raw(Bytes),
}

impl Default for HeadRecorder {
    fn default() -> Self {
        HeadRecorder {
            state: State::Head,
            buf: Vec::new(),
            heads: VecDeque::new(),
            failed: Vec::new(),
        }
    }
}

impl HeadRecorder {
    /// True once the recorder has given up following the stream.
    pub fn is_off(&self) -> bool {
        matches!(self.state, State::Off)
    }

    /// Where the stream is between requests (see [`Phase`]).
    pub fn phase(&self) -> Phase {
        match &self.state {
            State::Head if self.buf.iter().all(|b| *b == b'\r' || *b == b'\n') => Phase::Idle,
            State::Head => Phase::Head,
            State::Fixed(_) | State::Chunked(_) => Phase::Body,
            State::Off => Phase::Unknown,
        }
    }

    /// The bytes of a head hyper refused: the head still waiting to be popped (hyper parsed
    /// less than the recorder did), or the bytes of the head the recorder could not parse.
    pub fn refused(&mut self) -> Refused {
        if let Some(head) = self.heads.pop_front() {
            return Refused::Parsed(head);
        }
        Refused::Raw(Bytes::from(std::mem::take(&mut self.failed)))
    }

    /// Takes the oldest recorded head.
    pub fn pop(&mut self) -> Option<RawHead> {
        self.heads.pop_front()
    }

    /// Stops recording (the caller saw a mismatch).
    pub fn turn_off(&mut self) {
        self.state = State::Off;
        self.heads.clear();
        self.buf = Vec::new();
    }

    /// Stops recording at a head it cannot parse, keeping its first bytes for [`Self::refused`].
    fn give_up_on_head(&mut self) {
        let mut failed = std::mem::take(&mut self.buf);
        failed.truncate(MAX_HEAD_BYTES);
        self.turn_off();
        self.failed = failed;
    }

    /// Feeds bytes read from the connection.
    pub fn feed(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            match &mut self.state {
                State::Off => return,
                State::Head => {
                    // Only the head bytes are buffered; bodies are skipped by count. A head
                    // that arrives whole in one read (the usual case) is parsed in place.
                    let buffered = !self.buf.is_empty();
                    let before = self.buf.len();
                    if buffered {
                        self.buf.extend_from_slice(input);
                    }
                    let parsed = parse_head(if buffered { &self.buf } else { input });
                    match parsed {
                        Ok(Some((used, head, next))) => {
                            input = &input[used - before..];
                            self.buf.clear();
                            self.heads.push_back(head);
                            self.state = next;
                        }
                        Ok(None) => {
                            if !buffered {
                                self.buf.extend_from_slice(input);
                            }
                            if self.buf.len() > MAX_HEAD_BYTES {
                                self.give_up_on_head();
                            }
                            return;
                        }
                        Err(()) => {
                            if !buffered {
                                self.buf
                                    .extend_from_slice(&input[..input.len().min(MAX_HEAD_BYTES)]);
                            }
                            self.give_up_on_head();
                            return;
                        }
                    }
                }
                State::Fixed(remaining) => {
                    let take = (*remaining).min(input.len() as u64);
                    *remaining -= take;
                    input = &input[take as usize..];
                    if *remaining == 0 {
                        self.state = State::Head;
                    }
                }
                State::Chunked(chunk) => {
                    let (used, next) = step_chunked(chunk, input);
                    input = &input[used..];
                    match next {
                        ChunkStep::Continue => {}
                        ChunkStep::Done => self.state = State::Head,
                        ChunkStep::Bad => {
                            self.turn_off();
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Parses a complete head from the start of `buf`: the bytes it used, the head, and what
/// follows it (a body to skip, or the next head).
fn parse_head(buf: &[u8]) -> Result<Option<(usize, RawHead, State)>, ()> {
    // Tolerate the empty lines RFC 9112 allows before a request line.
    let skip = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    if skip == buf.len() {
        return Ok(None);
    }
    // Uninitialized slots: zeroing all of them would cost more than parsing a usual head.
    let mut slots = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let used = match req.parse_with_uninit_headers(&buf[skip..], &mut slots) {
        Ok(httparse::Status::Complete(n)) => n + skip,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    // One copy of the head; the method, the target and every name and value are slices of
    // it (no allocation per header).
    let base = buf.as_ptr() as usize;
    let head = Bytes::copy_from_slice(&buf[..used]);
    let slice = |part: &[u8]| match part.len() {
        0 => Bytes::new(),
        n => {
            let at = part.as_ptr() as usize - base;
            head.slice(at..at + n)
        }
    };
    // httparse hands these out as `&str`, so they are UTF-8 (a target that is not fails
    // to parse, here as in hyper, and is captured as a refused head).
    let text = |part: &str| {
        ByteStr::from_utf8(slice(part.as_bytes())).unwrap_or_else(|_| ByteStr::copy_from(part))
    };
    let method = text(req.method.unwrap_or_default());
    let target = text(req.path.unwrap_or_default());
    let headers: Vec<Header> = req
        .headers
        .iter()
        .map(|h| Header::new(text(h.name), slice(h.value)))
        .collect();

    let mut chunked = false;
    let mut length: Option<u64> = None;
    let mut upgrade = method.eq_ignore_ascii_case("CONNECT");
    for h in &headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let v = String::from_utf8_lossy(&h.value).to_ascii_lowercase();
            chunked = v.rsplit(',').next().is_some_and(|c| c.trim() == "chunked");
        } else if h.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(&h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok());
        } else if h.name.eq_ignore_ascii_case("upgrade") {
            upgrade = true;
        }
    }
    let next = if upgrade {
        State::Off
    } else if chunked {
        State::Chunked(Chunk::SizeLine(Vec::new()))
    } else {
        match length {
            Some(n) if n > 0 => State::Fixed(n),
            _ => State::Head,
        }
    };
    Ok(Some((
        used,
        RawHead {
            method,
            target,
            headers,
        },
        next,
    )))
}

enum ChunkStep {
    Continue,
    Done,
    Bad,
}

/// Advances chunked framing over `input`; returns bytes used and whether the body ended.
fn step_chunked(chunk: &mut Chunk, input: &[u8]) -> (usize, ChunkStep) {
    let mut used = 0;
    while used < input.len() {
        match chunk {
            Chunk::SizeLine(line) => {
                let b = input[used];
                used += 1;
                if b == b'\n' {
                    line.push(b);
                    let Some(size) = chunk_size(line) else {
                        return (used, ChunkStep::Bad);
                    };
                    *chunk = if size == 0 {
                        Chunk::Trailer(Vec::new())
                    } else {
                        Chunk::Data(size)
                    };
                } else if line.len() > 1024 {
                    return (used, ChunkStep::Bad);
                } else {
                    line.push(b);
                }
            }
            Chunk::Data(remaining) => {
                let take = (*remaining).min((input.len() - used) as u64);
                *remaining -= take;
                used += take as usize;
                if *remaining == 0 {
                    *chunk = Chunk::DataEnd(0);
                }
            }
            Chunk::DataEnd(seen) => {
                let b = input[used];
                used += 1;
                if b == b'\n' {
                    *chunk = Chunk::SizeLine(Vec::new());
                } else if b == b'\r' && *seen == 0 {
                    *seen = 1;
                } else {
                    return (used, ChunkStep::Bad);
                }
            }
            Chunk::Trailer(line) => {
                let b = input[used];
                used += 1;
                if b == b'\n' {
                    if line.is_empty() || line.as_slice() == b"\r" {
                        return (used, ChunkStep::Done);
                    }
                    line.clear();
                } else if line.len() > 8192 {
                    return (used, ChunkStep::Bad);
                } else {
                    line.push(b);
                }
            }
        }
    }
    (used, ChunkStep::Continue)
}

/// A recorder shared between the connection's stream and its request handler.
pub type SharedRecorder = Arc<Mutex<HeadRecorder>>;

/// A stream wrapper that shows every byte read to a [`HeadRecorder`].
pub struct Recorded<S> {
    inner: S,
    recorder: SharedRecorder,
}

impl<S> Recorded<S> {
    /// Wraps `inner`; the returned recorder yields the heads.
    pub fn new(inner: S) -> (Self, SharedRecorder) {
        let recorder = SharedRecorder::default();
        (
            Recorded {
                inner,
                recorder: recorder.clone(),
            },
            recorder,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recorded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = res {
            let fresh = &buf.filled()[before..];
            if !fresh.is_empty()
                && let Ok(mut rec) = self.recorder.lock()
            {
                rec.feed(fresh);
            }
        }
        res
    }
}

crate::net::passthrough::write_through!(Recorded);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(h: &RawHead) -> Vec<&str> {
        h.headers.iter().map(|h| h.name.as_str()).collect()
    }

    #[test]
    fn keeps_case_and_order_across_keep_alive_requests() {
        let stream = b"POST /a HTTP/1.1\r\nHost: x\r\nX-ModelGates-Signature: t=1,v1=2\r\nContent-Length: 5\r\n\r\nhelloPOST /b?q=1 HTTP/1.1\r\nhost: x\r\nTransfer-Encoding: chunked\r\nZ-Last: 1\r\n\r\n3\r\nabc\r\n0\r\nTrailer: t\r\n\r\nGET /c HTTP/1.1\r\nHOST: y\r\n\r\n";
        // Feed one byte at a time: the worst split hyper could give us.
        let mut rec = HeadRecorder::default();
        for b in stream.iter() {
            rec.feed(std::slice::from_ref(b));
        }
        let a = rec.pop().unwrap();
        assert_eq!(
            names(&a),
            ["Host", "X-ModelGates-Signature", "Content-Length"]
        );
        let b = rec.pop().unwrap();
        assert_eq!(b.target, "/b?q=1");
        assert_eq!(names(&b), ["host", "Transfer-Encoding", "Z-Last"]);
        let c = rec.pop().unwrap();
        assert_eq!((c.method.as_str(), names(&c)), ("GET", vec!["HOST"]));
        assert!(rec.pop().is_none());
        assert!(!rec.is_off());
    }

    #[test]
    fn h2_preface_turns_recording_off() {
        let mut rec = HeadRecorder::default();
        rec.feed(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert!(rec.is_off());
        assert!(rec.pop().is_none());
    }

    #[tokio::test]
    async fn wrapper_records_what_the_reader_reads() {
        use tokio::io::AsyncReadExt;
        let (mut client, server) = tokio::io::duplex(8);
        let (mut wrapped, rec) = Recorded::new(server);
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            client
                .write_all(b"PUT /x HTTP/1.1\r\nX-Case-Kept: yes\r\n\r\n")
                .await
                .unwrap();
        });
        let mut sink = [0u8; 64];
        let mut total = 0;
        while total < 37 {
            total += wrapped.read(&mut sink[total..]).await.unwrap();
        }
        let head = rec.lock().unwrap().pop().unwrap();
        assert_eq!(head.headers[0].name, "X-Case-Kept");
    }

    #[test]
    fn a_recorded_head_writes_the_line_a_capture_of_strings_writes() {
        use crate::model::capture::{Capture, HeaderCase};
        use crate::model::record::CaptureRecord;
        use crate::model::verdict::{Outcome, Verdict};
        let mut rec = HeadRecorder::default();
        rec.feed("POST /hook?q=caf\u{e9} HTTP/1.1\r\nHost: a\r\nX-Sig: t=1\r\nX-Empty:\r\nContent-Length: 2\r\n\r\n{}".as_bytes());
        let head = rec.pop().unwrap();
        // Slices of the one copy of the head, not copies of their own.
        let at = head.method.as_bytes().as_ptr() as usize;
        assert_eq!(head.target.as_bytes().as_ptr() as usize, at + 5);
        let record = |method: ByteStr, target: ByteStr, headers: Vec<Header>| CaptureRecord {
            capture: Capture {
                method,
                target,
                headers,
                header_case: HeaderCase::Original,
                ..Capture::fixture(b"{}", &[])
            },
            verdict: Verdict::new(None, Outcome::Unverified, "no secret"),
            event_type: None,
            data_id: None,
            idempotency_key: None,
            response_status: 204,
        };
        let owned = |s: &str| ByteStr::from(s.to_owned());
        let from_strings = record(
            owned("POST"),
            owned("/hook?q=caf\u{e9}"),
            head.headers
                .iter()
                .map(|h| Header::new(owned(&h.name), h.value.to_vec()))
                .collect(),
        );
        let recorded = record(head.method, head.target, head.headers);
        let id = crate::model::capture::CaptureId(7);
        let line = crate::store::encode_line(id, &recorded).unwrap();
        assert_eq!(line, crate::store::encode_line(id, &from_strings).unwrap());
        let text = String::from_utf8(line).unwrap();
        assert!(
            text.contains(r#""method":"POST","target":"/hook?q=café""#),
            "{text}"
        );
        assert!(text.contains(r#"["X-Empty",""]"#), "{text}");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut rec = HeadRecorder::default();
            for c in &chunks { rec.feed(c); }
            while rec.pop().is_some() {}
        }
    }
}
