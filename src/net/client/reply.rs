//! What a request yields: the receiver's answer ([`Reply`]) or why there is none
//! ([`ClientError`]).

use std::time::Duration;

use bytes::Bytes;
use thiserror::Error;

use crate::model::capture::Header;
use crate::model::exchange::{ExchangeResponse, RESPONSE_BODY_KEEP};
use crate::net::client::target::Target;

/// Largest response body relayed back; bigger answers are an error (the provider gets 502).
pub const MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;

/// Why a request did not produce a response; the caller maps it to 502/504.
#[derive(Debug, Error)]
pub enum ClientError {
    /// TCP connect, TLS handshake or HTTP/2 connection setup failed.
    #[error("cannot connect to {origin}: {reason}")]
    Connect {
        /// `host:port`.
        origin: String,
        /// The OS or TLS error.
        reason: String,
    },
    /// No complete response within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection broke or the answer was not valid HTTP.
    #[error("{0}")]
    Protocol(String),
}

impl ClientError {
    /// The status the provider gets when the forward failed: 504 on timeout, else 502.
    pub fn provider_status(&self) -> u16 {
        match self {
            ClientError::Timeout(_) => 504,
            _ => 502,
        }
    }
}

/// An answer from the receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Reason phrase as sent (HTTP/1); the canonical phrase for the status over HTTP/2, which
    /// has none on the wire.
    pub reason: String,
    /// Headers in order, as sent (names are lowercase over HTTP/2).
    pub headers: Vec<Header>,
    /// Body (de-chunked).
    pub body: Bytes,
    /// The protocol that answered: [`HTTP_11`](crate::model::exchange::HTTP_11), [`HTTP_10`](crate::model::exchange::HTTP_10)
    /// or [`HTTP_2`](crate::model::exchange::HTTP_2).
    pub version: &'static str,
    /// The receiver answered before hooklens had sent the whole request (it did not take
    /// all of the body), e.g. a 413 from its own size limit.
    pub early: bool,
}

impl Reply {
    /// The answer as the log keeps it: the first [`RESPONSE_BODY_KEEP`] bytes of the body and
    /// the whole length.
    pub fn kept(&self) -> ExchangeResponse {
        ExchangeResponse {
            version: self.version.to_owned(),
            status: self.status,
            reason: self.reason.clone(),
            headers: self.headers.clone(),
            body: self.body.slice(..self.body.len().min(RESPONSE_BODY_KEEP)),
            body_len: self.body.len() as u64,
        }
    }
}

/// A connect failure to `target`.
pub(super) fn connect_error(target: &Target, reason: String) -> ClientError {
    ClientError::Connect {
        origin: format!("{}:{}", target.host, target.port),
        reason,
    }
}

/// The receiver closed the connection without a byte of an answer.
pub(super) fn closed_without_answer() -> ClientError {
    ClientError::Protocol("the receiver closed the connection without answering".into())
}
