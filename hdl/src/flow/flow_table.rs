//! `FlowTable`: exact-match lookup of a TCP 5-tuple (IPv4 or IPv6) to a flow id, one lookup
//! per cycle, with flows added and deleted while traffic flows.
//!
//! A 4-way set-associative hash table in block RAM: the set is the low `SET_BITS` of the RSS
//! Toeplitz hash ([`super::toeplitz`]), the four ways are read in parallel, and every slot
//! holds the full key, so a lookup probes exactly four slots and never matches a different
//! flow. The flow id is the slot, `{set, way}`; capacity is `4 << SET_BITS` flows (4,096 with
//! `SET_BITS = 10`; at 64K flows, `SET_BITS = 14`, the key RAM is 19 Mbit and belongs in URAM).
//!
//! The driver places flows: it computes the same hash, picks a free way of the set (or fails
//! the contract's sk_add when all four are taken) and writes the slot through the control
//! port, one write per cycle. A write takes effect for lookups sampled on the same clock edge
//! or later; a lookup already in flight sees the old slot. A deleted flow id must not be reused before
//! the lookups in flight have left the pipeline (`LATENCY` cycles; the NIC core reports
//! sk_del done after that).
//!
//! Latency `LATENCY` = 5 cycles: input registers, hash (XOR trees of at most 3 LUT levels),
//! block-RAM read, key compare (4 LUT levels), way encode. Throughput one lookup per cycle.
use super::toeplitz::{columns, hash, FiveTuple};
use crate::bytes::lanes_from_bits;
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

pub const WAYS: usize = 4;
/// Stored per slot: {valid, ipv6, src_addr, dst_addr, src_port, dst_port}.
const KEY_BITS: usize = 2 + 128 + 128 + 16 + 16;

#[derive(LogicBlock)]
pub struct FlowTable<const SET_BITS: usize, const FLOW_BITS: usize> {
    pub clock: Signal<In, Clock>,
    /// Lookup: addresses in network byte order with byte 0 in bits [7:0]; IPv4 uses bytes 0..3.
    pub s_valid: Signal<In, Bit>,
    pub s_ipv6: Signal<In, Bit>,
    pub s_src_addr: Signal<In, Bits<128>>,
    pub s_dst_addr: Signal<In, Bits<128>>,
    pub s_src_port: Signal<In, Bits<16>>,
    pub s_dst_port: Signal<In, Bits<16>>,
    pub m_valid: Signal<Out, Bit>,
    pub m_hit: Signal<Out, Bit>,
    pub m_flow: Signal<Out, Bits<FLOW_BITS>>,
    /// Control: write slot `c_flow` with the key (`c_add`) or empty it (`!c_add`).
    pub c_valid: Signal<In, Bit>,
    pub c_add: Signal<In, Bit>,
    pub c_flow: Signal<In, Bits<FLOW_BITS>>,
    pub c_ipv6: Signal<In, Bit>,
    pub c_src_addr: Signal<In, Bits<128>>,
    pub c_dst_addr: Signal<In, Bits<128>>,
    pub c_src_port: Signal<In, Bits<16>>,
    pub c_dst_port: Signal<In, Bits<16>>,
    _slots: Vec<Option<FiveTuple>>,
    _in_flight: VecDeque<Option<Option<usize>>>,
}

/// 4,096 flows.
pub type FlowTable4096 = FlowTable<10, 12>;
/// 64 flows, for tests that fill sets.
pub type FlowTable64 = FlowTable<4, 6>;

fn addr(bits: Bits<128>) -> [u8; 16] {
    lanes_from_bits(bits).try_into().expect("128 bits are 16 bytes")
}

impl<const SET_BITS: usize, const FLOW_BITS: usize> FlowTable<SET_BITS, FLOW_BITS> {
    pub const LATENCY: usize = 5;

    pub fn new() -> Self {
        assert_eq!(FLOW_BITS, SET_BITS + 2, "four ways per set");
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_ipv6: Default::default(),
            s_src_addr: Default::default(),
            s_dst_addr: Default::default(),
            s_src_port: Default::default(),
            s_dst_port: Default::default(),
            m_valid: Default::default(),
            m_hit: Default::default(),
            m_flow: Default::default(),
            c_valid: Default::default(),
            c_add: Default::default(),
            c_flow: Default::default(),
            c_ipv6: Default::default(),
            c_src_addr: Default::default(),
            c_dst_addr: Default::default(),
            c_src_port: Default::default(),
            c_dst_port: Default::default(),
            _slots: vec![None; WAYS << SET_BITS],
            _in_flight: VecDeque::from(vec![None; Self::LATENCY - 1]),
        }
    }

    /// The set a flow must be placed in (what the driver computes).
    pub fn set_of(flow: &FiveTuple) -> usize {
        hash(flow) as usize & ((1 << SET_BITS) - 1)
    }
}

/// The key on the lookup or control ports. IPv4 keys compare only their 4 address bytes: the
/// upper 12 are ignored on both paths.
fn key_of(ipv6: bool, src_addr: Bits<128>, dst_addr: Bits<128>, src_port: Bits<16>, dst_port: Bits<16>) -> FiveTuple {
    let mut t = FiveTuple { ipv6, src_addr: addr(src_addr), dst_addr: addr(dst_addr), src_port: src_port.index() as u16, dst_port: dst_port.index() as u16 };
    if !t.ipv6 {
        t.src_addr[4..].fill(0);
        t.dst_addr[4..].fill(0);
    }
    t
}

impl<const SET_BITS: usize, const FLOW_BITS: usize> Default for FlowTable<SET_BITS, FLOW_BITS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SET_BITS: usize, const FLOW_BITS: usize> Logic for FlowTable<SET_BITS, FLOW_BITS> {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        // The lookup reads the RAM two edges after its inputs are sampled; a control write
        // lands one edge after it is sampled, so the lookup sees it when sampled together.
        if self.c_valid.val() {
            let key = self.c_add.val().then(|| key_of(self.c_ipv6.val(), self.c_src_addr.val(), self.c_dst_addr.val(), self.c_src_port.val(), self.c_dst_port.val()));
            self._slots[self.c_flow.val().index()] = key;
        }
        let lookup = self.s_valid.val().then(|| key_of(self.s_ipv6.val(), self.s_src_addr.val(), self.s_dst_addr.val(), self.s_src_port.val(), self.s_dst_port.val()));
        let result = lookup.map(|key| {
            let set = Self::set_of(&key);
            (0..WAYS).map(|way| set * WAYS + way).find(|&slot| self._slots[slot] == Some(key))
        });
        self._in_flight.push_back(result);
        let out = self._in_flight.pop_front().expect("pipeline is never empty");
        self.m_valid.next = out.is_some();
        self.m_hit.next = matches!(out, Some(Some(_)));
        if let Some(Some(flow)) = out {
            self.m_flow.next = (flow as u64).into();
        }
    }

    fn connect(&mut self) {
        self.m_valid.connect();
        self.m_hit.connect();
        self.m_flow.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(SET_BITS))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "flow_table".into(),
            clock: "clock".into(),
            inputs: vec!["s_valid".into(), "s_ipv6".into(), "s_src_addr".into(), "s_dst_addr".into(), "s_src_port".into(), "s_dst_port".into()],
            outputs: vec!["m_valid".into(), "m_hit".into(), "m_flow".into()],
        }]
    }
}

/// `{bit SET_BITS-1, ..., bit 0}` of the hash of the key in `k_*` registers, as XOR trees over
/// the key bits each hash bit depends on. Input byte `i` of the hash is port byte `i` of the
/// source address, then the destination address, then the ports big-endian.
fn hash_bits(set_bits: usize, ipv6: bool, prefix: &str) -> String {
    let n = if ipv6 { 16 } else { 4 };
    let input_bit = |i: usize| -> String {
        let (byte, bit) = (i / 8, 7 - i % 8);
        if byte < n {
            format!("{prefix}_src_addr[{}]", byte * 8 + bit)
        } else if byte < 2 * n {
            format!("{prefix}_dst_addr[{}]", (byte - n) * 8 + bit)
        } else {
            // Port bytes in network order: the high byte first.
            let (port, k) = if byte < 2 * n + 2 { ("src_port", byte - 2 * n) } else { ("dst_port", byte - 2 * n - 2) };
            format!("{prefix}_{port}[{}]", (1 - k) * 8 + bit)
        }
    };
    let cols = columns(2 * n + 4);
    let bits: Vec<String> = (0..set_bits)
        .rev()
        .map(|b| {
            let terms: Vec<String> = cols.iter().enumerate().filter(|(_, c)| *c >> b & 1 == 1).map(|(i, _)| input_bit(i)).collect();
            if terms.is_empty() { "1'b0".into() } else { format!("({})", terms.join(" ^ ")) }
        })
        .collect();
    format!("{{{}}}", bits.join(", "))
}

fn verilog_body(set_bits: usize) -> String {
    let (s, f, k) = (set_bits - 1, set_bits + 1, KEY_BITS - 1);
    let sets = 1usize << set_bits;
    let mut v = String::new();
    let _ = write!(
        v,
        "
// Stage 1: lookup and control inputs. IPv4 keys keep only their 4 address bytes.
reg k_valid = 1'b0, k_ipv6 = 1'b0;
reg [127:0] k_src_addr = 128'd0, k_dst_addr = 128'd0;
reg [15:0] k_src_port = 16'd0, k_dst_port = 16'd0;
reg w_valid = 1'b0;
reg [{f}:0] w_slot = {fb}'d0;
reg [{k}:0] w_key = {kb}'d0;
wire [127:0] v4_mask = {{96'd0, 32'hffffffff}};
always @(posedge clock) begin
  k_valid <= s_valid; k_ipv6 <= s_ipv6;
  k_src_addr <= s_ipv6 ? s_src_addr : (s_src_addr & v4_mask);
  k_dst_addr <= s_ipv6 ? s_dst_addr : (s_dst_addr & v4_mask);
  k_src_port <= s_src_port; k_dst_port <= s_dst_port;
  w_valid <= c_valid; w_slot <= c_flow;
  w_key <= {{c_add, c_ipv6, c_ipv6 ? c_src_addr : (c_src_addr & v4_mask), c_ipv6 ? c_dst_addr : (c_dst_addr & v4_mask), c_src_port, c_dst_port}};
end
// Stage 2: the set index (Toeplitz hash bits, XOR trees) and the key to compare.
reg h_valid = 1'b0;
reg [{s}:0] h_set = {sb}'d0;
reg [{k}:0] h_key = {kb}'d0;
wire [{s}:0] set_v4 = {hash_v4};
wire [{s}:0] set_v6 = {hash_v6};
always @(posedge clock) begin
  h_valid <= k_valid;
  h_set <= k_ipv6 ? set_v6 : set_v4;
  h_key <= {{1'b1, k_ipv6, k_src_addr, k_dst_addr, k_src_port, k_dst_port}};
end
",
        fb = f + 1,
        kb = KEY_BITS,
        sb = set_bits,
        hash_v4 = hash_bits(set_bits, false, "k"),
        hash_v6 = hash_bits(set_bits, true, "k"),
    );
    for way in 0..WAYS {
        let _ = write!(
            v,
            "
(* ram_style = \"block\" *) reg [{k}:0] way{way} [0:{last}];
reg [{k}:0] r_way{way} = {kb}'d0;
integer init{way};
initial for (init{way} = 0; init{way} < {sets}; init{way} = init{way} + 1) way{way}[init{way}] = {kb}'d0;
always @(posedge clock) begin
  if (w_valid && w_slot[1:0] == 2'd{way}) way{way}[w_slot[{f}:2]] <= w_key;
  r_way{way} <= way{way}[h_set];
end
",
            last = sets - 1,
            kb = KEY_BITS,
        );
    }
    let _ = write!(
        v,
        "
// Stage 3 is the block-RAM read above; stage 4: compare the full key in every way.
reg r_valid = 1'b0, c_valid_q = 1'b0;
reg [{s}:0] r_set = {sb}'d0, c_set = {sb}'d0;
reg [{k}:0] r_key = {kb}'d0;
reg [3:0] c_hits = 4'd0;
always @(posedge clock) begin
  r_valid <= h_valid; r_set <= h_set; r_key <= h_key;
  c_valid_q <= r_valid; c_set <= r_set;
  c_hits <= {{r_way3 == r_key, r_way2 == r_key, r_way1 == r_key, r_way0 == r_key}};
end
// Stage 5: at most one way holds the key (the driver writes a flow once).
initial begin m_valid = 1'b0; m_hit = 1'b0; m_flow = {fb}'d0; end
always @(posedge clock) begin
  m_valid <= c_valid_q;
  m_hit <= |c_hits;
  if (|c_hits) m_flow <= {{c_set, c_hits[3] ? 2'd3 : c_hits[2] ? 2'd2 : c_hits[1] ? 2'd1 : 2'd0}};
end
",
        sb = set_bits,
        kb = KEY_BITS,
        fb = f + 1,
    );
    v
}
