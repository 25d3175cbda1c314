//! `TagTable`: the control port (setup, SGL entries, teardown), the (flow, CID) -> tag lookup,
//! tag ownership and the asynchronous teardown handshake.
//!
//! Lookup: one (flow, CID) a cycle, result `LOOKUP_LATENCY` clock edges later (5). Two hash
//! tables of `2^hash_bits` buckets x 8 ways (URAM); a (flow, CID) lives in one way of bucket
//! `h0(key)` of table 0 or `h1(key)` of table 1 (H3 hashes), whichever bucket is emptier at
//! setup (2-choice hashing: at half load a full bucket pair is practically never seen). Each
//! way stores the full key, so a lookup never matches another key; it hits only when exactly
//! one way matches.
//!
//! Control (`s_ctrl_*`, valid/ready; `s_ctrl_ready` depends on state only):
//! - `OP_SETUP` tag, flow, cid, base (first pool entry), count (1..=256), then `count` x
//!   `OP_ENTRY` addr, len. Entry `i` goes to pool entry `base + i` with its prefix sum. The
//!   host allocates tags and pool ranges (see `status::BAD_GEOMETRY` for the rules) and reuses
//!   them only after `EV_TEARDOWN_DONE`. Cost: `count + 3` cycles; result event
//!   `EV_SETUP_OK`/`EV_SETUP_FAILED`. The key matches lookups presented from the cycle after
//!   the setup's last word is taken.
//! - `OP_TEARDOWN` tag: 3 cycles. The hash way is cleared at once (lookups miss from the next
//!   cycle) and the descriptor is marked dead one cycle later, together with a teardown token
//!   that follows the last beat that could still be placed through `SglStore` and
//!   `DmaWriter`; when the token returns on `s_done_*` (all DMA segments of the tag have
//!   left `m_dma`), the tag is freed and `EV_TEARDOWN_DONE` is queued (2 cycles).
//! - Events: a 16-deep FIFO on `m_event_*` (valid/ready). Commands are accepted only while the
//!   event FIFO and the done queue have room, so nothing is ever lost.
//!
//! `update()` is a bit-exact plain-Rust model of the Verilog body (every register and memory,
//! same widths); `tests/placement_tags.rs` checks it against a reference of the contract and
//! replays it through the Verilog.
use super::{hash_masks, subst, PlacementParams, BASE_PORT_BITS, CID_BITS, FLOW_BITS, GEN_BITS, TAG_PORT_BITS};
use rust_hdl::prelude::*;
use std::fmt::Write;

#[derive(LogicBlock)]
pub struct TagTable {
    pub clock: Signal<In, Clock>,
    pub s_ctrl_valid: Signal<In, Bit>,
    pub s_ctrl_op: Signal<In, Bits<2>>,
    pub s_ctrl_tag: Signal<In, Bits<TAG_PORT_BITS>>,
    pub s_ctrl_flow: Signal<In, Bits<FLOW_BITS>>,
    pub s_ctrl_cid: Signal<In, Bits<CID_BITS>>,
    pub s_ctrl_base: Signal<In, Bits<BASE_PORT_BITS>>,
    pub s_ctrl_count: Signal<In, Bits<9>>,
    pub s_ctrl_addr: Signal<In, Bits<64>>,
    pub s_ctrl_len: Signal<In, Bits<32>>,
    pub s_ctrl_ready: Signal<Out, Bit>,
    pub m_event_valid: Signal<Out, Bit>,
    pub m_event_ready: Signal<In, Bit>,
    pub m_event_kind: Signal<Out, Bits<2>>,
    pub m_event_tag: Signal<Out, Bits<TAG_PORT_BITS>>,
    pub m_event_status: Signal<Out, Bits<4>>,
    pub s_lookup_valid: Signal<In, Bit>,
    pub s_lookup_flow: Signal<In, Bits<FLOW_BITS>>,
    pub s_lookup_cid: Signal<In, Bits<CID_BITS>>,
    pub m_lookup_valid: Signal<Out, Bit>,
    pub m_lookup_hit: Signal<Out, Bit>,
    pub m_lookup_tag: Signal<Out, Bits<TAG_PORT_BITS>>,
    pub m_lookup_gen: Signal<Out, Bits<GEN_BITS>>,
    /// Descriptor writes to `SglStore`.
    pub m_desc_we: Signal<Out, Bit>,
    pub m_desc_tag: Signal<Out, Bits<TAG_PORT_BITS>>,
    pub m_desc_live: Signal<Out, Bit>,
    pub m_desc_gen: Signal<Out, Bits<GEN_BITS>>,
    pub m_desc_flow: Signal<Out, Bits<FLOW_BITS>>,
    pub m_desc_base: Signal<Out, Bits<BASE_PORT_BITS>>,
    pub m_desc_last: Signal<Out, Bits<8>>,
    pub m_desc_total: Signal<Out, Bits<32>>,
    /// Teardown token, in the cycle of the descriptor write that kills the tag.
    pub m_token_valid: Signal<Out, Bit>,
    pub m_token_tag: Signal<Out, Bits<TAG_PORT_BITS>>,
    /// SGL entry writes to `SglStore`: pool index, host address, prefix sum (data offset of the
    /// entry's first byte), and whether the entry starts a row of a tag of more than 16 entries.
    pub m_entry_we: Signal<Out, Bit>,
    pub m_entry_index: Signal<Out, Bits<BASE_PORT_BITS>>,
    pub m_entry_addr: Signal<Out, Bits<64>>,
    pub m_entry_start: Signal<Out, Bits<32>>,
    pub m_entry_l1: Signal<Out, Bit>,
    /// Teardown tokens coming back from `DmaWriter`.
    pub s_done_valid: Signal<In, Bit>,
    pub s_done_tag: Signal<In, Bits<TAG_PORT_BITS>>,
    /// Lookups that found no (or more than one) entry: such data goes to software.
    pub m_stat_lookup_miss: Signal<Out, Bits<32>>,
    pub m_stat_setups: Signal<Out, Bits<32>>,
    pub m_stat_setup_fails: Signal<Out, Bits<32>>,
    pub m_stat_teardowns: Signal<Out, Bits<32>>,
    _params: PlacementParams,
    _s: Box<TagState>,
}

const ST_IDLE: u8 = 0;
const ST_ENT: u8 = 1;
const ST_FIN: u8 = 2;
const ST_WR: u8 = 3;
const ST_TDRD: u8 = 4;
const ST_TDWR: u8 = 5;
const ST_DONE: u8 = 6;
const ST_EV: u8 = 7;

/// Every register and memory of the Verilog body, under its Verilog name.
#[derive(Clone, Default)]
struct TagState {
    masks: [Vec<u32>; 2],
    // Lookup pipeline.
    lk1_v: bool,
    lk1_key: u64,
    lk2_v: bool,
    lk2_key: u64,
    lk2_h: [usize; 2],
    lk3_v: bool,
    lk3_key: u64,
    /// `way{t}_{w}[bucket]` at `ways[t][w][bucket]`; `wq` indexed `8t + w`.
    ways: [Vec<Vec<u64>>; 2],
    wq: [u64; 16],
    lk4_v: bool,
    lk4_match: u16,
    lk4_val: [u64; 16],
    // Control side.
    key_mem: Vec<u64>,
    key_q: u64,
    occ_mem: [Vec<u8>; 2],
    occ_q: [u8; 2],
    done_mem: [u64; 16],
    done_wr: u64,
    done_rd: u64,
    done_cnt: u64,
    ev_mem: [u64; 16],
    ev_wr: u64,
    ev_rd: u64,
    ev_cnt: u64,
    st: u8,
    f_tag: u64,
    f_flow: u64,
    f_cid: u64,
    f_base: u64,
    f_count: u64,
    f_idx: u64,
    f_acc: u64,
    f_err: u64,
    f_nowrite: bool,
    f_large: bool,
    f_h0: usize,
    f_h1: usize,
    f_kind: u64,
    f_kq: u64,
    f_gen: u64,
    f_way0: u64,
    f_way1: u64,
    f_has0: bool,
    f_has1: bool,
    f_le: bool,
    outstanding: u64,
    // Registered outputs that count.
    stat_lookup_miss: u64,
    stat_setups: u64,
    stat_setup_fails: u64,
    stat_teardowns: u64,
}

fn h3(masks: &[u32], key: u64) -> usize {
    masks.iter().enumerate().fold(0, |h, (b, m)| h | (((key as u32 & m).count_ones() as usize & 1) << b))
}

/// Verilog `lowest`: index of the lowest set bit, 0 when none.
fn lowest(v: u8) -> u64 {
    if v == 0 { 0 } else { u64::from(v.trailing_zeros()) }
}

impl TagTable {
    /// Clock edges from `s_lookup_*` to `m_lookup_*`, counting the edge that samples the input.
    pub const LOOKUP_LATENCY: usize = 5;

    pub fn new(params: PlacementParams) -> Self {
        params.check();
        Self {
            clock: Default::default(),
            s_ctrl_valid: Default::default(),
            s_ctrl_op: Default::default(),
            s_ctrl_tag: Default::default(),
            s_ctrl_flow: Default::default(),
            s_ctrl_cid: Default::default(),
            s_ctrl_base: Default::default(),
            s_ctrl_count: Default::default(),
            s_ctrl_addr: Default::default(),
            s_ctrl_len: Default::default(),
            s_ctrl_ready: Default::default(),
            m_event_valid: Default::default(),
            m_event_ready: Default::default(),
            m_event_kind: Default::default(),
            m_event_tag: Default::default(),
            m_event_status: Default::default(),
            s_lookup_valid: Default::default(),
            s_lookup_flow: Default::default(),
            s_lookup_cid: Default::default(),
            m_lookup_valid: Default::default(),
            m_lookup_hit: Default::default(),
            m_lookup_tag: Default::default(),
            m_lookup_gen: Default::default(),
            m_desc_we: Default::default(),
            m_desc_tag: Default::default(),
            m_desc_live: Default::default(),
            m_desc_gen: Default::default(),
            m_desc_flow: Default::default(),
            m_desc_base: Default::default(),
            m_desc_last: Default::default(),
            m_desc_total: Default::default(),
            m_token_valid: Default::default(),
            m_token_tag: Default::default(),
            m_entry_we: Default::default(),
            m_entry_index: Default::default(),
            m_entry_addr: Default::default(),
            m_entry_start: Default::default(),
            m_entry_l1: Default::default(),
            s_done_valid: Default::default(),
            s_done_tag: Default::default(),
            m_stat_lookup_miss: Default::default(),
            m_stat_setups: Default::default(),
            m_stat_setup_fails: Default::default(),
            m_stat_teardowns: Default::default(),
            _params: params,
            _s: Box::new(TagState {
                masks: [hash_masks(0, params.hash_bits), hash_masks(1, params.hash_bits)],
                ways: std::array::from_fn(|_| vec![vec![0; 1 << params.hash_bits]; 8]),
                key_mem: vec![0; 1 << 16],
                occ_mem: std::array::from_fn(|_| vec![0; 1 << params.hash_bits]),
                ..Default::default()
            }),
        }
    }

    /// Outputs that the Verilog computes combinationally from registers (`always @(*)`).
    fn comb_outputs(&mut self) {
        let s = &*self._s;
        let ready = s.st == ST_ENT || (s.st == ST_IDLE && s.done_cnt == 0 && s.ev_cnt < 16 && s.outstanding < 15);
        let ev = s.ev_mem[s.ev_rd as usize];
        self.s_ctrl_ready.next = ready;
        self.m_event_valid.next = s.ev_cnt != 0;
        self.m_event_kind.next = (ev >> 20).into();
        self.m_event_status.next = (ev >> 16 & 0xf).into();
        self.m_event_tag.next = (ev & 0xffff).into();
    }

    /// One rising edge of the Verilog body. Combinational values first (from the registers and
    /// the inputs), then every register and memory takes its next value.
    fn edge(&mut self) {
        let p = self._params;
        let (h, pb) = (p.hash_bits, p.pool_bits);
        let kw = 42 + h;
        let kw_mask = (1u64 << kw) - 1;
        let pmask = (1u64 << pb) - 1;
        let s = &mut *self._s;
        // Inputs.
        let (c_valid, c_op, c_tag) = (self.s_ctrl_valid.val(), self.s_ctrl_op.val().to_u64(), self.s_ctrl_tag.val().to_u64());
        let (c_flow, c_cid, c_base) = (self.s_ctrl_flow.val().to_u64(), self.s_ctrl_cid.val().to_u64(), self.s_ctrl_base.val().to_u64());
        let (c_count, c_addr, c_len) = (self.s_ctrl_count.val().to_u64(), self.s_ctrl_addr.val().to_u64(), self.s_ctrl_len.val().to_u64());
        let ev_ready = self.m_event_ready.val();

        // ---- Combinational control logic (always @(*) and wires).
        let kq_busy = s.key_q >> (kw - 1) & 1 == 1;
        let kq_live = s.key_q >> (kw - 2) & 1 == 1;
        let kq_gen = s.key_q >> (kw - 10) & 0xff;
        let kq_bucket = (s.key_q & ((1 << h) - 1)) as usize;
        let done_head = s.done_mem[s.done_rd as usize];
        let ev_valid = s.ev_cnt != 0;
        let ev_pop = ev_valid && ev_ready;
        let done_pop = s.st == ST_DONE;
        let ready = s.st == ST_ENT || (s.st == ST_IDLE && s.done_cnt == 0 && s.ev_cnt < 16 && s.outstanding < 15);
        let key_ra = if s.st == ST_IDLE { if s.done_cnt != 0 { done_head } else { c_tag } } else { s.f_tag } as usize;
        let occ_ra = if s.st == ST_TDRD { [kq_bucket, kq_bucket] } else { [s.f_h0, s.f_h1] };
        // Setup geometry.
        let g_c = c_count;
        let g_rows = ((g_c >> 4) + u64::from(g_c & 0xf != 0)) & 31;
        let g_small = g_c <= 16;
        let base_high_bad = c_base >> pb != 0;
        let g_bad = g_c == 0
            || g_c > 256
            || base_high_bad
            || if g_small { ((c_base & 0xf) + (g_c & 31)) & 31 > 16 } else { (c_base & 0xf) != 0 || ((c_base >> 4 & 0xf) + g_rows) & 31 > 16 };
        let ctrl_tag_bad = c_tag >> p.tag_bits != 0;
        // Entry checks.
        let e_sum = (s.f_acc + c_len) & ((1 << 33) - 1);
        let e_interior = s.f_idx != 0 && s.f_idx != (s.f_count.wrapping_sub(1) & 0x1ff);
        let e_err = if c_op != 2 {
            5
        } else if c_len == 0 || (e_interior && c_len < 64) {
            3
        } else if e_sum >> 32 & 1 == 1 || s.f_acc >> 32 & 1 == 1 {
            4
        } else {
            0
        };
        let use0 = s.f_has0 && (!s.f_has1 || s.f_le);
        let use_way = if use0 { s.f_way0 } else { s.f_way1 };
        let use_occ = if use0 { s.occ_q[0] } else { s.occ_q[1] };
        let use_bucket = if use0 { s.f_h0 } else { s.f_h1 };
        // Write ports: (table, way, bucket, data), key word, occupancy (table, bucket, word), event.
        let mut hw: Option<(usize, usize, usize, u64)> = None;
        let mut key_w: Option<u64> = None;
        let mut occ_w: Option<(usize, usize, u8)> = None;
        let mut ev_w: Option<u64> = None;
        let ev_default = s.f_kind << 20 | s.f_err << 16 | s.f_tag;
        match s.st {
            ST_WR => {
                if s.f_err == 0 {
                    ev_w = Some(s.f_tag);
                    let t = usize::from(!use0);
                    hw = Some((t, use_way as usize, use_bucket, 1 << 52 | s.f_flow << 40 | s.f_cid << 24 | s.f_tag << 8 | s.f_gen));
                    occ_w = Some((t, use_bucket, use_occ | (1 << use_way)));
                    key_w = Some(
                        3 << (kw - 2) | s.f_gen << (kw - 10) | s.f_flow << (kw - 22) | s.f_cid << (kw - 38) | (t as u64) << (h + 3) | use_way << h | use_bucket as u64,
                    );
                } else {
                    ev_w = Some(1 << 20 | s.f_err << 16 | s.f_tag);
                }
            }
            ST_TDWR => {
                let t = (s.f_kq >> (h + 3) & 1) as usize;
                let way = s.f_kq >> h & 7;
                let bucket = (s.f_kq & ((1 << h) - 1)) as usize;
                hw = Some((t, way as usize, bucket, 0));
                occ_w = Some((t, bucket, s.occ_q[t] & !(1u8 << way)));
                key_w = Some(1 << (kw - 1) | (s.f_kq & ((1 << (kw - 2)) - 1)));
            }
            ST_DONE => {
                key_w = Some(s.key_q & ((1 << (kw - 2)) - 1));
                ev_w = Some(2 << 20 | s.f_tag);
            }
            ST_EV => ev_w = Some(ev_default),
            _ => {}
        }

        // ---- Lookup pipeline (the way read is read-first: it sees the old word).
        let l_key = self.s_lookup_flow.val().to_u64() << 16 | self.s_lookup_cid.val().to_u64();
        let lk4_one = s.lk4_match != 0 && s.lk4_match & s.lk4_match.wrapping_sub(1) == 0;
        let lk4_sel = (0..16).filter(|i| s.lk4_match >> i & 1 == 1).fold(0, |acc, i| acc | s.lk4_val[i]);
        self.m_lookup_valid.next = s.lk4_v;
        self.m_lookup_hit.next = s.lk4_v && lk4_one;
        self.m_lookup_tag.next = (lk4_sel >> 8 & 0xffff).into();
        self.m_lookup_gen.next = (lk4_sel & 0xff).into();
        if s.lk4_v && !lk4_one {
            s.stat_lookup_miss = (s.stat_lookup_miss + 1) & 0xFFFF_FFFF;
        }
        s.lk4_v = s.lk3_v;
        for i in 0..16 {
            let wq = s.wq[i];
            s.lk4_match = s.lk4_match & !(1 << i) | (u16::from(wq >> 52 & 1 == 1 && (wq >> 24 & 0xFFF_FFFF) == s.lk3_key) << i);
            s.lk4_val[i] = wq & 0xFF_FFFF;
        }
        for t in 0..2 {
            for w in 0..8 {
                s.wq[8 * t + w] = s.ways[t][w][s.lk2_h[t]];
            }
        }
        s.lk3_v = s.lk2_v;
        s.lk3_key = s.lk2_key;
        s.lk2_v = s.lk1_v;
        s.lk2_key = s.lk1_key;
        s.lk2_h = [h3(&s.masks[0], s.lk1_key), h3(&s.masks[1], s.lk1_key)];
        s.lk1_v = self.s_lookup_valid.val();
        s.lk1_key = l_key;

        // ---- Memories: reads see the old contents, then the writes.
        let key_q_next = s.key_mem[key_ra];
        let occ_q_next = [s.occ_mem[0][occ_ra[0]], s.occ_mem[1][occ_ra[1]]];
        if let Some((t, w, b, d)) = hw {
            s.ways[t][w][b] = d;
        }
        if let Some(d) = key_w {
            s.key_mem[s.f_tag as usize] = d & kw_mask;
        }
        if let Some((t, b, d)) = occ_w {
            s.occ_mem[t][b] = d;
        }
        // ---- Control FSM (registered outputs and state).
        self.m_desc_we.next = false;
        self.m_token_valid.next = false;
        self.m_entry_we.next = false;
        let (key_q, occ_q) = (s.key_q, s.occ_q);
        match s.st {
            ST_IDLE => {
                if s.done_cnt != 0 {
                    if s.ev_cnt < 16 {
                        s.st = ST_DONE;
                        s.f_tag = done_head;
                    }
                } else if c_valid && ready {
                    (s.f_tag, s.f_flow, s.f_cid, s.f_base) = (c_tag, c_flow, c_cid, c_base & pmask);
                    (s.f_count, s.f_idx, s.f_acc, s.f_large) = (c_count, 0, 0, !g_small);
                    s.f_h0 = h3(&s.masks[0], c_flow << 16 | c_cid);
                    s.f_h1 = h3(&s.masks[1], c_flow << 16 | c_cid);
                    s.f_nowrite = g_bad || ctrl_tag_bad;
                    s.f_err = if ctrl_tag_bad { 1 } else if g_bad { 2 } else { 0 };
                    s.f_kind = 3;
                    if c_op == 1 {
                        s.st = if c_count == 0 { ST_FIN } else { ST_ENT };
                    } else if c_op == 3 {
                        s.st = if ctrl_tag_bad { ST_EV } else { ST_TDRD };
                    } else {
                        s.f_err = 5;
                        s.st = ST_EV;
                    }
                }
            }
            ST_ENT => {
                if c_valid {
                    self.m_entry_we.next = !s.f_nowrite;
                    self.m_entry_index.next = ((s.f_base + s.f_idx) & pmask).into();
                    self.m_entry_addr.next = c_addr.into();
                    self.m_entry_start.next = (s.f_acc & 0xFFFF_FFFF).into();
                    self.m_entry_l1.next = s.f_large && s.f_idx & 0xf == 0;
                    s.f_acc = e_sum;
                    if s.f_err == 0 {
                        s.f_err = e_err;
                    }
                    if s.f_idx == (s.f_count.wrapping_sub(1) & 0x1ff) {
                        s.st = ST_FIN;
                    }
                    s.f_idx = (s.f_idx + 1) & 0x1ff;
                }
            }
            ST_FIN => {
                if s.f_err == 0 && kq_busy {
                    s.f_err = 6;
                } else if s.f_err == 0 && occ_q == [0xff, 0xff] {
                    s.f_err = 7;
                }
                s.f_gen = (kq_gen + 1) & 0xff;
                s.f_has0 = occ_q[0] != 0xff;
                s.f_has1 = occ_q[1] != 0xff;
                s.f_way0 = lowest(!occ_q[0]);
                s.f_way1 = lowest(!occ_q[1]);
                s.f_le = occ_q[0].count_ones() <= occ_q[1].count_ones();
                s.st = ST_WR;
            }
            ST_WR => {
                if s.f_err == 0 {
                    self.m_desc_we.next = true;
                    self.m_desc_tag.next = s.f_tag.into();
                    self.m_desc_live.next = true;
                    self.m_desc_gen.next = s.f_gen.into();
                    self.m_desc_flow.next = s.f_flow.into();
                    self.m_desc_base.next = s.f_base.into();
                    self.m_desc_last.next = (s.f_count.wrapping_sub(1) & 0xff).into();
                    self.m_desc_total.next = (s.f_acc & 0xFFFF_FFFF).into();
                    s.stat_setups = (s.stat_setups + 1) & 0xFFFF_FFFF;
                } else {
                    s.stat_setup_fails = (s.stat_setup_fails + 1) & 0xFFFF_FFFF;
                }
                s.st = ST_IDLE;
            }
            ST_TDRD => {
                s.f_kq = key_q;
                if !kq_busy {
                    s.f_err = 8;
                    s.st = ST_EV;
                } else if !kq_live {
                    s.f_err = 9;
                    s.st = ST_EV;
                } else {
                    s.st = ST_TDWR;
                }
            }
            ST_TDWR => {
                self.m_desc_we.next = true;
                self.m_desc_tag.next = s.f_tag.into();
                self.m_desc_live.next = false;
                self.m_desc_gen.next = (s.f_kq >> (kw - 10) & 0xff).into();
                self.m_desc_flow.next = 0u64.into();
                self.m_desc_base.next = 0u64.into();
                self.m_desc_last.next = 0u64.into();
                self.m_desc_total.next = 0u64.into();
                self.m_token_valid.next = true;
                self.m_token_tag.next = s.f_tag.into();
                s.stat_teardowns = (s.stat_teardowns + 1) & 0xFFFF_FFFF;
                s.outstanding = (s.outstanding + 1) & 31;
                s.st = ST_IDLE;
            }
            ST_DONE => {
                s.outstanding = s.outstanding.wrapping_sub(1) & 31;
                s.st = ST_IDLE;
            }
            _ => s.st = ST_IDLE,
        }
        // Done queue and event FIFO (after the FSM, which reads their old counts).
        if self.s_done_valid.val() {
            s.done_mem[s.done_wr as usize] = self.s_done_tag.val().to_u64();
            s.done_wr = (s.done_wr + 1) & 15;
        }
        if done_pop {
            s.done_rd = (s.done_rd + 1) & 15;
        }
        s.done_cnt = (s.done_cnt + u64::from(self.s_done_valid.val())).wrapping_sub(u64::from(done_pop)) & 31;
        if let Some(d) = ev_w {
            s.ev_mem[s.ev_wr as usize] = d;
            s.ev_wr = (s.ev_wr + 1) & 15;
        }
        if ev_pop {
            s.ev_rd = (s.ev_rd + 1) & 15;
        }
        s.ev_cnt = (s.ev_cnt + u64::from(ev_w.is_some())).wrapping_sub(u64::from(ev_pop)) & 31;

        s.key_q = key_q_next;
        s.occ_q = occ_q_next;
        self.m_stat_lookup_miss.next = s.stat_lookup_miss.into();
        self.m_stat_setups.next = s.stat_setups.into();
        self.m_stat_setup_fails.next = s.stat_setup_fails.into();
        self.m_stat_teardowns.next = s.stat_teardowns.into();
    }
}

impl Logic for TagTable {
    /// Bit-exact model of the Verilog body (see `edge`).
    fn update(&mut self) {
        if self.clock.pos_edge() {
            self.edge();
        }
        self.comb_outputs();
    }

    fn connect(&mut self) {
        self.s_ctrl_ready.connect();
        self.m_event_valid.connect();
        self.m_event_kind.connect();
        self.m_event_tag.connect();
        self.m_event_status.connect();
        self.m_lookup_valid.connect();
        self.m_lookup_hit.connect();
        self.m_lookup_tag.connect();
        self.m_lookup_gen.connect();
        self.m_desc_we.connect();
        self.m_desc_tag.connect();
        self.m_desc_live.connect();
        self.m_desc_gen.connect();
        self.m_desc_flow.connect();
        self.m_desc_base.connect();
        self.m_desc_last.connect();
        self.m_desc_total.connect();
        self.m_token_valid.connect();
        self.m_token_tag.connect();
        self.m_entry_we.connect();
        self.m_entry_index.connect();
        self.m_entry_addr.connect();
        self.m_entry_start.connect();
        self.m_entry_l1.connect();
        self.m_stat_lookup_miss.connect();
        self.m_stat_setups.connect();
        self.m_stat_setup_fails.connect();
        self.m_stat_teardowns.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(&self._params))
    }
}

/// Verilog function `name` computing the H3 hash of a 28-bit key.
fn hash_function(name: &str, table: usize, bits: usize) -> String {
    let mut f = format!("function automatic [{}:0] {name}(input [27:0] k);\nbegin\n", bits - 1);
    for (b, m) in hash_masks(table, bits).iter().enumerate() {
        let _ = writeln!(f, "  {name}[{b}] = ^(k & 28'h{m:07x});");
    }
    f.push_str("end\nendfunction\n");
    f
}

fn verilog_body(p: &PlacementParams) -> String {
    let h = p.hash_bits;
    let mut ways = String::new();
    // Way word: {valid, flow[11:0], cid[15:0], tag[15:0], gen[7:0]} = 53 bits.
    for t in 0..2 {
        for w in 0..8 {
            let _ = write!(
                ways,
                "(* ram_style = \"ultra\" *) reg [52:0] way{t}_{w} [0:{depth}];
reg [52:0] wq{t}_{w} = 53'd0;
always @(posedge clock) begin
  if (hw_we && hw_table == 1'd{t} && hw_way == 3'd{w}) way{t}_{w}[hw_bucket] <= hw_data;
  wq{t}_{w} <= way{t}_{w}[lk2_h{t}];
end
",
                depth = (1usize << h) - 1
            );
        }
    }
    let mut compare = String::new();
    let mut select = Vec::new();
    for i in 0..16 {
        let (t, w) = (i / 8, i % 8);
        let _ = writeln!(compare, "  lk4_match[{i}] <= wq{t}_{w}[52] && wq{t}_{w}[51:24] == lk3_key;\n  lk4_val{i} <= wq{t}_{w}[23:0];");
        select.push(format!("({{24{{lk4_match[{i}]}}}} & lk4_val{i})"));
    }
    let mut vals = String::new();
    for i in 0..16 {
        let _ = writeln!(vals, "reg [23:0] lk4_val{i} = 24'd0;");
    }
    let tag_bad = |sig: &str| if p.tag_bits < 16 { format!("({sig}[15:{}] != {}'d0)", p.tag_bits, 16 - p.tag_bits) } else { "1'b0".to_string() };
    subst(
        TEMPLATE,
        &[
            ("H", h.to_string()),
            ("HM", (h - 1).to_string()),
            ("P", p.pool_bits.to_string()),
            ("PM", (p.pool_bits - 1).to_string()),
            ("BASE_HIGH_BAD", format!("(s_ctrl_base[23:{}] != {}'d0)", p.pool_bits, 24 - p.pool_bits)),
            ("CTRL_TAG_BAD", tag_bad("s_ctrl_tag")),
            ("KW", (42 + h).to_string()),
            ("KWM", (41 + h).to_string()),
            ("HASH0", hash_function("hash0", 0, h)),
            ("HASH1", hash_function("hash1", 1, h)),
            ("WAYS", ways),
            ("VALS", vals),
            ("COMPARE", compare),
            ("SELECT", select.join(" |\n    ")),
        ],
    )
}

const TEMPLATE: &str = r#"
// ---- TagTable: see tag_table.rs for the contract.
%HASH0%
%HASH1%
initial begin
  s_ctrl_ready = 1'b0; m_event_valid = 1'b0; m_event_kind = 2'd0; m_event_tag = 16'd0; m_event_status = 4'd0;
  m_lookup_valid = 1'b0; m_lookup_hit = 1'b0; m_lookup_tag = 16'd0; m_lookup_gen = 8'd0;
  m_desc_we = 1'b0; m_desc_tag = 16'd0; m_desc_live = 1'b0; m_desc_gen = 8'd0; m_desc_flow = 12'd0;
  m_desc_base = 24'd0; m_desc_last = 8'd0; m_desc_total = 32'd0; m_token_valid = 1'b0; m_token_tag = 16'd0;
  m_entry_we = 1'b0; m_entry_index = 24'd0; m_entry_addr = 64'd0; m_entry_start = 32'd0; m_entry_l1 = 1'b0;
  m_stat_lookup_miss = 32'd0; m_stat_setups = 32'd0; m_stat_setup_fails = 32'd0; m_stat_teardowns = 32'd0;
end

// ---- Hash-way write port (driven by the control FSM below).
reg hw_we;
reg hw_table;
reg [2:0] hw_way;
reg [%HM%:0] hw_bucket;
reg [52:0] hw_data;

// ---- Lookup pipeline: inputs, hashes, way read, compare, select.
reg lk1_v = 1'b0;
reg [27:0] lk1_key = 28'd0;
reg lk2_v = 1'b0;
reg [27:0] lk2_key = 28'd0;
reg [%HM%:0] lk2_h0 = %H%'d0, lk2_h1 = %H%'d0;
reg lk3_v = 1'b0;
reg [27:0] lk3_key = 28'd0;
always @(posedge clock) begin
  lk1_v <= s_lookup_valid; lk1_key <= {s_lookup_flow, s_lookup_cid};
  lk2_v <= lk1_v; lk2_key <= lk1_key; lk2_h0 <= hash0(lk1_key); lk2_h1 <= hash1(lk1_key);
  lk3_v <= lk2_v; lk3_key <= lk2_key;
end
%WAYS%
reg lk4_v = 1'b0;
reg [15:0] lk4_match = 16'd0;
%VALS%
always @(posedge clock) begin
  lk4_v <= lk3_v;
%COMPARE%end
wire lk4_one = (lk4_match != 16'd0) && ((lk4_match & (lk4_match - 16'd1)) == 16'd0);
wire [23:0] lk4_sel = %SELECT%;
always @(posedge clock) begin
  m_lookup_valid <= lk4_v;
  m_lookup_hit <= lk4_v && lk4_one;
  m_lookup_tag <= lk4_sel[23:8];
  m_lookup_gen <= lk4_sel[7:0];
  if (lk4_v && !lk4_one) m_stat_lookup_miss <= m_stat_lookup_miss + 32'd1;
end

// ---- Tag ownership (control side only). Key word:
// {busy, live, gen[7:0], flow[11:0], cid[15:0], table, way[2:0], bucket}.
// busy: from setup until teardown done; live: from setup until teardown.
(* ram_style = "ultra" *) reg [%KWM%:0] key_mem [0:65535];
reg [%KWM%:0] key_q = %KW%'d0;
reg [15:0] key_ra;
reg key_we;
reg [%KWM%:0] key_wd;
always @(posedge clock) begin
  if (key_we) key_mem[f_tag] <= key_wd;
  key_q <= key_mem[key_ra];
end
wire kq_busy = key_q[%KWM%];
wire kq_live = key_q[%KWM% - 1];
wire [7:0] kq_gen = key_q[%KWM% - 2 -: 8];
wire [%HM%:0] kq_bucket = key_q[%HM%:0];

// ---- Bucket occupancy, one bit per way (control side only).
(* ram_style = "block" *) reg [7:0] occ0_mem [0:(1 << %H%) - 1];
(* ram_style = "block" *) reg [7:0] occ1_mem [0:(1 << %H%) - 1];
reg [7:0] occ0_q = 8'd0, occ1_q = 8'd0;
reg [%HM%:0] occ_ra0, occ_ra1;
reg occ_we0, occ_we1;
reg [%HM%:0] occ_wa;
reg [7:0] occ_wd;
always @(posedge clock) begin
  if (occ_we0) occ0_mem[occ_wa] <= occ_wd;
  if (occ_we1) occ1_mem[occ_wa] <= occ_wd;
  occ0_q <= occ0_mem[occ_ra0];
  occ1_q <= occ1_mem[occ_ra1];
end

// ---- Done queue: teardown tokens back from the DMA writer.
reg [15:0] done_mem [0:15];
reg [3:0] done_wr = 4'd0, done_rd = 4'd0;
reg [4:0] done_cnt = 5'd0;
wire done_pop;
always @(posedge clock) begin
  if (s_done_valid) begin done_mem[done_wr] <= s_done_tag; done_wr <= done_wr + 4'd1; end
  if (done_pop) done_rd <= done_rd + 4'd1;
  done_cnt <= done_cnt + {4'd0, s_done_valid} - {4'd0, done_pop};
end
wire [15:0] done_head = done_mem[done_rd];

// ---- Event FIFO.
reg [21:0] ev_mem [0:15];
reg [3:0] ev_wr = 4'd0, ev_rd = 4'd0;
reg [4:0] ev_cnt = 5'd0;
reg ev_push;
reg [21:0] ev_wd;
wire ev_pop = m_event_valid && m_event_ready;
always @(posedge clock) begin
  if (ev_push) begin ev_mem[ev_wr] <= ev_wd; ev_wr <= ev_wr + 4'd1; end
  if (ev_pop) ev_rd <= ev_rd + 4'd1;
  ev_cnt <= ev_cnt + {4'd0, ev_push} - {4'd0, ev_pop};
end
always @(*) begin
  m_event_valid = ev_cnt != 5'd0;
  {m_event_kind, m_event_status, m_event_tag} = ev_mem[ev_rd];
end

// ---- Control FSM.
localparam ST_IDLE = 3'd0, ST_ENT = 3'd1, ST_FIN = 3'd2, ST_WR = 3'd3, ST_TDRD = 3'd4, ST_TDWR = 3'd5, ST_DONE = 3'd6, ST_EV = 3'd7;
reg [2:0] st = ST_IDLE;
reg [15:0] f_tag = 16'd0;
reg [11:0] f_flow = 12'd0;
reg [15:0] f_cid = 16'd0;
reg [%PM%:0] f_base = %P%'d0;
reg [8:0] f_count = 9'd0, f_idx = 9'd0;
reg [32:0] f_acc = 33'd0;
reg [3:0] f_err = 4'd0;
reg f_nowrite = 1'b0, f_large = 1'b0;
reg [%HM%:0] f_h0 = %H%'d0, f_h1 = %H%'d0;
reg [1:0] f_kind = 2'd0;
reg [%KWM%:0] f_kq = %KW%'d0;
reg [7:0] f_gen = 8'd0;
reg [2:0] f_way0 = 3'd0, f_way1 = 3'd0;
reg f_has0 = 1'b0, f_has1 = 1'b0, f_le = 1'b0;
reg [4:0] outstanding = 5'd0;
wire unused_f_kq = &{1'b0, f_kq[%KWM%:%KWM% - 1]};

// Setup geometry, checked when the setup word is accepted.
wire [8:0] g_c = s_ctrl_count;
wire [4:0] g_rows = g_c[8:4] + {4'd0, g_c[3:0] != 4'd0};
wire g_small = g_c <= 9'd16;
wire g_bad = (g_c == 9'd0) || (g_c > 9'd256) || %BASE_HIGH_BAD% ||
  (g_small ? ({1'b0, s_ctrl_base[3:0]} + g_c[4:0] > 5'd16)
           : ((s_ctrl_base[3:0] != 4'd0) || ({1'b0, s_ctrl_base[7:4]} + g_rows > 5'd16)));
wire ctrl_tag_bad = %CTRL_TAG_BAD%;

// Entry checks.
wire [32:0] e_sum = f_acc + {1'b0, s_ctrl_len};
wire e_interior = (f_idx != 9'd0) && (f_idx != f_count - 9'd1);
wire [3:0] e_err = (s_ctrl_op != 2'd2) ? 4'd5 :
                   (s_ctrl_len == 32'd0 || (e_interior && s_ctrl_len < 32'd64)) ? 4'd3 :
                   (e_sum[32] || f_acc[32]) ? 4'd4 : 4'd0;

// Free-way choice: lowest free way of each bucket, and which bucket is emptier.
function automatic [2:0] lowest(input [7:0] v);
  integer i;
begin
  lowest = 3'd0;
  for (i = 7; i >= 0; i = i - 1) if (v[i]) lowest = i[2:0];
end
endfunction
function automatic [3:0] ones(input [7:0] v);
  integer i;
begin
  ones = 4'd0;
  for (i = 0; i < 8; i = i + 1) ones = ones + {3'd0, v[i]};
end
endfunction
wire use0 = f_has0 && (!f_has1 || f_le);
wire [2:0] use_way = use0 ? f_way0 : f_way1;
wire [7:0] use_occ = use0 ? occ0_q : occ1_q;
wire [%HM%:0] use_bucket = use0 ? f_h0 : f_h1;

assign done_pop = st == ST_DONE;
always @(*) begin
  s_ctrl_ready = (st == ST_ENT) || (st == ST_IDLE && done_cnt == 5'd0 && ev_cnt < 5'd16 && outstanding < 5'd15);
  key_ra = (st == ST_IDLE) ? ((done_cnt != 5'd0) ? done_head : s_ctrl_tag) : f_tag;
  occ_ra0 = (st == ST_TDRD) ? kq_bucket : f_h0;
  occ_ra1 = (st == ST_TDRD) ? kq_bucket : f_h1;
  hw_we = 1'b0; hw_table = 1'b0; hw_way = 3'd0; hw_bucket = f_h0; hw_data = 53'd0;
  key_we = 1'b0; key_wd = key_q;
  occ_we0 = 1'b0; occ_we1 = 1'b0; occ_wa = f_h0; occ_wd = 8'd0;
  ev_push = 1'b0; ev_wd = {f_kind, f_err, f_tag};
  case (st)
    ST_WR: begin
      ev_push = 1'b1;
      if (f_err == 4'd0) begin
        ev_wd = {2'd0, 4'd0, f_tag};
        hw_we = 1'b1; hw_table = !use0; hw_way = use_way; hw_bucket = use_bucket;
        hw_data = {1'b1, f_flow, f_cid, f_tag, f_gen};
        occ_we0 = use0; occ_we1 = !use0; occ_wa = use_bucket; occ_wd = use_occ | (8'd1 << use_way);
        key_we = 1'b1; key_wd = {1'b1, 1'b1, f_gen, f_flow, f_cid, !use0, use_way, use_bucket};
      end else begin
        ev_wd = {2'd1, f_err, f_tag};
      end
    end
    ST_TDWR: begin
      hw_we = 1'b1; hw_table = f_kq[%H% + 3]; hw_way = f_kq[%H% + 2 -: 3]; hw_bucket = f_kq[%HM%:0]; hw_data = 53'd0;
      occ_we0 = !f_kq[%H% + 3]; occ_we1 = f_kq[%H% + 3]; occ_wa = f_kq[%HM%:0];
      occ_wd = (f_kq[%H% + 3] ? occ1_q : occ0_q) & ~(8'd1 << f_kq[%H% + 2 -: 3]);
      key_we = 1'b1; key_wd = {1'b1, 1'b0, f_kq[%KWM% - 2:0]};
    end
    ST_DONE: begin
      key_we = 1'b1; key_wd = {2'b00, key_q[%KWM% - 2:0]};
      ev_push = 1'b1; ev_wd = {2'd2, 4'd0, f_tag};
    end
    ST_EV: ev_push = 1'b1;
    default: ;
  endcase
end

always @(posedge clock) begin
  m_desc_we <= 1'b0;
  m_token_valid <= 1'b0;
  m_entry_we <= 1'b0;
  case (st)
    ST_IDLE: begin
      if (done_cnt != 5'd0) begin
        if (ev_cnt < 5'd16) begin st <= ST_DONE; f_tag <= done_head; end
      end else if (s_ctrl_valid && s_ctrl_ready) begin
        f_tag <= s_ctrl_tag; f_flow <= s_ctrl_flow; f_cid <= s_ctrl_cid; f_base <= s_ctrl_base[%PM%:0];
        f_count <= s_ctrl_count; f_idx <= 9'd0; f_acc <= 33'd0; f_large <= !g_small;
        f_h0 <= hash0({s_ctrl_flow, s_ctrl_cid}); f_h1 <= hash1({s_ctrl_flow, s_ctrl_cid});
        f_nowrite <= g_bad || ctrl_tag_bad;
        f_err <= ctrl_tag_bad ? 4'd1 : g_bad ? 4'd2 : 4'd0;
        f_kind <= 2'd3;
        if (s_ctrl_op == 2'd1) st <= (s_ctrl_count == 9'd0) ? ST_FIN : ST_ENT;
        else if (s_ctrl_op == 2'd3) begin
          if (ctrl_tag_bad) st <= ST_EV; else st <= ST_TDRD;
        end else begin
          f_err <= 4'd5; st <= ST_EV;
        end
      end
    end
    ST_ENT: if (s_ctrl_valid) begin
      m_entry_we <= !f_nowrite;
      m_entry_index <= {{(24 - %P%){1'b0}}, f_base + {{(%P% - 9){1'b0}}, f_idx}};
      m_entry_addr <= s_ctrl_addr;
      m_entry_start <= f_acc[31:0];
      m_entry_l1 <= f_large && (f_idx[3:0] == 4'd0);
      f_acc <= e_sum;
      if (f_err == 4'd0) f_err <= e_err;
      f_idx <= f_idx + 9'd1;
      if (f_idx == f_count - 9'd1) st <= ST_FIN;
    end
    ST_FIN: begin
      if (f_err == 4'd0 && kq_busy) f_err <= 4'd6;
      else if (f_err == 4'd0 && occ0_q == 8'hff && occ1_q == 8'hff) f_err <= 4'd7;
      f_gen <= kq_gen + 8'd1;
      f_has0 <= occ0_q != 8'hff; f_has1 <= occ1_q != 8'hff;
      f_way0 <= lowest(~occ0_q); f_way1 <= lowest(~occ1_q);
      f_le <= ones(occ0_q) <= ones(occ1_q);
      st <= ST_WR;
    end
    ST_WR: begin
      if (f_err == 4'd0) begin
        m_desc_we <= 1'b1; m_desc_tag <= f_tag; m_desc_live <= 1'b1; m_desc_gen <= f_gen; m_desc_flow <= f_flow;
        m_desc_base <= {{(24 - %P%){1'b0}}, f_base}; m_desc_last <= f_count[7:0] - 8'd1; m_desc_total <= f_acc[31:0];
        m_stat_setups <= m_stat_setups + 32'd1;
      end else m_stat_setup_fails <= m_stat_setup_fails + 32'd1;
      st <= ST_IDLE;
    end
    ST_TDRD: begin
      f_kq <= key_q;
      if (!kq_busy) begin f_err <= 4'd8; st <= ST_EV; end
      else if (!kq_live) begin f_err <= 4'd9; st <= ST_EV; end
      else st <= ST_TDWR;
    end
    ST_TDWR: begin
      m_desc_we <= 1'b1; m_desc_tag <= f_tag; m_desc_live <= 1'b0; m_desc_gen <= f_kq[%KWM% - 2 -: 8];
      m_desc_flow <= 12'd0; m_desc_base <= 24'd0; m_desc_last <= 8'd0; m_desc_total <= 32'd0;
      m_token_valid <= 1'b1; m_token_tag <= f_tag;
      m_stat_teardowns <= m_stat_teardowns + 32'd1;
      outstanding <= outstanding + 5'd1;
      st <= ST_IDLE;
    end
    ST_DONE: begin
      outstanding <= outstanding - 5'd1;
      st <= ST_IDLE;
    end
    default: st <= ST_IDLE;
  endcase
end
"#;
