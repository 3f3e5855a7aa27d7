//! Test support for the per-scheme verdict tables: a request checked as `verify` checks it,
//! with the scheme forced by name, one secret, at a given time.

use super::config::{SchemeChoice, VerifyConfig};
use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::model::verdict::Verdict;

/// The verdict for `headers` and `body` under `scheme` with `secret`, at unix seconds `now`.
pub fn check(
    scheme: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    secret: &str,
    now: i64,
) -> Verdict {
    let cfg = VerifyConfig {
        secrets: vec![Secret::new(secret).expect("a test secret")],
        scheme: <SchemeChoice as clap::ValueEnum>::from_str(scheme, true).expect("a scheme name"),
        ..Default::default()
    };
    let headers: Vec<Header> = headers
        .iter()
        .map(|(n, v)| Header::new(n.to_string(), v.to_string()))
        .collect();
    super::verify(&headers, body, &cfg, now)
}
