//! Everything that opens a socket: the listener ([`server`], with the header-case recorder
//! [`rawhead`] and [`tls`]), the outbound [`client`], and the ways a capture or event goes
//! out: [`forward`] (behind the listener), [`replay`] and [`send`] (a signed test event). The
//! HTTP/1 rules more than one of them need live in one place each: [`hop`] (hop-by-hop
//! headers) and [`chunk`] (chunk sizes).

pub mod chunk;
pub mod client;
pub mod forward;
pub mod hop;
pub mod rawhead;
pub mod replay;
pub mod send;
pub mod server;
pub mod tls;
pub mod tunnel;
