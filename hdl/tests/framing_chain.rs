//! The tracker's front half wired together: real frames (etherparse) of interleaved NVMe/TCP
//! flows, with drops, reordering and duplicates, through `PduSeqGate` -> `PduStreamAligner` ->
//! `PduTailStore` (rust-hdl models, cycle by cycle), then the lane rules and the walk per
//! stream beat. Every PDU header of every flow is found at its flow position, once, headers cut
//! by packet ends included, until the flow's first gap (from where the flow searches and
//! walks in shadow: nothing is offloaded without a confirmation), and nothing else is
//! ever reported in sync.
mod common;

use common::pdu_stream::{arrivals, pdu_stream, Faults};
use ddpnic_hdl::bytes::bits_from_lanes;
use ddpnic_hdl::framing::chain_walk::{walk_beat, FlowWalk, TAIL};
use ddpnic_hdl::framing::lane_decoder::PduLaneDecoder;
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::framing::seq_gate::PduSeqGate;
use ddpnic_hdl::framing::stream_aligner::PduStreamAligner;
use ddpnic_hdl::framing::stream_beat::StreamBeat;
use ddpnic_hdl::framing::tail_store::PduTailStore;
use ddpnic_hdl::read_stream_outputs;
use ddpnic_hdl::testbench::cycle;
use etherparse::PacketBuilder;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::Block;
use std::collections::{BTreeSet, HashMap, VecDeque};

const W: usize = 64;

struct Flow {
    id: u16,
    cfg: QueueConfig,
    bytes: Vec<u8>,
    starts: Vec<usize>,
    isn: u32,
}

/// One frame on the MAC port: beats, and what the parser and flow table would say.
struct Frame {
    beats: Vec<Vec<u8>>,
    flow: usize,
    seq: u32,
    start: usize,
    len: usize,
}

fn frame(f: &Flow, k: usize, seq: u32, from: usize, to: usize, rng: &mut SmallRng) -> Frame {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let b = if rng.gen_bool(0.5) { b.ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64) } else { b.ipv6([1; 16], [2; 16], 64) };
    let b = b.tcp(4420, 40_000 + f.id, seq, 65535).ack(1);
    let payload = &f.bytes[from..to];
    let mut bytes = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut bytes, payload).unwrap();
    let start = bytes.len() - payload.len();
    bytes.resize(bytes.len().max(60), 0);
    let beats = bytes.chunks(W).map(|c| c.iter().copied().chain(std::iter::repeat(0)).take(W).collect()).collect();
    Frame { beats, flow: k, seq, start, len: payload.len() }
}

#[test]
fn the_front_half_finds_every_header_of_every_flow() {
    let mut rng = SmallRng::seed_from_u64(5);
    let cfgs = [QueueConfig::default(), QueueConfig { hdgst: true, ddgst: true, cpda: 0 }, QueueConfig { hdgst: false, ddgst: true, cpda: 3 }, QueueConfig::default()];
    let flows: Vec<Flow> = cfgs
        .iter()
        .enumerate()
        .map(|(i, cfg)| {
            let s = pdu_stream(&mut rng, cfg, 400, [40, 600, 5000, 200][i], false);
            let starts = (0..s.bytes.len()).filter(|&b| s.truth[b].pdu_start).collect();
            Flow { id: 1000 + i as u16, cfg: *cfg, bytes: s.bytes, starts, isn: rng.gen() }
        })
        .collect();
    // Segments per flow (flow 3 loses some, late copies arrive), interleaved at random.
    let mut queues: Vec<VecDeque<_>> = flows
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let faults = if i == 3 { Faults { drop: 0.02, reorder: 0.02, duplicate: 0.02 } } else { Faults::default() };
            let mss = rng.gen_range(100..=1460);
            arrivals(&mut rng, f.isn, f.bytes.len(), mss, faults).into()
        })
        .collect();
    let mut frames = Vec::new();
    // The first missing byte of each flow: nothing from 23 bytes before it on is walked.
    let mut expected_end: Vec<usize> = flows.iter().map(|f| f.bytes.len()).collect();
    let mut next: Vec<usize> = vec![0; flows.len()];
    while queues.iter().any(|q| !q.is_empty()) {
        let k = rng.gen_range(0..flows.len());
        let Some(a) = queues[k].pop_front() else { continue };
        if a.start > next[k] && expected_end[k] == flows[k].bytes.len() {
            expected_end[k] = next[k].saturating_sub(TAIL);
        }
        next[k] = next[k].max(a.end);
        frames.push(frame(&flows[k], k, a.seq, a.start, a.end, &mut rng));
    }

    // Cycle by cycle through the three blocks.
    let mut gate = PduSeqGate::new();
    let mut aligner = PduStreamAligner::new();
    let mut tails = PduTailStore::new();
    gate.connect_all();
    aligner.connect_all();
    tails.connect_all();
    let mut inputs: VecDeque<(Vec<u8>, Option<&Frame>)> = frames.iter().flat_map(|f| f.beats.iter().enumerate().map(move |(b, d)| (d.clone(), (b == 0).then_some(f)))).collect();
    // Per streamed frame, in order: its flow and where its stream starts in the flow's bytes.
    let mut streamed: VecDeque<(usize, usize)> = VecDeque::new();
    let mut gate_frames = 0;
    let mut adds: VecDeque<usize> = (0..flows.len()).collect();
    let mut stream_beats: Vec<StreamBeat> = Vec::new();
    let mut idle = 0;
    while idle < 20 {
        // The flows are added first, through the control port.
        if let Some(&k) = adds.front() {
            gate.c_valid.next = true;
            gate.c_add.next = true;
            gate.c_flow.next = u64::from(flows[k].id).into();
            gate.c_seq.next = u64::from(flows[k].isn).into();
            gate.s_valid.next = false;
            adds.pop_front();
        } else {
            gate.c_valid.next = false;
            match inputs.pop_front() {
                Some((data, head)) => {
                    gate.s_valid.next = true;
                    gate.s_data.next = bits_from_lanes(&data);
                    gate.s_sof.next = head.is_some();
                    if let Some(f) = head {
                        gate.s_flow_valid.next = true;
                        gate.s_flow.next = u64::from(flows[f.flow].id).into();
                        gate.s_offloadable.next = true;
                        gate.s_seq.next = u64::from(f.seq).into();
                        gate.s_payload_start.next = (f.start as u64).into();
                        gate.s_payload_len.next = (f.len as u64).into();
                    }
                }
                None => gate.s_valid.next = false,
            }
        }
        // Gate -> aligner -> tail store, each taking last cycle's outputs.
        aligner.s_valid.next = gate.m_valid.val();
        aligner.s_data.next = gate.m_data.val();
        aligner.s_sof.next = gate.m_sof.val();
        aligner.s_offload.next = gate.m_offload.val();
        aligner.s_payload_start.next = gate.m_start.val();
        aligner.s_payload_len.next = gate.m_len.val();
        aligner.s_flow.next = gate.m_flow.val();
        aligner.s_restart.next = gate.m_restart.val();
        aligner.s_lose.next = gate.m_lose.val();
        if gate.m_valid.val() && gate.m_sof.val() {
            let f = &frames[gate_frames];
            gate_frames += 1;
            if gate.m_offload.val() {
                // The stream's first new byte, as a flow position.
                let seen = gate.m_start.val().to_u64() as usize - f.start;
                let first_new = f.seq.wrapping_sub(flows[f.flow].isn) as usize + seen;
                streamed.push_back((f.flow, first_new));
            }
        }
        tails.s_valid.next = aligner.m_valid.val();
        tails.s_data.next = aligner.m_data.val();
        tails.s_first.next = aligner.m_first.val();
        tails.s_last.next = aligner.m_last.val();
        tails.s_len.next = aligner.m_len.val();
        tails.s_stop.next = aligner.m_stop.val();
        tails.s_flow.next = aligner.m_flow.val();
        tails.s_restart.next = aligner.m_restart.val();
        tails.s_lose.next = aligner.m_lose.val();
        if let Some(b) = read_stream_outputs!(tails) {
            stream_beats.push(b);
        }
        idle = if gate.s_valid.next || gate.m_valid.val() || aligner.m_valid.val() || tails.m_valid.val() || !adds.is_empty() { 0 } else { idle + 1 };
        cycle(&mut gate, |u| &mut u.clock);
        cycle(&mut aligner, |u| &mut u.clock);
        cycle(&mut tails, |u| &mut u.clock);
    }

    // The walk per flow over the streams, header lanes mapped back to flow positions.
    let mut found: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); flows.len()];
    let mut state: HashMap<usize, FlowWalk> = HashMap::new();
    let mut beats = stream_beats.iter().peekable();
    let mut walked_streams = 0;
    let mut stream_end: HashMap<usize, usize> = HashMap::new();
    while let Some(first) = beats.next() {
        let (k, first_new) = streamed.pop_front().expect("a stream for every streamed frame");
        let f = &flows[k];
        let mut stream: Vec<&StreamBeat> = vec![first];
        while !stream.last().unwrap().last {
            stream.push(beats.next().expect("streams end"));
        }
        assert!(first.first && u64::from(f.id) == first.flow);
        let walk = state.entry(k).or_insert_with(FlowWalk::default);
        *walk = walk.enter(first.restart.then_some(TAIL as u32), first.lose, None);
        let bytes: Vec<u8> = stream.iter().flat_map(|b| b.data[..b.len].to_vec()).collect();
        let from = first_new as isize - TAIL as isize;
        let want: Vec<u8> = (from..(first_new + bytes.len() - TAIL) as isize).map(|p| if p < 0 { 0 } else { f.bytes[p as usize] }).collect();
        // The new bytes are the flow's; the 23 before them are too when the stream continues
        // the flow's previous one (after a gap they are the bytes before the gap).
        let continues = stream_end.get(&k).is_none_or(|&end| end == first_new);
        assert!(bytes[TAIL..] == want[TAIL..] && (from < 0 || !continues || bytes[..TAIL] == want[..TAIL]), "flow {k}: the stream is the flow's bytes from {from}");
        stream_end.insert(k, first_new + bytes.len() - TAIL);
        for (j, b) in stream.iter().enumerate() {
            let next: Vec<u8> = stream.get(j + 1).map_or(vec![0; W], |n| n.data.clone());
            let (ok, plen) = PduLaneDecoder::<64, 512>::decode(&b.data, &next, &f.cfg);
            let step = walk_beat(&ok, &plen, *walk, b.stop);
            *walk = step.next;
            // Headers walked in shadow (after a loss, searching for resync) are not offloaded.
            for lane in step.headers.into_iter().filter(|_| !step.shadow) {
                assert!(found[k].insert(first_new + j * W + lane - TAIL), "flow {k}: a header reported twice");
            }
        }
        walked_streams += 1;
    }
    assert!(streamed.is_empty(), "every streamed frame came out");
    for (k, f) in flows.iter().enumerate() {
        let want: BTreeSet<usize> = f.starts.iter().copied().filter(|&s| s < expected_end[k]).collect();
        assert_eq!(found[k], want, "flow {k}: header positions");
    }
    let headers: usize = found.iter().map(|s| s.len()).sum();
    assert!(walked_streams > 300 && headers > 1000, "{walked_streams} streams, {headers} headers, {} frames, {} stream beats", frames.len(), stream_beats.len());
    assert!(expected_end[3] < flows[3].bytes.len() / 2, "flow 3 loses sync early (a drop)");
}
