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

    use crate::verify::cases::check;
    use rstest::rstest;

    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const T: i64 = 1531420618;

    #[rstest]
    // signature-schemes.md §5 l.151-155: the documented vector.
    #[case::valid(Some(SIG), Some("1531420618"), T, Outcome::Valid)]
    // §1 l.48: absent or empty signature, absent or empty timestamp header: missing.
    #[case::no_signature(None, Some("1531420618"), T, Outcome::MissingHeader)]
    #[case::empty_signature(Some(""), Some("1531420618"), T, Outcome::MissingHeader)]
    #[case::no_timestamp(Some(SIG), None, T, Outcome::MissingHeader)]
    #[case::empty_timestamp(Some(SIG), Some(""), T, Outcome::MissingHeader)]
    // §1 l.49: a non-integer timestamp is malformed.
    #[case::bad_timestamp(Some(SIG), Some("1531420618.5"), T, Outcome::MalformedHeader)]
    // §5 l.146: abs(now − ts) > 300 fails, both ways; 300 exactly is valid.
    #[case::exactly_300(Some(SIG), Some("1531420618"), T + 300, Outcome::Valid)]
    #[case::stale(Some(SIG), Some("1531420618"), T + 301, Outcome::Stale)]
    #[case::future(Some(SIG), Some("1531420618"), T - 301, Outcome::Stale)]
    // §5 l.145: "v0=" + hexdigest compared as a string: uppercase does not match.
    #[case::uppercase(
        Some("v0=A2114D57B48EAC39B9AD189DD8316235A7B4A8D21A10BD27519666489C69B503"),
        Some("1531420618"),
        T,
        Outcome::InvalidSignature
    )]
    // §1 l.51: the timestamp is signed; another one does not match.
    #[case::invalid(Some(SIG), Some("1531420619"), T, Outcome::InvalidSignature)]
    fn verdicts(
        #[case] sig: Option<&str>,
        #[case] ts: Option<&str>,
        #[case] now: i64,
        #[case] expected: Outcome,
    ) {
        let mut headers = Vec::new();
        if let Some(s) = sig {
            headers.push(("X-Slack-Signature", s));
        }
        if let Some(t) = ts {
            headers.push(("X-Slack-Request-Timestamp", t));
        }
        let v = check(
            &super::recipe(),
            &headers,
            BODY.as_bytes(),
            "8f742231b10e8888abcd99yyyzzz85a5",
            now,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }
}
