//! Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>`, HMAC-SHA256 over
//! message id + timestamp + body, the timestamp as sent (RFC 3339 with nanoseconds). Twitch
//! says to refuse a timestamp older than 10 minutes (old only).

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=twitch;header=Twitch-Eventsub-Message-Signature;split=bare;prefix=sha256=;timestamp_header=Twitch-Eventsub-Message-Timestamp;timestamp_unit=rfc3339;id_header=Twitch-Eventsub-Message-Id;template={id}{t}{body};tolerance=past;max_age=600;lowercase_only=true",
    )
    .expect("built-in recipe")
}

#[cfg(test)]
mod tests {
    use crate::model::verdict::Outcome;
    use crate::verify::cases::check;
    use rstest::rstest;

    const SECRET: &str = "twitch_secret_0123";
    const ID: &str = "e76c6bd4-55c9-4987-8304-da1588d8988b";
    const TS: &str = "2023-01-19T22:13:17.962785467Z";
    const AT: i64 = 1_674_166_397; // TS as unix seconds
    const BODY: &[u8] = br#"{"subscription":{"type":"channel.follow"},"event":{"user_id":"1234"}}"#;
    // Twitch publishes no vector; computed independently with Python:
    // hmac.new(SECRET, (ID + TS).encode() + BODY, sha256).hexdigest().
    const SIG: &str = "sha256=5d1e2f1231fa95404a941493296bdb350a1932c12929f685e0ff8ee0dd0bb10d";

    fn run(sig: &str, id: &str, ts: &str, now: i64) -> Outcome {
        let v = check(
            &super::recipe(),
            &[
                ("Twitch-Eventsub-Message-Signature", sig),
                ("Twitch-Eventsub-Message-Id", id),
                ("Twitch-Eventsub-Message-Timestamp", ts),
            ],
            BODY,
            SECRET,
            now,
        );
        v.outcome
    }

    #[rstest]
    // Twitch docs: HMAC over id + timestamp + body, "sha256=" + hex.
    #[case::valid(SIG, ID, TS, AT, Outcome::Valid)]
    // Twitch docs: refuse older than 10 minutes; the future is not refused.
    #[case::ten_minutes_old(SIG, ID, TS, AT + 600, Outcome::Valid)]
    #[case::stale(SIG, ID, TS, AT + 601, Outcome::Stale)]
    #[case::future(SIG, ID, TS, AT - 3600, Outcome::Valid)]
    // signature-schemes.md §1 l.48: an empty signature or id header is missing.
    #[case::empty_signature("", ID, TS, AT, Outcome::MissingHeader)]
    #[case::empty_id(SIG, "", TS, AT, Outcome::MissingHeader)]
    // §1 l.49: a timestamp that is not RFC 3339 (unix seconds here) is malformed.
    #[case::unix_timestamp(SIG, ID, "1674166397", AT, Outcome::MalformedHeader)]
    // §1 l.51: another id is signed differently.
    #[case::invalid(SIG, "another-id", TS, AT, Outcome::InvalidSignature)]
    fn verdicts(
        #[case] sig: &str,
        #[case] id: &str,
        #[case] ts: &str,
        #[case] now: i64,
        #[case] expected: Outcome,
    ) {
        assert_eq!(run(sig, id, ts, now), expected);
    }
}
