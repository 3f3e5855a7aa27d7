//! The one filter syntax, shared by the TUI (`/`) and the headless commands (`--filter`).
//!
//! Space-separated terms; a capture must match all of them. A leading `-` negates a term.
//!
//! | term | matches |
//! |---|---|
//! | `valid`, `invalid`, `stale`, `missing`, `malformed`, `unverified` | the verdict (`invalid` = any rejected verdict) |
//! | `verdict:invalid_signature` | the exact verdict name |
//! | `type:completed` | substring of the event type |
//! | `path:/hooks` | substring of the path and query |
//! | `key:job_1` | substring of the idempotency key |
//! | `status:401` | the status hooklens answered |
//! | `id:12`, `#12` | that capture |
//! | `dup` | captures whose idempotency key repeats an earlier one |
//! | anything else | case-insensitive substring of path, type, key or (when available) body |

use crate::model::capture::CaptureId;
use crate::model::record::Summary;
use crate::model::verdict::Outcome;

/// One term of a filter, its text already lowercased. Public so an index that keeps the rows
/// in its own layout (the inspector's columns) can evaluate terms with the same meaning as
/// [`Filter::matches`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// One of these verdicts.
    Outcomes(Vec<Outcome>),
    /// Substring of the event type.
    Type(String),
    /// Substring of the path and query.
    Path(String),
    /// Substring of the idempotency key.
    Key(String),
    /// The status hooklens answered.
    Status(u16),
    /// That capture.
    Id(CaptureId),
    /// The idempotency key repeats an earlier one.
    Dup,
    /// Substring of path, type or key, the id when it is a number, or the body when given.
    Text(String),
}

/// A parsed filter. The empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    terms: Vec<(bool, Term)>,
    source: String,
}

fn outcome_word(word: &str) -> Option<Vec<Outcome>> {
    use Outcome::*;
    Some(match word {
        "valid" => vec![Valid],
        "invalid" => vec![InvalidSignature, Stale, MissingHeader, MalformedHeader],
        "stale" => vec![Stale],
        "missing" | "missing_header" => vec![MissingHeader],
        "malformed" | "malformed_header" => vec![MalformedHeader],
        "unverified" => vec![Unverified],
        "invalid_signature" => vec![InvalidSignature],
        _ => return None,
    })
}

impl Filter {
    /// Parses a filter; unknown `name:` prefixes and bad values are errors.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut terms = Vec::new();
        for raw in text.split_whitespace() {
            let (negated, word) = match raw.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest),
                _ => (false, raw),
            };
            let lower = word.to_ascii_lowercase();
            let term = if let Some(outcomes) = outcome_word(&lower) {
                Term::Outcomes(outcomes)
            } else if lower == "dup" {
                Term::Dup
            } else if let Some(id) = lower.strip_prefix('#') {
                Term::Id(
                    id.parse()
                        .map_err(|_| format!("bad id in filter: {word}"))?,
                )
            } else if let Some((name, value)) = word.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "verdict" => Term::Outcomes(
                        outcome_word(&value.to_ascii_lowercase())
                            .ok_or_else(|| format!("unknown verdict in filter: {value}"))?,
                    ),
                    "type" => Term::Type(value.to_ascii_lowercase()),
                    "path" => Term::Path(value.to_ascii_lowercase()),
                    "key" => Term::Key(value.to_ascii_lowercase()),
                    "status" => Term::Status(
                        value
                            .parse()
                            .map_err(|_| format!("bad status in filter: {value}"))?,
                    ),
                    "id" => Term::Id(value.parse()?),
                    _ => Term::Text(lower),
                }
            } else {
                Term::Text(lower)
            };
            terms.push((negated, term));
        }
        Ok(Filter {
            terms,
            source: text.trim().to_string(),
        })
    }

    /// True when there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The text the filter was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The terms, each with whether it is negated; a capture must match all of them.
    pub fn terms(&self) -> &[(bool, Term)] {
        &self.terms
    }

    /// True when some term needs the body (plain text terms search it when given).
    pub fn wants_body(&self) -> bool {
        self.terms.iter().any(|(_, t)| matches!(t, Term::Text(_)))
    }

    /// True when every capture this filter matches is also matched by `wider` (each of its
    /// terms is implied by one of ours): the inspector then tests only what `wider` showed.
    /// Conservative: false when unsure.
    pub fn narrows(&self, wider: &Filter) -> bool {
        wider.terms.iter().all(|(wn, wt)| {
            self.terms
                .iter()
                .any(|(n, t)| n == wn && if *n { within(wt, t) } else { within(t, wt) })
        })
    }

    /// Whether a capture matches; `body` is searched by text terms when supplied.
    pub fn matches(&self, row: &Summary, body: Option<&[u8]>) -> bool {
        self.terms
            .iter()
            .all(|(negated, term)| term_matches(term, row, body) != *negated)
    }
}

/// ASCII case-insensitive substring test (`needle` is already lowercase); no allocation, so a
/// filter over a million rows stays quick.
fn contains(hay: Option<&str>, needle: &str) -> bool {
    hay.is_some_and(|h| contains_bytes(h.as_bytes(), needle.as_bytes()))
}

fn contains_bytes(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// True when every capture `a` matches, `b` matches too (for both with or without a body).
fn within(a: &Term, b: &Term) -> bool {
    use Term::*;
    let has = |x: &str, y: &str| x.contains(y);
    match (a, b) {
        (Outcomes(x), Outcomes(y)) => x.iter().all(|o| y.contains(o)),
        (Type(x), Type(y)) | (Path(x), Path(y)) | (Key(x), Key(y)) => has(x, y),
        (Type(x) | Path(x) | Key(x), Text(y)) => has(x, y),
        // A number also matches that id, which a longer text need not contain.
        (Text(x), Text(y)) => x == y || (x.parse::<u64>().is_err() && has(x, y)),
        (x, y) => x == y,
    }
}

fn term_matches(term: &Term, row: &Summary, body: Option<&[u8]>) -> bool {
    match term {
        Term::Outcomes(o) => o.contains(&row.outcome),
        Term::Type(t) => contains(row.event_type.as_deref(), t),
        Term::Path(p) => contains(Some(&row.target), p),
        Term::Key(k) => contains(row.idempotency_key.as_deref(), k),
        Term::Status(s) => row.response_status == *s,
        Term::Id(id) => row.id == *id,
        Term::Dup => row.dup_of.is_some(),
        Term::Text(t) => {
            contains(Some(&row.target), t)
                || contains(row.event_type.as_deref(), t)
                || contains(row.idempotency_key.as_deref(), t)
                || t.parse::<u64>().is_ok_and(|n| n == row.id.0)
                || body.is_some_and(|b| {
                    String::from_utf8_lossy(b)
                        .to_ascii_lowercase()
                        .contains(t.as_str())
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::sync::Arc;

    fn row(id: u64, outcome: Outcome, kind: &str, dup: bool) -> Summary {
        Summary {
            id: CaptureId(id),
            received_at_ms: 0,
            method: Arc::from("POST"),
            target: Arc::from("/modelgates/video-webhook"),
            event_type: Some(Arc::from(kind)),
            outcome,
            skew_secs: Some(0),
            idempotency_key: Some("job_a-completed".into()),
            data_id: None,
            dup_of: dup.then_some(CaptureId(1)),
            body_len: 10,
            truncated: false,
            response_status: if outcome.is_rejected() { 401 } else { 204 },
            exchange: None,
        }
    }

    #[rstest]
    #[case::rejected("invalid", false, true)]
    #[case::event_type("type:completed", true, false)]
    #[case::negation_and_status("-dup status:204", true, false)]
    #[case::id("#2", false, true)]
    #[case::empty("", true, true)]
    fn verdict_type_and_negation(
        #[case] text: &str,
        #[case] matches_valid: bool,
        #[case] matches_stale: bool,
    ) {
        let valid = row(1, Outcome::Valid, "video.generation.completed", false);
        let stale = row(2, Outcome::Stale, "video.generation.failed", true);
        let f = Filter::parse(text).unwrap();
        assert_eq!(f.matches(&valid, None), matches_valid, "valid");
        assert_eq!(f.matches(&stale, None), matches_stale, "stale");
    }

    #[test]
    fn text_searches_body_when_given() {
        let r = row(3, Outcome::Valid, "video.generation.completed", false);
        let f = Filter::parse("needle").unwrap();
        assert!(!f.matches(&r, None));
        assert!(f.matches(&r, Some(b"{\"x\":\"NEEDLE\"}")));
    }

    #[rstest]
    #[case::longer_text("job_12", "job_1", true)]
    #[case::backspace("job_1", "job_12", false)]
    #[case::added_term("invalid job", "invalid", true)]
    #[case::removed_term("invalid", "invalid job", false)]
    #[case::stale_within_invalid("stale", "invalid", true)]
    #[case::invalid_not_within_stale("invalid", "stale", false)]
    #[case::longer_negation_widens("-job_1", "-job", false)]
    #[case::shorter_negation_narrows("-job", "-job_1", true)]
    #[case::key_within_text("key:job_1", "job", true)]
    #[case::a_number_is_also_an_id("12", "1", false)]
    #[case::anything_within_empty("dup", "", true)]
    fn narrowing(#[case] narrow: &str, #[case] wide: &str, #[case] expected: bool) {
        let (n, w) = (Filter::parse(narrow).unwrap(), Filter::parse(wide).unwrap());
        assert_eq!(n.narrows(&w), expected);
    }

    #[rstest]
    #[case::unknown_verdict("verdict:nope")]
    #[case::bad_status("status:abc")]
    #[case::bad_id("#x")]
    fn bad_filters_are_errors(#[case] text: &str) {
        assert!(Filter::parse(text).is_err());
    }
}
