//! Initiator errors. NVMe failures carry the status name; transport and protocol failures
//! say what the target did wrong.

use crate::nvme_tcp::status::{CommandSet, Status};
use crate::nvme_tcp::transport::TransportError;
use crate::nvme_tcp::wire::TermReqStatus;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("{command} failed: {}", status.describe(*set))]
    Nvme { command: &'static str, status: Status, set: CommandSet },
    #[error("protocol violation by the target: {0}")]
    Protocol(String),
    #[error("target terminated the connection (C2HTermReq): {status} (error information {fei:#x})")]
    Terminated { status: TermReqStatus, fei: u32 },
    #[error("controller not ready: {0}")]
    NotReady(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("queue {0} is unusable after an earlier connection error")]
    QueueFailed(u16),
}
