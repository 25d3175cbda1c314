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

/// Cut flows into packets placed at random lanes, interleave them, and produce the unit's
/// beats: one per (physical beat, segment) pair, with start/continue/restore as a receive
/// pipeline would choose, and the restore value from the flow's saved context.
pub fn traffic(w: usize, seed: u64, flows: usize, segments: usize) -> Vec<Stimulus> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let streams: Vec<FlowStream> = (0..flows).map(|_| flow_stream(&mut rng, segments)).collect();
    let mut cursor = vec![0usize; flows];
    // Stream offsets start at a random sequence number per flow.
    let isn: Vec<usize> = (0..flows).map(|_| rng.gen()).collect();
    let mut model = Crc32cBeatModel::new(w);
    let mut saved: Vec<Option<SavedCrc>> = vec![None; flows];
    let mut last_beat_owner: Option<(usize, usize)> = None;
    let mut out = Vec::new();
    while let Some(flow) = {
        let open: Vec<usize> = (0..flows).filter(|&f| cursor[f] < streams[f].bytes.len()).collect();
        (!open.is_empty()).then(|| open[rng.gen_range(0..open.len())])
    } {
        let stream = &streams[flow];
        let len = (match rng.gen_range(0..3) { 0 => rng.gen_range(1..8), 1 => rng.gen_range(8..100), _ => rng.gen_range(100..400) }).min(stream.bytes.len() - cursor[flow]);
        let header = rng.gen_range(0..90);
        let total = header + len;
        let beats = total.div_ceil(w);
        for b in 0..beats {
            let mut data: Vec<u8> = (0..w).map(|_| rng.gen()).collect();
            // Which stream bytes sit in this beat, grouped by segment.
            let mut runs: Vec<(usize, usize, usize)> = Vec::new(); // (segment, first lane, last lane)
            for lane in 0..w {
                let pos = b * w + lane;
                if pos < header || pos >= total {
                    continue;
                }
                let at = cursor[flow] + pos - header;
                data[lane] = stream.bytes[at];
                if let Some((seg, _)) = stream.owner[at] {
                    match runs.last_mut() {
                        Some(r) if r.0 == seg => r.2 = lane,
                        _ => runs.push((seg, lane, lane)),
                    }
                }
            }
            for (seg, start, end) in runs {
                let at = cursor[flow] + b * w + start - header;
                let (_, index) = stream.owner[at].unwrap();
                let (framed, intact) = &stream.segments[seg];
                let op = if index == 0 {
                    CrcOp::Start
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
                out.push(Stimulus { beat: Some(beat), prefix_crc: crc32c::crc32c(&framed[..=last_index]), digest_intact: (last_index == framed.len() - 1).then_some(*intact) });
            }
            // Most packets follow back to back; sometimes the line idles.
            if rng.gen_bool(0.05) {
                out.push(Stimulus { beat: None, prefix_crc: 0, digest_intact: None });
            }
        }
        cursor[flow] += len;
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

pub fn drive<const W: usize, const D: usize, const L: usize, const P: usize>(stimuli: &[Stimulus]) -> Vec<Observed> {
    let mut uut = Crc32cStream::<W, D, L, P>::new();
    uut.connect_all();
    let latency = Crc32cStream::<W, D, L, P>::LATENCY;
    let mut seen = Vec::new();
    for i in 0..stimuli.len() + latency {
        match stimuli.get(i).and_then(|s| s.beat.as_ref()) {
            Some(b) => {
                uut.s_valid.next = true;
                uut.s_data.next = bits_from_lanes(&b.data);
                uut.s_start.next = (b.start as u64).into();
                uut.s_end.next = (b.end as u64).into();
                uut.s_stream_lane.next = (b.stream_lane as u64).into();
                uut.s_op.next = (b.op as u64).into();
                uut.s_restore_crc.next = u64::from(b.restore.crc).into();
                uut.s_restore_hi.next = b.restore.hi;
                uut.s_last.next = b.last;
            }
            None => uut.s_valid.next = false,
        }
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
