//! `Crc32cDigest`: the digest value of a segment from `Crc32cStream`'s saved register.
//!
//! `Crc32cStream` keeps its register lazily (as if zeros ran to the end of the virtual beat),
//! which is all a receiver needs to check digests. A transmitter, or a header digest to
//! insert, needs the value itself: `!T^(-8(W-1-end_pos)) crc`. The shift by the low bits of
//! `W-1-end_pos` (that is, `!end_pos`) runs through the same block-RAM tables as the stream's
//! phase shift; a last byte in the upper virtual half adds one `A = T^(8W)`.
//! Latency `2 + ceil(log2(W) / 2)` cycles (5 at W = 64), one value per cycle.
use super::model::CrcTables;
use super::verilog::{matrix_product, ShiftStage};
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

#[derive(LogicBlock)]
pub struct Crc32cDigest<const W: usize, const LANE_BITS: usize, const POS_BITS: usize> {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    /// `m_crc` and `m_end_pos` of the stream beat that ended the segment.
    pub s_crc: Signal<In, Bits<32>>,
    pub s_end_pos: Signal<In, Bits<POS_BITS>>,
    pub m_valid: Signal<Out, Bit>,
    pub m_digest: Signal<Out, Bits<32>>,
    _tables: CrcTables,
    _in_flight: VecDeque<(bool, u32)>,
}

pub type Crc32cDigest64 = Crc32cDigest<64, 6, 7>;
pub type Crc32cDigest8 = Crc32cDigest<8, 3, 4>;

impl<const W: usize, const LANE_BITS: usize, const POS_BITS: usize> Crc32cDigest<W, LANE_BITS, POS_BITS> {
    /// Clock edges from inputs to `m_digest`.
    pub const LATENCY: usize = 2 + LANE_BITS.div_ceil(2);

    pub fn new() -> Self {
        assert_eq!(1 << LANE_BITS, W);
        assert_eq!(POS_BITS, LANE_BITS + 1);
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_crc: Default::default(),
            s_end_pos: Default::default(),
            m_valid: Default::default(),
            m_digest: Default::default(),
            _tables: CrcTables::new(W),
            _in_flight: VecDeque::from(vec![(false, 0); Self::LATENCY - 1]),
        }
    }
}

impl<const W: usize, const LANE_BITS: usize, const POS_BITS: usize> Default for Crc32cDigest<W, LANE_BITS, POS_BITS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize, const LANE_BITS: usize, const POS_BITS: usize> Logic for Crc32cDigest<W, LANE_BITS, POS_BITS> {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        let valid = self.s_valid.val();
        let end_pos = self.s_end_pos.val().index().min(2 * W - 2);
        let value = if valid { self._tables.digest_value(self.s_crc.val().to_u32(), end_pos) } else { 0 };
        self._in_flight.push_back((valid, value));
        let (valid, value) = self._in_flight.pop_front().expect("pipeline is never empty");
        self.m_valid.next = valid;
        // Like the Verilog, the value register only loads on valid inputs.
        if valid {
            self.m_digest.next = u64::from(value).into();
        }
    }

    fn connect(&mut self) {
        self.m_valid.connect();
        self.m_digest.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(W, LANE_BITS))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "crc32c_digest".into(),
            clock: "clock".into(),
            inputs: vec!["s_valid".into(), "s_crc".into(), "s_end_pos".into()],
            outputs: vec!["m_valid".into(), "m_digest".into()],
        }]
    }
}

fn verilog_body(w: usize, lane_bits: usize) -> String {
    let (lb, pb) = (lane_bits, lane_bits + 1);
    let tables = CrcTables::new(w);
    let mut v = String::new();
    let _ = write!(
        v,
        "
reg in_valid = 1'b0, in_hi = 1'b0;
reg [31:0] in_crc = 32'd0;
reg [{l}:0] in_shift = {lb}'d0;
always @(posedge clock) begin
  in_valid <= s_valid; in_crc <= s_crc; in_hi <= s_end_pos[{p}]; in_shift <= ~s_end_pos[{l}:0];
end
",
        l = lb - 1,
        p = pb - 1,
    );
    let (mut x_in, mut digits, mut valid, mut hi, mut remaining) = ("in_crc".to_string(), "in_shift".to_string(), "in_valid".to_string(), "in_hi".to_string(), lb);
    for (k, stage) in ShiftStage::plan(lb).iter().enumerate() {
        let prefix = format!("shift{k}");
        let digit = if remaining == stage.digit_bits { digits.clone() } else { format!("{digits}[{}:0]", stage.digit_bits - 1) };
        v.push_str(&stage.emit(&prefix, &x_in, &digit));
        let _ = writeln!(v, "reg {prefix}_valid = 1'b0, {prefix}_hi = 1'b0;\nalways @(posedge clock) begin {prefix}_valid <= {valid}; {prefix}_hi <= {hi}; end");
        remaining -= stage.digit_bits;
        if remaining > 0 {
            let next = format!("{prefix}_shift");
            let _ = writeln!(v, "reg [{}:0] {next} = {remaining}'d0;\nalways @(posedge clock) {next} <= {digits}[{}:{}];", remaining - 1, remaining + stage.digit_bits - 1, stage.digit_bits);
            digits = next;
        }
        (x_in, valid, hi) = (format!("{prefix}_out"), format!("{prefix}_valid"), format!("{prefix}_hi"));
    }
    let _ = write!(
        v,
        "wire [31:0] shifted = {x_in};
wire [31:0] shifted_fwd = {fwd};
initial begin m_valid = 1'b0; m_digest = 32'd0; end
always @(posedge clock) begin
  m_valid <= {valid};
  if ({valid}) m_digest <= ~({hi} ? shifted_fwd : shifted);
end
",
        fwd = matrix_product(&tables.beat, "shifted"),
    );
    v
}
