//! Verification: a pure function from (headers, body, secrets, now) to a [`Verdict`].
//!
//! A verification outcome is a value, never an error. Nothing in this module reads the clock,
//! the network or the disk; callers pass `now` in. Secrets are only ever reported by index and
//! fingerprint.
//!
//! This file only dispatches ([`resolve`], [`built_in`], [`verify`], which also attaches the
//! diagnosis and the rotation hint, and says when another scheme's header was present too).
//! What the schemes share lives in leaf files they import directly: `config`
//! ([`VerifyConfig`]), `contract` (the one verdict mapping of `signature-schemes.md`: missing,
//! malformed, stale, invalid, valid), `wording` (skew in words) and [`mac`] (the one MAC
//! computation and constant-time comparison); `check` holds [`Recipe::verify`]. One file per
//! scheme: a recipe, or code where a recipe cannot say it (ModelGates, the reference;
//! [`mailgun`], signed inside the body).

#[cfg(test)]
mod cases;
mod check;
mod config;
mod contract;
pub mod diagnose;
pub mod fuzzing;
pub mod github;
pub mod intercom;
pub mod linear;
pub mod mac;
pub mod mailgun;
pub mod modelgates;
pub mod paddle;
pub mod recipe;
pub mod shopify;
mod sign;
pub mod slack;
pub mod standard;
pub mod stripe;
pub mod twitch;
pub mod vercel;
pub mod woocommerce;
mod wording;
pub mod zoom;

use std::sync::LazyLock;

use recipe::Recipe;

use crate::model::capture::{self, Header};
pub use crate::model::verdict::{Hint, MatchedSecret, Outcome, Verdict};
pub use config::{DEFAULT_TOLERANCE_SECS, SchemeChoice, VerifyConfig};
pub use wording::describe_skew;

/// Built-in recipes, in auto-detection order after ModelGates.
/// GitHub comes before Intercom: GitHub sends Intercom's `X-Hub-Signature` too (its SHA-1 copy).
static BUILT_IN: LazyLock<Vec<Recipe>> = LazyLock::new(|| {
    vec![
        standard::recipe(),
        stripe::recipe(),
        github::recipe(),
        slack::recipe(),
        shopify::recipe(),
        paddle::recipe(),
        linear::recipe(),
        zoom::recipe(),
        twitch::recipe(),
        vercel::recipe(),
        woocommerce::recipe(),
        intercom::recipe(),
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
        SchemeChoice::Paddle => by_name("paddle"),
        SchemeChoice::Linear => by_name("linear"),
        SchemeChoice::Zoom => by_name("zoom"),
        SchemeChoice::Twitch => by_name("twitch"),
        SchemeChoice::Vercel => by_name("vercel"),
        SchemeChoice::Woocommerce => by_name("woocommerce"),
        SchemeChoice::Intercom => by_name("intercom"),
        SchemeChoice::Mailgun => None,
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

/// When auto-detection had a choice: which other schemes' headers are present too, and why
/// `picked` was used (it comes first in the detection order, which puts the more specific
/// header first).
fn also_applies(headers: &[Header], picked: &str) -> Option<String> {
    let others: Vec<String> = BUILT_IN
        .iter()
        .filter(|r| r.name != picked && r.detect(headers))
        .map(|r| format!("{} ({})", r.name, r.lookups(&r.header).join(" or ")))
        .collect();
    if others.is_empty() {
        return None;
    }
    Some(format!(
        "checked as {picked}: its header comes first in the detection order; also present: {}",
        others.join(", ")
    ))
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
    // Mailgun signs inside the body: forced, or in auto when no header names a scheme.
    if cfg.scheme == SchemeChoice::Mailgun
        || (cfg.scheme == SchemeChoice::Auto
            && matches!(resolved, Resolved::ModelGates)
            && capture::header_value(headers, modelgates::SIGNATURE_HEADER).is_none()
            && mailgun::detect(body))
    {
        return mailgun::verify(headers, body, cfg, now_secs);
    }
    let mut verdict = match &resolved {
        Resolved::ModelGates => modelgates::verify(headers, body, cfg, now_secs),
        Resolved::Recipe(r) => r.verify(headers, body, cfg, now_secs),
    };
    if cfg.scheme == SchemeChoice::Auto
        && let Some(why) = also_applies(headers, verdict.scheme.as_deref().unwrap_or(""))
    {
        verdict.reason.push_str("; ");
        verdict.reason.push_str(&why);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::secret::Secret;
    use rstest::rstest;

    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":"video.generation.completed"}"#;

    fn cfg(secrets: &[&str]) -> VerifyConfig {
        VerifyConfig {
            secrets: secrets.iter().map(|s| Secret::new(*s).unwrap()).collect(),
            ..Default::default()
        }
    }

    fn signed_by(secret: &[u8]) -> Vec<Header> {
        vec![Header::new(
            modelgates::SIGNATURE_HEADER,
            modelgates::signature_header(secret, NOW, BODY),
        )]
    }

    #[rstest]
    #[case::modelgates("X-ModelGates-Signature", "modelgates")]
    #[case::standard("webhook-signature", "standard")]
    #[case::stripe("Stripe-Signature", "stripe")]
    #[case::github("X-Hub-Signature-256", "github")]
    #[case::slack("X-Slack-Signature", "slack")]
    #[case::shopify("X-Shopify-Hmac-Sha256", "shopify")]
    #[case::nothing_known("X-Other", "modelgates")]
    fn auto_picks_the_scheme_by_header(#[case] header: &str, #[case] scheme: &str) {
        let v = verify(&[Header::new(header, "x")], BODY, &cfg(&["k"]), NOW);
        assert_eq!(v.scheme.as_deref(), Some(scheme));
    }

    #[rstest]
    // signature-schemes.md §2 l.67: Svix-branded headers are Standard Webhooks.
    #[case::svix("svix-signature", "standard")]
    #[case::paddle("Paddle-Signature", "paddle")]
    #[case::linear("Linear-Signature", "linear")]
    #[case::zoom("x-zm-signature", "zoom")]
    #[case::twitch("Twitch-Eventsub-Message-Signature", "twitch")]
    #[case::vercel("x-vercel-signature", "vercel")]
    #[case::woocommerce("X-WC-Webhook-Signature", "woocommerce")]
    #[case::intercom("X-Hub-Signature", "intercom")]
    fn auto_picks_the_newer_schemes_by_header(#[case] header: &str, #[case] scheme: &str) {
        let v = verify(&[Header::new(header, "x")], BODY, &cfg(&["k"]), NOW);
        assert_eq!(v.scheme.as_deref(), Some(scheme));
    }

    #[test]
    fn auto_finds_mailgun_by_its_body() {
        let body = mailgun::signed_body(b"k", NOW, "tok", br#"{"event":"delivered"}"#);
        let v = verify(&[], &body, &cfg(&["k"]), NOW);
        assert_eq!(
            (v.scheme.as_deref(), v.outcome),
            (Some("mailgun"), Outcome::Valid)
        );
        // A ModelGates body with no header stays a missing ModelGates signature.
        let v = verify(&[], BODY, &cfg(&["k"]), NOW);
        assert_eq!(
            (v.scheme.as_deref(), v.outcome),
            (Some("modelgates"), Outcome::MissingHeader)
        );
    }

    #[test]
    fn with_the_legacy_sha1_header_too_auto_picks_github_and_says_why() {
        // GitHub sends X-Hub-Signature (SHA-1) next to X-Hub-Signature-256 (signature-schemes.md
        // §4 l.132); Intercom sends only X-Hub-Signature.
        let headers = [
            Header::new(
                "X-Hub-Signature-256",
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            ),
            Header::new("X-Hub-Signature", "sha1=00"),
        ];
        let v = verify(
            &headers,
            b"Hello, World!",
            &cfg(&["It's a Secret to Everybody"]),
            0,
        );
        assert_eq!(
            (v.scheme.as_deref(), v.outcome),
            (Some("github"), Outcome::Valid)
        );
        assert!(v.reason.contains("also present: intercom"), "{}", v.reason);
    }

    #[test]
    fn github_uppercase_hex_is_invalid_with_the_hint() {
        // signature-schemes.md §4 l.131, l.138: "sha256=" + lowercase hex, compared as a string.
        let headers = [Header::new(
            "X-Hub-Signature-256",
            "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
        )];
        let v = verify(
            &headers,
            b"Hello, World!",
            &cfg(&["It's a Secret to Everybody"]),
            0,
        );
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        assert_eq!(v.hints[0].code, "uppercase_hex", "{:?}", v.hints);
    }

    #[test]
    fn a_failure_carries_its_diagnosis_and_a_success_none() {
        let c = cfg(&["dev_secret"]);
        let v = verify(&signed_by(b"dev_secret\n"), BODY, &c, NOW);
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        let codes: Vec<&str> = v.hints.iter().map(|h| h.code.as_str()).collect();
        assert_eq!(codes, ["secret_whitespace"]);
        assert!(
            verify(&signed_by(b"dev_secret"), BODY, &c, NOW)
                .hints
                .is_empty()
        );
    }

    #[test]
    fn signed_with_an_older_secret_of_the_rotation_list() {
        let c = cfg(&["new_secret", "old_secret"]);
        let v = verify(&signed_by(b"old_secret"), BODY, &c, NOW);
        assert_eq!(v.outcome, Outcome::Valid);
        assert_eq!(v.hints[0].code, "older_secret");
        assert!(
            verify(&signed_by(b"new_secret"), BODY, &c, NOW)
                .hints
                .is_empty()
        );
    }
}
