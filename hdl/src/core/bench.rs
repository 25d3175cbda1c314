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
    build(dir, &verilog(&CoreParams::default()), false)
}

pub fn rx_line_rate(binary: &Path, len: usize) -> LineRate {
    let mut w = World::new(binary, 20);
    let (slot_base, cpl_base, size_log2) = (0x10_0000_0000u64, 0x20_0000_0000u64, 12u32);
    let slot_log2 = if len > 8192 { 14 } else if len > 4096 { 13 } else if len > 2048 { 12 } else { 11 };
    let n = 1u64 << size_log2;
    w.mem.writable.push((slot_base, n << slot_log2, "rx slots".into()));
    w.mem.writable.push((cpl_base, n * 64, "rx completions".into()));
    w.set("RX_SLOT_BASE_LO", slot_base as u32);
    w.set("RX_SLOT_BASE_HI", (slot_base >> 32) as u32);
    w.set("RX_CPL_BASE_LO", cpl_base as u32);
    w.set("RX_CPL_BASE_HI", (cpl_base >> 32) as u32);
    w.set("RX_SIZE_LOG2", size_log2);
    w.set("RX_SLOT_LOG2", slot_log2);
    w.set("RX_CTRL", 1);
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
                    cycles_per_frame: (last_cpl - start) as f64 / frames as f64,
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

/// JSON lines for frame sizes from 64 bytes to 9000.
pub fn run(dir: &Path) -> Result<String, String> {
    let bin = model(dir)?;
    Ok([64usize, 128, 256, 512, 1024, 1500, 4096, 9000].iter().map(|&len| rx_line_rate(&bin, len).json() + "\n").collect())
}
