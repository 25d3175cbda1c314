//! `Crc32cStream`: CRC32C over a stream of W-byte beats, one beat per cycle, fixed latency.
//!
//! Each beat carries the digest bytes of one segment in lanes `start..=end` (the rest of the
//! beat is ignored), the segment's stream offset mod W for lane `start`, and an op: start a
//! segment, continue from the previous beat (same packet, or a back-to-back packet of the same
//! flow), resume the segment of the beat two cycles earlier (one beat of another flow in
//! between), or restore a register saved from `m_crc`/`m_hi` after an earlier packet. On the
//! beat that holds a segment's last byte, with its 4 digest bytes included, `m_digest_ok` says
//! whether the digest was right (residue check; the digest may sit at any lanes, even split
//! across packets). `m_crc` with `m_end_pos` gives the digest value through `digest_value`.
//!
//! Many interleaved flows: a flow's beat that follows its previous beat by 1 cycle continues,
//! by 2 resumes, by 3 or more restores. The restore CRC is read `RESTORE_LAG = LATENCY - 3`
//! cycles after its beat, where the beat reaches the state loop, so the previous beat's
//! `m_crc` is out in time even 3 cycles apart; `s_restore_hi` comes with the beat, for the
//! continuity check.
//!
//! Bad input is refused, never half-processed: start lane after end lane, or a continuation
//! (continue, resume or restore) whose stream offset does not follow the byte it continues
//! raises `m_error` and leaves the register unchanged.
//!
//! Pipeline (W = 64): input registers; lane masking in the flip-flops' synchronous resets;
//! slicing-by-64 (one 256 x 32 block-RAM table per lane, then a 64-way XOR); the phase shift
//! in three stages of block-RAM tables; the state loop (A, I or A^-1 applied to the register,
//! the register a cycle earlier, or the late restore CRC); the residue compare.
//! Latency `8 + ceil(log2(W) / 2)` cycles (11 at W = 64), throughput one beat per cycle.
use super::gf2::lane_table;
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
    /// 0 start, 1 continue, 2 restore, 3 resume (see `CrcOp`).
    pub s_op: Signal<In, Bits<2>>,
    /// A restore's saved `m_crc`, `RESTORE_LAG` cycles after the beat: for a beat sampled at
    /// clock edge t, the value sampled at edge t + RESTORE_LAG. Ignored on every other cycle.
    pub s_restore_crc: Signal<In, Bits<32>>,
    /// A restore's saved `m_hi`, with the beat. (Not out yet for a beat 3 cycles earlier: it is
    /// `end + (stream_lane - start) mod W >= W` of that beat.)
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
    /// Each edge's beat (None: no beat) until its restore CRC arrives, RESTORE_LAG edges on.
    _waiting: VecDeque<Option<BeatIn>>,
    /// Results on their way to the outputs for the rest of the latency.
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
            _waiting: VecDeque::from(vec![None; Self::RESTORE_LAG]),
            _in_flight: VecDeque::from(vec![(false, BeatOut { end_pos: W - 1, ..Default::default() }); Self::LATENCY - 1 - Self::RESTORE_LAG]),
        }
    }

    /// Clock edges from a beat at the inputs to its result at the outputs.
    pub const LATENCY: usize = 8 + LANE_BITS.div_ceil(2);

    /// Clock edges from a beat to its restore CRC on `s_restore_crc` (the loop's input stage).
    pub const RESTORE_LAG: usize = Self::LATENCY - 3;

    /// The beat at this clock edge, if any; its restore CRC comes later.
    fn sampled_beat(&self) -> Option<BeatIn> {
        self.s_valid.val().then(|| BeatIn {
            data: lanes_from_bits(self.s_data.val()),
            start: self.s_start.val().index(),
            end: self.s_end.val().index(),
            stream_lane: self.s_stream_lane.val().index(),
            op: CrcOp::from_bits(self.s_op.val().to_u64()),
            restore: SavedCrc { crc: 0, hi: self.s_restore_hi.val() },
            last: self.s_last.val(),
        })
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
        let beat = self.sampled_beat();
        self._waiting.push_back(beat);
        // The model steps every edge, beat or not, as the Verilog's loop history does.
        let result = match self._waiting.pop_front().expect("the wait is never empty") {
            Some(mut beat) => {
                beat.restore.crc = self.s_restore_crc.val().to_u32();
                (true, self._model.beat(&beat))
            }
            None => (false, self._model.idle()),
        };
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
    let mut v = String::new();
    // Sideband word from stage 3 to the loop: {init, vend, sel_back, sel_same, sel_fwd, resume,
    // restore, last, accept, valid}; selects are one-hot (none set: start a segment).
    let sb = 40 + pb;
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
always @(posedge clock) begin
  s1_valid <= s_valid; s1_last <= s_last; s1_rhi <= s_restore_hi; s1_data <= s_data;
  s1_start <= s_start; s1_end <= s_end; s1_lane <= s_stream_lane; s1_op <= s_op;
end
// Stage 2: virtual positions (lane + phase; the phase ties lanes to the stream offset), and
// where the previous byte must sit for this beat to continue it: one beat on (A), the same
// virtual beat (I) or one beat back (A^-1). Sums are {pb1} bits so that a negative
// `vstart - W` wraps beyond any real position.
wire [{l}:0] phase1 = s1_lane - s1_start;
wire [{p}:0] vstart1 = {{1'b0, s1_start}} + {{1'b0, phase1}};
wire [{p}:0] vend1 = {{1'b0, s1_end}} + {{1'b0, phase1}};
wire [{l}:0] lane_before1 = s1_lane - {lb}'d1;
wire [{pb}:0] restore_next1 = {{1'b0, s1_rhi, lane_before1}} + {pb1}'d1;
wire [{pb}:0] at_fwd1 = {{1'b0, vstart1}} + {pb1}'d{w};
wire [{pb}:0] at_same1 = {{1'b0, vstart1}};
wire [{pb}:0] at_back1 = {{1'b0, vstart1}} - {pb1}'d{w};
reg s2_valid = 1'b0, s2_last = 1'b0, s2_start_op = 1'b0, s2_restore = 1'b0, s2_resume = 1'b0, s2_ok = 1'b0;
reg s2_rfwd = 1'b0, s2_rsame = 1'b0, s2_rback = 1'b0;
reg [{pb}:0] s2_at_fwd = {pb1}'d0, s2_at_same = {pb1}'d0, s2_at_back = {pb1}'d0, s2_vend_next = {pb1}'d0;
reg [{p}:0] s2_vstart = {pb}'d0, s2_vend = {pb}'d0;
reg [{l}:0] s2_phase = {lb}'d0, s2_first = {lb}'d0, s2_last_lane = {lb}'d0;
reg [{db}:0] s2_data = {dbits}'d0;
always @(posedge clock) begin
  s2_valid <= s1_valid; s2_last <= s1_last; s2_start_op <= s1_op == 2'd0; s2_restore <= s1_op == 2'd2; s2_resume <= s1_op == 2'd3;
  s2_ok <= s1_start <= s1_end;
  s2_rfwd <= restore_next1 == at_fwd1; s2_rsame <= restore_next1 == at_same1; s2_rback <= restore_next1 == at_back1;
  s2_at_fwd <= at_fwd1; s2_at_same <= at_same1; s2_at_back <= at_back1;
  s2_vend_next <= {{1'b0, vend1}} + {pb1}'d1;
  s2_vstart <= vstart1; s2_vend <= vend1; s2_phase <= phase1;
  s2_first <= s1_start; s2_last_lane <= s1_end; s2_data <= s1_data;
end
// Stage 3: accept or refuse the beat. The only loop here is `track_next` (where the next
// continuing byte must sit) against three registered candidates, which differ by W, so at
// most one of fwd/same/back holds. A resume checks against `track_prev`, where it stood a
// cycle earlier.
reg [{pb}:0] track_next = {pb1}'d{w}, track_prev = {pb1}'d{w};
wire cfwd2 = track_next == s2_at_fwd;
wire csame2 = track_next == s2_at_same;
wire cback2 = track_next == s2_at_back;
wire pfwd2 = track_prev == s2_at_fwd;
wire psame2 = track_prev == s2_at_same;
wire pback2 = track_prev == s2_at_back;
wire fwd2 = s2_restore ? s2_rfwd : s2_resume ? pfwd2 : cfwd2;
wire same2 = s2_restore ? s2_rsame : s2_resume ? psame2 : csame2;
wire back2 = s2_restore ? s2_rback : s2_resume ? pback2 : cback2;
wire accept2 = s2_valid & s2_ok & (s2_start_op | fwd2 | same2 | back2);
always @(posedge clock) begin
  if (accept2) track_next <= s2_vend_next;
  track_prev <= track_next;
end
reg [{sbm}:0] s3_sb = {sb}'d0;
reg [{l}:0] s3_phase = {lb}'d0;
reg [{db}:0] s3_data = {dbits}'d0;
always @(posedge clock) begin
  s3_sb <= {{init_at(s2_vstart), s2_vend, ~s2_start_op & back2, ~s2_start_op & same2, ~s2_start_op & fwd2, s2_resume, s2_restore, s2_last, accept2, s2_valid}};
  s3_phase <= s2_phase;
end
",
        init_fn = constant_function("init_at", pb, &tables.init_at),
        residue_fn = constant_function("residue_at", pb, &tables.residue_at),
        db = 8 * w - 1,
        dbits = 8 * w,
        l = lb - 1,
        p = pb - 1,
        pb1 = pb + 1,
        sbm = sb - 1,
    );
    // Bytes outside first..last are zeroed by the flip-flops' synchronous reset.
    for lane in 0..w {
        let mut off = Vec::new();
        // `first > lane` cannot hold in the top lane, nor `last < lane` in lane 0.
        if lane < w - 1 {
            off.push(format!("(s2_first > {lb}'d{lane})"));
        }
        if lane > 0 {
            off.push(format!("(s2_last_lane < {lb}'d{lane})"));
        }
        let (hi, lo) = (8 * lane + 7, 8 * lane);
        let _ = writeln!(v, "always @(posedge clock) if ({}) s3_data[{hi}:{lo}] <= 8'd0; else s3_data[{hi}:{lo}] <= s2_data[{hi}:{lo}];", off.join(" | "));
    }
    // Stages 4-5: slicing-by-W. Each lane's byte addresses its own table in block RAM; the
    // beat's contribution (from a zero register, physical frame) is the XOR of all lanes.
    let mut lanes = Vec::new();
    for lane in 0..w {
        let rom = format!("lane{lane}_rom");
        let _ = writeln!(v, "(* rom_style = \"block\" *) reg [31:0] {rom} [0:255];\nreg [31:0] lane{lane}_q = 32'd0;\ninitial begin");
        for (i, word) in lane_table(w, lane).iter().enumerate() {
            let _ = writeln!(v, "  {rom}[{i}] = 32'h{word:08x};");
        }
        let _ = writeln!(v, "end\nalways @(posedge clock) lane{lane}_q <= {rom}[s3_data[{}:{}]];", 8 * lane + 7, 8 * lane);
        lanes.push(format!("lane{lane}_q"));
    }
    let _ = write!(
        v,
        "reg [31:0] s5_d = 32'd0;
always @(posedge clock) s5_d <= {};
reg [{sbm}:0] s4_sb = {sb}'d0, s5_sb = {sb}'d0;
reg [{l}:0] s4_phase = {lb}'d0, s5_phase = {lb}'d0;
always @(posedge clock) begin s4_sb <= s3_sb; s5_sb <= s4_sb; s4_phase <= s3_phase; s5_phase <= s4_phase; end
",
        lanes.join(" ^ "),
        sbm = sb - 1,
        l = lb - 1,
    );
    // Phase shift: stage k uses the low digit of what remains of the phase.
    let (mut x_in, mut digits, mut sideband, mut remaining) = ("s5_d".to_string(), "s5_phase".to_string(), "s5_sb".to_string(), lb);
    for (k, stage) in stages.iter().enumerate() {
        let prefix = format!("shift{k}");
        let digit = if remaining == stage.digit_bits { digits.clone() } else { format!("{digits}[{}:0]", stage.digit_bits - 1) };
        v.push_str(&stage.emit(&prefix, &x_in, &digit));
        let next_sb = format!("shift{k}_sb");
        let _ = writeln!(v, "reg [{}:0] {next_sb} = {sb}'d0;\nalways @(posedge clock) {next_sb} <= {sideband};", sb - 1);
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
    // The data contribution in the virtual frame, with the initial register of a new segment.
    let _ = write!(
        v,
        "// State loop: y <= contribution ^ (A b | b | A^-1 b), the base b the register, the register
// a cycle earlier (resume) or a restored one. The restore CRC joins here, RESTORE_LAG cycles
// after its beat.
wire {sbr}_start = ~|{sbr}[7:5];
reg [31:0] pre_d = 32'd0, pre_rcrc = 32'd0;
reg [{sbn}:0] pre_sb = {sbn1}'d0;
always @(posedge clock) begin
  pre_d <= {x_in} ^ ({sbr}_start ? {sbr}[{init_hi}:{init_lo}] : 32'd0);
  pre_sb <= {sbr}[{sbn}:0];
  pre_rcrc <= s_restore_crc;
end
wire l_valid = pre_sb[0];
wire l_accept = pre_sb[1];
wire l_last = pre_sb[2];
wire l_restore = pre_sb[3];
wire l_resume = pre_sb[4];
wire l_fwd = pre_sb[5];
wire l_same = pre_sb[6];
wire l_back = pre_sb[7];
wire [{p}:0] l_vend = pre_sb[{vend_hi}:8];
reg [31:0] y = 32'd0, y_prev = 32'd0;
reg [{p}:0] y_end = {pb}'d{last_lane};
wire [31:0] base = l_restore ? pre_rcrc : l_resume ? y_prev : y;
wire [31:0] base_fwd = {fwd};
wire [31:0] base_back = {back};
always @(posedge clock) begin
  if (l_accept) begin
    y <= pre_d ^ ({{32{{l_fwd}}}} & base_fwd) ^ ({{32{{l_same}}}} & base) ^ ({{32{{l_back}}}} & base_back);
    y_end <= l_vend;
  end
  y_prev <= y;
end
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
        sbn = sb - 33,
        sbn1 = sb - 32,
        init_lo = sb - 32,
        init_hi = sb - 1,
        p = pb - 1,
        vend_hi = 7 + pb,
        last_lane = w - 1,
        fwd = matrix_product(&tables.beat, "base"),
        back = matrix_product(&tables.beat_inv, "base"),
    );
    v
}
