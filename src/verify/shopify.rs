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
}
