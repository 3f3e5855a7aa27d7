//! Verification: a pure function from (headers, body, secrets, now) to a [`Verdict`].
//!
//! A verification outcome is a value, never an error. Nothing in this module reads the clock,
//! the network or the disk; callers pass `now` in. Secrets are only ever reported by index and
//! fingerprint.
//!
//! This file only dispatches ([`resolve`], [`built_in`], [`verify`], which also attaches the
//! diagnosis and the rotation hint, and says when another scheme's header was present too).
//! Auto-detection reads the request's header names once, against names lowercased once, and
//! the same reading answers "which other scheme's header is here too"; verifying a request
//! builds no header name and copies no header value (this runs for every capture).
//! What the schemes share lives in leaf files they import directly: `config`
//! ([`VerifyConfig`]), `contract` (the one verdict mapping of `signature-schemes.md`: missing,
//! malformed, stale, invalid, valid), `wording` (skew in words) and [`mac`] (the one MAC
//! computation and constant-time comparison); `check` holds [`Recipe::verify`]. One file per
//! scheme: a recipe, or code where a recipe cannot say it (ModelGates, the reference;
//! [`mailgun`], signed inside the body).
//! Schemes a recipe cannot express are code ([`Code`]): the ed25519 ones (`ed25519`), SendGrid
//! (`sendgrid`), the URL-signed ones (`twilio`, `square`, `hubspot`, sharing `urlform`) and
//! the tokens that are not signatures (`token`).

#[cfg(test)]
mod cases;
mod check;
mod config;
mod contract;
pub mod diagnose;
pub mod ed25519;
pub mod fuzzing;
pub mod github;
pub mod hubspot;
pub mod intercom;
mod judge;
pub mod linear;
pub mod mac;
pub mod mailgun;
pub mod modelgates;
pub mod paddle;
pub mod read;
pub mod recipe;
pub mod sendgrid;
pub mod shopify;
mod sign;
pub mod slack;
pub mod square;
pub mod standard;
pub mod stripe;
pub mod token;
pub mod twilio;
pub mod twitch;
pub mod urlform;
pub mod vercel;
pub mod woocommerce;
mod wording;
pub mod zoom;

use std::sync::LazyLock;

use recipe::Recipe;

use crate::model::capture::Header;
use crate::model::secret::Secret;
pub use crate::model::verdict::{Hint, MatchedSecret, Outcome, Verdict};
pub use config::{DEFAULT_TOLERANCE_SECS, RequestLine, SchemeChoice, VerifyConfig};
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
    /// A scheme written as code.
    Code(Code),
}

/// The schemes written as code rather than recipes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// Standard Webhooks asymmetric `v1a` (ed25519).
    StandardV1a,
    /// Discord (ed25519).
    Discord,
    /// SendGrid Event Webhook (ECDSA P-256).
    Sendgrid,
    /// Twilio (URL + form parameters, HMAC-SHA1).
    Twilio,
    /// Square (URL + body, HMAC-SHA256).
    Square,
    /// HubSpot v3 (method + URL + body + timestamp, HMAC-SHA256).
    Hubspot,
    /// A token that is not a signature.
    Token(token::Kind),
}

/// Auto-detection of the code schemes, by header, after the recipes.
const CODE_HEADERS: [(&str, Code); 6] = [
    (ed25519::DISCORD_SIGNATURE, Code::Discord),
    (sendgrid::SIGNATURE_HEADER, Code::Sendgrid),
    (twilio::SIGNATURE_HEADER, Code::Twilio),
    (square::SIGNATURE_HEADER, Code::Square),
    (hubspot::SIGNATURE_HEADER, Code::Hubspot),
    (token::GITLAB_HEADER, Code::Token(token::Kind::Gitlab)),
];

impl Code {
    /// The forced code scheme of `--scheme`, if it is one.
    fn chosen(choice: SchemeChoice) -> Option<Code> {
        Some(match choice {
            SchemeChoice::Discord => Code::Discord,
            SchemeChoice::Sendgrid => Code::Sendgrid,
            SchemeChoice::Twilio => Code::Twilio,
            SchemeChoice::Square => Code::Square,
            SchemeChoice::Hubspot => Code::Hubspot,
            SchemeChoice::Gitlab => Code::Token(token::Kind::Gitlab),
            SchemeChoice::Basic => Code::Token(token::Kind::Basic),
            SchemeChoice::Bearer => Code::Token(token::Kind::Bearer),
            _ => return None,
        })
    }

    /// Signs again for a replay (ed25519 and SendGrid with a private key, tokens); the
    /// URL-signed schemes are refused, since the URL a replay goes to is not the one signed.
    pub fn resign(
        self,
        secret: &Secret,
        t: i64,
        id: &str,
        body: &[u8],
    ) -> Result<Vec<Header>, String> {
        let choice = match self {
            Code::StandardV1a => SchemeChoice::Standard,
            Code::Discord => SchemeChoice::Discord,
            Code::Sendgrid => SchemeChoice::Sendgrid,
            Code::Token(token::Kind::Gitlab) => SchemeChoice::Gitlab,
            Code::Token(token::Kind::Basic) => SchemeChoice::Basic,
            Code::Token(token::Kind::Bearer) => SchemeChoice::Bearer,
            Code::Twilio | Code::Square | Code::Hubspot => {
                return Err(format!(
                    "{self:?} signs the URL it was sent to; re-signing it for a replay is not supported (replay it as it was)"
                ));
            }
        };
        sign_code(choice, secret, t, id, "", body).unwrap_or_else(|| Err("no signer".into()))
    }

    /// Whether `s` is a key of this scheme's form (a MAC secret or token always is).
    fn takes(self, s: &Secret) -> bool {
        match self {
            Code::StandardV1a => ed25519::is_standard_key(s),
            Code::Discord => ed25519::is_discord_key(s),
            Code::Sendgrid => sendgrid::is_key(s),
            _ => true,
        }
    }

    fn verify(
        self,
        req: &RequestLine<'_>,
        headers: &[Header],
        body: &[u8],
        cfg: &VerifyConfig,
        now: i64,
    ) -> Verdict {
        match self {
            Code::StandardV1a => ed25519::verify_standard(headers, body, cfg, now),
            Code::Discord => ed25519::verify_discord(headers, body, cfg, now),
            Code::Sendgrid => sendgrid::verify(headers, body, cfg, now),
            Code::Twilio => twilio::verify(req, headers, body, cfg, now),
            Code::Square => square::verify(req, headers, body, cfg, now),
            Code::Hubspot => hubspot::verify(req, headers, body, cfg, now),
            Code::Token(kind) => token::verify(kind, headers, cfg, now),
        }
    }
}

/// Whether `send` signs `choice` with [`sign_code`] (else ModelGates or a recipe signs).
pub fn signs_as_code(choice: SchemeChoice, secret: &Secret) -> bool {
    Code::chosen(choice).is_some()
        || (choice == SchemeChoice::Standard
            && secret.expose_str().starts_with(ed25519::SECRET_PREFIX))
}

/// Signs a delivery with a code scheme (`send`): `url` is where it goes (the URL-signed
/// schemes sign it), `id` the message id, `t` unix seconds.
pub fn sign_code(
    choice: SchemeChoice,
    secret: &Secret,
    t: i64,
    id: &str,
    url: &str,
    body: &[u8],
) -> Option<Result<Vec<Header>, String>> {
    Some(Ok(match choice {
        SchemeChoice::Standard if secret.expose_str().starts_with(ed25519::SECRET_PREFIX) => {
            return Some(ed25519::sign_standard(secret, t, id, body));
        }
        SchemeChoice::Discord => return Some(ed25519::sign_discord(secret, t, body)),
        SchemeChoice::Sendgrid => return Some(sendgrid::sign(secret, t, body)),
        SchemeChoice::Twilio => twilio::sign(secret, url, None),
        SchemeChoice::Square => square::sign(secret, url, body),
        SchemeChoice::Hubspot => hubspot::sign(secret, "POST", url, body, t * 1000),
        other => match Code::chosen(other) {
            Some(Code::Token(kind)) => token::sign(kind, secret.expose()),
            _ => return None,
        },
    }))
}

/// Which auto-detected schemes' headers a request carries, found in one pass over its header
/// names: the ModelGates header, the built-in recipes (bit `i` for `BUILT_IN[i]`) and the
/// code schemes (bit `i` for `CODE_HEADERS[i]`).
#[derive(Clone, Copy, Default)]
struct Present {
    modelgates: bool,
    recipes: u32,
    code: u8,
}

/// What a detected header name says is present.
#[derive(Clone, Copy)]
enum Detects {
    ModelGates,
    Recipe(u32),
    Code(u8),
}

/// Every header name auto-detection looks for, lowercase (each recipe's under all its
/// [`Recipe::lookups`]), built once: detection then builds no name per request.
static DETECTED: LazyLock<Vec<(String, Detects)>> = LazyLock::new(|| {
    assert!(BUILT_IN.len() <= 32 && CODE_HEADERS.len() <= 8);
    let mut names = vec![(
        modelgates::SIGNATURE_HEADER.to_ascii_lowercase(),
        Detects::ModelGates,
    )];
    for (i, r) in BUILT_IN.iter().enumerate() {
        for name in r.lookups(&r.header) {
            names.push((name.to_ascii_lowercase(), Detects::Recipe(1 << i)));
        }
    }
    for (i, (name, _)) in CODE_HEADERS.iter().enumerate() {
        names.push((name.to_ascii_lowercase(), Detects::Code(1 << i)));
    }
    names
});

impl Present {
    fn of(headers: &[Header]) -> Present {
        let mut p = Present::default();
        for h in headers {
            for (name, what) in DETECTED.iter() {
                if h.name.eq_ignore_ascii_case(name) {
                    match *what {
                        Detects::ModelGates => p.modelgates = true,
                        Detects::Recipe(bit) => p.recipes |= bit,
                        Detects::Code(bit) => p.code |= bit,
                    }
                }
            }
        }
        p
    }

    /// The built-in recipes whose header is present, in detection order.
    fn recipes(self) -> impl Iterator<Item = &'static Recipe> {
        BUILT_IN
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.recipes & (1 << i) != 0)
            .map(|(_, r)| r)
    }
}

/// Picks the scheme for a request: the forced one, or by the headers present.
pub fn resolve<'a>(headers: &[Header], cfg: &'a VerifyConfig) -> Resolved<'a> {
    resolve_in(headers, cfg, Present::of(headers))
}

fn resolve_in<'a>(headers: &[Header], cfg: &'a VerifyConfig, present: Present) -> Resolved<'a> {
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
        other => Code::chosen(other).map(Resolved::Code),
    };
    if let Some(r) = forced {
        return v1a_when_keyed(r, headers, cfg);
    }
    if present.modelgates {
        return Resolved::ModelGates;
    }
    if let Some(custom) = cfg.custom.as_deref()
        && custom.detect(headers)
    {
        return Resolved::Recipe(custom);
    }
    if let Some(r) = present.recipes().next() {
        return v1a_when_keyed(Resolved::Recipe(r), headers, cfg);
    }
    CODE_HEADERS
        .iter()
        .enumerate()
        .find(|(i, _)| present.code & (1 << i) != 0)
        .map_or(Resolved::ModelGates, |(_, (_, c))| Resolved::Code(*c))
}

/// Standard Webhooks checked with `whpk_`/`whsk_` keys is the asymmetric `v1a` code (see
/// [`ed25519::checks_as_v1a`]).
fn v1a_when_keyed<'a>(r: Resolved<'a>, headers: &[Header], cfg: &VerifyConfig) -> Resolved<'a> {
    match r {
        Resolved::Recipe(recipe)
            if recipe.name == ed25519::STANDARD && ed25519::checks_as_v1a(headers, cfg) =>
        {
            Resolved::Code(Code::StandardV1a)
        }
        other => other,
    }
}

/// When auto-detection had a choice: which other schemes' headers are present too, and why
/// `picked` was used (it comes first in the detection order, which puts the more specific
/// header first).
fn also_applies(present: Present, picked: &str) -> Option<String> {
    let others: Vec<String> = present
        .recipes()
        .filter(|r| r.name != picked)
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

/// Every built-in recipe, in auto-detection order (ModelGates, the reference, is not one).
pub fn built_in_recipes() -> &'static [Recipe] {
    &BUILT_IN
}

/// [`verify_request`] without the request line: the URL-signed schemes then sign
/// `--public-url` as it is, and the method is taken as `POST`.
pub fn verify(headers: &[Header], body: &[u8], cfg: &VerifyConfig, now_secs: i64) -> Verdict {
    verify_request(&RequestLine::default(), headers, body, cfg, now_secs)
}

/// Verifies a request against the configured secrets at time `now_secs` (unix seconds). On a
/// failure, confirmed diagnoses are attached as hints (the valid path pays nothing for them).
pub fn verify_request(
    req: &RequestLine<'_>,
    headers: &[Header],
    body: &[u8],
    cfg: &VerifyConfig,
    now_secs: i64,
) -> Verdict {
    let present = Present::of(headers);
    let resolved = resolve_in(headers, cfg, present);
    // Mailgun signs inside the body: forced, or in auto when no header names a scheme.
    if cfg.scheme == SchemeChoice::Mailgun
        || (cfg.scheme == SchemeChoice::Auto
            && matches!(resolved, Resolved::ModelGates)
            && !present.modelgates
            && mailgun::detect(body))
    {
        return mailgun::verify(headers, body, cfg, now_secs);
    }
    let mut verdict = match &resolved {
        Resolved::ModelGates => modelgates::verify(headers, body, cfg, now_secs),
        Resolved::Recipe(r) => r.verify(headers, body, cfg, now_secs),
        // Code schemes attach their own confirmed hints.
        Resolved::Code(c) => c.verify(req, headers, body, cfg, now_secs),
    };
    if cfg.scheme == SchemeChoice::Auto
        && let Some(why) = also_applies(present, verdict.scheme.as_deref().unwrap_or(""))
    {
        verdict.reason.push_str("; ");
        verdict.reason.push_str(&why);
    }
    if matches!(
        verdict.outcome,
        Outcome::InvalidSignature | Outcome::Stale | Outcome::MalformedHeader
    ) {
        let recipe = match resolved {
            Resolved::ModelGates => Some(modelgates::reference_recipe()),
            Resolved::Recipe(r) => Some(r),
            Resolved::Code(_) => None,
        };
        if let Some(recipe) = recipe {
            verdict.hints = diagnose::diagnose(recipe, headers, body, cfg, now_secs, &verdict);
        }
    }
    // Not a failure, but worth knowing during a rotation: the match itself proves it.
    // Keys of another scheme's form before the match are other providers' keys, not older ones.
    let earlier_in_use = |index: usize| match resolved {
        Resolved::Code(c) => cfg.secrets[..index].iter().any(|s| c.takes(s)),
        _ => true,
    };
    if let Some(m) = &verdict.matched_secret
        && m.index > 0
        && earlier_in_use(m.index)
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
    #[case::discord("X-Signature-Ed25519", "discord")]
    #[case::sendgrid("X-Twilio-Email-Event-Webhook-Signature", "sendgrid")]
    #[case::twilio("X-Twilio-Signature", "twilio")]
    #[case::square("x-square-hmacsha256-signature", "square")]
    #[case::hubspot("X-HubSpot-Signature-v3", "hubspot")]
    #[case::gitlab("X-Gitlab-Token", "gitlab")]
    #[case::authorization_is_not_picked("Authorization", "modelgates")]
    #[case::nothing_known("X-Other", "modelgates")]
    fn auto_picks_the_scheme_by_header(#[case] header: &'static str, #[case] scheme: &str) {
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
    fn auto_picks_the_newer_schemes_by_header(#[case] header: &'static str, #[case] scheme: &str) {
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

    #[rstest]
    #[case::webhook_names("webhook-signature")]
    #[case::svix_names("svix-signature")]
    fn standard_webhooks_with_public_keys_is_checked_as_v1a(#[case] header: &'static str) {
        let keyed = cfg(&["whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="]);
        let prefix = header.trim_end_matches("-signature");
        let h = [
            Header::new(format!("{prefix}-id"), "msg_1"),
            Header::new(format!("{prefix}-timestamp"), NOW.to_string()),
            Header::new(header, "v1a,AAAA"),
        ];
        let v = verify(&h, BODY, &keyed, NOW);
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        assert_eq!(v.scheme.as_deref(), Some("standard"));
        assert!(v.reason.starts_with("v1a (ed25519)"), "{}", v.reason);
        // With a whsec_ secret the same header is the symmetric recipe.
        let v = verify(
            &[Header::new("webhook-signature", "v1,AAAA")],
            BODY,
            &cfg(&["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]),
            NOW,
        );
        assert!(!v.reason.contains("v1a"), "{}", v.reason);
        // A listener with both kinds of key checks each delivery by what it carries.
        let both = cfg(&[
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
        ]);
        assert!(verify(&h, BODY, &both, NOW).reason.starts_with("v1a"));
        let v1 = [
            Header::new(format!("{prefix}-id"), "msg_1"),
            Header::new(format!("{prefix}-timestamp"), NOW.to_string()),
            Header::new(header, "v1,AAAA"),
        ];
        assert!(!verify(&v1, BODY, &both, NOW).reason.starts_with("v1a"));
    }

    #[rstest]
    #[case::basic(SchemeChoice::Basic, "basic")]
    #[case::bearer(SchemeChoice::Bearer, "bearer")]
    #[case::twilio(SchemeChoice::Twilio, "twilio")]
    fn a_forced_code_scheme_is_used(#[case] choice: SchemeChoice, #[case] name: &str) {
        let c = VerifyConfig {
            scheme: choice,
            ..cfg(&["k"])
        };
        let v = verify(&[], BODY, &c, NOW);
        assert_eq!(
            (v.scheme.as_deref(), v.outcome),
            (Some(name), Outcome::MissingHeader)
        );
    }

    #[test]
    fn another_providers_key_before_the_match_is_not_an_older_secret() {
        // Discord's test vector (verify::ed25519 tests), checked by a listener that holds a
        // whpk_ key first and a Discord key second, then two Discord keys.
        let h = [
            Header::new(
                ed25519::DISCORD_SIGNATURE,
                "c1098e97d711377f30225d53d94b89d43537f92e5b3afaddc590781b1f9f9d4b2eeab335d370be3b9a090bc61a85b86448bc140dcd195f1569c2bff181257607",
            ),
            Header::new(ed25519::DISCORD_TIMESTAMP, "1700000000"),
        ];
        let public = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
        let v = verify(&h, br#"{"type":1}"#, &cfg(&["whpk_AAAA", public]), NOW);
        assert_eq!(v.outcome, Outcome::Valid, "{}", v.reason);
        assert!(v.hints.is_empty(), "{:?}", v.hints);
        assert!(!v.reason.contains("secret 0"), "{}", v.reason);
        let other = "fd1724385aa0c75b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f618";
        let v = verify(&h, br#"{"type":1}"#, &cfg(&[other, public]), NOW);
        assert_eq!(v.hints[0].code, "older_secret");
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
