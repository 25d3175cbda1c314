//! `ddpnic demo`: the issue-7 read workload through the wire path, in simulated time.
//! The initiator runs on smoltcp on a NIC (`--nic soft`, the software pass-through, or
//! `--nic sim`, the host driver's rings on the Verilated NIC core), cabled through the
//! simulated wire (faults, pcap) to a peer: the embedded target on its own smoltcp stack,
//! or a QEMU VM on QEMU's socket backend. Reads of mixed sizes (4 KiB to 1 MiB) at queue
//! depth 32, every byte checked against the LBA pattern; then a summary (and a JSON line).

use super::error::CliError;
use super::size::parse_size;
use crate::net::qemu::QemuSocketPort;
use crate::net::setup::{SimSetup, TARGET_ADDR};
use crate::ddp::ulp::NicOffload;
use crate::ddp::{Caps, Ddp, DdpStats};
use crate::net::{EthernetPort, Faults, Nic, SimConnector, SimNet, SoftNic, WireStats};
use crate::nic::{RingConfig, SimNic};
use crate::pci::sim::SimDevice;
use crate::pci::Device;
use ddpnic_sim::NicConfig;
use crate::nvme_tcp::initiator::{Command, ConnectOptions, Controller, Transfer};
use crate::nvme_tcp::nvme::{commands, pattern};
use crate::nvme_tcp::target::{NamespaceConfig, TargetConfig};
use crate::nvme_tcp::transport::stats::process_cpu_ns;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEMO_NQN: &str = "nqn.2026-01.io.ddpnic:demo";
/// The nvmet-vm subsystem.
const VM_NQN: &str = "nqn.2026-11.io.test:ddp";

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// The NIC under the host's stack: `soft` (pass-through, software checksums) or `sim`
    /// (the Verilated NIC core driven by the host driver's rings; offload as far as the
    /// core's CAPS allows, software otherwise).
    #[arg(long, default_value = "soft")]
    pub nic: String,
    /// With `--nic sim`: write a VCD of the whole run here (large: use small --bytes).
    #[arg(long)]
    pub vcd: Option<PathBuf>,
    /// Far end of the wire: `target` (embedded target on its own stack),
    /// `qemu:HOST:PORT` (connect to QEMU's `-netdev socket,listen=` / `stream,server=on`)
    /// or `qemu-listen:HOST:PORT` (QEMU connects).
    #[arg(long, default_value = "target")]
    pub peer: String,
    /// Faults, per frame: `drop=0.01,reorder=0.01,dup=0.01,corrupt=0.001,reseg=0.05,seed=7`;
    /// also `corrupt-valid=P` (checksums fixed up: only the data digest catches it),
    /// `delay-us=N` (how late a reordered frame arrives), `dir=both|to-host|to-peer`.
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Seed of the workload and the stacks (the wire's faults take `seed=` in --faults,
    /// default this one).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write a pcap of the NIC's MAC port.
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Bytes to read in total.
    #[arg(long, default_value = "256M", value_parser = parse_size)]
    pub bytes: u64,
    /// Commands in flight.
    #[arg(long, default_value_t = 32)]
    pub qd: usize,
    /// Smallest and largest read.
    #[arg(long, default_value = "4K", value_parser = parse_size)]
    pub min_io: u64,
    #[arg(long, default_value = "1M", value_parser = parse_size)]
    pub max_io: u64,
    /// Wire bandwidth in Gbit/s (0: infinitely fast).
    #[arg(long, default_value_t = 100.0)]
    pub gbps: f64,
    /// One-way wire latency in microseconds.
    #[arg(long, default_value_t = 1.0)]
    pub latency_us: f64,
    /// IP MTU (1500 or 9000).
    #[arg(long, default_value_t = 1500)]
    pub mtu: usize,
    /// TCP socket buffer per direction and socket (the receive window). Larger windows
    /// recover worse from loss in smoltcp (go-back-N, no SACK).
    #[arg(long, default_value = "256K", value_parser = parse_size)]
    pub tcp_buffer: u64,
    /// Negotiate header and data digests.
    #[arg(long)]
    pub digests: bool,
    /// Namespace size of the embedded target.
    #[arg(long, default_value = "64M", value_parser = parse_size)]
    pub ns_size: u64,
    /// Largest C2HData PDU the embedded target sends (default: one PDU per read, as nvmet).
    #[arg(long, value_parser = parse_size)]
    pub c2h_pdu: Option<u64>,
    /// Print the summary as one JSON line too.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
pub(crate) struct Summary {
    demo: &'static str,
    pub nic: String,
    peer: String,
    ios: u64,
    pub bytes: u64,
    verified: bool,
    sim_seconds: f64,
    sim_gbit_per_s: f64,
    wall_seconds: f64,
    wall_mib_per_s: f64,
    /// Process CPU time of the workload (the machine may be shared; this is not).
    pub cpu_seconds: f64,
    mib_per_cpu_s: f64,
    wire: WireStats,
    nic_counters: Vec<(String, u64)>,
    /// Read data the NIC placed in the buffers / the host copied, and PDUs whose data
    /// digest the NIC verified (the I/O queue's receive path).
    pub placed_bytes: u64,
    copied_bytes: u64,
    /// Data PDUs with a data digest; those, and their data bytes, whose digest the NIC
    /// verified (crc_ok on every packet that carried them).
    digest_pdus: u64,
    pub nic_verified_pdus: u64,
    pub nic_verified_bytes: u64,
    io_queue_offloaded: bool,
    /// The initiator's CPU on read data: copies out of the receive stream and CRC32C, the
    /// two costs the offload removes (measured around each copy and digest computation).
    pub host_copy_ns: u64,
    pub host_crc_ns: u64,
    /// The Verilated NIC's figures (`--nic sim`).
    pub sim: Option<SimFigures>,
    world_steps: u64,
}

/// A finished demo run: its summary and how many frames went into the pcap.
pub(crate) struct Measured {
    pub summary: Summary,
    pcap_frames: Option<u64>,
}

#[derive(Serialize)]
pub(crate) struct SimFigures {
    caps: Caps,
    enabled: Caps,
    /// Queues offloaded / refused by the NIC (sk_add).
    queues_offloaded: u64,
    queues_in_software: u64,
    /// What the driver's ddp layer did (setups, teardowns, resync confirmations ...).
    ddp: DdpStats,
    cycles_clocked: u64,
    /// Idle cycles of the world's time that were not clocked (nothing to do in the core).
    cycles_skipped: u64,
    pub sim_wall_seconds: f64,
    cycles_per_second: f64,
    /// Bits the core received per simulated second while clocked.
    rx_gbit_per_s_simulated: f64,
}

/// A NIC for the world, and the simulated NIC's handles when it is one.
pub(super) struct NicChoice {
    pub nic: Box<dyn Nic>,
    pub sim: Option<SimHandles>,
}

pub(super) struct SimHandles {
    pub dev: SimDevice,
    pub ddp: Ddp<SimDevice>,
    pub offload: Arc<NicOffload<SimDevice>>,
    pub skipped: Arc<std::sync::atomic::AtomicU64>,
}

/// `soft`, or `sim`: the Verilated core with the driver's rings sized for `mtu` and, when
/// asked, a VCD.
pub(super) fn nic(name: &str, mtu: usize, vcd: Option<PathBuf>) -> Result<NicChoice, CliError> {
    match name {
        "soft" => Ok(NicChoice { nic: Box::new(SoftNic::new()), sim: None }),
        "sim" => {
            let mut cfg = NicConfig::core().ok_or_else(|| CliError::Invalid("--nic sim: ddpnic-sim was built without the NIC core".into()))?;
            cfg.write_log = false;
            // the core sits behind a 100 Gbit/s MAC, whatever the world's wire does
            cfg.rx_line_gbps = 100;
            cfg.vcd = vcd;
            let dev = SimDevice::new(cfg).map_err(|e| CliError::Invalid(format!("--nic sim: {e}")))?;
            let nic = SimNic::new(dev.clone(), RingConfig::for_mtu(mtu)).map_err(|e| CliError::Invalid(format!("--nic sim: {e}")))?;
            let mut nic = nic;
            let ddp = Ddp::new(nic.driver()).map_err(|e| CliError::Invalid(format!("--nic sim: {e}")))?;
            ddp.set_caps(Caps::ALL).map_err(|e| CliError::Invalid(format!("--nic sim: {e}")))?;
            let offload = NicOffload::new(ddp.clone());
            let (o1, o2) = (offload.clone(), offload.clone());
            nic.set_rx_observer(Box::new(move |p| o1.observe(p)));
            nic.set_placement_check(Arc::new(move |r, flow| o2.holds_placed(r, flow)));
            let skipped = nic.skipped_cycles();
            Ok(NicChoice { nic: Box::new(nic), sim: Some(SimHandles { dev, ddp, offload, skipped }) })
        }
        other => Err(CliError::Invalid(format!("--nic {other}: `soft` or `sim`"))),
    }
}

fn peer(args: &DemoArgs, setup: &SimSetup) -> Result<(Box<dyn EthernetPort>, bool, &'static str), CliError> {
    let (kind, addr) = args.peer.split_once(':').unwrap_or((&args.peer, ""));
    match kind {
        "target" => {
            let ns = NamespaceConfig { size_bytes: args.ns_size, block_size: 4096, pattern: true };
            let mut config = TargetConfig::new(DEMO_NQN, vec![ns]);
            config.c2h_max_data = args.c2h_pdu.map(|n| n.max(4) as usize);
            Ok((Box::new(setup.target_peer(config)), false, DEMO_NQN))
        }
        "qemu" => {
            let port = QemuSocketPort::connect(addr).map_err(CliError::io(format!("cannot connect to QEMU at {addr}")))?;
            Ok((Box::new(port), true, VM_NQN))
        }
        "qemu-listen" => {
            let l = std::net::TcpListener::bind(addr).map_err(CliError::io(format!("cannot listen on {addr}")))?;
            eprintln!("waiting for QEMU to connect to {addr}");
            let port = QemuSocketPort::accept(&l).map_err(CliError::io("accepting QEMU's connection"))?;
            Ok((Box::new(port), true, VM_NQN))
        }
        _ => Err(CliError::Invalid(format!("--peer {}: target, qemu:HOST:PORT or qemu-listen:HOST:PORT", args.peer))),
    }
}

fn sim_figures(h: &SimHandles) -> Result<SimFigures, CliError> {
    let (caps, enabled) = h.ddp.caps().map_err(|e| CliError::Invalid(e.to_string()))?;
    h.dev.check().map_err(|e| CliError::Invalid(format!("the simulated NIC found errors: {e}")))?;
    let st = h.dev.nic().stats();
    let ddp = h.ddp.stats();
    Ok(SimFigures {
        caps,
        enabled,
        queues_offloaded: ddp.sk_add,
        queues_in_software: ddp.sk_add_fail,
        ddp,
        cycles_clocked: st.cycles,
        cycles_skipped: h.skipped.load(std::sync::atomic::Ordering::Relaxed),
        sim_wall_seconds: st.wall.as_secs_f64(),
        cycles_per_second: st.cycles_per_sec,
        rx_gbit_per_s_simulated: st.rx_gbps_simulated,
    })
}

/// Read sizes: log-uniform between the bounds, whole blocks.
fn workload(args: &DemoArgs, block: u64, nsze: u64) -> Vec<(u64, u64)> {
    let mut rng = SmallRng::seed_from_u64(args.seed ^ 0xD0D0);
    let (lo, hi) = ((args.min_io.max(block) as f64).log2(), (args.max_io.max(args.min_io).max(block) as f64).log2());
    let mut out = Vec::new();
    let mut total = 0;
    while total < args.bytes {
        let size = 2f64.powf(rng.gen_range(lo..=hi)) as u64;
        let blocks = (size / block).max(1).min(nsze).min((args.bytes - total).div_ceil(block));
        let lba = rng.gen_range(0..=nsze - blocks);
        out.push((lba, blocks));
        total += blocks * block;
    }
    out
}

pub fn run(args: DemoArgs) -> Result<(), CliError> {
    let Measured { summary: s, pcap_frames } = measure(&args)?;
    print(&args, &s, pcap_frames);
    Ok(())
}

/// Runs the workload and returns its summary (the progress bar on a terminal only).
pub(crate) fn measure(args: &DemoArgs) -> Result<Measured, CliError> {
    let faults = Faults::parse(&format!("seed={},{}", args.seed, args.faults)).map_err(CliError::Invalid)?;
    let mut setup = SimSetup { mtu: args.mtu, seed: args.seed, tcp_buffer: args.tcp_buffer as usize, pcap: args.pcap.clone(), ..SimSetup::default() };
    setup.wire.faults = faults;
    setup.wire.bandwidth_bps = (args.gbps * 1e9) as u64;
    setup.wire.latency = Duration::from_secs_f64(args.latency_us / 1e6);
    let (peer, realtime, nqn) = peer(args, &setup)?;
    let choice = nic(&args.nic, args.mtu, args.vcd.clone())?;
    let sim_nic = choice.sim;
    let net: SimNet = setup.build(choice.nic, peer).map_err(CliError::io("cannot create the pcap file"))?;
    net.lock().set_realtime(realtime);

    let mut opts = ConnectOptions::new(TARGET_ADDR, nqn);
    opts.host_id = [0xdd; 16];
    opts.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:dddddddd-dddd-4ddd-8ddd-dddddddddddd".into();
    opts.kato_ms = 0;
    opts.queue_size = args.qd.max(1) as u16 + 1;
    opts.header_digest = args.digests;
    opts.data_digest = args.digests;
    // Simulated seconds cost nothing, and smoltcp backs its RTO off up to 10 s under loss.
    opts.timeout = Duration::from_secs(120);
    opts.connector = Some(Arc::new(SimConnector(net.clone())));
    if let Some(h) = &sim_nic {
        opts.offload = Some(Arc::new(h.offload.clone()));
    }

    let wall = Instant::now();
    let cpu_start = process_cpu_ns();
    let mut ctrl = Controller::connect(&opts)?;
    let ns = ctrl.identify_namespace(1)?;
    let block = ns.block_size as u64;
    if block == 0 || ns.nsze == 0 {
        return Err(CliError::Invalid("namespace 1 is not active".into()));
    }
    let max_blocks = (ctrl.max_transfer() as u64 / block).max(1);
    let ios: Vec<(u64, u64)> = workload(args, block, ns.nsze).into_iter().map(|(l, n)| (l, n.min(max_blocks))).collect();
    let total: u64 = ios.iter().map(|(_, n)| n * block).sum();
    let sim_start = net.lock().now();

    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(total);
        b.set_style(ProgressStyle::with_template("{msg} [{bar:40}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} (wall)").expect("template"));
        b
    } else {
        ProgressBar::hidden()
    };
    bar.set_message("read");
    // Batches of commands keep memory bounded; each batch runs at the full queue depth.
    let batch_bytes = (64u64 << 20).max(args.max_io * args.qd as u64 * 2);
    let arena_len = (batch_bytes + args.max_io.max(block)) as usize;
    // With the simulated NIC the buffers live in its DMA memory, so reads can be placed.
    let (mut heap_arena, mut dma_arena);
    let arena: &mut [u8] = match &sim_nic {
        Some(h) => {
            dma_arena = h.dev.alloc_dma(arena_len).map_err(|e| CliError::Invalid(format!("DMA memory: {e}")))?;
            h.offload.register_memory(&dma_arena);
            dma_arena.as_mut_slice()
        }
        None => {
            heap_arena = vec![0u8; arena_len];
            &mut heap_arena[..]
        }
    };
    let mut at = 0;
    while at < ios.len() {
        let mut end = at;
        let mut bytes = 0;
        while end < ios.len() && bytes < batch_bytes {
            bytes += ios[end].1 * block;
            end += 1;
        }
        // Carve the batch's buffers out of one arena, reused (and poisoned) batch after batch.
        arena[..bytes as usize].fill(0xA5);
        let mut bufs: Vec<&mut [u8]> = Vec::with_capacity(end - at);
        let mut rest = &mut arena[..];
        for &(_, n) in &ios[at..end] {
            let (b, r) = rest.split_at_mut((n * block) as usize);
            bufs.push(b);
            rest = r;
        }
        let mut cmds: Vec<Command> = bufs
            .iter_mut()
            .zip(&ios[at..end])
            .map(|(b, &(lba, n))| Command { sqe: commands::read_write(false, 1, lba, n as u32), transfer: Transfer::FromController(b) })
            .collect();
        let lens: Vec<u64> = ios[at..end].iter().map(|&(_, n)| n * block).collect();
        let mut completed = 0u64;
        let done = ctrl.io_queue().execute_batch_observed(&mut cmds, args.qd.max(1), &mut |i| {
            bar.inc(lens[i]);
            completed += 1;
            if completed.is_multiple_of(16) {
                let sim = (net.lock().now() - sim_start).as_secs_f64();
                let gbps = bar.position() as f64 * 8.0 / sim.max(1e-12) / 1e9;
                let speed = sim_nic.as_ref().map_or(String::new(), |h| format!(", NIC {:.2} Mcycles/s", h.dev.nic().stats().cycles_per_sec / 1e6));
                bar.set_message(format!("read, simulated {:.3} ms, {gbps:.1} Gbit/s{speed}", sim * 1e3));
            }
        })?;
        drop(cmds);
        for (k, c) in done.iter().enumerate() {
            if !c.status.is_success() {
                return Err(CliError::Invalid(format!("read {} failed: {}", at + k, c.status)));
            }
        }
        for (b, &(lba, _)) in bufs.iter().zip(&ios[at..end]) {
            if let Some(bad) = pattern::first_mismatch(b, lba, block as usize) {
                return Err(CliError::Invalid(format!("block {bad} does not hold the LBA pattern: wrong data returned")));
            }
        }
        at = end;
    }
    bar.finish_and_clear();
    let sim = net.lock().now() - sim_start;
    let wall_s = wall.elapsed().as_secs_f64();
    let cpu_s = (process_cpu_ns() - cpu_start) as f64 / 1e9;
    let data_path = ctrl.io_queue().cpu_breakdown();
    let offloaded_queue = ctrl.io_queue().offloaded();
    ctrl.disconnect()?;

    let mut w = net.lock();
    // Let the last frames (FIN, ACK) finish crossing NIC and wire before counting.
    let settle = w.now() + Duration::from_micros(200);
    w.run_until(Some(settle), |_| false);
    if let Some(e) = w.wire().tap_error() {
        return Err(CliError::Invalid(format!("writing the pcap failed: {e}")));
    }
    let pcap_frames = w.wire_mut().take_tap().map(|t| {
        let n = t.frames;
        let _ = t.finish();
        n
    });
    let s = Summary {
        demo: "read",
        nic: w.nic().name().to_string(),
        peer: args.peer.clone(),
        ios: ios.len() as u64,
        bytes: total,
        verified: true,
        sim_seconds: sim.as_secs_f64(),
        sim_gbit_per_s: total as f64 * 8.0 / sim.as_secs_f64().max(1e-12) / 1e9,
        wall_seconds: wall_s,
        wall_mib_per_s: total as f64 / (1 << 20) as f64 / wall_s.max(1e-9),
        cpu_seconds: cpu_s,
        mib_per_cpu_s: total as f64 / (1 << 20) as f64 / cpu_s.max(1e-9),
        wire: w.wire().stats().clone(),
        nic_counters: w.nic().counters(),
        placed_bytes: data_path.placed_bytes,
        copied_bytes: data_path.data_bytes - data_path.placed_bytes,
        digest_pdus: data_path.digest_pdus,
        nic_verified_pdus: data_path.nic_verified_pdus,
        nic_verified_bytes: data_path.nic_verified_bytes,
        io_queue_offloaded: offloaded_queue,
        host_copy_ns: data_path.copy_ns,
        host_crc_ns: data_path.crc_ns,
        sim: match &sim_nic {
            Some(h) => Some(sim_figures(h)?),
            None => None,
        },
        world_steps: w.steps,
    };
    Ok(Measured { summary: s, pcap_frames })
}

fn print(args: &DemoArgs, s: &Summary, pcap_frames: Option<u64>) {
    let total = s.bytes;
    println!(
        "{} reads, {:.1} MiB, every byte verified; nic {}, peer {}, qd {}, mtu {}, digests {}",
        s.ios,
        total as f64 / (1 << 20) as f64,
        s.nic,
        s.peer,
        args.qd,
        args.mtu,
        if args.digests { "on" } else { "off" }
    );
    println!(
        "simulated time {:.3} ms: {:.2} Gbit/s on a {} Gbit/s, {} us wire; wall clock {:.2} s: {:.1} MiB/s; CPU {:.2} s: {:.1} MiB/s",
        s.sim_seconds * 1e3,
        s.sim_gbit_per_s,
        args.gbps,
        args.latency_us,
        s.wall_seconds,
        s.wall_mib_per_s,
        s.cpu_seconds,
        s.mib_per_cpu_s
    );
    println!("wire: {}", s.wire);
    println!(
        "data path: {:.1} MiB placed by the NIC, {:.1} MiB copied by software; data digests verified by the NIC: {} of {} PDUs, {:.1} MiB; I/O queue {}",
        s.placed_bytes as f64 / (1 << 20) as f64,
        s.copied_bytes as f64 / (1 << 20) as f64,
        s.nic_verified_pdus,
        s.digest_pdus,
        s.nic_verified_bytes as f64 / (1 << 20) as f64,
        if s.io_queue_offloaded { "offloaded" } else { "in software" }
    );
    match &s.sim {
        None => {
            let counters: Vec<String> = s.nic_counters.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!("nic: {}", counters.join(", "));
        }
        Some(f) => {
            println!(
                "sim: {} cycles clocked ({:.3} ms simulated), {} idle cycles skipped, {:.2} s wall: {:.0} cycles/s; core rx {:.2} Gbit/s simulated",
                f.cycles_clocked,
                f.cycles_clocked as f64 * 4e-6,
                f.cycles_skipped,
                f.sim_wall_seconds,
                f.cycles_per_second,
                f.rx_gbit_per_s_simulated
            );
            println!(
                "offload: caps ddp={} ddgst_rx={}, enabled ddp={} ddgst_rx={}; queues offloaded {}, in software {}",
                f.caps.nvme_tcp_ddp, f.caps.nvme_tcp_ddgst_rx, f.enabled.nvme_tcp_ddp, f.enabled.nvme_tcp_ddgst_rx, f.queues_offloaded, f.queues_in_software
            );
            println!(
                "ddp: setup {} (failed {}, below io_threshold {}), teardown {}, resync confirmed {} denied {}",
                f.ddp.setup, f.ddp.setup_fail, f.ddp.below_threshold, f.ddp.teardown, f.ddp.resync_confirmed, f.ddp.resync_denied
            );
            println!("nic counters (this run):");
            for (k, v) in &s.nic_counters {
                println!("  {k:<26} {v:>14}");
            }
        }
    }
    if let (Some(p), Some(n)) = (&args.pcap, pcap_frames) {
        println!("pcap: {} ({n} frames at the NIC's MAC port)", p.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(s).expect("summary serialises"));
    }
}
