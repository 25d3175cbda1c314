//! `PduSeqGate`: decides, for every frame of an offloaded flow, which of its TCP payload
//! bytes the tracker walks (framing/README.md): the bytes it has not walked before, in
//! sequence order. Per flow it keeps the next expected sequence number `E`:
//!
//! - `seq == E`: the whole payload; on the first such frame after sk_add, `m_restart` (the
//!   flow's first PDU starts at the stream's lane 23).
//! - `seq > E` (a gap): the whole payload with `m_lose` (bytes are missing: resync); a gap
//!   before the first in-sequence frame after sk_add means no restart until the next sk_add.
//! - `seq < E < seq + len` (an overlap): only the bytes from `E` on (`m_start` moves); the
//!   first such frame after sk_add restarts too, as its stream starts at `E`.
//! - `seq + len <= E` (old bytes: a retransmission or a duplicate): nothing.
//!
//! and `E` becomes `max(E, seq + len)` in sequence space (wraparound is fine). Frames that are
//! not offloadable (checksums, no payload) and frames of other flows pass untouched. Flows
//! are added and deleted through the control port, which takes a word in any cycle without
//! a frame start and is ordered with the frames around it.
//!
//! `E` lives in a RAM per flow; a frame whose flow had a frame (or control word) 1 or 2 cycles
//! before takes `E` from the loop register or the one behind it (chosen from flow ids on
//! entry). The beats pass through with the decision on the frame's first beat.
//!
//! Latency `LATENCY` = 3 clock edges. Throughput one beat per cycle, a frame per cycle.
use crate::bytes::{bits_from_lanes, lanes_from_bits};
use rust_hdl::prelude::*;
use std::collections::{HashMap, VecDeque};

#[derive(LogicBlock)]
pub struct PduSeqGate {
    pub clock: Signal<In, Clock>,
    pub s_valid: Signal<In, Bit>,
    pub s_data: Signal<In, Bits<512>>,
    pub s_sof: Signal<In, Bit>,
    /// On a first beat: the frame's flow is known (flow table hit) ...
    pub s_flow_valid: Signal<In, Bit>,
    pub s_flow: Signal<In, Bits<12>>,
    /// ... and it may be offloaded (TCP, checksums right, FCS good).
    pub s_offloadable: Signal<In, Bit>,
    pub s_seq: Signal<In, Bits<32>>,
    pub s_payload_start: Signal<In, Bits<14>>,
    pub s_payload_len: Signal<In, Bits<14>>,
    /// Control: add (`c_add`, next PDU at `c_seq`) or delete a flow.
    pub c_valid: Signal<In, Bit>,
    pub c_ready: Signal<Out, Bit>,
    pub c_add: Signal<In, Bit>,
    pub c_flow: Signal<In, Bits<12>>,
    pub c_seq: Signal<In, Bits<32>>,
    pub m_valid: Signal<Out, Bit>,
    pub m_data: Signal<Out, Bits<512>>,
    pub m_sof: Signal<Out, Bit>,
    pub m_flow: Signal<Out, Bits<12>>,
    /// On a first beat: stream `m_len` bytes from frame offset `m_start`.
    pub m_offload: Signal<Out, Bit>,
    pub m_start: Signal<Out, Bits<14>>,
    pub m_len: Signal<Out, Bits<14>>,
    pub m_restart: Signal<Out, Bit>,
    pub m_lose: Signal<Out, Bit>,
    _flows: HashMap<u64, Context>,
    _in_flight: VecDeque<Option<Decided>>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Context {
    added: bool,
    restart_pending: bool,
    expected: u32,
}

#[derive(Clone, Debug)]
struct Decided {
    data: Vec<u8>,
    sof: bool,
    flow: u64,
    offload: bool,
    start: u64,
    len: u64,
    restart: bool,
    lose: bool,
}

impl PduSeqGate {
    pub const LATENCY: usize = 3;

    pub fn new() -> Self {
        Self {
            clock: Default::default(),
            s_valid: Default::default(),
            s_data: Default::default(),
            s_sof: Default::default(),
            s_flow_valid: Default::default(),
            s_flow: Default::default(),
            s_offloadable: Default::default(),
            s_seq: Default::default(),
            s_payload_start: Default::default(),
            s_payload_len: Default::default(),
            c_valid: Default::default(),
            c_ready: Default::default(),
            c_add: Default::default(),
            c_flow: Default::default(),
            c_seq: Default::default(),
            m_valid: Default::default(),
            m_data: Default::default(),
            m_sof: Default::default(),
            m_flow: Default::default(),
            m_offload: Default::default(),
            m_start: Default::default(),
            m_len: Default::default(),
            m_restart: Default::default(),
            m_lose: Default::default(),
            _flows: HashMap::new(),
            _in_flight: VecDeque::from(vec![None; Self::LATENCY - 1]),
        }
    }

    /// The decision for a frame's first beat, updating the flow's context.
    fn decide(&mut self, flow: u64, seq: u32, start: u64, len: u64) -> (bool, u64, u64, bool, bool) {
        let ctx = self._flows.entry(flow).or_default();
        if !ctx.added || len == 0 {
            return (false, start, len, false, false);
        }
        let end = seq.wrapping_add(len as u32);
        let gap = seq.wrapping_sub(ctx.expected) as i32;
        let fresh = end.wrapping_sub(ctx.expected) as i32;
        let decision = if gap >= 0 {
            // Only a stream that starts at the sk_add sequence number restarts; after a gap
            // the flow resynchronises through the walk's search.
            let restart = gap == 0 && ctx.restart_pending;
            ctx.restart_pending = false;
            (true, start, len, restart, gap > 0)
        } else if fresh > 0 {
            // The stream starts at E here too: the first such frame after sk_add restarts.
            let restart = ctx.restart_pending;
            ctx.restart_pending = false;
            let seen = u64::from(ctx.expected.wrapping_sub(seq));
            (true, (start + seen) & 0x3FFF, len - seen, restart, false)
        } else {
            (false, start, len, false, false)
        };
        if fresh > 0 {
            ctx.expected = end;
        }
        decision
    }
}

impl Default for PduSeqGate {
    fn default() -> Self {
        Self::new()
    }
}

impl Logic for PduSeqGate {
    fn update(&mut self) {
        self.c_ready.next = !(self.s_valid.val() && self.s_sof.val());
        if !self.clock.pos_edge() {
            return;
        }
        let frame_start = self.s_valid.val() && self.s_sof.val();
        if !frame_start && self.c_valid.val() {
            let ctx = self._flows.entry(self.c_flow.val().to_u64()).or_default();
            *ctx = if self.c_add.val() { Context { added: true, restart_pending: true, expected: self.c_seq.val().to_u32() } } else { Context::default() };
        }
        let out = self.s_valid.val().then(|| {
            let flow = self.s_flow.val().to_u64();
            let (start, len) = (self.s_payload_start.val().to_u64(), self.s_payload_len.val().to_u64());
            let (offload, start, len, restart, lose) = if frame_start && self.s_flow_valid.val() && self.s_offloadable.val() {
                self.decide(flow, self.s_seq.val().to_u32(), start, len)
            } else {
                (false, start, len, false, false)
            };
            Decided { data: lanes_from_bits(self.s_data.val()), sof: self.s_sof.val(), flow, offload, start, len, restart, lose }
        });
        self._in_flight.push_back(out);
        match self._in_flight.pop_front().expect("pipeline is never empty") {
            Some(o) => {
                self.m_valid.next = true;
                self.m_data.next = bits_from_lanes(&o.data);
                self.m_sof.next = o.sof;
                self.m_flow.next = o.flow.into();
                self.m_offload.next = o.offload;
                self.m_start.next = o.start.into();
                self.m_len.next = o.len.into();
                self.m_restart.next = o.restart;
                self.m_lose.next = o.lose;
            }
            None => self.m_valid.next = false,
        }
    }

    fn connect(&mut self) {
        self.c_ready.connect();
        self.m_valid.connect();
        self.m_data.connect();
        self.m_sof.connect();
        self.m_flow.connect();
        self.m_offload.connect();
        self.m_start.connect();
        self.m_len.connect();
        self.m_restart.connect();
        self.m_lose.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(VERILOG.into())
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "pdu_seq_gate".into(),
            clock: "clock".into(),
            inputs: ["s_valid", "s_data", "s_sof", "s_flow_valid", "s_flow", "s_offloadable", "s_seq", "s_payload_start", "s_payload_len", "c_valid", "c_add", "c_flow", "c_seq"].map(String::from).to_vec(),
            outputs: ["c_ready", "m_valid", "m_data", "m_sof", "m_flow", "m_offload", "m_start", "m_len", "m_restart", "m_lose"].map(String::from).to_vec(),
        }]
    }
}

/// Entry: an event (a frame start that may stream, or a control word), the RAM read, and which
/// younger event of the same flow holds its context. Loop: the context and the decision.
/// Then the stream's start and length.
const VERILOG: &str = "
// Context word: {added, restart pending, E}.
reg [33:0] ctx_ram [0:4095];
integer init_flow;
initial for (init_flow = 0; init_flow < 4096; init_flow = init_flow + 1) ctx_ram[init_flow] = 34'd0;
wire frame_start = s_valid && s_sof;
wire ctl = c_valid && !frame_start;
assign c_ready = !frame_start;
wire [11:0] ev_flow = frame_start ? s_flow : c_flow;
wire ev = ctl || (frame_start && s_flow_valid);
reg prev1_ev = 1'b0, prev2_ev = 1'b0;
reg [11:0] prev1_flow = 12'd0, prev2_flow = 12'd0;
reg e1_valid = 1'b0, e1_sof = 1'b0, e1_frame = 1'b0, e1_ctl = 1'b0, e1_add = 1'b0, e1_from1 = 1'b0, e1_from2 = 1'b0;
reg [511:0] e1_data = 512'd0;
reg [11:0] e1_flow = 12'd0, e1_beat_flow = 12'd0;
reg [31:0] e1_seq = 32'd0, e1_end = 32'd0, e1_cseq = 32'd0;
reg [13:0] e1_start = 14'd0, e1_len = 14'd0;
reg [33:0] e1_ram = 34'd0;
always @(posedge clock) begin
  prev1_ev <= ev; prev1_flow <= ev_flow; prev2_ev <= prev1_ev; prev2_flow <= prev1_flow;
  e1_valid <= s_valid; e1_sof <= s_sof; e1_data <= s_data; e1_flow <= ev_flow; e1_beat_flow <= s_flow;
  e1_frame <= frame_start && s_flow_valid && s_offloadable && s_payload_len != 14'd0;
  e1_ctl <= ctl; e1_add <= c_add; e1_cseq <= c_seq;
  e1_seq <= s_seq; e1_end <= s_seq + {18'd0, s_payload_len};
  e1_start <= s_payload_start; e1_len <= s_payload_len;
  e1_ram <= ctx_ram[ev_flow];
  e1_from1 <= prev1_ev && prev1_flow == ev_flow;
  e1_from2 <= prev2_ev && prev2_flow == ev_flow;
end
// The loop: the flow's context, the decision, the new context.
reg [33:0] ctx = 34'd0, ctx_prev = 34'd0;
wire [33:0] ctx_in = e1_from1 ? ctx : e1_from2 ? ctx_prev : e1_ram;
wire added = ctx_in[33];
wire [31:0] expected = ctx_in[31:0];
wire [31:0] gap = e1_seq - expected;
wire [31:0] fresh = e1_end - expected;
wire fresh_pos = !fresh[31] && fresh != 32'd0;
wire stream = e1_frame && added && (!gap[31] || fresh_pos);
// The first frame after sk_add whose stream starts at E: in sequence, or overlapping E.
wire restart = e1_frame && added && ctx_in[32] && (gap == 32'd0 || (gap[31] && fresh_pos));
reg e2_valid = 1'b0, e2_sof = 1'b0, e2_offload = 1'b0, e2_restart = 1'b0, e2_lose = 1'b0, e2_overlap = 1'b0;
reg [511:0] e2_data = 512'd0;
reg [11:0] e2_flow = 12'd0;
reg [13:0] e2_start = 14'd0, e2_len = 14'd0, e2_seen = 14'd0;
reg ram_write = 1'b0;
reg [11:0] ram_flow = 12'd0;
always @(posedge clock) begin
  ctx_prev <= ctx;
  if (e1_ctl) ctx <= e1_add ? {2'b11, e1_cseq} : 34'd0;
  else if (e1_frame && added && fresh_pos) ctx <= {1'b1, 1'b0, e1_end};
  else ctx <= ctx_in;
  ram_write <= e1_ctl || e1_frame; ram_flow <= e1_flow;
  if (ram_write) ctx_ram[ram_flow] <= ctx;
  e2_valid <= e1_valid; e2_sof <= e1_sof; e2_data <= e1_data; e2_flow <= e1_beat_flow;
  e2_offload <= stream; e2_restart <= restart; e2_lose <= stream && !gap[31] && gap != 32'd0;
  e2_overlap <= stream && gap[31];
  e2_start <= e1_start; e2_len <= e1_len; e2_seen <= expected[13:0] - e1_seq[13:0];
end
initial begin m_valid = 1'b0; m_data = 512'd0; m_sof = 1'b0; m_flow = 12'd0; m_offload = 1'b0; m_start = 14'd0; m_len = 14'd0; m_restart = 1'b0; m_lose = 1'b0; end
always @(posedge clock) begin
  m_valid <= e2_valid; m_data <= e2_data; m_sof <= e2_sof; m_flow <= e2_flow;
  m_offload <= e2_offload; m_restart <= e2_restart; m_lose <= e2_lose;
  m_start <= e2_overlap ? e2_start + e2_seen : e2_start;
  m_len <= e2_overlap ? e2_len - e2_seen : e2_len;
end
";
