//! `pdu_tracker` (the generated Verilog, in Verilator) against the packet-level receive model
//! on real traffic: NVMe/TCP flows of IPv4 and IPv6 with every digest setting and PDU sizes
//! from tiny to large, cut at random MSS, interleaved, with drops, reordering, duplicates,
//! bad checksums, bad FCS, UDP and garbage frames among them. Every frame must come out on
//! `f_*` unchanged with the model's verdicts, and every tracked frame's stream on `t_*` must be
//! the model's `TrackerBeat`s: stream bytes, frame offsets, data runs (CID, data offset),
//! second runs, completions and sync losses, with zero mismatches.
mod common;

use common::nvme_traffic::{flow, frame, interleaved, Flow};
use common::pdu_stream::Faults;
use ddpnic_hdl::flow::toeplitz::hash;
use ddpnic_hdl::framing::chain_walk::TAIL;
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::framing::reference::ByteRole;
use ddpnic_hdl::framing::tracker::{TrackerSim, STREAM_SPAN};
use ddpnic_hdl::receive_model::{FrameVerdict, ReceiveModel, TrackerBeat};
use etherparse::PacketBuilder;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use std::collections::{HashMap, VecDeque};
use std::path::Path;

const W: usize = 64;

/// A frame put on the MAC port and what the model says of it.
struct Sent {
    bytes: Vec<u8>,
    fcs_bad: bool,
    /// etherparse reads it as TCP over IP (its checksum verdicts are comparable).
    tcp: bool,
    verdict: FrameVerdict,
    /// For messages: round, flow, sequence number, stream range.
    what: String,
}

/// A frame of another protocol, or random bytes.
fn junk(rng: &mut SmallRng) -> Vec<u8> {
    if rng.gen_bool(0.5) {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]).ipv4([10, 0, 0, 9], [10, 0, 0, 2], 64).udp(4420, 4420);
        let payload: Vec<u8> = (0..rng.gen_range(0..600)).map(|_| rng.gen()).collect();
        let mut out = Vec::new();
        b.write(&mut out, &payload).unwrap();
        out
    } else {
        (0..rng.gen_range(14..300)).map(|_| rng.gen()).collect()
    }
}

/// Flows with their flow-table slots (`{set, way}` from the RSS hash, as the driver places them).
fn flows(rng: &mut SmallRng) -> Vec<Flow> {
    let cfgs = [
        (QueueConfig::default(), 40),
        (QueueConfig { hdgst: true, ddgst: true, cpda: 0 }, 9000),
        (QueueConfig { hdgst: false, ddgst: true, cpda: 3 }, 300),
        (QueueConfig { hdgst: true, ddgst: false, cpda: 1 }, 2000),
        (QueueConfig::default(), 70_000),
        (QueueConfig { hdgst: false, ddgst: true, cpda: 0 }, 4096),
    ];
    let mut ways: HashMap<u32, u16> = HashMap::new();
    cfgs.iter()
        .enumerate()
        .map(|(i, (cfg, max))| {
            let mut f = flow(rng, 0, cfg, i % 2 == 1, 200, *max);
            // Some data bytes flipped: digests the tracker must catch (the receive model
            // computes every digest with the crc32c crate).
            if cfg.ddgst {
                let data: Vec<usize> = (0..f.stream.bytes.len()).filter(|&b| matches!(f.stream.truth[b].role, ByteRole::Data { .. })).collect();
                for _ in 0..data.len().div_ceil(20_000) {
                    f.stream.bytes[data[rng.gen_range(0..data.len())]] ^= 1 << rng.gen_range(0..8);
                }
            }
            let set = hash(&f.tuple) & 1023;
            let way = ways.entry(set).or_default();
            f.id = (set as u16) << 2 | *way;
            *way += 1;
            f
        })
        .collect()
}

#[derive(Debug, Default)]
struct Stats {
    frames: usize,
    tracked: usize,
    beats: usize,
    runs: usize,
    completions: usize,
    losses: usize,
    resyncs: usize,
    confirmed: usize,
    crc_ok: usize,
    crc_bad: usize,
}

/// Frames and streams as they leave the tracker, checked against what was sent.
struct Checker {
    sent: VecDeque<Sent>,
    /// Tracked frames whose streams are due: (frame number, expected beats, crc_ok, cycle of its
    /// last f beat).
    streams: VecDeque<(usize, Vec<TrackerBeat>, bool, u64)>,
    frame: Vec<u8>,
    meta: Option<(bool, bool, Option<u16>, bool)>,
    stream: Vec<TrackerBeat>,
    frames_out: usize,
    whats: VecDeque<String>,
    stats: Stats,
}

impl Checker {
    fn new() -> Self {
        Self { sent: VecDeque::new(), streams: VecDeque::new(), frame: Vec::new(), meta: None, stream: Vec::new(), frames_out: 0, whats: VecDeque::new(), stats: Stats::default() }
    }

    fn busy(&self) -> bool {
        !self.sent.is_empty() || !self.streams.is_empty()
    }

    /// Everything the tracker presented after the last edge.
    fn observe(&mut self, t: &TrackerSim) {
        let cycle = t.cycles();
        if t.bit("f_valid") {
            let keep = t.get("f_keep");
            let n = keep.count_ones() as usize;
            assert_eq!(keep, if n == 64 { u64::MAX } else { (1 << n) - 1 }, "cycle {cycle}: keep is contiguous");
            self.frame.extend(t.bytes("f_data", n));
            let meta = (t.bit("f_meta_ip_csum_ok"), t.bit("f_meta_tcp_csum_ok"), t.bit("f_meta_flow_valid").then(|| t.get("f_meta_flow") as u16), t.bit("f_meta_tracked"));
            assert!(self.meta.is_none_or(|m| m == meta), "cycle {cycle}: metadata changes inside a frame");
            self.meta = Some(meta);
            let n = self.frames_out;
            if t.bit("f_last") {
                let s = self.sent.pop_front().expect("a frame for every frame sent");
                assert_eq!(self.frame, s.bytes, "frame {n}: bytes");
                assert_eq!(t.bit("f_user"), s.fcs_bad, "frame {n}: bad FCS flag");
                let (ip, tcp, flow, tracked) = meta;
                assert_eq!(tracked, s.verdict.tracked, "frame {n}: tracked");
                if s.tcp {
                    assert_eq!((ip, tcp), (s.verdict.ip_csum_ok, s.verdict.tcp_csum_ok), "frame {n}: checksum verdicts");
                    assert_eq!(flow, s.verdict.flow, "frame {n}: flow");
                }
                if tracked {
                    self.streams.push_back((n, s.verdict.stream, s.verdict.crc_ok, cycle));
                    self.whats.push_back(s.what.clone());
                }
                self.stats.frames += 1;
                self.frames_out += 1;
                self.frame.clear();
                self.meta = None;
            } else {
                assert!(!t.bit("f_user"), "cycle {cycle}: bad FCS only on a last beat");
            }
        }
        if let Some(beat) = t.stream_beat() {
            assert_eq!(t.bit("t_first"), self.stream.is_empty(), "cycle {cycle}: first beat flag");
            assert!(t.bit("t_last") || !t.bit("t_crc_ok"), "cycle {cycle}: crc_ok only on a last beat");
            self.stream.push(beat);
            if t.bit("t_last") {
                let (n, want, crc_ok, done) = self.streams.pop_front().expect("a stream for a tracked frame");
                let what = self.whats.pop_front().unwrap();
                let n = format!("{n} ({what})");
                assert!(cycle <= done + STREAM_SPAN as u64, "frame {n}: its stream ends {} cycles after the frame", cycle - done);
                assert_eq!(self.stream.len(), want.len(), "frame {n}: stream beats");
                if self.stream.iter().zip(&want).any(|(g, w)| g.lost != w.lost || g.resync != w.resync) {
                    for (k, (g, w)) in self.stream.iter().zip(&want).enumerate() {
                        eprintln!(
                            "beat {k}: got lost {} resync {:?} run {:?} cpl {:?} | want lost {} resync {:?} run {:?} cpl {:?}\n  data {:02x?}",
                            g.lost, g.resync, g.run, g.completions, w.lost, w.resync, w.run, w.completions, g.data
                        );
                    }
                }
                for (k, (got, want)) in self.stream.iter().zip(&want).enumerate() {
                    let lo = if k == 0 { TAIL } else { 0 };
                    assert_eq!(got.data.len(), want.data.len(), "frame {n} beat {k}: length");
                    assert_eq!(got.data[lo..], want.data[lo..], "frame {n} beat {k}: stream bytes");
                    assert_eq!(got.frame_offset, want.frame_offset, "frame {n} beat {k}: frame offset");
                    assert_eq!((got.run, got.second_run), (want.run, want.second_run), "frame {n} beat {k}: data run");
                    assert_eq!(got.completions, want.completions, "frame {n} beat {k}: completions");
                    assert_eq!(got.lost, want.lost, "frame {n} beat {k}: sync lost");
                    assert_eq!(got.resync, want.resync, "frame {n} beat {k}: resync request");
                    assert_eq!(got.crc_bad, want.crc_bad, "frame {n} beat {k}: a followed data digest failed");
                    self.stats.crc_bad += usize::from(got.crc_bad);
                    self.stats.resyncs += usize::from(got.resync.is_some());
                    self.stats.runs += usize::from(got.run.is_some());
                    self.stats.completions += got.completions.len();
                    self.stats.losses += usize::from(got.lost);
                }
                assert_eq!(t.bit("t_crc_ok"), crc_ok, "frame {n}: crc_ok");
                self.stats.crc_ok += usize::from(crc_ok);
                self.stats.tracked += 1;
                self.stats.beats += self.stream.len();
                self.stream.clear();
            }
        }
    }
}

/// Rounds of traffic (new flows each round, deleted at its end) until `frames` frames went
/// through; each round clean or faulty, with small or large segments.
fn run(seed: u64, frames: usize, faulty: bool) -> Stats {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pdu_tracker");
    // The tests share one model directory: build it once at a time.
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let mut t = {
        let _one = BUILD.lock().unwrap_or_else(|e| e.into_inner());
        TrackerSim::start(&dir).expect("Verilator builds and starts pdu_tracker")
    };
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut c = Checker::new();
    let mut round = 0;
    while c.stats.frames < frames {
        let flows = flows(&mut rng);
        let mut model = ReceiveModel::new();
        for f in &flows {
            assert!(model.add_flow(f.id, f.tuple, f.cfg, f.isn));
            assert!(t.add_flow(f.id, &f.tuple, &f.cfg, f.isn), "round {round}: a flow write with no traffic is taken");
            c.observe(&t);
        }
        let faults = if faulty && round % 2 == 1 { Faults { drop: 0.01, reorder: 0.01, duplicate: 0.02 } } else { Faults::default() };
        let mss = if round % 3 == 0 { 64..=1460 } else { 64..=8948 };
        for (i, a) in interleaved(&mut rng, &flows, mss, faults) {
            let f = &flows[i];
            let what = format!("round {round}, flow {} ({:?}), seq {:#x}, bytes {}..{} of {}", f.id, f.cfg, a.seq, a.start, a.end, f.stream.bytes.len());
            let mut batch = vec![(frame(f, a.seq, a.start, a.end), false, true)];
            if rng.gen_bool(0.02) {
                let mut bad = batch[0].0.clone();
                let last = bad.len() - 1;
                bad[last] ^= 0x40;
                batch.insert(0, (bad, false, true));
            }
            if rng.gen_bool(0.01) {
                batch.insert(0, (batch[0].0.clone(), true, true));
            }
            if rng.gen_bool(0.02) {
                batch.insert(0, (junk(&mut rng), false, false));
            }
            for (bytes, fcs_bad, tcp) in batch {
                let verdict = model.frame(&bytes, fcs_bad);
                let request = verdict.resync_request.zip(verdict.flow);
                for k in 0..bytes.len().div_ceil(W) {
                    t.mac_beat(&bytes, k, fcs_bad);
                    t.step();
                    c.observe(&t);
                }
                c.sent.push_back(Sent { bytes, fcs_bad, tcp, verdict, what: what.clone() });
                t.idle();
                if let Some((seq, id)) = request {
                    // The host confirms once the request reached it, if a PDU starts there (as
                    // the flow's truth says), and sometimes sends a wrong number first.
                    while c.busy() {
                        t.step();
                        c.observe(&t);
                    }
                    let f = flows.iter().find(|f| f.id == id).expect("a request names an added flow");
                    let at = seq.wrapping_sub(f.isn) as usize;
                    if rng.gen_bool(0.3) {
                        assert!(!model.resync(id, seq.wrapping_add(1)), "a wrong number is not a confirmation");
                        t.confirm_resync(id, seq.wrapping_add(1));
                    }
                    if f.stream.truth.get(at).is_some_and(|b| b.pdu_start) {
                        assert!(model.resync(id, seq));
                        t.confirm_resync(id, seq);
                        c.stats.confirmed += 1;
                    }
                    c.observe(&t);
                }
                if rng.gen_bool(0.3) {
                    for _ in 0..rng.gen_range(1..4) {
                        t.step();
                        c.observe(&t);
                    }
                }
            }
        }
        // Drain, then sk_del every flow (a later round may reuse its slot).
        t.idle();
        while c.busy() {
            t.step();
            c.observe(&t);
        }
        for f in &flows {
            t.idle();
            t.set("c_flow_valid", 1);
            t.set("c_flow_id", f.id.into());
            assert!(t.bit("c_flow_ready"));
            t.step();
            c.observe(&t);
        }
        round += 1;
    }
    let s = c.stats;
    eprintln!("pdu_tracker: {} frames ({round} rounds), {} tracked, {} stream beats, {} runs, {} completions, {} losses, {} resync requests ({} confirmed), {} frames crc_ok, {} failed digests, {} cycles", s.frames, s.tracked, s.beats, s.runs, s.completions, s.losses, s.resyncs, s.confirmed, s.crc_ok, s.crc_bad, t.cycles());
    s
}

#[test]
fn tracks_clean_traffic_like_the_model() {
    let s = run(1, 3000, false);
    assert!(s.tracked > 2000 && s.runs > 20_000 && s.completions > 200 && s.losses == 0 && s.crc_ok > 1000 && s.crc_bad > 0, "{s:?}");
}

/// The CI run: at least 100,000 frames, half the rounds with faults.
#[test]
fn a_hundred_thousand_frames_match_the_model() {
    let s = run(2, 100_000, true);
    assert!(s.tracked > 50_000 && s.losses > 10 && s.resyncs > 10 && s.confirmed > 10 && s.crc_ok > 20_000 && s.crc_bad > 10, "{s:?}");
}
