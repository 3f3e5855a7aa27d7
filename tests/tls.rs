//! HTTPS end to end: real handshakes against an in-process listener on 127.0.0.1:0, real
//! certificate files in temporary data directories, and curl, Node and openssl (required
//! under `CI=true`, see `common::require_tool`).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hooklens::model::capture::TlsInfo;
use hooklens::model::record::Event;
use hooklens::model::secret::Secret;
use hooklens::net::server::{Endpoint, ListenConfig, Listener, serve_endpoints};
use hooklens::net::tls::{self, Identity, TlsError, local};
use hooklens::store::Store;
use hooklens::verify::{VerifyConfig, modelgates};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const SECRET: &str = "whsec_tls_test_secret_0123456789abcdef";
/// A guard against hangs, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(20);

struct Running {
    /// Address of each endpoint, in the order given.
    addrs: Vec<SocketAddr>,
    store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(PATIENCE, &mut self.task)
            .await
            .expect("server stops")
            .expect("server task did not panic");
    }

    fn last_tls(&self) -> Option<TlsInfo> {
        let id = self.store.index().rows().last().expect("a capture").id;
        self.store.load(id).expect("capture loads").capture.tls
    }
}

/// Starts a listener with one endpoint per entry (`Some(identity)` = HTTPS).
async fn start(endpoints: Vec<Option<&Identity>>) -> Running {
    let (store, _writer, _) = Store::open(None).unwrap();
    let config = ListenConfig {
        verify: VerifyConfig {
            secrets: vec![Secret::new(SECRET).unwrap()],
            tolerance_secs: 300,
            ..VerifyConfig::default()
        },
        ..ListenConfig::default()
    };
    let mut eps = Vec::new();
    let mut addrs = Vec::new();
    for identity in endpoints {
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(tcp.local_addr().unwrap());
        eps.push(Endpoint {
            tcp,
            tls: identity.map(|i| tls::acceptor(i).unwrap()),
        });
    }
    let state = Arc::new(Listener::new(config, store.clone()));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve_endpoints(eps, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running {
        addrs,
        store,
        stop: Some(stop),
        task,
    }
}

fn names(extra: &[&str]) -> Vec<String> {
    let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    local::leaf_names(&extra).unwrap()
}

fn generated(dir: &Path) -> local::Local {
    local::ensure(dir, &names(&[]), false).unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Proto {
    Http1,
    H2,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

fn client(config: rustls::ClientConfig, proto: Proto) -> HttpsClient {
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only();
    let connector = match proto {
        Proto::Http1 => builder.enable_http1().build(),
        Proto::H2 => builder.enable_http2().build(),
    };
    Client::builder(TokioExecutor::new())
        .http2_only(proto == Proto::H2)
        .build(connector)
}

/// Posts a correctly signed ModelGates delivery; returns the status or the client error text.
async fn post_signed(client: &HttpsClient, url: &str) -> Result<u16, String> {
    let body = br#"{"type":"video.completed","data":{"id":"vid_tls"}}"#;
    let t = tls::now_secs();
    let req = http::Request::post(url)
        .header("Content-Type", "application/json")
        .header(
            modelgates::SIGNATURE_HEADER,
            modelgates::signature_header(SECRET.as_bytes(), t, body),
        )
        .header(modelgates::IDEMPOTENCY_HEADER, format!("key-{t}"))
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let resp = tokio::time::timeout(PATIENCE, client.request(req))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| format!("{e:?}"))?;
    let status = resp.status().as_u16();
    let _ = resp.into_body().collect().await;
    Ok(status)
}

fn trusting(data_dir: &Path) -> rustls::ClientConfig {
    tls::client_config_in(&[], Some(data_dir)).unwrap()
}

async fn next_notice(rx: &mut tokio::sync::broadcast::Receiver<Event>) -> String {
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(Event::Notice(text)) = rx.recv().await {
                return text;
            }
        }
    })
    .await
    .expect("a notice arrives")
}

/// SHA-256 of the leaf certificate a TLS server presents for `sni`, or the handshake error.
async fn try_served_fingerprint(
    addr: SocketAddr,
    config: rustls::ClientConfig,
    sni: &str,
) -> Result<String, String> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(sni.to_owned()).unwrap();
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let certs = stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("a certificate");
    Ok(tls::fingerprint(&certs[0]))
}

async fn served_fingerprint(addr: SocketAddr, data_dir: &Path, sni: &str) -> String {
    try_served_fingerprint(addr, trusting(data_dir), sni)
        .await
        .expect("handshake")
}

#[tokio::test]
async fn signed_delivery_over_https_http1_and_h2_records_tls_details() {
    let dir = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let server = start(vec![Some(&local.identity)]).await;
    let port = server.addr().port();

    let h1 = client(trusting(dir.path()), Proto::Http1);
    let url = format!("https://localhost:{port}/hooks/modelgates");
    assert_eq!(post_signed(&h1, &url).await, Ok(204));
    let info = server.last_tls().expect("TLS details recorded");
    assert_eq!(info.version, "TLSv1.3");
    assert!(info.cipher.starts_with("TLS13_"), "{}", info.cipher);
    // hyper-rustls offers no ALPN when it only speaks HTTP/1.1; the curl test covers http/1.1.
    assert_eq!(info.alpn, None);
    assert_eq!(info.sni.as_deref(), Some("localhost"));
    let id = server.store.index().rows().last().unwrap().id;
    let record = server.store.load(id).unwrap();
    assert_eq!(record.verdict.outcome.name(), "valid");
    assert_eq!(record.capture.version.as_str(), "HTTP/1.1");

    let h2 = client(trusting(dir.path()), Proto::H2);
    assert_eq!(post_signed(&h2, &url).await, Ok(204));
    let info = server.last_tls().unwrap();
    assert_eq!(info.alpn.as_deref(), Some("h2"));
    let id = server.store.index().rows().last().unwrap().id;
    assert_eq!(
        server.store.load(id).unwrap().capture.version.as_str(),
        "HTTP/2"
    );

    // By IP: the certificate covers 127.0.0.1 and clients send no SNI for an address.
    let by_ip = format!("https://127.0.0.1:{port}/hooks");
    assert_eq!(post_signed(&h1, &by_ip).await, Ok(204));
    assert_eq!(server.last_tls().unwrap().sni, None);

    // The show view and the --json line carry the same details.
    let record = server
        .store
        .load(server.store.index().rows()[0].id)
        .unwrap();
    let text = hooklens::front::show::show_text(&record, None, &[]);
    assert!(
        text.contains("tls       TLSv1.3 TLS13_") && text.contains("alpn=- sni=localhost"),
        "{text}"
    );
    let summary = server.store.index().rows()[0].clone();
    let mut j = hooklens::front::printer::json_capture(&summary, &record.verdict);
    j.tls = record.capture.tls.as_ref();
    let json: serde_json::Value =
        serde_json::from_str(&hooklens::sanitize::to_json_line(&j)).unwrap();
    assert_eq!(json["tls"]["version"], "TLSv1.3");
    assert_eq!(json["tls"]["alpn"], serde_json::Value::Null);
    assert!(
        json["tls"]["cipher"]
            .as_str()
            .unwrap()
            .starts_with("TLS13_")
    );
    assert_eq!(json["tls"]["sni"], "localhost");
    server.stop().await;
}

#[tokio::test]
async fn captured_events_carry_tls_for_the_json_printer() {
    let dir = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let server = start(vec![Some(&local.identity)]).await;
    let mut events = server.store.subscribe();
    let h1 = client(trusting(dir.path()), Proto::Http1);
    let url = format!("https://localhost:{}/", server.addr().port());
    assert_eq!(post_signed(&h1, &url).await, Ok(204));
    let stored = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(Event::Captured(s)) = events.recv().await {
                return s;
            }
        }
    })
    .await
    .unwrap();
    let tls = stored.tls.as_ref().expect("event has TLS details");
    assert_eq!(tls.sni.as_deref(), Some("localhost"));
    server.stop().await;
}

#[tokio::test]
async fn a_distrusting_client_fails_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let server = start(vec![Some(&local.identity)]).await;
    let mut notices = server.store.subscribe();
    let url = format!("https://localhost:{}/", server.addr().port());

    // Trusts only the system roots (the other data dir holds no CA).
    let stranger = client(trusting(other.path()), Proto::Http1);
    let err = post_signed(&stranger, &url)
        .await
        .expect_err("an untrusted certificate must be refused");
    assert!(err.contains("UnknownIssuer"), "{err}");
    let notice = next_notice(&mut notices).await;
    assert!(notice.contains("TLS handshake with 127.0.0.1:"), "{notice}");
    assert!(notice.contains("hooklens cert"), "{notice}");

    let friend = client(trusting(dir.path()), Proto::Http1);
    assert_eq!(post_signed(&friend, &url).await, Ok(204));
    assert_eq!(
        server.store.index().len(),
        1,
        "the failed handshake is no capture"
    );
    server.stop().await;
}

#[tokio::test]
async fn plain_http_and_garbage_on_the_tls_port_give_one_notice_each() {
    let dir = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let server = start(vec![Some(&local.identity)]).await;
    let mut notices = server.store.subscribe();

    let mut plain = TcpStream::connect(server.addr()).await.unwrap();
    plain
        .write_all(b"POST /hooks HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}")
        .await
        .unwrap();
    let notice = next_notice(&mut notices).await;
    assert!(
        notice.contains("plain HTTP request from 127.0.0.1:") && notice.contains("HTTPS port"),
        "{notice}"
    );
    // The server closes that connection rather than leaving it hanging.
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, plain.read_to_end(&mut rest)).await;

    let mut garbage = TcpStream::connect(server.addr()).await.unwrap();
    garbage
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00])
        .await
        .unwrap();
    let notice = next_notice(&mut notices).await;
    assert!(notice.contains("TLS handshake with 127.0.0.1:"), "{notice}");
    assert!(
        !notice.contains("does not trust"),
        "garbage is not distrust: {notice}"
    );

    let friend = client(trusting(dir.path()), Proto::H2);
    let url = format!("https://localhost:{}/", server.addr().port());
    assert_eq!(post_signed(&friend, &url).await, Ok(204));
    while let Ok(event) = notices.try_recv() {
        assert!(
            !matches!(event, Event::Notice(_)),
            "one line per failed connection: {event:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_client_that_never_handshakes() {
    let dir = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let server = start(vec![Some(&local.identity)]).await;
    let mut notices = server.store.subscribe();
    let _silent = TcpStream::connect(server.addr()).await.unwrap();
    // Make sure the connection is accepted (its handshake task is running) before stopping.
    let friend = client(trusting(dir.path()), Proto::Http1);
    let url = format!("https://localhost:{}/", server.addr().port());
    assert_eq!(post_signed(&friend, &url).await, Ok(204));
    drop(friend);
    server.stop().await;
    while let Ok(event) = notices.try_recv() {
        if let Event::Notice(text) = event {
            // Neither waited out (grace period) nor timed out (handshake limit).
            assert!(
                !text.contains("did not finish in time") && !text.contains("timed out"),
                "{text}"
            );
        }
    }
}

#[test]
fn a_cacert_that_is_not_pem_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = write(dir.path(), "ca.txt", "hello\n");
    let err = tls::client_config_in(&[bogus], None).unwrap_err();
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
}

#[tokio::test]
async fn http_and_https_ports_share_one_listener() {
    let dir = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let server = start(vec![None, Some(&local.identity)]).await;
    let (http_addr, https_addr) = (server.addrs[0], server.addrs[1]);

    let plain: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let body = b"{}";
    let req = http::Request::post(format!("http://{http_addr}/plain"))
        .header(
            modelgates::SIGNATURE_HEADER,
            modelgates::signature_header(SECRET.as_bytes(), tls::now_secs(), body),
        )
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    assert_eq!(plain.request(req).await.unwrap().status(), 204);
    assert_eq!(server.last_tls(), None);

    let h2 = client(trusting(dir.path()), Proto::H2);
    let url = format!("https://localhost:{}/secure", https_addr.port());
    assert_eq!(post_signed(&h2, &url).await, Ok(204));
    assert!(server.last_tls().is_some());
    assert_eq!(server.store.index().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_restart_serves_the_same_certificate_and_new_names_reissue_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = generated(dir.path());
    assert!(matches!(first.change, local::Change::NewCa(_)));
    let server = start(vec![Some(&first.identity)]).await;
    let served_first = served_fingerprint(server.addr(), dir.path(), "localhost").await;
    server.stop().await;
    assert_eq!(served_first, first.identity.leaf_sha256);

    let again = generated(dir.path());
    assert_eq!(again.change, local::Change::Reused);
    let server = start(vec![Some(&again.identity)]).await;
    let served_again = served_fingerprint(server.addr(), dir.path(), "localhost").await;
    server.stop().await;
    assert_eq!(served_again, served_first, "same certificate after restart");
    assert_eq!(again.ca_sha256, first.ca_sha256);

    let renamed = local::ensure(dir.path(), &names(&["hooks.test"]), false).unwrap();
    assert!(
        matches!(renamed.change, local::Change::NewLeaf(ref why) if why.contains("new names: hooks.test")),
        "{:?}",
        renamed.change
    );
    assert_eq!(renamed.ca_sha256, first.ca_sha256, "the CA survives");
    let server = start(vec![Some(&renamed.identity)]).await;
    // Trust comes from the unchanged CA; the new name is on the new leaf.
    let served = served_fingerprint(server.addr(), dir.path(), "localhost").await;
    let ca = tls::client_config_in(std::slice::from_ref(&renamed.paths.ca_cert), None).unwrap();
    let by_new_name = try_served_fingerprint(server.addr(), ca, "hooks.test").await;
    server.stop().await;
    assert_eq!(by_new_name.as_ref(), Ok(&served));
    assert_ne!(served, served_first);
    assert!(
        renamed
            .identity
            .leaf
            .names
            .contains(&"hooks.test".to_owned())
    );
}

#[tokio::test]
async fn the_local_ca_is_trusted_without_flags_only_for_loopback_names() {
    let dir = tempfile::tempdir().unwrap();
    let local = local::ensure(dir.path(), &names(&["hooks.test"]), false).unwrap();
    let server = start(vec![Some(&local.identity)]).await;
    let addr = server.addr();
    for loopback in ["localhost", "127.0.0.1", "::1"] {
        let got = try_served_fingerprint(addr, trusting(dir.path()), loopback).await;
        assert_eq!(got.as_ref(), Ok(&local.identity.leaf_sha256), "{loopback}");
    }
    // Same certificate, but a non-loopback name needs the CA passed explicitly (--cacert).
    let err = try_served_fingerprint(addr, trusting(dir.path()), "hooks.test")
        .await
        .expect_err("local CA is not trusted for other names by default");
    assert!(err.contains("UnknownIssuer"), "{err}");
    let explicit = tls::client_config_in(std::slice::from_ref(&local.paths.ca_cert), None).unwrap();
    let got = try_served_fingerprint(addr, explicit, "hooks.test").await;
    assert_eq!(got.as_ref(), Ok(&local.identity.leaf_sha256));
    // And a certificate the CA did not sign is still refused for localhost.
    let other = tempfile::tempdir().unwrap();
    let err = try_served_fingerprint(addr, trusting(other.path()), "localhost").await;
    assert!(err.is_err());
    server.stop().await;
}

#[tokio::test]
async fn generated_files_have_private_keys_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&local.paths.ca_key), 0o600);
    assert_eq!(mode(&local.paths.leaf_key), 0o600);
    assert_eq!(mode(&local.paths.ca_cert), 0o644);
    // --regenerate starts a new CA.
    let fresh = local::ensure(dir.path(), &names(&[]), true).unwrap();
    assert_ne!(fresh.ca_sha256, local.ca_sha256);
    assert_eq!(mode(&fresh.paths.ca_key), 0o600);
}

// ---- user-provided certificates ----

struct UserFiles {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A self-signed certificate for localhost with the given validity, as PEM files.
fn user_files(not_after: time::OffsetDateTime) -> UserFiles {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(400);
    params.not_after = not_after;
    let cert = params.self_signed(&key).unwrap();
    UserFiles {
        cert: write(dir.path(), "cert.pem", &cert.pem()),
        key: write(dir.path(), "key.pem", &key.serialize_pem()),
        _dir: dir,
    }
}

fn valid_user_files() -> UserFiles {
    user_files(time::OffsetDateTime::now_utc() + time::Duration::days(30))
}

#[tokio::test]
async fn a_user_certificate_loads_and_serves() {
    let files = valid_user_files();
    let identity = tls::load_pem(&files.cert, &files.key).unwrap();
    assert!(identity.warnings.is_empty(), "{:?}", identity.warnings);
    let server = start(vec![Some(&identity)]).await;
    let nowhere = tempfile::tempdir().unwrap();
    // Trusted through --cacert (the self-signed certificate is its own CA).
    let config =
        tls::client_config_in(std::slice::from_ref(&files.cert), Some(nowhere.path())).unwrap();
    let url = format!("https://localhost:{}/", server.addr().port());
    assert_eq!(
        post_signed(&client(config, Proto::Http1), &url).await,
        Ok(204)
    );
    server.stop().await;
}

#[test]
fn a_mismatched_pair_is_a_clear_error() {
    let a = valid_user_files();
    let b = valid_user_files();
    let err = tls::load_pem(&a.cert, &b.key).unwrap_err();
    assert!(matches!(err, TlsError::KeyMismatch { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("does not match the certificate"), "{text}");
    assert!(text.contains(&*a.cert.to_string_lossy()), "{text}");
}

#[test]
fn missing_and_non_pem_files_are_clear_errors() {
    let files = valid_user_files();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pem");
    let err = tls::load_pem(&missing, &files.key).unwrap_err();
    assert!(matches!(
        err,
        TlsError::Missing {
            what: "certificate",
            ..
        }
    ));
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = tls::load_pem(&files.cert, &missing).unwrap_err();
    assert!(matches!(err, TlsError::Missing { what: "key", .. }));

    let text = write(dir.path(), "notes.txt", "this is not a certificate\n");
    let err = tls::load_pem(&text, &files.key).unwrap_err();
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err:?}");
    assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
    let err = tls::load_pem(&files.cert, &text).unwrap_err();
    assert!(matches!(err, TlsError::NoKey { .. }), "{err:?}");
    assert!(err.to_string().contains("PKCS#8"), "{err}");

    let encrypted = write(
        dir.path(),
        "enc.pem",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    let err = tls::load_pem(&files.cert, &encrypted).unwrap_err();
    assert!(matches!(err, TlsError::EncryptedKey { .. }), "{err:?}");
    assert!(err.to_string().contains("is encrypted"), "{err}");

    // Certificate and key swapped: the key file holds no key.
    let err = tls::load_pem(&files.key, &files.cert).unwrap_err();
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err:?}");
}

#[test]
fn an_expired_user_certificate_loads_with_a_warning() {
    let files = user_files(time::OffsetDateTime::now_utc() - time::Duration::days(2));
    let identity = tls::load_pem(&files.cert, &files.key).unwrap();
    assert_eq!(identity.warnings.len(), 1);
    assert!(
        identity.warnings[0].contains("expired on"),
        "{:?}",
        identity.warnings
    );
}

/// An RSA key in traditional `BEGIN RSA PRIVATE KEY` form and a full chain, made by openssl.
#[tokio::test]
async fn an_openssl_rsa_chain_loads_and_serves() {
    if !common::require_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let st = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "5",
        "-subj",
        "/CN=test root",
    ]);
    run(&["genrsa", "-traditional", "-out", "leaf.key", "2048"]);
    run(&[
        "req",
        "-new",
        "-key",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.path().join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "5",
        "-extfile",
        "ext.cnf",
    ]);
    let leaf = std::fs::read_to_string(dir.path().join("leaf.pem")).unwrap();
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    let chain = write(dir.path(), "chain.pem", &format!("{leaf}{ca}"));
    let key = dir.path().join("leaf.key");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .contains("BEGIN RSA PRIVATE KEY")
    );
    let identity = tls::load_pem(&chain, &key).unwrap();
    assert_eq!(identity.chain.len(), 2);
    assert_eq!(identity.leaf.names, ["localhost", "127.0.0.1"]);
    let server = start(vec![Some(&identity)]).await;
    let nowhere = tempfile::tempdir().unwrap();
    let config = tls::client_config_in(&[dir.path().join("ca.pem")], Some(nowhere.path())).unwrap();
    let url = format!("https://localhost:{}/", server.addr().port());
    assert_eq!(post_signed(&client(config, Proto::H2), &url).await, Ok(204));
    server.stop().await;
}

// ---- other TLS stacks ----

#[tokio::test]
async fn curl_with_cacert_accepts_the_generated_certificate() {
    if !common::require_tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let server = start(vec![Some(&local.identity)]).await;
    let port = server.addr().port();
    let curl = |ca: Option<&Path>| {
        let mut cmd = tokio::process::Command::new("curl");
        cmd.args([
            "-sS",
            "--http1.1",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "POST",
            "-d",
            "{}",
        ]);
        if let Some(ca) = ca {
            cmd.arg("--cacert").arg(ca);
        }
        cmd.arg(format!("https://localhost:{port}/from-curl"));
        cmd.env_remove("SSL_CERT_FILE").env_remove("CURL_CA_BUNDLE");
        cmd.output()
    };
    let out = curl(Some(&local.paths.ca_cert)).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Unsigned, so the verdict answer is 401: what matters is that TLS was accepted.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
    let tls = server.last_tls().expect("curl came over TLS");
    assert_eq!(tls.sni.as_deref(), Some("localhost"));
    assert_eq!(tls.alpn.as_deref(), Some("http/1.1"));

    let out = curl(None).await.unwrap();
    assert!(
        !out.status.success(),
        "curl must not trust it without --cacert"
    );
    server.stop().await;
}

#[tokio::test]
async fn node_with_extra_ca_certs_accepts_the_generated_certificate() {
    if !common::require_tool("node") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let server = start(vec![Some(&local.identity)]).await;
    let script = r#"
const r = require('https').request(process.argv[1], {method: 'POST'}, res => {
  console.log(res.statusCode); res.resume();
});
r.on('error', e => { console.error(e.code || e.message); process.exit(3); });
r.end('{}');
"#;
    let url = format!("https://localhost:{}/from-node", server.addr().port());
    let node = |ca: Option<&Path>| {
        let mut cmd = tokio::process::Command::new("node");
        cmd.arg("-e").arg(script).arg(&url);
        cmd.env_remove("NODE_EXTRA_CA_CERTS");
        if let Some(ca) = ca {
            cmd.env("NODE_EXTRA_CA_CERTS", ca);
        }
        cmd.output()
    };
    let out = node(Some(&local.paths.ca_cert)).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "401");
    assert!(server.last_tls().is_some());

    let out = node(None).await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "node must not trust it by default"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("UNABLE_TO_VERIFY_LEAF_SIGNATURE")
            || String::from_utf8_lossy(&out.stderr).contains("SELF_SIGNED")
            || String::from_utf8_lossy(&out.stderr).contains("UNABLE_TO_GET_ISSUER"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop().await;
}

#[tokio::test]
async fn python_requests_trusts_the_ca_through_requests_ca_bundle_only() {
    // The trust line `cert` prints for Python: requests reads REQUESTS_CA_BUNDLE and ignores
    // SSL_CERT_FILE (it brings its own bundle), so the README must not send users to the latter.
    if !common::require_tool("python3") {
        return;
    }
    let has_requests = std::process::Command::new("python3")
        .args(["-c", "import requests"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_requests {
        let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        assert!(
            !ci,
            "python3-requests is not installed (.ci/run installs it)"
        );
        eprintln!("SKIPPED: the python3 requests module is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let local = generated(dir.path());
    let server = start(vec![Some(&local.identity)]).await;
    let url = format!("https://localhost:{}/from-python", server.addr().port());
    let script = "import sys, requests\ntry:\n    print(requests.post(sys.argv[1], data=b'{}', timeout=10).status_code)\nexcept requests.exceptions.SSLError:\n    sys.exit(3)";
    let python = |var: &str| {
        let mut cmd = tokio::process::Command::new("python3");
        cmd.arg("-c").arg(script).arg(&url);
        for v in [
            "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        ] {
            cmd.env_remove(v);
        }
        cmd.env(var, &local.paths.ca_cert);
        cmd.output()
    };
    let out = python("REQUESTS_CA_BUNDLE").await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "401");
    let out = python("SSL_CERT_FILE").await.unwrap();
    assert_eq!(out.status.code(), Some(3), "requests ignores SSL_CERT_FILE");
    server.stop().await;
}

// ---- the binary: `hooklens cert` and `hooklens listen --tls` ----

/// The test preset with `data_dir` as the data directory.
fn hooklens(data_dir: &Path) -> common::Cli {
    let mut cli = common::hooklens();
    cli.env("HOOKLENS_DATA_DIR", data_dir);
    cli
}

fn ca_fingerprint_line(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with("SHA-256"))
        .expect("a SHA-256 line")
        .to_owned()
}

#[test]
fn cert_command_shows_exports_and_regenerates() {
    let data = tempfile::tempdir().unwrap();
    // Showing creates nothing: with no certificate yet it says how to make one.
    let out = hooklens(data.path()).arg("cert").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hooklens cert --renew"), "{err}");
    assert!(!data.path().join("ca.pem").exists());

    let out = hooklens(data.path())
        .args(["cert", "--renew"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = String::from_utf8(out.stdout).unwrap();
    assert!(first.contains("Created a new local CA"), "{first}");
    let ca = data.path().join("ca.pem");
    assert!(
        first.contains(&format!("curl --cacert {}", ca.display())),
        "{first}"
    );
    assert!(first.contains("NODE_EXTRA_CA_CERTS="), "{first}");
    assert!(first.contains("SSL_CERT_FILE="), "{first}");
    assert!(first.contains("REQUESTS_CA_BUNDLE="), "{first}");
    assert!(
        first.contains("names    localhost, 127.0.0.1, ::1"),
        "{first}"
    );
    let fp = ca_fingerprint_line(&first);
    let on_disk = rustls::pki_types::CertificateDer::pem_file_iter(&ca)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert!(fp.ends_with(&tls::fingerprint(&on_disk)), "{fp}");

    let export = tempfile::tempdir().unwrap();
    let out = hooklens(data.path())
        .arg("cert")
        .arg("--export")
        .arg(export.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let second = String::from_utf8(out.stdout).unwrap();
    assert!(!second.contains("Created"), "reused: {second}");
    assert_eq!(ca_fingerprint_line(&second), fp);
    assert_eq!(
        std::fs::read(export.path().join("hooklens-ca.pem")).unwrap(),
        std::fs::read(&ca).unwrap()
    );

    let out = hooklens(data.path())
        .args(["cert", "--regenerate"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let third = String::from_utf8(out.stdout).unwrap();
    assert!(
        third.contains("Created a new local CA (--regenerate)"),
        "{third}"
    );
    assert_ne!(ca_fingerprint_line(&third), fp);
}

/// Every file in `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
            (p, bytes, mtime)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn cert_only_shows_and_never_drops_a_tls_name() {
    let data = tempfile::tempdir().unwrap();
    let out = hooklens(data.path())
        .args(["cert", "--renew", "--tls-name", "myapp.test"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = snapshot(data.path());
    assert!(before.len() >= 4, "{before:?}");

    // `cert` without --tls-name shows the certificate as it is: same names, same files.
    let out = hooklens(data.path()).arg("cert").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("myapp.test"), "{shown}");
    assert!(
        !shown.contains("Issued") && !shown.contains("Created"),
        "{shown}"
    );
    assert_eq!(snapshot(data.path()), before, "bytes and mtimes unchanged");

    // A name without --renew is refused, and changes nothing either.
    let out = hooklens(data.path())
        .args(["cert", "--tls-name", "other.test"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--renew"));
    assert_eq!(snapshot(data.path()), before);

    // --renew with a new name keeps the earlier one.
    let out = hooklens(data.path())
        .args(["cert", "--renew", "--tls-name", "other.test"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let renewed = String::from_utf8(out.stdout).unwrap();
    let names = renewed
        .lines()
        .find(|l| l.trim_start().starts_with("names"))
        .unwrap();
    assert!(
        names.contains("myapp.test") && names.contains("other.test"),
        "{names}"
    );
}

use rustls::pki_types::pem::PemObject;

/// Spawns `hooklens listen` with `args` and returns it with its readiness lines.
fn spawn_listen(data_dir: &Path, args: &[&str]) -> (std::process::Child, Vec<String>) {
    use std::io::BufRead;
    let store: &[&str] = if args.contains(&"--store") {
        &[]
    } else {
        &["--no-store"]
    };
    let mut child = hooklens(data_dir)
        .arg("listen")
        .args(["--port", "0", "--no-tui", "--secret", SECRET])
        .args(store)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let wanted = if args.contains(&"--tls-port") { 2 } else { 1 };
    while lines.len() < wanted {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "listen exited early"
        );
        lines.push(line.trim_end().to_owned());
    }
    (child, lines)
}

fn port_of(line: &str) -> u16 {
    line.rsplit(':').next().unwrap().parse().unwrap()
}

fn finish(mut child: std::process::Child) -> String {
    use std::io::Read;
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    err
}

#[tokio::test]
async fn listen_tls_announces_https_and_how_to_trust_it() {
    let data = tempfile::tempdir().unwrap();
    let log = data.path().join("captures.jsonl");
    let log_arg = log.to_str().unwrap();
    let (child, lines) = spawn_listen(data.path(), &["--tls", "--store", log_arg]);
    assert!(
        lines[0].starts_with("Listening on https://127.0.0.1:"),
        "{lines:?}"
    );
    let url = format!("https://localhost:{}/hooks", port_of(&lines[0]));
    let status = post_signed(&client(trusting(data.path()), Proto::H2), &url).await;
    let stderr = finish(child);
    assert_eq!(status, Ok(204), "{stderr}");
    let ca = data.path().join("ca.pem");
    assert!(
        stderr.contains(&format!("CA       {}", ca.display())),
        "{stderr}"
    );
    assert!(stderr.contains("SHA-256  "), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "curl --cacert {} https://localhost:{}/",
            ca.display(),
            port_of(&lines[0])
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("NODE_EXTRA_CA_CERTS={}", ca.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("SSL_CERT_FILE={}", ca.display())),
        "{stderr}"
    );

    // The stored capture keeps its TLS details for `list --json` and `show`.
    let out = hooklens(data.path())
        .args(["list", "--json", "--store", log_arg])
        .output()
        .unwrap();
    assert!(out.status.success());
    let row: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row["tls"]["version"], "TLSv1.3");
    assert_eq!(row["tls"]["alpn"], "h2");
    assert_eq!(row["tls"]["sni"], "localhost");
    let out = hooklens(data.path())
        .args(["show", "1", "--store", log_arg])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("alpn=h2 sni=localhost"), "{text}");
}

#[tokio::test]
async fn listen_tls_port_serves_http_and_https() {
    let data = tempfile::tempdir().unwrap();
    let (child, lines) = spawn_listen(data.path(), &["--tls-port", "0"]);
    assert!(
        lines[0].starts_with("Listening on http://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("Listening on https://127.0.0.1:"),
        "{lines:?}"
    );
    let url = format!("https://localhost:{}/", port_of(&lines[1]));
    let status = post_signed(&client(trusting(data.path()), Proto::Http1), &url).await;
    let plain = TcpStream::connect(("127.0.0.1", port_of(&lines[0]))).await;
    let stderr = finish(child);
    assert_eq!(status, Ok(204), "{stderr}");
    assert!(plain.is_ok());
}

#[test]
fn listen_with_bad_certificate_flags_fails_clearly() {
    let data = tempfile::tempdir().unwrap();
    let missing = data.path().join("missing.pem");
    let out = hooklens(data.path())
        .args(["listen", "--port", "0", "--no-store", "--tls", "--cert"])
        .arg(&missing)
        .arg("--key")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        format!(
            "hooklens: error: certificate file {} does not exist",
            missing.display()
        )
    );

    for bad in [
        &["--tls", "--tls-port", "0"][..],
        &["--tls", "--cert", "x.pem"][..],
        &["--tls-name", "hooks.test"][..],
        &["--tls", "--tls-name", "not a name"][..],
    ] {
        let out = hooklens(data.path())
            .args(["listen", "--port", "0", "--no-store"])
            .args(bad)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
