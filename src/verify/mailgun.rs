//! Mailgun: no signature header. The body carries `timestamp`, `token` and `signature` (JSON
//! webhooks: the `signature` object; forwarded routes: form fields), and `signature` is the
//! lowercase hex HMAC-SHA256 of `timestamp ++ token` under the webhook signing key, compared as
//! a string. The signature does **not** cover the rest of the body: every verdict says so.
//! Mailgun's own examples enforce no freshness window (they suggest caching tokens), so the
//! timestamp is reported but not judged.

use super::config::VerifyConfig;
use super::contract::{Evidence, Fault, Window, judge};
use super::mac::{self, Algorithm};
use crate::model::capture::Header;
use crate::model::verdict::Verdict;
use crate::sanitize::escape_line;

/// Scheme name in verdicts.
pub const NAME: &str = "mailgun";

/// Said on every Mailgun verdict.
pub const COVERS: &str = "Mailgun's signature covers only timestamp and token, not the rest of the body: the event data is not authenticated by it";

/// The three signed fields as sent.
#[derive(Debug, PartialEq, Eq)]
struct Fields {
    timestamp: Option<String>,
    token: Option<String>,
    signature: Option<String>,
}

/// A form body's value for `name` (`+` and `%XX` decoded).
fn form_value(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match v.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16)) {
                    Some(Ok(x)) => {
                        out.push(x);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads the fields from a JSON body (`signature.{timestamp,token,signature}`) or a form body.
fn fields(body: &[u8]) -> Option<Fields> {
    // Both forms need a `signature` key, written out unless JSON escapes spell it: a body
    // with neither (most bodies auto-detection asks about) is not parsed at all.
    if memchr::memmem::find(body, b"signature").is_none() && memchr::memchr(b'\\', body).is_none() {
        return None;
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let sig = v.get("signature")?;
        let text = |k: &str| {
            sig.get(k).map(|x| match x {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        };
        return Some(Fields {
            timestamp: text("timestamp"),
            token: text("token"),
            signature: text("signature"),
        });
    }
    let f = Fields {
        timestamp: form_value(body, "timestamp"),
        token: form_value(body, "token"),
        signature: form_value(body, "signature"),
    };
    (f.signature.is_some() && (f.timestamp.is_some() || f.token.is_some())).then_some(f)
}

/// Whether the body looks like a Mailgun delivery (for auto-detection, which has no header to
/// go by).
pub fn detect(body: &[u8]) -> bool {
    fields(body).is_some_and(|f| f.signature.is_some() && f.token.is_some())
}

/// Verifies a Mailgun delivery.
pub fn verify(_headers: &[Header], body: &[u8], cfg: &VerifyConfig, now: i64) -> Verdict {
    let mut v = judge(NAME, &cfg.secrets, now, evidence(body, cfg));
    if !v.reason.contains(COVERS) {
        v.reason.push_str("; ");
        v.reason.push_str(COVERS);
    }
    v
}

fn evidence<'c>(body: &[u8], cfg: &'c VerifyConfig) -> Result<Evidence<'c>, Fault> {
    let f = fields(body).ok_or_else(|| {
        Fault::Missing(
            "no signature in the body (a signature object with timestamp, token and signature, or those form fields)"
                .into(),
        )
    })?;
    let need = |v: Option<String>, what: &str| match v {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(Fault::Missing(format!("no signature {what} in the body"))),
    };
    let timestamp = need(f.timestamp, "timestamp")?;
    let token = need(f.token, "token")?;
    let signature = need(f.signature, "signature")?;
    if !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Fault::Malformed(format!(
            "signature timestamp {:?} is not unix seconds",
            escape_line(timestamp.as_bytes())
        )));
    }
    let t = timestamp
        .parse::<i64>()
        .map_err(|_| Fault::Malformed("signature timestamp is out of range".into()))?;
    // Compared as a lowercase hex string (hmac.compare_digest in Mailgun's example).
    let candidate = if signature.bytes().any(|b| b.is_ascii_uppercase()) {
        None
    } else {
        hex::decode(&signature).ok()
    };
    let matched = cfg.secrets.iter().enumerate().find(|(_, s)| {
        candidate.as_deref().is_some_and(|c| {
            mac::secret_matches_any(
                Algorithm::Sha256,
                s,
                [timestamp.as_bytes(), token.as_bytes()],
                [c],
            )
        })
    });
    Ok(Evidence {
        timestamp: Some(t),
        window: Window::None,
        tolerance: cfg.tolerance_secs,
        matched,
        notes: vec![COVERS.into()],
    })
}

/// A Mailgun-shaped JSON body: `event` (the event data) under `event-data`, with the
/// `signature` object signed with `key` at unix seconds `t`.
pub fn signed_body(key: &[u8], t: i64, token: &str, event: &[u8]) -> Vec<u8> {
    let ts = t.to_string();
    let sig = hex::encode(mac::compute(
        Algorithm::Sha256,
        key,
        &[ts.as_bytes(), token.as_bytes()],
    ));
    let mut out = format!(
        r#"{{"signature":{{"timestamp":"{ts}","token":"{token}","signature":"{sig}"}},"event-data":"#
    )
    .into_bytes();
    out.extend_from_slice(event);
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::secret::Secret;
    use crate::model::verdict::Outcome;
    use rstest::rstest;

    const KEY: &str = "key-mailgun-signing";
    const TOKEN: &str = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0";
    // Computed independently with Python:
    // hmac.new(KEY, b"1700000000" + TOKEN, sha256).hexdigest().
    const SIG: &str = "bc1d4695b271aaa416998b45ddede459c204863b78219cf9fc0d64a057a67253";

    fn json(ts: &str, token: &str, sig: &str) -> String {
        format!(
            r#"{{"signature":{{"timestamp":"{ts}","token":"{token}","signature":"{sig}"}},"event-data":{{"event":"delivered"}}}}"#
        )
    }

    fn run(body: &str) -> Verdict {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(KEY).unwrap()],
            ..Default::default()
        };
        verify(&[], body.as_bytes(), &cfg, 1_700_000_000)
    }

    #[rstest]
    #[case::valid(json("1700000000", TOKEN, SIG), Outcome::Valid)]
    // The event data is not signed: changing it does not change the verdict.
    #[case::event_changed(json("1700000000", TOKEN, SIG).replace("delivered", "failed"), Outcome::Valid)]
    #[case::form(format!("timestamp=1700000000&token={TOKEN}&signature={SIG}&recipient=a%40b.example"), Outcome::Valid)]
    // signature-schemes.md §1 l.48: absent or empty is missing.
    #[case::no_signature_object(r#"{"event-data":{}}"#.to_string(), Outcome::MissingHeader)]
    #[case::empty_signature(json("1700000000", TOKEN, ""), Outcome::MissingHeader)]
    #[case::no_token(json("1700000000", "", SIG), Outcome::MissingHeader)]
    // §1 l.49: a timestamp that is not unix seconds is malformed.
    #[case::bad_timestamp(json("soon", TOKEN, SIG), Outcome::MalformedHeader)]
    // §1 l.51: the timestamp and token are signed; uppercase hex is compared as a string.
    #[case::other_token(json("1700000000", "b8ce", SIG), Outcome::InvalidSignature)]
    #[case::uppercase(json("1700000000", TOKEN, &SIG.to_uppercase()), Outcome::InvalidSignature)]
    fn verdicts(#[case] body: String, #[case] expected: Outcome) {
        let v = run(&body);
        assert_eq!(v.outcome, expected, "{}", v.reason);
        assert!(
            v.reason.contains("not the rest of the body"),
            "{}",
            v.reason
        );
    }

    #[test]
    fn a_day_old_timestamp_is_reported_not_refused() {
        // No window is enforced by Mailgun's examples.
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(KEY).unwrap()],
            ..Default::default()
        };
        let body = json("1700000000", TOKEN, SIG);
        let v = verify(&[], body.as_bytes(), &cfg, 1_700_086_400);
        assert_eq!((v.outcome, v.skew_secs), (Outcome::Valid, Some(-86_400)));
    }

    #[test]
    fn signed_body_verifies_and_is_detected() {
        let body = signed_body(
            KEY.as_bytes(),
            1_700_000_000,
            TOKEN,
            br#"{"event":"opened"}"#,
        );
        assert!(detect(&body));
        assert!(!detect(br#"{"type":"video.generation.completed"}"#));
        assert_eq!(
            run(std::str::from_utf8(&body).unwrap()).outcome,
            Outcome::Valid
        );
        assert!(String::from_utf8_lossy(&body).contains(SIG));
        // Keys spelled with JSON escapes are the same keys: still found, still checked.
        let escaped = String::from_utf8(body)
            .unwrap()
            .replace("\"signature\"", "\"\\u0073ignature\"");
        assert!(!escaped.contains("signature"), "{escaped}");
        assert!(detect(escaped.as_bytes()));
        assert_eq!(run(&escaped).outcome, Outcome::Valid);
    }
}
