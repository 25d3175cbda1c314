// Clock-domain-crossing primitives for the Alveo board tops (hand-written, not generated).
//
// ddp_sync_bit    : two-flop synchronizer for a level signal.
// ddp_reset_sync  : asynchronous assert, synchronous release; active-high output.
// Both carry ASYNC_REG so Vivado keeps the flops together and reports MTBF; the board's
// <board>_cdc.xdc bounds the paths they cross.
`default_nettype none

module ddp_sync_bit #(parameter INIT = 1'b0) (
    input  wire clk,
    input  wire d,
    output wire q
);
    (* ASYNC_REG = "TRUE" *) reg s1 = INIT;
    (* ASYNC_REG = "TRUE" *) reg s2 = INIT;
    always @(posedge clk) begin
        s1 <= d;
        s2 <= s1;
    end
    assign q = s2;
endmodule

module ddp_reset_sync #(parameter STAGES = 4) (
    input  wire clk,
    input  wire arst,   // asynchronous, active high
    output wire rst     // synchronous to clk, active high, held STAGES cycles after arst drops
);
    (* ASYNC_REG = "TRUE" *) reg [STAGES-1:0] chain = {STAGES{1'b1}};
    always @(posedge clk or posedge arst) begin
        if (arst) chain <= {STAGES{1'b1}};
        else      chain <= {chain[STAGES-2:0], 1'b0};
    end
    assign rst = chain[STAGES-1];
endmodule

`default_nettype wire
