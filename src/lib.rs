//! hooklens: see, check, forward and replay signed webhooks on your own machine.
//!
//! The crate is the whole program; `main.rs` is a thin shell over [`cli::run`]. Tests and
//! benchmarks call these modules in-process.
#![warn(missing_docs)]

pub mod capture;
pub mod cert_cmd;
pub mod cli;
pub mod client;
pub mod duration;
pub mod envelope;
pub mod exchange;
pub mod export;
pub mod filter;
pub mod forward;
pub mod har;
pub mod output;
pub mod rawhead;
pub mod replay;
pub mod sanitize;
pub mod secret;
pub mod send;
pub mod server;
pub mod store;
pub mod tls;
pub mod tui;
pub mod verify;
pub mod verify_cmd;
pub mod wait;
