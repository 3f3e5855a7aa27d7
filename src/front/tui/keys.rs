//! The one key table: dispatch, the footer hints and the `?` help overlay all read it.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks the app to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Quit the inspector (the listener shuts down gracefully).
    Quit,
    /// Select the next capture.
    Down,
    /// Select the previous capture.
    Up,
    /// Select the first capture.
    First,
    /// Select the last capture.
    Last,
    /// Scroll the detail down a page.
    PageDown,
    /// Scroll the detail up a page.
    PageUp,
    /// Switch focus between the list and the detail.
    Focus,
    /// Next detail tab.
    NextTab,
    /// Jump to tab N (0-based).
    Tab(usize),
    /// Toggle follow mode (keep the newest selected).
    Follow,
    /// Start typing a filter.
    Filter,
    /// Clear the filter / close overlays.
    Escape,
    /// Copy the selected request as a curl command.
    CopyCurl,
    /// Hide everything captured so far from the view (the log is untouched).
    ClearView,
    /// Mark the selected capture for diffing.
    Mark,
    /// Diff the selected capture against the mark.
    Diff,
    /// Toggle the help overlay.
    Help,
    /// Replay the selected capture to the forward target, exactly as captured.
    Replay,
    /// Replay it re-signed with a fresh timestamp (first configured secret).
    ReplayResigned,
    /// Edit the body in $EDITOR, then replay it re-signed.
    EditReplay,
}

/// One row of the key table.
pub struct Binding {
    /// Keys as shown to the user.
    pub keys: &'static str,
    /// What it does.
    pub help: &'static str,
    /// Shown in the footer.
    pub footer: bool,
    /// The command.
    pub command: Command,
}

/// Every key binding.
pub const KEYS: &[Binding] = &[
    Binding {
        keys: "j/k ↓/↑",
        help: "select next / previous capture",
        footer: true,
        command: Command::Down,
    },
    Binding {
        keys: "g/G",
        help: "first / last capture",
        footer: false,
        command: Command::First,
    },
    Binding {
        keys: "Enter",
        help: "switch focus between list and detail",
        footer: false,
        command: Command::Focus,
    },
    Binding {
        keys: "Tab 1-5",
        help: "next tab / jump to tab (Overview, Headers, Body, Shape, Forward)",
        footer: true,
        command: Command::NextTab,
    },
    Binding {
        keys: "PgUp/PgDn",
        help: "scroll the detail",
        footer: false,
        command: Command::PageDown,
    },
    Binding {
        keys: "f",
        help: "toggle follow (newest stays selected)",
        footer: true,
        command: Command::Follow,
    },
    Binding {
        keys: "/",
        help: "filter: text, valid, invalid, stale, type:completed, path:/x, key:…, status:401, dup, -term",
        footer: true,
        command: Command::Filter,
    },
    Binding {
        keys: "Esc",
        help: "clear filter, close overlay",
        footer: false,
        command: Command::Escape,
    },
    Binding {
        keys: "y",
        help: "copy as curl (terminal clipboard via OSC 52)",
        footer: true,
        command: Command::CopyCurl,
    },
    Binding {
        keys: "m / d",
        help: "mark capture / diff selected against mark",
        footer: true,
        command: Command::Mark,
    },
    Binding {
        keys: "c",
        help: "clear the view (the log keeps everything)",
        footer: false,
        command: Command::ClearView,
    },
    Binding {
        keys: "r / R / e",
        help: "replay: as captured / re-signed / edited in $EDITOR",
        footer: false,
        command: Command::Replay,
    },
    Binding {
        keys: "?",
        help: "this help",
        footer: true,
        command: Command::Help,
    },
    Binding {
        keys: "q Ctrl-C",
        help: "quit",
        footer: true,
        command: Command::Quit,
    },
];

/// Maps a key press to a command.
pub fn command_for(key: KeyEvent) -> Option<Command> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Command::Quit,
        KeyCode::Char('q') => Command::Quit,
        KeyCode::Char('j') | KeyCode::Down => Command::Down,
        KeyCode::Char('k') | KeyCode::Up => Command::Up,
        KeyCode::Char('g') | KeyCode::Home => Command::First,
        KeyCode::Char('G') | KeyCode::End => Command::Last,
        KeyCode::PageDown | KeyCode::Char(' ') => Command::PageDown,
        KeyCode::PageUp => Command::PageUp,
        KeyCode::Enter => Command::Focus,
        KeyCode::Tab => Command::NextTab,
        KeyCode::Char(c @ '1'..='5') => Command::Tab(c as usize - '1' as usize),
        KeyCode::Char('f') => Command::Follow,
        KeyCode::Char('/') => Command::Filter,
        KeyCode::Esc => Command::Escape,
        KeyCode::Char('y') => Command::CopyCurl,
        KeyCode::Char('c') => Command::ClearView,
        KeyCode::Char('m') => Command::Mark,
        KeyCode::Char('d') => Command::Diff,
        KeyCode::Char('?') => Command::Help,
        KeyCode::Char('r') => Command::Replay,
        KeyCode::Char('R') => Command::ReplayResigned,
        KeyCode::Char('e') => Command::EditReplay,
        _ => return None,
    })
}
