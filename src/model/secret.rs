//! `Secret`: a signing secret that never prints in full.
//!
//! `Debug` and `Display` are redacted; the only way to the bytes is [`Secret::expose`], used by
//! the HMAC code. Fingerprints (first 8 hex of SHA-256) identify a secret without revealing it.
//! [`from_sources`] is the one rule for where a command's secrets come from.

use std::fmt;

use sha2::{Digest, Sha256};

use super::text::ByteStr;

/// A webhook signing secret, with its fingerprint worked out once (every valid verdict
/// names the secret that matched, and hashing it per request would cost a SHA-256 each;
/// shared, it costs no allocation either).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String, ByteStr);

/// Why a secret was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// An empty (or whitespace-only) HMAC key lets anyone forge signatures.
    #[error(
        "empty secret refused (nothing but whitespace counts as empty): an HMAC with an empty key can be forged by anyone"
    )]
    Empty,
    /// The secret at this position (counted from 0) of several is empty.
    #[error("secret {index}: {empty}", empty = SecretError::Empty)]
    EmptyAt {
        /// Its position among the given secrets.
        index: usize,
    },
}

/// Environment variables that give the secret when no `--secret` is given; the first set wins.
pub const SECRET_ENV: [&str; 2] = ["MODELGATES_WEBHOOK_SECRET", "HOOKLENS_SECRET"];

/// The secrets to use: the `--secret` values when there are any, else the first variable of
/// [`SECRET_ENV`] that `env` knows (none: no secrets). An empty or blank one is refused.
pub fn from_sources(
    flags: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Secret>, SecretError> {
    let values: Vec<String> = if flags.is_empty() {
        SECRET_ENV
            .iter()
            .find_map(|var| env(var))
            .into_iter()
            .collect()
    } else {
        flags.to_vec()
    };
    values
        .into_iter()
        .enumerate()
        .map(|(index, v)| Secret::new(v).map_err(|_| SecretError::EmptyAt { index }))
        .collect()
}

impl Secret {
    /// Wraps a secret, refusing an empty or whitespace-only one (a blank line from a secrets
    /// manager or an unset shell variable).
    pub fn new(value: impl Into<String>) -> Result<Secret, SecretError> {
        let value = value.into();
        if value.trim().is_empty() {
            return Err(SecretError::Empty);
        }
        let digest = Sha256::digest(value.as_bytes());
        let fingerprint = hex::encode(&digest[..4]).into();
        Ok(Secret(value, fingerprint))
    }

    /// The secret bytes, for computing MACs only.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The secret as text, for computing MACs only.
    pub fn expose_str(&self) -> &str {
        &self.0
    }

    /// First 8 hex digits of SHA-256 of the secret: names a secret without revealing it.
    pub fn fingerprint(&self) -> ByteStr {
        self.1.clone()
    }

    /// A short redacted form such as `dev…(10)`: a few leading characters (never more than a
    /// third of the secret) and the length.
    pub fn redacted(&self) -> String {
        let chars = self.0.chars().count();
        let shown = (chars / 3).min(4);
        let prefix: String = self
            .0
            .chars()
            .take(shown)
            .map(|c| if c.is_ascii_graphic() { c } else { '?' })
            .collect();
        format!("{prefix}…({chars})")
    }

    /// Warnings about how this secret looks (whitespace, newline, another scheme's prefix).
    pub fn hygiene_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let s = &self.0;
        if s.ends_with('\n') || s.ends_with('\r') {
            warnings.push(
                "ends with a newline (typical of $(cat file) or echo); the provider signs without it"
                    .to_string(),
            );
        } else if s.trim() != s {
            warnings.push("has leading or trailing whitespace".to_string());
        }
        if s.starts_with("whsec_") {
            warnings.push(
                "starts with whsec_, the prefix of Standard Webhooks/Svix and Stripe secrets; \
                 ModelGates uses the secret as-is"
                    .to_string(),
            );
        }
        warnings
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_in_full() {
        let s = Secret::new("dev_secret").unwrap();
        assert_eq!(s.to_string(), "dev…(10)");
        assert!(!format!("{s:?}").contains("dev_secret"));
        let tiny = Secret::new("ab").unwrap();
        assert_eq!(tiny.to_string(), "…(2)");
    }

    #[test]
    fn fingerprint_is_sha256_prefix() {
        let s = Secret::new("dev_secret").unwrap();
        let full = hex::encode(Sha256::digest(b"dev_secret"));
        assert_eq!(s.fingerprint(), full[..8]);
    }

    #[test]
    fn empty_is_refused_and_hygiene_is_reported() {
        assert_eq!(Secret::new(""), Err(SecretError::Empty));
        assert_eq!(Secret::new(" \t\n"), Err(SecretError::Empty));
        let nl = Secret::new("dev_secret\n").unwrap();
        assert!(nl.hygiene_warnings()[0].contains("newline"));
        let sp = Secret::new(" dev_secret").unwrap();
        assert!(sp.hygiene_warnings()[0].contains("whitespace"));
        let wh = Secret::new("whsec_abc").unwrap();
        assert!(wh.hygiene_warnings()[0].contains("whsec_"));
        assert!(
            Secret::new("dev_secret")
                .unwrap()
                .hygiene_warnings()
                .is_empty()
        );
    }

    #[test]
    fn flags_win_over_the_environment_in_order() {
        let env = |name: &str| match name {
            "MODELGATES_WEBHOOK_SECRET" => Some("from_mg".to_string()),
            "HOOKLENS_SECRET" => Some("from_hl".to_string()),
            _ => None,
        };
        let names = |v: Vec<Secret>| {
            v.iter()
                .map(|s| s.expose_str().to_owned())
                .collect::<Vec<_>>()
        };
        let flags = ["a".to_string(), "b".to_string()];
        assert_eq!(names(from_sources(&flags, env).unwrap()), ["a", "b"]);
        assert_eq!(names(from_sources(&[], env).unwrap()), ["from_mg"]);
        let only_hl = |name: &str| (name == "HOOKLENS_SECRET").then(|| "from_hl".to_string());
        assert_eq!(names(from_sources(&[], only_hl).unwrap()), ["from_hl"]);
        assert!(from_sources(&[], |_| None).unwrap().is_empty());
        let err = from_sources(&["a".into(), String::new()], env).unwrap_err();
        assert_eq!(err, SecretError::EmptyAt { index: 1 });
        assert!(
            err.to_string()
                .starts_with("secret 1: empty secret refused"),
            "{err}"
        );
        assert_eq!(
            from_sources(&[], |_| Some(String::new())),
            Err(SecretError::EmptyAt { index: 0 })
        );
    }
}
