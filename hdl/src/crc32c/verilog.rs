//! Verilog text for the CRC32C blocks, generated from the same GF(2) tables as the models.
//!
//! rust-hdl's `#[hdl_gen]` cannot express a 512-input XOR tree with chosen pipeline cuts or a
//! ROM that maps to block RAM, so these blocks return `Verilog::Custom` bodies built here.
//! Every such body is replayed through Verilator against the Rust model by the tests.
use super::gf2::Mat32;
use std::fmt::Write;

/// `^(x & mask)`: one output bit of a matrix-vector product over GF(2).
pub fn masked_parity(x: &str, mask: u32) -> String {
    if mask == 0 {
        "1'b0".into()
    } else {
        format!("(^({x} & 32'h{mask:08x}))")
    }
}

/// `{bit31, ..., bit0}` of `m * x`.
pub fn matrix_product(m: &Mat32, x: &str) -> String {
    let bits: Vec<String> = (0..32).rev().map(|i| masked_parity(x, m.row(i))).collect();
    format!("{{{}}}", bits.join(", "))
}

/// A Verilog function mapping a `index_bits`-wide index to a 32-bit constant from `table`
/// (indices past the table return 0; the callers never produce them).
pub fn constant_function(name: &str, index_bits: usize, table: &[u32]) -> String {
    let mut f = format!("function [31:0] {name};\n  input [{}:0] index;\n  case (index)\n", index_bits - 1);
    for (i, v) in table.iter().enumerate() {
        let _ = writeln!(f, "    {index_bits}'d{i}: {name} = 32'h{v:08x};");
    }
    if table.len() < 1 << index_bits {
        f.push_str("    default: ");
        let _ = writeln!(f, "{name} = 32'h00000000;");
    }
    f.push_str("  endcase\nendfunction\n");
    f
}

/// One stage of a table-driven shift `x <- T^(-8 * step * digit) x`: four ROMs, one per byte of
/// `x`, each indexed by {digit, byte}; the stage's result is the XOR of their registered
/// outputs. Yosys maps each ROM to one RAMB36 (1K x 32).
pub struct ShiftStage {
    /// Bytes removed per unit of the digit.
    pub step: usize,
    pub digit_bits: usize,
}

impl ShiftStage {
    /// The stages that together shift by any amount below `2^amount_bits` bytes.
    pub fn plan(amount_bits: usize) -> Vec<ShiftStage> {
        (0..amount_bits)
            .step_by(2)
            .map(|low| ShiftStage { step: 1 << low, digit_bits: (amount_bits - low).min(2) })
            .collect()
    }

    fn rom_contents(&self, byte: usize) -> Vec<u32> {
        let mut words = Vec::with_capacity(256 << self.digit_bits);
        for digit in 0..1usize << self.digit_bits {
            let m = Mat32::zero_bytes(-((self.step * digit) as i64));
            words.extend((0..256u32).map(|v| m.apply(v << (8 * byte))));
        }
        words
    }

    /// Declarations and logic for stage `k`: reads `x_in` (32 bits) with `digit`, and defines
    /// `wire [31:0] <prefix>_out` = the XOR of the four registered ROM outputs.
    pub fn emit(&self, prefix: &str, x_in: &str, digit: &str) -> String {
        let depth = 256 << self.digit_bits;
        let mut v = String::new();
        for byte in 0..4 {
            let rom = format!("{prefix}_rom{byte}");
            let _ = writeln!(v, "(* rom_style = \"block\" *) reg [31:0] {rom} [0:{}];", depth - 1);
            let _ = writeln!(v, "reg [31:0] {prefix}_q{byte};");
            v.push_str("initial begin\n");
            for (i, w) in self.rom_contents(byte).iter().enumerate() {
                let _ = writeln!(v, "  {rom}[{i}] = 32'h{w:08x};");
            }
            let _ = writeln!(v, "  {prefix}_q{byte} = 32'h00000000;\nend");
            let _ = writeln!(
                v,
                "always @(posedge clock) {prefix}_q{byte} <= {rom}[{{{digit}, {x_in}[{}:{}]}}];",
                8 * byte + 7,
                8 * byte
            );
        }
        let _ = writeln!(v, "wire [31:0] {prefix}_out = {prefix}_q0 ^ {prefix}_q1 ^ {prefix}_q2 ^ {prefix}_q3;");
        v
    }
}
