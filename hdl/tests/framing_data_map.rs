//! `PduDataMap` against the packet-level receive model: real frames (etherparse) of interleaved
//! NVMe/TCP flows, tiny and large PDUs, CapsuleResps, both digests, drops, reordering,
//! duplicates and a header that breaks the rules, turned into tracker streams; the lane rules
//! and the walk (their own models) give the data map its inputs, and every stream beat it
//! presents (data run, CID, data offset, second run, completions, loss) must be the
//! `TrackerBeat` the receive model says. The same cycles are then replayed through the
//! generated Verilog.
mod common;

use common::nvme_traffic::{flow, frame, interleaved, Flow};
use common::pdu_stream::Faults;
use ddpnic_hdl::framing::chain_walk::{walk_beat, FlowWalk, WalkMode, TAIL};
use ddpnic_hdl::framing::data_map::{PduDataMap, INPUTS, NEXT_BYTES, OUTPUTS};
use ddpnic_hdl::framing::lane_decoder::PduLaneDecoder;
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::receive_model::{ReceiveModel, TrackerBeat};
use ddpnic_hdl::testbench::replay::{Cycle, Replay};
use ddpnic_hdl::testbench::{cycle, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::*;

const W: usize = 64;

/// One cycle's inputs, in `INPUTS` order.
type Inputs = Vec<BigUint>;

/// A stream beat and what the receive model expects of it.
struct Expected {
    flow: u16,
    beat: TrackerBeat,
}

/// What each flow's seq gate and walk would hold.
struct FlowState {
    expected_seq: u32,
    restart_pending: bool,
    walk: FlowWalk,
}

fn scenario(seed: u64, faults: Faults) -> (Vec<Option<Inputs>>, Vec<Expected>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let cfgs = [
        (QueueConfig::default(), 40),
        (QueueConfig { hdgst: true, ddgst: true, cpda: 0 }, 9000),
        (QueueConfig { hdgst: false, ddgst: true, cpda: 3 }, 300),
        (QueueConfig { hdgst: true, ddgst: false, cpda: 1 }, 2000),
        (QueueConfig::default(), 70_000),
    ];
    let mut flows: Vec<Flow> = cfgs.iter().enumerate().map(|(i, (cfg, max))| flow(&mut rng, 100 + i as u16, cfg, i % 2 == 0, 150, *max)).collect();
    // A header that breaks the rules (an unknown type) in flow 0, past its first quarter.
    let starts: Vec<usize> = (0..flows[0].stream.bytes.len()).filter(|&b| flows[0].stream.truth[b].pdu_start).collect();
    let broken = starts[rng.gen_range(starts.len() / 4..starts.len() / 2)];
    flows[0].stream.bytes[broken] = 0xEE;
    let mut model = ReceiveModel::new();
    let mut states: Vec<FlowState> = Vec::new();
    for f in &flows {
        assert!(model.add_flow(f.id, f.tuple, f.cfg, f.isn));
        states.push(FlowState { expected_seq: f.isn, restart_pending: true, walk: FlowWalk::default() });
    }
    let mut cycles: Vec<Option<Inputs>> = Vec::new();
    let mut expected = Vec::new();
    let big = |v: u64| BigUint::from(v);
    for (i, a) in interleaved(&mut rng, &flows, 1..=3000, faults) {
        let f = &flows[i];
        let bytes = frame(f, a.seq, a.start, a.end);
        let v = model.frame(&bytes, false);
        if !v.tracked {
            continue;
        }
        // The seq gate's decision, from TCP's rule.
        let st = &mut states[i];
        let gap = a.seq.wrapping_sub(st.expected_seq) as i32;
        let restart = gap <= 0 && st.restart_pending;
        st.restart_pending = false;
        let lose = gap > 0;
        let end = a.seq.wrapping_add((a.end - a.start) as u32);
        if end.wrapping_sub(st.expected_seq) as i32 > 0 {
            st.expected_seq = end;
        }
        let total: usize = v.stream.iter().map(|b| b.data.len()).sum();
        for (b, beat) in v.stream.iter().enumerate() {
            let mut data = beat.data.clone();
            data.resize(W, 0);
            let mut next = v.stream.get(b + 1).map_or(vec![0; W], |n| n.data.clone());
            next.resize(W, 0);
            let stop = (total.saturating_sub(TAIL) as i64 - (W * b) as i64).clamp(0, W as i64) as usize;
            let (ok, plen) = PduLaneDecoder::<64, 512>::decode(&data, &next, &f.cfg);
            let first = b == 0;
            if first {
                st.walk = st.walk.enter(restart.then_some(TAIL as u32), lose, None);
            }
            let searching = |w: &FlowWalk| matches!(w.mode, WalkMode::Search | WalkMode::SearchAfterGap);
            let dist = if searching(&st.walk) { 0 } else { st.walk.dist };
            let step = walk_beat(&ok, &plen, st.walk, stop);
            st.walk = step.next;
            st.walk.dist &= 0xFFFF_FFFF;
            let next_dist = if searching(&st.walk) { 0 } else { st.walk.dist };
            let lanes = step.headers.iter().enumerate().fold(0u64, |acc, (k, &l)| acc | (l as u64) << (6 * k));
            cycles.push(Some(vec![
                big(1),
                BigUint::from_bytes_le(&data),
                BigUint::from_bytes_le(&next[..NEXT_BYTES]),
                big(f.id.into()),
                big(first.into()),
                big(beat_is_last(b, &v.stream).into()),
                big(beat.data.len() as u64),
                big(stop as u64),
                big(restart.into()),
                big(lose.into()),
                big(beat.frame_offset.into()),
                big(f.cfg.ddgst.into()),
                big(f.cfg.data_pdo() as u64),
                big(step.lost.into()),
                big(step.shadow.into()),
                big(step.carried_shadow.into()),
                big(dist & 0xFFFF_FFFF),
                big(next_dist),
                big(lanes),
                big((1 << step.headers.len()) - 1),
            ]));
            expected.push(Expected { flow: f.id, beat: beat.clone() });
        }
        // Streams are contiguous; idle cycles fall between them.
        if rng.gen_bool(0.3) {
            cycles.extend(std::iter::repeat_n(None, rng.gen_range(1..=3)));
        }
    }
    (cycles, expected)
}

fn beat_is_last(b: usize, stream: &[TrackerBeat]) -> bool {
    b + 1 == stream.len()
}

/// Runs the model; returns every output cycle's values (`OUTPUTS` order) or None when idle.
fn drive(cycles: &[Option<Inputs>]) -> Vec<Option<Vec<BigUint>>> {
    let mut uut = PduDataMap::new();
    uut.connect_all();
    let mut out = Vec::new();
    for i in 0..cycles.len() + PduDataMap::LATENCY {
        let inputs = cycles.get(i).cloned().flatten();
        match &inputs {
            Some(v) => {
                uut.s_valid.next = true;
                uut.s_data.next = v[1].clone().into();
                uut.s_next.next = v[2].clone().into();
                uut.s_flow.next = v[3].clone().into();
                uut.s_first.next = v[4] == BigUint::from(1u8);
                uut.s_last.next = v[5] == BigUint::from(1u8);
                uut.s_len.next = v[6].clone().into();
                uut.s_stop.next = v[7].clone().into();
                uut.s_restart.next = v[8] == BigUint::from(1u8);
                uut.s_lose.next = v[9] == BigUint::from(1u8);
                uut.s_frame_offset.next = v[10].clone().into();
                uut.s_ddgst.next = v[11] == BigUint::from(1u8);
                uut.s_pdo.next = v[12].clone().into();
                uut.s_lost.next = v[13] == BigUint::from(1u8);
                uut.s_shadow.next = v[14] == BigUint::from(1u8);
                uut.s_carried_shadow.next = v[15] == BigUint::from(1u8);
                uut.s_dist.next = v[16].clone().into();
                uut.s_next_dist.next = v[17].clone().into();
                uut.s_hdr_lane.next = v[18].clone().into();
                uut.s_hdr_valid.next = v[19].clone().into();
            }
            None => uut.s_valid.next = false,
        }
        cycle(&mut uut, |u| &mut u.clock);
        if i + 1 >= PduDataMap::LATENCY {
            out.push(uut.m_valid.val().then(|| {
                vec![
                    big_of(uut.m_valid.val()),
                    uut.m_data.val().into(),
                    big_of(uut.m_first.val()),
                    big_of(uut.m_last.val()),
                    uut.m_len.val().into(),
                    uut.m_flow.val().into(),
                    uut.m_frame_offset.val().into(),
                    big_of(uut.m_run_valid.val()),
                    uut.m_run_lane.val().into(),
                    uut.m_run_len.val().into(),
                    uut.m_run_cid.val().into(),
                    uut.m_run_offset.val().into(),
                    big_of(uut.m_run_second.val()),
                    uut.m_cpl_valid.val().into(),
                    uut.m_cpl_cid.val().into(),
                    big_of(uut.m_lost.val()),
                    big_of(uut.m_seg_valid.val()),
                    uut.m_seg_start.val().into(),
                    uut.m_seg_end.val().into(),
                    big_of(uut.m_seg_begin.val()),
                    big_of(uut.m_seg_last.val()),
                    big_of(uut.m_crc_doubt.val()),
                ]
            }));
        }
    }
    out
}

fn big_of(b: bool) -> BigUint {
    BigUint::from(u8::from(b))
}

fn small(v: &BigUint) -> u64 {
    v.to_u64_digits().first().copied().unwrap_or(0)
}

/// Every presented beat against the receive model's.
fn check(cycles: &[Option<Inputs>], expected: &[Expected], seen: &[Option<Vec<BigUint>>]) {
    let mut want = expected.iter();
    let (mut runs, mut seconds, mut completions, mut losses) = (0, 0, 0, 0);
    for (i, (c, got)) in cycles.iter().zip(seen).enumerate() {
        let Some(_) = c else {
            assert!(got.is_none(), "cycle {i}: a beat out of nothing");
            continue;
        };
        let got = got.as_ref().unwrap_or_else(|| panic!("cycle {i}: no beat"));
        let Expected { flow, beat } = want.next().expect("as many beats as expected");
        let first = small(&got[2]) == 1;
        let lo = if first { TAIL } else { 0 };
        let data = got[1].to_bytes_le();
        let data: Vec<u8> = (0..W).map(|l| data.get(l).copied().unwrap_or(0)).collect();
        assert_eq!(small(&got[4]) as usize, beat.data.len(), "cycle {i}: beat length");
        assert_eq!(data[lo..beat.data.len()], beat.data[lo..], "cycle {i}: stream bytes");
        assert_eq!((small(&got[5]) as u16, small(&got[6]) as u16), (*flow, beat.frame_offset), "cycle {i}: flow, frame offset");
        let run = (small(&got[7]) == 1).then(|| (small(&got[8]) as usize, small(&got[9]) as usize, small(&got[10]) as u16, small(&got[11]) as u32));
        let want_run = beat.run.map(|r| (r.lane, r.len, r.cid, r.offset));
        assert_eq!(run, want_run, "cycle {i} (flow {flow}): the beat's data run (lane, len, cid, offset)");
        assert_eq!(small(&got[12]) == 1, beat.second_run, "cycle {i} (flow {flow}): second run");
        let cpl: Vec<u16> = (0..3).filter(|&k| small(&got[13]) >> k & 1 == 1).map(|k| (small(&got[14]) >> (16 * k)) as u16).collect();
        assert_eq!(cpl, beat.completions, "cycle {i} (flow {flow}): completions");
        assert_eq!(small(&got[15]) == 1, beat.lost, "cycle {i} (flow {flow}): sync lost here");
        runs += usize::from(run.is_some());
        seconds += usize::from(beat.second_run);
        completions += cpl.len();
        losses += usize::from(beat.lost);
    }
    assert!(want.next().is_none(), "every expected beat came out");
    assert!(runs > 1000 && seconds > 10 && completions > 50 && losses > 0, "{runs} runs, {seconds} second runs, {completions} completions, {losses} losses");
}

#[test]
fn presents_what_the_receive_model_says() {
    for (seed, faults) in [(1, Faults::default()), (2, Faults { drop: 0.01, reorder: 0.01, duplicate: 0.02 })] {
        let (cycles, expected) = scenario(seed, faults);
        check(&cycles, &expected, &drive(&cycles));
    }
}

#[test]
fn verilog_matches_model() {
    let (cycles, expected) = scenario(3, Faults { drop: 0.005, reorder: 0.005, duplicate: 0.01 });
    let seen = drive(&cycles);
    check(&cycles, &expected, &seen);
    let idle: Inputs = INPUTS.iter().map(|_| BigUint::default()).collect();
    let all = |w: usize| (BigUint::from(1u8) << w) - 1u8;
    let replayed: Vec<Cycle> = (0..cycles.len() + PduDataMap::LATENCY)
        .map(|i| {
            let inputs = cycles.get(i).cloned().flatten().unwrap_or_else(|| idle.clone());
            let (expected, care) = match i.checked_sub(PduDataMap::LATENCY - 1).and_then(|k| seen.get(k)) {
                Some(Some(v)) => (v.clone(), OUTPUTS.iter().map(|&(_, w)| all(w)).collect()),
                Some(None) => (vec![BigUint::default(); OUTPUTS.len()], OUTPUTS.iter().enumerate().map(|(k, _)| BigUint::from(u8::from(k == 0))).collect()),
                None => (vec![BigUint::default(); OUTPUTS.len()], vec![BigUint::default(); OUTPUTS.len()]),
            };
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay {
        top: "pdu_data_map".into(),
        verilog: verilog_for(&mut PduDataMap::new(), "pdu_data_map"),
        clock: "clock",
        inputs: INPUTS.to_vec(),
        outputs: OUTPUTS.to_vec(),
    };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &replayed);
}
