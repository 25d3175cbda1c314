//! Replays per-cycle vectors through generated Verilog in Verilator and reports mismatches.
//!
//! The Rust model of a block and its Verilog can silently disagree (expression widths differ,
//! custom Verilog is hand-generated), so every block's tests drive the same inputs through
//! both: the model's outputs become the expected values here, and the model itself is checked
//! against an independent reference in the same test. On a mismatch the run is repeated with
//! tracing on and the VCD path is part of the error.
use num_bigint::BigUint;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A port of the device under test: name and width in bits.
pub type Port = (&'static str, usize);

pub struct Replay {
    pub top: String,
    pub verilog: String,
    pub clock: &'static str,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
}

/// One clock cycle: input values (in `inputs` order), then expected outputs after the rising
/// edge and which of their bits matter.
pub struct Cycle {
    pub inputs: Vec<BigUint>,
    pub expected: Vec<BigUint>,
    pub care: Vec<BigUint>,
}

#[derive(Debug)]
pub struct ReplayReport {
    pub cycles: usize,
    pub mismatches: usize,
    pub first_mismatches: Vec<String>,
    pub vcd: Option<PathBuf>,
}

fn pack(values: &[BigUint], ports: &[Port]) -> BigUint {
    assert_eq!(values.len(), ports.len(), "one value per port");
    values.iter().zip(ports).fold(BigUint::default(), |acc, (v, &(name, width))| {
        assert!(v.bits() <= width as u64, "value {v:x} does not fit port {name} ({width} bits)");
        (acc << width) | v
    })
}

fn width(ports: &[Port]) -> usize {
    ports.iter().map(|p| p.1).sum()
}

impl Replay {
    fn testbench(&self, cycles: usize) -> String {
        let (iw, ow) = (width(&self.inputs), width(&self.outputs));
        let mut tb = String::from("`timescale 1ns/1ps\nmodule replay_tb;\n");
        let _ = writeln!(tb, "reg {} = 1'b0;", self.clock);
        for (name, w) in &self.inputs {
            let _ = writeln!(tb, "reg [{}:0] {name} = {w}'d0;", w - 1);
        }
        for (name, w) in &self.outputs {
            let _ = writeln!(tb, "wire [{}:0] {name};", w - 1);
        }
        let ports: Vec<String> = std::iter::once(self.clock)
            .chain(self.inputs.iter().map(|p| p.0))
            .chain(self.outputs.iter().map(|p| p.0))
            .map(|n| format!(".{n}({n})"))
            .collect();
        let _ = writeln!(tb, "{} dut({});", self.top, ports.join(", "));
        let in_names: Vec<&str> = self.inputs.iter().map(|p| p.0).collect();
        let out_names: Vec<&str> = self.outputs.iter().map(|p| p.0).collect();
        let _ = write!(
            tb,
            "reg [{im}:0] vin [0:{n}];
reg [{om}:0] vexp [0:{n}];
reg [{om}:0] vcare [0:{n}];
reg [{om}:0] got;
integer i, errors;
initial begin
  if ($test$plusargs(\"trace\")) begin $dumpfile(\"replay.vcd\"); $dumpvars(0, replay_tb); end
  $readmemh(\"in.hex\", vin); $readmemh(\"exp.hex\", vexp); $readmemh(\"care.hex\", vcare);
  errors = 0;
  for (i = 0; i < {cycles}; i = i + 1) begin
    {{{ins}}} = vin[i];
    #5 {clk} = 1'b1;
    #5 {clk} = 1'b0;
    got = {{{outs}}};
    if ((got & vcare[i]) != (vexp[i] & vcare[i])) begin
      errors = errors + 1;
      if (errors <= 10) $display(\"MISMATCH cycle %0d got %h expected %h care %h\", i, got, vexp[i], vcare[i]);
    end
  end
  $display(\"REPLAY %0d cycles %0d mismatches\", {cycles}, errors);
  $finish;
end
endmodule
",
            im = iw - 1,
            om = ow - 1,
            n = cycles - 1,
            ins = in_names.join(", "),
            outs = out_names.join(", "),
            clk = self.clock,
        );
        tb
    }

    fn write_vectors(&self, dir: &Path, cycles: &[Cycle]) -> std::io::Result<()> {
        let hex = |values: Vec<BigUint>| values.iter().map(|v| format!("{v:x}\n")).collect::<String>();
        std::fs::write(dir.join("in.hex"), hex(cycles.iter().map(|c| pack(&c.inputs, &self.inputs)).collect()))?;
        std::fs::write(dir.join("exp.hex"), hex(cycles.iter().map(|c| pack(&c.expected, &self.outputs)).collect()))?;
        std::fs::write(dir.join("care.hex"), hex(cycles.iter().map(|c| pack(&c.care, &self.outputs)).collect()))
    }

    /// Build with Verilator in `dir` and run the cycles; `Err` when the tools fail.
    /// Runs the replay in `<tmp>/replay-<top>` and panics unless every cycle matched; the
    /// panic message carries the report, with the VCD of the failing run.
    pub fn assert_matches(&self, tmp: &Path, cycles: &[Cycle]) {
        let report = self.run(&tmp.join(format!("replay-{}", self.top)), cycles).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.cycles, cycles.len(), "the replay stopped early: {report:#?}");
        assert_eq!(report.mismatches, 0, "Verilog disagrees with the model: {report:#?}");
    }

    pub fn run(&self, dir: &Path, cycles: &[Cycle]) -> Result<ReplayReport, String> {
        assert!(!cycles.is_empty(), "nothing to replay");
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::write(dir.join("dut.v"), &self.verilog).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("replay_tb.sv"), self.testbench(cycles.len())).map_err(|e| e.to_string())?;
        self.write_vectors(dir, cycles).map_err(|e| e.to_string())?;
        let build = Command::new("verilator")
            .current_dir(dir)
            .args(["--binary", "--timing", "--trace", "-Wno-fatal", "-Wno-lint", "-Wno-style", "-O1"])
            .args(["-CFLAGS", "-O1", "-j", "2", "--top-module", "replay_tb", "-o", "replay", "replay_tb.sv", "dut.v"])
            .output()
            .map_err(|e| format!("cannot run verilator (install it: apt-get install verilator): {e}"))?;
        if !build.status.success() {
            return Err(format!("verilator build failed:\n{}", String::from_utf8_lossy(&build.stderr)));
        }
        let run = |trace: bool| -> Result<String, String> {
            let mut cmd = Command::new(dir.join("obj_dir/replay"));
            cmd.current_dir(dir);
            if trace {
                cmd.arg("+trace");
            }
            let out = cmd.output().map_err(|e| format!("cannot run the replay binary: {e}"))?;
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let stdout = run(false)?;
        let summary = stdout.lines().find(|l| l.starts_with("REPLAY ")).ok_or_else(|| format!("no REPLAY summary in:\n{stdout}"))?;
        let numbers: Vec<usize> = summary.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        let (done, mismatches) = (numbers[0], numbers[1]);
        let vcd = (mismatches > 0).then(|| run(true).map(|_| dir.join("replay.vcd"))).transpose()?;
        Ok(ReplayReport {
            cycles: done,
            mismatches,
            first_mismatches: stdout.lines().filter(|l| l.starts_with("MISMATCH")).map(String::from).collect(),
            vcd,
        })
    }
}
