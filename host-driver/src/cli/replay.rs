//! `ddpnic replay capture.pcap`: plays a capture into the NIC's MAC port through the wire
//! (optional faults and pcap) and reports what the NIC did with them. With the software NIC
//! every frame simply reaches the host stack, at its captured time. With the simulated NIC
//! (`--nic sim`) the replay stands where the capture's initiator stood ([`Mirror`]): it
//! offloads each NVMe/TCP connection whose handshake the capture holds, sets up a buffer for
//! every read, and reports what the NIC placed and which data digests it verified, each
//! placed byte and each vouched digest checked against the capture (exit status 1 if one is
//! wrong).

use super::demo::nic;
use super::error::CliError;
use crate::ddp::mirror::Mirror;
use crate::net::pcap::{read_frames, PcapReplay, PcapTap};
use crate::net::setup::{SimSetup, HOST_MAC};
use crate::net::wire::{tcp_view, Wire};
use crate::net::{Faults, SimTime};
use crate::nvme_tcp::conversation::conversations;
use etherparse::Ethernet2Header;
use std::net::SocketAddrV4;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The capture to play (Ethernet frames; its timestamps set the pace).
    pub capture: PathBuf,
    /// The NIC the frames enter: `soft` or `sim` (the Verilated core).
    #[arg(long, default_value = "soft")]
    pub nic: String,
    /// Faults on the way in (as for `demo`).
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Write what reached and left the NIC's MAC port.
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Also play frames the capture's host sent (source MAC of `net::setup::HOST_MAC`,
    /// as in `demo --pcap` captures); by default only frames toward the host are played.
    #[arg(long)]
    pub all: bool,
    /// With `--nic sim`: the report as one JSON line too.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ReplayArgs) -> Result<(), CliError> {
    let mut frames = read_frames(&args.capture).map_err(CliError::io(format!("cannot read {}", args.capture.display())))?;
    let mut setup = SimSetup { pcap: args.pcap.clone(), ..SimSetup::default() };
    setup.wire.faults = Faults::parse(&args.faults).map_err(CliError::Invalid)?;
    if args.nic == "sim" {
        return mirror(&args, frames.into_iter().map(|(_, f)| f).collect(), &setup);
    }
    if !args.all {
        frames.retain(|(_, f)| Ethernet2Header::from_slice(f).map_or(true, |(eth, _)| eth.source != HOST_MAC));
    }
    let (count, bytes) = (frames.len() as u64, frames.iter().map(|(_, f)| f.len() as u64).sum::<u64>());
    let net = setup
        .build(nic(&args.nic, 9000, None)?.nic, Box::new(PcapReplay::new(frames, SimTime::ZERO)))
        .map_err(CliError::io("cannot create the pcap file"))?;
    let mut w = net.lock();
    w.run_until(None, |w| w.wire().stats().frames[1] >= count && w.wire().in_flight() == 0);
    // Let the NIC and the host stack finish with the last frames.
    for _ in 0..1000 {
        if !w.step(None) {
            break;
        }
    }
    if let Some(t) = w.wire_mut().take_tap() {
        t.finish().map_err(CliError::io("writing the pcap"))?;
    }
    println!("replayed {count} frames ({bytes} bytes) from {} over {} simulated", args.capture.display(), w.now());
    println!("wire: {}", w.wire().stats());
    let counters: Vec<String> = w.nic().counters().iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("nic {}: {}", w.nic().name(), counters.join(", "));
    Ok(())
}

/// `--nic sim`: the capture's conversations mirrored onto the offload, frames at line rate.
fn mirror(args: &ReplayArgs, frames: Vec<Vec<u8>>, setup: &SimSetup) -> Result<(), CliError> {
    let convs = conversations(&frames);
    let hosts: Vec<SocketAddrV4> = convs.iter().map(|c| c.host).collect();
    // Toward the host: every frame but those a conversation's host sent (and, unless --all,
    // those from the demo's host MAC).
    let feed: Vec<bool> = frames
        .iter()
        .map(|f| {
            let from_host = tcp_view(f).is_some_and(|v| hosts.contains(&SocketAddrV4::new(v.key.0.into(), v.key.1)));
            let host_mac = Ethernet2Header::from_slice(f).is_ok_and(|(eth, _)| eth.source == HOST_MAC);
            !from_host && (args.all || !host_mac)
        })
        .collect();
    let (count, bytes) = frames.iter().zip(&feed).filter(|(_, &fed)| fed).fold((0u64, 0u64), |(n, b), (f, _)| (n + 1, b + f.len() as u64));
    let choice = nic("sim", 9000, None)?;
    let sim = choice.sim.expect("the sim NIC has its handles");
    let mut nic = choice.nic;
    let mut wire = Wire::new(setup.wire.clone());
    if let Some(p) = &setup.pcap {
        wire.set_tap(PcapTap::create(p).map_err(CliError::io("cannot create the pcap file"))?);
    }
    let report = Mirror::new(sim.offload, sim.dev, convs).run(frames, &feed, &mut *nic, &mut wire);
    if let Some(t) = wire.take_tap() {
        t.finish().map_err(CliError::io("writing the pcap"))?;
    }
    println!("replayed {count} frames ({bytes} bytes) toward the host from {}", args.capture.display());
    println!("wire: {}", wire.stats());
    println!(
        "offload: {} connections, {} offloaded; {} reads, {} set up; {} C2HData PDUs, {} data bytes, {} placed by the NIC ({:.1} %), {} placed bytes unlike the capture",
        report.connections,
        report.queues_offloaded,
        report.read_commands,
        report.setups,
        report.c2h_pdus,
        report.data_bytes,
        report.placed_bytes,
        100.0 * report.placed_bytes as f64 / report.data_bytes.max(1) as f64,
        report.misplaced_bytes
    );
    println!(
        "data digests: {} PDUs, {} bad on the wire, {} verified by the NIC, {} of those bad",
        report.digest_pdus, report.bad_digests, report.nic_verified_pdus, report.vouched_bad
    );
    let counters: Vec<String> = nic.counters().iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("nic sim: {}", counters.join(", "));
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("plain struct serialises"));
    }
    if report.clean() {
        Ok(())
    } else {
        Err(CliError::Invalid(format!(
            "the NIC placed {} bytes unlike the capture and vouched for {} bad digests",
            report.misplaced_bytes, report.vouched_bad
        )))
    }
}
