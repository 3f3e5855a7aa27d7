//! Entry points for the fuzz targets in `fuzz/` and their proptest twins in the normal suite:
//! the signature-header parsers, the recipe parser and the envelope parser on arbitrary bytes.
//! None may panic, and each checks what must always hold.
#![doc(hidden)]

use super::recipe::Recipe;
use super::{SchemeChoice, VerifyConfig, built_in, modelgates, verify};
use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::model::verdict::Outcome;

/// Every scheme's signature header set to `value`: the ModelGates parser, each built-in
/// recipe's header parser, and a whole verification (which must never call it valid).
pub fn signature_headers(value: &[u8], body: &[u8]) {
    if let Ok(parsed) = modelgates::parse_header(value) {
        assert!(parsed.v1.iter().all(|s| s.len() == 64));
    }
    let names = [
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
        "intercom",
    ];
    for name in names {
        let recipe = built_in(name).expect("a built-in scheme");
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

/// A body through the envelope summary and the delivery shape report.
pub fn envelope(body: &[u8]) {
    let _ = crate::envelope::summarize(body);
    let _ = crate::envelope::shape_report("POST", &[], body);
}
