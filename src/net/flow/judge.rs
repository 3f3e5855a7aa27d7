//! How each step of the flow is judged from what was seen: the submit's answer, the
//! delivery as the listener recorded it, the download. Pure: no sockets, no clock.

use anyhow::Result;
use serde_json::Value;

use super::http;
use crate::model::record::CaptureRecord;
use crate::model::verdict::Outcome;

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// It did what it should.
    Passed,
    /// It did not (the flow fails).
    Failed,
    /// It did not apply (no video for a failed job).
    Skipped,
}

/// One link of the flow.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// `listen`, `submit`, `poll`, `webhook`, `receiver`, `download`.
    pub name: &'static str,
    /// How it ended.
    pub state: State,
    /// What was seen, one line (terminal-safe).
    pub detail: String,
}

/// The error message of a JSON error answer (`error.message`), else the body.
pub fn error_text(body: &Result<Value, String>) -> String {
    match body {
        Ok(v) => v
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map_or_else(|| v.to_string(), str::to_owned),
        Err(e) => e.clone(),
    }
}

/// `unsigned_urls[0]` of a job's fields.
pub fn first_url(data: Option<&Value>) -> Option<String> {
    data?
        .get("unsigned_urls")?
        .get(0)?
        .as_str()
        .map(str::to_owned)
}

/// The submit answer: 2xx with `id`, `polling_url` and `status: pending`.
pub fn judge_submit(answer: Result<http::JsonAnswer>) -> Result<(String, String, String), String> {
    let a = answer.map_err(|e| format!("{e:#}"))?;
    if !(200..300).contains(&a.status) {
        return Err(format!(
            "the API answered {}: {}",
            a.status,
            error_text(&a.body)
        ));
    }
    let v = a
        .body
        .map_err(|e| format!("the API answered {}: {e}", a.status))?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(id), Some(polling)) = (text("id"), text("polling_url")) else {
        return Err(format!("the answer lacks id or polling_url: {v}"));
    };
    let mut keys: Vec<&str> = v
        .as_object()
        .map_or(Vec::new(), |m| m.keys().map(String::as_str).collect());
    keys.sort_unstable();
    let status = text("status").unwrap_or_else(|| "(none)".into());
    if status != "pending" {
        return Err(format!(
            "job {id}: initial status {status}, expected pending"
        ));
    }
    Ok((
        id.clone(),
        polling,
        format!(
            "{} job {id} pending, response_keys [{}]",
            a.status,
            keys.join(",")
        ),
    ))
}

/// The guide's checks on the delivery: a valid signature within the tolerance, an
/// idempotency key with the job id, `data.id` the job, the status the type says (and the one
/// the polls ended with).
pub fn judge_webhook(
    record: &CaptureRecord,
    job_id: &str,
    polled: Option<&str>,
) -> (State, String) {
    let v = &record.verdict;
    let mut problems = Vec::new();
    if v.outcome != Outcome::Valid {
        problems.push(format!("signature {}: {}", v.outcome.label(), v.reason));
    }
    let key = record.idempotency_key.as_deref().unwrap_or("");
    if !key.contains(job_id) {
        problems.push(format!(
            "idempotency key {key:?} does not include the job id"
        ));
    }
    let summary = crate::envelope::summarize(&record.capture.body);
    if summary.data_id.as_deref() != Some(job_id) {
        problems.push(format!(
            "data.id is {:?}, not the job id",
            summary.data_id.as_deref().unwrap_or("(none)")
        ));
    }
    let suffix = summary
        .event_type
        .as_deref()
        .and_then(|t| t.strip_prefix("video.generation."));
    if suffix.is_none() || suffix != summary.data_status.as_deref() {
        problems.push(format!(
            "type {:?} and data.status {:?} do not match",
            summary.event_type.as_deref().unwrap_or("(none)"),
            summary.data_status.as_deref().unwrap_or("(none)")
        ));
    }
    if let (Some(p), Some(s)) = (polled, summary.data_status.as_deref())
        && p != s
    {
        problems.push(format!("the webhook says {s}, the last poll said {p}"));
    }
    if problems.is_empty() {
        (
            State::Passed,
            format!(
                "{} valid, skew {}, key {key}, data.id is the job, status {} matches the type",
                summary.event_type.as_deref().unwrap_or(""),
                crate::fmt::skew(v.skew_secs),
                summary.data_status.as_deref().unwrap_or("")
            ),
        )
    } else {
        (State::Failed, problems.join("; "))
    }
}

/// A download passes with a 2xx, some bytes, and as many as `Content-Length` said.
pub fn judge_download(d: &http::Download, bearer: bool) -> (State, String) {
    let how = if bearer {
        "with the bearer token"
    } else {
        "without a token"
    };
    let kind = d.content_type.as_deref().unwrap_or("no Content-Type");
    if !(200..300).contains(&d.status) {
        return (State::Failed, format!("GET answered {} ({how})", d.status));
    }
    if d.bytes == 0 {
        return (State::Failed, format!("an empty video ({kind})"));
    }
    if d.declared.is_some_and(|n| n != d.bytes) {
        return (
            State::Failed,
            format!(
                "{} bytes of the {} declared",
                d.bytes,
                d.declared.unwrap_or(0)
            ),
        );
    }
    let mp4 = d.head.get(4..8) == Some(b"ftyp".as_slice());
    (
        State::Passed,
        format!(
            "{} bytes, {kind}{} ({how})",
            d.bytes,
            if mp4 { ", an MP4" } else { "" }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn download(status: u16, declared: Option<u64>, bytes: u64) -> http::Download {
        http::Download {
            status,
            content_type: Some("video/mp4".into()),
            declared,
            bytes,
            head: b"\0\0\0\x20ftypisom".to_vec(),
        }
    }

    #[test]
    fn a_download_passes_only_whole_and_answered_2xx() {
        let (state, detail) = judge_download(&download(200, Some(4490), 4490), true);
        assert_eq!(state, State::Passed);
        assert_eq!(
            detail,
            "4490 bytes, video/mp4, an MP4 (with the bearer token)"
        );
        assert_eq!(
            judge_download(&download(200, Some(4490), 10), false).0,
            State::Failed
        );
        assert_eq!(
            judge_download(&download(404, None, 10), false).0,
            State::Failed
        );
        assert_eq!(
            judge_download(&download(200, None, 0), false).0,
            State::Failed
        );
    }

    #[test]
    fn a_submit_must_answer_pending_with_a_polling_url() {
        let answer = |status, body: &str| {
            Ok(http::JsonAnswer {
                status,
                body: serde_json::from_str(body).map_err(|e| e.to_string()),
            })
        };
        let ok = judge_submit(answer(
            202,
            r#"{"id":"j","polling_url":"http://x/j","status":"pending"}"#,
        ));
        assert_eq!(ok.unwrap().0, "j");
        let refused = judge_submit(answer(401, r#"{"error":{"code":401,"message":"bad key"}}"#));
        assert_eq!(refused.unwrap_err(), "the API answered 401: bad key");
        let done = judge_submit(answer(
            200,
            r#"{"id":"j","polling_url":"p","status":"completed"}"#,
        ));
        assert!(done.unwrap_err().contains("expected pending"));
        assert!(judge_submit(answer(200, r#"{"id":"j"}"#)).is_err());
    }
}
