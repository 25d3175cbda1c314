// ddpnic_place_write: placement's DMA segments -> AXI4 write bursts on the write arbiter's
// client 3 (hdl/src/core/place_write.v, instantiated by ddpnic_core).
//
// Input: DmaWriter's beats (m_dma_*: data + up to 4 segments of 1..64 bytes at a lane, host
// address, sop/eop; a write = the segments from a sop to an eop, <= MPS bytes, contiguous,
// never across an MPS-aligned address, hence never across 4 KiB) and its teardown tokens
// (m_done_*). Nothing here may stall placement, so every such beat goes into a 512-entry
// FIFO; `busy` tells the core to stop presenting beats to placement while the FIFO plus the
// beats already inside placement (PLACE_LATENCY cycles of `present`) leave less than MARGIN
// entries (the margin covers tokens that ride on no presented beat and the registered flag).
//
// Behind the FIFO, one segment a cycle: X selects it, Y computes its byte masks and rotation,
// Z rotates the data so lane `lane` lands at byte `addr % 64` (and the bytes past 64 wrap to
// the next AXI beat), M merges into the AXI beat being built and pushes finished beats into
// the beat FIFO (wbuf), and a write's {address, beats - 1} into the descriptor FIFO once its
// last beat is in. A segment whose bytes cross into the next AXI beat and end the write costs
// one extra cycle (two beats pushed). Full contiguous traffic: 1 + 1/4 segments per placed beat
// at MPS 256, so placement at line rate is absorbed by the FIFO and refused (counted by the
// core) only when it is sustained longer than the FIFO.
// The arbiter side: pl_req while a descriptor waits, pl_wdata/wstrb from wbuf's show-ahead
// register, one beat per pl_wtake; pl_done counts writes finished. A teardown token is
// returned to the tag table (s_done_*) only once every write pushed up to its beat has been
// sent on the AXI W channel, so TEARDOWN_DONE never precedes a write of the tag. The ring
// writer orders completions the same way (e_pushed/e_done/d_total/d_granted): a frame's
// completion is issued only after every write of the entries pushed before its last beat
// was granted, so (one AXI ID, in-order writes) its placed data lands before it.
module ddpnic_place_write #(
  parameter PLACE_LATENCY = 15,
  parameter MARGIN = 32
) (
  input  wire         clk,
  input  wire         rst,
  input  wire         present,
  output reg          busy,
  input  wire         m_dma_valid,
  input  wire [511:0] m_dma_data,
  input  wire [3:0]   m_dma_seg_valid,
  input  wire [255:0] m_dma_seg_addr,
  input  wire [27:0]  m_dma_seg_count,
  input  wire [23:0]  m_dma_seg_lane,
  input  wire [3:0]   m_dma_seg_sop,
  input  wire [3:0]   m_dma_seg_eop,
  input  wire         m_done_valid,
  input  wire [15:0]  m_done_tag,
  output reg          s_done_valid,
  output reg  [15:0]  s_done_tag,
  output wire         pl_req,
  output wire [63:0]  pl_addr,
  output wire [7:0]   pl_len,
  input  wire         pl_gnt,
  output wire         pl_wvalid,
  output wire [511:0] pl_wdata,
  output wire [63:0]  pl_wstrb,
  input  wire         pl_wtake,
  input  wire         pl_done,
  // Completion ordering (the rx ring writer): entries pushed so far; entries fully through
  // M; descriptors pushed (counting one still due from `hold`); descriptors granted.
  output reg  [15:0]  e_pushed,
  output reg  [15:0]  e_done,
  output wire [15:0]  d_total,
  output reg  [15:0]  d_granted
);
// ---- Input FIFO (entry bits: data [511:0], segment valid [515:512], addresses [771:516],
// counts [799:772], lanes [823:800], sop [827:824], eop [831:828], token tag, token valid):
// {token valid, token tag, eop[4], sop[4], lane[24], count[28], addr[256], valid[4], data[512]}.
localparam [10:0] LIMIT = 11'd512 - MARGIN;
localparam IW = 1 + 16 + 4 + 4 + 24 + 28 + 256 + 4 + 512;
(* ram_style = "block" *) reg [IW-1:0] imem [0:511];
reg  [9:0]  i_wr, i_rd;
reg  [PLACE_LATENCY-1:0] pres_sr;
reg  [5:0]  inflight;
wire        i_push = m_dma_valid || m_done_valid;
always @(posedge clk) begin
  if (i_push) imem[i_wr[8:0]] <= {m_done_valid, m_done_tag, m_dma_seg_eop, m_dma_seg_sop, m_dma_seg_lane, m_dma_seg_count,
                                   m_dma_seg_addr, m_dma_valid ? m_dma_seg_valid : 4'd0, m_dma_data};
  pres_sr <= {pres_sr[PLACE_LATENCY-2:0], present && !rst};
  if (rst) begin
    i_wr <= 10'd0; inflight <= 6'd0; busy <= 1'b1; pres_sr <= {PLACE_LATENCY{1'b0}}; e_pushed <= 16'd0;
  end else begin
    if (i_push) begin i_wr <= i_wr + 10'd1; e_pushed <= e_pushed + 16'd1; end
    inflight <= inflight + {5'd0, present} - {5'd0, pres_sr[PLACE_LATENCY-1]};
    busy <= ({1'b0, i_wr - i_rd} + {5'd0, inflight}) >= LIMIT;
  end
end

// ---- Show-ahead entry e, and the segment index within it.
reg         e_v;
reg  [IW-1:0] e;
reg  [1:0]  si;
wire        adv;                       // the X..M pipeline moves
wire [3:0]  e_segv = e[515:512];
// Segments of e after si (valid segments are 0..n-1).
wire [3:0]  e_after = e_segv & ~((4'd2 << si) - 4'd1);
wire        e_last_seg = e_after == 4'd0;
wire        x_take = adv && e_v;           // issues segment si (or a token-only entry)
wire        e_pop = x_take && e_last_seg;
wire        i_re = (i_rd != i_wr) && (!e_v || e_pop);
always @(posedge clk) if (i_re) e <= imem[i_rd[8:0]];
always @(posedge clk) begin
  if (rst) begin
    e_v <= 1'b0; i_rd <= 10'd0; si <= 2'd0;
  end else begin
    e_v <= i_re || (e_v && !e_pop);
    if (i_re) i_rd <= i_rd + 10'd1;
    if (e_pop) si <= 2'd0;
    else if (x_take) si <= si + 2'd1;
  end
end

// ---- X: the segment.
reg         x_v, x_seg, x_sop, x_eop, x_tok, x_eend;
reg  [15:0] x_tok_tag;
reg  [57:0] x_beat;                    // addr[63:6]
reg  [5:0]  x_off, x_lane;
reg  [6:0]  x_cnt;
reg  [511:0] x_data;
always @(posedge clk) begin
  if (rst) x_v <= 1'b0;
  else if (adv) begin
    x_v <= e_v;
    x_seg <= e_segv[si];
    case (si)
      2'd0: begin x_beat <= e[516 + 6 +: 58]; x_off <= e[516 +: 6]; x_cnt <= e[772 +: 7]; x_lane <= e[800 +: 6]; x_sop <= e[824]; x_eop <= e[828]; end
      2'd1: begin x_beat <= e[580 + 6 +: 58]; x_off <= e[580 +: 6]; x_cnt <= e[779 +: 7]; x_lane <= e[806 +: 6]; x_sop <= e[825]; x_eop <= e[829]; end
      2'd2: begin x_beat <= e[644 + 6 +: 58]; x_off <= e[644 +: 6]; x_cnt <= e[786 +: 7]; x_lane <= e[812 +: 6]; x_sop <= e[826]; x_eop <= e[830]; end
      default: begin x_beat <= e[708 + 6 +: 58]; x_off <= e[708 +: 6]; x_cnt <= e[793 +: 7]; x_lane <= e[818 +: 6]; x_sop <= e[827]; x_eop <= e[831]; end
    endcase
    x_tok <= e[IW-1] && e_last_seg;
    x_eend <= e_last_seg;
    x_tok_tag <= e[IW-2 -: 16];
    x_data <= e[511:0];
  end
end

// ---- Y: masks (bytes of the first AXI beat, bytes wrapping into the next), rotation.
reg         y_v, y_seg, y_sop, y_eop, y_tok, y_full, y_cross, y_eend;
reg  [15:0] y_tok_tag;
reg  [57:0] y_beat;
reg  [5:0]  y_rot;
reg  [63:0] y_m1, y_m2;
reg  [511:0] y_data;
wire [6:0]  x_end = {1'b0, x_off} + x_cnt;
integer p;
always @(posedge clk) begin
  if (rst) y_v <= 1'b0;
  else if (adv) begin
    y_v <= x_v; y_seg <= x_seg; y_eend <= x_eend; y_sop <= x_sop; y_eop <= x_eop; y_tok <= x_tok; y_tok_tag <= x_tok_tag;
    y_beat <= x_beat; y_data <= x_data;
    y_rot <= x_lane - x_off;
    y_full <= x_end >= 7'd64;
    y_cross <= x_end > 7'd64;
    for (p = 0; p < 64; p = p + 1) begin
      y_m1[p] <= (p[6:0] >= {1'b0, x_off}) && (p[6:0] < x_end);
      y_m2[p] <= (p[6:0] + 7'd64) < x_end;
    end
  end
end

// ---- Z: the data rotated (output byte q = input byte (q + rot) mod 64).
reg         z_v, z_seg, z_sop, z_eop, z_tok, z_full, z_cross, z_eend;
reg  [15:0] z_tok_tag;
reg  [57:0] z_beat;
reg  [63:0] z_m1, z_m2;
reg  [511:0] z_data;
wire [1023:0] y_twice = {y_data, y_data};
always @(posedge clk) begin
  if (rst) z_v <= 1'b0;
  else if (adv) begin
    z_v <= y_v; z_seg <= y_seg; z_eend <= y_eend; z_sop <= y_sop; z_eop <= y_eop; z_tok <= y_tok; z_tok_tag <= y_tok_tag;
    z_beat <= y_beat; z_m1 <= y_m1; z_m2 <= y_m2; z_full <= y_full; z_cross <= y_cross;
    z_data <= y_twice[{1'b0, y_rot, 3'd0} +: 512];
  end
end

function [511:0] bytes_to_bits(input [63:0] m);
  integer b;
  for (b = 0; b < 64; b = b + 1) bytes_to_bits[8 * b +: 8] = {8{m[b]}};
endfunction

// ---- M: merge into the AXI beat being built (cur), push finished beats and descriptors.
reg         cur_v;
reg  [511:0] cur_data;
reg  [63:0] cur_strb;
reg         hold;                      // the segment's wrapped bytes end the write: push them next cycle
reg  [57:0] w_first;                   // the open write's first AXI beat
reg  [7:0]  w_beats;                   // beats of the open write pushed so far
reg  [15:0] d_pushed;                  // descriptors pushed (free running)
(* ram_style = "block" *) reg [575:0] wmem [0:511];
reg  [9:0]  b_wr, b_rd;
reg  [65:0] dq [0:63];                 // {beats - 1 [7:0], first beat [57:0]}
reg  [6:0]  dq_wr, dq_rd;
reg         room;
assign adv = !hold && room;
wire        z_go = z_v && adv;
wire        z_s = z_go && z_seg;
wire [511:0] mg_data = (cur_v ? (cur_data & ~bytes_to_bits(z_m1)) : 512'd0) | (z_data & bytes_to_bits(z_m1));
wire [63:0] mg_strb = (cur_v ? cur_strb : 64'd0) | z_m1;
wire [57:0] wf = z_sop ? z_beat : w_first;
wire [7:0]  wb = z_sop ? 8'd0 : w_beats;
// One beat pushed per cycle: the merged beat when the segment reaches the end of its AXI beat
// or ends the write, or (hold) the wrapped bytes that end the write.
wire        push_m = z_s && (z_full || z_eop);
wire        push = push_m || (hold && room);
wire [575:0] push_wd = hold ? {cur_strb, cur_data} : {mg_strb, mg_data};
wire        desc_now = (z_s && z_eop && !z_cross) || (hold && room);
// Token bookkeeping: a token may leave once d_done reaches the descriptors pushed up to its beat.
reg  [31:0] tq [0:31];                 // {need[15:0], tag[15:0]}
reg  [5:0]  tq_wr, tq_rd;
reg  [15:0] d_done;
wire [15:0] need = d_pushed + {15'd0, desc_now} + {15'd0, z_s && z_eop && z_cross};
always @(posedge clk) begin
  if (push) wmem[b_wr[8:0]] <= push_wd;
  if (desc_now) dq[dq_wr[5:0]] <= hold ? {w_beats, w_first} : {wb, wf};
  if (z_go && z_tok) tq[tq_wr[4:0]] <= {need, z_tok_tag};
end
always @(posedge clk) begin
  room <= (b_wr - b_rd) < 10'd500 && (dq_wr - dq_rd) < 7'd60 && (tq_wr - tq_rd) < 6'd28;
  if (rst) begin
    cur_v <= 1'b0; hold <= 1'b0; w_beats <= 8'd0; d_pushed <= 16'd0; e_done <= 16'd0; b_wr <= 10'd0; dq_wr <= 7'd0; tq_wr <= 6'd0;
    cur_data <= 512'd0; cur_strb <= 64'd0; w_first <= 58'd0; room <= 1'b0;
  end else begin
    if (push) b_wr <= b_wr + 10'd1;
    if (desc_now) begin dq_wr <= dq_wr + 7'd1; d_pushed <= d_pushed + 16'd1; end
    if (z_go && z_tok) tq_wr <= tq_wr + 6'd1;
    if (z_go && z_eend) e_done <= e_done + 16'd1;
    if (hold && room) begin
      hold <= 1'b0; cur_v <= 1'b0;
    end else if (z_s) begin
      w_first <= wf;
      w_beats <= wb + {7'd0, push_m};
      if (z_cross) begin
        // The bytes past this AXI beat start the next one.
        cur_v <= 1'b1; cur_data <= z_data; cur_strb <= z_m2;
        hold <= z_eop;
      end else if (z_full || z_eop) begin
        cur_v <= 1'b0;
      end else begin
        cur_v <= 1'b1; cur_data <= mg_data; cur_strb <= mg_strb;
      end
    end
  end
end

// ---- Arbiter side: descriptors, beats (show-ahead), writes done, tokens.
reg         q_v;
reg  [575:0] q;
wire        b_re = (b_rd != b_wr) && (!q_v || pl_wtake);
always @(posedge clk) if (b_re) q <= wmem[b_rd[8:0]];
// pl_req from registers only (it feeds the arbiter's round robin): a descriptor waited in the
// previous cycle and none was granted then (a write every other cycle at most).
reg         dq_v, gnt_q;
wire [65:0] dq_head = dq[dq_rd[5:0]];
assign pl_req = dq_v && !gnt_q;
assign pl_addr = {dq_head[57:0], 6'd0};
assign pl_len = dq_head[65:58];
assign pl_wvalid = q_v;
assign pl_wdata = q[511:0];
assign pl_wstrb = q[575:512];
wire [31:0] tq_head = tq[tq_rd[4:0]];
wire [15:0] tq_lag = d_done - tq_head[31:16];   // negative: writes still to finish
wire unused_lag = &{1'b0, tq_lag[14:0]};
assign d_total = d_pushed + {15'd0, hold};
always @(posedge clk) begin
  s_done_valid <= 1'b0;
  s_done_tag <= tq_head[15:0];
  dq_v <= dq_wr != dq_rd && !rst;
  gnt_q <= pl_gnt && !rst;
  if (rst) begin
    q_v <= 1'b0; b_rd <= 10'd0; dq_rd <= 7'd0; d_done <= 16'd0; tq_rd <= 6'd0; d_granted <= 16'd0;
  end else begin
    q_v <= b_re || (q_v && !pl_wtake);
    if (b_re) b_rd <= b_rd + 10'd1;
    // The arbiter latches address and length at the grant.
    if (pl_gnt) begin dq_rd <= dq_rd + 7'd1; d_granted <= d_granted + 16'd1; end
    if (pl_done) d_done <= d_done + 16'd1;
    if (tq_wr != tq_rd && !tq_lag[15] && !s_done_valid) begin
      s_done_valid <= 1'b1; tq_rd <= tq_rd + 6'd1;
    end
  end
end
endmodule
