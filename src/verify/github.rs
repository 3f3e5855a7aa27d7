//! GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body; no timestamp. GitHub's
//! reference compares the string `sha256=` + lowercase hex, so uppercase hex does not match.

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=github;header=X-Hub-Signature-256;split=bare;prefix=sha256=;template={body};lowercase_only=true",
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
    fn documented_example() {
        let cfg = VerifyConfig {
            secrets: vec![Secret::new("It's a Secret to Everybody").unwrap()],
            ..Default::default()
        };
        let h = vec![Header::new(
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )];
        let v = recipe().verify(&h, b"Hello, World!", &cfg, 0);
        assert_eq!(v.outcome, Outcome::Valid, "{}", v.reason);
        assert_eq!(v.skew_secs, None);
        assert_eq!(
            recipe().verify(&h, b"Hello, World?", &cfg, 0).outcome,
            Outcome::InvalidSignature
        );
    }

    use crate::verify::cases::check;
    use rstest::rstest;

    const SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[rstest]
    // signature-schemes.md §4 l.137: the documented vector.
    #[case::valid(Some(SIG), "Hello, World!", Outcome::Valid)]
    // §1 l.48 (the contract): absent or empty is missing.
    #[case::absent(None, "Hello, World!", Outcome::MissingHeader)]
    #[case::empty(Some(""), "Hello, World!", Outcome::MissingHeader)]
    // §1 l.49: present but unparsable (no sha256= prefix).
    #[case::no_prefix(
        Some("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
        "Hello, World!",
        Outcome::MalformedHeader
    )]
    // §1 l.51: the digest of other bytes.
    #[case::invalid(Some(SIG), "Hello, World?", Outcome::InvalidSignature)]
    // §4 l.131, l.138: GitHub compares "sha256=" + lowercase hex as a string.
    #[case::uppercase(
        Some("sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"),
        "Hello, World!",
        Outcome::InvalidSignature
    )]
    // §4 l.135: no timestamp, so nothing is ever stale.
    fn verdicts(#[case] sig: Option<&str>, #[case] body: &str, #[case] expected: Outcome) {
        let headers: Vec<(&str, &str)> = sig
            .map(|s| ("X-Hub-Signature-256", s))
            .into_iter()
            .collect();
        let v = check(
            &super::recipe(),
            &headers,
            body.as_bytes(),
            "It's a Secret to Everybody",
            0,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }
}
