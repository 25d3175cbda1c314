//! `pdu_tracker`: the receive front end, MAC beats in, frames and PDU-annotated tracker
//! streams out (ports: framing/TRACKER_PORTS.md). It wires the blocks of this folder:
//!
//! ```text
//! MAC -> header_parser -> pdu_frame_delay -> pdu_seq_gate -> pdu_stream_aligner -> pdu_tail_store
//!          | m_sof: 5-tuple     ^ metadata word per frame         |                      |
//!          v                    |                                 v f_* (frames)         v
//!        flow_table --> flow, verdicts, seq, payload            lookahead pairing + queue config
//!                                                                  -> pdu_lane_decoder -> pdu_chain_walk
//!                                                                  -> pdu_data_map -> t_* (streams)
//! ```
//!
//! Glue kept here (the rest is in the blocks): the flow lookup at a frame's first parsed beat
//! and the metadata word at its last (frames of more than `LONG_BEATS` beats get theirs early
//! and are never offloaded, so the delay line always has a frame's metadata in time); the
//! per-flow queue config (digests, CPDA, the C2HData PDO) written at sk_add; the frame offset
//! of each stream; the stream beat held one cycle so it meets its successor (the decoder's and
//! data map's lookahead); delay lines that keep each beat's side information beside the
//! decoder and walk; the resync handshake around the walk's search: each stream beat's TCP
//! sequence number, the request (the confirming header's first byte, framing/README.md) kept
//! per flow with its epoch and reported on the stream's last beat, and `c_resync_*` checked
//! against it, a match marking the flow's epoch confirmed for its next stream; the data
//! digests: each beat's CRC segment from the data map into `Crc32cStream` with the flow's
//! saved register (continued, resumed, or restored from the unit's output or a per-flow RAM)
//! and the frame's crc_ok at its last beat, the streams delayed `CRC_DELAY` cycles to meet it.
//!
//! Latency: `f_*` leave `FRAME_LATENCY` cycles after the MAC beat; a stream beat leaves at most
//! `STREAM_SPAN` cycles after its frame's last `f_*` beat. One beat per cycle, never stalls.
use super::chain_walk::{PduChainWalk64, TAIL};
use crate::crc32c::stream::Crc32cStream64;
use super::data_map::PduDataMap;
use super::frame_delay::{PduFrameDelay, DELAY};
use super::lane_decoder::{PduLaneDecoder64, LOOKAHEAD_BITS};
use super::pdu_rules::QueueConfig;
use super::seq_gate::PduSeqGate;
use super::stream_aligner::PduStreamAligner;
use super::tail_store::PduTailStore;
use crate::flow::flow_table::FlowTable4096;
use crate::flow::toeplitz::FiveTuple;
use crate::parser::HeaderParser64;
use crate::placement::cosim::{self, CoSim, Model, Port};
use crate::receive_model::{DataRun, TrackerBeat};
use crate::testbench::verilog_for;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

/// Parser latency (an input sampled at edge t is on its outputs after edge t + LATENCY - 1).
const PARSER_LATENCY: usize = HeaderParser64::LATENCY;
/// Frames longer than this get their metadata word early and are not offloaded.
pub const LONG_BEATS: usize = DELAY - 10;
/// Clock edges from a MAC beat to its `f_*` beat.
pub const FRAME_LATENCY: usize = PARSER_LATENCY + DELAY + PduSeqGate::LATENCY;
/// Cycles from the data map's output to `t_*`: a register, then the CRC32C unit, so that a
/// stream's digest verdicts are known at its last beat.
pub const CRC_DELAY: usize = 1 + Crc32cStream64::LATENCY;
/// Cycles from a frame's last `f_*` beat to its last `t_*` beat, at most.
pub const STREAM_SPAN: usize = 48 + CRC_DELAY;
/// Bits of a stream beat's side information delayed beside its data (`vo` in the Verilog).
const OUT_BUNDLE: usize = 3 + 7 + 12 + 16 + 1 + 6 + 7 + 16 + 32 + 1 + 3 + 48 + 1 + 1 + 1 + 32 + 1;

fn ports(list: &[(&str, usize)]) -> Vec<Port> {
    list.iter().map(|&(n, w)| (n.to_string(), w)).collect()
}

/// The MAC receive beats in.
pub const MAC_RX: &[(&str, usize)] =
    &[("s_axis_rx_tdata", 512), ("s_axis_rx_tkeep", 64), ("s_axis_rx_tvalid", 1), ("s_axis_rx_tlast", 1), ("s_axis_rx_tuser", 1)];

/// Flow writes and resync confirmations in (TRACKER_PORTS.md).
pub const CONTROL: &[(&str, usize)] = &[
    ("c_flow_valid", 1), ("c_flow_add", 1), ("c_flow_id", 12), ("c_flow_ipv6", 1), ("c_flow_src_addr", 128), ("c_flow_dst_addr", 128),
    ("c_flow_src_port", 16), ("c_flow_dst_port", 16), ("c_flow_seq", 32), ("c_flow_hdgst", 1), ("c_flow_ddgst", 1), ("c_flow_cpda", 5),
    ("c_resync_valid", 1), ("c_resync_flow", 12), ("c_resync_seq", 32),
];

/// Frames, streams and the control port's ready out (TRACKER_PORTS.md).
pub const OUTPUTS: &[(&str, usize)] = &[
    ("c_flow_ready", 1),
    ("f_valid", 1), ("f_data", 512), ("f_keep", 64), ("f_last", 1), ("f_user", 1),
    ("f_meta_ip_csum_ok", 1), ("f_meta_tcp_csum_ok", 1), ("f_meta_flow_valid", 1), ("f_meta_flow", 12), ("f_meta_tracked", 1),
    ("t_valid", 1), ("t_data", 512), ("t_first", 1), ("t_last", 1), ("t_len", 7), ("t_flow", 12), ("t_frame_offset", 16),
    ("t_run_valid", 1), ("t_run_lane", 6), ("t_run_len", 7), ("t_run_cid", 16), ("t_run_offset", 32), ("t_run_second", 1),
    ("t_cpl_valid", 3), ("t_cpl_cid", 48), ("t_lost", 1), ("t_crc_ok", 1), ("t_crc_bad", 1), ("t_resync_valid", 1), ("t_resync_seq", 32),
];

pub fn inputs() -> Vec<Port> {
    ports(&[MAC_RX, CONTROL].concat())
}

pub fn outputs() -> Vec<Port> {
    ports(OUTPUTS)
}

/// `<name>_d<depth>`: `input` delayed by `depth` cycles in a shift register (SRL-friendly:
/// no reset, no enable).
fn delay_line(v: &mut String, name: &str, width: usize, depth: usize, input: &str) {
    let bits = width * depth;
    let _ = writeln!(v, "reg [{}:0] {name}_line = {bits}'d0;", bits - 1);
    if depth == 1 {
        let _ = writeln!(v, "always @(posedge clock) {name}_line <= {input};");
    } else {
        let _ = writeln!(v, "always @(posedge clock) {name}_line <= {{{name}_line[{}:0], {input}}};", width * (depth - 1) - 1);
    }
    let _ = writeln!(v, "wire [{}:0] {name}_d{depth} = {name}_line[{}:{}];", width - 1, bits - 1, bits - width);
}

/// `rx_len`, the bytes of a MAC beat, from its contiguous `s_axis_rx_tkeep`.
fn keep_count() -> String {
    let bit = |k: usize| {
        let taps: Vec<String> = (1..).map(|m| m * (1 << k) - 1).take_while(|&i| i < 63).map(|i| format!("s_axis_rx_tkeep[{i}]")).collect();
        if taps.is_empty() { "1'b0".to_string() } else { taps.join(" ^ ") }
    };
    let bits: Vec<String> = (0..6).rev().map(bit).collect();
    format!("wire [6:0] rx_len = s_axis_rx_tkeep[63] ? 7'd64 : {{1'b0, {}}};\n", bits.iter().map(|b| format!("({b})")).collect::<Vec<_>>().join(", "))
}

/// The C2HData PDO of every (hdgst, cpda) as a case list.
fn pdo_cases() -> String {
    let mut cases = String::new();
    for hdgst in [false, true] {
        for cpda in 0..32u8 {
            let pdo = QueueConfig { hdgst, ddgst: false, cpda }.data_pdo();
            let _ = writeln!(cases, "    6'd{}: cfg_pdo = 8'd{};", usize::from(hdgst) << 5 | usize::from(cpda), pdo.min(255));
        }
    }
    cases
}

/// Verilog of the blocks and of the `pdu_tracker` module that wires them.
pub fn verilog() -> String {
    let mut v = tracker_module();
    v.push_str(&verilog_for(&mut HeaderParser64::new(), "header_parser"));
    v.push_str(&verilog_for(&mut FlowTable4096::new(), "flow_table"));
    v.push_str(&verilog_for(&mut PduFrameDelay::new(), "pdu_frame_delay"));
    v.push_str(&verilog_for(&mut PduSeqGate::new(), "pdu_seq_gate"));
    v.push_str(&verilog_for(&mut PduStreamAligner::new(), "pdu_stream_aligner"));
    v.push_str(&verilog_for(&mut PduTailStore::new(), "pdu_tail_store"));
    v.push_str(&verilog_for(&mut PduLaneDecoder64::new(), "pdu_lane_decoder"));
    v.push_str(&verilog_for(&mut PduChainWalk64::new(), "pdu_chain_walk"));
    v.push_str(&verilog_for(&mut PduDataMap::new(), "pdu_data_map"));
    v.push_str(&verilog_for(&mut Crc32cStream64::new(), "crc32c_stream"));
    v
}

/// The `pdu_tracker` module itself.
fn tracker_module() -> String {
    let mut v = String::new();
    let decl = |dir: &str, (name, w): &Port| if *w == 1 { format!("  {dir} wire {name}") } else { format!("  {dir} wire [{}:0] {name}", w - 1) };
    let mut io: Vec<String> = vec!["  input wire clock".into()];
    io.extend(inputs().iter().map(|p| decl("input", p)));
    io.extend(outputs().iter().map(|p| decl("output", p)));
    let _ = write!(v, "module pdu_tracker(\n{}\n);\n", io.join(",\n"));
    let to_walk = PduLaneDecoder64::LATENCY;
    let to_map = to_walk + PduChainWalk64::LATENCY;
    let _ = write!(
        v,
        "// ---- MAC -> parser; the flow lookup at a frame's first parsed beat.
// Bytes of the beat from its keep, a thermometer code: bit k of the count is the parity of
// how many of keep bits m * 2^k - 1 (m = 1, 2, ...) are set (XOR trees), 64 when the last
// lane is kept.
{rx_len}wire p_valid, p_last, p_sof, p_ipv4, p_ipv6, p_is_tcp, p_hdr_ok, p_hdr_cut, p_ip_csum_ok, p_tcp_csum_ok, p_offload_ok;
wire [511:0] p_data;
wire [6:0] p_len;
wire [127:0] p_src_ip, p_dst_ip;
wire [15:0] p_src_port, p_dst_port, p_payload_start, p_payload_len;
wire [31:0] p_seq;
// The parser's outputs the tracker does not use.
wire [63:0] p_payload_lanes;
wire [11:0] p_vlan_id, p_tcp_flags;
wire [31:0] p_ack;
wire p_vlan, p_ip_fragment, p_ip6_ext, p_hdr_candidate, p_truncated;
header_parser parser(.clock(clock), .s_valid(s_axis_rx_tvalid), .s_data(s_axis_rx_tdata), .s_len(rx_len), .s_last(s_axis_rx_tlast),
  .m_valid(p_valid), .m_data(p_data), .m_len(p_len), .m_last(p_last), .m_sof(p_sof), .m_payload(p_payload_lanes), .m_vlan(p_vlan),
  .m_vlan_id(p_vlan_id), .m_ipv4(p_ipv4), .m_ipv6(p_ipv6), .m_is_tcp(p_is_tcp), .m_ip_fragment(p_ip_fragment), .m_ip6_ext(p_ip6_ext),
  .m_ip_csum_ok(p_ip_csum_ok), .m_hdr_ok(p_hdr_ok), .m_hdr_cut(p_hdr_cut), .m_hdr_candidate(p_hdr_candidate), .m_src_ip(p_src_ip),
  .m_dst_ip(p_dst_ip), .m_src_port(p_src_port), .m_dst_port(p_dst_port), .m_seq(p_seq), .m_ack(p_ack), .m_tcp_flags(p_tcp_flags),
  .m_payload_start(p_payload_start), .m_payload_len(p_payload_len), .m_truncated(p_truncated), .m_tcp_csum_ok(p_tcp_csum_ok),
  .m_offload_ok(p_offload_ok));
// The parser gives addresses first byte most significant (IPv4 in bits 31:0); the flow table
// takes byte k in bits 8k+7..8k.
function [127:0] addr_bytes(input [127:0] a, input v6);
  integer k;
  begin
    addr_bytes = 128'd0;
    for (k = 0; k < 16; k = k + 1) if (v6) addr_bytes[8*k +: 8] = a[120 - 8*k +: 8];
    for (k = 0; k < 4; k = k + 1) if (!v6) addr_bytes[8*k +: 8] = a[24 - 8*k +: 8];
  end
endfunction
wire ft_valid, ft_hit;
wire [11:0] ft_flow;
wire flow_take;
flow_table flows(.clock(clock), .s_valid(p_valid && p_sof), .s_ipv6(p_ipv6), .s_src_addr(addr_bytes(p_src_ip, p_ipv6)),
  .s_dst_addr(addr_bytes(p_dst_ip, p_ipv6)), .s_src_port(p_src_port), .s_dst_port(p_dst_port),
  .m_valid(ft_valid), .m_hit(ft_hit), .m_flow(ft_flow),
  .c_valid(flow_take), .c_add(c_flow_add), .c_flow(c_flow_id), .c_ipv6(c_flow_ipv6), .c_src_addr(c_flow_src_addr),
  .c_dst_addr(c_flow_dst_addr), .c_src_port(c_flow_src_port), .c_dst_port(c_flow_dst_port));
// ---- The metadata word: the flow result arrives {flow_lat} cycles after a frame's first parsed
// beat, the verdicts at its last, so the verdicts wait {flow_lat} cycles and meet the latest
// result, which is the frame's (the next frame's lookup is at least a cycle later).
{fcs_line}wire p_fcs_bad = fcs_d{pl};
reg ft_hit_held = 1'b0;
reg [11:0] ft_flow_held = 12'd0;
always @(posedge clock) if (ft_valid) begin ft_hit_held <= ft_hit; ft_flow_held <= ft_flow; end
wire flow_hit = ft_valid ? ft_hit : ft_hit_held;
wire [11:0] flow_id = ft_valid ? ft_flow : ft_flow_held;
// Beats of the frame before this one, and whether its word left early.
reg [7:0] p_beats = 8'd0;
reg p_early_sent = 1'b0;
wire [7:0] p_index = p_sof ? 8'd0 : p_beats;
wire p_early = p_valid && !p_last && p_index == 8'd{long1};
always @(posedge clock) if (p_valid) begin
  p_beats <= p_index == 8'd255 ? p_index : p_index + 8'd1;
  p_early_sent <= p_early || (!p_sof && p_early_sent);
end
// {{fcs_bad, tcp_ok, ip_ok, payload_len[13:0], payload_start[13:0], seq, offload_ok, flow_ok}}
wire p_flow_ok = p_is_tcp && p_hdr_ok && !p_hdr_cut;
wire [64:0] p_verdict = {{p_fcs_bad, p_tcp_csum_ok, p_ip_csum_ok, p_payload_len[13:0], p_payload_start[13:0], p_seq,
  p_offload_ok && !p_fcs_bad, p_flow_ok}};
reg [64:0] verdict_line [1:{flow_lat}];
reg [{flow_lat}:1] verdict_valid = {flow_lat}'d0;
integer vl_i;
initial for (vl_i = 1; vl_i <= {flow_lat}; vl_i = vl_i + 1) verdict_line[vl_i] = 65'd0;
always @(posedge clock) begin
  verdict_line[1] <= p_verdict;
  verdict_valid[1] <= p_valid && p_last && !(p_early_sent && !p_sof);
  for (vl_i = 2; vl_i <= {flow_lat}; vl_i = vl_i + 1) begin verdict_line[vl_i] <= verdict_line[vl_i - 1]; verdict_valid[vl_i] <= verdict_valid[vl_i - 1]; end
end
wire [64:0] verdict = verdict_line[{flow_lat}];
wire meta_late = verdict_valid[{flow_lat}];
// Metadata: {{fcs_bad, tcp_ok, ip_ok, payload_len, payload_start, seq, offloadable, flow, flow_valid}}.
wire meta_valid = meta_late || p_early;
wire [127:0] meta = meta_late
  ? {{51'd0, verdict[64:2], verdict[1] && verdict[0] && flow_hit, flow_id, verdict[0] && flow_hit}}
  : {{51'd0, 3'd0, 28'd0, 32'd0, 1'b0, flow_id, p_flow_ok && flow_hit}};
wire fd_valid, fd_sof, fd_eof;
wire [511:0] fd_data;
wire [6:0] fd_len;
wire [127:0] fd_meta;
pdu_frame_delay frames(.clock(clock), .s_valid(p_valid), .s_data(p_data), .s_sof(p_sof), .s_eof(p_last), .s_len(p_len),
  .s_meta_valid(meta_valid), .s_meta(meta), .m_valid(fd_valid), .m_data(fd_data), .m_sof(fd_sof), .m_eof(fd_eof), .m_len(fd_len),
  .m_meta(fd_meta));
// ---- Sequence gate; flow writes go to the gate, the flow table and the queue config together.
wire g_valid, g_sof, g_offload, g_restart, g_lose, g_ready;
wire [511:0] g_data;
wire [11:0] g_flow;
wire [13:0] g_start, g_len;
assign flow_take = c_flow_valid && g_ready;
assign c_flow_ready = g_ready;
pdu_seq_gate gate(.clock(clock), .s_valid(fd_valid), .s_data(fd_data), .s_sof(fd_sof), .s_flow_valid(fd_meta[0]),
  .s_flow(fd_meta[12:1]), .s_offloadable(fd_meta[13]), .s_seq(fd_meta[45:14]), .s_payload_start(fd_meta[59:46]),
  .s_payload_len(fd_meta[73:60]), .c_valid(c_flow_valid), .c_ready(g_ready), .c_add(c_flow_add), .c_flow(c_flow_id),
  .c_seq(c_flow_seq), .m_valid(g_valid), .m_data(g_data), .m_sof(g_sof), .m_flow(g_flow), .m_offload(g_offload),
  .m_start(g_start), .m_len(g_len), .m_restart(g_restart), .m_lose(g_lose));
// Queue config per flow: {{hdgst, ddgst, cpda, C2HData PDO}}.
reg [7:0] cfg_pdo;
always @*
  case ({{c_flow_hdgst, c_flow_cpda}})
{pdo_cases}    default: cfg_pdo = 8'd24;
  endcase
reg [14:0] cfg_ram [0:4095];
integer cfg_i;
initial for (cfg_i = 0; cfg_i < 4096; cfg_i = cfg_i + 1) cfg_ram[cfg_i] = 15'd0;
always @(posedge clock) if (flow_take && c_flow_add) cfg_ram[c_flow_id] <= {{c_flow_hdgst, c_flow_ddgst, c_flow_cpda, cfg_pdo}};
// ---- Frames out: the gate's beats with the delay line's end of frame, length and metadata.
{frame_lines}reg [127:0] f_meta_held = 128'd0;
reg f_tracked_held = 1'b0;
always @(posedge clock) if (g_valid && g_sof) begin f_meta_held <= fdm_d{gl}; f_tracked_held <= g_offload; end
wire [127:0] f_meta_now = g_sof ? fdm_d{gl} : f_meta_held;
assign f_valid = g_valid;
assign f_data = g_data;
assign f_last = fde_d{gl};
assign f_keep = ~(64'hFFFF_FFFF_FFFF_FFFF << fdl_d{gl});
assign f_user = usr_d{fl};
assign f_meta_flow_valid = f_meta_now[0];
assign f_meta_flow = f_meta_now[12:1];
assign f_meta_ip_csum_ok = f_meta_now[74];
assign f_meta_tcp_csum_ok = f_meta_now[75];
assign f_meta_tracked = g_sof ? g_offload : f_tracked_held;
// ---- Streams: aligner, tail store, the frame offset of each stream (a queue: streams leave
// in frame order, a few cycles after their frame's first beat).
wire a_valid, a_first, a_last, a_restart, a_lose;
wire [511:0] a_data;
wire [6:0] a_len, a_stop;
wire [11:0] a_flow;
pdu_stream_aligner aligner(.clock(clock), .s_valid(g_valid), .s_data(g_data), .s_sof(g_sof), .s_offload(g_offload),
  .s_payload_start(g_start), .s_payload_len(g_len), .s_flow(g_flow), .s_restart(g_restart), .s_lose(g_lose),
  .m_valid(a_valid), .m_data(a_data), .m_first(a_first), .m_last(a_last), .m_len(a_len), .m_stop(a_stop), .m_flow(a_flow),
  .m_restart(a_restart), .m_lose(a_lose));
wire ts_valid, ts_first, ts_last, ts_restart, ts_lose;
wire [511:0] ts_data;
wire [6:0] ts_len, ts_stop;
wire [11:0] ts_flow;
pdu_tail_store tails(.clock(clock), .s_valid(a_valid), .s_data(a_data), .s_first(a_first), .s_last(a_last), .s_len(a_len),
  .s_stop(a_stop), .s_flow(a_flow), .s_restart(a_restart), .s_lose(a_lose), .m_valid(ts_valid), .m_data(ts_data),
  .m_first(ts_first), .m_last(ts_last), .m_len(ts_len), .m_stop(ts_stop), .m_flow(ts_flow), .m_restart(ts_restart), .m_lose(ts_lose));
// {{old bytes skipped, sequence number of the stream's lane 0, frame offset of its lane 0}}:
// the first new byte is the frame's sequence number plus the old bytes the gate skipped.
reg [48:0] fo_queue [0:7];
reg [2:0] fo_wr = 3'd0, fo_rd = 3'd0;
integer fo_i;
initial for (fo_i = 0; fo_i < 8; fo_i = fo_i + 1) fo_queue[fo_i] = 49'd0;
wire [31:0] g_first_seq = fdm_d{gl}[45:14] + {{18'd0, g_start - fdm_d{gl}[59:46]}};
always @(posedge clock) begin
  if (g_valid && g_sof && g_offload) begin
    fo_queue[fo_wr] <= {{g_start != fdm_d{gl}[59:46], g_first_seq - 32'd{tail}, {{2'd0, g_start}} - 16'd{tail}}};
    fo_wr <= fo_wr + 3'd1;
  end
  if (ts_valid && ts_first) fo_rd <= fo_rd + 3'd1;
end
// ---- Lookahead pairing: a beat is held a cycle and leaves with its successor's first bytes;
// the flow's queue config is read meanwhile.
reg h_valid = 1'b0, h_first = 1'b0, h_last = 1'b0, h_restart = 1'b0, h_lose = 1'b0, h_partial = 1'b0;
reg [511:0] h_data = 512'd0;
reg [6:0] h_len = 7'd0, h_stop = 7'd0;
reg [11:0] h_flow = 12'd0;
reg [15:0] h_frame_offset = 16'd0;
reg [31:0] h_seq = 32'd0;
reg [14:0] h_cfg = 15'd0;
always @(posedge clock) begin
  h_valid <= ts_valid; h_first <= ts_first; h_last <= ts_last; h_restart <= ts_restart; h_lose <= ts_lose;
  h_data <= ts_data; h_len <= ts_len; h_stop <= ts_stop; h_flow <= ts_flow;
  h_cfg <= cfg_ram[ts_flow];
  if (ts_valid) h_frame_offset <= ts_first ? fo_queue[fo_rd][15:0] : h_frame_offset + 16'd64;
  if (ts_valid) h_seq <= ts_first ? fo_queue[fo_rd][47:16] : h_seq + 32'd64;
  if (ts_valid && ts_first) h_partial <= fo_queue[fo_rd][48];
end
wire [511:0] h_next = ts_data;
// {{first, last, restart, lose, len, stop}}
wire [17:0] h_side = {{h_first, h_last, h_restart, h_lose, h_len, h_stop}};
wire dec_valid;
wire [63:0] dec_ok;
wire [2047:0] dec_plen;
pdu_lane_decoder decoder(.clock(clock), .s_valid(h_valid), .s_data(h_data), .s_next(h_next[{la1}:0]), .s_hdgst(h_cfg[14]),
  .s_ddgst(h_cfg[13]), .s_cpda(h_cfg[12:8]), .m_valid(dec_valid), .m_header_ok(dec_ok), .m_plen(dec_plen));
// Beside the decoder: what the walk needs; beside decoder and walk: what the data map needs.
{side_lines}// ---- Resync: per flow the last request {{epoch, seq}} and the confirmed epoch {{valid, epoch}},
// read for the walk beside its input (only first beats use it).
reg [35:0] req_ram [0:4095];
reg [4:0] confirm_ram [0:4095];
integer rs_i;
initial for (rs_i = 0; rs_i < 4096; rs_i = rs_i + 1) begin req_ram[rs_i] = 36'd0; confirm_ram[rs_i] = 5'd0; end
reg [4:0] confirm_read = 5'd0;
always @(posedge clock) confirm_read <= confirm_ram[h_flow_walk];
wire w_valid, w_lost, w_shadow, w_cshadow, w_request;
wire [63:0] w_headers;
wire [31:0] w_next_dist, w_dist;
wire [17:0] w_hdr_lane;
wire [2:0] w_hdr_valid;
wire [5:0] w_request_lane;
wire [3:0] w_request_epoch;
pdu_chain_walk walk(.clock(clock), .s_valid(dec_valid), .s_header_ok(dec_ok), .s_plen(dec_plen), .s_flow(wf_d{tw}),
  .s_first(ws_d{tw}[17]), .s_stop(ws_d{tw}[6:0]), .s_restart(ws_d{tw}[15]), .s_restart_dist(32'd{tail}), .s_lose(ws_d{tw}[14]),
  .s_confirm(confirm_read[4]), .s_confirm_epoch(confirm_read[3:0]),
  .m_valid(w_valid), .m_headers(w_headers), .m_lost(w_lost), .m_next_dist(w_next_dist), .m_dist(w_dist), .m_shadow(w_shadow),
  .m_carried_shadow(w_cshadow), .m_request(w_request), .m_request_lane(w_request_lane), .m_request_epoch(w_request_epoch),
  .m_hdr_lane(w_hdr_lane), .m_hdr_valid(w_hdr_valid));
// A request: the confirming header's sequence number, kept for the confirmation; it clears
// the flow's confirmed epoch (a confirmation waits a cycle when both write).
wire req_now = w_valid && w_request;
wire [31:0] req_seq = mq_d{tm} + {{26'd0, w_request_lane}};
wire [11:0] req_flow = mf_d{tm};
reg conf_valid = 1'b0, conf_write = 1'b0;
reg [11:0] conf_flow = 12'd0, conf_write_flow = 12'd0;
reg [31:0] conf_seq = 32'd0;
reg [35:0] conf_req = 36'd0;
reg [3:0] conf_write_epoch = 4'd0;
always @(posedge clock) begin
  if (req_now) req_ram[req_flow] <= {{w_request_epoch, req_seq}};
  conf_valid <= c_resync_valid; conf_flow <= c_resync_flow; conf_seq <= c_resync_seq;
  conf_req <= req_ram[c_resync_flow];
  if (req_now) confirm_ram[req_flow] <= 5'd0;
  else if (conf_write) confirm_ram[conf_write_flow] <= {{1'b1, conf_write_epoch}};
  if (conf_valid && conf_req[31:0] == conf_seq) begin
    conf_write <= 1'b1; conf_write_flow <= conf_flow; conf_write_epoch <= conf_req[35:32];
  end else if (!req_now) conf_write <= 1'b0;
end
wire dm_valid, dm_first, dm_last, dm_run_valid, dm_run_second, dm_lost, dm_seg_valid, dm_seg_begin, dm_seg_last, dm_crc_doubt;
wire [511:0] dm_data;
wire [6:0] dm_len, dm_run_len;
wire [11:0] dm_flow;
wire [15:0] dm_frame_offset, dm_run_cid;
wire [5:0] dm_run_lane, dm_seg_start, dm_seg_end;
wire [31:0] dm_run_offset;
wire [2:0] dm_cpl_valid;
wire [47:0] dm_cpl_cid;
// The request leaves on the stream's last beat, the data map's latency later.
{request_line}reg req_held = 1'b0;
reg [31:0] req_held_seq = 32'd0;
wire req_out = rq_d{ml}[32];
always @(posedge clock) if (dm_valid) begin
  req_held <= !dm_last && (req_out || (!dm_first && req_held));
  if (req_out) req_held_seq <= rq_d{ml}[31:0];
end
pdu_data_map map(.clock(clock), .s_valid(w_valid), .s_data(md_d{tm}), .s_next(mn_d{tm}), .s_flow(mf_d{tm}), .s_first(ms_d{tm}[17]),
  .s_last(ms_d{tm}[16]), .s_len(ms_d{tm}[13:7]), .s_stop(ms_d{tm}[6:0]), .s_restart(ms_d{tm}[15]), .s_lose(ms_d{tm}[14]),
  .s_frame_offset(mo_d{tm}), .s_ddgst(mc_d{tm}[13]), .s_pdo(mc_d{tm}[7:0]), .s_lost(w_lost), .s_shadow(w_shadow), .s_carried_shadow(w_cshadow),
  .s_dist(w_dist), .s_next_dist(w_next_dist), .s_hdr_lane(w_hdr_lane), .s_hdr_valid(w_hdr_valid),
  .m_valid(dm_valid), .m_data(dm_data), .m_first(dm_first), .m_last(dm_last), .m_len(dm_len), .m_flow(dm_flow),
  .m_frame_offset(dm_frame_offset), .m_run_valid(dm_run_valid), .m_run_lane(dm_run_lane), .m_run_len(dm_run_len),
  .m_run_cid(dm_run_cid), .m_run_offset(dm_run_offset), .m_run_second(dm_run_second), .m_cpl_valid(dm_cpl_valid),
  .m_cpl_cid(dm_cpl_cid), .m_lost(dm_lost), .m_seg_valid(dm_seg_valid), .m_seg_start(dm_seg_start), .m_seg_end(dm_seg_end),
  .m_seg_begin(dm_seg_begin), .m_seg_last(dm_seg_last), .m_crc_doubt(dm_crc_doubt));
wire dm_resync_valid = dm_valid && dm_last && (req_out || (!dm_first && req_held));
wire [31:0] dm_resync_seq = !dm_resync_valid ? 32'd0 : req_out ? rq_d{ml}[31:0] : req_held_seq;
// ---- Data digests: each beat's CRC32C segment into the unit one cycle after the data map.
// A segment that continues its flow's previous beat continues the unit's register (that beat
// was 1 cycle earlier), resumes it (2 cycles), or restores the flow's saved register, which
// arrives RESTORE_LAG ({lag}) cycles after the beat: the unit's output (3 cycles), that output a
// cycle later (4), or a 4,096-flow RAM the outputs are written to (5 or more). The half of the
// virtual frame the flow's last byte sat in is saved when the beat enters.
{seq_line}reg u_valid = 1'b0, u_seg = 1'b0, u_begin = 1'b0, u_seg_last = 1'b0, u_m1 = 1'b0, u_m2 = 1'b0, u_m3 = 1'b0, u_m4 = 1'b0, u_hi_prev = 1'b0;
reg [511:0] u_data = 512'd0;
reg [11:0] u_flow = 12'd0, p2_flow = 12'd0, p3_flow = 12'd0, p4_flow = 12'd0;
reg p2_valid = 1'b0, p3_valid = 1'b0, p4_valid = 1'b0;
reg [5:0] u_start = 6'd0, u_end = 6'd0, u_seq = 6'd0;
reg hi_ram [0:4095];
reg [31:0] crc_ram [0:4095];
integer crc_i;
initial for (crc_i = 0; crc_i < 4096; crc_i = crc_i + 1) begin hi_ram[crc_i] = 1'b0; crc_ram[crc_i] = 32'd0; end
// The segment's last byte in the upper half of the unit's virtual frame (lane + phase >= 64).
wire u_end_hi = {{1'b0, u_end}} + {{1'b0, u_seq}} > 7'd63;
always @(posedge clock) begin
  u_valid <= dm_valid; u_seg <= dm_valid && dm_seg_valid; u_begin <= dm_seg_begin; u_seg_last <= dm_seg_last;
  u_data <= dm_data; u_flow <= dm_flow; u_start <= dm_seg_start; u_end <= dm_seg_end; u_seq <= sq_d{to_dm};
  u_m1 <= u_valid && u_flow == dm_flow; u_m2 <= p2_valid && p2_flow == dm_flow;
  u_m3 <= p3_valid && p3_flow == dm_flow; u_m4 <= p4_valid && p4_flow == dm_flow;
  p2_valid <= u_valid; p2_flow <= u_flow; p3_valid <= p2_valid; p3_flow <= p2_flow; p4_valid <= p3_valid; p4_flow <= p3_flow;
  u_hi_prev <= hi_ram[dm_flow];
  if (u_seg) hi_ram[u_flow] <= u_end_hi;
end
// 0 start, 1 continue, 3 resume, 2 restore.
wire [1:0] u_op = u_begin ? 2'd0 : u_m1 ? 2'd1 : u_m2 ? 2'd3 : 2'd2;
{restore_lines}wire c_valid, c_error, c_last, c_digest_ok, c_hi;
wire [31:0] c_crc;
wire [6:0] c_end_pos;
reg [31:0] c_crc_d1 = 32'd0, crc_read = 32'd0;
always @(posedge clock) begin
  c_crc_d1 <= c_crc;
  crc_read <= crc_ram[rf_d{lag1}];
  if (c_valid) crc_ram[wf_crc_d{unit_lat}] <= c_crc;
end
wire [31:0] restore_crc = rg_d{lag}[1] ? c_crc : rg_d{lag}[0] ? c_crc_d1 : crc_read;
crc32c_stream crc(.clock(clock), .s_valid(u_seg), .s_data(u_data), .s_start(u_start), .s_end(u_end), .s_stream_lane(u_seq + u_start),
  .s_op(u_op), .s_restore_crc(restore_crc), .s_restore_hi(u_hi_prev), .s_last(u_seg_last), .m_valid(c_valid), .m_error(c_error),
  .m_last(c_last), .m_digest_ok(c_digest_ok), .m_crc(c_crc), .m_hi(c_hi), .m_end_pos(c_end_pos));
// ---- Streams out, as late as the unit's verdicts: crc_ok on the last beat when no beat of the
// stream had a doubt or a failed digest and the frame had no old bytes.
{out_lines}wire t_doubt, t_partial;
assign {{t_valid, t_first, t_last, t_len, t_flow, t_frame_offset, t_run_valid, t_run_lane, t_run_len, t_run_cid, t_run_offset,
  t_run_second, t_cpl_valid, t_cpl_cid, t_lost, t_doubt, t_resync_valid, t_resync_seq, t_partial}} = vo_d{crc_delay};
assign t_data = vd_d{crc_delay};
wire beat_bad = t_doubt || (c_valid && (c_error || (c_last && !c_digest_ok)));
reg crc_acc_bad = 1'b0;
always @(posedge clock) if (t_valid) crc_acc_bad <= (!t_first && crc_acc_bad) || beat_bad;
assign t_crc_ok = t_valid && t_last && !(!t_first && crc_acc_bad) && !beat_bad && !t_partial;
assign t_crc_bad = t_valid && c_valid && c_last && !c_digest_ok;
wire unused_ok = &{{1'b0, w_headers, p_ipv4, p_payload_lanes, p_vlan, p_vlan_id, p_tcp_flags, p_ack, p_ip_fragment, p_ip6_ext,
  p_hdr_candidate, p_truncated, p_payload_start[15:14], p_payload_len[15:14],
  f_meta_now[127:76], f_meta_now[73:13], h_next[511:{nb}], ws_d{tw}[16], ws_d{tw}[13:7], mc_d{tm}[14], mc_d{tm}[12:8], c_hi, c_end_pos}};
endmodule
",
        flow_lat = FlowTable4096::LATENCY,
        rx_len = keep_count(),
        pl = PARSER_LATENCY,
        fcs_line = {
            let mut s = String::new();
            delay_line(&mut s, "fcs", 1, PARSER_LATENCY, "s_axis_rx_tvalid && s_axis_rx_tlast && s_axis_rx_tuser");
            s
        },
        long1 = LONG_BEATS - 1,
        tail = TAIL,
        la1 = LOOKAHEAD_BITS - 1,
        gl = PduSeqGate::LATENCY,
        nb = 8 * super::data_map::NEXT_BYTES,
        fl = FRAME_LATENCY,
        tw = to_walk,
        tm = to_map,
        ml = PduDataMap::LATENCY,
        to_dm = to_map + PduDataMap::LATENCY,
        lag = Crc32cStream64::RESTORE_LAG,
        lag1 = Crc32cStream64::RESTORE_LAG - 1,
        unit_lat = Crc32cStream64::LATENCY,
        crc_delay = CRC_DELAY,
        seq_line = {
            let mut s = String::new();
            delay_line(&mut s, "sq", 6, to_map + PduDataMap::LATENCY, "h_seq[5:0]");
            delay_line(&mut s, "pp", 1, to_map + PduDataMap::LATENCY, "h_partial");
            s
        },
        restore_lines = {
            let mut s = String::new();
            // {restore from the unit's output, from that output a cycle later}
            delay_line(&mut s, "rg", 2, Crc32cStream64::RESTORE_LAG, "{u_m3 && !u_m2 && !u_m1, u_m4 && !u_m3 && !u_m2 && !u_m1}");
            delay_line(&mut s, "rf", 12, Crc32cStream64::RESTORE_LAG - 1, "u_flow");
            delay_line(&mut s, "wf_crc", 12, Crc32cStream64::LATENCY, "u_flow");
            s
        },
        out_lines = {
            let mut s = String::new();
            let bundle = format!(
                "{{dm_valid, dm_first, dm_last, dm_len, dm_flow, dm_frame_offset, dm_run_valid, dm_run_lane, dm_run_len, dm_run_cid, dm_run_offset, dm_run_second, dm_cpl_valid, dm_cpl_cid, dm_lost, dm_crc_doubt, dm_resync_valid, dm_resync_seq, pp_d{}}}",
                to_map + PduDataMap::LATENCY
            );
            delay_line(&mut s, "vo", OUT_BUNDLE, CRC_DELAY, &bundle);
            delay_line(&mut s, "vd", 512, CRC_DELAY, "dm_data");
            s
        },
        request_line = {
            let mut s = String::new();
            delay_line(&mut s, "rq", 33, PduDataMap::LATENCY, "{req_now, req_seq}");
            s
        },
        pdo_cases = pdo_cases(),
        frame_lines = {
            let mut s = String::new();
            delay_line(&mut s, "fde", 1, PduSeqGate::LATENCY, "fd_eof");
            delay_line(&mut s, "fdl", 7, PduSeqGate::LATENCY, "fd_len");
            delay_line(&mut s, "fdm", 128, PduSeqGate::LATENCY, "fd_meta");
            // The MAC's bad-FCS bit, exactly as late as the frame (long frames included).
            delay_line(&mut s, "usr", 1, FRAME_LATENCY, "s_axis_rx_tvalid && s_axis_rx_tlast && s_axis_rx_tuser");
            s
        },
        side_lines = {
            let mut s = String::new();
            delay_line(&mut s, "wf", 12, to_walk, "h_flow");
            delay_line(&mut s, "ws", 18, to_walk, "h_side");
            // The flow a cycle before the walk's input, for the confirmed-epoch read.
            delay_line(&mut s, "wc", 12, to_walk - 1, "h_flow");
            let _ = writeln!(s, "wire [11:0] h_flow_walk = wc_d{};", to_walk - 1);
            delay_line(&mut s, "mq", 32, to_map, "h_seq");
            delay_line(&mut s, "md", 512, to_map, "h_data");
            delay_line(&mut s, "mn", 8 * super::data_map::NEXT_BYTES, to_map, &format!("h_next[{}:0]", 8 * super::data_map::NEXT_BYTES - 1));
            delay_line(&mut s, "mf", 12, to_map, "h_flow");
            delay_line(&mut s, "ms", 18, to_map, "h_side");
            delay_line(&mut s, "mo", 16, to_map, "h_frame_offset");
            delay_line(&mut s, "mc", 15, to_map, "h_cfg");
            s
        },
    );
    v
}

/// Builds the `pdu_tracker` model with Verilator in `dir` (reused when the sources are unchanged).
pub fn build(dir: &Path) -> Result<Model, String> {
    cosim::build(dir, &verilog(), "pdu_tracker", "clock", inputs(), outputs())
}

/// `pdu_tracker` in Verilator, driven and read by port name (tests and the bench): set inputs,
/// `step` one clock edge, read the outputs after it.
pub struct TrackerSim {
    sim: CoSim,
    inputs: HashMap<String, usize>,
    outputs: HashMap<String, usize>,
    drive: Vec<Vec<u64>>,
    seen: Vec<Vec<u64>>,
}

impl TrackerSim {
    /// Builds (or reuses) the model in `dir` and starts it.
    pub fn start(dir: &Path) -> Result<Self, String> {
        let model = build(dir)?;
        let index = |ports: Vec<Port>| ports.into_iter().enumerate().map(|(i, (n, _))| (n, i)).collect::<HashMap<_, _>>();
        let drive = inputs().iter().map(|(_, w)| vec![0; cosim::words(*w)]).collect();
        let seen = outputs().iter().map(|(_, w)| vec![0; cosim::words(*w)]).collect();
        let mut sim = Self { sim: CoSim::start(&model)?, inputs: index(inputs()), outputs: index(outputs()), drive, seen };
        // One idle edge so the outputs (c_flow_ready) are the model's.
        sim.step();
        Ok(sim)
    }

    /// Every input 0.
    pub fn idle(&mut self) {
        self.drive.iter_mut().for_each(|v| v.iter_mut().for_each(|w| *w = 0));
    }

    pub fn set(&mut self, name: &str, value: u64) {
        let slot = &mut self.drive[self.inputs[name]];
        slot.iter_mut().for_each(|w| *w = 0);
        slot[0] = value;
    }

    /// A wide input from bytes, byte k in bits 8k+7..8k.
    pub fn set_bytes(&mut self, name: &str, bytes: &[u8]) {
        let slot = &mut self.drive[self.inputs[name]];
        slot.iter_mut().for_each(|w| *w = 0);
        for (i, b) in bytes.iter().enumerate() {
            slot[i / 8] |= u64::from(*b) << (8 * (i % 8));
        }
    }

    /// sk_add as the control port takes it; false when the port was not ready.
    pub fn add_flow(&mut self, id: u16, tuple: &FiveTuple, cfg: &QueueConfig, seq: u32) -> bool {
        self.idle();
        self.set("c_flow_valid", 1);
        self.set("c_flow_add", 1);
        self.set("c_flow_id", id.into());
        self.set("c_flow_ipv6", tuple.ipv6.into());
        self.set_bytes("c_flow_src_addr", &tuple.src_addr);
        self.set_bytes("c_flow_dst_addr", &tuple.dst_addr);
        self.set("c_flow_src_port", tuple.src_port.into());
        self.set("c_flow_dst_port", tuple.dst_port.into());
        self.set("c_flow_seq", seq.into());
        self.set("c_flow_hdgst", cfg.hdgst.into());
        self.set("c_flow_ddgst", cfg.ddgst.into());
        self.set("c_flow_cpda", cfg.cpda.into());
        let ready = self.bit("c_flow_ready");
        self.step();
        self.idle();
        ready
    }

    /// The host confirms `flow`'s resync request at `seq` (one cycle on `c_resync_*`).
    pub fn confirm_resync(&mut self, flow: u16, seq: u32) {
        self.idle();
        self.set("c_resync_valid", 1);
        self.set("c_resync_flow", flow.into());
        self.set("c_resync_seq", seq.into());
        self.step();
        self.idle();
    }

    /// One MAC beat of `frame` (beat `k`), `fcs_bad` on its last beat.
    pub fn mac_beat(&mut self, frame: &[u8], k: usize, fcs_bad: bool) {
        let beat = &frame[64 * k..frame.len().min(64 * k + 64)];
        let last = 64 * k + 64 >= frame.len();
        self.idle();
        self.set("s_axis_rx_tvalid", 1);
        self.set_bytes("s_axis_rx_tdata", beat);
        self.set("s_axis_rx_tkeep", if beat.len() == 64 { u64::MAX } else { (1 << beat.len()) - 1 });
        self.set("s_axis_rx_tlast", last.into());
        self.set("s_axis_rx_tuser", (last && fcs_bad).into());
    }

    /// One clock edge.
    pub fn step(&mut self) {
        self.seen = self.sim.step(&self.drive);
    }

    pub fn cycles(&self) -> u64 {
        self.sim.cycles
    }

    pub fn get(&self, name: &str) -> u64 {
        self.seen[self.outputs[name]][0]
    }

    pub fn bit(&self, name: &str) -> bool {
        self.get(name) & 1 == 1
    }

    /// The first `n` bytes of a wide output.
    pub fn bytes(&self, name: &str, n: usize) -> Vec<u8> {
        let v = &self.seen[self.outputs[name]];
        (0..n).map(|i| (v[i / 8] >> (8 * (i % 8))) as u8).collect()
    }

    /// The stream beat on `t_*` after this edge, as `receive_model` states it.
    pub fn stream_beat(&self) -> Option<TrackerBeat> {
        self.bit("t_valid").then(|| {
            let (cpl_valid, cpl_cid) = (self.get("t_cpl_valid"), self.get("t_cpl_cid"));
            TrackerBeat {
                data: self.bytes("t_data", self.get("t_len") as usize),
                frame_offset: self.get("t_frame_offset") as u16,
                run: self.bit("t_run_valid").then(|| DataRun {
                    lane: self.get("t_run_lane") as usize,
                    len: self.get("t_run_len") as usize,
                    cid: self.get("t_run_cid") as u16,
                    offset: self.get("t_run_offset") as u32,
                }),
                second_run: self.bit("t_run_second"),
                completions: (0..3).filter(|k| cpl_valid >> k & 1 == 1).map(|k| (cpl_cid >> (16 * k)) as u16).collect(),
                lost: self.bit("t_lost"),
                crc_bad: self.bit("t_crc_bad"),
                resync: self.bit("t_resync_valid").then(|| self.get("t_resync_seq") as u32),
            }
        })
    }
}
