//! ddpnic-sim: the Verilated NIC driven from Rust.
//!
//! [`Nic`] owns one Verilated top with the ports of `hdl/src/core/INTERFACE.md` and the models
//! around it: an AXI4-Lite master on BAR0 ([`Nic::read32`], [`Nic::write32`]), the host memory as
//! the AXI4 slave of the NIC's DMA ([`HostMemory`]: serves reads, records and checks every write
//! against live regions), the MAC receive port as an AXI-Stream source without backpressure
//! ([`Nic::send_frame`]) and the transmit port as a sink ([`Nic::recv_frame`]), an optional VCD,
//! and run statistics. Time advances only in [`Nic::tick`], [`Nic::run`], [`Nic::run_until`] and
//! the MMIO calls (which clock the NIC until the access completes, with everything else live).
//!
//! ```no_run
//! use ddpnic_sim::{Nic, NicConfig};
//! let mut nic = Nic::new(NicConfig::new("sim_testtop")).unwrap();
//! assert_eq!(nic.read32(0x0), 0x51A7_E57B);
//! let ring = nic.alloc(4096, 4096);
//! let region = nic.add_region(ring, 4096, "rx ring");
//! nic.send_frame(&[0u8; 60]);
//! nic.run(100);
//! nic.remove_region(region);
//! nic.check().unwrap();
//! ```
pub mod bfm;
pub mod mem;
pub mod model;

pub use bfm::{MemConfig, TxFrame, TxReady};
pub use mem::{DmaWrite, HostMemory, Region, RegionId, SimError};
pub use model::tops;

use bfm::{AxiLiteMaster, AxiSlave, AxisSink, AxisSource, MmioOp, RxFrame};
use model::{Model, Sig};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Clock of the core (INTERFACE.md): 250 MHz, 4 ns a cycle.
pub const CLOCK_HZ: f64 = 250e6;

/// How to build a [`Nic`].
#[derive(Clone, Debug)]
pub struct NicConfig {
    /// Verilated top: "sim_testtop" or "ddpnic_core" (see [`tops`]).
    pub top: String,
    /// Write a VCD of the whole run here (also [`Nic::start_vcd`] at any time).
    pub vcd: Option<PathBuf>,
    pub mem: MemConfig,
    /// Idle cycles between received frames (0 = back to back).
    pub rx_gap: u64,
    /// The MAC's line rate in Gbit/s (0 = none): a frame then occupies the port for its
    /// bytes plus 20 (preamble and inter-frame gap) at that rate, as a real MAC delivers them,
    /// not back to back at 64 bytes a cycle (128 Gbit/s at 250 MHz).
    pub rx_line_gbps: u64,
    pub tx_ready: TxReady,
    /// Cycles of `rst` high at construction and in [`Nic::reset`].
    pub reset_cycles: u64,
    /// An MMIO access without a response after this many cycles panics.
    pub mmio_timeout: u64,
    /// Panic at the cycle of the first error instead of collecting errors for [`Nic::check`].
    pub fail_fast: bool,
    /// Extra cycles every BAR0 read costs after its response (a PCIe MMIO read is ~1 us, 250
    /// cycles, on a board; 0 keeps tests fast). Writes are posted and cost nothing extra.
    pub mmio_read_cycles: u64,
    /// Keep every DMA write in the log ([`HostMemory::take_write_log`]); turn off for long runs
    /// (it grows by two entries per received frame). Checking does not depend on it.
    pub write_log: bool,
}

impl NicConfig {
    pub fn new(top: &str) -> Self {
        NicConfig {
            top: top.to_string(),
            vcd: None,
            mem: MemConfig::default(),
            rx_gap: 0,
            rx_line_gbps: 0,
            tx_ready: TxReady::Always,
            reset_cycles: 8,
            mmio_timeout: 100_000,
            fail_fast: false,
            mmio_read_cycles: 0,
            write_log: true,
        }
    }

    /// The NIC core when it is built into this crate, else `None`.
    pub fn core() -> Option<Self> {
        tops().contains(&"ddpnic_core").then(|| Self::new("ddpnic_core"))
    }
}

/// Figures of the run so far.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub cycles: u64,
    /// Real time spent clocking the model.
    pub wall: Duration,
    pub cycles_per_sec: f64,
    pub rx_frames: u64,
    pub rx_bytes: u64,
    pub tx_frames: u64,
    pub tx_bytes: u64,
    pub dma_write_bytes: u64,
    pub dma_read_bytes: u64,
    pub dma_write_bursts: u64,
    pub dma_read_bursts: u64,
    pub irqs: u64,
    /// Received bits per simulated second at 250 MHz (the line rate the NIC saw).
    pub rx_gbps_simulated: f64,
    /// Received bits per real second (how fast the simulator moves traffic).
    pub rx_gbps_wall: f64,
}

/// The simulated NIC: a Verilated top plus its bus models and host memory.
pub struct Nic {
    model: Model,
    clk: Sig,
    rst: Sig,
    irq: Sig,
    mmio: AxiLiteMaster,
    dma: AxiSlave,
    rx: AxisSource,
    tx: AxisSink,
    mem: HostMemory,
    cycle: u64,
    wall: Duration,
    irqs: u64,
    irq_pending: u64,
    errors_reported: usize,
    tracing: bool,
    cfg: NicConfig,
    missing: Vec<String>,
}

// The model is only touched through &mut self; moving a Nic to another thread is fine.
unsafe impl Send for Nic {}

impl Nic {
    /// Builds the top named in `cfg` and holds it in reset for `cfg.reset_cycles`.
    pub fn new(cfg: NicConfig) -> Result<Nic, String> {
        let mut model = Model::new(&cfg.top).ok_or_else(|| format!("top {:?} is not built into ddpnic-sim (have {:?})", cfg.top, tops()))?;
        let clk = model.port("clk").ok_or("top has no clk")?;
        let mut missing = Vec::new();
        let rst = model.port_or_dummy("rst", 1, false, &mut missing);
        let irq = model.port_or_dummy("irq", 1, true, &mut missing);
        let mmio = AxiLiteMaster::new(&mut model, &mut missing);
        let dma = AxiSlave::new(&mut model, cfg.mem.clone(), &mut missing);
        let mut rx = AxisSource::new(&mut model, &mut missing);
        rx.gap = cfg.rx_gap;
        rx.line_gbps = cfg.rx_line_gbps;
        let mut tx = AxisSink::new(&mut model, &mut missing);
        tx.set_ready(cfg.tx_ready.clone());
        let mut nic = Nic {
            model,
            clk,
            rst,
            irq,
            mmio,
            dma,
            rx,
            tx,
            mem: HostMemory::new(),
            cycle: 0,
            wall: Duration::ZERO,
            irqs: 0,
            irq_pending: 0,
            errors_reported: 0,
            tracing: false,
            cfg,
            missing,
        };
        nic.mem.set_write_log(nic.cfg.write_log);
        if let Some(p) = nic.cfg.vcd.clone() {
            nic.start_vcd(&p).map_err(|e| e.to_string())?;
        }
        nic.reset();
        Ok(nic)
    }

    /// Name of the Verilated top.
    pub fn top(&self) -> &'static str {
        self.model.name()
    }

    /// Contract ports the top does not have (driven/read as zero).
    pub fn missing_ports(&self) -> &[String] {
        &self.missing
    }

    /// Ports of the top: (name, width, is_output).
    pub fn ports(&self) -> Vec<(String, u32, bool)> {
        self.model.ports.iter().map(|p| (p.name.clone(), p.width, p.output)).collect()
    }

    // ------------------------------------------------------------------ time

    /// Holds `rst` high for `reset_cycles` cycles; in-flight bus transactions are dropped.
    pub fn reset(&mut self) {
        self.rst.set(1);
        self.dma.reset();
        self.mmio.current = None;
        let n = self.cfg.reset_cycles;
        self.run(n);
        self.rst.set(0);
    }

    #[inline]
    fn step(&mut self) {
        // drive: bus models set their outputs for this cycle, then the top settles
        self.mmio.drive();
        self.dma.drive(self.cycle, &self.mem);
        self.rx.drive();
        self.tx.drive();
        self.clk.set(0);
        self.model.eval();
        if self.tracing {
            self.model.trace_dump(self.cycle * 4);
        }
        // sample: handshakes where valid and ready are both high before the edge
        self.mmio.sample();
        self.dma.sample(self.cycle, &mut self.mem);
        self.rx.sample();
        self.tx.sample(self.cycle, &mut self.mem.errors);
        if self.irq.get_bit() {
            self.irqs += 1;
            self.irq_pending += 1;
        }
        // rising edge
        self.clk.set(1);
        self.model.eval();
        if self.tracing {
            self.model.trace_dump(self.cycle * 4 + 2);
        }
        self.cycle += 1;
        if self.cfg.fail_fast && self.mem.errors.len() > self.errors_reported {
            self.errors_reported = self.mem.errors.len();
            if self.tracing {
                self.model.trace_close();
            }
            panic!("ddpnic-sim: {}", self.mem.errors.last().unwrap());
        }
    }

    /// One clock cycle.
    pub fn tick(&mut self) {
        let t = Instant::now();
        self.step();
        self.wall += t.elapsed();
    }

    /// `n` clock cycles.
    pub fn run(&mut self, n: u64) {
        let t = Instant::now();
        for _ in 0..n {
            self.step();
        }
        self.wall += t.elapsed();
    }

    /// Clocks until `done(self)` is true (checked before every cycle) or `max` cycles passed;
    /// returns whether `done` became true.
    pub fn run_until(&mut self, max: u64, mut done: impl FnMut(&Nic) -> bool) -> bool {
        let t = Instant::now();
        let mut ok = false;
        for _ in 0..max {
            if done(self) {
                ok = true;
                break;
            }
            self.step();
        }
        ok = ok || done(self);
        self.wall += t.elapsed();
        ok
    }

    /// Clocks until no frame waits to enter the MAC port and no DMA is outstanding (or `max`).
    pub fn run_until_idle(&mut self, max: u64) -> bool {
        self.run_until(max, |n| n.bus_idle())
    }

    /// Cycles since construction (reset included).
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Simulated time since construction, in nanoseconds (4 ns a cycle at 250 MHz).
    pub fn time_ns(&self) -> u64 {
        self.cycle * 4
    }

    /// Clocks until the simulated time reaches `ns` (for a world that keeps time in ns).
    pub fn run_to_ns(&mut self, ns: u64) {
        let target = ns.div_ceil(4);
        if target > self.cycle {
            self.run(target - self.cycle);
        }
    }

    /// No frame waits to enter the MAC port, no DMA burst is outstanding, no MMIO access is
    /// in flight. (The NIC may still hold frames inside; only the RTL's registers know.)
    pub fn bus_idle(&self) -> bool {
        self.rx.idle() && self.dma.idle() && self.mmio.current.is_none()
    }

    // ------------------------------------------------------------------ BAR0

    fn mmio(&mut self, op: MmioOp) -> Result<u32, SimError> {
        let (write, offset) = match op {
            MmioOp::Write { offset, .. } => (true, offset),
            MmioOp::Read { offset } => (false, offset),
        };
        assert!(offset % 4 == 0 && offset < 0x1_0000, "BAR0 offset {offset:#x} must be 4-aligned and below 64 KiB");
        self.mmio.start(op);
        let timeout = self.cfg.mmio_timeout;
        if !self.run_until(timeout, |n| n.mmio.result.is_some()) {
            self.mmio.current = None;
            let e = SimError::MmioTimeout { write, offset, cycle: self.cycle };
            self.mem.errors.push(e.clone());
            return Err(e);
        }
        let (resp, data) = self.mmio.result.take().unwrap();
        if !write && self.cfg.mmio_read_cycles > 0 {
            let n = self.cfg.mmio_read_cycles;
            self.run(n);
        }
        if resp != 0 {
            let e = SimError::MmioResponse { write, offset, resp, cycle: self.cycle };
            self.mem.errors.push(e.clone());
            return Err(e);
        }
        Ok(data)
    }

    /// 32-bit read of BAR0 at byte `offset`; the NIC runs until the response arrives.
    pub fn try_read32(&mut self, offset: u32) -> Result<u32, SimError> {
        self.mmio(MmioOp::Read { offset })
    }

    /// 32-bit write of BAR0 at byte `offset` (all byte strobes); returns after the response.
    pub fn try_write32(&mut self, offset: u32, value: u32) -> Result<(), SimError> {
        self.mmio(MmioOp::Write { offset, data: value, strb: 0xF }).map(|_| ())
    }

    /// Write with explicit byte strobes (bit i = byte i of `value`).
    pub fn try_write32_strb(&mut self, offset: u32, value: u32, strb: u8) -> Result<(), SimError> {
        self.mmio(MmioOp::Write { offset, data: value, strb }).map(|_| ())
    }

    /// [`try_read32`](Self::try_read32); panics on a timeout or an error response.
    pub fn read32(&mut self, offset: u32) -> u32 {
        self.try_read32(offset).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`try_write32`](Self::try_write32); panics on a timeout or an error response.
    pub fn write32(&mut self, offset: u32, value: u32) {
        self.try_write32(offset, value).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Two 32-bit reads, low word first.
    pub fn read64(&mut self, offset: u32) -> u64 {
        self.read32(offset) as u64 | (self.read32(offset + 4) as u64) << 32
    }

    /// Two 32-bit writes, low word first.
    pub fn write64(&mut self, offset: u32, value: u64) {
        self.write32(offset, value as u32);
        self.write32(offset + 4, (value >> 32) as u32);
    }

    // ------------------------------------------------------------------ host memory

    pub fn mem(&self) -> &HostMemory {
        &self.mem
    }

    pub fn mem_mut(&mut self) -> &mut HostMemory {
        &mut self.mem
    }

    /// DMA-able host memory, zeroed (see [`HostMemory::alloc`]). Not yet writable by the NIC:
    /// declare rings and buffers with [`add_region`](Self::add_region).
    pub fn alloc(&mut self, len: u64, align: u64) -> u64 {
        self.mem.alloc(len, align)
    }

    /// Releases an allocation (see [`HostMemory::free`]).
    pub fn free(&mut self, addr: u64) -> bool {
        self.mem.free(addr)
    }

    /// Process memory behind an allocation, for a driver that maps DMA buffers as pointers
    /// (see [`HostMemory::host_ptr`]).
    pub fn host_ptr(&mut self, addr: u64) -> Option<(*mut u8, usize)> {
        self.mem.host_ptr(addr)
    }

    /// Declares `[addr, addr + len)` writable by the NIC's DMA (see [`HostMemory::add_region`]).
    pub fn add_region(&mut self, addr: u64, len: u64, name: impl Into<String>) -> RegionId {
        self.mem.add_region(addr, len, name)
    }

    /// Ends a live region (teardown): NIC writes there are errors from now on.
    pub fn remove_region(&mut self, id: RegionId) -> bool {
        self.mem.remove_region(id)
    }

    /// Host CPU read of host memory.
    pub fn mem_read(&self, addr: u64, buf: &mut [u8]) {
        self.mem.read(addr, buf)
    }

    /// Host CPU write of host memory.
    pub fn mem_write(&mut self, addr: u64, data: &[u8]) {
        self.mem.write(addr, data)
    }

    // ------------------------------------------------------------------ Ethernet

    /// Queues a frame (without FCS) for the MAC receive port; it enters back to back with the
    /// frames before it, `rx_gap` idle cycles apart.
    pub fn send_frame(&mut self, frame: &[u8]) {
        self.send_frame_with(frame.to_vec(), false)
    }

    /// Queues a frame; `bad_fcs` sets TUSER on its last beat.
    pub fn send_frame_with(&mut self, frame: Vec<u8>, bad_fcs: bool) {
        assert!(!frame.is_empty(), "an empty frame has no beats");
        self.rx.queue.push_back(RxFrame { data: frame, bad: bad_fcs });
    }

    /// Frames queued for the receive port and not yet fully sent.
    pub fn rx_pending(&self) -> usize {
        self.rx.queue.len()
    }

    pub fn set_rx_gap(&mut self, cycles: u64) {
        self.rx.gap = cycles;
    }

    /// The oldest frame the NIC transmitted, if any.
    pub fn recv_frame(&mut self) -> Option<TxFrame> {
        self.tx.out.pop_front()
    }

    pub fn tx_pending(&self) -> usize {
        self.tx.out.len()
    }

    pub fn set_tx_ready(&mut self, r: TxReady) {
        self.tx.set_ready(r)
    }

    /// Interrupt pulses since construction.
    pub fn irq_count(&self) -> u64 {
        self.irqs
    }

    /// Interrupt pulses since the last call.
    pub fn take_irqs(&mut self) -> u64 {
        std::mem::take(&mut self.irq_pending)
    }

    // ------------------------------------------------------------------ VCD

    /// Starts (or restarts into another file) a VCD of every port and signal; 1 cycle = 4 ns.
    pub fn start_vcd(&mut self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        self.model.trace_open(path)?;
        self.tracing = true;
        Ok(())
    }

    /// Flushes and closes the VCD.
    pub fn stop_vcd(&mut self) {
        if self.tracing {
            self.model.trace_close();
            self.tracing = false;
        }
    }

    // ------------------------------------------------------------------ results

    /// Every error so far (memory checker, protocol, MMIO).
    pub fn errors(&self) -> &[SimError] {
        &self.mem.errors
    }

    pub fn take_errors(&mut self) -> Vec<SimError> {
        self.errors_reported = 0;
        std::mem::take(&mut self.mem.errors)
    }

    /// `Err` with every error message when anything went wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.mem.errors.is_empty() {
            return Ok(());
        }
        let mut s = format!("{} error(s) in the simulated NIC:", self.mem.errors.len());
        for e in self.mem.errors.iter().take(20) {
            s.push_str(&format!("\n  {e}"));
        }
        Err(s)
    }

    pub fn stats(&self) -> Stats {
        let secs = self.wall.as_secs_f64().max(1e-9);
        let rx_bits = self.rx.bytes as f64 * 8.0;
        Stats {
            cycles: self.cycle,
            wall: self.wall,
            cycles_per_sec: self.cycle as f64 / secs,
            rx_frames: self.rx.frames,
            rx_bytes: self.rx.bytes,
            tx_frames: self.tx.frames,
            tx_bytes: self.tx.bytes,
            dma_write_bytes: self.dma.write_bytes,
            dma_read_bytes: self.dma.read_bytes,
            dma_write_bursts: self.dma.write_bursts,
            dma_read_bursts: self.dma.read_bursts,
            irqs: self.irqs,
            rx_gbps_simulated: if self.cycle == 0 { 0.0 } else { rx_bits / (self.cycle as f64 / CLOCK_HZ) / 1e9 },
            rx_gbps_wall: rx_bits / secs / 1e9,
        }
    }
}

impl Drop for Nic {
    fn drop(&mut self) {
        self.stop_vcd();
    }
}

/// Runs `test` on a fresh NIC; if it panics, runs it again on a fresh NIC with a VCD at
/// `<dir>/<name>.vcd` (dir: `$DDPNIC_SIM_VCD_DIR`, else `target/sim-vcd`) and re-raises the
/// panic with the VCD path. With `DDPNIC_SIM_VCD=1` the first run already writes the VCD.
/// `test` must be deterministic (fixed seeds) for the second run to show the failure.
pub fn run_with_vcd_on_failure(name: &str, cfg: NicConfig, test: impl Fn(&mut Nic)) {
    let dir = std::env::var_os("DDPNIC_SIM_VCD_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let sim = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        sim.parent().unwrap_or(&sim).join("target").join("sim-vcd")
    });
    run_with_vcd_on_failure_in(&dir, name, cfg, test)
}

/// [`run_with_vcd_on_failure`] with the VCD directory given.
pub fn run_with_vcd_on_failure_in(dir: &Path, name: &str, cfg: NicConfig, test: impl Fn(&mut Nic)) {
    let path = dir.join(format!("{name}.vcd"));
    let always = std::env::var_os("DDPNIC_SIM_VCD").is_some_and(|v| v != "0");
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut c = cfg.clone();
        if always {
            c.vcd = Some(path.clone());
        }
        let mut nic = Nic::new(c).unwrap();
        test(&mut nic);
    }));
    let Err(panic) = first else { return };
    if !always {
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut c = cfg.clone();
            c.vcd = Some(path.clone());
            let mut nic = Nic::new(c).unwrap();
            test(&mut nic);
        }));
        if again.is_ok() {
            eprintln!("ddpnic-sim: {name} failed once but passed with a VCD (non-deterministic test?)");
        }
    }
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    panic!("{msg}\nVCD of the failing run: {}", path.display());
}
