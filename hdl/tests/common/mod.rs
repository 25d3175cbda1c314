//! Helpers shared by the integration tests of hdl/.
#![allow(dead_code)] // each test binary uses a different subset
pub mod crc_traffic;
pub mod nvme_flow;
pub mod pdu_stream;
