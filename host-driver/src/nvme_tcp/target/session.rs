//! The target driven by its caller instead of by threads: for a single-threaded simulation
//! where the target sits on a user-space TCP/IP stack. The caller feeds each connection one
//! whole PDU at a time (so a read never waits) and the replies are written at once.

use super::config::TargetConfig;
use super::connection::{Connection, Ending};
use super::reply::Replier;
use super::subsystem::Subsystem;
use crate::nvme_tcp::transport::{ByteStream, SoftwareRx};
use std::sync::Arc;

/// One subsystem (namespaces and controllers) shared by its sessions.
pub struct EmbeddedTarget {
    subsystem: Arc<Subsystem>,
}

impl EmbeddedTarget {
    pub fn new(config: TargetConfig) -> Self {
        Self { subsystem: Arc::new(Subsystem::new(config)) }
    }

    /// A new connection over `stream`, which must never block: reads see exactly the bytes
    /// the caller put there, writes are buffered by the caller.
    pub fn session(&self, stream: Box<dyn ByteStream>) -> std::io::Result<Session> {
        let read = stream.try_clone_stream()?;
        let reply = Replier::inline(stream.try_clone_stream()?)?;
        let rx = SoftwareRx::new(read).without_socket_timing();
        Ok(Session { conn: Connection::new(self.subsystem.clone(), rx, reply, stream), initialized: false, ended: false })
    }
}

pub struct Session {
    conn: Connection,
    initialized: bool,
    ended: bool,
}

impl Session {
    /// Handles the one whole PDU that the stream now holds. False once the connection ended
    /// (a protocol error: the C2HTermReq, if any, is already written).
    pub fn on_pdu(&mut self) -> bool {
        if self.ended {
            return false;
        }
        let result = if self.initialized {
            self.conn.handle_next().map(|open| open.then_some(()))
        } else {
            self.initialized = true;
            self.conn.initialize().map(Some)
        };
        match result {
            Ok(Some(())) => true,
            Ok(None) => self.finish(Ok(())),
            Err(e) => self.finish(Err(e)),
        }
    }

    /// Nothing more is pending from the host: answer reads held back for reordering.
    pub fn on_idle(&mut self) {
        if self.initialized && !self.ended {
            self.conn.release_held_reads();
        }
    }

    /// The host closed the connection.
    pub fn on_closed(&mut self) {
        if !self.ended {
            self.finish(Ok(()));
        }
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }

    fn finish(&mut self, result: Result<(), Ending>) -> bool {
        self.ended = true;
        self.conn.end(result);
        false
    }
}
