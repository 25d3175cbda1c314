//! `ddpnic-boards`: emit a board's generated files, or check them (make boards-check).
use clap::{Parser, Subcommand};
use ddpnic_boards::{board, check, emit, synth};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "ddpnic Alveo board support: XDC, board tops, Vivado parameters, checks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write build/boards/<board>/ (top.v, stubs.v, board.tcl, XDC) and build/constraints/<board>*.xdc.
    Emit {
        /// au250, au280, au55c or all
        #[arg(long, default_value = "au250")]
        board: String,
        #[arg(long, default_value = "build")]
        out: PathBuf,
        /// The NIC core's generated Verilog (copied to core.v for Vivado); without it the core is a blackbox.
        #[arg(long)]
        core_verilog: Option<PathBuf>,
    },
    /// Emit, then: Yosys synthesis of the top with IP blackboxes (resource figures), XDC ports
    /// against the top's ports, every TCL script and XDC under tclsh with stub Vivado commands,
    /// and the glue RTL's testbench in Verilator.
    Check {
        #[arg(long, default_value = "all")]
        board: String,
        #[arg(long, default_value = "build")]
        out: PathBuf,
        /// Repository root (for boards/rtl, boards/scripts, ip/).
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// The NIC core's generated Verilog: its ports are checked against the contract the
        /// stub is generated from (and it is copied for Vivado).
        #[arg(long)]
        core_verilog: Option<PathBuf>,
        /// Synthesize the real core inside the top instead of its blackbox (slow).
        #[arg(long, requires = "core_verilog")]
        synth_core: bool,
    },
}

fn boards(name: &str) -> Result<Vec<&'static board::Board>, String> {
    if name == "all" {
        return Ok(board::ALL.iter().collect());
    }
    board::by_name(name).map(|b| vec![b]).ok_or_else(|| {
        format!("unknown board {name}; known: {}", board::ALL.iter().map(|b| b.name).collect::<Vec<_>>().join(", "))
    })
}

fn run() -> Result<(), String> {
    match Cli::parse().cmd {
        Cmd::Emit { board, out, core_verilog } => {
            for b in boards(&board)? {
                let e = emit::emit(b, &out, core_verilog.as_deref())?;
                println!("{}: {} (top, stubs, board.tcl, XDC), {}/constraints/{}.xdc", b.name, e.dir.display(), out.display(), b.name);
            }
        }
        Cmd::Check { board, out, root, core_verilog, synth_core } => {
            let mut reports = Vec::new();
            let mut failed = Vec::new();
            if let Some(core) = &core_verilog {
                let problems = check::core_port_problems(core, &out)?;
                if problems.is_empty() {
                    println!("core: {} has exactly the contract's {} ports (boards/src/ports.rs)", core.display(), ddpnic_boards::ports::CORE.len());
                } else {
                    for p in &problems {
                        println!("core: {p}");
                    }
                    failed.push("core ports".to_string());
                }
            }
            let synth_with = if synth_core { core_verilog.as_deref() } else { None };
            for (n, b) in boards(&board)?.into_iter().enumerate() {
                let e = emit::emit(b, &out, core_verilog.as_deref())?;
                // the core's blackbox stands in for it unless --synth-core
                let r = check::synth_top(b, &e, &root, synth_with)?;
                println!("{}: yosys synth_xilinx -family xcup: {} LUTs, {} FFs, {} BRAM36, {} LUT levels (deepest path ends at {})", b.name, r.luts, r.ffs, r.bram36, r.lut_levels, r.deepest_net);
                reports.push(r);
                let ports = check::netlist_ports(b, &e)?;
                let xdc_text = std::fs::read_to_string(&e.xdc).map_err(|err| err.to_string())?;
                let problems = check::xdc_against_ports(&xdc_text, &ports);
                if problems.is_empty() {
                    println!("{}: XDC: {} ports named, all exist in {} with their widths; every top port constrained", b.name, ddpnic_boards::xdc::ports_named(&xdc_text).len(), ddpnic_boards::top::top_name(b));
                } else {
                    for p in &problems {
                        println!("{}: XDC: {p}", b.name);
                    }
                    failed.push(format!("{}: XDC", b.name));
                }
                if n == 0 {
                    match check::tcl_self_test(&root, &e) {
                        Ok(()) => println!("{}: tcl self-test: a misspelt Vivado command and an unbalanced brace in build.tcl are both caught", b.name),
                        Err(err) => {
                            println!("{}: {err}", b.name);
                            failed.push("TCL self-test".into());
                        }
                    }
                }
                match check::tcl(&root, &e) {
                    Ok(text) => print!("{}", text.lines().map(|l| format!("{}: tcl {l}\n", b.name)).collect::<String>()),
                    Err(text) => {
                        print!("{}", text.lines().map(|l| format!("{}: tcl {l}\n", b.name)).collect::<String>());
                        failed.push(format!("{}: TCL", b.name));
                    }
                }
            }
            match check::rtl_sim(&root, &out) {
                Ok(line) => println!("rtl: {line}"),
                Err(e) => {
                    println!("rtl: {e}");
                    failed.push("board glue testbench".into());
                }
            }
            let table = synth::table(&reports);
            std::fs::write(out.join("boards").join("summary.md"), &table).map_err(|e| e.to_string())?;
            println!("\n{table}");
            if !failed.is_empty() {
                return Err(format!("boards-check failed: {}", failed.join(", ")));
            }
            println!("boards-check: ok");
        }
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
