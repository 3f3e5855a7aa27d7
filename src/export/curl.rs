//! Export formats as pure functions over a capture.
//!
//! `curl`: a runnable command that reproduces the request byte for byte, path included (`-g`
//! turns off curl's `[]`/`{}` globbing, `--path-as-is` keeps `/../`). Printable ASCII goes
//! in single quotes; anything else (controls, non-ASCII, invalid UTF-8) as `$'\xNN'`, so the
//! command is terminal-safe and nothing is lost. Bodies containing NUL (which no shell argument
//! can hold) are piped through `base64 -d`.

use std::path::Path;

use base64::Engine;

use crate::model::capture::Capture;
use crate::sanitize::shell_quote;

/// Headers curl computes itself from the body (sending ours too would duplicate them).
const CURL_COMPUTES: [&str; 3] = ["content-length", "transfer-encoding", "expect"];
/// Headers curl adds unless told not to (an empty `-H 'Name:'` removes them).
const CURL_DEFAULTS: [&str; 3] = ["user-agent", "accept", "content-type"];

/// A curl command reproducing the request: method, URL, every header in order and case, body.
/// With `body_file`, the body is read from that file (`--data-binary @file`).
pub fn command(capture: &Capture, body_file: Option<&Path>) -> String {
    let host = capture
        .header("host")
        .map(|h| String::from_utf8_lossy(h).into_owned())
        .unwrap_or_else(|| "127.0.0.1:8787".to_string());
    let scheme = if capture.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://{host}{}", capture.target);
    // `-g`: `[ ] { }` in a path are bytes, not curl's globbing; `--path-as-is`: `/../` and
    // `/./` go out as captured instead of being squashed.
    let mut parts = vec![
        "curl".to_string(),
        "-sS".to_string(),
        "-g".to_string(),
        "--path-as-is".to_string(),
        "-X".to_string(),
        shell_quote(capture.method.as_bytes()),
        shell_quote(url.as_bytes()),
    ];
    for h in &capture.headers {
        let lower = h.name.to_ascii_lowercase();
        if lower == "host" || CURL_COMPUTES.contains(&lower.as_str()) {
            continue;
        }
        let mut line = h.name.as_bytes().to_vec();
        if h.value.is_empty() {
            // curl drops `Name:` as "remove this header"; `Name;` sends it empty.
            line.push(b';');
        } else {
            line.extend_from_slice(b": ");
            line.extend_from_slice(&h.value);
        }
        parts.push("-H".into());
        parts.push(shell_quote(&line));
    }
    for name in CURL_DEFAULTS {
        if capture.header(name).is_none() {
            let title = match name {
                "user-agent" => "User-Agent:",
                "accept" => "Accept:",
                _ => "Content-Type:",
            };
            parts.push("-H".into());
            parts.push(shell_quote(title.as_bytes()));
        }
    }
    if !capture.body.is_empty() || body_file.is_some() {
        parts.push("--data-binary".into());
        parts.push(match body_file {
            Some(path) => shell_quote(format!("@{}", path.display()).as_bytes()),
            None if capture.body.contains(&0) => format!(
                "@<(printf %s {} | base64 -d)",
                shell_quote(
                    base64::engine::general_purpose::STANDARD
                        .encode(&capture.body)
                        .as_bytes()
                )
            ),
            None => shell_quote(&capture.body),
        });
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_keeps_header_order_and_case_and_suppresses_curl_defaults() {
        let c = Capture::fixture(
            b"{}",
            &[
                ("Host", "127.0.0.1:9"),
                ("X-ModelGates-Signature", "t=1,v1=ab"),
                ("Content-Type", "application/json"),
                ("Content-Length", "2"),
            ],
        );
        assert_eq!(
            command(&c, None),
            "curl -sS -g --path-as-is -X 'POST' 'http://127.0.0.1:9/modelgates/video-webhook' -H 'X-ModelGates-Signature: t=1,v1=ab' -H 'Content-Type: application/json' -H 'User-Agent:' -H 'Accept:' --data-binary '{}'"
        );
        let nul = Capture::fixture(b"a\x00b", &[("Host", "h")]);
        assert!(command(&nul, None).ends_with("--data-binary @<(printf %s 'YQBi' | base64 -d)"));
        assert!(
            command(&nul, Some(Path::new("/tmp/body.bin")))
                .ends_with("--data-binary '@/tmp/body.bin'")
        );
    }
}
