//! [`SimNic`]: the host driver on the Verilated NIC as the simulated world's `net::port::Nic`.
//! The host side is the driver's rings ([`NicDriver`] over [`SimDevice`]); the MAC side is
//! the sim's MAC ports; `advance` clocks the core up to the world's time.
//!
//! Time: the core runs at 250 MHz (4 ns a cycle) and the world keeps nanoseconds. While the
//! core has work (a frame entering its MAC port, DMA in flight, a posted tx frame not yet
//! sent, or fewer than [`LINGER_CYCLES`] since the last activity) every cycle is clocked;
//! when it is idle, the world's clock jumps are not clocked but added to an offset (an idle
//! core changes no state, and this keeps long TCP timer waits cheap). Completions are
//! collected from the rx ring every [`CHUNK_CYCLES`], so the ring drains as a polling driver
//! would drain it.
use super::{NicDriver, RingConfig, RxPacket};
use crate::net::port::{Frame, Nic};
use crate::net::time::SimTime;
use crate::nic::Counters;
use crate::pci::sim::SimDevice;
use crate::pci::Result;
use ddpnic_regmap as rm;
use smoltcp::phy::{Checksum, ChecksumCapabilities};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Cycles clocked after the last sign of activity (the core's pipeline latency and the DMA
/// of the last completion fit well inside).
pub const LINGER_CYCLES: u64 = 2048;
/// Cycles between two looks at the rx ring while the core is busy.
pub const CHUNK_CYCLES: u64 = 256;
const NS_PER_CYCLE: u64 = 4;

/// Whether a placed range (of the flow) lies in a live DDP buffer. A frame with a range that
/// does not is dropped: its placed bytes are nowhere the ULP can find them.
pub type PlacementCheck = Arc<dyn Fn(&rm::PlacedRange, u16) -> bool + Send + Sync>;
/// Sees every received packet's offload verdicts before the stack gets the frame.
pub type RxObserver = Box<dyn FnMut(&RxPacket) + Send>;

/// The driver and device shared between the world's NIC and the `ddp` layer.
pub type SharedDriver = Arc<Mutex<NicDriver<SimDevice>>>;

pub struct SimNic {
    driver: SharedDriver,
    dev: SimDevice,
    /// World nanoseconds at the sim's cycle 0 plus every idle stretch not clocked.
    base_ns: u64,
    linger_until: u64,
    to_host: VecDeque<Frame>,
    placement_check: Option<PlacementCheck>,
    observer: Option<RxObserver>,
    start: Counters,
    skipped: Arc<AtomicU64>,
}

impl SimNic {
    /// Builds the Verilated core, starts the driver's rings on it.
    pub fn new(dev: SimDevice, rings: RingConfig) -> Result<SimNic> {
        let driver = NicDriver::start(dev.clone(), rings)?;
        let start = driver.counters()?;
        let cycle = dev.cycle();
        Ok(SimNic {
            driver: Arc::new(Mutex::new(driver)),
            dev,
            base_ns: 0,
            linger_until: cycle + LINGER_CYCLES,
            to_host: VecDeque::new(),
            placement_check: None,
            observer: None,
            start,
            skipped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The driver, for the `ddp` layer (commands, events) and for statistics.
    pub fn driver(&self) -> SharedDriver {
        self.driver.clone()
    }

    pub fn device(&self) -> SimDevice {
        self.dev.clone()
    }

    /// Idle cycles of world time not clocked so far (shared: readable after the NIC moved
    /// into the world).
    pub fn skipped_cycles(&self) -> Arc<AtomicU64> {
        self.skipped.clone()
    }

    pub fn set_placement_check(&mut self, c: PlacementCheck) {
        self.placement_check = Some(c);
    }

    pub fn set_rx_observer(&mut self, o: RxObserver) {
        self.observer = Some(o);
    }

    fn lock(&self) -> MutexGuard<'_, NicDriver<SimDevice>> {
        self.driver.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ns(&self, cycle: u64) -> u64 {
        self.base_ns + cycle * NS_PER_CYCLE
    }

    /// Whether the core has work to clock: frames entering its MAC port, DMA, or posted tx
    /// frames not sent yet. A sent frame waiting for the world to take it is not work: with a
    /// real-time peer the world's clock runs far ahead of the core, and clocking up to it
    /// would never end.
    fn busy(&self) -> bool {
        let nic = self.dev.nic();
        let core_busy = nic.rx_pending() > 0 || !nic.bus_idle();
        drop(nic);
        core_busy || self.lock().tx_in_flight() > 0
    }

    /// Takes every completed frame off the rx ring. A frame keeps its placed beats unwritten:
    /// the stack skips the checksums the NIC verified ([`Nic::checksum_offload`]) and the
    /// initiator takes placed bytes from its buffer, so nothing copies them back.
    fn collect_rx(&mut self) {
        let mut d = self.driver.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(p) = d.recv() {
            if let Some(o) = self.observer.as_mut() {
                o(&p);
            }
            // A frame with a bad FCS is delivered flagged (never offloaded); the stack
            // must not see it.
            if p.cpl.fcs_bad {
                d.stats.rx_fcs_bad += 1;
                continue;
            }
            if !p.checksums_ok() {
                d.stats.rx_csum_bad += 1;
                continue;
            }
            let findable = match &self.placement_check {
                Some(check) => p.placed().iter().all(|r| check(r, p.cpl.flow)),
                None => p.cpl.ranges == 0,
            };
            if findable {
                self.to_host.push_back(p.frame);
            } else {
                d.stats.rx_dropped += 1;
            }
        }
        d.rx_release().expect("RX_CONS write");
    }

    /// Sim figures: cycles, wall time, cycles per second.
    pub fn sim_stats(&self) -> ddpnic_sim::Stats {
        self.dev.nic().stats()
    }

    /// Core counters since this driver started, with the driver's own drops added to the
    /// contract's rx_nvme_tcp_drop.
    pub fn counters_since_start(&self) -> Result<Counters> {
        let d = self.lock();
        let mut c = d.counters()?.since(&self.start);
        c.add("rx_nvme_tcp_drop", d.stats.rx_dropped);
        Ok(c)
    }
}

impl Nic for SimNic {
    fn name(&self) -> &str {
        "sim"
    }

    fn host_send(&mut self, _now: SimTime, frame: Frame) {
        let mut d = self.lock();
        match d.send(&frame) {
            Ok(true) => {}
            // The stack only sends while host_can_send holds; a frame the ring cannot take
            // is lost as on a real NIC (TCP retransmits it).
            Ok(false) => tracing::debug!("tx ring full: frame dropped"),
            Err(e) => tracing::warn!("tx: {e}"),
        }
        drop(d);
        self.linger_until = self.dev.cycle() + LINGER_CYCLES;
    }

    fn host_recv(&mut self, _now: SimTime) -> Option<Frame> {
        if self.to_host.is_empty() {
            self.collect_rx();
        }
        self.to_host.pop_front()
    }

    fn host_can_send(&self) -> bool {
        self.lock().tx_has_room()
    }

    fn mac_rx(&mut self, _now: SimTime, frame: Frame) {
        self.dev.mac_send(frame);
        self.linger_until = self.dev.cycle() + LINGER_CYCLES;
    }

    fn mac_tx(&mut self, _now: SimTime) -> Option<Frame> {
        self.dev.mac_recv()
    }

    fn advance(&mut self, now: SimTime) {
        let target = now.nanos().saturating_sub(self.base_ns) / NS_PER_CYCLE;
        loop {
            let cycle = self.dev.cycle();
            if cycle >= target {
                break;
            }
            if self.busy() {
                self.linger_until = self.linger_until.max(cycle + LINGER_CYCLES);
            } else if cycle >= self.linger_until {
                // idle: let the world's time pass without clocking
                self.skipped.fetch_add(target - cycle, Ordering::Relaxed);
                self.base_ns += (target - cycle) * NS_PER_CYCLE;
                break;
            }
            self.dev.run(CHUNK_CYCLES.min(target - cycle));
            self.collect_rx();
            if self.dev.nic().tx_pending() > 0 {
                // a frame for the wire: let the world carry it before clocking on
                break;
            }
        }
        self.collect_rx();
    }

    fn poll_at(&mut self, now: SimTime) -> Option<SimTime> {
        if !self.to_host.is_empty() {
            return Some(now);
        }
        let cycle = self.dev.cycle();
        if cycle < self.linger_until || self.busy() {
            let nic_now = self.now_ns(cycle).max(now.nanos());
            return Some(SimTime(nic_now + CHUNK_CYCLES * NS_PER_CYCLE));
        }
        None
    }

    /// The core verified every IPv4 header and TCP checksum it could; `collect_rx` checks the
    /// rest, so the stack only computes them for transmit.
    fn checksum_offload(&self) -> ChecksumCapabilities {
        let mut c = ChecksumCapabilities::default();
        c.ipv4 = Checksum::Tx;
        c.tcp = Checksum::Tx;
        c
    }

    fn counters(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = match self.counters_since_start() {
            Ok(c) => c.0.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
            Err(e) => vec![(format!("counters unreadable: {e}"), 0)],
        };
        let s = self.lock().stats;
        out.push(("driver_rx_frames".into(), s.rx_frames));
        out.push(("driver_tx_frames".into(), s.tx_frames));
        out.push(("driver_rx_csum_bad".into(), s.rx_csum_bad));
        out.push(("driver_tx_ring_full".into(), s.tx_ring_full));
        out
    }
}
