//! A test world for `ddpnic_core` in Verilator: the core is stepped from Rust one clock at a
//! time (`placement::cosim`'s generated C++ main on a pipe, reporting the outputs
//! *before* each rising edge, so every valid/ready handshake is seen exactly as the edge
//! samples it), surrounded by
//! - an AXI4 slave over a sparse host memory that serves reads, applies writes with their
//!   strobes, logs them and checks the AXI rules (INCR, 64-byte beats, no burst across 4 KiB,
//!   wlast on the last beat) and that every written byte lies in a registered region;
//! - a BAR0 AXI-Lite master (blocking `read`/`write`, clocking the world meanwhile);
//! - the MAC: frames queued into the rx port one beat a cycle (gaps optional), the tx port
//!   collected into frames with random `tready`.
//! AXI ready/valid randomness is seeded, so runs are reproducible.
use super::{SidebandPorts, SIDEBAND, TRACKER_CONTROL, TRACKER_OUT};
use crate::placement::cosim::{self, words, CoSim, Model, Sample};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub type Port = (&'static str, usize);

const BASE_INPUTS: &[Port] = &[
    ("rst", 1),
    ("s_axis_rx_tdata", 512), ("s_axis_rx_tkeep", 64), ("s_axis_rx_tvalid", 1), ("s_axis_rx_tlast", 1), ("s_axis_rx_tuser", 1),
    ("m_axis_tx_tready", 1),
    ("s_axil_awaddr", 16), ("s_axil_awvalid", 1), ("s_axil_wdata", 32), ("s_axil_wstrb", 4), ("s_axil_wvalid", 1), ("s_axil_bready", 1),
    ("s_axil_araddr", 16), ("s_axil_arvalid", 1), ("s_axil_rready", 1),
    ("m_axi_awready", 1), ("m_axi_wready", 1), ("m_axi_bid", 4), ("m_axi_bresp", 2), ("m_axi_bvalid", 1),
    ("m_axi_arready", 1), ("m_axi_rid", 4), ("m_axi_rdata", 512), ("m_axi_rresp", 2), ("m_axi_rlast", 1), ("m_axi_rvalid", 1),
];

/// `tb_<name>` for each port (names live for the program: the port lists are built once).
fn tb(list: &[(&'static str, usize)]) -> Vec<Port> {
    list.iter().map(|&(n, w)| (&*Box::leak(format!("tb_{n}").into_boxed_str()), w)).collect()
}

/// Inputs of a build: the contract's, plus the `tb_*` inputs of a test build.
pub fn inputs(mode: SidebandPorts) -> Vec<Port> {
    static RXP: OnceLock<Vec<Port>> = OnceLock::new();
    static TRACKER: OnceLock<Vec<Port>> = OnceLock::new();
    let mut v = BASE_INPUTS.to_vec();
    match mode {
        SidebandPorts::None => {}
        SidebandPorts::Rxp => v.extend(RXP.get_or_init(|| tb(SIDEBAND))),
        SidebandPorts::Tracker => v.extend(TRACKER.get_or_init(|| tb(TRACKER_OUT))),
    }
    v
}

/// Outputs of a build: the contract's, plus the `tb_*` outputs of a test build.
pub fn outputs(mode: SidebandPorts) -> Vec<Port> {
    static TRACKER: OnceLock<Vec<Port>> = OnceLock::new();
    let mut v = OUTPUTS.to_vec();
    if mode == SidebandPorts::Tracker {
        v.extend(TRACKER.get_or_init(|| tb(TRACKER_CONTROL)));
    }
    v
}

pub const OUTPUTS: &[Port] = &[
    ("m_axis_tx_tdata", 512), ("m_axis_tx_tkeep", 64), ("m_axis_tx_tvalid", 1), ("m_axis_tx_tlast", 1), ("m_axis_tx_tuser", 1),
    ("s_axil_awready", 1), ("s_axil_wready", 1), ("s_axil_bresp", 2), ("s_axil_bvalid", 1),
    ("s_axil_arready", 1), ("s_axil_rdata", 32), ("s_axil_rresp", 2), ("s_axil_rvalid", 1),
    ("m_axi_awid", 4), ("m_axi_awaddr", 64), ("m_axi_awlen", 8), ("m_axi_awsize", 3), ("m_axi_awburst", 2), ("m_axi_awvalid", 1),
    ("m_axi_wdata", 512), ("m_axi_wstrb", 64), ("m_axi_wlast", 1), ("m_axi_wvalid", 1), ("m_axi_bready", 1),
    ("m_axi_arid", 4), ("m_axi_araddr", 64), ("m_axi_arlen", 8), ("m_axi_arsize", 3), ("m_axi_arburst", 2), ("m_axi_arvalid", 1),
    ("m_axi_rready", 1), ("irq", 1),
];

/// Builds the core with Verilator in `dir` (reused when the Verilog is unchanged): strict
/// warnings and random initial values, outputs sampled before each edge.
pub fn build(dir: &Path, verilog: &str, mode: SidebandPorts) -> Result<PathBuf, String> {
    let owned = |ports: &[Port]| ports.iter().map(|&(name, width)| (name.to_string(), width)).collect();
    let flags = ["-Wall", "--x-initial", "unique", "--x-assign", "unique"];
    cosim::build_with(dir, verilog, "ddpnic_core", "clk", owned(&inputs(mode)), owned(&outputs(mode)), Sample::BeforeEdge, &flags).map(|model| model.binary)
}

/// Values of the ports, by name; wide ports as little-endian u64 words.
#[derive(Clone, Debug, Default)]
pub struct Values(pub HashMap<&'static str, Vec<u64>>);

impl Values {
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).map_or(0, |v| v[0])
    }
    pub fn bit(&self, name: &str) -> bool {
        self.get(name) & 1 == 1
    }
    pub fn bytes(&self, name: &str, n: usize) -> Vec<u8> {
        let v = &self.0[name];
        (0..n).map(|i| (v[i / 8] >> (8 * (i % 8))) as u8).collect()
    }
    pub fn set(&mut self, name: &'static str, v: u64) {
        self.0.insert(name, vec![v]);
    }
    pub fn set_bytes(&mut self, name: &'static str, bytes: &[u8]) {
        let mut w = vec![0u64; bytes.len().div_ceil(8)];
        for (i, b) in bytes.iter().enumerate() {
            w[i / 8] |= (*b as u64) << (8 * (i % 8));
        }
        self.0.insert(name, w);
    }
}

/// The running core: `step` takes inputs by name and returns the outputs by name.
pub struct Dut {
    inputs: Vec<Port>,
    outputs: Vec<Port>,
    sim: CoSim,
}

impl Dut {
    pub fn start(binary: &Path, mode: SidebandPorts) -> Self {
        let owned = |ports: &[Port]| ports.iter().map(|&(name, width)| (name.to_string(), width)).collect();
        let model = Model { binary: binary.to_path_buf(), inputs: owned(&inputs(mode)), outputs: owned(&outputs(mode)) };
        Self { inputs: inputs(mode), outputs: outputs(mode), sim: CoSim::start(&model).expect("start the model") }
    }

    /// Applies `inputs`, returns the outputs the rising edge then samples, and clocks it.
    pub fn step(&mut self, inputs: &Values) -> Values {
        let values: Vec<Vec<u64>> = self.inputs.iter().map(|(name, width)| inputs.0.get(name).cloned().unwrap_or_else(|| vec![0; words(*width)])).collect();
        Values(self.outputs.iter().map(|(name, _)| *name).zip(self.sim.step(&values)).collect())
    }
}

/// A small deterministic generator (xorshift64*), so the harness needs no dependencies.
#[derive(Clone, Debug)]
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Sparse host memory with a write log and the regions the core may write.
#[derive(Default)]
pub struct HostMemory {
    pages: HashMap<u64, Box<[u8; 4096]>>,
    /// (start, length, name): a write outside all of them is an error.
    pub writable: Vec<(u64, u64, String)>,
    pub errors: Vec<String>,
    pub bytes_written: u64,
}

impl HostMemory {
    pub fn read(&self, addr: u64) -> u8 {
        self.pages.get(&(addr >> 12)).map_or(0, |p| p[(addr & 0xFFF) as usize])
    }
    pub fn write(&mut self, addr: u64, v: u8) {
        self.pages.entry(addr >> 12).or_insert_with(|| Box::new([0; 4096]))[(addr & 0xFFF) as usize] = v;
    }
    pub fn read_bytes(&self, addr: u64, n: usize) -> Vec<u8> {
        (0..n as u64).map(|i| self.read(addr + i)).collect()
    }
    pub fn write_bytes(&mut self, addr: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.write(addr + i as u64, *b);
        }
    }
    /// A DMA write by the core: checked against the regions.
    fn dma_write(&mut self, addr: u64, v: u8) {
        if !self.writable.iter().any(|(s, l, _)| (*s..s + l).contains(&addr)) && self.errors.len() < 20 {
            self.errors.push(format!("DMA write outside every registered region at 0x{addr:x}"));
        }
        self.bytes_written += 1;
        self.write(addr, v);
    }
}

struct Burst {
    addr: u64,
    beats: u64,
    done: u64,
    /// Cycle from which its data may be returned (reads).
    ready_at: u64,
}

/// How often the host side says ready (percent).
#[derive(Clone, Copy, Debug)]
pub struct Readiness {
    pub aw: u64,
    pub w: u64,
    pub ar: u64,
    pub r: u64,
    pub tx: u64,
}

impl Default for Readiness {
    fn default() -> Self {
        Self { aw: 100, w: 100, ar: 100, r: 100, tx: 100 }
    }
}

/// Per-frame metadata on the offload sideband (test builds).
#[derive(Clone, Debug, Default)]
pub struct Meta {
    /// {flow_valid, resync, crc_ok, tcp_csum_ok, ip_csum_ok}
    pub flags: u8,
    pub flow: u16,
    pub seq: u32,
    pub ranges: Vec<ddpnic_regmap::PlacedRange>,
}

/// One cycle on the rx side: a MAC beat (bytes <= 64, last, tuser) or none, and the sideband.
#[derive(Clone, Debug, Default)]
pub struct RxIn {
    pub beat: Option<(Vec<u8>, bool, bool)>,
    pub placed: u64,
    pub meta: Option<Meta>,
    pub placed_bytes: u64,
}
pub type RxBeat = RxIn;

/// One cycle of the tracker's outputs (`SidebandPorts::Tracker` builds): a frame beat on
/// `f_*` and/or a stream beat on `t_*`.
#[derive(Clone, Debug, Default)]
pub struct TrackerIn {
    pub f: Option<FrameBeat>,
    pub t: Option<StreamBeat>,
}

/// A frame beat on `f_*` with its frame's metadata.
#[derive(Clone, Debug, Default)]
pub struct FrameBeat {
    pub data: Vec<u8>,
    pub last: bool,
    pub user: bool,
    pub ip_csum_ok: bool,
    pub tcp_csum_ok: bool,
    pub flow: Option<u16>,
    pub tracked: bool,
}

/// A stream beat on `t_*`.
#[derive(Clone, Debug, Default)]
pub struct StreamBeat {
    pub beat: crate::receive_model::TrackerBeat,
    pub first: bool,
    pub last: bool,
    pub flow: u16,
    /// On the last beat: the frame's crc_ok and resync request.
    pub crc_ok: bool,
    pub resync: Option<u32>,
}

/// A flow write the core made on `c_flow_*` (taken at once: `c_flow_ready` is 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowWrite {
    pub add: bool,
    pub id: u16,
    pub ipv6: bool,
    pub src_addr: Vec<u8>,
    pub dst_addr: Vec<u8>,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub hdgst: bool,
    pub ddgst: bool,
    pub cpda: u8,
}

pub struct World {
    dut: Dut,
    mode: SidebandPorts,
    /// `SidebandPorts::Tracker`: what the tracker presents, one entry a cycle.
    pub tracker_queue: VecDeque<TrackerIn>,
    /// `SidebandPorts::Tracker`: flow writes and resync confirmations (flow, seq) seen.
    pub flow_writes: Vec<FlowWrite>,
    pub resyncs: Vec<(u16, u32)>,
    pub cycle: u64,
    pub mem: HostMemory,
    pub rng: Rng,
    pub ready: Readiness,
    /// Beats still to present on the MAC rx port: (bytes <= 64, last, tuser).
    pub rx_queue: VecDeque<RxBeat>,
    /// Frames received on the MAC tx port: (bytes, tuser on the last beat).
    pub tx_frames: Vec<(Vec<u8>, bool)>,
    tx_cur: Vec<u8>,
    pub irqs: u64,
    aw: VecDeque<Burst>,
    w_pending: VecDeque<(Vec<u8>, u64, bool)>,
    b_pending: u64,
    ar: VecDeque<Burst>,
    /// Every AXI write burst: (address, beats).
    pub write_bursts: Vec<(u64, u64)>,
    pub read_bursts: Vec<(u64, u64)>,
    lite: Values,
    last_out: Option<Values>,
    pub max_outstanding_reads: usize,
    /// Read beats from these 4 KiB pages answer SLVERR.
    pub bad_read_pages: Vec<u64>,
    /// The next this-many write responses are SLVERR.
    pub write_errors_to_inject: u64,
    /// Cycles from an accepted AR to its first data beat (PCIe reads: ~125-250 at 250 MHz).
    pub read_latency: u64,
}

impl World {
    pub fn new(binary: &Path, seed: u64) -> Self {
        Self::with_sideband(binary, seed, SidebandPorts::None)
    }

    /// A world around a test build: an `Rxp` build's sideband is driven from `rx_queue`
    /// entries, a `Tracker` build's tracker outputs from `tracker_queue`.
    pub fn with_sideband(binary: &Path, seed: u64, mode: SidebandPorts) -> Self {
        let mut w = Self {
            dut: Dut::start(binary, mode),
            mode,
            tracker_queue: VecDeque::new(),
            flow_writes: Vec::new(),
            resyncs: Vec::new(),
            cycle: 0,
            mem: HostMemory::default(),
            rng: Rng::new(seed),
            ready: Readiness::default(),
            rx_queue: VecDeque::new(),
            tx_frames: Vec::new(),
            tx_cur: Vec::new(),
            irqs: 0,
            aw: VecDeque::new(),
            w_pending: VecDeque::new(),
            b_pending: 0,
            ar: VecDeque::new(),
            write_bursts: Vec::new(),
            read_bursts: Vec::new(),
            lite: Values::default(),
            last_out: None,
            max_outstanding_reads: 4,
            bad_read_pages: Vec::new(),
            write_errors_to_inject: 0,
            read_latency: 0,
        };
        // Reset for a few cycles.
        let mut i = Values::default();
        i.set("rst", 1);
        for _ in 0..4 {
            w.dut.step(&i);
        }
        w
    }

    /// Queues a frame for the MAC rx port (beats back to back).
    pub fn send_frame(&mut self, frame: &[u8], bad_fcs: bool) {
        let n = frame.len().div_ceil(64);
        for (k, chunk) in frame.chunks(64).enumerate() {
            self.rx_queue.push_back(RxIn { beat: Some((chunk.to_vec(), k + 1 == n, bad_fcs && k + 1 == n)), ..Default::default() });
        }
    }

    /// One clock cycle of the whole world.
    pub fn tick(&mut self) {
        let mut i = self.lite.clone();
        i.set("rst", 0);
        // MAC rx.
        let rx = self.rx_queue.pop_front().unwrap_or_default();
        if self.mode == SidebandPorts::Tracker {
            self.drive_tracker(&mut i);
        }
        if self.mode == SidebandPorts::Rxp {
            i.set("tb_rxp_placed", rx.placed);
            i.set("tb_ofl_stat_placed_bytes", rx.placed_bytes);
            if let Some(m) = &rx.meta {
                i.set("tb_rxp_meta_valid", 1);
                i.set("tb_rxp_meta_flags", m.flags as u64);
                i.set("tb_rxp_meta_flow", m.flow as u64);
                i.set("tb_rxp_meta_seq", m.seq as u64);
                i.set("tb_rxp_meta_nranges", m.ranges.len() as u64);
                let mut bytes = vec![0u8; 40];
                for (k, r) in m.ranges.iter().enumerate() {
                    let v = r.frame_offset as u128 | (r.len as u128) << 16 | (r.cid as u128) << 32 | (r.data_offset as u128) << 48;
                    for b in 0..80 {
                        if v >> b & 1 == 1 {
                            bytes[(80 * k + b) / 8] |= 1 << ((80 * k + b) % 8);
                        }
                    }
                }
                i.set_bytes("tb_rxp_meta_ranges", &bytes);
            }
        }
        if let Some((bytes, last, user)) = &rx.beat {
            i.set_bytes("s_axis_rx_tdata", bytes);
            let keep = if bytes.len() == 64 { u64::MAX } else { (1u64 << bytes.len()) - 1 };
            i.set("s_axis_rx_tkeep", keep);
            i.set("s_axis_rx_tvalid", 1);
            i.set("s_axis_rx_tlast", *last as u64);
            i.set("s_axis_rx_tuser", *user as u64);
        }
        // Host side readiness.
        let tx_ready = self.rng.chance(self.ready.tx);
        let aw_ready = self.rng.chance(self.ready.aw);
        let w_ready = self.rng.chance(self.ready.w);
        let ar_ready = self.ar.len() < self.max_outstanding_reads && self.rng.chance(self.ready.ar);
        i.set("m_axis_tx_tready", tx_ready as u64);
        i.set("m_axi_awready", aw_ready as u64);
        i.set("m_axi_wready", w_ready as u64);
        i.set("m_axi_arready", ar_ready as u64);
        let b_valid = self.b_pending > 0;
        i.set("m_axi_bvalid", b_valid as u64);
        let b_err = b_valid && self.write_errors_to_inject > 0;
        i.set("m_axi_bresp", if b_err { 2 } else { 0 });
        // R: the head burst's next beat.
        let r_valid = self.ar.front().is_some_and(|b| b.ready_at <= self.cycle) && self.rng.chance(self.ready.r);
        if r_valid {
            let b = &self.ar[0];
            let a = b.addr + 64 * b.done;
            let data = self.mem.read_bytes(a, 64);
            i.set_bytes("m_axi_rdata", &data);
            i.set("m_axi_rvalid", 1);
            i.set("m_axi_rlast", (b.done + 1 == b.beats) as u64);
            i.set("m_axi_rresp", if self.bad_read_pages.contains(&(a >> 12)) { 2 } else { 0 });
        }
        let o = self.dut.step(&i);
        self.cycle += 1;
        if self.mode == SidebandPorts::Tracker {
            if o.bit("tb_c_flow_valid") {
                self.flow_writes.push(FlowWrite {
                    add: o.bit("tb_c_flow_add"),
                    id: o.get("tb_c_flow_id") as u16,
                    ipv6: o.bit("tb_c_flow_ipv6"),
                    src_addr: o.bytes("tb_c_flow_src_addr", 16),
                    dst_addr: o.bytes("tb_c_flow_dst_addr", 16),
                    src_port: o.get("tb_c_flow_src_port") as u16,
                    dst_port: o.get("tb_c_flow_dst_port") as u16,
                    seq: o.get("tb_c_flow_seq") as u32,
                    hdgst: o.bit("tb_c_flow_hdgst"),
                    ddgst: o.bit("tb_c_flow_ddgst"),
                    cpda: o.get("tb_c_flow_cpda") as u8,
                });
            }
            if o.bit("tb_c_resync_valid") {
                self.resyncs.push((o.get("tb_c_resync_flow") as u16, o.get("tb_c_resync_seq") as u32));
            }
        }
        if o.bit("irq") {
            self.irqs += 1;
        }
        // tx
        if o.bit("m_axis_tx_tvalid") && tx_ready {
            let keep = o.get("m_axis_tx_tkeep");
            let n = keep.trailing_ones() as usize;
            assert!(keep == u64::MAX || keep == (1u64 << n) - 1, "tx tkeep not contiguous: {keep:x}");
            let data = o.bytes("m_axis_tx_tdata", 64);
            self.tx_cur.extend_from_slice(&data[..n]);
            if o.bit("m_axis_tx_tlast") {
                self.tx_frames.push((std::mem::take(&mut self.tx_cur), o.bit("m_axis_tx_tuser")));
            } else {
                assert_eq!(n, 64, "tx: a partial beat before the last one");
            }
        }
        // AW
        if o.bit("m_axi_awvalid") && aw_ready {
            let (addr, len) = (o.get("m_axi_awaddr"), o.get("m_axi_awlen") + 1);
            assert_eq!(o.get("m_axi_awsize"), 6, "awsize");
            assert_eq!(o.get("m_axi_awburst"), 1, "awburst INCR");
            assert_eq!(addr % 64, 0, "write burst address 0x{addr:x} not 64-byte aligned");
            assert_eq!(addr >> 12, (addr + 64 * len - 1) >> 12, "write burst crosses 4 KiB: 0x{addr:x} x {len}");
            self.aw.push_back(Burst { addr, beats: len, done: 0, ready_at: 0 });
            self.write_bursts.push((addr, len));
        }
        if o.bit("m_axi_wvalid") && w_ready {
            self.w_pending.push_back((o.bytes("m_axi_wdata", 64), o.get("m_axi_wstrb"), o.bit("m_axi_wlast")));
        }
        // Match W beats with AWs.
        while !self.aw.is_empty() && !self.w_pending.is_empty() {
            let (data, strb, last) = self.w_pending.pop_front().unwrap();
            let b = &mut self.aw[0];
            let a = b.addr + 64 * b.done;
            b.done += 1;
            assert_eq!(last, b.done == b.beats, "wlast at beat {} of {} (burst 0x{:x})", b.done, b.beats, b.addr);
            let finished = b.done == b.beats;
            for (k, &byte) in data.iter().enumerate() {
                if strb >> k & 1 == 1 {
                    self.mem.dma_write(a + k as u64, byte);
                }
            }
            if finished {
                self.aw.pop_front();
                self.b_pending += 1;
            }
        }
        if b_valid && o.bit("m_axi_bready") {
            self.b_pending -= 1;
            if b_err {
                self.write_errors_to_inject -= 1;
            }
        }
        // AR / R
        if o.bit("m_axi_arvalid") && ar_ready {
            let (addr, len) = (o.get("m_axi_araddr"), o.get("m_axi_arlen") + 1);
            assert_eq!(o.get("m_axi_arsize"), 6, "arsize");
            assert_eq!(o.get("m_axi_arburst"), 1, "arburst INCR");
            assert_eq!(addr % 64, 0, "read burst address not aligned");
            assert_eq!(addr >> 12, (addr + 64 * len - 1) >> 12, "read burst crosses 4 KiB: 0x{addr:x} x {len}");
            self.ar.push_back(Burst { addr, beats: len, done: 0, ready_at: self.cycle + self.read_latency });
            self.read_bursts.push((addr, len));
        }
        if r_valid && o.bit("m_axi_rready") {
            let b = &mut self.ar[0];
            b.done += 1;
            if b.done == b.beats {
                self.ar.pop_front();
            }
        }
        self.last_out = Some(o);
    }

    /// The tracker's outputs for this cycle (`c_flow_ready` always 1).
    fn drive_tracker(&mut self, i: &mut Values) {
        i.set("tb_c_flow_ready", 1);
        let Some(c) = self.tracker_queue.pop_front() else { return };
        if let Some(f) = &c.f {
            i.set("tb_f_valid", 1);
            i.set_bytes("tb_f_data", &f.data);
            i.set("tb_f_keep", if f.data.len() == 64 { u64::MAX } else { (1u64 << f.data.len()) - 1 });
            i.set("tb_f_last", f.last as u64);
            i.set("tb_f_user", f.user as u64);
            i.set("tb_f_meta_ip_csum_ok", f.ip_csum_ok as u64);
            i.set("tb_f_meta_tcp_csum_ok", f.tcp_csum_ok as u64);
            i.set("tb_f_meta_flow_valid", f.flow.is_some() as u64);
            i.set("tb_f_meta_flow", f.flow.unwrap_or(0) as u64);
            i.set("tb_f_meta_tracked", f.tracked as u64);
        }
        if let Some(t) = &c.t {
            i.set("tb_t_valid", 1);
            i.set_bytes("tb_t_data", &t.beat.data);
            i.set("tb_t_first", t.first as u64);
            i.set("tb_t_last", t.last as u64);
            i.set("tb_t_len", t.beat.data.len() as u64);
            i.set("tb_t_flow", t.flow as u64);
            i.set("tb_t_frame_offset", t.beat.frame_offset as u64);
            if let Some(r) = t.beat.run {
                i.set("tb_t_run_valid", 1);
                i.set("tb_t_run_lane", r.lane as u64);
                i.set("tb_t_run_len", r.len as u64);
                i.set("tb_t_run_cid", r.cid as u64);
                i.set("tb_t_run_offset", r.offset as u64);
            }
            i.set("tb_t_run_second", t.beat.second_run as u64);
            let cids = t.beat.completions.iter().take(3).enumerate().fold(0u64, |a, (k, &c)| a | (c as u64) << (16 * k));
            i.set("tb_t_cpl_valid", (1u64 << t.beat.completions.len().min(3)) - 1);
            i.set("tb_t_cpl_cid", cids);
            i.set("tb_t_lost", t.beat.lost as u64);
            i.set("tb_t_crc_ok", (t.last && t.crc_ok) as u64);
            i.set("tb_t_crc_bad", t.beat.crc_bad as u64);
            i.set("tb_t_resync_valid", (t.last && t.resync.is_some()) as u64);
            i.set("tb_t_resync_seq", t.resync.unwrap_or(0) as u64);
        }
    }

    /// Configures and enables the rx ring (slots and completions registered as writable).
    pub fn setup_rx_ring(&mut self, slot_base: u64, cpl_base: u64, size_log2: u32, slot_log2: u32) {
        let n = 1u64 << size_log2;
        self.mem.writable.push((slot_base, n << slot_log2, "rx slots".into()));
        self.mem.writable.push((cpl_base, n * 64, "rx completions".into()));
        self.set("RX_SLOT_BASE_LO", slot_base as u32);
        self.set("RX_SLOT_BASE_HI", (slot_base >> 32) as u32);
        self.set("RX_CPL_BASE_LO", cpl_base as u32);
        self.set("RX_CPL_BASE_HI", (cpl_base >> 32) as u32);
        self.set("RX_SIZE_LOG2", size_log2);
        self.set("RX_SLOT_LOG2", slot_log2);
        self.set("RX_CTRL", 1);
    }

    pub fn run(&mut self, cycles: u64) {
        for _ in 0..cycles {
            self.tick();
        }
    }

    /// Clocks until `done` holds (or panics after `limit` cycles).
    pub fn run_until(&mut self, limit: u64, mut done: impl FnMut(&mut World) -> bool) {
        for _ in 0..limit {
            if done(self) {
                return;
            }
            self.tick();
        }
        panic!("condition not reached within {limit} cycles (cycle {})", self.cycle);
    }

    /// BAR0 write (blocking).
    pub fn write32(&mut self, addr: u16, value: u32) {
        self.lite = Values::default();
        self.lite.set("s_axil_awaddr", addr as u64);
        self.lite.set("s_axil_awvalid", 1);
        self.lite.set("s_axil_wdata", value as u64);
        self.lite.set("s_axil_wstrb", 0xF);
        self.lite.set("s_axil_wvalid", 1);
        self.lite.set("s_axil_bready", 1);
        for _ in 0..10_000 {
            self.tick();
            let o = self.last_out.as_ref().unwrap();
            if o.bit("s_axil_awready") {
                assert!(o.bit("s_axil_wready"), "awready without wready");
                self.lite.set("s_axil_awvalid", 0);
                self.lite.set("s_axil_wvalid", 0);
                for _ in 0..100 {
                    self.tick();
                    if self.last_out.as_ref().unwrap().bit("s_axil_bvalid") {
                        assert_eq!(self.last_out.as_ref().unwrap().get("s_axil_bresp"), 0);
                        self.lite = Values::default();
                        return;
                    }
                }
                panic!("no write response");
            }
        }
        panic!("BAR0 write to 0x{addr:x} never accepted");
    }

    /// BAR0 read (blocking).
    pub fn read32(&mut self, addr: u16) -> u32 {
        self.lite = Values::default();
        self.lite.set("s_axil_araddr", addr as u64);
        self.lite.set("s_axil_arvalid", 1);
        self.lite.set("s_axil_rready", 1);
        for _ in 0..1000 {
            self.tick();
            if self.last_out.as_ref().unwrap().bit("s_axil_arready") {
                self.lite.set("s_axil_arvalid", 0);
                for _ in 0..100 {
                    self.tick();
                    let o = self.last_out.as_ref().unwrap();
                    if o.bit("s_axil_rvalid") {
                        assert_eq!(o.get("s_axil_rresp"), 0);
                        let v = o.get("s_axil_rdata") as u32;
                        self.lite = Values::default();
                        return v;
                    }
                }
                panic!("no read data");
            }
        }
        panic!("BAR0 read of 0x{addr:x} never accepted");
    }

    pub fn read64(&mut self, lo: u16) -> u64 {
        let l = self.read32(lo) as u64;
        l | (self.read32(lo + 4) as u64) << 32
    }

    pub fn counter(&mut self, name: &str) -> u64 {
        self.read64(ddpnic_regmap::counter_addr(ddpnic_regmap::counter(name)))
    }

    pub fn reg(&mut self, name: &str) -> u32 {
        self.read32(ddpnic_regmap::addr(name))
    }

    pub fn set(&mut self, name: &str, v: u32) {
        self.write32(ddpnic_regmap::addr(name), v)
    }
}
