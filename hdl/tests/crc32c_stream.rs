//! Crc32cStream against the `crc32c` crate: RFC 3720 vectors, randomized multi-flow traffic
//! with save/restore between packets and resume across interleaved packets, the late restore
//! value, bad input, and replay through the generated Verilog.
mod common;

use common::crc_traffic::{drive, drive_with_restore, late_restore_crcs, traffic, Observed, Stimulus};
use ddpnic_hdl::crc32c::model::{BeatIn, CrcOp, CrcTables, SavedCrc};
use ddpnic_hdl::crc32c::stream::{Crc32cStream, Crc32cStream64, Crc32cStream8};
use ddpnic_hdl::testbench::{replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;

/// Every beat's register and verdict against the crc32c crate.
fn check_against_reference(w: usize, stimuli: &[Stimulus], seen: &[Observed]) {
    let tables = CrcTables::new(w);
    let (mut segments, mut bad_caught, mut resumes) = (0, 0, 0);
    for (i, (s, o)) in stimuli.iter().zip(seen).enumerate() {
        assert_eq!(o.valid, s.beat.is_some(), "beat {i}: valid");
        let Some(beat) = &s.beat else {
            continue;
        };
        resumes += usize::from(beat.op == CrcOp::Resume);
        assert!(!o.error, "beat {i}: refused");
        assert_eq!(tables.digest_value(o.crc, o.end_pos), s.prefix_crc, "beat {i}: running CRC differs from crc32c of the segment so far");
        assert_eq!(o.last, s.digest_intact.is_some(), "beat {i}: last");
        if let Some(intact) = s.digest_intact {
            assert_eq!(o.digest_ok, intact, "beat {i}: digest verdict");
            segments += 1;
            bad_caught += usize::from(!intact);
        }
    }
    assert!(segments > 10 && bad_caught > 0, "traffic too thin: {segments} segments, {bad_caught} corrupted");
    assert!(resumes * 20 > stimuli.len(), "traffic too thin: {resumes} resumes in {} cycles", stimuli.len());
}

#[test]
fn rfc3720_vectors_at_every_start_lane() {
    let vectors: [(Vec<u8>, u32); 5] = [
        (vec![0u8; 32], 0x8A91_36AA),
        (vec![0xFF; 32], 0x62A8_AB43),
        ((0..32).collect(), 0x46DD_794E),
        ((0..32).rev().collect(), 0x113F_DB5C),
        (b"123456789".to_vec(), 0xE306_9283),
    ];
    let tables = CrcTables::new(64);
    for (data, expected) in &vectors {
        for start in 0..64 {
            let mut stimuli = Vec::new();
            let mut framed = data.clone();
            framed.extend_from_slice(&expected.to_le_bytes());
            let mut lane = start;
            let mut done = 0;
            while done < framed.len() {
                let end = (lane + framed.len() - done - 1).min(63);
                let mut beat = vec![0xA5u8; 64];
                beat[lane..=end].copy_from_slice(&framed[done..done + end - lane + 1]);
                let last_index = done + end - lane;
                stimuli.push(Stimulus {
                    beat: Some(BeatIn { data: beat, start: lane, end, stream_lane: (start + done) % 64, op: if done == 0 { CrcOp::Start } else { CrcOp::Continue }, restore: SavedCrc::default(), last: last_index == framed.len() - 1 }),
                    prefix_crc: crc32c::crc32c(&framed[..=last_index]),
                    digest_intact: (last_index == framed.len() - 1).then_some(true),
                });
                done = last_index + 1;
                lane = 0;
            }
            let seen = drive::<64, 512, 6, 7>(&stimuli);
            let last = seen.iter().rev().find(|o| o.valid).unwrap();
            assert!(last.digest_ok, "vector {expected:08x} at lane {start}");
            // The digest value over the data alone is the RFC's number.
            let data_only = stimuli.iter().zip(&seen).find(|(s, _)| s.prefix_crc == *expected);
            if let Some((_, o)) = data_only {
                assert_eq!(tables.digest_value(o.crc, o.end_pos), *expected);
            }
        }
    }
}

#[test]
fn random_traffic_w8_thousands_of_segments() {
    for seed in 0..6 {
        let stimuli = traffic(8, seed, 3, 120);
        let seen = drive::<8, 64, 3, 4>(&stimuli);
        check_against_reference(8, &stimuli, &seen);
    }
}

#[test]
fn random_traffic_w64() {
    for seed in 100..103 {
        let stimuli = traffic(64, seed, 3, 60);
        let seen = drive::<64, 512, 6, 7>(&stimuli);
        check_against_reference(64, &stimuli, &seen);
    }
}

fn plain_beat(w: usize, start: usize, end: usize, stream_lane: usize, op: CrcOp, last: bool) -> BeatIn {
    BeatIn { data: (0..w as u8).map(|i| i.wrapping_mul(17)).collect(), start, end, stream_lane, op, restore: SavedCrc::default(), last }
}

#[test]
fn bad_input_is_refused_and_leaves_the_register() {
    let w = 8;
    let good = plain_beat(w, 2, 7, 2, CrcOp::Start, false);
    let reversed = plain_beat(w, 5, 3, 0, CrcOp::Continue, false);
    let discontinuous = plain_beat(w, 0, 7, 3, CrcOp::Continue, false);
    let follow = plain_beat(w, 0, 3, 0, CrcOp::Continue, false);
    let one_lane = plain_beat(w, 6, 6, 6, CrcOp::Start, false);
    let stimuli: Vec<Stimulus> = [Some(good.clone()), Some(reversed), Some(discontinuous), None, Some(follow.clone()), Some(one_lane.clone())]
        .into_iter()
        .map(|beat| Stimulus { beat, prefix_crc: 0, digest_intact: None })
        .collect();
    let seen = drive::<8, 64, 3, 4>(&stimuli);
    assert!(!seen[0].error && seen[1].error && seen[2].error, "reversed lanes and a gap in the stream are refused");
    assert_eq!((seen[1].crc, seen[2].crc), (seen[0].crc, seen[0].crc), "a refused beat leaves the register");
    assert!(!seen[3].valid, "no beat, no output");
    let tables = CrcTables::new(w);
    let mut stream = good.data[2..=7].to_vec();
    stream.extend_from_slice(&follow.data[0..=3]);
    assert_eq!(tables.digest_value(seen[4].crc, seen[4].end_pos), crc32c::crc32c(&stream), "the stream continues past the refused beats");
    assert_eq!(tables.digest_value(seen[5].crc, seen[5].end_pos), crc32c::crc32c(&one_lane.data[6..=6]), "a segment of one byte in one lane");

}

#[test]
fn resume_across_another_flow_and_late_restore() {
    let w = 8;
    let tables = CrcTables::new(w);
    let other = |b: BeatIn| BeatIn { data: b.data.iter().map(|x| x ^ 0x5C).collect(), ..b };
    // Flow A at stream offsets 3..=7, flow B, then A again at 8..=13 across B's beat.
    let a0 = plain_beat(w, 3, 7, 3, CrcOp::Start, false);
    let b0 = other(plain_beat(w, 1, 6, 5, CrcOp::Start, false));
    let a1 = plain_beat(w, 0, 5, 0, CrcOp::Resume, false);
    let beats = |list: Vec<Option<BeatIn>>| -> Vec<Stimulus> { list.into_iter().map(|beat| Stimulus { beat, prefix_crc: 0, digest_intact: None }).collect() };
    let seen = drive::<8, 64, 3, 4>(&beats(vec![Some(a0.clone()), Some(b0.clone()), Some(a1.clone())]));
    let mut a_bytes = a0.data[3..=7].to_vec();
    a_bytes.extend_from_slice(&a1.data[0..=5]);
    assert!(!seen[2].error, "resume refused");
    assert_eq!(tables.digest_value(seen[1].crc, seen[1].end_pos), crc32c::crc32c(&b0.data[1..=6]), "flow B");
    assert_eq!(tables.digest_value(seen[2].crc, seen[2].end_pos), crc32c::crc32c(&a_bytes), "resume continues A across B");

    // A restores at offsets 14..=15 (lanes 1..=2) from the register saved after a1. Its
    // restore CRC counts RESTORE_LAG cycles after the beat; the word with the beat does not.
    let saved = SavedCrc { crc: seen[2].crc, hi: seen[2].hi };
    let a2 = BeatIn { restore: saved, ..plain_beat(w, 1, 2, 6, CrcOp::Restore, false) };
    let stimuli = beats(vec![Some(a0), Some(b0), Some(a1), None, Some(a2.clone())]);
    let run = |with_beat: u32, late: u32| {
        let mut words = late_restore_crcs(&stimuli, Crc32cStream8::RESTORE_LAG, stimuli.len() + Crc32cStream8::LATENCY);
        words[4] = with_beat;
        words[4 + Crc32cStream8::RESTORE_LAG] = late;
        drive_with_restore::<8, 64, 3, 4>(&stimuli, &words)[4]
    };
    a_bytes.extend_from_slice(&a2.data[1..=2]);
    let right = run(!saved.crc, saved.crc);
    assert!(!right.error);
    assert_eq!(tables.digest_value(right.crc, right.end_pos), crc32c::crc32c(&a_bytes), "restored from the late word");
    let wrong = run(saved.crc, saved.crc ^ 1);
    assert!(!wrong.error);
    assert_ne!(tables.digest_value(wrong.crc, wrong.end_pos), crc32c::crc32c(&a_bytes), "a wrong late word must show");
}

fn replay_through_verilog<const W: usize, const D: usize, const L: usize, const P: usize>(name: &str, stimuli: &[Stimulus]) {
    let seen = drive::<W, D, L, P>(stimuli);
    check_against_reference(W, stimuli, &seen);
    let inputs = vec![("s_valid", 1), ("s_data", D), ("s_start", L), ("s_end", L), ("s_stream_lane", L), ("s_op", 2), ("s_restore_crc", 32), ("s_restore_hi", 1), ("s_last", 1)];
    let outputs = vec![("m_valid", 1), ("m_error", 1), ("m_last", 1), ("m_digest_ok", 1), ("m_crc", 32), ("m_hi", 1), ("m_end_pos", P)];
    let latency = Crc32cStream::<W, D, L, P>::LATENCY;
    let restore = late_restore_crcs(stimuli, Crc32cStream::<W, D, L, P>::RESTORE_LAG, stimuli.len() + latency);
    let big = |v: u64| BigUint::from(v);
    let cycles: Vec<Cycle> = (0..stimuli.len() + latency)
        .map(|i| {
            let late = big(restore[i].into());
            let inputs = match stimuli.get(i).and_then(|s| s.beat.as_ref()) {
                Some(b) => vec![big(1), BigUint::from_bytes_le(&b.data), big(b.start as u64), big(b.end as u64), big(b.stream_lane as u64), big(b.op as u64), late, big(b.restore.hi.into()), big(b.last.into())],
                None => vec![big(0), big(0), big(0), big(0), big(0), big(0), late, big(0), big(0)],
            };
            let (expected, care) = match i.checked_sub(latency - 1).and_then(|k| seen.get(k)) {
                Some(o) if o.valid => (
                    vec![big(1), big(o.error.into()), big(o.last.into()), big(o.digest_ok.into()), big(o.crc.into()), big(o.hi.into()), big(o.end_pos as u64)],
                    vec![big(1), big(1), big(1), big(1), big(0xFFFF_FFFF), big(1), big((1 << P) - 1)],
                ),
                Some(_) => (vec![big(0); 7], vec![big(1), big(0), big(0), big(0), big(0), big(0), big(0)]),
                None => (vec![big(0); 7], vec![big(0); 7]),
            };
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay { top: name.into(), verilog: verilog_for(&mut Crc32cStream::<W, D, L, P>::new(), name), clock: "clock", inputs, outputs };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &cycles);
}

#[test]
fn verilog_matches_model_w8() {
    let mut stimuli = traffic(8, 7, 3, 80);
    stimuli.extend(traffic(8, 8, 1, 40));
    replay_through_verilog::<8, 64, 3, 4>("crc32c_stream_w8", &stimuli);
}

#[test]
fn verilog_matches_model_w64() {
    let stimuli = traffic(64, 9, 3, 60);
    replay_through_verilog::<64, 512, 6, 7>("crc32c_stream_w64", &stimuli);
}

#[test]
fn block_verilog_generates() {
    let text = verilog_for(&mut Crc32cStream64::new(), "crc32c_stream");
    assert!(text.contains("module crc32c_stream("));
}
