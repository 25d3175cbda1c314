//! `SglStore`: tag descriptors, the SGL entry pool and the data-offset search.
//!
//! One beat a cycle on `s_place_*`: (flow, tag, generation, data offset of the first placed
//! byte, its lane, byte count <= 64, the 64-byte beat). `PLACE_LATENCY` (9) clock edges later
//! `m_res_*` gives the verdict and, when placed, up to two pieces: `a1`/`b1` (host address and
//! bytes in the SGL entry that holds the offset) and `a2` (the next entry's address; its
//! `count - b1` bytes). A beat never spans more than two entries because every entry except
//! the first and last is at least 64 bytes long (checked at setup).
//!
//! Pool layout: entry `e` = (host address in bank `e mod 2`, prefix sum in column `e mod 16`
//! of row `e / 16` of the level-2 index). A tag of <= 16 entries sits inside one row; a larger
//! tag starts a row, owns its rows, and stays inside one 256-entry superblock whose level-1
//! word holds the prefix sum of each row's first entry. Search, fully pipelined (one beat a
//! cycle, no per-tag state): descriptor read; level-1 word read; 16 compares; row select and
//! level-2 read; 16 compares; entry select and address-bank read (entries e and e+1); pieces.
//!
//! Verdict order (`reason`): bad input, tag not live, wrong flow, stale generation, out of
//! bounds. The teardown token (`s_token_*`, in the cycle of the killing descriptor write) joins
//! the beat that read the descriptor in that cycle, the last one that can still be placed.
//!
//! `update()` is a bit-exact plain-Rust model of the Verilog body (every register and memory,
//! same widths); `tests/placement_sgl.rs` checks it against a reference that walks the SGL
//! entry by entry and replays it through the Verilog.
use super::{subst, PlacementParams, BASE_PORT_BITS, FLOW_BITS, GEN_BITS, TAG_PORT_BITS};
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

#[derive(LogicBlock)]
pub struct SglStore {
    pub clock: Signal<In, Clock>,
    pub s_desc_we: Signal<In, Bit>,
    pub s_desc_tag: Signal<In, Bits<TAG_PORT_BITS>>,
    pub s_desc_live: Signal<In, Bit>,
    pub s_desc_gen: Signal<In, Bits<GEN_BITS>>,
    pub s_desc_flow: Signal<In, Bits<FLOW_BITS>>,
    pub s_desc_base: Signal<In, Bits<BASE_PORT_BITS>>,
    pub s_desc_last: Signal<In, Bits<8>>,
    pub s_desc_total: Signal<In, Bits<32>>,
    pub s_token_valid: Signal<In, Bit>,
    pub s_token_tag: Signal<In, Bits<TAG_PORT_BITS>>,
    pub s_entry_we: Signal<In, Bit>,
    pub s_entry_index: Signal<In, Bits<BASE_PORT_BITS>>,
    pub s_entry_addr: Signal<In, Bits<64>>,
    pub s_entry_start: Signal<In, Bits<32>>,
    pub s_entry_l1: Signal<In, Bit>,
    pub s_place_valid: Signal<In, Bit>,
    pub s_place_flow: Signal<In, Bits<FLOW_BITS>>,
    pub s_place_tag: Signal<In, Bits<TAG_PORT_BITS>>,
    pub s_place_gen: Signal<In, Bits<GEN_BITS>>,
    pub s_place_offset: Signal<In, Bits<32>>,
    pub s_place_lane: Signal<In, Bits<6>>,
    pub s_place_count: Signal<In, Bits<7>>,
    pub s_place_data: Signal<In, Bits<512>>,
    pub m_res_valid: Signal<Out, Bit>,
    pub m_res_ok: Signal<Out, Bit>,
    pub m_res_reason: Signal<Out, Bits<3>>,
    pub m_res_tag: Signal<Out, Bits<TAG_PORT_BITS>>,
    pub m_res_lane: Signal<Out, Bits<6>>,
    pub m_res_count: Signal<Out, Bits<7>>,
    pub m_res_a1: Signal<Out, Bits<64>>,
    pub m_res_b1: Signal<Out, Bits<7>>,
    pub m_res_a2: Signal<Out, Bits<64>>,
    pub m_res_data: Signal<Out, Bits<512>>,
    pub m_res_token_valid: Signal<Out, Bit>,
    pub m_res_token_tag: Signal<Out, Bits<TAG_PORT_BITS>>,
    _params: PlacementParams,
    _m: Box<SglMem>,
    _r: Box<SglRegs>,
}

/// A descriptor word: `{live, gen, flow, base, last, total}`.
#[derive(Clone, Copy, Default)]
struct Desc {
    live: bool,
    gen: u64,
    flow: u64,
    base: u64,
    last: u64,
    total: u64,
}

/// The memories of the Verilog body.
#[derive(Default)]
struct SglMem {
    desc: Vec<Desc>,
    /// `l1m{j}[superblock]` at `l1[superblock][j]`.
    l1: Vec<[u64; 16]>,
    /// Level 2, column `j` of row `r` (`l2m{j/2}[r]` half `j%2`) at `l2[r][j]`.
    l2: Vec<[u64; 16]>,
    bank: [Vec<u64>; 2],
    /// `dly0..dly7`, the newest at the back.
    dly: VecDeque<Bits<512>>,
}

/// What every stage carries (a stage that lacks a field in the Verilog ignores it).
#[derive(Clone, Copy, Default)]
struct Beat {
    v: bool,
    tok: bool,
    tok_tag: u64,
    reason: u64,
    tag: u64,
    flow: u64,
    gen: u64,
    off: u64,
    total: u64,
    lane: u64,
    cnt: u64,
}

/// The registers of the Verilog body, under their Verilog names (`rN` = the `Beat` of stage N).
#[derive(Clone, Default)]
struct SglRegs {
    r1: Beat,
    r2: Beat,
    r2_bad: bool,
    r2_end: u64,
    r2_desc: Desc,
    l1q: [u64; 16],
    r3: Beat,
    r3_end: u64,
    r3_base: u64,
    r3_last: u64,
    r4: Beat,
    r4_m1: u64,
    r4_l1q: [u64; 16],
    r4_base: u64,
    r4_last: u64,
    r4_oob: bool,
    r4_lastrow_oh: u64,
    l2q: [u64; 16],
    r5: Beat,
    r5_more: bool,
    r5_nrs: u64,
    r5_row: u64,
    r5_lo: u64,
    r5_hi: u64,
    r6: Beat,
    r6_m2: u64,
    r6_s: [u64; 16],
    r6_more: bool,
    r6_nrs: u64,
    r6_row: u64,
    r6_lthi: u64,
    r6_row_p1: u64,
    bq: [u64; 2],
    r7: Beat,
    r7_odd: bool,
    r7_start: u64,
    r7_end: u64,
    r8: Beat,
    r8_into: u64,
    r8_room: u64,
    r8_addr: u64,
    r8_next: u64,
}

/// `{|(oh & 16'hff00), |(oh & 16'hf0f0), |(oh & 16'hcccc), |(oh & 16'haaaa)}`.
fn encode16(oh: u64) -> u64 {
    [0xaaaa, 0xcccc, 0xf0f0, 0xff00].iter().enumerate().fold(0, |acc, (b, m)| acc | (u64::from(oh & m != 0) << b))
}

impl SglStore {
    /// Clock edges from `s_place_*` to `m_res_*`, counting the edge that samples the input.
    pub const PLACE_LATENCY: usize = 9;

    pub fn new(params: PlacementParams) -> Self {
        params.check();
        Self {
            clock: Default::default(),
            s_desc_we: Default::default(),
            s_desc_tag: Default::default(),
            s_desc_live: Default::default(),
            s_desc_gen: Default::default(),
            s_desc_flow: Default::default(),
            s_desc_base: Default::default(),
            s_desc_last: Default::default(),
            s_desc_total: Default::default(),
            s_token_valid: Default::default(),
            s_token_tag: Default::default(),
            s_entry_we: Default::default(),
            s_entry_index: Default::default(),
            s_entry_addr: Default::default(),
            s_entry_start: Default::default(),
            s_entry_l1: Default::default(),
            s_place_valid: Default::default(),
            s_place_flow: Default::default(),
            s_place_tag: Default::default(),
            s_place_gen: Default::default(),
            s_place_offset: Default::default(),
            s_place_lane: Default::default(),
            s_place_count: Default::default(),
            s_place_data: Default::default(),
            m_res_valid: Default::default(),
            m_res_ok: Default::default(),
            m_res_reason: Default::default(),
            m_res_tag: Default::default(),
            m_res_lane: Default::default(),
            m_res_count: Default::default(),
            m_res_a1: Default::default(),
            m_res_b1: Default::default(),
            m_res_a2: Default::default(),
            m_res_data: Default::default(),
            m_res_token_valid: Default::default(),
            m_res_token_tag: Default::default(),
            _params: params,
            _m: Box::new(SglMem {
                desc: vec![Desc::default(); 1 << params.tag_bits],
                l1: vec![[0; 16]; 1 << (params.pool_bits - 8)],
                l2: vec![[0; 16]; 1 << (params.pool_bits - 4)],
                bank: [vec![0; 1 << (params.pool_bits - 1)], vec![0; 1 << (params.pool_bits - 1)]],
                dly: VecDeque::from(vec![Bits::<512>::default(); 8]),
            }),
            _r: Box::default(),
        }
    }

    /// One rising edge of the Verilog body: memory reads see the old contents, then the writes
    /// land and every register takes the value computed from the old registers.
    fn edge(&mut self) {
        const W32: u64 = 0xFFFF_FFFF;
        let p = self._params;
        let pb = p.pool_bits;
        let pmask = (1u64 << pb) - 1;
        let rowmask = (1u64 << (pb - 4)) - 1;
        let c = (*self._r).clone();
        let m = &mut *self._m;
        let mut n = c.clone();

        // Stage 1: inputs.
        n.r1 = Beat {
            v: self.s_place_valid.val(),
            flow: self.s_place_flow.val().to_u64(),
            tag: self.s_place_tag.val().to_u64(),
            gen: self.s_place_gen.val().to_u64(),
            off: self.s_place_offset.val().to_u64(),
            lane: self.s_place_lane.val().to_u64(),
            cnt: self.s_place_count.val().to_u64(),
            ..Default::default()
        };
        // Stage 2: checks; descriptor read.
        let r1_end_lane = c.r1.lane + c.r1.cnt;
        let r1_bad = c.r1.cnt == 0 || r1_end_lane > 64 || c.r1.tag >> p.tag_bits != 0;
        n.r2 = c.r1;
        n.r2.tok = self.s_token_valid.val();
        n.r2.tok_tag = self.s_token_tag.val().to_u64();
        n.r2_bad = r1_bad;
        n.r2_end = c.r1.off + c.r1.cnt;
        n.r2_desc = m.desc[(c.r1.tag & ((1 << p.tag_bits) - 1)) as usize];
        // Stage 3: level-1 read.
        let d = c.r2_desc;
        let r2_reason = if c.r2_bad {
            1
        } else if !d.live {
            2
        } else if d.flow != c.r2.flow {
            3
        } else if d.gen != c.r2.gen {
            4
        } else {
            0
        };
        n.r3 = Beat { reason: r2_reason, total: d.total, ..c.r2 };
        n.r3_end = c.r2_end;
        n.r3_base = d.base;
        n.r3_last = d.last;
        n.l1q = m.l1[(d.base >> 8) as usize];
        // Stage 4: level-1 compares.
        let (b74, l74) = (c.r3_base >> 4 & 15, c.r3_last >> 4 & 15);
        n.r4_m1 = 0;
        for j in 0..16u64 {
            let hit = c.r3.off >= c.l1q[j as usize] && (j == 15 || j >= b74) && (j == 0 || j <= b74 + l74);
            n.r4_m1 |= u64::from(hit) << j;
        }
        n.r4_l1q = c.l1q;
        n.r4 = c.r3;
        n.r4_base = c.r3_base;
        n.r4_last = c.r3_last;
        n.r4_oob = c.r3_end > c.r3.total;
        n.r4_lastrow_oh = 1 << ((b74 + l74) & 15);
        // Stage 5: the row; level-2 read.
        let oh1 = c.r4_m1 & !(c.r4_m1 >> 1);
        let j1 = encode16(oh1);
        let r4_small = c.r4_last >> 4 & 15 == 0;
        let r4_is_last_row = oh1 & c.r4_lastrow_oh != 0;
        let row4 = if r4_small { c.r4_base >> 4 } else { (c.r4_base >> 8) << 4 | j1 } & rowmask;
        let nrs4 = (0..15).filter(|j| oh1 >> j & 1 == 1).fold(0, |acc, j| acc | c.r4_l1q[j + 1]);
        n.l2q = m.l2[row4 as usize];
        n.r5 = Beat { reason: if c.r4.reason != 0 { c.r4.reason } else if c.r4_oob { 5 } else { 0 }, ..c.r4 };
        n.r5_row = row4;
        n.r5_nrs = nrs4;
        n.r5_more = !r4_small && !r4_is_last_row;
        n.r5_lo = if r4_small { c.r4_base & 15 } else { 0 };
        n.r5_hi = if r4_small { ((c.r4_base & 15) + (c.r4_last & 15)) & 15 } else if r4_is_last_row { c.r4_last & 15 } else { 15 };
        // Stage 6: level-2 compares.
        n.r6_m2 = 0;
        for j in 0..16u64 {
            let hit = c.r5.off >= c.l2q[j as usize] && (j == 15 || j >= c.r5_lo) && (j == 0 || j <= c.r5_hi);
            n.r6_m2 |= u64::from(hit) << j;
        }
        n.r6_s = c.l2q;
        n.r6_lthi = !(0xffffu64 << c.r5_hi) & 0xffff;
        n.r6_row_p1 = (c.r5_row + 1) & rowmask;
        n.r6 = c.r5;
        n.r6_more = c.r5_more;
        n.r6_nrs = c.r5_nrs;
        n.r6_row = c.r5_row;
        // Stage 7: the entry; address-bank reads.
        let oh2 = c.r6_m2 & !(c.r6_m2 >> 1);
        let k6 = encode16(oh2);
        let e6 = c.r6_row << 4 | k6;
        let start6 = (0..16).filter(|j| oh2 >> j & 1 == 1).fold(0, |acc, j| acc | c.r6_s[j]);
        let next_in_row6 = (0..15).filter(|j| oh2 >> j & 1 == 1).fold(0, |acc, j| acc | c.r6_s[j + 1]);
        let in_row6 = oh2 & c.r6_lthi != 0;
        let end6 = if in_row6 { next_in_row6 } else if c.r6_more { c.r6_nrs } else { c.r6.total };
        let half_up6 = u64::from(oh2 & 0x6666 != 0) | u64::from(oh2 & 0x7878 != 0) << 1 | u64::from(oh2 & 0x7f80 != 0) << 2;
        let bank0_ra = if oh2 >> 15 & 1 == 1 { c.r6_row_p1 << 3 } else { c.r6_row << 3 | half_up6 };
        let bank1_ra = e6 >> 1;
        n.bq = [m.bank[0][bank0_ra as usize], m.bank[1][bank1_ra as usize]];
        n.r7 = c.r6;
        n.r7_odd = e6 & 1 == 1;
        n.r7_start = start6;
        n.r7_end = end6;
        // Stage 8: offset into the entry, room left in it.
        n.r8 = c.r7;
        n.r8_into = c.r7.off.wrapping_sub(c.r7_start) & W32;
        n.r8_room = c.r7_end.wrapping_sub(c.r7.off) & W32;
        n.r8_addr = if c.r7_odd { c.bq[1] } else { c.bq[0] };
        n.r8_next = if c.r7_odd { c.bq[0] } else { c.bq[1] };
        // Output: the pieces.
        let r8 = c.r8;
        let b1 = if c.r8_room >> 7 != 0 || c.r8_room & 0x7f >= r8.cnt { r8.cnt } else { c.r8_room & 0x7f };
        self.m_res_valid.next = r8.v;
        self.m_res_ok.next = r8.v && r8.reason == 0;
        self.m_res_reason.next = r8.reason.into();
        self.m_res_tag.next = r8.tag.into();
        self.m_res_lane.next = r8.lane.into();
        self.m_res_count.next = r8.cnt.into();
        self.m_res_a1.next = c.r8_addr.wrapping_add(c.r8_into).into();
        self.m_res_b1.next = b1.into();
        self.m_res_a2.next = c.r8_next.into();
        self.m_res_token_valid.next = r8.tok;
        self.m_res_token_tag.next = r8.tok_tag.into();
        // The data delay line.
        m.dly.push_back(self.s_place_data.val());
        self.m_res_data.next = m.dly.pop_front().expect("eight stages");

        // Memory writes.
        if self.s_desc_we.val() {
            m.desc[(self.s_desc_tag.val().to_u64() & ((1 << p.tag_bits) - 1)) as usize] = Desc {
                live: self.s_desc_live.val(),
                gen: self.s_desc_gen.val().to_u64(),
                flow: self.s_desc_flow.val().to_u64(),
                base: self.s_desc_base.val().to_u64() & pmask,
                last: self.s_desc_last.val().to_u64(),
                total: self.s_desc_total.val().to_u64(),
            };
        }
        if self.s_entry_we.val() {
            let index = self.s_entry_index.val().to_u64() & pmask;
            let start = self.s_entry_start.val().to_u64();
            if self.s_entry_l1.val() {
                m.l1[(index >> 8) as usize][(index >> 4 & 15) as usize] = start;
            }
            m.l2[(index >> 4) as usize][(index & 15) as usize] = start;
            m.bank[(index & 1) as usize][(index >> 1) as usize] = self.s_entry_addr.val().to_u64();
        }
        *self._r = n;
    }
}

impl Logic for SglStore {
    /// Bit-exact model of the Verilog body (see `edge`).
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.edge();
        }
    }

    fn connect(&mut self) {
        self.m_res_valid.connect();
        self.m_res_ok.connect();
        self.m_res_reason.connect();
        self.m_res_tag.connect();
        self.m_res_lane.connect();
        self.m_res_count.connect();
        self.m_res_a1.connect();
        self.m_res_b1.connect();
        self.m_res_a2.connect();
        self.m_res_data.connect();
        self.m_res_token_valid.connect();
        self.m_res_token_tag.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(&self._params))
    }
}

fn verilog_body(p: &PlacementParams) -> String {
    let pb = p.pool_bits;
    let mut l1 = String::new();
    let mut l2 = String::new();
    let mut l1_regs = String::new();
    let mut l1_cmp = String::new();
    let mut l2_cmp = String::new();
    let mut nrs = Vec::new();
    let mut start_sel = Vec::new();
    let mut next_sel = Vec::new();
    for j in 0..16 {
        let _ = write!(
            l1,
            "(* ram_style = \"block\" *) reg [31:0] l1m{j} [0:{sb}];
reg [31:0] l1q{j} = 32'd0;
always @(posedge clock) begin
  if (s_entry_we && s_entry_l1 && s_entry_index[7:4] == 4'd{j}) l1m{j}[s_entry_index[{pm}:8]] <= s_entry_start;
  l1q{j} <= l1m{j}[r2_base[{pm}:8]];
end
",
            sb = (1usize << (pb - 8)) - 1,
            pm = pb - 1
        );
        let _ = writeln!(l1_regs, "reg [31:0] r6_s{j} = 32'd0;");
        // Comparisons that are constant at the ends are left out (lint: CMPCONST).
        let mut m1 = vec![format!("(r3_off >= l1q{j})")];
        let mut m2 = vec![format!("(r5_off >= l2s{j})")];
        if j < 15 {
            m1.push(format!("(5'd{j} >= {{1'b0, r3_base[7:4]}})"));
            m2.push(format!("(4'd{j} >= r5_lo)"));
        }
        if j > 0 {
            m1.push(format!("(5'd{j} <= {{1'b0, r3_base[7:4]}} + {{1'b0, r3_last[7:4]}})"));
            m2.push(format!("(4'd{j} <= r5_hi)"));
            let _ = writeln!(l1_regs, "reg [31:0] r4_l1q{j} = 32'd0;");
            let _ = writeln!(l1_cmp, "  r4_l1q{j} <= l1q{j};");
        }
        let _ = writeln!(l1_cmp, "  r4_m1[{j}] <= {};", m1.join(" && "));
        let _ = writeln!(l2_cmp, "  r6_m2[{j}] <= {};\n  r6_s{j} <= l2s{j};", m2.join(" && "));
        if j < 15 {
            nrs.push(format!("({{32{{oh1[{j}]}}}} & r4_l1q{})", j + 1));
            next_sel.push(format!("({{32{{oh2[{j}]}}}} & r6_s{})", j + 1));
        }
        start_sel.push(format!("({{32{{oh2[{j}]}}}} & r6_s{j})"));
    }
    // Level 2: 8 memories of two columns (64-bit words, 32-bit write enables).
    for k in 0..8 {
        let _ = write!(
            l2,
            "(* ram_style = \"ultra\" *) reg [63:0] l2m{k} [0:{rows}];
reg [63:0] l2q{k} = 64'd0;
always @(posedge clock) begin
  if (s_entry_we && s_entry_index[3:1] == 3'd{k}) begin
    if (s_entry_index[0]) l2m{k}[s_entry_index[{pm}:4]][63:32] <= s_entry_start;
    else l2m{k}[s_entry_index[{pm}:4]][31:0] <= s_entry_start;
  end
  l2q{k} <= l2m{k}[row4];
end
wire [31:0] l2s{a} = l2q{k}[31:0];
wire [31:0] l2s{b} = l2q{k}[63:32];
",
            rows = (1usize << (pb - 4)) - 1,
            pm = pb - 1,
            a = 2 * k,
            b = 2 * k + 1
        );
    }
    let tag_bad = if p.tag_bits < 16 { format!("(r1_tag[15:{}] != {}'d0)", p.tag_bits, 16 - p.tag_bits) } else { "1'b0".to_string() };
    let dw = 1 + 8 + 12 + pb + 8 + 32;
    subst(
        TEMPLATE,
        &[
            ("TB", p.tag_bits.to_string()),
            ("TBM", (p.tag_bits - 1).to_string()),
            ("P", pb.to_string()),
            ("PM", (pb - 1).to_string()),
            ("PM2", (pb - 2).to_string()),
            ("PM4", (pb - 5).to_string()),
            ("DW", dw.to_string()),
            ("DWM", (dw - 1).to_string()),
            ("TAG_BAD", tag_bad),
            ("DESC_TAG_HIGH", if p.tag_bits < 16 { format!(", s_desc_tag[15:{}]", p.tag_bits) } else { String::new() }),
            ("L1", l1),
            ("L2", l2),
            ("L1REGS", l1_regs),
            ("L1CMP", l1_cmp),
            ("L2CMP", l2_cmp),
            ("NRS", nrs.join(" |\n  ")),
            ("START_SEL", start_sel.join(" |\n  ")),
            ("NEXT_SEL", next_sel.join(" |\n  ")),
            ("BANK_DEPTH", ((1usize << (pb - 1)) - 1).to_string()),
        ],
    )
}

const TEMPLATE: &str = r#"
// ---- SglStore: see sgl_store.rs for the contract.
initial begin
  m_res_valid = 1'b0; m_res_ok = 1'b0; m_res_reason = 3'd0; m_res_tag = 16'd0; m_res_lane = 6'd0;
  m_res_count = 7'd0; m_res_a1 = 64'd0; m_res_b1 = 7'd0; m_res_a2 = 64'd0; m_res_data = 512'd0;
  m_res_token_valid = 1'b0; m_res_token_tag = 16'd0;
end
// Data rides along in a delay line.
reg [511:0] dly0 = 512'd0, dly1 = 512'd0, dly2 = 512'd0, dly3 = 512'd0, dly4 = 512'd0, dly5 = 512'd0, dly6 = 512'd0, dly7 = 512'd0;
always @(posedge clock) begin
  dly0 <= s_place_data; dly1 <= dly0; dly2 <= dly1; dly3 <= dly2; dly4 <= dly3; dly5 <= dly4; dly6 <= dly5; dly7 <= dly6;
  m_res_data <= dly7;
end

// ---- Descriptors: {live, gen[7:0], flow[11:0], base, last[7:0] (count - 1), total[31:0]}.
(* ram_style = "ultra" *) reg [%DWM%:0] desc_mem [0:(1 << %TB%) - 1];
always @(posedge clock) if (s_desc_we) desc_mem[s_desc_tag[%TBM%:0]] <= {s_desc_live, s_desc_gen, s_desc_flow, s_desc_base[%PM%:0], s_desc_last, s_desc_total};

wire unused_high = &{1'b0, s_desc_base[23:%P%], s_entry_index[23:%P%]%DESC_TAG_HIGH%};

// ---- Stage 1: inputs; descriptor read.
reg r1_v = 1'b0;
reg [11:0] r1_flow = 12'd0;
reg [15:0] r1_tag = 16'd0;
reg [7:0] r1_gen = 8'd0;
reg [31:0] r1_off = 32'd0;
reg [5:0] r1_lane = 6'd0;
reg [6:0] r1_cnt = 7'd0;
always @(posedge clock) begin
  r1_v <= s_place_valid; r1_flow <= s_place_flow; r1_tag <= s_place_tag; r1_gen <= s_place_gen;
  r1_off <= s_place_offset; r1_lane <= s_place_lane; r1_cnt <= s_place_count;
end
wire [7:0] r1_end_lane = {2'b00, r1_lane} + {1'b0, r1_cnt};
wire [32:0] r1_end = {1'b0, r1_off} + {26'd0, r1_cnt};
wire r1_bad = (r1_cnt == 7'd0) || (r1_end_lane > 8'd64) || %TAG_BAD%;

// ---- Stage 2: checks; level-1 read.
reg r2_v = 1'b0, r2_bad = 1'b0;
reg [11:0] r2_flow = 12'd0;
reg [15:0] r2_tag = 16'd0;
reg [7:0] r2_gen = 8'd0;
reg [31:0] r2_off = 32'd0;
reg [5:0] r2_lane = 6'd0;
reg [6:0] r2_cnt = 7'd0;
reg [%DWM%:0] r2_desc = %DW%'d0;
reg r2_tok = 1'b0;
reg [15:0] r2_tok_tag = 16'd0;
reg [32:0] r2_end = 33'd0;
always @(posedge clock) begin
  r2_v <= r1_v; r2_bad <= r1_bad; r2_flow <= r1_flow; r2_tag <= r1_tag; r2_gen <= r1_gen;
  r2_off <= r1_off; r2_lane <= r1_lane; r2_cnt <= r1_cnt; r2_end <= r1_end;
  r2_desc <= desc_mem[r1_tag[%TBM%:0]];
  r2_tok <= s_token_valid; r2_tok_tag <= s_token_tag;
end
wire r2_live = r2_desc[%DWM%];
wire [7:0] r2_dgen = r2_desc[%DWM% - 1 -: 8];
wire [11:0] r2_dflow = r2_desc[%DWM% - 9 -: 12];
wire [%PM%:0] r2_base = r2_desc[40 + %P% - 1 -: %P%];
wire [7:0] r2_last = r2_desc[39:32];
wire [31:0] r2_total = r2_desc[31:0];
// Bounds are checked in stage 3 and merged into the reason in stage 4.
wire [2:0] r2_reason = r2_bad ? 3'd1 : !r2_live ? 3'd2 : (r2_dflow != r2_flow) ? 3'd3 :
                       (r2_dgen != r2_gen) ? 3'd4 : 3'd0;
%L1%
// ---- Stage 3: level-1 compares (which of the tag's rows start at or before the offset).
reg r3_v = 1'b0, r3_tok = 1'b0;
reg [2:0] r3_reason = 3'd0;
reg [15:0] r3_tag = 16'd0, r3_tok_tag = 16'd0;
reg [31:0] r3_off = 32'd0, r3_total = 32'd0;
reg [5:0] r3_lane = 6'd0;
reg [6:0] r3_cnt = 7'd0;
reg [%PM%:0] r3_base = %P%'d0;
reg [7:0] r3_last = 8'd0;
reg [32:0] r3_end = 33'd0;
always @(posedge clock) begin
  r3_end <= r2_end;
  r3_v <= r2_v; r3_tok <= r2_tok; r3_reason <= r2_reason; r3_tag <= r2_tag; r3_tok_tag <= r2_tok_tag;
  r3_off <= r2_off; r3_total <= r2_total; r3_lane <= r2_lane; r3_cnt <= r2_cnt; r3_base <= r2_base; r3_last <= r2_last;
end
reg [15:0] r4_m1 = 16'd0;
%L1REGS%
always @(posedge clock) begin
%L1CMP%end

// ---- Stage 4: the row (last of the tag's rows that starts at or before the offset); level-2 read.
reg r4_v = 1'b0, r4_tok = 1'b0;
reg [2:0] r4_reason = 3'd0;
reg [15:0] r4_tag = 16'd0, r4_tok_tag = 16'd0;
reg [31:0] r4_off = 32'd0, r4_total = 32'd0;
reg [5:0] r4_lane = 6'd0;
reg [6:0] r4_cnt = 7'd0;
reg [%PM%:0] r4_base = %P%'d0;
reg [7:0] r4_last = 8'd0;
reg r4_oob = 1'b0;
reg [15:0] r4_lastrow_oh = 16'd0;
wire [3:0] r3_lastrow = r3_base[7:4] + r3_last[7:4];
always @(posedge clock) begin
  r4_oob <= r3_end > {1'b0, r3_total};
  r4_lastrow_oh <= 16'd1 << r3_lastrow;
  r4_v <= r3_v; r4_tok <= r3_tok; r4_reason <= r3_reason; r4_tag <= r3_tag; r4_tok_tag <= r3_tok_tag;
  r4_off <= r3_off; r4_total <= r3_total; r4_lane <= r3_lane; r4_cnt <= r3_cnt; r4_base <= r3_base; r4_last <= r3_last;
end
wire [15:0] oh1 = r4_m1 & ~{1'b0, r4_m1[15:1]};
wire [3:0] j1 = {|(oh1 & 16'hff00), |(oh1 & 16'hf0f0), |(oh1 & 16'hcccc), |(oh1 & 16'haaaa)};
wire r4_small = r4_last[7:4] == 4'd0;
wire r4_is_last_row = |(oh1 & r4_lastrow_oh);
wire [%PM4%:0] row4 = r4_small ? r4_base[%PM%:4] : {r4_base[%PM%:8], j1};
wire [31:0] nrs4 = %NRS%;
%L2%
// ---- Stage 5: level-2 compares (which of the row's entries start at or before the offset).
reg r5_v = 1'b0, r5_tok = 1'b0, r5_more = 1'b0;
reg [2:0] r5_reason = 3'd0;
reg [15:0] r5_tag = 16'd0, r5_tok_tag = 16'd0;
reg [31:0] r5_off = 32'd0, r5_total = 32'd0, r5_nrs = 32'd0;
reg [5:0] r5_lane = 6'd0;
reg [6:0] r5_cnt = 7'd0;
reg [%PM4%:0] r5_row = {(%P% - 4){1'b0}};
reg [3:0] r5_lo = 4'd0, r5_hi = 4'd0;
always @(posedge clock) begin
  r5_v <= r4_v; r5_tok <= r4_tok; r5_reason <= (r4_reason != 3'd0) ? r4_reason : (r4_oob ? 3'd5 : 3'd0); r5_tag <= r4_tag; r5_tok_tag <= r4_tok_tag;
  r5_off <= r4_off; r5_total <= r4_total; r5_lane <= r4_lane; r5_cnt <= r4_cnt; r5_row <= row4;
  r5_nrs <= nrs4;
  r5_more <= !r4_small && !r4_is_last_row;
  r5_lo <= r4_small ? r4_base[3:0] : 4'd0;
  r5_hi <= r4_small ? r4_base[3:0] + r4_last[3:0] : (r4_is_last_row ? r4_last[3:0] : 4'd15);
end
reg [15:0] r6_m2 = 16'd0;
always @(posedge clock) begin
%L2CMP%end

// ---- Stage 6: the entry; its start and end offsets; address-bank read of entries e and e+1.
reg r6_v = 1'b0, r6_tok = 1'b0, r6_more = 1'b0;
reg [2:0] r6_reason = 3'd0;
reg [15:0] r6_tag = 16'd0, r6_tok_tag = 16'd0;
reg [31:0] r6_off = 32'd0, r6_total = 32'd0, r6_nrs = 32'd0;
reg [5:0] r6_lane = 6'd0;
reg [6:0] r6_cnt = 7'd0;
reg [%PM4%:0] r6_row = {(%P% - 4){1'b0}};
reg [15:0] r6_lthi = 16'd0;
reg [%PM4%:0] r6_row_p1 = {(%P% - 4){1'b0}};
always @(posedge clock) begin
  r6_lthi <= ~(16'hffff << r5_hi);
  r6_row_p1 <= r5_row + {{(%P% - 5){1'b0}}, 1'b1};
  r6_v <= r5_v; r6_tok <= r5_tok; r6_more <= r5_more; r6_reason <= r5_reason; r6_tag <= r5_tag; r6_tok_tag <= r5_tok_tag;
  r6_off <= r5_off; r6_total <= r5_total; r6_nrs <= r5_nrs; r6_lane <= r5_lane; r6_cnt <= r5_cnt; r6_row <= r5_row;
end
wire [15:0] oh2 = r6_m2 & ~{1'b0, r6_m2[15:1]};
wire [3:0] k6 = {|(oh2 & 16'hff00), |(oh2 & 16'hf0f0), |(oh2 & 16'hcccc), |(oh2 & 16'haaaa)};
wire [%PM%:0] e6 = {r6_row, k6};
wire [31:0] start6 = %START_SEL%;
wire [31:0] next_in_row6 = %NEXT_SEL%;
wire in_row6 = |(oh2 & r6_lthi);
wire [31:0] end6 = in_row6 ? next_in_row6 : (r6_more ? r6_nrs : r6_total);
// Entry e+1 is in the even bank when e is odd: row*8 + (k+1)/2, the next row after k = 15.
wire [2:0] half_up6 = {|(oh2 & 16'h7f80), |(oh2 & 16'h7878), |(oh2 & 16'h6666)};
wire [%PM2%:0] bank0_ra = oh2[15] ? {r6_row_p1, 3'd0} : {r6_row, half_up6};
wire [%PM2%:0] bank1_ra = e6[%PM%:1];
(* ram_style = "ultra" *) reg [63:0] bank0 [0:%BANK_DEPTH%];
(* ram_style = "ultra" *) reg [63:0] bank1 [0:%BANK_DEPTH%];
reg [63:0] bq0 = 64'd0, bq1 = 64'd0;
always @(posedge clock) begin
  if (s_entry_we && !s_entry_index[0]) bank0[s_entry_index[%PM%:1]] <= s_entry_addr;
  if (s_entry_we && s_entry_index[0]) bank1[s_entry_index[%PM%:1]] <= s_entry_addr;
  bq0 <= bank0[bank0_ra];
  bq1 <= bank1[bank1_ra];
end

// ---- Stage 7: offset into the entry and room left in it.
reg r7_v = 1'b0, r7_tok = 1'b0, r7_odd = 1'b0;
reg [2:0] r7_reason = 3'd0;
reg [15:0] r7_tag = 16'd0, r7_tok_tag = 16'd0;
reg [31:0] r7_off = 32'd0, r7_start = 32'd0, r7_end = 32'd0;
reg [5:0] r7_lane = 6'd0;
reg [6:0] r7_cnt = 7'd0;
always @(posedge clock) begin
  r7_v <= r6_v; r7_tok <= r6_tok; r7_reason <= r6_reason; r7_tag <= r6_tag; r7_tok_tag <= r6_tok_tag;
  r7_off <= r6_off; r7_lane <= r6_lane; r7_cnt <= r6_cnt; r7_odd <= e6[0]; r7_start <= start6; r7_end <= end6;
end
reg r8_v = 1'b0, r8_tok = 1'b0;
reg [2:0] r8_reason = 3'd0;
reg [15:0] r8_tag = 16'd0, r8_tok_tag = 16'd0;
reg [31:0] r8_into = 32'd0, r8_room = 32'd0;
reg [63:0] r8_addr = 64'd0, r8_next = 64'd0;
reg [5:0] r8_lane = 6'd0;
reg [6:0] r8_cnt = 7'd0;
always @(posedge clock) begin
  r8_v <= r7_v; r8_tok <= r7_tok; r8_reason <= r7_reason; r8_tag <= r7_tag; r8_tok_tag <= r7_tok_tag;
  r8_lane <= r7_lane; r8_cnt <= r7_cnt;
  r8_into <= r7_off - r7_start;
  r8_room <= r7_end - r7_off;
  r8_addr <= r7_odd ? bq1 : bq0;
  r8_next <= r7_odd ? bq0 : bq1;
end

// ---- Stage 8: the pieces.
wire [6:0] b1_8 = ((r8_room[31:7] != 25'd0) || (r8_room[6:0] >= r8_cnt)) ? r8_cnt : r8_room[6:0];
always @(posedge clock) begin
  m_res_valid <= r8_v;
  m_res_ok <= r8_v && r8_reason == 3'd0;
  m_res_reason <= r8_reason;
  m_res_tag <= r8_tag;
  m_res_lane <= r8_lane;
  m_res_count <= r8_cnt;
  m_res_a1 <= r8_addr + {32'd0, r8_into};
  m_res_b1 <= b1_8;
  m_res_a2 <= r8_next;
  m_res_token_valid <= r8_tok;
  m_res_token_tag <= r8_tok_tag;
end
"#;
