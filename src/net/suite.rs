//! The suite of `hooklens check`: the case table, and each case's delivery built as a provider
//! would send it (or broken on purpose). No I/O and no clock: callers pass the time in;
//! grading the answers is `net/grade.rs`, sending them `net/check.rs`.
//!
//! Every scheme is signed through its [`Recipe`] (ModelGates too, [`crate::verify::built_in`]),
//! and each scheme gets the cases its own rules allow: no timestamp cases for a scheme that
//! signs none (GitHub, Shopify), no future case where only old timestamps are refused (Stripe,
//! Paddle, Twitch), no rotation case where a header carries a single signature.
//!
//! The timestamp cases follow the recipe: its own tolerance ([`tolerance`]: Paddle 5 s, Linear
//! 60 s, Twitch 600 s, else 300 s), its unit (seconds, milliseconds, RFC 3339) and where the
//! timestamp travels (the signature header, its own header, or a JSON body field such as
//! Linear's `webhookTimestamp`). Mailgun signs inside the body and has no recipe: `check`
//! refuses it (`cmd/check.rs`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::net::send::{Delivery, event_body};
use crate::verify::DEFAULT_TOLERANCE_SECS;
use crate::verify::modelgates;
use crate::verify::recipe::{KeyMode, Part, Recipe, Split, TimeUnit, Window};

/// One case of the suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A signed `completed` event.
    Valid,
    /// A signed `failed` event.
    Failed,
    /// A signed `cancelled` event.
    Cancelled,
    /// A signed `expired` event.
    Expired,
    /// Two signatures: the first from another secret, the second valid.
    Rotation,
    /// Raw JSON that re-serializing changes (whitespace, key order, `\u` escapes, `1.10`,
    /// non-ASCII text).
    ByteExact,
    /// `Content-Type: application/json; charset=utf-8`.
    Charset,
    /// A valid event of exactly 1 MiB.
    LargeBody,
    /// The same delivery twice.
    Duplicate,
    /// Timestamp 1 s inside the tolerance (299 s old for 300 s).
    Fresh,
    /// Signed with another secret.
    WrongSecret,
    /// Body changed after signing, same length.
    Tampered,
    /// Timestamp 1 s past the tolerance (301 s old for 300 s).
    Stale,
    /// Timestamp 1 s past the tolerance ahead (301 s for 300 s).
    Future,
    /// No signature header.
    MissingHeader,
    /// An empty signature header.
    EmptyHeader,
    /// No timestamp.
    NoT,
    /// No signature under the scheme's key (`v1=`, `v1,`, `sha256=`…).
    NoV1,
    /// A timestamp that is not one (`<now>abc`), signed over that literal.
    NonNumericT,
    /// The timestamp in another unit, signed over that literal: milliseconds where seconds
    /// are expected, seconds where milliseconds are, unix seconds instead of RFC 3339.
    Milliseconds,
    /// Nothing sent: every answer's time against the provider's delivery timeout.
    Slow,
}

/// What a correct receiver does with a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Answers 2xx.
    Accept,
    /// Answers 401 (or the `--reject-status` statuses).
    Reject,
    /// Answers every delivery within the provider's timeout.
    InTime,
}

/// Every case, in the order they run, with its name.
pub const CASES: [(Kind, &str); 21] = [
    (Kind::Valid, "valid"),
    (Kind::Failed, "failed"),
    (Kind::Cancelled, "cancelled"),
    (Kind::Expired, "expired"),
    (Kind::Rotation, "rotation"),
    (Kind::ByteExact, "byte-exact"),
    (Kind::Charset, "charset"),
    (Kind::LargeBody, "large-body"),
    (Kind::Duplicate, "duplicate"),
    (Kind::Fresh, "fresh"),
    (Kind::WrongSecret, "wrong-secret"),
    (Kind::Tampered, "tampered-body"),
    (Kind::Stale, "stale"),
    (Kind::Future, "future"),
    (Kind::MissingHeader, "missing-header"),
    (Kind::EmptyHeader, "empty-header"),
    (Kind::NoT, "no-t"),
    (Kind::NoV1, "no-v1"),
    (Kind::NonNumericT, "non-numeric-t"),
    (Kind::Milliseconds, "wrong-unit"),
    (Kind::Slow, "slow"),
];

/// Earlier names still accepted by `--only` and `--skip` (from when every scheme had 300 s).
const ALIASES: [(&str, Kind); 4] = [
    ("fresh-299s", Kind::Fresh),
    ("stale-301s", Kind::Stale),
    ("future-301s", Kind::Future),
    ("milliseconds", Kind::Milliseconds),
];

/// The scheme's tolerance in seconds, as its receivers apply it: the recipe's `max_age`, else
/// the 300 s most providers allow.
pub fn tolerance(recipe: &Recipe) -> i64 {
    recipe.max_age.unwrap_or(DEFAULT_TOLERANCE_SECS)
}

/// How the scheme's timestamp is checked, for the report's first line (`300 s either way`,
/// `5 s, old only`), or `None` when it checks none.
pub fn window_text(recipe: &Recipe) -> Option<String> {
    let signs_t = recipe.template.contains(&Part::Timestamp) || recipe.timestamp_field.is_some();
    let w = tolerance(recipe);
    match recipe.window {
        _ if !signs_t => None,
        Window::None => None,
        Window::Past => Some(format!("{w} s, old only")),
        Window::Both => Some(format!("{w} s either way")),
    }
}

/// Size of the large-body case.
pub const LARGE_BODY: usize = 1024 * 1024;

impl Kind {
    /// The case's name (`--only`, `--skip`, the report).
    pub fn name(self) -> &'static str {
        CASES
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("?", |(_, n)| n)
    }

    /// The case called `name`.
    pub fn by_name(name: &str) -> Option<Kind> {
        CASES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(k, _)| *k)
            .or_else(|| ALIASES.iter().find(|(n, _)| *n == name).map(|(_, k)| *k))
    }

    /// What a correct receiver does.
    pub fn expect(self) -> Expect {
        use Kind::*;
        match self {
            Valid | Failed | Cancelled | Expired | Rotation | ByteExact | Charset | LargeBody
            | Duplicate | Fresh => Expect::Accept,
            Slow => Expect::InTime,
            _ => Expect::Reject,
        }
    }

    /// Whether the case applies to `recipe`'s scheme; `Err` says why not.
    pub fn applies(self, recipe: &Recipe) -> Result<(), String> {
        use Kind::*;
        let signs_t = recipe.template.contains(&Part::Timestamp);
        let has_t = signs_t || recipe.timestamp_field.is_some();
        let several = matches!(recipe.split, Split::Pairs { .. } | Split::List { .. });
        let scheme = &recipe.name;
        let no = |why: &str| Err(format!("{} does not apply to {scheme}: {why}", self.name()));
        match self {
            Fresh | Stale | NoT | NonNumericT | Future | Milliseconds if !has_t => {
                no("it signs no timestamp")
            }
            NoT if !signs_t => no(&format!(
                "a body without {} is not checked for freshness (nor by the provider's SDK)",
                recipe.timestamp_field.as_deref().unwrap_or("its timestamp")
            )),
            Fresh | Stale | Future | Milliseconds if recipe.window == Window::None => {
                no("it checks no timestamp")
            }
            Future if recipe.window == Window::Past => {
                no("its receivers refuse only old timestamps, so a future one is accepted")
            }
            Milliseconds
                if recipe.window == Window::Past && recipe.timestamp_unit == TimeUnit::Seconds =>
            {
                no("its receivers refuse only old timestamps, and milliseconds read as the future")
            }
            Rotation if !several => no("its header carries a single signature"),
            NoV1 if matches!(&recipe.split, Split::Bare { prefix } if prefix.is_empty()) => {
                no("its header is the bare signature")
            }
            _ => Ok(()),
        }
    }

    /// Why, in one line, when the receiver got this case wrong.
    pub fn failure(self) -> &'static str {
        use Kind::*;
        match self {
            Valid => {
                "rejected a correctly signed delivery: check the secret, and that the signature is computed over the raw body"
            }
            Failed | Cancelled | Expired => {
                "rejected a signed terminal event that is not `completed`: every terminal type must be acknowledged"
            }
            Rotation => {
                "rejected a delivery whose second signature is valid: it checks only the first one (during a secret rotation every signature must be tried)"
            }
            ByteExact => {
                "rejected a byte-exact body that the signature covers: the body is probably re-serialized before verification"
            }
            Charset => {
                "rejected `Content-Type: application/json; charset=utf-8`: the body is only read for an exact media type"
            }
            LargeBody => {
                "rejected a valid 1 MiB event: its body size limit is too small (Express's express.raw defaults to 100 kB)"
            }
            Duplicate => {
                "did not acknowledge a retry of the same delivery: a retry must get 2xx (deduplicate by the idempotency key instead)"
            }
            Fresh => {
                "rejected a timestamp 1 s inside the provider's tolerance: its own tolerance is tighter (or its clock is off)"
            }
            WrongSecret => {
                "accepted a delivery signed with another secret: it does not verify the signature"
            }
            Tampered => "accepted a tampered body: it does not verify the signature",
            Stale => {
                "accepted a timestamp 1 s older than the provider's tolerance: it does not check the timestamp (or its tolerance is too wide), so old deliveries can be replayed"
            }
            Future => {
                "accepted a timestamp 1 s further ahead than the provider's tolerance: it only refuses old timestamps"
            }
            MissingHeader => "accepted a delivery without a signature header",
            EmptyHeader => "accepted an empty signature header",
            NoT => "accepted a signature header without a timestamp: the timestamp is not required",
            NoV1 => {
                "accepted a header without the signature key: the signature is read too leniently"
            }
            NonNumericT => {
                "accepted a timestamp with trailing junk (`<now>abc`): it is parsed leniently (parseInt-style)"
            }
            Milliseconds => {
                "accepted a timestamp in the wrong unit: it is not read in the unit the provider signs"
            }
            Slow => "answered too slowly",
        }
    }
}

/// What one case sends, built at the moment it is sent.
pub struct Ctx<'a> {
    /// The scheme.
    pub recipe: &'a Recipe,
    /// The receiver's secret.
    pub secret: &'a Secret,
    /// The run id in `check-<case>-<run>`.
    pub run: &'a str,
}

/// `check-<case>-<run>`: the job id and idempotency key of a case's delivery.
pub fn delivery_key(kind: Kind, run: &str) -> String {
    format!("check-{}-{run}", kind.name())
}

/// A secret that is not `secret` but has its form (a `whsec_` key stays one).
pub fn other_secret(recipe: &Recipe, secret: &Secret) -> Secret {
    let value = match recipe.key {
        KeyMode::Whsec => {
            let mut key = recipe.key_bytes(secret).unwrap_or_else(|_| vec![0; 24]);
            for b in &mut key {
                *b ^= 0x5a;
            }
            format!("whsec_{}", B64.encode(key))
        }
        KeyMode::Utf8 => format!("{}-not-it", secret.expose_str()),
    };
    Secret::new(value).expect("not empty")
}

/// The header that carries the delivery id where the scheme has one outside the signature.
fn id_header(recipe: &Recipe) -> Option<&'static str> {
    match recipe.name.as_str() {
        modelgates::NAME => Some(modelgates::IDEMPOTENCY_HEADER),
        "github" => Some("X-GitHub-Delivery"),
        "shopify" => Some("X-Shopify-Webhook-Id"),
        _ => None,
    }
}

/// The byte-exact body: valid JSON whose bytes a parse-and-serialize round trip changes.
fn byte_exact_body(key: &str, created_at: &str) -> Vec<u8> {
    format!(
        "{{\n  \"data\" : {{\n    \"status\" : \"completed\",\n    \"id\" : \"{key}\",\n    \"generation_id\" : \"gen_{key}\",\n    \"model\" : \"google/veo-3.1-lite\",\n    \"prompt\" : \"Caf\\u00e9 \\u2014 cr\u{e8}me br\u{fb}l\u{e9}e, \u{201c}slow\u{201d} pan \u{1f3ac}\",\n    \"unsigned_urls\" : [ \"https://example.com/video.mp4\" ],\n    \"usage\" : {{ \"is_byok\" : false, \"cost\" : 1.10 }}\n  }},\n  \"type\" : \"video.generation.completed\",\n  \"created_at\" : \"{created_at}\"\n}}\n"
    )
    .into_bytes()
}

/// A `completed` event (`base`) padded (in a top-level `metadata.note`) to exactly
/// [`LARGE_BODY`] bytes.
fn large_body(base: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8(base).expect("built-in events are UTF-8");
    let (head, tail) = text.split_at(text.len() - 1);
    let wrapper = r#","metadata":{"note":""}"#;
    let pad = LARGE_BODY.saturating_sub(text.len() + wrapper.len());
    format!(
        "{head},\"metadata\":{{\"note\":\"{}\"}}{tail}",
        "x".repeat(pad)
    )
    .into_bytes()
}

/// `body` with the timestamp `t` written as the recipe's body field (Linear's
/// `webhookTimestamp`), exactly as given: a number when it is digits, else a JSON string. The
/// field is added as the first member; a dotted path nests (`a.b`: `{"a":{"b":t}}`). Bodies of
/// recipes whose timestamp is not in the body are kept as they are.
fn stamp(recipe: &Recipe, body: Vec<u8>, t: &str) -> Vec<u8> {
    let Some(field) = recipe.timestamp_field.as_deref() else {
        return body;
    };
    let Some(rest) = body.strip_prefix(b"{") else {
        return body;
    };
    let mut value = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.to_string()
    } else {
        serde_json::Value::from(t).to_string()
    };
    let path: Vec<&str> = field.split('.').collect();
    for key in path[1..].iter().rev() {
        value = format!("{{{}:{value}}}", serde_json::Value::from(*key));
    }
    let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    let mut out = format!(
        "{{{}:{value}{}",
        serde_json::Value::from(path[0]),
        if empty { "" } else { "," }
    )
    .into_bytes();
    out.extend_from_slice(rest);
    out
}

/// The deliveries of a case (two for the duplicate, none for the slow case), built at
/// `now_ms` (unix ms).
pub fn deliveries(kind: Kind, ctx: &Ctx, now_ms: i64) -> Result<Vec<Delivery>, String> {
    use Kind::*;
    let r = ctx.recipe;
    if kind == Slow {
        return Ok(Vec::new());
    }
    let now = now_ms.div_euclid(1000);
    let key = delivery_key(kind, ctx.run);
    let created_at = crate::fmt::rfc3339(now_ms);
    let event = match kind {
        Failed => "failed",
        Cancelled => "cancelled",
        Expired => "expired",
        _ => "completed",
    };
    // The recipe's own tolerance and unit: 1 s inside it, 1 s past it, each way.
    let w = tolerance(r);
    let text = |secs: i64| r.timestamp_text(secs);
    // Rounded up, so a receiver whose clock ticks while the request travels still sees w + 1.
    let ahead = now + w + 1 + i64::from(now_ms.rem_euclid(1000) != 0);
    let t = match kind {
        Fresh => text(now - (w - 1).max(0)),
        Stale => text(now - w - 1),
        Future => text(ahead),
        Milliseconds => match r.timestamp_unit {
            TimeUnit::Seconds => now_ms.to_string(),
            TimeUnit::Milliseconds | TimeUnit::Rfc3339 => now.to_string(),
        },
        NonNumericT => format!("{}abc", text(now)),
        NoT => String::new(),
        _ => text(now),
    };
    let body = match kind {
        ByteExact => byte_exact_body(&key, &created_at),
        _ => event_body(event, &key, &created_at).map_err(|e| e.to_string())?,
    };
    // A timestamp in the body is in the signed bytes; without one (no-t) the body has none.
    let body = match kind {
        NoT => body,
        _ => stamp(r, body, &t),
    };
    let body = match kind {
        LargeBody => large_body(body),
        _ => body,
    };
    let signer = match kind {
        WrongSecret => other_secret(r, ctx.secret),
        _ => ctx.secret.clone(),
    };
    let mut signed = r.sign_literal(&signer, &t, &key, &body)?;
    let header = signed
        .iter()
        .position(|h| h.name.eq_ignore_ascii_case(&r.header))
        .expect("a recipe signs into its header");
    let value = signed[header].value_str().unwrap_or_default().to_string();
    match kind {
        Rotation => {
            let old = r.sign_literal(&other_secret(r, ctx.secret), &t, &key, &body)?;
            let old = old[0].value_str().unwrap_or_default().to_string();
            signed[header].value = match &r.split {
                // t=…,v1=<old> then the valid v1= part (Paddle: `;`).
                Split::Pairs { separator, .. } => format!(
                    "{old}{separator}{}",
                    value.rsplit(*separator).next().unwrap_or_default()
                ),
                _ => format!("{old} {value}"),
            }
            .into();
        }
        MissingHeader => {
            signed.remove(header);
        }
        EmptyHeader => signed[header].value = "".into(),
        NoT => match (&r.split, &r.timestamp_header) {
            (
                Split::Pairs {
                    timestamp: Some(tk),
                    separator,
                    ..
                },
                _,
            ) => {
                let kept: Vec<&str> = value
                    .split(*separator)
                    .filter(|p| !p.starts_with(&format!("{tk}=")))
                    .collect();
                signed[header].value = kept.join(&separator.to_string()).into();
            }
            (_, Some(th)) => signed.retain(|h| !h.name.eq_ignore_ascii_case(th)),
            _ => {}
        },
        NoV1 => {
            signed[header].value = match &r.split {
                Split::Pairs { signature, .. } => {
                    let other = if signature == "v0" { "v9" } else { "v0" };
                    value.replace(&format!("{signature}="), &format!("{other}="))
                }
                Split::List { version } => {
                    let other = if version == "v2" { "v3" } else { "v2" };
                    value.replacen(&format!("{version},"), &format!("{other},"), 1)
                }
                Split::Bare { prefix } => value
                    .strip_prefix(prefix.as_str())
                    .unwrap_or(&value)
                    .to_string(),
            }
            .into();
        }
        _ => {}
    }
    let content_type = match kind {
        Charset => "application/json; charset=utf-8",
        _ => "application/json",
    };
    let mut headers = vec![Header::new("Content-Type", content_type)];
    headers.extend(signed);
    if let Some(h) = id_header(r) {
        headers.push(Header::new(h, key.clone()));
    }
    let mut body = body;
    if kind == Tampered {
        // Same length, still valid JSON: the job reported as cancelled instead of completed.
        let at = body
            .windows(b"\"completed\"".len())
            .rposition(|w| w == b"\"completed\"")
            .expect("a completed event");
        body[at + 1..at + 10].copy_from_slice(b"cancelled");
    }
    let one = Delivery { headers, body };
    Ok(match kind {
        Duplicate => vec![one.clone(), one],
        _ => vec![one],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{Outcome, SchemeChoice, VerifyConfig, verify};
    use rstest::rstest;

    const NOW_MS: i64 = 1_764_601_200_250;
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn recipe(scheme: &str) -> Recipe {
        crate::verify::built_in(scheme).unwrap()
    }

    fn choice(scheme: &str) -> SchemeChoice {
        <SchemeChoice as clap::ValueEnum>::from_str(scheme, true).unwrap()
    }

    /// hooklens' own verdict on a case's delivery, as a correct receiver of `scheme` judges it
    /// (the scheme forced, so a missing header cannot fall back to another scheme).
    fn outcome(scheme: &str, kind: Kind) -> Outcome {
        let r = recipe(scheme);
        let secret = Secret::new(SECRET).unwrap();
        let ctx = Ctx {
            recipe: &r,
            secret: &secret,
            run: "r1",
        };
        let d = deliveries(kind, &ctx, NOW_MS).unwrap();
        let cfg = VerifyConfig {
            secrets: vec![secret.clone()],
            scheme: choice(scheme),
            ..Default::default()
        };
        let v = verify(&d[0].headers, &d[0].body, &cfg, NOW_MS / 1000);
        v.outcome
    }

    #[rstest]
    fn each_case_is_what_a_correct_receiver_of_each_scheme_accepts_or_refuses(
        #[values(
            "modelgates",
            "standard",
            "stripe",
            "github",
            "slack",
            "shopify",
            "paddle",
            "linear",
            "zoom",
            "twitch",
            "vercel",
            "woocommerce",
            "intercom"
        )]
        scheme: &str,
    ) {
        let r = recipe(scheme);
        let mut ran = 0;
        for (kind, name) in CASES {
            if kind == Kind::Slow || kind.applies(&r).is_err() {
                continue;
            }
            ran += 1;
            let got = outcome(scheme, kind);
            match kind.expect() {
                Expect::Accept => assert_eq!(got, Outcome::Valid, "{scheme} {name}"),
                _ => assert_ne!(got, Outcome::Valid, "{scheme} {name}"),
            }
        }
        assert!(ran >= 12, "{scheme}: only {ran} cases");
    }

    #[rstest]
    #[case::github("github", &["fresh", "stale", "future", "no-t", "non-numeric-t", "wrong-unit", "rotation"])]
    #[case::shopify("shopify", &["fresh", "stale", "future", "no-t", "non-numeric-t", "wrong-unit", "rotation", "no-v1"])]
    #[case::stripe("stripe", &["future", "wrong-unit"])]
    #[case::slack("slack", &["rotation"])]
    #[case::modelgates("modelgates", &[])]
    #[case::standard("standard", &[])]
    #[case::paddle("paddle", &["future", "wrong-unit"])]
    #[case::linear("linear", &["rotation", "no-v1", "no-t"])]
    #[case::twitch("twitch", &["rotation", "future"])]
    #[case::zoom("zoom", &["fresh", "stale", "future", "wrong-unit", "rotation"])]
    #[case::vercel("vercel", &["fresh", "stale", "future", "no-t", "non-numeric-t", "wrong-unit", "rotation", "no-v1"])]
    #[case::woocommerce("woocommerce", &["fresh", "stale", "future", "no-t", "non-numeric-t", "wrong-unit", "rotation", "no-v1"])]
    #[case::intercom("intercom", &["fresh", "stale", "future", "no-t", "non-numeric-t", "wrong-unit", "rotation"])]
    fn each_scheme_skips_what_its_rules_do_not_have(
        #[case] scheme: &str,
        #[case] skipped: &[&str],
    ) {
        let r = recipe(scheme);
        let not: Vec<&str> = CASES
            .iter()
            .filter(|(k, _)| k.applies(&r).is_err())
            .map(|(_, n)| *n)
            .collect();
        let mut want = skipped.to_vec();
        want.sort();
        let mut got = not.clone();
        got.sort();
        assert_eq!(got, want);
    }

    /// The timestamp a case sends for `scheme`, as a receiver reads it (header or body field).
    fn sent_t(scheme: &str, kind: Kind) -> String {
        let d = built(scheme, kind);
        recipe(scheme)
            .parse_headers(&d.headers, &d.body)
            .unwrap()
            .timestamp
            .unwrap()
    }

    #[rstest]
    // Paddle: 5 s, old only, unix seconds in `ts=` (semicolons).
    #[case::paddle_fresh("paddle", Kind::Fresh, (NOW_MS / 1000 - 4).to_string())]
    #[case::paddle_stale("paddle", Kind::Stale, (NOW_MS / 1000 - 6).to_string())]
    // Linear: ±60 s, milliseconds in the body's webhookTimestamp; seconds are the wrong unit.
    #[case::linear_valid("linear", Kind::Valid, (NOW_MS / 1000 * 1000).to_string())]
    #[case::linear_fresh("linear", Kind::Fresh, ((NOW_MS / 1000 - 59) * 1000).to_string())]
    #[case::linear_future("linear", Kind::Future, ((NOW_MS / 1000 + 62) * 1000).to_string())]
    #[case::linear_unit("linear", Kind::Milliseconds, (NOW_MS / 1000).to_string())]
    #[case::linear_junk("linear", Kind::NonNumericT, format!("{}abc", NOW_MS / 1000 * 1000))]
    // Twitch: 600 s, old only, RFC 3339; unix seconds are the wrong unit.
    #[case::twitch_stale("twitch", Kind::Stale, crate::fmt::rfc3339((NOW_MS / 1000 - 601) * 1000))]
    #[case::twitch_unit("twitch", Kind::Milliseconds, (NOW_MS / 1000).to_string())]
    // The rest: 300 s.
    #[case::stripe_stale("stripe", Kind::Stale, (NOW_MS / 1000 - 301).to_string())]
    fn timestamps_follow_each_schemes_window_unit_and_place(
        #[case] scheme: &str,
        #[case] kind: Kind,
        #[case] want: String,
    ) {
        assert_eq!(sent_t(scheme, kind), want);
    }

    #[test]
    fn paddle_rotation_and_no_t_keep_its_semicolons() {
        let sig = |k| {
            let d = built("paddle", k);
            header(&d, "Paddle-Signature").unwrap().to_string()
        };
        let rotation = sig(Kind::Rotation);
        assert_eq!(rotation.matches(";h1=").count(), 2, "{rotation}");
        assert!(!rotation.contains(','), "{rotation}");
        let no_t = sig(Kind::NoT);
        assert!(no_t.starts_with("h1=") && !no_t.contains("ts="), "{no_t}");
    }

    #[test]
    fn linear_bodies_carry_the_timestamp_and_stay_what_their_names_say() {
        let body = |k| built("linear", k).body;
        let large = body(Kind::LargeBody);
        assert_eq!(large.len(), LARGE_BODY);
        let json: serde_json::Value = serde_json::from_slice(&large).unwrap();
        assert_eq!(json["webhookTimestamp"], NOW_MS / 1000 * 1000);
        let exact = body(Kind::ByteExact);
        let parsed: serde_json::Value = serde_json::from_slice(&exact).unwrap();
        assert_ne!(serde_json::to_vec(&parsed).unwrap(), exact);
        assert!(parsed["webhookTimestamp"].is_number());
    }

    #[test]
    fn each_scheme_states_its_window() {
        for (scheme, says) in [
            ("paddle", Some("5 s, old only")),
            ("linear", Some("60 s either way")),
            ("twitch", Some("600 s, old only")),
            ("modelgates", Some("300 s either way")),
            ("github", None),
            ("zoom", None),
        ] {
            assert_eq!(window_text(&recipe(scheme)).as_deref(), says, "{scheme}");
        }
        assert_eq!(Kind::by_name("stale-301s"), Some(Kind::Stale));
    }

    fn one(kind: Kind) -> Delivery {
        built("modelgates", kind)
    }

    /// A case's delivery for `scheme`, signed with `dev_secret`.
    fn built(scheme: &str, kind: Kind) -> Delivery {
        let r = recipe(scheme);
        let secret = Secret::new("dev_secret").unwrap();
        let ctx = Ctx {
            recipe: &r,
            secret: &secret,
            run: "r1",
        };
        deliveries(kind, &ctx, NOW_MS).unwrap().remove(0)
    }

    fn header<'a>(d: &'a Delivery, name: &str) -> Option<&'a str> {
        crate::model::capture::header_value(&d.headers, name)
            .map(|v| std::str::from_utf8(v).unwrap())
    }

    #[test]
    fn deliveries_carry_check_case_run_as_key_and_job_id() {
        let d = one(Kind::Valid);
        assert_eq!(
            header(&d, modelgates::IDEMPOTENCY_HEADER),
            Some("check-valid-r1")
        );
        let json: serde_json::Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(json["data"]["id"], "check-valid-r1");
    }

    #[test]
    fn the_broken_headers_are_what_their_names_say() {
        let sig = |k| header(&one(k), modelgates::SIGNATURE_HEADER).map(str::to_owned);
        let now = NOW_MS / 1000;
        assert!(sig(Kind::MissingHeader).is_none());
        assert_eq!(sig(Kind::EmptyHeader).as_deref(), Some(""));
        assert!(sig(Kind::NoT).unwrap().starts_with("v1="));
        assert_eq!(sig(Kind::NoV1).unwrap().matches("v1=").count(), 0);
        assert!(
            sig(Kind::NonNumericT)
                .unwrap()
                .starts_with(&format!("t={now}abc,"))
        );
        assert!(
            sig(Kind::Milliseconds)
                .unwrap()
                .starts_with(&format!("t={NOW_MS},"))
        );
        assert!(
            sig(Kind::Stale)
                .unwrap()
                .starts_with(&format!("t={},", now - 301))
        );
        assert!(
            sig(Kind::Fresh)
                .unwrap()
                .starts_with(&format!("t={},", now - 299))
        );
        // Rounded up: 301 s ahead of the exact time (NOW_MS has 250 ms past the second).
        assert!(
            sig(Kind::Future)
                .unwrap()
                .starts_with(&format!("t={},", now + 302))
        );
        let rotation = sig(Kind::Rotation).unwrap();
        assert_eq!(rotation.matches("v1=").count(), 2);
        let (first, second) = (
            rotation.split(',').nth(1).unwrap(),
            rotation.split(',').nth(2).unwrap(),
        );
        let valid_sig = format!(
            "v1={}",
            modelgates::sign(b"dev_secret", now, &one(Kind::Rotation).body)
        );
        assert_ne!(first, valid_sig);
        assert_eq!(second, valid_sig);
        assert_eq!(
            header(&one(Kind::Charset), "content-type"),
            Some("application/json; charset=utf-8")
        );
    }

    #[test]
    fn the_bodies_are_what_their_names_say() {
        // Tampered: what was signed, with "completed" turned into "cancelled" (same length).
        let tampered = one(Kind::Tampered).body;
        let signed = event_body(
            "completed",
            "check-tampered-body-r1",
            &crate::fmt::rfc3339(NOW_MS),
        )
        .unwrap();
        assert_eq!(tampered.len(), signed.len());
        assert_ne!(tampered, signed);
        let json: serde_json::Value = serde_json::from_slice(&tampered).unwrap();
        assert_eq!(json["data"]["status"], "cancelled");
        let large = one(Kind::LargeBody).body;
        assert_eq!(large.len(), LARGE_BODY);
        let json: serde_json::Value = serde_json::from_slice(&large).unwrap();
        assert_eq!(json["type"], "video.generation.completed");
        // The byte-exact body is valid JSON that a parse + serialize round trip changes.
        let exact = one(Kind::ByteExact).body;
        let parsed: serde_json::Value = serde_json::from_slice(&exact).unwrap();
        assert_eq!(parsed["data"]["usage"]["cost"], 1.1);
        assert_ne!(serde_json::to_vec(&parsed).unwrap(), exact);
        assert_ne!(serde_json::to_vec_pretty(&parsed).unwrap(), exact);
        let text = String::from_utf8(exact).unwrap();
        assert!(text.contains("\\u00e9") && text.contains("brûlée") && text.contains("1.10"));
        let dup = deliveries(
            Kind::Duplicate,
            &Ctx {
                recipe: &recipe("modelgates"),
                secret: &Secret::new("dev_secret").unwrap(),
                run: "r1",
            },
            NOW_MS,
        )
        .unwrap();
        assert_eq!(dup.len(), 2);
        assert_eq!(
            (&dup[0].headers, &dup[0].body),
            (&dup[1].headers, &dup[1].body)
        );
    }
}
