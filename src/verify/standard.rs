//! Standard Webhooks / Svix: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> …`,
//! HMAC-SHA256 over `<id>.<t>.<body>` with the base64-decoded `whsec_` secret.

use super::recipe::Recipe;

/// The recipe.
pub fn recipe() -> Recipe {
    Recipe::parse(
        "name=standard;header=webhook-signature;split=list;signature=v1;timestamp_header=webhook-timestamp;id_header=webhook-id;template={id}.{t}.{body};encoding=base64;key=whsec",
    )
    .expect("built-in recipe")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::capture::Header;
    use crate::model::secret::Secret;
    use crate::verify::{Outcome, VerifyConfig};

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

    #[test]
    fn official_vectors() {
        let (s, id, ts, body) = (
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(
            check(
                s,
                id,
                ts,
                body,
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
            ),
            Outcome::Valid
        );
        assert_eq!(
            check(
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                r#"{"email":"test@example.com","username":"test_user"}"#,
                "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
            ),
            Outcome::Valid
        );
        for bad in [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",
        ] {
            assert_eq!(check(s, id, ts, body, bad), Outcome::InvalidSignature);
        }
        assert_eq!(check(s, id, ts, body, "v1,"), Outcome::InvalidSignature);
        let multi = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        assert_eq!(check(s, id, ts, body, multi), Outcome::Valid);
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
