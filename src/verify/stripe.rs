//! Stripe: `Stripe-Signature: t=<s>,v1=<hex>[,v1=…][,v0=…]`, HMAC-SHA256 over `<t>.<body>`
//! keyed with the whole `whsec_…` string; only old timestamps are refused (as the SDKs do). A
//! header with `t` but no `v1` is stripe-go's `ErrNoValidSignature`: no signature matches.

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=stripe;header=Stripe-Signature;split=pairs;signature=v1;timestamp=t;template={t}.{body};tolerance=past;no_signature=invalid",
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
    fn cross_checked_vector_and_rotation() {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new("whsec_test_secret").unwrap()],
            ..Default::default()
        };
        let body = br#"{"id":"evt_test_webhook","type":"invoice.paid"}"#;
        let sig = "d34131c5cfbb5fc93150de1c55c498a30288f795a8ca95c79ca95571fc37e14e";
        let headers = |v: String| vec![Header::new("Stripe-Signature", v)];
        // The whole whsec_ string is the key (not base64-decoded, unlike Standard Webhooks).
        let r = recipe();
        assert_eq!(
            r.verify(
                &headers(format!("t=1604612047,v1={sig}")),
                body,
                &cfg,
                1604612047
            )
            .outcome,
            Outcome::Valid
        );
        // Rotation: any v1 may match; v0 is ignored.
        let good = r.sign(&cfg.secrets[0], 1604612047, "", body).unwrap()[0]
            .value_str()
            .unwrap()
            .to_string();
        let good_sig = good.split("v1=").nth(1).unwrap();
        let rolled = format!("t=1604612047,v1={},v1={good_sig},v0=abc", "0".repeat(64));
        assert_eq!(
            r.verify(&headers(rolled), body, &cfg, 1604612047).outcome,
            Outcome::Valid
        );
        // One-sided tolerance: 10 minutes in the future passes, 10 minutes old does not.
        assert_eq!(
            r.verify(&headers(good.clone()), body, &cfg, 1604612047 - 600)
                .outcome,
            Outcome::Valid
        );
        assert_eq!(
            r.verify(&headers(good), body, &cfg, 1604612047 + 600)
                .outcome,
            Outcome::Stale
        );
    }
}
