//! The three placement blocks wired together (`placement` module), for system tests and the
//! bench. Latencies: lookup `TagTable::LOOKUP_LATENCY`, placement `PLACE_LATENCY` (13) from
//! `s_place_*` to `m_dma_*`/`m_place_*`.
use super::cosim::{self, Model, Port};
use super::dma_writer::DmaWriter;
use super::sgl_store::SglStore;
use super::tag_table::TagTable;
use super::PlacementParams;
use crate::testbench::verilog_for;
use std::path::Path;

/// Clock edges from `s_place_*` to `m_place_*`/`m_dma_*`, counting the edge that samples it.
pub const PLACE_LATENCY: usize = SglStore::PLACE_LATENCY + DmaWriter::DMA_LATENCY;

fn ports(list: &[(&str, usize)]) -> Vec<Port> {
    list.iter().map(|&(n, w)| (n.to_string(), w)).collect()
}

pub fn inputs() -> Vec<Port> {
    ports(&[
        ("s_ctrl_valid", 1), ("s_ctrl_op", 2), ("s_ctrl_tag", 16), ("s_ctrl_flow", 12), ("s_ctrl_cid", 16),
        ("s_ctrl_base", 24), ("s_ctrl_count", 9), ("s_ctrl_addr", 64), ("s_ctrl_len", 32), ("m_event_ready", 1),
        ("s_lookup_valid", 1), ("s_lookup_flow", 12), ("s_lookup_cid", 16),
        ("s_place_valid", 1), ("s_place_flow", 12), ("s_place_tag", 16), ("s_place_gen", 8), ("s_place_offset", 32),
        ("s_place_lane", 6), ("s_place_count", 7), ("s_place_data", 512),
    ])
}

pub fn outputs() -> Vec<Port> {
    ports(&[
        ("s_ctrl_ready", 1), ("m_event_valid", 1), ("m_event_kind", 2), ("m_event_tag", 16), ("m_event_status", 4),
        ("m_lookup_valid", 1), ("m_lookup_hit", 1), ("m_lookup_tag", 16), ("m_lookup_gen", 8),
        ("m_dma_valid", 1), ("m_dma_tag", 16), ("m_dma_data", 512), ("m_dma_seg_valid", 4), ("m_dma_seg_addr", 256),
        ("m_dma_seg_count", 28), ("m_dma_seg_lane", 24), ("m_dma_seg_sop", 4), ("m_dma_seg_eop", 4),
        ("m_place_valid", 1), ("m_place_ok", 1), ("m_place_reason", 3), ("m_done_valid", 1), ("m_done_tag", 16),
        ("m_stat_lookup_miss", 32), ("m_stat_setups", 32), ("m_stat_setup_fails", 32), ("m_stat_teardowns", 32),
        ("m_stat_placed_beats", 32), ("m_stat_placed_bytes", 48), ("m_stat_bad_input", 32), ("m_stat_not_live", 32),
        ("m_stat_wrong_flow", 32), ("m_stat_stale", 32), ("m_stat_out_of_bounds", 32),
    ])
}

/// Verilog of the three blocks (`placement_tags`, `placement_sgl`, `placement_dma`).
pub fn blocks_verilog(params: &PlacementParams) -> String {
    let mut v = String::new();
    v.push_str(&verilog_for(&mut TagTable::new(*params), "placement_tags"));
    v.push_str(&verilog_for(&mut SglStore::new(*params), "placement_sgl"));
    v.push_str(&verilog_for(&mut DmaWriter::new(*params), "placement_dma"));
    v
}

/// The wires between the three blocks (`placement_tags` -> `placement_sgl`: descriptors,
/// entries, teardown tokens; `placement_sgl` -> `placement_dma`: resolved beats), declared by
/// every module that wires them (`placement` here, `ddpnic_core`).
pub const INTERNAL_WIRES: &str = "wire desc_we, desc_live, token_valid, entry_we, entry_l1;\n\
wire [15:0] desc_tag, token_tag;\n\
wire [7:0] desc_gen, desc_last;\n\
wire [11:0] desc_flow;\n\
wire [23:0] desc_base, entry_index;\n\
wire [31:0] desc_total, entry_start;\n\
wire [63:0] entry_addr;\n\
wire res_valid, res_ok, res_token_valid;\n\
wire [2:0] res_reason;\n\
wire [15:0] res_tag, res_token_tag;\n\
wire [5:0] res_lane;\n\
wire [6:0] res_count, res_b1;\n\
wire [63:0] res_a1, res_a2;\n\
wire [511:0] res_data;\n\
";

/// Verilog of the three blocks and the `placement` module that wires them.
pub fn verilog(params: &PlacementParams) -> String {
    let mut v = blocks_verilog(params);
    let decl = |dir: &str, (name, w): &Port| if *w == 1 { format!("  {dir} wire {name}") } else { format!("  {dir} wire [{}:0] {name}", w - 1) };
    let mut io: Vec<String> = vec!["  input wire clock".into()];
    io.extend(inputs().iter().map(|p| decl("input", p)));
    io.extend(outputs().iter().map(|p| decl("output", p)));
    v.push_str(&format!(
        "
module placement(
{}
);
{}placement_tags tags(.*,
  .m_desc_we(desc_we), .m_desc_tag(desc_tag), .m_desc_live(desc_live), .m_desc_gen(desc_gen), .m_desc_flow(desc_flow),
  .m_desc_base(desc_base), .m_desc_last(desc_last), .m_desc_total(desc_total), .m_token_valid(token_valid), .m_token_tag(token_tag),
  .m_entry_we(entry_we), .m_entry_index(entry_index), .m_entry_addr(entry_addr), .m_entry_start(entry_start), .m_entry_l1(entry_l1),
  .s_done_valid(m_done_valid), .s_done_tag(m_done_tag));
placement_sgl sgl(.*,
  .s_desc_we(desc_we), .s_desc_tag(desc_tag), .s_desc_live(desc_live), .s_desc_gen(desc_gen), .s_desc_flow(desc_flow),
  .s_desc_base(desc_base), .s_desc_last(desc_last), .s_desc_total(desc_total), .s_token_valid(token_valid), .s_token_tag(token_tag),
  .s_entry_we(entry_we), .s_entry_index(entry_index), .s_entry_addr(entry_addr), .s_entry_start(entry_start), .s_entry_l1(entry_l1),
  .m_res_valid(res_valid), .m_res_ok(res_ok), .m_res_reason(res_reason), .m_res_tag(res_tag), .m_res_lane(res_lane),
  .m_res_count(res_count), .m_res_a1(res_a1), .m_res_b1(res_b1), .m_res_a2(res_a2), .m_res_data(res_data),
  .m_res_token_valid(res_token_valid), .m_res_token_tag(res_token_tag));
placement_dma dma(.*,
  .s_res_valid(res_valid), .s_res_ok(res_ok), .s_res_reason(res_reason), .s_res_tag(res_tag), .s_res_lane(res_lane),
  .s_res_count(res_count), .s_res_a1(res_a1), .s_res_b1(res_b1), .s_res_a2(res_a2), .s_res_data(res_data),
  .s_res_token_valid(res_token_valid), .s_res_token_tag(res_token_tag));
endmodule
",
        io.join(",\n"),
        INTERNAL_WIRES
    ));
    v
}

/// Builds the `placement` model with Verilator in `dir` (reused when the sources are unchanged).
pub fn build(dir: &Path, params: &PlacementParams) -> Result<Model, String> {
    cosim::build(dir, &verilog(params), "placement", "clock", inputs(), outputs())
}
