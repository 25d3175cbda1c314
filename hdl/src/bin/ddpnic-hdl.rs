//! `ddpnic-hdl`: writes the Verilog of every top-level block, lints it, synthesizes it.
use clap::{Parser, Subcommand};
use ddpnic_hdl::blocks;
use ddpnic_hdl::tools::{lint, synth};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Generate, lint and synthesize the ddpnic receive-path RTL")]
struct Cli {
    /// Only these blocks (comma-separated names); all of them by default.
    #[arg(long, global = true, value_delimiter = ',')]
    only: Vec<String>,
    #[command(subcommand)]
    step: Step,
}

#[derive(Subcommand)]
enum Step {
    /// Write <block>.v for every top-level block.
    Verilog {
        #[arg(long, default_value = "build/verilog")]
        out: PathBuf,
    },
    /// verilator --lint-only -Wall on each file; any warning outside the waiver file fails.
    Lint {
        #[arg(long, default_value = "build/verilog")]
        verilog: PathBuf,
        #[arg(long, default_value = "hdl/lint/waivers.vlt")]
        waivers: PathBuf,
    },
    /// Benchmarks in Verilator: placement (setup/teardown cycles, DMA writer bytes per cycle), the core's rx/tx rates, the tracker's line rate.
    Bench {
        #[arg(long, default_value = "build/bench")]
        out: PathBuf,
    },
    /// Print the BAR0 register map (markdown; hdl/regmap/REGMAP.md is this output).
    Regmap,
    /// Yosys synth_xilinx for UltraScale+; writes <block>.json and summary.md.
    Synth {
        #[arg(long, default_value = "build/verilog")]
        verilog: PathBuf,
        #[arg(long, default_value = "build/synth")]
        out: PathBuf,
    },
}

fn run(cli: Cli) -> Result<(), String> {
    let selected = || -> Result<Vec<blocks::TopBlock>, String> {
        let all = blocks::all();
        if let Some(unknown) = cli.only.iter().find(|name| !all.iter().any(|b| &b.name == name)) {
            let names: Vec<&str> = all.iter().map(|b| b.name).collect();
            return Err(format!("no block named {unknown}; the blocks are {}", names.join(", ")));
        }
        Ok(all.into_iter().filter(|b| cli.only.is_empty() || cli.only.iter().any(|n| n == b.name)).collect())
    };
    match cli.step {
        Step::Verilog { out } => {
            std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            for block in selected()? {
                let path = out.join(format!("{}.v", block.name));
                std::fs::write(&path, (block.verilog)()).map_err(|e| format!("{}: {e}", path.display()))?;
                println!("wrote {} ({})", path.display(), block.summary);
            }
        }
        Step::Lint { verilog, waivers } => {
            let mut dirty = 0;
            for block in selected()? {
                let findings = lint::lint_file(&verilog.join(format!("{}.v", block.name)), &waivers)?;
                println!("{:<24} {}", block.name, if findings.is_empty() { "clean".to_string() } else { format!("{} findings", findings.len()) });
                findings.iter().take(20).for_each(|f| println!("  {f}"));
                dirty += findings.len();
            }
            if dirty > 0 {
                return Err(format!("lint: {dirty} findings outside {}", waivers.display()));
            }
        }
        Step::Regmap => print!("{}", ddpnic_regmap::markdown()),
        Step::Bench { out } => {
            let report = ddpnic_hdl::placement::bench::run(&out.join("placement"))?;
            print!("{report}");
            std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
            std::fs::write(out.join("placement.md"), report).map_err(|e| e.to_string())?;
            let core = ddpnic_hdl::core::bench::run(&out.join("core"))?;
            print!("{core}");
            std::fs::write(out.join("core.jsonl"), core).map_err(|e| e.to_string())?;
            let tracker = ddpnic_hdl::framing::bench::run(&out.join("tracker"))?;
            print!("{tracker}");
            std::fs::write(out.join("tracker.jsonl"), tracker).map_err(|e| e.to_string())?;
        }
        Step::Synth { verilog, out } => {
            let (mut reports, mut over) = (Vec::new(), Vec::new());
            let blocks = selected()?;
            // Yosys is single-threaded: one block per core, reported in list order.
            let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
            eprintln!("yosys synth_xilinx (xcup, abc9): {} blocks, {jobs} at a time", blocks.len());
            let inputs: Vec<_> = blocks.iter().map(|b| (b.name, verilog.join(format!("{}.v", b.name)), b.synth_blackboxes)).collect();
            let results = synth::synthesize_all(&inputs, &out, jobs);
            for (block, report) in blocks.iter().zip(results) {
                let report = report?;
                let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
                std::fs::write(out.join(format!("{}.json", block.name)), &json).map_err(|e| e.to_string())?;
                println!("{json}");
                if report.luts > block.max_luts || report.lut_levels > block.max_lut_levels {
                    over.push(format!("{}: {} LUTs (budget {}), {} LUT levels (budget {})", block.name, report.luts, block.max_luts, report.lut_levels, block.max_lut_levels));
                }
                reports.push(report);
            }
            // Blocks with blackboxes: their whole size once every box has its own report.
            for block in blocks.iter().filter(|b| !b.synth_blackboxes.is_empty()) {
                let luts = |name: &str| reports.iter().find(|r| r.block == name).map(|r| r.luts);
                let parts: Option<Vec<usize>> = std::iter::once(block.name).chain(block.synth_blackboxes.iter().copied()).map(luts).collect();
                if let Some(parts) = parts {
                    let whole: usize = parts.iter().sum();
                    println!("{} with {}: {whole} LUTs (budget {})", block.name, block.synth_blackboxes.join(", "), block.max_luts_with_blackboxes);
                    if whole > block.max_luts_with_blackboxes {
                        over.push(format!("{} with its blackboxes: {whole} LUTs (budget {})", block.name, block.max_luts_with_blackboxes));
                    }
                }
            }
            let table = synth::table(&reports);
            std::fs::write(out.join("summary.md"), &table).map_err(|e| e.to_string())?;
            print!("{table}");
            if !over.is_empty() {
                return Err(format!("over budget: {}", over.join("; ")));
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ddpnic-hdl: {e}");
            ExitCode::FAILURE
        }
    }
}
