// Glue between the NIC core (ddpnic_core, hdl/src/core/INTERFACE.md) and the vendor IP on
// the Alveo board tops (hand-written, not generated):
//
// ddp_irq_handshake : the core's one-cycle irq pulse -> XDMA usr_irq_req/usr_irq_ack (PG195
//                     "Interrupt Interface": hold req until ack; legacy INTx gives two acks,
//                     MSI/MSI-X one). Pulses that arrive while a request is outstanding are
//                     coalesced into one more request after it.
// ddp_axi_to_axil   : XDMA's AXI bridge master (M_AXI_B, 512-bit AXI4, BAR0 accesses) -> the
//                     core's 32-bit AXI4-Lite BAR0 port. Host MMIO is single 32-bit accesses
//                     (one beat, awlen = 0); a longer burst is answered SLVERR beat for beat.
// ddp_cmac_ctl      : CMAC USplus bring-up without its AXI4-Lite port (PG203, "Core Bring Up
//                     Sequence"): rx enabled, tx sends RFI until stat_rx_aligned, then tx_enable.
// ddp_frame_gate    : writes only whole frames that start while the link is aligned into the
//                     receive FIFO (a frame that begins during link loss is dropped whole;
//                     the CMAC marks a frame cut by link loss with tuser); a CMAC receive reset
//                     inside a frame closes it with a bad one-byte last beat.
// ddp_tx_drain      : a CMAC transmit reset inside a frame drains the rest of that frame; a
//                     transmit FIFO flush inside a frame ends it with a bad beat.
`default_nettype none

module ddp_irq_handshake (
    input  wire clk,
    input  wire rst,
    input  wire irq,          // one-cycle pulse from the core
    output reg  usr_irq_req,
    input  wire usr_irq_ack
);
    reg pending;
    reg gap;                  // one idle cycle between requests (PG194: deassert >= 1 cycle)
    always @(posedge clk) begin
        if (rst) begin
            pending     <= 1'b0;
            gap         <= 1'b0;
            usr_irq_req <= 1'b0;
        end else begin
            gap <= 1'b0;
            if (usr_irq_req) begin
                if (irq) pending <= 1'b1;
                if (usr_irq_ack) begin
                    usr_irq_req <= 1'b0;
                    gap         <= 1'b1;
                end
            end else if ((pending || irq) && !gap) begin
                usr_irq_req <= 1'b1;
                pending     <= 1'b0;
            end else if (irq) begin
                pending <= 1'b1;
            end
        end
    end
endmodule

module ddp_axi_to_axil #(
    parameter ID_W   = 4,
    parameter ADDR_W = 64,
    parameter DATA_W = 512,
    parameter LITE_ADDR_W = 16
) (
    input  wire                  clk,
    input  wire                  rst,
    // AXI4 slave (from the bridge's master port)
    input  wire [ID_W-1:0]       s_awid,
    /* verilator lint_off UNUSEDSIGNAL */ // only the BAR offset's word address is used
    input  wire [ADDR_W-1:0]     s_awaddr,
    input  wire [7:0]            s_awlen,
    input  wire                  s_awvalid,
    output wire                  s_awready,
    input  wire [DATA_W-1:0]     s_wdata,
    input  wire [DATA_W/8-1:0]   s_wstrb,
    input  wire                  s_wlast,
    input  wire                  s_wvalid,
    output wire                  s_wready,
    output reg  [ID_W-1:0]       s_bid,
    output reg  [1:0]            s_bresp,
    output wire                  s_bvalid,
    input  wire                  s_bready,
    input  wire [ID_W-1:0]       s_arid,
    input  wire [ADDR_W-1:0]     s_araddr,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [7:0]            s_arlen,
    input  wire                  s_arvalid,
    output wire                  s_arready,
    output reg  [ID_W-1:0]       s_rid,
    output wire [DATA_W-1:0]     s_rdata,
    output wire [1:0]            s_rresp,
    output wire                  s_rlast,
    output wire                  s_rvalid,
    input  wire                  s_rready,
    // AXI4-Lite master (to the core's BAR0 port)
    output reg  [LITE_ADDR_W-1:0] m_awaddr,
    output reg                   m_awvalid,
    input  wire                  m_awready,
    output reg  [31:0]           m_wdata,
    output reg  [3:0]            m_wstrb,
    output reg                   m_wvalid,
    input  wire                  m_wready,
    input  wire [1:0]            m_bresp,
    input  wire                  m_bvalid,
    output wire                  m_bready,
    output reg  [LITE_ADDR_W-1:0] m_araddr,
    output reg                   m_arvalid,
    input  wire                  m_arready,
    input  wire [31:0]           m_rdata,
    input  wire [1:0]            m_rresp,
    input  wire                  m_rvalid,
    output wire                  m_rready
);
    localparam LANE_W = $clog2(DATA_W / 32);
    localparam SLVERR = 2'b10;

    // ---- writes ----
    localparam W_IDLE = 3'd0, W_DATA = 3'd1, W_LITE = 3'd2, W_BWAIT = 3'd3, W_RESP = 3'd4;
    reg [2:0] ws;
    reg [7:0] wlen;
    reg       wfirst;
    wire [LANE_W-1:0] wlane = m_awaddr[LANE_W+1:2];

    assign s_awready = ws == W_IDLE;
    assign s_wready  = ws == W_DATA;
    assign s_bvalid  = ws == W_RESP;
    assign m_bready  = ws == W_BWAIT;

    always @(posedge clk) begin
        if (rst) begin
            ws <= W_IDLE;
            m_awvalid <= 1'b0;
            m_wvalid  <= 1'b0;
        end else case (ws)
            W_IDLE: if (s_awvalid) begin
                s_bid    <= s_awid;
                m_awaddr <= {s_awaddr[LITE_ADDR_W-1:2], 2'b00};
                wlen     <= s_awlen;
                wfirst   <= 1'b1;
                ws       <= W_DATA;
            end
            W_DATA: if (s_wvalid) begin
                wfirst <= 1'b0;
                if (wfirst) begin
                    m_wdata <= s_wdata[wlane*32 +: 32];
                    m_wstrb <= s_wstrb[wlane*4 +: 4];
                end
                if (s_wlast) begin
                    if (wlen == 8'd0) begin
                        m_awvalid <= 1'b1;
                        m_wvalid  <= 1'b1;
                        ws        <= W_LITE;
                    end else begin
                        s_bresp <= SLVERR;
                        ws      <= W_RESP;
                    end
                end
            end
            W_LITE: begin
                if (m_awready) m_awvalid <= 1'b0;
                if (m_wready)  m_wvalid  <= 1'b0;
                if ((!m_awvalid || m_awready) && (!m_wvalid || m_wready)) ws <= W_BWAIT;
            end
            W_BWAIT: if (m_bvalid) begin
                s_bresp <= m_bresp;
                ws      <= W_RESP;
            end
            default: if (s_bready) ws <= W_IDLE;
        endcase
    end

    // ---- reads ----
    localparam R_IDLE = 3'd0, R_LITE = 3'd1, R_WAIT = 3'd2, R_RESP = 3'd3, R_ERR = 3'd4;
    reg [2:0]  rs;
    reg [7:0]  rcount;
    reg [31:0] rword;
    reg [1:0]  rresp;

    assign s_arready = rs == R_IDLE;
    assign m_rready  = rs == R_WAIT;
    assign s_rvalid  = rs == R_RESP || rs == R_ERR;
    assign s_rdata   = {(DATA_W/32){rword}};    // the word in every lane: any address offset reads it
    assign s_rresp   = rs == R_ERR ? SLVERR : rresp;
    assign s_rlast   = rs == R_RESP || rcount == 8'd0;

    always @(posedge clk) begin
        if (rst) begin
            rs <= R_IDLE;
            m_arvalid <= 1'b0;
        end else case (rs)
            R_IDLE: if (s_arvalid) begin
                s_rid    <= s_arid;
                m_araddr <= {s_araddr[LITE_ADDR_W-1:2], 2'b00};
                rcount   <= s_arlen;
                rword    <= 32'd0;
                if (s_arlen == 8'd0) begin
                    m_arvalid <= 1'b1;
                    rs        <= R_LITE;
                end else begin
                    rs <= R_ERR;
                end
            end
            R_LITE: if (m_arready) begin
                m_arvalid <= 1'b0;
                rs        <= R_WAIT;
            end
            R_WAIT: if (m_rvalid) begin
                rword <= m_rdata;
                rresp <= m_rresp;
                rs    <= R_RESP;
            end
            R_RESP: if (s_rready) rs <= R_IDLE;
            default: if (s_rready) begin
                if (rcount == 8'd0) rs <= R_IDLE;
                else rcount <= rcount - 8'd1;
            end
        endcase
    end
endmodule

module ddp_cmac_ctl (
    input  wire clk,              // gt_txusrclk2 (also the CMAC's rx_clk)
    input  wire rst,              // usr_tx_reset
    input  wire stat_rx_aligned,  // from the CMAC, rx_clk domain (= clk here)
    output reg  ctl_tx_enable,
    output reg  ctl_tx_send_rfi,
    output wire ctl_rx_enable,
    output reg  link_up
);
    assign ctl_rx_enable = 1'b1;
    reg aligned_q;
    always @(posedge clk) begin
        aligned_q <= stat_rx_aligned;
        if (rst) begin
            ctl_tx_enable   <= 1'b0;
            ctl_tx_send_rfi <= 1'b1;
            link_up         <= 1'b0;
        end else begin
            ctl_tx_enable   <= aligned_q;
            ctl_tx_send_rfi <= !aligned_q;
            link_up         <= aligned_q;
        end
    end
endmodule

module ddp_frame_gate (
    input  wire        clk,
    input  wire        rst,       // usr_rx_reset
    input  wire        flush,     // the receive FIFO's write side is in reset
    input  wire        link_up,
    input  wire        tvalid,
    input  wire        tlast,
    input  wire        tuser,
    input  wire [63:0] tkeep,
    output wire        out_valid, // to the receive FIFO
    output wire        out_last,
    output wire        out_user,
    output wire [63:0] out_keep
);
    reg cmac_in_frame = 1'b0;  // the CMAC is inside a frame (a beat without tlast was seen)
    reg passing = 1'b0;        // the current frame goes to the FIFO
    wire start = tvalid && !cmac_in_frame;
    wire take  = tvalid && !rst && !flush && (passing || (start && link_up));
    // A CMAC reset inside a passed frame closes it with a one-byte bad beat (tuser = 1), so the
    // core never sees a frame without its end or two frames run together. A FIFO flush needs
    // no closing beat (the FIFO forgets the frame); the rest of the frame is then dropped.
    wire abort = rst && passing && !flush;
    assign out_valid = take || abort;
    assign out_last  = abort || tlast;
    assign out_user  = abort || tuser;
    assign out_keep  = abort ? 64'h1 : tkeep;
    always @(posedge clk) begin
        if (rst) begin
            cmac_in_frame <= 1'b0;
            passing       <= 1'b0;
        end else begin
            if (tvalid) cmac_in_frame <= !tlast;
            if (flush) passing <= 1'b0;
            else if (tvalid) passing <= !tlast && (passing || (start && link_up));
        end
    end
endmodule

// Transmit side of the CMAC: a frame half sent when its source goes away is ended cleanly.
// - CMAC transmit reset (rst) inside a frame: the rest of that frame is drained from the FIFO
//   instead of going out as a fragment after the reset.
// - FIFO flush (the core side reset, the FIFO forgets its contents) inside a frame: the frame
//   is ended with one bad beat (tlast, tuser = 1: the CMAC sends it with a bad FCS, PG203), so
//   the CMAC never waits inside a frame (tx_unfout) and the wire never sees a short good frame.
module ddp_tx_drain (
    input  wire        clk,
    input  wire        rst,          // usr_tx_reset
    input  wire        flush,        // the transmit FIFO's read side is in reset
    input  wire        fifo_tvalid,
    input  wire        fifo_tlast,
    input  wire        fifo_tuser,
    input  wire [63:0] fifo_tkeep,
    output wire        fifo_tready,
    output wire        cmac_tvalid,
    output wire        cmac_tlast,
    output wire        cmac_tuser,
    output wire [63:0] cmac_tkeep,
    input  wire        cmac_tready
);
    reg in_frame = 1'b0;
    reg draining = 1'b0;
    reg closing  = 1'b0;   // a frame cut by a flush still waits for its bad closing beat
    wire abort = (closing || (flush && in_frame)) && !rst;
    wire fire = fifo_tvalid && fifo_tready;
    assign cmac_tvalid = abort || (fifo_tvalid && !draining && !rst && !flush);
    assign cmac_tlast  = abort || fifo_tlast;
    assign cmac_tuser  = abort || fifo_tuser;
    assign cmac_tkeep  = abort ? 64'h1 : fifo_tkeep;
    assign fifo_tready = draining || (cmac_tready && !rst && !flush && !closing);
    always @(posedge clk) begin
        if (rst) begin
            draining <= draining || in_frame;
            in_frame <= 1'b0;
            closing  <= 1'b0;      // the CMAC's reset ends its frame itself
        end else if (abort) begin
            closing <= !cmac_tready;
            if (cmac_tready) in_frame <= 1'b0;
        end else if (flush) begin
            draining <= 1'b0;
        end else if (fire) begin
            if (fifo_tlast) draining <= 1'b0;
            in_frame <= !fifo_tlast && !draining;
        end
    end
endmodule

`default_nettype wire
