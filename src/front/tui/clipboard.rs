//! The terminal clipboard: `y` copies with OSC 52 (it works over SSH), and says so when the
//! sequence cannot reach a clipboard: under tmux only `set-clipboard on` passes a program's
//! OSC 52 on (the default, `external`, drops it), GNU screen drops it, the Linux console has
//! no clipboard. The decision, [`reachable`], is pure; [`copy`] asks the real environment.

use std::io::Write;

use base64::Engine;

/// Why a copy cannot reach a clipboard, when that is known. `env` reads environment
/// variables; `tmux_clipboard` asks tmux for its `set-clipboard` option (only called under
/// tmux).
pub fn reachable(
    env: impl Fn(&str) -> Option<String>,
    tmux_clipboard: impl FnOnce() -> Option<String>,
) -> Result<(), String> {
    if env("TMUX").is_some_and(|t| !t.is_empty()) {
        return match tmux_clipboard().as_deref().map(str::trim) {
            Some("on") => Ok(()),
            Some(value) => Err(format!(
                "tmux has set-clipboard {value}, which drops OSC 52 from programs; run: tmux set -s set-clipboard on"
            )),
            None => Err(
                "tmux did not say whether set-clipboard is on (OSC 52 needs it on: tmux set -s set-clipboard on)".into(),
            ),
        };
    }
    if env("STY").is_some_and(|t| !t.is_empty()) {
        return Err("GNU screen does not pass OSC 52 on to the terminal".into());
    }
    match env("TERM").as_deref() {
        Some("linux") => Err("the Linux console has no clipboard".into()),
        Some("dumb") | None => Err("this terminal does not say it understands OSC 52".into()),
        _ => Ok(()),
    }
}

/// Copies `text` with OSC 52 when the clipboard can be reached; else says why not.
pub fn copy(text: &str) -> Result<(), String> {
    reachable(
        |name| std::env::var(name).ok(),
        || {
            let out = std::process::Command::new("tmux")
                .args(["show-options", "-sv", "set-clipboard"])
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        },
    )?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let mut out = std::io::stdout();
    write!(out, "\x1b]52;c;{b64}\x07")
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing to the terminal: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn tmux_needs_set_clipboard_on() {
        let tmux = [
            ("TMUX", "/tmp/tmux-1000/default,1,0"),
            ("TERM", "tmux-256color"),
        ];
        assert_eq!(reachable(env(&tmux), || Some("on\n".into())), Ok(()));
        let off = reachable(env(&tmux), || Some("external\n".into())).unwrap_err();
        assert!(
            off.contains("set-clipboard external") && off.contains("set-clipboard on"),
            "{off}"
        );
        assert!(reachable(env(&tmux), || None).is_err());
    }

    #[test]
    fn terminals_without_a_clipboard_say_so() {
        assert_eq!(
            reachable(env(&[("TERM", "xterm-256color")]), || None),
            Ok(())
        );
        assert!(reachable(env(&[("TERM", "linux")]), || None).is_err());
        assert!(reachable(env(&[("TERM", "screen"), ("STY", "1.pts")]), || None).is_err());
    }
}
