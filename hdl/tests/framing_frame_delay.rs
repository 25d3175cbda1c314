//! PduFrameDelay on frames of 1 to 141 beats, back to back or apart, each with its metadata
//! arriving at any time while the frame passes: every beat comes out exactly DELAY cycles
//! later, every first beat carries its own frame's metadata, and the generated Verilog agrees
//! cycle for cycle.
use ddpnic_hdl::bytes::{bits_from_lanes, lanes_from_bits};
use ddpnic_hdl::framing::frame_delay::{PduFrameDelay, DELAY, META_BITS};
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::{Bits, Block};

#[derive(Clone, Debug, Default, PartialEq)]
struct Beat {
    data: Vec<u8>,
    sof: bool,
    eof: bool,
    len: u64,
}

/// Per cycle: the beat in, the metadata in, and the frame metadata each first beat must carry.
fn scenario(seed: u64) -> (Vec<Option<Beat>>, Vec<Option<u128>>, Vec<u128>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let (mut beats, mut metas, mut frame_metas) = (Vec::new(), Vec::new(), Vec::new());
    let mut pending: Vec<(usize, u128)> = Vec::new();
    for _ in 0..300 {
        let n = if rng.gen_bool(0.3) { 1 } else { rng.gen_range(1..=141) };
        let sof_at = beats.len();
        for b in 0..n {
            let len = if b + 1 == n { rng.gen_range(1..=64) } else { 64 };
            beats.push(Some(Beat { data: (0..64).map(|_| rng.gen()).collect(), sof: b == 0, eof: b + 1 == n, len }));
        }
        let meta: u128 = rng.gen();
        frame_metas.push(meta);
        let after = pending.last().map_or(0, |p| p.0 + 1);
        pending.push(((sof_at + rng.gen_range(0..20)).max(after), meta));
        for _ in 0..[0, 0, 0, 1, 3][rng.gen_range(0..5)] {
            beats.push(None);
        }
    }
    beats.extend(std::iter::repeat_n(None, DELAY + 2));
    metas.resize(beats.len(), None);
    for (at, meta) in pending {
        metas[at] = Some(meta);
    }
    (beats, metas, frame_metas)
}

fn drive(beats: &[Option<Beat>], metas: &[Option<u128>]) -> Vec<Option<(Beat, u128)>> {
    let mut uut = PduFrameDelay::new();
    uut.connect_all();
    let mut seen = Vec::new();
    for (b, m) in beats.iter().zip(metas) {
        let b = b.clone();
        uut.s_valid.next = b.is_some();
        let b = b.unwrap_or_default();
        uut.s_data.next = bits_from_lanes(&b.data.iter().copied().chain(std::iter::repeat(0)).take(64).collect::<Vec<u8>>());
        uut.s_sof.next = b.sof;
        uut.s_eof.next = b.eof;
        uut.s_len.next = b.len.into();
        uut.s_meta_valid.next = m.is_some();
        uut.s_meta.next = Bits::<META_BITS>::from(BigUint::from(m.unwrap_or(0)));
        cycle(&mut uut, |u| &mut u.clock);
        seen.push(uut.m_valid.val().then(|| {
            let meta = lanes_from_bits(uut.m_meta.val()).iter().rev().fold(0u128, |acc, &x| acc << 8 | u128::from(x));
            (Beat { data: lanes_from_bits(uut.m_data.val()), sof: uut.m_sof.val(), eof: uut.m_eof.val(), len: uut.m_len.val().to_u64() }, meta)
        }));
    }
    seen
}

#[test]
fn every_beat_comes_out_delay_cycles_later_with_its_frames_metadata() {
    let (beats, metas, frame_metas) = scenario(1);
    let seen = drive(&beats, &metas);
    let mut frames = frame_metas.iter();
    for (i, b) in beats.iter().enumerate() {
        let out = seen.get(i + DELAY - 1).cloned().flatten();
        assert_eq!(out.as_ref().map(|o| &o.0), b.as_ref(), "beat {i}");
        if let Some((o, meta)) = out.filter(|o| o.0.sof) {
            assert_eq!(meta, *frames.next().unwrap(), "frame starting at beat {i}: metadata ({o:?})");
        }
    }
    assert!(frames.next().is_none());
    assert!(seen[..DELAY - 1].iter().all(|o| o.is_none()));
}

#[test]
fn verilog_matches_model() {
    let (beats, metas, _) = scenario(2);
    let seen = drive(&beats, &metas);
    let big = |v: u64| BigUint::from(v);
    let cycles: Vec<Cycle> = beats
        .iter()
        .zip(&metas)
        .zip(&seen)
        .map(|((b, m), out)| {
            let inputs = match b {
                Some(b) => vec![big(1), BigUint::from_bytes_le(&b.data), big(b.sof.into()), big(b.eof.into()), big(b.len), big(m.is_some().into()), BigUint::from(m.unwrap_or(0))],
                None => vec![big(0), big(0), big(0), big(0), big(0), big(m.is_some().into()), BigUint::from(m.unwrap_or(0))],
            };
            let (expected, care) = match out {
                Some((o, meta)) => (
                    vec![big(1), BigUint::from_bytes_le(&o.data), big(o.sof.into()), big(o.eof.into()), big(o.len), BigUint::from(*meta)],
                    vec![big(1), (big(1) << 512) - 1u32, big(1), big(1), big(0x7F), (big(1) << 128) - 1u32],
                ),
                None => (vec![big(0); 6], [vec![big(1)], vec![big(0); 5]].concat()),
            };
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay {
        top: "pdu_frame_delay".into(),
        verilog: verilog_for(&mut PduFrameDelay::new(), "pdu_frame_delay"),
        clock: "clock",
        inputs: vec![("s_valid", 1), ("s_data", 512), ("s_sof", 1), ("s_eof", 1), ("s_len", 7), ("s_meta_valid", 1), ("s_meta", 128)],
        outputs: vec![("m_valid", 1), ("m_data", 512), ("m_sof", 1), ("m_eof", 1), ("m_len", 7), ("m_meta", 128)],
    };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &cycles);
}
