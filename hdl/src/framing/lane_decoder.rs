//! `PduLaneDecoder`: at every byte lane of a beat, would a PDU header that starts there pass
//! the queue's rules ([`parse_header`]), and what is its plen?
//!
//! This is the data-only half of line-rate framing. A 64-byte beat can hold up to three
//! header starts and the MAC cannot be paused, so the tracker cannot decode headers one at a
//! time: it decodes all W candidate positions in parallel, and the only serial step left is
//! choosing which of them the carried-in PDU position selects (`lane + plen` hops). The same
//! per-lane verdicts are the resync search's pattern matcher.
//!
//! A header at lane L spans lanes L..L+23 and may run into the next beat, so the block is fed
//! the beat and its successor (`s_next`, one beat of lookahead; W >= 24). The queue settings
//! are per packet inputs. Latency 2 cycles: the plen equation's add, then the compares.
//! Throughput one beat per cycle.
use super::pdu_rules::{parse_header, QueueConfig, HLEN};
use crate::bytes::lanes_from_bits;
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

#[derive(LogicBlock)]
pub struct PduLaneDecoder<const W: usize, const DATA_BITS: usize> {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_data: Signal<In, Bits<DATA_BITS>>,
    /// The first 19 bytes of the beat after `s_data`: the rest of the rule fields (header
    /// bytes 0..19) of a header that starts late in the beat.
    pub s_next: Signal<In, Bits<LOOKAHEAD_BITS>>,
    pub s_hdgst: Signal<In, Bit>,
    pub s_ddgst: Signal<In, Bit>,
    pub s_cpda: Signal<In, Bits<5>>,
    pub m_valid: Signal<Out, Bit>,
    /// Bit L: a header passing the rules starts at lane L.
    pub m_header_ok: Signal<Out, Bits<W>>,
    /// plen of the header at lane L in bits [32L+31:32L] (meaningful where `m_header_ok`).
    pub m_plen: Signal<Out, Bits<{ 32 * 64 }>>,
    _in_flight: VecDeque<Option<(Vec<bool>, Vec<u32>)>>,
}

pub type PduLaneDecoder64 = PduLaneDecoder<64, 512>;

/// The rules read header bytes 0..19, so a header in the last lane needs 19 more bytes.
pub const LOOKAHEAD_BITS: usize = 8 * (RULE_BYTES - 1);
const RULE_BYTES: usize = 20;

impl<const W: usize, const DATA_BITS: usize> PduLaneDecoder<W, DATA_BITS> {
    pub const LATENCY: usize = 2;

    pub fn new() -> Self {
        assert!(W >= HLEN && W <= 64 && DATA_BITS == 8 * W, "one beat of lookahead covers a header only when W >= 24");
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_data: Default::default(),
            s_next: Default::default(),
            s_hdgst: Default::default(),
            s_ddgst: Default::default(),
            s_cpda: Default::default(),
            m_valid: Default::default(),
            m_header_ok: Default::default(),
            m_plen: Default::default(),
            _in_flight: VecDeque::from(vec![None; Self::LATENCY - 1]),
        }
    }

    /// The per-lane answer, from the protocol rules: the model and the tests' reference.
    /// `next` holds at least the first 19 bytes of the following beat.
    pub fn decode(beat: &[u8], next: &[u8], cfg: &QueueConfig) -> (Vec<bool>, Vec<u32>) {
        // Header bytes past the rule fields do not change the verdict: zeros stand in.
        let mut bytes: Vec<u8> = beat.iter().chain(&next[..RULE_BYTES - 1]).copied().collect();
        bytes.resize(beat.len() + HLEN, 0);
        (0..beat.len())
            .map(|lane| match parse_header(&bytes[lane..lane + HLEN], cfg) {
                Ok(h) => (true, h.plen),
                Err(_) => (false, 0),
            })
            .unzip()
    }
}

impl<const W: usize, const DATA_BITS: usize> Default for PduLaneDecoder<W, DATA_BITS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize, const DATA_BITS: usize> Logic for PduLaneDecoder<W, DATA_BITS> {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        let result = self.s_valid.val().then(|| {
            let cfg = QueueConfig { hdgst: self.s_hdgst.val(), ddgst: self.s_ddgst.val(), cpda: self.s_cpda.val().index() as u8 };
            Self::decode(&lanes_from_bits(self.s_data.val()), &lanes_from_bits(self.s_next.val()), &cfg)
        });
        self._in_flight.push_back(result);
        match self._in_flight.pop_front().expect("pipeline is never empty") {
            Some((ok, plen)) => {
                self.m_valid.next = true;
                self.m_header_ok.next = ok.iter().enumerate().fold(Bits::default(), |acc, (lane, &b)| acc.replace_bit(lane, b));
                // Like the Verilog, a lane's plen register loads only where a header decodes.
                let mut bytes = lanes_from_bits(self.m_plen.val());
                for (lane, p) in plen.iter().enumerate() {
                    if ok[lane] {
                        bytes[4 * lane..4 * lane + 4].copy_from_slice(&p.to_le_bytes());
                    }
                }
                self.m_plen.next = crate::bytes::bits_from_lanes(&bytes);
            }
            None => self.m_valid.next = false,
        }
    }

    fn connect(&mut self) {
        self.m_valid.connect();
        self.m_header_ok.connect();
        self.m_plen.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(W))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "pdu_lane_decoder".into(),
            clock: "clock".into(),
            inputs: vec!["s_valid".into(), "s_data".into(), "s_next".into()],
            outputs: vec!["m_valid".into(), "m_header_ok".into(), "m_plen".into()],
        }]
    }
}

/// `data_pdo_for({hdgst, cpda})`: a 64-entry table instead of a divider.
fn data_pdo_function() -> String {
    let mut f = String::from("function [7:0] data_pdo_for;\n  input [5:0] index;\n  case (index)\n");
    for index in 0..64u8 {
        let cfg = QueueConfig { hdgst: index & 32 != 0, ddgst: false, cpda: index & 31 };
        let _ = writeln!(f, "    6'd{index}: data_pdo_for = 8'd{};", cfg.data_pdo());
    }
    f.push_str("  endcase\nendfunction\n");
    f
}

/// Per lane, stage 1 registers the checks that need no arithmetic and the two sides of the
/// plen equation; stage 2 compares. The rules are those of `parse_header`, restated in
/// hardware terms; the tests compare every lane with it.
fn verilog_body(w: usize) -> String {
    let mut v = String::new();
    let db = 8 * w + LOOKAHEAD_BITS - 1;
    let _ = write!(
        v,
        "
wire [{db}:0] window = {{s_next, s_data}};
// Where C2HData payload starts for this queue: the header and its digest, aligned to CPDA.
{pdo_fn}wire [7:0] data_pdo = data_pdo_for({{s_hdgst, s_cpda}});
wire [1:0] data_digest_flags = {{s_ddgst, s_hdgst}};
wire [1:0] other_digest_flags = {{1'b0, s_hdgst}};
wire [33:0] short_plen = s_hdgst ? 34'd28 : 34'd24;
reg s1_valid = 1'b0;
always @(posedge clock) s1_valid <= s_valid;
initial begin m_valid = 1'b0; m_header_ok = {w}'d0; m_plen = {pw}'d0; end
always @(posedge clock) m_valid <= s1_valid;
",
        pw = 32 * 64,
        pdo_fn = data_pdo_function(),
    );
    for lane in 0..w {
        let at = |byte: usize, bits: usize| format!("window[{}:{}]", (lane + byte) * 8 + bits - 1, (lane + byte) * 8);
        let _ = write!(
            v,
            "
// Lane {lane}.
wire [7:0] l{lane}_type = {ty};
wire [7:0] l{lane}_flags = {fl};
wire [31:0] l{lane}_plen = {{{p3}, {p2}, {p1}, {p0}}};
wire [31:0] l{lane}_datal = {{{d3}, {d2}, {d1}, {d0}}};
wire l{lane}_data = l{lane}_type == 8'd7;
wire l{lane}_term = l{lane}_type == 8'd3;
wire l{lane}_known = l{lane}_data | l{lane}_term | l{lane}_type == 8'd5 | l{lane}_type == 8'd9;
wire [1:0] l{lane}_want_digests = l{lane}_term ? 2'b00 : l{lane}_data ? data_digest_flags : other_digest_flags;
wire l{lane}_flags_ok = l{lane}_flags[1:0] == l{lane}_want_digests
  && (l{lane}_data ? (l{lane}_flags[7:4] == 4'd0 && !(l{lane}_flags[3] && !l{lane}_flags[2])) : l{lane}_flags[7:2] == 6'd0);
wire l{lane}_pdo_ok = {pdo} == (l{lane}_data ? data_pdo : 8'd0);
reg l{lane}_static_ok = 1'b0, l{lane}_is_data = 1'b0, l{lane}_is_term = 1'b0, l{lane}_datal_zero = 1'b0;
reg [33:0] l{lane}_want = 34'd0, l{lane}_have = 34'd0;
always @(posedge clock) begin
  l{lane}_static_ok <= l{lane}_known && {hl} == 8'd24 && l{lane}_flags_ok && l{lane}_pdo_ok;
  l{lane}_is_data <= l{lane}_data; l{lane}_is_term <= l{lane}_term;
  l{lane}_datal_zero <= l{lane}_datal == 32'd0;
  l{lane}_have <= {{2'b00, l{lane}_plen}};
  l{lane}_want <= l{lane}_data ? {{26'd0, data_pdo}} + {{2'b00, l{lane}_datal}} + (s_ddgst ? 34'd4 : 34'd0) : short_plen;
end
wire l{lane}_plen_ok = l{lane}_is_data ? (!l{lane}_datal_zero && l{lane}_have == l{lane}_want)
  : l{lane}_is_term ? (l{lane}_have >= 34'd24 && l{lane}_have <= 34'd152) : l{lane}_have == l{lane}_want;
always @(posedge clock) begin
  m_header_ok[{lane}] <= l{lane}_static_ok && l{lane}_plen_ok;
  if (l{lane}_static_ok && l{lane}_plen_ok) m_plen[{pm}:{pl}] <= l{lane}_have[31:0];
end
",
            ty = at(0, 8),
            fl = at(1, 8),
            hl = at(2, 8),
            pdo = at(3, 8),
            p0 = at(4, 8),
            p1 = at(5, 8),
            p2 = at(6, 8),
            p3 = at(7, 8),
            d0 = at(16, 8),
            d1 = at(17, 8),
            d2 = at(18, 8),
            d3 = at(19, 8),
            pm = 32 * lane + 31,
            pl = 32 * lane,
        );
    }
    v
}
