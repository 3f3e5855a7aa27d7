//! HTTPS for the listener and trust for hooklens' own clients.
//!
//! * [`local`]: the generated local CA and leaf certificate, kept in the user's data directory
//!   and reused across runs so trust survives restarts.
//! * [`load_pem`]: a user's own certificate chain and key, with errors that say what is wrong.
//! * [`server_config`]: rustls with ALPN `h2` + `http/1.1`; [`handshake`] runs inside the
//!   per-connection task and returns the [`TlsInfo`] recorded on each capture.
//! * [`client_config`]: what `send` and forwarding trust (system roots, `--cacert`, the local CA).
//!
//! Every config is built with the ring provider passed explicitly, so nothing depends on a
//! process-wide default provider being installed.

pub mod der;
pub mod local;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::model::capture::TlsInfo;

pub use der::CertFields;

/// How long a client gets to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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

/// ALPN protocols the listener offers, most preferred first.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A rustls server config (TLS 1.2 and 1.3, ALPN h2 + http/1.1) for an identity.
pub fn server_config(identity: &Identity) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A tokio-rustls acceptor for an identity.
pub fn acceptor(identity: &Identity) -> anyhow::Result<TlsAcceptor> {
    Ok(TlsAcceptor::from(server_config(identity)?))
}

/// What a finished handshake negotiated, as recorded on each capture.
pub fn info_of(conn: &rustls::ServerConnection) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "-".to_owned(),
    };
    let cipher = conn.negotiated_cipher_suite().map_or_else(
        || "-".to_owned(),
        |s| {
            let suite = s.suite();
            suite
                .as_str()
                .map_or_else(|| format!("{suite:?}"), str::to_owned)
        },
    );
    TlsInfo {
        version,
        cipher,
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        sni: conn.server_name().map(str::to_owned),
    }
}

/// HTTP methods whose first bytes mean "plain HTTP sent to the HTTPS port".
const PLAIN_HTTP_STARTS: [&[u8]; 9] = [
    b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"PATC", b"OPTI", b"CONN", b"PRI ",
];

/// Runs the server side of the handshake with a timeout.
///
/// The error is one line for the notice stream: plain HTTP on the TLS port, a client that
/// rejected the certificate, garbage and timeouts each say what happened.
pub async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Result<(TlsStream<TcpStream>, TlsInfo), String> {
    let attempt = async {
        let mut first = [0u8; 4];
        // Peeking leaves the bytes for rustls; it only sharpens the error message.
        let peeked = stream.peek(&mut first).await.unwrap_or(0);
        let plain = peeked == 4 && PLAIN_HTTP_STARTS.contains(&&first[..]);
        (acceptor.accept(stream).await, plain)
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt).await {
        Ok((Ok(tls), _)) => {
            let info = info_of(tls.get_ref().1);
            Ok((tls, info))
        }
        Ok((Err(_), true)) => Err(format!(
            "plain HTTP request from {peer} on the HTTPS port (use https://, or --tls-port to serve both)"
        )),
        Ok((Err(e), false)) => {
            let hint = if rejected_certificate(&e) {
                " (the client does not trust the certificate: trust the CA shown by `hooklens cert`)"
            } else {
                ""
            };
            Err(format!("TLS handshake with {peer} failed: {e}{hint}"))
        }
        Err(_) => Err(format!(
            "TLS handshake with {peer} timed out after {}s",
            HANDSHAKE_TIMEOUT.as_secs()
        )),
    }
}

/// True when the client ended the handshake with an alert about our certificate.
fn rejected_certificate(e: &std::io::Error) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::AlertReceived(
            A::UnknownCA
                | A::BadCertificate
                | A::CertificateUnknown
                | A::CertificateExpired
                | A::UnsupportedCertificate
                | A::AccessDenied
        ))
    )
}

/// The client config `send` and forwarding use for `https://` targets.
///
/// It trusts the system roots (the OS store, or `SSL_CERT_FILE`/`SSL_CERT_DIR` when set) and
/// every certificate in each `extra_ca` PEM file (`--cacert`). The hooklens local CA, when one
/// has been generated, is trusted too, but only for loopback targets (`localhost`,
/// `*.localhost`, `127.0.0.0/8`, `::1`), so a hooklens HTTPS listener on this machine works
/// without flags while a leaked local CA key cannot vouch for any other host.
/// ALPN is left empty: hyper-rustls' `HttpsConnectorBuilder::with_tls_config(..)
/// .enable_http1().enable_http2()` fills it in to match the client it builds.
pub fn client_config(extra_ca: &[PathBuf]) -> anyhow::Result<rustls::ClientConfig> {
    client_config_in(extra_ca, local::data_dir().ok().as_deref())
}

/// [`client_config`] with the data directory (where the local CA may be) given explicitly.
pub fn client_config_in(
    extra_ca: &[PathBuf],
    data_dir: Option<&Path>,
) -> anyhow::Result<rustls::ClientConfig> {
    let provider = provider();
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped; a missing store still leaves --cacert usable.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    for path in extra_ca {
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|e| {
                anyhow::anyhow!("{}: not a usable CA certificate: {e}", path.display())
            })?;
        }
    }
    let verifier = |roots: rustls::RootCertStore| {
        rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .ok()
    };
    let mut local_roots = rustls::RootCertStore::empty();
    if let Some(dir) = data_dir
        && let Ok(certs) = read_certs(&local::Paths::new(dir).ca_cert)
    {
        local_roots.add_parsable_certificates(certs);
    }
    let trust = LoopbackAware {
        main: (!roots.is_empty()).then(|| verifier(roots)).flatten(),
        local: (!local_roots.is_empty())
            .then(|| verifier(local_roots))
            .flatten(),
        schemes: provider.signature_verification_algorithms,
    };
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(trust))
        .with_no_client_auth();
    Ok(config)
}

/// True for names that can only mean this machine.
fn is_loopback(name: &rustls::pki_types::ServerName<'_>) -> bool {
    match name {
        rustls::pki_types::ServerName::DnsName(d) => {
            let d = d.as_ref().trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        rustls::pki_types::ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).is_loopback(),
        _ => false,
    }
}

/// Standard WebPKI verification, plus the local CA for loopback names only.
#[derive(Debug)]
struct LoopbackAware {
    main: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    local: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    schemes: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for LoopbackAware {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let main = match &self.main {
            Some(v) => v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        };
        match (main, &self.local) {
            (Err(_), Some(local)) if is_loopback(server_name) => {
                local.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            }
            (result, _) => result,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.schemes)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.schemes)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.schemes.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_count_as_local() {
        use rustls::pki_types::ServerName;
        let name = |s: &str| ServerName::try_from(s.to_owned()).unwrap();
        assert!(is_loopback(&name("localhost")));
        assert!(is_loopback(&name("api.LOCALHOST")));
        assert!(is_loopback(&name("127.0.0.2")));
        assert!(is_loopback(&name("::1")));
        assert!(!is_loopback(&name("localhost.example.com")));
        assert!(!is_loopback(&name("example.com")));
        assert!(!is_loopback(&name("10.0.0.1")));
    }

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
