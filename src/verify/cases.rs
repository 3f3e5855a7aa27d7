//! Test support for the per-scheme verdict tables: a request checked against a recipe with one
//! secret, at a given time. (Auto-detection and hints are tested through `verify` in `mod.rs`.)

use super::config::VerifyConfig;
use super::recipe::Recipe;
use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::model::verdict::Verdict;

/// The verdict of `recipe` for `headers` and `body` with `secret`, at unix seconds `now`.
pub fn check(
    recipe: &Recipe,
    headers: &[(&str, &str)],
    body: &[u8],
    secret: &str,
    now: i64,
) -> Verdict {
    let cfg = VerifyConfig {
        secrets: vec![Secret::new(secret).expect("a test secret")],
        ..Default::default()
    };
    let headers: Vec<Header> = headers
        .iter()
        .map(|(n, v)| Header::new(n.to_string(), v.to_string()))
        .collect();
    recipe.verify(&headers, body, &cfg, now)
}
