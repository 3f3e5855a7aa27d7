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
}
