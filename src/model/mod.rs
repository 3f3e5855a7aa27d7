//! What flows through hooklens, as plain serde data: the capture as received, the record of a
//! forward or replay, the log's records and index rows, secrets, and the shared string
//! ([`text::ByteStr`]) a capture's names and target are held in. Imports nothing of the
//! crate, so every other room can depend on it.

pub mod capture;
pub mod exchange;
pub mod record;
pub mod secret;
pub mod text;
pub mod verdict;
