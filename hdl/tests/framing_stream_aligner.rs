//! PduStreamAligner on back-to-back frames with every payload start from 23 to 150 bytes,
//! payloads from 1 byte to a jumbo frame, and overlapping segments whose stream starts deep in
//! the payload: every offloaded frame becomes exactly its stream (23 bytes for the tail store,
//! then the new payload) in order, with the right first/last beats, lengths, stop lanes and
//! flow; other frames leave nothing; and the generated Verilog agrees cycle for cycle.
use ddpnic_hdl::bytes::bits_from_lanes;
use ddpnic_hdl::framing::stream_aligner::{PduStreamAligner, TAIL};
use ddpnic_hdl::framing::stream_beat::{replay_outputs, StreamBeat, STREAM_OUTPUTS};
use ddpnic_hdl::read_stream_outputs;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::Block;

const W: usize = 64;

struct Frame {
    bytes: Vec<u8>,
    offload: bool,
    start: usize,
    len: usize,
    flow: u16,
    restart: bool,
    lose: bool,
}

#[derive(Clone)]
struct In {
    data: Vec<u8>,
    sof: bool,
    offload: bool,
    start: usize,
    len: usize,
    flow: u16,
    restart: bool,
    lose: bool,
}

fn frames(seed: u64, count: usize) -> Vec<Frame> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let start = if rng.gen_bool(0.1) { rng.gen_range(TAIL..=150) } else { rng.gen_range(54..=138) };
            let len = match rng.gen_range(0..6) {
                0 => rng.gen_range(1..=40),
                1 => rng.gen_range(1..=9000 - start),
                _ => rng.gen_range(100..=1460),
            };
            // Short frames are padded to 60 bytes; the padding is not payload.
            let size = (start + len).max(60);
            // An overlapping segment: its first bytes were seen, the stream starts after them.
            let seen = if rng.gen_bool(0.1) { rng.gen_range(0..len) } else { 0 };
            Frame { bytes: (0..size).map(|_| rng.gen()).collect(), offload: rng.gen_bool(0.8), start: start + seen, len: len - seen, flow: rng.gen_range(0..4096), restart: rng.gen_bool(0.3), lose: rng.gen_bool(0.3) }
        })
        .collect()
}

/// Frames as input beats, back to back or with a few idle cycles between them.
fn beats(frames: &[Frame], seed: u64) -> Vec<Option<In>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for f in frames {
        for (k, chunk) in f.bytes.chunks(W).enumerate() {
            let mut data = chunk.to_vec();
            data.resize(W, rng.gen());
            out.push(Some(In { data, sof: k == 0, offload: f.offload, start: f.start, len: f.len, flow: f.flow, restart: f.restart, lose: f.lose }));
        }
        if rng.gen_bool(0.3) {
            out.extend(std::iter::repeat_n(None, rng.gen_range(1..=3)));
        }
    }
    out
}

fn drive(inputs: &[Option<In>]) -> Vec<Option<StreamBeat>> {
    let mut uut = PduStreamAligner::new();
    uut.connect_all();
    let mut seen = Vec::new();
    for i in 0..inputs.len() + PduStreamAligner::LATENCY + 2 {
        match inputs.get(i).cloned().flatten() {
            Some(b) => {
                uut.s_valid.next = true;
                uut.s_data.next = bits_from_lanes(&b.data);
                uut.s_sof.next = b.sof;
                uut.s_offload.next = b.offload;
                uut.s_payload_start.next = (b.start as u64).into();
                uut.s_payload_len.next = (b.len as u64).into();
                uut.s_flow.next = u64::from(b.flow).into();
                uut.s_restart.next = b.restart;
                uut.s_lose.next = b.lose;
            }
            None => {
                uut.s_valid.next = false;
                uut.s_data.next = 0u64.into();
            }
        }
        cycle(&mut uut, |u| &mut u.clock);
        seen.push(read_stream_outputs!(uut));
    }
    seen
}

/// Every offloaded frame's stream, built from the frame's bytes, against what came out.
fn check(frames: &[Frame], seen: &[Option<StreamBeat>]) {
    let mut got = seen.iter().flatten();
    let (mut streams, mut out_beats) = (0, 0);
    for (n, f) in frames.iter().enumerate() {
        if !f.offload {
            continue;
        }
        // The first 23 stream bytes are the tail store's to fill in.
        let mut stream = vec![0; TAIL];
        stream.extend_from_slice(&f.bytes[f.start..f.start + f.len]);
        let beats = stream.len().div_ceil(W);
        for j in 0..beats {
            let o = got.next().unwrap_or_else(|| panic!("frame {n}: stream beat {j} missing"));
            let valid = (stream.len() - j * W).min(W);
            let from = if j == 0 { TAIL } else { 0 };
            assert_eq!(&o.data[from..valid], &stream[j * W + from..j * W + valid], "frame {n} beat {j}: data");
            assert_eq!(o.len, valid, "frame {n} beat {j}: length");
            assert_eq!((o.first, o.last, o.flow), (j == 0, j + 1 == beats, u64::from(f.flow)), "frame {n} beat {j}: first/last/flow");
            assert_eq!((o.restart, o.lose), (j == 0 && f.restart, j == 0 && f.lose), "frame {n} beat {j}: the gate's verdicts on the first beat");
            assert_eq!(o.stop, (stream.len() - TAIL).saturating_sub(j * W).min(W), "frame {n} beat {j}: stop");
            out_beats += 1;
        }
        streams += 1;
    }
    assert!(got.next().is_none(), "beats beyond the streams");
    assert!(streams > 300 && out_beats > 3000, "{streams} streams, {out_beats} beats");
}

#[test]
fn every_offloaded_frame_becomes_its_stream() {
    let frames = frames(1, 500);
    check(&frames, &drive(&beats(&frames, 2)));
}

#[test]
fn verilog_matches_model() {
    let frames = frames(3, 400);
    let inputs = beats(&frames, 4);
    let seen = drive(&inputs);
    check(&frames, &seen);
    let big = |v: u64| BigUint::from(v);
    let lanes = |b: &[u8]| BigUint::from_bytes_le(b);
    let cycles: Vec<Cycle> = seen
        .iter()
        .enumerate()
        .map(|(i, out)| {
            let inputs = match inputs.get(i).cloned().flatten() {
                Some(b) => vec![big(1), lanes(&b.data), big(b.sof.into()), big(b.offload.into()), big(b.start as u64), big(b.len as u64), big(b.flow.into()), big(b.restart.into()), big(b.lose.into())],
                None => vec![big(0); 9],
            };
            let (expected, care) = replay_outputs(out.as_ref());
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay {
        top: "pdu_stream_aligner".into(),
        verilog: verilog_for(&mut PduStreamAligner::new(), "pdu_stream_aligner"),
        clock: "clock",
        inputs: vec![("s_valid", 1), ("s_data", 512), ("s_sof", 1), ("s_offload", 1), ("s_payload_start", 14), ("s_payload_len", 14), ("s_flow", 12), ("s_restart", 1), ("s_lose", 1)],
        outputs: STREAM_OUTPUTS.to_vec(),
    };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &cycles);
}
