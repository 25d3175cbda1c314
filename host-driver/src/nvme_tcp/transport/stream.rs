//! The byte stream under a queue or a target connection: a kernel `TcpStream`, or a TCP
//! socket of a user-space stack (`crate::net`). Both ends only need read, write, a second
//! handle for the other direction, shutdown and a receive timeout.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

pub trait ByteStream: Read + Write + Send {
    /// Another handle to the same connection (for a separate reader and writer).
    fn try_clone_stream(&self) -> io::Result<Box<dyn ByteStream>>;
    /// Closes both directions (the peer sees FIN); later reads and writes fail.
    fn shutdown_stream(&self);
    /// Longest wait of a read for data (None: forever). Expiry is `WouldBlock`/`TimedOut`.
    fn set_read_timeout_stream(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// The peer's address, for logs.
    fn peer_name(&self) -> String;
    /// Both ends of the connection (local, remote), when known (the offload's sk_add needs
    /// them).
    fn endpoints(&self) -> Option<(std::net::SocketAddr, std::net::SocketAddr)> {
        None
    }
}

impl ByteStream for TcpStream {
    fn try_clone_stream(&self) -> io::Result<Box<dyn ByteStream>> {
        Ok(Box::new(self.try_clone()?))
    }
    fn shutdown_stream(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
    fn set_read_timeout_stream(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)
    }
    fn peer_name(&self) -> String {
        self.peer_addr().map_or_else(|_| "?".into(), |a| a.to_string())
    }
    fn endpoints(&self) -> Option<(std::net::SocketAddr, std::net::SocketAddr)> {
        Some((self.local_addr().ok()?, self.peer_addr().ok()?))
    }
}

/// Opens connections for the initiator. The default (no connector in `ConnectOptions`)
/// is the kernel's TCP; `crate::net::SimConnector` connects through a simulated wire.
pub trait Connector: Send + Sync + std::fmt::Debug {
    fn connect(&self, addr: &str, timeout: Duration) -> io::Result<Box<dyn ByteStream>>;
}
