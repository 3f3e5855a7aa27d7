//! Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the raw body; no signed timestamp.

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=shopify;header=X-Shopify-Hmac-Sha256;split=bare;template={body};encoding=base64",
    )
    .expect("built-in recipe")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::capture::Header;
    use crate::model::secret::Secret;
    use crate::model::verdict::Outcome;
    use crate::verify::config::VerifyConfig;

    #[test]
    fn vector() {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new("test-webhook-secret").unwrap()],
            ..Default::default()
        };
        let h = vec![Header::new(
            "X-Shopify-Hmac-Sha256",
            "QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw=",
        )];
        let body = br#"{"id":1234567890,"email":"customer@example.com","total_price":"123.45"}"#;
        assert_eq!(recipe().verify(&h, body, &cfg, 0).outcome, Outcome::Valid);
    }

    use crate::verify::cases::check;
    use rstest::rstest;

    #[rstest]
    // signature-schemes.md §6 l.165: the vector.
    #[case::valid(Some("QNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw="), Outcome::Valid)]
    // §1 l.48: absent or empty is missing.
    #[case::absent(None, Outcome::MissingHeader)]
    #[case::empty(Some(" "), Outcome::MissingHeader)]
    // §1 l.51: another value; the hex form of the right MAC is not base64 of it.
    #[case::invalid(
        Some("RNyObTlKbMx2qDlPF/ZOZcBqg5OgPg+2oky3zldc0Gw="),
        Outcome::InvalidSignature
    )]
    #[case::hex(
        Some("40dc8e6d394a6ccc76a8394f17f64e65c06a8393a03e0fb6a24cb7ce575cd06c"),
        Outcome::InvalidSignature
    )]
    // §6 l.163: no signed timestamp, never stale.
    fn verdicts(#[case] sig: Option<&str>, #[case] expected: Outcome) {
        let body = br#"{"id":1234567890,"email":"customer@example.com","total_price":"123.45"}"#;
        let headers: Vec<(&str, &str)> = sig
            .map(|s| ("X-Shopify-Hmac-Sha256", s))
            .into_iter()
            .collect();
        let v = check(&super::recipe(), &headers, body, "test-webhook-secret", 0);
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }
}
