//! Intercom: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the raw body keyed with the app's
//! client secret; no timestamp. GitHub also sends `X-Hub-Signature` (its legacy SHA-1 copy)
//! next to `X-Hub-Signature-256`, so auto-detection tries GitHub first.

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=intercom;header=X-Hub-Signature;split=bare;prefix=sha1=;template={body};algorithm=sha1;lowercase_only=true",
    )
    .expect("built-in recipe")
}

#[cfg(test)]
mod tests {
    use crate::model::verdict::Outcome;
    use crate::verify::cases::check;
    use rstest::rstest;

    const BODY: &[u8] = br#"{"type":"notification_event","topic":"ping"}"#;
    // Computed independently with Python: hmac.new(b"intercom_client_secret", BODY, sha1).hexdigest().
    const SIG: &str = "sha1=4a37c1578001e2cd7b91d44b5ae611ebd8578887";

    #[rstest]
    #[case::valid(SIG, Outcome::Valid)]
    // signature-schemes.md §1 l.48: an empty header is missing.
    #[case::empty("", Outcome::MissingHeader)]
    // §1 l.49: no sha1= prefix (or the sha256= of GitHub's header) is malformed.
    #[case::sha256_prefix(
        "sha256=4a37c1578001e2cd7b91d44b5ae611ebd8578887",
        Outcome::MalformedHeader
    )]
    // §1 l.51: another digest; uppercase hex is compared as a string and does not match.
    #[case::invalid(
        "sha1=4a37c1578001e2cd7b91d44b5ae611ebd8578888",
        Outcome::InvalidSignature
    )]
    #[case::uppercase(
        "sha1=4A37C1578001E2CD7B91D44B5AE611EBD8578887",
        Outcome::InvalidSignature
    )]
    fn verdicts(#[case] sig: &str, #[case] expected: Outcome) {
        let v = check(
            &super::recipe(),
            &[("X-Hub-Signature", sig)],
            BODY,
            "intercom_client_secret",
            0,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }
}
