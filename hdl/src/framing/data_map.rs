//! `PduDataMap`: what each tracker stream beat means for placement, from the walk's header
//! positions: the beat's first run of C2HData payload bytes (lanes, CID, data offset), whether
//! a second run was left to software, the commands completed by PDUs that end in the beat,
//! and where a flow loses sync (framing/TRACKER_PORTS.md, `t_*`; `receive_model::TrackerBeat`
//! states the rules).
//!
//! A beat holds the end of the PDU it starts in (the "carried" PDU, whose header was walked
//! in an earlier beat or packet) and up to three new headers. The walk gives the carried
//! PDU's end (`s_dist`: its next header), so per flow only the carried PDU's header fields
//! are kept: {C2HData, completes, CID, data offset, data length}, replaced by the beat's last
//! header. That context lives in a 4,096-flow RAM read when a beat enters; a stream's later
//! beats take it from the loop register (streams are contiguous), and a first beat whose flow
//! had a beat one or two cycles earlier takes it from the loop register or the one behind it
//! (chosen from flow ids on entry), as `PduChainWalk` does for `R`. A restart (sk_add, resync)
//! forgets it.
//!
//! Runs: the carried PDU's data ends `ddgst` bytes before its next header and starts
//! `datal` bytes before that; a new header's data starts `pdo` (the queue's) after it. Only
//! lanes `23..` of a stream's first beat are the packet's own bytes (`0..23` were the previous
//! packet's). A header at lane 48 or later cannot have data in the beat, so runs come from the
//! carried PDU and the first two headers, in lane order. Completions: the carried PDU when its
//! last byte is in the beat, a new header's PDU when the next header or the stream's end
//! shows it ends in the beat. A beat whose walk is lost presents nothing; the carried PDU and
//! the new headers present nothing when the walk says they are in shadow (searching, waiting
//! for the host's confirmation).
//!
//! Latency `LATENCY` = 8 clock edges: input registers and per-lane fields, header fields, the
//! context loop, three stages of arithmetic and clamps, the run choice, the output.
//! Throughput one beat per cycle.
use super::chain_walk::TAIL;
use crate::bytes::lanes_from_bits;
use rust_hdl::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

const W: usize = 64;
/// Bytes of the next beat a header's fields may reach (a CapsuleResp's CID at header bytes
/// 20..21 of a header in lane 63).
pub const NEXT_BYTES: usize = 21;
const NEXT_BITS: usize = 8 * NEXT_BYTES;
const TYPE_CAPSULE_RESP: u8 = super::pdu_rules::TYPE_CAPSULE_RESP;
const TYPE_C2H_DATA: u8 = super::pdu_rules::TYPE_C2H_DATA;
const SUCCESS_FLAGS: u8 = super::pdu_rules::FLAG_DATA_LAST | super::pdu_rules::FLAG_DATA_SUCCESS;

#[derive(LogicBlock)]
pub struct PduDataMap {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_data: Signal<In, Bits<512>>,
    /// The first `NEXT_BYTES` bytes of the stream's next beat (anything on a last beat).
    pub s_next: Signal<In, Bits<NEXT_BITS>>,
    pub s_flow: Signal<In, Bits<12>>,
    pub s_first: Signal<In, Bit>,
    pub s_last: Signal<In, Bit>,
    pub s_len: Signal<In, Bits<7>>,
    pub s_stop: Signal<In, Bits<7>>,
    pub s_restart: Signal<In, Bit>,
    pub s_lose: Signal<In, Bit>,
    pub s_frame_offset: Signal<In, Bits<16>>,
    /// The flow's queue: data digests on, and a C2HData PDU's data offset in its PDU.
    pub s_ddgst: Signal<In, Bit>,
    pub s_pdo: Signal<In, Bits<8>>,
    /// `PduChainWalk`'s outputs for the beat.
    pub s_lost: Signal<In, Bit>,
    /// The beat's headers / the PDU it starts in are not offloaded (searching or shadow).
    pub s_shadow: Signal<In, Bit>,
    pub s_carried_shadow: Signal<In, Bit>,
    pub s_dist: Signal<In, Bits<32>>,
    pub s_next_dist: Signal<In, Bits<32>>,
    pub s_hdr_lane: Signal<In, Bits<18>>,
    pub s_hdr_valid: Signal<In, Bits<3>>,
    pub m_valid: Signal<Out, Bit>,
    pub m_data: Signal<Out, Bits<512>>,
    pub m_first: Signal<Out, Bit>,
    pub m_last: Signal<Out, Bit>,
    pub m_len: Signal<Out, Bits<7>>,
    pub m_flow: Signal<Out, Bits<12>>,
    pub m_frame_offset: Signal<Out, Bits<16>>,
    pub m_run_valid: Signal<Out, Bit>,
    pub m_run_lane: Signal<Out, Bits<6>>,
    pub m_run_len: Signal<Out, Bits<7>>,
    pub m_run_cid: Signal<Out, Bits<16>>,
    pub m_run_offset: Signal<Out, Bits<32>>,
    pub m_run_second: Signal<Out, Bit>,
    /// Slot 0: the carried PDU, 1 and 2: the beat's first and second header.
    pub m_cpl_valid: Signal<Out, Bits<3>>,
    pub m_cpl_cid: Signal<Out, Bits<48>>,
    pub m_lost: Signal<Out, Bit>,
    /// The beat's CRC32C segment for the unit (data + digest bytes of one C2HData PDU, lanes
    /// `m_seg_start ..= m_seg_end`): a new segment (`m_seg_begin`) or the continuation of the
    /// flow's previous beat; `m_seg_last`: the PDU's digest ends in the beat.
    pub m_seg_valid: Signal<Out, Bit>,
    pub m_seg_start: Signal<Out, Bits<6>>,
    pub m_seg_end: Signal<Out, Bits<6>>,
    pub m_seg_begin: Signal<Out, Bit>,
    pub m_seg_last: Signal<Out, Bit>,
    /// The beat rules out the frame's crc_ok: lost, in shadow, a second run, or a C2HData PDU
    /// whose digest the unit did not follow ends in it.
    pub m_crc_doubt: Signal<Out, Bit>,
    _flows: HashMap<u64, PduContext>,
    /// Per flow: the unit follows the CRC of the PDU in progress.
    _followed: HashMap<u64, bool>,
    /// The previous beat's stop (the walk counts a beat's distance from it).
    _prev_stop: i64,
    _in_flight: VecDeque<Option<MappedBeat>>,
}

/// The header fields of the PDU a flow is in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct PduContext {
    c2h: bool,
    completes: bool,
    cid: u16,
    data_offset: u32,
    data_len: u32,
}

impl PduContext {
    /// The fields of a header at `lane` of the window (beat + next bytes).
    fn at(window: &[u8], lane: usize) -> Self {
        let h = &window[lane..];
        let le32 = |at: usize| u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        let capsule = h[0] == TYPE_CAPSULE_RESP;
        Self {
            c2h: h[0] == TYPE_C2H_DATA,
            completes: capsule || (h[0] == TYPE_C2H_DATA && h[1] & SUCCESS_FLAGS == SUCCESS_FLAGS),
            cid: if capsule { u16::from_le_bytes([h[20], h[21]]) } else { u16::from_le_bytes([h[8], h[9]]) },
            data_offset: le32(12),
            data_len: le32(16),
        }
    }
}

/// A beat's placement view, as the block presents it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappedBeat {
    pub data: Vec<u8>,
    pub first: bool,
    pub last: bool,
    pub len: usize,
    pub flow: u64,
    pub frame_offset: u16,
    /// (lane, len, cid, offset)
    pub run: Option<(usize, usize, u16, u32)>,
    pub second: bool,
    /// Completed CIDs per slot (carried, first header, second header).
    pub completions: [Option<u16>; 3],
    pub lost: bool,
    /// (start lane, end lane, begins, last)
    pub segment: Option<(usize, usize, bool, bool)>,
    pub crc_doubt: bool,
}

/// A candidate run `start..end` (lanes, clamped to the beat) of one PDU.
fn run_of(start: i64, end: i64, cid: u16, offset: u32) -> Option<(usize, usize, u16, u32)> {
    (start < end).then(|| (start as usize, (end - start) as usize, cid, offset))
}

impl PduDataMap {
    pub const LATENCY: usize = 8;

    pub fn new() -> Self {
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_data: Default::default(),
            s_next: Default::default(),
            s_flow: Default::default(),
            s_first: Default::default(),
            s_last: Default::default(),
            s_len: Default::default(),
            s_stop: Default::default(),
            s_restart: Default::default(),
            s_lose: Default::default(),
            s_frame_offset: Default::default(),
            s_ddgst: Default::default(),
            s_pdo: Default::default(),
            s_lost: Default::default(),
            s_shadow: Default::default(),
            s_carried_shadow: Default::default(),
            s_dist: Default::default(),
            s_next_dist: Default::default(),
            s_hdr_lane: Default::default(),
            s_hdr_valid: Default::default(),
            m_valid: Default::default(),
            m_data: Default::default(),
            m_first: Default::default(),
            m_last: Default::default(),
            m_len: Default::default(),
            m_flow: Default::default(),
            m_frame_offset: Default::default(),
            m_run_valid: Default::default(),
            m_run_lane: Default::default(),
            m_run_len: Default::default(),
            m_run_cid: Default::default(),
            m_run_offset: Default::default(),
            m_run_second: Default::default(),
            m_cpl_valid: Default::default(),
            m_cpl_cid: Default::default(),
            m_lost: Default::default(),
            m_seg_valid: Default::default(),
            m_seg_start: Default::default(),
            m_seg_end: Default::default(),
            m_seg_begin: Default::default(),
            m_seg_last: Default::default(),
            m_crc_doubt: Default::default(),
            _flows: HashMap::new(),
            _followed: HashMap::new(),
            _prev_stop: W as i64,
            _in_flight: VecDeque::from(vec![None; Self::LATENCY - 1]),
        }
    }

    /// The model of one beat: the rules in the module comment, with the flow's context.
    fn map(&mut self) -> MappedBeat {
        let mut window = lanes_from_bits(self.s_data.val());
        window.extend(lanes_from_bits(self.s_next.val()));
        let first = self.s_first.val();
        let flow = self.s_flow.val().to_u64();
        let len = self.s_len.val().to_u64() as i64;
        let stop = self.s_stop.val().to_u64() as i64;
        let lo = if first { TAIL as i64 } else { 0 };
        let lost = self.s_lost.val();
        let walk_dist = i64::from(self.s_dist.val().to_u32());
        let dist = if first { walk_dist } else { walk_dist - (W as i64 - self._prev_stop) };
        self._prev_stop = stop;
        let next_dist = i64::from(self.s_next_dist.val().to_u32());
        let dd = if self.s_ddgst.val() { 4 } else { 0 };
        let pdo = self.s_pdo.val().to_u64() as i64;
        let valid: Vec<bool> = (0..3).map(|k| self.s_hdr_valid.val().get_bit(k)).collect();
        let lanes: Vec<usize> = (0..3).map(|k| (self.s_hdr_lane.val().to_u64() >> (6 * k) & 63) as usize).collect();
        let ctx = self._flows.entry(flow).or_default();
        if first && self.s_restart.val() {
            *ctx = PduContext::default();
        }
        let carried = *ctx;
        let headers: Vec<PduContext> = (0..3).map(|k| PduContext::at(&window, lanes[k])).collect();
        if let Some(k) = (0..3).rev().find(|&k| valid[k]) {
            *ctx = headers[k];
        }
        let mut out = MappedBeat {
            data: window[..W].to_vec(),
            first,
            last: self.s_last.val(),
            len: len as usize,
            flow,
            frame_offset: self.s_frame_offset.val().to_u64() as u16,
            lost: (first && self.s_lose.val()) || lost,
            ..Default::default()
        };
        let restart = first && self.s_restart.val();
        let followed_before = !restart && self._followed.get(&flow).copied().unwrap_or(false);
        if lost {
            self._followed.insert(flow, false);
            out.crc_doubt = true;
            return out;
        }
        // The carried PDU: data ends dd before its next header, starts data_len before that.
        let data_end = dist - dd;
        let data_start = data_end - i64::from(carried.data_len);
        let (shadow, carried_shadow) = (self.s_shadow.val(), self.s_carried_shadow.val());
        let carried_run = (carried.c2h && !carried_shadow).then(|| {
            let start = data_start.max(lo);
            let offset = carried.data_offset.wrapping_add((start - data_start) as u32);
            run_of(start, data_end.min(len), carried.cid, offset)
        });
        let ends_in_beat = next_dist + stop <= len;
        let header_run = |k: usize| {
            let h = &headers[k];
            let start = lanes[k] as i64 + pdo;
            (valid[k] && h.c2h && !shadow).then(|| run_of(start, (start + i64::from(h.data_len)).min(len), h.cid, h.data_offset))
        };
        let runs: Vec<_> = [carried_run, header_run(0), header_run(1)].into_iter().flatten().flatten().collect();
        out.run = runs.first().copied();
        out.second = runs.len() > 1;
        out.completions = [
            (carried.completes && !carried_shadow && dist > lo && dist <= len).then_some(carried.cid),
            (!shadow && valid[0] && headers[0].completes && (valid[1] || ends_in_beat)).then_some(headers[0].cid),
            (!shadow && valid[1] && headers[1].completes && (valid[2] || ends_in_beat)).then_some(headers[1].cid),
        ];
        // CRC segments (data + digest, with data digests only), in lane order: the carried
        // PDU's, then those of the first two headers. The unit takes the first; a PDU whose
        // data starts behind another segment in its beat is not followed.
        let with_digest = dd > 0;
        let carried_begins = data_start >= lo;
        let carried_seg = (with_digest && !out.lost && carried.c2h && !carried_shadow && data_start.max(lo) < dist.min(len))
            .then(|| (data_start.max(lo), dist.min(len) - 1, carried_begins, dist <= len));
        let header_seg = |k: usize| {
            let (h, start) = (&headers[k], lanes[k] as i64 + pdo);
            let end = start + i64::from(h.data_len) + dd;
            (with_digest && !out.lost && valid[k] && h.c2h && !shadow && start < len).then(|| (start, end.min(len) - 1, true, end <= len))
        };
        let segments: Vec<_> = [carried_seg, header_seg(0), header_seg(1)].into_iter().flatten().collect();
        let carried_followed = carried_begins || followed_before;
        let unfollowed_end = match carried_seg {
            Some(c) => (c.3 && !carried_followed) || segments[1..].iter().any(|s| s.3),
            None => segments.iter().skip(1).any(|s| s.3),
        };
        out.segment = segments.first().filter(|_| carried_seg.is_none() || carried_followed).map(|&(s, e, b, l)| (s as usize, e as usize, b, l));
        out.crc_doubt = out.lost || shadow || carried_shadow || out.second || unfollowed_end;
        // The PDU left in progress: the last header's, followed when its data began here as
        // the beat's first segment; else the carried one.
        let last_header = (0..3).rev().find(|&k| valid[k]);
        let followed_after = if out.lost || carried_shadow {
            false
        } else if let Some(k) = last_header {
            k < 2 && header_seg(k).is_some() && segments.len() == 1
        } else if carried_seg.is_some() {
            carried_followed
        } else {
            followed_before
        };
        self._followed.insert(flow, followed_after);
        out
    }
}

impl Default for PduDataMap {
    fn default() -> Self {
        Self::new()
    }
}

impl Logic for PduDataMap {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        let beat = self.s_valid.val().then(|| self.map());
        self._in_flight.push_back(beat);
        match self._in_flight.pop_front().expect("pipeline is never empty") {
            Some(b) => {
                self.m_valid.next = true;
                self.m_data.next = crate::bytes::bits_from_lanes(&b.data);
                self.m_first.next = b.first;
                self.m_last.next = b.last;
                self.m_len.next = (b.len as u64).into();
                self.m_flow.next = b.flow.into();
                self.m_frame_offset.next = u64::from(b.frame_offset).into();
                let (lane, len, cid, offset) = b.run.unwrap_or((0, 0, 0, 0));
                self.m_run_valid.next = b.run.is_some();
                self.m_run_lane.next = (lane as u64).into();
                self.m_run_len.next = (len as u64).into();
                self.m_run_cid.next = u64::from(cid).into();
                self.m_run_offset.next = u64::from(offset).into();
                self.m_run_second.next = b.second;
                self.m_cpl_valid.next = (0..3).fold(0u64, |acc, k| acc | u64::from(b.completions[k].is_some()) << k).into();
                self.m_cpl_cid.next = (0..3).fold(0u64, |acc, k| acc | u64::from(b.completions[k].unwrap_or(0)) << (16 * k)).into();
                self.m_lost.next = b.lost;
                let (start, end, begin, last) = b.segment.unwrap_or((0, 0, false, false));
                self.m_seg_valid.next = b.segment.is_some();
                self.m_seg_start.next = (start as u64).into();
                self.m_seg_end.next = (end as u64).into();
                self.m_seg_begin.next = begin;
                self.m_seg_last.next = last;
                self.m_crc_doubt.next = b.crc_doubt;
            }
            None => self.m_valid.next = false,
        }
    }

    fn connect(&mut self) {
        self.m_valid.connect();
        self.m_data.connect();
        self.m_first.connect();
        self.m_last.connect();
        self.m_len.connect();
        self.m_flow.connect();
        self.m_frame_offset.connect();
        self.m_run_valid.connect();
        self.m_run_lane.connect();
        self.m_run_len.connect();
        self.m_run_cid.connect();
        self.m_run_offset.connect();
        self.m_run_second.connect();
        self.m_cpl_valid.connect();
        self.m_cpl_cid.connect();
        self.m_lost.connect();
        self.m_seg_valid.connect();
        self.m_seg_start.connect();
        self.m_seg_end.connect();
        self.m_seg_begin.connect();
        self.m_seg_last.connect();
        self.m_crc_doubt.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body())
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "pdu_data_map".into(),
            clock: "clock".into(),
            inputs: INPUTS.iter().map(|&(n, _)| n.to_string()).collect(),
            outputs: OUTPUTS.iter().map(|&(n, _)| n.to_string()).collect(),
        }]
    }
}

/// Input ports and widths (clock aside), in declaration order.
pub const INPUTS: [(&str, usize); 20] = [
    ("s_valid", 1), ("s_data", 512), ("s_next", NEXT_BITS), ("s_flow", 12), ("s_first", 1), ("s_last", 1), ("s_len", 7), ("s_stop", 7), ("s_restart", 1),
    ("s_lose", 1), ("s_frame_offset", 16), ("s_ddgst", 1), ("s_pdo", 8), ("s_lost", 1), ("s_shadow", 1), ("s_carried_shadow", 1), ("s_dist", 32), ("s_next_dist", 32), ("s_hdr_lane", 18), ("s_hdr_valid", 3),
];

/// Output ports and widths, in declaration order.
pub const OUTPUTS: [(&str, usize); 22] = [
    ("m_valid", 1), ("m_data", 512), ("m_first", 1), ("m_last", 1), ("m_len", 7), ("m_flow", 12), ("m_frame_offset", 16), ("m_run_valid", 1), ("m_run_lane", 6),
    ("m_run_len", 7), ("m_run_cid", 16), ("m_run_offset", 32), ("m_run_second", 1), ("m_cpl_valid", 3), ("m_cpl_cid", 48), ("m_lost", 1),
    ("m_seg_valid", 1), ("m_seg_start", 6), ("m_seg_end", 6), ("m_seg_begin", 1), ("m_seg_last", 1), ("m_crc_doubt", 1),
];

/// A 64:1 select of per-lane fields by a registered binary lane, `bits` wide, as a case list:
/// abc9 maps it as a tree of 4:1 LUT muxes (three levels), where a one-hot AND-OR of this
/// width came out as a chain.
fn lane_select(v: &mut String, name: &str, bits: usize, lane: &str, field: impl Fn(usize) -> String) {
    let _ = writeln!(v, "reg [{}:0] {name};\nalways @*\n  case ({lane})", bits - 1);
    for l in 0..W {
        let _ = writeln!(v, "    6'd{l}: {name} = {};", field(l));
    }
    v.push_str("  endcase\n");
}

/// Verilog: stages a (inputs, per-lane fields, header lanes), x (header fields, flow
/// RAM read), b (the context loop), c, d, e (arithmetic and clamps), f (candidate runs), then
/// the outputs.
fn verilog_body() -> String {
    let mut v = String::new();
    let win_bits = 512 + NEXT_BITS;
    // Window byte i of the registered beat.
    let byte = |i: usize| format!("a_win[{}:{}]", 8 * i + 7, 8 * i);
    let _ = write!(
        v,
        "// Stage a: inputs, the flow context read, whether the flow's beat 1 or 2 cycles ahead
// holds its latest context, and per lane the fields a header there would have.
localparam CTX = 1 + 1 + 16 + 32 + 32;
reg [CTX-1:0] ctx_ram [0:4095];
integer init_ctx;
initial for (init_ctx = 0; init_ctx < 4096; init_ctx = init_ctx + 1) ctx_ram[init_ctx] = {{CTX{{1'b0}}}};
reg a_valid = 1'b0, a_first = 1'b0, a_last = 1'b0, a_restart = 1'b0, a_lose = 1'b0, a_ddgst = 1'b0, a_lost = 1'b0, a_shadow = 1'b0, a_cshadow = 1'b0;
reg a_has_hdr = 1'b0;
// Header fields reach byte 19 of a header in lane 63 (the CIDs are taken per lane below).
reg [{wu1}:0] a_win = {wu}'d0;
reg [11:0] a_flow = 12'd0;
reg [6:0] a_len = 7'd0, a_stop = 7'd0, a_room = 7'd0, a_lo = 7'd0;
reg [15:0] a_frame_offset = 16'd0;
reg [7:0] a_pdo = 8'd0;
// The distance to the carried PDU's end from lane 0, signed: the walk counts it from the
// previous beat's stop, which is lane 0 unless that beat stopped early (the stream's last
// 23 bytes began in it).
reg [32:0] a_dist = 33'd0;
reg [31:0] a_next_dist = 32'd0;
reg [5:0] a_lane0 = 6'd0, a_lane1 = 6'd0;
reg [2:0] a_hv = 3'd0;
reg [5:0] a_lane_last = 6'd0;
reg [63:0] a_c2h = 64'd0, a_cpl = 64'd0;
reg [1023:0] a_cid = 1024'd0;
reg b_valid = 1'b0;
reg [11:0] b_flow = 12'd0;
wire [{wb1}:0] s_win = {{s_next, s_data}};
wire [5:0] s_lane0 = s_hdr_lane[5:0], s_lane1 = s_hdr_lane[11:6], s_lane2 = s_hdr_lane[17:12];
wire [5:0] s_lane_last = s_hdr_valid[2] ? s_lane2 : s_hdr_valid[1] ? s_lane1 : s_lane0;
always @(posedge clock) begin
  a_valid <= s_valid; a_first <= s_first; a_last <= s_last; a_restart <= s_first && s_restart; a_lose <= s_first && s_lose;
  a_ddgst <= s_ddgst; a_lost <= s_lost; a_shadow <= s_shadow; a_cshadow <= s_carried_shadow;
  a_win <= s_win[{wu1}:0]; a_flow <= s_flow; a_len <= s_len; a_stop <= s_stop; a_room <= s_len - s_stop;
  a_lo <= s_first ? 7'd{tail} : 7'd0;
  a_frame_offset <= s_frame_offset; a_pdo <= s_pdo; a_next_dist <= s_next_dist;
  a_dist <= s_first ? {{1'b0, s_dist}} : {{1'b0, s_dist}} - {{26'd0, 7'd64 - a_stop}};
  a_lane0 <= s_lane0; a_lane1 <= s_lane1; a_lane_last <= s_lane_last; a_hv <= s_hdr_valid; a_has_hdr <= |s_hdr_valid;
end
",
        wb1 = win_bits - 1,
        wu1 = 8 * (W + 19) - 1,
        wu = 8 * (W + 19),
        tail = TAIL,
    );
    let sbyte = |i: usize| format!("s_win[{}:{}]", 8 * i + 7, 8 * i);
    for l in 0..W {
        let _ = writeln!(
            v,
            "always @(posedge clock) begin
  a_c2h[{l}] <= {t} == 8'd{c2h};
  a_cpl[{l}] <= {t} == 8'd{cap} || ({t} == 8'd{c2h} && ({f} & 8'd{succ}) == 8'd{succ});
  a_cid[{ch}:{cl}] <= {t} == 8'd{cap} ? {{{c21}, {c20}}} : {{{c9}, {c8}}};
end",
            t = sbyte(l),
            f = sbyte(l + 1),
            c2h = TYPE_C2H_DATA,
            cap = TYPE_CAPSULE_RESP,
            succ = SUCCESS_FLAGS,
            ch = 16 * l + 15,
            cl = 16 * l,
            c21 = sbyte(l + 21),
            c20 = sbyte(l + 20),
            c9 = sbyte(l + 9),
            c8 = sbyte(l + 8),
        );
    }
    // Stage x: header fields by 64:1 lane selects.
    let le32 = |l: usize, at: usize| format!("{{{}, {}, {}, {}}}", byte(l + at + 3), byte(l + at + 2), byte(l + at + 1), byte(l + at));
    for (tag, lane) in [("h0", "a_lane0"), ("h1", "a_lane1"), ("hl", "a_lane_last")] {
        lane_select(&mut v, &format!("{tag}_c2h"), 1, lane, |l| format!("a_c2h[{l}]"));
        lane_select(&mut v, &format!("{tag}_cpl"), 1, lane, |l| format!("a_cpl[{l}]"));
        lane_select(&mut v, &format!("{tag}_cid"), 16, lane, |l| format!("a_cid[{}:{}]", 16 * l + 15, 16 * l));
        lane_select(&mut v, &format!("{tag}_doff"), 32, lane, |l| le32(l, 12));
        lane_select(&mut v, &format!("{tag}_datal"), 32, lane, |l| le32(l, 16));
    }
    let _ = write!(
        v,
        "// Stage x: the header fields registered; the flow context read, and whether the flow's beat
// 1 or 2 cycles ahead holds its latest context.
reg x_valid = 1'b0, x_first = 1'b0, x_last = 1'b0, x_restart = 1'b0, x_lose = 1'b0, x_ddgst = 1'b0, x_lost = 1'b0, x_shadow = 1'b0, x_cshadow = 1'b0;
reg x_m1 = 1'b0, x_m2 = 1'b0, x_has_hdr = 1'b0;
reg [511:0] x_data = 512'd0;
reg [11:0] x_flow = 12'd0;
reg [6:0] x_len = 7'd0, x_room = 7'd0, x_lo = 7'd0;
reg [15:0] x_frame_offset = 16'd0;
reg [7:0] x_pdo = 8'd0;
reg [32:0] x_dist = 33'd0;
reg [31:0] x_next_dist = 32'd0;
reg [5:0] x_lane0 = 6'd0, x_lane1 = 6'd0;
reg [2:0] x_hv = 3'd0;
reg [CTX-1:0] x_ram = {{CTX{{1'b0}}}}, x_h0 = {{CTX{{1'b0}}}}, x_h1 = {{CTX{{1'b0}}}}, x_hl = {{CTX{{1'b0}}}};
always @(posedge clock) begin
  x_valid <= a_valid; x_flow <= a_flow; x_first <= a_first; x_last <= a_last; x_restart <= a_restart; x_lose <= a_lose;
  x_ddgst <= a_ddgst; x_lost <= a_lost; x_shadow <= a_shadow; x_cshadow <= a_cshadow; x_has_hdr <= a_has_hdr; x_data <= a_win[511:0];
  x_len <= a_len; x_room <= a_room; x_lo <= a_lo; x_frame_offset <= a_frame_offset; x_pdo <= a_pdo;
  x_dist <= a_dist; x_next_dist <= a_next_dist; x_lane0 <= a_lane0; x_lane1 <= a_lane1; x_hv <= a_hv;
  x_h0 <= {{h0_c2h, h0_cpl, h0_cid, h0_doff, h0_datal}};
  x_h1 <= {{h1_c2h, h1_cpl, h1_cid, h1_doff, h1_datal}};
  x_hl <= {{hl_c2h, hl_cpl, hl_cid, hl_doff, hl_datal}};
  x_m1 <= x_valid && x_flow == a_flow;
  x_m2 <= b_valid && b_flow == a_flow;
  x_ram <= ctx_ram[a_flow];
end
// The context loop: a stream's later beats and a flow's beat 1 cycle ahead take the loop
// register, one 2 cycles ahead the register behind it, others the RAM; a restart forgets it.
reg [CTX-1:0] ctx_loop = {{CTX{{1'b0}}}}, ctx_loop2 = {{CTX{{1'b0}}}};
reg ctx_write = 1'b0;
reg [11:0] ctx_write_flow = 12'd0;
wire [CTX-1:0] ctx_in = x_restart ? {{CTX{{1'b0}}}} : (!x_first || x_m1) ? ctx_loop : x_m2 ? ctx_loop2 : x_ram;
always @(posedge clock) begin
  if (x_valid) ctx_loop <= x_has_hdr ? x_hl : ctx_in;
  ctx_loop2 <= ctx_loop;
  ctx_write <= x_valid; ctx_write_flow <= x_flow;
  if (ctx_write) ctx_ram[ctx_write_flow] <= ctx_loop;
end
reg b_restart = 1'b0, b_first = 1'b0, b_last = 1'b0, b_lose = 1'b0, b_ddgst = 1'b0, b_lost = 1'b0, b_shadow = 1'b0, b_cshadow = 1'b0;
reg [511:0] b_data = 512'd0;
reg [6:0] b_len = 7'd0, b_room = 7'd0, b_lo = 7'd0;
reg [15:0] b_frame_offset = 16'd0;
reg [7:0] b_pdo = 8'd0;
reg [32:0] b_dist = 33'd0;
reg [31:0] b_next_dist = 32'd0;
reg [5:0] b_lane0 = 6'd0, b_lane1 = 6'd0;
reg [2:0] b_hv = 3'd0;
reg [CTX-1:0] b_ctx = {{CTX{{1'b0}}}}, b_h0 = {{CTX{{1'b0}}}}, b_h1 = {{CTX{{1'b0}}}};
always @(posedge clock) begin
  b_valid <= x_valid; b_flow <= x_flow; b_restart <= x_restart; b_first <= x_first; b_last <= x_last; b_lose <= x_lose; b_ddgst <= x_ddgst;
  b_lost <= x_lost; b_shadow <= x_shadow; b_cshadow <= x_cshadow; b_data <= x_data; b_len <= x_len; b_room <= x_room; b_lo <= x_lo;
  b_frame_offset <= x_frame_offset; b_pdo <= x_pdo; b_dist <= x_dist; b_next_dist <= x_next_dist;
  b_lane0 <= x_lane0; b_lane1 <= x_lane1; b_hv <= x_hv;
  b_ctx <= ctx_in;
  b_h0 <= x_h0;
  b_h1 <= x_h1;
end
// Context fields: {{c2h [81], completes [80], cid [79:64], data offset [63:32], data length [31:0]}}.
// Stage c: the carried PDU's data end A = dist - ddgst and end of its data offsets E; new
// headers' data starts; which PDUs complete in the beat.
reg c_valid = 1'b0, c_first = 1'b0, c_last = 1'b0, c_lost_out = 1'b0;
reg [511:0] c_data = 512'd0;
reg [11:0] c_flow = 12'd0;
reg [6:0] c_len = 7'd0, c_lo = 7'd0;
reg [15:0] c_frame_offset = 16'd0;
reg [32:0] c_a = 33'd0;
reg [31:0] c_e = 32'd0, c_doff = 32'd0, c_datal = 32'd0, c_doff0 = 32'd0, c_doff1 = 32'd0;
reg c_c2h = 1'b0, c_c2h0 = 1'b0, c_c2h1 = 1'b0, c_far0 = 1'b0, c_far1 = 1'b0;
reg [15:0] c_cid = 16'd0, c_cid0 = 16'd0, c_cid1 = 16'd0;
reg [8:0] c_ds0 = 9'd0, c_ds1 = 9'd0;
reg [7:0] c_dl0 = 8'd0, c_dl1 = 8'd0;
reg [2:0] c_cpl = 3'd0;
// For the CRC segments: the carried PDU's end (its digest's last byte) clamped like A.
reg c_dd = 1'b0, c_shadow = 1'b0, c_cshadow = 1'b0, c_restart = 1'b0, c_d_neg = 1'b0, c_d_big = 1'b0, c_cend_in = 1'b0;
reg [6:0] c_d_lo = 7'd0;
reg [2:0] c_hv = 3'd0;
wire b_ends_in = b_next_dist[31:7] == 25'd0 && b_next_dist[6:0] <= b_room;
wire b_dist_small = b_dist[32:7] == 26'd0;
always @(posedge clock) begin
  c_valid <= b_valid; c_first <= b_first; c_last <= b_last; c_data <= b_data; c_flow <= b_flow;
  c_lost_out <= b_lose || b_lost;
  c_len <= b_len; c_lo <= b_lo; c_frame_offset <= b_frame_offset;
  c_a <= b_dist - (b_ddgst ? 33'd4 : 33'd0);
  c_e <= b_ctx[63:32] + b_ctx[31:0];
  c_doff <= b_ctx[63:32]; c_datal <= b_ctx[31:0]; c_c2h <= b_ctx[81] && !b_lost && !b_cshadow; c_cid <= b_ctx[79:64];
  c_c2h0 <= b_hv[0] && b_h0[81] && !b_shadow; c_c2h1 <= b_hv[1] && b_h1[81] && !b_shadow;
  c_cid0 <= b_h0[79:64]; c_cid1 <= b_h1[79:64]; c_doff0 <= b_h0[63:32]; c_doff1 <= b_h1[63:32];
  c_ds0 <= {{3'd0, b_lane0}} + {{1'b0, b_pdo}}; c_ds1 <= {{3'd0, b_lane1}} + {{1'b0, b_pdo}};
  c_far0 <= |b_h0[31:8]; c_far1 <= |b_h1[31:8];
  c_dl0 <= b_h0[7:0]; c_dl1 <= b_h1[7:0];
  c_cpl[0] <= !b_lost && !b_cshadow && b_ctx[80] && b_dist_small && b_dist[6:0] > b_lo && b_dist[6:0] <= b_len;
  c_cpl[1] <= !b_shadow && b_hv[0] && b_h0[80] && (b_hv[1] || b_ends_in);
  c_cpl[2] <= !b_shadow && b_hv[1] && b_h1[80] && (b_hv[2] || b_ends_in);
  c_dd <= b_ddgst; c_shadow <= b_shadow; c_cshadow <= b_cshadow; c_restart <= b_restart; c_hv <= b_hv;
  c_d_neg <= b_dist[32]; c_d_big <= |b_dist[31:7]; c_d_lo <= b_dist[6:0];
  c_cend_in <= b_dist_small && b_dist[6:0] > b_lo && b_dist[6:0] <= b_len;
end
// Stage d: the carried PDU's data start DS = A - datal and the data offset at lane 0 E - A;
// new headers' data ends.
reg d_valid = 1'b0, d_first = 1'b0, d_last = 1'b0, d_lost_out = 1'b0;
reg [511:0] d_data = 512'd0;
reg [11:0] d_flow = 12'd0;
reg [6:0] d_len = 7'd0, d_lo = 7'd0;
reg [15:0] d_frame_offset = 16'd0;
reg [33:0] d_ds = 34'd0;
reg [31:0] d_off0 = 32'd0, d_doff = 32'd0, d_doff0 = 32'd0, d_doff1 = 32'd0;
reg d_a_neg = 1'b0, d_a_big = 1'b0, d_c2h = 1'b0, d_c2h0 = 1'b0, d_c2h1 = 1'b0, d_far0 = 1'b0, d_far1 = 1'b0;
reg [6:0] d_a_lo = 7'd0;
reg [15:0] d_cid = 16'd0, d_cid0 = 16'd0, d_cid1 = 16'd0;
reg [8:0] d_ds0 = 9'd0, d_ds1 = 9'd0;
reg [9:0] d_de0 = 10'd0, d_de1 = 10'd0;
reg [2:0] d_cpl = 3'd0;
reg [47:0] d_cpl_cid = 48'd0;
reg d_dd = 1'b0, d_shadow = 1'b0, d_cshadow = 1'b0, d_restart = 1'b0, d_d_neg = 1'b0, d_d_big = 1'b0, d_cend_in = 1'b0;
reg [6:0] d_d_lo = 7'd0;
reg [2:0] d_hv = 3'd0;
// New headers' segment ends: data end plus the digest.
reg [9:0] d_ge0 = 10'd0, d_ge1 = 10'd0;
always @(posedge clock) begin
  d_valid <= c_valid; d_first <= c_first; d_last <= c_last; d_lost_out <= c_lost_out; d_data <= c_data; d_flow <= c_flow;
  d_len <= c_len; d_lo <= c_lo; d_frame_offset <= c_frame_offset;
  d_ds <= {{c_a[32], c_a}} - {{2'b0, c_datal}};
  d_off0 <= c_e - c_a[31:0];
  d_a_neg <= c_a[32]; d_a_big <= |c_a[31:7]; d_a_lo <= c_a[6:0];
  d_doff <= c_doff; d_doff0 <= c_doff0; d_doff1 <= c_doff1;
  d_c2h <= c_c2h; d_c2h0 <= c_c2h0; d_c2h1 <= c_c2h1; d_far0 <= c_far0; d_far1 <= c_far1;
  d_cid <= c_cid; d_cid0 <= c_cid0; d_cid1 <= c_cid1;
  d_ds0 <= c_ds0; d_ds1 <= c_ds1;
  d_de0 <= {{1'b0, c_ds0}} + {{2'b0, c_dl0}}; d_de1 <= {{1'b0, c_ds1}} + {{2'b0, c_dl1}};
  d_cpl <= c_cpl; d_cpl_cid <= {{c_cid1, c_cid0, c_cid}};
  d_dd <= c_dd; d_shadow <= c_shadow; d_cshadow <= c_cshadow; d_restart <= c_restart; d_hv <= c_hv; d_cend_in <= c_cend_in;
  d_d_neg <= c_d_neg; d_d_big <= c_d_big; d_d_lo <= c_d_lo;
  d_ge0 <= {{1'b0, c_ds0}} + {{2'b0, c_dl0}} + {{7'd0, c_dd, 2'd0}}; d_ge1 <= {{1'b0, c_ds1}} + {{2'b0, c_dl1}} + {{7'd0, c_dd, 2'd0}};
end
// Stage e: every candidate run clamped to the beat's own bytes: start, end (exclusive).
reg e_valid = 1'b0, e_first = 1'b0, e_last = 1'b0, e_lost_out = 1'b0;
reg [511:0] e_data = 512'd0;
reg [11:0] e_flow = 12'd0;
reg [6:0] e_len = 7'd0;
reg [15:0] e_frame_offset = 16'd0;
reg [6:0] e_cs = 7'd0, e_ce = 7'd0, e_s0 = 7'd0, e_e0 = 7'd0, e_s1 = 7'd0, e_e1 = 7'd0;
reg e_c2h = 1'b0, e_c2h0 = 1'b0, e_c2h1 = 1'b0, e_starts_here = 1'b0, e_s0_in = 1'b0, e_s1_in = 1'b0;
reg [31:0] e_off_alt = 32'd0, e_doff = 32'd0, e_doff0 = 32'd0, e_doff1 = 32'd0;
reg [15:0] e_cid = 16'd0, e_cid0 = 16'd0, e_cid1 = 16'd0;
reg [2:0] e_cpl = 3'd0;
reg [47:0] e_cpl_cid = 48'd0;
reg e_dd = 1'b0, e_shadow = 1'b0, e_cshadow = 1'b0, e_restart = 1'b0, e_cend_in = 1'b0, e_g0_last = 1'b0, e_g1_last = 1'b0;
reg [6:0] e_se = 7'd0, e_g0 = 7'd0, e_g1 = 7'd0;
reg [2:0] e_hv = 3'd0;
// DS < lo (started before the beat's own bytes), DS >= 128 (starts past the beat).
wire d_ds_neg = d_ds[33];
wire d_ds_big = |d_ds[32:7];
wire d_ds_before = d_ds_neg || (!d_ds_big && d_ds[6:0] < d_lo);
// The carried data end, at most the beat's end.
wire d_a_within = d_a_neg || (!d_a_big && d_a_lo <= d_len);
wire d_d_within = d_d_neg || (!d_d_big && d_d_lo <= d_len);
always @(posedge clock) begin
  e_valid <= d_valid; e_first <= d_first; e_last <= d_last; e_lost_out <= d_lost_out; e_data <= d_data; e_flow <= d_flow;
  e_len <= d_len; e_frame_offset <= d_frame_offset;
  e_cs <= d_ds_before ? d_lo : d_ds_big ? 7'd127 : d_ds[6:0];
  e_ce <= d_a_within ? (d_a_neg ? 7'd0 : d_a_lo) : d_len;
  e_starts_here <= !d_ds_before;
  e_off_alt <= d_off0 + {{25'd0, d_lo}};
  e_doff <= d_doff; e_doff0 <= d_doff0; e_doff1 <= d_doff1;
  e_c2h <= d_c2h; e_c2h0 <= d_c2h0; e_c2h1 <= d_c2h1;
  e_cid <= d_cid; e_cid0 <= d_cid0; e_cid1 <= d_cid1;
  e_s0 <= d_ds0[6:0]; e_s1 <= d_ds1[6:0];
  e_s0_in <= d_ds0 < {{2'b0, d_len}}; e_s1_in <= d_ds1 < {{2'b0, d_len}};
  e_e0 <= (d_far0 || d_de0 > {{3'b0, d_len}}) ? d_len : d_de0[6:0];
  e_e1 <= (d_far1 || d_de1 > {{3'b0, d_len}}) ? d_len : d_de1[6:0];
  e_cpl <= d_cpl; e_cpl_cid <= d_cpl_cid;
  e_dd <= d_dd; e_shadow <= d_shadow; e_cshadow <= d_cshadow; e_restart <= d_restart; e_hv <= d_hv; e_cend_in <= d_cend_in;
  e_se <= d_d_within ? (d_d_neg ? 7'd0 : d_d_lo) : d_len;
  e_g0 <= (d_far0 || d_ge0 > {{3'b0, d_len}}) ? d_len : d_ge0[6:0]; e_g0_last <= !d_far0 && d_ge0 <= {{3'b0, d_len}};
  e_g1 <= (d_far1 || d_ge1 > {{3'b0, d_len}}) ? d_len : d_ge1[6:0]; e_g1_last <= !d_far1 && d_ge1 <= {{3'b0, d_len}};
end
// Stage f: which candidates have bytes in the beat.
reg f_valid = 1'b0, f_first = 1'b0, f_last = 1'b0, f_lost_out = 1'b0;
reg [511:0] f_data = 512'd0;
reg [11:0] f_flow = 12'd0;
reg [6:0] f_len = 7'd0;
reg [15:0] f_frame_offset = 16'd0;
reg [2:0] f_has = 3'd0;
reg [5:0] f_cs = 6'd0, f_s0 = 6'd0, f_s1 = 6'd0;
reg [6:0] f_cn = 7'd0, f_n0 = 7'd0, f_n1 = 7'd0;
reg [31:0] f_off = 32'd0, f_doff0 = 32'd0, f_doff1 = 32'd0;
reg [15:0] f_cid = 16'd0, f_cid0 = 16'd0, f_cid1 = 16'd0;
reg [2:0] f_cpl = 3'd0;
reg [47:0] f_cpl_cid = 48'd0;
// CRC segments: the carried PDU's and the first two headers' (data digests only), and the
// flow's followed bit (the unit follows its PDU in progress) with the context's forwarding.
reg f_cseg = 1'b0, f_cbegin = 1'b0, f_clast = 1'b0, f_hseg0 = 1'b0, f_hseg1 = 1'b0, f_h0last = 1'b0, f_h1last = 1'b0;
reg f_fh = 1'b0, f_has_hdr = 1'b0, f_kill = 1'b0, f_doubt = 1'b0, f_restart = 1'b0, f_m1 = 1'b0, f_m2 = 1'b0, f_ram = 1'b0;
reg [5:0] f_cse = 6'd0, f_g0e = 6'd0, f_g1e = 6'd0;
reg fol_ram [0:4095];
reg fol_loop = 1'b0, fol_loop2 = 1'b0, fol_write = 1'b0;
reg [11:0] fol_write_flow = 12'd0;
integer init_fol;
initial for (init_fol = 0; init_fol < 4096; init_fol = init_fol + 1) fol_ram[init_fol] = 1'b0;
wire [6:0] e_cse = e_se - 7'd1, e_g0e = e_g0 - 7'd1, e_g1e = e_g1 - 7'd1;
// A segment's end is at most lane 63 (the end's bit 6 only marks an empty segment).
wire unused_seg_ends = &{{1'b0, e_cse[6], e_g0e[6], e_g1e[6]}};
wire e_cseg = e_dd && e_c2h && e_cs < e_se && !e_lost_out;
wire e_hseg0 = e_dd && e_c2h0 && e_s0_in && !e_lost_out;
wire e_hseg1 = e_dd && e_c2h1 && e_s1_in && !e_lost_out;
always @(posedge clock) begin
  f_valid <= e_valid; f_first <= e_first; f_last <= e_last; f_lost_out <= e_lost_out; f_data <= e_data; f_flow <= e_flow;
  f_len <= e_len; f_frame_offset <= e_frame_offset;
  f_has[0] <= e_c2h && e_cs < e_ce;
  f_has[1] <= e_c2h0 && e_s0_in && e_s0 < e_e0;
  f_has[2] <= e_c2h1 && e_s1_in && e_s1 < e_e1;
  f_cs <= e_cs[5:0]; f_cn <= e_ce - e_cs; f_s0 <= e_s0[5:0]; f_n0 <= e_e0 - e_s0; f_s1 <= e_s1[5:0]; f_n1 <= e_e1 - e_s1;
  f_off <= e_starts_here ? e_doff : e_off_alt; f_doff0 <= e_doff0; f_doff1 <= e_doff1;
  f_cid <= e_cid; f_cid0 <= e_cid0; f_cid1 <= e_cid1;
  f_cpl <= e_cpl; f_cpl_cid <= e_cpl_cid;
  f_cseg <= e_cseg; f_cbegin <= e_starts_here; f_clast <= e_cend_in; f_cse <= e_cse[5:0];
  f_hseg0 <= e_hseg0; f_h0last <= e_g0_last; f_g0e <= e_g0e[5:0];
  f_hseg1 <= e_hseg1; f_h1last <= e_g1_last; f_g1e <= e_g1e[5:0];
  f_fh <= e_hv[2] ? 1'b0 : e_hv[1] ? e_hseg1 && !e_cseg && !e_hseg0 : e_hseg0 && !e_cseg;
  f_has_hdr <= |e_hv; f_kill <= e_lost_out || e_cshadow; f_doubt <= e_lost_out || e_shadow || e_cshadow; f_restart <= e_restart;
  f_m1 <= f_valid && f_flow == e_flow; f_m2 <= m_valid && m_flow == e_flow; f_ram <= fol_ram[e_flow];
end
wire fol_in = f_restart ? 1'b0 : (!f_first || f_m1) ? fol_loop : f_m2 ? fol_loop2 : f_ram;
wire c_followed = f_cbegin || fol_in;
wire seg_take = f_cseg ? c_followed : f_hseg0 || f_hseg1;
wire second_run = (f_has[0] && (f_has[1] || f_has[2])) || (f_has[1] && f_has[2]);
wire unfollowed_end = (f_cseg && f_clast && !c_followed) || (f_hseg0 && f_h0last && f_cseg) || (f_hseg1 && f_h1last && (f_cseg || f_hseg0));
wire fol_next = f_kill ? 1'b0 : f_has_hdr ? f_fh : f_cseg ? c_followed : fol_in;
always @(posedge clock) begin
  if (f_valid) fol_loop <= fol_next;
  fol_loop2 <= fol_loop;
  fol_write <= f_valid; fol_write_flow <= f_flow;
  if (fol_write) fol_ram[fol_write_flow] <= fol_loop;
end
// Output: the first run in lane order; any other is a second run.
initial begin
  m_valid = 1'b0; m_data = 512'd0; m_first = 1'b0; m_last = 1'b0; m_len = 7'd0; m_flow = 12'd0; m_frame_offset = 16'd0;
  m_run_valid = 1'b0; m_run_lane = 6'd0; m_run_len = 7'd0; m_run_cid = 16'd0; m_run_offset = 32'd0; m_run_second = 1'b0;
  m_cpl_valid = 3'd0; m_cpl_cid = 48'd0; m_lost = 1'b0;
  m_seg_valid = 1'b0; m_seg_start = 6'd0; m_seg_end = 6'd0; m_seg_begin = 1'b0; m_seg_last = 1'b0; m_crc_doubt = 1'b0;
end
always @(posedge clock) begin
  m_valid <= f_valid;
  if (f_valid) begin
    m_data <= f_data; m_first <= f_first; m_last <= f_last; m_len <= f_len; m_flow <= f_flow; m_frame_offset <= f_frame_offset;
    m_run_valid <= |f_has;
    m_run_lane <= f_has[0] ? f_cs : f_has[1] ? f_s0 : f_has[2] ? f_s1 : 6'd0;
    m_run_len <= f_has[0] ? f_cn : f_has[1] ? f_n0 : f_has[2] ? f_n1 : 7'd0;
    m_run_cid <= f_has[0] ? f_cid : f_has[1] ? f_cid0 : f_has[2] ? f_cid1 : 16'd0;
    m_run_offset <= f_has[0] ? f_off : f_has[1] ? f_doff0 : f_has[2] ? f_doff1 : 32'd0;
    m_run_second <= second_run;
    m_cpl_valid <= f_cpl;
    m_cpl_cid <= {{f_cpl[2] ? f_cpl_cid[47:32] : 16'd0, f_cpl[1] ? f_cpl_cid[31:16] : 16'd0, f_cpl[0] ? f_cpl_cid[15:0] : 16'd0}};
    m_lost <= f_lost_out;
    m_seg_valid <= seg_take;
    m_seg_start <= !seg_take ? 6'd0 : f_cseg ? f_cs : f_hseg0 ? f_s0 : f_s1;
    m_seg_end <= !seg_take ? 6'd0 : f_cseg ? f_cse : f_hseg0 ? f_g0e : f_g1e;
    m_seg_begin <= seg_take && (!f_cseg || f_cbegin);
    m_seg_last <= seg_take && (f_cseg ? f_clast : f_hseg0 ? f_h0last : f_h1last);
    m_crc_doubt <= f_doubt || second_run || unfollowed_end;
  end
end
",
    );
    v
}
