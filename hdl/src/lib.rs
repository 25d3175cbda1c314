//! ddpnic receive-path RTL: rust-hdl blocks, their bit-exact Rust models, and the tooling that
//! turns them into linted, synthesized Verilog.
pub mod blocks;
pub mod bytes;
pub mod core;
pub mod crc32c;
pub mod parser;
pub mod flow;
pub mod framing;
pub mod placement;
pub mod testbench;
pub mod tools;
