//! `verilator --lint-only -Wall` on each generated file, with one documented waiver file.
use std::path::Path;
use std::process::Command;

/// Lints one file; returns the warnings Verilator printed (empty when clean).
pub fn lint_file(file: &Path, waivers: &Path) -> Result<Vec<String>, String> {
    let out = Command::new("verilator")
        .args(["--lint-only", "-Wall"])
        .arg(waivers)
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run verilator (apt-get install verilator): {e}"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let findings: Vec<String> = text.lines().filter(|l| l.starts_with("%Warning") || l.starts_with("%Error")).map(String::from).collect();
    if !out.status.success() && findings.is_empty() {
        return Err(format!("verilator failed on {}:\n{text}", file.display()));
    }
    Ok(findings)
}
