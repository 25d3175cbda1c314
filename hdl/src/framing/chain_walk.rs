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
//! start, a mode ([`WalkMode`]: in sync, shadow, candidate, searching) and a request
//! epoch. Everything that does not depend on `R` is computed first, for every
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
//! added) and `s_lose` (a gap) makes the flow search from lane 23, the stream's first new
//! byte.
//!
//! Resync (the contract's search / request / confirm, framing/README.md): a chain that meets a
//! header failing the rules reports none of its headers; while tracking (in sync
//! or in shadow) that is a loss (`m_lost`). The flow then searches from the next beat: in a
//! searching beat the candidate is the first lane from the search start (lane 0, or 23 after
//! a gap) whose header passes the rules, and its chain is walked; a chain that fails goes on
//! searching at the next beat. When the candidate's chain reaches its second header, in the
//! same beat or a later one, that header confirms the pattern: `m_request` names its lane,
//! the epoch counts the request, and the flow walks in shadow (headers not offloaded). On a
//! first beat, `s_confirm` with the flow's epoch puts a flow in shadow back in sync: the
//! framing was followed, so the PDU in progress is offloaded from there on.
//! The candidate search needs only the lanes from 0 and from 23, so its exits are two
//! one-hot selections before the loop, and the loop picks them by mode.
//!
//! Latency `LATENCY` = 11 cycles: hops, exits of chains from their second header and the
//! search candidates, those exits pre-selected in groups of eight lanes, exits of any chain,
//! the flow's distance and the candidates' exits, what a first beat selects, the loop, the
//! second header, its one-hot, the third, the output.
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
/// A flow's walk state in the RAM and the loop: {epoch (4), mode (3), R (32)}.
const STATE_BITS: usize = 39;
/// A search candidate's chain as the loop selects it: {found (and its chain passes), request
/// (a second header in the beat confirms it), exit beyond the beat, its lane (6), second
/// header's lane (6), exit (32)}.
const CX_BITS: usize = 47;

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
    /// On a first beat (without restart): the flow is lost from here (a gap) and searches from
    /// lane 23.
    pub s_lose: Signal<In, Bit>,
    /// On a first beat: the host confirmed the flow's request of epoch `s_confirm_epoch`.
    pub s_confirm: Signal<In, Bit>,
    pub s_confirm_epoch: Signal<In, Bits<4>>,
    pub m_valid: Signal<Out, Bit>,
    /// Lanes where a header of the stream starts in this beat (none in a searching beat).
    pub m_headers: Signal<Out, Bits<W>>,
    /// The flow lost sync in this beat: a tracked chain met a header that fails the rules.
    pub m_lost: Signal<Out, Bit>,
    /// Distance from the next beat's lane 0 (the next stream's, after a stream's last walked
    /// beat) to the next header start.
    pub m_next_dist: Signal<Out, Bits<32>>,
    /// Distance from this beat's lane 0 to the next header start, before the walk (the end
    /// of the PDU the beat starts in).
    pub m_dist: Signal<Out, Bits<32>>,
    /// The beat's headers are not offloaded (searching, candidate, shadow, or lost here).
    pub m_shadow: Signal<Out, Bit>,
    /// The PDU the beat starts in is not offloaded (its header was not walked in sync).
    pub m_carried_shadow: Signal<Out, Bit>,
    /// A header at lane `m_request_lane` confirmed a candidate: the resync request, the
    /// flow's `m_request_epoch`-th (mod 16).
    pub m_request: Signal<Out, Bit>,
    pub m_request_lane: Signal<Out, Bits<6>>,
    pub m_request_epoch: Signal<Out, Bits<4>>,
    /// The beat's headers in lane order: header k at lane `m_hdr_lane[6k+5:6k]` when
    /// `m_hdr_valid[k]` (the same lanes as `m_headers`).
    pub m_hdr_lane: Signal<Out, Bits<18>>,
    pub m_hdr_valid: Signal<Out, Bits<3>>,
    _flows: HashMap<u64, FlowWalk>,
    _in_flight: VecDeque<Option<WalkOut>>,
}

/// A beat's walk as the block presents it.
#[derive(Clone, Debug)]
struct WalkOut {
    dist: u32,
    step: WalkStep,
}

pub type PduChainWalk64 = PduChainWalk<64, 6, 12>;

/// Where a flow's walk stands between beats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WalkMode {
    /// Headers and the PDU they carry are offloaded.
    Sync = 0,
    /// A request is raised; the framing is followed without offload.
    Shadow = 1,
    /// A candidate header was found; its successor at `dist` will confirm it.
    Candidate = 2,
    /// Looking for a candidate from lane 0 of the next beat, or from lane 23 (`TAIL`) of a
    /// stream after a gap (the RTL tells them by bit 0, and searching by bit 2).
    #[default]
    Search = 4,
    SearchAfterGap = 5,
}

impl WalkMode {
    /// The 3-bit code the RTL keeps, as a Verilog literal.
    fn literal(self) -> String {
        format!("3'd{}", self as u8)
    }

    fn searching(self) -> bool {
        matches!(self, Self::Search | Self::SearchAfterGap)
    }

    fn tracking(self) -> bool {
        matches!(self, Self::Sync | Self::Shadow)
    }
}

/// A flow's walk state: the distance from the next beat's lane 0 to the next header (the
/// walk's `R`), its mode, and how many requests it raised (mod 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FlowWalk {
    pub dist: u64,
    pub mode: WalkMode,
    pub epoch: u8,
}

impl FlowWalk {
    /// What a first beat's controls make of the state: restart (sk_add), lose (a gap), or the
    /// host's confirmation of the current request.
    pub fn enter(self, restart: Option<u32>, lose: bool, confirm: Option<u8>) -> Self {
        match restart {
            Some(dist) => Self { dist: dist.into(), mode: WalkMode::Sync, ..self },
            None if lose => Self { mode: WalkMode::SearchAfterGap, ..self },
            None if self.mode == WalkMode::Shadow && confirm == Some(self.epoch) => Self { mode: WalkMode::Sync, ..self },
            None => self,
        }
    }
}

/// What the walk did with one beat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalkStep {
    /// Header lanes reported (none when the chain failed, none in a searching beat).
    pub headers: Vec<usize>,
    /// A tracked chain met a header that fails the rules: sync is lost here.
    pub lost: bool,
    /// The beat's headers / the PDU it starts in are not offloaded.
    pub shadow: bool,
    pub carried_shadow: bool,
    /// The lane of the header that confirmed a candidate.
    pub request: Option<usize>,
    pub next: FlowWalk,
}

/// The chain of headers from distance `at`, hop by hop, up to lane `stop`: the headers, and
/// the distance after it from the stop, or None when a header fails the rules.
fn chain(ok: &[bool], plen: &[u32], mut at: u64, stop: usize) -> Option<(Vec<usize>, u64)> {
    let mut headers = Vec::new();
    while at < stop as u64 {
        let lane = at as usize;
        if !ok[lane] {
            return None;
        }
        headers.push(lane);
        at += u64::from(plen[lane]);
    }
    Some((headers, at - stop as u64))
}

/// The walk over one beat from `state`, where lanes `stop..` are not walked (the model and
/// the reference for the RTL).
pub fn walk_beat(ok: &[bool], plen: &[u32], state: FlowWalk, stop: usize) -> WalkStep {
    let mode = state.mode;
    let mut step = WalkStep {
        headers: vec![],
        lost: false,
        shadow: mode != WalkMode::Sync,
        carried_shadow: mode != WalkMode::Sync,
        request: None,
        next: FlowWalk { dist: 0, mode: WalkMode::Search, epoch: state.epoch },
    };
    let requested = |step: &mut WalkStep, lane: usize, dist: u64| {
        step.request = Some(lane);
        step.next = FlowWalk { dist, mode: WalkMode::Shadow, epoch: (state.epoch + 1) % 16 };
    };
    if mode.tracking() || mode == WalkMode::Candidate {
        match chain(ok, plen, state.dist, stop) {
            None => {
                step.lost = mode.tracking();
                step.shadow = true;
            }
            Some((headers, dist)) if mode == WalkMode::Candidate => {
                match headers.first() {
                    Some(&lane) => requested(&mut step, lane, dist),
                    None => step.next = FlowWalk { dist, ..state },
                }
                step.headers = headers;
            }
            Some((headers, dist)) => {
                step.next = FlowWalk { dist, ..state };
                step.headers = headers;
            }
        }
        return step;
    }
    let from = if mode == WalkMode::SearchAfterGap { TAIL } else { 0 };
    let Some(candidate) = (from..stop).find(|&l| ok[l]) else { return step };
    // The candidate's chain is reported (in shadow) so that the PDU fields are known when a
    // confirmation comes.
    match chain(ok, plen, candidate as u64, stop) {
        Some((headers, dist)) => {
            if headers.len() >= 2 {
                requested(&mut step, headers[1], dist);
            } else {
                step.next = FlowWalk { dist, mode: WalkMode::Candidate, epoch: state.epoch };
            }
            step.headers = headers;
        }
        None => {}
    }
    step
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
            s_confirm: Default::default(),
            s_confirm_epoch: Default::default(),
            m_valid: Default::default(),
            m_headers: Default::default(),
            m_lost: Default::default(),
            m_next_dist: Default::default(),
            m_dist: Default::default(),
            m_shadow: Default::default(),
            m_carried_shadow: Default::default(),
            m_request: Default::default(),
            m_request_lane: Default::default(),
            m_request_epoch: Default::default(),
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
            let state = self._flows.entry(flow).or_default();
            if self.s_first.val() {
                let restart = self.s_restart.val().then(|| self.s_restart_dist.val().to_u32());
                let confirm = self.s_confirm.val().then(|| self.s_confirm_epoch.val().to_u64() as u8);
                *state = state.enter(restart, self.s_lose.val(), confirm);
            }
            let ok: Vec<bool> = (0..W).map(|l| self.s_header_ok.val().get_bit(l)).collect();
            let plen: Vec<u32> = (0..W).map(|l| self.s_plen.val().get_bits::<32>(32 * l).to_u32()).collect();
            let stop = (self.s_stop.val().to_u64() as usize).min(W);
            // A searching flow's distance means nothing and is reported as 0.
            let dist = if state.mode.searching() { 0 } else { state.dist as u32 };
            let mut step = walk_beat(&ok, &plen, *state, stop);
            // The distance register holds 32 bits, like the hardware's.
            step.next.dist &= 0xFFFF_FFFF;
            *state = step.next;
            WalkOut { dist, step }
        });
        self._in_flight.push_back(result);
        match self._in_flight.pop_front().expect("pipeline is never empty") {
            Some(WalkOut { dist, step }) => {
                self.m_valid.next = true;
                self.m_headers.next = step.headers.iter().fold(Bits::default(), |acc, &l| acc.replace_bit(l, true));
                self.m_lost.next = step.lost;
                self.m_next_dist.next = step.next.dist.into();
                self.m_dist.next = u64::from(dist).into();
                self.m_shadow.next = step.shadow;
                self.m_carried_shadow.next = step.carried_shadow;
                self.m_request.next = step.request.is_some();
                self.m_request_lane.next = (step.request.unwrap_or(0) as u64).into();
                self.m_request_epoch.next = u64::from(step.next.epoch).into();
                let lanes = step.headers.iter().enumerate().fold(0u64, |acc, (k, &l)| acc | (l as u64) << (6 * k));
                self.m_hdr_lane.next = lanes.into();
                self.m_hdr_valid.next = ((1u64 << step.headers.len()) - 1).into();
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
        self.m_shadow.connect();
        self.m_carried_shadow.connect();
        self.m_request.connect();
        self.m_request_lane.connect();
        self.m_request_epoch.connect();
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
            inputs: ["s_valid", "s_header_ok", "s_plen", "s_flow", "s_first", "s_stop", "s_restart", "s_restart_dist", "s_lose", "s_confirm", "s_confirm_epoch"].map(String::from).to_vec(),
            outputs: ["m_valid", "m_headers", "m_lost", "m_next_dist", "m_dist", "m_shadow", "m_carried_shadow", "m_request", "m_request_lane", "m_request_epoch", "m_hdr_lane", "m_hdr_valid"].map(String::from).to_vec(),
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

/// The first lane with a header that passes the rules, from lane 0 and from lane 23, in two
/// stages of groups of eight lanes (a 64-lane priority chain in one stage is too deep).
/// Stage 1: per lane, the first in its group (`s1_gfirst*`), and per group but the last
/// whether it has one (`s1_gany*`).
fn first_in_groups(w: usize) -> String {
    let mut v = format!("reg [{w1}:0] s1_gfirst0 = {w}'d0, s1_gfirst23 = {w}'d0;\nreg [{g1}:0] s1_gany0 = {g}'d0, s1_gany23 = {g}'d0;\nalways @(posedge clock) begin\n", w1 = w - 1, g = w / 8 - 1, g1 = w / 8 - 2);
    let none_from = |lo: usize, l: usize| if l == lo { String::new() } else { format!(" && !(|s_header_ok[{}:{lo}])", l - 1) };
    for l in 0..w {
        let group = l / 8 * 8;
        let _ = writeln!(v, "  s1_gfirst0[{l}] <= s_header_ok[{l}]{};", none_from(group, l));
        let from23 = group.max(TAIL);
        let _ = writeln!(v, "  s1_gfirst23[{l}] <= {};", if l < TAIL { "1'b0".to_string() } else { format!("s_header_ok[{l}]{}", none_from(from23, l)) });
    }
    for g in 0..w / 8 - 1 {
        let _ = writeln!(v, "  s1_gany0[{g}] <= |s_header_ok[{}:{}];", 8 * g + 7, 8 * g);
        let _ = writeln!(v, "  s1_gany23[{g}] <= {};", if 8 * g + 7 < TAIL { "1'b0".to_string() } else { format!("|s_header_ok[{}:{}]", 8 * g + 7, (8 * g).max(TAIL)) });
    }
    v.push_str("end\n");
    v
}

/// Stage 2: the candidates before the stop, one-hot: first in its group, no earlier group has
/// one, and the lane is walked.
fn candidate_lanes(w: usize) -> String {
    let mut v = format!("reg [{w1}:0] s2_c0 = {w}'d0, s2_c23 = {w}'d0;\nalways @(posedge clock) begin\n", w1 = w - 1);
    for l in 0..w {
        let g = l / 8;
        let earlier = |from: &str| if g == 0 { String::new() } else { format!(" && !(|{from}[{}:0])", g - 1) };
        let _ = writeln!(v, "  s2_c0[{l}] <= s1_gfirst0[{l}] && s1_live[{l}]{};", earlier("s1_gany0"));
        let _ = writeln!(v, "  s2_c23[{l}] <= s1_gfirst23[{l}] && s1_live[{l}]{};", earlier("s1_gany23"));
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
// {{epoch, mode, R}}; a flow never added searches.
reg [{state1}:0] flow_ram [0:{flows1}];
integer init_flow;
initial for (init_flow = 0; init_flow < {flows}; init_flow = init_flow + 1) flow_ram[init_flow] = {{4'd0, {search}, 32'd0}};
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
reg s1_valid = 1'b0, s1_first = 1'b0, s1_restart = 1'b0, s1_lose = 1'b0, s1_confirm = 1'b0;
reg [3:0] s1_cepoch = 4'd0;
reg [31:0] s1_dist = 32'd0;
reg [{state1}:0] s1_ram = {state}'d0;
{first_lanes}reg [{fb1}:0] s1_flow = {fb}'d0;
reg [6:0] s1_stop = 7'd0;
reg [7:0] s1_stop64 = 8'd0;
// `live`: the lane is before the stop (a distance there is a header of this beat).
reg [{w1}:0] s1_ok = {w}'d0, s1_ib = {w}'d0, s1_rem_far = {w}'d0, s1_live = {w}'d0;
reg [{nl1}:0] s1_nl = {nlw}'d0;
reg [{rem1}:0] s1_rem = {remw}'d0;
always @(posedge clock) begin
  s1_valid <= s_valid; s1_first <= s_first; s1_restart <= s_first && s_restart;
  s1_lose <= s_first && !s_restart && s_lose; s1_dist <= s_restart_dist;
  s1_confirm <= s_first && s_confirm; s1_cepoch <= s_confirm_epoch;
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
        state = STATE_BITS,
        state1 = STATE_BITS - 1,
        search = WalkMode::Search.literal(),
        first_lanes = first_in_groups(w),
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
  s1_live[{l}] <= !stop{l};
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
    let flow_fields: [(&str, usize); 13] =
        [("valid", 1), ("first", 1), ("restart", 1), ("lose", 1), ("confirm", 1), ("cepoch", 4), ("m1", 1), ("m2", 1), ("src", 3), ("dist", 32), ("ram", STATE_BITS), ("flow", fb), ("stop", 7)];
    let with = |extra: &[(&'static str, usize)]| -> Vec<(&'static str, usize)> { flow_fields.iter().copied().chain([("stop64", 8)]).chain(extra.iter().copied()).collect() };
    let carried = with(&[("ok", w), ("ib", w), ("rem_far", w), ("live", w), ("nl", w * lb), ("rem", 32 * w)]);
    v.push_str(&delayed("s2", "s1", &carried));
    // The search candidates: the first lanes found before the stop, and whether there is one.
    v.push_str(&candidate_lanes(w));
    v.push_str(&delayed("s2b", "s2", &[("c0", w), ("c23", w)]));
    let _ = writeln!(v, "reg s2b_f0 = 1'b0, s2b_f23 = 1'b0;\nalways @(posedge clock) begin s2b_f0 <= |s2_c0; s2b_f23 <= |s2_c23; end");
    v.push_str(&delayed("s3", "s2b", &[("c0", w), ("c23", w), ("f0", 1), ("f23", 1)]));
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
    let walked = with(&[("ib", w), ("live", w), ("nl", w * lb)]);
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
    // Stage 4a: a first beat's state: restart, lose, or the flow's latest state from 3..7
    // cycles ahead (the loop register and its history) or the RAM; and the search
    // candidates' exits, one-hot selections.
    let exits: [(&str, usize); 5] = [("ib", w), ("nl", w * lb), ("bad", w), ("exit_far", w), ("exit", 32 * w)];
    // Per lane, what the loop needs of a header there (one wide mux each): a header of this
    // beat that passes, and one that has a successor in the beat.
    let _ = write!(v, "reg [{w1}:0] s4a_hdr = {w}'d0, s4a_more = {w}'d0, s4b_hdr = {w}'d0, s4b_more = {w}'d0;
always @(posedge clock) begin
  s4a_hdr <= s3_live & ~s3_bad; s4a_more <= s3_ib & ~s3_bad;
  s4b_hdr <= s4a_hdr; s4b_more <= s4a_more;
end
", w1 = w - 1);
    let looped: Vec<(&str, usize)> = [("valid", 1), ("flow", fb), ("stop", 7), ("stop64", 8)].into_iter().chain(exits).collect();
    let first_beat: Vec<(&str, usize)> = [("first", 1), ("restart", 1), ("lose", 1), ("confirm", 1), ("cepoch", 4), ("m1", 1)].into_iter().chain(looped.iter().copied()).collect();
    v.push_str(&delayed("s4a", "s3", &first_beat));
    let state_regs = |name: &str, init: &str| (1..=5).map(|k| format!("{name}{} = {init}", if k == 1 { String::new() } else { k.to_string() })).collect::<Vec<_>>().join(", ");
    let _ = write!(
        v,
        "reg [31:0] {dists};
reg [2:0] {modes};
reg [3:0] {epochs};
always @(posedge clock) begin
  walk_dist2 <= walk_dist; walk_dist3 <= walk_dist2; walk_dist4 <= walk_dist3; walk_dist5 <= walk_dist4;
  walk_mode2 <= walk_mode; walk_mode3 <= walk_mode2; walk_mode4 <= walk_mode3; walk_mode5 <= walk_mode4;
  walk_epoch2 <= walk_epoch; walk_epoch3 <= walk_epoch2; walk_epoch4 <= walk_epoch3; walk_epoch5 <= walk_epoch4;
end
reg [31:0] s4a_start = 32'd0;
reg [2:0] s4a_start_mode = {search};
reg [3:0] s4a_start_epoch = 4'd0;
reg s4a_take2 = 1'b0;
always @(posedge clock) begin
  s4a_take2 <= s3_m2 && !s3_restart && !s3_lose;
  case (s3_src)
    3'd3: begin s4a_start <= walk_dist; s4a_start_mode <= walk_mode; s4a_start_epoch <= walk_epoch; end
    3'd4: begin s4a_start <= walk_dist2; s4a_start_mode <= walk_mode2; s4a_start_epoch <= walk_epoch2; end
    3'd5: begin s4a_start <= walk_dist3; s4a_start_mode <= walk_mode3; s4a_start_epoch <= walk_epoch3; end
    3'd6: begin s4a_start <= walk_dist4; s4a_start_mode <= walk_mode4; s4a_start_epoch <= walk_epoch4; end
    3'd7: begin s4a_start <= walk_dist5; s4a_start_mode <= walk_mode5; s4a_start_epoch <= walk_epoch5; end
    default: begin s4a_start <= s3_ram[31:0]; s4a_start_mode <= s3_ram[34:32]; s4a_start_epoch <= s3_ram[38:35]; end
  endcase
  if (s3_restart) begin s4a_start <= s3_dist; s4a_start_mode <= {sync}; end
  else if (s3_lose) s4a_start_mode <= {search_gap};
end
// A candidate's chain: {{bad, has a second header, exit beyond the beat, its lane, second
// header's lane, exit}}, registered as CX_BITS says.
reg [{cx1}:0] cx0_sel, cx23_sel;
integer cx_lane;
always @* begin
  cx0_sel = {cx}'d0; cx23_sel = {cx}'d0;
  for (cx_lane = 0; cx_lane < {w}; cx_lane = cx_lane + 1) begin
    cx0_sel = cx0_sel | ({{{cx}{{s3_c0[cx_lane]}}}} & {{s3_bad[cx_lane], s3_ib[cx_lane], s3_exit_far[cx_lane], cx_lane[{lb1}:0], s3_nl[cx_lane * {lb} +: {lb}], s3_exit[cx_lane * 32 +: 32]}});
    cx23_sel = cx23_sel | ({{{cx}{{s3_c23[cx_lane]}}}} & {{s3_bad[cx_lane], s3_ib[cx_lane], s3_exit_far[cx_lane], cx_lane[{lb1}:0], s3_nl[cx_lane * {lb} +: {lb}], s3_exit[cx_lane * 32 +: 32]}});
  end
end
reg [{cx1}:0] s4a_cx0 = {cx}'d0, s4a_cx23 = {cx}'d0, s4b_cx0 = {cx}'d0, s4b_cx23 = {cx}'d0;
always @(posedge clock) begin
  s4a_cx0 <= {{s3_f0 && !cx0_sel[{cx1}], s3_f0 && !cx0_sel[{cx1}] && cx0_sel[{cx2}], cx0_sel[{cx3}:0]}};
  s4a_cx23 <= {{s3_f23 && !cx23_sel[{cx1}], s3_f23 && !cx23_sel[{cx1}] && cx23_sel[{cx2}], cx23_sel[{cx3}:0]}};
  s4b_cx0 <= s4a_cx0; s4b_cx23 <= s4a_cx23;
end
",
        dists = state_regs("walk_dist", "32'd0"),
        modes = state_regs("walk_mode", &WalkMode::Search.literal()),
        epochs = state_regs("walk_epoch", "4'd0"),
        search = WalkMode::Search.literal(),
        search_gap = WalkMode::SearchAfterGap.literal(),
        sync = WalkMode::Sync.literal(),
        cx = CX_BITS,
        cx1 = CX_BITS - 1,
        cx2 = CX_BITS - 2,
        cx3 = CX_BITS - 3,
        w = w,
        lb = lb,
        lb1 = lb - 1,
    );
    // Stage 4b: what a first beat selects, chosen before the loop so that the loop's wide
    // muxes are steered straight from its own register. The flow's beat 2 cycles ahead has
    // just left the loop. A confirmation of the flow's current request puts a flow in shadow
    // back in sync.
    v.push_str(&delayed("s4b", "s4a", &looped));
    let confirmed = |mode: &str, epoch: &str, confirm: &str, cepoch: &str| {
        format!("({confirm} && {mode} == {shadow} && {epoch} == {cepoch} ? {sync} : {mode})", shadow = WalkMode::Shadow.literal(), sync = WalkMode::Sync.literal())
    };
    let _ = write!(
        v,
        "wire [31:0] start = s4a_take2 ? walk_dist : s4a_start;
wire [2:0] start_mode = s4a_take2 ? walk_mode : s4a_start_mode;
wire [3:0] start_epoch = s4a_take2 ? walk_epoch : s4a_start_epoch;
reg [31:0] rs_exit = 32'd0, rs_far_next = 32'd0, rs_start = 32'd0;
reg rs_exit_far = 1'b0, rs_far = 1'b0, rs_far_far = 1'b0, rs_bad = 1'b0, rs_hdr = 1'b0, rs_more = 1'b0;
reg [2:0] rs_mode = {search};
reg [3:0] rs_epoch = 4'd0;
reg [{lb1}:0] rs_lane = {lb}'d0;
reg s4b_fresh = 1'b0, s4b_confirm = 1'b0;
reg [3:0] s4b_cepoch = 4'd0;
always @(posedge clock) begin
  rs_exit <= s4a_exit[start[{lb1}:0] * 32 +: 32];
  rs_exit_far <= s4a_exit_far[start[{lb1}:0]];
  rs_bad <= s4a_bad[start[{lb1}:0]];
  rs_hdr <= s4a_hdr[start[{lb1}:0]];
  rs_more <= s4a_more[start[{lb1}:0]];
  rs_lane <= start[{lb1}:0];
  rs_far <= |start[31:{lb}];
  rs_far_next <= start - {{25'd0, s4a_stop}};
  rs_far_far <= start >= {{24'd0, s4a_stop64}};
  rs_mode <= {rs_confirmed};
  rs_epoch <= start_epoch;
  rs_start <= start;
  // A first beat starts from the loop register only when the flow's previous beat is the
  // one just ahead and nothing is loaded.
  s4b_fresh <= s4a_first && (s4a_restart || s4a_lose || !s4a_m1);
  s4b_confirm <= s4a_first && s4a_confirm; s4b_cepoch <= s4a_cepoch;
end
",
        lb1 = lb - 1,
        lb = lb,
        search = WalkMode::Search.literal(),
        rs_confirmed = confirmed("start_mode", "start_epoch", "s4a_confirm", "s4a_cepoch"),
    );
    // Stage 5: the loop. R is the distance from this beat's lane 0 to the next header; the
    // mode picks the walk from R or a search candidate's chain.
    // The wires `<p>_*` a branch of the loop decides from, and its assignments.
    // `raw` is the mode before a confirmation: the selects that steer the loop's wide muxes
    // (search or walk, which candidate) do not depend on it, as it only turns shadow into sync.
    let step = |p: &str, raw: &str, mode: &str, epoch: &str, far: &str, lane: &str, exit: &str, exit_far: &str, bad: &str, hdr: &str, more: &str, far_next: &str, far_far: &str| {
        let wires = format!(
            "wire [2:0] {p}_m = {mode};
wire {p}_search = {raw}[2];
wire {p}_cand = {raw} == {candidate};
wire [{cx1}:0] {p}_cx = {raw}[0] ? s4b_cx23 : s4b_cx0;
wire {p}_fail = !{far} && {bad};
// A header at R in this beat (R before the stop; past it the exit is R's distance from it).
wire {p}_header = !{far} && {hdr};
wire {p}_found_ok = {p}_cx[{found}];
wire {p}_request = {p}_search ? {p}_cx[{creq}] : {p}_cand && {p}_header;
wire [3:0] {p}_epoch_next = {epoch} + 4'd1;
",
            cx1 = CX_BITS - 1,
            candidate = WalkMode::Candidate.literal(),
            found = CX_BITS - 1,
            creq = CX_BITS - 2,
        );
        let assigns = format!(
            "    begin
      walk_dist <= {p}_search ? {p}_cx[31:0] : {far} ? {far_next} : {exit};
      walk_far <= {p}_search ? {p}_cx[{cfar}] : {far} ? {far_far} : {exit_far};
      walk_mode <= {p}_search ? (!{p}_found_ok ? {search_code} : {p}_cx[{creq}] ? {shadow} : {candidate})
        : {p}_fail ? {search_code} : {p}_cand && {p}_header ? {shadow} : {p}_m;
      walk_epoch <= {p}_request ? {p}_epoch_next : {epoch};
      s5_lost <= !{p}_search && !{p}_cand && {p}_fail;
      s5_shadow <= {p}_m != {sync} || {p}_fail;
      s5_carried_shadow <= {p}_m != {sync};
      s5_request <= {p}_request;
      s5_request_lane <= {p}_search ? {p}_cx[{nlhi}:32] : {lane};
      s5_search_in <= {p}_search;
      // A searching beat reports its candidate's chain (in shadow).
      s5_p0_valid <= {p}_search ? {p}_found_ok : !{far} && !{bad};
      // Whether the first header has a successor in the beat, decided beside the loop so
      // the later stages need no wide bit mux.
      s5_p1_valid <= {p}_search ? {p}_cx[{creq}] : !{far} && {more};
      s5_p0 <= {p}_search ? {p}_cx[{clhi}:{cllo}] : {lane};
      s5_p0_onehot <= {w}'d1 << ({p}_search ? {p}_cx[{clhi}:{cllo}] : {lane});
    end
",
            candidate = WalkMode::Candidate.literal(),
            shadow = WalkMode::Shadow.literal(),
            sync = WalkMode::Sync.literal(),
            search_code = WalkMode::Search.literal(),
            creq = CX_BITS - 2,
            cfar = CX_BITS - 3,
            nlhi = 32 + lb - 1,
            clhi = 32 + 2 * lb - 1,
            cllo = 32 + lb,
        );
        (wires, assigns)
    };
    let (fresh_wires, fresh_step) = step("fresh", "rs_mode", "rs_mode", "rs_epoch", "rs_far", "rs_lane", "rs_exit", "rs_exit_far", "rs_bad", "rs_hdr", "rs_more", "rs_far_next", "rs_far_far");
    let loop_mode = confirmed("walk_mode", "walk_epoch", "s4b_confirm", "s4b_cepoch");
    let (loop_wires, loop_step) = step(
        "loop", "walk_mode", &loop_mode, "walk_epoch", "walk_far", "walk_lane", "walk_exit", "walk_exit_far", "walk_bad", "walk_hdr", "walk_more",
        &format!("walk_dist - {{25'd0, s4b_stop}}"), &format!("walk_dist >= {{24'd0, s4b_stop64}}"),
    );
    let _ = write!(
        v,
        "// Whether the next header is beyond this beat, kept as a flag beside the distance so the
// loop does not wait for a 26-input OR.
reg walk_far = 1'b0;
wire [{lb1}:0] walk_lane = walk_dist[{lb1}:0];
wire [31:0] walk_exit = s4b_exit[walk_lane * 32 +: 32];
wire walk_exit_far = s4b_exit_far[walk_lane];
wire walk_bad = s4b_bad[walk_lane];
wire walk_hdr = s4b_hdr[walk_lane];
wire walk_more = s4b_more[walk_lane];
{fresh_wires}{loop_wires}reg s5_valid = 1'b0, s5_lost = 1'b0, s5_p0_valid = 1'b0, s5_p1_valid = 1'b0, s5_search_in = 1'b0;
reg s5_shadow = 1'b0, s5_carried_shadow = 1'b0, s5_request = 1'b0;
reg [{lb1}:0] s5_request_lane = {lb}'d0;
reg [31:0] s5_dist_in = 32'd0;
reg [{lb1}:0] s5_p0 = {lb}'d0;
reg [{w1}:0] s5_p0_onehot = {w}'d0, s5_ib = {w}'d0;
reg [{nl1}:0] s5_nl = {nlw}'d0;
reg [6:0] s5_stop = 7'd0;
always @(posedge clock) begin
  s5_valid <= s4b_valid; s5_ib <= s4b_ib; s5_nl <= s4b_nl; s5_stop <= s4b_stop;
  if (s4b_valid) begin
    // The distance is meaningless while searching; it is not gated by it (a shorter path)
    // but reported as 0.
    s5_dist_in <= s4b_fresh ? rs_start : walk_dist;
    if (s4b_fresh)
{fresh_step}    else
{loop_step}  end
end
// The flow's state after its beat, a cycle after the loop (younger beats are forwarded).
reg ram_write = 1'b0;
reg [{fb1}:0] ram_flow = {fb}'d0;
always @(posedge clock) begin
  ram_write <= s4b_valid; ram_flow <= s4b_flow;
  if (ram_write) flow_ram[ram_flow] <= {{walk_epoch, walk_mode, walk_dist}};
end
// Stages 6 and 7: the second and third header of the beat (one-hot selections: a binary
// index into a flattened vector costs a multiplier's carry chain), then the output.
reg s6_valid = 1'b0, s6_lost = 1'b0, s6_p0_valid = 1'b0, s6_p1_valid = 1'b0;
reg [{lb1}:0] s6_p0 = {lb}'d0, s6_p1 = {lb}'d0;
reg [{w1}:0] s6_ib = {w}'d0, s6_walked = {w}'d0;
reg [{nl1}:0] s6_nl = {nlw}'d0;
reg [31:0] s6_dist = 32'd0, s6_dist_in = 32'd0;
reg [6:0] s6_stop = 7'd0;
reg [{rq1}:0] s6_rq = {rq}'d0;
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
  s6_ib <= s5_ib; s6_nl <= s5_nl;
  // Distances of a searching flow mean nothing; they are reported as 0.
  s6_dist <= walk_mode[2] ? 32'd0 : walk_dist;
  s6_dist_in <= s5_search_in ? 32'd0 : s5_dist_in; s6_stop <= s5_stop;
  s6_rq <= {{s5_shadow, s5_carried_shadow, s5_request, s5_request_lane, walk_epoch}};
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
reg [6:0] s6b_stop = 7'd0;
reg [{rq1}:0] s6b_rq = {rq}'d0;
always @(posedge clock) begin
  s6b_dist_in <= s6_dist_in; s6b_stop <= s6_stop; s6b_rq <= s6_rq;
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
reg [6:0] s7_stop = 7'd0;
reg [{rq1}:0] s7_rq = {rq}'d0;
always @(posedge clock) begin
  s7_dist_in <= s6b_dist_in; s7_stop <= s6b_stop; s7_rq <= s6b_rq;
  s7_valid <= s6b_valid; s7_lost <= s6b_lost; s7_p0_valid <= s6b_p0_valid; s7_p0 <= s6b_p0;
  s7_p1_valid <= s6b_p1_valid; s7_p1 <= s6b_p1;
  s7_p2_valid <= s6b_p1_valid && |(s6b_ib & s6b_p1_onehot);
  s7_p2 <= p2_sel;
  s7_dist <= s6b_dist; s7_walked <= s6b_walked;
end
initial begin
  m_valid = 1'b0; m_headers = {w}'d0; m_lost = 1'b0; m_next_dist = 32'd0; m_dist = 32'd0; m_hdr_lane = 18'd0; m_hdr_valid = 3'd0;
  m_shadow = 1'b0; m_carried_shadow = 1'b0; m_request = 1'b0; m_request_lane = 6'd0; m_request_epoch = 4'd0;
end
// Header k is reported when its chain reached it and it lies before the stop.
wire [2:0] hdr_valid = {{s7_p2_valid && {{1'b0, s7_p2}} < s7_stop, s7_p1_valid && {{1'b0, s7_p1}} < s7_stop, s7_p0_valid && {{1'b0, s7_p0}} < s7_stop}};
always @(posedge clock) begin
  m_valid <= s7_valid;
  if (s7_valid) begin
    m_headers <= s7_walked & (({{{w}{{s7_p0_valid}}}} & ({w}'d1 << s7_p0)) | ({{{w}{{s7_p1_valid}}}} & ({w}'d1 << s7_p1)) | ({{{w}{{s7_p2_valid}}}} & ({w}'d1 << s7_p2)));
    m_lost <= s7_lost;
    m_next_dist <= s7_dist;
    m_dist <= s7_dist_in;
    {{m_shadow, m_carried_shadow, m_request, m_request_lane, m_request_epoch}} <= s7_rq;
    m_hdr_valid <= hdr_valid;
    m_hdr_lane <= {{{{{lb}{{hdr_valid[2]}}}} & s7_p2, {{{lb}{{hdr_valid[1]}}}} & s7_p1, {{{lb}{{hdr_valid[0]}}}} & s7_p0}};
  end
end
",
        rq = 3 + lb + 4,
        rq1 = 3 + lb + 4 - 1,
        lb1 = lb - 1,
        w1 = w - 1,
        nl1 = w * lb - 1,
        nlw = w * lb,
        fb1 = fb - 1,
        fb = fb,
    );
    v
}
