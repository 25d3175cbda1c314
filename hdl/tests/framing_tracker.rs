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
use ddpnic_hdl::framing::tracker::{self, STREAM_SPAN};
use ddpnic_hdl::placement::cosim::{words, CoSim};
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
}

/// Input values of one cycle, by port name.
struct Drive {
    names: HashMap<String, usize>,
    values: Vec<Vec<u64>>,
}

impl Drive {
    fn new() -> Self {
        let ports = tracker::inputs();
        Self { names: ports.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect(), values: ports.iter().map(|(_, w)| vec![0; words(*w)]).collect() }
    }
    fn idle(&mut self) {
        self.values.iter_mut().for_each(|v| v.iter_mut().for_each(|w| *w = 0));
    }
    fn set(&mut self, name: &str, v: u64) {
        let slot = &mut self.values[self.names[name]];
        slot.iter_mut().for_each(|w| *w = 0);
        slot[0] = v;
    }
    fn set_bytes(&mut self, name: &str, bytes: &[u8]) {
        let slot = &mut self.values[self.names[name]];
        slot.iter_mut().for_each(|w| *w = 0);
        for (i, b) in bytes.iter().enumerate() {
            slot[i / 8] |= u64::from(*b) << (8 * (i % 8));
        }
    }
}

/// Output values of one cycle, by port name.
struct Seen<'a> {
    names: &'a HashMap<String, usize>,
    values: Vec<Vec<u64>>,
}

impl Seen<'_> {
    fn get(&self, name: &str) -> u64 {
        self.values[self.names[name]][0]
    }
    fn bit(&self, name: &str) -> bool {
        self.get(name) & 1 == 1
    }
    fn bytes(&self, name: &str, n: usize) -> Vec<u8> {
        let v = &self.values[self.names[name]];
        (0..n).map(|i| (v[i / 8] >> (8 * (i % 8))) as u8).collect()
    }
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
            let set = hash(&f.tuple) & 1023;
            let way = ways.entry(set).or_default();
            f.id = (set as u16) << 2 | *way;
            *way += 1;
            f
        })
        .collect()
}

struct Stats {
    frames: usize,
    tracked: usize,
    beats: usize,
    runs: usize,
    completions: usize,
    losses: usize,
    cycles: u64,
}

fn run(seed: u64, faults: Faults, rounds: usize) -> Stats {
    let model_bin = tracker::build(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("pdu_tracker")).expect("Verilator builds pdu_tracker");
    let mut sim = CoSim::start(&model_bin).expect("the model starts");
    let out_names: HashMap<String, usize> = tracker::outputs().iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut drive = Drive::new();
    let mut sent: VecDeque<Sent> = VecDeque::new();
    let mut streams: VecDeque<(usize, Vec<TrackerBeat>)> = VecDeque::new();
    let mut stats = Stats { frames: 0, tracked: 0, beats: 0, runs: 0, completions: 0, losses: 0, cycles: 0 };
    // Frames and streams as they come out.
    let mut f_beats: Vec<u8> = Vec::new();
    let mut f_meta = None;
    let mut t_beats: Vec<(TrackerBeat, u16)> = Vec::new();
    let mut f_done_at: VecDeque<u64> = VecDeque::new();
    let mut frames_out = 0usize;

    let mut check = |seen: &Seen, cycle: u64, sent: &mut VecDeque<Sent>, streams: &mut VecDeque<(usize, Vec<TrackerBeat>)>, stats: &mut Stats| {
        if seen.bit("f_valid") {
            let keep = seen.get("f_keep");
            let n = keep.count_ones() as usize;
            assert_eq!(keep, if n == 64 { u64::MAX } else { (1 << n) - 1 }, "cycle {cycle}: keep is contiguous");
            f_beats.extend(seen.bytes("f_data", n));
            let meta = (seen.bit("f_meta_ip_csum_ok"), seen.bit("f_meta_tcp_csum_ok"), seen.bit("f_meta_flow_valid").then(|| seen.get("f_meta_flow") as u16), seen.bit("f_meta_tracked"));
            assert!(f_meta.is_none_or(|m| m == meta), "cycle {cycle}: metadata changes inside a frame");
            f_meta = Some(meta);
            if seen.bit("f_last") {
                let s = sent.pop_front().expect("a frame for every frame sent");
                assert_eq!(f_beats, s.bytes, "frame {frames_out}: bytes");
                assert_eq!(seen.bit("f_user"), s.fcs_bad, "frame {frames_out}: bad FCS flag");
                let (ip, tcp, flow, tracked) = meta;
                assert_eq!(tracked, s.verdict.tracked, "frame {frames_out}: tracked");
                if s.tcp {
                    assert_eq!((ip, tcp), (s.verdict.ip_csum_ok, s.verdict.tcp_csum_ok), "frame {frames_out}: checksum verdicts");
                    assert_eq!(flow, s.verdict.flow, "frame {frames_out}: flow");
                }
                if tracked {
                    streams.push_back((frames_out, s.verdict.stream.clone()));
                    f_done_at.push_back(cycle);
                }
                stats.frames += 1;
                frames_out += 1;
                f_beats.clear();
                f_meta = None;
            } else {
                assert!(!seen.bit("f_user"), "cycle {cycle}: bad FCS only on a last beat");
            }
        }
        if seen.bit("t_valid") {
            let len = seen.get("t_len") as usize;
            let cpl_valid = seen.get("t_cpl_valid");
            let cpl_cid = seen.get("t_cpl_cid");
            let beat = TrackerBeat {
                data: seen.bytes("t_data", len),
                frame_offset: seen.get("t_frame_offset") as u16,
                run: seen.bit("t_run_valid").then(|| ddpnic_hdl::receive_model::DataRun {
                    lane: seen.get("t_run_lane") as usize,
                    len: seen.get("t_run_len") as usize,
                    cid: seen.get("t_run_cid") as u16,
                    offset: seen.get("t_run_offset") as u32,
                }),
                second_run: seen.bit("t_run_second"),
                completions: (0..3).filter(|k| cpl_valid >> k & 1 == 1).map(|k| (cpl_cid >> (16 * k)) as u16).collect(),
                lost: seen.bit("t_lost"),
            };
            assert_eq!(seen.bit("t_first"), t_beats.is_empty(), "cycle {cycle}: first beat flag");
            t_beats.push((beat, seen.get("t_flow") as u16));
            assert!(!seen.bit("t_resync_valid") && !seen.bit("t_crc_ok"));
            if seen.bit("t_last") {
                let (frame_no, want) = streams.pop_front().expect("a stream for a tracked frame");
                let done = f_done_at.pop_front().unwrap();
                assert!(cycle <= done + STREAM_SPAN as u64, "frame {frame_no}: its stream ends {} cycles after the frame", cycle - done);
                assert_eq!(t_beats.len(), want.len(), "frame {frame_no}: stream beats");
                for (k, ((got, _flow), want)) in t_beats.iter().zip(&want).enumerate() {
                    let lo = if k == 0 { TAIL } else { 0 };
                    assert_eq!(got.data.len(), want.data.len(), "frame {frame_no} beat {k}: length");
                    assert_eq!(got.data[lo..], want.data[lo..], "frame {frame_no} beat {k}: stream bytes");
                    assert_eq!(got.frame_offset, want.frame_offset, "frame {frame_no} beat {k}: frame offset");
                    assert_eq!((got.run, got.second_run), (want.run, want.second_run), "frame {frame_no} beat {k}: data run");
                    assert_eq!(got.completions, want.completions, "frame {frame_no} beat {k}: completions");
                    assert_eq!(got.lost, want.lost, "frame {frame_no} beat {k}: sync lost");
                    stats.runs += usize::from(got.run.is_some());
                    stats.completions += got.completions.len();
                    stats.losses += usize::from(got.lost);
                }
                stats.tracked += 1;
                stats.beats += t_beats.len();
                t_beats.clear();
            }
        }
    };

    let mut step = |drive: &Drive, sim: &mut CoSim, sent: &mut VecDeque<Sent>, streams: &mut VecDeque<(usize, Vec<TrackerBeat>)>, stats: &mut Stats| -> bool {
        let values = sim.step(&drive.values);
        let seen = Seen { names: &out_names, values };
        check(&seen, sim.cycles, sent, streams, stats);
        seen.bit("c_flow_ready")
    };

    for round in 0..rounds {
        let flows = flows(&mut rng);
        let mut model = ReceiveModel::without_resync_search();
        // sk_add for every flow through the control port, one word per cycle.
        for f in &flows {
            assert!(model.add_flow(f.id, f.tuple, f.cfg, f.isn));
            drive.idle();
            drive.set("c_flow_valid", 1);
            drive.set("c_flow_add", 1);
            drive.set("c_flow_id", f.id.into());
            drive.set("c_flow_ipv6", f.tuple.ipv6.into());
            drive.set_bytes("c_flow_src_addr", &f.tuple.src_addr);
            drive.set_bytes("c_flow_dst_addr", &f.tuple.dst_addr);
            drive.set("c_flow_src_port", f.tuple.src_port.into());
            drive.set("c_flow_dst_port", f.tuple.dst_port.into());
            drive.set("c_flow_seq", f.isn.into());
            drive.set("c_flow_hdgst", f.cfg.hdgst.into());
            drive.set("c_flow_ddgst", f.cfg.ddgst.into());
            drive.set("c_flow_cpda", f.cfg.cpda.into());
            assert!(step(&drive, &mut sim, &mut sent, &mut streams, &mut stats), "round {round}: a flow write with no traffic is taken");
        }
        drive.idle();
        for (i, a) in interleaved(&mut rng, &flows, 64..=8948, faults) {
            let f = &flows[i];
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
                let beats: Vec<&[u8]> = bytes.chunks(W).collect();
                for (k, beat) in beats.iter().enumerate() {
                    let last = k + 1 == beats.len();
                    drive.idle();
                    drive.set("s_axis_rx_tvalid", 1);
                    drive.set_bytes("s_axis_rx_tdata", beat);
                    drive.set("s_axis_rx_tkeep", if beat.len() == 64 { u64::MAX } else { (1 << beat.len()) - 1 });
                    drive.set("s_axis_rx_tlast", last.into());
                    drive.set("s_axis_rx_tuser", (last && fcs_bad).into());
                    step(&drive, &mut sim, &mut sent, &mut streams, &mut stats);
                }
                sent.push_back(Sent { bytes, fcs_bad, tcp, verdict });
                drive.idle();
                if rng.gen_bool(0.3) {
                    for _ in 0..rng.gen_range(1..4) {
                        step(&drive, &mut sim, &mut sent, &mut streams, &mut stats);
                    }
                }
            }
        }
        // Drain, then sk_del every flow (the next round reuses slots).
        drive.idle();
        while !sent.is_empty() || !streams.is_empty() {
            step(&drive, &mut sim, &mut sent, &mut streams, &mut stats);
        }
        for f in &flows {
            drive.idle();
            drive.set("c_flow_valid", 1);
            drive.set("c_flow_id", f.id.into());
            assert!(step(&drive, &mut sim, &mut sent, &mut streams, &mut stats));
        }
    }
    stats.cycles = sim.cycles;
    eprintln!("pdu_tracker: {} frames, {} tracked, {} stream beats, {} runs, {} completions, {} losses, {} cycles", stats.frames, stats.tracked, stats.beats, stats.runs, stats.completions, stats.losses, stats.cycles);
    stats
}

#[test]
fn tracks_clean_traffic_like_the_model() {
    let s = run(1, Faults::default(), 1);
    assert!(s.tracked > 500 && s.runs > 2000 && s.completions > 50 && s.losses == 0, "{} frames, {} tracked, {} runs, {} completions, {} losses", s.frames, s.tracked, s.runs, s.completions, s.losses);
}

#[test]
fn tracks_faulty_traffic_like_the_model() {
    let s = run(2, Faults { drop: 0.01, reorder: 0.01, duplicate: 0.02 }, 1);
    assert!(s.tracked > 500 && s.losses > 0, "{} frames, {} tracked, {} runs, {} completions, {} losses", s.frames, s.tracked, s.runs, s.completions, s.losses);
}
