//! The simulated video jobs: what a submit must hold ([`Submit::parse`]), the job table, and
//! each job's status on a clock the caller passes in (`pending` until `--job-time` has passed,
//! then its terminal status), with the fields the guide lists for each terminal state and the
//! webhook body `{type, created_at, data}`.
//!
//! No sockets, no clock of its own: every function that depends on time takes `now_ms`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The resolutions a submit may ask for.
pub const RESOLUTIONS: [&str; 3] = ["480p", "720p", "1080p"];
/// The aspect ratios a submit may ask for.
pub const ASPECT_RATIOS: [&str; 3] = ["16:9", "9:16", "1:1"];
/// Longest clip, in seconds.
pub const MAX_DURATION_SECS: u64 = 60;
/// The prompt marker that picks one job's outcome, e.g. `… [outcome:failed]`.
pub const OUTCOME_MARKER: &str = "[outcome:";
/// Price per second of video in the simulated `usage.cost` (US dollars).
const COST_PER_SECOND: f64 = 0.1;

/// A job's terminal outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Terminal {
    /// The video is ready (`unsigned_urls`, `usage`).
    Completed,
    /// Generation failed (`error`).
    Failed,
    /// The job was cancelled (`error`).
    Cancelled,
    /// The job did not finish in time (`error`).
    Expired,
}

impl Terminal {
    /// Every terminal state, in the order `--outcome cycle` hands them out.
    pub const ALL: [Terminal; 4] = [
        Terminal::Completed,
        Terminal::Failed,
        Terminal::Cancelled,
        Terminal::Expired,
    ];

    /// `completed`, `failed`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Terminal::Completed => "completed",
            Terminal::Failed => "failed",
            Terminal::Cancelled => "cancelled",
            Terminal::Expired => "expired",
        }
    }

    /// The webhook's `type`: `video.generation.<status>`.
    pub fn event_type(self) -> String {
        format!("video.generation.{}", self.as_str())
    }

    fn parse(text: &str) -> Option<Terminal> {
        Terminal::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// `--outcome`: one terminal state for every job, or each in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomePlan {
    /// Every job ends this way (unless its prompt says otherwise).
    Always(Terminal),
    /// completed, failed, cancelled, expired, completed, …
    Cycle,
}

impl OutcomePlan {
    /// Parses `completed|failed|cancelled|expired|cycle`.
    pub fn parse(text: &str) -> Result<OutcomePlan, String> {
        if text == "cycle" {
            return Ok(OutcomePlan::Cycle);
        }
        Terminal::parse(text)
            .map(OutcomePlan::Always)
            .ok_or_else(|| format!("{text:?}: use completed, failed, cancelled, expired or cycle"))
    }
}

/// A validated `POST /api/v1/videos` body.
#[derive(Clone, Debug, PartialEq)]
pub struct Submit {
    /// Model slug, e.g. `google/veo-3.1-lite`.
    pub model: String,
    /// The prompt (may carry an [`OUTCOME_MARKER`]).
    pub prompt: String,
    /// Seconds of video.
    pub duration: u64,
    /// One of [`RESOLUTIONS`].
    pub resolution: String,
    /// One of [`ASPECT_RATIOS`].
    pub aspect_ratio: String,
    /// Whether audio is generated.
    pub generate_audio: bool,
    /// Where the terminal webhook goes (http or https), when given.
    pub callback_url: Option<String>,
}

/// Why a submit was refused: the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON field (`prompt`, `callback_url`, …), or `body` for the whole body.
    pub field: &'static str,
    /// What is wrong, one line.
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

impl Submit {
    /// Parses and checks a submit body the way the guide's script writes it: `model` and
    /// `prompt` required, `duration` 1–60 (default 4), `resolution` and `aspect_ratio` from
    /// the lists above (defaults `720p`, `16:9`), `generate_audio` a boolean, `callback_url`
    /// an absolute http(s) URL. Unknown fields are ignored.
    pub fn parse(body: &[u8]) -> Result<Submit, FieldError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| field_error("body", format!("not JSON: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(field_error("body", "must be a JSON object"));
        };
        let text = |field: &'static str, required: bool| -> Result<Option<String>, FieldError> {
            match obj.get(field) {
                None | Some(Value::Null) if required => Err(field_error(field, "is required")),
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => {
                    Err(field_error(field, "must not be empty"))
                }
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(field_error(field, "must be a string")),
            }
        };
        let one_of = |field: &'static str, allowed: &[&str], default: &str| {
            let v = text(field, false)?.unwrap_or_else(|| default.to_string());
            if allowed.contains(&v.as_str()) {
                Ok(v)
            } else {
                Err(field_error(
                    field,
                    format!("{v:?} is not one of {}", allowed.join(", ")),
                ))
            }
        };
        let model = text("model", true)?.unwrap_or_default();
        let prompt = text("prompt", true)?.unwrap_or_default();
        let duration = match obj.get("duration") {
            None | Some(Value::Null) => 4,
            Some(v) => match v.as_u64() {
                Some(d @ 1..=MAX_DURATION_SECS) => d,
                _ => {
                    return Err(field_error(
                        "duration",
                        format!("must be a whole number of seconds from 1 to {MAX_DURATION_SECS}"),
                    ));
                }
            },
        };
        let resolution = one_of("resolution", &RESOLUTIONS, "720p")?;
        let aspect_ratio = one_of("aspect_ratio", &ASPECT_RATIOS, "16:9")?;
        let generate_audio = match obj.get("generate_audio") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(field_error("generate_audio", "must be true or false")),
        };
        let callback_url = text("callback_url", false)?;
        if let Some(url) = &callback_url {
            check_callback_url(url).map_err(|m| field_error("callback_url", m))?;
        }
        Ok(Submit {
            model,
            prompt,
            duration,
            resolution,
            aspect_ratio,
            generate_audio,
            callback_url,
        })
    }

    /// The outcome the prompt asks for with `[outcome:failed]` (and the like), if any.
    pub fn marked_outcome(&self) -> Option<Terminal> {
        let start = self.prompt.find(OUTCOME_MARKER)? + OUTCOME_MARKER.len();
        let rest = &self.prompt[start..];
        Terminal::parse(&rest[..rest.find(']')?])
    }
}

/// A callback URL must be an absolute `http://` or `https://` URL with a host.
pub fn check_callback_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|_| "is not a URL".to_string())?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must start with http:// or https://".into()),
    }
    match uri.host() {
        Some(h) if !h.is_empty() => Ok(()),
        _ => Err("has no host".into()),
    }
}

/// One simulated job.
#[derive(Clone, Debug)]
pub struct Job {
    /// 20 letters and digits, like the provider's ids.
    pub id: String,
    /// What was submitted.
    pub submit: Submit,
    /// How it ends.
    pub terminal: Terminal,
    /// Submit time (unix ms).
    pub created_ms: i64,
    /// When it reaches its terminal status (unix ms).
    pub done_ms: i64,
    /// Where the webhook goes: the submit's `callback_url`, else `--default-callback-url`.
    pub callback_url: Option<String>,
}

impl Job {
    /// `pending`, or the terminal status once `now_ms` has reached the end of the job.
    pub fn status(&self, now_ms: i64) -> &'static str {
        if now_ms >= self.done_ms {
            self.terminal.as_str()
        } else {
            "pending"
        }
    }

    /// What the submit answers: `{"id", "polling_url", "status": "pending"}`.
    pub fn initial_fields(&self, base: &str) -> Value {
        json!({"id": self.id, "polling_url": polling_url(base, &self.id), "status": "pending"})
    }

    /// The job's fields: `{id, polling_url, status}` while pending; with the terminal fields (see
    /// [`Job::terminal_data`]) once done. `base` is the simulator's own `http://host:port`.
    pub fn fields(&self, base: &str, now_ms: i64) -> Value {
        if now_ms >= self.done_ms {
            Value::Object(self.terminal_data(base))
        } else {
            self.initial_fields(base)
        }
    }

    /// The terminal `data` object, with the fields the guide lists for its state:
    /// `completed`: `generation_id`, `model`, `unsigned_urls`, `usage{cost,is_byok}`;
    /// `failed`: `generation_id`, `model`, `error`, `usage`; `cancelled` and `expired`:
    /// `generation_id` (null when nothing was generated), `model`, `error`.
    pub fn terminal_data(&self, base: &str) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert("id".into(), json!(self.id));
        data.insert("status".into(), json!(self.terminal.as_str()));
        let generation = format!("gen_{}", self.id);
        let cost = (self.submit.duration as f64 * COST_PER_SECOND * 100.0).round() / 100.0;
        let model = json!(self.submit.model);
        match self.terminal {
            Terminal::Completed => {
                data.insert("generation_id".into(), json!(generation));
                data.insert("model".into(), model);
                data.insert(
                    "unsigned_urls".into(),
                    json!([format!("{base}/files/{}.mp4", self.id)]),
                );
                data.insert("usage".into(), json!({"cost": cost, "is_byok": false}));
            }
            Terminal::Failed => {
                data.insert("generation_id".into(), json!(generation));
                data.insert("model".into(), model);
                data.insert(
                    "error".into(),
                    json!("The provider rejected the prompt: content policy violation"),
                );
                data.insert("usage".into(), json!({"cost": 0, "is_byok": false}));
            }
            Terminal::Cancelled => {
                data.insert("generation_id".into(), Value::Null);
                data.insert("model".into(), model);
                data.insert("error".into(), json!("Cancelled by the API key owner"));
            }
            Terminal::Expired => {
                data.insert("generation_id".into(), json!(generation));
                data.insert("model".into(), model);
                data.insert(
                    "error".into(),
                    json!("The job did not finish within 24 hours"),
                );
            }
        }
        data
    }

    /// The terminal webhook's body, compact JSON as `JSON.stringify` writes it:
    /// `{"type","created_at","data"}`.
    pub fn event_body(&self, base: &str, created_at: &str) -> Vec<u8> {
        let event = json!({
            "type": self.terminal.event_type(),
            "created_at": created_at,
            "data": Value::Object(self.terminal_data(base)),
        });
        serde_json::to_vec(&event).unwrap_or_default()
    }

    /// `X-ModelGates-Idempotency-Key`: `<job id>-<status>`.
    pub fn idempotency_key(&self) -> String {
        format!("{}-{}", self.id, self.terminal.as_str())
    }
}

/// `<base>/api/v1/videos/<id>`.
pub fn polling_url(base: &str, id: &str) -> String {
    format!("{base}/api/v1/videos/{id}")
}

/// Every job submitted to one simulator.
#[derive(Debug)]
pub struct Jobs {
    plan: OutcomePlan,
    job_time: Duration,
    default_callback_url: Option<String>,
    jobs: std::sync::Mutex<HashMap<String, Job>>,
    count: AtomicU64,
}

impl Jobs {
    /// An empty table: jobs end as `plan` says, `job_time` after they were submitted.
    pub fn new(
        plan: OutcomePlan,
        job_time: Duration,
        default_callback_url: Option<String>,
    ) -> Jobs {
        Jobs {
            plan,
            job_time,
            default_callback_url,
            jobs: std::sync::Mutex::default(),
            count: AtomicU64::new(0),
        }
    }

    /// Adds a job for `submit` at `now_ms` and returns it.
    pub fn create(&self, submit: Submit, now_ms: i64) -> Job {
        let n = self.count.fetch_add(1, Ordering::Relaxed);
        let terminal = submit.marked_outcome().unwrap_or(match self.plan {
            OutcomePlan::Always(t) => t,
            OutcomePlan::Cycle => Terminal::ALL[(n % 4) as usize],
        });
        let callback_url = submit
            .callback_url
            .clone()
            .or_else(|| self.default_callback_url.clone());
        let job = Job {
            id: new_id(n, now_ms),
            submit,
            terminal,
            created_ms: now_ms,
            done_ms: now_ms + self.job_time.as_millis() as i64,
            callback_url,
        };
        self.lock().insert(job.id.clone(), job.clone());
        job
    }

    /// The job with this id.
    pub fn get(&self, id: &str) -> Option<Job> {
        self.lock().get(id).cloned()
    }

    /// How long a job runs.
    pub fn job_time(&self) -> Duration {
        self.job_time
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A 20-character id of letters and digits, different for every job of every run.
fn new_id(n: u64, now_ms: i64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let digest = Sha256::new()
        .chain_update(n.to_le_bytes())
        .chain_update(now_ms.to_le_bytes())
        .chain_update(nanos.to_le_bytes())
        .chain_update(std::process::id().to_le_bytes())
        .finalize();
    digest
        .iter()
        .take(20)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guide_submit() -> Vec<u8> {
        br#"{"model":"google/veo-3.1-lite","prompt":"A clean product reveal","duration":4,"resolution":"720p","aspect_ratio":"16:9","generate_audio":false,"callback_url":"https://your-app.example.com/modelgates/video-webhook"}"#.to_vec()
    }

    #[test]
    fn the_guides_submit_is_accepted() {
        let s = Submit::parse(&guide_submit()).unwrap();
        assert_eq!(s.model, "google/veo-3.1-lite");
        assert_eq!(s.duration, 4);
        assert_eq!(
            s.callback_url.as_deref(),
            Some("https://your-app.example.com/modelgates/video-webhook")
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let cases: [(&str, &str); 8] = [
            (r#"{"model":"m"}"#, "prompt"),
            (r#"{"prompt":"p"}"#, "model"),
            (r#"{"model":"m","prompt":"  "}"#, "prompt"),
            (
                r#"{"model":"m","prompt":"p","resolution":"4k"}"#,
                "resolution",
            ),
            (r#"{"model":"m","prompt":"p","duration":0}"#, "duration"),
            (
                r#"{"model":"m","prompt":"p","callback_url":"ftp://x/y"}"#,
                "callback_url",
            ),
            (
                r#"{"model":"m","prompt":"p","generate_audio":"yes"}"#,
                "generate_audio",
            ),
            ("[1]", "body"),
        ];
        for (body, field) in cases {
            assert_eq!(
                Submit::parse(body.as_bytes()).unwrap_err().field,
                field,
                "{body}"
            );
        }
    }

    #[test]
    fn a_job_is_pending_then_terminal_with_its_states_fields() {
        let jobs = Jobs::new(OutcomePlan::Cycle, Duration::from_secs(40), None);
        let submit = Submit::parse(&guide_submit()).unwrap();
        let ends: Vec<Terminal> = (0..5)
            .map(|_| jobs.create(submit.clone(), 1_000).terminal)
            .collect();
        assert_eq!(ends[..4], Terminal::ALL);
        assert_eq!(ends[4], Terminal::Completed);
        let job = jobs.create(submit.clone(), 1_000);
        assert_eq!(job.id.len(), 20);
        assert_eq!(job.status(40_999), "pending");
        assert_eq!(job.status(41_000), job.terminal.as_str());
        let done = Job {
            terminal: Terminal::Completed,
            ..job.clone()
        };
        let keys: Vec<String> = done.terminal_data("http://h").keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "id",
                "status",
                "generation_id",
                "model",
                "unsigned_urls",
                "usage"
            ]
        );
        let body: Value = serde_json::from_slice(&done.event_body("http://h", "t")).unwrap();
        assert_eq!(body["type"], "video.generation.completed");
        assert_eq!(
            body["data"]["unsigned_urls"][0],
            format!("http://h/files/{}.mp4", done.id)
        );
        assert_eq!(done.idempotency_key(), format!("{}-completed", done.id));
        let failed = Job {
            terminal: Terminal::Failed,
            ..job
        };
        assert!(failed.terminal_data("http://h").contains_key("error"));
    }

    #[test]
    fn the_prompt_marker_picks_the_outcome() {
        let body = br#"{"model":"m","prompt":"a lamp [outcome:expired]","callback_url":"http://127.0.0.1:1/x"}"#;
        let jobs = Jobs::new(
            OutcomePlan::Always(Terminal::Completed),
            Duration::ZERO,
            Some("http://default".into()),
        );
        let job = jobs.create(Submit::parse(body).unwrap(), 0);
        assert_eq!(job.terminal, Terminal::Expired);
        assert_eq!(job.callback_url.as_deref(), Some("http://127.0.0.1:1/x"));
        let plain = Submit::parse(br#"{"model":"m","prompt":"p"}"#).unwrap();
        assert_eq!(
            jobs.create(plain, 0).callback_url.as_deref(),
            Some("http://default")
        );
    }
}
