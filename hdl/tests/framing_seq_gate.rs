//! PduSeqGate on the segments of several NVMe/TCP flows as a network delivers them (drops
//! with later retransmission, reordering, duplicates, overlapping retransmissions), with
//! frames of unknown flows, non-offloadable frames, and flows added and deleted between
//! frames: every frame streams exactly the bytes the byte-level framing reference has not seen
//! (its expected sequence number before and after), a gap is flagged, a flow's first
//! in-sequence frame restarts the walk, beats pass through unchanged, and the generated Verilog
//! agrees cycle for cycle.
mod common;

use common::pdu_stream::{arrivals, pdu_stream, Faults};
use ddpnic_hdl::bytes::{bits_from_lanes, lanes_from_bits};
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::framing::reference::FlowTracker;
use ddpnic_hdl::framing::seq_gate::PduSeqGate;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::Block;

#[derive(Clone, Debug, Default)]
struct In {
    valid: bool,
    data: Vec<u8>,
    sof: bool,
    flow_valid: bool,
    flow: u16,
    offloadable: bool,
    seq: u32,
    start: u16,
    len: u16,
    ctl: Option<(bool, u16, u32)>,
}

#[derive(Clone, Debug, PartialEq)]
struct Out {
    data: Vec<u8>,
    sof: bool,
    flow: u16,
    offload: bool,
    start: u16,
    len: u16,
    restart: bool,
    lose: bool,
}

/// What a frame start must produce: (offload, start, len, restart, lose).
type Decision = (bool, u16, u16, bool, bool);

/// Cycles of input and, per frame start, the decision the reference expects.
fn scenario(seed: u64) -> (Vec<In>, Vec<Option<Decision>>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let cfg = QueueConfig::default();
    struct Flow {
        id: u16,
        bytes: Vec<u8>,
        isn: u32,
        segments: Vec<common::pdu_stream::Arrival>,
        next: usize,
        tracker: Option<FlowTracker>,
        fresh: bool,
    }
    let mut flows: Vec<Flow> = (0..5)
        .map(|i| {
            let s = pdu_stream(&mut rng, &cfg, 100, 3000, false);
            let isn: u32 = if i == 0 { u32::MAX - 5000 } else { rng.gen() };
            let mss = rng.gen_range(200..=1460);
            let segments = arrivals(&mut rng, isn, s.bytes.len(), mss, Faults { drop: 0.03, reorder: 0.03, duplicate: 0.03 });
            Flow { id: 100 * i as u16 + 7, bytes: s.bytes, isn, segments, next: 0, tracker: None, fresh: false }
        })
        .collect();
    let (mut cycles, mut expected) = (Vec::new(), Vec::new());
    let frame = |rng: &mut SmallRng, cycles: &mut Vec<In>, expected: &mut Vec<_>, head: In, want| {
        let beats = rng.gen_range(1..=3);
        for b in 0..beats {
            let mut i = if b == 0 { head.clone() } else { In { valid: true, flow: head.flow, ..Default::default() } };
            i.data = (0..64).map(|_| rng.gen()).collect();
            cycles.push(i);
            expected.push(if b == 0 { Some(want) } else { None });
        }
    };
    while flows.iter().any(|f| f.next < f.segments.len()) {
        let k = rng.gen_range(0..flows.len());
        let f = &mut flows[k];
        if f.tracker.is_none() || rng.gen_bool(0.005) {
            // sk_add (or delete and add again), in a cycle without a frame start.
            if f.tracker.is_some() {
                cycles.push(In { ctl: Some((false, f.id, 0)), ..Default::default() });
                expected.push(None);
            }
            let at = f.segments.get(f.next).map_or(f.isn, |s| s.seq);
            // Add at a PDU boundary: the next in-order byte the sender sends from here on.
            cycles.push(In { ctl: Some((true, f.id, at)), ..Default::default() });
            expected.push(None);
            f.tracker = Some(FlowTracker::new(cfg, at));
            f.fresh = true;
            continue;
        }
        let Some(seg) = f.segments.get(f.next).cloned() else { continue };
        f.next += 1;
        let tracker = f.tracker.as_mut().unwrap();
        // Now and then an overlapping retransmission: some seen bytes, then new ones.
        let (seq, from, to) = if rng.gen_bool(0.05) && seg.start > 100 {
            let back = rng.gen_range(1..100);
            (seg.seq.wrapping_sub(back as u32), seg.start - back, seg.end)
        } else {
            (seg.seq, seg.start, seg.end)
        };
        let payload_start: u16 = rng.gen_range(54..=138);
        let offloadable = rng.gen_bool(0.95);
        let head = In { valid: true, sof: true, flow_valid: true, flow: f.id, offloadable, seq, start: payload_start, len: (to - from) as u16, ..Default::default() };
        let want = if offloadable {
            let e = tracker.expected_seq();
            tracker.segment(seq, &f.bytes[from..to]);
            let new = tracker.expected_seq().wrapping_sub(e);
            let gap = seq.wrapping_sub(e) as i32;
            if new == 0 {
                (false, payload_start, (to - from) as u16, false, false)
            } else {
                let seen = if gap < 0 { e.wrapping_sub(seq) as u16 } else { 0 };
                // The stream starts at the expected sequence number (in order or overlapping).
                let restart = gap <= 0 && f.fresh;
                f.fresh = false;
                (true, payload_start + seen, (to - from) as u16 - seen, restart, gap > 0)
            }
        } else {
            (false, payload_start, (to - from) as u16, false, false)
        };
        frame(&mut rng, &mut cycles, &mut expected, head, want);
        // A frame of an unknown flow, and idle cycles.
        if rng.gen_bool(0.05) {
            let head = In { valid: true, sof: true, flow_valid: false, flow: 4000, offloadable: true, seq: rng.gen(), start: 54, len: 100, ..Default::default() };
            frame(&mut rng, &mut cycles, &mut expected, head, (false, 54, 100, false, false));
        }
        if rng.gen_bool(0.1) {
            cycles.push(In::default());
            expected.push(None);
        }
    }
    (cycles, expected)
}

fn drive(cycles: &[In]) -> Vec<Option<Out>> {
    let mut uut = PduSeqGate::new();
    uut.connect_all();
    let mut seen = Vec::new();
    for i in 0..cycles.len() + PduSeqGate::LATENCY {
        let c = cycles.get(i).cloned().unwrap_or_default();
        uut.s_valid.next = c.valid;
        uut.s_data.next = bits_from_lanes(&c.data.iter().copied().chain(std::iter::repeat(0)).take(64).collect::<Vec<u8>>());
        uut.s_sof.next = c.sof;
        uut.s_flow_valid.next = c.flow_valid;
        uut.s_flow.next = u64::from(c.flow).into();
        uut.s_offloadable.next = c.offloadable;
        uut.s_seq.next = u64::from(c.seq).into();
        uut.s_payload_start.next = u64::from(c.start).into();
        uut.s_payload_len.next = u64::from(c.len).into();
        let (add, flow, seq) = c.ctl.unwrap_or_default();
        uut.c_valid.next = c.ctl.is_some();
        uut.c_add.next = add;
        uut.c_flow.next = u64::from(flow).into();
        uut.c_seq.next = u64::from(seq).into();
        cycle(&mut uut, |u| &mut u.clock);
        seen.push(uut.m_valid.val().then(|| Out {
            data: lanes_from_bits(uut.m_data.val()),
            sof: uut.m_sof.val(),
            flow: uut.m_flow.val().to_u64() as u16,
            offload: uut.m_offload.val(),
            start: uut.m_start.val().to_u64() as u16,
            len: uut.m_len.val().to_u64() as u16,
            restart: uut.m_restart.val(),
            lose: uut.m_lose.val(),
        }));
    }
    seen
}

fn check(cycles: &[In], expected: &[Option<Decision>], seen: &[Option<Out>]) {
    let got: Vec<&Out> = seen.iter().flatten().collect();
    let beats: Vec<(&In, &Option<_>)> = cycles.iter().zip(expected).filter(|(c, _)| c.valid).collect();
    assert_eq!(got.len(), beats.len());
    let (mut streamed, mut gaps, mut overlaps, mut restarts) = (0, 0, 0, 0);
    for (n, (o, (c, want))) in got.iter().zip(&beats).enumerate() {
        assert_eq!((&o.data, o.sof, o.flow), (&c.data, c.sof, c.flow), "beat {n}: passes through");
        if let Some((offload, start, len, restart, lose)) = want {
            assert_eq!((o.offload, o.restart, o.lose), (*offload, *restart, *lose), "frame at beat {n} (flow {}, seq {:#x})", c.flow, c.seq);
            if *offload {
                assert_eq!((o.start, o.len), (*start, *len), "frame at beat {n}: streamed bytes");
                streamed += 1;
                overlaps += usize::from(*start != c.start);
            }
            gaps += usize::from(*lose);
            restarts += usize::from(*restart);
        }
    }
    assert!(streamed > 300 && gaps > 5 && overlaps > 5 && restarts >= 5, "{streamed} streamed, {gaps} gaps, {overlaps} overlaps, {restarts} restarts");
}

#[test]
fn streams_exactly_the_unseen_bytes() {
    let (cycles, expected) = scenario(1);
    check(&cycles, &expected, &drive(&cycles));
}

#[test]
fn verilog_matches_model() {
    let (cycles, expected) = scenario(2);
    let seen = drive(&cycles);
    check(&cycles, &expected, &seen);
    let big = |v: u64| BigUint::from(v);
    let lanes = |b: &[u8]| BigUint::from_bytes_le(b);
    let replayed: Vec<Cycle> = seen
        .iter()
        .enumerate()
        .map(|(i, out)| {
            let c = cycles.get(i).cloned().unwrap_or_default();
            let (add, flow, seq) = c.ctl.unwrap_or_default();
            let inputs = vec![big(c.valid.into()), lanes(&c.data), big(c.sof.into()), big(c.flow_valid.into()), big(c.flow.into()), big(c.offloadable.into()), big(c.seq.into()), big(c.start.into()), big(c.len.into()), big(c.ctl.is_some().into()), big(add.into()), big(flow.into()), big(seq.into())];
            let (expected, care) = match out {
                Some(o) => (
                    vec![big(1), lanes(&o.data), big(o.sof.into()), big(o.flow.into()), big(o.offload.into()), big(o.start.into()), big(o.len.into()), big(o.restart.into()), big(o.lose.into())],
                    vec![big(1), (big(1) << 512) - 1u32, big(1), big(0xFFF), big(1), big(if o.sof { 0x3FFF } else { 0 }), big(if o.sof { 0x3FFF } else { 0 }), big(1), big(1)],
                ),
                None => (vec![big(0); 9], [vec![big(1)], vec![big(0); 8]].concat()),
            };
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay {
        top: "pdu_seq_gate".into(),
        verilog: verilog_for(&mut PduSeqGate::new(), "pdu_seq_gate"),
        clock: "clock",
        inputs: vec![("s_valid", 1), ("s_data", 512), ("s_sof", 1), ("s_flow_valid", 1), ("s_flow", 12), ("s_offloadable", 1), ("s_seq", 32), ("s_payload_start", 14), ("s_payload_len", 14), ("c_valid", 1), ("c_add", 1), ("c_flow", 12), ("c_seq", 32)],
        outputs: vec![("m_valid", 1), ("m_data", 512), ("m_sof", 1), ("m_flow", 12), ("m_offload", 1), ("m_start", 14), ("m_len", 14), ("m_restart", 1), ("m_lose", 1)],
    };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &replayed);
}
