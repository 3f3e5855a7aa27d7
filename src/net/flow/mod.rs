//! `hooklens flow`: the guide's Steps 4–5 run end to end and every link checked: a listener
//! for the webhook, the submit, the polls, the signed terminal webhook (signature, skew,
//! idempotency key, `data.id`, status vs type), the user's receiver behind the listener
//! (`--forward-to`), and the download. The result is the guide's delivery report plus one
//! [`Step`] per link, reported as each one ends.
//!
//! Files: this one runs the steps; [`http`] makes the API calls (bounded, bearer token only
//! for the API's own host); [`judge`] decides each step from what was seen and [`report`]
//! builds the report (both pure). Printing is `cmd/flow.rs`'s.

pub mod http;
pub mod judge;
pub mod report;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::envelope::shape_report;
use crate::model::capture::CaptureId;
use crate::model::exchange::PathMode;
use crate::model::record::{CaptureRecord, Event};
use crate::model::secret::Secret;
use crate::net::client::Target;
use crate::net::server::{self, ListenConfig, Listener, Respond};
use crate::store::Store;
use crate::verify::VerifyConfig;
pub use judge::{State, Step};
use judge::{error_text, first_url, judge_download, judge_submit, judge_webhook};
use report::{Arrived, PollStatus};

/// Where the guide's receiver listens.
pub const CALLBACK_PATH: &str = "/modelgates/video-webhook";
/// The statuses a job ends in.
pub const TERMINAL: [&str; 4] = ["completed", "failed", "cancelled", "expired"];
/// How long one API call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the listener waits for the user's receiver.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// What a flow runs against.
#[derive(Clone, Debug)]
pub struct FlowConfig {
    /// The API's base URL (`https://modelgates.ai` or a `hooklens provider`).
    pub api: String,
    /// The bearer token for the API.
    pub api_key: Secret,
    /// The webhook signing secret the listener verifies with.
    pub secret: Secret,
    /// The `callback_url` submitted (default: this flow's listener).
    pub callback_url: Option<String>,
    /// The listener's port on 127.0.0.1 (0: any free port).
    pub listen_port: u16,
    /// The capture log of a `hooklens listen` already running (that `callback_url` leads
    /// to): the webhook is looked for there, and no listener is started.
    pub store: Option<PathBuf>,
    /// The user's receiver, put behind the listener.
    pub forward_to: Option<Target>,
    /// Time between polls.
    pub poll_interval: Duration,
    /// The bound on polling plus waiting for the webhook.
    pub timeout: Duration,
    /// Extra CA certificates for https APIs and receivers.
    pub cacert: Vec<PathBuf>,
}

/// Everything a flow found.
#[derive(Clone, Debug)]
pub struct FlowResult {
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The guide's delivery report.
    pub report: Value,
}

impl FlowResult {
    /// The first step that failed.
    pub fn failed(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.state == State::Failed)
    }
}

struct Run<'a, F: FnMut(&Step)> {
    steps: Vec<Step>,
    on_step: &'a mut F,
}

impl<F: FnMut(&Step)> Run<'_, F> {
    fn step(&mut self, name: &'static str, state: State, detail: impl AsRef<str>) {
        let step = Step {
            name,
            state,
            detail: crate::sanitize::escape_line(detail.as_ref().as_bytes()),
        };
        (self.on_step)(&step);
        self.steps.push(step);
    }
}

/// A listener in this process, as `hooklens listen` runs it.
struct Local {
    url: String,
    store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<()>>,
    writer: crate::store::WriterHandle,
}

impl Local {
    async fn start(cfg: &FlowConfig) -> Result<Local> {
        let tcp = server::bind([127, 0, 0, 1].into(), cfg.listen_port).await?;
        let addr = tcp.local_addr().context("reading the bound address")?;
        let (store, writer, _) = Store::open_in_memory(64 << 20);
        let forward = match &cfg.forward_to {
            Some(target) => Some(crate::net::forward::ForwardConfig {
                client: crate::net::client::Client::new(crate::net::tls::client_config(
                    &cfg.cacert,
                )?),
                target: target.clone(),
                mode: PathMode::Exact,
                timeout: FORWARD_TIMEOUT,
            }),
            None => None,
        };
        let config = ListenConfig {
            verify: VerifyConfig {
                secrets: vec![cfg.secret.clone()],
                ..Default::default()
            },
            respond: if forward.is_some() {
                Respond::Relay
            } else {
                Respond::Verdict
            },
            forward,
            ..Default::default()
        };
        let state = Arc::new(Listener::new(config, store.clone()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(tcp, state, async {
            let _ = rx.await;
        }));
        Ok(Local {
            url: format!("http://{addr}{CALLBACK_PATH}"),
            store,
            stop: Some(tx),
            task,
            writer,
        })
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.task.await;
        drop(self.store);
        self.writer.join().await;
    }
}

/// Whether `url` is on the API's host (scheme, host and port): only then does it get the
/// bearer token, as the guide says.
fn on_api_host(api: &str, url: &str) -> bool {
    match (Target::parse(api), Target::parse(url)) {
        (Ok(a), Ok(u)) => {
            a.https == u.https && a.host.eq_ignore_ascii_case(&u.host) && a.port == u.port
        }
        _ => false,
    }
}

/// Runs the flow; `on_step` sees each step as it ends. `Err` only when the flow could not
/// start (the listener's port, the TLS trust).
pub async fn run(cfg: &FlowConfig, mut on_step: impl FnMut(&Step)) -> Result<FlowResult> {
    let client = crate::net::send::client(&cfg.cacert)?;
    let mut run = Run {
        steps: Vec::new(),
        on_step: &mut on_step,
    };
    let (local, callback) = match (&cfg.store, &cfg.callback_url) {
        (Some(path), Some(url)) => {
            if !path.exists() {
                run.step(
                    "listen",
                    State::Failed,
                    format!(
                        "no capture log at {}: is hooklens listen running there?",
                        path.display()
                    ),
                );
                return Ok(FlowResult {
                    steps: run.steps,
                    report: report::report(None, None, &[], None),
                });
            }
            run.step(
                "listen",
                State::Passed,
                format!(
                    "callback_url {url}, webhooks looked for in {}",
                    path.display()
                ),
            );
            (None, url.clone())
        }
        _ => {
            let local = Local::start(cfg).await?;
            let callback = cfg
                .callback_url
                .clone()
                .unwrap_or_else(|| local.url.clone());
            let listening = match &cfg.forward_to {
                Some(t) => format!("{} → {}", local.url, crate::net::forward::target_url(t)),
                None => local.url.clone(),
            };
            run.step(
                "listen",
                State::Passed,
                if cfg.callback_url.is_some() {
                    format!("{listening} (callback_url {callback})")
                } else {
                    listening
                },
            );
            (Some(local), callback)
        }
    };
    let mut events = local.as_ref().map(|l| l.store.subscribe());
    let started = Instant::now();
    let deadline = started + cfg.timeout;
    let api = cfg.api.trim_end_matches('/');
    let token = cfg.api_key.expose_str();

    // Step 4: submit, as the guide's script does.
    let body = json!({
        "model": "google/veo-3.1-lite",
        "prompt": "A clean product reveal of a matte black desk lamp, slow camera slide, studio lighting",
        "duration": 4,
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "generate_audio": false,
        "callback_url": callback,
    });
    let submit_url = format!("{api}/api/v1/videos");
    let submitted = http::json(
        &client,
        &submit_url,
        Some(token),
        Some(body.to_string().into_bytes()),
        CALL_TIMEOUT,
    )
    .await;
    let (job_id, polling_url) = match judge_submit(submitted) {
        Ok((id, polling, detail)) => {
            run.step("submit", State::Passed, detail);
            (id, polling)
        }
        Err(why) => {
            run.step("submit", State::Failed, why);
            if let Some(local) = local {
                local.stop().await;
            }
            return Ok(FlowResult {
                steps: run.steps,
                report: report::report(None, None, &[], None),
            });
        }
    };

    // Poll until a terminal status.
    let mut polls = Vec::new();
    let mut last: Option<Value> = None;
    let poll_token = on_api_host(api, &polling_url).then_some(token);
    let poll_failure = loop {
        match http::json(&client, &polling_url, poll_token, None, CALL_TIMEOUT).await {
            Ok(a) if (200..300).contains(&a.status) => match a.body {
                Ok(v) => {
                    let status = v
                        .get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("(none)")
                        .to_owned();
                    polls.push(PollStatus {
                        status: status.clone(),
                        elapsed_seconds: started.elapsed().as_secs(),
                    });
                    last = Some(v);
                    if TERMINAL.contains(&status.as_str()) {
                        break None;
                    }
                }
                Err(e) => break Some(format!("the poll answered {}: {e}", a.status)),
            },
            Ok(a) => {
                break Some(format!(
                    "the poll answered {}: {}",
                    a.status,
                    error_text(&a.body)
                ));
            }
            Err(e) => break Some(format!("{e:#}")),
        }
        if Instant::now() + cfg.poll_interval > deadline {
            break Some(format!("no terminal status within {:?}", cfg.timeout));
        }
        tokio::time::sleep(cfg.poll_interval).await;
    };
    let seen = polls
        .iter()
        .map(|p| format!("{} {}s", p.status, p.elapsed_seconds))
        .collect::<Vec<_>>()
        .join(", ");
    let terminal = match &poll_failure {
        None => {
            run.step("poll", State::Passed, &seen);
            polls.last().map(|p| p.status.clone())
        }
        Some(why) => {
            let detail = if seen.is_empty() {
                why.clone()
            } else {
                format!("{seen}; then {why}")
            };
            run.step("poll", State::Failed, detail);
            None
        }
    };

    // The signed terminal webhook, as the listener verified it.
    let wait_until = deadline.max(Instant::now() + Duration::from_secs(5));
    let delivery = match (&local, events.as_mut(), &cfg.store) {
        (Some(l), Some(ev), _) => wait_for_delivery(ev, &l.store, &job_id, wait_until).await,
        (_, _, Some(path)) => from_log(path, &job_id, &cfg.secret, wait_until).await,
        _ => None,
    };
    let mut arrived_body: Option<Value> = None;
    let shape = delivery
        .as_ref()
        .map(|r| shape_report(&r.capture.method, &r.capture.headers, &r.capture.body));
    match &delivery {
        Some(record) => {
            arrived_body = serde_json::from_slice(&record.capture.body).ok();
            let (state, detail) = judge_webhook(record, &job_id, terminal.as_deref());
            run.step("webhook", state, detail);
        }
        None => {
            let elsewhere = match (&local, &cfg.store) {
                (Some(l), _) if cfg.callback_url.is_some() => format!(
                    "; the callback_url {callback} must lead to this flow's listener ({})",
                    l.url
                ),
                (_, Some(path)) => format!(" writing {}", path.display()),
                _ => String::new(),
            };
            run.step(
                "webhook",
                State::Failed,
                format!(
                    "no webhook for job {job_id} reached the listener within {:?}{elsewhere}",
                    cfg.timeout
                ),
            );
        }
    }

    // The user's receiver behind the listener.
    if let (Some(_), Some(events)) = (&cfg.forward_to, events.as_mut()) {
        match &delivery {
            Some(record) => {
                let until = Instant::now() + FORWARD_TIMEOUT + Duration::from_secs(5);
                let (state, detail) = match wait_for_forward(events, record.capture.id, until).await
                {
                    Some((Some(status), _)) if (200..300).contains(&status) => {
                        (State::Passed, format!("your receiver answered {status}"))
                    }
                    Some((Some(status), _)) => (
                        State::Failed,
                        format!(
                            "your receiver answered {status} to a valid delivery (a correct one answers 2xx, the guide's 204)"
                        ),
                    ),
                    Some((None, error)) => (
                        State::Failed,
                        format!("your receiver did not answer: {error}"),
                    ),
                    None => (
                        State::Failed,
                        "the forward to your receiver did not finish".into(),
                    ),
                };
                run.step("receiver", state, detail);
            }
            None => run.step(
                "receiver",
                State::Failed,
                "nothing to forward: no webhook arrived",
            ),
        }
    }

    // Download the video.
    let mut downloaded = None;
    match terminal.as_deref() {
        Some("completed") => {
            let url = first_url(arrived_body.as_ref().and_then(|b| b.get("data")))
                .or_else(|| first_url(last.as_ref()));
            match url {
                None => run.step(
                    "download",
                    State::Failed,
                    "the completed job has no unsigned_urls[0]",
                ),
                Some(url) => {
                    let bearer = on_api_host(api, &url).then_some(token);
                    let (state, detail) =
                        match http::download(&client, &url, bearer, CALL_TIMEOUT).await {
                            Ok(d) => {
                                downloaded = Some(d.bytes);
                                judge_download(&d, bearer.is_some())
                            }
                            Err(e) => (State::Failed, format!("{e:#}")),
                        };
                    run.step("download", state, detail);
                }
            }
        }
        Some(other) => run.step(
            "download",
            State::Skipped,
            format!("the job ended {other}: there is no video"),
        ),
        None => run.step("download", State::Skipped, "the job did not finish"),
    }

    if let Some(local) = local {
        local.stop().await;
    }
    let data_id = arrived_body
        .as_ref()
        .and_then(|b| b.pointer("/data/id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let report = report::report(
        shape.as_ref().map(|shape| Arrived {
            shape,
            data_id: data_id.as_deref(),
        }),
        Some(&job_id),
        &polls,
        downloaded,
    );
    Ok(FlowResult {
        steps: run.steps,
        report,
    })
}

async fn wait_for_delivery(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    store: &Store,
    job_id: &str,
    until: Instant,
) -> Option<CaptureRecord> {
    // One that arrived before we looked (a fast job) is in the index already.
    let early = store
        .index()
        .rows()
        .iter()
        .find(|r| r.data_id.as_deref() == Some(job_id))
        .map(|r| r.id);
    if let Some(id) = early {
        return store.load(id).ok();
    }
    loop {
        let left = until.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, events.recv()).await {
            Err(_) | Ok(Err(RecvError::Closed)) => return None,
            Ok(Err(RecvError::Lagged(_))) => continue,
            Ok(Ok(Event::Captured(stored)))
                if stored.summary.data_id.as_deref() == Some(job_id) =>
            {
                return store.load(stored.summary.id).ok();
            }
            Ok(Ok(_)) => continue,
        }
    }
}

/// The delivery for `job_id` in the capture log of a listener already running, verified
/// again with the flow's secret as of its arrival (the listener may have none).
async fn from_log(
    path: &std::path::Path,
    job_id: &str,
    secret: &Secret,
    until: Instant,
) -> Option<CaptureRecord> {
    let what = crate::store::tail::WaitFor {
        filter: crate::filter::Filter::parse(&format!("key:{job_id}")).ok()?,
        include_existing: true,
        ..Default::default()
    };
    let left = until.checked_duration_since(Instant::now())?;
    let mut record = crate::store::tail::wait_for(path, &what, left)
        .await
        .ok()??;
    let cfg = VerifyConfig {
        secrets: vec![secret.clone()],
        ..Default::default()
    };
    record.verdict = crate::verify::verify(
        &record.capture.headers,
        &record.capture.body,
        &cfg,
        record.capture.received_at_ms.div_euclid(1000),
    );
    Some(record)
}

/// The receiver's status (or the error) for the forward of capture `id`.
async fn wait_for_forward(
    events: &mut tokio::sync::broadcast::Receiver<Event>,
    id: CaptureId,
    until: Instant,
) -> Option<(Option<u16>, String)> {
    loop {
        let left = until.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, events.recv()).await {
            Err(_) | Ok(Err(RecvError::Closed)) => return None,
            Ok(Err(RecvError::Lagged(_))) => continue,
            Ok(Ok(Event::Forwarded(e))) if e.capture == id => {
                return Some((
                    e.response.as_ref().map(|r| r.status),
                    e.error.clone().unwrap_or_default(),
                ));
            }
            Ok(Ok(_)) => continue,
        }
    }
}
