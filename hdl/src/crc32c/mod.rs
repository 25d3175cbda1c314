//! CRC32C (NVMe/TCP header and data digests) at one beat of W bytes per cycle.
pub mod digest;
pub mod gf2;
pub mod model;
pub mod stream;
pub mod verilog;
