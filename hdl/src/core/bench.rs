//! Line rate of the rx ring writer in Verilator: frames of one size paced as on a 100 GbE
//! wire (frame + 24 bytes of FCS, preamble and inter-frame gap; 0.02 cycles a byte at 250 MHz),
//! a host that keeps up (AXI always ready, a 4096-entry ring consumed as completions appear).
//! Used by `ddpnic-hdl bench` (JSON lines) and `tests/core_host.rs`.
use super::harness::{build, Rng, World};
use super::{verilog, CoreParams};
use ddpnic_regmap as rm;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct LineRate {
    pub frame_bytes: usize,
    pub frames: usize,
    pub dropped: u64,
    /// Cycles from the first beat to the last completion, per frame.
    pub cycles_per_frame: f64,
    /// The 100 GbE wire's cycles per frame.
    pub wire_cycles_per_frame: f64,
    /// ceil(bytes / 64): the MAC's beats per frame.
    pub beats_per_frame: usize,
}

impl LineRate {
    pub fn json(&self) -> String {
        format!(
            "{{\"bench\": \"core_rx_line_rate\", \"frame_bytes\": {}, \"frames\": {}, \"dropped\": {}, \"cycles_per_frame\": {:.2}, \"wire_cycles_per_frame\": {:.2}, \"beats_per_frame\": {}, \"line_rate\": {:.3}}}",
            self.frame_bytes,
            self.frames,
            self.dropped,
            self.cycles_per_frame,
            self.wire_cycles_per_frame,
            self.beats_per_frame,
            self.wire_cycles_per_frame / self.cycles_per_frame * (1.0 - self.dropped as f64 / self.frames as f64)
        )
    }
}

/// Builds the core model in `dir` (reused when unchanged).
pub fn model(dir: &Path) -> Result<PathBuf, String> {
    build(dir, &verilog(&CoreParams::default()), super::SidebandPorts::None)
}

/// Cycles per frame are measured in steady state: the core's fixed receive latency
/// (`RX_LATENCY`, the tracker and the join's delay) is taken off the span.
pub fn rx_line_rate(binary: &Path, len: usize) -> LineRate {
    let mut w = World::new(binary, 20);
    let (slot_base, cpl_base, size_log2) = (0x10_0000_0000u64, 0x20_0000_0000u64, 12u32);
    let slot_log2 = if len > 8192 { 14 } else if len > 4096 { 13 } else if len > 2048 { 12 } else { 11 };
    w.setup_rx_ring(slot_base, cpl_base, size_log2, slot_log2);
    let frames = (400_000 / len).clamp(100, 2000);
    let mut rng = Rng::new(len as u64);
    let mut owed = 0.0f64;
    for _ in 0..frames {
        let f: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        w.send_frame(&f, false);
        owed += (len + 24) as f64 * 0.02 - len.div_ceil(64) as f64;
        while owed >= 1.0 {
            w.rx_queue.push_back(Default::default());
            owed -= 1.0;
        }
    }
    let start = w.cycle;
    let (mut cons, mut last_cpl) = (0u16, start);
    let mut delivered = 0usize;
    loop {
        // Completions written so far (phase bit), handed back at once.
        loop {
            let raw = w.mem.read_bytes(rm::rx_cpl_addr(cpl_base, size_log2, cons), 64);
            if (raw[15] >> 7 == 1) != rm::phase(size_log2, cons) {
                break;
            }
            cons = cons.wrapping_add(1);
            delivered += 1;
            last_cpl = w.cycle;
        }
        if w.rx_queue.is_empty() {
            let dropped = w.counter("rx_drop_ring_full");
            if delivered as u64 + dropped == frames as u64 {
                return LineRate {
                    frame_bytes: len,
                    frames,
                    dropped,
                    cycles_per_frame: (last_cpl - start - super::RX_LATENCY as u64) as f64 / frames as f64,
                    wire_cycles_per_frame: (len + 24) as f64 * 0.02,
                    beats_per_frame: len.div_ceil(64),
                };
            }
            w.set("RX_CONS", cons as u32);
        } else {
            w.tick();
            if w.cycle % 64 == 0 {
                w.set("RX_CONS", cons as u32);
            }
        }
        assert!(w.cycle - start < 4_000_000, "rx line-rate run does not finish");
    }
}

/// Transmit: frames of `len` bytes posted 16 at a time, read latency `latency` cycles.
/// Returns cycles per frame.
pub fn tx_cycles_per_frame(binary: &Path, len: usize, latency: u64) -> f64 {
    let mut w = World::new(binary, 21);
    w.read_latency = latency;
    let (desc_base, cpl, bufs) = (0x4000_0000u64, 0x4100_0000u64, 0x5000_0000u64);
    w.mem.writable.push((cpl, 64, "tx completion record".into()));
    w.set("TX_DESC_BASE_LO", desc_base as u32);
    w.set("TX_CPL_ADDR_LO", cpl as u32);
    w.set("TX_SIZE_LOG2", 4);
    w.set("TX_CTRL", 1);
    for i in 0..16u64 {
        let addr = bufs + i * 0x4000;
        w.mem.write_bytes(addr, &vec![i as u8; len]);
        w.mem.write_bytes(desc_base + 16 * i, &rm::TxDesc { addr, len: len as u16 }.encode());
    }
    w.set("TX_PROD", 16);
    let start = w.cycle;
    while w.tx_frames.len() < 16 {
        w.tick();
        assert!(w.cycle - start < 1_000_000, "tx bench does not finish");
    }
    (w.cycle - start) as f64 / 16.0
}

/// JSON lines for frame sizes from 64 bytes to 9000.
pub fn run(dir: &Path) -> Result<String, String> {
    let bin = model(dir)?;
    let mut out: String = [64usize, 128, 256, 512, 1024, 1500, 4096, 9000].iter().map(|&len| rx_line_rate(&bin, len).json() + "\n").collect();
    for latency in [0u64, 200] {
        for len in [64usize, 1500, 9000] {
            let c = tx_cycles_per_frame(&bin, len, latency);
            out += &format!("{{\"bench\": \"core_tx\", \"frame_bytes\": {len}, \"read_latency_cycles\": {latency}, \"cycles_per_frame\": {c:.1}, \"gbit_s_at_250mhz\": {:.2}}}\n", len as f64 * 8.0 * 250e6 / c / 1e9);
        }
    }
    Ok(out)
}
