//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:<X-Slack-Request-Timestamp>:<body>`, compared
//! as a string (`hmac.compare_digest` of `"v0=" + hexdigest`), ±300 s.

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=slack;header=X-Slack-Signature;split=bare;prefix=v0=;timestamp_header=X-Slack-Request-Timestamp;template=v0:{t}:{body};lowercase_only=true",
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
    fn documented_vector() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let cfg = VerifyConfig {
            secrets: vec![Secret::new("8f742231b10e8888abcd99yyyzzz85a5").unwrap()],
            ..Default::default()
        };
        let h = vec![
            Header::new("X-Slack-Request-Timestamp", "1531420618"),
            Header::new(
                "X-Slack-Signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            ),
        ];
        assert_eq!(
            recipe()
                .verify(&h, body.as_bytes(), &cfg, 1531420618)
                .outcome,
            Outcome::Valid
        );
        assert_eq!(
            recipe()
                .verify(&h, body.as_bytes(), &cfg, 1531420618 + 301)
                .outcome,
            Outcome::Stale
        );
    }
}
