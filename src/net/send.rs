//! The core of `hooklens send`: a provider-shaped test event, signed as a scheme signs it
//! (valid, or broken on purpose with [`Break`]), posted once or many times over.
//!
//! The flags and the judgement of the answers are in `cmd/send.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use clap::ValueEnum;
use http_body_util::{BodyExt, Full};

use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::verify::recipe::Recipe;
use crate::verify::{mailgun, modelgates};

/// Built-in events (compact JSON as `JSON.stringify` writes it); `{{job_id}}` and
/// `{{created_at}}` are filled in at send time.
const EVENTS: [(&str, &str); 4] = [
    (
        "completed",
        include_str!("../../assets/events/completed.json"),
    ),
    ("failed", include_str!("../../assets/events/failed.json")),
    (
        "cancelled",
        include_str!("../../assets/events/cancelled.json"),
    ),
    ("expired", include_str!("../../assets/events/expired.json")),
];

/// Ways to break a delivery so a receiver's 401 path can be exercised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Break {
    /// Sign with a different secret.
    WrongSecret,
    /// Timestamp 360 s in the past.
    Stale,
    /// Timestamp 360 s in the future.
    Future,
    /// Change the body after signing.
    Body,
    /// Send no signature header.
    MissingSignature,
}

/// A delivery ready to send.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Headers in order.
    pub headers: Vec<Header>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The event body: a built-in template filled in, or a file's bytes untouched.
pub fn event_body(event: &str, job_id: &str, created_at: &str) -> Result<Vec<u8>> {
    if let Some((_, template)) = EVENTS.iter().find(|(name, _)| *name == event) {
        return Ok(template
            .replace("{{job_id}}", job_id)
            .replace("{{created_at}}", created_at)
            .into_bytes());
    }
    std::fs::read(event).with_context(|| {
        format!("--event {event}: not completed|failed|cancelled|expired and not a readable file")
    })
}

/// How a delivery is signed: `(secret, timestamp, message id, body)` to the signature headers.
pub type Signer<'a> = &'a dyn Fn(&Secret, i64, &str, &[u8]) -> Result<Vec<Header>, String>;

/// Signs `body` as the chosen scheme would, then applies the requested breakage.
pub fn build(
    recipe: Option<&Recipe>,
    secret: &Secret,
    body: Vec<u8>,
    now: i64,
    broken: Option<Break>,
) -> Result<Delivery> {
    let sign = |s: &Secret, t: i64, id: &str, body: &[u8]| match recipe {
        None => Ok(vec![Header::new(
            modelgates::SIGNATURE_HEADER,
            modelgates::signature_header(s.expose(), t, body),
        )]),
        Some(r) => r.sign(s, t, id, body),
    };
    build_with(&sign, recipe, recipe.is_none(), secret, body, now, broken)
}

/// The timestamp a delivery is signed with: `now`, or 360 s off for `--break stale|future`
/// (outside the 300 s most schemes allow).
fn signed_at(broken: Option<Break>, now: i64) -> i64 {
    match broken {
        Some(Break::Stale) => now - 360,
        Some(Break::Future) => now + 360,
        _ => now,
    }
}

/// [`build`] with any signer; `stamp` is the recipe that puts the timestamp into the body (if
/// its scheme does), `idempotency` adds the ModelGates idempotency key.
pub fn build_with(
    sign: Signer<'_>,
    stamp: Option<&Recipe>,
    idempotency: bool,
    secret: &Secret,
    body: Vec<u8>,
    now: i64,
    broken: Option<Break>,
) -> Result<Delivery> {
    let t = signed_at(broken, now);
    let signing = match broken {
        // An asymmetric key is replaced by another valid key; a secret gets a suffix.
        Some(Break::WrongSecret) => match crate::verify::ed25519::other_key(secret)
            .or_else(|| crate::verify::sendgrid::other_key(secret))
        {
            Some(other) => other,
            None => Secret::new(format!("{}-not-it", secret.expose_str())).context("secret")?,
        },
        _ => secret.clone(),
    };
    let envelope = crate::envelope::summarize(&body);
    let job = envelope
        .data_id
        .clone()
        .unwrap_or_else(|| "job_test".into());
    let mut headers = vec![Header::new("Content-Type", "application/json")];
    // A scheme whose timestamp travels in the body (Linear) gets it there before signing.
    let body = match stamp {
        Some(r) => r.stamp(body, t),
        None => body,
    };
    let signature = sign(&signing, t, &format!("msg_{job}"), &body)
        .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
    if broken != Some(Break::MissingSignature) {
        headers.extend(signature);
    }
    if idempotency {
        let status = envelope.data_status.unwrap_or_else(|| "event".into());
        headers.push(Header::new(
            modelgates::IDEMPOTENCY_HEADER,
            format!("{job}-{status}"),
        ));
    }
    let mut body = body;
    if broken == Some(Break::Body) {
        // One byte more than was signed: what a proxy or a re-encoding does.
        body.push(b' ');
    }
    Ok(Delivery { headers, body })
}

/// Mailgun's delivery: `event` under `event-data`, with the signature object in the body.
/// `--break body` is refused: Mailgun's signature does not cover the body, so no receiver can
/// notice the change.
pub fn build_mailgun(
    secret: &Secret,
    event: Vec<u8>,
    now: i64,
    broken: Option<Break>,
) -> Result<Delivery> {
    let t = signed_at(broken, now);
    let key = match broken {
        Some(Break::WrongSecret) => format!("{}-not-it", secret.expose_str()),
        _ => secret.expose_str().to_string(),
    };
    let token = hex::encode(crate::verify::mac::compute(
        crate::verify::mac::Algorithm::Sha256,
        now.to_string().as_bytes(),
        &[&event],
    ));
    let body = match broken {
        Some(Break::Body) => anyhow::bail!(
            "--break body: Mailgun's signature covers only timestamp and token, not the body, so a receiver cannot notice a changed body"
        ),
        Some(Break::MissingSignature) => {
            let mut b = br#"{"event-data":"#.to_vec();
            b.extend_from_slice(&event);
            b.push(b'}');
            b
        }
        _ => mailgun::signed_body(key.as_bytes(), t, &token[..50], &event),
    };
    Ok(Delivery {
        headers: vec![Header::new("Content-Type", "application/json")],
        body,
    })
}

/// The outbound client `send` uses.
pub type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// The one outbound client `send` uses: http and https (system roots, `--cacert`, and the
/// hooklens local CA for loopback names).
pub fn client(cacert: &[PathBuf]) -> Result<Client> {
    let tls = crate::net::tls::client_config(cacert)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

/// What came back.
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body (first 64 KiB).
    pub body: Bytes,
    /// Request to end of body.
    pub latency: Duration,
}

/// Posts one delivery to `url` and reads the answer (errors: no answer within `timeout`, or
/// the connection failed).
pub async fn post(client: &Client, url: &str, d: &Delivery, timeout: Duration) -> Result<Answer> {
    let mut req = hyper::Request::post(url);
    for h in &d.headers {
        req = req.header(h.name.as_str(), h.value.as_ref());
    }
    let req = req
        .body(Full::new(Bytes::from(d.body.clone())))
        .with_context(|| format!("building a request to {url}"))?;
    let started = Instant::now();
    let work = async {
        let resp = client.request(req).await?;
        let status = resp.status().as_u16();
        let body = http_body_util::Limited::new(resp.into_body(), 64 * 1024)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        anyhow::Ok((status, body))
    };
    let (status, body) = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| anyhow::anyhow!("{url} did not answer within {timeout:?}"))?
        .map_err(|e| anyhow::anyhow!("posting to {url}: {}", crate::fmt::error_chain(&*e)))?;
    Ok(Answer {
        status,
        body,
        latency: started.elapsed(),
    })
}

/// Posts `count` deliveries, `concurrency` at a time (load mode): `delivery(n)` is the n-th
/// (from 0). Each answer's status and latency, or why there was none.
pub async fn post_many(
    client: &Client,
    url: &str,
    delivery: Arc<dyn Fn(u64) -> Delivery + Send + Sync>,
    timeout: Duration,
    count: u64,
    concurrency: u64,
) -> Result<Vec<Result<(u16, Duration)>>> {
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(count) {
        let (client, next, delivery) = (client.clone(), next.clone(), delivery.clone());
        let to = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut results = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= count {
                    break;
                }
                results.push(
                    post(&client, &to, &delivery(n), timeout)
                        .await
                        .map(|a| (a.status, a.latency)),
                );
            }
            results
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.context("a send task failed")?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{Outcome, VerifyConfig, verify};

    fn check(d: &Delivery, secret: &str, now: i64) -> Outcome {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(secret).unwrap()],
            ..Default::default()
        };
        verify(&d.headers, &d.body, &cfg, now).outcome
    }

    #[test]
    fn each_break_mode_fails_the_way_it_says() {
        let s = Secret::new("dev_secret").unwrap();
        let body = event_body("completed", "job_1", "2026-11-26T10:00:00.000Z").unwrap();
        let now = 1_764_151_200;
        let d = |b| build(None, &s, body.clone(), now, b).unwrap();
        assert_eq!(check(&d(None), "dev_secret", now), Outcome::Valid);
        assert_eq!(
            check(&d(Some(Break::WrongSecret)), "dev_secret", now),
            Outcome::InvalidSignature
        );
        assert_eq!(
            check(&d(Some(Break::Stale)), "dev_secret", now),
            Outcome::Stale
        );
        assert_eq!(
            check(&d(Some(Break::Future)), "dev_secret", now),
            Outcome::Stale
        );
        assert_eq!(
            check(&d(Some(Break::Body)), "dev_secret", now),
            Outcome::InvalidSignature
        );
        assert_eq!(
            check(&d(Some(Break::MissingSignature)), "dev_secret", now),
            Outcome::MissingHeader
        );
        let valid = d(None);
        assert_eq!(
            crate::model::capture::header_value(&valid.headers, modelgates::IDEMPOTENCY_HEADER),
            Some(&b"job_1-completed"[..])
        );
    }

    #[test]
    fn built_in_events_are_provider_shaped() {
        for (name, _) in EVENTS {
            let body = event_body(name, "job_9", "2026-11-26T10:00:00.000Z").unwrap();
            let headers = vec![
                Header::new("Content-Type", "application/json"),
                Header::new(modelgates::SIGNATURE_HEADER, "t=1,v1=00"),
                Header::new(modelgates::IDEMPOTENCY_HEADER, format!("job_9-{name}")),
            ];
            let report = crate::envelope::shape_report("POST", &headers, &body);
            assert!(report.issues.is_empty(), "{name}: {:?}", report.issues);
        }
    }

    #[test]
    fn mailgun_deliveries_verify_and_break_as_asked() {
        let s = Secret::new("key-mailgun").unwrap();
        let event = event_body("failed", "job_3", "2026-11-26T10:00:00.000Z").unwrap();
        let cfg = VerifyConfig {
            secrets: vec![s.clone()],
            ..Default::default()
        };
        let now = 1_764_151_200;
        let outcome = |b| {
            let d = build_mailgun(&s, event.clone(), now, b).unwrap();
            let v = verify(&d.headers, &d.body, &cfg, now);
            (v.scheme, v.outcome)
        };
        let mg = Some("mailgun".into());
        assert_eq!(outcome(None), (mg.clone(), Outcome::Valid));
        assert_eq!(
            outcome(Some(Break::WrongSecret)),
            (mg, Outcome::InvalidSignature)
        );
        let why = build_mailgun(&s, event.clone(), now, Some(Break::Body)).unwrap_err();
        assert!(format!("{why}").contains("not the body"), "{why}");
    }

    #[test]
    fn a_linear_event_carries_its_timestamp_in_the_body() {
        let s = Secret::new("lin").unwrap();
        let r = crate::verify::built_in("linear").unwrap();
        let body = event_body("completed", "job_4", "2026-11-26T10:00:00.000Z").unwrap();
        let d = build(Some(&r), &s, body, 1_764_151_200, Some(Break::Stale)).unwrap();
        assert!(
            String::from_utf8_lossy(&d.body).starts_with(r#"{"webhookTimestamp":1764150840000,"#)
        );
        let cfg = VerifyConfig {
            secrets: vec![s],
            ..Default::default()
        };
        let v = verify(&d.headers, &d.body, &cfg, 1_764_151_200);
        assert_eq!(v.outcome, Outcome::Stale, "{}", v.reason);
    }

    #[test]
    fn every_scheme_signs_what_it_verifies() {
        let s = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = event_body("failed", "job_2", "2026-11-26T10:00:00.000Z").unwrap();
        for r in crate::verify::built_in_recipes() {
            let d = build(Some(r), &s, body.clone(), 1_764_151_200, None).unwrap();
            let cfg = VerifyConfig {
                secrets: vec![s.clone()],
                ..Default::default()
            };
            let v = verify(&d.headers, &d.body, &cfg, 1_764_151_200);
            assert_eq!(
                (v.scheme.as_deref(), v.outcome),
                (Some(r.name.as_str()), Outcome::Valid),
                "{}",
                v.reason
            );
        }
    }

    #[test]
    fn every_code_scheme_signs_what_it_verifies() {
        use crate::verify::{RequestLine, SchemeChoice, sign_code, verify_request};
        // (scheme, signing key, checking key); the ed25519 and P-256 keys are those of
        // verify::ed25519 and verify::sendgrid's tests (made with python3 `cryptography`).
        let cases = [
            (
                SchemeChoice::Discord,
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
            ),
            (
                SchemeChoice::Standard,
                "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
            ),
            (SchemeChoice::Twilio, "tok", "tok"),
            (SchemeChoice::Square, "tok", "tok"),
            (SchemeChoice::Hubspot, "tok", "tok"),
            (SchemeChoice::Gitlab, "tok", "tok"),
            (SchemeChoice::Basic, "u:p", "u:p"),
            (SchemeChoice::Bearer, "tok", "tok"),
        ];
        let body = event_body("completed", "job_3", "2026-11-26T10:00:00.000Z").unwrap();
        let now = 1_764_151_200;
        let url = "https://hooks.example/in?x=1";
        for (choice, signing, checking) in cases {
            let s = Secret::new(signing).unwrap();
            let to = match choice {
                SchemeChoice::Twilio => crate::verify::twilio::with_body_hash(url, &body),
                _ => url.to_string(),
            };
            let sign = |s: &Secret, t: i64, id: &str, b: &[u8]| {
                sign_code(choice, s, t, id, &to, b).unwrap()
            };
            let d = build_with(&sign, None, false, &s, body.clone(), now, None).unwrap();
            let cfg = VerifyConfig {
                secrets: vec![Secret::new(checking).unwrap()],
                scheme: choice,
                public_url: Some(to.clone()),
                ..Default::default()
            };
            let req = RequestLine {
                method: "POST",
                target: "",
            };
            let v = verify_request(&req, &d.headers, &d.body, &cfg, now);
            assert_eq!(v.outcome, Outcome::Valid, "{choice:?}: {}", v.reason);
        }
    }
}
