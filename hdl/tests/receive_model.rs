//! The packet-level receive model on real frames (built with etherparse) carrying NVMe/TCP
//! streams of several flows, cut at random MSS, with drops, reordering and duplicates: every
//! placed byte is the command data the stream's truth says belongs there (resync requests are
//! confirmed as the host would, so placement resumes after them), a clean run places nearly all
//! data, buffers bound placement, non-offloadable frames change nothing, and the counters add
//! up. Then the CRC unit's rule on PDUs laid out byte by byte, with the stream beats worked
//! out from the layout: which data digests the NIC follows, and what it reports for them.
mod common;

use common::nvme_traffic::{flow, frame, interleaved, Flow};
use common::pdu_stream::{Faults, PduStream};
use ddpnic_hdl::flow::toeplitz::FiveTuple;
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::framing::reference::ByteRole;
use ddpnic_hdl::receive_model::{FrameVerdict, ReceiveModel, MAX_RANGES};
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

/// Bytes of the previous stream replayed at the start of a frame's tracker stream, and its beat.
const TAIL: usize = 23;
const BEAT: usize = 64;
/// The PDUs below have no header digest and CPDA 0: data starts right after the 24-byte header.
const PDO: usize = 24;

/// Stream beat of payload byte `i` of an in-order frame: the stream is 23 replayed bytes, then
/// the frame's payload.
fn beat(i: usize) -> usize {
    (i + TAIL) / BEAT
}

/// The one C2HData PDU of command `cid`: `len` data bytes at offset 0, last, with success; a
/// data digest when `ddgst` (a wrong one when `bad_digest`). Built from the PDU format.
fn c2h_data(rng: &mut SmallRng, ddgst: bool, cid: u16, len: usize, bad_digest: bool) -> Vec<u8> {
    let plen = (PDO + len + if ddgst { 4 } else { 0 }) as u32;
    // LAST_PDU | SUCCESS, and DDGSTF.
    let flags = 0x0C | u8::from(ddgst) << 1;
    // Type C2HData, hlen, pdo, plen, cid, ttag, data offset, data length, reserved.
    let mut pdu = vec![7, flags, 24, PDO as u8];
    pdu.extend(plen.to_le_bytes());
    pdu.extend(cid.to_le_bytes());
    pdu.extend([0; 2]);
    pdu.extend(0u32.to_le_bytes());
    pdu.extend((len as u32).to_le_bytes());
    pdu.extend([0; 4]);
    let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
    pdu.extend(&data);
    if ddgst {
        pdu.extend((crc32c::crc32c(&data) ^ u32::from(bad_digest)).to_le_bytes());
    }
    pdu
}

/// A flow carrying `pdus` back to back (CIDs 1, 2, ...; each command `lens[k]` data bytes,
/// its buffer registered), added to a fresh model. No truth: the tests work from the layout.
fn laid_out(ddgst: bool, pdus: &[Vec<u8>], lens: &[usize]) -> (ReceiveModel, Flow) {
    let cfg = QueueConfig { hdgst: false, ddgst, cpda: 0 };
    let mut tuple = FiveTuple { src_port: 4420, dst_port: 40_001, ..Default::default() };
    tuple.src_addr[..4].copy_from_slice(&[10, 0, 0, 1]);
    tuple.dst_addr[..4].copy_from_slice(&[10, 0, 0, 2]);
    let commands = lens.iter().enumerate().map(|(k, &len)| (k as u16 + 1, len as u32)).collect();
    let f = Flow { id: 1, tuple, ipv6: false, cfg, stream: PduStream { bytes: pdus.concat(), truth: Vec::new() }, isn: 0xFFFF_FF00, commands };
    let mut model = ReceiveModel::new();
    assert!(model.add_flow(f.id, f.tuple, f.cfg, f.isn));
    for (&cid, &len) in &f.commands {
        assert!(model.setup(f.id, cid, len));
    }
    (model, f)
}

/// The frame carrying stream bytes `start..end` of `f`.
fn send(model: &mut ReceiveModel, f: &Flow, start: usize, end: usize) -> FrameVerdict {
    model.frame(&frame(f, f.isn.wrapping_add(start as u32), start, end), false)
}

/// PDU A (CID 1, `len_a` data bytes) then PDU B (CID 2, 200 data bytes), with data digests:
/// a first frame up to 10 bytes into B's data, a second with the rest of B. Returns whether
/// B's data starts in the stream beat of A's digest, both verdicts and the CRC errors counted.
fn digest_then_data(len_a: usize, bad_a: bool, bad_b: bool) -> (bool, FrameVerdict, FrameVerdict, u64) {
    let mut rng = SmallRng::seed_from_u64(len_a as u64);
    let (mut model, f) = laid_out(true, &[c2h_data(&mut rng, true, 1, len_a, bad_a), c2h_data(&mut rng, true, 2, 200, bad_b)], &[len_a, 200]);
    let digest_a = PDO + len_a..PDO + len_a + 4;
    let data_b = digest_a.end + PDO;
    // A's data ends in an earlier beat than B's starts: no second data run in B's beat, so
    // whatever happens to B is the CRC unit's doing, not placement's.
    assert!(beat(digest_a.start - 1) < beat(data_b));
    let shared = beat(digest_a.end - 1) == beat(data_b);
    let first = send(&mut model, &f, 0, data_b + 10);
    assert!(first.stream.iter().all(|b| !b.second_run));
    assert!(first.ranges.iter().any(|r| r.cid == 2), "B's first bytes are placed either way");
    let second = send(&mut model, &f, data_b + 10, f.stream.bytes.len());
    assert_eq!(second.completions, vec![2]);
    (shared, first, second, model.counters.crc_errors)
}

#[test]
fn a_pdu_whose_data_starts_in_the_beat_of_a_digest_gets_no_crc_verdict() {
    // A's digest is in lanes 0-3 of stream beat 2, B's data starts in lane 28 of it.
    let (shared, first, second, crc_errors) = digest_then_data(81, false, false);
    assert!(shared);
    assert!(first.crc_ok, "A was followed from its first data byte and is intact");
    assert!(!second.crc_ok, "B's data started where the CRC unit had taken A's digest");
    assert_eq!(crc_errors, 0, "no verdict is no CRC error");
}

#[test]
fn a_pdu_whose_data_starts_in_a_later_beat_than_the_digest_is_checked() {
    // 40 more data bytes in A: its digest ends in beat 2, B's data starts in lane 4 of beat 3.
    let (shared, first, second, crc_errors) = digest_then_data(121, false, false);
    assert!(!shared);
    assert!(first.crc_ok && second.crc_ok);
    assert_eq!(crc_errors, 0);
}

#[test]
fn only_digests_the_crc_unit_followed_count_as_crc_errors() {
    let (shared, _, second, crc_errors) = digest_then_data(121, false, true);
    assert!(!shared && !second.crc_ok);
    assert_eq!(crc_errors, 1, "B was followed: its bad digest is a CRC error");
    let (shared, _, second, crc_errors) = digest_then_data(81, false, true);
    assert!(shared && !second.crc_ok);
    assert_eq!(crc_errors, 0, "B was not followed: the NIC cannot know its digest failed");
    let (shared, first, second, crc_errors) = digest_then_data(81, true, false);
    assert!(shared && !first.crc_ok && !second.crc_ok);
    assert_eq!(crc_errors, 1, "A was followed even though B then was not");
}

#[test]
fn without_data_digests_no_pdu_needs_following() {
    let mut rng = SmallRng::seed_from_u64(9);
    let (mut model, f) = laid_out(false, &[c2h_data(&mut rng, false, 1, 100, false), c2h_data(&mut rng, false, 2, 200, false)], &[100, 200]);
    let data_b = PDO + 100 + PDO;
    // B's data starts in the beat where A's data ends: with digests B would not be followed.
    assert_eq!(beat(PDO + 99), beat(data_b));
    let first = send(&mut model, &f, 0, data_b + 10);
    assert!(!first.crc_ok, "two data runs in one beat");
    let second = send(&mut model, &f, data_b + 10, f.stream.bytes.len());
    assert!(second.crc_ok);
}

/// A PDU whose data started while the flow walked in shadow (after a resync request, before
/// its confirmation) ends in sync with an intact digest, yet the CRC unit never saw its start.
#[test]
fn a_pdu_whose_data_started_in_shadow_gets_no_crc_verdict() {
    let mut rng = SmallRng::seed_from_u64(10);
    let lens = [100, 100, 300, 50];
    let pdus: Vec<Vec<u8>> = lens.iter().enumerate().map(|(k, &len)| c2h_data(&mut rng, true, k as u16 + 1, len, false)).collect();
    let (mut model, f) = laid_out(true, &pdus, &lens);
    let starts: Vec<usize> = pdus.iter().scan(0, |at, p| Some(std::mem::replace(at, *at + p.len()))).collect();
    // A gap of 10 bytes: the search finds PDU 1, PDU 2 confirms it, and the flow walks PDU 2
    // in shadow past its first data byte.
    let cut = starts[2] + PDO + 10;
    let first = send(&mut model, &f, 10, cut);
    assert_eq!(first.resync_request, Some(f.isn.wrapping_add(starts[2] as u32)));
    assert!(model.resync(f.id, f.isn.wrapping_add(starts[2] as u32)));
    let second = send(&mut model, &f, cut, starts[3]);
    assert_eq!(second.completions, vec![3]);
    assert!(second.ranges.iter().any(|r| r.cid == 3), "the rest of PDU 2 is placed");
    assert!(!second.crc_ok, "PDU 2's digest was not followed from its first data byte");
    let third = send(&mut model, &f, starts[3], f.stream.bytes.len());
    assert!(third.crc_ok, "the next PDU is followed again");
    assert_eq!(model.counters.crc_errors, 0);
}
