//! Initiator errors. NVMe failures carry the status name; transport and protocol failures
//! say what the target did wrong.

use crate::nvme_tcp::status::{CommandSet, Status};
use crate::nvme_tcp::transport::TransportError;
use crate::nvme_tcp::wire::TermReqStatus;
use std::ops::Range;

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
    #[error("protocol violation by the target: {0}")]
    Violation(#[from] Violation),
    #[error("target terminated the connection (C2HTermReq): {status} (error information {fei:#x})")]
    Terminated { status: TermReqStatus, fei: u32 },
    #[error("controller not ready: {0}")]
    NotReady(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("queue {0} is unusable after an earlier connection error")]
    QueueFailed(u16),
}

/// A target's data or completion that contradicts the command it names. Byte ranges are
/// half-open offsets into the command's transfer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("C2HData for command {cid} carries bytes {}..{} of a {len}-byte transfer", range.start, range.end)]
    BeyondTransfer { cid: u16, range: Range<usize>, len: usize },
    #[error(
        "C2HData for command {cid} carries bytes {}..{}, but bytes {}..{} had already arrived",
        range.start, range.end, overlap.start, overlap.end
    )]
    Duplicate { cid: u16, range: Range<usize>, overlap: Range<usize> },
    #[error("C2HData for command {cid} carries bytes {}..{} after its LAST PDU", range.start, range.end)]
    AfterLast { cid: u16, range: Range<usize> },
    #[error(
        "command {cid} completed successfully ({by}) without bytes {}..{} of its {len}-byte transfer ({received} bytes arrived)",
        missing.start, missing.end
    )]
    Incomplete { cid: u16, by: &'static str, missing: Range<usize>, received: usize, len: usize },
    #[error("CapsuleResp for command {cid} names submission queue {sq_id}, but arrived on queue {qid}")]
    WrongSqId { cid: u16, sq_id: u16, qid: u16 },
    #[error("CapsuleResp for command {cid} reports SQ head {sq_head}, outside a {queue_size}-entry queue")]
    SqHeadOutOfRange { cid: u16, sq_head: u16, queue_size: u16 },
}
