//! Vercel: `x-vercel-signature: <hex>`, HMAC-SHA1 of the raw body keyed with the integration's
//! secret, compared as a string; no timestamp.

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=vercel;header=x-vercel-signature;split=bare;template={body};algorithm=sha1;lowercase_only=true",
    )
    .expect("built-in recipe")
}

#[cfg(test)]
mod tests {
    use crate::model::verdict::Outcome;
    use crate::verify::cases::check;
    use rstest::rstest;

    const BODY: &[u8] = br#"{"type":"deployment.created","id":"evt_1"}"#;
    // Computed independently: printf '%s' BODY | openssl dgst -sha1 -hmac vercel_secret.
    const SIG: &str = "94a4db2349d01ac9e860f4d2742aa9abf485d558";

    #[rstest]
    #[case::valid(SIG, Outcome::Valid)]
    // signature-schemes.md §1 l.48: an empty header is missing.
    #[case::empty("", Outcome::MissingHeader)]
    // §1 l.51: another digest; uppercase hex does not equal the lowercase string.
    #[case::invalid("94a4db2349d01ac9e860f4d2742aa9abf485d559", Outcome::InvalidSignature)]
    #[case::uppercase("94A4DB2349D01AC9E860F4D2742AA9ABF485D558", Outcome::InvalidSignature)]
    // A SHA-256 sized value is not Vercel's SHA-1: it matches nothing.
    #[case::sha256_sized(
        "94a4db2349d01ac9e860f4d2742aa9abf485d55894a4db2349d01ac9e860f4d2",
        Outcome::InvalidSignature
    )]
    fn verdicts(#[case] sig: &str, #[case] expected: Outcome) {
        let v = check(
            &super::recipe(),
            &[("x-vercel-signature", sig)],
            BODY,
            "vercel_secret",
            0,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }
}
