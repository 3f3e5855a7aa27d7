//! [`ByteStr`]: a read-only UTF-8 string that shares its bytes, for the strings every capture
//! carries (header names, method, target, a verdict's scheme).
//!
//! A request head arrives as one buffer; its names, method and target are slices of it, so
//! a capture holds them without one allocation each, a clone is a reference count, and a
//! literal (`"POST"`, a scheme name) is never copied. The storage is
//! [`bytestring::ByteString`] (a `Bytes` known to be UTF-8): reading it as `&str` needs no
//! check, and this crate forbids the `unsafe` that would take that knowledge on trust.
//! It compares, hashes, prints and serializes exactly as the `str` it holds, so the log
//! format is the one a `String` writes.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A shared, read-only UTF-8 string (see the module docs).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteStr(ByteString);

impl ByteStr {
    /// The empty string.
    pub const fn new() -> ByteStr {
        ByteStr(ByteString::new())
    }

    /// A literal, shared without copying.
    pub const fn from_static(text: &'static str) -> ByteStr {
        ByteStr(ByteString::from_static(text))
    }

    /// A copy of `text` (for a borrowed string that is not `'static`).
    pub fn copy_from(text: &str) -> ByteStr {
        ByteStr(ByteString::from(text))
    }

    /// `bytes` as a string, when they are UTF-8 (a slice of a larger buffer stays a slice).
    pub fn from_utf8(bytes: Bytes) -> Result<ByteStr, std::str::Utf8Error> {
        // Checked here once so `TryFrom` cannot fail below; its error type carries no detail.
        std::str::from_utf8(&bytes)?;
        Ok(ByteStr(
            ByteString::try_from(bytes).expect("checked as UTF-8 above"),
        ))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The bytes it shares.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }
}

impl Deref for ByteStr {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ByteStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for ByteStr {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Borrow<str> for ByteStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<String> for ByteStr {
    /// Takes the string's buffer: no copy of the text (when the buffer has spare capacity,
    /// `Bytes` adds a small shared header instead of reallocating it).
    fn from(text: String) -> ByteStr {
        ByteStr(ByteString::from(text))
    }
}

impl From<&String> for ByteStr {
    /// A copy of the string.
    fn from(text: &String) -> ByteStr {
        ByteStr::copy_from(text)
    }
}

impl From<&'static str> for ByteStr {
    /// Shares the literal (no allocation).
    fn from(text: &'static str) -> ByteStr {
        ByteStr::from_static(text)
    }
}

impl From<ByteStr> for String {
    fn from(text: ByteStr) -> String {
        text.as_str().to_owned()
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for ByteStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<ByteStr> for str {
    fn eq(&self, other: &ByteStr) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ByteStr> for &str {
    fn eq(&self, other: &ByteStr) -> bool {
        *self == other.as_str()
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for ByteStr {
    /// Like a `str`: `"POST"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for ByteStr {
    /// A JSON string, as a `String` writes it.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ByteStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ByteStr, D::Error> {
        String::deserialize(d).map(ByteStr::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn reads_compares_and_hashes_as_the_str_it_holds() {
        let head = Bytes::from_static(b"POST /hook HTTP/1.1\r\nX-Case: 1\r\n\r\n");
        let target = ByteStr::from_utf8(head.slice(5..10)).unwrap();
        assert_eq!(target, "/hook");
        assert_eq!("/hook", target);
        assert_eq!(target.len(), 5);
        assert_eq!(format!("{target} {target:?}"), r#"/hook "/hook""#);
        // Looked up in a set of `ByteStr` by a plain `&str` (same hash as the str).
        let set: HashSet<ByteStr> = [target.clone()].into();
        assert!(set.contains("/hook"));
        let (a, b) = (ByteStr::from("a"), ByteStr::from(String::from("b")));
        assert!(a < b);
        // A slice of the head, not a copy of it.
        assert_eq!(target.as_bytes().as_ptr(), head[5..].as_ptr());
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        assert!(ByteStr::from_utf8(Bytes::from_static(b"/caf\xe9")).is_err());
        assert_eq!(
            ByteStr::from_utf8(Bytes::from_static("/café".as_bytes())).unwrap(),
            "/café"
        );
    }

    #[test]
    fn serializes_as_a_json_string() {
        let text = ByteStr::from_static("X-\"Quoted\"\u{e9}");
        let json = serde_json::to_string(&text).unwrap();
        assert_eq!(json, serde_json::to_string("X-\"Quoted\"\u{e9}").unwrap());
        let back: ByteStr = serde_json::from_str(&json).unwrap();
        assert_eq!(back, text);
    }
}
