//! `PduChainWalk`: where the PDU headers of the in-sync flows start, beat by beat, at one beat
//! per cycle whatever the PDU sizes (up to three header starts in a 64-byte beat), across the
//! packets of many interleaved flows.
//!
//! Input per beat: the `PduLaneDecoder` verdicts (`ok[L]`, `plen[L]` for every lane) of a
//! packet's tracker stream (framing/README.md: the flow's 23 previous bytes, then the payload,
//! from lane 0), its flow id, whether it is the stream's first beat, and `s_stop`: lanes from
//! `s_stop` on are not walked (the stream's last 23 bytes, where a header would run past the
//! packet; it is walked whole in the next packet's stream, which replays those bytes).
//!
//! The only state is, per flow, `R`, the distance from the beat's lane 0 to the next header
//! start, and a lost bit. Everything that does not depend on `R` is computed first, for every
//! lane: the hop `L + plen[L]` and the remainder after the last header of the chain that
//! starts at L (its "exit", relative to `s_stop`). A PDU is at least 24 bytes, so a chain holds
//! at most three headers in a beat; its second header can only sit in lanes L+24.., its third
//! in L+48..; the exit muxes cover only those lanes. The loop is then one cycle:
//! `R' = R >= W ? R - stop : exit[R]`. After a stream's last walked beat `R'` counts from the
//! next stream's lane 0 (`stop` is 23 bytes before the end).
//!
//! Per-flow state lives in a RAM indexed by flow id, read when a beat enters and written after
//! the loop; a stream's first beat takes its flow's latest `R` from the loop register (the
//! flow's previous beat was the cycle before), from the loop register's last four values, or
//! from the RAM. Which one is decided from the flow ids alone when the beat enters, so no flow
//! compare sits in front of the loop. On a first beat `s_restart` loads a new distance (flow
//! added, resync confirmed) and `s_lose` marks the flow lost (a gap). A chain that meets a
//! header that fails the rules raises `m_lost` for the beat (reporting none of its headers)
//! and the flow stays lost until a restart. A flow never restarted is lost.
//!
//! Latency `LATENCY` = 11 cycles: hops, exits of chains from their second header, those exits
//! pre-selected in groups of eight lanes, exits of any chain, the flow's distance, what a
//! first beat selects, the loop, the second header, its one-hot, the third, the output.
//! Throughput one beat per cycle.
use rust_hdl::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

/// A PDU is at least this long (24-byte header), so chained headers are this far apart.
pub const MIN_PDU: usize = 24;
/// A stream's last bytes that are not walked: a header starting there would be cut.
pub const TAIL: usize = MIN_PDU - 1;
/// Beats between a beat's entry and its `R` in the flow RAM: younger ones are forwarded.
const FORWARDED: usize = 7;

#[derive(LogicBlock)]
pub struct PduChainWalk<const W: usize, const LANE_BITS: usize, const FLOW_BITS: usize> {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_header_ok: Signal<In, Bits<W>>,
    /// plen of lane L in bits [32L+31:32L], as `PduLaneDecoder::m_plen`.
    pub s_plen: Signal<In, Bits<{ 32 * 64 }>>,
    pub s_flow: Signal<In, Bits<FLOW_BITS>>,
    /// First beat of a packet's stream.
    pub s_first: Signal<In, Bit>,
    /// Lanes `s_stop..` are not walked (0..=W).
    pub s_stop: Signal<In, Bits<7>>,
    /// On a first beat: forget the flow's state, the next header is `s_restart_dist` bytes
    /// from lane 0.
    pub s_restart: Signal<In, Bit>,
    pub s_restart_dist: Signal<In, Bits<32>>,
    /// On a first beat (without restart): the flow is lost from here.
    pub s_lose: Signal<In, Bit>,
    pub m_valid: Signal<Out, Bit>,
    /// Lanes where a header of the stream starts in this beat.
    pub m_headers: Signal<Out, Bits<W>>,
    /// The walk met a header that fails the rules (or is lost since): framing is unknown.
    pub m_lost: Signal<Out, Bit>,
    /// Distance from the next beat's lane 0 (the next stream's, after a stream's last walked
    /// beat) to the next header start.
    pub m_next_dist: Signal<Out, Bits<32>>,
    /// Distance from this beat's lane 0 to the next header start, before the walk (the end
    /// of the PDU the beat starts in).
    pub m_dist: Signal<Out, Bits<32>>,
    /// The flow was lost before this beat was walked (restart and lose applied).
    pub m_lost_in: Signal<Out, Bit>,
    /// The beat's headers in lane order: header k at lane `m_hdr_lane[6k+5:6k]` when
    /// `m_hdr_valid[k]` (the same lanes as `m_headers`).
    pub m_hdr_lane: Signal<Out, Bits<18>>,
    pub m_hdr_valid: Signal<Out, Bits<3>>,
    _flows: HashMap<u64, (u64, bool)>,
    _in_flight: VecDeque<Option<WalkOut>>,
}

/// A beat's walk as the block presents it.
#[derive(Clone, Debug)]
struct WalkOut {
    dist: u32,
    lost_in: bool,
    headers: Vec<usize>,
    lost: bool,
    next_dist: u32,
}

pub type PduChainWalk64 = PduChainWalk<64, 6, 12>;

/// What the walk did with one beat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkStep {
    pub headers: Vec<usize>,
    pub lost: bool,
    pub next_dist: u64,
}

/// The walk over one beat from distance `dist`, hop by hop, where lanes `stop..` are not
/// walked (the model and the reference).
pub fn walk_beat(ok: &[bool], plen: &[u32], dist: u64, lost: bool, stop: usize) -> WalkStep {
    if lost {
        return WalkStep { headers: vec![], lost: true, next_dist: 0 };
    }
    let mut at = dist;
    let mut headers = Vec::new();
    while at < stop as u64 {
        let lane = at as usize;
        if !ok[lane] {
            // The whole beat is given up: its earlier headers are not reported either.
            return WalkStep { headers: vec![], lost: true, next_dist: 0 };
        }
        headers.push(lane);
        at += u64::from(plen[lane]);
    }
    WalkStep { headers, lost: false, next_dist: at - stop as u64 }
}

impl<const W: usize, const LANE_BITS: usize, const FLOW_BITS: usize> PduChainWalk<W, LANE_BITS, FLOW_BITS> {
    pub const LATENCY: usize = 11;

    pub fn new() -> Self {
        assert!(1 << LANE_BITS == W && W >= MIN_PDU && W <= 64);
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_header_ok: Default::default(),
            s_plen: Default::default(),
            s_flow: Default::default(),
            s_first: Default::default(),
            s_stop: Default::default(),
            s_restart: Default::default(),
            s_restart_dist: Default::default(),
            s_lose: Default::default(),
            m_valid: Default::default(),
            m_headers: Default::default(),
            m_lost: Default::default(),
            m_next_dist: Default::default(),
            m_dist: Default::default(),
            m_lost_in: Default::default(),
            m_hdr_lane: Default::default(),
            m_hdr_valid: Default::default(),
            _flows: HashMap::new(),
            _in_flight: VecDeque::from(vec![None; Self::LATENCY - 1]),
        }
    }
}

impl<const W: usize, const LANE_BITS: usize, const FLOW_BITS: usize> Default for PduChainWalk<W, LANE_BITS, FLOW_BITS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const W: usize, const LANE_BITS: usize, const FLOW_BITS: usize> Logic for PduChainWalk<W, LANE_BITS, FLOW_BITS> {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        let result = self.s_valid.val().then(|| {
            let flow = self.s_flow.val().to_u64();
            let state = self._flows.entry(flow).or_insert((0, true));
            if self.s_first.val() && self.s_restart.val() {
                *state = (u64::from(self.s_restart_dist.val().to_u32()), false);
            } else if self.s_first.val() && self.s_lose.val() {
                state.1 = true;
            }
            let ok: Vec<bool> = (0..W).map(|l| self.s_header_ok.val().get_bit(l)).collect();
            let plen: Vec<u32> = (0..W).map(|l| self.s_plen.val().get_bits::<32>(32 * l).to_u32()).collect();
            let stop = (self.s_stop.val().to_u64() as usize).min(W);
            let (dist, lost_in) = *state;
            let step = walk_beat(&ok, &plen, dist, lost_in, stop);
            // The distance register holds 32 bits, like the hardware's.
            *state = (step.next_dist & 0xFFFF_FFFF, step.lost);
            WalkOut { dist: dist as u32, lost_in, headers: step.headers, lost: step.lost, next_dist: state.0 as u32 }
        });
        self._in_flight.push_back(result);
        match self._in_flight.pop_front().expect("pipeline is never empty") {
            Some(out) => {
                self.m_valid.next = true;
                self.m_headers.next = out.headers.iter().fold(Bits::default(), |acc, &l| acc.replace_bit(l, true));
                self.m_lost.next = out.lost;
                self.m_next_dist.next = u64::from(out.next_dist).into();
                self.m_dist.next = u64::from(out.dist).into();
                self.m_lost_in.next = out.lost_in;
                let lanes = out.headers.iter().enumerate().fold(0u64, |acc, (k, &l)| acc | (l as u64) << (6 * k));
                self.m_hdr_lane.next = lanes.into();
                self.m_hdr_valid.next = ((1u64 << out.headers.len()) - 1).into();
            }
            None => self.m_valid.next = false,
        }
    }

    fn connect(&mut self) {
        self.m_valid.connect();
        self.m_headers.connect();
        self.m_lost.connect();
        self.m_next_dist.connect();
        self.m_dist.connect();
        self.m_lost_in.connect();
        self.m_hdr_lane.connect();
        self.m_hdr_valid.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(W, LANE_BITS, FLOW_BITS))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "pdu_chain_walk".into(),
            clock: "clock".into(),
            inputs: ["s_valid", "s_header_ok", "s_plen", "s_flow", "s_first", "s_stop", "s_restart", "s_restart_dist", "s_lose"].map(String::from).to_vec(),
            outputs: ["m_valid", "m_headers", "m_lost", "m_next_dist", "m_dist", "m_lost_in", "m_hdr_lane", "m_hdr_valid"].map(String::from).to_vec(),
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
fn verilog_body(w: usize, lb: usize, fb: usize) -> String {
    let mut v = String::new();
    let flows = 1usize << fb;
    // Entry: the flow's R from the RAM, and which younger beat of the same flow (1..=7 cycles
    // ahead) holds its latest R instead, decided from flow ids alone.
    let _ = write!(
        v,
        "// Stage 1, on entry: the flow RAM read, the flow matches, and per lane the hop.
reg [32:0] flow_ram [0:{flows1}];
integer init_flow;
initial for (init_flow = 0; init_flow < {flows}; init_flow = init_flow + 1) flow_ram[init_flow] = {{1'b1, 32'd0}};
reg [{fb1}:0] prev_flow [1:{fw}];
reg [{fw}:1] prev_valid = {fw}'d0;
integer age;
always @(posedge clock) begin
  prev_flow[1] <= s_flow; prev_valid[1] <= s_valid;
  for (age = 2; age <= {fw}; age = age + 1) begin prev_flow[age] <= prev_flow[age - 1]; prev_valid[age] <= prev_valid[age - 1]; end
end
reg [{fw}:1] same_flow;
integer m;
always @* for (m = 1; m <= {fw}; m = m + 1) same_flow[m] = prev_valid[m] && prev_flow[m] == s_flow;
// The matches are registered first; the youngest from 3 cycles ahead on (3..7, or 0 for the
// RAM) is chosen after the register.
reg [{fw}:1] s1_same = {fw}'d0;
always @(posedge clock) s1_same <= same_flow;
reg [2:0] s1_src;
integer k;
always @* begin
  s1_src = 3'd0;
  for (k = {fw}; k >= 3; k = k - 1) if (s1_same[k]) s1_src = k[2:0];
end
wire s1_m1 = s1_same[1], s1_m2 = s1_same[2];
reg s1_valid = 1'b0, s1_first = 1'b0, s1_restart = 1'b0, s1_lose = 1'b0;
reg [31:0] s1_dist = 32'd0;
reg [32:0] s1_ram = 33'd0;
reg [{fb1}:0] s1_flow = {fb}'d0;
reg [6:0] s1_stop = 7'd0;
reg [7:0] s1_stop64 = 8'd0;
reg [{w1}:0] s1_ok = {w}'d0, s1_ib = {w}'d0, s1_rem_far = {w}'d0;
reg [{nl1}:0] s1_nl = {nlw}'d0;
reg [{rem1}:0] s1_rem = {remw}'d0;
always @(posedge clock) begin
  s1_valid <= s_valid; s1_first <= s_first; s1_restart <= s_first && s_restart;
  s1_lose <= s_first && !s_restart && s_lose; s1_dist <= s_restart_dist;
  s1_ram <= flow_ram[s_flow]; s1_flow <= s_flow;
  s1_stop <= s_stop; s1_stop64 <= {{1'b0, s_stop}} + 8'd64;
end
",
        flows1 = flows - 1,
        fb1 = fb - 1,
        fw = FORWARDED,
        w1 = w - 1,
        nl1 = w * lb - 1,
        nlw = w * lb,
        rem1 = 32 * w - 1,
        remw = 32 * w,
    );
    for l in 0..w {
        let _ = write!(
            v,
            "// Lane {l}: past the stop its exit is its own distance from the stop; before it, plen
// against the room left to the stop.
wire [31:0] plen{l} = s_plen[{hi}:{lo}];
wire stop{l} = s_stop <= 7'd{l};
wire [31:0] room{l} = {{25'd0, s_stop - 7'd{l}}};
always @(posedge clock) begin
  s1_ok[{l}] <= stop{l} || s_header_ok[{l}];
  s1_ib[{l}] <= !stop{l} && s_header_ok[{l}] && plen{l} < room{l};
  s1_nl[{nh}:{nlo}] <= plen{l}[{lb1}:0] + {lb}'d{l};
  s1_rem[{hi}:{lo}] <= stop{l} ? {{25'd0, 7'd{l} - s_stop}} : plen{l} - room{l};
  s1_rem_far[{l}] <= !stop{l} && plen{l} >= room{l} + 32'd{w};
end
",
            hi = 32 * l + 31,
            lo = 32 * l,
            nh = lb * l + lb - 1,
            nlo = lb * l,
            lb1 = lb - 1,
        );
    }
    // Stage 2: for each lane k that can be a chain's second header (k >= MIN_PDU), the exit
    // of the chain from k: its own remainder, or that of the header after it (lanes k+24..).
    let flow_fields: [(&str, usize); 11] = [("valid", 1), ("first", 1), ("restart", 1), ("lose", 1), ("m1", 1), ("m2", 1), ("src", 3), ("dist", 32), ("ram", 33), ("flow", fb), ("stop", 7)];
    let with = |extra: &[(&'static str, usize)]| -> Vec<(&'static str, usize)> { flow_fields.iter().copied().chain([("stop64", 8)]).chain(extra.iter().copied()).collect() };
    let carried = with(&[("ok", w), ("ib", w), ("rem_far", w), ("nl", w * lb), ("rem", 32 * w)]);
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
            // A header that far along always leaves the beat (or is a stop): its remainder is
            // the exit.
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
    let walked = with(&[("ib", w), ("nl", w * lb)]);
    v.push_str(&delayed("s3", "s2b", &walked));
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
    // Stage 4a: a first beat's distance and lost bit: restart, lose, or the flow's latest state
    // from 3..7 cycles ahead (the loop register and its history) or the RAM.
    let exits: [(&str, usize); 5] = [("ib", w), ("nl", w * lb), ("bad", w), ("exit_far", w), ("exit", 32 * w)];
    let looped: Vec<(&str, usize)> = [("valid", 1), ("flow", fb), ("stop", 7), ("stop64", 8)].into_iter().chain(exits).collect();
    let first_beat: Vec<(&str, usize)> = [("first", 1), ("restart", 1), ("lose", 1), ("m1", 1)].into_iter().chain(looped.iter().copied()).collect();
    v.push_str(&delayed("s4a", "s3", &first_beat));
    let _ = write!(
        v,
        "reg [31:0] walk_dist = 32'd0, walk_dist2 = 32'd0, walk_dist3 = 32'd0, walk_dist4 = 32'd0, walk_dist5 = 32'd0;
reg walk_lost = 1'b1, walk_lost2 = 1'b1, walk_lost3 = 1'b1, walk_lost4 = 1'b1, walk_lost5 = 1'b1;
always @(posedge clock) begin
  walk_dist2 <= walk_dist; walk_dist3 <= walk_dist2; walk_dist4 <= walk_dist3; walk_dist5 <= walk_dist4;
  walk_lost2 <= walk_lost; walk_lost3 <= walk_lost2; walk_lost4 <= walk_lost3; walk_lost5 <= walk_lost4;
end
reg [31:0] s4a_start = 32'd0;
reg s4a_start_lost = 1'b1, s4a_take2 = 1'b0;
always @(posedge clock) begin
  s4a_take2 <= s3_m2 && !s3_restart && !s3_lose;
  if (s3_restart) begin s4a_start <= s3_dist; s4a_start_lost <= 1'b0; end
  else begin
    case (s3_src)
      3'd3: begin s4a_start <= walk_dist; s4a_start_lost <= walk_lost; end
      3'd4: begin s4a_start <= walk_dist2; s4a_start_lost <= walk_lost2; end
      3'd5: begin s4a_start <= walk_dist3; s4a_start_lost <= walk_lost3; end
      3'd6: begin s4a_start <= walk_dist4; s4a_start_lost <= walk_lost4; end
      3'd7: begin s4a_start <= walk_dist5; s4a_start_lost <= walk_lost5; end
      default: begin s4a_start <= s3_ram[31:0]; s4a_start_lost <= s3_ram[32]; end
    endcase
    if (s3_lose) s4a_start_lost <= 1'b1;
  end
end
",
    );
    // Stage 4b: what a first beat selects, chosen before the loop so that the loop's wide
    // muxes are steered straight from its own register. The flow's beat 2 cycles ahead has
    // just left the loop.
    v.push_str(&delayed("s4b", "s4a", &looped));
    let _ = write!(
        v,
        "wire [31:0] start = s4a_take2 ? walk_dist : s4a_start;
wire start_lost = s4a_take2 ? walk_lost : s4a_start_lost;
reg [31:0] rs_exit = 32'd0, rs_far_next = 32'd0, rs_start = 32'd0;
reg rs_exit_far = 1'b0, rs_far = 1'b0, rs_far_far = 1'b0, rs_bad = 1'b0, rs_ib = 1'b0, rs_lost = 1'b1;
reg [{lb1}:0] rs_lane = {lb}'d0;
reg s4b_fresh = 1'b0;
always @(posedge clock) begin
  rs_exit <= s4a_exit[start[{lb1}:0] * 32 +: 32];
  rs_exit_far <= s4a_exit_far[start[{lb1}:0]];
  rs_bad <= s4a_bad[start[{lb1}:0]];
  rs_ib <= s4a_ib[start[{lb1}:0]];
  rs_lane <= start[{lb1}:0];
  rs_far <= |start[31:{lb}];
  rs_far_next <= start - {{25'd0, s4a_stop}};
  rs_far_far <= start >= {{24'd0, s4a_stop64}};
  rs_lost <= start_lost;
  rs_start <= start;
  // A first beat starts from the loop register only when the flow's previous beat is the
  // one just ahead and nothing is loaded.
  s4b_fresh <= s4a_first && (s4a_restart || s4a_lose || !s4a_m1);
end
",
        lb1 = lb - 1,
        lb = lb,
    );
    // Stage 5: the loop. R is the distance from this beat's lane 0 to the next header.
    let _ = write!(
        v,
        "// Whether the next header is beyond this beat, kept as a flag beside the distance so the
// loop does not wait for a 26-input OR.
reg walk_far = 1'b0;
wire [{lb1}:0] walk_lane = walk_dist[{lb1}:0];
wire [31:0] walk_exit = s4b_exit[walk_lane * 32 +: 32];
wire walk_exit_far = s4b_exit_far[walk_lane];
wire walk_bad = s4b_bad[walk_lane];
wire walk_ib = s4b_ib[walk_lane];
reg s5_valid = 1'b0, s5_lost = 1'b0, s5_p0_valid = 1'b0, s5_p1_valid = 1'b0, s5_lost_in = 1'b0;
reg [31:0] s5_dist_in = 32'd0;
reg [{lb1}:0] s5_p0 = {lb}'d0;
reg [{w1}:0] s5_p0_onehot = {w}'d0, s5_ib = {w}'d0;
reg [{nl1}:0] s5_nl = {nlw}'d0;
reg [6:0] s5_stop = 7'd0;
always @(posedge clock) begin
  s5_valid <= s4b_valid; s5_ib <= s4b_ib; s5_nl <= s4b_nl; s5_stop <= s4b_stop;
  if (s4b_valid) begin
    // The distance is meaningless once lost, so it is not gated by it (a shorter path).
    s5_dist_in <= s4b_fresh ? rs_start : walk_dist;
    s5_lost_in <= s4b_fresh ? rs_lost : walk_lost;
    if (s4b_fresh) begin
      walk_dist <= rs_far ? rs_far_next : rs_exit;
      walk_far <= rs_far ? rs_far_far : rs_exit_far;
      walk_lost <= rs_lost || (!rs_far && rs_bad);
      s5_lost <= rs_lost || (!rs_far && rs_bad);
      s5_p0_valid <= !rs_lost && !rs_far && !rs_bad;
      // Whether the first header has a successor in the beat, decided beside the loop so
      // the later stages need no wide bit mux.
      s5_p1_valid <= !rs_lost && !rs_far && !rs_bad && rs_ib;
      s5_p0 <= rs_lane;
      s5_p0_onehot <= {w}'d1 << rs_lane;
    end else begin
      walk_dist <= walk_far ? walk_dist - {{25'd0, s4b_stop}} : walk_exit;
      walk_far <= walk_far ? walk_dist >= {{24'd0, s4b_stop64}} : walk_exit_far;
      walk_lost <= walk_lost || (!walk_far && walk_bad);
      s5_lost <= walk_lost || (!walk_far && walk_bad);
      s5_p0_valid <= !walk_lost && !walk_far && !walk_bad;
      s5_p1_valid <= !walk_lost && !walk_far && !walk_bad && walk_ib;
      s5_p0 <= walk_lane;
      s5_p0_onehot <= {w}'d1 << walk_lane;
    end
  end
end
// The flow's state after its beat, a cycle after the loop (younger beats are forwarded).
reg ram_write = 1'b0;
reg [{fb1}:0] ram_flow = {fb}'d0;
always @(posedge clock) begin
  ram_write <= s4b_valid; ram_flow <= s4b_flow;
  if (ram_write) flow_ram[ram_flow] <= {{walk_lost, walk_dist}};
end
// Stages 6 and 7: the second and third header of the beat (one-hot selections: a binary
// index into a flattened vector costs a multiplier's carry chain), then the output.
reg s6_valid = 1'b0, s6_lost = 1'b0, s6_p0_valid = 1'b0, s6_p1_valid = 1'b0;
reg [{lb1}:0] s6_p0 = {lb}'d0, s6_p1 = {lb}'d0;
reg [{w1}:0] s6_ib = {w}'d0, s6_walked = {w}'d0;
reg [{nl1}:0] s6_nl = {nlw}'d0;
reg [31:0] s6_dist = 32'd0, s6_dist_in = 32'd0;
reg s6_lost_in = 1'b0;
reg [6:0] s6_stop = 7'd0;
reg [{lb1}:0] p1_sel;
integer p1_lane;
always @* begin
  p1_sel = {lb}'d0;
  for (p1_lane = 0; p1_lane < {w}; p1_lane = p1_lane + 1)
    p1_sel = p1_sel | ({{{lb}{{s5_p0_onehot[p1_lane]}}}} & s5_nl[p1_lane * {lb} +: {lb}]);
end
integer walked_lane;
always @(posedge clock) begin
  s6_valid <= s5_valid; s6_lost <= s5_lost; s6_p0_valid <= s5_p0_valid; s6_p0 <= s5_p0;
  s6_p1_valid <= s5_p1_valid;
  s6_p1 <= p1_sel;
  s6_ib <= s5_ib; s6_nl <= s5_nl; s6_dist <= walk_dist;
  s6_dist_in <= s5_dist_in; s6_lost_in <= s5_lost_in; s6_stop <= s5_stop;
  // A chain may end on a lane past the stop; that lane is not a header.
  for (walked_lane = 0; walked_lane < {w}; walked_lane = walked_lane + 1) s6_walked[walked_lane] <= walked_lane < {{25'd0, s5_stop}};
end
// The second header one-hot, a stage of its own: after the AND-OR above the decode would
// make the path one LUT too deep.
reg s6b_valid = 1'b0, s6b_lost = 1'b0, s6b_p0_valid = 1'b0, s6b_p1_valid = 1'b0;
reg [{lb1}:0] s6b_p0 = {lb}'d0, s6b_p1 = {lb}'d0;
reg [{w1}:0] s6b_ib = {w}'d0, s6b_walked = {w}'d0, s6b_p1_onehot = {w}'d0;
reg [{nl1}:0] s6b_nl = {nlw}'d0;
reg [31:0] s6b_dist = 32'd0, s6b_dist_in = 32'd0;
reg s6b_lost_in = 1'b0;
reg [6:0] s6b_stop = 7'd0;
always @(posedge clock) begin
  s6b_dist_in <= s6_dist_in; s6b_lost_in <= s6_lost_in; s6b_stop <= s6_stop;
  s6b_valid <= s6_valid; s6b_lost <= s6_lost; s6b_p0_valid <= s6_p0_valid; s6b_p0 <= s6_p0;
  s6b_p1_valid <= s6_p1_valid; s6b_p1 <= s6_p1; s6b_p1_onehot <= {w}'d1 << s6_p1;
  s6b_ib <= s6_ib; s6b_walked <= s6_walked; s6b_nl <= s6_nl; s6b_dist <= s6_dist;
end
reg [{lb1}:0] p2_sel;
integer p2_lane;
always @* begin
  p2_sel = {lb}'d0;
  for (p2_lane = 0; p2_lane < {w}; p2_lane = p2_lane + 1)
    p2_sel = p2_sel | ({{{lb}{{s6b_p1_onehot[p2_lane]}}}} & s6b_nl[p2_lane * {lb} +: {lb}]);
end
reg s7_valid = 1'b0, s7_lost = 1'b0, s7_p0_valid = 1'b0, s7_p1_valid = 1'b0, s7_p2_valid = 1'b0;
reg [{lb1}:0] s7_p0 = {lb}'d0, s7_p1 = {lb}'d0, s7_p2 = {lb}'d0;
reg [{w1}:0] s7_walked = {w}'d0;
reg [31:0] s7_dist = 32'd0, s7_dist_in = 32'd0;
reg s7_lost_in = 1'b0;
reg [6:0] s7_stop = 7'd0;
always @(posedge clock) begin
  s7_dist_in <= s6b_dist_in; s7_lost_in <= s6b_lost_in; s7_stop <= s6b_stop;
  s7_valid <= s6b_valid; s7_lost <= s6b_lost; s7_p0_valid <= s6b_p0_valid; s7_p0 <= s6b_p0;
  s7_p1_valid <= s6b_p1_valid; s7_p1 <= s6b_p1;
  s7_p2_valid <= s6b_p1_valid && |(s6b_ib & s6b_p1_onehot);
  s7_p2 <= p2_sel;
  s7_dist <= s6b_dist; s7_walked <= s6b_walked;
end
initial begin m_valid = 1'b0; m_headers = {w}'d0; m_lost = 1'b0; m_next_dist = 32'd0; m_dist = 32'd0; m_lost_in = 1'b0; m_hdr_lane = 18'd0; m_hdr_valid = 3'd0; end
// Header k is reported when its chain reached it and it lies before the stop.
wire [2:0] hdr_valid = {{s7_p2_valid && {{1'b0, s7_p2}} < s7_stop, s7_p1_valid && {{1'b0, s7_p1}} < s7_stop, s7_p0_valid && {{1'b0, s7_p0}} < s7_stop}};
always @(posedge clock) begin
  m_valid <= s7_valid;
  if (s7_valid) begin
    m_headers <= s7_walked & (({{{w}{{s7_p0_valid}}}} & ({w}'d1 << s7_p0)) | ({{{w}{{s7_p1_valid}}}} & ({w}'d1 << s7_p1)) | ({{{w}{{s7_p2_valid}}}} & ({w}'d1 << s7_p2)));
    m_lost <= s7_lost;
    m_next_dist <= s7_dist;
    m_dist <= s7_dist_in;
    m_lost_in <= s7_lost_in;
    m_hdr_valid <= hdr_valid;
    m_hdr_lane <= {{{{{lb}{{hdr_valid[2]}}}} & s7_p2, {{{lb}{{hdr_valid[1]}}}} & s7_p1, {{{lb}{{hdr_valid[0]}}}} & s7_p0}};
  end
end
",
        lb1 = lb - 1,
        w1 = w - 1,
        nl1 = w * lb - 1,
        nlw = w * lb,
        fb1 = fb - 1,
        fb = fb,
    );
    v
}
