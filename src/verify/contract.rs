//! The verdict contract of `signature-schemes.md`, written once. Every scheme reads a request
//! into [`Evidence`] (or stops at a [`Fault`]) and [`judge`] turns that into the verdict, in the
//! contract's order:
//!
//! 1. `missing_header`: a header the scheme needs (signature, timestamp, id) is absent, or its
//!    value is empty (stripe-go's `ErrNotSigned`; the guide's `if (!signature)`);
//! 2. `malformed_header`: present but unparsable (no `t`, a non-integer timestamp, an item
//!    without `=`, a signature that is not a MAC of the scheme's size where the scheme says so);
//! 3. `stale`: the timestamp is outside the window. Judged before the signature, as the
//!    guide's receiver, stripe-go, the Standard Webhooks libraries and Slack's SDK do; the
//!    reason still says whether the signature matched;
//! 4. `invalid_signature`: no signature matches any configured secret;
//! 5. `valid`.
//!
//! Without a configured secret nothing is rejected: the outcome is `unverified`, and the reason
//! says what was wrong.

use std::fmt::{self, Write as _};

use super::wording::Skew;
use crate::model::capture::Header;
use crate::model::secret::Secret;
use crate::model::text::ByteStr;
use crate::model::verdict::{MatchedSecret, Outcome, Verdict};

/// Why a request stopped before its signature was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A needed header is absent or empty.
    Missing(String),
    /// A needed header is present but cannot be parsed.
    Malformed(String),
}

/// Which timestamps are too far off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// |now − t| ≤ tolerance.
    Both,
    /// Only old timestamps are refused (Stripe's SDKs).
    Past,
    /// No freshness check.
    None,
}

/// What a scheme read from a request that could be checked.
pub struct Evidence<'a> {
    /// The signed timestamp, unix seconds.
    pub timestamp: Option<i64>,
    /// Which timestamps are refused.
    pub window: Window,
    /// Allowed skew, seconds.
    pub tolerance: i64,
    /// The first secret whose MAC matched.
    pub matched: Option<(usize, &'a Secret)>,
    /// Said after the reason (which headers were read, what the signature does not cover).
    pub notes: Vec<String>,
}

/// A header name a scheme looks for: which received names it is, and how faults name it.
pub trait HeaderName: Copy + std::fmt::Display {
    /// Whether a received header is this one (header names compare ASCII case-insensitively).
    fn is(self, received: &str) -> bool;
}

impl HeaderName for &str {
    fn is(self, received: &str) -> bool {
        received.eq_ignore_ascii_case(self)
    }
}

/// How the first header called `name` reads, before any fault is worded (a fault's text is
/// built only when it is returned).
enum Read<'a> {
    Absent,
    Empty,
    NotUtf8,
    Text(&'a str),
}

fn read(headers: &[Header], name: impl HeaderName) -> Read<'_> {
    let Some(h) = headers.iter().find(|h| name.is(&h.name)) else {
        return Read::Absent;
    };
    match std::str::from_utf8(&h.value).map(str::trim) {
        Err(_) => Read::NotUtf8,
        Ok("") => Read::Empty,
        Ok(text) => Read::Text(text),
    }
}

/// The fault for a needed header that is not there (absent or empty).
fn missing(name: impl HeaderName, absent: bool) -> Fault {
    Fault::Missing(if absent {
        format!("no {name} header")
    } else {
        format!("{name} header is empty")
    })
}

/// A header the scheme needs: absent or empty is [`Fault::Missing`], not UTF-8 is
/// [`Fault::Malformed`]. The value comes back trimmed of surrounding spaces.
pub fn required(headers: &[Header], name: impl HeaderName) -> Result<&str, Fault> {
    match read(headers, name) {
        Read::Text(text) => Ok(text),
        Read::NotUtf8 => Err(Fault::Malformed(format!("{name} is not valid UTF-8"))),
        Read::Absent => Err(missing(name, true)),
        Read::Empty => Err(missing(name, false)),
    }
}

/// The first of `names` that is present (non-empty counts as present), as [`required`] reads
/// it; `Missing` names the first when none is.
pub fn first_of<N: HeaderName>(
    headers: &[Header],
    names: impl IntoIterator<Item = N>,
) -> Result<(N, &str), Fault> {
    let mut first = None;
    for name in names {
        match read(headers, name) {
            Read::Text(text) => return Ok((name, text)),
            Read::NotUtf8 => return Err(Fault::Malformed(format!("{name} is not valid UTF-8"))),
            Read::Absent => {
                first.get_or_insert((name, true));
            }
            Read::Empty => {
                first.get_or_insert((name, false));
            }
        }
    }
    Err(first.map_or_else(
        || Fault::Missing("no signature header".into()),
        |(name, absent)| missing(name, absent),
    ))
}

/// The verdict for what a scheme read, by the contract above. The reason is written once,
/// into one string (this runs for every captured request); a scheme named by a literal is
/// not copied.
pub fn judge(
    name: impl Into<ByteStr>,
    secrets: &[Secret],
    now: i64,
    read: Result<Evidence<'_>, Fault>,
) -> Verdict {
    let none_configured = secrets.is_empty();
    let scheme = name.into();
    let verdict = |outcome, reason| Verdict {
        scheme: Some(scheme.clone()),
        outcome,
        reason,
        timestamp: None,
        skew_secs: None,
        matched_secret: None,
        hints: Vec::new(),
    };
    let evidence = match read {
        Ok(e) => e,
        Err(fault) => {
            let (outcome, why) = match fault {
                Fault::Missing(why) => (Outcome::MissingHeader, why),
                Fault::Malformed(why) => (Outcome::MalformedHeader, why),
            };
            let outcome = if none_configured {
                Outcome::Unverified
            } else {
                outcome
            };
            return verdict(outcome, why);
        }
    };
    let skew = evidence.timestamp.map(|t| t.saturating_sub(now));
    if none_configured {
        let mut v = verdict(Outcome::Unverified, "no secret configured".into());
        (v.timestamp, v.skew_secs) = (evidence.timestamp, skew);
        return v;
    }
    let tol = evidence.tolerance.unsigned_abs();
    let fresh = match (evidence.window, skew) {
        (Window::None, _) | (_, None) => true,
        (Window::Both, Some(s)) => s.unsigned_abs() <= tol,
        (Window::Past, Some(s)) => s >= 0 || s.unsigned_abs() <= tol,
    };
    let age = Age(skew);
    let whom = Whom(secrets.len());
    let mut reason = String::with_capacity(96);
    // Writing to a String cannot fail.
    let _ = match (fresh, evidence.matched) {
        (false, Some(_)) => write!(
            reason,
            "signature matches but timestamp is {age}, outside the {tol} s tolerance"
        ),
        (false, None) => write!(
            reason,
            "timestamp is {age}, outside the {tol} s tolerance (and no signature matches {whom} either)"
        ),
        (true, Some((index, _))) => write!(reason, "signature matches secret {index} ({age})"),
        (true, None) => write!(reason, "no signature matches {whom} ({age})"),
    };
    let outcome = match (fresh, evidence.matched) {
        (false, _) => Outcome::Stale,
        (true, Some(_)) => Outcome::Valid,
        (true, None) => Outcome::InvalidSignature,
    };
    for note in evidence.notes {
        reason.push_str("; ");
        reason.push_str(&note);
    }
    let mut v = verdict(outcome, reason);
    (v.timestamp, v.skew_secs) = (evidence.timestamp, skew);
    v.matched_secret = evidence.matched.map(|(index, secret)| MatchedSecret {
        index,
        fingerprint: secret.fingerprint(),
    });
    v
}

/// The timestamp's age in a reason: its skew in words, or `no timestamp`.
struct Age(Option<i64>);

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => Skew(s).fmt(f),
            None => f.write_str("no timestamp"),
        }
    }
}

/// Which secrets "no signature matches": the one, or any of the several.
struct Whom(usize);

impl fmt::Display for Whom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("the configured secret"),
            n => write!(f, "any of the {n} configured secrets"),
        }
    }
}
