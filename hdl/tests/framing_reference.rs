//! The framing reference against streams whose truth is known byte by byte: every byte it
//! claims is right, nothing is lost in order, and after drops, reordering and duplicates it
//! resynchronizes through the contract's request/confirm handshake.
mod common;

use common::pdu_stream::{arrivals, pdu_stream, Faults, PduStream};
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::framing::reference::{ByteRole, DataPduEnd, FlowTracker, SyncState};
use rand::{rngs::SmallRng, Rng, SeedableRng};

fn configs() -> Vec<QueueConfig> {
    let mut all = Vec::new();
    for hdgst in [false, true] {
        for ddgst in [false, true] {
            for cpda in [0u8, 3] {
                all.push(QueueConfig { hdgst, ddgst, cpda });
            }
        }
    }
    all
}

#[derive(Default, Debug)]
struct Tally {
    tracked: usize,
    untracked: usize,
    completions: usize,
    resyncs: usize,
    lost_sync: usize,
    bad_digests_caught: usize,
}

/// Feed the arrivals; check every claim against the truth; confirm true resync requests.
fn run(stream: &PduStream, cfg: QueueConfig, isn: u32, arrivals: &[common::pdu_stream::Arrival]) -> (FlowTracker, Tally) {
    let mut tracker = FlowTracker::new(cfg, isn);
    let mut tally = Tally::default();
    for a in arrivals {
        let report = tracker.segment(a.seq, &stream.bytes[a.start..a.end]);
        let mut expected_completions = Vec::new();
        let mut expected_data_ends = Vec::new();
        for (i, role) in report.roles.iter().enumerate() {
            let truth = &stream.truth[a.start + i];
            if *role == ByteRole::Untracked {
                tally.untracked += 1;
                continue;
            }
            tally.tracked += 1;
            assert_eq!(*role, truth.role, "byte {} (seq {}): claimed role differs from the stream", a.start + i, a.seq.wrapping_add(i as u32));
            if let Some(completes) = truth.pdu_end {
                expected_completions.extend(completes);
            }
            if let Some((cid, intact)) = truth.data_end {
                expected_data_ends.push(DataPduEnd { cid, digest_ok: cfg.ddgst.then_some(intact) });
            }
        }
        let completed: Vec<u16> = report.completions.iter().map(|c| c.cid).collect();
        assert_eq!(completed, expected_completions, "segment at {}: completions", a.start);
        for c in &report.completions {
            assert_eq!(stream.truth[a.start + c.at].pdu_end.flatten(), Some(c.cid), "segment at {}: a completion where its PDU ends", a.start);
        }
        assert_eq!(report.data_pdus, expected_data_ends, "segment at {}: data PDUs ending here", a.start);
        tally.completions += report.completions.len();
        tally.lost_sync += usize::from(report.lost_sync);
        tally.bad_digests_caught += report.data_pdus.iter().filter(|p| p.digest_ok == Some(false)).count();
        if report.crc_ok {
            assert!(report.roles.iter().all(|r| *r != ByteRole::Untracked), "crc_ok with untracked bytes");
        }
        if let Some(seq) = report.resync_request {
            let at = seq.wrapping_sub(isn) as usize;
            assert!(stream.truth.get(at).is_some_and(|t| t.pdu_start), "resync request for seq {seq} which is not a PDU start");
            assert!(!tracker.confirm_resync(seq.wrapping_add(1)), "a confirmation for another sequence number is ignored");
            assert!(tracker.confirm_resync(seq), "confirming the requested sequence");
            tally.resyncs += 1;
        }
    }
    (tracker, tally)
}

#[test]
fn in_order_streams_are_tracked_completely() {
    let mut rng = SmallRng::seed_from_u64(1);
    for cfg in configs() {
        for mss in [1, 7, 100, 1448, 8948] {
            let stream = pdu_stream(&mut rng, &cfg, 60, 9000, cfg.ddgst);
            // Start near the top of sequence space so the stream wraps.
            let isn = u32::MAX - rng.gen_range(0..20_000);
            let arrivals = arrivals(&mut rng, isn, stream.bytes.len(), mss, Faults::default());
            let (tracker, tally) = run(&stream, cfg, isn, &arrivals);
            assert_eq!(tally.untracked, 0, "{cfg:?} mss {mss}: nothing is left to software in order");
            assert_eq!(tally.completions, stream.truth.iter().filter(|t| matches!(t.pdu_end, Some(Some(_)))).count());
            assert_eq!(tracker.state(), SyncState::InSync);
            if cfg.ddgst {
                assert!(tally.bad_digests_caught > 0, "{cfg:?}: corrupted payloads are caught");
            }
        }
    }
}

#[test]
fn retransmissions_and_duplicates_change_nothing() {
    let mut rng = SmallRng::seed_from_u64(2);
    for cfg in configs() {
        let stream = pdu_stream(&mut rng, &cfg, 80, 5000, false);
        let mut arrivals = arrivals(&mut rng, 1000, stream.bytes.len(), 1448, Faults { duplicate: 0.3, ..Default::default() });
        // Overlapping retransmissions: a segment re-sent with a few new bytes appended.
        for i in (1..arrivals.len()).step_by(7).rev() {
            let mut overlap = arrivals[i].clone();
            overlap.start = arrivals[i - 1].start + 3.min(arrivals[i - 1].end - arrivals[i - 1].start - 1);
            overlap.seq = 1000u32.wrapping_add(overlap.start as u32);
            arrivals.insert(i, overlap);
        }
        let (tracker, tally) = run(&stream, cfg, 1000, &arrivals);
        assert_eq!(tally.resyncs, 0, "{cfg:?}: old bytes never lose sync");
        assert_eq!(tally.tracked, stream.bytes.len(), "{cfg:?}: every byte tracked exactly once");
        assert_eq!(tracker.state(), SyncState::InSync);
    }
}

#[test]
fn drops_and_reordering_resync_through_the_handshake() {
    let mut rng = SmallRng::seed_from_u64(3);
    let mut total = Tally::default();
    for (i, cfg) in configs().into_iter().enumerate() {
        for round in 0..4 {
            let mut stream = pdu_stream(&mut rng, &cfg, 400, if round % 2 == 0 { 3000 } else { 300 }, false);
            // A calm tail with short PDUs so the flow is seen back in sync at the end.
            let tail = pdu_stream(&mut rng, &cfg, 40, 200, false);
            let calm_from = stream.bytes.len();
            stream.bytes.extend(tail.bytes);
            stream.truth.extend(tail.truth);
            let isn = rng.gen();
            let mut faulty = arrivals(&mut rng, isn, calm_from, 1448, Faults { drop: 0.05, reorder: 0.05, duplicate: 0.02 });
            let calm = arrivals(&mut rng, isn.wrapping_add(calm_from as u32), stream.bytes.len() - calm_from, 1448, Faults::default());
            faulty.extend(calm.into_iter().map(|mut a| {
                a.start += calm_from;
                a.end += calm_from;
                a
            }));
            let (tracker, tally) = run(&stream, cfg, isn, &faulty);
            assert!(tally.tracked > stream.bytes.len() / 2, "config {i} round {round}: most bytes still tracked ({tally:?})");
            assert_eq!(tracker.state(), SyncState::InSync, "config {i} round {round}: back in sync by the end ({tally:?})");
            total.lost_sync += tally.lost_sync;
            total.resyncs += tally.resyncs;
        }
    }
    assert!(total.lost_sync > 20 && total.resyncs > 20, "faults must exercise the resync path: {total:?}");
}

#[test]
fn garbage_never_produces_claims() {
    let mut rng = SmallRng::seed_from_u64(4);
    for cfg in configs() {
        // A flow that starts out of sync on random bytes: nothing may be claimed.
        let mut tracker = FlowTracker::new(cfg, 0);
        let garbage: Vec<u8> = (0..200_000).map(|_| rng.gen()).collect();
        let report = tracker.segment(50, &garbage);
        assert!(report.lost_sync);
        assert!(report.roles.iter().all(|r| *r == ByteRole::Untracked));
        assert_eq!(report.resync_request, None, "{cfg:?}: random bytes confirmed a header pattern");
    }
}
