//! Chunk-size lines of the chunked transfer coding (RFC 9112 §7.1), for both HTTP/1 readers:
//! the listener's head recorder ([`crate::net::rawhead`]) and the client's response reader.

/// The size a complete chunk-size line (`1a;ext=x\r\n`, ending in its line feed) announces.
///
/// Parsed by `httparse` (the parser hyper's HTTP/1 code is built on); chunk extensions are
/// ignored. `None` for an invalid line: no hex digit, a bad character, no CR before the LF.
pub fn chunk_size(line: &[u8]) -> Option<u64> {
    // httparse reads an empty size as 0; RFC 9112 wants at least one digit.
    if !line.first().is_some_and(u8::is_ascii_hexdigit) {
        return None;
    }
    match httparse::parse_chunk_size(line) {
        Ok(httparse::Status::Complete((used, size))) if used == line.len() => Some(size),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_hex_with_extensions_ignored() {
        assert_eq!(chunk_size(b"0\r\n"), Some(0));
        assert_eq!(chunk_size(b"1a\r\n"), Some(26));
        assert_eq!(chunk_size(b"FF;name=value\r\n"), Some(255));
        assert_eq!(chunk_size(b"3 ; x\r\n"), Some(3));
        for bad in [
            &b"\r\n"[..],
            b"g\r\n",
            b"-1\r\n",
            b"1\n",
            b" 1\r\n",
            b"12345678901234567\r\n",
        ] {
            assert_eq!(chunk_size(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    proptest::proptest! {
        #[test]
        fn any_size_round_trips(size in 0u64..(1 << 60), upper: bool, ext in "[a-z=;]{0,8}") {
            let hex = if upper { format!("{size:X}") } else { format!("{size:x}") };
            let ext = if ext.is_empty() { String::new() } else { format!(";{ext}") };
            proptest::prop_assert_eq!(chunk_size(format!("{hex}{ext}\r\n").as_bytes()), Some(size));
        }

        #[test]
        fn never_panics(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let _ = chunk_size(&line);
        }
    }
}
