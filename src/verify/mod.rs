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

use crate::model::capture::{self, Header};
use crate::model::secret::Secret;
pub use crate::model::verdict::{Hint, MatchedSecret, Outcome, Verdict};

/// Default timestamp tolerance, in seconds.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

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
/// `12 s old`, `5 s in the future`, `current`.
pub fn describe_skew(skew: i64) -> String {
    match skew {
        0 => "current".into(),
        s if s < 0 => format!("{} s old", s.unsigned_abs()),
        s => format!("{s} s in the future"),
    }
}
