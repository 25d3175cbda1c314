//! `ddpnic_core`: the NIC core (issue 5): BAR0 registers over AXI-Lite, the offload (the
//! `pdu_tracker`, placement's three blocks, the placement write adapter, the join of frames
//! and verdicts, the command engine), the rx ring writer (frame FIFO, whole-frame drops, slot
//! bursts, completions), the event ring, the tx ring (descriptor and frame fetch by AXI4
//! reads) and the AXI4 write arbiter.
//!
//! Ports: `INTERFACE.md` (exactly). Registers and host-memory formats: the `ddpnic-regmap`
//! crate (`hdl/regmap`), from which this module generates the register file, the read mux,
//! the counters and the command/event codes, so the RTL and `REGMAP.md` cannot disagree.
//! Design and the offload sideband: `README.md` beside this file.
//!
//! The Verilog is hand-written (`template.v` and the offload modules `offload_cmd.v`,
//! `place_write.v`, `rx_join.v`) with generated sections; `tests/core_*.rs`
//! drive it in Verilator (lock-step co-simulation, [`crate::placement::cosim`]) against
//! reference models written from the regmap's contract (ring behaviour, formats, counters).
use crate::placement::tag_table::TagTable;
use crate::framing::tracker;
use crate::placement::{subst, top, PlacementParams};
use ddpnic_regmap as rm;
use std::fmt::Write as _;

pub mod bench;
pub mod harness;


/// Build-time parameters of the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoreParams {
    /// Value of the identity block's BUILD register.
    pub build: u32,
    /// The placement blocks' tables (tags, hash buckets, SGL pool, MPS).
    pub placement: PlacementParams,
    /// Tests only: which internal side of the core becomes top-level `tb_<name>` ports.
    pub sideband_ports: SidebandPorts,
}

/// Test builds: internal signals driven (inputs) or watched (outputs) from Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SidebandPorts {
    /// None: the contract's ports only (INTERFACE.md).
    None,
    /// The ring writer's input (`SIDEBAND`: `rxp_placed`, `rxp_meta_*`, `ofl_stat_placed_bytes`)
    /// is driven from Rust beside the MAC beats, so the ring writer is tested alone.
    Rxp,
    /// The `pdu_tracker` is left out: its outputs (`TRACKER_OUT`: `f_*`, `t_*`,
    /// `c_flow_ready`) are inputs and the command engine's control to it (`TRACKER_CONTROL`)
    /// are outputs, so a test plays the tracker (frames and their stream beats).
    Tracker,
}

/// The offload sideband signals a `SidebandPorts::Rxp` build exposes: (name, width).
pub const SIDEBAND: &[(&str, usize)] = &[
    ("rxp_placed", 64),
    ("rxp_meta_valid", 1),
    ("rxp_meta_flags", 5),
    ("rxp_meta_flow", 12),
    ("rxp_meta_seq", 32),
    ("rxp_meta_nranges", 3),
    ("rxp_meta_ranges", 320),
    ("ofl_stat_placed_bytes", 7),
];

/// The MAC receive port (INTERFACE.md, the tracker's input) and the tracker's control inputs
/// and outputs (framing/TRACKER_PORTS.md), which the core wires by name.
pub use crate::framing::tracker::{CONTROL as TRACKER_CONTROL, MAC_RX, OUTPUTS as TRACKER_OUT};

/// Cycles every frame waits in the join: the longest frame the tracker offloads
/// (`tracker::LONG_BEATS`), its stream span (`tracker::STREAM_SPAN`, framing/TRACKER_PORTS.md),
/// the lookup and placement latency, and the join's own registers (verdict, FIFO), so a
/// tracked frame's verdicts are always known before its first beat leaves.
pub const JOIN_DELAY: usize = tracker::LONG_BEATS + tracker::STREAM_SPAN + TagTable::LOOKUP_LATENCY + top::PLACE_LATENCY + 8;
/// Cycles from a MAC beat to the ring writer's input (`rxp_*`): the tracker, the join's delay
/// and its three output stages.
pub const RX_LATENCY: usize = tracker::FRAME_LATENCY + JOIN_DELAY + 4;
/// FLOW_DEL's event waits this long after the tracker took the delete: longer than any frame
/// already inside the tracker (its frame latency is below JOIN_DELAY) plus placement.
pub const FLOW_DEL_WAIT: usize = 1000;

impl Default for CoreParams {
    fn default() -> Self {
        Self { build: 0x0000_0001, placement: PlacementParams::default(), sideband_ports: SidebandPorts::None }
    }
}

/// Increment of each counter: (Verilog expression, width in bits).
fn counter_inc(name: &str) -> (&'static str, usize) {
    match name {
        "rx_nvme_tcp_sk_add" => ("cnt_sk_add", 1),
        "rx_nvme_tcp_sk_add_fail" => ("cnt_sk_add_fail", 1),
        "rx_nvme_tcp_sk_del" => ("cnt_sk_del", 1),
        "rx_nvme_tcp_setup" => ("cnt_setup", 1),
        "rx_nvme_tcp_setup_fail" => ("cnt_setup_fail", 1),
        "rx_nvme_tcp_teardown" => ("cnt_teardown", 1),
        "rx_nvme_tcp_drop" => ("1'b0", 1),
        "rx_nvme_tcp_resync" => ("cnt_ofl_resync", 1),
        "rx_nvme_tcp_packets" => ("cnt_ofl_packet", 1),
        "rx_nvme_tcp_bytes" => ("ofl_stat_placed_bytes", 7),
        "rx_ddp_dma_busy" => ("ofl_stat_dma_busy", 1),
        "rx_frames" => ("cnt_rx_frame", 1),
        "rx_bytes" => ("cnt_rx_bytes", 16),
        "rx_crc_errors" => ("ofl_stat_crc_error", 1),
        "rx_out_of_sync" => ("ofl_stat_out_of_sync", 1),
        "rx_unknown_cid" => ("ofl_stat_unknown_cid", 1),
        "rx_out_of_bounds" => ("ofl_stat_out_of_bounds", 1),
        "rx_drop_ring_full" => ("cnt_drop_full", 1),
        "tx_frames" => ("cnt_tx_frame", 1),
        "rx_fcs_bad" => ("cnt_fcs_bad", 1),
        "rx_drop_oversize" => ("cnt_drop_oversize", 1),
        "rx_completions" => ("cnt_rx_cpl", 1),
        "tx_bytes" => ("cnt_tx_bytes", 16),
        "tx_bad_desc" => ("cnt_tx_bad", 1),
        "events" => ("cnt_ev", 1),
        "dma_write_errors" => ("cnt_wr_err", 1),
        "dma_read_errors" => ("cnt_rd_err", 1),
        other => panic!("counter {other} has no source in the core"),
    }
}

/// Read value of a read-only register that is not a constant.
fn ro_source(name: &str, params: &CoreParams) -> Option<String> {
    Some(match name {
        "RX_PROD" => "{16'd0, rx_prod}".into(),
        "TX_CONS" => "{16'd0, tx_cons}".into(),
        "EV_PROD" => "{16'd0, ev_prod}".into(),
        "CMD_STATUS" => "{31'd0, cmd_pending}".into(),
        "BUILD" => format!("32'h{:08X}", params.build),
        _ => return None,
    })
}

fn vname(reg: &str) -> String {
    format!("r_{}", reg.to_lowercase())
}

/// `keep_count`: a thermometer t (t[i] = i < n, n = 1..64) to n.
fn keep_count_expr() -> String {
    let bits: Vec<String> = (0..7)
        .rev()
        .map(|b| {
            let step = 1usize << (b + 1);
            let half = 1usize << b;
            let terms: Vec<String> = (0..)
                .map(|k| (k * step + half, (k + 1) * step - 1))
                .take_while(|&(lo, _)| lo <= 64)
                .map(|(lo, hi)| if hi <= 63 { format!("(t[{}] & !t[{hi}])", lo - 1) } else { format!("t[{}]", lo - 1) })
                .collect();
            format!("({})", terms.join(" | "))
        })
        .collect();
    format!("{{{}}}", bits.join(",\n    "))
}

fn generate(params: &CoreParams) -> String {
    let flat = rm::flat();
    let word = |name: &str| format!("14'h{:03X}", rm::addr(name) >> 2);
    let cmd_args: Vec<&rm::FlatReg> = flat.iter().filter(|r| r.name.starts_with("CMD_ARG")).collect();
    // Register file: every RW register, plus CMD_OP (write-only: holds the last word).
    let stored: Vec<&rm::FlatReg> = flat.iter().filter(|r| r.access != rm::Access::Ro).collect();
    let (mut decls, mut resets, mut writes) = (String::new(), String::new(), String::new());
    for r in &stored {
        let v = vname(&r.name);
        let _ = writeln!(decls, "reg [{}:0] {v};", r.bits - 1);
        let _ = writeln!(resets, "    {v} <= {}'d{};", r.bits, r.reset);
        let value = if r.name == "ENABLE" { format!("w1_d[{}:0] & {}'d{}", r.bits - 1, r.bits, caps(params)) } else { format!("w1_d[{}:0]", r.bits - 1) };
        let _ = writeln!(writes, "      if (w1_a == {}) {v} <= {value};", word(&r.name));
    }
    // Read mux, two levels: R2 a register per block (by the offset in the block), R3 the block.
    let (mut rd2_decls, mut rd2_cases, mut rd3_cases) = (String::new(), String::new(), String::new());
    let stats_blk = rm::block(rm::blk::STATS).base >> 8;
    for b in rm::BLOCKS {
        assert_eq!(b.base & 0xFF, 0, "blocks start at multiples of 0x100");
        let k = b.base >> 8;
        let _ = writeln!(rd2_decls, "reg  [31:0] rd2_b{k};");
        let _ = writeln!(rd2_cases, "    case (rd1_a[5:0])");
        for r in flat.iter().filter(|r| r.block == b.name) {
            if b.type_id == rm::blk::STATS && !(r.name.ends_with("_TYPE") || r.name.ends_with("_VERSION") || r.name.ends_with("_NEXT")) {
                continue;
            }
            let expr = if r.access != rm::Access::Ro {
                if r.bits == 32 { vname(&r.name) } else { format!("{{{}'d0, {}}}", 32 - r.bits, vname(&r.name)) }
            } else if r.name == "CAPS" {
                format!("32'd{}", caps(params))
            } else if let Some(e) = ro_source(&r.name, params) {
                e
            } else {
                format!("32'h{:08X}", r.reset)
            };
            let _ = writeln!(rd2_cases, "      6'd{}: rd2_b{k} <= {expr};", (r.addr & 0xFF) >> 2);
        }
        let _ = writeln!(rd2_cases, "      default: rd2_b{k} <= 32'd0;\n    endcase");
        if b.type_id == rm::blk::STATS {
            let _ = writeln!(rd3_cases, "        8'd{k}: s_axil_rdata <= rd2_hdr ? rd2_b{k} : (rd2_hi ? rd_hi_shadow : rd2_cnt[31:0]);");
        } else {
            let _ = writeln!(rd3_cases, "        8'd{k}: s_axil_rdata <= rd2_b{k};");
        }
    }
    let (mut incs, mut counters, mut cnt_cases) = (String::new(), String::new(), String::new());
    for (k, (name, _)) in rm::COUNTERS.iter().enumerate() {
        let (src, w) = counter_inc(name);
        let _ = writeln!(incs, "wire [{}:0] inc_{name} = {src};", w - 1);
        let _ = writeln!(counters, "reg [63:0] c_{name};\nalways @(posedge clk) if (rst) c_{name} <= 64'd0; else c_{name} <= c_{name} + {{{}'d0, inc_{name}}};", 64 - w);
        let _ = writeln!(cnt_cases, "      5'd{}: rd2_cnt <= c_{name};", (rm::counter_addr(k) & 0xFF) >> 3);
    }
    let mask_of: Vec<String> = (0..15).rev().map(|i| format!("(n > 4'd{i})")).collect();
    let mut tx_keep = String::new();
    for i in 0..64 {
        let _ = writeln!(tx_keep, "  tx_last_keep[{i}] <= kl_zero || kl_hi_gt[{}] || (kl_hi_eq[{}] && kl_lo_gt[{}]);", i / 8, i / 8, i % 8);
    }
    let args_cat: Vec<String> = cmd_args.iter().rev().map(|r| vname(&r.name)).collect();
    let range = |w: usize| if w == 1 { String::new() } else { format!("[{}:0] ", w - 1) };
    let (mut test_ports, mut tracker, mut rxp) = (String::new(), String::new(), String::new());
    let mode = params.sideband_ports;
    if mode == SidebandPorts::Tracker {
        for &(name, w) in TRACKER_OUT {
            let _ = writeln!(test_ports, "  input  wire {}tb_{name},", range(w));
            let _ = writeln!(tracker, "assign {name} = tb_{name};");
        }
        for &(name, w) in TRACKER_CONTROL {
            let _ = writeln!(test_ports, "  output wire {}tb_{name},", range(w));
            let _ = writeln!(tracker, "assign tb_{name} = {name};");
        }
        let mac: Vec<&str> = MAC_RX.iter().map(|(n, _)| *n).collect();
        let _ = writeln!(tracker, "wire unused_mac = &{{1'b0, {}}};", mac.join(", "));
    } else {
        let conns: Vec<String> = MAC_RX.iter().chain(TRACKER_CONTROL).chain(TRACKER_OUT).map(|(n, _)| format!(".{n}({n})")).collect();
        let _ = writeln!(tracker, "pdu_tracker tracker(.clock(clk),\n  {});", conns.join(", "));
    }
    let join_out = [("rxp_valid", "j_valid", 1), ("rxp_data", "j_data", 512), ("rxp_keep", "j_keep", 64), ("rxp_last", "j_last", 1), ("rxp_user", "j_user", 1)];
    if mode == SidebandPorts::Rxp {
        let mac = [("rxp_valid", "s_axis_rx_tvalid", 1), ("rxp_data", "s_axis_rx_tdata", 512), ("rxp_keep", "s_axis_rx_tkeep", 64), ("rxp_last", "s_axis_rx_tlast", 1), ("rxp_user", "s_axis_rx_tuser", 1)];
        for (name, src, w) in mac {
            let _ = writeln!(rxp, "wire {}{name} = {src};", range(w));
        }
        for &(name, w) in SIDEBAND {
            let _ = writeln!(test_ports, "  input  wire {}tb_{name},", range(w));
            let _ = writeln!(rxp, "wire {}{name} = tb_{name};", range(w));
        }
        let _ = writeln!(rxp, "wire unused_join = &{{1'b0, j_valid, j_data, j_keep, j_last, j_user, j_placed, j_meta_valid, j_meta_flags, j_meta_flow, j_meta_seq, j_meta_nranges, j_meta_ranges, j_placed_bytes}};");
    } else {
        for (name, src, w) in join_out {
            let _ = writeln!(rxp, "wire {}{name} = {src};", range(w));
        }
        for &(name, w) in SIDEBAND {
            let src = if name == "ofl_stat_placed_bytes" { "j_placed_bytes".to_string() } else { format!("j_{}", name.trim_start_matches("rxp_")) };
            let _ = writeln!(rxp, "wire {}{name} = {src};", range(w));
        }
    }
    let vars: Vec<(&str, String)> = vec![
        ("TEST_PORTS", test_ports),
        ("TRACKER", tracker),
        ("RXP", rxp),
        ("LOOKUP_LATENCY", TagTable::LOOKUP_LATENCY.to_string()),
        ("PLACE_LATENCY", top::PLACE_LATENCY.to_string()),
        ("JOIN_DELAY", JOIN_DELAY.to_string()),
        ("FLOW_DEL_WAIT", FLOW_DEL_WAIT.to_string()),
        ("TAG_BITS", params.placement.tag_bits.to_string()),
        ("PLACEMENT_WIRES", top::INTERNAL_WIRES.to_string()),
        ("A_CMD_OP", word("CMD_OP")),
        ("A_RX_CTRL", word("RX_CTRL")),
        ("A_TX_CTRL", word("TX_CTRL")),
        ("A_EV_CTRL", word("EV_CTRL")),
        ("A_CMD_FIRST", format!("14'h{:03X}", rm::block(rm::blk::COMMAND).base >> 2)),
        ("A_CMD_LAST", format!("14'h{:03X}", (rm::block(rm::blk::COMMAND).base + 0xFC) >> 2)),
        ("RW_DECLS", decls),
        ("RW_RESETS", resets),
        ("RW_WRITES", writes),
        ("CMD_ARGS_CAT", args_cat.join(", ")),
        ("EVS_UNSUPPORTED", rm::ev_status::UNSUPPORTED.to_string()),
        ("EVS_BAD_OPCODE", rm::ev_status::BAD_OPCODE.to_string()),
        ("EVS_PROTOCOL", rm::ev_status::PROTOCOL.to_string()),
        ("OP_FLOW_ADD", rm::op::FLOW_ADD.to_string()),
        ("OP_FLOW_DEL", rm::op::FLOW_DEL.to_string()),
        ("OP_TAG_SETUP", rm::op::TAG_SETUP.to_string()),
        ("OP_TAG_ENTRY", rm::op::TAG_ENTRY.to_string()),
        ("OP_TAG_TEARDOWN", rm::op::TAG_TEARDOWN.to_string()),
        ("OP_RESYNC", rm::op::RESYNC.to_string()),
        ("EV_FLOW_ADD", rm::ev::FLOW_ADD.to_string()),
        ("EV_FLOW_DEL", rm::ev::FLOW_DEL.to_string()),
        ("EV_SETUP", rm::ev::SETUP.to_string()),
        ("EV_TEARDOWN_DONE", rm::ev::TEARDOWN_DONE.to_string()),
        ("EV_CMD_ERROR", rm::ev::CMD_ERROR.to_string()),
        ("MASK_OF", format!("{{1'b0, {}}}", mask_of.join(", "))),
        ("KEEP_COUNT", keep_count_expr()),
        ("TX_KEEP", tx_keep),
        ("MAX_FRAME", rm::MAX_FRAME.to_string()),
        ("COUNTER_INCS", incs),
        ("COUNTERS", counters),
        ("RD2_DECLS", rd2_decls),
        ("RD2_CASES", rd2_cases),
        ("RD3_CASES", rd3_cases),
        ("STATS_BLK", stats_blk.to_string()),
        ("CNT_CASES", cnt_cases),
    ];
    let mut v = subst(TEMPLATE, &vars);
    // The sub-modules share the core's file (`make verilog` writes one file per top block).
    v.push_str("\n// verilator lint_off DECLFILENAME\n");
    v.push_str(&subst(OFFLOAD_CMD, &vars));
    v.push_str(PLACE_WRITE);
    v.push_str(RX_JOIN);
    v.push_str(&top::blocks_verilog(&params.placement));
    if mode != SidebandPorts::Tracker {
        v.push_str(&tracker::verilog());
    }
    v
}

/// CAPS of this build: DDP and DDGST receive (the offload is always built in).
fn caps(_params: &CoreParams) -> u32 {
    rm::caps::NVME_TCP_DDP | rm::caps::NVME_TCP_DDGST_RX
}

const TEMPLATE: &str = include_str!("template.v");
const OFFLOAD_CMD: &str = include_str!("offload_cmd.v");
const PLACE_WRITE: &str = include_str!("place_write.v");
const RX_JOIN: &str = include_str!("rx_join.v");


/// The Verilog of `ddpnic_core` and its sub-modules (offload engine, placement write adapter,
/// rx join, placement's three blocks, `pdu_tracker`), top module `ddpnic_core`.
pub fn verilog(params: &CoreParams) -> String {
    generate(params)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keep_count_matches_popcount() {
        // Evaluate the generated expression in Rust for every n.
        let expr = super::keep_count_expr();
        for n in 1..=64usize {
            let t = |i: usize| i < n;
            let bits: Vec<bool> = expr
                .trim_matches(|c| c == '{' || c == '}')
                .split(",\n    ")
                .map(|group| {
                    group.trim_matches(|c| c == '(' || c == ')').split(" | ").any(|term| {
                        let idx: Vec<usize> = term.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
                        if idx.len() == 2 { t(idx[0]) && !t(idx[1]) } else { t(idx[0]) }
                    })
                })
                .collect();
            let v = bits.iter().fold(0usize, |acc, &b| (acc << 1) | b as usize);
            assert_eq!(v, n, "keep_count of {n} bytes");
        }
    }
}
