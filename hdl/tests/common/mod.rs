//! Helpers shared by the integration tests of hdl/.
#![allow(dead_code, unused_imports)] // each test binary uses a different subset
pub mod crc_traffic;
pub use ddpnic_hdl::testbench::{nvme_traffic, pdu_stream};
