//! `ddpnic-hdl bench`: the placement unit's control cost and DMA throughput, measured on the
//! generated Verilog in Verilator (cycle counts, so the numbers hold at any clock; rates are
//! given at the 250 MHz core clock).
use super::cosim::{words, CoSim, Model};
use super::{top, PlacementParams, OP_ENTRY, OP_SETUP, OP_TEARDOWN};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

const CLOCK_HZ: f64 = 250e6;

/// Named access to the `placement` model's ports.
struct Bench {
    sim: CoSim,
    ins: HashMap<String, usize>,
    outs: HashMap<String, usize>,
    inputs: Vec<Vec<u64>>,
    last: Vec<Vec<u64>>,
    cycles: u64,
}

impl Bench {
    fn new(model: &Model) -> Result<Self, String> {
        let sim = CoSim::start(model)?;
        let ins = model.inputs.iter().enumerate().map(|(i, p)| (p.0.clone(), i)).collect();
        let outs = model.outputs.iter().enumerate().map(|(i, p)| (p.0.clone(), i)).collect();
        let inputs = model.inputs.iter().map(|p| vec![0; words(p.1)]).collect();
        let last = model.outputs.iter().map(|p| vec![0; words(p.1)]).collect();
        Ok(Self { sim, ins, outs, inputs, last, cycles: 0 })
    }
    fn set(&mut self, name: &str, v: u64) {
        self.inputs[self.ins[name]][0] = v;
    }
    fn get(&self, name: &str) -> u64 {
        self.last[self.outs[name]][0]
    }
    fn step(&mut self) {
        self.last = self.sim.step(&self.inputs);
        self.cycles += 1;
    }
    /// Presents control words back to back; returns when all are taken. Events are consumed.
    fn control(&mut self, words: &[[u64; 8]], events: &mut u64) {
        let names = ["s_ctrl_op", "s_ctrl_tag", "s_ctrl_flow", "s_ctrl_cid", "s_ctrl_base", "s_ctrl_count", "s_ctrl_addr", "s_ctrl_len"];
        self.set("m_event_ready", 1);
        let mut i = 0;
        while i < words.len() {
            for (n, v) in names.iter().zip(words[i]) {
                self.set(n, v);
            }
            self.set("s_ctrl_valid", 1);
            let taken = self.get("s_ctrl_ready") == 1;
            *events += self.get("m_event_valid");
            self.step();
            i += usize::from(taken);
        }
        self.set("s_ctrl_valid", 0);
    }
    fn wait_events(&mut self, events: &mut u64, want: u64) {
        while *events < want {
            *events += self.get("m_event_valid");
            self.step();
        }
    }
}

fn setup_words(tag: u64, base: u64, entries: usize, addr0: u64) -> Vec<[u64; 8]> {
    let mut w = vec![[OP_SETUP, tag, tag % 4096, tag & 0xFFFF, base, entries as u64, 0, 0]];
    for e in 0..entries {
        w.push([OP_ENTRY, 0, 0, 0, 0, 0, addr0 + 0x10_0000 * e as u64, 4096]);
    }
    w
}

/// Runs the benchmark and returns a printable report.
pub fn run(dir: &Path) -> Result<String, String> {
    let params = PlacementParams::default();
    let model = top::build(dir, &params)?;
    let mut r = String::new();
    let _ = writeln!(r, "placement bench (Verilator, {} MHz core clock, MPS {} B)\n", CLOCK_HZ / 1e6, params.mps);
    let _ = writeln!(r, "| SGL entries | cycles/setup | cycles/teardown (to teardown-done event) | setup+teardown per I/O | control capacity (I/O per s) | control share at 1M I/O/s |");
    let _ = writeln!(r, "|---:|---:|---:|---:|---:|---:|");
    let mut b = Bench::new(&model)?;
    let k = 64u64;
    let mut events = 0;
    for &n in &[1usize, 2, 4, 8, 32, 128, 256] {
        let words: Vec<[u64; 8]> = (0..k).flat_map(|t| setup_words(t, if n <= 16 { t * 16 } else { t * 256 }, n, 0x1_0000_0000 + t * 0x1000_0000)).collect();
        let (start, want) = (b.cycles, events + k);
        b.control(&words, &mut events);
        b.wait_events(&mut events, want);
        let setup = (b.cycles - start) as f64 / k as f64;
        let tear: Vec<[u64; 8]> = (0..k).map(|t| [OP_TEARDOWN, t, 0, 0, 0, 0, 0, 0]).collect();
        let (start, want) = (b.cycles, events + k);
        b.control(&tear, &mut events);
        b.wait_events(&mut events, want);
        let teardown = (b.cycles - start) as f64 / k as f64;
        let per_io = setup + teardown;
        let _ = writeln!(r, "| {n} | {setup:.1} | {teardown:.1} | {per_io:.1} | {:.1} M | {:.1} % |", CLOCK_HZ / per_io / 1e6, 100.0 * 1e6 * per_io / CLOCK_HZ);
    }

    // DMA: 8 tags of 64 x 4 KiB pages, data streamed in 1,448-byte packets (no header beats,
    // so every cycle carries a beat), tags switching every packet or every beat.
    let _ = writeln!(r, "\n| traffic | beats | offered bytes/cycle | placed bytes/cycle | Gbit/s at 250 MHz | DMA writes | mean write bytes | segments/beat |");
    let _ = writeln!(r, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let tags = 8u64;
    let pages = 64usize;
    let mut words = Vec::new();
    for t in 0..tags {
        let mut w = setup_words(100 + t, 4096 + t * 256, pages, 0x2_0000_0000 + t * 0x1000_0000);
        // Page-aligned pages except tag 7, whose buffer starts 16 bytes into a page.
        if t == 7 {
            for word in w.iter_mut().skip(1) {
                word[6] += 16;
            }
        }
        words.extend(w);
    }
    let want = events + tags;
    b.control(&words, &mut events);
    b.wait_events(&mut events, want);
    let total = (pages * 4096) as u64;
    for (pass, (label, switch_every_beat, lane_jitter)) in [("full beats, tag switch per 1,448 B packet", false, false), ("full beats, tag switch every beat", true, false), ("packets at random lanes, tag switch every beat", true, true)].into_iter().enumerate() {
        let mut offsets = vec![0u64; tags as usize];
        let (mut beats, mut offered, mut placed, mut writes, mut write_bytes, mut segs) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
        let start = b.cycles;
        let mut tag = 0u64;
        let mut in_packet = 0u64;
        let mut rng = 0x1234_5678u64;
        let mut drain = 0;
        while drain < 20 {
            let more = offsets.iter().any(|&o| o < total);
            if more {
                if switch_every_beat || in_packet >= 1448 {
                    tag = (tag + 1) % tags;
                    in_packet = 0;
                }
                while offsets[tag as usize] >= total {
                    tag = (tag + 1) % tags;
                }
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let lane = if lane_jitter { rng % 64 } else { 0 };
                let count = (64 - lane).min(total - offsets[tag as usize]).min(1448 - in_packet.min(1447));
                b.set("s_place_valid", 1);
                b.set("s_place_flow", (100 + tag) % 4096);
                b.set("s_place_tag", 100 + tag);
                b.set("s_place_gen", pass as u64 + 1);
                b.set("s_place_offset", offsets[tag as usize]);
                b.set("s_place_lane", lane);
                b.set("s_place_count", count);
                offsets[tag as usize] += count;
                in_packet += count;
                offered += count;
                beats += 1;
            } else {
                b.set("s_place_valid", 0);
                drain += 1;
            }
            b.step();
            if b.get("m_dma_valid") == 1 {
                let (sv, cnt, eop) = (b.get("m_dma_seg_valid"), b.get("m_dma_seg_count"), b.get("m_dma_seg_eop"));
                for s in 0..4 {
                    if sv >> s & 1 == 1 {
                        let c = cnt >> (7 * s) & 0x7f;
                        placed += c;
                        write_bytes += c;
                        segs += 1;
                        writes += eop >> s & 1;
                    }
                }
            }
        }
        let cycles = b.cycles - start - 20;
        let bpc = placed as f64 / cycles as f64;
        let _ = writeln!(r, "| {label} | {beats} | {:.1} | {bpc:.1} | {:.1} | {writes} | {:.0} | {:.2} |", offered as f64 / cycles as f64, bpc * 8.0 * CLOCK_HZ / 1e9, write_bytes as f64 / writes.max(1) as f64, segs as f64 / beats as f64);
        let tear: Vec<[u64; 8]> = (0..tags).map(|t| [OP_TEARDOWN, 100 + t, 0, 0, 0, 0, 0, 0]).collect();
        let want = events + tags;
        b.control(&tear, &mut events);
        b.wait_events(&mut events, want);
        let want = events + tags;
        b.control(&words, &mut events);
        b.wait_events(&mut events, want);
    }
    let _ = writeln!(r, "\nOne beat enters every cycle (no stalls exist); offered = data bytes in those beats, placed = bytes in DMA segments,");
    let _ = writeln!(r, "both over the same cycles. 64 B/cycle at 250 MHz = 128 Gbit/s.");
    Ok(r)
}
