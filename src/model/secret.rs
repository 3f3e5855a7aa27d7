//! `Secret`: a signing secret that never prints in full.
//!
//! `Debug` and `Display` are redacted; the only ways to the bytes are [`Secret::expose`] and
//! the HMAC-SHA256 state keyed with them ([`Secret::hmac_sha256`]), both used by the HMAC
//! code. Fingerprints (first 8 hex of SHA-256) identify a secret without revealing it.
//! [`from_sources`] is the one rule for where a command's secrets come from.

use std::fmt;

use hmac::Hmac;
use hmac::digest::KeyInit;
use sha2::{Digest, Sha256};

use super::text::ByteStr;

/// A webhook signing secret, with what every request would otherwise work out again from it
/// done once: its fingerprint (every valid verdict names the secret that matched; shared, it
/// costs no allocation either) and an HMAC-SHA256 keyed with it (keying hashes the inner and
/// outer pads, two SHA-256 blocks, for every secret tried on every request; a clone of the
/// keyed state costs neither).
#[derive(Clone)]
pub struct Secret {
    value: String,
    fingerprint: ByteStr,
    hmac_sha256: Hmac<Sha256>,
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        // The rest is derived from the value.
        self.value == other.value
    }
}

impl Eq for Secret {}

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
        // HMAC takes a key of any length; this cannot fail.
        let hmac_sha256 =
            Hmac::<Sha256>::new_from_slice(value.as_bytes()).expect("HMAC takes any key length");
        Ok(Secret {
            value,
            fingerprint,
            hmac_sha256,
        })
    }

    /// The secret bytes, for computing MACs only.
    pub fn expose(&self) -> &[u8] {
        self.value.as_bytes()
    }

    /// The secret as text, for computing MACs only.
    pub fn expose_str(&self) -> &str {
        &self.value
    }

    /// HMAC-SHA256 keyed with the secret's bytes, nothing absorbed yet: clone it per message
    /// (the same MAC as keying anew). Its `Debug` names only the algorithm.
    pub fn hmac_sha256(&self) -> &Hmac<Sha256> {
        &self.hmac_sha256
    }

    /// First 8 hex digits of SHA-256 of the secret: names a secret without revealing it.
    pub fn fingerprint(&self) -> ByteStr {
        self.fingerprint.clone()
    }

    /// A short redacted form such as `dev…(10)`: a few leading characters (never more than a
    /// third of the secret) and the length.
    pub fn redacted(&self) -> String {
        let chars = self.value.chars().count();
        let shown = (chars / 3).min(4);
        let prefix: String = self
            .value
            .chars()
            .take(shown)
            .map(|c| if c.is_ascii_graphic() { c } else { '?' })
            .collect();
        format!("{prefix}…({chars})")
    }

    /// Warnings about how this secret looks (whitespace, newline, another scheme's prefix).
    pub fn hygiene_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let s = &self.value;
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
        // The keyed state does not print its key (nor the pads derived from it) either.
        let state = format!("{:?}", s.hmac_sha256());
        assert!(
            !state.contains("dev_secret") && !state.contains("0x"),
            "{state}"
        );
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
