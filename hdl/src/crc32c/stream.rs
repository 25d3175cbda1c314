//! `Crc32cStream`: CRC32C over a stream of W-byte beats, one beat per cycle, fixed latency.
//!
//! Each beat carries the digest bytes of one segment in lanes `start..=end` (the rest of the
//! beat is ignored), the segment's stream offset mod W for lane `start`, and an op: start a
//! segment, continue from the previous beat (same packet, or a back-to-back packet of the same
//! flow), or restore a register saved from `m_crc`/`m_hi` after an earlier packet. On the beat
//! that holds a segment's last byte, with its 4 digest bytes included, `m_digest_ok` says
//! whether the digest was right (residue check; the digest may sit at any lanes, even split
//! across packets). `m_crc` with `m_end_pos` gives the digest value through `digest_value`.
//!
//! Bad input is refused, never half-processed: start lane after end lane, op 3, or a
//! continuation whose stream offset does not follow the previous byte raises `m_error` and
//! leaves the register unchanged.
//!
//! Pipeline (W = 64): input registers; lane masking in the flip-flops' synchronous resets;
//! a 512 -> 32 XOR tree in two stages of two LUT levels; the phase shift in three stages of
//! block-RAM tables; the state loop (A, I or A^-1, at most 4 LUT levels); the residue compare.
//! Latency `6 + ceil(log2(W) / 2)` cycles (9 at W = 64), throughput one beat per cycle.
use super::gf2::beat_xor_sets;
use super::model::{BeatIn, BeatOut, CrcOp, Crc32cBeatModel, SavedCrc};
use super::verilog::{constant_function, matrix_product, ShiftStage};
use crate::bytes::lanes_from_bits;
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

/// `W` bytes per beat; `DATA_BITS = 8W`, `LANE_BITS = log2 W`, `POS_BITS = LANE_BITS + 1`
/// (Rust cannot derive them from `W` in a type yet; `new()` checks them).
#[derive(LogicBlock)]
pub struct Crc32cStream<const W: usize, const DATA_BITS: usize, const LANE_BITS: usize, const POS_BITS: usize> {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_data: Signal<In, Bits<DATA_BITS>>,
    /// First and last lane of this beat's segment bytes.
    pub s_start: Signal<In, Bits<LANE_BITS>>,
    pub s_end: Signal<In, Bits<LANE_BITS>>,
    /// Stream offset mod W of the byte in lane `s_start` (low bits of its TCP sequence number).
    pub s_stream_lane: Signal<In, Bits<LANE_BITS>>,
    /// 0 start, 1 continue, 2 restore (see `CrcOp`).
    pub s_op: Signal<In, Bits<2>>,
    pub s_restore_crc: Signal<In, Bits<32>>,
    pub s_restore_hi: Signal<In, Bit>,
    /// The segment's last byte is in this beat: check the digest.
    pub s_last: Signal<In, Bit>,
    pub m_valid: Signal<Out, Bit>,
    pub m_error: Signal<Out, Bit>,
    pub m_last: Signal<Out, Bit>,
    pub m_digest_ok: Signal<Out, Bit>,
    /// The register after the beat: save `{m_hi, m_crc}` to continue the segment later.
    pub m_crc: Signal<Out, Bits<32>>,
    pub m_hi: Signal<Out, Bit>,
    pub m_end_pos: Signal<Out, Bits<POS_BITS>>,
    _model: Crc32cBeatModel,
    _in_flight: VecDeque<(bool, BeatOut)>,
}

/// The receive path's unit: 64 bytes a cycle (100 GbE at 250 MHz).
pub type Crc32cStream64 = Crc32cStream<64, 512, 6, 7>;
/// A narrow instance for cheap exhaustive tests.
pub type Crc32cStream8 = Crc32cStream<8, 64, 3, 4>;

impl<const W: usize, const DATA_BITS: usize, const LANE_BITS: usize, const POS_BITS: usize>
    Crc32cStream<W, DATA_BITS, LANE_BITS, POS_BITS>
{
    pub fn new() -> Self {
        assert!(W.is_power_of_two() && W >= 8, "W must be a power of two, at least 8");
        assert_eq!(DATA_BITS, 8 * W);
        assert_eq!(1 << LANE_BITS, W);
        assert_eq!(POS_BITS, LANE_BITS + 1);
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_data: Default::default(),
            s_start: Default::default(),
            s_end: Default::default(),
            s_stream_lane: Default::default(),
            s_op: Default::default(),
            s_restore_crc: Default::default(),
            s_restore_hi: Default::default(),
            s_last: Default::default(),
            m_valid: Default::default(),
            m_error: Default::default(),
            m_last: Default::default(),
            m_digest_ok: Default::default(),
            m_crc: Default::default(),
            m_hi: Default::default(),
            m_end_pos: Signal::new_with_default(((W - 1) as u64).into()),
            _model: Crc32cBeatModel::new(W),
            _in_flight: VecDeque::from(vec![(false, BeatOut { end_pos: W - 1, ..Default::default() }); Self::LATENCY - 1]),
        }
    }

    /// Clock edges from a beat at the inputs to its result at the outputs.
    pub const LATENCY: usize = 6 + LANE_BITS.div_ceil(2);

    /// What the model makes of the inputs at this clock edge: (valid, result).
    fn process_inputs(&mut self) -> (bool, BeatOut) {
        if !self.s_valid.val() {
            return (false, self._model.idle());
        }
        let Some(op) = CrcOp::from_bits(self.s_op.val().to_u64()) else {
            return (true, self._model.refuse());
        };
        let beat = BeatIn {
            data: lanes_from_bits(self.s_data.val()),
            start: self.s_start.val().index(),
            end: self.s_end.val().index(),
            stream_lane: self.s_stream_lane.val().index(),
            op,
            restore: SavedCrc { crc: self.s_restore_crc.val().to_u32(), hi: self.s_restore_hi.val() },
            last: self.s_last.val(),
        };
        (true, self._model.beat(&beat))
    }
}

impl<const W: usize, const DATA_BITS: usize, const LANE_BITS: usize, const POS_BITS: usize> Default
    for Crc32cStream<W, DATA_BITS, LANE_BITS, POS_BITS>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize, const DATA_BITS: usize, const LANE_BITS: usize, const POS_BITS: usize> Logic
    for Crc32cStream<W, DATA_BITS, LANE_BITS, POS_BITS>
{
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        let result = self.process_inputs();
        self._in_flight.push_back(result);
        let (valid, out) = self._in_flight.pop_front().expect("pipeline is never empty");
        self.m_valid.next = valid;
        self.m_error.next = valid && out.error;
        self.m_last.next = valid && out.last;
        self.m_digest_ok.next = valid && out.digest_ok;
        self.m_crc.next = u64::from(out.state.crc).into();
        self.m_hi.next = out.state.hi;
        self.m_end_pos.next = (out.end_pos as u64).into();
    }

    fn connect(&mut self) {
        self.m_valid.connect();
        self.m_error.connect();
        self.m_last.connect();
        self.m_digest_ok.connect();
        self.m_crc.connect();
        self.m_hi.connect();
        self.m_end_pos.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(W, LANE_BITS))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "crc32c_stream".into(),
            clock: "clock".into(),
            inputs: ["s_valid", "s_data", "s_start", "s_end", "s_stream_lane", "s_op", "s_restore_crc", "s_restore_hi", "s_last"].map(String::from).to_vec(),
            outputs: ["m_valid", "m_error", "m_last", "m_digest_ok", "m_crc", "m_hi", "m_end_pos"].map(String::from).to_vec(),
        }]
    }
}

/// The Verilog body: the pipeline described in the header, for `w` bytes a beat.
fn verilog_body(w: usize, lane_bits: usize) -> String {
    let (lb, pb) = (lane_bits, lane_bits + 1);
    let tables = super::model::CrcTables::new(w);
    let stages = ShiftStage::plan(lb);
    let ns = stages.len();
    let mut v = String::new();
    // Sideband word carried from stage 2 to the loop: {rcrc, vend, move, restore, last, accept, valid}.
    let sb = 38 + pb;
    let _ = write!(
        v,
        "
{init_fn}
{residue_fn}
// Stage 1: inputs.
reg s1_valid = 1'b0, s1_last = 1'b0, s1_rhi = 1'b0;
reg [{db}:0] s1_data = {dbits}'d0;
reg [{l}:0] s1_start = {lb}'d0, s1_end = {lb}'d0, s1_lane = {lb}'d0;
reg [1:0] s1_op = 2'd0;
reg [31:0] s1_rcrc = 32'd0;
always @(posedge clock) begin
  s1_valid <= s_valid; s1_last <= s_last; s1_rhi <= s_restore_hi; s1_data <= s_data;
  s1_start <= s_start; s1_end <= s_end; s1_lane <= s_stream_lane; s1_op <= s_op; s1_rcrc <= s_restore_crc;
end
// Positions: virtual position = lane + phase; the phase ties lanes to the stream offset.
reg [{p}:0] track_end = {pb}'d{last_lane};
wire [{l}:0] phase1 = s1_lane - s1_start;
wire [{p}:0] vstart1 = {{1'b0, s1_start}} + {{1'b0, phase1}};
wire [{p}:0] vend1 = {{1'b0, s1_end}} + {{1'b0, phase1}};
wire [{l}:0] lane_before1 = s1_lane - {lb}'d1;
wire is_start1 = s1_op == 2'd0;
wire is_restore1 = s1_op == 2'd2;
wire [{p}:0] prev_end1 = is_restore1 ? {{s1_rhi, lane_before1}} : track_end;
wire [{pb}:0] gap1 = {{1'b0, prev_end1}} + {gapw}'d1 - {{1'b0, vstart1}};
wire fwd1 = gap1 == {{2'b01, {lb}'d0}};
wire same1 = gap1 == {gapw}'d0;
wire back1 = gap1 == {{2'b11, {lb}'d0}};
wire accept1 = s1_valid & (s1_op != 2'd3) & (s1_start <= s1_end) & (is_start1 | fwd1 | same1 | back1);
wire [1:0] move1 = is_start1 ? 2'd0 : fwd1 ? 2'd1 : same1 ? 2'd2 : 2'd3;
always @(posedge clock) if (accept1) track_end <= vend1;
// Stage 2: bytes outside start..end are zeroed by the flip-flops' synchronous reset.
reg [{db}:0] s2_data = {dbits}'d0;
reg [{sbm}:0] s2_sb = {sb}'d0;
reg [{p}:0] s2_vstart = {pb}'d0;
reg [{l}:0] s2_phase = {lb}'d0;
always @(posedge clock) begin
  s2_sb <= {{s1_rcrc, vend1, move1, is_restore1, s1_last, accept1, s1_valid}};
  s2_vstart <= vstart1; s2_phase <= phase1;
end
",
        init_fn = constant_function("init_at", pb, &tables.init_at),
        residue_fn = constant_function("residue_at", pb, &tables.residue_at),
        db = 8 * w - 1,
        dbits = 8 * w,
        l = lb - 1,
        p = pb - 1,
        last_lane = w - 1,
        gapw = pb + 1,
        sbm = sb - 1,
    );
    for lane in 0..w {
        let mut off = Vec::new();
        // `start > lane` cannot hold in the top lane, nor `end < lane` in lane 0.
        if lane < w - 1 {
            off.push(format!("(s1_start > {lb}'d{lane})"));
        }
        if lane > 0 {
            off.push(format!("(s1_end < {lb}'d{lane})"));
        }
        let (hi, lo) = (8 * lane + 7, 8 * lane);
        let _ = writeln!(v, "always @(posedge clock) if ({}) s2_data[{hi}:{lo}] <= 8'd0; else s2_data[{hi}:{lo}] <= s1_data[{hi}:{lo}];", off.join(" | "));
    }
    // Stage 3 and 4: the XOR tree, 36 inputs (two LUT levels) per group, then the groups.
    v.push_str("// Stages 3-4: data contribution from a zero register, in the physical frame.\nreg [31:0] s4_d = 32'd0;\n");
    for (row, inputs) in beat_xor_sets(w).iter().enumerate() {
        let groups: Vec<String> = inputs
            .chunks(36)
            .map(|g| format!("^{{{}}}", g.iter().map(|k| format!("s2_data[{k}]")).collect::<Vec<_>>().join(", ")))
            .collect();
        let n = groups.len();
        let _ = writeln!(v, "reg [{}:0] s3_row{row} = {n}'d0;", n - 1);
        let _ = writeln!(v, "always @(posedge clock) s3_row{row} <= {{{}}};", groups.iter().rev().cloned().collect::<Vec<_>>().join(", "));
        let _ = writeln!(v, "always @(posedge clock) s4_d[{row}] <= ^s3_row{row};");
    }
    // Sideband and phase pipelines alongside the tree and the shift stages.
    let _ = write!(
        v,
        "reg [{sbi}:0] s3_sb = {sbw}'d0, s4_sb = {sbw}'d0;
reg [{l}:0] s3_phase = {lb}'d0, s4_phase = {lb}'d0;
always @(posedge clock) begin
  s3_sb <= {{init_at(s2_vstart), s2_sb}}; s4_sb <= s3_sb;
  s3_phase <= s2_phase; s4_phase <= s3_phase;
end
",
        sbi = sb + 31,
        sbw = sb + 32,
        l = lb - 1,
    );
    // Phase shift: stage k uses the low digit of what remains of the phase.
    let mut x_in = "s4_d".to_string();
    let mut digits = "s4_phase".to_string();
    let mut remaining = lb;
    let mut sideband = "s4_sb".to_string();
    for (k, stage) in stages.iter().enumerate() {
        let prefix = format!("shift{k}");
        let digit = if remaining == stage.digit_bits { digits.clone() } else { format!("{digits}[{}:0]", stage.digit_bits - 1) };
        v.push_str(&stage.emit(&prefix, &x_in, &digit));
        let next_sb = format!("shift{k}_sb");
        let _ = writeln!(v, "reg [{}:0] {next_sb} = {}'d0;\nalways @(posedge clock) {next_sb} <= {sideband};", sb + 31, sb + 32);
        remaining -= stage.digit_bits;
        if remaining > 0 {
            let next_digits = format!("shift{k}_phase");
            let _ = writeln!(
                v,
                "reg [{r}:0] {next_digits} = {remaining}'d0;\nalways @(posedge clock) {next_digits} <= {digits}[{top}:{low}];",
                r = remaining - 1,
                top = remaining + stage.digit_bits - 1,
                low = stage.digit_bits
            );
            digits = next_digits;
        }
        x_in = format!("{prefix}_out");
        sideband = next_sb;
    }
    debug_assert_eq!(ns, stages.len());
    // The loop: y <= shifted data ^ carried register (init constant, A y, y or A^-1 y).
    let _ = write!(
        v,
        "// State loop.
wire l_valid = {sbr}[0];
wire l_accept = {sbr}[1];
wire l_last = {sbr}[2];
wire l_restore = {sbr}[3];
wire [1:0] l_move = {sbr}[5:4];
wire [{p}:0] l_vend = {sbr}[{vend_hi}:6];
wire [31:0] l_rcrc = {sbr}[{rcrc_hi}:{rcrc_lo}];
wire [31:0] l_init = {sbr}[{init_hi}:{init_lo}];
reg [31:0] y = 32'd0;
reg [{p}:0] y_end = {pb}'d{last_lane};
wire [31:0] base = l_restore ? l_rcrc : y;
reg [31:0] carried;
always @(*) begin
  case (l_move)
    2'd0: carried = l_init;
    2'd1: carried = {fwd};
    2'd2: carried = base;
    default: carried = {back};
  endcase
end
always @(posedge clock) if (l_accept) begin y <= {x_in} ^ carried; y_end <= l_vend; end
reg o_valid = 1'b0, o_accept = 1'b0, o_last = 1'b0;
always @(posedge clock) begin o_valid <= l_valid; o_accept <= l_accept; o_last <= l_last; end
// Outputs: the residue compare and the register to save.
initial begin
  m_valid = 1'b0; m_error = 1'b0; m_last = 1'b0; m_digest_ok = 1'b0;
  m_crc = 32'd0; m_hi = 1'b0; m_end_pos = {pb}'d{last_lane};
end
always @(posedge clock) begin
  m_valid <= o_valid;
  m_error <= o_valid & ~o_accept;
  m_last <= o_accept & o_last;
  m_digest_ok <= o_accept & o_last & (y == residue_at(y_end));
  m_crc <= y;
  m_hi <= y_end[{p}];
  m_end_pos <= y_end;
end
",
        sbr = sideband,
        p = pb - 1,
        vend_hi = 5 + pb,
        rcrc_lo = 6 + pb,
        rcrc_hi = 37 + pb,
        init_lo = sb,
        init_hi = sb + 31,
        last_lane = w - 1,
        fwd = matrix_product(&tables.beat, "base"),
        back = matrix_product(&tables.beat_inv, "base"),
    );
    v
}
