//! hooklens: see, check, forward and replay signed webhooks on your own machine.
//!
//! The rooms, from the bottom up (each imports only rooms below it; `tests/layout.rs` keeps
//! it so):
//!
//! | room | what it holds | imports |
//! |---|---|---|
//! | [`model`] | what flows: [`model::capture::Capture`], exchanges, log records, secrets | nothing of the crate |
//! | [`verify`], [`envelope`], [`sanitize`], [`fmt`], [`filter`], [`export`] | pure logic over the model | pure rooms |
//! | [`store`] | the durable capture log: line format, index, group commit, recovery, tailing | pure rooms |
//! | [`net`] | sockets: the listener, TLS, the outbound client, forward, replay, send, check, the provider simulator, flow | store, pure rooms |
//! | [`front`] | what the user sees: the line/JSON printer, `show`, the terminal inspector | net, store, pure rooms |
//! | [`cmd`] | one file per subcommand: its clap flags and its `run` | everything |
//!
//! The data path: request → `net::server` builds a `Capture` → `verify` gives a `Verdict` →
//! `store` makes it durable and publishes an event → `front` prints or draws it; forwarding
//! and replay (`net`) are consumers of stored captures and append their own records.
//! `main.rs` parses, calls [`cmd::run`], and maps its result to one exit code.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod cmd;
pub mod envelope;
pub mod export;
pub mod filter;
pub mod fmt;
pub mod front;
pub mod model;
pub mod net;
pub mod sanitize;
pub mod store;
pub mod verify;
