//! Why a signature failed, when it can be told. Each check recomputes the MAC with one known
//! mistake applied; a hint is emitted only when that recomputation matches the signature that
//! arrived (or, for length changes, when the bytes prove it). Never a guess presented as fact.
//! Runs only on a failed verdict, so a valid delivery pays nothing for it.
//!
//! The hint codes, in the order they are tried: `timestamp_milliseconds` (stale), then for an
//! invalid signature `body_length_changed`, `secret_whitespace`, `whsec_key_handling`,
//! `uppercase_hex`, `wrong_encoding`, `key_form`, `body_reserialized`, `signed_string_layout`,
//! `timestamp_milliseconds`, `body_compressed`. (`older_secret`, on a valid delivery, is added by `verify` itself.)
//! The schemes written as code confirm their own: `body_reserialized` (through
//! `reserialized`), `url_form` (`urlform`), `private_key_configured` (`ed25519`) and
//! `form_not_declared` (`twilio`).

use std::borrow::Cow;

use serde_json::Value;

use super::config::VerifyConfig;
use super::recipe::{Encoding, KeyMode, Part, Recipe, parse_template, signed_parts, template_text};
use crate::model::capture::{Header, header_value};
use crate::model::secret::Secret;
use crate::model::verdict::{Hint, Outcome, Verdict};

fn hint(code: &str, message: String) -> Vec<Hint> {
    vec![Hint {
        code: code.into(),
        message,
    }]
}

/// A JSON body parsed and written again, compact and pretty-printed (the forms that differ
/// from the bytes that arrived), each with its name: what a framework that re-encodes sends.
pub(crate) fn reserialized(body: &[u8]) -> Vec<(Vec<u8>, &'static str)> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    [
        (serde_json::to_vec(&value).ok(), "compact"),
        (serde_json::to_vec_pretty(&value).ok(), "pretty-printed"),
    ]
    .into_iter()
    .filter_map(|(form, how)| form.filter(|f| f != body).map(|f| (f, how)))
    .collect()
}

/// Returns the first confirmed explanation of a failed verdict (empty when none is proven).
pub fn diagnose(
    recipe: &Recipe,
    headers: &[Header],
    body: &[u8],
    cfg: &VerifyConfig,
    now: i64,
    verdict: &Verdict,
) -> Vec<Hint> {
    let Ok(parsed) = recipe.read_headers(headers, body) else {
        return Vec::new();
    };
    let t = parsed.timestamp.as_deref().unwrap_or_default();
    let id = parsed.id.unwrap_or_default();
    let sigs = &parsed.signatures;
    let matches_with = |key: &[u8], template: &[Part], t: &str, body: &[u8]| {
        recipe.matches(key, signed_parts(template, t, id, body), sigs)
    };
    let keys: Vec<(usize, Cow<'_, [u8]>)> = cfg
        .secrets
        .iter()
        .enumerate()
        .filter_map(|(i, s)| recipe.key_of(s).ok().map(|k| (i, k)))
        .collect();
    let any_key = |template: &[Part], t: &str, body: &[u8]| {
        keys.iter()
            .find(|(_, k)| matches_with(k, template, t, body))
            .map(|(i, _)| *i)
    };

    if verdict.outcome == Outcome::Stale && verdict.matched_secret.is_some() {
        // Signature fine, timestamp far off: milliseconds look like a date far in the future.
        if let (Some(ts), Some(skew)) = (verdict.timestamp, verdict.skew_secs)
            && ts > 100_000_000_000
            && (ts / 1000 - now).abs() <= cfg.tolerance_secs
        {
            return hint(
                "timestamp_milliseconds",
                format!(
                    "the timestamp is in milliseconds ({ts}); as seconds it would be {} s off instead of {skew} s — send unix seconds",
                    ts / 1000 - now
                ),
            );
        }
        return Vec::new();
    }
    // A stale timestamp whose signature does not match either is explained like an invalid
    // signature (the contract judges the timestamp first).
    if !matches!(verdict.outcome, Outcome::InvalidSignature | Outcome::Stale) {
        return Vec::new();
    }

    // The body is not what was sent: its length disagrees with Content-Length.
    if let Some(declared) = header_value(headers, "content-length")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        && declared != body.len()
    {
        return hint(
            "body_length_changed",
            format!(
                "the body is {} bytes but Content-Length says {declared}: something changed it on the way",
                body.len()
            ),
        );
    }

    // A secret with surrounding whitespace, or a newline the sender kept ($(cat secret.txt)).
    for (i, secret) in cfg.secrets.iter().enumerate() {
        let s = secret.expose_str();
        let variants = [
            (
                s.trim().to_string(),
                "without the whitespace around your secret",
            ),
            (
                format!("{s}\n"),
                "with a trailing newline added to the secret",
            ),
            (
                format!("{s}\r\n"),
                "with a trailing CRLF added to the secret",
            ),
        ];
        for (variant, how) in variants {
            if variant == s || variant.is_empty() {
                continue;
            }
            if let Ok(v) = Secret::new(variant)
                && let Ok(key) = recipe.key_bytes(&v)
                && matches_with(&key, &recipe.template, t, body)
            {
                return hint(
                    "secret_whitespace",
                    format!(
                        "the signature matches secret {i} {how}: one side read the secret with stray whitespace (typical of $(cat secret.txt) or a copied dashboard value)"
                    ),
                );
            }
        }
    }

    // whsec_ secrets: Standard Webhooks base64-decodes them, Stripe uses the whole string.
    for (i, secret) in cfg.secrets.iter().enumerate() {
        let s = secret.expose_str();
        if !s.starts_with("whsec_") {
            continue;
        }
        let mut other = recipe.clone();
        other.key = match recipe.key {
            KeyMode::Utf8 => KeyMode::Whsec,
            KeyMode::Whsec => KeyMode::Utf8,
        };
        if let Ok(key) = other.key_bytes(secret)
            && matches_with(&key, &recipe.template, t, body)
        {
            let what = match recipe.key {
                KeyMode::Utf8 => {
                    "after stripping whsec_ and base64-decoding it (the Standard Webhooks way)"
                }
                KeyMode::Whsec => {
                    "used as the raw whsec_… string (the Stripe way) instead of base64-decoded"
                }
            };
            return hint(
                "whsec_key_handling",
                format!("the signature matches secret {i} {what}"),
            );
        }
    }

    // Uppercase hex where the receiver compares lowercase strings.
    if recipe.lowercase_only
        && sigs
            .iter()
            .any(|s| s.bytes().any(|b| b.is_ascii_uppercase()))
    {
        let lower: Vec<String> = sigs.iter().map(|s| s.to_ascii_lowercase()).collect();
        if let Some(i) = keys
            .iter()
            .find(|(_, k)| recipe.matches(k, signed_parts(&recipe.template, t, id, body), &lower))
            .map(|(i, _)| *i)
        {
            return hint(
                "uppercase_hex",
                format!(
                    "the signature is uppercase hex; it matches secret {i} once lowercased, but a receiver that compares strings (as the guide's does) rejects it"
                ),
            );
        }
    }

    // The right MAC, written in the other encoding (hex where base64 is expected, or back).
    let signed = signed_parts(&recipe.template, t, id, body);
    let (other, other_name, want_name) = match recipe.encoding {
        Encoding::Hex => (Encoding::Base64, "base64", "hex"),
        Encoding::Base64 => (Encoding::Hex, "hex", "base64"),
    };
    let mut recoded = recipe.clone();
    recoded.encoding = other;
    recoded.lowercase_only = false;
    if let Some(i) = keys
        .iter()
        .find(|(_, k)| recoded.matches(k, signed.clone(), sigs))
        .map(|(i, _)| *i)
    {
        return hint(
            "wrong_encoding",
            format!(
                "the signature is the right MAC (secret {i}) written in {other_name}, but {} sends {want_name}: the sender encoded the digest the wrong way",
                recipe.name
            ),
        );
    }

    // The secret's text was decoded first (hex or base64 shown in a dashboard), or the other
    // way round.
    if recipe.key == KeyMode::Utf8 {
        use base64::Engine;
        for (i, secret) in cfg.secrets.iter().enumerate() {
            let s = secret.expose_str();
            let forms = [
                (hex::decode(s).ok(), "hex-decoded"),
                (
                    base64::engine::general_purpose::STANDARD.decode(s).ok(),
                    "base64-decoded",
                ),
            ];
            for (key, how) in forms {
                if let Some(key) = key
                    && !key.is_empty()
                    && recipe.matches(&key, signed.clone(), sigs)
                {
                    return hint(
                        "key_form",
                        format!(
                            "the signature matches secret {i} {how}: the sender keyed the MAC with the decoded bytes, while {} uses the secret's text as it is",
                            recipe.name
                        ),
                    );
                }
            }
        }
    }

    // The body was parsed and re-encoded before signing (or before this check).
    for (form, how) in reserialized(body) {
        if let Some(i) = any_key(&recipe.template, t, &form) {
            return hint(
                "body_reserialized",
                format!(
                    "the signature matches a {how} re-serialization of the JSON body (secret {i}), not the bytes that arrived: something parsed and re-encoded the body; sign and verify the raw bytes"
                ),
            );
        }
    }

    // A different signed-string layout (separator, prefix, missing timestamp).
    let layouts = [
        "{t}.{body}",
        "{t},{body}",
        "{t}:{body}",
        "{t}{body}",
        "{body}",
        "v0:{t}:{body}",
        "{id}.{t}.{body}",
        "{id}{t}{body}",
    ];
    let current = template_text(&recipe.template);
    for layout in layouts {
        if layout == current || (layout.contains("{id}") && id.is_empty()) {
            continue;
        }
        if (layout.contains("{t}")) && t.is_empty() {
            continue;
        }
        let Ok(template) = parse_template(layout) else {
            continue;
        };
        if let Some(i) = any_key(&template, t, body) {
            return hint(
                "signed_string_layout",
                format!(
                    "the signature is over \"{layout}\" (secret {i}), but {} signs \"{current}\": the sender used another provider's layout or separator",
                    recipe.name
                ),
            );
        }
    }

    // Signed over the timestamp in seconds while the header carries milliseconds (or the
    // reverse).
    if let Ok(ts) = t.parse::<i64>() {
        let alt = if ts > 100_000_000_000 {
            ts / 1000
        } else {
            ts * 1000
        };
        if let Some(i) = any_key(&recipe.template, &alt.to_string(), body) {
            return hint(
                "timestamp_milliseconds",
                format!(
                    "the signature matches with timestamp {alt} (secret {i}) instead of the {ts} in the header: seconds and milliseconds are mixed up"
                ),
            );
        }
    }

    // Compressed on the way: the body is gzip data (its magic bytes prove it), while providers
    // sign the uncompressed JSON.
    if let Some(encoding) = header_value(headers, "content-encoding")
        && body.starts_with(&[0x1f, 0x8b])
    {
        return hint(
            "body_compressed",
            format!(
                "the body arrived compressed (Content-Encoding: {}, gzip magic bytes): a proxy compressed it, and the signature covers the uncompressed bytes",
                crate::sanitize::escape_line(encoding)
            ),
        );
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{modelgates, standard};

    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] =
        br#"{"type":"video.generation.completed","data":{"id":"job_1","status":"completed"}}"#;

    fn cfg(secret: &str) -> VerifyConfig {
        VerifyConfig {
            secrets: vec![Secret::new(secret).unwrap()],
            ..Default::default()
        }
    }

    fn mg(sig_header: String, body: &[u8]) -> Vec<Header> {
        vec![
            Header::new("Content-Type", "application/json"),
            Header::new("X-ModelGates-Signature", sig_header),
            Header::new("Content-Length", body.len().to_string()),
        ]
    }

    /// The verdict of `recipe` with its diagnosis attached, as `verify::verify` attaches it to
    /// a failure (the ModelGates reference gives the verdict for the ModelGates recipe).
    fn checked(recipe: &Recipe, headers: &[Header], body: &[u8], c: &VerifyConfig) -> Verdict {
        let mut v = if recipe.name == modelgates::NAME {
            modelgates::verify(headers, body, c, NOW)
        } else {
            recipe.verify(headers, body, c, NOW)
        };
        v.hints = diagnose(recipe, headers, body, c, NOW, &v);
        v
    }

    fn codes(headers: &[Header], body: &[u8], c: &VerifyConfig) -> Vec<String> {
        let v = checked(&modelgates::recipe(), headers, body, c);
        v.hints.into_iter().map(|h| h.code).collect()
    }

    fn hmac_hex(key: &[u8], data: &[u8]) -> String {
        let r = modelgates::recipe();
        r.encode(&r.mac(key, data))
    }

    #[test]
    fn valid_deliveries_get_no_hints() {
        let h = mg(modelgates::signature_header(b"dev_secret", NOW, BODY), BODY);
        assert!(codes(&h, BODY, &cfg("dev_secret")).is_empty());
    }

    #[test]
    fn trailing_newline_in_the_senders_secret() {
        let h = mg(
            modelgates::signature_header(b"dev_secret\n", NOW, BODY),
            BODY,
        );
        assert_eq!(codes(&h, BODY, &cfg("dev_secret")), ["secret_whitespace"]);
        // And the other way round: hooklens was given the secret with a newline.
        let h = mg(modelgates::signature_header(b"dev_secret", NOW, BODY), BODY);
        assert_eq!(codes(&h, BODY, &cfg("dev_secret\n")), ["secret_whitespace"]);
    }

    #[test]
    fn re_serialized_body() {
        let pretty =
            serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(BODY).unwrap()).unwrap();
        let h = mg(
            modelgates::signature_header(b"dev_secret", NOW, &pretty),
            BODY,
        );
        assert_eq!(codes(&h, BODY, &cfg("dev_secret")), ["body_reserialized"]);
    }

    #[test]
    fn stripe_layout_sent_to_a_modelgates_check() {
        let sig = hmac_hex(
            b"dev_secret",
            format!("{NOW}.")
                .as_bytes()
                .iter()
                .chain(BODY)
                .copied()
                .collect::<Vec<u8>>()
                .as_slice(),
        );
        let h = mg(format!("t={NOW},v1={sig}"), BODY);
        let v = checked(&modelgates::recipe(), &h, BODY, &cfg("dev_secret"));
        assert_eq!(v.hints[0].code, "signed_string_layout");
        assert!(
            v.hints[0].message.contains("{t}.{body}"),
            "{}",
            v.hints[0].message
        );
    }

    #[test]
    fn uppercase_hex() {
        let sig = modelgates::sign(b"dev_secret", NOW, BODY).to_uppercase();
        let h = mg(format!("t={NOW},v1={sig}"), BODY);
        assert_eq!(codes(&h, BODY, &cfg("dev_secret")), ["uppercase_hex"]);
    }

    #[test]
    fn milliseconds_timestamp() {
        let ms = NOW * 1000;
        let h = mg(modelgates::signature_header(b"dev_secret", ms, BODY), BODY);
        let v = checked(&modelgates::recipe(), &h, BODY, &cfg("dev_secret"));
        assert_eq!(v.outcome, Outcome::Stale);
        assert_eq!(v.hints[0].code, "timestamp_milliseconds");
        // Signed over seconds, header in milliseconds.
        let sig = modelgates::sign(b"dev_secret", NOW, BODY);
        let h = mg(format!("t={ms},v1={sig}"), BODY);
        assert_eq!(
            codes(&h, BODY, &cfg("dev_secret")),
            ["timestamp_milliseconds"]
        );
    }

    #[test]
    fn whsec_secret_not_decoded() {
        // A Standard Webhooks sender keyed with the raw whsec_ string instead of decoding it.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let r = standard::recipe();
        let mut raw = r.clone();
        raw.key = KeyMode::Utf8;
        let headers = raw
            .sign(&Secret::new(secret).unwrap(), NOW, "msg_1", BODY)
            .unwrap();
        let v = checked(&r, &headers, BODY, &cfg(secret));
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        assert_eq!(v.hints[0].code, "whsec_key_handling");
    }

    #[test]
    fn body_changed_length_in_transit() {
        let sig = modelgates::signature_header(b"dev_secret", NOW, BODY);
        let mut h = mg(sig, BODY);
        h[2] = Header::new("Content-Length", (BODY.len() + 3).to_string());
        let cut = &BODY[..BODY.len() - 3];
        assert_eq!(codes(&h, cut, &cfg("dev_secret")), ["body_length_changed"]);
    }

    #[test]
    fn compressed_in_transit() {
        let sig = modelgates::signature_header(b"dev_secret", NOW, BODY);
        let gz = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03];
        let mut h = mg(sig, &gz);
        h.push(Header::new("Content-Encoding", "gzip"));
        assert_eq!(codes(&h, &gz, &cfg("dev_secret")), ["body_compressed"]);
        // The header alone proves nothing: no hint without gzip bytes.
        let mut h = mg(modelgates::signature_header(b"other", NOW, BODY), BODY);
        h.push(Header::new("Content-Encoding", "gzip"));
        assert!(codes(&h, BODY, &cfg("dev_secret")).is_empty());
    }

    #[test]
    fn digest_in_the_wrong_encoding() {
        // A WooCommerce sender that wrote the hex digest instead of base64.
        let r = crate::verify::woocommerce::recipe();
        let body = br#"{"id":42}"#;
        let hexsig = hmac_hex(b"woo", body);
        let h = vec![Header::new("X-WC-Webhook-Signature", hexsig)];
        let v = checked(&r, &h, body, &cfg("woo"));
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        assert_eq!(v.hints[0].code, "wrong_encoding", "{:?}", v.hints);
    }

    #[test]
    fn key_decoded_by_the_sender() {
        // The secret is shown as hex; the sender keyed the MAC with its bytes.
        let r = crate::verify::github::recipe();
        let body = b"Hello";
        let sig = hmac_hex(&[0xde, 0xad, 0xbe, 0xef], body);
        let h = vec![Header::new("X-Hub-Signature-256", format!("sha256={sig}"))];
        let v = checked(&r, &h, body, &cfg("deadbeef"));
        assert_eq!(v.hints[0].code, "key_form", "{:?}", v.hints);
    }

    #[test]
    fn a_plain_wrong_secret_gets_no_invented_hint() {
        let h = mg(
            modelgates::signature_header(b"some_other_secret", NOW, BODY),
            BODY,
        );
        assert!(codes(&h, BODY, &cfg("dev_secret")).is_empty());
    }

    #[test]
    fn the_module_doc_names_every_code_emitted() {
        let source = include_str!("diagnose.rs");
        let doc: String = source
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .collect();
        let mut emitted = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find("return hint(") {
            rest = &rest[at + 12..];
            if let Some(code) = rest.trim_start().strip_prefix('"')
                && let Some(end) = code.find('"')
                && code[..end]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                emitted.push(&code[..end]);
            }
        }
        assert!(emitted.len() >= 8, "{emitted:?}");
        for code in emitted {
            assert!(
                doc.contains(&format!("`{code}`")),
                "{code} is not in the module doc"
            );
        }
    }
}
