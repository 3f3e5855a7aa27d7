//! Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1>` keyed with the auth token, over the full
//! URL Twilio called, then, for a form POST, every parameter sorted by name as name ++ value
//! (decoded; the same name and value twice counts once, as twilio-php's validator does). A
//! JSON body is not in the signed string: the URL carries `bodySHA256=<hex SHA-256 of the
//! body>` instead, and that must match the body too. As Twilio's SDKs do, the URL is tried
//! with its port written out and left out. No timestamp.
//!
//! The URL comes from `--public-url` (see `urlform`); without one nothing can be checked and
//! the verdict says so.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

use super::config::{RequestLine, VerifyConfig};
use super::judge::judge;
use super::mac::{self, Algorithm};
use super::recipe::Window;
use super::urlform::{UrlSigned, port_forms, url_form_hint};
use crate::model::capture::{Header, header_value};
use crate::model::secret::Secret;
use crate::model::verdict::{Hint, Outcome, Verdict};

/// Scheme name.
pub const NAME: &str = "twilio";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

fn form_decode(text: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = text
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_encoding::percent_decode(&spaced).collect()
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_pairs(body: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|&b| b == b'=') {
            Some(i) => (form_decode(&p[..i]), form_decode(&p[i + 1..])),
            None => (form_decode(p), Vec::new()),
        })
        .collect()
}

fn is_form(headers: &[Header]) -> bool {
    header_value(headers, "content-type").is_some_and(|v| {
        v.to_ascii_lowercase()
            .starts_with(b"application/x-www-form-urlencoded")
    })
}

/// The `bodySHA256` query parameter of `url`, if any.
fn body_hash_param(url: &str) -> Option<&str> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("bodySHA256="))
}

/// The bytes signed for `url`: the URL, then the sorted form parameters when the body is a form.
fn signed_string(url: &str, form: Option<&[u8]>) -> Vec<u8> {
    let mut out = url.as_bytes().to_vec();
    if let Some(body) = form {
        let mut pairs = form_pairs(body);
        pairs.sort();
        pairs.dedup();
        for (k, v) in pairs {
            out.extend_from_slice(&k);
            out.extend_from_slice(&v);
        }
    }
    out
}

fn matches(key: &[u8], url: &str, form: Option<&[u8]>, sig: &[u8]) -> bool {
    port_forms(url)
        .iter()
        .any(|u| mac::matches_any(Algorithm::Sha1, key, [signed_string(u, form)], [sig]))
}

/// `url` with `bodySHA256=<hex SHA-256 of body>` added to its query, as Twilio sends JSON.
pub fn with_body_hash(url: &str, body: &[u8]) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}bodySHA256={}", hex::encode(Sha256::digest(body)))
}

/// Verifies a Twilio request.
pub fn verify(
    req: &RequestLine<'_>,
    headers: &[Header],
    body: &[u8],
    cfg: &VerifyConfig,
    now: i64,
) -> Verdict {
    let signed = UrlSigned {
        name: NAME,
        header: SIGNATURE_HEADER,
        mac_len: 20,
        mac: "20-byte HMAC-SHA1",
        signs: "Twilio signs the public URL it called",
    };
    let (sig, url) = match signed.read(req, headers, cfg) {
        Ok(read) => read,
        Err(verdict) => return *verdict,
    };
    let hashed = body_hash_param(&url);
    let form = (hashed.is_none() && is_form(headers)).then_some(body);
    let mut v = judge(NAME, cfg, None, now, Window::None, |s| {
        Ok(matches(s.expose(), &url, form, &sig))
    });
    if let (Some(expected), Outcome::Valid) = (hashed, v.outcome) {
        let actual = hex::encode(Sha256::digest(body));
        if !expected.eq_ignore_ascii_case(&actual) {
            v.outcome = Outcome::InvalidSignature;
            v.reason = format!(
                "the URL's signature matches, but its bodySHA256 is not the SHA-256 of this body ({actual}): the body changed after signing"
            );
            v.matched_secret = None;
        }
    }
    if v.outcome == Outcome::InvalidSignature
        && let Some(h) = url_form_hint(&url, |u| {
            cfg.secrets
                .iter()
                .any(|s| matches(s.expose(), u, form, &sig))
        })
    {
        v.hints.push(h);
    }
    if v.outcome == Outcome::InvalidSignature && form.is_none() && !body.is_empty() {
        // A form body sent without its Content-Type is still signed as a form.
        if cfg
            .secrets
            .iter()
            .any(|s| matches(s.expose(), &url, Some(body), &sig))
        {
            v.hints.push(Hint {
                code: "form_not_declared".into(),
                message: "the signature matches with the body read as form parameters, but the request has no Content-Type: application/x-www-form-urlencoded".into(),
            });
        }
    }
    v.reason = format!("{} (signed URL {url})", v.reason);
    v
}

/// Signs a request to `url` as Twilio does: JSON bodies by URL (`url` must already carry
/// `bodySHA256`, see [`with_body_hash`]), form bodies by URL + sorted parameters.
pub fn sign(secret: &Secret, url: &str, form: Option<&[u8]>) -> Vec<Header> {
    let mac = mac::compute(
        Algorithm::Sha1,
        secret.expose(),
        &[&signed_string(url, form)],
    );
    vec![Header::new(SIGNATURE_HEADER, B64.encode(mac))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Twilio's published example (twilio-php tests/Twilio/Unit/Security/RequestValidatorTest.php,
    // the same in twilio-csharp and Twilio's security docs), re-computed with python3
    // `hmac.new(b"12345", url + "".join(k + v for k, v in sorted(params)), sha1)`.
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const FORM: &[u8] = b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
    const SIG: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    // The JSON example of the same tests: bodySHA256 = sha256(JSON_BODY) (published), and the
    // signature of URL&bodySHA256=… computed with python3 hmac/sha1 as above.
    const JSON_BODY: &[u8] = br#"{"property": "value", "boolean": true}"#;
    const BODY_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    const JSON_SIG: &str = "a9nBmqA0ju/hNViExpshrM61xv4=";

    fn check(public_url: &str, content_type: &str, sig: &str, body: &[u8]) -> Verdict {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(TOKEN).unwrap()],
            public_url: Some(public_url.into()),
            ..Default::default()
        };
        let h = vec![
            Header::new("Content-Type", content_type.to_string()),
            Header::new(SIGNATURE_HEADER, sig.to_string()),
        ];
        let req = RequestLine {
            method: "POST",
            target: "/myapp.php?foo=1&bar=2",
        };
        verify(&req, &h, body, &cfg, 0)
    }

    const FORM_CT: &str = "application/x-www-form-urlencoded; charset=utf-8";

    #[rstest]
    #[case::published(URL, FORM_CT, SIG, FORM, Outcome::Valid)]
    #[case::origin_plus_target("https://mycompany.com", FORM_CT, SIG, FORM, Outcome::Valid)]
    #[case::port_written_out(
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        FORM_CT,
        SIG,
        FORM,
        Outcome::Valid
    )]
    #[case::param_changed(URL, FORM_CT, SIG, b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=9999&From=%2B14158675309&To=%2B18005551212", Outcome::InvalidSignature)]
    #[case::params_in_any_order(URL, FORM_CT, SIG, b"To=%2B18005551212&Digits=1234&From=%2B14158675309&Caller=%2B14158675309&CallSid=CA1234567890ABCDE", Outcome::Valid)]
    #[case::wrong_url(
        "https://mycompany.com/other.php",
        FORM_CT,
        SIG,
        FORM,
        Outcome::InvalidSignature
    )]
    #[case::fail_is_malformed(URL, FORM_CT, "FAIL", FORM, Outcome::MalformedHeader)]
    #[case::empty_is_missing(URL, FORM_CT, "", FORM, Outcome::MissingHeader)]
    #[case::json(&format!("{URL}&bodySHA256={BODY_HASH}"), "application/json", JSON_SIG, JSON_BODY, Outcome::Valid)]
    #[case::json_body_changed(&format!("{URL}&bodySHA256={BODY_HASH}"), "application/json", JSON_SIG, br#"{"property": "value", "boolean": false}"#, Outcome::InvalidSignature)]
    fn published_example_and_broken_variants(
        #[case] url: &str,
        #[case] ct: &str,
        #[case] sig: &str,
        #[case] body: &[u8],
        #[case] expected: Outcome,
    ) {
        let v = check(url, ct, sig, body);
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }

    #[test]
    fn repeated_parameters_as_twilio_php_signs_them() {
        // twilio-php testValidateWithArrayAndDuplicates: Digits = [5678, 1234, 1234].
        let body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234";
        let v = check(URL, FORM_CT, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", body);
        assert_eq!(v.outcome, Outcome::Valid, "{}", v.reason);
    }

    #[rstest]
    #[case::http(
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        "https://mycompany.com/myapp.php?foo=1&bar=2"
    )]
    #[case::trailing_slash(
        "https://mycompany.com/myapp.php/?foo=1&bar=2",
        "https://mycompany.com/myapp.php?foo=1&bar=2"
    )]
    fn a_url_form_mismatch_is_named(#[case] configured: &str, #[case] right: &str) {
        let v = check(configured, FORM_CT, SIG, FORM);
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        assert_eq!(v.hints[0].code, "url_form", "{:?}", v.hints);
        assert!(v.hints[0].message.contains(right), "{}", v.hints[0].message);
    }

    #[test]
    fn without_a_public_url_nothing_is_judged() {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(TOKEN).unwrap()],
            ..Default::default()
        };
        let h = vec![Header::new(SIGNATURE_HEADER, SIG)];
        let v = verify(&RequestLine::default(), &h, FORM, &cfg, 0);
        assert_eq!(v.outcome, Outcome::Unverified);
        assert!(v.reason.contains("--public-url"), "{}", v.reason);
    }

    #[test]
    fn sign_reproduces_both_examples() {
        let s = Secret::new(TOKEN).unwrap();
        assert_eq!(sign(&s, URL, Some(FORM))[0].value_str(), Some(SIG));
        let url = with_body_hash(URL, JSON_BODY);
        assert_eq!(url, format!("{URL}&bodySHA256={BODY_HASH}"));
        assert_eq!(sign(&s, &url, None)[0].value_str(), Some(JSON_SIG));
    }
}
