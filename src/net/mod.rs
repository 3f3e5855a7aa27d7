//! Everything that opens a socket: the listener ([`server`], with the header-case recorder
//! [`rawhead`] and [`tls`]), the outbound [`client`], and the ways a capture or event goes
//! out: [`forward`] (behind the listener), [`replay`], [`send`] (a signed test event) and
//! [`check`] (grading a receiver: the cases are [`suite`], the judging [`grade`]). The other
//! side of the conversation: [`provider`] (an offline ModelGates API that submits, polls,
//! delivers signed webhooks with retries and serves the video) and [`flow`] (the guide's
//! Steps 4–5 run and checked end to end). The HTTP/1
//! rules more than one of them need live in one place each: [`hop`] (hop-by-hop headers) and
//! [`chunk`] (chunk sizes). What a sender may take (timeouts, the connection cap, the
//! shutdown grace) is in [`limits`], enforced by [`deadline`] and the server; requests hyper
//! refuses are still captured by [`refused`].

pub mod check;
pub mod chunk;
pub mod client;
pub mod deadline;
pub mod flow;
pub mod forward;
pub mod grade;
pub mod hop;
pub mod limits;
pub mod passthrough;
pub mod provider;
pub mod rawhead;
pub mod refused;
pub mod replay;
pub mod send;
pub mod server;
pub mod suite;
pub mod tls;
pub mod tunnel;
