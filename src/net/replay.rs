//! Replaying: send a stored capture again, exactly, re-signed, or edited ([`send_one`]; the
//! run over many, printing and recording, is `cmd/replay.rs`, and the inspector replays too).
//!
//! Each replay goes out like a forward (see `forward.rs`: exact header case and order, proxy
//! rules) plus `X-Hooklens-Replay: <original id>` unless `--no-replay-header`. With `--resign`
//! the signature is recomputed with the current time in the capture's own scheme, as
//! `--scheme auto` finds it (ModelGates or any recipe scheme: Stripe, GitHub, …; [`resign`]);
//! without it the capture's bytes go out as captured, so an old timestamp is expected to be
//! refused by a receiver that checks the tolerance, and the output says so. `--edit` opens the
//! body in `$VISUAL`/`$EDITOR` first and re-signs the edited body (the old signature cannot
//! match it); `Content-Length` follows the new body.
//!
//! [`send_one`] returns the `replay` record of what happened, linked to the original capture;
//! the caller stores it in the log the capture came from.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;

use crate::model::capture::{Capture, CaptureId, Header, now_ms};
use crate::model::exchange::{Exchange, ExchangeKind, Prepared};
use crate::model::exchange::{PathMode, RecordedTarget};
use crate::model::secret::Secret;
use crate::net::client::{Client, Target};
use crate::net::forward;
use crate::verify::modelgates;

/// The replay header name.
pub const REPLAY_HEADER: &str = "X-Hooklens-Replay";

/// Where replays go when no `--to` is given: the newest `--forward-to` a listener recorded in
/// the log (`Index::forward_to`, `Lookup::forward_to`), with its path rule; `None` when the
/// log records none. The one reading of that default, for `hooklens replay` and the
/// inspector's `r`/`R`/`e`.
pub fn recorded_target(recorded: Option<&RecordedTarget>) -> Result<Option<(Target, PathMode)>> {
    recorded
        .map(|fwd| {
            let target = Target::parse(&fwd.url).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok((target, fwd.path))
        })
        .transpose()
}

/// How one replay changes the capture before it goes out.
#[derive(Clone, Default)]
pub struct Changes {
    /// Re-sign with this secret (now as the timestamp).
    pub resign: Option<Secret>,
    /// Send this body instead of the captured one (re-signed: needs `resign`).
    pub body: Option<Bytes>,
    /// Add `X-Hooklens-Replay: <id>`.
    pub replay_header: bool,
}

/// The headers with the signature replaced by a fresh one over `body` at `now` (unix s).
///
/// The one place replay signs: in the scheme [`crate::verify::resolve`] finds from the
/// capture's headers (ModelGates, or a recipe's own signer), replacing each signed header in
/// place.
pub fn resign(
    capture: &Capture,
    body: &[u8],
    secret: &Secret,
    now: i64,
) -> Result<Vec<Header>, String> {
    // Sign in the capture's own scheme (found from its headers, as `--scheme auto` does).
    // The key is given so Standard Webhooks with a whsk_ key is signed as v1a.
    let cfg = crate::verify::VerifyConfig {
        secrets: vec![secret.clone()],
        ..Default::default()
    };
    let fresh: Vec<Header> = match crate::verify::resolve(&capture.headers, &cfg) {
        crate::verify::Resolved::ModelGates => vec![Header::new(
            modelgates::SIGNATURE_HEADER,
            modelgates::signature_header(secret.expose(), now, body),
        )],
        crate::verify::Resolved::Recipe(recipe) => {
            recipe.sign_like(secret, now, body, &capture.headers)?
        }
        crate::verify::Resolved::Code(code) => {
            let id = capture
                .header("webhook-id")
                .or_else(|| capture.header("svix-id"))
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            code.resign(secret, now, &id, body)?
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
    now_ms().div_euclid(1000)
}

/// Sends one capture again with `changes` and returns the record of what happened (the caller
/// stores it). Errors only when the request cannot be prepared (re-signing failed).
pub async fn send_one(
    client: &Client,
    target: &Target,
    mode: PathMode,
    capture: &Capture,
    changes: &Changes,
    timeout: Duration,
) -> Result<Exchange> {
    let body = changes.body.clone().unwrap_or_else(|| capture.body.clone());
    let edited = body != capture.body;
    let mut prepared = capture.clone();
    match &changes.resign {
        Some(secret) => {
            prepared.headers = resign(capture, &body, secret, now_secs())
                .map_err(|e| anyhow::anyhow!("re-signing {}: {e}", capture.id))?;
        }
        None if edited => bail!(
            "{}: an edited body needs a fresh signature: give --secret (the old one cannot match)",
            capture.id
        ),
        None => {}
    }
    if changes.replay_header {
        prepared
            .headers
            .push(Header::new(REPLAY_HEADER, capture.id.0.to_string()));
    }
    let path = forward::outbound_path(&prepared, target, mode);
    let mut headers = forward::outbound_headers(&prepared, target);
    if edited {
        for h in headers
            .iter_mut()
            .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
        {
            h.value = Bytes::from(body.len().to_string());
        }
    }
    let at_ms = now_ms();
    let sent =
        forward::send_prepared(client, target, &prepared, path, headers, &body, timeout).await;
    Ok(sent.record(
        ExchangeKind::Replay,
        capture.id,
        at_ms,
        &capture.method,
        target,
        &capture.body,
        &body,
        Prepared {
            resigned: changes.resign.is_some(),
            edited,
            relayed: false,
        },
    ))
}

/// Opens `body` in `$VISUAL` / `$EDITOR` (else `vi`) and returns what was saved. The file is
/// private (0600) and removed afterwards. A non-zero editor exit means "do not send".
pub fn edit_body(id: CaptureId, body: &[u8]) -> Result<Bytes> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .or_else(|| std::env::var("EDITOR").ok())
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    let dir = tempfile::Builder::new()
        .prefix("hooklens-edit-")
        .tempdir()
        .context("creating a file to edit")?;
    let ext = if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
        "json"
    } else {
        "txt"
    };
    let path = dir.path().join(format!("capture-{}.{ext}", id.0));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(body))
        .with_context(|| format!("writing {}", path.display()))?;
    // Through the shell, so EDITOR="code --wait" works as it does for git.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("hooklens-edit")
        .arg(&path)
        .status()
        .with_context(|| format!("starting the editor ({editor})"))?;
    if !status.success() {
        bail!("the editor ({editor}) exited with {status}; {id} not sent");
    }
    let edited = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Bytes::from(edited))
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

    #[test]
    fn resigning_code_schemes_with_the_private_key() {
        // (private key that signs, public key that checks, sign_code scheme): the ed25519
        // test pair of verify::ed25519's tests (python3 `cryptography`).
        use crate::verify::{SchemeChoice, sign_code};
        let cases = [
            (
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
                SchemeChoice::Discord,
            ),
            (
                "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
                SchemeChoice::Standard,
            ),
        ];
        let body = br#"{"id":"evt_1"}"#;
        for (private, public, scheme) in cases {
            let key = Secret::new(private).unwrap();
            let headers = sign_code(scheme, &key, 1_000, "msg_1", "", body)
                .unwrap()
                .unwrap();
            let pairs: Vec<(&str, &str)> = headers
                .iter()
                .map(|h| (h.name.as_str(), h.value_str().unwrap()))
                .collect();
            let capture = Capture::fixture(body, &pairs);
            let fresh = resign(&capture, body, &key, 2_000_000_000).unwrap();
            let cfg = VerifyConfig {
                secrets: vec![Secret::new(public).unwrap()],
                ..Default::default()
            };
            let v = verify(&fresh, body, &cfg, 2_000_000_000);
            assert_eq!(v.outcome, Outcome::Valid, "{scheme:?}: {}", v.reason);
        }
        // A URL-signed capture is refused: the replay is not sent to the URL that was signed.
        let capture = Capture::fixture(
            body,
            &[("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")],
        );
        let err = resign(&capture, body, &Secret::new("12345").unwrap(), 0).unwrap_err();
        assert!(err.contains("not supported"), "{err}");
    }
}
