//! PduTailStore on the streams of interleaved flows, frames of 1 byte to a jumbo frame,
//! back to back or a few cycles apart (so each forwarding path and the RAM are used): every
//! stream's first 23 lanes are exactly its flow's previous 23 payload bytes (zeros before a
//! flow's first byte), nothing else changes, and the generated Verilog agrees cycle for cycle.
use ddpnic_hdl::bytes::bits_from_lanes;
use ddpnic_hdl::framing::stream_beat::{replay_outputs, StreamBeat as Beat, STREAM_OUTPUTS};
use ddpnic_hdl::framing::tail_store::{PduTailStore, TAIL};
use ddpnic_hdl::read_stream_outputs;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::Block;

const W: usize = 64;

/// Input beats (the aligner's streams, lanes 0..23 of a first beat holding junk) and the
/// output each must become.
fn scenario(seed: u64) -> (Vec<Option<Beat>>, Vec<Beat>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let flows: Vec<u64> = (0..6).map(|_| rng.gen_range(0..4096)).collect();
    // Each flow's payload so far, after 23 zeros.
    let mut sent: Vec<Vec<u8>> = vec![vec![0; TAIL]; flows.len()];
    let (mut input, mut expected) = (Vec::new(), Vec::new());
    let mut f = 0;
    for _ in 0..600 {
        if rng.gen_bool(0.5) {
            f = rng.gen_range(0..flows.len());
        }
        let len = match rng.gen_range(0..5) {
            0 => rng.gen_range(1..=30),
            1 => rng.gen_range(1..=9000),
            _ => rng.gen_range(40..=1460),
        };
        let payload: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let mut stream = sent[f][sent[f].len() - TAIL..].to_vec();
        stream.extend_from_slice(&payload);
        sent[f].extend_from_slice(&payload);
        let beats = stream.len().div_ceil(W);
        for j in 0..beats {
            let len = (stream.len() - j * W).min(W);
            let mut data = stream[j * W..j * W + len].to_vec();
            data.resize(W, rng.gen());
            let out = Beat { data, first: j == 0, last: j + 1 == beats, len, stop: (stream.len() - TAIL).saturating_sub(j * W).min(W), flow: flows[f], restart: j == 0 && rng.gen_bool(0.2), lose: j == 0 && rng.gen_bool(0.2) };
            let mut junk = out.clone();
            if j == 0 {
                rng.fill(&mut junk.data[..TAIL]);
            }
            input.push(Some(junk));
            expected.push(out);
        }
        input.extend(std::iter::repeat_n(None, [0, 0, 1, 2, 3][rng.gen_range(0..5)]));
    }
    (input, expected)
}

fn drive(input: &[Option<Beat>]) -> Vec<Option<Beat>> {
    let mut uut = PduTailStore::new();
    uut.connect_all();
    let mut seen = Vec::new();
    for i in 0..input.len() + PduTailStore::LATENCY {
        match input.get(i).cloned().flatten() {
            Some(b) => {
                uut.s_valid.next = true;
                uut.s_data.next = bits_from_lanes(&b.data);
                uut.s_first.next = b.first;
                uut.s_last.next = b.last;
                uut.s_len.next = (b.len as u64).into();
                uut.s_stop.next = (b.stop as u64).into();
                uut.s_flow.next = b.flow.into();
                uut.s_restart.next = b.restart;
                uut.s_lose.next = b.lose;
            }
            None => uut.s_valid.next = false,
        }
        cycle(&mut uut, |u| &mut u.clock);
        seen.push(read_stream_outputs!(uut));
    }
    seen
}

#[test]
fn every_stream_starts_with_its_flows_previous_bytes() {
    let (input, expected) = scenario(1);
    let got: Vec<Beat> = drive(&input).into_iter().flatten().collect();
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "beat {i}");
    }
}

#[test]
fn verilog_matches_model() {
    let (input, _) = scenario(2);
    let seen = drive(&input);
    let big = |v: u64| BigUint::from(v);
    let lanes = |b: &[u8]| BigUint::from_bytes_le(b);
    let cycles: Vec<Cycle> = seen
        .iter()
        .enumerate()
        .map(|(i, out)| {
            let inputs = match input.get(i).cloned().flatten() {
                Some(b) => vec![big(1), lanes(&b.data), big(b.first.into()), big(b.last.into()), big(b.len as u64), big(b.stop as u64), big(b.flow), big(b.restart.into()), big(b.lose.into())],
                None => vec![big(0); 9],
            };
            let (expected, care) = replay_outputs(out.as_ref());
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay {
        top: "pdu_tail_store".into(),
        verilog: verilog_for(&mut PduTailStore::new(), "pdu_tail_store"),
        clock: "clock",
        inputs: vec![("s_valid", 1), ("s_data", 512), ("s_first", 1), ("s_last", 1), ("s_len", 7), ("s_stop", 7), ("s_flow", 12), ("s_restart", 1), ("s_lose", 1)],
        outputs: STREAM_OUTPUTS.to_vec(),
    };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &cycles);
}
