//! Standard Webhooks / Svix: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> …`,
//! HMAC-SHA256 over `<id>.<t>.<body>` with the base64-decoded `whsec_` secret. Svix's branded
//! `svix-id`, `svix-timestamp`, `svix-signature` (Clerk, Resend, …) are read first, header by
//! header, as Svix's library does. Entries of other versions are skipped; when no `v1` is
//! left, no signature matches (not a malformed header).

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=standard;header=webhook-signature;split=list;signature=v1;timestamp_header=webhook-timestamp;id_header=webhook-id;brand=svix;template={id}.{t}.{body};encoding=base64;key=whsec;no_signature=invalid",
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
    use rstest::rstest;

    fn check(secret: &str, id: &str, ts: i64, body: &str, sig: &str) -> Outcome {
        let headers = vec![
            Header::new("webhook-id", id.to_string()),
            Header::new("webhook-timestamp", ts.to_string()),
            Header::new("webhook-signature", sig.to_string()),
        ];
        let cfg = VerifyConfig {
            secrets: vec![Secret::new(secret).unwrap()],
            ..Default::default()
        };
        recipe().verify(&headers, body.as_bytes(), &cfg, ts).outcome
    }

    #[rstest]
    #[case::first(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        r#"{"test": 2432232314}"#,
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )]
    #[case::second(
        "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
        1649367553,
        r#"{"email":"test@example.com","username":"test_user"}"#,
        "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
    )]
    fn official_vectors(
        #[case] secret: &str,
        #[case] id: &str,
        #[case] ts: i64,
        #[case] body: &str,
        #[case] sig: &str,
    ) {
        assert_eq!(check(secret, id, ts, body, sig), Outcome::Valid);
    }

    #[rstest]
    #[case::another_signature(
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        Outcome::InvalidSignature
    )]
    #[case::last_char_changed(
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
        Outcome::InvalidSignature
    )]
    #[case::empty_signature("v1,", Outcome::InvalidSignature)]
    #[case::one_of_several(
        "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        Outcome::Valid
    )]
    fn signature_list_against_the_first_vector(#[case] sig: &str, #[case] expected: Outcome) {
        let outcome = check(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
            sig,
        );
        assert_eq!(outcome, expected);
    }

    #[test]
    fn signing_reproduces_the_vector() {
        let s = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let headers = recipe()
            .sign(
                &s,
                1614265330,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                br#"{"test": 2432232314}"#,
            )
            .unwrap();
        assert_eq!(
            headers[0].value.as_ref(),
            b"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    use crate::verify::cases::check as verdict;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const T: i64 = 1614265330;

    #[rstest]
    // signature-schemes.md §2 l.90: the first official vector.
    #[case::valid(Some(ID), Some("1614265330"), Some(SIG), T, Outcome::Valid)]
    // §2 l.77: missing id, timestamp or signature; §1 l.48: empty counts as missing.
    #[case::no_id(None, Some("1614265330"), Some(SIG), T, Outcome::MissingHeader)]
    #[case::no_timestamp(Some(ID), None, Some(SIG), T, Outcome::MissingHeader)]
    #[case::no_signature(Some(ID), Some("1614265330"), None, T, Outcome::MissingHeader)]
    #[case::empty_signature(Some(ID), Some("1614265330"), Some(""), T, Outcome::MissingHeader)]
    // §2 l.78: a non-integer timestamp.
    #[case::bad_timestamp(Some(ID), Some("1614265330.0"), Some(SIG), T, Outcome::MalformedHeader)]
    // §2 l.80 (svix: an entry without a comma is an invalid header).
    #[case::entry_without_comma(
        Some(ID),
        Some("1614265330"),
        Some("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        T,
        Outcome::MalformedHeader
    )]
    // §2 l.79: too old (> 300) or too new (> now + 300); exactly 300 is valid.
    #[case::exactly_300(Some(ID), Some("1614265330"), Some(SIG), T + 300, Outcome::Valid)]
    #[case::stale(Some(ID), Some("1614265330"), Some(SIG), T + 301, Outcome::Stale)]
    #[case::future(Some(ID), Some("1614265330"), Some(SIG), T - 301, Outcome::Stale)]
    // §2 l.80: entries of other versions are skipped; none left matches nothing.
    #[case::only_v2(
        Some(ID),
        Some("1614265330"),
        Some("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        T,
        Outcome::InvalidSignature
    )]
    // §2 l.94: the library tests' invalid value.
    #[case::invalid(
        Some(ID),
        Some("1614265330"),
        Some("v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="),
        T,
        Outcome::InvalidSignature
    )]
    fn contract(
        #[case] id: Option<&str>,
        #[case] ts: Option<&str>,
        #[case] sig: Option<&str>,
        #[case] now: i64,
        #[case] expected: Outcome,
    ) {
        let headers: Vec<(&str, &str)> = [
            ("webhook-id", id),
            ("webhook-timestamp", ts),
            ("webhook-signature", sig),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect();
        let v = verdict(&super::recipe(), &headers, BODY, SECRET, now);
        assert_eq!(v.outcome, expected, "{}", v.reason);
    }

    #[rstest]
    // §2 l.67: the branded svix-* names, alone, give the same verdicts.
    #[case::branded(&[("svix-id", ID), ("svix-timestamp", "1614265330"), ("svix-signature", SIG)], Outcome::Valid)]
    #[case::branded_missing_id(&[("svix-timestamp", "1614265330"), ("svix-signature", SIG)], Outcome::MissingHeader)]
    // l.67: the branded name is checked first: a good svix-signature wins over a bad webhook-signature…
    #[case::branded_first(&[("svix-id", ID), ("svix-timestamp", "1614265330"), ("svix-signature", SIG), ("webhook-signature", "v1,AAAA")], Outcome::Valid)]
    // …and a bad svix-signature is not rescued by a good webhook-signature.
    #[case::branded_bad(&[("webhook-id", ID), ("webhook-timestamp", "1614265330"), ("svix-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="), ("webhook-signature", SIG)], Outcome::InvalidSignature)]
    fn svix_branded(#[case] headers: &[(&str, &str)], #[case] expected: Outcome) {
        let v = verdict(&super::recipe(), headers, BODY, SECRET, T);
        assert_eq!(
            (v.scheme.as_deref(), v.outcome),
            (Some("standard"), expected),
            "{}",
            v.reason
        );
        if expected == Outcome::Valid {
            assert!(v.reason.contains("read svix-signature"), "{}", v.reason);
        }
    }

    #[test]
    fn re_signing_a_branded_capture_keeps_its_names_and_id() {
        let s = Secret::new(SECRET).unwrap();
        let captured = vec![
            Header::new("svix-id", ID),
            Header::new("svix-timestamp", "1"),
            Header::new("svix-signature", "v1,old"),
        ];
        let fresh = recipe().sign_like(&s, T, BODY, &captured).unwrap();
        let names: Vec<&str> = fresh.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["svix-signature", "svix-timestamp", "svix-id"]);
        assert_eq!(fresh[0].value.as_ref(), SIG.as_bytes());
    }

    #[test]
    fn a_signer_writes_the_unbranded_names() {
        let s = Secret::new(SECRET).unwrap();
        let headers = recipe().sign(&s, T, ID, BODY).unwrap();
        let names: Vec<&str> = headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["webhook-signature", "webhook-timestamp", "webhook-id"]
        );
    }
}
