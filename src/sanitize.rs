//! The one place request bytes are made terminal-safe.
//!
//! Every string that comes from a request passes through here before it reaches a terminal:
//! control characters (C0, DEL, C1), escape sequences and bidi overrides are shown as visible
//! escapes, and invalid UTF-8 bytes as `\xNN`. Nothing here ever emits a raw control byte.

use std::fmt::Write;

use serde::Serialize;

/// Escapes everything that is not printable, including newlines: for one-line displays.
pub fn escape_line(bytes: &[u8]) -> String {
    escape(bytes, false)
}

/// Escapes everything that is not printable but keeps `\n` and `\t`: for multi-line bodies.
pub fn escape_text(bytes: &[u8]) -> String {
    escape(bytes, true)
}

fn escape(bytes: &[u8], keep_layout: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c, keep_layout);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

fn push_char(out: &mut String, c: char, keep_layout: bool) {
    match c {
        '\n' if keep_layout => out.push('\n'),
        '\t' if keep_layout => out.push('\t'),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x1b' => out.push_str("\\e"),
        c if is_unsafe(c) => {
            let _ = if (c as u32) < 0x100 {
                write!(out, "\\x{:02x}", c as u32)
            } else {
                write!(out, "\\u{{{:04x}}}", c as u32)
            };
        }
        c => out.push(c),
    }
}

/// The one set of characters a terminal might act on or that reorder text: C0/C1 controls,
/// DEL, bidi controls, zero-width and line/paragraph separators. Both the terminal escaper
/// ([`escape_line`], [`escape_text`]) and the JSON escaper ([`terminal_safe_json`]) use it.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// True when the bytes are valid UTF-8 text without NUL or other binary-looking controls.
pub fn looks_binary(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Err(_) => true,
        Ok(text) => text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x1b')),
    }
}

/// Classic hex dump: offset, 16 bytes in hex, printable ASCII (others as `.`).
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (row, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", row * 16);
        for i in 0..16 {
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if i == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    out
}

/// Serializes to one JSON line that is safe to print on a terminal.
pub fn to_json_line<T: Serialize>(value: &T) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    terminal_safe_json(&text)
}

/// Serializes to indented JSON (a file for people and tools, e.g. a HAR) with the same
/// escaping as [`to_json_line`]: no raw control, bidi or zero-width character anywhere.
pub fn to_json_pretty<T: Serialize>(value: &T) -> serde_json::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    // Raw newlines in pretty output are the layout (serde_json writes `\n` inside strings).
    Ok(text
        .split('\n')
        .map(terminal_safe_json)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Escapes (as `\uXXXX`, still valid JSON) the characters a terminal could act on that
/// serde_json leaves raw: DEL, C1 controls, bidi and zero-width controls (the same set as the
/// terminal escaper; serde_json already escapes C0 controls). `text` is compact JSON as
/// serde_json writes it, so a raw control character can only be inside a string.
pub fn terminal_safe_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Quotes bytes for a POSIX shell (bash/zsh for the `$'…'` form).
pub fn shell_quote(bytes: &[u8]) -> String {
    let plain = bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\'');
    if plain {
        return format!("'{}'", String::from_utf8_lossy(bytes));
    }
    let mut out = String::from("$'");
    for &b in bytes {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('\'');
    out
}

/// A word for a POSIX shell: as is when it needs no quoting (paths, names), else
/// [`shell_quote`]d.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%,=".contains(&b))
    {
        s.to_owned()
    } else {
        shell_quote(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case::plain("/home/a/ca.pem", "/home/a/ca.pem")]
    #[case::space("/home/a b/ca.pem", "'/home/a b/ca.pem'")]
    #[case::quote("/x/it's", r"$'/x/it\'s'")]
    fn paths_are_quoted_only_when_needed(#[case] word: &str, #[case] expected: &str) {
        assert_eq!(shell_word(word), expected);
    }

    #[rstest]
    #[case::plain(&b"plain text"[..], "'plain text'")]
    #[case::quote(b"it's", r"$'it\'s'")]
    #[case::escape(b"\x1b[31m", r"$'\x1b[31m'")]
    #[case::backslash_newline(b"a\\b\n", r"$'a\\b\x0a'")]
    #[case::non_ascii("é".as_bytes(), r"$'\xc3\xa9'")]
    #[case::invalid_utf8(b"\xff", r"$'\xff'")]
    fn shell_quoting(#[case] input: &[u8], #[case] expected: &str) {
        assert_eq!(shell_quote(input), expected);
    }

    #[rstest]
    #[case::csi_line(b"\x1b[31mred\x1b[0m", false, "\\e[31mred\\e[0m")]
    #[case::c0_line(b"a\nb\r\x07", false, "a\\nb\\r\\x07")]
    #[case::osc_text(b"a\nb\tc\x1b]0;t\x07", true, "a\nb\tc\\e]0;t\\x07")]
    #[case::c1_csi("\u{9b}31m".as_bytes(), false, "\\x9b31m")]
    #[case::bidi_override("x\u{202e}y".as_bytes(), false, "x\\u{202e}y")]
    #[case::invalid_utf8(b"ok\xff\xfe", false, "ok\\xff\\xfe")]
    #[case::non_ascii_kept("héllo".as_bytes(), false, "héllo")]
    fn escapes_become_visible(
        #[case] input: &[u8],
        #[case] keep_layout: bool,
        #[case] expected: &str,
    ) {
        let out = if keep_layout {
            escape_text(input)
        } else {
            escape_line(input)
        };
        assert_eq!(out, expected);
    }

    #[test]
    fn the_terminal_and_the_json_escaper_escape_the_same_characters() {
        // Every char: escaped for the terminal exactly when it is escaped in JSON output. `"`
        // and `\` are JSON syntax, escaped by serde_json for JSON's sake alone.
        let mut differ = Vec::new();
        for c in (0..=char::MAX as u32).filter_map(char::from_u32) {
            if c == '"' || c == '\\' {
                continue;
            }
            let raw = c.to_string();
            let terminal = escape_line(raw.as_bytes()) != raw;
            let json = to_json_line(&raw) != format!("\"{raw}\"");
            if terminal != json {
                differ.push(format!(
                    "U+{:04X} terminal {terminal} json {json}",
                    c as u32
                ));
            }
        }
        assert!(differ.is_empty(), "{differ:?}");
    }

    #[test]
    fn hex_dump_shape() {
        let dump = hex_dump(b"\x00\x01ABC");
        assert_eq!(
            dump,
            "00000000  00 01 41 42 43                                    ..ABC\n"
        );
        assert!(looks_binary(b"\x00\x01"));
        assert!(!looks_binary(b"{\"a\":1}\n"));
    }

    proptest! {
        #[test]
        fn no_control_byte_survives(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for out in [escape_line(&bytes), escape_text(&bytes)] {
                prop_assert!(!out.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
            }
            prop_assert!(!escape_line(&bytes).contains('\n'));
        }
    }
}
