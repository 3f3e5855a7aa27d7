//! `hooklens provider`: an offline ModelGates video API on 127.0.0.1 that plays the guide's
//! Steps 4–5 against an app: submit (`POST /api/v1/videos`), polling, the signed terminal
//! webhook with retries, and the video download.
//!
//! Files: [`api`] the HTTP server and its routes (bearer check, field validation, JSON
//! errors); [`jobs`] the job table and each job's status on a clock the caller controls;
//! [`deliver`] the webhook with its retry schedule and misbehaviour; [`events`] what is
//! reported (every request served, every attempt); [`files`] the MP4. Each imports only
//! files listed after it, never this one.

pub mod api;
pub mod deliver;
pub mod events;
pub mod files;
pub mod jobs;

pub use api::{Provider, serve};

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::model::secret::Secret;
use deliver::{Deliverer, Misbehave, Schedule};
use events::Events;
use jobs::{Jobs, OutcomePlan, Terminal};

/// Everything a simulator is started with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The signing secret of the webhooks.
    pub secret: Secret,
    /// `--api-key`: the only bearer token accepted (else any non-empty one).
    pub api_key: Option<String>,
    /// How long a job stays pending.
    pub job_time: Duration,
    /// How jobs end.
    pub outcome: OutcomePlan,
    /// Where webhooks go for jobs submitted without `callback_url`.
    pub default_callback_url: Option<String>,
    /// Waits between attempts, already scaled.
    pub schedule: Schedule,
    /// No 2xx within this long: the attempt failed.
    pub delivery_timeout: Duration,
    /// Misbehaviour on demand.
    pub misbehave: Misbehave,
    /// Extra CA certificates for https callback URLs.
    pub cacert: Vec<PathBuf>,
}

impl Settings {
    /// Defaults as `hooklens provider` has them (40 s jobs, `completed`, the Svix schedule,
    /// 15 s delivery timeout), signing with `secret`.
    pub fn new(secret: Secret) -> Settings {
        Settings {
            secret,
            api_key: None,
            job_time: Duration::from_secs(40),
            outcome: OutcomePlan::Always(Terminal::Completed),
            default_callback_url: None,
            schedule: Schedule::preset("svix").unwrap_or(Schedule(Vec::new())),
            delivery_timeout: Duration::from_secs(15),
            misbehave: Misbehave::default(),
            cacert: Vec::new(),
        }
    }
}

/// A simulator serving in this process.
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// Its state: jobs, events.
    pub provider: Arc<Provider>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl Running {
    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.provider.base
    }

    /// Stops serving; pending deliveries are dropped.
    pub async fn stop(mut self) {
        self.shut().await;
    }

    async fn shut(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `ip:port` (0: any free port) and serves a simulator with `settings` until
/// [`Running::stop`] or the value is dropped.
pub async fn start(ip: IpAddr, port: u16, settings: Settings) -> Result<Running> {
    let tcp = crate::net::server::bind(ip, port).await?;
    let addr = tcp.local_addr().context("reading the bound address")?;
    let base = format!("http://{addr}");
    let events = Events::default();
    let deliverer = Deliverer::new(
        crate::net::send::client(&settings.cacert)?,
        settings.secret,
        settings.schedule,
        settings.delivery_timeout,
        settings.misbehave,
        events,
    );
    let jobs = Jobs::new(
        settings.outcome,
        settings.job_time,
        settings.default_callback_url,
    );
    let provider = Arc::new(Provider::new(base, settings.api_key, jobs, deliverer));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(tcp, provider.clone(), async {
        let _ = rx.await;
    }));
    Ok(Running {
        addr,
        provider,
        stop: Some(tx),
        task: Some(task),
    })
}
