//! Test support shared by every block: fast manual clocking of rust-hdl models, replay of
//! the same cycles through the generated Verilog in Verilator, and NVMe/TCP traffic with its
//! truth (for tests and benchmarks).
pub mod replay;
pub mod pdu_stream;
pub mod nvme_traffic;

use rust_hdl::prelude::*;

/// Run delta cycles until nothing changes.
pub fn settle<B: Block>(uut: &mut B) {
    for _ in 0..1000 {
        uut.update_all();
        if !uut.has_changed() {
            return;
        }
    }
    panic!("model did not settle after 1000 delta cycles (combinational loop?)");
}

/// One clock cycle: inputs set before the call are sampled at the rising edge, and registered
/// outputs show the result after it. Much faster than rust-hdl's threaded `Simulation`.
pub fn cycle<B: Block>(uut: &mut B, clock: fn(&mut B) -> &mut Signal<In, Clock>) {
    clock(uut).next = Clock { clk: true };
    settle(uut);
    clock(uut).next = Clock { clk: false };
    settle(uut);
}

/// Verilog for a block as its own top module named `name` (rust-hdl calls every top `top`).
pub fn verilog_for<B: Block>(uut: &mut B, name: &str) -> String {
    uut.connect_all();
    generate_verilog(uut).replace("module top(", &format!("module {name}(")).replace("top$", &format!("{name}$"))
}
