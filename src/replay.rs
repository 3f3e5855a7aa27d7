//! `hooklens replay`: send stored captures again, exactly or re-signed.
//!
//! Each replay goes out like a forward (see `forward.rs`: exact header case and order, proxy
//! rules) plus `X-Hooklens-Replay: <original id>` unless `--no-replay-header`. With `--resign`
//! the signature header is recomputed with the current time ([`resign`]); without it the
//! capture's bytes go out as captured, so an old timestamp is expected to be refused by a
//! receiver that checks the tolerance, and the output says so.
//!
//! On this branch replays are reported on stdout only; they are not yet written to the log.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::capture::{Capture, CaptureId, Header};
use crate::client::{Client, Target};
use crate::filter::Filter;
use crate::forward::{self, PathMode};
use crate::sanitize::escape_line;
use crate::secret::Secret;
use crate::store::Store;
use crate::verify::modelgates;

/// The replay header name.
pub const REPLAY_HEADER: &str = "X-Hooklens-Replay";

/// What to replay and how.
pub struct ReplayOptions {
    /// Explicit ids.
    pub ids: Vec<CaptureId>,
    /// Every capture (narrowed by `filter`).
    pub all: bool,
    /// Filter for `--all`.
    pub filter: Filter,
    /// Receiver.
    pub to: Target,
    /// Re-sign with this secret.
    pub resign: Option<Secret>,
    /// Add `X-Hooklens-Replay`.
    pub replay_header: bool,
    /// Statuses that count as success (default: any 2xx).
    pub expect: Vec<u16>,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// The headers with the signature replaced by a fresh one over `body` at `now` (unix s).
///
/// The one place replay signs (ModelGates today; the swap point for a scheme-aware signer).
pub fn resign(
    capture: &Capture,
    body: &[u8],
    secret: &Secret,
    now: i64,
) -> Result<Vec<Header>, String> {
    // Sign in the capture's own scheme (found from its headers, as `--scheme auto` does).
    let cfg = crate::verify::VerifyConfig::default();
    let fresh: Vec<Header> = match crate::verify::resolve(&capture.headers, &cfg) {
        crate::verify::Resolved::ModelGates => vec![Header::new(
            modelgates::SIGNATURE_HEADER,
            modelgates::signature_header(secret.expose(), now, body),
        )],
        crate::verify::Resolved::Recipe(recipe) => {
            let id = recipe
                .id_header
                .as_deref()
                .and_then(|h| capture.header(h))
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            recipe.sign(secret, now, &id, body)?
        }
    };
    // Replace each signed header in place (keeping the captured name's case and position).
    let mut out = capture.headers.clone();
    for new in fresh {
        match out
            .iter_mut()
            .find(|h| h.name.eq_ignore_ascii_case(&new.name))
        {
            Some(existing) => existing.value = new.value,
            None => out.push(new),
        }
    }
    Ok(out)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Runs the replays in order; the exit code is 1 when any answer was not expected.
pub async fn run(store: &Path, opts: &ReplayOptions) -> Result<ExitCode> {
    let log = Store::open_readonly(store)?;
    let ids: Vec<CaptureId> = if opts.all {
        log.index()
            .rows()
            .iter()
            .filter(|r| opts.filter.matches(r, None))
            .map(|r| r.id)
            .collect()
    } else {
        opts.ids.clone()
    };
    if ids.is_empty() {
        bail!("nothing to replay (give capture ids, or --all)");
    }
    let client = Client::new(crate::client::tls_config(&[])?);
    let mut failures = 0;
    for id in ids {
        let record = log.load(id)?;
        let mut capture = record.capture;
        if let Some(secret) = &opts.resign {
            capture.headers = resign(&capture, &capture.body, secret, now_secs())
                .map_err(|e| anyhow::anyhow!("re-signing {}: {e}", capture.id))?;
        }
        if opts.replay_header {
            capture
                .headers
                .push(Header::new(REPLAY_HEADER, id.0.to_string()));
        }
        let sent =
            forward::forward(&client, &opts.to, PathMode::Keep, &capture, opts.timeout).await;
        let ok = match &sent.result {
            Ok(r) if opts.expect.is_empty() => (200..300).contains(&r.status),
            Ok(r) => opts.expect.contains(&r.status),
            Err(_) => false,
        };
        let mut line = forward::outcome_line(id, &opts.to, &sent);
        if opts.resign.is_some() {
            line.push_str(" [re-signed]");
        } else if record
            .verdict
            .timestamp
            .is_some_and(|t| (now_secs() - t).abs() > 300)
        {
            line.push_str(" [original signature; its timestamp is older than 5 minutes, so a receiver checking the tolerance refuses it: use --resign]");
        }
        println!("{}", escape_line(line.as_bytes()));
        if !ok {
            failures += 1;
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod resign_tests {
    use super::*;
    use crate::verify::{Outcome, VerifyConfig, verify};

    #[test]
    fn resigning_uses_the_captures_own_scheme_and_keeps_header_order() {
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"id":"evt_1"}"#;
        for scheme in ["modelgates", "stripe", "standard", "github"] {
            let recipe = crate::verify::built_in(scheme).unwrap();
            let mut headers = vec![Header::new("X-First", "1")];
            headers.extend(recipe.sign(&secret, 1_000, "msg_1", body).unwrap());
            headers.push(Header::new("X-Last", "2"));
            let pairs: Vec<(&str, &str)> = headers
                .iter()
                .map(|h| (h.name.as_str(), h.value_str().unwrap()))
                .collect();
            let capture = Capture::fixture(body, &pairs);
            let fresh = resign(&capture, body, &secret, 2_000_000_000).unwrap();
            assert_eq!(
                fresh.len(),
                headers.len(),
                "{scheme}: no header added or lost"
            );
            assert_eq!(fresh[0].name, "X-First");
            assert_eq!(fresh.last().unwrap().name, "X-Last");
            let cfg = VerifyConfig {
                secrets: vec![secret.clone()],
                ..Default::default()
            };
            let v = verify(&fresh, body, &cfg, 2_000_000_000);
            assert_eq!(
                (v.scheme.as_deref(), v.outcome),
                (Some(scheme), Outcome::Valid),
                "{}",
                v.reason
            );
        }
    }
}
