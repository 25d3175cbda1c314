//! The stand-in `pdu_tracker`: a module with exactly the tracker's ports
//! (framing/TRACKER_PORTS.md) that passes the MAC beats to `f_*` two cycles late with all
//! metadata 0 (no frame is of an added flow, none is tracked) and never streams (`t_*` 0);
//! flow writes are taken at once and ignored. It keeps `ddpnic_core` buildable, lintable and
//! synthesizable until the real tracker (hdl/src/framing) replaces it: at that merge,
//! [`super::tracker_verilog`] returns the real module instead of this one.
use super::{TRACKER_CONTROL, TRACKER_OUT};
use std::fmt::Write as _;

/// Cycles from a MAC beat to the same beat on `f_*` (the real tracker's `FRAME_LATENCY`).
pub const FRAME_LATENCY: usize = 2;

/// Verilog of the stand-in module `pdu_tracker`.
pub fn pdu_tracker_stand_in() -> String {
    let range = |w: usize| if w == 1 { String::new() } else { format!("[{}:0] ", w - 1) };
    let mut ports = vec!["  input  wire clock".to_string()];
    for (name, w) in super::MAC_RX {
        ports.push(format!("  input  wire {}{name}", range(*w)));
    }
    for (name, w) in TRACKER_CONTROL {
        ports.push(format!("  input  wire {}{name}", range(*w)));
    }
    for (name, w) in TRACKER_OUT {
        ports.push(format!("  output wire {}{name}", range(*w)));
    }
    let mut v = String::new();
    let _ = writeln!(v, "// pdu_tracker STAND-IN (hdl/src/core/tracker_stand_in.rs): the MAC beats on f_* two cycles late,");
    let _ = writeln!(v, "// no flow, nothing tracked, no streams. Replaced by the real tracker (hdl/src/framing).");
    let _ = writeln!(v, "module pdu_tracker(\n{}\n);", ports.join(",\n"));
    let _ = writeln!(v, "reg v1 = 1'b0, v2 = 1'b0, l1 = 1'b0, l2 = 1'b0, u1 = 1'b0, u2 = 1'b0;");
    let _ = writeln!(v, "reg [511:0] d1 = 512'd0, d2 = 512'd0;\nreg [63:0] k1 = 64'd0, k2 = 64'd0;");
    let _ = writeln!(v, "always @(posedge clock) begin");
    let _ = writeln!(v, "  v1 <= s_axis_rx_tvalid; d1 <= s_axis_rx_tdata; k1 <= s_axis_rx_tkeep; l1 <= s_axis_rx_tlast; u1 <= s_axis_rx_tuser;");
    let _ = writeln!(v, "  v2 <= v1; d2 <= d1; k2 <= k1; l2 <= l1; u2 <= u1;\nend");
    let _ = writeln!(v, "assign f_valid = v2;\nassign f_data = d2;\nassign f_keep = k2;\nassign f_last = l2;\nassign f_user = u2;");
    let _ = writeln!(v, "assign c_flow_ready = 1'b1;");
    for (name, w) in TRACKER_OUT {
        if !["f_valid", "f_data", "f_keep", "f_last", "f_user", "c_flow_ready"].contains(name) {
            let _ = writeln!(v, "assign {name} = {w}'d0;");
        }
    }
    let unused: Vec<&str> = TRACKER_CONTROL.iter().map(|(n, _)| *n).collect();
    let _ = writeln!(v, "wire unused = &{{1'b0, {}}};\nendmodule", unused.join(", "));
    v
}
