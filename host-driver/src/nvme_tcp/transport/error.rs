//! Failures of the byte stream or of PDU framing on it.

use crate::nvme_tcp::wire::WireError;
use std::io;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("connection closed by the peer")]
    Closed,
    #[error("connection closed by the peer in the middle of a PDU ({received} of {expected} bytes)")]
    ClosedMidPdu { received: usize, expected: usize },
    #[error("timed out waiting for the peer")]
    Timeout,
    #[error("socket error: {0}")]
    Io(io::Error),
    #[error("malformed PDU: {0}")]
    Wire(#[from] WireError),
}

impl From<io::Error> for TransportError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Self::Timeout,
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                Self::Closed
            }
            _ => Self::Io(e),
        }
    }
}
