//! `PduTailStore`: fills the first 23 lanes of every tracker stream with its flow's previous
//! 23 stream bytes, and keeps each stream's last 23 bytes for the flow's next stream
//! (framing/README.md, point 2). A PDU header is 24 bytes, so a header cut by a packet end is
//! whole in the next packet's stream.
//!
//! The tails of 4,096 flows live in a RAM read when a stream's first beat enters. A stream
//! that follows its flow's previous stream too closely for the RAM takes the tail from the
//! output registers (the previous stream ended the cycle before) or from a register one cycle
//! older; which one is decided from flow ids when the beat enters. A stream's tail is cut
//! from its last two output beats (`m_len` says where it ends), so streams shorter than 23
//! new bytes carry the older tail bytes along. Streams are contiguous beats.
//!
//! Latency `LATENCY` = 2 clock edges. Throughput one beat per cycle.
use super::stream_beat::{StreamBeat, STREAM_OUTPUTS};
use crate::bytes::lanes_from_bits;
use crate::{connect_stream_outputs, drive_stream_outputs};
use rust_hdl::prelude::*;
use std::collections::{HashMap, VecDeque};

pub const TAIL: usize = super::chain_walk::TAIL;
const W: usize = 64;

#[derive(LogicBlock)]
pub struct PduTailStore {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_data: Signal<In, Bits<512>>,
    pub s_first: Signal<In, Bit>,
    pub s_last: Signal<In, Bit>,
    pub s_len: Signal<In, Bits<7>>,
    pub s_stop: Signal<In, Bits<7>>,
    pub s_flow: Signal<In, Bits<12>>,
    pub s_restart: Signal<In, Bit>,
    pub s_lose: Signal<In, Bit>,
    pub m_valid: Signal<Out, Bit>,
    pub m_data: Signal<Out, Bits<512>>,
    pub m_first: Signal<Out, Bit>,
    pub m_last: Signal<Out, Bit>,
    pub m_len: Signal<Out, Bits<7>>,
    pub m_stop: Signal<Out, Bits<7>>,
    pub m_flow: Signal<Out, Bits<12>>,
    pub m_restart: Signal<Out, Bit>,
    pub m_lose: Signal<Out, Bit>,
    _tails: HashMap<u64, Vec<u8>>,
    _previous: Vec<u8>,
    _in_flight: VecDeque<Option<StreamBeat>>,
}

impl PduTailStore {
    pub const LATENCY: usize = 2;

    pub fn new() -> Self {
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_data: Default::default(),
            s_first: Default::default(),
            s_last: Default::default(),
            s_len: Default::default(),
            s_stop: Default::default(),
            s_flow: Default::default(),
            s_restart: Default::default(),
            s_lose: Default::default(),
            m_valid: Default::default(),
            m_data: Default::default(),
            m_first: Default::default(),
            m_last: Default::default(),
            m_len: Default::default(),
            m_stop: Default::default(),
            m_flow: Default::default(),
            m_restart: Default::default(),
            m_lose: Default::default(),
            _tails: HashMap::new(),
            _previous: vec![0; W],
            _in_flight: VecDeque::from(vec![None; Self::LATENCY - 1]),
        }
    }
}

impl Default for PduTailStore {
    fn default() -> Self {
        Self::new()
    }
}

impl Logic for PduTailStore {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        let beat = self.s_valid.val().then(|| {
            let flow = self.s_flow.val().to_u64();
            let mut data = lanes_from_bits(self.s_data.val());
            let tail = self._tails.entry(flow).or_insert_with(|| vec![0; TAIL]);
            if self.s_first.val() {
                data[..TAIL].copy_from_slice(tail);
            }
            let len = self.s_len.val().to_u64() as usize;
            if self.s_last.val() {
                // The stream's last 23 bytes: this beat's first `len`, after the beat before.
                let both: Vec<u8> = self._previous.iter().chain(&data).copied().collect();
                *tail = both[W + len - TAIL..W + len].to_vec();
            }
            self._previous = data.clone();
            StreamBeat { data, first: self.s_first.val(), last: self.s_last.val(), len, stop: self.s_stop.val().to_u64() as usize, flow, restart: self.s_restart.val(), lose: self.s_lose.val() }
        });
        self._in_flight.push_back(beat);
        drive_stream_outputs!(self, self._in_flight.pop_front().expect("pipeline is never empty"));
    }

    fn connect(&mut self) {
        connect_stream_outputs!(self);
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(VERILOG.into())
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "pdu_tail_store".into(),
            clock: "clock".into(),
            inputs: ["s_valid", "s_data", "s_first", "s_last", "s_len", "s_stop", "s_flow", "s_restart", "s_lose"].map(String::from).to_vec(),
            outputs: STREAM_OUTPUTS.map(|(name, _)| name.to_string()).to_vec(),
        }]
    }
}

/// Entry: the RAM read and where a first beat's tail comes from; output: the tail in front.
/// The tail of the beat in the output registers is cut in 8-byte steps, then bytes.
const VERILOG: &str = "
reg [183:0] tail_ram [0:4095];
integer init_flow;
initial for (init_flow = 0; init_flow < 4096; init_flow = init_flow + 1) tail_ram[init_flow] = 184'd0;
reg prev1_end = 1'b0, prev2_end = 1'b0;
reg [11:0] prev1_flow = 12'd0, prev2_flow = 12'd0;
reg s1_valid = 1'b0, s1_first = 1'b0, s1_last = 1'b0, s1_from_out = 1'b0, s1_from_hist = 1'b0, s1_restart = 1'b0, s1_lose = 1'b0;
reg [511:0] s1_data = 512'd0;
reg [6:0] s1_len = 7'd0, s1_stop = 7'd0;
reg [11:0] s1_flow = 12'd0;
reg [183:0] s1_ram = 184'd0;
always @(posedge clock) begin
  prev1_end <= s_valid && s_last; prev1_flow <= s_flow;
  prev2_end <= prev1_end; prev2_flow <= prev1_flow;
  s1_valid <= s_valid; s1_first <= s_first; s1_last <= s_last; s1_data <= s_data;
  s1_len <= s_len; s1_stop <= s_stop; s1_flow <= s_flow; s1_restart <= s_restart; s1_lose <= s_lose;
  s1_ram <= tail_ram[s_flow];
  // The flow's previous stream ended 1 (output registers) or 2 (history) cycles ago.
  s1_from_out <= prev1_end && prev1_flow == s_flow;
  s1_from_hist <= prev2_end && prev2_flow == s_flow;
end
// The last 23 bytes of the stream ending in the output registers: output lanes
// len-23..len-1 after the previous output beat, i.e. bytes 42 + (len - 1) + k of the two
// (`both` starts at byte 42).
// The cut is registered beside the output so the selections below are plain case lists.
reg [175:0] out_prev = 176'd0;
wire [687:0] both = {m_data, out_prev};
// One-hot selections (AND-OR): the path from the output registers back into them is the
// loop of back-to-back streams of one flow, and binary 8:1 muxes are two LUTs deep each.
reg [7:0] cut_hi = 8'd1, cut_lo = 8'd1;
reg [239:0] cut_coarse;
reg [183:0] tail_now;
integer step;
always @* begin
  cut_coarse = 240'd0;
  for (step = 0; step < 8; step = step + 1) cut_coarse = cut_coarse | ({240{cut_hi[step]}} & both[step * 64 +: 240]);
  tail_now = 184'd0;
  for (step = 0; step < 8; step = step + 1) tail_now = tail_now | ({184{cut_lo[step]}} & cut_coarse[step * 8 +: 184]);
end
wire [5:0] s1_cut = s1_len[5:0] - 6'd1;
reg [183:0] hist_tail = 184'd0;
always @(posedge clock) begin
  out_prev <= m_data[511:336];
  hist_tail <= tail_now;
  cut_hi <= 8'd1 << s1_cut[5:3]; cut_lo <= 8'd1 << s1_cut[2:0];
  if (m_valid && m_last) tail_ram[m_flow] <= tail_now;
end
wire [183:0] tail_in = s1_from_out ? tail_now : s1_from_hist ? hist_tail : s1_ram;
initial begin m_valid = 1'b0; m_data = 512'd0; m_first = 1'b0; m_last = 1'b0; m_len = 7'd0; m_stop = 7'd0; m_flow = 12'd0; m_restart = 1'b0; m_lose = 1'b0; end
always @(posedge clock) begin
  m_valid <= s1_valid;
  m_data <= s1_first ? {s1_data[511:184], tail_in} : s1_data;
  m_first <= s1_first; m_last <= s1_last; m_len <= s1_len; m_stop <= s1_stop; m_flow <= s1_flow;
  m_restart <= s1_restart; m_lose <= s1_lose;
end
";
