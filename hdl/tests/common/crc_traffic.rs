//! Randomized CRC32C traffic shared by the CRC block tests: digest-protected segments of
//! several flows, cut into packets at random lanes and interleaved as a receive pipeline sees
//! them, with the `crc32c` crate's answer for every beat; and a driver for `Crc32cStream`.
use ddpnic_hdl::bytes::bits_from_lanes;
use ddpnic_hdl::crc32c::model::{BeatIn, CrcOp, Crc32cBeatModel, SavedCrc};
use ddpnic_hdl::crc32c::stream::Crc32cStream;
use ddpnic_hdl::testbench::cycle;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::Block;

/// A beat for the unit plus what the independent reference says about it.
#[derive(Clone, Debug)]
pub struct Stimulus {
    pub beat: Option<BeatIn>,
    /// crc32c of the segment's bytes up to this beat's last byte.
    pub prefix_crc: u32,
    /// On a segment's last beat: whether its digest is intact.
    pub digest_intact: Option<bool>,
}

/// A flow's byte stream: digest-protected segments separated by bytes the CRC ignores.
struct FlowStream {
    bytes: Vec<u8>,
    /// For each byte, (segment index, byte index within segment) if it is CRC'd.
    owner: Vec<Option<(usize, usize)>>,
    segments: Vec<(Vec<u8>, bool)>,
}

fn flow_stream(rng: &mut SmallRng, segments: usize) -> FlowStream {
    let mut s = FlowStream { bytes: Vec::new(), owner: Vec::new(), segments: Vec::new() };
    for seg in 0..segments {
        for _ in 0..rng.gen_range(0..40) {
            s.bytes.push(rng.gen());
            s.owner.push(None);
        }
        let len = match rng.gen_range(0..4) {
            0 => rng.gen_range(1..4),
            1 => rng.gen_range(4..80),
            _ => rng.gen_range(80..700),
        };
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let mut framed = data.clone();
        framed.extend_from_slice(&crc32c::crc32c(&data).to_le_bytes());
        let intact = rng.gen_bool(0.8);
        if !intact {
            let at = rng.gen_range(0..framed.len());
            framed[at] ^= 1 << rng.gen_range(0..8);
        }
        for (i, b) in framed.iter().enumerate() {
            s.bytes.push(*b);
            s.owner.push(Some((seg, i)));
        }
        s.segments.push((framed, intact));
    }
    s
}

/// One physical beat of a packet: its bytes and, per segment it holds, (segment, first lane,
/// last lane, stream index of the first lane's byte).
struct PacketBeat {
    flow: usize,
    data: Vec<u8>,
    runs: Vec<(usize, usize, usize, usize)>,
}

/// The next packet of `flow`: a random header, then up to a few hundred of its stream bytes.
fn packet(rng: &mut SmallRng, w: usize, flow: usize, stream: &FlowStream, cursor: &mut usize) -> Vec<PacketBeat> {
    let len = (match rng.gen_range(0..3) { 0 => rng.gen_range(1..8), 1 => rng.gen_range(8..100), _ => rng.gen_range(100..400) }).min(stream.bytes.len() - *cursor);
    let header = rng.gen_range(0..90);
    let total = header + len;
    let beats = (0..total.div_ceil(w))
        .map(|b| {
            let mut data: Vec<u8> = (0..w).map(|_| rng.gen()).collect();
            let mut runs: Vec<(usize, usize, usize, usize)> = Vec::new();
            for lane in 0..w {
                let pos = b * w + lane;
                if pos < header || pos >= total {
                    continue;
                }
                let at = *cursor + pos - header;
                data[lane] = stream.bytes[at];
                if let Some((seg, _)) = stream.owner[at] {
                    match runs.last_mut() {
                        Some(r) if r.0 == seg => r.2 = lane,
                        _ => runs.push((seg, lane, lane, at)),
                    }
                }
            }
            PacketBeat { flow, data, runs }
        })
        .collect();
    *cursor += len;
    beats
}

/// Cut flows into packets placed at random lanes, interleave them, and produce the unit's
/// beats: one per (physical beat, segment) pair, with start/continue/resume/restore as a
/// receive pipeline would choose, and the restore value from the flow's saved context.
/// Sometimes two flows' packets arrive beat by beat alternately, so that each beat resumes
/// its segment across one beat of the other.
pub fn traffic(w: usize, seed: u64, flows: usize, segments: usize) -> Vec<Stimulus> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let streams: Vec<FlowStream> = (0..flows).map(|_| flow_stream(&mut rng, segments)).collect();
    let mut cursor = vec![0usize; flows];
    // Stream offsets start at a random sequence number per flow.
    let isn: Vec<usize> = (0..flows).map(|_| rng.gen()).collect();
    let mut model = Crc32cBeatModel::new(w);
    let mut saved: Vec<Option<SavedCrc>> = vec![None; flows];
    let mut last_beat_owner: Option<(usize, usize)> = None;
    // Per flow: the segment and stimulus index of its latest beat.
    let mut latest: Vec<Option<(usize, usize)>> = vec![None; flows];
    let mut out = Vec::new();
    let open = |cursor: &[usize], except: Option<usize>| -> Vec<usize> { (0..flows).filter(|&f| cursor[f] < streams[f].bytes.len() && Some(f) != except).collect() };
    while let Some(flow) = {
        let open = open(&cursor, None);
        (!open.is_empty()).then(|| open[rng.gen_range(0..open.len())])
    } {
        let mut beats = packet(&mut rng, w, flow, &streams[flow], &mut cursor[flow]);
        let others = open(&cursor, Some(flow));
        if !others.is_empty() && rng.gen_bool(0.3) {
            let other = others[rng.gen_range(0..others.len())];
            let mut second = packet(&mut rng, w, other, &streams[other], &mut cursor[other]).into_iter();
            let mut alternate = Vec::new();
            for first in beats {
                alternate.push(first);
                alternate.extend(second.next());
            }
            alternate.extend(second);
            beats = alternate;
        }
        for PacketBeat { flow, data, runs } in beats {
            let stream = &streams[flow];
            for (seg, start, end, at) in runs {
                let (_, index) = stream.owner[at].unwrap();
                let (framed, intact) = &stream.segments[seg];
                let two_back = matches!(latest[flow], Some((s, i)) if s == seg && i + 2 == out.len());
                let op = if index == 0 {
                    CrcOp::Start
                } else if two_back && rng.gen_bool(0.9) {
                    CrcOp::Resume
                } else if last_beat_owner == Some((flow, seg)) && rng.gen_bool(0.9) {
                    CrcOp::Continue
                } else {
                    CrcOp::Restore
                };
                let last_index = index + end - start;
                let beat = BeatIn {
                    data: data.clone(),
                    start,
                    end,
                    stream_lane: (isn[flow].wrapping_add(at)) % w,
                    op,
                    restore: if op == CrcOp::Restore { saved[flow].expect("restore needs a saved context") } else { SavedCrc::default() },
                    last: last_index == framed.len() - 1,
                };
                let result = model.beat(&beat);
                assert!(!result.error, "generator produced a beat the unit refuses: {beat:?}");
                saved[flow] = Some(result.state);
                last_beat_owner = Some((flow, seg));
                latest[flow] = Some((seg, out.len()));
                out.push(Stimulus { beat: Some(beat), prefix_crc: crc32c::crc32c(&framed[..=last_index]), digest_intact: (last_index == framed.len() - 1).then_some(*intact) });
            }
            // Most packets follow back to back; sometimes the line idles.
            if rng.gen_bool(0.05) {
                model.idle();
                out.push(Stimulus { beat: None, prefix_crc: 0, digest_intact: None });
            }
        }
    }
    out
}

/// What the block reported for one stimulus.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observed {
    pub valid: bool,
    pub error: bool,
    pub last: bool,
    pub digest_ok: bool,
    pub crc: u32,
    pub hi: bool,
    pub end_pos: usize,
}

/// The word on `s_restore_crc` for each of `cycles` cycles: a restore beat's saved CRC `lag`
/// cycles after the beat, a random word (which the unit must ignore) on every other cycle.
pub fn late_restore_crcs(stimuli: &[Stimulus], lag: usize, cycles: usize) -> Vec<u32> {
    let mut rng = SmallRng::seed_from_u64(cycles as u64);
    let mut words: Vec<u32> = (0..cycles).map(|_| rng.gen()).collect();
    for (i, s) in stimuli.iter().enumerate() {
        if let Some(b) = s.beat.as_ref().filter(|b| b.op == CrcOp::Restore) {
            words[i + lag] = b.restore.crc;
        }
    }
    words
}

/// Run the stimuli through the block's rust-hdl model, restore CRCs presented late.
pub fn drive<const W: usize, const D: usize, const L: usize, const P: usize>(stimuli: &[Stimulus]) -> Vec<Observed> {
    let cycles = stimuli.len() + Crc32cStream::<W, D, L, P>::LATENCY;
    drive_with_restore::<W, D, L, P>(stimuli, &late_restore_crcs(stimuli, Crc32cStream::<W, D, L, P>::RESTORE_LAG, cycles))
}

/// `drive` with `restore_crc[i]` on `s_restore_crc` at cycle i (the beats' own `restore.crc`
/// is not used).
pub fn drive_with_restore<const W: usize, const D: usize, const L: usize, const P: usize>(stimuli: &[Stimulus], restore_crc: &[u32]) -> Vec<Observed> {
    let mut uut = Crc32cStream::<W, D, L, P>::new();
    uut.connect_all();
    let latency = Crc32cStream::<W, D, L, P>::LATENCY;
    assert_eq!(restore_crc.len(), stimuli.len() + latency, "one restore word per cycle");
    let mut seen = Vec::new();
    for (i, &restore) in restore_crc.iter().enumerate() {
        match stimuli.get(i).and_then(|s| s.beat.as_ref()) {
            Some(b) => {
                uut.s_valid.next = true;
                uut.s_data.next = bits_from_lanes(&b.data);
                uut.s_start.next = (b.start as u64).into();
                uut.s_end.next = (b.end as u64).into();
                uut.s_stream_lane.next = (b.stream_lane as u64).into();
                uut.s_op.next = (b.op as u64).into();
                uut.s_restore_hi.next = b.restore.hi;
                uut.s_last.next = b.last;
            }
            None => uut.s_valid.next = false,
        }
        uut.s_restore_crc.next = u64::from(restore).into();
        cycle(&mut uut, |u| &mut u.clock);
        if i + 1 >= latency {
            seen.push(Observed {
                valid: uut.m_valid.val(),
                error: uut.m_error.val(),
                last: uut.m_last.val(),
                digest_ok: uut.m_digest_ok.val(),
                crc: uut.m_crc.val().to_u32(),
                hi: uut.m_hi.val(),
                end_pos: uut.m_end_pos.val().index(),
            });
        }
    }
    seen
}
