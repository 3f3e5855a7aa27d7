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

    use crate::verify::cases::check;
    use rstest::rstest;

    const SIG: &str = "d34131c5cfbb5fc93150de1c55c498a30288f795a8ca95c79ca95571fc37e14e";
    const T: i64 = 1604612047;

    #[rstest]
    // signature-schemes.md §3 l.125: the cross-checked vector.
    #[case::valid(format!("t={T},v1={SIG}"), T, Outcome::Valid)]
    // §3 l.112: an empty header is ErrNotSigned: missing.
    #[case::empty(String::new(), T, Outcome::MissingHeader)]
    // §3 l.111: an item that does not split into two parts, or t= empty: ErrInvalidHeader.
    #[case::item_without_eq(format!("v1,t={T}"), T, Outcome::MalformedHeader)]
    #[case::empty_t(format!("t=,v1={SIG}"), T, Outcome::MalformedHeader)]
    // §3 l.113: no v1 left is ErrNoValidSignature: no signature matches.
    #[case::no_v1(format!("t={T},v0={SIG}"), T, Outcome::InvalidSignature)]
    #[case::bad_hex_v1(format!("t={T},v1=zz"), T, Outcome::InvalidSignature)]
    // §3 l.118-119: only old timestamps are refused (> 300 s).
    #[case::stale(format!("t={T},v1={SIG}"), T + 301, Outcome::Stale)]
    #[case::future(format!("t={T},v1={SIG}"), T - 3600, Outcome::Valid)]
    // §3 l.116: stripe-go hex-decodes, so case does not matter.
    #[case::uppercase(format!("t={T},v1={}", SIG.to_uppercase()), T, Outcome::Valid)]
    // §1 l.51: no v1 equals the digest.
    #[case::invalid(format!("t={},v1={SIG}", T + 1), T, Outcome::InvalidSignature)]
    fn verdicts(#[case] header: String, #[case] now: i64, #[case] expected: Outcome) {
        let v = check(
            &super::recipe(),
            &[("Stripe-Signature", &header)],
            br#"{"id":"evt_test_webhook","type":"invoice.paid"}"#,
            "whsec_test_secret",
            now,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }
}
