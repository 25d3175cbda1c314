// ddpnic_rx_join: joins the tracker's frames (f_*) with their placement verdicts into the rx
// ring writer's input (rxp_*) (hdl/src/core/rx_join.v, instantiated by ddpnic_core).
//
// Verdict side (v_*: a stream beat as it leaves placement, with its run's verdict): placed
// runs of a stream are merged into at most 4 ranges (same CID, contiguous in the frame and in
// the data offset; frame offset = t_frame_offset + t_run_lane). A run that would open a 5th
// range was already written to the host by placement (its verdict comes too late to stop
// it), so it is simply not reported: the frame's bytes stay in the ring and software copies
// them again (identical bytes), its bytes are not counted as placed (receive_model's rule).
// At the stream's last beat the frame's verdict {ranges, crc_ok, resync} enters a 16-deep FIFO.
//
// Frame side: every f_* beat waits DELAY cycles in a 512-entry block-RAM ring, longer than the
// longest frame the tracker offloads (150 beats) plus its STREAM_SPAN (60) plus lookup and
// placement, so a tracked frame's verdict is in the FIFO before its first beat leaves (TRACKER_PORTS.md: the
// k-th tracked frame is the k-th stream). Then three stages: O1 takes the verdict at the first
// beat of a tracked frame, O2 compares the beat index with each range's first and end beat,
// O3 produces rxp_placed (lanes of the beat inside a range) and, on the first beat,
// rxp_meta_* (flags {flow_valid, resync, crc_ok, tcp_csum_ok, ip_csum_ok}, flow, resync
// seq, ranges). Latency DELAY + 4 cycles, one beat a cycle, never stalls.
module ddpnic_rx_join #(
  parameter DELAY = 238
) (
  input  wire         clk,
  input  wire         rst,
  input  wire         ddgst_en,
  // Frames from the tracker.
  input  wire         f_valid,
  input  wire [511:0] f_data,
  input  wire [63:0]  f_keep,
  input  wire         f_last,
  input  wire         f_user,
  input  wire         f_meta_ip_csum_ok,
  input  wire         f_meta_tcp_csum_ok,
  input  wire         f_meta_flow_valid,
  input  wire [11:0]  f_meta_flow,
  input  wire         f_meta_tracked,
  // Stream beats with their verdicts.
  input  wire         v_valid,
  input  wire         v_first,
  input  wire         v_last,
  input  wire         v_placed,         // the beat's run was placed
  input  wire [15:0]  v_fo,             // its frame offset
  input  wire [15:0]  v_fe,             // frame offset + length
  input  wire [15:0]  v_cid,
  input  wire [31:0]  v_off,            // data offset
  input  wire [31:0]  v_oe,             // data offset + length
  input  wire         v_crc_ok,
  input  wire         v_resync_valid,
  input  wire [31:0]  v_resync_seq,
  // The beat that enters v_* at the next edge (v_* are registers loaded every cycle): lets
  // the contiguity compare run a cycle early, off the range-merge path.
  input  wire [15:0]  vn_fo,
  input  wire [15:0]  vn_cid,
  input  wire [31:0]  vn_off,
  output reg          rxp_valid,
  output reg  [511:0] rxp_data,
  output reg  [63:0]  rxp_keep,
  output reg          rxp_last,
  output reg          rxp_user,
  output reg  [63:0]  rxp_placed,
  output reg          rxp_meta_valid,
  output reg  [4:0]   rxp_meta_flags,
  output reg  [11:0]  rxp_meta_flow,
  output reg  [31:0]  rxp_meta_seq,
  output reg  [2:0]   rxp_meta_nranges,
  output reg  [319:0] rxp_meta_ranges,
  output reg  [6:0]   placed_bytes      // bytes of the frame counted placed, per cycle (counter)
);
// ---- Verdict side: ranges of the current stream. Range k: fo_k, fe_k (frame offsets,
// end exclusive), cid_k, off_k; the last range's data end (l_oe) decides merging.
reg  [15:0] r_fo [0:3];
reg  [15:0] r_fe [0:3];
reg  [15:0] r_cid [0:3];
reg  [31:0] r_off [0:3];
reg  [2:0]  nr;
reg  [15:0] l_fe, l_cid;
reg  [31:0] l_oe;
reg  [6:0]  acc_bytes;
// l_matches_v = {l_cid, l_fe, l_oe} == {v_cid, v_fo, v_off}, registered: the last range's end
// as it will be after this edge, against the beat that enters v_* at it.
reg         l_matches_v;
wire        cont = !v_first && nr != 3'd0 && l_matches_v;
wire [2:0]  nr0 = v_first ? 3'd0 : nr;
wire        open_new = v_placed && !cont && nr0 != 3'd4;
wire        merged = v_placed && cont;
wire        take_range = v_valid && (open_new || merged);
wire        next_after_l = l_cid == vn_cid && l_fe == vn_fo && l_oe == vn_off;
wire        next_after_v = v_cid == vn_cid && v_fe == vn_fo && v_oe == vn_off;
// Verdict FIFO: {crc_ok, resync, seq, nranges, 4 x {fo, fe, cid, off}}; 512 deep, since every
// frame in the delay ring may be a tracked one-beat frame.
localparam VW = 1 + 1 + 32 + 3 + 4 * 80;
(* ram_style = "block" *) reg [VW-1:0] vq [0:511];
reg  [9:0]  vq_wr, vq_rd;
integer k;
reg  [4 * 80 - 1:0] v_rng;
always @(*) begin
  for (k = 0; k < 4; k = k + 1) begin
    if (k[2:0] < nr0 || (open_new && k[2:0] == nr0))
      v_rng[80 * k +: 80] = (open_new && k[2:0] == nr0) ? {v_fo, v_fe, v_cid, v_off}
                          : (merged && k[2:0] == nr0 - 3'd1) ? {r_fo[k], v_fe, r_cid[k], r_off[k]}
                          : {r_fo[k], r_fe[k], r_cid[k], r_off[k]};
    else v_rng[80 * k +: 80] = 80'd0;
  end
end
always @(posedge clk) begin
  if (v_valid && v_last) vq[vq_wr[8:0]] <= {v_crc_ok && ddgst_en, v_resync_valid, v_resync_seq, nr0 + {2'd0, open_new}, v_rng};
  acc_bytes <= take_range ? v_fe[6:0] - v_fo[6:0] : 7'd0;
  l_matches_v <= take_range ? next_after_v : next_after_l;
  if (rst) begin
    vq_wr <= 10'd0; nr <= 3'd0; l_fe <= 16'd0; l_cid <= 16'd0; l_oe <= 32'd0;
  end else if (v_valid) begin
    if (v_last) vq_wr <= vq_wr + 10'd1;
    nr <= nr0 + {2'd0, open_new};
    if (open_new || merged) begin l_fe <= v_fe; l_cid <= v_cid; l_oe <= v_oe; end
    for (k = 0; k < 4; k = k + 1) begin
      r_fo[k] <= v_rng[80 * k + 64 +: 16];
      r_fe[k] <= v_rng[80 * k + 48 +: 16];
      r_cid[k] <= v_rng[80 * k + 32 +: 16];
      r_off[k] <= v_rng[80 * k +: 32];
    end
  end
end

// ---- Frame side: the delay ring (written every cycle, read DELAY - 1 entries behind).
localparam FW = 1 + 1 + 1 + 64 + 512 + 1 + 1 + 1 + 12 + 1;
(* ram_style = "block" *) reg [FW-1:0] dl [0:511];
reg  [8:0]  dl_wp;
reg  [FW-1:0] dq;
always @(posedge clk) begin
  dl[dl_wp] <= {f_valid && !rst, f_last, f_user, f_keep, f_data, f_meta_ip_csum_ok, f_meta_tcp_csum_ok, f_meta_flow_valid, f_meta_flow, f_meta_tracked};
  dq <= dl[dl_wp - DELAY[8:0] + 9'd1];
  dl_wp <= rst ? 9'd0 : dl_wp + 9'd1;
end
wire         d_valid = dq[FW-1] && !rst;
wire         d_last = dq[FW-2];
wire         d_user = dq[FW-3];
wire [63:0]  d_keep = dq[FW-4 -: 64];
wire [511:0] d_data = dq[FW-68 -: 512];
wire [2:0]   d_meta = {dq[13], dq[14], dq[15]};   // {flow_valid, tcp_csum_ok, ip_csum_ok}
wire [11:0]  d_flow = dq[12:1];
wire         d_tracked = dq[0];

// ---- O1: the frame's verdict at its first beat (from the FIFO if tracked).
reg          d_first;                  // the next delayed beat starts a frame
reg          vh_v;                     // show-ahead head of the verdict FIFO
reg  [VW-1:0] vh;
wire         take_v = d_valid && d_first && d_tracked && vh_v;
wire         vq_re = (vq_rd != vq_wr) && (!vh_v || take_v);
always @(posedge clk) if (vq_re) vh <= vq[vq_rd[8:0]];
reg          o1_v, o1_first, o1_last, o1_user;
reg  [511:0] o1_data;
reg  [63:0]  o1_keep;
reg  [9:0]   o1_beat;
reg  [VW-1:0] fv;                      // the frame's verdict (zero when untracked)
reg  [2:0]   o1_meta;
reg  [11:0]  o1_flow;
always @(posedge clk) begin
  o1_v <= d_valid;
  o1_first <= d_valid && d_first; o1_last <= d_last; o1_user <= d_user; o1_data <= d_data; o1_keep <= d_keep;
  if (d_valid) o1_beat <= d_first ? 10'd0 : o1_beat + 10'd1;
  if (d_valid && d_first) begin
    fv <= take_v ? vh : {VW{1'b0}};
    o1_meta <= d_meta;
    o1_flow <= d_meta[2] ? d_flow : 12'd0;   // the tracker's flow field means nothing without flow_valid
  end
  if (rst) begin
    d_first <= 1'b1; vq_rd <= 10'd0; vh_v <= 1'b0;
  end else begin
    if (d_valid) d_first <= d_last;
    vh_v <= vq_re || (vh_v && !take_v);
    if (vq_re) vq_rd <= vq_rd + 10'd1;
  end
end

// ---- O2: per range, the beat against its first and end beat.
reg          o2_v, o2_first, o2_last, o2_user;
reg  [511:0] o2_data;
reg  [63:0]  o2_keep;
reg  [3:0]   o2_s_after, o2_s_eq, o2_e_before, o2_e_eq;
reg  [23:0]  o2_sl, o2_el;
reg  [VW-1:0] o2_fv;
reg  [2:0]   o2_meta;
reg  [11:0]  o2_flow;
always @(posedge clk) begin
  o2_v <= o1_v && !rst; o2_first <= o1_first; o2_last <= o1_last; o2_user <= o1_user; o2_data <= o1_data; o2_keep <= o1_keep;
  o2_fv <= fv; o2_meta <= o1_meta; o2_flow <= o1_flow;
  for (k = 0; k < 4; k = k + 1) begin
    o2_s_after[k] <= o1_beat > fv[80 * k + 70 +: 10];
    o2_s_eq[k] <= o1_beat == fv[80 * k + 70 +: 10];
    o2_e_before[k] <= o1_beat < fv[80 * k + 54 +: 10];
    o2_e_eq[k] <= o1_beat == fv[80 * k + 54 +: 10];
    o2_sl[6 * k +: 6] <= fv[80 * k + 64 +: 6];
    o2_el[6 * k +: 6] <= fv[80 * k + 48 +: 6];
  end
end

// ---- O3: placed lanes and the metadata.
reg  [63:0] lanes;
integer l;
always @(*) begin
  lanes = 64'd0;
  for (k = 0; k < 4; k = k + 1)
    for (l = 0; l < 64; l = l + 1)
      if ((o2_s_after[k] || (o2_s_eq[k] && l[5:0] >= o2_sl[6 * k +: 6])) &&
          (o2_e_before[k] || (o2_e_eq[k] && l[5:0] < o2_el[6 * k +: 6])))
        lanes[l] = 1'b1;
end
always @(posedge clk) begin
  rxp_valid <= o2_v && !rst;
  rxp_data <= o2_data; rxp_keep <= o2_keep; rxp_last <= o2_last; rxp_user <= o2_user;
  rxp_placed <= lanes & o2_keep;
  rxp_meta_valid <= o2_v && o2_first && !rst;
  // {flow_valid, resync, crc_ok, tcp_csum_ok, ip_csum_ok}
  rxp_meta_flags <= {o2_meta[2], o2_fv[VW-2], o2_fv[VW-1], o2_meta[1:0]};
  rxp_meta_flow <= o2_flow;
  rxp_meta_seq <= o2_fv[VW-3 -: 32];
  rxp_meta_nranges <= o2_fv[320 +: 3];
  // Completion ranges: {data_offset, cid, len, frame_offset}.
  for (k = 0; k < 4; k = k + 1)
    rxp_meta_ranges[80 * k +: 80] <= {o2_fv[80 * k +: 32], o2_fv[80 * k + 32 +: 16],
                                      o2_fv[80 * k + 48 +: 16] - o2_fv[80 * k + 64 +: 16], o2_fv[80 * k + 64 +: 16]};
  placed_bytes <= acc_bytes;
end
endmodule
