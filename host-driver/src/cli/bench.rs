//! `ddpnic bench`: the software NVMe/TCP read path (copy + CRC32C in software) against the
//! embedded target over loopback, at queue depth 1 and 32, digests off and on, with a mix
//! of read sizes; plus the software CRC32C rate. This is the baseline the NIC's receive
//! offload is measured against. Prints a table and one JSON line per case.

use super::error::CliError;
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

    println!("{:<10} {:>4} {:>6} {:>6} {:>10} {:>10} {:>10}", "case", "qd", "hdgst", "ddgst", "MiB/s", "IOPS", "ios");
    for c in &cases {
        println!(
            "{:<10} {:>4} {:>6} {:>6} {:>10.1} {:>10.0} {:>10}",
            c.bench, c.qd, c.hdgst, c.ddgst, c.mib_per_s, c.iops, c.ios
        );
    }
    println!("{:<10} {:>4} {:>6} {:>6} {:>10.1}", crc.bench, "-", "-", "-", crc.mib_per_s);
    for c in &cases {
        println!("{}", serde_json::to_string(c).expect("plain struct serialises"));
    }
    println!("{}", serde_json::to_string(&crc).expect("plain struct serialises"));
    Ok(())
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
