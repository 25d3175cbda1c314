// Self-checking testbench for the board glue RTL (boards/rtl/*.v), run by `make boards-check`
// through Verilator --binary --timing. Prints "tb_board_glue: PASS ..." or stops with $fatal.
//  1. transmit FIFO (FRAME_MODE 1), 250 MHz -> 322.27 MHz with random gaps and random tready:
//     every beat arrives in order, and once a frame starts tvalid never drops before tlast
//     (the CMAC must not underrun inside a frame);
//  2. receive FIFO (FRAME_MODE 0), 322.27 MHz -> 250 MHz, no backpressure on either side at
//     100 GbE-like load: every beat arrives in order, no overflow;
//  3. ddp_axi_to_axil: single-beat writes/reads reach the AXI-Lite side at the right word with
//     the right lane's data and strobes; bursts are answered SLVERR beat for beat;
//  4. ddp_irq_handshake: every irq pulse is followed by a request, requests wait for ack;
//  5. ddp_frame_gate: whole frames while the link is up, a frame started during link loss is
//     dropped whole, a reset inside a frame closes it with a bad one-byte beat, the rest of a
//     frame cut by a FIFO flush is dropped; ddp_tx_drain:
//     a transmit reset inside a frame drains its rest, the next frame goes out whole.
`timescale 1ns/1ps
`default_nettype none

module tb_board_glue;
    reg clk250 = 0, clk322 = 0;
    always #2.0 clk250 = !clk250;
    always #1.5515 clk322 = !clk322;

    reg rst = 1;
    wire rst250, rst322;
    ddp_reset_sync r250 (.clk(clk250), .arst(rst), .rst(rst250));
    ddp_reset_sync r322 (.clk(clk322), .arst(rst), .rst(rst322));

    // ------------------------------------------------------------------ 1. transmit FIFO
    localparam TX_FRAMES = 300;
    reg  [31:0] tx_s_data = 0;
    reg         tx_s_valid = 0, tx_s_last = 0;
    wire        tx_s_ready;
    wire [511:0] tx_m_tdata;
    wire [63:0]  tx_m_tkeep;
    wire        tx_m_tlast, tx_m_tvalid;
    wire [0:0]  tx_m_tuser;
    reg         tx_m_ready = 0;
    ddp_axis_async_fifo #(.ADDR_W(6), .FRAME_MODE(1)) tx_fifo (
        .s_clk(clk250), .s_rst(rst250), .s_tdata({480'd0, tx_s_data}), .s_tkeep(64'hffff_ffff_ffff_ffff),
        .s_tlast(tx_s_last), .s_tuser(1'b0), .s_tvalid(tx_s_valid), .s_tready(tx_s_ready), .s_overflow(),
        .m_clk(clk322), .m_rst(rst322), .m_tdata(tx_m_tdata), .m_tkeep(tx_m_tkeep), .m_tlast(tx_m_tlast),
        .m_tuser(tx_m_tuser), .m_tvalid(tx_m_tvalid), .m_tready(tx_m_ready));

    integer tx_sent_frames = 0, tx_beats_left = 0, tx_got_frames = 0, tx_len_seen = 0;
    reg [31:0] tx_expect = 0;
    reg        tx_in_frame = 0;
    reg [31:0] tx_lens [0:TX_FRAMES-1];
    integer k;
    initial for (k = 0; k < TX_FRAMES; k = k + 1) tx_lens[k] = 1 + ($urandom(k) % 40);

    always @(posedge clk250) if (!rst250) begin
        if (tx_s_valid && tx_s_ready) begin
            tx_s_data <= tx_s_data + 1;
            if (tx_s_last) tx_sent_frames <= tx_sent_frames + 1;
        end
        if (!tx_s_valid || tx_s_ready) begin
            // next beat (or a gap) of the current frame
            if (tx_sent_frames + ((tx_s_valid && tx_s_ready && tx_s_last) ? 1 : 0) < TX_FRAMES && ($urandom % 4 != 0)) begin
                if (tx_beats_left == 0 || (tx_s_valid && tx_s_ready && tx_s_last)) begin
                    tx_beats_left = tx_lens[tx_sent_frames + ((tx_s_valid && tx_s_ready && tx_s_last) ? 1 : 0)];
                end
                tx_s_valid <= 1;
                tx_s_last  <= tx_beats_left == 1;
                tx_beats_left = tx_beats_left - 1;
            end else begin
                tx_s_valid <= 0;
            end
        end
    end

    always @(posedge clk322) if (!rst322) begin
        tx_m_ready <= ($urandom % 8) != 0;
        if (tx_in_frame && !tx_m_tvalid) $fatal(1, "tx FIFO: tvalid dropped inside frame %0d (underrun)", tx_got_frames);
        if (tx_m_tvalid && tx_m_ready) begin
            if (tx_m_tdata[31:0] !== tx_expect) $fatal(1, "tx FIFO: beat %0d carries %0d", tx_expect, tx_m_tdata[31:0]);
            tx_expect <= tx_expect + 1;
            tx_len_seen = tx_len_seen + 1;
            tx_in_frame <= !tx_m_tlast;
            if (tx_m_tlast) begin
                if (tx_len_seen != tx_lens[tx_got_frames]) $fatal(1, "tx FIFO: frame %0d has %0d beats, sent %0d", tx_got_frames, tx_len_seen, tx_lens[tx_got_frames]);
                tx_len_seen = 0;
                tx_got_frames <= tx_got_frames + 1;
            end
        end
    end

    // ------------------------------------------------------------------ 2. receive FIFO
    localparam RX_BEATS = 6000;
    reg  [31:0] rx_s_data = 0;
    reg         rx_s_valid = 0, rx_s_last = 0;
    wire        rx_overflow;
    wire [511:0] rx_m_tdata;
    wire [63:0]  rx_m_tkeep;
    wire        rx_m_tlast, rx_m_tvalid;
    wire [0:0]  rx_m_tuser;
    ddp_axis_async_fifo #(.ADDR_W(9), .FRAME_MODE(0)) rx_fifo (
        .s_clk(clk322), .s_rst(rst322), .s_tdata({480'd0, rx_s_data}), .s_tkeep(64'hffff_ffff_ffff_ffff),
        .s_tlast(rx_s_last), .s_tuser(1'b0), .s_tvalid(rx_s_valid), .s_tready(), .s_overflow(rx_overflow),
        .m_clk(clk250), .m_rst(rst250), .m_tdata(rx_m_tdata), .m_tkeep(rx_m_tkeep), .m_tlast(rx_m_tlast),
        .m_tuser(rx_m_tuser), .m_tvalid(rx_m_tvalid), .m_tready(1'b1));
    // 150-beat frames (9,600 B) back to back, then a gap: 150 of every 200 cycles at 322 MHz
    // is 241 M beats/s, above 100 GbE's 195 M and below the core's 250 M.
    integer rx_phase = 0;
    reg [31:0] rx_expect = 0;
    always @(posedge clk322) if (!rst322) begin
        rx_phase <= (rx_phase + 1) % 200;
        rx_s_valid <= rx_phase < 150 && rx_s_data + (rx_s_valid ? 1 : 0) < RX_BEATS;
        rx_s_last <= rx_phase == 149;
        if (rx_s_valid) rx_s_data <= rx_s_data + 1;
        if (rx_overflow) $fatal(1, "rx FIFO overflowed");
    end
    always @(posedge clk250) if (!rst250 && rx_m_tvalid) begin
        if (rx_m_tdata[31:0] !== rx_expect) $fatal(1, "rx FIFO: beat %0d carries %0d", rx_expect, rx_m_tdata[31:0]);
        rx_expect <= rx_expect + 1;
    end

    // ------------------------------------------------------------------ 3. BAR0 bridge
    reg  [3:0]  awid = 0, arid = 0;
    reg  [63:0] awaddr = 0, araddr = 0;
    reg  [7:0]  awlen = 0, arlen = 0;
    reg         awvalid = 0, wvalid = 0, wlast = 0, bready = 0, arvalid = 0, rready = 0;
    reg  [511:0] wdata = 0;
    reg  [63:0] wstrb = 0;
    wire        awready, wready, bvalid, arready, rvalid, rlast;
    wire [3:0]  bid, rid;
    wire [1:0]  bresp, rresp;
    wire [511:0] rdata;
    wire [15:0] l_awaddr, l_araddr;
    wire        l_awvalid, l_wvalid, l_bready, l_arvalid, l_rready;
    wire [31:0] l_wdata;
    wire [3:0]  l_wstrb;
    reg         l_aw_seen = 0, l_w_seen = 0, l_bvalid = 0, l_rvalid = 0;
    reg  [31:0] l_mem [0:16383];
    reg  [31:0] l_rdata = 0;
    reg  [15:0] l_addr_q = 0;
    reg  [31:0] l_wdata_q = 0;
    ddp_axi_to_axil bridge (
        .clk(clk250), .rst(rst250),
        .s_awid(awid), .s_awaddr(awaddr), .s_awlen(awlen), .s_awvalid(awvalid), .s_awready(awready),
        .s_wdata(wdata), .s_wstrb(wstrb), .s_wlast(wlast), .s_wvalid(wvalid), .s_wready(wready),
        .s_bid(bid), .s_bresp(bresp), .s_bvalid(bvalid), .s_bready(bready),
        .s_arid(arid), .s_araddr(araddr), .s_arlen(arlen), .s_arvalid(arvalid), .s_arready(arready),
        .s_rid(rid), .s_rdata(rdata), .s_rresp(rresp), .s_rlast(rlast), .s_rvalid(rvalid), .s_rready(rready),
        .m_awaddr(l_awaddr), .m_awvalid(l_awvalid), .m_awready(!l_aw_seen), .m_wdata(l_wdata), .m_wstrb(l_wstrb),
        .m_wvalid(l_wvalid), .m_wready(!l_w_seen), .m_bresp(2'b00), .m_bvalid(l_bvalid), .m_bready(l_bready),
        .m_araddr(l_araddr), .m_arvalid(l_arvalid), .m_arready(!l_rvalid), .m_rdata(l_rdata), .m_rresp(2'b00),
        .m_rvalid(l_rvalid), .m_rready(l_rready));
    // AXI-Lite memory: address and data may come in either order
    always @(posedge clk250) begin
        if (l_awvalid && !l_aw_seen) begin l_aw_seen <= 1; l_addr_q <= l_awaddr; end
        if (l_wvalid && !l_w_seen) begin l_w_seen <= 1; l_wdata_q <= l_wdata; if (l_wstrb != 4'hf) $fatal(1, "bridge: wstrb %h", l_wstrb); end
        if (l_aw_seen && l_w_seen && !l_bvalid) begin l_mem[l_addr_q[15:2]] <= l_wdata_q; l_bvalid <= 1; end
        if (l_bvalid && l_bready) begin l_bvalid <= 0; l_aw_seen <= 0; l_w_seen <= 0; end
        if (l_arvalid && !l_rvalid) begin l_rvalid <= 1; l_rdata <= l_mem[l_araddr[15:2]]; end
        if (l_rvalid && l_rready) l_rvalid <= 0;
    end

    task axi_write(input [63:0] addr, input [7:0] len, input [31:0] value, output [1:0] resp);
        integer b;
        begin
            @(negedge clk250);
            awaddr = addr; awlen = len; awid = 4'd5; awvalid = 1;
            @(posedge clk250); while (!awready) @(posedge clk250);
            @(negedge clk250); awvalid = 0;
            for (b = 0; b <= len; b = b + 1) begin
                wdata = 512'd0; wdata[addr[5:2]*32 +: 32] = value; wstrb = 64'd0; wstrb[addr[5:2]*4 +: 4] = 4'hf;
                wlast = b == len; wvalid = 1;
                @(posedge clk250); while (!wready) @(posedge clk250);
                @(negedge clk250); wvalid = 0;
            end
            bready = 1;
            @(posedge clk250); while (!bvalid) @(posedge clk250);
            resp = bresp;
            if (bid !== 4'd5) $fatal(1, "bridge: bid %0d", bid);
            @(negedge clk250); bready = 0;
        end
    endtask

    task axi_read(input [63:0] addr, input [7:0] len, output [31:0] value, output [1:0] resp);
        integer b;
        begin
            @(negedge clk250);
            araddr = addr; arlen = len; arid = 4'd9; arvalid = 1;
            @(posedge clk250); while (!arready) @(posedge clk250);
            @(negedge clk250); arvalid = 0; rready = 1;
            for (b = 0; b <= len; b = b + 1) begin
                @(posedge clk250); while (!rvalid) @(posedge clk250);
                if (rlast !== (b == len)) $fatal(1, "bridge: rlast %0d on beat %0d of %0d", rlast, b, len);
                if (rid !== 4'd9) $fatal(1, "bridge: rid %0d", rid);
                value = rdata[addr[5:2]*32 +: 32]; resp = rresp;
            end
            @(negedge clk250); rready = 0;
        end
    endtask

    // ------------------------------------------------------------------ 4. interrupts
    reg  irq = 0, ack = 0;
    wire req;
    integer irq_pulses = 0, irq_reqs = 0;
    ddp_irq_handshake irqh (.clk(clk250), .rst(rst250), .irq(irq), .usr_irq_req(req), .usr_irq_ack(ack));
    reg req_q = 0;
    integer ack_wait = 0;
    always @(posedge clk250) begin
        req_q <= req;
        if (req && !req_q) irq_reqs <= irq_reqs + 1;
        ack <= 0;
        if (req && !ack) begin
            ack_wait <= ack_wait + 1;
            if (ack_wait == 5) begin ack <= 1; ack_wait <= 0; end
        end
    end

    // ------------------------------------------------------------------ 5. frame gate, tx drain
    reg g_rst = 0, g_flush = 0, g_link = 1, g_valid = 0, g_last = 0;
    wire gv, gl, gu;
    wire [63:0] gk;
    integer g_beats = 0, g_lasts = 0, g_bad = 0;
    reg gate_done = 0;
    ddp_frame_gate gate (.clk(clk322), .rst(g_rst), .flush(g_flush), .link_up(g_link), .tvalid(g_valid), .tlast(g_last), .tuser(1'b0),
        .tkeep(64'hffff_ffff_ffff_ffff), .out_valid(gv), .out_last(gl), .out_user(gu), .out_keep(gk));
    always @(posedge clk322) if (gv) begin
        g_beats <= g_beats + 1;
        if (gl) g_lasts <= g_lasts + 1;
        if (gu) begin
            g_bad <= g_bad + 1;
            if (!gl || gk !== 64'h1) $fatal(1, "frame gate: abort beat last %0d keep %h", gl, gk);
        end
    end
    task gate_beats(input integer n, input last_on_end);
        integer b;
        for (b = 0; b < n; b = b + 1) begin
            @(negedge clk322) g_valid = 1; g_last = last_on_end && b == n - 1;
        end
    endtask
    reg d_rst = 0;
    integer d_src = 0, d_seen = 0;
    reg d_after_reset = 0;
    wire d_fifo_ready, d_cmac_valid;
    reg d_flush = 0;
    wire d_cmac_last, d_cmac_user;
    wire [63:0] d_cmac_keep;
    integer d_bad = 0;
    ddp_tx_drain drain (.clk(clk322), .rst(d_rst), .flush(d_flush), .fifo_tvalid(!d_flush), .fifo_tlast(d_src % 4 == 3), .fifo_tuser(1'b0),
        .fifo_tkeep(64'hffff_ffff_ffff_ffff), .fifo_tready(d_fifo_ready),
        .cmac_tvalid(d_cmac_valid), .cmac_tlast(d_cmac_last), .cmac_tuser(d_cmac_user), .cmac_tkeep(d_cmac_keep), .cmac_tready(1'b1));
    always @(posedge clk322) begin
        if (d_fifo_ready) d_src <= d_src + 1;
        if (d_rst) d_after_reset <= 1;
        if (d_cmac_valid && d_cmac_user) begin
            d_bad <= d_bad + 1;
            if (!d_cmac_last || d_cmac_keep !== 64'h1) $fatal(1, "tx drain: abort beat last %0d keep %h", d_cmac_last, d_cmac_keep);
        end
        if (d_cmac_valid && !d_cmac_user) begin
            d_seen <= d_seen + 1;
            if (d_after_reset) begin
                if (d_src % 4 != 0) $fatal(1, "tx drain: beat %0d of a cut frame sent after the reset (a fragment)", d_src % 4);
                d_after_reset <= 0;
            end
        end
    end
    initial begin
        wait (!rst322);
        gate_beats(3, 1);                                   // frame 1: passes
        @(negedge clk322) g_link = 0; gate_beats(1, 0);     // frame 2 starts while down
        @(negedge clk322) g_link = 1; g_valid = 0;
        gate_beats(2, 1);                                   // ... its rest, still dropped
        gate_beats(2, 0);                                   // frame 3: two beats, then a reset
        @(negedge clk322) g_valid = 0; g_rst = 1;
        @(negedge clk322); @(negedge clk322) g_rst = 0;
        gate_beats(2, 0);                                   // frame 4: two beats, a FIFO flush,
        @(negedge clk322) g_valid = 0; g_flush = 1;
        @(negedge clk322) g_flush = 0;
        gate_beats(2, 1);                                   // ... its rest is dropped
        gate_beats(1, 1);                                   // frame 5: one beat, passes
        @(negedge clk322) g_valid = 0;
        repeat (3) @(negedge clk322);
        if (g_beats != 9 || g_lasts != 3 || g_bad != 1) $fatal(1, "frame gate: %0d beats, %0d lasts, %0d bad (want 9, 3, 1)", g_beats, g_lasts, g_bad);
        // tx drain: a reset after 2 beats of a 4-beat frame
        @(negedge clk322);
        while (d_src % 4 != 2) @(negedge clk322);       // two beats of a frame are out
        d_rst = 1;
        @(negedge clk322) d_rst = 0;
        d_seen = 0;
        repeat (20) @(negedge clk322);
        if (d_seen < 14) $fatal(1, "tx drain: only %0d beats sent after the reset", d_seen);
        // a FIFO flush after 2 beats of a frame: one bad closing beat, then the source
        // (modelling the emptied FIFO) restarts at a frame boundary
        while (d_src % 4 != 2) @(negedge clk322);
        d_flush = 1;
        @(negedge clk322);
        @(negedge clk322) d_flush = 0; d_src = 0;
        repeat (10) @(negedge clk322);
        if (d_bad != 1) $fatal(1, "tx drain: %0d bad closing beats after a flush, want 1", d_bad);
        gate_done = 1;
    end

    // ------------------------------------------------------------------ sequence
    reg [1:0] resp;
    reg [31:0] value;
    initial begin
        #50 rst = 0;
        wait (!rst250);
        axi_write(64'h1234, 0, 32'hcafe_f00d, resp);
        if (resp !== 2'b00) $fatal(1, "bridge: single write answered %b", resp);
        axi_read(64'h1234, 0, value, resp);
        if (resp !== 2'b00 || value !== 32'hcafe_f00d) $fatal(1, "bridge: read back %h resp %b", value, resp);
        axi_write(64'h0040, 3, 32'h1, resp);
        if (resp !== 2'b10) $fatal(1, "bridge: burst write answered %b, not SLVERR", resp);
        axi_read(64'h0040, 2, value, resp);
        if (resp !== 2'b10) $fatal(1, "bridge: burst read answered %b, not SLVERR", resp);
        axi_read(64'h1234, 0, value, resp);
        if (value !== 32'hcafe_f00d) $fatal(1, "bridge: the burst write changed memory");
        // interrupts: 3 isolated pulses, then 2 pulses while a request is outstanding
        repeat (3) begin
            @(negedge clk250) irq = 1; @(negedge clk250) irq = 0; irq_pulses = irq_pulses + 1;
            repeat (20) @(posedge clk250);
        end
        @(negedge clk250) irq = 1; @(negedge clk250) irq = 0;
        @(negedge clk250) irq = 1; @(negedge clk250) irq = 0;
        repeat (40) @(posedge clk250);
        if (irq_reqs < 4 || irq_reqs > 5) $fatal(1, "irq: %0d requests for 3 + 2 pulses", irq_reqs);
        if (req) $fatal(1, "irq: request still up");
        wait (tx_got_frames == TX_FRAMES && rx_expect == RX_BEATS && gate_done);
        repeat (20) @(posedge clk250);
        if (rx_m_tvalid) $fatal(1, "rx FIFO: extra beats");
        $display("tb_board_glue: PASS (tx %0d frames / %0d beats in order without underrun, rx %0d beats without overflow, BAR0 bridge, %0d irq requests, frame gate and tx drain)",
                 tx_got_frames, tx_expect, rx_expect, irq_reqs);
        $finish;
    end
    initial begin
        #2000000 $fatal(1, "timeout: tx %0d/%0d frames, rx %0d/%0d beats", tx_got_frames, TX_FRAMES, rx_expect, RX_BEATS);
    end
endmodule
`default_nettype wire
