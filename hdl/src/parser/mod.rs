//! `HeaderParser`: the receive header parser. Ethernet II, one 802.1Q tag, IPv4 (any IHL) or
//! IPv6 (fixed header), TCP (any data offset); IPv4 header and TCP checksums.
//!
//! # Interface
//! Input, one beat per cycle, no backpressure: `s_valid`, `s_data` (byte 0 in bits 7:0),
//! `s_last`, `s_len` (valid bytes of the last beat, 1..=W; other beats are full). Beats of a
//! frame should be contiguous (see "Gaps" below).
//!
//! Output, `LATENCY` clock edges later (an input sampled at edge `t` is on the outputs after
//! edge `t + LATENCY - 1`), every beat unmodified and never dropped: `m_valid`, `m_data`,
//! `m_len`, `m_last` (as given), plus
//! - per beat: `m_sof` (the frame's first beat) and `m_payload` (bit i: lane i holds TCP
//!   payload of a frame with `m_hdr_candidate`; Ethernet padding after the IP packet is
//!   never marked);
//! - per frame, header fields, loaded on the `m_sof` beat and held until the next `m_sof`:
//!   `m_vlan`, `m_vlan_id`, `m_ipv4`, `m_ipv6`, `m_is_tcp`, `m_ip_fragment`, `m_ip6_ext`,
//!   `m_ip_csum_ok`, `m_hdr_ok`, `m_hdr_cut`, `m_hdr_candidate`, `m_src_ip`, `m_dst_ip`
//!   (IPv4 addresses in bits 31:0; values in network order, first byte most significant),
//!   `m_src_port`, `m_dst_port`, `m_seq`, `m_ack`, `m_tcp_flags` (12 bits: reserved, NS, CWR ..
//!   FIN), `m_payload_start` (frame offset of the first payload byte: beat `>> log2 W`, lane
//!   `& (W-1)`), `m_payload_len`;
//! - per frame, the verdict, on the `m_last` beat only (zero elsewhere): `m_truncated`,
//!   `m_tcp_csum_ok`, `m_offload_ok` (= header candidate, not truncated, TCP checksum right).
//!
//! So the header fields are already known when the frame's first beat leaves the block: the
//! tracker can use payload from the first beat on and commits on `m_offload_ok`.
//!
//! # Flag definitions
//! - `m_ip_csum_ok`: IPv4 header sums to 0xFFFF over IHL*4 bytes; 1 for IPv6 (no header
//!   checksum); 0 for everything else.
//! - `m_is_tcp`: IPv4 protocol 6 or IPv6 next header 6 (an IPv6 packet whose TCP header sits
//!   behind extension headers is *not* TCP here: `m_ip6_ext` says why; never offloaded).
//! - `m_ip_fragment`: IPv4 MF set or fragment offset non-zero; IPv6 next header 44.
//! - `m_hdr_ok`: IPv4 version 4, IHL >= 5, total length >= IHL*4; IPv6 version 6; for TCP,
//!   data offset >= 5 and the segment at least as long as its header. Non-IP frames: 1.
//! - `m_hdr_cut`: the frame (within the header window) ends before the headers do: L2 header
//!   for non-IP, up to the TCP payload for TCP, up to the L4 start for other IP.
//! - `m_hdr_candidate` = TCP, `m_hdr_ok`, not a fragment, IP checksum right, not cut.
//! - `m_truncated` (end of frame) = `m_hdr_cut`, or an IP frame shorter than L3 start + IP
//!   total length (IPv6: + 40 + payload length). Bytes beyond that length (padding) are
//!   ignored by the checksum and the payload lanes.
//! - `m_tcp_csum_ok`: ones-complement sum of pseudo-header, TCP header and payload (up to the
//!   IP length, within the frame) is 0xFFFF, for TCP frames; 0 otherwise.
//!
//! # Pipeline (W = 64: `LATENCY` 18; W = 8: 31)
//! 1. input register `q0`; `sof` from an in-frame bit.
//! 2. header window: the beat delay line `q0 .. q{H-1}`, `H = ceil(138 / W)` beats. When a
//!    first beat reaches `q{H-1}`, the frame's bytes in the window (up to its last beat or a
//!    gap) are the header view; bytes 12..91 (all the parse needs: TCP options beyond byte 14
//!    of the TCP header are not read) and the frame length within the window are snapshotted.
//!    The window is a delay line, so back-to-back frames of one beat need no special care.
//! 3. six parse stages: VLAN and ethertype; IP fields and the TCP header's first 14 bytes
//!    (a 16:1 mux on IHL, or IPv6's fixed offset); lengths, offsets, the IPv4 header sum
//!    (30 masked words, adder tree over three stages) and the pseudo-header sum; folds and
//!    flags. All L4 offsets are even (14 or 18 + 4*IHL, or + 40), so the TCP 16-bit words
//!    are always lane pairs (2k, 2k+1) and no byte swap is needed anywhere.
//! 4. frame context at `q{H+6}`: the first beat loads it, later beats use it; per beat the
//!    lane masks compare (beat index, lane) with the TCP start, payload start and IP end:
//!    one beat-index compare per threshold, and lane thermometers precomputed per frame in
//!    the parse (abc9 otherwise chains the per-lane `lo <= i` compares 7 LUTs deep).
//! 5. checksum: the masked beat's W/2 words in an adder tree, two levels per stage; a 32-bit
//!    accumulator per frame starting at the pseudo-header sum; two folds at the last beat.
//!
//! # Gaps
//! `s_valid` low inside a frame is tolerated: beats are counted, not cycles. A gap inside the
//! header window ends the header view there, so such a frame is `m_hdr_cut` (never offloaded).
//!
//! The Rust model (`model.rs`) and the generated Verilog (`verilog.rs`) implement the same
//! definitions; tests check the model against `etherparse` and replay it through Verilator.
pub mod model;
pub mod verilog;

use crate::bytes::{bits_from_lanes, lanes_from_bits};
use model::{InBeat, ParserModel};
use num_bigint::BigUint;
use rust_hdl::prelude::*;

/// `W` bytes per beat; `DATA_BITS = 8W`, `LANE_BITS = log2 W`, `POS_BITS = LANE_BITS + 1`.
#[derive(LogicBlock)]
pub struct HeaderParser<const W: usize, const DATA_BITS: usize, const LANE_BITS: usize, const POS_BITS: usize> {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_data: Signal<In, Bits<DATA_BITS>>,
    pub s_len: Signal<In, Bits<POS_BITS>>,
    pub s_last: Signal<In, Bit>,
    pub m_valid: Signal<Out, Bit>,
    pub m_data: Signal<Out, Bits<DATA_BITS>>,
    pub m_len: Signal<Out, Bits<POS_BITS>>,
    pub m_last: Signal<Out, Bit>,
    pub m_sof: Signal<Out, Bit>,
    pub m_payload: Signal<Out, Bits<W>>,
    pub m_vlan: Signal<Out, Bit>,
    pub m_vlan_id: Signal<Out, Bits<12>>,
    pub m_ipv4: Signal<Out, Bit>,
    pub m_ipv6: Signal<Out, Bit>,
    pub m_is_tcp: Signal<Out, Bit>,
    pub m_ip_fragment: Signal<Out, Bit>,
    pub m_ip6_ext: Signal<Out, Bit>,
    pub m_ip_csum_ok: Signal<Out, Bit>,
    pub m_hdr_ok: Signal<Out, Bit>,
    pub m_hdr_cut: Signal<Out, Bit>,
    pub m_hdr_candidate: Signal<Out, Bit>,
    pub m_src_ip: Signal<Out, Bits<128>>,
    pub m_dst_ip: Signal<Out, Bits<128>>,
    pub m_src_port: Signal<Out, Bits<16>>,
    pub m_dst_port: Signal<Out, Bits<16>>,
    pub m_seq: Signal<Out, Bits<32>>,
    pub m_ack: Signal<Out, Bits<32>>,
    pub m_tcp_flags: Signal<Out, Bits<12>>,
    pub m_payload_start: Signal<Out, Bits<16>>,
    pub m_payload_len: Signal<Out, Bits<16>>,
    pub m_truncated: Signal<Out, Bit>,
    pub m_tcp_csum_ok: Signal<Out, Bit>,
    pub m_offload_ok: Signal<Out, Bit>,
    _model: ParserModel,
}

/// The receive path's parser: 64 bytes a cycle.
pub type HeaderParser64 = HeaderParser<64, 512, 6, 7>;
/// Narrow instances for cheap tests.
pub type HeaderParser8 = HeaderParser<8, 64, 3, 4>;
pub type HeaderParser16 = HeaderParser<16, 128, 4, 5>;

impl<const W: usize, const DATA_BITS: usize, const LANE_BITS: usize, const POS_BITS: usize> HeaderParser<W, DATA_BITS, LANE_BITS, POS_BITS> {
    /// Clock edges from a beat at the inputs to the same beat at the outputs.
    pub const LATENCY: usize = model::HDR_BYTES.div_ceil(W) + model::PARSE_STAGES + 6 + ((LANE_BITS - 1).div_ceil(2));

    pub fn new() -> Self {
        assert!(W.is_power_of_two() && (8..=64).contains(&W), "W must be 8, 16, 32 or 64");
        assert_eq!(DATA_BITS, 8 * W);
        assert_eq!(1 << LANE_BITS, W);
        assert_eq!(POS_BITS, LANE_BITS + 1);
        assert_eq!(Self::LATENCY, model::latency(W));
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_data: Default::default(),
            s_len: Default::default(),
            s_last: Default::default(),
            m_valid: Default::default(),
            m_data: Default::default(),
            m_len: Default::default(),
            m_last: Default::default(),
            m_sof: Default::default(),
            m_payload: Default::default(),
            m_vlan: Default::default(),
            m_vlan_id: Default::default(),
            m_ipv4: Default::default(),
            m_ipv6: Default::default(),
            m_is_tcp: Default::default(),
            m_ip_fragment: Default::default(),
            m_ip6_ext: Default::default(),
            m_ip_csum_ok: Default::default(),
            m_hdr_ok: Default::default(),
            m_hdr_cut: Default::default(),
            m_hdr_candidate: Default::default(),
            m_src_ip: Default::default(),
            m_dst_ip: Default::default(),
            m_src_port: Default::default(),
            m_dst_port: Default::default(),
            m_seq: Default::default(),
            m_ack: Default::default(),
            m_tcp_flags: Default::default(),
            m_payload_start: Default::default(),
            m_payload_len: Default::default(),
            m_truncated: Default::default(),
            m_tcp_csum_ok: Default::default(),
            m_offload_ok: Default::default(),
            _model: ParserModel::new(W),
        }
    }
}

impl<const W: usize, const DATA_BITS: usize, const LANE_BITS: usize, const POS_BITS: usize> Default for HeaderParser<W, DATA_BITS, LANE_BITS, POS_BITS> {
    fn default() -> Self {
        Self::new()
    }
}

fn wide<const N: usize>(x: u128) -> Bits<N> {
    BigUint::from(x).into()
}

impl<const W: usize, const DATA_BITS: usize, const LANE_BITS: usize, const POS_BITS: usize> Logic for HeaderParser<W, DATA_BITS, LANE_BITS, POS_BITS> {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        let input = InBeat { valid: self.s_valid.val(), data: lanes_from_bits(self.s_data.val()), len: self.s_len.val().index(), last: self.s_last.val() };
        let o = self._model.clock(input).clone();
        self.m_valid.next = o.valid;
        self.m_data.next = bits_from_lanes(&o.data);
        self.m_len.next = (o.len as u64).into();
        self.m_last.next = o.last;
        self.m_sof.next = o.sof;
        self.m_payload.next = o.payload.into();
        let h = &o.hdr;
        self.m_vlan.next = h.vlan;
        self.m_vlan_id.next = u64::from(h.vlan_id).into();
        self.m_ipv4.next = h.ipv4;
        self.m_ipv6.next = h.ipv6;
        self.m_is_tcp.next = h.is_tcp;
        self.m_ip_fragment.next = h.ip_fragment;
        self.m_ip6_ext.next = h.ip6_ext;
        self.m_ip_csum_ok.next = h.ip_csum_ok;
        self.m_hdr_ok.next = h.hdr_ok;
        self.m_hdr_cut.next = h.hdr_cut;
        self.m_hdr_candidate.next = h.hdr_candidate;
        self.m_src_ip.next = wide(h.src_ip);
        self.m_dst_ip.next = wide(h.dst_ip);
        self.m_src_port.next = u64::from(h.src_port).into();
        self.m_dst_port.next = u64::from(h.dst_port).into();
        self.m_seq.next = u64::from(h.seq).into();
        self.m_ack.next = u64::from(h.ack).into();
        self.m_tcp_flags.next = u64::from(h.tcp_flags).into();
        self.m_payload_start.next = u64::from(h.payload_start).into();
        self.m_payload_len.next = u64::from(h.payload_len).into();
        self.m_truncated.next = o.truncated;
        self.m_tcp_csum_ok.next = o.tcp_csum_ok;
        self.m_offload_ok.next = o.offload_ok;
    }

    fn connect(&mut self) {
        self.m_valid.connect();
        self.m_data.connect();
        self.m_len.connect();
        self.m_last.connect();
        self.m_sof.connect();
        self.m_payload.connect();
        self.m_vlan.connect();
        self.m_vlan_id.connect();
        self.m_ipv4.connect();
        self.m_ipv6.connect();
        self.m_is_tcp.connect();
        self.m_ip_fragment.connect();
        self.m_ip6_ext.connect();
        self.m_ip_csum_ok.connect();
        self.m_hdr_ok.connect();
        self.m_hdr_cut.connect();
        self.m_hdr_candidate.connect();
        self.m_src_ip.connect();
        self.m_dst_ip.connect();
        self.m_src_port.connect();
        self.m_dst_port.connect();
        self.m_seq.connect();
        self.m_ack.connect();
        self.m_tcp_flags.connect();
        self.m_payload_start.connect();
        self.m_payload_len.connect();
        self.m_truncated.connect();
        self.m_tcp_csum_ok.connect();
        self.m_offload_ok.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog::verilog_body(W, LANE_BITS))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "header_parser".into(),
            clock: "clock".into(),
            inputs: ["s_valid", "s_data", "s_len", "s_last"].map(String::from).to_vec(),
            outputs: ["m_valid", "m_data", "m_last", "m_sof", "m_payload", "m_offload_ok"].map(String::from).to_vec(),
        }]
    }
}
