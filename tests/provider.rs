//! `hooklens provider` end to end on 127.0.0.1:0: the API (bearer, field validation, JSON
//! errors, polling, the MP4), the signed webhook against `hooklens listen` and against the
//! guide's Step 1 receiver, retries, misbehaviour, and callbacks that go wrong.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::{Receiver, always, guide_check, guide_verifies, respond};
use hooklens::model::record::Event as StoreEvent;
use hooklens::model::secret::Secret;
use hooklens::model::verdict::Outcome;
use hooklens::net::provider::deliver::{Misbehave, Schedule};
use hooklens::net::provider::events::{Attempt, Event};
use hooklens::net::provider::files::SAMPLE_MP4;
use hooklens::net::provider::{self, Running, Settings};
use hooklens::net::server::ListenConfig;
use hooklens::verify::VerifyConfig;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

const SECRET: &str = "dev_secret";

fn settings() -> Settings {
    let mut s = Settings::new(Secret::new(SECRET).unwrap());
    s.job_time = Duration::ZERO;
    s.schedule = Schedule(Vec::new());
    s
}

async fn start(s: Settings) -> Running {
    provider::start("127.0.0.1".parse().unwrap(), 0, s)
        .await
        .unwrap()
}

/// A real HTTP request: status, headers, body.
async fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, http::HeaderMap, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = hyper::Request::builder().method(method).uri(url);
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

fn guide_submit(callback_url: Option<&str>) -> Vec<u8> {
    let mut v = json!({
        "model": "google/veo-3.1-lite",
        "prompt": "A clean product reveal of a matte black desk lamp, slow camera slide, studio lighting",
        "duration": 4,
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "generate_audio": false,
    });
    if let Some(url) = callback_url {
        v["callback_url"] = json!(url);
    }
    v.to_string().into_bytes()
}

/// Submits as the guide's script does; the answer's JSON.
async fn submit(p: &Running, callback_url: Option<&str>) -> Value {
    let (status, _, body) = call(
        "POST",
        &format!("{}/api/v1/videos", p.base()),
        &[
            ("Authorization", "Bearer test-key"),
            ("Content-Type", "application/json"),
        ],
        guide_submit(callback_url),
    )
    .await;
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// The attempts of the next `n` webhooks to finish (bounded by a guard, not a timing).
async fn attempts_until_finished(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    n: usize,
) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    let mut finished = 0;
    while finished < n {
        match tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("the webhook finished")
            .unwrap()
        {
            Event::Attempt(a) => attempts.push(*a),
            Event::Finished(_) => finished += 1,
            Event::Served(_) => {}
        }
    }
    attempts
}

#[tokio::test]
async fn the_submit_answers_the_guides_initial_fields_and_polling_shows_the_terminal_job() {
    let mut s = settings();
    s.job_time = Duration::from_secs(3600);
    let p = start(s).await;
    let job = submit(&p, None).await;
    let keys: Vec<&String> = job.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "polling_url", "status"]);
    assert_eq!(job["status"], "pending");
    let id = job["id"].as_str().unwrap();
    assert_eq!(id.len(), 20);
    let polling = job["polling_url"].as_str().unwrap();
    assert_eq!(polling, format!("{}/api/v1/videos/{id}", p.base()));
    let (status, _, body) = call("GET", polling, &[("Authorization", "Bearer k")], vec![]).await;
    assert_eq!(status, 200);
    let polled: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(polled["status"], "pending");
    // No video while pending.
    let (status, _, _) = call("GET", &format!("{}/files/{id}.mp4", p.base()), &[], vec![]).await;
    assert_eq!(status, 409);

    let done = start(settings()).await;
    let job = submit(&done, None).await;
    assert_eq!(
        job["status"], "pending",
        "the submit answer is always the initial fields"
    );
    let (_, _, body) = call(
        "GET",
        job["polling_url"].as_str().unwrap(),
        &[("Authorization", "Bearer k")],
        vec![],
    )
    .await;
    let polled: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(polled["status"], "completed");
    let data_keys: Vec<&String> = polled.as_object().unwrap().keys().collect();
    assert_eq!(
        data_keys,
        [
            "id",
            "status",
            "generation_id",
            "model",
            "unsigned_urls",
            "usage"
        ]
    );
    assert_eq!(polled["usage"], json!({"cost": 0.4, "is_byok": false}));
    p.stop().await;
    done.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_bearer_token_is_refused_with_json() {
    let mut s = settings();
    s.api_key = Some("mg_right".into());
    let p = start(s).await;
    let url = format!("{}/api/v1/videos", p.base());
    for auth in [
        None,
        Some("Bearer mg_wrong"),
        Some("Basic mg_right"),
        Some("Bearer "),
    ] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
        let (status, h, body) = call("POST", &url, &headers, guide_submit(None)).await;
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(h["content-type"], "application/json");
        let err: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(err["error"]["code"], 401);
        assert!(!String::from_utf8_lossy(&body).contains("mg_right"));
    }
    let (status, _, body) = call(
        "POST",
        &url,
        &[("Authorization", "Bearer mg_right")],
        guide_submit(None),
    )
    .await;
    assert_eq!(status, 202);
    let job: Value = serde_json::from_slice(&body).unwrap();
    let id = job["id"].as_str().unwrap();
    // Polling and the content endpoint need it too; the unsigned file URL does not.
    let polling = job["polling_url"].as_str().unwrap();
    assert_eq!(call("GET", polling, &[], vec![]).await.0, 401);
    let content = format!("{polling}/content");
    assert_eq!(call("GET", &content, &[], vec![]).await.0, 401);
    let auth = [("Authorization", "Bearer mg_right")];
    assert_eq!(call("GET", &content, &auth, vec![]).await.0, 200);
    let file = format!("{}/files/{id}.mp4", p.base());
    assert_eq!(call("GET", &file, &[], vec![]).await.0, 200);
    p.stop().await;
}

#[tokio::test]
async fn bad_submits_get_400_naming_the_field_and_unknown_ids_404() {
    let p = start(settings()).await;
    let url = format!("{}/api/v1/videos", p.base());
    let auth = ("Authorization", "Bearer k");
    let cases: [(&str, &str); 6] = [
        (r#"{"model":"google/veo-3.1-lite"}"#, "prompt"),
        (
            r#"{"model":"m","prompt":"p","callback_url":"ftp://example.com/hook"}"#,
            "callback_url",
        ),
        (
            r#"{"model":"m","prompt":"p","callback_url":"/relative"}"#,
            "callback_url",
        ),
        (
            r#"{"model":"m","prompt":"p","resolution":"8k"}"#,
            "resolution",
        ),
        (r#"{"model":"m","prompt":"p","duration":"4"}"#, "duration"),
        ("model=m&prompt=p", "body"),
    ];
    for (body, field) in cases {
        let (status, _, answer) = call("POST", &url, &[auth], body.as_bytes().to_vec()).await;
        assert_eq!(status, 400, "{body}");
        let err: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(err["error"]["field"], field, "{body}");
        assert!(err["error"]["message"].as_str().unwrap().starts_with(field));
    }
    // A huge body: 413 from the declared length, nothing read.
    let huge = vec![b' '; 2 * 1024 * 1024];
    let (status, _, answer) = call("POST", &url, &[auth], huge).await;
    assert_eq!(status, 413);
    assert!(serde_json::from_slice::<Value>(&answer).is_ok());
    let (status, _, answer) = call("GET", &format!("{url}/no_such_job"), &[auth], vec![]).await;
    assert_eq!(status, 404);
    let err: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(err["error"]["message"], "no video job \"no_such_job\"");
    assert_eq!(call("DELETE", &url, &[auth], vec![]).await.0, 405);
    p.stop().await;
}

#[tokio::test]
async fn the_video_is_a_real_mp4_ffprobe_accepts() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let p = start(settings()).await;
    let job = submit(&p, None).await;
    let (_, _, body) = call(
        "GET",
        job["polling_url"].as_str().unwrap(),
        &[("Authorization", "Bearer k")],
        vec![],
    )
    .await;
    let done: Value = serde_json::from_slice(&body).unwrap();
    let url = done["unsigned_urls"][0].as_str().unwrap();
    let (status, headers, video) = call("GET", url, &[], vec![]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "video/mp4");
    assert_eq!(
        headers["content-length"],
        SAMPLE_MP4.len().to_string().as_str()
    );
    assert_eq!(video.as_ref(), SAMPLE_MP4);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("video.mp4");
    std::fs::write(&file, &video).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=format_name:stream=codec_type",
            "-of",
            "json",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probe: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        probe["format"]["format_name"]
            .as_str()
            .unwrap()
            .contains("mp4")
    );
    assert_eq!(probe["streams"][0]["codec_type"], "video");
    p.stop().await;
}

#[tokio::test]
async fn the_webhook_is_what_hooklens_listen_calls_valid() {
    let listener = common::start(
        ListenConfig {
            verify: VerifyConfig {
                secrets: vec![Secret::new(SECRET).unwrap()],
                ..Default::default()
            },
            ..Default::default()
        },
        None,
    )
    .await;
    let mut captured = listener.store.subscribe();
    let p = start(settings()).await;
    let mut events = p.provider.events.subscribe();
    let job = submit(&p, Some(&listener.url("/modelgates/video-webhook"))).await;
    let id = job["id"].as_str().unwrap().to_owned();
    let attempts = attempts_until_finished(&mut events, 1).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, Some(204));
    let stored = loop {
        if let StoreEvent::Captured(s) = captured.recv().await.unwrap() {
            break s;
        }
    };
    assert_eq!(
        stored.summary.outcome,
        Outcome::Valid,
        "{}",
        stored.verdict.reason
    );
    assert_eq!(stored.summary.data_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        stored.summary.idempotency_key.as_deref(),
        Some(format!("{id}-completed").as_str())
    );
    let record = listener.store.load(stored.summary.id).unwrap();
    let shape =
        hooklens::envelope::shape_report("POST", &record.capture.headers, &record.capture.body);
    assert!(shape.issues.is_empty(), "{:?}", shape.issues);
    p.stop().await;
    listener.stop().await;
}

#[tokio::test]
async fn each_terminal_state_reaches_the_guides_receiver_signed_with_its_fields() {
    let receiver = Receiver::start(guide_check(SECRET, 204, "")).expect(4);
    let mut s = settings();
    s.outcome = hooklens::net::provider::jobs::OutcomePlan::Cycle;
    let p = start(s).await;
    let mut events = p.provider.events.subscribe();
    let hook = format!("{}/modelgates/video-webhook", receiver.url());
    for _ in 0..4 {
        submit(&p, Some(&hook)).await;
    }
    let attempts = attempts_until_finished(&mut events, 4).await;
    assert!(
        attempts.iter().all(|a| a.status == Some(204)),
        "{attempts:?}"
    );
    let mut types = Vec::new();
    for seen in receiver.arrived(4).await {
        assert!(seen.guide_verifies(SECRET));
        assert_eq!(seen.header("content-type"), Some(&b"application/json"[..]));
        let body: Value = serde_json::from_slice(&seen.body).unwrap();
        let status = body["data"]["status"].as_str().unwrap().to_owned();
        assert_eq!(body["type"], format!("video.generation.{status}"));
        let key = String::from_utf8(
            seen.header("x-modelgates-idempotency-key")
                .unwrap()
                .to_vec(),
        )
        .unwrap();
        assert_eq!(
            key,
            format!("{}-{status}", body["data"]["id"].as_str().unwrap())
        );
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["type", "created_at", "data"]);
        match status.as_str() {
            "completed" => assert!(body["data"]["unsigned_urls"][0].is_string()),
            "failed" | "cancelled" | "expired" => assert!(body["data"]["error"].is_string()),
            other => panic!("status {other}"),
        }
        types.push(status);
    }
    types.sort();
    assert_eq!(types, ["cancelled", "completed", "expired", "failed"]);
    p.stop().await;
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_three_attempts_same_key_new_t_each_signed() {
    let calls = Arc::new(AtomicUsize::new(0));
    let count = calls.clone();
    let check = guide_check(SECRET, 204, "");
    let receiver = Receiver::start(move |seen| {
        if count.fetch_add(1, Ordering::SeqCst) < 2 {
            respond(500, "down")
        } else {
            check(seen)
        }
    })
    .expect(3);
    let mut s = settings();
    // One second apart so each attempt's t (unix seconds) differs.
    s.schedule = Schedule(vec![Duration::from_secs(1); 7]);
    let p = start(s).await;
    let mut events = p.provider.events.subscribe();
    submit(&p, Some(&receiver.url())).await;
    let attempts = attempts_until_finished(&mut events, 1).await;
    let statuses: Vec<Option<u16>> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(204)]);
    assert_eq!(attempts[0].next_retry_ms, Some(1000));
    assert!(attempts[0].error.as_deref().unwrap().contains("500"));
    let seen = receiver.arrived(3).await;
    let header =
        |i: usize, name: &str| String::from_utf8(seen[i].header(name).unwrap().to_vec()).unwrap();
    let key = header(0, "x-modelgates-idempotency-key");
    let mut ts = Vec::new();
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(header(i, "x-modelgates-idempotency-key"), key);
        assert_eq!(s.body, seen[0].body, "the same body on every attempt");
        assert!(guide_verifies(
            SECRET,
            s.header("x-modelgates-signature"),
            &s.body
        ));
        ts.push(
            header(i, "x-modelgates-signature")
                .split(',')
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    ts.dedup();
    assert_eq!(ts.len(), 3, "each attempt re-timestamped: {ts:?}");
    p.stop().await;
}

#[tokio::test]
async fn callbacks_that_fail_are_recorded_attempts_never_a_hang() {
    // 500, a redirect, no answer within the delivery timeout, a reset.
    let failing = Receiver::start(always(500, "boom")).expect(1);
    let redirect = Receiver::start(|_| {
        http::Response::builder()
            .status(302)
            .header("Location", "http://127.0.0.1:1/elsewhere")
            .body(http_body_util::Full::new(Bytes::new()).boxed())
            .unwrap()
    })
    .expect(1);
    let silent = Receiver::start_with(
        common::Setup {
            delay: Duration::from_secs(5),
            ..Default::default()
        },
        always(204, ""),
    )
    .expect(1);
    let reset = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let reset_url = format!("http://{}/", reset.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((s, _)) = reset.accept() {
            drop(s);
        }
    });
    let mut s = settings();
    s.delivery_timeout = Duration::from_millis(500);
    let p = start(s).await;
    let mut events = p.provider.events.subscribe();
    for url in [failing.url(), redirect.url(), silent.url(), reset_url] {
        submit(&p, Some(&url)).await;
        let attempts = attempts_until_finished(&mut events, 1).await;
        assert_eq!(attempts.len(), 1, "{url}: --retry none");
        let a = &attempts[0];
        let error = a.error.clone().unwrap_or_default();
        let line = Event::Attempt(Box::new(a.clone())).line();
        assert!(line.contains(&error), "{line}");
        match a.status {
            Some(500) => assert!(error.contains("not 2xx"), "{error}"),
            Some(302) => assert!(error.contains("redirect"), "{error}"),
            None => assert!(!error.is_empty(), "{url}"),
            other => panic!("{url}: {other:?}"),
        }
        if url == silent.url() {
            assert!(error.contains("did not answer within"), "{error}");
        }
    }
    p.stop().await;
}

#[tokio::test]
async fn misbehaviour_duplicate_rotate_late_and_tamper() {
    let listener = common::start(
        ListenConfig {
            verify: VerifyConfig {
                secrets: vec![Secret::new(SECRET).unwrap()],
                ..Default::default()
            },
            ..Default::default()
        },
        None,
    )
    .await;
    let hook = listener.url("/modelgates/video-webhook");
    let run = |m: Misbehave| {
        let hook = hook.clone();
        async move {
            let mut s = settings();
            s.misbehave = m;
            let p = start(s).await;
            let mut events = p.provider.events.subscribe();
            submit(&p, Some(&hook)).await;
            let attempts = attempts_until_finished(&mut events, 1).await;
            p.stop().await;
            attempts
        }
    };
    let outcomes = || -> Vec<Outcome> {
        listener
            .store
            .index()
            .rows()
            .iter()
            .map(|r| r.outcome)
            .collect()
    };

    let twice = run(Misbehave {
        duplicate: true,
        ..Default::default()
    })
    .await;
    assert_eq!(twice.iter().map(|a| a.copy).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(twice[0].idempotency_key, twice[1].idempotency_key);
    let rows = listener.store.index().rows().to_vec();
    assert_eq!(
        rows[1].dup_of,
        Some(rows[0].id),
        "the listener sees the duplicate"
    );

    run(Misbehave {
        rotate: Some(Secret::new("old_secret").unwrap()),
        ..Default::default()
    })
    .await;
    let third = listener.store.index().rows()[2].id;
    let rotated = listener.store.load(third).unwrap();
    let sig = String::from_utf8(
        hooklens::model::capture::header_value(&rotated.capture.headers, "x-modelgates-signature")
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert_eq!(sig.matches("v1=").count(), 2, "{sig}");
    // The old secret's signature first, then the current one, over the same t and body.
    let t: i64 = sig
        .strip_prefix("t=")
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let body = &rotated.capture.body;
    assert_eq!(
        sig,
        format!(
            "t={t},v1={},v1={}",
            common::guide_signature("old_secret", t, body),
            common::guide_signature(SECRET, t, body)
        )
    );

    run(Misbehave {
        late: Some(Duration::from_secs(400)),
        ..Default::default()
    })
    .await;
    run(Misbehave {
        tamper: true,
        ..Default::default()
    })
    .await;
    assert_eq!(
        outcomes(),
        [
            Outcome::Valid,
            Outcome::Valid,
            Outcome::Valid,
            Outcome::Stale,
            Outcome::InvalidSignature
        ]
    );
    listener.stop().await;
}

#[tokio::test]
async fn reorder_sends_the_newer_jobs_webhook_first() {
    let receiver = Receiver::start(always(204, "")).expect(2);
    let mut s = settings();
    s.misbehave.reorder = true;
    let p = start(s).await;
    let mut events = p.provider.events.subscribe();
    let first = submit(&p, Some(&receiver.url())).await;
    let second = submit(&p, Some(&receiver.url())).await;
    attempts_until_finished(&mut events, 2).await;
    let order: Vec<String> = receiver
        .arrived(2)
        .await
        .iter()
        .map(|s| {
            serde_json::from_slice::<Value>(&s.body).unwrap()["data"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        order,
        [
            second["id"].as_str().unwrap(),
            first["id"].as_str().unwrap()
        ]
    );
    p.stop().await;
}

#[tokio::test]
async fn the_binary_prints_a_json_line_per_request_and_per_attempt() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let receiver = Receiver::start(guide_check(SECRET, 204, "")).expect(1);
    let (mut cmd, _home) = common::hooklens().into_tokio();
    cmd.env_remove("MODELGATES_API_KEY")
        .args([
            "provider",
            "--port",
            "0",
            "--secret",
            SECRET,
            "--job-time",
            "0",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = ready
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap()
        .to_owned();
    let (status, _, body) = call(
        "POST",
        &format!("{base}/api/v1/videos"),
        &[("Authorization", "Bearer k")],
        guide_submit(Some(&receiver.url())),
    )
    .await;
    assert_eq!(status, 202);
    let id = serde_json::from_slice::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut kinds = Vec::new();
    while kinds.last().map(String::as_str) != Some("finished") {
        let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["kind"] == "attempt" {
            assert_eq!(v["status"], 204);
            assert_eq!(v["idempotency_key"], format!("{id}-completed"));
            assert_eq!(v["attempt"], 1);
        }
        if v["kind"] == "request" {
            assert_eq!(
                (v["method"].as_str(), v["status"].as_u64()),
                (Some("POST"), Some(202))
            );
        }
        kinds.push(v["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds, ["request", "attempt", "finished"]);
    receiver.arrived(1).await;
    child.kill().await.unwrap();
}

#[test]
fn bad_flags_are_usage_errors() {
    for (args, says) in [
        (vec!["--secret", SECRET, "--retry", "5x"], "--retry"),
        (vec!["--secret", SECRET, "--outcome", "done"], "--outcome"),
        (
            vec!["--secret", SECRET, "--default-callback-url", "mailto:x"],
            "--default-callback-url",
        ),
        (vec![], "provider needs --secret"),
    ] {
        let mut cmd = common::hooklens();
        let out = cmd
            .env_remove("MODELGATES_API_KEY")
            .arg("provider")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
