//! The guide's delivery report (its Webhook.site example), key for key:
//! `{"request": {method, content_type, has_signature_header, signature{…},
//! has_idempotency_key_header, idempotency_key_shape{…}, body_shape{…}}, "job": {id,
//! poll_statuses: [{status, elapsed_seconds}], downloaded_bytes}}`. Pure.

use serde::Serialize;
use serde_json::{Value, json};

use crate::envelope::ShapeReport;

/// One poll's answer.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PollStatus {
    /// The job's `status`.
    pub status: String,
    /// Seconds since the submit, rounded down.
    pub elapsed_seconds: u64,
}

/// The delivery that arrived: its shape report and its `data.id`.
pub struct Arrived<'a> {
    /// [`crate::envelope::shape_report`] of the request.
    pub shape: &'a ShapeReport,
    /// The body's `data.id`.
    pub data_id: Option<&'a str>,
}

/// The report object. `request` is `null` when no delivery arrived; there,
/// `data_id_matches_job` compares `data.id` with the submitted job's id.
pub fn report(
    arrived: Option<Arrived<'_>>,
    job_id: Option<&str>,
    polls: &[PollStatus],
    downloaded_bytes: Option<u64>,
) -> Value {
    let request = arrived.map(|a| {
        let mut body_shape = json!(a.shape.body_shape);
        if let Some(map) = body_shape.as_object_mut() {
            let matches = a.data_id.is_some() && a.data_id == job_id;
            map.insert("data_id_matches_job".into(), json!(matches));
        }
        json!({
            "method": a.shape.method,
            "content_type": a.shape.content_type,
            "has_signature_header": a.shape.has_signature_header,
            "signature": a.shape.signature,
            "has_idempotency_key_header": a.shape.has_idempotency_key_header,
            "idempotency_key_shape": a.shape.idempotency_key_shape,
            "body_shape": body_shape,
        })
    });
    json!({
        "request": request,
        "job": {
            "id": job_id,
            "poll_statuses": polls,
            "downloaded_bytes": downloaded_bytes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::capture::Header;

    #[test]
    fn the_report_has_the_guides_keys_and_nesting() {
        let body = br#"{"type":"video.generation.completed","created_at":"2026-01-01T00:00:00.000Z","data":{"id":"Nxff2D1Z6w4Zk9iNuZam","status":"completed","generation_id":"g","model":"m","unsigned_urls":["u"],"usage":{"cost":0.4,"is_byok":false}}}"#;
        let headers = vec![
            Header::new("Content-Type", "application/json"),
            Header::new(
                "X-ModelGates-Signature",
                format!("t=1,v1={}", "a".repeat(64)),
            ),
            Header::new(
                "X-ModelGates-Idempotency-Key",
                "Nxff2D1Z6w4Zk9iNuZam-completed",
            ),
        ];
        let shape = crate::envelope::shape_report("POST", &headers, body);
        let polls = [PollStatus {
            status: "completed".into(),
            elapsed_seconds: 41,
        }];
        let id = "Nxff2D1Z6w4Zk9iNuZam";
        let r = report(
            Some(Arrived {
                shape: &shape,
                data_id: Some(id),
            }),
            Some(id),
            &polls,
            Some(442_723),
        );
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&r), ["request", "job"]);
        assert_eq!(
            keys(&r["request"]),
            [
                "method",
                "content_type",
                "has_signature_header",
                "signature",
                "has_idempotency_key_header",
                "idempotency_key_shape",
                "body_shape"
            ]
        );
        assert_eq!(
            r["request"]["signature"]["redacted_format"],
            "t=<timestamp>,v1=<hex>"
        );
        assert_eq!(r["request"]["idempotency_key_shape"]["length"], 30);
        assert_eq!(r["request"]["body_shape"]["data_id_matches_job"], true);
        assert_eq!(
            r["request"]["body_shape"]["usage_keys"],
            json!(["cost", "is_byok"])
        );
        assert_eq!(keys(&r["job"]), ["id", "poll_statuses", "downloaded_bytes"]);
        assert_eq!(r["job"]["poll_statuses"][0]["elapsed_seconds"], 41);
    }
}
