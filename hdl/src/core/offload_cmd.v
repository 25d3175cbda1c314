// ddpnic_offload_cmd: the offload command engine (hdl/src/core/offload_cmd.v, instantiated by
// ddpnic_core). Takes one BAR0 command at a time from the command window and turns it into
// the tracker's flow writes (c_flow_*), resync confirmations (c_resync_*) and placement's
// control words (s_ctrl_*), and merges its own results with placement's events (m_event_*)
// into the event ring's port (ev_*).
//
// - ENABLE[0] clear: every command is answered as by a core without offload (FLOW_ADD,
//   FLOW_DEL, TAG_SETUP, TAG_TEARDOWN: status UNSUPPORTED; TAG_ENTRY, RESYNC: no event).
// - FLOW_ADD: the tuple as the NIC receives it (source = the remote end: ARG9..12, ARG4[31:16];
//   destination = the local end: ARG5..8, ARG4[15:0]); event FLOW_ADD ok once the tracker
//   took the write. FLOW_DEL: event FLOW_DEL ok FLOW_DEL_WAIT cycles after the tracker took
//   it, past every frame already inside the tracker and its placement (so no placement of
//   the flow follows the event).
// - TAG_SETUP: OP_SETUP, then the next `count` commands must be TAG_ENTRY (OP_ENTRY each);
//   any other command meanwhile, or a TAG_ENTRY outside a setup, is refused with CMD_ERROR
//   (status PROTOCOL, arg = opcode) and never reaches placement (whose control port would
//   take it for an entry). Event SETUP with placement's status, token = the setup's (setup
//   results leave placement in command order: a FIFO of tokens).
// - TAG_TEARDOWN: OP_TEARDOWN; event TEARDOWN_DONE (status 0) when placement reports the tag
//   done, or with placement's refusal status. Teardown results leave placement in the order
//   the tags' last writes finish, so the token is kept per tag (tok_mem).
// - RESYNC with ARG2 bit0: a one-cycle c_resync_* confirmation; no event.
// Throughput: a command every 3 cycles (placement's ready permitting); events: one every 2
// cycles from placement (token read), own events in between.
module ddpnic_offload_cmd #(
  parameter TAG_BITS = 16,
  parameter FLOW_DEL_WAIT = 511
) (
  input  wire         clk,
  input  wire         rst,
  input  wire         enable,
  input  wire         cmd_valid,
  output wire         cmd_ready,
  input  wire [7:0]   cmd_op,
  input  wire [15:0]  cmd_token,
  input  wire [511:0] cmd_args,
  output reg          ev_valid,
  input  wire         ev_ready,
  output reg  [7:0]   ev_kind,
  output reg  [7:0]   ev_status,
  output reg  [15:0]  ev_token,
  output reg  [31:0]  ev_arg,
  output reg          c_flow_valid,
  input  wire         c_flow_ready,
  output reg          c_flow_add,
  output reg  [11:0]  c_flow_id,
  output reg          c_flow_ipv6,
  output reg  [127:0] c_flow_src_addr,
  output reg  [127:0] c_flow_dst_addr,
  output reg  [15:0]  c_flow_src_port,
  output reg  [15:0]  c_flow_dst_port,
  output reg  [31:0]  c_flow_seq,
  output reg          c_flow_hdgst,
  output reg          c_flow_ddgst,
  output reg  [4:0]   c_flow_cpda,
  output reg          c_resync_valid,
  output reg  [11:0]  c_resync_flow,
  output reg  [31:0]  c_resync_seq,
  output reg          s_ctrl_valid,
  input  wire         s_ctrl_ready,
  (* fsm_encoding = "none" *) output reg [1:0] s_ctrl_op,  // not an FSM: a code placement decodes
  output reg  [15:0]  s_ctrl_tag,
  output reg  [11:0]  s_ctrl_flow,
  output reg  [15:0]  s_ctrl_cid,
  output reg  [23:0]  s_ctrl_base,
  output reg  [8:0]   s_ctrl_count,
  output reg  [63:0]  s_ctrl_addr,
  output reg  [31:0]  s_ctrl_len,
  input  wire         m_event_valid,
  output wire         m_event_ready,
  input  wire [1:0]   m_event_kind,
  input  wire [15:0]  m_event_tag,
  input  wire [3:0]   m_event_status
);
localparam [7:0] OP_FLOW_ADD = 8'd%OP_FLOW_ADD%, OP_FLOW_DEL = 8'd%OP_FLOW_DEL%, OP_TAG_SETUP = 8'd%OP_TAG_SETUP%,
                 OP_TAG_ENTRY = 8'd%OP_TAG_ENTRY%, OP_TAG_TEARDOWN = 8'd%OP_TAG_TEARDOWN%, OP_RESYNC = 8'd%OP_RESYNC%;
localparam [7:0] EV_FLOW_ADD = 8'd%EV_FLOW_ADD%, EV_FLOW_DEL = 8'd%EV_FLOW_DEL%, EV_SETUP = 8'd%EV_SETUP%,
                 EV_TEARDOWN_DONE = 8'd%EV_TEARDOWN_DONE%, EV_CMD_ERROR = 8'd%EV_CMD_ERROR%;
localparam [7:0] EVS_UNSUPPORTED = 8'd%EVS_UNSUPPORTED%, EVS_BAD_OPCODE = 8'd%EVS_BAD_OPCODE%, EVS_PROTOCOL = 8'd%EVS_PROTOCOL%;
wire [31:0] a0 = cmd_args[31:0], a1 = cmd_args[63:32], a2 = cmd_args[95:64], a3 = cmd_args[127:96], a4 = cmd_args[159:128];
wire [127:0] a_local = cmd_args[287:160], a_remote = cmd_args[415:288];
wire unused_args = &{1'b0, cmd_args[511:416]};

// The engine's own event (one at a time) and the FLOW_DEL wait.
reg         own_v;
reg  [7:0]  own_kind, own_status;
reg  [15:0] own_token;
reg  [31:0] own_arg;
reg  [15:0] cur_token;
reg         del_wait;
reg  [9:0]  del_cnt;
reg  [8:0]  ent_left;        // TAG_ENTRY commands the open setup still expects

// Setup tokens, in command order (32 deep; a setup waits while it is full).
reg  [15:0] st_fifo [0:31];
reg  [5:0]  st_wr, st_rd;
// Registered and conservative (30 of 32): commands are taken at least 3 cycles apart.
reg         st_full;
wire [5:0]  st_used = st_wr - st_rd;
// Teardown tokens by tag.
(* ram_style = "ultra" *) reg [15:0] tok_mem [0:(1 << TAG_BITS) - 1];

// The opcode, decoded one cycle after the command appears (CMD_OP is stable while it is
// pending), so the take and the loads behind it are shallow; a command waits while the
// engine's own event or any event waits for the ring (a full ring stalls the window).
reg         armed;
reg         d_add, d_del, d_setup, d_entry, d_teardown, d_resync;
wire        d_known = d_add || d_del || d_setup || d_entry || d_teardown || d_resync;
wire idle = !own_v && !ev_valid && !c_flow_valid && !s_ctrl_valid && !del_wait && !st_full;
assign cmd_ready = idle && armed;
wire take = cmd_valid && armed && idle;
reg  in_setup;                  // ent_left != 0, kept as a register

// Token writes, one cycle after the take (their results come back several cycles later).
reg         tok_we, st_we;
reg  [TAG_BITS-1:0] tok_wa;
reg  [4:0]  st_wa;
reg  [15:0] tok_wd;
always @(posedge clk) begin
  armed <= cmd_valid && !take && !rst;
  d_add <= cmd_op == OP_FLOW_ADD; d_del <= cmd_op == OP_FLOW_DEL; d_setup <= cmd_op == OP_TAG_SETUP;
  d_entry <= cmd_op == OP_TAG_ENTRY; d_teardown <= cmd_op == OP_TAG_TEARDOWN; d_resync <= cmd_op == OP_RESYNC;
  tok_we <= take && enable && d_teardown && !in_setup;
  st_we <= take && enable && d_setup && !in_setup;
  tok_wa <= cmd_args[TAG_BITS - 1:0]; st_wa <= st_wr[4:0]; tok_wd <= cmd_token;
  st_full <= st_used >= 6'd30 && !rst;
  if (tok_we) tok_mem[tok_wa] <= tok_wd;
  if (st_we) st_fifo[st_wa] <= tok_wd;
end

// Placement's events: stage p (token read), then the event register.
reg         p_v;
reg  [1:0]  p_kind;
reg  [15:0] p_tag;
reg  [3:0]  p_status;
reg  [15:0] p_tok;
assign m_event_ready = !p_v;
// Kinds 2 (teardown done) and 3 (refused: teardown statuses) both become TEARDOWN_DONE.
wire unused_kind = &{1'b0, p_kind[0]};
wire        ev_free = !ev_valid || ev_ready;

always @(posedge clk) begin
  if (!p_v) p_tok <= tok_mem[m_event_tag[TAG_BITS - 1:0]];
  c_resync_valid <= 1'b0;
  if (rst) begin
    own_v <= 1'b0; own_kind <= 8'd0; own_status <= 8'd0; own_token <= 16'd0; own_arg <= 32'd0; cur_token <= 16'd0;
    del_wait <= 1'b0; del_cnt <= 10'd0; ent_left <= 9'd0; in_setup <= 1'b0; st_wr <= 6'd0; st_rd <= 6'd0;
    c_flow_valid <= 1'b0; s_ctrl_valid <= 1'b0; p_v <= 1'b0; ev_valid <= 1'b0;
    c_resync_flow <= 12'd0; c_resync_seq <= 32'd0;
    ev_kind <= 8'd0; ev_status <= 8'd0; ev_token <= 16'd0; ev_arg <= 32'd0;
    p_kind <= 2'd0; p_tag <= 16'd0; p_status <= 4'd0;
    c_flow_add <= 1'b0; c_flow_id <= 12'd0; c_flow_ipv6 <= 1'b0; c_flow_src_addr <= 128'd0; c_flow_dst_addr <= 128'd0;
    c_flow_src_port <= 16'd0; c_flow_dst_port <= 16'd0; c_flow_seq <= 32'd0; c_flow_hdgst <= 1'b0; c_flow_ddgst <= 1'b0;
    c_flow_cpda <= 5'd0; s_ctrl_op <= 2'd0; s_ctrl_tag <= 16'd0; s_ctrl_flow <= 12'd0; s_ctrl_cid <= 16'd0;
    s_ctrl_base <= 24'd0; s_ctrl_count <= 9'd0; s_ctrl_addr <= 64'd0; s_ctrl_len <= 32'd0;
  end else begin
    // ---- Commands.
    if (take) begin
      cur_token <= cmd_token;
      own_token <= cmd_token;
      own_arg <= a0;
      own_status <= 8'd0;
      if (!enable) begin
        own_status <= EVS_UNSUPPORTED;
        own_v <= 1'b1;
        if (d_add) own_kind <= EV_FLOW_ADD;
        else if (d_del) own_kind <= EV_FLOW_DEL;
        else if (d_setup) own_kind <= EV_SETUP;
        else if (d_teardown) own_kind <= EV_TEARDOWN_DONE;
        else if (d_entry || d_resync) own_v <= 1'b0;
        else begin own_kind <= EV_CMD_ERROR; own_status <= EVS_BAD_OPCODE; own_arg <= {24'd0, cmd_op}; end
      end else if (in_setup != d_entry) begin
        own_v <= 1'b1; own_kind <= EV_CMD_ERROR; own_arg <= {24'd0, cmd_op};
        own_status <= d_known ? EVS_PROTOCOL : EVS_BAD_OPCODE;
      end else begin
        if (d_add || d_del) begin
          c_flow_valid <= 1'b1;
          c_flow_add <= d_add;
          c_flow_id <= a0[11:0];
          c_flow_ipv6 <= a1[0];
          c_flow_hdgst <= a1[1];
          c_flow_ddgst <= a1[2];
          c_flow_cpda <= a1[12:8];
          c_flow_seq <= a3;
          c_flow_dst_port <= a4[15:0];
          c_flow_src_port <= a4[31:16];
          c_flow_dst_addr <= a_local;
          c_flow_src_addr <= a_remote;
        end else if (d_setup) begin
          s_ctrl_valid <= 1'b1; s_ctrl_op <= 2'd1;
          s_ctrl_tag <= a0[15:0]; s_ctrl_flow <= a1[11:0]; s_ctrl_cid <= a2[15:0];
          s_ctrl_base <= a3[23:0]; s_ctrl_count <= a4[8:0];
          ent_left <= a4[8:0];
          in_setup <= a4[8:0] != 9'd0;
          st_wr <= st_wr + 6'd1;
        end else if (d_entry) begin
          s_ctrl_valid <= 1'b1; s_ctrl_op <= 2'd2;
          s_ctrl_addr <= {a1, a0}; s_ctrl_len <= a2;
          ent_left <= ent_left - 9'd1;
          in_setup <= ent_left != 9'd1;
        end else if (d_teardown) begin
          s_ctrl_valid <= 1'b1; s_ctrl_op <= 2'd3; s_ctrl_tag <= a0[15:0];
        end else if (d_resync) begin
          c_resync_valid <= a2[0]; c_resync_flow <= a0[11:0]; c_resync_seq <= a1;
        end else begin
          own_v <= 1'b1; own_kind <= EV_CMD_ERROR; own_status <= EVS_BAD_OPCODE; own_arg <= {24'd0, cmd_op};
        end
      end
    end
    if (s_ctrl_valid && s_ctrl_ready) s_ctrl_valid <= 1'b0;
    if (c_flow_valid && c_flow_ready) begin
      c_flow_valid <= 1'b0;
      own_token <= cur_token; own_arg <= {20'd0, c_flow_id}; own_status <= 8'd0;
      if (c_flow_add) begin own_v <= 1'b1; own_kind <= EV_FLOW_ADD; end
      else begin del_wait <= 1'b1; del_cnt <= FLOW_DEL_WAIT[9:0]; end
    end
    if (del_wait) begin
      del_cnt <= del_cnt - 10'd1;
      if (del_cnt == 10'd0) begin del_wait <= 1'b0; own_v <= 1'b1; own_kind <= EV_FLOW_DEL; end
    end
    // ---- Events: the engine's own first, then placement's.
    if (!p_v && m_event_valid) begin
      p_v <= 1'b1; p_kind <= m_event_kind; p_tag <= m_event_tag; p_status <= m_event_status;
    end
    if (ev_free) begin
      ev_valid <= own_v || p_v;
      if (own_v) begin
        own_v <= 1'b0;
        ev_kind <= own_kind; ev_status <= own_status; ev_token <= own_token; ev_arg <= own_arg;
      end else if (p_v) begin
        p_v <= 1'b0;
        ev_kind <= p_kind[1] ? EV_TEARDOWN_DONE : EV_SETUP;
        ev_status <= {4'd0, p_status};
        ev_arg <= {16'd0, p_tag};
        ev_token <= p_kind[1] ? p_tok : st_fifo[st_rd[4:0]];
        if (!p_kind[1]) st_rd <= st_rd + 6'd1;
      end
    end
  end
end
endmodule
