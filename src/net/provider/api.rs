//! The simulator's HTTP server: the routes of the ModelGates video API that the guide uses.
//!
//! | route | auth | answer |
//! |---|---|---|
//! | `POST /api/v1/videos` | bearer | 202 `{"id","polling_url","status":"pending"}`; 400 naming the field; 413 over 1 MiB |
//! | `GET /api/v1/videos/<id>` | bearer | the job: pending, then its terminal fields; 404 for an unknown id |
//! | `GET /api/v1/videos/<id>/content` | bearer | the MP4 once completed; 409 before or when it did not complete |
//! | `GET /files/<id>.mp4` | none | the MP4 (the `unsigned_urls[0]` of a completed job) |
//!
//! Every error is JSON, `{"error": {"code", "message"[, "field"]}}`. Every answer is
//! reported as an [`Event::Served`]; a submitted job's webhook is delivered in the
//! background by the [`Deliverer`] once the job's time has passed.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::deliver::Deliverer;
use super::events::{Event, Events, Served};
use super::files::{CONTENT_TYPE, SAMPLE_MP4};
use super::jobs::{Job, Jobs, Submit};
use crate::model::capture::now_ms;

/// Largest submit body read; larger ones get 413.
pub const MAX_SUBMIT_BYTES: usize = 1024 * 1024;
/// A request head must arrive within this long, its body within this long after it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default port, one above the listener's.
pub const DEFAULT_PORT: u16 = 8788;

/// A running simulator's state.
pub struct Provider {
    /// `http://127.0.0.1:PORT`: the base of `polling_url` and `unsigned_urls`.
    pub base: String,
    /// `--api-key`: when set, the only bearer token accepted (else any non-empty one).
    api_key: Option<String>,
    /// The jobs.
    pub jobs: Jobs,
    /// How webhooks go out.
    pub deliverer: Deliverer,
    /// What is reported.
    pub events: Events,
    deliveries: Mutex<JoinSet<()>>,
}

impl Provider {
    /// A simulator answering at `base`.
    pub fn new(
        base: String,
        api_key: Option<String>,
        jobs: Jobs,
        deliverer: Deliverer,
    ) -> Provider {
        let events = deliverer.events.clone();
        Provider {
            base,
            api_key,
            jobs,
            deliverer,
            events,
            deliveries: Mutex::default(),
        }
    }

    fn authorized(&self, req: &Request<Incoming>) -> bool {
        let Some(token) = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
        else {
            return false;
        };
        match &self.api_key {
            Some(key) => bool::from(token.as_bytes().ct_eq(key.as_bytes())),
            None => !token.is_empty(),
        }
    }
}

/// Serves `tcp` until `shutdown` resolves; then open connections and pending deliveries
/// are dropped.
pub async fn serve(
    tcp: TcpListener,
    provider: Arc<Provider>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = tcp.accept() => match accepted {
                Ok((stream, _)) => {
                    let p = provider.clone();
                    conns.spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            let p = p.clone();
                            async move { Ok::<_, Infallible>(handle(&p, req).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(REQUEST_TIMEOUT)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Out of descriptors and the like: wait, then accept again.
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            },
        }
        while conns.try_join_next().is_some() {}
    }
    conns.abort_all();
    provider
        .deliveries
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .abort_all();
    Ok(())
}

/// What a route decided.
struct Answer {
    status: u16,
    job: Option<String>,
    note: String,
    response: Response<Full<Bytes>>,
    /// A job just submitted whose webhook is to be delivered (after the submit is reported).
    deliver: Option<Job>,
}

fn json_answer(status: u16, job: Option<String>, note: impl Into<String>, body: &Value) -> Answer {
    let response = Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default();
    Answer {
        status,
        job,
        note: note.into(),
        response,
        deliver: None,
    }
}

/// `{"error": {"code", "message"[, "field"]}}`.
fn error(status: u16, job: Option<String>, message: String, field: Option<&str>) -> Answer {
    let mut err = json!({"code": status, "message": message});
    if let (Some(f), Some(map)) = (field, err.as_object_mut()) {
        map.insert("field".into(), json!(f));
    }
    json_answer(status, job, message, &json!({ "error": err }))
}

async fn handle(p: &Provider, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let at_ms = now_ms();
    let method = req.method().as_str().to_owned();
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let answer = match (method.as_str(), segments.as_slice()) {
        ("POST", ["api", "v1", "videos"]) => submit(p, req).await,
        ("GET", ["api", "v1", "videos", id]) => with_auth(p, &req, |p| poll(p, id)),
        ("GET", ["api", "v1", "videos", id, "content"]) => {
            with_auth(p, &req, |p| video(p, id, "content"))
        }
        ("GET" | "HEAD", ["files", file]) => match file.strip_suffix(".mp4") {
            Some(id) => video(p, id, "file"),
            None => not_found(&path),
        },
        (_, ["api", "v1", "videos", ..] | ["files", _]) => error(
            405,
            None,
            format!("{method} is not allowed on {path}"),
            None,
        ),
        _ => not_found(&path),
    };
    p.events.send(Event::Served(Served {
        at_ms,
        method,
        target,
        status: answer.status,
        job: answer.job,
        note: answer.note,
    }));
    if let Some(job) = answer.deliver {
        start_delivery(p, job);
    }
    answer.response
}

/// Delivers `job`'s webhook in the background once its time has passed.
fn start_delivery(p: &Provider, job: Job) {
    let (deliverer, base) = (p.deliverer.clone(), p.base.clone());
    let mut deliveries = p.deliveries.lock().unwrap_or_else(PoisonError::into_inner);
    // Finished deliveries are let go, so a long test run does not pile them up.
    while deliveries.try_join_next().is_some() {}
    deliveries.spawn(async move {
        let wait = job.done_ms - now_ms();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        deliverer.deliver(&job, &base).await;
    });
}

fn not_found(path: &str) -> Answer {
    error(404, None, format!("no route {path}"), None)
}

fn unauthorized() -> Answer {
    let mut a = error(
        401,
        None,
        "missing or wrong API key: send Authorization: Bearer <key>".into(),
        None,
    );
    a.response.headers_mut().insert(
        hyper::header::WWW_AUTHENTICATE,
        hyper::header::HeaderValue::from_static("Bearer"),
    );
    a
}

fn with_auth(
    p: &Provider,
    req: &Request<Incoming>,
    route: impl FnOnce(&Provider) -> Answer,
) -> Answer {
    if p.authorized(req) {
        route(p)
    } else {
        unauthorized()
    }
}

async fn submit(p: &Provider, req: Request<Incoming>) -> Answer {
    if !p.authorized(&req) {
        return unauthorized();
    }
    let too_big = || {
        error(
            413,
            None,
            format!("the body is over {} bytes", MAX_SUBMIT_BYTES),
            Some("body"),
        )
    };
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_SUBMIT_BYTES as u64) {
        return too_big();
    }
    let read = Limited::new(req.into_body(), MAX_SUBMIT_BYTES).collect();
    let body = match tokio::time::timeout(REQUEST_TIMEOUT, read).await {
        Err(_) => {
            return error(
                408,
                None,
                format!("the body did not arrive within {REQUEST_TIMEOUT:?}"),
                Some("body"),
            );
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_big(),
        Ok(Err(e)) => {
            return error(
                400,
                None,
                format!("the body did not arrive whole: {e}"),
                Some("body"),
            );
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let submit = match Submit::parse(&body) {
        Ok(s) => s,
        Err(e) => {
            return error(
                400,
                None,
                format!("{}: {}", e.field, e.message),
                Some(e.field),
            );
        }
    };
    let job = p.jobs.create(submit, now_ms());
    let note = match &job.callback_url {
        Some(url) => format!("created, ends {} → {url}", job.terminal.as_str()),
        None => format!(
            "created, ends {} (no callback_url: no webhook)",
            job.terminal.as_str()
        ),
    };
    let fields = job.initial_fields(&p.base);
    let mut answer = json_answer(202, Some(job.id.clone()), note, &fields);
    answer.deliver = job.callback_url.is_some().then_some(job);
    answer
}

fn poll(p: &Provider, id: &str) -> Answer {
    match p.jobs.get(id) {
        Some(job) => {
            let now = now_ms();
            json_answer(
                200,
                Some(job.id.clone()),
                job.status(now),
                &job.fields(&p.base, now),
            )
        }
        None => error(404, None, format!("no video job {id:?}"), None),
    }
}

/// The MP4 of a completed job (`via`: `content` or `file`, for the note).
fn video(p: &Provider, id: &str, via: &str) -> Answer {
    let Some(job) = p.jobs.get(id) else {
        return error(404, None, format!("no video job {id:?}"), None);
    };
    let status = job.status(now_ms());
    if status != "completed" {
        return error(
            409,
            Some(job.id),
            format!("the job is {status}: there is no video"),
            None,
        );
    }
    let response = Response::builder()
        .status(200)
        .header("Content-Type", CONTENT_TYPE)
        .header("Content-Length", SAMPLE_MP4.len())
        .body(Full::new(Bytes::from_static(SAMPLE_MP4)))
        .unwrap_or_default();
    Answer {
        status: 200,
        job: Some(job.id),
        note: format!("{via}, {}", crate::fmt::size(SAMPLE_MP4.len() as u64)),
        response,
        deliver: None,
    }
}
