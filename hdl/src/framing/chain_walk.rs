//! `PduChainWalk`: where the PDU headers of an in-sync byte stream start, beat by beat, at one
//! beat per cycle whatever the PDU sizes (up to three header starts in a 64-byte beat).
//!
//! Input per beat: the `PduLaneDecoder` verdicts (`ok[L]`, `plen[L]` for every lane). The only
//! state carried from beat to beat is `R`, the distance from the beat's lane 0 to the next
//! header start. Everything that does not depend on `R` is computed first, for every lane:
//! the hop `L + plen[L]` and the remainder after the last header of the chain that starts at
//! L (its "exit"). A PDU is at least 24 bytes, so a chain holds at most three headers in a
//! beat and its second header can only sit in lanes L+24.., its third in L+48..; the exit
//! muxes cover only those lanes. The loop is then one cycle:
//! `R' = R >= W ? R - W : exit[R]`. A chain that meets a lane whose header fails the rules
//! raises `m_lost` for the beat (reporting none of its headers) and stays lost until
//! `s_restart` loads a new distance (stream start, or a confirmed resync).
//!
//! Latency `LATENCY` = 9 cycles: hops, exits of chains from their second header, those
//! exits pre-selected in groups of eight lanes, exits of any chain, what a restart selects,
//! the loop, the second and third header positions, the output. Throughput one beat per cycle.
use rust_hdl::prelude::*;
use std::collections::VecDeque;
use std::fmt::Write;

/// A PDU is at least this long (24-byte header), so chained headers are this far apart.
pub const MIN_PDU: usize = 24;

#[derive(LogicBlock)]
pub struct PduChainWalk<const W: usize, const LANE_BITS: usize> {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_header_ok: Signal<In, Bits<W>>,
    /// plen of lane L in bits [32L+31:32L], as `PduLaneDecoder::m_plen`.
    pub s_plen: Signal<In, Bits<{ 32 * 64 }>>,
    /// Forget the carried state: the next header is `s_restart_dist` bytes from lane 0.
    pub s_restart: Signal<In, Bit>,
    pub s_restart_dist: Signal<In, Bits<32>>,
    pub m_valid: Signal<Out, Bit>,
    /// Lanes where a header of the stream starts in this beat.
    pub m_headers: Signal<Out, Bits<W>>,
    /// The walk met a header that fails the rules (or is lost since): framing is unknown.
    pub m_lost: Signal<Out, Bit>,
    /// Distance from the next beat's lane 0 to the next header start.
    pub m_next_dist: Signal<Out, Bits<32>>,
    _dist: u64,
    _lost: bool,
    _in_flight: VecDeque<Option<(u64, bool, u32)>>,
}

pub type PduChainWalk64 = PduChainWalk<64, 6>;

/// What the walk did with one beat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkStep {
    pub headers: Vec<usize>,
    pub lost: bool,
    pub next_dist: u64,
}

/// The walk over one beat from distance `dist`, hop by hop (the model and the reference).
pub fn walk_beat(w: usize, ok: &[bool], plen: &[u32], dist: u64, lost: bool) -> WalkStep {
    if lost {
        return WalkStep { headers: vec![], lost: true, next_dist: 0 };
    }
    let mut at = dist;
    let mut headers = Vec::new();
    while at < w as u64 {
        let lane = at as usize;
        if !ok[lane] {
            // The whole beat is given up: its earlier headers are not reported either.
            return WalkStep { headers: vec![], lost: true, next_dist: 0 };
        }
        headers.push(lane);
        at += u64::from(plen[lane]);
    }
    WalkStep { headers, lost: false, next_dist: at - w as u64 }
}

impl<const W: usize, const LANE_BITS: usize> PduChainWalk<W, LANE_BITS> {
    pub const LATENCY: usize = 9;

    pub fn new() -> Self {
        assert!(1 << LANE_BITS == W && W >= MIN_PDU && W <= 64);
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_header_ok: Default::default(),
            s_plen: Default::default(),
            s_restart: Default::default(),
            s_restart_dist: Default::default(),
            m_valid: Default::default(),
            m_headers: Default::default(),
            m_lost: Default::default(),
            m_next_dist: Default::default(),
            _dist: 0,
            _lost: false,
            _in_flight: VecDeque::from(vec![None; Self::LATENCY - 1]),
        }
    }
}

impl<const W: usize, const LANE_BITS: usize> Default for PduChainWalk<W, LANE_BITS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize, const LANE_BITS: usize> Logic for PduChainWalk<W, LANE_BITS> {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        let result = self.s_valid.val().then(|| {
            if self.s_restart.val() {
                self._dist = u64::from(self.s_restart_dist.val().to_u32());
                self._lost = false;
            }
            let ok: Vec<bool> = (0..W).map(|l| self.s_header_ok.val().get_bit(l)).collect();
            let plen: Vec<u32> = (0..W).map(|l| self.s_plen.val().get_bits::<32>(32 * l).to_u32()).collect();
            let step = walk_beat(W, &ok, &plen, self._dist, self._lost);
            // The distance register holds 32 bits, like the hardware's.
            (self._dist, self._lost) = (step.next_dist & 0xFFFF_FFFF, step.lost);
            (step.headers.iter().fold(0u64, |acc, &l| acc | 1 << l), step.lost, self._dist as u32)
        });
        self._in_flight.push_back(result);
        match self._in_flight.pop_front().expect("pipeline is never empty") {
            Some((headers, lost, next_dist)) => {
                self.m_valid.next = true;
                self.m_headers.next = (0..W).fold(Bits::default(), |acc, l| acc.replace_bit(l, headers >> l & 1 == 1));
                self.m_lost.next = lost;
                self.m_next_dist.next = u64::from(next_dist).into();
            }
            None => self.m_valid.next = false,
        }
    }

    fn connect(&mut self) {
        self.m_valid.connect();
        self.m_headers.connect();
        self.m_lost.connect();
        self.m_next_dist.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(W, LANE_BITS))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "pdu_chain_walk".into(),
            clock: "clock".into(),
            inputs: vec!["s_valid".into(), "s_header_ok".into(), "s_plen".into(), "s_restart".into(), "s_restart_dist".into()],
            outputs: vec!["m_valid".into(), "m_headers".into(), "m_lost".into(), "m_next_dist".into()],
        }]
    }
}

/// Registers `<to>_<name>` that take `<from>_<name>` every cycle, for each (name, width).
fn delayed(to: &str, from: &str, fields: &[(&str, usize)]) -> String {
    let mut v = String::new();
    for (name, width) in fields {
        let _ = writeln!(v, "reg [{}:0] {to}_{name} = {width}'d0;", width - 1);
    }
    v.push_str("always @(posedge clock) begin\n");
    for (name, _) in fields {
        let _ = writeln!(v, "  {to}_{name} <= {from}_{name};");
    }
    v.push_str("end\n");
    v
}

/// Verilog: see the module comment for the stages. Lane `L`'s values are `<name>[L]` arrays
/// flattened into vectors; the muxes over reachable lanes are written out as case lists.
fn verilog_body(w: usize, lb: usize) -> String {
    let mut v = String::new();
    let _ = write!(
        v,
        "
// Stage 1: per lane, the hop L + plen[L]: in the beat (ib, lane nl) or out (remainder rem).
reg s1_valid = 1'b0, s1_restart = 1'b0, s1_dist_far = 1'b0;
reg [31:0] s1_dist = 32'd0;
reg [{w1}:0] s1_ok = {w}'d0, s1_ib = {w}'d0, s1_rem_far = {w}'d0;
reg [{nl1}:0] s1_nl = {nlw}'d0;
reg [{rem1}:0] s1_rem = {remw}'d0;
always @(posedge clock) begin
  s1_valid <= s_valid; s1_restart <= s_restart; s1_dist <= s_restart_dist;
  s1_dist_far <= |s_restart_dist[31:{lb}];
end
",
        w1 = w - 1,
        nl1 = w * lb - 1,
        nlw = w * lb,
        rem1 = 32 * w - 1,
        remw = 32 * w,
        lb = lb,
    );
    for l in 0..w {
        let _ = write!(
            v,
            "// plen against the room left after lane {l}: one compare and one subtract of constants.
wire [31:0] plen{l} = s_plen[{hi}:{lo}];
wire [31:0] rem{l} = plen{l} - 32'd{room};
always @(posedge clock) begin
  s1_ok[{l}] <= s_header_ok[{l}];
  s1_ib[{l}] <= s_header_ok[{l}] && plen{l} < 32'd{room};
  s1_nl[{nh}:{nlo}] <= plen{l}[{lb1}:0] + {lb}'d{l};
  s1_rem[{hi}:{lo}] <= rem{l};
  s1_rem_far[{l}] <= plen{l} >= 32'd{room_far};
end
",
            room_far = 2 * w - l,
            room = w - l,
            hi = 32 * l + 31,
            lo = 32 * l,
            nh = lb * l + lb - 1,
            nlo = lb * l,
            lb1 = lb - 1,
        );
    }
    // Stage 2: for each lane k that can be a chain's second header (k >= MIN_PDU), the exit
    // of the chain from k: its own remainder, or that of the header after it (lanes k+24..).
    let carried = [("valid", 1), ("restart", 1), ("dist", 32), ("dist_far", 1), ("ok", w), ("ib", w), ("rem_far", w), ("nl", w * lb), ("rem", 32 * w)];
    v.push_str(&delayed("s2", "s1", &carried));
    let _ = write!(
        v,
        "// Only lanes from MIN_PDU on can hold a chain's second header.
reg [{w1}:{min}] s2_bad2 = {bad2w}'d0, s2_ex2_far = {bad2w}'d0;
reg [{rem1}:{exlo}] s2_ex2 = {ex2w}'d0;
",
        w1 = w - 1,
        rem1 = 32 * w - 1,
        min = MIN_PDU,
        bad2w = w - MIN_PDU,
        exlo = 32 * MIN_PDU,
        ex2w = 32 * (w - MIN_PDU),
    );
    let rem = |prefix: &str, l: usize| format!("{prefix}_rem[{}:{}]", 32 * l + 31, 32 * l);
    let nl = |prefix: &str, l: usize| format!("{prefix}_nl[{}:{}]", lb * l + lb - 1, lb * l);
    for k in MIN_PDU..w {
        let mut cases = String::new();
        for m in (k + MIN_PDU)..w {
            // A header that far along always leaves the beat: its remainder is the exit.
            let _ = writeln!(cases, "      {lb}'d{m}: begin s2_ex2[{hi}:{lo}] <= {r}; s2_ex2_far[{k}] <= s1_rem_far[{m}]; s2_bad2[{k}] <= !s1_ok[{m}]; end", hi = 32 * k + 31, lo = 32 * k, r = rem("s1", m));
        }
        let _ = write!(
            v,
            "always @(posedge clock) begin
  if (!s1_ok[{k}]) begin s2_ex2[{hi}:{lo}] <= 32'd0; s2_ex2_far[{k}] <= 1'b0; s2_bad2[{k}] <= 1'b1; end
  else if (!s1_ib[{k}]) begin s2_ex2[{hi}:{lo}] <= {own}; s2_ex2_far[{k}] <= s1_rem_far[{k}]; s2_bad2[{k}] <= 1'b0; end
  else case ({nlk})
{cases}      default: begin s2_ex2[{hi}:{lo}] <= 32'd0; s2_ex2_far[{k}] <= 1'b0; s2_bad2[{k}] <= 1'b1; end
    endcase
end
",
            hi = 32 * k + 31,
            lo = 32 * k,
            own = rem("s1", k),
            nlk = nl("s1", k),
        );
    }
    // Stage 3a: the exits of second headers, pre-selected in groups of eight lanes by the low
    // bits of each lane's hop (a wide mux in one stage is too deep).
    v.push_str(&delayed("s2b", "s2", &carried));
    let groups = |l: usize| ((l + MIN_PDU) / 8..w / 8).collect::<Vec<usize>>();
    for l in 0..w.saturating_sub(MIN_PDU) {
        for g in groups(l) {
            let mut cases = String::new();
            for k in (g * 8).max(l + MIN_PDU)..(g + 1) * 8 {
                let _ = writeln!(cases, "    3'd{}: s2b_x{l}_{g} <= {{s2_bad2[{k}], s2_ex2_far[{k}], s2_ex2[{}:{}]}};", k % 8, 32 * k + 31, 32 * k);
            }
            let _ = write!(
                v,
                "reg [33:0] s2b_x{l}_{g} = 34'd0;
always @(posedge clock)
  case (s2_nl[{lo3}:{lo}])
{cases}    default: s2b_x{l}_{g} <= {{1'b1, 33'd0}};
  endcase
",
                lo = lb * l,
                lo3 = lb * l + 2,
            );
        }
    }
    // Stage 3b: the exit of the chain from every lane L: its own remainder, or the exit from
    // its second header's group.
    v.push_str(&delayed("s3", "s2b", &[("valid", 1), ("restart", 1), ("dist", 32), ("dist_far", 1), ("ib", w), ("nl", w * lb)]));
    let _ = write!(
        v,
        "reg [{w1}:0] s3_bad = {w}'d0, s3_exit_far = {w}'d0;
reg [{rem1}:0] s3_exit = {remw}'d0;
",
        w1 = w - 1,
        rem1 = 32 * w - 1,
        remw = 32 * w,
    );
    for l in 0..w {
        let mut cases = String::new();
        if l + MIN_PDU < w {
            for g in groups(l) {
                let _ = writeln!(
                    cases,
                    "      {gb}'d{g}: begin s3_exit[{hi}:{lo}] <= s2b_x{l}_{g}[31:0]; s3_exit_far[{l}] <= s2b_x{l}_{g}[32]; s3_bad[{l}] <= s2b_x{l}_{g}[33]; end",
                    gb = lb - 3,
                    hi = 32 * l + 31,
                    lo = 32 * l,
                );
            }
        }
        let _ = write!(
            v,
            "always @(posedge clock) begin
  if (!s2b_ok[{l}]) begin s3_exit[{hi}:{lo}] <= 32'd0; s3_exit_far[{l}] <= 1'b0; s3_bad[{l}] <= 1'b1; end
  else if (!s2b_ib[{l}]) begin s3_exit[{hi}:{lo}] <= {own}; s3_exit_far[{l}] <= s2b_rem_far[{l}]; s3_bad[{l}] <= 1'b0; end
  else case (s2b_nl[{nhi}:{nlo3}])
{cases}      default: begin s3_exit[{hi}:{lo}] <= 32'd0; s3_exit_far[{l}] <= 1'b0; s3_bad[{l}] <= 1'b1; end
    endcase
end
",
            hi = 32 * l + 31,
            lo = 32 * l,
            own = rem("s2b", l),
            nhi = lb * l + lb - 1,
            nlo3 = lb * l + 3,
        );
    }
    // Stage 3c: what a restart would select, chosen before the loop so that the loop's wide
    // muxes are steered straight from its own register.
    v.push_str(&delayed("s3c", "s3", &[("valid", 1), ("restart", 1), ("dist_far", 1), ("ib", w), ("nl", w * lb), ("bad", w), ("exit_far", w), ("exit", 32 * w)]));
    let _ = write!(
        v,
        "reg [31:0] rs_exit = 32'd0, rs_far_next = 32'd0;
reg rs_exit_far = 1'b0, rs_far_far = 1'b0, rs_bad = 1'b0, rs_ib = 1'b0;
reg [{lb1}:0] rs_lane = {lb}'d0;
always @(posedge clock) begin
  rs_exit <= s3_exit[s3_dist[{lb1}:0] * 32 +: 32];
  rs_exit_far <= s3_exit_far[s3_dist[{lb1}:0]];
  rs_bad <= s3_bad[s3_dist[{lb1}:0]];
  rs_ib <= s3_ib[s3_dist[{lb1}:0]];
  rs_lane <= s3_dist[{lb1}:0];
  rs_far_next <= s3_dist - 32'd{w};
  rs_far_far <= |s3_dist[31:{lb1p}];
end
",
        lb1 = lb - 1,
        lb1p = lb + 1,
        w = w,
    );
    // Stage 4: the loop. R is the distance from this beat's lane 0 to the next header.
    let _ = write!(
        v,
        "reg [31:0] walk_dist = 32'd0;
reg walk_lost = 1'b0;
// Whether the next header is beyond this beat, kept as a flag beside the distance so the
// loop does not wait for a 26-input OR.
reg walk_far = 1'b0;
wire [{lb1}:0] walk_lane = walk_dist[{lb1}:0];
wire [31:0] walk_exit = s3c_exit[walk_lane * 32 +: 32];
wire walk_exit_far = s3c_exit_far[walk_lane];
wire walk_bad = s3c_bad[walk_lane];
wire walk_ib = s3c_ib[walk_lane];
reg s4_valid = 1'b0, s4_lost = 1'b0, s4_p0_valid = 1'b0, s4_p1_valid = 1'b0;
reg [{lb1}:0] s4_p0 = {lb}'d0;
reg [{w1}:0] s4_p0_onehot = {w}'d0, s4_ib = {w}'d0;
reg [{nl1}:0] s4_nl = {nlw}'d0;
always @(posedge clock) begin
  s4_valid <= s3c_valid; s4_ib <= s3c_ib; s4_nl <= s3c_nl;
  if (s3c_valid) begin
    // The distance is meaningless once lost, so it is not gated by it (a shorter path).
    if (s3c_restart) begin
      walk_dist <= s3c_dist_far ? rs_far_next : rs_exit;
      walk_far <= s3c_dist_far ? rs_far_far : rs_exit_far;
      walk_lost <= !s3c_dist_far && rs_bad;
      s4_lost <= !s3c_dist_far && rs_bad;
      s4_p0_valid <= !s3c_dist_far && !rs_bad;
      // Whether the first header has a successor in the beat, decided beside the loop so
      // the later stages need no wide bit mux.
      s4_p1_valid <= !s3c_dist_far && !rs_bad && rs_ib;
      s4_p0 <= rs_lane;
      s4_p0_onehot <= {w}'d1 << rs_lane;
    end else begin
      walk_dist <= walk_far ? walk_dist - 32'd{w} : walk_exit;
      walk_far <= walk_far ? |walk_dist[31:{lb1p}] : walk_exit_far;
      walk_lost <= walk_lost || (!walk_far && walk_bad);
      s4_lost <= walk_lost || (!walk_far && walk_bad);
      s4_p0_valid <= !walk_lost && !walk_far && !walk_bad;
      s4_p1_valid <= !walk_lost && !walk_far && !walk_bad && walk_ib;
      s4_p0 <= walk_lane;
      s4_p0_onehot <= {w}'d1 << walk_lane;
    end
  end
end
// Stages 5 and 6: the second and third header of the beat (one-hot selections: a binary
// index into a flattened vector costs a multiplier's carry chain), then the output.
reg s5_valid = 1'b0, s5_lost = 1'b0, s5_p0_valid = 1'b0, s5_p1_valid = 1'b0;
reg [{lb1}:0] s5_p0 = {lb}'d0, s5_p1 = {lb}'d0;
reg [{w1}:0] s5_ib = {w}'d0, s5_p1_onehot = {w}'d0;
reg [{nl1}:0] s5_nl = {nlw}'d0;
reg [31:0] s5_dist = 32'd0;
reg [{lb1}:0] p1_sel;
integer p1_lane;
always @* begin
  p1_sel = {lb}'d0;
  for (p1_lane = 0; p1_lane < {w}; p1_lane = p1_lane + 1)
    p1_sel = p1_sel | ({{{lb}{{s4_p0_onehot[p1_lane]}}}} & s4_nl[p1_lane * {lb} +: {lb}]);
end
always @(posedge clock) begin
  s5_valid <= s4_valid; s5_lost <= s4_lost; s5_p0_valid <= s4_p0_valid; s5_p0 <= s4_p0;
  s5_p1_valid <= s4_p1_valid;
  s5_p1 <= p1_sel;
  s5_p1_onehot <= {w}'d1 << p1_sel;
  s5_ib <= s4_ib; s5_nl <= s4_nl; s5_dist <= walk_dist;
end
reg [{lb1}:0] p2_sel;
integer p2_lane;
always @* begin
  p2_sel = {lb}'d0;
  for (p2_lane = 0; p2_lane < {w}; p2_lane = p2_lane + 1)
    p2_sel = p2_sel | ({{{lb}{{s5_p1_onehot[p2_lane]}}}} & s5_nl[p2_lane * {lb} +: {lb}]);
end
reg s6_valid = 1'b0, s6_lost = 1'b0, s6_p0_valid = 1'b0, s6_p1_valid = 1'b0, s6_p2_valid = 1'b0;
reg [{lb1}:0] s6_p0 = {lb}'d0, s6_p1 = {lb}'d0, s6_p2 = {lb}'d0;
reg [31:0] s6_dist = 32'd0;
always @(posedge clock) begin
  s6_valid <= s5_valid; s6_lost <= s5_lost; s6_p0_valid <= s5_p0_valid; s6_p0 <= s5_p0;
  s6_p1_valid <= s5_p1_valid; s6_p1 <= s5_p1;
  s6_p2_valid <= s5_p1_valid && |(s5_ib & s5_p1_onehot);
  s6_p2 <= p2_sel;
  s6_dist <= s5_dist;
end
initial begin m_valid = 1'b0; m_headers = {w}'d0; m_lost = 1'b0; m_next_dist = 32'd0; end
always @(posedge clock) begin
  m_valid <= s6_valid;
  if (s6_valid) begin
    m_headers <= ({{{w}{{s6_p0_valid}}}} & ({w}'d1 << s6_p0)) | ({{{w}{{s6_p1_valid}}}} & ({w}'d1 << s6_p1)) | ({{{w}{{s6_p2_valid}}}} & ({w}'d1 << s6_p2));
    m_lost <= s6_lost;
    m_next_dist <= s6_dist;
  end
end
",
        lb1 = lb - 1,
        lb1p = lb + 1,
        w1 = w - 1,
        nl1 = w * lb - 1,
        nlw = w * lb,
    );
    v
}
