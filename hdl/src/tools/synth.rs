//! Yosys `synth_xilinx -family xcup` per block, and the figures read back from its netlist.
//!
//! Resource counts come from the cell types of the flattened netlist. `lut_levels` is the
//! largest number of LUTs on any path between sequential elements (flip-flops, block RAM,
//! ports); `logic_levels` also counts the MUXF7/8/9, CARRY4/CARRY8 (Yosys 0.23 maps xcup adders to CARRY4) and inverter cells on that path.
//! `abc_delay_ps` is the critical delay ABC9 mapped for (its pin-to-pin cell delays, no
//! routing). ABC minimizes that delay, not the LUT count: it then recovers area on every
//! path up to the critical delay, so inside a big block a path may take more, faster, LUTs
//! than it does alone; the critical delay is what a block adds to a design it is part of.
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Serialize)]
pub struct SynthReport {
    pub block: String,
    pub luts: usize,
    pub ffs: usize,
    pub bram36: f64,
    pub uram: usize,
    pub dsp: usize,
    pub lut_levels: usize,
    pub logic_levels: usize,
    pub muxf: usize,
    pub carry: usize,
    pub abc_delay_ps: f64,
    /// A net at the end of the deepest path, to find it in the design.
    pub deepest_net: String,
}

/// Runs Yosys on `verilog` (top module `block`), keeping its log and netlist in `out_dir`.
/// `synthesize` for every (block, Verilog file), `jobs` at a time; results in the given order.
pub fn synthesize_all(blocks: &[(&str, std::path::PathBuf, &[&str])], out_dir: &Path, jobs: usize) -> Vec<Result<SynthReport, String>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<SynthReport, String>>>> = blocks.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((name, verilog, blackboxes)) = blocks.get(i) else { break };
                let started = std::time::Instant::now();
                let result = synthesize(name, verilog, out_dir, blackboxes);
                eprintln!("  {name}: {:.0} s", started.elapsed().as_secs_f64());
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            });
        }
    });
    results.into_iter().map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner()).expect("every block was synthesized")).collect()
}

/// `blackboxes`: modules of the file kept as empty boxes (their ports end paths).
pub fn synthesize(block: &str, verilog: &Path, out_dir: &Path, blackboxes: &[&str]) -> Result<SynthReport, String> {
    std::fs::create_dir_all(out_dir).map_err(|e| e.to_string())?;
    let netlist = out_dir.join(format!("{block}.netlist.json"));
    let boxes: String = blackboxes.iter().map(|m| format!("blackbox {m}; ")).collect();
    let script = format!(
        "read_verilog {}; {boxes}synth_xilinx -family xcup -top {block} -flatten -noiopad -abc9; write_json {}",
        verilog.display(),
        netlist.display()
    );
    let log = out_dir.join(format!("{block}.yosys.log"));
    let out = Command::new("yosys")
        .args(["-q", "-l"])
        .arg(&log)
        .args(["-p", &script])
        .output()
        .map_err(|e| format!("cannot run yosys (apt-get install yosys): {e}"))?;
    if !out.status.success() {
        return Err(format!("yosys failed on {block}:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&netlist).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let module = &json["modules"][block];
    let cells = module["cells"].as_object().ok_or("netlist has no cells")?;
    let names: HashMap<u64, String> = module["netnames"]
        .as_object()
        .map(|nets| {
            nets.iter()
                .flat_map(|(name, net)| net["bits"].as_array().cloned().unwrap_or_default().into_iter().enumerate().filter_map(move |(i, b)| b.as_u64().map(|b| (b, format!("{name}[{i}]")))))
                .collect()
        })
        .unwrap_or_default();
    let mut report = figures(block, cells.values().collect(), &names);
    report.abc_delay_ps = abc_delay(&std::fs::read_to_string(&log).unwrap_or_default());
    Ok(report)
}

/// The delay of ABC's final mapping: the last `Del =` of each ABC run, the largest of those.
fn abc_delay(log: &str) -> f64 {
    let mut runs = Vec::new();
    let mut last = None;
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("ABC: ").and_then(|l| l.split("Del =").nth(1)) {
            last = rest.split_whitespace().next().and_then(|v| v.trim_end_matches('.').parse::<f64>().ok());
        } else if line.contains("Executing ABC9 pass") {
            runs.extend(last.take());
        }
    }
    runs.extend(last);
    runs.into_iter().fold(0.0, f64::max)
}

fn cell_type(cell: &Value) -> &str {
    cell["type"].as_str().unwrap_or("")
}

fn is_lut(t: &str) -> bool {
    matches!(t, "LUT1" | "LUT2" | "LUT3" | "LUT4" | "LUT5" | "LUT6")
}

/// Cells whose outputs follow their inputs within the cycle.
fn is_combinational(t: &str) -> bool {
    is_lut(t) || t.starts_with("MUXF") || t.starts_with("CARRY") || t == "INV"
}

fn figures(block: &str, cells: Vec<&Value>, names: &HashMap<u64, String>) -> SynthReport {
    let count = |pred: &dyn Fn(&str) -> bool| cells.iter().filter(|c| pred(cell_type(c))).count();
    let (lut_levels, logic_levels, deepest) = longest_paths(&cells);
    SynthReport {
        block: block.to_string(),
        luts: count(&is_lut),
        ffs: count(&|t| t.starts_with("FD")),
        bram36: count(&|t| t == "RAMB36E2") as f64 + 0.5 * count(&|t| t == "RAMB18E2") as f64,
        uram: count(&|t| t == "URAM288"),
        dsp: count(&|t| t.starts_with("DSP48")),
        lut_levels,
        logic_levels,
        muxf: count(&|t| t.starts_with("MUXF")),
        carry: count(&|t| t.starts_with("CARRY")),
        abc_delay_ps: 0.0,
        deepest_net: names.get(&deepest).cloned().unwrap_or_default(),
    }
}

/// Longest combinational paths: (most LUTs on a path, most cells on a path, the net ending
/// the path with the most LUTs).
fn longest_paths(cells: &[&Value]) -> (usize, usize, u64) {
    // Net bit -> the combinational cell driving it, with that cell's input bits.
    let mut driver: HashMap<u64, (bool, Vec<u64>)> = HashMap::new();
    for cell in cells.iter().filter(|c| is_combinational(cell_type(c))) {
        let dirs = cell["port_directions"].as_object().cloned().unwrap_or_default();
        let bits = |want: &str| -> Vec<u64> {
            dirs.iter()
                .filter(|(_, d)| d.as_str() == Some(want))
                .flat_map(|(port, _)| cell["connections"][port].as_array().cloned().unwrap_or_default())
                .filter_map(|b| b.as_u64())
                .collect()
        };
        let inputs = bits("input");
        for out in bits("output") {
            driver.insert(out, (is_lut(cell_type(cell)), inputs.clone()));
        }
    }
    let mut memo: HashMap<u64, (usize, usize)> = HashMap::new();
    fn depth(bit: u64, driver: &HashMap<u64, (bool, Vec<u64>)>, memo: &mut HashMap<u64, (usize, usize)>) -> (usize, usize) {
        if let Some(&d) = memo.get(&bit) {
            return d;
        }
        let d = match driver.get(&bit) {
            None => (0, 0),
            Some((lut, inputs)) => {
                let (l, c) = inputs.iter().map(|&i| depth(i, driver, memo)).fold((0, 0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
                (l + usize::from(*lut), c + 1)
            }
        };
        memo.insert(bit, d);
        d
    }
    let bits: Vec<u64> = driver.keys().copied().collect();
    let depths: Vec<(u64, (usize, usize))> = bits.iter().map(|&b| (b, depth(b, &driver, &mut memo))).collect();
    let deepest = depths.iter().max_by_key(|(b, d)| (d.0, std::cmp::Reverse(*b))).map_or(0, |(b, _)| *b);
    let cells_max = depths.iter().map(|(_, d)| d.1).max().unwrap_or(0);
    (depths.iter().map(|(_, d)| d.0).max().unwrap_or(0), cells_max, deepest)
}

/// A readable table of reports.
pub fn table(reports: &[SynthReport]) -> String {
    let mut t = String::from("| block | LUTs | FFs | BRAM36 | URAM | DSP | LUT levels | logic levels (incl. MUXF/CARRY) | ABC delay (ps) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in reports {
        t.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0} |\n",
            r.block, r.luts, r.ffs, r.bram36, r.uram, r.dsp, r.lut_levels, r.logic_levels, r.abc_delay_ps
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    #[test]
    fn abc_delay_is_the_final_mapping_of_the_slowest_run() {
        let log = "2.44. Executing ABC9 pass.\nABC: P:  Del = 3321.00.  Ar = 1.0.\nABC: A:  Del = 3239.00.  Ar = 1.0.\n\
                   3.1. Executing ABC9 pass.\nABC: P:  Del = 900.00.  Ar = 1.0.\nABC: F:  Del = 800.00.  Ar = 1.0.\n";
        assert_eq!(super::abc_delay(log), 3239.0);
        assert_eq!(super::abc_delay("no abc here"), 0.0);
    }
}
