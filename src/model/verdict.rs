//! The verdict on one request: what `verify` concluded, as stored in the log and shown by
//! every front end. Secrets appear only by index and fingerprint.

use serde::{Deserialize, Serialize};

use super::text::ByteStr;

/// What the check concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A signature matched a configured secret and the timestamp is within tolerance.
    Valid,
    /// No secret configured: the request was captured but not checked.
    Unverified,
    /// No signature matched any configured secret.
    InvalidSignature,
    /// The timestamp is outside the tolerance (past or future); judged before the signature,
    /// so the reason and `matched_secret` say whether the signature matched.
    Stale,
    /// The signature header is absent.
    MissingHeader,
    /// The signature header is present but cannot be parsed.
    MalformedHeader,
}

impl Outcome {
    /// Short label for line output: `valid`, `invalid signature`, ...
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Unverified => "unverified",
            Outcome::InvalidSignature => "invalid signature",
            Outcome::Stale => "stale",
            Outcome::MissingHeader => "missing",
            Outcome::MalformedHeader => "malformed",
        }
    }

    /// Stable machine name (the serde name), e.g. `invalid_signature`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Unverified => "unverified",
            Outcome::InvalidSignature => "invalid_signature",
            Outcome::Stale => "stale",
            Outcome::MissingHeader => "missing_header",
            Outcome::MalformedHeader => "malformed_header",
        }
    }

    /// True for outcomes a correct receiver would refuse with 401.
    pub fn is_rejected(self) -> bool {
        !matches!(self, Outcome::Valid | Outcome::Unverified)
    }
}

/// Which configured secret produced the matching signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedSecret {
    /// Position in the `--secret` list, from 0.
    pub index: usize,
    /// First 8 hex of SHA-256 of the secret.
    pub fingerprint: ByteStr,
}

/// A confirmed explanation of a failure (only emitted when a recomputation proves it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hint {
    /// Stable machine name, e.g. `secret_whitespace` (the codes are listed in `verify::diagnose`;
    /// `verify` adds `older_secret`).
    pub code: String,
    /// One line for humans.
    pub message: String,
}

/// Result of verifying one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Scheme that was checked (`modelgates`, ...), if one applied.
    pub scheme: Option<ByteStr>,
    /// The conclusion.
    pub outcome: Outcome,
    /// One line saying why.
    pub reason: String,
    /// Signed timestamp from the request, unix seconds.
    pub timestamp: Option<i64>,
    /// `timestamp - now` in seconds: negative for the past, positive for the future.
    pub skew_secs: Option<i64>,
    /// Which secret matched.
    pub matched_secret: Option<MatchedSecret>,
    /// Confirmed diagnoses of a failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<Hint>,
}

impl Verdict {
    /// A verdict with just an outcome and reason.
    pub fn new(scheme: Option<&str>, outcome: Outcome, reason: impl Into<String>) -> Verdict {
        Verdict {
            scheme: scheme.map(ByteStr::copy_from),
            outcome,
            reason: reason.into(),
            timestamp: None,
            skew_secs: None,
            matched_secret: None,
            hints: Vec::new(),
        }
    }
}
