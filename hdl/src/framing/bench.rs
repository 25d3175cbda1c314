//! The tracker's line rate in Verilator: frames of one size sent back to back (a beat every
//! cycle, no idle cycle between frames) through `pdu_tracker`, carrying one NVMe/TCP flow
//! whose PDUs are at most a given size, for mixes of 64- to 9,000-byte frames and 24-byte to
//! 1 MiB PDUs. The tracker never stalls, so its frames leave as they came: cycles per frame
//! equals ceil(frame bytes / 64), ratio 1.00. Also reported: how much of the C2HData payload
//! the streams present for placement. Used by `ddpnic-hdl bench` (JSON lines).
use super::pdu_rules::QueueConfig;
use super::tracker::TrackerSim;
use crate::testbench::nvme_traffic::{flow, frame};
use crate::framing::reference::ByteRole;
use rand::{rngs::SmallRng, SeedableRng};
use std::path::Path;

/// Ethernet + IPv4 + TCP headers of the bench's frames.
const HEADERS: usize = 54;
const W: usize = 64;

#[derive(Clone, Debug)]
pub struct TrackerRate {
    pub frame_bytes: usize,
    pub max_pdu_bytes: usize,
    pub frames: usize,
    /// ceil(frame bytes / 64), summed: the MAC's beats.
    pub beats: usize,
    /// From the first frame beat out to the last.
    pub cycles: u64,
    pub data_bytes: usize,
    /// C2HData bytes presented for placement.
    pub run_bytes: usize,
}

impl TrackerRate {
    pub fn json(&self) -> String {
        format!(
            "{{\"bench\": \"pdu_tracker_line_rate\", \"frame_bytes\": {}, \"max_pdu_bytes\": {}, \"frames\": {}, \"cycles_per_frame\": {:.2}, \"beats_per_frame\": {:.2}, \"ratio\": {:.3}, \"data_presented\": {:.4}}}",
            self.frame_bytes,
            self.max_pdu_bytes,
            self.frames,
            self.cycles as f64 / self.frames as f64,
            self.beats as f64 / self.frames as f64,
            self.cycles as f64 / self.beats as f64,
            self.run_bytes as f64 / self.data_bytes.max(1) as f64
        )
    }
}

/// What left the tracker so far.
#[derive(Default)]
struct Output {
    first: Option<u64>,
    last: u64,
    frames: usize,
}

impl Output {
    fn observe(&mut self, t: &TrackerSim, rate: &mut TrackerRate) {
        if t.bit("f_valid") {
            self.first.get_or_insert(t.cycles());
            self.last = t.cycles();
            self.frames += usize::from(t.bit("f_last"));
        }
        if let Some(beat) = t.stream_beat() {
            rate.run_bytes += beat.run.map_or(0, |r| r.len);
        }
    }
}

/// One mix: `frames` frames of `frame_bytes` carrying PDUs of up to `max_pdu_bytes`.
fn mix(t: &mut TrackerSim, seed: u64, frame_bytes: usize, max_pdu_bytes: usize, frames: usize) -> TrackerRate {
    let mut rng = SmallRng::seed_from_u64(seed);
    let cfg = QueueConfig { hdgst: false, ddgst: true, cpda: 0 };
    let payload = frame_bytes - HEADERS;
    let max_data = max_pdu_bytes.saturating_sub(cfg.data_pdo() + cfg.ddgst_len()).max(1) as u32;
    // PDUs average about half the largest: twice as many as the frames need.
    let pdus = (2 * payload * frames / max_pdu_bytes).clamp(4, 40_000);
    let mut f = flow(&mut rng, (seed % 4096) as u16, &cfg, false, pdus, max_data);
    f.id = (crate::flow::toeplitz::hash(&f.tuple) & 1023) as u16 * 4;
    assert!(t.add_flow(f.id, &f.tuple, &f.cfg, f.isn), "the control port takes the flow");
    let frames = frames.min(f.stream.bytes.len() / payload);
    let mut rate = TrackerRate { frame_bytes, max_pdu_bytes, frames, beats: 0, cycles: 0, data_bytes: 0, run_bytes: 0 };
    let mut out = Output::default();
    for k in 0..frames {
        let (start, end) = (k * payload, (k + 1) * payload);
        rate.data_bytes += f.stream.truth[start..end].iter().filter(|b| matches!(b.role, ByteRole::Data { .. })).count();
        let bytes = frame(&f, f.isn.wrapping_add(start as u32), start, end);
        assert_eq!(bytes.len(), frame_bytes);
        rate.beats += frame_bytes.div_ceil(W);
        for b in 0..frame_bytes.div_ceil(W) {
            t.mac_beat(&bytes, b, false);
            t.step();
            out.observe(t, &mut rate);
        }
    }
    t.idle();
    while out.frames < frames || t.bit("t_valid") {
        t.step();
        out.observe(t, &mut rate);
    }
    for _ in 0..super::tracker::STREAM_SPAN {
        t.step();
        out.observe(t, &mut rate);
    }
    rate.cycles = out.last - out.first.expect("frames came out") + 1;
    // sk_del, so the next mix may take the slot.
    t.set("c_flow_valid", 1);
    t.set("c_flow_id", f.id.into());
    t.step();
    t.idle();
    rate
}

/// Every mix, as JSON lines.
pub fn run(dir: &Path) -> Result<String, String> {
    let mut t = TrackerSim::start(dir)?;
    let mut out = String::new();
    let mut seed = 1;
    for frame_bytes in [64, 128, 256, 1514, 4096, 9000] {
        for max_pdu_bytes in [24, 512, 4096, 65_536, 1 << 20] {
            let frames = (400_000 / frame_bytes).clamp(40, 2000);
            let rate = mix(&mut t, seed, frame_bytes, max_pdu_bytes, frames);
            seed += 1;
            out.push_str(&rate.json());
            out.push('\n');
        }
    }
    Ok(out)
}
