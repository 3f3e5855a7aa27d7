//! Styling shared by the screen (`ui`) and the detail tabs (`tabs`): colors (off when
//! `App::color` is, which `front::color` decides), verdict badges, short event types. A leaf:
//! it imports neither.

use ratatui::style::{Color, Style};

use super::app::App;
use crate::sanitize::escape_line;
use crate::verify::Outcome;

/// A foreground color, or the plain style when colors are off.
pub fn fg(app: &App, color: Color) -> Style {
    if app.color {
        Style::default().fg(color)
    } else {
        Style::default()
    }
}

/// Badge and color for an outcome.
pub fn badge(outcome: Outcome) -> (&'static str, Color) {
    match outcome {
        Outcome::Valid => ("✓ valid", Color::Green),
        Outcome::InvalidSignature => ("✗ invalid", Color::Red),
        Outcome::Stale => ("⏱ stale", Color::Yellow),
        Outcome::MissingHeader => ("✗ missing", Color::Red),
        Outcome::MalformedHeader => ("✗ malformed", Color::Red),
        Outcome::Unverified => ("? unverified", Color::DarkGray),
    }
}

/// The event type without the common `video.generation.` prefix, escaped; `-` when absent.
pub fn short_type(t: Option<&str>) -> String {
    match t {
        Some(t) => escape_line(t.strip_prefix("video.generation.").unwrap_or(t).as_bytes()),
        None => "-".into(),
    }
}
