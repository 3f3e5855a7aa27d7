//! WooCommerce: `X-WC-Webhook-Signature: <base64>`, HMAC-SHA256 of the raw body keyed with
//! the webhook's secret; no timestamp.

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=woocommerce;header=X-WC-Webhook-Signature;split=bare;template={body};encoding=base64",
    )
    .expect("built-in recipe")
}

#[cfg(test)]
mod tests {
    use crate::model::verdict::Outcome;
    use crate::verify::cases::check;
    use rstest::rstest;

    const BODY: &[u8] = br#"{"id":42,"status":"processing"}"#;
    // Computed independently: printf '%s' BODY | openssl dgst -sha256 -hmac woo_secret -binary | base64.
    const SIG: &str = "ipY9G7FgVsEdLXbntEjbftslAlfxEyVBB815SaXoZm4=";

    #[rstest]
    #[case::valid(SIG, Outcome::Valid)]
    // signature-schemes.md §1 l.48: an empty header is missing.
    #[case::empty("", Outcome::MissingHeader)]
    // §1 l.51: another digest does not match; neither does the hex form of the right one.
    #[case::invalid(
        "jpY9G7FgVsEdLXbntEjbftslAlfxEyVBB815SaXoZm4=",
        Outcome::InvalidSignature
    )]
    #[case::hex_instead(
        "8a963d1bb16056c11d2d76e7b448db7edb250257f113254107cd7949a5e8666e",
        Outcome::InvalidSignature
    )]
    fn verdicts(#[case] sig: &str, #[case] expected: Outcome) {
        let v = check(
            &super::recipe(),
            &[("X-WC-Webhook-Signature", sig)],
            BODY,
            "woo_secret",
            0,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }
}
