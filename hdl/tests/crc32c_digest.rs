//! Crc32cDigest against the `crc32c` crate: the digest value of every segment prefix that
//! `Crc32cStream` reports, at every end position of the virtual beat, in rust-hdl simulation
//! and replayed through the generated Verilog.
mod common;

use common::crc_traffic::{drive, traffic, Stimulus};
use ddpnic_hdl::crc32c::digest::Crc32cDigest;
use ddpnic_hdl::crc32c::model::{BeatIn, CrcOp};
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;
use rust_hdl::prelude::Block;
use std::collections::BTreeSet;

/// A digest request: the stream's register and end position after a beat, and what the
/// `crc32c` crate says the segment's CRC is up to that beat's last byte.
#[derive(Clone, Copy, Debug)]
struct Request {
    crc: u32,
    end_pos: usize,
    expected: u32,
}

/// One single-beat segment ending at each position of the virtual beat (0 ..= 2W-2): the
/// stream unit's frame puts a segment's bytes at `lane + phase`, phase = stream_lane - start.
fn end_position_sweep(w: usize) -> Vec<Stimulus> {
    (0..2 * w - 1)
        .map(|pos| {
            let (start, end, stream_lane) = if pos < w { (0, pos, 0) } else { (w - 1, w - 1, pos % w) };
            let data: Vec<u8> = (0..w).map(|i| (i * 37 + pos) as u8).collect();
            let prefix_crc = crc32c::crc32c(&data[start..=end]);
            Stimulus { beat: Some(BeatIn { data, start, end, stream_lane, op: CrcOp::Start, restore: Default::default(), last: false }), prefix_crc, digest_intact: None }
        })
        .collect()
}

/// Run the stream unit over random traffic and turn every beat it reports into a request.
fn requests<const W: usize, const D: usize, const L: usize, const P: usize>(stimuli: &[Stimulus]) -> Vec<Option<Request>> {
    let seen = drive::<W, D, L, P>(stimuli);
    stimuli
        .iter()
        .zip(&seen)
        .map(|(s, o)| s.beat.as_ref().map(|_| Request { crc: o.crc, end_pos: o.end_pos, expected: s.prefix_crc }))
        .collect()
}

/// The digest block's output per cycle, aligned with the requests (latency removed).
fn digests<const W: usize, const L: usize, const P: usize>(requests: &[Option<Request>]) -> Vec<Option<u32>> {
    let mut uut = Crc32cDigest::<W, L, P>::new();
    uut.connect_all();
    let latency = Crc32cDigest::<W, L, P>::LATENCY;
    let mut out = Vec::new();
    for i in 0..requests.len() + latency {
        match requests.get(i).copied().flatten() {
            Some(r) => {
                uut.s_valid.next = true;
                uut.s_crc.next = u64::from(r.crc).into();
                uut.s_end_pos.next = (r.end_pos as u64).into();
            }
            None => uut.s_valid.next = false,
        }
        cycle(&mut uut, |u| &mut u.clock);
        if i + 1 >= latency {
            out.push(uut.m_valid.val().then(|| uut.m_digest.val().to_u32()));
        }
    }
    out
}

fn check(w: usize, requests: &[Option<Request>], out: &[Option<u32>]) {
    let mut end_positions = BTreeSet::new();
    for (i, (r, o)) in requests.iter().zip(out).enumerate() {
        match r {
            Some(r) => {
                assert_eq!(*o, Some(r.expected), "request {i} ({r:x?}): digest differs from crc32c");
                end_positions.insert(r.end_pos);
            }
            None => assert_eq!(*o, None, "request {i}: output without input"),
        }
    }
    // Every end position a segment can have in the virtual beat (0 ..= 2W-2) was exercised.
    assert_eq!(end_positions.len(), 2 * w - 1, "traffic missed end positions: {end_positions:?}");
}

#[test]
fn digest_of_every_segment_prefix_w8() {
    for seed in 20..23 {
        let mut stimuli = end_position_sweep(8);
        stimuli.extend(traffic(8, seed, 3, 100));
        let requests = requests::<8, 64, 3, 4>(&stimuli);
        check(8, &requests, &digests::<8, 3, 4>(&requests));
    }
}

#[test]
fn digest_of_every_segment_prefix_w64() {
    let mut stimuli = end_position_sweep(64);
    stimuli.extend(traffic(64, 30, 3, 150));
    let requests = requests::<64, 512, 6, 7>(&stimuli);
    check(64, &requests, &digests::<64, 6, 7>(&requests));
}

#[test]
fn rfc3720_vectors_from_a_fresh_register() {
    // A segment that starts at lane 0 of a stream at lane 0 and fills the beat exactly: the
    // register after it is the plain CRC state, so the vectors can be fed straight in.
    let vectors: [(Vec<u8>, u32); 4] = [(vec![0u8; 32], 0x8A91_36AA), (vec![0xFF; 32], 0x62A8_AB43), ((0..32).collect(), 0x46DD_794E), ((0..32).rev().collect(), 0x113F_DB5C)];
    let stimuli: Vec<Stimulus> = vectors
        .iter()
        .map(|(data, expected)| Stimulus {
            beat: Some(BeatIn {
                data: data.clone(),
                start: 0,
                end: 31,
                stream_lane: 0,
                op: CrcOp::Start,
                restore: Default::default(),
                last: false,
            }),
            prefix_crc: *expected,
            digest_intact: None,
        })
        .collect();
    let requests = requests::<32, 256, 5, 6>(&stimuli);
    let out = digests::<32, 5, 6>(&requests);
    for ((_, expected), got) in vectors.iter().zip(out) {
        assert_eq!(got, Some(*expected));
    }
}

fn replay_through_verilog<const W: usize, const L: usize, const P: usize>(name: &str, requests: &[Option<Request>]) {
    let out = digests::<W, L, P>(requests);
    check(W, requests, &out);
    let latency = Crc32cDigest::<W, L, P>::LATENCY;
    let big = |v: u64| BigUint::from(v);
    let cycles: Vec<Cycle> = (0..requests.len() + latency)
        .map(|i| {
            let inputs = match requests.get(i).copied().flatten() {
                Some(r) => vec![big(1), big(r.crc.into()), big(r.end_pos as u64)],
                None => vec![big(0); 3],
            };
            let (expected, care) = match i.checked_sub(latency - 1).and_then(|k| out.get(k)) {
                Some(Some(d)) => (vec![big(1), big((*d).into())], vec![big(1), big(0xFFFF_FFFF)]),
                Some(None) => (vec![big(0); 2], vec![big(1), big(0)]),
                None => (vec![big(0); 2], vec![big(0); 2]),
            };
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay {
        top: name.into(),
        verilog: verilog_for(&mut Crc32cDigest::<W, L, P>::new(), name),
        clock: "clock",
        inputs: vec![("s_valid", 1), ("s_crc", 32), ("s_end_pos", P)],
        outputs: vec![("m_valid", 1), ("m_digest", 32)],
    };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &cycles);
}

#[test]
fn verilog_matches_model_w8() {
    replay_through_verilog::<8, 3, 4>("crc32c_digest_w8", &requests::<8, 64, 3, 4>(&traffic(8, 40, 3, 80)));
}

#[test]
fn verilog_matches_model_w64() {
    let mut stimuli = end_position_sweep(64);
    stimuli.extend(traffic(64, 41, 3, 150));
    replay_through_verilog::<64, 6, 7>("crc32c_digest_w64", &requests::<64, 512, 6, 7>(&stimuli));
}
