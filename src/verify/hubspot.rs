//! HubSpot v3: `X-HubSpot-Signature-v3: <base64 HMAC-SHA256>` keyed with the app's client
//! secret, over method ++ URI ++ raw body ++ `X-HubSpot-Request-Timestamp` (unix
//! milliseconds). The URI is the full URL HubSpot called, with the characters HubSpot's
//! validation guide lists (`%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B`) decoded. As
//! HubSpot's SDK does, only timestamps older than the tolerance (5 minutes by default) are
//! refused. The URL comes from `--public-url` (see `urlform`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::config::{RequestLine, VerifyConfig};
use super::judge::{body_hint, decode_mac, judge, malformed, missing, present, unix_seconds};
use super::mac::{self, Algorithm};
use super::recipe::Window;
use super::urlform::{signed_url_or_say, url_form_hint};
use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::model::verdict::{Outcome, Verdict};
use crate::sanitize::escape_line;

/// Scheme name.
pub const NAME: &str = "hubspot";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-HubSpot-Signature-v3";
/// The timestamp header (milliseconds).
pub const TIMESTAMP_HEADER: &str = "X-HubSpot-Request-Timestamp";

/// The URI as HubSpot signs it: the listed percent-escapes decoded, everything else as sent.
fn signed_uri(url: &str) -> String {
    const DECODED: [(&str, &str); 12] = [
        ("%3A", ":"),
        ("%2F", "/"),
        ("%3F", "?"),
        ("%40", "@"),
        ("%21", "!"),
        ("%24", "$"),
        ("%27", "'"),
        ("%28", "("),
        ("%29", ")"),
        ("%2A", "*"),
        ("%2C", ","),
        ("%3B", ";"),
    ];
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i..i + 3).unwrap_or(&rest[i..]);
        match DECODED.iter().find(|(e, _)| e.eq_ignore_ascii_case(esc)) {
            Some((_, c)) => {
                out.push_str(c);
                rest = &rest[i + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn matches(secret: &Secret, method: &str, url: &str, body: &[u8], ts: &[u8], sig: &[u8]) -> bool {
    let uri = signed_uri(url);
    mac::secret_matches_any(
        Algorithm::Sha256,
        secret,
        [method.as_bytes(), uri.as_bytes(), body, ts],
        [sig],
    )
}

/// Verifies a HubSpot v3 request.
pub fn verify(
    req: &RequestLine<'_>,
    headers: &[Header],
    body: &[u8],
    cfg: &VerifyConfig,
    now: i64,
) -> Verdict {
    let Some(sig) = present(headers, SIGNATURE_HEADER) else {
        return missing(NAME, cfg, format!("no {SIGNATURE_HEADER} header"));
    };
    let Some(ts) = present(headers, TIMESTAMP_HEADER) else {
        return missing(NAME, cfg, format!("no {TIMESTAMP_HEADER} header"));
    };
    let Some(ts_ms) = unix_seconds(ts) else {
        return malformed(
            NAME,
            cfg,
            format!(
                "{TIMESTAMP_HEADER} {:?} is not unix milliseconds",
                escape_line(ts)
            ),
        );
    };
    let sig = match decode_mac(NAME, cfg, SIGNATURE_HEADER, sig, 32, "32-byte HMAC-SHA256") {
        Ok(sig) => sig,
        Err(verdict) => return *verdict,
    };
    let url = match signed_url_or_say(NAME, "HubSpot signs the URL it called", cfg, req) {
        Ok(url) => url,
        Err(verdict) => return *verdict,
    };
    let method = if req.method.is_empty() {
        "POST"
    } else {
        req.method
    };
    let mut v = judge(
        NAME,
        cfg,
        Some(ts_ms.div_euclid(1000)),
        now,
        Window::Past,
        |s| Ok(matches(s, method, &url, body, ts, &sig)),
    );
    if v.outcome == Outcome::InvalidSignature
        && let Some(h) = url_form_hint(&url, |u| {
            cfg.secrets
                .iter()
                .any(|s| matches(s, method, u, body, ts, &sig))
        })
    {
        v.hints.push(h);
    }
    body_hint(&mut v, body, |b| {
        cfg.secrets
            .iter()
            .any(|s| matches(s, method, &url, b, ts, &sig))
    });
    v.reason = format!("{} (signed {method} {url})", v.reason);
    v
}

/// Signs a request as HubSpot v3 does.
pub fn sign(secret: &Secret, method: &str, url: &str, body: &[u8], ts_ms: i64) -> Vec<Header> {
    let t = ts_ms.to_string();
    let uri = signed_uri(url);
    let mac = mac::compute(
        Algorithm::Sha256,
        secret.expose(),
        &[method.as_bytes(), uri.as_bytes(), body, t.as_bytes()],
    );
    vec![
        Header::new(SIGNATURE_HEADER, B64.encode(mac)),
        Header::new(TIMESTAMP_HEADER, t),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // HubSpot publishes no fixed v3 vector; this one was computed with python3:
    // base64(hmac.new(SECRET, b"POST" + URL + BODY + b"1700000000000", sha256)).
    const SECRET: &str = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const URL: &str = "https://www.example.com/webhook_uri";
    const BODY: &[u8] = br#"{"example_field":"example_value"}"#;
    const SIG: &str = "rQEKkaNUiu+1qGF//O/pw4BCzstSqO1PyUnGICmf+7o=";
    const TS: &str = "1700000000000";
    const NOW: i64 = 1_700_000_000;

    fn check(method: &str, url: &str, sig: &str, ts: &str, body: &[u8], now: i64) -> Verdict {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(SECRET).unwrap()],
            public_url: Some(url.into()),
            ..Default::default()
        };
        let h = vec![
            Header::new(SIGNATURE_HEADER, sig.to_string()),
            Header::new(TIMESTAMP_HEADER, ts.to_string()),
        ];
        let req = RequestLine {
            method,
            target: "/webhook_uri",
        };
        verify(&req, &h, body, &cfg, now)
    }

    // The contract (signature-schemes.md): absent/empty → missing_header, unparsable →
    // malformed_header, old → stale (HubSpot refuses only old timestamps, 5 minutes).
    #[rstest]
    #[case::valid("POST", URL, SIG, TS, NOW, Outcome::Valid)]
    #[case::origin_plus_path("POST", "https://www.example.com", SIG, TS, NOW, Outcome::Valid)]
    #[case::five_minutes_old("POST", URL, SIG, TS, NOW + 300, Outcome::Valid)]
    #[case::older("POST", URL, SIG, TS, NOW + 301, Outcome::Stale)]
    #[case::future_is_not_refused("POST", URL, SIG, TS, NOW - 3600, Outcome::Valid)]
    #[case::other_method("PUT", URL, SIG, TS, NOW, Outcome::InvalidSignature)]
    #[case::other_timestamp("POST", URL, SIG, "1700000000001", NOW, Outcome::InvalidSignature)]
    #[case::empty_signature("POST", URL, "", TS, NOW, Outcome::MissingHeader)]
    #[case::empty_timestamp("POST", URL, SIG, "", NOW, Outcome::MissingHeader)]
    #[case::timestamp_not_digits("POST", URL, SIG, "17e11", NOW, Outcome::MalformedHeader)]
    #[case::signature_not_base64("POST", URL, "sha256=abc", TS, NOW, Outcome::MalformedHeader)]
    fn verdicts(
        #[case] method: &str,
        #[case] url: &str,
        #[case] sig: &str,
        #[case] ts: &str,
        #[case] now: i64,
        #[case] expected: Outcome,
    ) {
        let v = check(method, url, sig, ts, BODY, now);
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }

    #[test]
    fn listed_escapes_are_decoded_before_signing() {
        assert_eq!(
            signed_uri("https://a.example/p%3Ax?e=a%40b%2Cc&s=%20%25"),
            "https://a.example/p:x?e=a@b,c&s=%20%25"
        );
        let s = Secret::new(SECRET).unwrap();
        let url = "https://www.example.com/webhook_uri?to=a%40b";
        let h = sign(&s, "POST", url, BODY, 1_700_000_000_000);
        let v = check("POST", url, h[0].value_str().unwrap(), TS, BODY, NOW);
        assert_eq!(v.outcome, Outcome::Valid, "{}", v.reason);
    }

    #[test]
    fn sign_reproduces_the_vector_and_url_forms_are_named() {
        let h = sign(
            &Secret::new(SECRET).unwrap(),
            "POST",
            URL,
            BODY,
            1_700_000_000_000,
        );
        assert_eq!(h[0].value_str(), Some(SIG));
        let v = check(
            "POST",
            "http://www.example.com/webhook_uri",
            SIG,
            TS,
            BODY,
            NOW,
        );
        assert_eq!(v.hints[0].code, "url_form");
    }
}
