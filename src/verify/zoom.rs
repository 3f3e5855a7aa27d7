//! Zoom: `x-zm-signature: v0=<hex>` over `v0:<x-zm-request-timestamp>:<body>`, HMAC-SHA256
//! keyed with the webhook secret token, compared as a string. Zoom's sample enforces no
//! freshness window, so none is applied.

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=zoom;header=x-zm-signature;split=bare;prefix=v0=;timestamp_header=x-zm-request-timestamp;template=v0:{t}:{body};tolerance=none;lowercase_only=true",
    )
    .expect("built-in recipe")
}

#[cfg(test)]
mod tests {
    use crate::model::verdict::Outcome;
    use crate::verify::cases::check;
    use rstest::rstest;

    const SECRET: &str = "zoom_secret_token";
    const BODY: &[u8] =
        br#"{"event":"meeting.started","payload":{"object":{"id":"1234"}},"event_ts":1700000000000}"#;
    // Zoom publishes no vector; computed independently with Python:
    // hmac.new(SECRET, b"v0:1700000000:" + BODY, sha256).hexdigest().
    const SIG: &str = "v0=c295ecde1cc1572e6def56f21470258e0dc6246a95b6f38f6cd366cf72071d8a";

    #[rstest]
    // signature-schemes.md §7 l.185: v0= over "v0:" + timestamp + ":" + body.
    #[case::valid(SIG, "1700000000", 1_700_000_000, Outcome::Valid)]
    // Quick comparison table: "not enforced by sample", so a day-old timestamp still passes.
    #[case::no_window(SIG, "1700000000", 1_700_086_400, Outcome::Valid)]
    // §1 l.48: empty signature or timestamp header is missing.
    #[case::empty_signature("", "1700000000", 1_700_000_000, Outcome::MissingHeader)]
    #[case::empty_timestamp(SIG, "", 1_700_000_000, Outcome::MissingHeader)]
    // §1 l.49: a non-integer timestamp, or no v0= prefix, is malformed.
    #[case::bad_timestamp(SIG, "soon", 1_700_000_000, Outcome::MalformedHeader)]
    #[case::no_prefix(
        "c295ecde1cc1572e6def56f21470258e0dc6246a95b6f38f6cd366cf72071d8a",
        "1700000000",
        1_700_000_000,
        Outcome::MalformedHeader
    )]
    // §1 l.51: the timestamp is signed, so another one does not match.
    #[case::invalid(SIG, "1700000001", 1_700_000_000, Outcome::InvalidSignature)]
    fn verdicts(#[case] sig: &str, #[case] ts: &str, #[case] now: i64, #[case] expected: Outcome) {
        let v = check(
            &super::recipe(),
            &[("x-zm-signature", sig), ("x-zm-request-timestamp", ts)],
            BODY,
            SECRET,
            now,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }

    #[test]
    fn absent_timestamp_header_is_missing() {
        // §1 l.48: a needed header that is absent.
        let v = check(
            &super::recipe(),
            &[("x-zm-signature", SIG)],
            BODY,
            SECRET,
            0,
        );
        assert_eq!(v.outcome, Outcome::MissingHeader, "{}", v.reason);
    }
}
