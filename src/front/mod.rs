//! Front ends: they subscribe to the store's events and read its records, never the other way
//! round. [`printer`] is the line/JSON output; [`show`] the detail text of one capture (the
//! `show` view, reused by the inspector); [`tui`] is the terminal inspector; [`color`] the
//! `NO_COLOR` rule they share.

pub mod color;
pub mod printer;
pub mod show;
pub mod tui;
