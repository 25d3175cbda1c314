// Asynchronous AXI-Stream FIFO between the CMAC (322.265625 MHz) and the NIC core (250 MHz).
//
// Gray-coded pointers cross the domains through two-flop synchronizers; the memory is a
// simple dual-port RAM (block RAM: 578 bits x 512 = 9 RAMB36 at the defaults) read through a
// two-stage pipeline, so the read side is first-word-fall-through.
//
// FRAME_MODE = 1 (transmit, store and forward): the write pointer the read side sees only
// advances past a beat with tlast, so a frame leaves the FIFO only when all of it is inside.
// The CMAC's transmit port must not run dry inside a frame (tx_unfout), and the core writes
// at 250 MHz while the CMAC reads at 322 MHz, so cut-through would underrun. A frame longer
// than the FIFO (2**ADDR_W beats) would never be released: 512 beats = 32 KiB > 9,600 B jumbo.
// FRAME_MODE = 0 (receive, cut-through): the CMAC's receive port has no backpressure; the
// core takes a beat every cycle (its contract) at 250 MHz while 100 GbE averages at most
// 195 M beats/s, so the FIFO only absorbs the 322/250 burst difference within a frame
// (at most ~34 beats of a 9,600-byte frame). s_overflow is a sticky error flag for the
// impossible case; it is exported to a status output.
//
// Resets: s_rst and m_rst are the same reset synchronised into each domain (ddp_reset_sync).
`default_nettype none

module ddp_axis_async_fifo #(
    parameter DATA_W     = 512,
    parameter USER_W     = 1,
    parameter ADDR_W     = 9,
    parameter FRAME_MODE = 0
) (
    input  wire                  s_clk,
    input  wire                  s_rst,
    input  wire [DATA_W-1:0]     s_tdata,
    input  wire [DATA_W/8-1:0]   s_tkeep,
    input  wire                  s_tlast,
    input  wire [USER_W-1:0]     s_tuser,
    input  wire                  s_tvalid,
    output wire                  s_tready,
    output reg                   s_overflow,

    input  wire                  m_clk,
    input  wire                  m_rst,
    output wire [DATA_W-1:0]     m_tdata,
    output wire [DATA_W/8-1:0]   m_tkeep,
    output wire                  m_tlast,
    output wire [USER_W-1:0]     m_tuser,
    output wire                  m_tvalid,
    input  wire                  m_tready
);
    localparam W = DATA_W + DATA_W/8 + 1 + USER_W;

    function [ADDR_W:0] gray(input [ADDR_W:0] b);
        gray = b ^ (b >> 1);
    endfunction

    reg [W-1:0] mem [0:(1<<ADDR_W)-1];

    // ---- write side (s_clk) ----
    reg  [ADDR_W:0] wr_bin = 0;
    reg  [ADDR_W:0] commit_gray = 0;
    (* ASYNC_REG = "TRUE" *) reg [ADDR_W:0] rd_gray_s1 = 0;
    (* ASYNC_REG = "TRUE" *) reg [ADDR_W:0] rd_gray_s2 = 0;
    reg  [ADDR_W:0] rd_gray = 0;

    wire full = gray(wr_bin) == {~rd_gray_s2[ADDR_W:ADDR_W-1], rd_gray_s2[ADDR_W-2:0]};
    assign s_tready = !full && !s_rst;
    wire wr_fire = s_tvalid && s_tready;
    wire [ADDR_W:0] wr_next = wr_bin + 1'b1;

    always @(posedge s_clk) begin
        if (wr_fire) mem[wr_bin[ADDR_W-1:0]] <= {s_tuser, s_tlast, s_tkeep, s_tdata};
        rd_gray_s1 <= rd_gray;
        rd_gray_s2 <= rd_gray_s1;
        if (s_rst) begin
            wr_bin      <= 0;
            commit_gray <= 0;
            s_overflow  <= 1'b0;
        end else begin
            if (wr_fire) wr_bin <= wr_next;
            if (FRAME_MODE == 0) begin
                commit_gray <= gray(wr_fire ? wr_next : wr_bin);
            end else if (wr_fire && s_tlast) begin
                commit_gray <= gray(wr_next);
            end
            if (s_tvalid && full) s_overflow <= 1'b1;
        end
    end

    // ---- read side (m_clk) ----
    (* ASYNC_REG = "TRUE" *) reg [ADDR_W:0] wr_gray_s1 = 0;
    (* ASYNC_REG = "TRUE" *) reg [ADDR_W:0] wr_gray_s2 = 0;
    reg  [ADDR_W:0] rd_bin = 0;
    reg  [W-1:0]    ram_q;
    reg             ram_valid = 1'b0;
    reg  [W-1:0]    out_q;
    reg             out_valid = 1'b0;

    wire empty    = gray(rd_bin) == wr_gray_s2;
    wire out_take = m_tready || !out_valid;
    wire ram_take = !ram_valid || out_take;
    wire rd_en    = !empty && ram_take && !m_rst;
    wire [ADDR_W:0] rd_next = rd_bin + 1'b1;

    always @(posedge m_clk) begin
        wr_gray_s1 <= commit_gray;
        wr_gray_s2 <= wr_gray_s1;
        if (rd_en) ram_q <= mem[rd_bin[ADDR_W-1:0]];
        if (out_take) out_q <= ram_q;
        if (m_rst) begin
            rd_bin    <= 0;
            rd_gray   <= 0;
            ram_valid <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            if (rd_en) begin
                rd_bin  <= rd_next;
                rd_gray <= gray(rd_next);
            end
            if (ram_take) ram_valid <= rd_en;
            if (out_take) out_valid <= ram_valid;
        end
    end

    assign {m_tuser, m_tlast, m_tkeep, m_tdata} = out_q;
    assign m_tvalid = out_valid;
endmodule

`default_nettype wire
