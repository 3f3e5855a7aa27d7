//! Front ends: they subscribe to the store's events and read its records, never the other way
//! round. [`printer`] is the line/JSON output and `show`; [`tui`] is the terminal inspector.

pub mod printer;
pub mod tui;
