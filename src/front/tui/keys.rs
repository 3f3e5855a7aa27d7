//! The one key table, [`KEYS`]: each row lists the presses it answers to and how it is shown.
//! Dispatch ([`command_for`]), the footer hints and the `?` help overlay all read it.

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

/// One key press: a key code, with or without Ctrl held. Presses without Ctrl match whatever
/// modifiers are held (Shift comes with `G`, `R`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Press {
    /// The key.
    pub code: KeyCode,
    /// Only with Ctrl held.
    pub ctrl: bool,
}

const fn key(c: char) -> Press {
    code(KeyCode::Char(c))
}

const fn code(code: KeyCode) -> Press {
    Press { code, ctrl: false }
}

const fn ctrl(c: char) -> Press {
    Press {
        code: KeyCode::Char(c),
        ctrl: true,
    }
}

/// One row of the key table.
pub struct Binding {
    /// Keys as shown to the user.
    pub keys: &'static str,
    /// What it does.
    pub help: &'static str,
    /// Shown in the footer as these keys and this word; `?` and `q` are always shown there.
    pub footer: Option<(&'static str, &'static str)>,
    /// The presses this row answers to, and what each does.
    pub presses: &'static [(Press, Command)],
}

/// Every key binding, in the order the help overlay lists them.
pub const KEYS: &[Binding] = &[
    Binding {
        keys: "j/k ↓/↑",
        help: "select next / previous capture",
        footer: Some(("j/k", "move")),
        presses: &[
            (key('j'), Command::Down),
            (code(KeyCode::Down), Command::Down),
            (key('k'), Command::Up),
            (code(KeyCode::Up), Command::Up),
        ],
    },
    Binding {
        keys: "g/G",
        help: "first / last capture",
        footer: None,
        presses: &[
            (key('g'), Command::First),
            (code(KeyCode::Home), Command::First),
            (key('G'), Command::Last),
            (code(KeyCode::End), Command::Last),
        ],
    },
    Binding {
        keys: "Enter",
        help: "switch focus between list and detail",
        footer: None,
        presses: &[(code(KeyCode::Enter), Command::Focus)],
    },
    Binding {
        keys: "Tab 1-5",
        help: "next tab / jump to tab (Overview, Headers, Body, Shape, Forward)",
        footer: Some(("Tab", "tabs")),
        presses: &[
            (code(KeyCode::Tab), Command::NextTab),
            (key('1'), Command::Tab(0)),
            (key('2'), Command::Tab(1)),
            (key('3'), Command::Tab(2)),
            (key('4'), Command::Tab(3)),
            (key('5'), Command::Tab(4)),
        ],
    },
    Binding {
        keys: "PgUp/PgDn",
        help: "scroll the detail",
        footer: None,
        presses: &[
            (code(KeyCode::PageDown), Command::PageDown),
            (key(' '), Command::PageDown),
            (code(KeyCode::PageUp), Command::PageUp),
        ],
    },
    Binding {
        keys: "f",
        help: "toggle follow (newest stays selected)",
        footer: Some(("f", "follow")),
        presses: &[(key('f'), Command::Follow)],
    },
    Binding {
        keys: "/",
        help: "filter: text, valid, invalid, stale, type:completed, path:/x, key:…, status:401, dup, -term",
        footer: Some(("/", "filter")),
        presses: &[(key('/'), Command::Filter)],
    },
    Binding {
        keys: "Esc",
        help: "clear filter, close overlay",
        footer: None,
        presses: &[(code(KeyCode::Esc), Command::Escape)],
    },
    Binding {
        keys: "y",
        help: "show as curl and copy it (OSC 52; tmux: set-clipboard on)",
        footer: Some(("y", "curl")),
        presses: &[(key('y'), Command::CopyCurl)],
    },
    Binding {
        keys: "m / d",
        help: "mark capture / diff selected against mark",
        footer: Some(("m/d", "diff")),
        presses: &[(key('m'), Command::Mark), (key('d'), Command::Diff)],
    },
    Binding {
        keys: "c",
        help: "clear the view (the log keeps everything)",
        footer: None,
        presses: &[(key('c'), Command::ClearView)],
    },
    Binding {
        keys: "r / R / e",
        help: "replay as captured / re-signed / edited in $EDITOR",
        footer: Some(("r/R/e", "replay")),
        presses: &[
            (key('r'), Command::Replay),
            (key('R'), Command::ReplayResigned),
            (key('e'), Command::EditReplay),
        ],
    },
    Binding {
        keys: "?",
        help: "this help",
        footer: Some(("?", "help")),
        presses: &[(key('?'), Command::Help)],
    },
    Binding {
        keys: "q Ctrl-C",
        help: "quit",
        footer: Some(("q", "quit")),
        presses: &[(key('q'), Command::Quit), (ctrl('c'), Command::Quit)],
    },
];

/// Maps a key press to a command by searching [`KEYS`]. A Ctrl press wins over the plain key
/// (Ctrl-C quits, `c` clears the view).
pub fn command_for(event: KeyEvent) -> Option<Command> {
    let held = event.modifiers.contains(KeyModifiers::CONTROL);
    let find = |ctrl: bool| {
        KEYS.iter()
            .flat_map(|b| b.presses)
            .find(|(p, _)| p.code == event.code && p.ctrl == ctrl)
            .map(|&(_, command)| command)
    };
    if held {
        find(true).or_else(|| find(false))
    } else {
        find(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> Option<Command> {
        command_for(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn the_table_dispatches() {
        let none = KeyModifiers::NONE;
        assert_eq!(press(KeyCode::Char('j'), none), Some(Command::Down));
        assert_eq!(press(KeyCode::Up, none), Some(Command::Up));
        assert_eq!(press(KeyCode::Char('3'), none), Some(Command::Tab(2)));
        assert_eq!(press(KeyCode::Char(' '), none), Some(Command::PageDown));
        assert_eq!(
            press(KeyCode::Char('G'), KeyModifiers::SHIFT),
            Some(Command::Last)
        );
        assert_eq!(press(KeyCode::Char('c'), none), Some(Command::ClearView));
        assert_eq!(
            press(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Command::Quit)
        );
        assert_eq!(
            press(KeyCode::Char('d'), KeyModifiers::CONTROL),
            Some(Command::Diff)
        );
        assert_eq!(press(KeyCode::Char('x'), none), None);
        assert_eq!(press(KeyCode::Char('6'), none), None);
    }

    #[test]
    fn no_press_is_bound_twice() {
        let presses: Vec<Press> = KEYS.iter().flat_map(|b| b.presses).map(|p| p.0).collect();
        for (i, p) in presses.iter().enumerate() {
            assert!(!presses[..i].contains(p), "{p:?} is bound twice");
        }
    }
}
