//! The footer line: the status message or the key hints that fit whole, then `? help · q quit`,
//! which always fit. It reads the key table; pure text, no drawing.

use ratatui::text::Line;

use super::keys::KEYS;

/// The footer: the status message or the key hints that fit whole, then `? help · q quit`,
/// which always fit. Nothing is cut inside a word: a status too long for the room is cut at
/// a space and ends in `…`.
pub fn footer_text(status: Option<&str>, width: usize) -> String {
    const SEP: &str = " · ";
    let hint = |(keys, word): (&str, &str)| format!("{keys} {word}");
    let pinned_keys = ["?", "q"];
    let pinned = KEYS
        .iter()
        .filter_map(|b| b.footer)
        .filter(|(k, _)| pinned_keys.contains(k))
        .map(hint)
        .collect::<Vec<_>>()
        .join(SEP);
    let w = |s: &str| Line::raw(s).width();
    let room = width.saturating_sub(w(&pinned) + w(SEP));
    let left = match status {
        Some(status) => cut_at_word(status, room),
        None => {
            let mut left = String::new();
            for item in KEYS
                .iter()
                .filter_map(|b| b.footer)
                .filter(|(k, _)| !pinned_keys.contains(k))
                .map(hint)
            {
                let grown = if left.is_empty() {
                    item
                } else {
                    format!("{left}{SEP}{item}")
                };
                if w(&grown) > room {
                    break;
                }
                left = grown;
            }
            left
        }
    };
    if left.is_empty() {
        pinned
    } else {
        format!("{left}{SEP}{pinned}")
    }
}

/// `text` if it fits in `room` columns; else its longest run of whole words that fits with a
/// trailing `…` (a single word too long for the room is left out).
fn cut_at_word(text: &str, room: usize) -> String {
    let w = |s: &str| Line::raw(s).width();
    if w(text) <= room {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split(' ') {
        let grown = if out.is_empty() {
            word.to_string()
        } else {
            format!("{out} {word}")
        };
        if w(&grown) + 1 > room {
            break;
        }
        out = grown;
    }
    if out.is_empty() { out } else { out + "…" }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word of the footer is whole: a hint's keys or word, or a status word (the last
    /// one may end in `…`, the words before it are the status's own).
    #[test]
    fn the_footer_keeps_help_and_quit_and_never_cuts_a_word() {
        let hints: Vec<&str> = KEYS
            .iter()
            .filter_map(|b| b.footer)
            .flat_map(|(k, w)| [k, w])
            .chain(["·"])
            .collect();
        let status = "replay of #12: connecting to http://127.0.0.1:3000/hook: connection refused (is the receiver running?)";
        for width in 30..=140 {
            for st in [None, Some(status)] {
                let text = footer_text(st, width);
                assert!(Line::raw(text.as_str()).width() <= width, "{width}: {text}");
                assert!(text.ends_with("? help · q quit"), "{width}: {text}");
                for word in text.split_whitespace() {
                    let whole = hints.contains(&word)
                        || st.is_some_and(|s| {
                            s.split(' ').any(|w| w == word || format!("{w}…") == word)
                        });
                    assert!(whole, "cut word {word:?} at {width}: {text}");
                }
            }
        }
    }
}
