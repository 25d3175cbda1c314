//! `ddpnic bench`: the software NVMe/TCP read path (copy + CRC32C in software) against the
//! embedded target over loopback, at queue depth 1 and 32, digests off and on, with a mix
//! of read sizes; plus the software CRC32C rate. This is the baseline the NIC's receive
//! offload is measured against. Then the offload itself: the demo's read workload (reads of
//! 64 KiB to 1 MiB, both digests) on the software pass-through NIC and on the Verilated NIC,
//! and the initiator's CPU on read data (copy + CRC32C) per GiB for both. Prints a table and
//! one JSON line per case.

use super::demo::{self, DemoArgs};
use super::error::CliError;
use clap::{Args, FromArgMatches};
use crate::nvme_tcp::initiator::{Command, ConnectOptions, Controller, Transfer};
use crate::nvme_tcp::nvme::{commands, pattern};
use crate::nvme_tcp::target::{NamespaceConfig, Target, TargetConfig};
use crate::nvme_tcp::wire::digest::digest;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Seconds per case.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Bytes read per NIC in the offload comparison (0: skip it).
    #[arg(long, default_value = "64M", value_parser = super::size::parse_size)]
    pub offload_bytes: u64,
}

const NQN: &str = "nqn.2026-01.io.ddpnic:bench";
const BLOCK: usize = 4096;
const NAMESPACE_BYTES: u64 = 64 << 20;
/// The read sizes cycled through in every case.
const READ_SIZES: [usize; 5] = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20];
/// Commands per batch handed to the queue (several times the deepest queue depth).
const BATCH: usize = 160;

#[derive(Serialize)]
struct ReadCase {
    bench: &'static str,
    qd: usize,
    hdgst: bool,
    ddgst: bool,
    ios: u64,
    io_bytes: u64,
    seconds: f64,
    mib_per_s: f64,
    iops: f64,
}

#[derive(Serialize)]
struct OffloadCase {
    bench: &'static str,
    nic: String,
    min_io: u64,
    max_io: u64,
    bytes: u64,
    placed_bytes: u64,
    /// C2HData PDUs, and their data bytes, whose data digest the NIC verified (the host ran no
    /// CRC32C on them).
    nic_verified_pdus: u64,
    nic_verified_bytes: u64,
    host_copy_ns: u64,
    host_crc_ns: u64,
    /// The initiator's copy + CRC32C of read data per GiB read, in ms.
    data_path_ms_per_gib: f64,
    /// The whole process (initiator, both TCP/IP stacks, the embedded target) minus the time
    /// in the NIC simulation, per GiB, in ms: context, not the offload's figure.
    process_ms_per_gib_without_nic_sim: f64,
}

#[derive(Serialize)]
struct OffloadRatio {
    bench: &'static str,
    /// Software path's data-path CPU over the offload path's (the target is 5).
    data_path_cpu_ratio: f64,
    placed_share: f64,
}

#[derive(Serialize)]
struct CrcCase {
    bench: &'static str,
    bytes: u64,
    seconds: f64,
    mib_per_s: f64,
}

pub fn run(args: BenchArgs) -> Result<(), CliError> {
    let per_case = Duration::from_secs_f64(args.seconds.max(0.1));
    let ns = NamespaceConfig { size_bytes: NAMESPACE_BYTES, block_size: BLOCK as u32, pattern: true };
    let target = Target::bind("127.0.0.1:0", TargetConfig::new(NQN, vec![ns]))
        .map_err(CliError::io("cannot bind the loopback target"))?
        .spawn();
    let mut cases = Vec::new();
    for qd in [1, 32] {
        for digests in [false, true] {
            cases.push(read_case(&target.addr().to_string(), qd, digests, per_case)?);
        }
    }
    let crc = crc_case(per_case);
    let offload: Vec<OffloadCase> = if args.offload_bytes == 0 {
        Vec::new()
    } else {
        ["soft", "sim"].into_iter().map(|nic| offload_case(nic, args.offload_bytes)).collect::<Result<_, _>>()?
    };

    println!("{:<10} {:>4} {:>6} {:>6} {:>10} {:>10} {:>10}", "case", "qd", "hdgst", "ddgst", "MiB/s", "IOPS", "ios");
    for c in &cases {
        println!(
            "{:<10} {:>4} {:>6} {:>6} {:>10.1} {:>10.0} {:>10}",
            c.bench, c.qd, c.hdgst, c.ddgst, c.mib_per_s, c.iops, c.ios
        );
    }
    println!("{:<10} {:>4} {:>6} {:>6} {:>10.1}", crc.bench, "-", "-", "-", crc.mib_per_s);
    for c in &offload {
        println!(
            "{:<14} nic {:<5} {:>6.1} MiB, {:>5.1} % placed, {:>5.1} % with the digest checked by the NIC: initiator copy + CRC32C {:>6.1} ms/GiB (process without the NIC sim {:>7.1} ms/GiB)",
            c.bench,
            c.nic,
            c.bytes as f64 / (1 << 20) as f64,
            100.0 * c.placed_bytes as f64 / c.bytes.max(1) as f64,
            100.0 * c.nic_verified_bytes as f64 / c.bytes.max(1) as f64,
            c.data_path_ms_per_gib,
            c.process_ms_per_gib_without_nic_sim
        );
    }
    for c in &cases {
        println!("{}", serde_json::to_string(c).expect("plain struct serialises"));
    }
    println!("{}", serde_json::to_string(&crc).expect("plain struct serialises"));
    for c in &offload {
        println!("{}", serde_json::to_string(c).expect("plain struct serialises"));
    }
    if let [soft, sim] = &offload[..] {
        let ratio = OffloadRatio {
            bench: "offload_ratio",
            data_path_cpu_ratio: soft.data_path_ms_per_gib / sim.data_path_ms_per_gib.max(1e-9),
            placed_share: sim.placed_bytes as f64 / sim.bytes.max(1) as f64,
        };
        println!(
            "offload: {:.2}x less initiator CPU on read data (target 5x)",
            ratio.data_path_cpu_ratio
        );
        println!("{}", serde_json::to_string(&ratio).expect("plain struct serialises"));
    }
    Ok(())
}

/// The demo's workload on `nic` with reads of 64 KiB to 1 MiB and both digests.
fn offload_case(nic: &str, bytes: u64) -> Result<OffloadCase, CliError> {
    const MIN_IO: u64 = 64 << 10;
    const MAX_IO: u64 = 1 << 20;
    let argv = ["demo", "--nic", nic, "--digests", "--bytes", &bytes.to_string(), "--min-io", &MIN_IO.to_string(), "--max-io", &MAX_IO.to_string()];
    let matches = DemoArgs::augment_args(clap::Command::new("demo")).try_get_matches_from(argv).map_err(|e| CliError::Invalid(e.to_string()))?;
    let args = DemoArgs::from_arg_matches(&matches).map_err(|e| CliError::Invalid(e.to_string()))?;
    let s = demo::measure(&args)?.summary;
    let gib = s.bytes as f64 / (1u64 << 30) as f64;
    let nic_sim_s = s.sim.as_ref().map_or(0.0, |f| f.sim_wall_seconds);
    Ok(OffloadCase {
        bench: "offload_read",
        nic: s.nic.clone(),
        min_io: MIN_IO,
        max_io: MAX_IO,
        bytes: s.bytes,
        placed_bytes: s.placed_bytes,
        nic_verified_pdus: s.nic_verified_pdus,
        nic_verified_bytes: s.nic_verified_bytes,
        host_copy_ns: s.host_copy_ns,
        host_crc_ns: s.host_crc_ns,
        data_path_ms_per_gib: (s.host_copy_ns + s.host_crc_ns) as f64 / 1e6 / gib,
        process_ms_per_gib_without_nic_sim: (s.cpu_seconds - nic_sim_s).max(0.0) * 1e3 / gib,
    })
}

fn read_case(addr: &str, qd: usize, digests: bool, duration: Duration) -> Result<ReadCase, CliError> {
    let mut opts = ConnectOptions::new(addr, NQN);
    opts.header_digest = digests;
    opts.data_digest = digests;
    opts.queue_size = qd.max(2) as u16;
    let mut ctrl = Controller::connect(&opts)?;
    let blocks_total = NAMESPACE_BYTES / BLOCK as u64;
    // Each command reads its own buffer at its own LBA, spread over the namespace.
    let layout: Vec<(u64, usize)> = (0..BATCH)
        .map(|i| {
            let len = READ_SIZES[i % READ_SIZES.len()];
            let lba = (i as u64 * 4099) % (blocks_total - (len / BLOCK) as u64);
            (lba, len)
        })
        .collect();
    let mut buffers: Vec<Vec<u8>> = layout.iter().map(|&(_, len)| vec![0u8; len]).collect();
    let (mut ios, mut bytes, mut verified) = (0u64, 0u64, false);
    let started = Instant::now();
    while started.elapsed() < duration {
        let mut batch: Vec<Command> = layout
            .iter()
            .zip(buffers.iter_mut())
            .map(|(&(lba, len), buf)| Command {
                sqe: commands::read_write(false, 1, lba, (len / BLOCK) as u32),
                transfer: Transfer::FromController(buf),
            })
            .collect();
        for done in ctrl.io_queue().execute_batch(&mut batch, qd)? {
            if !done.status.is_success() {
                return Err(CliError::Invalid(format!("bench read failed: {}", done.status)));
            }
        }
        drop(batch);
        // Check the data once per case: a benchmark of wrong data measures nothing.
        if !verified {
            for (&(lba, _), buf) in layout.iter().zip(&buffers) {
                if let Some(bad) = pattern::first_mismatch(buf, lba, BLOCK) {
                    return Err(CliError::Invalid(format!("bench read returned wrong data at block {bad}")));
                }
            }
            verified = true;
        }
        ios += BATCH as u64;
        bytes += layout.iter().map(|&(_, len)| len as u64).sum::<u64>();
    }
    let seconds = started.elapsed().as_secs_f64();
    ctrl.disconnect()?;
    Ok(ReadCase {
        bench: "sw_read",
        qd,
        hdgst: digests,
        ddgst: digests,
        ios,
        io_bytes: bytes,
        seconds,
        mib_per_s: bytes as f64 / seconds / (1 << 20) as f64,
        iops: ios as f64 / seconds,
    })
}

fn crc_case(duration: Duration) -> CrcCase {
    let buf: Vec<u8> = (0..1usize << 20).map(|i| (i * 31 + 7) as u8).collect();
    let (mut bytes, mut sink) = (0u64, 0u32);
    let started = Instant::now();
    while started.elapsed() < duration / 2 {
        sink ^= digest(&buf);
        bytes += buf.len() as u64;
    }
    std::hint::black_box(sink);
    let seconds = started.elapsed().as_secs_f64();
    CrcCase { bench: "sw_crc32c", bytes, seconds, mib_per_s: bytes as f64 / seconds / (1 << 20) as f64 }
}
