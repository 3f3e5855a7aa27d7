//! Verification: a pure function from (headers, body, secrets, now) to a [`Verdict`].
//!
//! A verification outcome is a value, never an error. Nothing in this module reads the clock,
//! the network or the disk; callers pass `now` in. Secrets are only ever reported by index and
//! fingerprint.

pub mod diagnose;
pub mod github;
pub mod modelgates;
pub mod recipe;
pub mod shopify;
pub mod slack;
pub mod standard;
pub mod stripe;

use std::sync::{Arc, LazyLock};

use recipe::Recipe;

use serde::{Deserialize, Serialize};

use crate::capture::{self, Header};
use crate::secret::Secret;

/// Default timestamp tolerance, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// What the check concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A signature matched a configured secret and the timestamp is within tolerance.
    Valid,
    /// No secret configured: the request was captured but not checked.
    Unverified,
    /// No signature matched any configured secret.
    InvalidSignature,
    /// The signature matched but the timestamp is outside the tolerance (past or future).
    Stale,
    /// The signature header is absent.
    MissingHeader,
    /// The signature header is present but cannot be parsed.
    MalformedHeader,
}

impl Outcome {
    /// Short label for line output: `valid`, `invalid signature`, ...
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Unverified => "unverified",
            Outcome::InvalidSignature => "invalid signature",
            Outcome::Stale => "stale",
            Outcome::MissingHeader => "missing",
            Outcome::MalformedHeader => "malformed",
        }
    }

    /// Stable machine name (the serde name), e.g. `invalid_signature`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Unverified => "unverified",
            Outcome::InvalidSignature => "invalid_signature",
            Outcome::Stale => "stale",
            Outcome::MissingHeader => "missing_header",
            Outcome::MalformedHeader => "malformed_header",
        }
    }

    /// True for outcomes a correct receiver would refuse with 401.
    pub fn is_rejected(self) -> bool {
        !matches!(self, Outcome::Valid | Outcome::Unverified)
    }
}

/// Which configured secret produced the matching signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedSecret {
    /// Position in the `--secret` list, from 0.
    pub index: usize,
    /// First 8 hex of SHA-256 of the secret.
    pub fingerprint: String,
}

/// A confirmed explanation of a failure (only emitted when a recomputation proves it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hint {
    /// Stable machine name, e.g. `trailing_newline`.
    pub code: String,
    /// One line for humans.
    pub message: String,
}

/// Result of verifying one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Scheme that was checked (`modelgates`, ...), if one applied.
    pub scheme: Option<String>,
    /// The conclusion.
    pub outcome: Outcome,
    /// One line saying why.
    pub reason: String,
    /// Signed timestamp from the request, unix seconds.
    pub timestamp: Option<i64>,
    /// `timestamp - now` in seconds: negative for the past, positive for the future.
    pub skew_secs: Option<i64>,
    /// Which secret matched.
    pub matched_secret: Option<MatchedSecret>,
    /// Confirmed diagnoses of a failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<Hint>,
}

impl Verdict {
    /// A verdict with just an outcome and reason.
    pub fn new(scheme: Option<&str>, outcome: Outcome, reason: impl Into<String>) -> Verdict {
        Verdict {
            scheme: scheme.map(str::to_owned),
            outcome,
            reason: reason.into(),
            timestamp: None,
            skew_secs: None,
            matched_secret: None,
            hints: Vec::new(),
        }
    }
}

/// Which scheme to check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemeChoice {
    /// Pick from the headers present (ModelGates when none is recognised).
    #[default]
    Auto,
    /// `X-ModelGates-Signature: t=,v1=` over `"<t>," ++ body`.
    Modelgates,
    /// Standard Webhooks / Svix.
    Standard,
    /// Stripe.
    Stripe,
    /// GitHub (`X-Hub-Signature-256`).
    Github,
    /// Slack.
    Slack,
    /// Shopify.
    Shopify,
    /// The `--recipe` given.
    Custom,
}

/// Fills in a verdict once the MAC check is done: which secret matched (if any) and whether
/// the timestamp is fresh. Shared by the reference implementation and recipes so both word
/// their reasons the same way.
pub(crate) fn conclude(
    verdict: &mut Verdict,
    matched: Option<(usize, &Secret)>,
    fresh: bool,
    cfg: &VerifyConfig,
    age: &str,
) {
    match matched {
        None => {
            verdict.outcome = Outcome::InvalidSignature;
            let whom = if cfg.secrets.len() == 1 {
                "the configured secret".to_string()
            } else {
                format!("any of the {} configured secrets", cfg.secrets.len())
            };
            verdict.reason = format!("no signature matches {whom} ({age})");
        }
        Some((index, secret)) => {
            verdict.matched_secret = Some(MatchedSecret {
                index,
                fingerprint: secret.fingerprint(),
            });
            if fresh {
                verdict.outcome = Outcome::Valid;
                verdict.reason = format!("signature matches secret {index} ({age})");
            } else {
                verdict.outcome = Outcome::Stale;
                verdict.reason = format!(
                    "signature matches but timestamp is {age}, outside the {} s tolerance",
                    cfg.tolerance_secs
                );
            }
        }
    }
}

/// What verification needs to know.
#[derive(Clone, Debug)]
pub struct VerifyConfig {
    /// Secrets to try, in order (rotation). Empty means captures are `unverified`.
    pub secrets: Vec<Secret>,
    /// Allowed |now - timestamp|, in seconds.
    pub tolerance_secs: i64,
    /// Scheme to check.
    pub scheme: SchemeChoice,
    /// A user-described scheme (`--recipe`), used by `custom` and detected by `auto`.
    pub custom: Option<Arc<Recipe>>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            secrets: Vec::new(),
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
            scheme: SchemeChoice::Auto,
            custom: None,
        }
    }
}

/// Built-in recipes, in auto-detection order after ModelGates.
static BUILT_IN: LazyLock<[Recipe; 5]> = LazyLock::new(|| {
    [
        standard::recipe(),
        stripe::recipe(),
        github::recipe(),
        slack::recipe(),
        shopify::recipe(),
    ]
});

/// The scheme that applies to a request.
pub enum Resolved<'a> {
    /// The ModelGates reference implementation.
    ModelGates,
    /// A recipe (built-in or custom).
    Recipe(&'a Recipe),
}

/// Picks the scheme for a request: the forced one, or by the headers present.
pub fn resolve<'a>(headers: &[Header], cfg: &'a VerifyConfig) -> Resolved<'a> {
    let by_name = |name: &str| {
        BUILT_IN
            .iter()
            .find(|r| r.name == name)
            .map(Resolved::Recipe)
    };
    let forced = match cfg.scheme {
        SchemeChoice::Auto => None,
        SchemeChoice::Modelgates => Some(Resolved::ModelGates),
        SchemeChoice::Standard => by_name("standard"),
        SchemeChoice::Stripe => by_name("stripe"),
        SchemeChoice::Github => by_name("github"),
        SchemeChoice::Slack => by_name("slack"),
        SchemeChoice::Shopify => by_name("shopify"),
        SchemeChoice::Custom => cfg.custom.as_deref().map(Resolved::Recipe),
    };
    if let Some(r) = forced {
        return r;
    }
    if capture::header_value(headers, modelgates::SIGNATURE_HEADER).is_some() {
        return Resolved::ModelGates;
    }
    if let Some(custom) = cfg.custom.as_deref()
        && custom.detect(headers)
    {
        return Resolved::Recipe(custom);
    }
    BUILT_IN
        .iter()
        .find(|r| r.detect(headers))
        .map_or(Resolved::ModelGates, Resolved::Recipe)
}

/// The recipe for a built-in scheme name (`standard`, `stripe`, ...), for signing.
pub fn built_in(name: &str) -> Option<Recipe> {
    if name == modelgates::NAME {
        return Some(modelgates::recipe());
    }
    BUILT_IN.iter().find(|r| r.name == name).cloned()
}

/// Verifies a request against the configured secrets at time `now_secs` (unix seconds). On a
/// failure, confirmed diagnoses are attached as hints (the valid path pays nothing for them).
pub fn verify(headers: &[Header], body: &[u8], cfg: &VerifyConfig, now_secs: i64) -> Verdict {
    let resolved = resolve(headers, cfg);
    let mut verdict = match &resolved {
        Resolved::ModelGates => modelgates::verify(headers, body, cfg, now_secs),
        Resolved::Recipe(r) => r.verify(headers, body, cfg, now_secs),
    };
    if matches!(
        verdict.outcome,
        Outcome::InvalidSignature | Outcome::Stale | Outcome::MalformedHeader
    ) {
        let reference;
        let recipe = match resolved {
            Resolved::ModelGates => {
                reference = modelgates::recipe();
                &reference
            }
            Resolved::Recipe(r) => r,
        };
        verdict.hints = diagnose::diagnose(recipe, headers, body, cfg, now_secs, &verdict);
    }
    // Not a failure, but worth knowing during a rotation: the match itself proves it.
    if let Some(m) = &verdict.matched_secret
        && m.index > 0
    {
        verdict.hints.push(Hint {
            code: "older_secret".into(),
            message: format!(
                "signed with secret {} of the rotation list, not secret 0: the sender has not switched to the new secret yet (a receiver that only knows secret 0 would reject this)",
                m.index
            ),
        });
    }
    verdict
}
