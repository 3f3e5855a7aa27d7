//! Square: `x-square-hmacsha256-signature: <base64 HMAC-SHA256>` keyed with the subscription's
//! signature key, over the notification URL ++ raw body. No timestamp. The URL comes from
//! `--public-url` (see `urlform`). The legacy `x-square-signature` (HMAC-SHA1) is not checked.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::config::{RequestLine, VerifyConfig};
use super::judge::{body_hint, judge};
use super::mac::{self, Algorithm};
use super::recipe::Window;
use super::urlform::{UrlSigned, url_form_hint};
use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::model::verdict::{Outcome, Verdict};

/// Scheme name.
pub const NAME: &str = "square";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-square-hmacsha256-signature";

fn matches(secret: &Secret, url: &str, body: &[u8], sig: &[u8]) -> bool {
    mac::secret_matches_any(Algorithm::Sha256, secret, [url.as_bytes(), body], [sig])
}

/// Verifies a Square webhook.
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
        mac_len: 32,
        mac: "32-byte HMAC-SHA256",
        signs: "Square signs the notification URL",
    };
    let (sig, url) = match signed.read(req, headers, cfg) {
        Ok(read) => read,
        Err(verdict) => return *verdict,
    };
    let mut v = judge(NAME, cfg, None, now, Window::None, |s| {
        Ok(matches(s, &url, body, &sig))
    });
    if v.outcome == Outcome::InvalidSignature
        && let Some(h) = url_form_hint(&url, |u| {
            cfg.secrets.iter().any(|s| matches(s, u, body, &sig))
        })
    {
        v.hints.push(h);
    }
    body_hint(&mut v, body, |b| {
        cfg.secrets.iter().any(|s| matches(s, &url, b, &sig))
    });
    v.reason = format!("{} (signed URL {url})", v.reason);
    v
}

/// Signs a notification to `url` as Square does.
pub fn sign(secret: &Secret, url: &str, body: &[u8]) -> Vec<Header> {
    let mac = mac::compute(Algorithm::Sha256, secret.expose(), &[url.as_bytes(), body]);
    vec![Header::new(SIGNATURE_HEADER, B64.encode(mac))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Square's documented example (developer.squareup.com "Validate notifications" and the
    // SDKs' samples: key asdf1234, URL https://example.com/webhook, body {"hello":"world"}),
    // re-computed with python3 base64(hmac.new(key, url + body, sha256)).
    const KEY: &str = "asdf1234";
    const URL: &str = "https://example.com/webhook";
    const BODY: &[u8] = br#"{"hello":"world"}"#;
    const SIG: &str = "2kRE5qRU2tR+tBGlDwMEw2avJ7QM4ikPYD/PJ3bd9Og=";

    fn check(url: &str, sig: &str, body: &[u8]) -> Verdict {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(KEY).unwrap()],
            public_url: Some(url.into()),
            ..Default::default()
        };
        let req = RequestLine {
            method: "POST",
            target: "/webhook",
        };
        verify(
            &req,
            &[Header::new(SIGNATURE_HEADER, sig.to_string())],
            body,
            &cfg,
            0,
        )
    }

    #[rstest]
    #[case::documented(URL, SIG, BODY, Outcome::Valid)]
    #[case::origin_plus_path("https://example.com", SIG, BODY, Outcome::Valid)]
    #[case::body_changed(URL, SIG, br#"{"hello":"world"} "#, Outcome::InvalidSignature)]
    #[case::empty_is_missing(URL, "", BODY, Outcome::MissingHeader)]
    #[case::not_base64_is_malformed(URL, "bad signature", BODY, Outcome::MalformedHeader)]
    fn documented_example_and_broken_variants(
        #[case] url: &str,
        #[case] sig: &str,
        #[case] body: &[u8],
        #[case] expected: Outcome,
    ) {
        assert_eq!(check(url, sig, body).outcome, expected);
    }

    #[rstest]
    #[case::trailing_slash("https://example.com/webhook/", "without the trailing slash")]
    #[case::http("http://example.com/webhook", "https:// instead of http://")]
    #[case::port("https://example.com:443/webhook", "without the port :443")]
    #[case::query("https://example.com/webhook?src=x", "without the query string")]
    fn a_url_form_mismatch_is_named(#[case] url: &str, #[case] how: &str) {
        let v = check(url, SIG, BODY);
        assert_eq!(v.outcome, Outcome::InvalidSignature);
        assert_eq!(v.hints.len(), 1, "{:?}", v.hints);
        assert!(v.hints[0].message.contains(how), "{}", v.hints[0].message);
        assert!(
            v.hints[0]
                .message
                .contains(": https://example.com/webhook —"),
            "{}",
            v.hints[0].message
        );
    }

    #[test]
    fn sign_reproduces_the_example() {
        let h = sign(&Secret::new(KEY).unwrap(), URL, BODY);
        assert_eq!(h[0].value_str(), Some(SIG));
    }
}
