//! The suite of `hooklens check`: the case table, and each case's delivery built as a provider
//! would send it (or broken on purpose). No I/O and no clock: callers pass the time in;
//! grading the answers is `net/grade.rs`, sending them `net/check.rs`.
//!
//! Every scheme is signed through its [`Recipe`] (ModelGates too, [`crate::verify::built_in`]),
//! and each scheme gets the cases its own rules allow: no timestamp cases for a scheme that
//! signs none (GitHub, Shopify), no future/milliseconds case where only old timestamps are
//! refused (Stripe), no rotation case where a header carries a single signature.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::net::send::{Delivery, event_body};
use crate::verify::modelgates;
use crate::verify::recipe::{KeyMode, Part, Recipe, Split, Window};

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
    /// Timestamp 299 s old.
    Fresh,
    /// Signed with another secret.
    WrongSecret,
    /// Body changed after signing, same length.
    Tampered,
    /// Timestamp 301 s old.
    Stale,
    /// Timestamp 301 s ahead.
    Future,
    /// No signature header.
    MissingHeader,
    /// An empty signature header.
    EmptyHeader,
    /// No timestamp.
    NoT,
    /// No signature under the scheme's key (`v1=`, `v1,`, `sha256=`…).
    NoV1,
    /// A timestamp that is not a number (`<now>abc`), signed over that literal.
    NonNumericT,
    /// The timestamp in milliseconds, signed over that literal.
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
    (Kind::Fresh, "fresh-299s"),
    (Kind::WrongSecret, "wrong-secret"),
    (Kind::Tampered, "tampered-body"),
    (Kind::Stale, "stale-301s"),
    (Kind::Future, "future-301s"),
    (Kind::MissingHeader, "missing-header"),
    (Kind::EmptyHeader, "empty-header"),
    (Kind::NoT, "no-t"),
    (Kind::NoV1, "no-v1"),
    (Kind::NonNumericT, "non-numeric-t"),
    (Kind::Milliseconds, "milliseconds"),
    (Kind::Slow, "slow"),
];

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
        CASES.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
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
        let several = matches!(recipe.split, Split::Pairs { .. } | Split::List { .. });
        let scheme = &recipe.name;
        let no = |why: &str| Err(format!("{} does not apply to {scheme}: {why}", self.name()));
        match self {
            Fresh | Stale | NoT | NonNumericT | Future | Milliseconds if !signs_t => {
                no("it signs no timestamp")
            }
            Fresh | Stale | Future | Milliseconds if recipe.window == Window::None => {
                no("it checks no timestamp")
            }
            Future | Milliseconds if recipe.window == Window::Past => {
                no("its receivers refuse only old timestamps, so a future one is accepted")
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
                "rejected a timestamp 299 s old: its tolerance is under the 300 s the provider allows (or its clock is off)"
            }
            WrongSecret => {
                "accepted a delivery signed with another secret: it does not verify the signature"
            }
            Tampered => "accepted a tampered body: it does not verify the signature",
            Stale => {
                "accepted a timestamp 301 s old: it does not check the timestamp, so old deliveries can be replayed"
            }
            Future => "accepted a timestamp 301 s in the future: it only refuses old timestamps",
            MissingHeader => "accepted a delivery without a signature header",
            EmptyHeader => "accepted an empty signature header",
            NoT => "accepted a signature header without a timestamp: the timestamp is not required",
            NoV1 => {
                "accepted a header without the signature key: the signature is read too leniently"
            }
            NonNumericT => {
                "accepted a timestamp that is not a number: it is parsed leniently (parseInt-style)"
            }
            Milliseconds => "accepted a timestamp in milliseconds: it is not read as unix seconds",
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

/// A `completed` event padded (in a top-level `metadata.note`) to exactly [`LARGE_BODY`] bytes.
fn large_body(key: &str, created_at: &str) -> Vec<u8> {
    let base = event_body("completed", key, created_at).expect("built-in event");
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
    let body = match kind {
        ByteExact => byte_exact_body(&key, &created_at),
        LargeBody => large_body(&key, &created_at),
        _ => event_body(event, &key, &created_at).map_err(|e| e.to_string())?,
    };
    // Rounded up, so a receiver whose clock ticks while the request travels still sees 301 s.
    let ahead = now + 301 + i64::from(now_ms.rem_euclid(1000) != 0);
    let t = match kind {
        Fresh => (now - 299).to_string(),
        Stale => (now - 301).to_string(),
        Future => ahead.to_string(),
        Milliseconds => now_ms.to_string(),
        NonNumericT => format!("{now}abc"),
        NoT => String::new(),
        _ => now.to_string(),
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
                // t=…,v1=<old> then the valid v1= part.
                Split::Pairs { .. } => {
                    format!("{old},{}", value.rsplit(',').next().unwrap_or_default())
                }
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
                    ..
                },
                _,
            ) => {
                let kept: Vec<&str> = value
                    .split(',')
                    .filter(|p| !p.starts_with(&format!("{tk}=")))
                    .collect();
                signed[header].value = kept.join(",").into();
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
        #[values("modelgates", "standard", "stripe", "github", "slack", "shopify")] scheme: &str,
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
    #[case::github("github", &["fresh-299s", "stale-301s", "future-301s", "no-t", "non-numeric-t", "milliseconds", "rotation"])]
    #[case::shopify("shopify", &["fresh-299s", "stale-301s", "future-301s", "no-t", "non-numeric-t", "milliseconds", "rotation", "no-v1"])]
    #[case::stripe("stripe", &["future-301s", "milliseconds"])]
    #[case::slack("slack", &["rotation"])]
    #[case::modelgates("modelgates", &[])]
    #[case::standard("standard", &[])]
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

    fn one(kind: Kind) -> Delivery {
        let r = recipe("modelgates");
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
