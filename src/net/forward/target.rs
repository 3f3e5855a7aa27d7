//! The target and path rule of a forward or replay: a URL as the user typed it
//! ([`parse_target`]: no scheme means `http://`, the port must be 1–65535), where a captured
//! path goes under `--forward-path` ([`path_for`]), and the start line that shows it
//! ([`rule_line`]).

use crate::model::exchange::PathMode;
use crate::net::client::Target;

/// A receiver URL as the user typed it (`--forward-to`, `replay --to`): `http://` or
/// `https://`, or no scheme at all, which means `http://` (`localhost:3000/hook`; `:3000/hook`
/// and a bare `3000` mean `localhost`). The port must be 1–65535.
pub fn parse_target(typed: &str) -> Result<Target, String> {
    let s = typed.trim();
    let url = if s.contains("://") {
        s.to_owned()
    } else if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        format!("http://localhost:{s}")
    } else if let Some(rest) = s.strip_prefix(':') {
        format!("http://localhost:{rest}")
    } else {
        format!("http://{s}")
    };
    // The port as written: `http::Uri` reads 70000 as "no port" and 0 as a port.
    let after_scheme = url.split_once("://").map_or("", |(_, r)| r);
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    if let Some((_, port)) = authority[host_end..].rsplit_once(':') {
        match port.parse::<u32>() {
            Ok(1..=65535) => {}
            Ok(_) => {
                return Err(format!("{typed:?}: port {port} is out of range (1-65535)"));
            }
            Err(_) if port.is_empty() => {}
            Err(_) => return Err(format!("{typed:?}: the port {port:?} is not a number")),
        }
    }
    Target::parse(&url)
}

/// Where a request for `captured` (path and query as received) goes under `mode`.
pub fn path_for(captured: &str, target: &Target, mode: PathMode) -> String {
    match mode.resolve(&target.path) {
        PathMode::Exact | PathMode::Auto => {
            let query = target
                .query
                .clone()
                .or_else(|| captured.split_once('?').map(|(_, q)| q.to_string()));
            match query {
                Some(q) => format!("{}?{q}", target.path),
                None => target.path.clone(),
            }
        }
        PathMode::Prefix => {
            let base = target.path.trim_end_matches('/');
            let mut path = format!("{base}{captured}");
            if !path.starts_with('/') {
                path.insert(0, '/');
            }
            path
        }
    }
}

/// Where a delivery to `example_path` goes:
/// `forwarding POST /modelgates/video-webhook → http://127.0.0.1:3001/hook`.
pub fn rule_example(target: &Target, mode: PathMode, example_path: &str) -> String {
    let to = format!(
        "{}{}",
        target.origin(),
        path_for(example_path, target, mode)
    );
    format!("forwarding POST {example_path} → {to}")
}

/// The start line: [`rule_example`] and the rule in words.
pub fn rule_line(target: &Target, mode: PathMode, example_path: &str) -> String {
    let how = match (mode, mode.resolve(&target.path)) {
        (PathMode::Auto, PathMode::Exact) => {
            "--forward-path auto: the URL has a path, so every request goes to it; --forward-path prefix appends the captured path instead"
        }
        (PathMode::Auto, _) => {
            "--forward-path auto: the URL has no path, so the captured path and query are kept"
        }
        (PathMode::Exact, _) => "--forward-path exact: every request goes to the URL's path",
        (PathMode::Prefix, _) => {
            "--forward-path prefix: the captured path and query are appended to the URL's path"
        }
    };
    format!("{} ({how})", rule_example(target, mode, example_path))
}

#[cfg(test)]
mod target_tests {
    use super::*;

    fn to(typed: &str, captured: &str, mode: PathMode) -> String {
        let t = parse_target(typed).unwrap();
        format!("{}{}", t.origin(), path_for(captured, &t, mode))
    }

    #[test]
    fn auto_sends_to_the_url_typed_and_keeps_the_captured_path_without_one() {
        let hook = "/modelgates/video-webhook?attempt=2";
        let full = "http://127.0.0.1:3001/modelgates/video-webhook";
        assert_eq!(
            to(full, hook, PathMode::Auto),
            "http://127.0.0.1:3001/modelgates/video-webhook?attempt=2"
        );
        assert_eq!(
            to("http://h:1/in?k=v", hook, PathMode::Auto),
            "http://h:1/in?k=v"
        );
        assert_eq!(
            to("http://h:1", hook, PathMode::Auto),
            "http://h:1/modelgates/video-webhook?attempt=2"
        );
        assert_eq!(
            to("http://h:1/", hook, PathMode::Auto),
            "http://h:1/modelgates/video-webhook?attempt=2"
        );
        assert_eq!(
            to("http://h:1", hook, PathMode::Exact),
            "http://h:1/?attempt=2"
        );
        assert_eq!(
            to("http://h:1/api", hook, PathMode::Prefix),
            "http://h:1/api/modelgates/video-webhook?attempt=2"
        );
    }

    #[test]
    fn a_url_without_a_scheme_is_http_and_bad_ports_are_refused() {
        assert_eq!(
            to("localhost:3000/hook", "/x", PathMode::Auto),
            "http://localhost:3000/hook"
        );
        assert_eq!(
            to(":3000/hook", "/x", PathMode::Auto),
            "http://localhost:3000/hook"
        );
        assert_eq!(to("3000", "/x", PathMode::Auto), "http://localhost:3000/x");
        assert_eq!(
            to("https://[::1]:8443/h", "/x", PathMode::Auto),
            "https://[::1]:8443/h"
        );
        for bad in [
            "localhost:0",
            "localhost:65536",
            ":70000/hook",
            "0",
            "http://h:99999",
        ] {
            let e = parse_target(bad).unwrap_err();
            assert!(e.contains("out of range"), "{bad}: {e}");
        }
        assert!(parse_target("ftp://h").is_err());
        assert!(parse_target("h:x1").unwrap_err().contains("not a number"));
    }

    #[test]
    fn the_rule_line_shows_an_example() {
        let t = parse_target("http://127.0.0.1:3001/modelgates/video-webhook").unwrap();
        assert!(
            rule_line(&t, PathMode::Auto, "/modelgates/video-webhook").starts_with(
                "forwarding POST /modelgates/video-webhook → http://127.0.0.1:3001/modelgates/video-webhook ("
            )
        );
    }

    #[test]
    fn old_logs_keep_and_replace_still_read() {
        let keep: PathMode = serde_json::from_str("\"keep\"").unwrap();
        let replace: PathMode = serde_json::from_str("\"replace\"").unwrap();
        assert_eq!((keep, replace), (PathMode::Prefix, PathMode::Exact));
        assert_eq!(serde_json::to_string(&PathMode::Auto).unwrap(), "\"auto\"");
    }
}
