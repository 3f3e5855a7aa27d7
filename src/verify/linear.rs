//! Linear: `Linear-Signature: <hex>`, HMAC-SHA256 of the raw body, compared as a lowercase
//! string; freshness from the JSON body field `webhookTimestamp` (milliseconds), ±60 s as the
//! SDK checks it. A body without the field is not checked for freshness (nor is it by the SDK).

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=linear;header=Linear-Signature;split=bare;template={body};timestamp_field=webhookTimestamp;timestamp_unit=milliseconds;max_age=60;lowercase_only=true",
    )
    .expect("built-in recipe")
}

#[cfg(test)]
mod tests {
    use crate::model::verdict::Outcome;
    use crate::verify::cases::check;
    use rstest::rstest;

    const SECRET: &str = "lin_wh_secret";
    const BODY: &str = r#"{"action":"create","type":"Issue","data":{"id":"abc"},"webhookTimestamp":1700000000123}"#;
    const NOW: i64 = 1_700_000_000;
    // Linear publishes no vector; computed independently with Python:
    // hmac.new(SECRET, BODY, sha256).hexdigest().
    const SIG: &str = "bfcf991a016ed9666f10a91991cd0e08a88145c13c620529c347c5658364c6c6";

    #[rstest]
    // signature-schemes.md §7 l.182: hex HMAC-SHA256 of the raw body.
    #[case::valid(SIG, BODY, NOW, Outcome::Valid)]
    // §1 l.48: an empty header is missing.
    #[case::empty("", BODY, NOW, Outcome::MissingHeader)]
    // §1 l.49 (present but unparsable): a timestamp field that is not milliseconds.
    #[case::malformed_timestamp(
        SIG,
        r#"{"webhookTimestamp":"soon"}"#,
        NOW,
        Outcome::MalformedHeader
    )]
    // l.183: |now_ms − ts| > 60000 fails; 60 s is fine, 61 s is not, either way.
    #[case::sixty_s_old(SIG, BODY, NOW + 60, Outcome::Valid)]
    #[case::stale(SIG, BODY, NOW + 61, Outcome::Stale)]
    #[case::future(SIG, BODY, NOW - 61, Outcome::Stale)]
    // §1 l.51 / l.182: another digest, or the digest in uppercase (compared case-sensitively).
    #[case::invalid(SIG, r#"{"action":"remove"}"#, NOW, Outcome::InvalidSignature)]
    #[case::uppercase(
        "BFCF991A016ED9666F10A91991CD0E08A88145C13C620529C347C5658364C6C6",
        BODY,
        NOW,
        Outcome::InvalidSignature
    )]
    fn verdicts(
        #[case] sig: &str,
        #[case] body: &str,
        #[case] now: i64,
        #[case] expected: Outcome,
    ) {
        let v = check(
            &super::recipe(),
            &[("Linear-Signature", sig)],
            body.as_bytes(),
            SECRET,
            now,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }

    #[test]
    fn absent_header_is_missing_and_milliseconds_are_read_as_such() {
        // §1 l.48.
        assert_eq!(
            check(&super::recipe(), &[], BODY.as_bytes(), SECRET, NOW).outcome,
            Outcome::MissingHeader
        );
        let v = check(
            &super::recipe(),
            &[("Linear-Signature", SIG)],
            BODY.as_bytes(),
            SECRET,
            NOW,
        );
        assert_eq!((v.timestamp, v.skew_secs), (Some(NOW), Some(0)));
    }
}
