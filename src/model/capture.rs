//! `Capture`: one HTTP request exactly as received. Raw is truth; everything else is derived.
//!
//! Headers keep arrival order and, for HTTP/1, their original case (see `rawhead.rs` for how
//! we get them past hyper). Body bytes are never re-encoded; base64 appears only in the log line.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::text::ByteStr;

/// Monotonic, human-typable capture id, shown as `#12`; continues across restarts.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct CaptureId(pub u64);

impl fmt::Display for CaptureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl FromStr for CaptureId {
    type Err = String;
    /// Accepts `12` and `#12`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.trim().strip_prefix('#').unwrap_or(s.trim());
        digits
            .parse::<u64>()
            .map(CaptureId)
            .map_err(|_| format!("not a capture id: {s:?} (expected a number such as 12 or #12)"))
    }
}

/// The HTTP version a request arrived with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpVersion {
    /// HTTP/1.0
    #[serde(rename = "HTTP/1.0")]
    Http10,
    /// HTTP/1.1
    #[serde(rename = "HTTP/1.1")]
    Http11,
    /// HTTP/2 (h2 over TLS or h2c prior knowledge)
    #[serde(rename = "HTTP/2")]
    H2,
}

impl HttpVersion {
    /// The wire spelling, e.g. `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http10 => "HTTP/1.0",
            HttpVersion::Http11 => "HTTP/1.1",
            HttpVersion::H2 => "HTTP/2",
        }
    }
}

/// Whether header names in a capture carry the sender's original case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HeaderCase {
    /// Names exactly as sent (HTTP/1 via the raw head recorder).
    #[default]
    Original,
    /// Names lowercased (HTTP/2 by spec, or the recorder could not follow the stream).
    Lowercase,
}

/// TLS details of the connection a capture arrived on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// Protocol version, e.g. `TLSv1.3`.
    pub version: String,
    /// Negotiated cipher suite.
    pub cipher: String,
    /// Negotiated ALPN protocol, if any.
    pub alpn: Option<String>,
    /// Server name the client asked for, if any.
    pub sni: Option<String>,
}

/// One header line. The value is raw bytes (HTTP allows obs-text); in JSON it is a string when
/// it is UTF-8 and `{"b64": "..."}` otherwise, so nothing is lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Name as received (original case for HTTP/1); a slice of the request head.
    pub name: ByteStr,
    /// Value bytes as received, without surrounding whitespace.
    pub value: Bytes,
}

impl Header {
    /// Builds a header from a name and any byte value.
    pub fn new(name: impl Into<ByteStr>, value: impl Into<Bytes>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The value as UTF-8, if it is.
    pub fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }
}

/// A header value as the log holds it, read back (written by `Header`'s `Serialize`).
#[derive(Deserialize)]
#[serde(untagged)]
enum ValueRepr {
    Text(String),
    Binary { b64: String },
}

impl Serialize for Header {
    /// `["Name", "text"]`, or `["Name", {"b64": "…"}]` for a value that is not UTF-8; written
    /// straight from the bytes (no copy of the value).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        #[derive(Serialize)]
        struct Binary<'a> {
            #[serde(with = "b64_bytes")]
            b64: &'a Bytes,
        }
        let mut pair = s.serialize_tuple(2)?;
        pair.serialize_element(&self.name)?;
        match std::str::from_utf8(&self.value) {
            Ok(text) => pair.serialize_element(text)?,
            Err(_) => pair.serialize_element(&Binary { b64: &self.value })?,
        }
        pair.end()
    }
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (name, value): (ByteStr, ValueRepr) = Deserialize::deserialize(d)?;
        let value = match value {
            ValueRepr::Text(text) => Bytes::from(text),
            ValueRepr::Binary { b64 } => Bytes::from(
                B64.decode(b64.as_bytes())
                    .map_err(serde::de::Error::custom)?,
            ),
        };
        Ok(Header { name, value })
    }
}

/// One HTTP request exactly as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capture {
    /// Assigned by the store when the capture becomes durable. In the log it is the record's
    /// `id` field, written by the store, so it is skipped here.
    #[serde(skip)]
    pub id: CaptureId,
    /// Unix milliseconds when the request head arrived.
    pub received_at_ms: i64,
    /// Remote address.
    pub peer: SocketAddr,
    /// TLS details, when the request came over HTTPS.
    pub tls: Option<TlsInfo>,
    /// Request method, e.g. `POST`.
    pub method: ByteStr,
    /// Path and query as sent.
    pub target: ByteStr,
    /// HTTP version.
    pub version: HttpVersion,
    /// Whether `headers` carry original case.
    #[serde(default)]
    pub header_case: HeaderCase,
    /// Headers in arrival order.
    pub headers: Vec<Header>,
    /// Body bytes as received (the first `--max-body` bytes when `truncated`).
    #[serde(with = "b64_bytes", rename = "body_b64")]
    pub body: Bytes,
    /// True when the body exceeded the size limit and was cut.
    pub truncated: bool,
    /// Set when the request was refused or did not arrive whole: what went wrong, in one line
    /// (a head hooklens could not parse, a broken chunked body, a body over `--max-body`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// For a request refused before its head parsed: the bytes of the head as read (at most
    /// 64 KiB), since `method`, `target` and `headers` could not be filled in.
    #[serde(
        default,
        skip_serializing_if = "Bytes::is_empty",
        with = "b64_bytes",
        rename = "raw_head_b64"
    )]
    pub raw_head: Bytes,
}

impl Capture {
    /// First header with this name (ASCII case-insensitive), as bytes.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        header_value(&self.headers, name)
    }

    /// The URL the sender addressed, as the headers say (a tunnel or proxy in front keeps the
    /// public host in `X-Forwarded-Host`, or passes `Host` through): scheme from
    /// `X-Forwarded-Proto` (else this connection's), host from `X-Forwarded-Host` (else
    /// `Host`), then the target. Request bytes: escape before showing.
    pub fn addressed_to(&self) -> Option<String> {
        let text = |name| {
            self.header(name)
                .map(|v| String::from_utf8_lossy(v).trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        // A chain of proxies lists the first (public) one first.
        let first = |v: String| v.split(',').next().unwrap_or("").trim().to_owned();
        let host = text("x-forwarded-host")
            .map(first)
            .or_else(|| text("host"))?;
        let scheme = text("x-forwarded-proto")
            .map(first)
            .unwrap_or_else(|| if self.tls.is_some() { "https" } else { "http" }.to_owned());
        Some(format!("{scheme}://{host}{}", self.target))
    }

    /// The sender's own address as a tunnel or proxy reports it (`Cf-Connecting-Ip`,
    /// `True-Client-Ip`, the first `X-Forwarded-For`), with the header it came from.
    pub fn forwarded_client(&self) -> Option<(&'static str, String)> {
        ["Cf-Connecting-Ip", "True-Client-Ip", "X-Forwarded-For"]
            .into_iter()
            .find_map(|name| {
                let v = String::from_utf8_lossy(self.header(name)?).into_owned();
                let first = v.split(',').next().unwrap_or("").trim().to_owned();
                (!first.is_empty()).then_some((name, first))
            })
    }

    /// Path without the query string.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }

    /// A capture with fixed values, for tests (timestamps are fixed, like mitmproxy's tflow).
    pub fn fixture(body: &[u8], headers: &[(&str, &str)]) -> Capture {
        Capture {
            id: CaptureId(1),
            received_at_ms: 1_700_000_000_000,
            peer: "127.0.0.1:50000".parse().expect("literal address"),
            tls: None,
            method: "POST".into(),
            target: "/modelgates/video-webhook".into(),
            version: HttpVersion::Http11,
            header_case: HeaderCase::Original,
            headers: headers
                .iter()
                .map(|(n, v)| {
                    Header::new(ByteStr::copy_from(n), Bytes::copy_from_slice(v.as_bytes()))
                })
                .collect(),
            body: Bytes::copy_from_slice(body),
            truncated: false,
            fault: None,
            raw_head: Bytes::new(),
        }
    }
}

/// Unix milliseconds now (the clock every record's time comes from).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// First header with this name (ASCII case-insensitive) in a header list.
pub fn header_value<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_ref())
}

/// Serde helper: bytes as standard base64.
pub mod b64_bytes {
    use super::B64;
    use base64::Engine;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialize bytes as a base64 string, encoded as it is written (no copy of the body).
    pub fn serialize<S: Serializer>(bytes: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&base64::display::Base64Display::new(bytes, &B64))
    }

    /// Deserialize a base64 string into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
        B64.decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_address_a_tunnelled_capture_was_sent_to() {
        // What a cloudflared quick tunnel adds in front of the listener (its documented
        // request headers): the public host, the scheme, the sender's address.
        let mut c = Capture::fixture(
            b"{}",
            &[
                ("Host", "127.0.0.1:8787"),
                ("X-Forwarded-Host", "seasonal-deck.trycloudflare.com"),
                ("X-Forwarded-Proto", "https"),
                ("Cf-Connecting-Ip", "203.0.113.9"),
                ("X-Forwarded-For", "203.0.113.9, 10.0.0.1"),
            ],
        );
        c.target = "/modelgates/video-webhook".into();
        assert_eq!(
            c.addressed_to().as_deref(),
            Some("https://seasonal-deck.trycloudflare.com/modelgates/video-webhook")
        );
        assert_eq!(
            c.forwarded_client(),
            Some(("Cf-Connecting-Ip", "203.0.113.9".into()))
        );
        // A TCP tunnel (bore) passes the Host the sender used; nothing names a client.
        let mut c = Capture::fixture(b"{}", &[("Host", "bore.pub:40123")]);
        c.target = "/x".into();
        assert_eq!(c.addressed_to().as_deref(), Some("http://bore.pub:40123/x"));
        assert_eq!(c.forwarded_client(), None);
    }

    #[test]
    fn ids_parse_with_or_without_hash() {
        assert_eq!("12".parse::<CaptureId>().unwrap(), CaptureId(12));
        assert_eq!("#12".parse::<CaptureId>().unwrap(), CaptureId(12));
        assert!("twelve".parse::<CaptureId>().is_err());
        assert_eq!(CaptureId(7).to_string(), "#7");
    }

    #[test]
    fn binary_header_values_round_trip_through_json() {
        let h = Header::new("X-Bin", Bytes::from_static(b"\xff\x00ok"));
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, r#"["X-Bin",{"b64":"/wBvaw=="}]"#);
        let back: Header = serde_json::from_str(&json).unwrap();
        assert_eq!(back, h);
        let text = Header::new("Content-Type", "application/json");
        assert_eq!(
            serde_json::to_string(&text).unwrap(),
            r#"["Content-Type","application/json"]"#
        );
    }
}
