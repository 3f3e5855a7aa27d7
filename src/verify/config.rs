//! What verification needs to know: the secrets to try, the timestamp tolerance and the scheme
//! to check. Shared by the dispatch in `verify` and by every scheme.

use std::sync::Arc;

use super::recipe::Recipe;
use crate::model::secret::Secret;

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
    /// Standard Webhooks / Svix (`webhook-*` or the branded `svix-*`).
    Standard,
    /// Stripe.
    Stripe,
    /// GitHub (`X-Hub-Signature-256`).
    Github,
    /// Slack.
    Slack,
    /// Shopify.
    Shopify,
    /// Paddle Billing (`Paddle-Signature: ts=;h1=`).
    Paddle,
    /// Linear (`Linear-Signature`, `webhookTimestamp` in the body).
    Linear,
    /// Zoom (`x-zm-signature: v0=`).
    Zoom,
    /// Twitch EventSub.
    Twitch,
    /// Vercel (`x-vercel-signature`, SHA-1).
    Vercel,
    /// WooCommerce (`X-WC-Webhook-Signature`).
    Woocommerce,
    /// Intercom (`X-Hub-Signature: sha1=`).
    Intercom,
    /// Mailgun (signature, timestamp and token inside the body).
    Mailgun,
    /// The `--recipe` given.
    Custom,
    /// Discord interactions: ed25519 over `X-Signature-Timestamp` + body (hex public key).
    Discord,
    /// SendGrid Event Webhook: ECDSA P-256 over timestamp + body (base64 DER public key).
    Sendgrid,
    /// Twilio: HMAC-SHA1 over the public URL + sorted form parameters (needs --public-url).
    Twilio,
    /// Square: HMAC-SHA256 over the notification URL + body (needs --public-url).
    Square,
    /// HubSpot v3: HMAC-SHA256 over method + URL + body + timestamp (needs --public-url).
    Hubspot,
    /// GitLab `X-Gitlab-Token`: a shared token, not a signature (does not cover the body).
    Gitlab,
    /// HTTP Basic `user:password` in `Authorization` (does not cover the body).
    Basic,
    /// `Authorization: Bearer <token>` (does not cover the body).
    Bearer,
}

/// The request line parts the URL-signed schemes sign: the method and the target (path and
/// query) as received.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLine<'a> {
    /// `POST`, ...; empty when unknown (taken as `POST`).
    pub method: &'a str,
    /// Path and query as received; empty when unknown.
    pub target: &'a str,
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
    /// The URL the provider called (`--public-url`), for the URL-signed schemes: a full URL,
    /// or an origin (no path, or `/`) that the request's path and query are appended to.
    pub public_url: Option<String>,
}

impl VerifyConfig {
    /// The tolerance for a scheme whose provider applies `scheme_default` seconds: that one,
    /// unless `--tolerance` was changed from its default.
    pub fn tolerance_for(&self, scheme_default: Option<i64>) -> i64 {
        match scheme_default {
            Some(own) if self.tolerance_secs == DEFAULT_TOLERANCE_SECS => own,
            _ => self.tolerance_secs,
        }
    }
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            secrets: Vec::new(),
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
            scheme: SchemeChoice::Auto,
            custom: None,
            public_url: None,
        }
    }
}
