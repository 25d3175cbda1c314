//! What CI checks without Vivado or a card (make boards-check):
//! 1. the board top, with the vendor IP (and, until it is on main, the core) as blackboxes,
//!    synthesizes in Yosys `synth_xilinx -family xcup` and reports its resources;
//! 2. every port the XDC names exists in the synthesized top, within its width, and every
//!    top port is constrained (the PCIe lanes are placed by the XDMA IP);
//! 3. every TCL script and XDC file runs under tclsh with stub Vivado commands;
//! 4. the glue RTL (CDC FIFOs, BAR0 bridge, interrupt handshake) passes its Verilator testbench.
use crate::board::Board;
use crate::emit::Emitted;
use crate::synth::{self, SynthReport};
use crate::{top, xdc};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Yosys on rtl + IP stubs + the core (its Verilog, or its blackbox) + top; figures as
/// `make synth` reports them.
pub fn synth_top(b: &Board, e: &Emitted, root: &Path, core: Option<&Path>) -> Result<SynthReport, String> {
    let mut text = String::new();
    for f in top::RTL_FILES {
        let p = root.join("boards/rtl").join(f);
        text.push_str(&std::fs::read_to_string(&p).map_err(|err| format!("{}: {err}", p.display()))?);
    }
    text.push_str(&std::fs::read_to_string(&e.stubs).map_err(|err| err.to_string())?);
    let core_file = core.map_or(e.core_stub.clone(), Path::to_path_buf);
    text.push_str(&std::fs::read_to_string(&core_file).map_err(|err| format!("{}: {err}", core_file.display()))?);
    text.push_str(&std::fs::read_to_string(&e.top).map_err(|err| err.to_string())?);
    let input = e.dir.join("synth_input.v");
    std::fs::write(&input, text).map_err(|err| err.to_string())?;
    synth::synthesize(&top::top_name(b), &input, &e.dir.join("synth"), &[])
}

/// Port name -> width of the synthesized top.
pub fn netlist_ports(b: &Board, e: &Emitted) -> Result<Vec<(String, u32)>, String> {
    let name = top::top_name(b);
    let path = e.dir.join("synth").join(format!("{name}.netlist.json"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?).map_err(|err| err.to_string())?;
    let ports = json["modules"][&name]["ports"].as_object().ok_or("netlist: top has no ports")?;
    Ok(ports.iter().map(|(n, p)| (n.clone(), p["bits"].as_array().map_or(0, |a| a.len() as u32))).collect())
}

/// Problems between the XDC and the top's ports (empty = fine).
pub fn xdc_against_ports(xdc_text: &str, ports: &[(String, u32)]) -> Vec<String> {
    let mut problems = Vec::new();
    let named = xdc::ports_named(xdc_text);
    for (n, idx) in &named {
        match ports.iter().find(|(p, _)| p == n) {
            None => problems.push(format!("XDC names port {n}, which the top does not have")),
            Some((_, w)) => match idx {
                Some(i) if *i >= *w => problems.push(format!("XDC names {n}[{i}], the top's {n} is {w} bits")),
                None if *w > 1 => problems.push(format!("XDC names {n} without an index, the top's {n} is {w} bits")),
                _ => {}
            },
        }
    }
    for (p, _) in ports {
        let by_ip = p.starts_with("pcie_rx_") || p.starts_with("pcie_tx_");
        if !by_ip && !named.iter().any(|(n, _)| n == p) {
            problems.push(format!("top port {p} has no constraint"));
        }
    }
    problems
}

/// The TCL check must fail on a broken script: a copy of the scripts with one Vivado command
/// misspelt and one brace missing, each run through tcl_check.tcl, must be refused.
pub fn tcl_self_test(root: &Path, e: &Emitted) -> Result<(), String> {
    let scratch = e.dir.join("tcl_self_test");
    for (what, from, to) in [("a misspelt command", "synth_design -top", "synth_desing -top"), ("an unbalanced brace", "if {$ddp_wns ne \"\" && $ddp_wns < 0} {", "if {$ddp_wns ne \"\" && $ddp_wns < 0 {")] {
        let _ = std::fs::remove_dir_all(&scratch);
        for d in ["ip", "boards/scripts"] {
            std::fs::create_dir_all(scratch.join(d)).map_err(|err| err.to_string())?;
        }
        for f in ["ip/xdma.tcl", "ip/cmac_usplus.tcl", "boards/scripts/program.tcl", "boards/scripts/tcl_check.tcl"] {
            std::fs::copy(root.join(f), scratch.join(f)).map_err(|err| format!("{f}: {err}"))?;
        }
        let build = std::fs::read_to_string(root.join("boards/scripts/build.tcl")).map_err(|err| err.to_string())?;
        if !build.contains(from) {
            return Err(format!("tcl self-test: build.tcl no longer contains {from:?}; update the self-test"));
        }
        std::fs::write(scratch.join("boards/scripts/build.tcl"), build.replacen(from, to, 1)).map_err(|err| err.to_string())?;
        if tcl(&scratch, e).is_ok() {
            return Err(format!("tcl self-test: build.tcl with {what} passed the TCL check"));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// tclsh boards/scripts/tcl_check.tcl over the emitted board directory; its output.
pub fn tcl(root: &Path, e: &Emitted) -> Result<String, String> {
    let out = Command::new("tclsh")
        .arg(root.join("boards/scripts/tcl_check.tcl"))
        .arg(root)
        .arg(&e.dir)
        .output()
        .map_err(|err| format!("cannot run tclsh (apt-get install tcl): {err}"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// boards/rtl/tb/tb_board_glue.v through Verilator (--binary --timing): the CDC FIFOs, the
/// BAR0 bridge and the interrupt handshake against their contracts. Returns the PASS line.
pub fn rtl_sim(root: &Path, out: &Path) -> Result<String, String> {
    let obj = out.join("boards").join("tb");
    let mut args: Vec<std::ffi::OsString> = ["--binary", "--timing", "--timescale", "1ns/1ps", "-Wno-fatal", "-Wno-lint", "-Wno-style", "-Wno-TIMESCALEMOD", "--top-module", "tb_board_glue", "-o", "tb"]
        .iter()
        .map(Into::into)
        .collect();
    args.push("-Mdir".into());
    args.push(obj.clone().into());
    for f in top::RTL_FILES {
        args.push(root.join("boards/rtl").join(f).into());
    }
    args.push(root.join("boards/rtl/tb/tb_board_glue.v").into());
    let build = Command::new("verilator").args(&args).output().map_err(|e| format!("cannot run verilator (make deps): {e}"))?;
    if !build.status.success() {
        return Err(format!("verilator failed on the board glue testbench:\n{}", String::from_utf8_lossy(&build.stderr)));
    }
    let run = Command::new(obj.join("tb")).output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&run.stderr);
    match text.lines().find(|l| l.contains("tb_board_glue: PASS")) {
        Some(l) if run.status.success() => Ok(l.to_string()),
        _ => Err(format!("board glue testbench failed:\n{text}")),
    }
}

/// The real core's ports (Yosys reads its Verilog, no synthesis) against `ports::CORE`, the
/// list the stub and the board tops are generated from. Empty = they agree.
pub fn core_port_problems(core: &Path, out: &Path) -> Result<Vec<String>, String> {
    let dir = out.join("boards");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let json_path = dir.join("ddpnic_core.ports.json");
    let script = format!("read_verilog {}; hierarchy -top ddpnic_core; proc; write_json {}", core.display(), json_path.display());
    let run = Command::new("yosys").args(["-q", "-p", &script]).output().map_err(|e| format!("cannot run yosys: {e}"))?;
    if !run.status.success() {
        return Err(format!("yosys cannot read {}:\n{}", core.display(), String::from_utf8_lossy(&run.stderr)));
    }
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let ports = json["modules"]["ddpnic_core"]["ports"].as_object().ok_or("no module ddpnic_core in the core's Verilog")?;
    let mut problems = Vec::new();
    for p in crate::ports::CORE {
        match ports.get(p.name) {
            None => problems.push(format!("the core has no port {}", p.name)),
            Some(q) => {
                let w = q["bits"].as_array().map_or(0, |a| a.len() as u32);
                let dir = if p.dir == crate::ports::Dir::In { "input" } else { "output" };
                if w != p.width || q["direction"].as_str() != Some(dir) {
                    problems.push(format!("core port {}: {} {} bits, the contract says {dir} {} bits", p.name, q["direction"], w, p.width));
                }
            }
        }
    }
    for name in ports.keys() {
        if crate::ports::find(crate::ports::CORE, name).is_none() {
            problems.push(format!("the core has port {name}, which is not in the contract"));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdc_check_finds_missing_wide_and_unconstrained_ports() {
        let ports = vec![("a".to_string(), 1), ("b".to_string(), 4), ("c".to_string(), 1), ("pcie_rx_p".to_string(), 16)];
        let p = xdc_against_ports("set_property X [get_ports a]\nset_property Y [get_ports {b[4]}]\nset_property Z [get_ports nope]", &ports);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("b[4]"));
        assert!(p[1].contains("nope"));
        assert!(p[2].contains("port c"));
    }
}
