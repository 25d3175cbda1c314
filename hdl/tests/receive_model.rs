//! The packet-level receive model on real frames (built with etherparse) carrying NVMe/TCP
//! streams of several flows, cut at random MSS, with drops, reordering and duplicates: every
//! placed byte is the command data the stream's truth says belongs there (resync requests are
//! confirmed as the host would, so placement resumes after them), a clean run places nearly all
//! data, buffers bound placement, non-offloadable frames change nothing, and the counters add
//! up.
mod common;

use common::nvme_traffic::{flow, frame, interleaved, Flow};
use common::pdu_stream::Faults;
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::framing::reference::ByteRole;
use ddpnic_hdl::receive_model::{ReceiveModel, MAX_RANGES};
use rand::{rngs::SmallRng, Rng, SeedableRng};
use std::collections::HashMap;

struct Run {
    placed: u64,
    data: u64,
    model: ReceiveModel,
}

/// Sends every flow's stream through the model, interleaved, and checks every placed range
/// against the truth. `short` registers buffers one byte short for some commands.
fn run(seed: u64, faults: Faults, short: bool) -> Run {
    let mut rng = SmallRng::seed_from_u64(seed);
    let cfgs = [QueueConfig { hdgst: false, ddgst: true, cpda: 0 }, QueueConfig { hdgst: true, ddgst: true, cpda: 0 }, QueueConfig::default(), QueueConfig { hdgst: true, ddgst: false, cpda: 2 }];
    let flows: Vec<Flow> = (0..4).map(|i| flow(&mut rng, i as u16 * 7 + 1, &cfgs[i], i % 2 == 1, 200, 20_000)).collect();
    let mut model = ReceiveModel::new();
    let mut buffers: HashMap<(u16, u16), u32> = HashMap::new();
    for f in &flows {
        assert!(model.add_flow(f.id, f.tuple, f.cfg, f.isn));
        for (&cid, &len) in &f.commands {
            let len = if short && cid % 3 == 0 { len - 1 } else { len };
            assert!(model.setup(f.id, cid, len));
            buffers.insert((f.id, cid), len);
        }
    }
    assert!(!model.add_flow(99, flows[0].tuple, QueueConfig::default(), 0), "a tuple is added once");
    let (mut placed, mut data) = (0u64, 0u64);
    let mut ranges_seen = 0;
    for (i, a) in interleaved(&mut rng, &flows, 500..=8948, faults) {
        let f = &flows[i];
        let bytes = frame(f, a.seq, a.start, a.end);
        // Now and then a copy with a broken TCP checksum first: it must change nothing.
        if rng.gen_bool(0.02) {
            let mut bad = bytes.clone();
            let last = bad.len() - 1;
            bad[last] ^= 0x40;
            let v = model.frame(&bad, false);
            assert!(!v.tcp_csum_ok && !v.tracked && v.ranges.is_empty(), "a bad checksum is never offloaded");
        }
        let v = model.frame(&bytes, false);
        assert_eq!(v.flow, Some(f.id));
        assert!(v.ranges.len() <= MAX_RANGES);
        let payload_start = bytes.len() - (a.end - a.start);
        // The stream: 23 replayed bytes, then frame bytes at `frame_offset`, ending with the frame.
        for (k, beat) in v.stream.iter().enumerate() {
            assert!(beat.data.len() == 64 || k + 1 == v.stream.len());
            for (lane, &byte) in beat.data.iter().enumerate().skip(if k == 0 { 23 } else { 0 }) {
                let at = usize::from(beat.frame_offset.wrapping_add(lane as u16));
                assert!(at >= payload_start, "stream lane {lane} of beat {k} maps below the payload");
                assert_eq!(byte, bytes[at], "stream beat {k} lane {lane}");
            }
            if let Some(run) = beat.run {
                assert!(run.lane + run.len <= beat.data.len() && (k > 0 || run.lane >= 23), "beat {k}: {run:?} outside the beat's new bytes");
            }
        }
        if let Some(last) = v.stream.last() {
            assert_eq!(usize::from(last.frame_offset) + last.data.len(), bytes.len(), "the stream ends with the frame");
            assert_eq!(last.resync, v.resync_request, "the resync request is on the stream's last beat");
        }
        assert!(v.stream.iter().rev().skip(1).all(|b| b.resync.is_none()), "a resync request only on the last beat");
        if let Some(seq) = v.resync_request {
            // The confirming header's first byte: a PDU start of the flow's stream. Confirm it.
            let at = seq.wrapping_sub(f.isn) as usize;
            assert!(f.stream.truth.get(at).is_some_and(|t| t.pdu_start), "flow {}: resync request for {seq}, not a PDU start", f.id);
            assert!(!model.resync(f.id, seq.wrapping_add(1)), "a confirmation for another number is ignored");
            assert!(model.resync(f.id, seq), "flow {}: confirming the requested {seq}", f.id);
        }
        for r in &v.ranges {
            ranges_seen += 1;
            for k in 0..r.len {
                let at = a.start + r.frame_offset - payload_start + k;
                assert_eq!(f.stream.truth[at].role, ByteRole::Data { cid: r.cid, offset: r.data_offset + k as u32 }, "flow {} byte {at}: placed as CID {} offset {}", f.id, r.cid, r.data_offset + k as u32);
                assert_eq!(bytes[r.frame_offset + k], f.stream.bytes[at]);
            }
            assert!(u64::from(r.data_offset) + r.len as u64 <= u64::from(buffers[&(f.id, r.cid)]), "placed past the buffer");
            placed += r.len as u64;
        }
    }
    for f in &flows {
        data += f.stream.truth.iter().filter(|t| matches!(t.role, ByteRole::Data { .. })).count() as u64;
    }
    assert!(ranges_seen > 100);
    assert_eq!(model.counters.bytes, placed);
    Run { placed, data, model }
}

#[test]
fn a_clean_run_places_nearly_all_data_and_only_the_right_bytes() {
    let r = run(1, Faults::default(), false);
    assert!(r.placed as f64 > 0.97 * r.data as f64, "placed {} of {} data bytes", r.placed, r.data);
    let c = &r.model.counters;
    assert_eq!((c.unknown_cid, c.out_of_bounds, c.lost_sync, c.resync, c.crc_errors), (0, 0, 0, 0, 0), "{c:?}");
    assert_eq!((c.sk_add, c.sk_add_fail), (4, 1));
}

#[test]
fn drops_reorder_and_duplicates_never_misplace_and_resync_is_requested() {
    let r = run(2, Faults { drop: 0.02, reorder: 0.02, duplicate: 0.02 }, false);
    let c = &r.model.counters;
    assert!(c.lost_sync > 0 && c.resync > 0, "{c:?}");
    assert!(r.placed > 0);
}

#[test]
fn buffers_bound_placement() {
    let r = run(3, Faults::default(), true);
    assert!(r.model.counters.out_of_bounds > 0);
}
