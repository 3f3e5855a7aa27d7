//! The HTTP/1.1 connection type the pool keeps and the exchange reads and writes.

use tokio::io::{AsyncRead, AsyncWrite};

/// A plain TCP or TLS stream.
pub(super) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One HTTP/1.1 connection to a receiver.
pub(super) struct Conn {
    pub(super) io: Box<dyn Io>,
}
