//! NVMe over TCP in software: wire formats, the transport, the initiator (host) and an
//! embedded target, and NVMe status names.

pub mod wire;
pub mod status;
pub mod nvme;
pub mod transport;
pub mod initiator;
pub mod target;
pub mod conversation;
