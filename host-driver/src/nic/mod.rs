//! The `nic` layer (DESIGN.md, host driver): the core's rings and command window over any
//! `pci::Device`, polled (no interrupts), and the network device the host's TCP/IP stack uses.
//!
//! - [`regs`]: register addresses found by walking BAR0's blocks.
//! - [`rings`]: rx ring (slots + completions with phase bit, frames rebuilt around placed
//!   bytes), tx ring (descriptors, completion record), event ring.
//! - [`counters`]: the statistics block.
//! - [`NicDriver`]: all of it on one device: start the rings, send, receive, issue commands,
//!   collect events. It does not clock anything: over the simulated NIC, [`sim_port`] runs
//!   the clock and plugs the driver into the simulated world as a `net::port::Nic`.
pub mod counters;
pub mod regs;
pub mod rings;
pub mod sim_port;

pub use counters::Counters;
pub use regs::Regs;
pub use rings::{EventRing, RxPacket, RxRing, TxRing};
pub use sim_port::SimNic;

use crate::pci::{Device, Result};
use ddpnic_regmap as rm;
use std::collections::VecDeque;

/// Ring sizes (powers of two).
#[derive(Debug, Clone, Copy)]
pub struct RingConfig {
    pub rx_log2: u32,
    /// rx slot and tx buffer size, 2^n bytes (11..=14): at least the largest frame.
    pub slot_log2: u32,
    pub tx_log2: u32,
    pub event_log2: u32,
}

impl RingConfig {
    /// Slots that hold a frame of `mtu` IP bytes plus the Ethernet header.
    pub fn for_mtu(mtu: usize) -> RingConfig {
        let frame = mtu + 14;
        let slot_log2 = (frame.next_power_of_two().trailing_zeros()).clamp(rm::MIN_SLOT_LOG2, rm::MAX_SLOT_LOG2);
        RingConfig { rx_log2: 9, slot_log2, tx_log2: 8, event_log2: 8 }
    }
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig::for_mtu(1500)
    }
}

/// What the driver itself saw (the core counts the rest, see [`Counters`]).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DriverStats {
    pub rx_frames: u64,
    pub rx_bytes: u64,
    /// Frames with a placed range outside every live DDP buffer: dropped, as the contract's
    /// rx_nvme_tcp_drop.
    pub rx_dropped: u64,
    /// Frames the NIC flagged with a bad FCS: not handed to the stack.
    pub rx_fcs_bad: u64,
    /// Frames without the NIC's checksum verdicts whose IPv4 or TCP checksum failed the
    /// driver's own check: not handed to the stack.
    pub rx_csum_bad: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    /// Frames the host stack offered while the tx ring was full (it retries).
    pub tx_ring_full: u64,
    pub events: u64,
    pub commands: u64,
}

pub struct NicDriver<D: Device> {
    dev: D,
    regs: Regs,
    rx: RxRing,
    tx: TxRing,
    events: EventRing,
    next_token: u16,
    pub stats: DriverStats,
}

impl<D: Device> NicDriver<D> {
    /// Discovers the registers and starts the three rings.
    pub fn start(dev: D, cfg: RingConfig) -> Result<NicDriver<D>> {
        let regs = Regs::discover(&dev)?;
        let events = EventRing::start(&dev, &regs, cfg.event_log2)?;
        let tx = TxRing::start(&dev, &regs, cfg.tx_log2, cfg.slot_log2)?;
        let rx = RxRing::start(&dev, &regs, cfg.rx_log2, cfg.slot_log2)?;
        Ok(NicDriver { dev, regs, rx, tx, events, next_token: 1, stats: DriverStats::default() })
    }

    pub fn dev(&self) -> &D {
        &self.dev
    }

    pub fn regs(&self) -> &Regs {
        &self.regs
    }

    /// A register by its regmap name.
    pub fn read(&self, name: &str) -> Result<u32> {
        self.dev.read32(self.regs.at(name))
    }

    pub fn write(&self, name: &str, value: u32) -> Result<()> {
        self.dev.write32(self.regs.at(name), value)
    }

    /// The next received frame, as the NIC delivered it (placed beats still empty).
    pub fn recv(&mut self) -> Option<RxPacket> {
        let p = self.rx.poll()?;
        self.stats.rx_frames += 1;
        self.stats.rx_bytes += p.frame.len() as u64;
        Some(p)
    }

    /// Hands consumed rx slots back to the NIC.
    pub fn rx_release(&mut self) -> Result<()> {
        self.rx.release(&self.dev, &self.regs)
    }

    pub fn rx_ring(&self) -> &RxRing {
        &self.rx
    }

    /// Posts a frame to the tx ring; false when the ring is full.
    pub fn send(&mut self, frame: &[u8]) -> Result<bool> {
        let ok = self.tx.post(&self.dev, &self.regs, frame)?;
        if ok {
            self.stats.tx_frames += 1;
            self.stats.tx_bytes += frame.len() as u64;
        } else {
            self.stats.tx_ring_full += 1;
        }
        Ok(ok)
    }

    pub fn tx_has_room(&self) -> bool {
        self.tx.has_room()
    }

    /// Frames posted that the NIC has not finished sending.
    pub fn tx_in_flight(&self) -> usize {
        self.tx.in_flight()
    }

    /// Issues a command with its arguments (ARG0..); returns the token its event will echo.
    pub fn command(&mut self, op: u32, args: &[u32]) -> Result<u16> {
        assert!(args.len() <= rm::CMD_ARGS, "{} command arguments", args.len());
        for (i, &a) in args.iter().enumerate() {
            self.dev.write32(self.regs.at("CMD_ARG0") + 4 * i as u64, a)?;
        }
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1).max(1);
        self.dev.write32(self.regs.at("CMD_OP"), (op & 0xff) | u32::from(token) << 16)?;
        self.stats.commands += 1;
        Ok(token)
    }

    /// The next event the NIC wrote, if any.
    pub fn next_event(&mut self) -> Result<Option<rm::Event>> {
        let e = self.events.poll(&self.dev, &self.regs)?;
        self.stats.events += e.is_some() as u64;
        Ok(e)
    }

    /// Every event the NIC has written so far.
    pub fn drain_events(&mut self) -> Result<VecDeque<rm::Event>> {
        let mut out = VecDeque::new();
        while let Some(e) = self.next_event()? {
            out.push_back(e);
        }
        Ok(out)
    }

    /// The core's counters now.
    pub fn counters(&self) -> Result<Counters> {
        Counters::read(&self.dev, &self.regs)
    }
}
