//! `ddpnic replay capture.pcap`: plays a capture into the NIC's MAC port through the wire
//! (frames at their captured times, optional faults and pcap) and reports what the NIC
//! did with them. With the software NIC every frame simply reaches the host stack; the
//! simulated NIC will report what it placed and verified through the same counters.

use super::demo::nic;
use super::error::CliError;
use crate::net::pcap::{read_frames, PcapReplay};
use crate::net::setup::{SimSetup, HOST_MAC};
use etherparse::Ethernet2Header;
use crate::net::{Faults, SimTime};
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
}

pub fn run(args: ReplayArgs) -> Result<(), CliError> {
    let mut frames = read_frames(&args.capture).map_err(CliError::io(format!("cannot read {}", args.capture.display())))?;
    if !args.all {
        frames.retain(|(_, f)| Ethernet2Header::from_slice(f).map_or(true, |(eth, _)| eth.source != HOST_MAC));
    }
    let (count, bytes) = (frames.len() as u64, frames.iter().map(|(_, f)| f.len() as u64).sum::<u64>());
    let mut setup = SimSetup { pcap: args.pcap.clone(), ..SimSetup::default() };
    setup.wire.faults = Faults::parse(&args.faults).map_err(CliError::Invalid)?;
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
