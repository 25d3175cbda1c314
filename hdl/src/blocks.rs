//! The top-level blocks of hdl/: what `make verilog`, `make lint` and `make synth` cover.
use crate::crc32c::stream::Crc32cStream64;
use crate::testbench::verilog_for;

pub struct TopBlock {
    /// Module and file name.
    pub name: &'static str,
    pub summary: &'static str,
    pub verilog: fn() -> String,
}

pub fn all() -> Vec<TopBlock> {
    vec![TopBlock {
        name: "crc32c_stream",
        summary: "CRC32C data/header digest check, 64 B/cycle, save/restore across packets",
        verilog: || verilog_for(&mut Crc32cStream64::new(), "crc32c_stream"),
    }]
}
