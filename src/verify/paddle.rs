//! Paddle Billing: `Paddle-Signature: ts=<s>;h1=<hex>` (semicolons), HMAC-SHA256 over
//! `<ts>:<body>` keyed with the endpoint secret; the Node SDK refuses a `ts` more than 5 s old
//! (`MAX_VALID_TIME_DIFFERENCE`, old only). Every `h1` is tried: several are sent while a
//! secret rotates (the SDK itself keeps only the last).

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=paddle;header=Paddle-Signature;split=pairs;separator=semicolon;signature=h1;timestamp=ts;template={t}:{body};tolerance=past;max_age=5;lowercase_only=true",
    )
    .expect("built-in recipe")
}

#[cfg(test)]
mod tests {
    use crate::model::verdict::Outcome;
    use crate::verify::cases::check;
    use rstest::rstest;

    const SECRET: &str = "pdl_ntfset_01h8_secret";
    const BODY: &[u8] =
        br#"{"event_id":"evt_01h8","event_type":"transaction.completed","data":{"id":"txn_01h8"}}"#;
    const T: i64 = 1671552777;
    // Paddle publishes no secret with its example header; this value was computed independently
    // with Python: hmac.new(SECRET, b"1671552777:" + BODY, sha256).hexdigest().
    const H1: &str = "b23a60911da63218cf3ede499fd9c6c5f670b5914fb8aa986343fd69c79f9d48";

    #[rstest]
    // signature-schemes.md §7 l.177-178: ts=…;h1=…, signed "<ts>:<body>".
    #[case::valid(format!("ts={T};h1={H1}"), T, Outcome::Valid)]
    // l.180: several h1 during rotation; any may match.
    #[case::rotation(format!("ts={T};h1={};h1={H1}", "0".repeat(64)), T, Outcome::Valid)]
    // §1 l.48 (the contract): an empty header is missing.
    #[case::empty(String::new(), T, Outcome::MissingHeader)]
    // §1 l.49: an item without `=` / no timestamp is malformed.
    #[case::comma_separated(format!("ts={T},h1={H1}"), T, Outcome::MalformedHeader)]
    #[case::no_ts(format!("h1={H1}"), T, Outcome::MalformedHeader)]
    #[case::no_h1(format!("ts={T}"), T, Outcome::MalformedHeader)]
    // l.179: MAX_VALID_TIME_DIFFERENCE = 5 s; 5 s old passes, 6 s old does not.
    #[case::five_s_old(format!("ts={T};h1={H1}"), T + 5, Outcome::Valid)]
    #[case::stale(format!("ts={T};h1={H1}"), T + 6, Outcome::Stale)]
    // §1 l.51: no h1 equals the digest.
    #[case::invalid(format!("ts={T};h1={}", H1.replace('b', "c")), T, Outcome::InvalidSignature)]
    // l.182 (compared as strings by the SDKs): uppercase hex does not match.
    #[case::uppercase(format!("ts={T};h1={}", H1.to_uppercase()), T, Outcome::InvalidSignature)]
    fn verdicts(#[case] header: String, #[case] now: i64, #[case] expected: Outcome) {
        let v = check(
            &super::recipe(),
            &[("Paddle-Signature", &header)],
            BODY,
            SECRET,
            now,
        );
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }

    #[test]
    fn absent_header_is_missing() {
        // §1 l.48.
        let v = check(&super::recipe(), &[], BODY, SECRET, T);
        assert_eq!(v.outcome, Outcome::MissingHeader);
    }
}
