//! The one colour rule every front end follows (the inspector and the line printer):
//! `NO_COLOR` set to a non-empty value turns colour off; unset or empty leaves it on
//! (no-color.org). Flags such as `--color never` are the caller's, on top of this.

use std::ffi::OsStr;

/// Whether `NO_COLOR` (its value, when set) lets colour on.
pub fn allowed_by(no_color: Option<&OsStr>) -> bool {
    no_color.is_none_or(OsStr::is_empty)
}

/// Whether this process's `NO_COLOR` lets colour on.
pub fn allowed() -> bool {
    allowed_by(std::env::var_os("NO_COLOR").as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_non_empty_no_color_turns_colour_off() {
        assert!(allowed_by(None));
        assert!(allowed_by(Some(OsStr::new(""))));
        assert!(!allowed_by(Some(OsStr::new("1"))));
        assert!(!allowed_by(Some(OsStr::new("0"))), "any non-empty value");
    }
}
