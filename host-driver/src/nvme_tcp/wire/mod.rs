//! NVMe/TCP PDU wire formats: zero-copy views over byte buffers (in the style of smoltcp's
//! `wire` module), framing validation, value representations and digests. Protocol logic
//! lives elsewhere; nothing here does I/O.

pub(crate) mod field;
mod error;
pub mod header;
pub mod icreq;
pub mod sqe;
pub mod cqe;
pub mod capsule;
pub mod data;
pub mod term;
pub mod digest;
pub mod framing;
pub mod pdu;
pub mod repr;
pub mod outgoing;

pub use capsule::{CapsuleCmd, CapsuleResp};
pub use cqe::{Cqe, CqeRepr};
pub use data::{DataPdu, R2t};
pub use error::WireError;
pub use framing::{DigestConfig, Framing};
pub use header::{flags, Header, PduType};
pub use icreq::{IcReq, IcResp};
pub use outgoing::OutgoingHeader;
pub use pdu::Pdu;
pub use repr::{Emission, PduRepr};
pub use sqe::{SglDescriptor, Sqe};
pub use term::{TermReq, TermReqStatus};
