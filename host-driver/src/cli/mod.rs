//! Command-line interface: nvme-cli-like subcommands over the NVMe/TCP initiator and the
//! embedded target, and the software-path benchmark. Every failure ends the process with a
//! non-zero status and one line saying why.

mod args;
mod bench;
mod demo;
mod replay;
mod error;
mod identify;
mod io;
mod logging;
mod size;
mod stats;
mod target;

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "ddpnic", version, about = "ddpnic NVMe/TCP tools: software initiator, embedded target, benchmarks")]
struct Cli {
    /// Log protocol events to stderr (-v: negotiation and connections, -vv: more);
    /// RUST_LOG, when set, chooses instead.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Serve RAM-backed namespaces as an NVMe/TCP subsystem until interrupted.
    Target(target::TargetArgs),
    /// Print Identify Controller and Identify Namespace data of a remote subsystem.
    Identify(identify::IdentifyArgs),
    /// Read blocks from a namespace into a file.
    Read(io::ReadArgs),
    /// Write blocks from a file to a namespace.
    Write(io::WriteArgs),
    /// Benchmark the software initiator against the embedded target over loopback.
    Bench(bench::BenchArgs),
    /// Read workload through the simulated wire path (user-space TCP/IP, NIC, faults, pcap).
    Demo(demo::DemoArgs),
    /// Play a pcap capture into the NIC's MAC port and report what the NIC did.
    Replay(replay::ReplayArgs),
    /// Print the NIC's counters (the contract's rx_nvme_tcp_* and the debugging ones).
    Stats(stats::StatsArgs),
    /// Find ddpnic cards (PCI ID or --pci address) and walk their BAR0 register blocks via VFIO.
    Probe(crate::pci::probe::ProbeArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let result = match cli.command {
        Command::Target(a) => target::run(a),
        Command::Identify(a) => identify::run(a),
        Command::Read(a) => io::read(a),
        Command::Write(a) => io::write(a),
        Command::Bench(a) => bench::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Stats(a) => stats::run(a),
        Command::Probe(a) => crate::pci::probe::run(a).map_err(|e| error::CliError::Invalid(e.to_string())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ddpnic: {e}");
            ExitCode::FAILURE
        }
    }
}
