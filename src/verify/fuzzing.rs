//! Entry points for the fuzz targets in `fuzz/` and their proptest twins in the normal suite:
//! the signature-header parsers (the code schemes' too), the recipe parser and the envelope
//! parser on arbitrary bytes.
//! None may panic, and each checks what must always hold.
#![doc(hidden)]

use super::recipe::Recipe;
use super::{
    RequestLine, SchemeChoice, VerifyConfig, built_in_recipes, modelgates, verify, verify_request,
};
use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::model::verdict::Outcome;

/// Every scheme's signature header set to `value`: the ModelGates parser, each built-in
/// recipe's header parser, and a whole verification (which must never call it valid).
pub fn signature_headers(value: &[u8], body: &[u8]) {
    if let Ok(parsed) = modelgates::parse_header(value) {
        assert!(parsed.v1.iter().all(|s| s.len() == 64));
    }
    for recipe in built_in_recipes() {
        let mut headers = vec![Header::new(&recipe.header, value.to_vec())];
        if let Some(t) = &recipe.timestamp_header {
            headers.push(Header::new(t, value.to_vec()));
        }
        if let Some(id) = &recipe.id_header {
            headers.push(Header::new(id, value.to_vec()));
        }
        let _ = recipe.parse_headers(&headers, body);
    }
    // Mailgun reads its signature from the body.
    let _ = super::mailgun::detect(body);
    let headers = [
        Header::new(modelgates::SIGNATURE_HEADER, value.to_vec()),
        Header::new("webhook-signature", value.to_vec()),
        Header::new("Stripe-Signature", value.to_vec()),
    ];
    let cfg = VerifyConfig {
        secrets: vec![Secret::new("fuzz_secret").expect("a usable secret")],
        scheme: SchemeChoice::Auto,
        ..VerifyConfig::default()
    };
    let verdict = verify(&headers, body, &cfg, 1_700_000_000);
    // Random bytes do not carry a valid HMAC of the body under this secret.
    assert_ne!(verdict.outcome, Outcome::Valid, "{value:?}");
    code_schemes(value, body);
}

/// The schemes written as code, each forced, with `value` in every header they read and a key
/// of each form configured: none panics, and none calls random bytes a valid signature (the
/// tokens are only run: a token equal to the secret is valid by design).
fn code_schemes(value: &[u8], body: &[u8]) {
    let names = [
        "X-Signature-Ed25519",
        "X-Signature-Timestamp",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "svix-signature",
        "X-Twilio-Email-Event-Webhook-Signature",
        "X-Twilio-Email-Event-Webhook-Timestamp",
        "X-Twilio-Signature",
        "x-square-hmacsha256-signature",
        "X-HubSpot-Signature-v3",
        "X-HubSpot-Request-Timestamp",
        "X-Gitlab-Token",
        "Authorization",
        "Content-Type",
    ];
    let headers: Vec<Header> = names
        .iter()
        .map(|n| Header::new(*n, value.to_vec()))
        .collect();
    let keys = [
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
        "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=",
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
        "fuzz_secret",
    ];
    let target = String::from_utf8_lossy(value);
    let req = RequestLine {
        method: "POST",
        target: &target,
    };
    let choices = [
        (SchemeChoice::Standard, true),
        (SchemeChoice::Discord, true),
        (SchemeChoice::Sendgrid, true),
        (SchemeChoice::Twilio, true),
        (SchemeChoice::Square, true),
        (SchemeChoice::Hubspot, true),
        (SchemeChoice::Gitlab, false),
        (SchemeChoice::Basic, false),
        (SchemeChoice::Bearer, false),
    ];
    for (scheme, signed) in choices {
        let cfg = VerifyConfig {
            secrets: keys
                .iter()
                .map(|k| Secret::new(*k).expect("a key"))
                .collect(),
            scheme,
            public_url: Some("https://fuzz.example".into()),
            ..VerifyConfig::default()
        };
        let verdict = verify_request(&req, &headers, body, &cfg, 1_700_000_000);
        if signed {
            assert_ne!(verdict.outcome, Outcome::Valid, "{scheme:?} {value:?}");
        }
    }
}

/// A `--recipe` text: parsing never panics, and a recipe that parses reads headers without
/// panicking.
pub fn recipe(text: &[u8]) {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if let Ok(recipe) = Recipe::parse(text) {
        let headers = [Header::new(&recipe.header, text.as_bytes().to_vec())];
        let _ = recipe.parse_headers(&headers, &[]);
    }
}
