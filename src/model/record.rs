//! The log's records and the index rows built from them: [`CaptureRecord`] (one `capture`
//! line), [`Summary`] (the compact row every list and filter reads, and its one builder),
//! [`ExchangeBrief`], and the [`Event`]s the store publishes to front ends.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::capture::{Capture, CaptureId, TlsInfo};
use super::exchange::{Exchange, ExchangeKind};
use super::verdict::{Outcome, Verdict};

/// A capture with everything derived from it at arrival; one `capture` line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureRecord {
    /// The request as received.
    #[serde(flatten)]
    pub capture: Capture,
    /// Verification result at arrival.
    pub verdict: Verdict,
    /// Envelope `type`, when the body is the provider's JSON.
    pub event_type: Option<String>,
    /// Envelope `data.id`.
    pub data_id: Option<String>,
    /// `X-ModelGates-Idempotency-Key`, when present and UTF-8.
    pub idempotency_key: Option<String>,
    /// Status hooklens answered with.
    pub response_status: u16,
}

/// The compact index row for one capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Capture id.
    pub id: CaptureId,
    /// Unix ms of arrival.
    pub received_at_ms: i64,
    /// Method.
    pub method: Arc<str>,
    /// Path and query.
    pub target: Arc<str>,
    /// Envelope type.
    pub event_type: Option<Arc<str>>,
    /// Verification outcome.
    pub outcome: Outcome,
    /// Signed skew in seconds.
    pub skew_secs: Option<i64>,
    /// Idempotency key.
    pub idempotency_key: Option<Arc<str>>,
    /// Envelope `data.id` (the job), for the per-job timeline.
    pub data_id: Option<Box<str>>,
    /// The first capture with the same idempotency key, when this one repeats it.
    pub dup_of: Option<CaptureId>,
    /// Body length in bytes (as kept).
    pub body_len: u64,
    /// Body was cut at the size limit.
    pub truncated: bool,
    /// Status the provider got (with `--respond relay`, the relayed one).
    pub response_status: u16,
    /// The latest forward or replay of this capture.
    pub exchange: Option<Box<ExchangeBrief>>,
}

/// The latest forward or replay of a capture, as the list and the inspector show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeBrief {
    /// Forward or replay.
    pub kind: ExchangeKind,
    /// The receiver's status; None when it did not answer.
    pub receiver_status: Option<u16>,
    /// Round trip in microseconds.
    pub latency_us: u64,
    /// How many forwards and replays this capture has.
    pub count: u32,
}

impl ExchangeBrief {
    /// `→ 204 3.1ms`, or `→ failed`.
    pub fn label(&self) -> String {
        match self.receiver_status {
            Some(s) => format!("→ {s} {:.1}ms", self.latency_us as f64 / 1000.0),
            None => "→ failed".into(),
        }
    }
}

/// Published to front ends after a record is durable.
#[derive(Clone, Debug)]
pub enum Event {
    /// A new capture is on disk.
    Captured(Arc<Stored>),
    /// Something the user should see (a warning, a connection error), one line.
    Notice(String),
    /// A capture was forwarded or replayed; the record is in the log.
    Forwarded(Arc<Exchange>),
}

/// A capture as announced to front ends.
#[derive(Clone, Debug)]
pub struct Stored {
    /// Index row.
    pub summary: Summary,
    /// Full verdict (reason, hints, matched secret).
    pub verdict: Verdict,
    /// TLS details when the capture arrived over HTTPS.
    pub tls: Option<TlsInfo>,
}

/// The fields of an exchange that its capture's row needs.
pub struct LinkedBrief {
    /// Forward or replay.
    pub kind: ExchangeKind,
    /// The receiver's status; None when it did not answer.
    pub receiver_status: Option<u16>,
    /// Round trip in microseconds.
    pub latency_us: u64,
    /// The provider got `status`.
    pub relayed: bool,
    /// The receiver's status, or the 502/504 of a failure.
    pub status: u16,
}

impl LinkedBrief {
    /// The brief of an exchange record.
    pub fn of(e: &Exchange) -> LinkedBrief {
        LinkedBrief {
            kind: e.kind,
            receiver_status: e.receiver_status(),
            latency_us: e.latency_us,
            relayed: e.relayed,
            status: e.status,
        }
    }
}

impl Summary {
    /// Takes in a forward or replay of this capture (front ends that keep their own rows).
    pub fn note_exchange(&mut self, e: &Exchange) {
        self.apply_link(&LinkedBrief::of(e));
    }

    /// The latest exchange becomes the brief; a relayed one sets the status the provider got.
    pub fn apply_link(&mut self, brief: &LinkedBrief) {
        let count = self.exchange.as_ref().map_or(0, |b| b.count) + 1;
        self.exchange = Some(Box::new(ExchangeBrief {
            kind: brief.kind,
            receiver_status: brief.receiver_status,
            latency_us: brief.latency_us,
            count,
        }));
        if brief.relayed {
            self.response_status = brief.status;
        }
    }

    /// The row for a record outside any index (no shared strings, no `dup_of`).
    pub fn of(record: &CaptureRecord) -> Summary {
        Summary::build(record.capture.id, record, &mut |s| Arc::from(s))
    }

    /// The one builder of a row: `intern` shares repeated strings (the index's interner, or
    /// a plain allocation); `dup_of` is the index's to fill in.
    pub fn build(
        id: CaptureId,
        record: &CaptureRecord,
        intern: &mut dyn FnMut(&str) -> Arc<str>,
    ) -> Summary {
        let c = &record.capture;
        Summary {
            id,
            received_at_ms: c.received_at_ms,
            method: intern(&c.method),
            target: intern(&c.target),
            event_type: record.event_type.as_deref().map(&mut *intern),
            outcome: record.verdict.outcome,
            skew_secs: record.verdict.skew_secs,
            idempotency_key: record.idempotency_key.as_deref().map(Arc::from),
            data_id: record.data_id.as_deref().map(Box::from),
            dup_of: None,
            body_len: c.body.len() as u64,
            truncated: c.truncated,
            response_status: record.response_status,
            exchange: None,
        }
    }
}
