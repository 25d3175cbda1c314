//! Bus-functional models around the Verilated top, one clock cycle at a time.
//!
//! Each model has `drive` (set its outputs for this cycle, before the top settles) and `sample`
//! (after the top settled and before the rising edge: a handshake happens when valid and ready
//! are both high now). Ports are written and read in place through [`Sig`].
use crate::mem::{HostMemory, SimError};
use crate::model::{Model, Sig};
use std::collections::VecDeque;

/// xorshift64*: deterministic stalls without a dependency.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    #[inline]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// True with probability p (p <= 0: never).
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64) < p * (1u64 << 53) as f64
    }
}

fn keep_mask(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

// ---------------------------------------------------------------------- AXI4-Lite master (BAR0)

#[derive(Clone, Copy, Debug)]
pub(crate) enum MmioOp {
    Write { offset: u32, data: u32, strb: u8 },
    Read { offset: u32 },
}

pub(crate) struct AxiLiteMaster {
    awaddr: Sig,
    awvalid: Sig,
    awready: Sig,
    wdata: Sig,
    wstrb: Sig,
    wvalid: Sig,
    wready: Sig,
    bresp: Sig,
    bvalid: Sig,
    bready: Sig,
    araddr: Sig,
    arvalid: Sig,
    arready: Sig,
    rdata: Sig,
    rresp: Sig,
    rvalid: Sig,
    rready: Sig,
    pub current: Option<MmioOp>,
    addr_done: bool,
    data_done: bool,
    /// (resp, read data) of the finished operation
    pub result: Option<(u8, u32)>,
}

impl AxiLiteMaster {
    pub fn new(m: &mut Model, missing: &mut Vec<String>) -> Self {
        let mut p = |n: &str, w: u32, out: bool| m.port_or_dummy(n, w, out, missing);
        AxiLiteMaster {
            awaddr: p("s_axil_awaddr", 16, false),
            awvalid: p("s_axil_awvalid", 1, false),
            awready: p("s_axil_awready", 1, true),
            wdata: p("s_axil_wdata", 32, false),
            wstrb: p("s_axil_wstrb", 4, false),
            wvalid: p("s_axil_wvalid", 1, false),
            wready: p("s_axil_wready", 1, true),
            bresp: p("s_axil_bresp", 2, true),
            bvalid: p("s_axil_bvalid", 1, true),
            bready: p("s_axil_bready", 1, false),
            araddr: p("s_axil_araddr", 16, false),
            arvalid: p("s_axil_arvalid", 1, false),
            arready: p("s_axil_arready", 1, true),
            rdata: p("s_axil_rdata", 32, true),
            rresp: p("s_axil_rresp", 2, true),
            rvalid: p("s_axil_rvalid", 1, true),
            rready: p("s_axil_rready", 1, false),
            current: None,
            addr_done: false,
            data_done: false,
            result: None,
        }
    }

    pub fn start(&mut self, op: MmioOp) {
        assert!(self.current.is_none(), "one MMIO access at a time");
        self.current = Some(op);
        self.addr_done = false;
        self.data_done = false;
        self.result = None;
    }

    #[inline]
    pub fn drive(&mut self) {
        match self.current {
            Some(MmioOp::Write { offset, data, strb }) => {
                self.awaddr.set(offset as u64);
                self.awvalid.set(!self.addr_done as u64);
                self.wdata.set(data as u64);
                self.wstrb.set(strb as u64);
                self.wvalid.set(!self.data_done as u64);
                self.bready.set(1);
                self.arvalid.set(0);
                self.rready.set(0);
            }
            Some(MmioOp::Read { offset }) => {
                self.araddr.set(offset as u64);
                self.arvalid.set(!self.addr_done as u64);
                self.rready.set(1);
                self.awvalid.set(0);
                self.wvalid.set(0);
                self.bready.set(0);
            }
            None => {
                self.awvalid.set(0);
                self.wvalid.set(0);
                self.bready.set(0);
                self.arvalid.set(0);
                self.rready.set(0);
            }
        }
    }

    #[inline]
    pub fn sample(&mut self) {
        match self.current {
            Some(MmioOp::Write { .. }) => {
                if self.awvalid.get_bit() && self.awready.get_bit() {
                    self.addr_done = true;
                }
                if self.wvalid.get_bit() && self.wready.get_bit() {
                    self.data_done = true;
                }
                if self.bvalid.get_bit() {
                    self.result = Some((self.bresp.get() as u8, 0));
                    self.current = None;
                }
            }
            Some(MmioOp::Read { .. }) => {
                if self.arvalid.get_bit() && self.arready.get_bit() {
                    self.addr_done = true;
                }
                if self.rvalid.get_bit() && self.addr_done {
                    self.result = Some((self.rresp.get() as u8, self.rdata.get() as u32));
                    self.current = None;
                }
            }
            None => {}
        }
    }
}

// ---------------------------------------------------------------------- AXI4 slave: host memory

/// Timing of the host-memory slave.
#[derive(Clone, Debug)]
pub struct MemConfig {
    /// Cycles from a read request's acceptance to its first data beat (PCIe round trip: ~250).
    pub read_latency: u64,
    /// Cycles from a write burst's last beat to its response.
    pub write_latency: u64,
    /// Probability that any ready/valid of the slave is held low in a cycle (random stalls).
    pub stall: f64,
    pub seed: u64,
    /// Outstanding bursts accepted per direction.
    pub max_outstanding: usize,
    /// Flag DMA reads of memory never allocated with `alloc`.
    pub check_reads: bool,
}

impl Default for MemConfig {
    fn default() -> Self {
        MemConfig { read_latency: 16, write_latency: 4, stall: 0.0, seed: 1, max_outstanding: 16, check_reads: true }
    }
}

/// A write data beat, held until its burst's address has arrived.
struct WBeat {
    data: [u8; 64],
    strb: u64,
    last: bool,
    cycle: u64,
}

/// Write data beats the slave buffers ahead of their address.
const WBUF_BEATS: usize = 256;

/// AXI response "slave error".
const SLVERR: u8 = 2;

struct Burst {
    /// an injected fault hit one of its beats
    err: bool,
    id: u8,
    addr: u64,
    beats: u64,
    size: u32,
    next: u64,
    /// read: first beat not before this cycle; write: cycle of the first beat
    cycle: u64,
}

impl Burst {
    /// Address of beat `n` (AXI INCR).
    fn beat_addr(&self, n: u64) -> u64 {
        if n == 0 {
            self.addr
        } else {
            (self.addr & !((1u64 << self.size) - 1)) + (n << self.size)
        }
    }
}

pub(crate) struct AxiSlave {
    awid: Sig,
    awaddr: Sig,
    awlen: Sig,
    awsize: Sig,
    awburst: Sig,
    awvalid: Sig,
    awready: Sig,
    wdata: Sig,
    wstrb: Sig,
    wlast: Sig,
    wvalid: Sig,
    wready: Sig,
    bid: Sig,
    bresp: Sig,
    bvalid: Sig,
    bready: Sig,
    arid: Sig,
    araddr: Sig,
    arlen: Sig,
    arsize: Sig,
    arburst: Sig,
    arvalid: Sig,
    arready: Sig,
    rid: Sig,
    rdata: Sig,
    rresp: Sig,
    rlast: Sig,
    rvalid: Sig,
    rready: Sig,
    pub cfg: MemConfig,
    rng: Rng,
    writes: VecDeque<Burst>,
    wbuf: VecDeque<WBeat>,
    b_held: bool,
    r_held: bool,
    /// a master's valid seen without ready last cycle, with its payload (must not change)
    aw_wait: Option<(u64, u64, u64, u64, u64)>,
    ar_wait: Option<(u64, u64, u64, u64, u64)>,
    w_wait: Option<([u8; 64], u64, bool)>,
    wfirst: bool,
    /// (id, cycle the response may go, resp)
    bq: VecDeque<(u8, u64, u8)>,
    reads: VecDeque<Burst>,
    pub write_bytes: u64,
    pub read_bytes: u64,
    pub write_bursts: u64,
    pub read_bursts: u64,
}

impl AxiSlave {
    pub fn new(m: &mut Model, cfg: MemConfig, missing: &mut Vec<String>) -> Self {
        let mut p = |n: &str, w: u32, out: bool| m.port_or_dummy(n, w, out, missing);
        AxiSlave {
            awid: p("m_axi_awid", 4, true),
            awaddr: p("m_axi_awaddr", 64, true),
            awlen: p("m_axi_awlen", 8, true),
            awsize: p("m_axi_awsize", 3, true),
            awburst: p("m_axi_awburst", 2, true),
            awvalid: p("m_axi_awvalid", 1, true),
            awready: p("m_axi_awready", 1, false),
            wdata: p("m_axi_wdata", 512, true),
            wstrb: p("m_axi_wstrb", 64, true),
            wlast: p("m_axi_wlast", 1, true),
            wvalid: p("m_axi_wvalid", 1, true),
            wready: p("m_axi_wready", 1, false),
            bid: p("m_axi_bid", 4, false),
            bresp: p("m_axi_bresp", 2, false),
            bvalid: p("m_axi_bvalid", 1, false),
            bready: p("m_axi_bready", 1, true),
            arid: p("m_axi_arid", 4, true),
            araddr: p("m_axi_araddr", 64, true),
            arlen: p("m_axi_arlen", 8, true),
            arsize: p("m_axi_arsize", 3, true),
            arburst: p("m_axi_arburst", 2, true),
            arvalid: p("m_axi_arvalid", 1, true),
            arready: p("m_axi_arready", 1, false),
            rid: p("m_axi_rid", 4, false),
            rdata: p("m_axi_rdata", 512, false),
            rresp: p("m_axi_rresp", 2, false),
            rlast: p("m_axi_rlast", 1, false),
            rvalid: p("m_axi_rvalid", 1, false),
            rready: p("m_axi_rready", 1, true),
            rng: Rng::new(cfg.seed),
            cfg,
            writes: VecDeque::new(),
            wbuf: VecDeque::new(),
            b_held: false,
            r_held: false,
            aw_wait: None,
            ar_wait: None,
            w_wait: None,
            wfirst: true,
            bq: VecDeque::new(),
            reads: VecDeque::new(),
            write_bytes: 0,
            read_bytes: 0,
            write_bursts: 0,
            read_bursts: 0,
        }
    }

    pub fn reset(&mut self) {
        self.writes.clear();
        self.wbuf.clear();
        self.b_held = false;
        self.r_held = false;
        self.aw_wait = None;
        self.ar_wait = None;
        self.w_wait = None;
        self.bq.clear();
        self.reads.clear();
        self.wfirst = true;
    }

    pub fn idle(&self) -> bool {
        self.writes.is_empty() && self.wbuf.is_empty() && self.bq.is_empty() && self.reads.is_empty()
    }

    #[inline]
    fn go(&mut self) -> bool {
        !self.rng.chance(self.cfg.stall)
    }

    #[inline]
    pub fn drive(&mut self, cycle: u64, mem: &HostMemory) {
        let aw = self.writes.len() < self.cfg.max_outstanding && self.go();
        self.awready.set(aw as u64);
        let w = self.wbuf.len() < WBUF_BEATS && self.go();
        self.wready.set(w as u64);
        // a valid once raised stays up, with the same payload, until it is taken (AXI)
        let go = self.go() || self.b_held;
        match self.bq.front() {
            Some(&(id, at, resp)) if at <= cycle && go => {
                self.bvalid.set(1);
                self.bid.set(id as u64);
                self.bresp.set(resp as u64);
            }
            _ => self.bvalid.set(0),
        }
        let ar = self.reads.len() < self.cfg.max_outstanding && self.go();
        self.arready.set(ar as u64);
        let go = self.go() || self.r_held;
        match self.reads.front() {
            Some(r) if r.cycle <= cycle && go => {
                let mut line = [0u8; 64];
                let a = r.beat_addr(r.next);
                mem.read_line(a, &mut line);
                self.rdata.set_bytes(&line);
                self.rid.set(r.id as u64);
                self.rresp.set(if mem.faulty(a & !63, 64, false) { SLVERR } else { 0 } as u64);
                self.rlast.set((r.next + 1 == r.beats) as u64);
                self.rvalid.set(1);
            }
            _ => self.rvalid.set(0),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_burst(&mut self, write: bool, id: u8, addr: u64, len: u64, size: u32, burst: u64, cycle: u64, mem: &mut HostMemory) {
        let what = if write { "AW" } else { "AR" };
        if burst != 1 {
            mem.errors.push(SimError::Protocol { what: format!("{what} burst type {burst} (only INCR=1 is allowed) at {addr:#x}"), cycle });
        }
        if size > 6 {
            mem.errors.push(SimError::Protocol { what: format!("{what} size {size} wider than the 64-byte bus at {addr:#x}"), cycle });
        }
        let start = addr & !((1u64 << size.min(6)) - 1);
        let end = start + ((len + 1) << size.min(6)); // exclusive
        if end - start > 4096 || (start >> 12) != ((end - 1) >> 12) {
            mem.errors.push(SimError::Cross4K { write, addr, len: end - addr, cycle, id });
        }
        if !write && self.cfg.check_reads && !mem.is_allocated(addr, end - addr) {
            mem.errors.push(SimError::ReadUnallocated { addr, len: end - addr, cycle, id });
        }
    }

    fn apply_beat(&mut self, w: WBeat, mem: &mut HostMemory) {
        let cycle = w.cycle;
        let b = self.writes.front_mut().unwrap();
        if self.wfirst {
            b.cycle = cycle;
            self.wfirst = false;
        }
        let a = b.beat_addr(b.next);
        let mut strb = w.strb;
        // lanes this beat may carry: [a, aligned(a) + 2^size) within the 64-byte line
        let lo = (a & 63) as u32;
        let hi = ((a & !((1u64 << b.size) - 1)) & 63) as u32 + (1u32 << b.size);
        let allowed = keep_mask(hi as usize) & !keep_mask(lo as usize);
        if strb & !allowed != 0 {
            mem.errors.push(SimError::Protocol {
                what: format!("WSTRB {strb:#018x} outside the beat's lanes {lo}..{hi} (beat {} at {a:#x})", b.next),
                cycle,
            });
            strb &= allowed;
        }
        let (id, bcycle) = (b.id, b.cycle);
        if mem.faulty(a & !63, 64, true) {
            // an injected write error: the data is dropped and the burst answers SLVERR
            b.err = true;
        } else {
            mem.dma_write_line(a & !63, &w.data, strb, cycle, id, bcycle);
            self.write_bytes += strb.count_ones() as u64;
        }
        b.next += 1;
        let last = b.next == b.beats;
        if w.last != last {
            mem.errors.push(SimError::Protocol {
                what: format!("WLAST={} on beat {} of a {}-beat burst at {:#x}", w.last as u8, b.next - 1, b.beats, b.addr),
                cycle,
            });
        }
        if last || w.last {
            let resp = if b.err { SLVERR } else { 0 };
            self.bq.push_back((id, cycle + self.cfg.write_latency, resp));
            self.writes.pop_front();
            self.wfirst = true;
        }
    }

    /// AXI: once a master raises valid it keeps it, and the payload, until ready.
    fn check_stable(&mut self, cycle: u64, mem: &mut HostMemory) {
        let aw = (self.awid.get(), self.awaddr.get(), self.awlen.get(), self.awsize.get(), self.awburst.get());
        if let Some(prev) = self.aw_wait {
            if !self.awvalid.get_bit() || aw != prev {
                mem.errors.push(SimError::Protocol { what: format!("AWVALID dropped or AW changed before AWREADY (was id/addr/len/size/burst {prev:x?})"), cycle });
            }
        }
        self.aw_wait = (self.awvalid.get_bit() && !self.awready.get_bit()).then_some(aw);
        let ar = (self.arid.get(), self.araddr.get(), self.arlen.get(), self.arsize.get(), self.arburst.get());
        if let Some(prev) = self.ar_wait {
            if !self.arvalid.get_bit() || ar != prev {
                mem.errors.push(SimError::Protocol { what: format!("ARVALID dropped or AR changed before ARREADY (was id/addr/len/size/burst {prev:x?})"), cycle });
            }
        }
        self.ar_wait = (self.arvalid.get_bit() && !self.arready.get_bit()).then_some(ar);
        if self.wvalid.get_bit() && !self.wready.get_bit() || self.w_wait.is_some() {
            let mut data = [0u8; 64];
            self.wdata.get_bytes(&mut data);
            let w = (data, self.wstrb.get(), self.wlast.get_bit());
            if let Some(prev) = self.w_wait {
                if !self.wvalid.get_bit() || w != prev {
                    mem.errors.push(SimError::Protocol { what: "WVALID dropped or W changed before WREADY".into(), cycle });
                }
            }
            self.w_wait = (self.wvalid.get_bit() && !self.wready.get_bit()).then_some(w);
        }
    }

    #[inline]
    pub fn sample(&mut self, cycle: u64, mem: &mut HostMemory) {
        self.check_stable(cycle, mem);
        if self.awvalid.get_bit() && self.awready.get_bit() {
            let (id, addr, len, size, burst) =
                (self.awid.get() as u8, self.awaddr.get(), self.awlen.get(), self.awsize.get() as u32, self.awburst.get());
            self.check_burst(true, id, addr, len, size, burst, cycle, mem);
            self.writes.push_back(Burst { err: false, id, addr, beats: len + 1, size: size.min(6), next: 0, cycle });
            self.write_bursts += 1;
        }
        if self.wvalid.get_bit() && self.wready.get_bit() {
            let mut data = [0u8; 64];
            self.wdata.get_bytes(&mut data);
            self.wbuf.push_back(WBeat { data, strb: self.wstrb.get(), last: self.wlast.get_bit(), cycle });
        }
        // write data may come before, with or after its address
        while !self.writes.is_empty() && !self.wbuf.is_empty() {
            let beat = self.wbuf.pop_front().unwrap();
            self.apply_beat(beat, mem);
        }
        self.b_held = self.bvalid.get_bit() && !self.bready.get_bit();
        if self.bvalid.get_bit() && self.bready.get_bit() {
            self.bq.pop_front();
        }
        if self.arvalid.get_bit() && self.arready.get_bit() {
            let (id, addr, len, size, burst) =
                (self.arid.get() as u8, self.araddr.get(), self.arlen.get(), self.arsize.get() as u32, self.arburst.get());
            self.check_burst(false, id, addr, len, size, burst, cycle, mem);
            let size = size.min(6);
            self.read_bytes += ((addr & !((1u64 << size) - 1)) + ((len + 1) << size)) - addr;
            self.reads.push_back(Burst { err: false, id, addr, beats: len + 1, size, next: 0, cycle: cycle + self.cfg.read_latency });
            self.read_bursts += 1;
        }
        self.r_held = self.rvalid.get_bit() && !self.rready.get_bit();
        if self.rvalid.get_bit() && self.rready.get_bit() {
            let r = self.reads.front_mut().unwrap();
            r.next += 1;
            if r.next == r.beats {
                self.reads.pop_front();
            }
        }
    }
}

// ---------------------------------------------------------------------- AXI-Stream source (MAC rx)

pub(crate) struct RxFrame {
    pub data: Vec<u8>,
    pub bad: bool,
}

pub(crate) struct AxisSource {
    tdata: Sig,
    tkeep: Sig,
    tvalid: Sig,
    tlast: Sig,
    tuser: Sig,
    pub queue: VecDeque<RxFrame>,
    pos: usize,
    gap_left: u64,
    /// idle cycles between frames
    pub gap: u64,
    /// line rate in Gbit/s at 250 MHz (0: none); see `NicConfig::rx_line_gbps`
    pub line_gbps: u64,
    pub frames: u64,
    pub bytes: u64,
    pub beats: u64,
    last_driven: bool,
}

impl AxisSource {
    pub fn new(m: &mut Model, missing: &mut Vec<String>) -> Self {
        let mut p = |n: &str, w: u32, out: bool| m.port_or_dummy(n, w, out, missing);
        AxisSource {
            tdata: p("s_axis_rx_tdata", 512, false),
            tkeep: p("s_axis_rx_tkeep", 64, false),
            tvalid: p("s_axis_rx_tvalid", 1, false),
            tlast: p("s_axis_rx_tlast", 1, false),
            tuser: p("s_axis_rx_tuser", 1, false),
            queue: VecDeque::new(),
            pos: 0,
            gap_left: 0,
            gap: 0,
            line_gbps: 0,
            frames: 0,
            bytes: 0,
            beats: 0,
            last_driven: false,
        }
    }

    pub fn idle(&self) -> bool {
        self.queue.is_empty()
    }

    #[inline]
    pub fn drive(&mut self) {
        if self.gap_left > 0 {
            self.gap_left -= 1;
            self.tvalid.set(0);
            self.last_driven = false;
            return;
        }
        match self.queue.front() {
            Some(f) => {
                let n = (f.data.len() - self.pos).min(64);
                self.tdata.set_bytes(&f.data[self.pos..self.pos + n]);
                self.tkeep.set(keep_mask(n));
                let last = self.pos + n == f.data.len();
                self.tlast.set(last as u64);
                self.tuser.set((last && f.bad) as u64);
                self.tvalid.set(1);
                self.last_driven = true;
            }
            None => {
                self.tvalid.set(0);
                self.last_driven = false;
            }
        }
    }

    /// No backpressure: every driven beat is taken at the rising edge.
    #[inline]
    pub fn sample(&mut self) {
        if !self.last_driven {
            return;
        }
        let len = self.queue.front().unwrap().data.len();
        let n = (len - self.pos).min(64);
        self.pos += n;
        self.beats += 1;
        if self.pos == len {
            self.queue.pop_front();
            self.pos = 0;
            self.frames += 1;
            self.bytes += len as u64;
            self.gap_left = self.gap.max(line_gap(self.line_gbps, len));
        }
    }
}

/// Idle cycles after a frame of `len` bytes at `line_gbps` (0: none): its bytes plus preamble
/// and inter-frame gap (20) take `(len + 20) * 8 / (4 * line_gbps)` cycles at 250 MHz, of which
/// its beats took `len / 64`.
fn line_gap(line_gbps: u64, len: usize) -> u64 {
    if line_gbps == 0 {
        return 0;
    }
    let cycles = ((len as u64 + 20) * 8).div_ceil(4 * line_gbps);
    cycles.saturating_sub((len as u64).div_ceil(64))
}

#[cfg(test)]
mod line_rate_tests {
    use super::line_gap;

    /// A frame's beats plus its gap last as long as its bits on a 100 Gbit/s wire, within one
    /// 4 ns cycle; without a line rate frames follow back to back.
    #[test]
    fn frames_take_their_time_on_the_wire() {
        for len in [60usize, 64, 65, 128, 1514, 4000, 9014] {
            let cycles = (len as u64).div_ceil(64) + line_gap(100, len);
            let wire_ns = (len as f64 + 20.0) * 8.0 / 100.0;
            let port_ns = cycles as f64 * 4.0;
            assert!(port_ns >= wire_ns && port_ns < wire_ns + 4.0, "{len} bytes: {port_ns} ns on the port, {wire_ns} ns on the wire");
            assert_eq!(line_gap(0, len), 0);
        }
    }
}

// ---------------------------------------------------------------------- AXI-Stream sink (MAC tx)

/// When the MAC transmit port is ready.
#[derive(Clone, Debug)]
pub enum TxReady {
    Always,
    Never,
    /// Ready with probability `p` each cycle.
    Random { p: f64, seed: u64 },
}

/// A frame the NIC sent on its MAC transmit port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxFrame {
    pub data: Vec<u8>,
    /// TUSER on the last beat: the NIC aborted the frame.
    pub aborted: bool,
    /// Cycle of the last beat.
    pub cycle: u64,
}

pub(crate) struct AxisSink {
    tdata: Sig,
    tkeep: Sig,
    tvalid: Sig,
    tready: Sig,
    tlast: Sig,
    tuser: Sig,
    pub ready: TxReady,
    rng: Rng,
    cur: Vec<u8>,
    pub out: VecDeque<TxFrame>,
    pub frames: u64,
    pub bytes: u64,
    wait: Option<([u8; 64], u64, bool, bool)>,
}

impl AxisSink {
    pub fn new(m: &mut Model, missing: &mut Vec<String>) -> Self {
        let mut p = |n: &str, w: u32, out: bool| m.port_or_dummy(n, w, out, missing);
        AxisSink {
            tdata: p("m_axis_tx_tdata", 512, true),
            tkeep: p("m_axis_tx_tkeep", 64, true),
            tvalid: p("m_axis_tx_tvalid", 1, true),
            tready: p("m_axis_tx_tready", 1, false),
            tlast: p("m_axis_tx_tlast", 1, true),
            tuser: p("m_axis_tx_tuser", 1, true),
            ready: TxReady::Always,
            rng: Rng::new(7),
            cur: Vec::new(),
            out: VecDeque::new(),
            frames: 0,
            bytes: 0,
            wait: None,
        }
    }

    pub fn set_ready(&mut self, r: TxReady) {
        if let TxReady::Random { seed, .. } = r {
            self.rng = Rng::new(seed);
        }
        self.ready = r;
    }

    #[inline]
    pub fn drive(&mut self) {
        let r = match self.ready {
            TxReady::Always => true,
            TxReady::Never => false,
            TxReady::Random { p, .. } => self.rng.chance(p),
        };
        self.tready.set(r as u64);
    }

    #[inline]
    pub fn sample(&mut self, cycle: u64, errors: &mut Vec<SimError>) {
        // AXI-Stream: a beat offered without TREADY stays, unchanged, until taken
        if self.wait.is_some() || (self.tvalid.get_bit() && !self.tready.get_bit()) {
            let mut d = [0u8; 64];
            self.tdata.get_bytes(&mut d);
            let beat = (d, self.tkeep.get(), self.tlast.get_bit(), self.tuser.get_bit());
            if let Some(prev) = self.wait {
                if !self.tvalid.get_bit() || beat != prev {
                    errors.push(SimError::Protocol { what: "m_axis_tx TVALID dropped or the beat changed before TREADY".into(), cycle });
                }
            }
            self.wait = (self.tvalid.get_bit() && !self.tready.get_bit()).then_some(beat);
        }
        if !(self.tvalid.get_bit() && self.tready.get_bit()) {
            return;
        }
        let keep = self.tkeep.get();
        let n = keep.trailing_ones() as usize;
        let last = self.tlast.get_bit();
        if keep != keep_mask(n) || n == 0 || (!last && n != 64) {
            errors.push(SimError::Protocol {
                what: format!("m_axis_tx TKEEP {keep:#018x} (last={}) is not contiguous from lane 0 / not full", last as u8),
                cycle,
            });
        }
        let mut beat = [0u8; 64];
        self.tdata.get_bytes(&mut beat);
        self.cur.extend_from_slice(&beat[..n]);
        if last {
            self.frames += 1;
            self.bytes += self.cur.len() as u64;
            self.out.push_back(TxFrame { data: std::mem::take(&mut self.cur), aborted: self.tuser.get_bit(), cycle });
        }
    }
}
