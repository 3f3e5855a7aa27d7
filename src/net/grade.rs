//! Grading `hooklens check` answers: what a correct receiver answers for each case of the
//! [`crate::net::suite`], whether this one did, and one line of why when it did not. Pure.

use std::time::Duration;

use crate::net::suite::{Expect, Kind};

/// How one delivery went.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The receiver's status, or why there was none.
    pub status: Result<u16, String>,
    /// Request to end of answer.
    pub latency: Duration,
}

/// A graded case, as the report card shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Graded {
    /// Always `"case"` (the summary line has `"summary"`).
    pub kind: &'static str,
    /// The case name.
    pub name: &'static str,
    /// Whether the receiver answered as a correct receiver does.
    pub passed: bool,
    /// `2xx`, `401`, `under 15 s`.
    pub expected: String,
    /// What came back (for the duplicate: the retry; for the slow case: the slowest).
    pub got: Got,
    /// For a failure, one line of why.
    pub why: Option<String>,
    /// The answer took longer than the provider's timeout: a provider would retry it.
    pub retried: bool,
}

/// What came back for a case.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Got {
    /// The status (none: no answer).
    pub status: Option<u16>,
    /// Milliseconds.
    pub latency_ms: Option<f64>,
}

/// How answers are judged.
pub struct Rules<'a> {
    /// The statuses a rejection may have (`--reject-status`, default 401).
    pub reject: &'a [u16],
    /// The provider's delivery timeout.
    pub provider_timeout: Duration,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

/// Seconds as the report writes them (`15 s`, `0.2 s`).
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// What a correct receiver answers, as text.
pub fn expected_text(expect: Expect, rules: &Rules) -> String {
    match expect {
        Expect::Accept => "2xx".into(),
        Expect::Reject => rules
            .reject
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join("|"),
        Expect::InTime => format!("under {}", secs(rules.provider_timeout)),
    }
}

/// Grades one sending case from its answers (in order). `valid_rejected`: the valid case
/// already failed, which explains most other positive failures.
pub fn grade(kind: Kind, answers: &[Answer], rules: &Rules, valid_rejected: bool) -> Graded {
    let expect = kind.expect();
    let ok = |a: &Answer| match (&a.status, expect) {
        (Ok(s), Expect::Accept) => (200..300).contains(s),
        (Ok(s), _) => rules.reject.contains(s),
        (Err(_), _) => false,
    };
    let last = answers.last();
    let passed = !answers.is_empty() && answers.iter().all(ok);
    let retried = answers.iter().any(|a| a.latency >= rules.provider_timeout);
    let why = if passed {
        None
    } else {
        let bad = answers.iter().find(|a| !ok(a));
        Some(match bad.map(|a| &a.status) {
            None => "nothing was sent".into(),
            Some(Err(e)) => format!("no answer: {e}"),
            Some(Ok(s)) => why(kind, *s, answers, rules, valid_rejected),
        })
    };
    Graded {
        kind: "case",
        name: kind.name(),
        passed,
        expected: expected_text(expect, rules),
        got: Got {
            status: last.and_then(|a| a.status.as_ref().ok().copied()),
            latency_ms: last.map(|a| ms(a.latency)),
        },
        why,
        retried,
    }
}

fn why(kind: Kind, status: u16, answers: &[Answer], rules: &Rules, valid_rejected: bool) -> String {
    let accepted = (200..300).contains(&status);
    let base = match (kind.expect(), accepted) {
        (Expect::Reject, false) => {
            return format!(
                "answered {status}, not {}: {}",
                expected_text(Expect::Reject, rules),
                if status >= 500 {
                    "a provider retries a 5xx, so a bad delivery is sent again and again".into()
                } else {
                    format!("if {status} is on purpose, pass --reject-status {status}")
                }
            );
        }
        (Expect::Accept, _) if (300..400).contains(&status) => {
            return format!(
                "answered {status}, a redirect: providers do not follow redirects (give the final URL)"
            );
        }
        (Expect::Accept, _) if status == 404 || status == 405 => {
            return format!(
                "answered {status}: the URL is probably not the receiver's endpoint (give its full path)"
            );
        }
        (Expect::Accept, _) if status == 413 && kind == Kind::LargeBody => kind.failure().into(),
        (Expect::Accept, _) if status >= 500 => {
            format!(
                "{} (it answered {status}: it failed on this delivery)",
                kind.failure()
            )
        }
        _ => kind.failure().into(),
    };
    if kind == Kind::Duplicate && answers.first().is_some_and(|a| a.status != Ok(status)) {
        return format!(
            "{base} (the first delivery got {})",
            status_text(&answers[0])
        );
    }
    if valid_rejected && kind != Kind::Valid && kind.expect() == Expect::Accept {
        return format!("{base} (the valid delivery was rejected too: fix that first)");
    }
    base
}

fn status_text(a: &Answer) -> String {
    match &a.status {
        Ok(s) => s.to_string(),
        Err(e) => e.clone(),
    }
}

/// Grades the slow case from every answer of the run (`(case, answer)` in order).
pub fn grade_slow(all: &[(Kind, Answer)], rules: &Rules) -> Graded {
    let slowest = all.iter().map(|(_, a)| a.latency).max();
    let late: Vec<String> = all
        .iter()
        .filter(|(_, a)| a.latency >= rules.provider_timeout)
        .map(|(k, a)| format!("{} ({})", k.name(), secs(a.latency)))
        .collect();
    let passed = late.is_empty();
    Graded {
        kind: "case",
        name: Kind::Slow.name(),
        passed,
        expected: expected_text(Expect::InTime, rules),
        got: Got {
            status: None,
            latency_ms: slowest.map(ms),
        },
        why: (!passed).then(|| {
            format!(
                "{} of {} answers took longer than the provider's {} timeout, so a provider would have retried them: {} (answer 2xx first, then do the work)",
                late.len(),
                all.len(),
                secs(rules.provider_timeout),
                late.join(", ")
            )
        }),
        retried: !passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn answer(status: u16, ms: u64) -> Answer {
        Answer {
            status: Ok(status),
            latency: Duration::from_millis(ms),
        }
    }

    #[rstest]
    #[case::valid_ok(Kind::Valid, 204, true)]
    #[case::valid_200(Kind::Valid, 200, true)]
    #[case::valid_401(Kind::Valid, 401, false)]
    #[case::tampered_401(Kind::Tampered, 401, true)]
    #[case::tampered_204(Kind::Tampered, 204, false)]
    #[case::tampered_403(Kind::Tampered, 403, false)]
    #[case::tampered_500(Kind::Tampered, 500, false)]
    fn grading(#[case] kind: Kind, #[case] status: u16, #[case] passed: bool) {
        let rules = Rules {
            reject: &[401],
            provider_timeout: Duration::from_secs(15),
        };
        let g = grade(kind, &[answer(status, 3)], &rules, false);
        assert_eq!(g.passed, passed, "{g:?}");
        assert_eq!(g.why.is_none(), passed);
        assert_eq!(g.got.status, Some(status));
    }

    #[test]
    fn failures_say_why() {
        let rules = Rules {
            reject: &[401],
            provider_timeout: Duration::from_secs(15),
        };
        let why = |k, s| grade(k, &[answer(s, 1)], &rules, false).why.unwrap();
        assert!(why(Kind::Tampered, 204).contains("accepted a tampered body: it does not verify"));
        assert!(why(Kind::ByteExact, 401).contains("re-serialized before verification"));
        assert!(why(Kind::Tampered, 403).contains("--reject-status 403"));
        assert!(why(Kind::Valid, 308).contains("redirect"));
        assert!(why(Kind::Fresh, 401).contains("1 s inside the provider's tolerance"));
        let after = grade(Kind::Charset, &[answer(401, 1)], &rules, true);
        assert!(
            after
                .why
                .unwrap()
                .ends_with("(the valid delivery was rejected too: fix that first)")
        );
        let allowed = Rules {
            reject: &[401, 403],
            provider_timeout: Duration::from_secs(15),
        };
        assert!(grade(Kind::Tampered, &[answer(403, 1)], &allowed, false).passed);
        let retry = grade(
            Kind::Duplicate,
            &[answer(204, 1), answer(409, 1)],
            &rules,
            false,
        );
        assert!(!retry.passed && retry.why.unwrap().contains("retry"));
    }

    #[test]
    fn the_slow_case_names_every_answer_a_provider_would_retry() {
        let rules = Rules {
            reject: &[401],
            provider_timeout: Duration::from_secs(15),
        };
        let fast = [
            (Kind::Valid, answer(204, 20)),
            (Kind::Stale, answer(401, 3)),
        ];
        assert!(grade_slow(&fast, &rules).passed);
        let slow = [
            (Kind::Valid, answer(204, 20_000)),
            (Kind::Stale, answer(401, 3)),
        ];
        let g = grade_slow(&slow, &rules);
        assert!(!g.passed && g.retried);
        assert_eq!(g.got.latency_ms, Some(20_000.0));
        let why = g.why.unwrap();
        assert!(
            why.contains("valid (20 s)") && !why.contains("stale"),
            "{why}"
        );
        assert!(grade(Kind::Valid, &[answer(204, 20_000)], &rules, false).retried);
    }
}
