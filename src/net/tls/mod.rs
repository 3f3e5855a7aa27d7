//! HTTPS for the listener and trust for hooklens' own clients.
//!
//! * [`local`]: the generated local CA and leaf certificate, kept in the user's data directory
//!   and reused across runs so trust survives restarts.
//! * [`cert`]: a user's own certificate chain and key ([`load_pem`]), with errors that say what
//!   is wrong, and the helpers the CA code shares (fingerprints, dates, the ring provider).
//! * [`server_config`]: rustls with ALPN `h2` + `http/1.1`; [`handshake`] runs inside the
//!   per-connection task and returns the [`TlsInfo`] recorded on each capture.
//! * [`client_config`]: what `send` and forwarding trust (system roots, `--cacert`, the local CA).
//!
//! Every config is built with the ring provider passed explicitly, so nothing depends on a
//! process-wide default provider being installed.

pub mod cert;
pub mod der;
pub mod local;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::model::capture::TlsInfo;

pub use cert::{Identity, TlsError, date, fingerprint, load_pem, now_secs, provider, read_certs};
pub use der::CertFields;

/// How long a client gets to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// ALPN protocols offered by the listener and by the outbound client, most preferred first.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// ALPN offered by a client that speaks only HTTP/1.1.
pub const ALPN_HTTP1: [&[u8]; 1] = [b"http/1.1"];

/// An ALPN list as rustls configs hold it.
pub fn alpn(protocols: &[&[u8]]) -> Vec<Vec<u8>> {
    protocols.iter().map(|p| p.to_vec()).collect()
}

/// A rustls server config (TLS 1.2 and 1.3, ALPN h2 + http/1.1) for an identity.
pub fn server_config(identity: &Identity) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    config.alpn_protocols = alpn(&ALPN);
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
/// ALPN is left empty: whoever builds the client sets it to what that client speaks
/// ([`crate::net::client::Client::new`] and `http1_only` do; hyper-rustls'
/// `HttpsConnectorBuilder::with_tls_config(..).enable_http1().enable_http2()` does for `send`).
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
}
