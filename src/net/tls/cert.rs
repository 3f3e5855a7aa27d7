//! Certificates and keys on disk: reading a user's PEM chain and key into an [`Identity`],
//! the errors that say what is wrong with them ([`TlsError`]), and the small helpers the listener
//! and the local CA share (the ring [`provider`], SHA-256 [`fingerprint`]s, [`date`]s).
//!
//! A leaf: both `tls` (the configs) and `tls::local` (the generated CA) import it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

use crate::net::tls::der::{self, CertFields};

/// Why a certificate or key could not be used. The messages are shown to the user as-is.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file does not exist.
    #[error("{what} file {} does not exist", path.display())]
    Missing {
        /// "certificate" or "key".
        what: &'static str,
        /// The path given.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("cannot read {what} file {}: {source}", path.display())]
    Read {
        /// "certificate" or "key".
        what: &'static str,
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file holds no PEM certificate.
    #[error(
        "{} contains no PEM certificate (expected a block starting with -----BEGIN CERTIFICATE-----)",
        path.display()
    )]
    NoCertificate {
        /// The path given.
        path: PathBuf,
    },
    /// The file holds no PEM private key.
    #[error(
        "{} contains no PEM private key (expected -----BEGIN PRIVATE KEY----- (PKCS#8), -----BEGIN RSA PRIVATE KEY----- or -----BEGIN EC PRIVATE KEY-----)",
        path.display()
    )]
    NoKey {
        /// The path given.
        path: PathBuf,
    },
    /// The key is password-protected.
    #[error(
        "the key in {} is encrypted; hooklens needs it unencrypted (openssl pkey -in KEY -out plain-key.pem)",
        path.display()
    )]
    EncryptedKey {
        /// The path given.
        path: PathBuf,
    },
    /// The PEM text is damaged.
    #[error("{} is not valid PEM: {detail}", path.display())]
    BadPem {
        /// The path given.
        path: PathBuf,
        /// What the PEM reader said.
        detail: String,
    },
    /// A certificate in the file is not X.509 DER.
    #[error("{} holds a certificate hooklens cannot read (not X.509)", path.display())]
    BadCertificate {
        /// The path given.
        path: PathBuf,
    },
    /// The key type is not one rustls can sign with.
    #[error("the key in {} is not usable: {detail} (use an RSA, ECDSA P-256/P-384 or Ed25519 key)", path.display())]
    UnsupportedKey {
        /// The path given.
        path: PathBuf,
        /// What rustls said.
        detail: String,
    },
    /// The key is valid but belongs to another certificate.
    #[error("the key {} does not match the certificate {} (its public key differs)", key.display(), cert.display())]
    KeyMismatch {
        /// The certificate path.
        cert: PathBuf,
        /// The key path.
        key: PathBuf,
    },
}

/// A certificate chain and key ready to serve, with what to tell the user about it.
#[derive(Debug)]
pub struct Identity {
    /// Leaf first, then intermediates (and possibly the root).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// What the leaf says.
    pub leaf: CertFields,
    /// SHA-256 of the leaf, colon-separated hex.
    pub leaf_sha256: String,
    /// Warnings to print (expired, not yet valid, name missing). Not fatal.
    pub warnings: Vec<String>,
}

/// The ring provider every hooklens TLS config is built with.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Seconds since the epoch now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `AB:CD:…` SHA-256 of DER bytes, the form browsers and `openssl x509 -fingerprint` show.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let mut out = String::with_capacity(digest.len() * 3);
    for (i, b) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// `2026-11-26` for a unix time.
pub fn date(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| secs.to_string())
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            TlsError::Missing {
                what,
                path: path.to_owned(),
            }
        } else {
            TlsError::Read {
                what,
                path: path.to_owned(),
                source,
            }
        }
    })
}

/// Reads every certificate in a PEM file (a full chain is fine; leaf first).
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file("certificate", path)?;
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(&pem) {
        let cert = item.map_err(|e| TlsError::BadPem {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file("key", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound
            if pem
                .windows(b"ENCRYPTED PRIVATE KEY".len())
                .any(|w| w == b"ENCRYPTED PRIVATE KEY") =>
        {
            TlsError::EncryptedKey {
                path: path.to_owned(),
            }
        }
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_owned(),
        },
        other => TlsError::BadPem {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    })
}

/// Warnings for a certificate that is expired or not yet valid at `now`.
fn date_warnings(label: &str, fields: &CertFields, now: i64) -> Vec<String> {
    let mut out = Vec::new();
    if fields.not_after < now {
        out.push(format!(
            "{label} expired on {}; clients will reject it",
            date(fields.not_after)
        ));
    } else if fields.not_before > now {
        out.push(format!(
            "{label} is not valid until {}; clients will reject it",
            date(fields.not_before)
        ));
    }
    out
}

/// Loads a user's PEM certificate chain and private key (PKCS#8, RSA or EC).
///
/// A missing file, a non-PEM file, an unusable key and a key of another certificate are errors;
/// an expired or not-yet-valid certificate is served anyway, with a warning in
/// [`Identity::warnings`] (testing how a sender reacts to it is a legitimate use).
pub fn load_pem(cert_path: &Path, key_path: &Path) -> Result<Identity, TlsError> {
    let chain = read_certs(cert_path)?;
    let key = read_key(key_path)?;
    let signer = provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| TlsError::UnsupportedKey {
            path: key_path.to_owned(),
            detail: e.to_string(),
        })?;
    match CertifiedKey::new(chain.clone(), signer).keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(TlsError::KeyMismatch {
                cert: cert_path.to_owned(),
                key: key_path.to_owned(),
            });
        }
        Err(_) => {
            return Err(TlsError::BadCertificate {
                path: cert_path.to_owned(),
            });
        }
    }
    let leaf = der::parse(&chain[0]).ok_or_else(|| TlsError::BadCertificate {
        path: cert_path.to_owned(),
    })?;
    let warnings = date_warnings(
        &format!("the certificate {}", cert_path.display()),
        &leaf,
        now_secs(),
    );
    Ok(Identity {
        leaf_sha256: fingerprint(&chain[0]),
        chain,
        key,
        leaf,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_colon_hex() {
        let f = fingerprint(b"abc");
        assert_eq!(f.len(), 32 * 3 - 1);
        assert!(f.starts_with("BA:78:16:BF:"));
    }

    #[test]
    fn date_warnings_cover_both_ends() {
        let fields = CertFields {
            common_name: None,
            names: vec![],
            not_before: 1000,
            not_after: 2000,
        };
        assert!(date_warnings("c", &fields, 1500).is_empty());
        assert!(date_warnings("c", &fields, 2500)[0].contains("expired on 1970-01-01"));
        assert!(date_warnings("c", &fields, 500)[0].contains("not valid until"));
    }
}
