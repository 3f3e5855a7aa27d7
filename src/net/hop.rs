//! Hop-by-hop headers (RFC 9110 §7.6.1): the fixed list and the `Connection` header's options.
//!
//! One copy for every place a message crosses hooklens: forwarding drops them from the request
//! and from the relayed answer ([`crate::net::forward`]), the HTTP/2 client drops them as
//! connection-specific (RFC 9113 §8.2.2, the same set), and the HTTP/1.1 client reads
//! `Connection: close` from the response ([`crate::net::client`]).

/// Headers that describe one connection, not the message: never forwarded.
pub const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "te",
    "transfer-encoding",
    "upgrade",
];

/// The connection options one `Connection` header value lists (comma-separated tokens),
/// lowercased, empty list elements skipped.
pub fn connection_options(value: &[u8]) -> impl Iterator<Item = String> + '_ {
    value
        .split(|b| *b == b',')
        .map(|t| String::from_utf8_lossy(t.trim_ascii()).to_ascii_lowercase())
        .filter(|t| !t.is_empty())
}

/// The hop-by-hop header names of one message: [`HOP_BY_HOP`] plus every name its
/// `Connection` headers list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HopByHop {
    /// Lowercase names.
    named: Vec<String>,
}

impl HopByHop {
    /// Reads the `Connection` headers among `headers` (name, value).
    pub fn of<'a>(headers: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> HopByHop {
        let mut named = Vec::new();
        for (name, value) in headers {
            if name.eq_ignore_ascii_case("connection") {
                named.extend(connection_options(value));
            }
        }
        HopByHop { named }
    }

    /// True when the header `name` (any case) only concerns this hop.
    pub fn contains(&self, name: &str) -> bool {
        HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
            || self.named.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    /// True when `Connection` carries the `close` option.
    pub fn closes(&self) -> bool {
        self.named.iter().any(|o| o == "close")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_names_more_hop_by_hop_headers() {
        let headers: [(&str, &[u8]); 3] = [
            ("CONNECTION", b"keep-alive, X-Private ,,Close"),
            ("connection", b"x-other"),
            ("X-Private", b"1"),
        ];
        let hop = HopByHop::of(headers);
        for name in [
            "x-private",
            "X-OTHER",
            "Keep-Alive",
            "TE",
            "Upgrade",
            "Connection",
        ] {
            assert!(hop.contains(name), "{name}");
        }
        assert!(!hop.contains("x-modelgates-signature"));
        assert!(!hop.contains("content-length"));
        assert!(hop.closes());
        // `close` is a token, not a substring.
        assert!(!HopByHop::of([("Connection", b"x-closed".as_slice())]).closes());
        assert!(!HopByHop::default().closes());
    }
}
