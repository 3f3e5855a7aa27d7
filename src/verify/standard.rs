//! Standard Webhooks / Svix: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> …`,
//! HMAC-SHA256 over `<id>.<t>.<body>` with the base64-decoded `whsec_` secret. Svix's branded
//! `svix-id`, `svix-timestamp`, `svix-signature` (Clerk, Resend, …) are read first, header by
//! header, as Svix's library does. Entries of other versions are skipped; when no `v1` is
//! left, no signature matches (not a malformed header).

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=standard;header=svix-signature | webhook-signature;split=list;signature=v1;timestamp_header=svix-timestamp | webhook-timestamp;id_header=svix-id | webhook-id;template={id}.{t}.{body};encoding=base64;key=whsec;no_signature=invalid",
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
}
