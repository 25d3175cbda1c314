//! `DmaWriter`: turns the resolved pieces of a beat into DMA write segments.
//!
//! Input: `SglStore`'s `m_res_*` (one beat a cycle). Output, `DMA_LATENCY` (6) clock edges
//! later, one beat a cycle: the beat's data and up to `SEGS` = 4 segments, each (host
//! address, 1..=64 bytes, first data lane), in address order of the data: piece 1 cut at its
//! first MPS-aligned address boundary, then piece 2 cut the same way. Segment `k` uses lanes
//! `lane[k] .. lane[k] + count[k]` of `m_dma_data`; the valid segments are `0..n`.
//!
//! PCIe writes: a write is a run of segments from one with `sop` to one with `eop`, possibly
//! across consecutive beats (coalescing). Segments join a run only when they are of the same
//! tag, contiguous in host memory and not starting at an MPS-aligned address, so a write never
//! exceeds MPS bytes and never crosses a 4 KiB boundary. The decision to end a run needs the
//! next beat, which is why the output trails the input by one extra stage (the comparison
//! itself is made a cycle ahead, between stages 3 and 2); a beat that is not
//! placed (or no beat) ends the run, so every write ends at most one cycle after its last byte.
//!
//! Teardown tokens leave on `m_done_*` with the beat they joined, in the cycle the last segment
//! of that tag leaves `m_dma` with `eop`.
//!
//! `update()` is a bit-exact plain-Rust model of the Verilog body (same registers, same
//! widths, same wrap-around), simulated with rust-hdl; `tests/placement_dma.rs` checks it
//! against a reference written from the contract above and replays it through the Verilog.
use super::{subst, wide, PlacementParams, TAG_PORT_BITS};
use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct DmaWriter {
    pub clock: Signal<In, Clock>,
    pub s_res_valid: Signal<In, Bit>,
    pub s_res_ok: Signal<In, Bit>,
    pub s_res_reason: Signal<In, Bits<3>>,
    pub s_res_tag: Signal<In, Bits<TAG_PORT_BITS>>,
    pub s_res_lane: Signal<In, Bits<6>>,
    pub s_res_count: Signal<In, Bits<7>>,
    pub s_res_a1: Signal<In, Bits<64>>,
    pub s_res_b1: Signal<In, Bits<7>>,
    pub s_res_a2: Signal<In, Bits<64>>,
    pub s_res_data: Signal<In, Bits<512>>,
    pub s_res_token_valid: Signal<In, Bit>,
    pub s_res_token_tag: Signal<In, Bits<TAG_PORT_BITS>>,
    /// The beat has at least one segment.
    pub m_dma_valid: Signal<Out, Bit>,
    pub m_dma_tag: Signal<Out, Bits<TAG_PORT_BITS>>,
    pub m_dma_data: Signal<Out, Bits<512>>,
    pub m_dma_seg_valid: Signal<Out, Bits<4>>,
    /// Segment k: bits [64k+63:64k].
    pub m_dma_seg_addr: Signal<Out, Bits<256>>,
    /// Segment k: bits [7k+6:7k].
    pub m_dma_seg_count: Signal<Out, Bits<28>>,
    /// Segment k: bits [6k+5:6k].
    pub m_dma_seg_lane: Signal<Out, Bits<24>>,
    pub m_dma_seg_sop: Signal<Out, Bits<4>>,
    pub m_dma_seg_eop: Signal<Out, Bits<4>>,
    /// Verdict of every input beat, aligned with `m_dma_*`.
    pub m_place_valid: Signal<Out, Bit>,
    pub m_place_ok: Signal<Out, Bit>,
    pub m_place_reason: Signal<Out, Bits<3>>,
    pub m_done_valid: Signal<Out, Bit>,
    pub m_done_tag: Signal<Out, Bits<TAG_PORT_BITS>>,
    pub m_stat_placed_beats: Signal<Out, Bits<32>>,
    pub m_stat_placed_bytes: Signal<Out, Bits<48>>,
    pub m_stat_bad_input: Signal<Out, Bits<32>>,
    pub m_stat_not_live: Signal<Out, Bits<32>>,
    pub m_stat_wrong_flow: Signal<Out, Bits<32>>,
    pub m_stat_stale: Signal<Out, Bits<32>>,
    pub m_stat_out_of_bounds: Signal<Out, Bits<32>>,
    _params: PlacementParams,
    _state: Box<DmaState>,
}

/// A beat in stages d0..d4 of the Verilog: the fields every stage carries. Fields a stage
/// does not have in the Verilog are simply unused there.
#[derive(Clone, Default)]
struct DBeat {
    v: bool,
    ok: bool,
    tok: bool,
    reason: u64,
    tag: u64,
    tok_tag: u64,
    cnt: u64,
    data: Bits<512>,
}

/// Every register of the Verilog body, with its Verilog name in the comment where it differs.
#[derive(Clone, Default)]
struct DmaState {
    // Stage 0.
    d0: DBeat,
    d0_b1: u64,
    d0_b2: u64,
    d0_a1: u64,
    d0_a2: u64,
    d0_a1b: u64,
    d0_a2b: u64,
    d0_e1: u64,
    d0_tob1: u64,
    d0_tob2: u64,
    d0_lane: u64,
    d0_l1b: u64,
    d0_l2a: u64,
    // Stage 1.
    d1: DBeat,
    d1_sv: u64,
    d1_a: [u64; 4],
    d1_n: [u64; 4],
    d1_l: [u64; 4],
    d1_e1: u64,
    d1_e2: u64,
    d1_cont12: bool,
    d1_has2: bool,
    // Stages 2, 3, 4: segments packed to the front.
    d2: DBeat,
    d2_sv: u64,
    d2_cin: u64,
    d2_a: [u64; 4],
    d2_n: [u64; 4],
    d2_l: [u64; 4],
    d2_last_end: u64,
    d2_al0: bool,
    d3: DBeat,
    d3_sv: u64,
    d3_cin: u64,
    d3_a: [u64; 4],
    d3_n: [u64; 4],
    d3_l: [u64; 4],
    d3_last_end: u64,
    cont_next: bool,
    d4: DBeat,
    d4_sv: u64,
    d4_cin: u64,
    d4_a: [u64; 4],
    d4_n: [u64; 4],
    d4_l: [u64; 4],
    open: bool,
    // Statistics.
    placed_beats: u64,
    placed_bytes: u64,
    refused: [u64; 5],
}

impl DmaWriter {
    /// Clock edges from `s_res_*` to `m_dma_*`, counting the edge that samples the input.
    pub const DMA_LATENCY: usize = 6;

    pub fn new(params: PlacementParams) -> Self {
        params.check();
        Self {
            clock: Default::default(),
            s_res_valid: Default::default(),
            s_res_ok: Default::default(),
            s_res_reason: Default::default(),
            s_res_tag: Default::default(),
            s_res_lane: Default::default(),
            s_res_count: Default::default(),
            s_res_a1: Default::default(),
            s_res_b1: Default::default(),
            s_res_a2: Default::default(),
            s_res_data: Default::default(),
            s_res_token_valid: Default::default(),
            s_res_token_tag: Default::default(),
            m_dma_valid: Default::default(),
            m_dma_tag: Default::default(),
            m_dma_data: Default::default(),
            m_dma_seg_valid: Default::default(),
            m_dma_seg_addr: Default::default(),
            m_dma_seg_count: Default::default(),
            m_dma_seg_lane: Default::default(),
            m_dma_seg_sop: Default::default(),
            m_dma_seg_eop: Default::default(),
            m_place_valid: Default::default(),
            m_place_ok: Default::default(),
            m_place_reason: Default::default(),
            m_done_valid: Default::default(),
            m_done_tag: Default::default(),
            m_stat_placed_beats: Default::default(),
            m_stat_placed_bytes: Default::default(),
            m_stat_bad_input: Default::default(),
            m_stat_not_live: Default::default(),
            m_stat_wrong_flow: Default::default(),
            m_stat_stale: Default::default(),
            m_stat_out_of_bounds: Default::default(),
            _params: params,
            _state: Box::default(),
        }
    }

    /// One rising edge of the Verilog body: every register's next value from the current ones.
    fn edge(&mut self) {
        const M7: u64 = 0x7f;
        const M6: u64 = 0x3f;
        let m = self._params.mps_bits() as u32;
        let mps = self._params.mps as u64;
        let low = mps - 1;
        let cur = &*self._state;
        let mut nx = cur.clone();
        // Stage 0.
        let (valid, ok) = (self.s_res_valid.val(), self.s_res_ok.val());
        let (a1, a2) = (self.s_res_a1.val().to_u64(), self.s_res_a2.val().to_u64());
        let (b1, cnt, lane) = (self.s_res_b1.val().to_u64(), self.s_res_count.val().to_u64(), self.s_res_lane.val().to_u64());
        nx.d0 = DBeat {
            v: valid,
            ok: valid && ok,
            tok: self.s_res_token_valid.val(),
            reason: self.s_res_reason.val().to_u64(),
            tag: self.s_res_tag.val().to_u64(),
            tok_tag: self.s_res_token_tag.val().to_u64(),
            cnt,
            data: self.s_res_data.val(),
        };
        nx.d0_b1 = b1;
        nx.d0_b2 = cnt.wrapping_sub(b1) & M7;
        nx.d0_a1 = a1;
        nx.d0_a2 = a2;
        nx.d0_tob1 = mps - (a1 & low);
        nx.d0_tob2 = mps - (a2 & low);
        // {a[63:m] + 1, m'd0}: the carry out of bit 63 is lost.
        nx.d0_a1b = ((a1 >> m).wrapping_add(1)) << m;
        nx.d0_a2b = ((a2 >> m).wrapping_add(1)) << m;
        nx.d0_e1 = a1.wrapping_add(b1);
        nx.d0_lane = lane;
        nx.d0_l1b = lane.wrapping_sub(a1 & M6) & M6;
        nx.d0_l2a = (lane + (b1 & M6)) & M6;
        // Stage 1.
        let gt1 = (cur.d0_tob1 >> 7) == 0 && cur.d0_b1 > (cur.d0_tob1 & M7);
        let gt2 = (cur.d0_tob2 >> 7) == 0 && cur.d0_b2 > (cur.d0_tob2 & M7);
        nx.d1 = cur.d0.clone();
        nx.d1_sv = if cur.d0.ok { (u64::from(gt2) << 3) | (u64::from(cur.d0_b2 != 0) << 2) | (u64::from(gt1) << 1) | 1 } else { 0 };
        nx.d1_a = [cur.d0_a1, cur.d0_a1b, cur.d0_a2, cur.d0_a2b];
        nx.d1_n = [
            if gt1 { cur.d0_tob1 & M7 } else { cur.d0_b1 },
            cur.d0_b1.wrapping_sub(cur.d0_tob1 & M7) & M7,
            if gt2 { cur.d0_tob2 & M7 } else { cur.d0_b2 },
            cur.d0_b2.wrapping_sub(cur.d0_tob2 & M7) & M7,
        ];
        nx.d1_l = [cur.d0_lane, cur.d0_l1b, cur.d0_l2a, (cur.d0_l2a + (cur.d0_tob2 & M6)) & M6];
        nx.d1_cont12 = cur.d0_a2 == cur.d0_e1 && (cur.d0_a2 & low) != 0;
        nx.d1_has2 = cur.d0_b2 != 0;
        nx.d1_e1 = cur.d0_e1;
        nx.d1_e2 = cur.d0_a2.wrapping_add(cur.d0_b2);
        // Stage 2.
        let sk1 = cur.d1_sv >> 1 & 1 == 0;
        let sv2 = cur.d1_sv >> 2 & 1 == 1;
        let c12 = u64::from(sv2 && cur.d1_cont12);
        nx.d2 = cur.d1.clone();
        if sk1 {
            nx.d2_sv = (cur.d1_sv >> 2 & 3) << 1 | (cur.d1_sv & 1);
            nx.d2_cin = c12 << 1;
            nx.d2_a = [cur.d1_a[0], cur.d1_a[2], cur.d1_a[3], cur.d1_a[3]];
            nx.d2_n = [cur.d1_n[0], cur.d1_n[2], cur.d1_n[3], cur.d1_n[3]];
            nx.d2_l = [cur.d1_l[0], cur.d1_l[2], cur.d1_l[3], cur.d1_l[3]];
        } else {
            nx.d2_sv = cur.d1_sv;
            nx.d2_cin = c12 << 2;
            nx.d2_a = cur.d1_a;
            nx.d2_n = cur.d1_n;
            nx.d2_l = cur.d1_l;
        }
        nx.d2_last_end = if cur.d1_has2 { cur.d1_e2 } else { cur.d1_e1 };
        nx.d2_al0 = cur.d1_a[0] & low == 0;
        // Stage 3.
        nx.d3 = cur.d2.clone();
        (nx.d3_sv, nx.d3_cin, nx.d3_a, nx.d3_n, nx.d3_l, nx.d3_last_end) = (cur.d2_sv, cur.d2_cin, cur.d2_a, cur.d2_n, cur.d2_l, cur.d2_last_end);
        nx.cont_next = cur.d3.ok && cur.d2.ok && cur.d3.tag == cur.d2.tag && cur.d3_last_end == cur.d2_a[0] && !cur.d2_al0;
        // Stage 4.
        nx.d4 = cur.d3.clone();
        (nx.d4_sv, nx.d4_cin, nx.d4_a, nx.d4_n, nx.d4_l) = (cur.d3_sv, cur.d3_cin, cur.d3_a, cur.d3_n, cur.d3_l);
        // Output stage.
        let cont_x = cur.cont_next;
        let next_v = cur.d4_sv >> 1;
        let cin_next = (u64::from(cont_x) << 3) | (cur.d4_cin >> 1);
        let all_cont = if cont_x { 0xf } else { 0 };
        let eop = cur.d4_sv & ((next_v & !cin_next) | (!next_v & !all_cont & 0xf));
        let sop = cur.d4_sv & !(((cur.d4_cin >> 1) << 1) | u64::from(cur.open)) & 0xf;
        nx.open = cont_x;
        let d4 = &cur.d4;
        self.m_dma_valid.next = d4.ok;
        self.m_dma_tag.next = d4.tag.into();
        self.m_dma_data.next = d4.data;
        self.m_dma_seg_valid.next = cur.d4_sv.into();
        self.m_dma_seg_addr.next = wide(&cur.d4_a, 64);
        self.m_dma_seg_count.next = (0..4).fold(0u64, |acc, k| acc | cur.d4_n[k] << (7 * k)).into();
        self.m_dma_seg_lane.next = (0..4).fold(0u64, |acc, k| acc | cur.d4_l[k] << (6 * k)).into();
        self.m_dma_seg_sop.next = sop.into();
        self.m_dma_seg_eop.next = eop.into();
        self.m_place_valid.next = d4.v;
        self.m_place_ok.next = d4.ok;
        self.m_place_reason.next = d4.reason.into();
        self.m_done_valid.next = d4.tok;
        self.m_done_tag.next = d4.tok_tag.into();
        if d4.ok {
            nx.placed_beats = (cur.placed_beats + 1) & 0xFFFF_FFFF;
            nx.placed_bytes = (cur.placed_bytes + d4.cnt) & 0xFFFF_FFFF_FFFF;
        }
        if d4.v && (1..=5).contains(&d4.reason) {
            let r = d4.reason as usize - 1;
            nx.refused[r] = (cur.refused[r] + 1) & 0xFFFF_FFFF;
        }
        self.m_stat_placed_beats.next = nx.placed_beats.into();
        self.m_stat_placed_bytes.next = nx.placed_bytes.into();
        self.m_stat_bad_input.next = nx.refused[0].into();
        self.m_stat_not_live.next = nx.refused[1].into();
        self.m_stat_wrong_flow.next = nx.refused[2].into();
        self.m_stat_stale.next = nx.refused[3].into();
        self.m_stat_out_of_bounds.next = nx.refused[4].into();
        *self._state = nx;
    }
}

impl Logic for DmaWriter {
    /// Bit-exact model of the Verilog body (see `edge`).
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.edge();
        }
    }

    fn connect(&mut self) {
        self.m_dma_valid.connect();
        self.m_dma_tag.connect();
        self.m_dma_data.connect();
        self.m_dma_seg_valid.connect();
        self.m_dma_seg_addr.connect();
        self.m_dma_seg_count.connect();
        self.m_dma_seg_lane.connect();
        self.m_dma_seg_sop.connect();
        self.m_dma_seg_eop.connect();
        self.m_place_valid.connect();
        self.m_place_ok.connect();
        self.m_place_reason.connect();
        self.m_done_valid.connect();
        self.m_done_tag.connect();
        self.m_stat_placed_beats.connect();
        self.m_stat_placed_bytes.connect();
        self.m_stat_bad_input.connect();
        self.m_stat_not_live.connect();
        self.m_stat_wrong_flow.connect();
        self.m_stat_stale.connect();
        self.m_stat_out_of_bounds.connect();
    }

    fn hdl(&self) -> Verilog {
        let m = self._params.mps_bits();
        Verilog::Custom(subst(
            TEMPLATE,
            &[("M", m.to_string()), ("MM", (m - 1).to_string()), ("MPS", self._params.mps.to_string()), ("HI", (64 - m).to_string()), ("PAD", (13 - m).to_string())],
        ))
    }
}

const TEMPLATE: &str = r#"
// ---- DmaWriter: see dma_writer.rs for the contract. MPS = %MPS%.
initial begin
  m_dma_valid = 1'b0; m_dma_tag = 16'd0; m_dma_data = 512'd0; m_dma_seg_valid = 4'd0; m_dma_seg_addr = 256'd0;
  m_dma_seg_count = 28'd0; m_dma_seg_lane = 24'd0; m_dma_seg_sop = 4'd0; m_dma_seg_eop = 4'd0;
  m_place_valid = 1'b0; m_place_ok = 1'b0; m_place_reason = 3'd0; m_done_valid = 1'b0; m_done_tag = 16'd0;
  m_stat_placed_beats = 32'd0; m_stat_placed_bytes = 48'd0; m_stat_bad_input = 32'd0; m_stat_not_live = 32'd0;
  m_stat_wrong_flow = 32'd0; m_stat_stale = 32'd0; m_stat_out_of_bounds = 32'd0;
end

// ---- Stage 0: distances to the next MPS boundary, second-piece size, ends of the pieces.
reg d0_v = 1'b0, d0_ok = 1'b0, d0_tok = 1'b0;
reg [2:0] d0_reason = 3'd0;
reg [15:0] d0_tag = 16'd0, d0_tok_tag = 16'd0;
reg [6:0] d0_cnt = 7'd0, d0_b1 = 7'd0, d0_b2 = 7'd0;
reg [511:0] d0_data = 512'd0;
reg [63:0] d0_a1 = 64'd0, d0_a2 = 64'd0, d0_a1b = 64'd0, d0_a2b = 64'd0, d0_e1 = 64'd0;
reg [12:0] d0_tob1 = 13'd0, d0_tob2 = 13'd0;
reg [5:0] d0_lane = 6'd0, d0_l1b = 6'd0, d0_l2a = 6'd0;
always @(posedge clock) begin
  d0_v <= s_res_valid; d0_ok <= s_res_valid && s_res_ok; d0_reason <= s_res_reason; d0_tag <= s_res_tag;
  d0_cnt <= s_res_count; d0_data <= s_res_data; d0_tok <= s_res_token_valid; d0_tok_tag <= s_res_token_tag;
  d0_b1 <= s_res_b1; d0_b2 <= s_res_count - s_res_b1;
  d0_a1 <= s_res_a1; d0_a2 <= s_res_a2;
  d0_tob1 <= 13'd%MPS% - {%PAD%'d0, s_res_a1[%MM%:0]};
  d0_tob2 <= 13'd%MPS% - {%PAD%'d0, s_res_a2[%MM%:0]};
  d0_a1b <= {s_res_a1[63:%M%] + %HI%'d1, %M%'d0};
  d0_a2b <= {s_res_a2[63:%M%] + %HI%'d1, %M%'d0};
  d0_e1 <= s_res_a1 + {57'd0, s_res_b1};
  d0_lane <= s_res_lane;
  d0_l1b <= s_res_lane - s_res_a1[5:0];
  d0_l2a <= s_res_lane + s_res_b1[5:0];
end

// ---- Stage 1: cut each piece at its first MPS boundary (segments 1a, 1b, 2a, 2b).
wire gt1 = (d0_tob1[12:7] == 6'd0) && (d0_b1 > d0_tob1[6:0]);
wire gt2 = (d0_tob2[12:7] == 6'd0) && (d0_b2 > d0_tob2[6:0]);
reg d1_v = 1'b0, d1_ok = 1'b0, d1_tok = 1'b0, d1_cont12 = 1'b0, d1_has2 = 1'b0;
reg [2:0] d1_reason = 3'd0;
reg [15:0] d1_tag = 16'd0, d1_tok_tag = 16'd0;
reg [6:0] d1_cnt = 7'd0;
reg [511:0] d1_data = 512'd0;
reg [3:0] d1_sv = 4'd0;
reg [63:0] d1_a0 = 64'd0, d1_a1 = 64'd0, d1_a2 = 64'd0, d1_a3 = 64'd0, d1_e1 = 64'd0, d1_e2 = 64'd0;
reg [6:0] d1_n0 = 7'd0, d1_n1 = 7'd0, d1_n2 = 7'd0, d1_n3 = 7'd0;
reg [5:0] d1_l0 = 6'd0, d1_l1 = 6'd0, d1_l2 = 6'd0, d1_l3 = 6'd0;
always @(posedge clock) begin
  d1_v <= d0_v; d1_ok <= d0_ok; d1_reason <= d0_reason; d1_tag <= d0_tag;
  d1_cnt <= d0_cnt; d1_data <= d0_data; d1_tok <= d0_tok; d1_tok_tag <= d0_tok_tag;
  d1_sv <= {4{d0_ok}} & {gt2, d0_b2 != 7'd0, gt1, 1'b1};
  d1_a0 <= d0_a1; d1_n0 <= gt1 ? d0_tob1[6:0] : d0_b1; d1_l0 <= d0_lane;
  d1_a1 <= d0_a1b; d1_n1 <= d0_b1 - d0_tob1[6:0]; d1_l1 <= d0_l1b;
  d1_a2 <= d0_a2; d1_n2 <= gt2 ? d0_tob2[6:0] : d0_b2; d1_l2 <= d0_l2a;
  d1_a3 <= d0_a2b; d1_n3 <= d0_b2 - d0_tob2[6:0]; d1_l3 <= d0_l2a + d0_tob2[5:0];
  // Piece 2 continues piece 1 when the next entry follows in host memory.
  d1_cont12 <= (d0_a2 == d0_e1) && (d0_a2[%MM%:0] != %M%'d0);
  d1_has2 <= d0_b2 != 7'd0;
  d1_e1 <= d0_e1;
  d1_e2 <= d0_a2 + {57'd0, d0_b2};
end

// ---- Stage 2: pack the valid segments to the front; where the beat's data ends.
wire sk1 = !d1_sv[1];
reg d2_v = 1'b0, d2_ok = 1'b0, d2_tok = 1'b0, d2_al0 = 1'b0;
reg [2:0] d2_reason = 3'd0;
reg [15:0] d2_tag = 16'd0, d2_tok_tag = 16'd0;
reg [6:0] d2_cnt = 7'd0;
reg [511:0] d2_data = 512'd0;
reg [3:0] d2_sv = 4'd0, d2_cin = 4'd0;
reg [63:0] d2_a0 = 64'd0, d2_a1 = 64'd0, d2_a2 = 64'd0, d2_a3 = 64'd0, d2_last_end = 64'd0;
reg [6:0] d2_n0 = 7'd0, d2_n1 = 7'd0, d2_n2 = 7'd0, d2_n3 = 7'd0;
reg [5:0] d2_l0 = 6'd0, d2_l1 = 6'd0, d2_l2 = 6'd0, d2_l3 = 6'd0;
always @(posedge clock) begin
  d2_v <= d1_v; d2_ok <= d1_ok; d2_reason <= d1_reason; d2_tag <= d1_tag; d2_cnt <= d1_cnt; d2_data <= d1_data;
  d2_tok <= d1_tok; d2_tok_tag <= d1_tok_tag;
  d2_sv <= sk1 ? {1'b0, d1_sv[3:2], d1_sv[0]} : d1_sv;
  d2_cin <= sk1 ? {2'b00, d1_sv[2] && d1_cont12, 1'b0} : {1'b0, d1_sv[2] && d1_cont12, 2'b00};
  d2_a0 <= d1_a0; d2_n0 <= d1_n0; d2_l0 <= d1_l0;
  d2_a1 <= sk1 ? d1_a2 : d1_a1; d2_n1 <= sk1 ? d1_n2 : d1_n1; d2_l1 <= sk1 ? d1_l2 : d1_l1;
  d2_a2 <= sk1 ? d1_a3 : d1_a2; d2_n2 <= sk1 ? d1_n3 : d1_n2; d2_l2 <= sk1 ? d1_l3 : d1_l2;
  d2_a3 <= d1_a3; d2_n3 <= d1_n3; d2_l3 <= d1_l3;
  d2_last_end <= d1_has2 ? d1_e2 : d1_e1;
  d2_al0 <= d1_a0[%MM%:0] == %M%'d0;
end

// ---- Stage 3: the beat before the current one.
reg d3_v = 1'b0, d3_ok = 1'b0, d3_tok = 1'b0;
reg [2:0] d3_reason = 3'd0;
reg [15:0] d3_tag = 16'd0, d3_tok_tag = 16'd0;
reg [6:0] d3_cnt = 7'd0;
reg [511:0] d3_data = 512'd0;
reg [3:0] d3_sv = 4'd0, d3_cin = 4'd0;
reg [63:0] d3_a0 = 64'd0, d3_a1 = 64'd0, d3_a2 = 64'd0, d3_a3 = 64'd0, d3_last_end = 64'd0;
reg [6:0] d3_n0 = 7'd0, d3_n1 = 7'd0, d3_n2 = 7'd0, d3_n3 = 7'd0;
reg [5:0] d3_l0 = 6'd0, d3_l1 = 6'd0, d3_l2 = 6'd0, d3_l3 = 6'd0;
// Whether the beat now in stage 2 continues the last write of the beat in stage 3; it is
// used one cycle later, when the two beats are in stages 4 and 3.
reg cont_next = 1'b0;
always @(posedge clock) begin
  d3_v <= d2_v; d3_ok <= d2_ok; d3_reason <= d2_reason; d3_tag <= d2_tag; d3_cnt <= d2_cnt; d3_data <= d2_data;
  d3_tok <= d2_tok; d3_tok_tag <= d2_tok_tag; d3_sv <= d2_sv; d3_cin <= d2_cin; d3_last_end <= d2_last_end;
  d3_a0 <= d2_a0; d3_a1 <= d2_a1; d3_a2 <= d2_a2; d3_a3 <= d2_a3;
  d3_n0 <= d2_n0; d3_n1 <= d2_n1; d3_n2 <= d2_n2; d3_n3 <= d2_n3;
  d3_l0 <= d2_l0; d3_l1 <= d2_l1; d3_l2 <= d2_l2; d3_l3 <= d2_l3;
  cont_next <= d3_ok && d2_ok && d3_tag == d2_tag && d3_last_end == d2_a0 && !d2_al0;
end

// ---- Stage 4: the current beat; whether the next beat continues its last write.
reg d4_v = 1'b0, d4_ok = 1'b0, d4_tok = 1'b0;
reg [2:0] d4_reason = 3'd0;
reg [15:0] d4_tag = 16'd0, d4_tok_tag = 16'd0;
reg [6:0] d4_cnt = 7'd0;
reg [511:0] d4_data = 512'd0;
reg [3:0] d4_sv = 4'd0, d4_cin = 4'd0;
reg [63:0] d4_a0 = 64'd0, d4_a1 = 64'd0, d4_a2 = 64'd0, d4_a3 = 64'd0;
reg [6:0] d4_n0 = 7'd0, d4_n1 = 7'd0, d4_n2 = 7'd0, d4_n3 = 7'd0;
reg [5:0] d4_l0 = 6'd0, d4_l1 = 6'd0, d4_l2 = 6'd0, d4_l3 = 6'd0;
reg open = 1'b0;
wire unused_cin0 = &{1'b0, d4_cin[0]};
always @(posedge clock) begin
  d4_v <= d3_v; d4_ok <= d3_ok; d4_reason <= d3_reason; d4_tag <= d3_tag; d4_cnt <= d3_cnt; d4_data <= d3_data;
  d4_tok <= d3_tok; d4_tok_tag <= d3_tok_tag; d4_sv <= d3_sv; d4_cin <= d3_cin;
  d4_a0 <= d3_a0; d4_a1 <= d3_a1; d4_a2 <= d3_a2; d4_a3 <= d3_a3;
  d4_n0 <= d3_n0; d4_n1 <= d3_n1; d4_n2 <= d3_n2; d4_n3 <= d3_n3;
  d4_l0 <= d3_l0; d4_l1 <= d3_l1; d4_l2 <= d3_l2; d4_l3 <= d3_l3;
end
wire cont_x = cont_next;
wire [3:0] next_v = {1'b0, d4_sv[3:1]};
wire [3:0] cin_next = {cont_x, d4_cin[3:1]};
wire [3:0] eop4 = d4_sv & ((next_v & ~cin_next) | (~next_v & ~{4{cont_x}}));
always @(posedge clock) begin
  open <= cont_x;
  m_dma_valid <= d4_ok;
  m_dma_tag <= d4_tag;
  m_dma_data <= d4_data;
  m_dma_seg_valid <= d4_sv;
  m_dma_seg_addr <= {d4_a3, d4_a2, d4_a1, d4_a0};
  m_dma_seg_count <= {d4_n3, d4_n2, d4_n1, d4_n0};
  m_dma_seg_lane <= {d4_l3, d4_l2, d4_l1, d4_l0};
  m_dma_seg_sop <= d4_sv & ~{d4_cin[3:1], open};
  m_dma_seg_eop <= eop4;
  m_place_valid <= d4_v;
  m_place_ok <= d4_ok;
  m_place_reason <= d4_reason;
  m_done_valid <= d4_tok;
  m_done_tag <= d4_tok_tag;
  if (d4_ok) begin
    m_stat_placed_beats <= m_stat_placed_beats + 32'd1;
    m_stat_placed_bytes <= m_stat_placed_bytes + {41'd0, d4_cnt};
  end
  if (d4_v && d4_reason == 3'd1) m_stat_bad_input <= m_stat_bad_input + 32'd1;
  if (d4_v && d4_reason == 3'd2) m_stat_not_live <= m_stat_not_live + 32'd1;
  if (d4_v && d4_reason == 3'd3) m_stat_wrong_flow <= m_stat_wrong_flow + 32'd1;
  if (d4_v && d4_reason == 3'd4) m_stat_stale <= m_stat_stale + 32'd1;
  if (d4_v && d4_reason == 3'd5) m_stat_out_of_bounds <= m_stat_out_of_bounds + 32'd1;
end
"#;
