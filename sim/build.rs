//! Builds the NIC's Verilog into Verilated C++ models linked into this crate.
//!
//! Tops: `sim_testtop` (sim/verilog/sim_testtop.v, always) and `ddpnic_core` (from
//! `ddpnic_hdl::blocks::all()` when the hdl crate has it). For each top:
//! 1. `verilator --cc --trace` into a cache directory named by a hash of the Verilog text, the
//!    Verilator version, the flags and this script's shim generator;
//! 2. the port list is parsed from Verilator's own model header (`VL_IN8(&clk,0,0);` ...) and a
//!    C++ shim with a C ABI is generated from it (model new/free/eval, VCD, a table of port
//!    pointers so Rust reads and writes ports without a call per port);
//! 3. `make` builds the model and the shim into static libraries.
//!
//! The cache lives in `<target>/verilated/` (shared by debug and release builds); a top is
//! rebuilt only when its Verilog changes. `DDPNIC_SIM_OPT` sets the C++ optimisation (default -O1).
use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Bump when the generated shim or the build recipe changes.
const RECIPE: u32 = 4;

struct Port {
    name: String,
    width: u32,
    output: bool,
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=verilog/sim_testtop.v");
    println!("cargo:rerun-if-env-changed=VERILATOR");
    println!("cargo:rerun-if-env-changed=DDPNIC_SIM_OPT");
    println!("cargo:rerun-if-env-changed=DDPNIC_SIM_NO_CORE");
    println!("cargo:rerun-if-env-changed=DDPNIC_SIM_CACHE");
    println!("cargo:rustc-check-cfg=cfg(ddpnic_core)");

    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let verilator = std::env::var("VERILATOR").unwrap_or_else(|_| "verilator".into());
    let version = match Command::new(&verilator).arg("--version").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => panic!(
            "\n\nddpnic-sim: `{verilator} --version` failed: Verilator is not installed.\n\
             Run `make deps` (Debian/Ubuntu: apt-get install verilator), or set VERILATOR=/path/to/verilator.\n\n"
        ),
    };
    let root = String::from_utf8(
        Command::new(&verilator).args(["--getenv", "VERILATOR_ROOT"]).output().expect("verilator --getenv").stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let opt = std::env::var("DDPNIC_SIM_OPT").unwrap_or_else(|_| "-O1".into());

    let mut tops: Vec<(String, String)> =
        vec![("sim_testtop".into(), std::fs::read_to_string(manifest.join("verilog/sim_testtop.v")).unwrap())];
    if std::env::var_os("DDPNIC_SIM_NO_CORE").is_none() {
        if let Some(core) = ddpnic_hdl::blocks::all().into_iter().find(|b| b.name == "ddpnic_core") {
            tops.push(("ddpnic_core".into(), (core.verilog)()));
            println!("cargo:rustc-cfg=ddpnic_core");
        }
    }

    // <target>/<profile>/build/<pkg>-<hash>/out -> <target>/verilated
    let cache = std::env::var_os("DDPNIC_SIM_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| out_dir.ancestors().nth(4).unwrap_or(&out_dir).join("verilated"));
    std::fs::create_dir_all(&cache).unwrap();

    // The Verilator runtime (verilated.cpp, VCD writer, threads) is the same for every top:
    // built once, with the first top that needs it.
    let runtime = cache.join(format!("runtime-{:016x}", {
        let mut h = DefaultHasher::new();
        (RECIPE, &version).hash(&mut h);
        h.finish()
    }));
    println!("cargo:rustc-link-search=native={}", runtime.display());
    let mut models_rs = String::new();
    for (top, verilog) in &tops {
        let key = {
            let mut h = DefaultHasher::new();
            (RECIPE, verilog, &version, &opt, top).hash(&mut h);
            h.finish()
        };
        let dir = cache.join(format!("{top}-{key:016x}"));
        if !dir.join("done").exists() {
            let t0 = std::time::Instant::now();
            let tmp = cache.join(format!("{top}-{key:016x}.tmp{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            std::fs::create_dir_all(&tmp).unwrap();
            build_top(&verilator, &root, &opt, top, verilog, &tmp, &runtime);
            let _ = std::fs::remove_dir_all(&dir);
            if std::fs::rename(&tmp, &dir).is_err() {
                // another build won the race; use its result
                let _ = std::fs::remove_dir_all(&tmp);
            }
            println!("cargo:warning=ddpnic-sim: Verilated {top} in {:.1} s", t0.elapsed().as_secs_f64());
            // keep one build per top: drop those of older Verilog
            let keep = dir.file_name().unwrap().to_owned();
            for e in std::fs::read_dir(&cache).unwrap().flatten() {
                let name = e.file_name();
                let n = name.to_string_lossy();
                if name != keep && n.starts_with(&format!("{top}-")) && !n.contains(".tmp") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let obj = dir.join("obj");
        // rebuild if the cache is deleted under us
        println!("cargo:rerun-if-changed={}", dir.join("done").display());
        println!("cargo:rustc-link-search=native={}", obj.display());
        println!("cargo:rustc-link-lib=static=ddpsim_{top}");
        println!("cargo:rustc-link-lib=static=V{top}");
        let ports = std::fs::read_to_string(dir.join("ports.txt")).unwrap();
        let _ = writeln!(
            models_rs,
            "extern \"C\" {{\n\
             fn ddpsim_{top}_new() -> *mut c_void;\n\
             fn ddpsim_{top}_free(m: *mut c_void);\n\
             fn ddpsim_{top}_eval(m: *mut c_void);\n\
             fn ddpsim_{top}_ports(m: *mut c_void, n: *mut usize) -> *const RawPort;\n\
             fn ddpsim_{top}_trace_open(m: *mut c_void, path: *const c_char) -> c_int;\n\
             fn ddpsim_{top}_trace_dump(m: *mut c_void, time: u64);\n\
             fn ddpsim_{top}_trace_close(m: *mut c_void);\n\
             }}"
        );
        let _ = writeln!(
            models_rs,
            "pub(crate) const MODEL_{up}: ModelFns = ModelFns {{ name: \"{top}\", ports: {ports:?}, new: ddpsim_{top}_new, free: ddpsim_{top}_free, eval: ddpsim_{top}_eval, \
             ports_fn: ddpsim_{top}_ports, trace_open: ddpsim_{top}_trace_open, trace_dump: ddpsim_{top}_trace_dump, trace_close: ddpsim_{top}_trace_close }};",
            up = top.to_uppercase()
        );
    }
    let names: Vec<String> = tops.iter().map(|(t, _)| format!("MODEL_{}", t.to_uppercase())).collect();
    let _ = writeln!(models_rs, "pub(crate) const MODELS: &[ModelFns] = &[{}];", names.join(", "));
    std::fs::write(out_dir.join("models.rs"), models_rs).unwrap();
    println!("cargo:rustc-link-lib=static=ddpsim_verilated_rt");
    println!("cargo:rerun-if-changed={}", runtime.join("libddpsim_verilated_rt.a").display());
    println!("cargo:rustc-link-lib=dylib=stdc++");
    println!("cargo:rustc-link-lib=dylib=pthread");
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("ddpnic-sim: cannot run {what}: {e}"));
    if !out.status.success() {
        panic!(
            "ddpnic-sim: {what} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn build_top(verilator: &str, root: &str, opt: &str, top: &str, verilog: &str, dir: &Path, runtime: &Path) {
    let vfile = dir.join(format!("{top}.v"));
    std::fs::write(&vfile, verilog).unwrap();
    let obj = dir.join("obj");
    let prefix = format!("V{top}");
    run(
        Command::new(verilator)
            .args(["--cc", "--trace", "--timescale", "1ns/1ns", "--x-assign", "fast", "--x-initial", "fast"])
            .args(["-Wno-fatal", "-Wno-lint", "-Wno-style", "--prefix", &prefix, "--top-module", top, "--Mdir"])
            .arg(&obj)
            .arg(&vfile),
        "verilator --cc",
    );
    let header = std::fs::read_to_string(obj.join(format!("{prefix}.h"))).unwrap();
    let ports = parse_ports(&header);
    assert!(ports.iter().any(|p| p.name == "clk" && !p.output), "{top}: no `clk` input");
    std::fs::write(
        dir.join("ports.txt"),
        ports.iter().map(|p| format!("{} {} {}", if p.output { "out" } else { "in" }, p.width, p.name)).collect::<Vec<_>>().join("\n"),
    )
    .unwrap();
    std::fs::write(obj.join(format!("ddpsim_{top}.cpp")), shim(top, &ports)).unwrap();

    let classes = std::fs::read_to_string(obj.join(format!("{prefix}_classes.mk"))).unwrap();
    let globals = mk_list(&classes, "VM_GLOBAL_FAST").into_iter().chain(mk_list(&classes, "VM_GLOBAL_SLOW"));
    let rt_lib = runtime.join("libddpsim_verilated_rt.a");
    let global_objs: Vec<String> = if rt_lib.exists() { Vec::new() } else { globals.map(|g| format!("{g}.o")).collect() };
    let mut make = Command::new("make");
    make.env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .current_dir(&obj)
        .args(["-s", "-j2", "-f", &format!("{prefix}.mk"), "VM_PARALLEL_BUILDS=1"])
        .arg(format!("OPT_FAST={opt}"))
        .arg(format!("OPT_SLOW={opt}"))
        .arg("OPT_GLOBAL=-O2")
        .arg(format!("{prefix}__ALL.a"))
        .args(&global_objs);
    run(&mut make, "make (Verilated C++)");
    std::fs::rename(obj.join(format!("{prefix}__ALL.a")), obj.join(format!("lib{prefix}.a"))).unwrap();
    if !global_objs.is_empty() {
        run(
            Command::new("ar").current_dir(&obj).args(["rcs", "libddpsim_verilated_rt.a"]).args(&global_objs),
            "ar (Verilator runtime)",
        );
        std::fs::create_dir_all(runtime).unwrap();
        let tmp = runtime.join(format!("rt.tmp{}", std::process::id()));
        std::fs::copy(obj.join("libddpsim_verilated_rt.a"), &tmp).unwrap();
        std::fs::rename(&tmp, &rt_lib).unwrap();
    }
    run(
        Command::new(std::env::var("CXX").unwrap_or_else(|_| "g++".into()))
            .current_dir(&obj)
            .args(["-std=c++17", "-O2", "-c", "-o", &format!("ddpsim_{top}.o"), &format!("ddpsim_{top}.cpp"), "-I."])
            .arg(format!("-I{root}/include"))
            .arg(format!("-I{root}/include/vltstd"))
            .args(["-DVM_TRACE=1", "-DVM_TRACE_VCD=1"]),
        "g++ (shim)",
    );
    run(
        Command::new("ar").current_dir(&obj).args(["rcs", &format!("libddpsim_{top}.a"), &format!("ddpsim_{top}.o")]),
        "ar (shim)",
    );
    std::fs::write(dir.join("done"), "").unwrap();
}

/// Names listed after `VAR +=` in a Verilator makefile fragment.
fn mk_list(mk: &str, var: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut on = false;
    for line in mk.lines() {
        let t = line.trim();
        if t.starts_with(var) && t.contains("+=") {
            on = true;
            continue;
        }
        if on {
            if t.is_empty() {
                on = false;
                continue;
            }
            out.push(t.trim_end_matches('\\').trim().to_string());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Ports from the Verilated model header: `VL_IN8(&clk,0,0);`, `VL_OUTW(&x,511,0,16);` ...
fn parse_ports(header: &str) -> Vec<Port> {
    let mut ports = Vec::new();
    for line in header.lines() {
        let t = line.trim();
        let (output, rest) = if let Some(r) = t.strip_prefix("VL_IN") {
            (false, r)
        } else if let Some(r) = t.strip_prefix("VL_OUT") {
            (true, r)
        } else {
            continue;
        };
        let Some(open) = rest.find("(&") else { continue };
        let args: Vec<&str> = rest[open + 2..].trim_end_matches(';').trim_end_matches(')').split(',').map(str::trim).collect();
        let msb: u32 = args[1].parse().expect("port msb");
        let lsb: u32 = args[2].parse().expect("port lsb");
        ports.push(Port { name: args[0].to_string(), width: msb - lsb + 1, output });
    }
    assert!(!ports.is_empty(), "no ports found in the Verilated header");
    ports
}

fn shim(top: &str, ports: &[Port]) -> String {
    let p = format!("V{top}");
    let mut s = format!(
        "// Generated by sim/build.rs from {p}.h: do not edit.\n\
         #include \"{p}.h\"\n#include \"verilated.h\"\n#include \"verilated_vcd_c.h\"\n#include <cstdint>\n#include <cstddef>\n\
         struct DdpSimPort {{ const char* name; uint32_t width; uint32_t output; void* ptr; }};\n\
         namespace {{\nstruct Inst {{\n  VerilatedContext ctx;\n  {p}* m = nullptr;\n  VerilatedVcdC* vcd = nullptr;\n  bool traced = false;\n  DdpSimPort ports[{n}];\n}};\n}}\n\
         extern \"C\" {{\n\
         void* ddpsim_{top}_new() {{\n  Inst* s = new Inst();\n  s->ctx.traceEverOn(true);\n  s->m = new {p}(&s->ctx, \"{top}\");\n",
        n = ports.len()
    );
    for (i, port) in ports.iter().enumerate() {
        let ptr = if port.width > 64 { format!("s->m->{}.data()", port.name) } else { format!("&s->m->{}", port.name) };
        let _ = writeln!(
            s,
            "  s->ports[{i}] = DdpSimPort{{\"{}\", {}, {}, (void*)({ptr})}};",
            port.name, port.width, port.output as u32
        );
    }
    let _ = write!(
        s,
        "  return s;\n}}\n\
         void ddpsim_{top}_free(void* p) {{\n  Inst* s = (Inst*)p;\n  if (s->vcd) {{ s->vcd->close(); delete s->vcd; }}\n  s->m->final();\n  delete s->m;\n  delete s;\n}}\n\
         void ddpsim_{top}_eval(void* p) {{ ((Inst*)p)->m->eval(); }}\n\
         const DdpSimPort* ddpsim_{top}_ports(void* p, size_t* n) {{ *n = {n}; return ((Inst*)p)->ports; }}\n\
         int ddpsim_{top}_trace_open(void* p, const char* path) {{\n  Inst* s = (Inst*)p;\n  if (!s->vcd) s->vcd = new VerilatedVcdC;\n  if (s->vcd->isOpen()) s->vcd->close();\n  if (!s->traced) {{ s->m->trace(s->vcd, 99); s->traced = true; }}\n  s->vcd->open(path);\n  return s->vcd->isOpen() ? 0 : -1;\n}}\n\
         void ddpsim_{top}_trace_dump(void* p, uint64_t t) {{ Inst* s = (Inst*)p; if (s->vcd && s->vcd->isOpen()) s->vcd->dump(t); }}\n\
         void ddpsim_{top}_trace_close(void* p) {{ Inst* s = (Inst*)p; if (s->vcd && s->vcd->isOpen()) s->vcd->close(); }}\n\
         }}\n",
        n = ports.len()
    );
    s
}
