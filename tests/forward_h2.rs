//! Forwarding over HTTPS to real receivers on 127.0.0.1 that speak HTTP/2 (hyper's server over
//! tokio-rustls, ALPN `h2` + `http/1.1`) or only HTTP/1.1, with a certificate made by rcgen and
//! trusted the way `--cacert` trusts it.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{Receiver, Seen, Setup, guide_check, streamed};
use hooklens::model::capture::Capture;
use hooklens::model::exchange::PathMode;
use hooklens::model::exchange::{HTTP_2, HTTP_11};
use hooklens::net::client::{Client, ClientError, Reply, Target};
use hooklens::net::forward;
use http_body_util::{BodyExt, Full};
use rstest::rstest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

const SECRET: &str = "whsec_test_h2_forwarding_secret";

/// A provider delivery, plus `TE: gzip` (a connection header HTTP/2 forbids).
fn signed(body: &[u8]) -> Capture {
    common::provider_capture(SECRET, body, &[("TE", "gzip")])
}
/// A guard against hangs, not a timing assertion.
const PATIENCE: Duration = Duration::from_secs(20);

/// A self-signed certificate for 127.0.0.1 and localhost; the PEM file doubles as the CA.
struct Cert {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: Vec<u8>,
}

fn cert() -> Cert {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("receiver-ca.pem");
    std::fs::write(&ca, cert.pem()).unwrap();
    Cert {
        _dir: dir,
        ca,
        chain: vec![cert.der().clone()],
        key: key.serialize_der(),
    }
}

impl Cert {
    fn acceptor(&self, alpn: &[&[u8]]) -> TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.key.clone().into());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), key)
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        TlsAcceptor::from(Arc::new(config))
    }

    /// Trust as `--cacert` gives it (no hooklens data directory involved).
    fn trust(&self) -> rustls::ClientConfig {
        hooklens::net::tls::client_config_in(std::slice::from_ref(&self.ca), None).unwrap()
    }
}

/// An HTTPS receiver offering `alpn`; each request waits `delay` before it is answered.
fn receiver(
    cert: &Cert,
    alpn: &[&[u8]],
    delay: Duration,
    answer: impl Fn(&Seen) -> common::Response + Send + Sync + 'static,
) -> Receiver {
    Receiver::start_with(
        Setup {
            tls: Some(cert.acceptor(alpn)),
            delay,
        },
        answer,
    )
}

/// An HTTPS receiver that offers HTTP/2 (and HTTP/1.1).
fn h2_receiver(
    cert: &Cert,
    delay: Duration,
    answer: impl Fn(&Seen) -> common::Response + Send + Sync + 'static,
) -> Receiver {
    receiver(cert, &[b"h2", b"http/1.1"], delay, answer)
}

/// 204 when the guide's check passes, else 401.
fn verdict() -> impl Fn(&Seen) -> common::Response + Send + Sync + 'static {
    guide_check(SECRET, 204, "")
}

async fn forward_to(
    client: &Client,
    target: &Target,
    capture: &Capture,
) -> Result<Reply, ClientError> {
    tokio::time::timeout(
        PATIENCE,
        forward::forward(
            client,
            target,
            PathMode::Prefix,
            capture,
            Duration::from_secs(10),
        ),
    )
    .await
    .expect("no hang")
    .result
}

#[tokio::test]
async fn h2_receiver_gets_http2_with_the_exact_body_and_signature() {
    let cert = cert();
    let r = h2_receiver(&cert, Duration::ZERO, verdict()).expect(2);
    let client = Client::new(cert.trust());
    let body = b"{\"type\":\"video.generation.completed\",\"data\":{\"id\":\"job_1\"}}\n\xff";
    let capture = signed(body);
    let reply = forward_to(&client, &r.target(), &capture).await.unwrap();
    assert_eq!(reply.status, 204, "the signature verifies at the receiver");
    assert_eq!(reply.version, HTTP_2);
    assert_eq!(reply.reason, "No Content");
    assert_eq!(reply.headers[0].name, "x-receiver");
    assert_eq!(reply.headers[0].value.as_ref(), b"hooklens-test");

    let seen = r.seen();
    let req = &seen[0];
    assert_eq!(req.version, http::Version::HTTP_2);
    assert_eq!(req.method, "POST");
    assert_eq!(req.uri.path(), "/modelgates/video-webhook");
    assert_eq!(req.uri.authority().unwrap().as_str(), r.target().authority);
    assert_eq!(req.body.as_ref(), body);
    assert_eq!(
        req.header("x-modelgates-signature"),
        capture.header("X-ModelGates-Signature")
    );
    assert_eq!(
        req.header("x-modelgates-idempotency-key"),
        Some(&b"job_1-completed"[..])
    );
    for gone in ["connection", "te", "host"] {
        assert_eq!(req.header(gone), None, "{gone} is not sent over h2");
    }
    assert_eq!(
        req.header_names(),
        [
            "user-agent",
            "content-type",
            "x-modelgates-signature",
            "x-modelgates-idempotency-key",
            "content-length",
            "x-forwarded-for",
            "x-forwarded-proto",
        ],
        "provider order, lowercase"
    );

    // A tampered body fails the receiver's own check, on the same connection.
    let mut tampered = signed(body);
    tampered.body = Bytes::from_static(
        b"{\"type\":\"video.generation.completed\",\"data\":{\"id\":\"job_2\"}}\n\xff",
    );
    let reply = forward_to(&client, &r.target(), &tampered).await.unwrap();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body.as_ref(), b"bad signature");
    assert_eq!(r.accepts(), 1);
}

#[tokio::test]
async fn concurrent_requests_share_one_h2_connection() {
    let cert = cert();
    let r = h2_receiver(&cert, Duration::from_millis(200), verdict()).expect(9);
    let client = Client::new(cert.trust());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (client, target) = (client.clone(), r.target());
        tasks.spawn(async move {
            let capture = signed(format!("{{\"n\":{i}}}").as_bytes());
            forward_to(&client, &target, &capture).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert_eq!(done.unwrap().unwrap().status, 204);
    }
    assert_eq!(r.seen().len(), 8);
    assert_eq!(r.accepts(), 1, "one TLS connection for all");
    assert!(
        r.most_in_flight() >= 2,
        "requests were multiplexed, not queued one by one"
    );
    // Later requests keep using it.
    let reply = forward_to(&client, &r.target(), &signed(b"{}"))
        .await
        .unwrap();
    assert_eq!(reply.status, 204);
    assert_eq!(r.accepts(), 1);
}

#[tokio::test]
async fn a_closed_h2_connection_is_replaced() {
    let cert = cert();
    let r = h2_receiver(&cert, Duration::ZERO, verdict()).expect(2);
    let client = Client::new(cert.trust());
    assert_eq!(
        forward_to(&client, &r.target(), &signed(b"{}"))
            .await
            .unwrap()
            .status,
        204
    );
    r.drop_connections();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reply = forward_to(&client, &r.target(), &signed(b"{}"))
        .await
        .unwrap();
    assert_eq!((reply.status, reply.version), (204, HTTP_2));
    assert_eq!(r.accepts(), 2);
}

#[tokio::test]
async fn http1_only_client_speaks_http11_to_an_h2_receiver() {
    let cert = cert();
    let r = h2_receiver(&cert, Duration::ZERO, verdict()).expect(1);
    let client = Client::http1_only(cert.trust());
    let reply = forward_to(&client, &r.target(), &signed(b"{}"))
        .await
        .unwrap();
    assert_eq!((reply.status, reply.version), (204, HTTP_11));
    assert_eq!(r.seen()[0].version, http::Version::HTTP_11);
}

/// ALPN offering only http/1.1, and no ALPN at all.
#[rstest]
#[case::alpn_http11(&[b"http/1.1".as_slice()])]
#[case::no_alpn(&[])]
#[tokio::test]
async fn tls_receivers_without_h2_get_exact_case_http11(#[case] alpn: &[&[u8]]) {
    let cert = cert();
    let r = receiver(&cert, alpn, Duration::ZERO, guide_check(SECRET, 202, "ok")).expect(2);
    let target = r.target();
    let client = Client::new(cert.trust());
    let body = b"{\"type\":\"video.generation.completed\"}";
    let capture = signed(body);
    for _ in 0..2 {
        let reply = forward_to(&client, &target, &capture).await.unwrap();
        assert_eq!(
            (reply.status, reply.reason.as_str(), reply.version),
            (202, "Accepted", HTTP_11)
        );
        assert_eq!(reply.headers[0].name, "X-Receiver");
    }
    assert_eq!(r.accepts(), 1, "keep-alive over TLS");
    let seen = &r.seen()[0];
    assert_eq!(seen.body.as_ref(), body);
    let expected = format!(
        "POST /modelgates/video-webhook HTTP/1.1\r\nHost: {}\r\nUser-Agent: ModelGates-Webhooks/1.0\r\nContent-Type: application/json\r\nX-ModelGates-Signature: {}\r\nx-MODELGATES-idempotency-key: job_1-completed\r\nContent-Length: {}\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n",
        target.authority,
        String::from_utf8_lossy(capture.header("X-ModelGates-Signature").unwrap()),
        body.len()
    );
    assert_eq!(seen.head.as_deref(), Some(expected.as_str()));
}

#[derive(Debug, Clone, Copy)]
enum OverLimit {
    /// DATA frames with no length declared.
    Streamed,
    /// A declared content-length over the limit.
    Declared,
}

#[rstest]
#[case::streamed(OverLimit::Streamed)]
#[case::declared(OverLimit::Declared)]
#[tokio::test]
async fn h2_answers_over_the_relay_limit_are_protocol_errors(#[case] how: OverLimit) {
    let cert = cert();
    let mib = (hooklens::net::client::MAX_RESPONSE_BODY >> 20) + 1;
    let r = h2_receiver(&cert, Duration::ZERO, move |_: &Seen| match how {
        OverLimit::Streamed => streamed(mib),
        OverLimit::Declared => {
            let big = vec![b'x'; hooklens::net::client::MAX_RESPONSE_BODY + 1];
            http::Response::new(Full::new(Bytes::from(big)).boxed())
        }
    })
    .expect(1);
    let client = Client::new(cert.trust());
    let e = forward_to(&client, &r.target(), &signed(b"{}"))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Protocol(_)), "{e}");
    assert!(e.to_string().contains("relay limit"), "{e}");
    assert_eq!(e.provider_status(), 502);
    assert_eq!(r.seen()[0].version, http::Version::HTTP_2);
}

#[tokio::test]
async fn h2_answers_exactly_at_the_relay_limit_are_relayed() {
    let cert = cert();
    let mib = hooklens::net::client::MAX_RESPONSE_BODY >> 20;
    let r = h2_receiver(&cert, Duration::ZERO, move |_: &Seen| streamed(mib)).expect(1);
    let client = Client::new(cert.trust());
    let reply = forward_to(&client, &r.target(), &signed(b"{}"))
        .await
        .unwrap();
    assert_eq!(reply.body.len(), hooklens::net::client::MAX_RESPONSE_BODY);
}

#[tokio::test]
async fn silent_h2_receiver_times_out_and_an_untrusted_one_is_a_connect_error() {
    let cert = cert();
    let r = h2_receiver(&cert, Duration::from_secs(30), verdict()).expect(1);
    let client = Client::new(cert.trust());
    let e = forward::forward(
        &client,
        &r.target(),
        PathMode::Prefix,
        &signed(b"{}"),
        Duration::from_millis(300),
    )
    .await
    .result
    .unwrap_err();
    assert!(matches!(e, ClientError::Timeout(_)), "{e}");
    assert_eq!(e.provider_status(), 504);
    // A refused TLS connection (untrusted certificate) is a connect error.
    let stranger = Client::new(hooklens::net::tls::client_config_in(&[], None).unwrap());
    let e = forward_to(&stranger, &r.target(), &signed(b"{}"))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Connect { .. }), "{e}");
}

// ---- the binary: `hooklens listen --forward-to https://… --cacert …` ----

/// Kills the child on drop (a failed assertion must not leave it running).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn listen_forwards_to_an_h2_receiver_and_relays_its_status() {
    use std::io::BufRead;
    let cert = cert();
    let r = h2_receiver(&cert, Duration::ZERO, guide_check(SECRET, 202, "queued")).expect(1);
    let mut cli = common::hooklens();
    let mut child = Child(
        cli.args(["listen", "--port", "0", "--no-tui", "--no-store"])
            .arg("--forward-to")
            .arg(format!("https://{}", r.target().authority))
            .arg("--cacert")
            .arg(&cert.ca)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    });
    let line = tokio::time::timeout(PATIENCE, ready)
        .await
        .expect("listen announces itself")
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("Listening on http://")
        .unwrap_or_else(|| panic!("readiness line: {line:?}"))
        .to_owned();

    let body = b"{\"type\":\"video.generation.completed\",\"data\":{\"id\":\"job_e2e\"}}";
    let capture = signed(body);
    let mut request = b"POST /modelgates/video-webhook HTTP/1.1\r\n".to_vec();
    for h in capture.headers.iter().filter(|h| h.name != "Connection") {
        request.extend_from_slice(format!("{}: ", h.name).as_bytes());
        request.extend_from_slice(&h.value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    request.extend_from_slice(body);
    let mut provider = tokio::net::TcpStream::connect(addr.as_str()).await.unwrap();
    provider.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, provider.read_to_end(&mut answer))
        .await
        .expect("the provider gets an answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    assert!(answer.ends_with("queued"), "{answer}");

    let seen = r.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].version, http::Version::HTTP_2);
    assert_eq!(seen[0].body.as_ref(), body);
    assert_eq!(
        seen[0].header("x-modelgates-signature"),
        capture.header("X-ModelGates-Signature")
    );
}
