//! A request checked against a [`Recipe`]: read the headers (and, for a body timestamp, the
//! body), refuse a malformed signature or timestamp, try every secret in turn; the verdict
//! follows the one contract in `contract`.

use super::config::VerifyConfig;
use super::contract::{Evidence, Fault, judge};
use super::recipe::{Encoding, Recipe, signed_parts};
use crate::model::capture::Header;
use crate::model::verdict::Verdict;

impl Recipe {
    /// Verifies a request.
    pub fn verify(&self, headers: &[Header], body: &[u8], cfg: &VerifyConfig, now: i64) -> Verdict {
        judge(
            &self.name,
            &cfg.secrets,
            now,
            self.evidence(headers, body, cfg),
        )
    }

    fn evidence<'c>(
        &self,
        headers: &[Header],
        body: &[u8],
        cfg: &'c VerifyConfig,
    ) -> Result<Evidence<'c>, Fault> {
        let parsed = self.read_headers(headers, body)?;
        if self.strict {
            let mac_len = self.algorithm.output_len();
            let well_formed = |c: &str| match self.encoding {
                Encoding::Hex => c.len() == mac_len * 2 && c.bytes().all(|b| b.is_ascii_hexdigit()),
                Encoding::Base64 => self
                    .decode_small(c)
                    .is_some_and(|d| d.as_ref().len() == mac_len),
            };
            if let Some(bad) = parsed.signatures.iter().find(|c| !well_formed(c)) {
                return Err(Fault::Malformed(format!(
                    "signature is not a {}-byte {} MAC (got {} characters)",
                    mac_len,
                    match self.encoding {
                        Encoding::Hex => "hex",
                        Encoding::Base64 => "base64",
                    },
                    bad.chars().count()
                )));
            }
        }
        let timestamp = match parsed.timestamp.as_deref() {
            Some(t) => Some(self.unix_seconds(t)?),
            None => None,
        };
        let t_text = parsed.timestamp.as_deref().unwrap_or_default();
        let id = parsed.id.unwrap_or_default();
        let signed = signed_parts(&self.template, t_text, id, body);
        let mut notes = parsed.notes;
        let matched = cfg.secrets.iter().enumerate().find(|(i, s)| {
            match self.secret_matches(s, signed.clone(), &parsed.signatures) {
                Ok(matched) => matched,
                Err(e) => {
                    notes.push(format!("secret {i}: {e}"));
                    false
                }
            }
        });
        Ok(Evidence {
            timestamp,
            window: self.window,
            tolerance: cfg.tolerance_for(self.max_age),
            matched,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::secret::Secret;
    use crate::model::verdict::Outcome;
    use rstest::rstest;

    #[rstest]
    fn sign_then_verify_for_every_algorithm_and_encoding(
        #[values("sha1", "sha256", "sha512")] alg: &str,
        #[values("hex", "base64")] enc: &str,
    ) {
        let r = Recipe::parse(&format!("header=X-S;split=bare;prefix=v=;timestamp_header=X-T;template={{t}}|{{body}};algorithm={alg};encoding={enc}")).unwrap();
        let secret = Secret::new("k").unwrap();
        let headers = r.sign(&secret, 1000, "", b"body").unwrap();
        let cfg = VerifyConfig {
            secrets: vec![secret],
            ..Default::default()
        };
        assert_eq!(
            r.verify(&headers, b"body", &cfg, 1000).outcome,
            Outcome::Valid
        );
        assert_eq!(
            r.verify(&headers, b"bodY", &cfg, 1000).outcome,
            Outcome::InvalidSignature
        );
    }
}
