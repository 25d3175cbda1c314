//! Lock-step co-simulation of generated Verilog in Verilator, driven cycle by cycle from Rust.
//!
//! `replay` checks precomputed vectors; blocks with a handshake (a control port that may say
//! "not ready", events the test reacts to) need a testbench that decides each cycle's inputs
//! from the previous outputs. This builds the Verilog with a generated C++ main that reads one
//! line of input values a cycle on stdin, applies a rising clock edge and prints the outputs.
//! Semantics as `testbench::cycle` ([`Sample::AfterEdge`]): inputs set before `step` are
//! sampled at the edge, and the returned outputs are their values after it; or
//! [`Sample::BeforeEdge`]: the outputs as the edge samples them, so a testbench sees every
//! valid/ready handshake exactly as the block does (the NIC core's world).
use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A port: name and width in bits. Values are little-endian 64-bit words.
pub type Port = (String, usize);

pub fn words(width: usize) -> usize {
    width.div_ceil(64)
}

/// A built model: the binary and its port lists.
#[derive(Clone, Debug)]
pub struct Model {
    pub binary: PathBuf,
    pub inputs: Vec<Port>,
    pub outputs: Vec<Port>,
}

/// When `CoSim::step` reads the outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    AfterEdge,
    BeforeEdge,
}

/// Verilator options of `build`: generated blocks are linted by `make lint`, so warnings do
/// not stop a test build; registers start at 0 as the generated initial values say.
pub const DEFAULT_FLAGS: &[&str] = &["-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-initial", "0"];

fn cpp_main(top: &str, clock: &str, inputs: &[Port], outputs: &[Port], sample: Sample) -> String {
    let mut m = format!(
        "#include \"V{top}.h\"
#include \"verilated.h\"
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>
static uint64_t hex64(char*& p) {{ while (*p == ' ') p++; return strtoull(p, &p, 16); }}
static void hexwide(char*& p, uint32_t* w, int n) {{
  while (*p == ' ') p++;
  char* s = p; while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) p++;
  for (int i = 0; i < n; i++) w[i] = 0;
  int bit = 0;
  for (char* q = p - 1; q >= s && bit < 32 * n; q--, bit += 4) {{
    uint32_t d = (*q <= '9') ? (uint32_t)(*q - '0') : (uint32_t)(*q - 'a' + 10);
    w[bit / 32] |= d << (bit % 32);
  }}
}}
static char* putwide(char* o, const uint32_t* w, int n) {{
  int i = n - 1; while (i > 0 && w[i] == 0) i--;
  o += sprintf(o, \"%x\", w[i]);
  for (i = i - 1; i >= 0; i--) o += sprintf(o, \"%08x\", w[i]);
  *o++ = ' '; return o;
}}
int main(int argc, char** argv) {{
  Verilated::commandArgs(argc, argv);
  V{top}* m = new V{top};
  m->{clock} = 0; m->eval();
  static char out[1 << 16];
  char* line = nullptr; size_t cap = 0;
  while (getline(&line, &cap, stdin) > 0) {{
    if (line[0] == 'q') break;
    char* p = line;
"
    );
    for (name, w) in inputs {
        if *w <= 64 {
            let _ = writeln!(m, "    m->{name} = hex64(p);");
        } else {
            let _ = writeln!(m, "    hexwide(p, (uint32_t*)&m->{name}[0], {});", w.div_ceil(32));
        }
    }
    match sample {
        Sample::AfterEdge => {
            let _ = writeln!(m, "    m->{clock} = 1; m->eval();\n    char* o = out;");
        }
        Sample::BeforeEdge => {
            let _ = writeln!(m, "    m->eval();\n    char* o = out;");
        }
    }
    for (name, w) in outputs {
        if *w <= 64 {
            let _ = writeln!(m, "    o += sprintf(o, \"%llx \", (unsigned long long)m->{name});");
        } else {
            let _ = writeln!(m, "    o = putwide(o, (const uint32_t*)&m->{name}[0], {});", w.div_ceil(32));
        }
    }
    let edge = if sample == Sample::BeforeEdge { format!("\n    m->{clock} = 1; m->eval();") } else { String::new() };
    let _ = write!(
        m,
        "    *o++ = '\\n'; *o = 0;{edge}
    m->{clock} = 0; m->eval();
    fputs(out, stdout); fflush(stdout);
  }}
  m->final(); delete m; return 0;
}}
"
    );
    m
}

/// Builds `verilog` (top module `top`) in `dir`, unless the same sources were built there.
pub fn build(dir: &Path, verilog: &str, top: &str, clock: &str, inputs: Vec<Port>, outputs: Vec<Port>) -> Result<Model, String> {
    build_with(dir, verilog, top, clock, inputs, outputs, Sample::AfterEdge, DEFAULT_FLAGS)
}

/// `build` with the sampling point and the Verilator options chosen.
#[allow(clippy::too_many_arguments)]
pub fn build_with(dir: &Path, verilog: &str, top: &str, clock: &str, inputs: Vec<Port>, outputs: Vec<Port>, sample: Sample, flags: &[&str]) -> Result<Model, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let main = cpp_main(top, clock, &inputs, &outputs, sample);
    let mut hasher = DefaultHasher::new();
    (verilog, &main, flags).hash(&mut hasher);
    let stamp = format!("{:016x}", hasher.finish());
    let binary = dir.join("obj_dir").join(format!("V{top}"));
    let stamp_file = dir.join("built.stamp");
    if binary.exists() && std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(Model { binary, inputs, outputs });
    }
    std::fs::write(dir.join(format!("{top}.v")), verilog).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("main.cpp"), main).map_err(|e| e.to_string())?;
    let out = Command::new("verilator")
        .current_dir(dir)
        .args(["--cc", "--exe", "--build", "-O1"])
        .args(flags)
        .args(["-CFLAGS", "-O1", "-j", "2", "--top-module", top])
        .arg(format!("{top}.v"))
        .arg("main.cpp")
        .output()
        .map_err(|e| format!("cannot run verilator (apt-get install verilator): {e}"))?;
    if !out.status.success() {
        return Err(format!("verilator build failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    std::fs::write(&stamp_file, stamp).map_err(|e| e.to_string())?;
    Ok(Model { binary, inputs, outputs })
}

/// A running model.
pub struct CoSim {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: String,
    out: String,
    pub model: Model,
    pub cycles: u64,
}

impl CoSim {
    pub fn start(model: &Model) -> Result<Self, String> {
        let mut child = Command::new(&model.binary)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", model.binary.display()))?;
        let stdin = BufWriter::new(child.stdin.take().unwrap());
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Ok(Self { child, stdin, stdout, line: String::new(), out: String::new(), model: model.clone(), cycles: 0 })
    }

    /// One clock edge. `inputs[i]` holds `words(width)` words for input port `i`; the result
    /// holds the outputs after the edge.
    pub fn step(&mut self, inputs: &[Vec<u64>]) -> Vec<Vec<u64>> {
        assert_eq!(inputs.len(), self.model.inputs.len(), "one value per input port");
        self.line.clear();
        for v in inputs {
            let top = v.iter().rposition(|&w| w != 0).unwrap_or(0);
            let _ = write!(self.line, "{:x}", v.get(top).copied().unwrap_or(0));
            for w in v[..top].iter().rev() {
                let _ = write!(self.line, "{w:016x}");
            }
            self.line.push(' ');
        }
        self.line.push('\n');
        self.stdin.write_all(self.line.as_bytes()).expect("model died");
        self.stdin.flush().expect("model died");
        self.out.clear();
        self.stdout.read_line(&mut self.out).expect("model died");
        assert!(!self.out.is_empty(), "model exited");
        self.cycles += 1;
        self.out
            .split_whitespace()
            .zip(&self.model.outputs)
            .map(|(tok, (_, width))| {
                let n = words(*width);
                let mut v = vec![0u64; n];
                let digits = tok.as_bytes();
                for (i, chunk) in digits.rchunks(16).enumerate().take(n) {
                    v[i] = u64::from_str_radix(std::str::from_utf8(chunk).unwrap(), 16).expect("hex");
                }
                v
            })
            .collect()
    }
}

impl Drop for CoSim {
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"q\n");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}
