//! PduLaneDecoder on real PDU streams laid out in beats: every true header start decodes with
//! its true plen at whatever lane it falls, no other lane claims a header, every single-field
//! corruption of a header is refused, and the generated Verilog agrees lane for lane.
mod common;

use common::pdu_stream::pdu_stream;
use ddpnic_hdl::bytes::bits_from_lanes;
use ddpnic_hdl::framing::lane_decoder::{PduLaneDecoder, LOOKAHEAD_BITS};
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::Block;

#[derive(Clone)]
struct Beat {
    data: Vec<u8>,
    next: Vec<u8>,
    cfg: QueueConfig,
    /// Lanes where the stream says a PDU starts, with its plen.
    starts: Vec<(usize, u32)>,
    /// Lanes holding a deliberately corrupted header.
    corrupted: Vec<usize>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Break one field of the header at `at` so that the rules must refuse it.
fn corrupt_header(rng: &mut SmallRng, bytes: &mut [u8], at: usize, cfg: &QueueConfig) {
    let h = &mut bytes[at..at + 24];
    match rng.gen_range(0..6) {
        0 => h[0] = [0u8, 1, 2, 4, 6, 8, 10, 200][rng.gen_range(0..8)], // not a C2H type
        1 => h[2] = h[2].wrapping_add(rng.gen_range(1..=255)),           // hlen
        2 => h[1] ^= [1u8, 2, 0x10, 0x80][rng.gen_range(0..4)],          // digest or reserved flag
        3 => h[3] = h[3].wrapping_add(rng.gen_range(1..=255)),           // pdo
        4 => {
            let plen = le32(h, 4).wrapping_add(rng.gen_range(1..1000));
            h[4..8].copy_from_slice(&plen.to_le_bytes());
        }
        _ => {
            if h[0] == 7 {
                // data_length no longer matches plen.
                let datal = le32(h, 16) ^ (1 << rng.gen_range(0..32));
                h[16..20].copy_from_slice(&datal.to_le_bytes());
            } else {
                // A header-only PDU claiming more length than its type allows.
                let plen = (24 + cfg.hdgst_len() as u32) + 4 * rng.gen_range(1..10);
                h[4..8].copy_from_slice(&plen.to_le_bytes());
                if h[0] == 3 {
                    h[4..8].copy_from_slice(&153u32.to_le_bytes());
                }
            }
        }
    }
}

fn beats(w: usize, seed: u64) -> Vec<Beat> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for cpda in [0u8, 1, 7, 31] {
        for (hdgst, ddgst) in [(false, false), (true, false), (false, true), (true, true)] {
            let cfg = QueueConfig { hdgst, ddgst, cpda };
            // Small PDUs so that beats hold several header starts.
            let stream = pdu_stream(&mut rng, &cfg, 120, 30, false);
            let mut bytes = stream.bytes.clone();
            let starts: Vec<usize> = (0..bytes.len()).filter(|&i| stream.truth[i].pdu_start).collect();
            let mut corrupted = Vec::new();
            for &s in &starts {
                if rng.gen_bool(0.3) && s + 24 <= bytes.len() {
                    corrupt_header(&mut rng, &mut bytes, s, &cfg);
                    corrupted.push(s);
                }
            }
            // Start the stream at a random lane, as TCP payload does after packet headers.
            let lead = rng.gen_range(0..w);
            let mut laid: Vec<u8> = (0..lead).map(|_| rng.gen()).collect();
            laid.extend_from_slice(&bytes);
            laid.resize(laid.len().next_multiple_of(w) + w, 0);
            for b in 0..laid.len() / w - 1 {
                let in_beat = |i: usize| (b * w..(b + 1) * w).contains(&(i + lead));
                out.push(Beat {
                    data: laid[b * w..(b + 1) * w].to_vec(),
                    next: laid[(b + 1) * w..(b + 2) * w].to_vec(),
                    cfg,
                    starts: starts.iter().filter(|&&s| in_beat(s) && !corrupted.contains(&s)).map(|&s| (s + lead - b * w, le32(&stream.bytes, s + 4))).collect(),
                    corrupted: corrupted.iter().filter(|&&s| in_beat(s)).map(|&s| s + lead - b * w).collect(),
                });
            }
        }
    }
    out
}

/// Single headers at the edges of the rules, with the verdict the NVMe/TCP spec gives:
/// C2HTermReq plen 24..=152 without digests; CapsuleResp/R2T exactly the header (+ digest);
/// C2HData with data_length 0 refused, SUCCESS without LAST refused.
fn boundary_beats(w: usize, seed: u64) -> Vec<Beat> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for hdgst in [false, true] {
        let cfg = QueueConfig { hdgst, ddgst: true, cpda: 0 };
        let hd = if hdgst { 4u32 } else { 0 };
        let pdo = cfg.data_pdo() as u8;
        let dflags = u8::from(hdgst) | 2;
        let cases: Vec<([u8; 4], u32, u32, bool)> = vec![
            ([3, 0, 24, 0], 24, 0, true),
            ([3, 0, 24, 0], 152, 0, true),
            ([3, 0, 24, 0], 23, 0, false),
            ([3, 0, 24, 0], 153, 0, false),
            ([3, 1, 24, 0], 60, 0, false),
            ([5, u8::from(hdgst), 24, 0], 24 + hd, 0, true),
            ([5, u8::from(hdgst), 24, 0], 28 + hd, 0, false),
            ([9, u8::from(hdgst), 24, 0], 24 + hd, 0, true),
            ([9, u8::from(hdgst), 24, 4], 24 + hd, 0, false),
            ([7, dflags, 24, pdo], u32::from(pdo) + 1 + 4, 1, true),
            ([7, dflags | 4 | 8, 24, pdo], u32::from(pdo) + 1 + 4, 1, true),
            ([7, dflags | 8, 24, pdo], u32::from(pdo) + 1 + 4, 1, false),
            ([7, dflags, 24, pdo], u32::from(pdo) + 4, 0, false),
            ([7, dflags, 24, pdo], u32::MAX, u32::MAX - u32::from(pdo) - 3, false),
        ];
        for (head, plen, datal, valid) in cases {
            let lane = rng.gen_range(0..w);
            let mut laid: Vec<u8> = (0..2 * w).map(|_| rng.gen::<u8>() | 0x80).collect();
            laid[lane..lane + 4].copy_from_slice(&head);
            laid[lane + 4..lane + 8].copy_from_slice(&plen.to_le_bytes());
            laid[lane + 16..lane + 20].copy_from_slice(&datal.to_le_bytes());
            let (starts, corrupted) = if valid { (vec![(lane, plen)], vec![]) } else { (vec![], vec![lane]) };
            out.push(Beat { data: laid[..w].to_vec(), next: laid[w..].to_vec(), cfg, starts, corrupted });
        }
    }
    out
}

type Decoded = Option<(Vec<bool>, Vec<u32>)>;

fn drive<const W: usize, const D: usize>(beats: &[Beat]) -> Vec<Decoded> {
    let mut uut = PduLaneDecoder::<W, D>::new();
    uut.connect_all();
    let latency = PduLaneDecoder::<W, D>::LATENCY;
    let mut seen = Vec::new();
    for i in 0..beats.len() + latency {
        match beats.get(i) {
            Some(b) => {
                uut.s_valid.next = true;
                uut.s_data.next = bits_from_lanes(&b.data);
                uut.s_next.next = bits_from_lanes(&b.next[..19]);
                uut.s_hdgst.next = b.cfg.hdgst;
                uut.s_ddgst.next = b.cfg.ddgst;
                uut.s_cpda.next = u64::from(b.cfg.cpda).into();
            }
            None => uut.s_valid.next = false,
        }
        cycle(&mut uut, |u| &mut u.clock);
        if i + 1 >= latency {
            let plen = ddpnic_hdl::bytes::lanes_from_bits(uut.m_plen.val());
            seen.push(uut.m_valid.val().then(|| {
                let ok: Vec<bool> = (0..W).map(|l| uut.m_header_ok.val().get_bit(l)).collect();
                (ok, (0..W).map(|l| u32::from_le_bytes(plen[4 * l..4 * l + 4].try_into().unwrap())).collect())
            }));
        }
    }
    seen
}

fn check(w: usize, beats: &[Beat], seen: &[Decoded]) {
    let (mut headers, mut refused, mut multi) = (0, 0, 0);
    for (i, (b, got)) in beats.iter().zip(seen).enumerate() {
        let (ok, plen) = got.as_ref().unwrap_or_else(|| panic!("beat {i}: no output"));
        for lane in 0..w {
            match b.starts.iter().find(|(l, _)| *l == lane) {
                Some(&(_, true_plen)) => {
                    assert!(ok[lane], "beat {i} lane {lane} ({:?}): a true header is refused", b.cfg);
                    assert_eq!(plen[lane], true_plen, "beat {i} lane {lane}: plen");
                    headers += 1;
                }
                None => assert!(!ok[lane], "beat {i} lane {lane} ({:?}): header claimed where the stream has none{}", b.cfg, if b.corrupted.contains(&lane) { " (corrupted header)" } else { "" }),
            }
        }
        refused += b.corrupted.len();
        multi += usize::from(b.starts.len() >= 3);
    }
    assert!(headers > 500 && refused > 100, "{headers} headers, {refused} corrupted");
    if w == 64 {
        assert!(multi > 10, "beats with three header starts: {multi}");
    }
}

#[test]
fn every_lane_w64() {
    let mut beats = beats(64, 1);
    beats.extend(boundary_beats(64, 11));
    check(64, &beats, &drive::<64, 512>(&beats));
}

#[test]
fn every_lane_w32() {
    let beats = beats(32, 2);
    check(32, &beats, &drive::<32, 256>(&beats));
}

fn replay_through_verilog<const W: usize, const D: usize>(name: &str, beats: &[Beat]) {
    let seen = drive::<W, D>(beats);
    check(W, beats, &seen);
    let latency = PduLaneDecoder::<W, D>::LATENCY;
    let big = |v: u64| BigUint::from(v);
    let cycles: Vec<Cycle> = (0..beats.len() + latency)
        .map(|i| {
            let inputs = match beats.get(i) {
                Some(b) => vec![big(1), BigUint::from_bytes_le(&b.data), BigUint::from_bytes_le(&b.next[..19]), big(b.cfg.hdgst.into()), big(b.cfg.ddgst.into()), big(b.cfg.cpda.into())],
                None => vec![big(0); 6],
            };
            let (expected, care) = match i.checked_sub(latency - 1).and_then(|k| seen.get(k)) {
                Some(Some((ok, plen))) => {
                    let ok_bits = ok.iter().enumerate().fold(BigUint::default(), |acc, (l, &b)| if b { acc | (big(1) << l) } else { acc });
                    // plen matters only where a header decoded.
                    let (mut plen_bits, mut plen_care) = (BigUint::default(), BigUint::default());
                    for l in (0..W).filter(|&l| ok[l]) {
                        plen_bits |= big(plen[l].into()) << (32 * l);
                        plen_care |= big(0xFFFF_FFFF) << (32 * l);
                    }
                    (vec![big(1), ok_bits, plen_bits], vec![big(1), (big(1) << W) - 1u32, plen_care])
                }
                Some(None) => (vec![big(0); 3], vec![big(1), big(0), big(0)]),
                None => (vec![big(0); 3], vec![big(0); 3]),
            };
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay {
        top: name.into(),
        verilog: verilog_for(&mut PduLaneDecoder::<W, D>::new(), name),
        clock: "clock",
        inputs: vec![("s_valid", 1), ("s_data", D), ("s_next", LOOKAHEAD_BITS), ("s_hdgst", 1), ("s_ddgst", 1), ("s_cpda", 5)],
        outputs: vec![("m_valid", 1), ("m_header_ok", W), ("m_plen", 32 * 64)],
    };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &cycles);
}

#[test]
fn verilog_matches_model_w64() {
    let mut beats = beats(64, 3);
    beats.extend(boundary_beats(64, 13));
    replay_through_verilog::<64, 512>("pdu_lane_decoder_w64", &beats);
}
