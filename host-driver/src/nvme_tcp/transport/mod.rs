//! Moving PDUs over a byte stream. The receive side is the `RxPath` trait: the software
//! implementation reads a TCP stream, copies data into the command's buffer and checks
//! digests; a NIC-backed implementation can report data as already placed and verified.

mod error;
pub mod rx;
pub mod tx;
pub mod socket;
pub mod stats;
pub mod stream;

pub use error::TransportError;
pub use rx::{DataReceipt, DigestVerdict, Placement, RxHeader, RxPath, SoftwareRx};
pub use stats::CpuBreakdown;
pub use stream::{ByteStream, Connector};
pub use tx::PduWriter;
