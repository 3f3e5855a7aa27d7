//! The public URL the URL-signed schemes (Twilio, Square, HubSpot v3) sign, and the forms of it
//! a mismatch usually comes from. A local listener cannot know the URL the provider called,
//! so it is configuration (`--public-url`), handed in as data: nothing here resolves names.
//! [`UrlSigned`] is the reading Twilio and Square share before they compare: the MAC header,
//! decoded, and the URL it signs, each failure its own verdict.

use super::config::{RequestLine, VerifyConfig};
use super::judge::{decode_mac, missing, present};
use crate::model::capture::Header;
use crate::model::verdict::{Hint, Outcome, Verdict};

/// A URL split into the parts the variants change.
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
}

fn split(url: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path_query) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => match rest.find('?') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        },
    };
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    // A port is what follows the last `:` outside an IPv6 literal's brackets.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    Some(Parts {
        scheme,
        host,
        port,
        path,
        query,
    })
}

fn join(
    p: &Parts<'_>,
    scheme: &str,
    port: Option<&str>,
    path: &str,
    query: Option<&str>,
) -> String {
    let mut s = format!("{scheme}://{}", p.host);
    if let Some(port) = port {
        s.push(':');
        s.push_str(port);
    }
    s.push_str(path);
    if let Some(q) = query {
        s.push('?');
        s.push_str(q);
    }
    s
}

fn default_port(scheme: &str) -> &'static str {
    if scheme.eq_ignore_ascii_case("http") {
        "80"
    } else {
        "443"
    }
}

/// The URL the provider called for this request: `--public-url` itself when it has a path or
/// a query, else that origin followed by the request's path and query. `None` when no public
/// URL is configured.
pub fn signed_url(cfg: &VerifyConfig, req: &RequestLine<'_>) -> Option<String> {
    let base = cfg.public_url.as_deref()?;
    let full =
        split(base).is_some_and(|p| !(p.path.is_empty() || p.path == "/") || p.query.is_some());
    if full || req.target.is_empty() {
        return Some(base.to_string());
    }
    Some(format!("{}{}", base.trim_end_matches('/'), req.target))
}

/// The same URL with its port written out and left out, as Twilio's SDKs try both.
pub fn port_forms(url: &str) -> Vec<String> {
    let Some(p) = split(url) else {
        return vec![url.to_string()];
    };
    let mut forms = vec![url.to_string()];
    let other = match p.port {
        Some(_) => join(&p, p.scheme, None, p.path, p.query),
        None => join(&p, p.scheme, Some(default_port(p.scheme)), p.path, p.query),
    };
    forms.push(other);
    forms
}

/// Other forms of `url` that senders and proxies commonly disagree on, each with what differs:
/// http vs https, the port, a trailing slash, the query.
pub fn variants(url: &str) -> Vec<(String, String)> {
    let Some(p) = split(url) else {
        return Vec::new();
    };
    let other_scheme = if p.scheme.eq_ignore_ascii_case("https") {
        "http"
    } else {
        "https"
    };
    let mut out = vec![(
        join(&p, other_scheme, p.port, p.path, p.query),
        format!("{other_scheme}:// instead of {}://", p.scheme),
    )];
    match p.port {
        Some(port) => out.push((
            join(&p, p.scheme, None, p.path, p.query),
            format!("without the port :{port}"),
        )),
        None => {
            let port = default_port(p.scheme);
            out.push((
                join(&p, p.scheme, Some(port), p.path, p.query),
                format!("with the port :{port} written out"),
            ));
        }
    }
    let toggled = match p.path.strip_suffix('/') {
        Some(without) => (without.to_string(), "without the trailing slash"),
        None => (format!("{}/", p.path), "with a trailing slash"),
    };
    out.push((
        join(&p, p.scheme, p.port, &toggled.0, p.query),
        toggled.1.to_string(),
    ));
    if p.query.is_some() {
        out.push((
            join(&p, p.scheme, p.port, p.path, None),
            "without the query string".to_string(),
        ));
    }
    out
}

/// When a variant of `url` makes `matches` true, the confirmed `url_form` hint naming it.
pub fn url_form_hint(url: &str, matches: impl Fn(&str) -> bool) -> Option<Hint> {
    let (found, how) = variants(url).into_iter().find(|(v, _)| matches(v))?;
    Some(Hint {
        code: "url_form".into(),
        message: format!(
            "the signature matches the URL {how}: {found} — the URL the provider was given differs from --public-url only in form"
        ),
    })
}

/// [`signed_url`], or the `unverified` verdict saying how to give it (`signs`: what the
/// provider signs, "Square signs the notification URL").
pub(crate) fn signed_url_or_say(
    scheme: &str,
    signs: &str,
    cfg: &VerifyConfig,
    req: &RequestLine<'_>,
) -> Result<String, Box<Verdict>> {
    signed_url(cfg, req).ok_or_else(|| {
        Box::new(Verdict::new(
            Some(scheme),
            Outcome::Unverified,
            format!("{signs}: give it with --public-url (or listen with --tunnel)"),
        ))
    })
}

/// A scheme that signs the URL it called with a base64 MAC in one header (Twilio, Square).
pub(crate) struct UrlSigned {
    /// The scheme's name in verdicts.
    pub name: &'static str,
    /// The header carrying the MAC.
    pub header: &'static str,
    /// The MAC's length in bytes.
    pub mac_len: usize,
    /// How a verdict names the MAC ("32-byte HMAC-SHA256").
    pub mac: &'static str,
    /// What the provider signs, for the verdict that asks for `--public-url`.
    pub signs: &'static str,
}

impl UrlSigned {
    /// The decoded MAC and the URL it signs; when either cannot be had, the verdict: no header
    /// is `missing`, a MAC that does not decode to its length `malformed`, no URL `unverified`.
    pub(crate) fn read(
        &self,
        req: &RequestLine<'_>,
        headers: &[Header],
        cfg: &VerifyConfig,
    ) -> Result<(Vec<u8>, String), Box<Verdict>> {
        let Some(sig) = present(headers, self.header) else {
            return Err(Box::new(missing(
                self.name,
                cfg,
                format!("no {} header", self.header),
            )));
        };
        let sig = decode_mac(self.name, cfg, self.header, sig, self.mac_len, self.mac)?;
        let url = signed_url_or_say(self.name, self.signs, cfg, req)?;
        Ok((sig, url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::origin_gets_the_target(
        "https://abc.example",
        "/hook?x=1",
        "https://abc.example/hook?x=1"
    )]
    #[case::origin_with_slash("https://abc.example/", "/hook", "https://abc.example/hook")]
    #[case::full_url_is_kept("https://abc.example/in/hook", "/hook", "https://abc.example/in/hook")]
    #[case::query_makes_it_full("https://abc.example?a=1", "/hook", "https://abc.example?a=1")]
    #[case::no_target("https://abc.example", "", "https://abc.example")]
    fn the_signed_url(#[case] public: &str, #[case] target: &str, #[case] expected: &str) {
        let cfg = VerifyConfig {
            public_url: Some(public.into()),
            ..Default::default()
        };
        let req = RequestLine {
            method: "POST",
            target,
        };
        assert_eq!(signed_url(&cfg, &req).as_deref(), Some(expected));
        assert_eq!(signed_url(&VerifyConfig::default(), &req), None);
    }

    #[test]
    fn variants_change_one_thing_each() {
        let v: Vec<String> = variants("https://a.example/hook/?x=1")
            .into_iter()
            .map(|(u, _)| u)
            .collect();
        assert_eq!(
            v,
            [
                "http://a.example/hook/?x=1",
                "https://a.example:443/hook/?x=1",
                "https://a.example/hook?x=1",
                "https://a.example/hook/",
            ]
        );
        assert_eq!(
            port_forms("http://[::1]:8080/h"),
            ["http://[::1]:8080/h", "http://[::1]/h"]
        );
        assert_eq!(
            port_forms("https://a.example"),
            ["https://a.example", "https://a.example:443"]
        );
    }
}
