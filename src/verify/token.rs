//! Auth that is not a signature: a shared token the sender repeats on every request. GitLab's
//! `X-Gitlab-Token`, HTTP Basic (`Authorization: Basic base64(user:password)`, the secret
//! being `user:password`) and a bearer token (`Authorization: Bearer <token>`). Each is
//! compared with the configured secrets in constant time (`subtle`). None of them covers the
//! body or any header: anyone who saw one request can send any body with it, and every
//! verdict says so. Only `X-Gitlab-Token` is picked by `--scheme auto`; an `Authorization`
//! header means too many things to be taken as a webhook credential unasked.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use subtle::ConstantTimeEq;

use super::config::VerifyConfig;
use super::judge::{judge, malformed, missing, present};
use super::recipe::Window;
use crate::model::capture::Header;
use crate::model::verdict::Verdict;

/// The token schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `X-Gitlab-Token: <token>`.
    Gitlab,
    /// `Authorization: Basic <base64 user:password>`.
    Basic,
    /// `Authorization: Bearer <token>`.
    Bearer,
}

/// GitLab's token header.
pub const GITLAB_HEADER: &str = "X-Gitlab-Token";

impl Kind {
    /// Scheme name in verdicts.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gitlab => "gitlab",
            Kind::Basic => "basic",
            Kind::Bearer => "bearer",
        }
    }

    fn header(self) -> &'static str {
        match self {
            Kind::Gitlab => GITLAB_HEADER,
            Kind::Basic | Kind::Bearer => "Authorization",
        }
    }
}

/// The credential in the request, or why it cannot be read.
fn credential(kind: Kind, value: &[u8]) -> Result<Vec<u8>, String> {
    let auth = |scheme: &str| -> Result<&[u8], String> {
        let n = scheme.len();
        match value.get(..n + 1) {
            Some(head) if head[..n].eq_ignore_ascii_case(scheme.as_bytes()) && head[n] == b' ' => {
                Ok(value[n + 1..].trim_ascii())
            }
            _ => Err(format!("Authorization is not {scheme} credentials")),
        }
    };
    match kind {
        Kind::Gitlab => Ok(value.to_vec()),
        Kind::Bearer => match auth("Bearer")? {
            [] => Err("Authorization: Bearer has no token".into()),
            t => Ok(t.to_vec()),
        },
        Kind::Basic => {
            let decoded = B64
                .decode(auth("Basic")?)
                .map_err(|_| "Authorization: Basic is not base64".to_string())?;
            if !decoded.contains(&b':') {
                return Err("Authorization: Basic has no user:password".into());
            }
            Ok(decoded)
        }
    }
}

const NOT_THE_BODY: &str = "a token, not a signature: it does not cover the body, so it proves nothing about what was sent";

/// Checks the request's token against the configured secrets.
pub fn verify(kind: Kind, headers: &[Header], cfg: &VerifyConfig, now: i64) -> Verdict {
    let name = kind.name();
    let Some(value) = present(headers, kind.header()) else {
        return missing(name, cfg, format!("no {} header", kind.header()));
    };
    let token = match credential(kind, value) {
        Ok(t) => t,
        Err(why) => return malformed(name, cfg, why),
    };
    let mut v = judge(name, cfg, None, now, Window::None, |s| {
        Ok(bool::from(s.expose().ct_eq(&token)))
    });
    v.reason = format!(
        "{} ({NOT_THE_BODY})",
        v.reason.replacen("signature", "token", 1)
    );
    v
}

/// The headers that carry `secret` as this kind of token.
pub fn sign(kind: Kind, secret: &[u8]) -> Vec<Header> {
    let value = match kind {
        Kind::Gitlab => secret.to_vec(),
        Kind::Bearer => [b"Bearer ".as_slice(), secret].concat(),
        Kind::Basic => format!("Basic {}", B64.encode(secret)).into_bytes(),
    };
    vec![Header::new(kind.header(), value)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::secret::Secret;
    use crate::model::verdict::Outcome;
    use rstest::rstest;

    fn check(kind: Kind, headers: &[(&str, &str)], secret: &str) -> Verdict {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new("other").unwrap(), Secret::new(secret).unwrap()],
            ..Default::default()
        };
        let h: Vec<Header> = headers
            .iter()
            .map(|(n, v)| Header::new(crate::model::text::ByteStr::copy_from(n), v.to_string()))
            .collect();
        verify(kind, &h, &cfg, 0)
    }

    // The contract (signature-schemes.md): absent or empty → missing_header; present but
    // unparsable → malformed_header; no match → invalid_signature.
    #[rstest]
    #[case::gitlab(Kind::Gitlab, "X-Gitlab-Token", "tok3n", Outcome::Valid)]
    #[case::gitlab_wrong(Kind::Gitlab, "X-Gitlab-Token", "tok3m", Outcome::InvalidSignature)]
    #[case::gitlab_longer(Kind::Gitlab, "X-Gitlab-Token", "tok3n ", Outcome::InvalidSignature)]
    #[case::gitlab_empty(Kind::Gitlab, "X-Gitlab-Token", "", Outcome::MissingHeader)]
    #[case::bearer(Kind::Bearer, "Authorization", "Bearer tok3n", Outcome::Valid)]
    #[case::bearer_lowercase_scheme(Kind::Bearer, "Authorization", "bearer tok3n", Outcome::Valid)]
    #[case::bearer_wrong(
        Kind::Bearer,
        "Authorization",
        "Bearer nope",
        Outcome::InvalidSignature
    )]
    #[case::bearer_no_token(Kind::Bearer, "Authorization", "Bearer ", Outcome::MalformedHeader)]
    #[case::bearer_as_basic(
        Kind::Bearer,
        "Authorization",
        "Basic dG9rM24=",
        Outcome::MalformedHeader
    )]
    #[case::bearer_absent(Kind::Bearer, "X-Other", "x", Outcome::MissingHeader)]
    // base64("user:tok3n") = dXNlcjp0b2szbg== (python3 base64.b64encode).
    #[case::basic(Kind::Basic, "Authorization", "Basic dXNlcjp0b2szbg==", Outcome::Valid)]
    #[case::basic_wrong(
        Kind::Basic,
        "Authorization",
        "Basic dXNlcjp0b2szbQ==",
        Outcome::InvalidSignature
    )]
    #[case::basic_not_base64(Kind::Basic, "Authorization", "Basic !!", Outcome::MalformedHeader)]
    #[case::basic_no_colon(
        Kind::Basic,
        "Authorization",
        "Basic dG9rM24=",
        Outcome::MalformedHeader
    )]
    fn verdicts(
        #[case] kind: Kind,
        #[case] header: &str,
        #[case] value: &str,
        #[case] expected: Outcome,
    ) {
        let secret = if kind == Kind::Basic {
            "user:tok3n"
        } else {
            "tok3n"
        };
        let v = check(kind, &[(header, value)], secret);
        assert_eq!(v.outcome, expected, "{}", v.reason);
        if matches!(expected, Outcome::Valid | Outcome::InvalidSignature) {
            assert!(v.reason.contains("does not cover the body"), "{}", v.reason);
        }
        if expected == Outcome::Valid {
            assert_eq!(v.matched_secret.unwrap().index, 1);
        }
    }

    #[rstest]
    fn sign_round_trips(#[values(Kind::Gitlab, Kind::Basic, Kind::Bearer)] kind: Kind) {
        let h = sign(kind, b"user:tok3n");
        let cfg = VerifyConfig {
            secrets: vec![Secret::new("user:tok3n").unwrap()],
            ..Default::default()
        };
        assert_eq!(verify(kind, &h, &cfg, 0).outcome, Outcome::Valid);
    }
}
