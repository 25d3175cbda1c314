//! PduChainWalk on real PDU streams laid out in beats: every header start of the stream is
//! reported in its beat and lane (up to three a beat, PDUs from 24 bytes to 1 MiB), a broken
//! header makes the walk lost until a restart at a true PDU start, and the generated Verilog
//! agrees cycle for cycle.
mod common;

use common::pdu_stream::{pdu_stream, PduStream};
use ddpnic_hdl::framing::chain_walk::PduChainWalk;
use ddpnic_hdl::framing::lane_decoder::PduLaneDecoder;
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::{Bits, Block};

#[derive(Clone, Debug)]
struct Beat {
    ok: Vec<bool>,
    plen: Vec<u32>,
    restart: Option<u32>,
    /// From the stream's truth: header lanes, or None where the walk must be lost.
    expected: Option<Vec<usize>>,
}

/// A stream of `cfg` PDUs starting at lane `lead` of the first beat, optionally with one
/// header broken and a restart at the next true PDU start a few beats later.
fn scenario(rng: &mut SmallRng, w: usize, cfg: QueueConfig, stream: &PduStream, break_one: bool) -> Vec<Beat> {
    let lead = rng.gen_range(0..w);
    let mut bytes: Vec<u8> = (0..lead).map(|_| rng.gen()).collect();
    bytes.extend_from_slice(&stream.bytes);
    let starts: Vec<usize> = (0..stream.bytes.len()).filter(|&i| stream.truth[i].pdu_start).map(|i| i + lead).collect();
    let broken = break_one.then(|| starts[rng.gen_range(starts.len() / 4..starts.len() / 2)]);
    if let Some(at) = broken {
        bytes[at] = 0xEE; // no such PDU type
    }
    // Restart at a true PDU start at least two beats after the broken one.
    let restart_at = broken.and_then(|b| starts.iter().copied().find(|&s| s >= (b / w + 2) * w));
    // After the last PDU the walk lands on padding, which holds no header: lost from there.
    let end = bytes.len();
    bytes.resize(bytes.len().next_multiple_of(w) + w, 0);
    let beats = bytes.len() / w - 1;
    let mut out = Vec::with_capacity(beats);
    let mut lost = false;
    for b in 0..beats {
        let (ok, plen) = PduLaneDecoder::<64, 512>::decode(&bytes[b * w..(b + 1) * w], &bytes[(b + 1) * w..(b + 2) * w], &cfg);
        let restart = if b == 0 {
            Some(lead as u32)
        } else {
            restart_at.filter(|&r| r / w == b).map(|r| (r % w) as u32)
        };
        if restart.is_some() {
            lost = false;
        }
        let in_beat = |s: usize| s / w == b && restart.is_none_or(|r| s % w >= r as usize);
        if broken.is_some_and(|x| x / w == b) || end / w == b {
            lost = true;
        }
        let headers: Vec<usize> = starts.iter().filter(|&&s| in_beat(s)).map(|&s| s % w).collect();
        out.push(Beat { ok, plen, restart, expected: (!lost).then_some(headers) });
    }
    out
}

fn scenarios(w: usize, seed: u64) -> Vec<Beat> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut all = Vec::new();
    for (i, (hdgst, ddgst, cpda)) in [(false, false, 0), (true, true, 0), (true, false, 3), (false, true, 1)].into_iter().enumerate() {
        let cfg = QueueConfig { hdgst, ddgst, cpda };
        // Tiny PDUs (many a beat), ordinary ones, and a few long ones that span many beats.
        for max_data in [8, 40, 300, 5000] {
            let stream = pdu_stream(&mut rng, &cfg, 150, max_data, false);
            all.extend(scenario(&mut rng, w, cfg, &stream, i % 2 == 0 || max_data == 40));
        }
    }
    let long = pdu_stream(&mut rng, &QueueConfig::default(), 1, 1 << 20, false);
    all.extend(scenario(&mut rng, w, QueueConfig::default(), &long, false));
    all
}

type Seen = Option<(Vec<usize>, bool, u32)>;

fn drive<const W: usize, const LB: usize>(beats: &[Beat]) -> Vec<Seen> {
    let mut uut = PduChainWalk::<W, LB>::new();
    uut.connect_all();
    let latency = PduChainWalk::<W, LB>::LATENCY;
    let mut seen = Vec::new();
    for i in 0..beats.len() + latency {
        match beats.get(i) {
            Some(b) => {
                uut.s_valid.next = true;
                uut.s_header_ok.next = (0..W).fold(Bits::default(), |acc, l| acc.replace_bit(l, b.ok[l]));
                let mut plen = vec![0u8; 256];
                for (l, p) in b.plen.iter().enumerate() {
                    plen[4 * l..4 * l + 4].copy_from_slice(&p.to_le_bytes());
                }
                uut.s_plen.next = ddpnic_hdl::bytes::bits_from_lanes(&plen);
                uut.s_restart.next = b.restart.is_some();
                uut.s_restart_dist.next = u64::from(b.restart.unwrap_or(0)).into();
            }
            None => uut.s_valid.next = false,
        }
        cycle(&mut uut, |u| &mut u.clock);
        if i + 1 >= latency {
            seen.push(uut.m_valid.val().then(|| ((0..W).filter(|&l| uut.m_headers.val().get_bit(l)).collect(), uut.m_lost.val(), uut.m_next_dist.val().to_u32())));
        }
    }
    seen
}

fn check(beats: &[Beat], seen: &[Seen]) {
    let (mut headers, mut three, mut lost) = (0, 0, 0);
    for (i, (b, got)) in beats.iter().zip(seen).enumerate() {
        let (h, l, _) = got.as_ref().unwrap_or_else(|| panic!("beat {i}: no output"));
        match &b.expected {
            Some(expected) => {
                assert!(!*l, "beat {i}: lost in a sound stream");
                assert_eq!(h, expected, "beat {i}: header lanes");
                headers += h.len();
                three += usize::from(h.len() == 3);
            }
            None => {
                assert!(*l && h.is_empty(), "beat {i}: a broken stream must be lost and report nothing");
                lost += 1;
            }
        }
    }
    assert!(headers > 2000 && three > 20 && lost > 0, "{headers} headers, {three} beats with three, {lost} lost beats");
}

#[test]
fn walks_every_header_w64() {
    let beats = scenarios(64, 1);
    check(&beats, &drive::<64, 6>(&beats));
}

#[test]
fn verilog_matches_model_w64() {
    let beats = scenarios(64, 2);
    let seen = drive::<64, 6>(&beats);
    check(&beats, &seen);
    let latency = PduChainWalk::<64, 6>::LATENCY;
    let big = |v: u64| BigUint::from(v);
    let cycles: Vec<Cycle> = (0..beats.len() + latency)
        .map(|i| {
            let inputs = match beats.get(i) {
                Some(b) => {
                    let ok = b.ok.iter().enumerate().fold(BigUint::default(), |acc, (l, &o)| if o { acc | (big(1) << l) } else { acc });
                    let plen = b.plen.iter().enumerate().fold(BigUint::default(), |acc, (l, &p)| acc | (big(p.into()) << (32 * l)));
                    vec![big(1), ok, plen, big(b.restart.is_some().into()), big(b.restart.unwrap_or(0).into())]
                }
                None => vec![big(0); 5],
            };
            let (expected, care) = match i.checked_sub(latency - 1).and_then(|k| seen.get(k)) {
                Some(Some((h, l, d))) => {
                    let hb = h.iter().fold(BigUint::default(), |acc, &lane| acc | (big(1) << lane));
                    (vec![big(1), hb, big((*l).into()), big((*d).into())], vec![big(1), (big(1) << 64) - 1u32, big(1), if *l { big(0) } else { big(0xFFFF_FFFF) }])
                }
                Some(None) => (vec![big(0); 4], vec![big(1), big(0), big(0), big(0)]),
                None => (vec![big(0); 4], vec![big(0); 4]),
            };
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay {
        top: "pdu_chain_walk".into(),
        verilog: verilog_for(&mut PduChainWalk::<64, 6>::new(), "pdu_chain_walk"),
        clock: "clock",
        inputs: vec![("s_valid", 1), ("s_header_ok", 64), ("s_plen", 2048), ("s_restart", 1), ("s_restart_dist", 32)],
        outputs: vec![("m_valid", 1), ("m_headers", 64), ("m_lost", 1), ("m_next_dist", 32)],
    };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &cycles);
}
