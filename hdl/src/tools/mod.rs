//! The build steps behind `make verilog`, `make lint` and `make synth`.
pub mod lint;
pub mod synth;
