//! `PduStreamAligner`: turns an offloaded frame into its tracker stream (framing/README.md):
//! 23 bytes for the flow's previous payload (`PduTailStore` fills them in), then the frame's
//! new TCP payload, from lane 0 of the first stream beat, with the bytes of each beat
//! (`m_len`) and the lanes it leaves for the walk (`m_stop`).
//!
//! Stream byte q >= 23 is frame byte `p - 23 + q` (p: where the new
//! payload starts: the TCP payload, or past its already-seen part when a segment overlaps), so
//! stream beat j is the 64 bytes from frame offset `p - 23 + 64j`, inside frame beats
//! `s + j` and `s + j + 1` with `s = (p - 23) / 64`. The stream ends where the frame does and
//! starts at least 23 bytes after it (p >= 23: there is always a 54-byte header), so stream
//! beat j can leave with frame beat `s + j`, one beat late (when beat `s + j + 1` is there):
//! the block follows the frame one beat late and shifts by `(p - 23) % 64` bytes (8-byte
//! steps, then bytes). Input frames are contiguous beats (the max-frame delay line upstream
//! makes them so) and may follow each other back to back. Lanes past the stream's end carry
//! whatever the window held. W = 64.
//!
//! Latency `LATENCY` = 3 clock edges from frame beat `s + j` at the input to stream beat j at
//! the output. Throughput one beat per cycle.
use super::stream_beat::{StreamBeat, STREAM_OUTPUTS};
use crate::bytes::lanes_from_bits;
use crate::{connect_stream_outputs, drive_stream_outputs};
use rust_hdl::prelude::*;
use std::collections::VecDeque;

/// Bytes of the flow's previous payload that each stream replays.
pub const TAIL: usize = super::chain_walk::TAIL;
const W: usize = 64;

#[derive(LogicBlock)]
pub struct PduStreamAligner {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_data: Signal<In, Bits<512>>,
    /// First beat of a frame; the per-frame inputs below are read on it.
    pub s_sof: Signal<In, Bit>,
    /// The frame's payload becomes a stream (in sequence on an offloaded flow).
    pub s_offload: Signal<In, Bit>,
    /// Frame offset of the stream's new bytes (at least 23).
    pub s_payload_start: Signal<In, Bits<14>>,
    /// New payload bytes (from the IP header: Ethernet padding is not payload).
    pub s_payload_len: Signal<In, Bits<14>>,
    pub s_flow: Signal<In, Bits<12>>,
    /// The sequence gate's verdicts for the frame, passed to its stream's first beat.
    pub s_restart: Signal<In, Bit>,
    pub s_lose: Signal<In, Bit>,
    pub m_valid: Signal<Out, Bit>,
    pub m_data: Signal<Out, Bits<512>>,
    pub m_first: Signal<Out, Bit>,
    pub m_last: Signal<Out, Bit>,
    /// Stream bytes in this beat (64 but on a last beat).
    pub m_len: Signal<Out, Bits<7>>,
    /// Lanes `m_stop..` are not walked: the stream's last 23 bytes and what follows.
    pub m_stop: Signal<Out, Bits<7>>,
    pub m_flow: Signal<Out, Bits<12>>,
    pub m_restart: Signal<Out, Bit>,
    pub m_lose: Signal<Out, Bit>,
    _window: VecDeque<Vec<u8>>,
    _late: VecDeque<Option<FrameBeat>>,
    _frame: Option<FrameState>,
    _in_flight: VecDeque<Option<StreamBeat>>,
}

#[derive(Clone, Debug)]
struct FrameBeat {
    sof: bool,
    offload: bool,
    start: usize,
    len: usize,
    flow: u64,
    restart: bool,
    lose: bool,
}

#[derive(Clone, Debug)]
struct FrameState {
    offload: bool,
    /// Frame beats before the stream's first.
    skip: usize,
    shift: usize,
    first: bool,
    /// Stream bytes from this beat on.
    left: usize,
    flow: u64,
    restart: bool,
    lose: bool,
}

impl PduStreamAligner {
    pub const LATENCY: usize = 3;

    pub fn new() -> Self {
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_data: Default::default(),
            s_sof: Default::default(),
            s_offload: Default::default(),
            s_payload_start: Default::default(),
            s_payload_len: Default::default(),
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
            _window: VecDeque::from(vec![vec![0; W]; 1]),
            _late: VecDeque::from(vec![None; 1]),
            _frame: None,
            _in_flight: VecDeque::from(vec![None; 2]),
        }
    }

    /// The stream beat leaving with the frame beat one cycle late (`late`), from the window
    /// of the last two input beats, oldest first.
    fn stream_beat(&mut self, late: &FrameBeat, window: &[u8]) -> Option<StreamBeat> {
        if late.sof {
            // 14-bit arithmetic, like the hardware's; p < 23 wraps and is not streamed.
            let back = late.start.wrapping_sub(TAIL) & 0x3FFF;
            self._frame = Some(FrameState { offload: late.offload && back < 0x3FFF - TAIL, skip: back >> 6, shift: back & 63, first: true, left: TAIL + late.len, flow: late.flow, restart: late.restart, lose: late.lose });
        }
        let frame = self._frame.as_mut()?;
        if frame.skip > 0 {
            frame.skip -= 1;
            return None;
        }
        let beat = (frame.offload && frame.left > 0).then(|| {
            let data = window[frame.shift..frame.shift + W].to_vec();
            StreamBeat { data, first: frame.first, last: frame.left <= W, len: frame.left.min(W), stop: frame.left.saturating_sub(TAIL).min(W), flow: frame.flow, restart: frame.first && frame.restart, lose: frame.first && frame.lose }
        });
        frame.first = false;
        frame.left = frame.left.saturating_sub(W);
        beat
    }
}

impl Default for PduStreamAligner {
    fn default() -> Self {
        Self::new()
    }
}

impl Logic for PduStreamAligner {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        let now = lanes_from_bits(self.s_data.val());
        let window: Vec<u8> = self._window.iter().flatten().chain(&now).copied().collect();
        let late = self._late.pop_front().expect("one beat late");
        let out = late.and_then(|late| self.stream_beat(&late, &window));
        self._late.push_back(self.s_valid.val().then(|| FrameBeat {
            sof: self.s_sof.val(),
            offload: self.s_offload.val(),
            start: self.s_payload_start.val().to_u64() as usize,
            len: self.s_payload_len.val().to_u64() as usize,
            flow: self.s_flow.val().to_u64(),
            restart: self.s_restart.val(),
            lose: self.s_lose.val(),
        }));
        self._window.pop_front();
        self._window.push_back(now);
        self._in_flight.push_back(out);
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
            name: "pdu_stream_aligner".into(),
            clock: "clock".into(),
            inputs: ["s_valid", "s_data", "s_sof", "s_offload", "s_payload_start", "s_payload_len", "s_flow", "s_restart", "s_lose"].map(String::from).to_vec(),
            outputs: STREAM_OUTPUTS.map(|(name, _)| name.to_string()).to_vec(),
        }]
    }
}

/// Stage A follows the frame one beat late and captures the window; B shifts by 8-byte
/// steps, C by bytes.
const VERILOG: &str = "
reg [511:0] win_1 = 512'd0;
reg late_valid = 1'b0, late_sof = 1'b0, late_offload = 1'b0, late_restart = 1'b0, late_lose = 1'b0;
reg [13:0] late_start = 14'd0, late_len = 14'd0;
reg [11:0] late_flow = 12'd0;
always @(posedge clock) begin
  win_1 <= s_data;
  late_valid <= s_valid; late_sof <= s_sof; late_offload <= s_offload; late_start <= s_payload_start;
  late_len <= s_payload_len; late_flow <= s_flow; late_restart <= s_restart; late_lose <= s_lose;
end
// The frame being streamed; a first beat brings its own settings.
reg frame_offload = 1'b0, frame_first = 1'b0, frame_restart = 1'b0, frame_lose = 1'b0;
reg [7:0] frame_skip = 8'd0;
reg [5:0] frame_shift = 6'd0;
reg [14:0] frame_left = 15'd0;
reg [11:0] frame_flow = 12'd0;
wire [13:0] start_back = late_start - 14'd23;
wire cur_offload = late_sof ? late_offload && start_back < 14'd16360 : frame_offload;
wire cur_first = late_sof ? 1'b1 : frame_first;
wire [7:0] cur_skip = late_sof ? start_back[13:6] : frame_skip;
wire [5:0] cur_shift = late_sof ? start_back[5:0] : frame_shift;
wire [14:0] cur_left = late_sof ? {1'b0, late_len} + 15'd23 : frame_left;
wire [11:0] cur_flow = late_sof ? late_flow : frame_flow;
wire cur_restart = late_sof ? late_restart : frame_restart;
wire cur_lose = late_sof ? late_lose : frame_lose;
wire [14:0] cur_walk = cur_left - 15'd23;
wire emit = cur_skip == 8'd0;
reg sa_valid = 1'b0, sa_first = 1'b0, sa_last = 1'b0, sa_restart = 1'b0, sa_lose = 1'b0;
reg [1023:0] sa_win = 1024'd0;
reg [5:0] sa_shift = 6'd0;
reg [6:0] sa_stop = 7'd0, sa_len = 7'd0;
reg [11:0] sa_flow = 12'd0;
always @(posedge clock) begin
  sa_valid <= late_valid && emit && cur_offload && cur_left != 15'd0;
  sa_win <= {s_data, win_1};
  sa_shift <= cur_shift; sa_first <= cur_first; sa_last <= cur_left <= 15'd64;
  sa_stop <= cur_left <= 15'd23 ? 7'd0 : cur_walk >= 15'd64 ? 7'd64 : cur_walk[6:0];
  sa_len <= cur_left >= 15'd64 ? 7'd64 : cur_left[6:0]; sa_flow <= cur_flow;
  sa_restart <= cur_first && cur_restart; sa_lose <= cur_first && cur_lose;
  if (late_valid) begin
    frame_offload <= cur_offload; frame_shift <= cur_shift; frame_flow <= cur_flow;
    frame_restart <= cur_restart; frame_lose <= cur_lose;
    frame_skip <= emit ? 8'd0 : cur_skip - 8'd1;
    frame_first <= cur_first && !emit;
    frame_left <= !emit ? cur_left : cur_left > 15'd64 ? cur_left - 15'd64 : 15'd0;
  end
end
reg sb_valid = 1'b0, sb_first = 1'b0, sb_last = 1'b0, sb_restart = 1'b0, sb_lose = 1'b0;
reg [575:0] sb_coarse = 576'd0;
reg [2:0] sb_shift = 3'd0;
reg [6:0] sb_stop = 7'd0, sb_len = 7'd0;
reg [11:0] sb_flow = 12'd0;
always @(posedge clock) begin
  sb_valid <= sa_valid; sb_first <= sa_first; sb_last <= sa_last; sb_shift <= sa_shift[2:0];
  sb_stop <= sa_stop; sb_len <= sa_len; sb_flow <= sa_flow; sb_restart <= sa_restart; sb_lose <= sa_lose;
  sb_coarse <= sa_win[sa_shift[5:3] * 64 +: 576];
end
initial begin m_valid = 1'b0; m_data = 512'd0; m_first = 1'b0; m_last = 1'b0; m_len = 7'd0; m_stop = 7'd0; m_flow = 12'd0; m_restart = 1'b0; m_lose = 1'b0; end
always @(posedge clock) begin
  m_valid <= sb_valid;
  m_data <= sb_coarse[sb_shift * 8 +: 512];
  m_first <= sb_first; m_last <= sb_last; m_len <= sb_len; m_stop <= sb_stop; m_flow <= sb_flow;
  m_restart <= sb_restart; m_lose <= sb_lose;
end
";
