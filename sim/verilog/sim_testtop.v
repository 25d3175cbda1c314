// sim_testtop: a small stand-in for ddpnic_core with exactly its ports (hdl/src/core/INTERFACE.md),
// used to test sim/'s bus-functional models and build machinery independently of the core.
//
// - BAR0 (AXI4-Lite): identity, scratch registers, a DMA copy engine's registers, counters.
// - DMA (AXI4 master): copies DMA_LEN bytes from DMA_SRC to DMA_DST in host memory (both must have
//   the same address bits [5:0]); bursts are split at 4 KiB boundaries and at DMA_MAXBEATS beats
//   unless CTRL.no_split is set (then a burst may cross 4 KiB: the host-memory model must flag it).
// - MAC: every s_axis_rx beat is looped back to m_axis_tx through a 512-beat FIFO (tx may stall).
// - irq: a one-cycle pulse when a copy finishes.
//
// Register map (byte offsets):
//   0x000 ID 0x51A7E57B (ro)   0x004 VERSION 1 (ro)
//   0x010..0x03c SCRATCH[0..11] (rw, byte strobes)
//   0x040 DMA_SRC_LO  0x044 DMA_SRC_HI  0x048 DMA_DST_LO  0x04c DMA_DST_HI  0x050 DMA_LEN
//   0x054 DMA_CTRL (wo: bit0 go, bit1 no_split, bit2 w_first: all write data before the address)   0x058 DMA_MAXBEATS (1..64, default 64)
//   0x05c DMA_STATUS (bit0 busy, [31:16] copies done)   0x060 LOOP_OVERFLOW (beats lost)
//   0x064 CYCLES (free-running)   0x068 BRESP_ERRORS   0x06c RX_FRAMES
`default_nettype none
module sim_testtop (
    input  wire         clk,
    input  wire         rst,
    // MAC receive
    input  wire [511:0] s_axis_rx_tdata,
    input  wire [63:0]  s_axis_rx_tkeep,
    input  wire         s_axis_rx_tvalid,
    input  wire         s_axis_rx_tlast,
    input  wire         s_axis_rx_tuser,
    // MAC transmit
    output wire [511:0] m_axis_tx_tdata,
    output wire [63:0]  m_axis_tx_tkeep,
    output wire         m_axis_tx_tvalid,
    input  wire         m_axis_tx_tready,
    output wire         m_axis_tx_tlast,
    output wire         m_axis_tx_tuser,
    // BAR0
    input  wire [15:0]  s_axil_awaddr,
    input  wire         s_axil_awvalid,
    output wire         s_axil_awready,
    input  wire [31:0]  s_axil_wdata,
    input  wire [3:0]   s_axil_wstrb,
    input  wire         s_axil_wvalid,
    output wire         s_axil_wready,
    output wire [1:0]   s_axil_bresp,
    output wire         s_axil_bvalid,
    input  wire         s_axil_bready,
    input  wire [15:0]  s_axil_araddr,
    input  wire         s_axil_arvalid,
    output wire         s_axil_arready,
    output wire [31:0]  s_axil_rdata,
    output wire [1:0]   s_axil_rresp,
    output wire         s_axil_rvalid,
    input  wire         s_axil_rready,
    // DMA master
    output wire [3:0]   m_axi_awid,
    output wire [63:0]  m_axi_awaddr,
    output wire [7:0]   m_axi_awlen,
    output wire [2:0]   m_axi_awsize,
    output wire [1:0]   m_axi_awburst,
    output wire         m_axi_awvalid,
    input  wire         m_axi_awready,
    output wire [511:0] m_axi_wdata,
    output wire [63:0]  m_axi_wstrb,
    output wire         m_axi_wlast,
    output wire         m_axi_wvalid,
    input  wire         m_axi_wready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [3:0]   m_axi_bid,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [1:0]   m_axi_bresp,
    input  wire         m_axi_bvalid,
    output wire         m_axi_bready,
    output wire [3:0]   m_axi_arid,
    output wire [63:0]  m_axi_araddr,
    output wire [7:0]   m_axi_arlen,
    output wire [2:0]   m_axi_arsize,
    output wire [1:0]   m_axi_arburst,
    output wire         m_axi_arvalid,
    input  wire         m_axi_arready,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [3:0]   m_axi_rid,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [511:0] m_axi_rdata,
    input  wire [1:0]   m_axi_rresp,
    input  wire         m_axi_rlast,
    input  wire         m_axi_rvalid,
    output wire         m_axi_rready,
    output wire         irq
);
    // ---------------------------------------------------------------- registers
    reg [31:0] scratch [0:11];
    reg [63:0] dma_src, dma_dst;
    reg [31:0] dma_len;
    reg [6:0]  dma_maxbeats;
    reg        no_split;
    reg        w_first;
    reg [15:0] copies_done;
    reg [31:0] loop_overflow, cycles, bresp_errors, rx_frames;
    reg        busy;
    reg        go;

    // AXI-Lite write: address and data accepted together, one response outstanding.
    reg bvalid_r;
    wire wr_fire = s_axil_awvalid && s_axil_wvalid && !bvalid_r;
    assign s_axil_awready = wr_fire;
    assign s_axil_wready  = wr_fire;
    assign s_axil_bvalid  = bvalid_r;
    assign s_axil_bresp   = 2'b00;

    function [31:0] merge(input [31:0] old, input [31:0] data, input [3:0] strb);
        merge = {strb[3] ? data[31:24] : old[31:24], strb[2] ? data[23:16] : old[23:16],
                 strb[1] ? data[15:8] : old[15:8], strb[0] ? data[7:0] : old[7:0]};
    endfunction

    wire [15:0] wr_off = s_axil_awaddr - 16'h010;
    wire [15:0] rd_off = s_axil_araddr - 16'h010;
    integer k;
    always @(posedge clk) begin
        go <= 1'b0;
        if (rst) begin
            bvalid_r <= 1'b0;
            for (k = 0; k < 12; k = k + 1) scratch[k] <= 32'd0;
            dma_src <= 64'd0; dma_dst <= 64'd0; dma_len <= 32'd0;
            dma_maxbeats <= 7'd64; no_split <= 1'b0; w_first <= 1'b0;
        end else begin
            if (bvalid_r && s_axil_bready) bvalid_r <= 1'b0;
            if (wr_fire) begin
                bvalid_r <= 1'b1;
                if (s_axil_awaddr >= 16'h010 && s_axil_awaddr < 16'h040)
                    scratch[wr_off[5:2]] <= merge(scratch[wr_off[5:2]], s_axil_wdata, s_axil_wstrb);
                case (s_axil_awaddr & 16'hfffc)
                    16'h040: dma_src[31:0]  <= merge(dma_src[31:0], s_axil_wdata, s_axil_wstrb);
                    16'h044: dma_src[63:32] <= merge(dma_src[63:32], s_axil_wdata, s_axil_wstrb);
                    16'h048: dma_dst[31:0]  <= merge(dma_dst[31:0], s_axil_wdata, s_axil_wstrb);
                    16'h04c: dma_dst[63:32] <= merge(dma_dst[63:32], s_axil_wdata, s_axil_wstrb);
                    16'h050: dma_len <= merge(dma_len, s_axil_wdata, s_axil_wstrb);
                    16'h054: begin go <= s_axil_wdata[0] && !busy; no_split <= s_axil_wdata[1]; w_first <= s_axil_wdata[2]; end
                    16'h058: dma_maxbeats <= (s_axil_wdata[6:0] == 7'd0 || s_axil_wdata > 32'd64) ? 7'd64 : s_axil_wdata[6:0];
                    default: ;
                endcase
            end
        end
    end

    // AXI-Lite read: one outstanding.
    reg rvalid_r;
    reg [31:0] rdata_r;
    assign s_axil_arready = !rvalid_r;
    assign s_axil_rvalid  = rvalid_r;
    assign s_axil_rdata   = rdata_r;
    assign s_axil_rresp   = 2'b00;
    reg [31:0] rd_val;
    always @(*) begin
        rd_val = 32'hDEADBEEF;
        if (s_axil_araddr >= 16'h010 && s_axil_araddr < 16'h040) rd_val = scratch[rd_off[5:2]];
        case (s_axil_araddr & 16'hfffc)
            16'h000: rd_val = 32'h51A7E57B;
            16'h004: rd_val = 32'd1;
            16'h040: rd_val = dma_src[31:0];
            16'h044: rd_val = dma_src[63:32];
            16'h048: rd_val = dma_dst[31:0];
            16'h04c: rd_val = dma_dst[63:32];
            16'h050: rd_val = dma_len;
            16'h058: rd_val = {25'd0, dma_maxbeats};
            16'h05c: rd_val = {copies_done, 15'd0, busy};
            16'h060: rd_val = loop_overflow;
            16'h064: rd_val = cycles;
            16'h068: rd_val = bresp_errors;
            16'h06c: rd_val = rx_frames;
            default: ;
        endcase
    end
    always @(posedge clk) begin
        if (rst) begin
            rvalid_r <= 1'b0; rdata_r <= 32'd0;
        end else begin
            if (rvalid_r && s_axil_rready) rvalid_r <= 1'b0;
            if (s_axil_arvalid && !rvalid_r) begin rvalid_r <= 1'b1; rdata_r <= rd_val; end
        end
    end

    // ---------------------------------------------------------------- DMA copy engine
    localparam S_IDLE = 4'd0, S_CALC = 4'd1, S_AR = 4'd2, S_R = 4'd3, S_AW = 4'd4, S_W = 4'd5, S_B = 4'd6, S_DONE = 4'd7, S_AWL = 4'd8;
    reg [3:0]   state;
    reg [63:0]  cur_src, cur_dst;
    reg [31:0]  remaining;
    reg [12:0]  chunk;          // 1..4096 bytes
    reg [6:0]   beats;          // 1..64
    reg [6:0]   idx;
    reg [511:0] buffer [0:63];
    reg         irq_r;

    wire [5:0]  off        = cur_src[5:0];
    wire [12:0] to_4k_src  = 13'd4096 - {1'b0, cur_src[11:0]};
    wire [12:0] to_4k_dst  = 13'd4096 - {1'b0, cur_dst[11:0]};
    wire [12:0] to_maxb    = {dma_maxbeats, 6'd0} - {7'd0, off};
    reg  [12:0] c;
    always @(*) begin
        c = to_maxb;
        if (!no_split && to_4k_src < c) c = to_4k_src;
        if (!no_split && to_4k_dst < c) c = to_4k_dst;
        if (remaining < {19'd0, c}) c = remaining[12:0];
    end
    wire [13:0] end_lane   = {8'd0, off} + {1'b0, chunk};          // 1..4159
    wire [13:0] end_c      = {8'd0, off} + {1'b0, c};
    wire [6:0]  beats_c    = end_c[12:6] + {6'd0, end_c[5:0] != 6'd0};

    // strobes of beat idx
    wire [13:0] last_full  = end_lane - {1'b0, beats - 7'd1, 6'd0};   // 1..64
    wire [6:0]  last_lanes = last_full[6:0];
    wire [63:0] first_mask = ~64'd0 << off;
    wire [63:0] last_mask  = (last_lanes >= 7'd64) ? ~64'd0 : ((64'd1 << last_lanes) - 64'd1);
    wire [63:0] strb       = ((idx == 7'd0) ? first_mask : ~64'd0) & ((idx == beats - 7'd1) ? last_mask : ~64'd0);

    assign m_axi_arid    = 4'd1;
    assign m_axi_araddr  = cur_src;
    assign m_axi_arlen   = {1'b0, beats - 7'd1};
    assign m_axi_arsize  = 3'd6;
    assign m_axi_arburst = 2'b01;
    assign m_axi_arvalid = state == S_AR;
    assign m_axi_rready  = state == S_R;
    assign m_axi_awid    = 4'd2;
    assign m_axi_awaddr  = cur_dst;
    assign m_axi_awlen   = {1'b0, beats - 7'd1};
    assign m_axi_awsize  = 3'd6;
    assign m_axi_awburst = 2'b01;
    assign m_axi_awvalid = state == S_AW || state == S_AWL;
    assign m_axi_wvalid  = state == S_W;
    assign m_axi_wdata   = buffer[idx[5:0]];
    assign m_axi_wstrb   = strb;
    assign m_axi_wlast   = idx == beats - 7'd1;
    assign m_axi_bready  = state == S_B;
    assign irq           = irq_r;

    always @(posedge clk) begin
        irq_r <= 1'b0;
        if (rst) begin
            state <= S_IDLE; busy <= 1'b0; copies_done <= 16'd0; bresp_errors <= 32'd0;
            idx <= 7'd0; remaining <= 32'd0; chunk <= 13'd0; beats <= 7'd1;
        end else begin
            case (state)
                S_IDLE: if (go) begin
                    cur_src <= dma_src; cur_dst <= dma_dst; remaining <= dma_len; busy <= 1'b1;
                    state <= (dma_len == 32'd0) ? S_DONE : S_CALC;
                end
                S_CALC: begin chunk <= c; beats <= beats_c; state <= S_AR; idx <= 7'd0; end
                S_AR: if (m_axi_arready) state <= S_R;
                S_R: if (m_axi_rvalid) begin
                    buffer[idx[5:0]] <= m_axi_rdata;
                    idx <= idx + 7'd1;
                    if (m_axi_rlast) begin state <= w_first ? S_W : S_AW; idx <= 7'd0; end
                end
                S_AW: if (m_axi_awready) state <= S_W;
                S_W: if (m_axi_wready) begin
                    idx <= idx + 7'd1;
                    if (idx == beats - 7'd1) state <= w_first ? S_AWL : S_B;
                end
                S_AWL: if (m_axi_awready) state <= S_B;
                S_B: if (m_axi_bvalid) begin
                    if (m_axi_bresp != 2'b00) bresp_errors <= bresp_errors + 32'd1;
                    cur_src <= cur_src + {51'd0, chunk};
                    cur_dst <= cur_dst + {51'd0, chunk};
                    remaining <= remaining - {19'd0, chunk};
                    state <= (remaining == {19'd0, chunk}) ? S_DONE : S_CALC;
                end
                S_DONE: begin
                    busy <= 1'b0; copies_done <= copies_done + 16'd1; irq_r <= 1'b1; state <= S_IDLE;
                end
                default: state <= S_IDLE;
            endcase
        end
    end

    // ---------------------------------------------------------------- AXI-Stream loopback
    reg [511:0] f_data [0:511];
    reg [63:0]  f_keep [0:511];
    reg [1:0]   f_ctl  [0:511];   // {tuser, tlast}
    reg [9:0]   wptr, rptr;
    wire        f_empty = wptr == rptr;
    wire        f_full  = (wptr[8:0] == rptr[8:0]) && (wptr[9] != rptr[9]);
    assign m_axis_tx_tvalid = !f_empty;
    assign m_axis_tx_tdata  = f_data[rptr[8:0]];
    assign m_axis_tx_tkeep  = f_keep[rptr[8:0]];
    assign m_axis_tx_tlast  = f_ctl[rptr[8:0]][0];
    assign m_axis_tx_tuser  = f_ctl[rptr[8:0]][1];
    always @(posedge clk) begin
        if (rst) begin
            wptr <= 10'd0; rptr <= 10'd0; loop_overflow <= 32'd0; cycles <= 32'd0; rx_frames <= 32'd0;
        end else begin
            cycles <= cycles + 32'd1;
            if (s_axis_rx_tvalid) begin
                if (f_full) loop_overflow <= loop_overflow + 32'd1;
                else begin
                    f_data[wptr[8:0]] <= s_axis_rx_tdata;
                    f_keep[wptr[8:0]] <= s_axis_rx_tkeep;
                    f_ctl[wptr[8:0]]  <= {s_axis_rx_tuser, s_axis_rx_tlast};
                    wptr <= wptr + 10'd1;
                end
                if (s_axis_rx_tlast) rx_frames <= rx_frames + 32'd1;
            end
            if (m_axis_tx_tvalid && m_axis_tx_tready) rptr <= rptr + 10'd1;
        end
    end
endmodule
`default_nettype wire
