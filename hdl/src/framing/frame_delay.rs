//! `PduFrameDelay`: delays the receive stream by a fixed `DELAY` cycles, longer than the
//! largest frame, and hands each frame's metadata (checksum verdicts, flow, sequence number,
//! lengths: whatever arrives while the frame passes the parser and the flow table) out with
//! the frame's first beat (framing/README.md, point 1). The tracker then decides at a frame's
//! first beat whether it may touch flow state, and never has to undo anything.
//!
//! Metadata comes one word per frame (`s_meta_valid`), in frame order, at any time from the
//! frame's first beat until `DELAY - 1` cycles after it; frames wait in a 256-entry data RAM
//! (block RAM) and their metadata in a 256-entry queue. `DELAY` = 160 cycles covers a 9,018-byte
//! frame (141 beats) plus 19 cycles of parser and flow-table latency.
//!
//! Latency `DELAY` clock edges. Throughput one beat per cycle.
use crate::bytes::{bits_from_lanes, lanes_from_bits};
use rust_hdl::prelude::*;
use std::collections::VecDeque;

pub const DELAY: usize = 160;
/// Metadata word width.
pub const META_BITS: usize = 128;

#[derive(LogicBlock)]
pub struct PduFrameDelay {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_data: Signal<In, Bits<512>>,
    pub s_sof: Signal<In, Bit>,
    pub s_eof: Signal<In, Bit>,
    /// Bytes of the beat (64 but on a last beat).
    pub s_len: Signal<In, Bits<7>>,
    pub s_meta_valid: Signal<In, Bit>,
    pub s_meta: Signal<In, Bits<META_BITS>>,
    pub m_valid: Signal<Out, Bit>,
    pub m_data: Signal<Out, Bits<512>>,
    pub m_sof: Signal<Out, Bit>,
    pub m_eof: Signal<Out, Bit>,
    pub m_len: Signal<Out, Bits<7>>,
    /// On a first beat: the frame's metadata.
    pub m_meta: Signal<Out, Bits<META_BITS>>,
    _line: VecDeque<Option<(Vec<u8>, bool, bool, u64)>>,
    _metas: VecDeque<Bits<META_BITS>>,
    _last_meta: Bits<META_BITS>,
}

impl PduFrameDelay {
    pub fn new() -> Self {
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_data: Default::default(),
            s_sof: Default::default(),
            s_eof: Default::default(),
            s_len: Default::default(),
            s_meta_valid: Default::default(),
            s_meta: Default::default(),
            m_valid: Default::default(),
            m_data: Default::default(),
            m_sof: Default::default(),
            m_eof: Default::default(),
            m_len: Default::default(),
            m_meta: Default::default(),
            _line: VecDeque::from(vec![None; DELAY - 1]),
            _metas: VecDeque::new(),
            _last_meta: Default::default(),
        }
    }
}

impl Default for PduFrameDelay {
    fn default() -> Self {
        Self::new()
    }
}

impl Logic for PduFrameDelay {
    fn update(&mut self) {
        if !self.clock.pos_edge() {
            return;
        }
        if self.s_meta_valid.val() {
            self._metas.push_back(self.s_meta.val());
        }
        self._line.push_back(self.s_valid.val().then(|| (lanes_from_bits(self.s_data.val()), self.s_sof.val(), self.s_eof.val(), self.s_len.val().to_u64())));
        match self._line.pop_front().expect("the line is never empty") {
            Some((data, sof, eof, len)) => {
                self.m_valid.next = true;
                self.m_data.next = bits_from_lanes(&data);
                self.m_sof.next = sof;
                self.m_eof.next = eof;
                self.m_len.next = len.into();
                if sof {
                    // The queue holds the word by contract; an empty one repeats the last.
                    self._last_meta = self._metas.pop_front().unwrap_or(self._last_meta);
                }
                self.m_meta.next = self._last_meta;
            }
            None => self.m_valid.next = false,
        }
    }

    fn connect(&mut self) {
        self.m_valid.connect();
        self.m_data.connect();
        self.m_sof.connect();
        self.m_eof.connect();
        self.m_len.connect();
        self.m_meta.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(VERILOG.replace("DELAY_M2", &(DELAY - 2).to_string()))
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "pdu_frame_delay".into(),
            clock: "clock".into(),
            inputs: ["s_valid", "s_data", "s_sof", "s_eof", "s_len", "s_meta_valid", "s_meta"].map(String::from).to_vec(),
            outputs: ["m_valid", "m_data", "m_sof", "m_eof", "m_len", "m_meta"].map(String::from).to_vec(),
        }]
    }
}

/// The line: every cycle one entry is written at `wr` and the entry written DELAY - 1 cycles
/// ago is read (registered read: DELAY edges in all). The metadata queue is read ahead into
/// `meta_next` so that frames of one beat can follow each other.
const VERILOG: &str = "
reg [521:0] line [0:255];
integer init_entry;
initial for (init_entry = 0; init_entry < 256; init_entry = init_entry + 1) line[init_entry] = 522'd0;
reg [7:0] wr = 8'd0;
wire [7:0] rd = wr - 8'dDELAY_M2;
reg [521:0] out_word = 522'd0;
always @(posedge clock) begin
  line[wr] <= {s_valid, s_sof, s_eof, s_len, s_data};
  wr <= wr + 8'd1;
  out_word <= line[rd];
end
reg [127:0] metas [0:255];
reg [7:0] meta_wr = 8'd0, meta_rd = 8'd0;
wire out_sof = out_word[521] && out_word[520];
always @(posedge clock) begin
  if (s_meta_valid) begin metas[meta_wr] <= s_meta; meta_wr <= meta_wr + 8'd1; end
  if (out_sof && meta_rd != meta_wr) meta_rd <= meta_rd + 8'd1;
end
initial begin m_valid = 1'b0; m_data = 512'd0; m_sof = 1'b0; m_eof = 1'b0; m_len = 7'd0; m_meta = 128'd0; end
always @(posedge clock) begin
  m_valid <= out_word[521];
  m_sof <= out_word[520]; m_eof <= out_word[519]; m_len <= out_word[518:512]; m_data <= out_word[511:0];
  if (out_sof && meta_rd != meta_wr) m_meta <= metas[meta_rd];
end
";
