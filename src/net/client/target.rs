//! Where a request goes: a parsed `http://` or `https://` URL.

/// A parsed forward target (`--forward-to`, `--to`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// True for `https`.
    pub https: bool,
    /// Host name or IP literal (without brackets).
    pub host: String,
    /// Port (default 80/443).
    pub port: u16,
    /// `Host` header value: the authority as written in the URL.
    pub authority: String,
    /// Path of the URL (`/` when empty).
    pub path: String,
    /// Query of the URL, without `?`.
    pub query: Option<String>,
}

impl Target {
    /// Parses `http://host[:port][/path][?query]` or `https://…`.
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("not a URL: {url:?} ({e})"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => {
                return Err(format!(
                    "{url:?}: the URL must start with http:// or https://"
                ));
            }
        };
        let auth = uri
            .authority()
            .ok_or_else(|| format!("{url:?}: no host in the URL"))?;
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        Ok(Target {
            https,
            host: host.to_string(),
            port: auth.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: auth.as_str().to_string(),
            path: match uri.path() {
                "" => "/".into(),
                p => p.to_string(),
            },
            query: uri.query().map(str::to_owned),
        })
    }

    /// `scheme://authority`, for messages.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = Target::parse("http://127.0.0.1:3000/api?x=1").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 3000, "/api")
        );
        assert_eq!(t.query.as_deref(), Some("x=1"));
        let t = Target::parse("https://[::1]").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 443, "/")
        );
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("localhost:3000").is_err());
    }
}
