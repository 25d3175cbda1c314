//! ddpnic Alveo board support: the cards as data (`board`), the port lists of the NIC core
//! and the vendor IP (`ports`), and everything generated from them: the board top Verilog
//! and blackbox stubs (`top`), the XDC (`xdc`), the Vivado parameters file (`emit`), and the
//! checks CI runs without Vivado (`check`). See boards/README.md.
pub mod board;
pub mod check;
pub mod emit;
pub mod ports;
pub mod top;
pub mod xdc;

/// Yosys synthesis and its figures: the hdl crate's tool, shared by path so the board check
/// reports exactly like `make synth` without building rust-hdl.
#[path = "../../hdl/src/tools/synth.rs"]
pub mod synth;
