//! The framing reference against streams whose truth is known byte by byte: every byte it
//! claims is right, nothing is lost in order, and after drops, reordering and duplicates it
//! resynchronizes through the contract's request/confirm handshake. The resync search's
//! beat-level rules are checked against positions computed from the stream's truth and the
//! tracker-stream geometry (23 replayed bytes, then the new bytes, in 64-byte beats): where
//! the search resumes after a failure, which sequence number a request carries, a failure in
//! the request's beat, and offload decided when a header is judged.
mod common;

use common::pdu_stream::{arrivals, pdu_stream, Faults, PduStream};
use ddpnic_hdl::framing::pdu_rules::{QueueConfig, HLEN};
use ddpnic_hdl::framing::reference::{ByteRole, DataPduEnd, FlowTracker, SegmentReport, SyncState};
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

/// Whether stream byte `at` is the first data byte of a C2HData PDU: data right after its
/// header (or padding), from the truth.
fn data_start(stream: &PduStream, at: usize) -> bool {
    let data = |i: usize| matches!(stream.truth[i].role, ByteRole::Data { .. });
    data(at) && !data(at - 1)
}

/// Feed the arrivals; check every claim against the truth; confirm true resync requests.
fn run(stream: &PduStream, cfg: QueueConfig, isn: u32, arrivals: &[common::pdu_stream::Arrival]) -> (FlowTracker, Tally) {
    let mut tracker = FlowTracker::new(cfg, isn);
    let mut tally = Tally::default();
    for a in arrivals {
        let report = tracker.segment(a.seq, &stream.bytes[a.start..a.end]);
        let mut expected_completions = Vec::new();
        let mut expected_data_ends = Vec::new();
        let mut expected_tracked_starts = Vec::new();
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
                expected_data_ends.push(DataPduEnd { cid, at: i, digest_ok: cfg.ddgst.then_some(intact) });
            }
            if data_start(stream, a.start + i) {
                expected_tracked_starts.push(i);
            }
        }
        let completed: Vec<u16> = report.completions.iter().map(|c| c.cid).collect();
        assert_eq!(completed, expected_completions, "segment at {}: completions", a.start);
        for c in &report.completions {
            assert_eq!(stream.truth[a.start + c.at].pdu_end.flatten(), Some(c.cid), "segment at {}: a completion where its PDU ends", a.start);
        }
        assert_eq!(report.data_pdus, expected_data_ends, "segment at {}: data PDUs ending here", a.start);
        // Data starts walked in shadow are untracked; those must be true data starts too.
        let tracked_starts: Vec<usize> = report.data_starts.iter().copied().filter(|&i| report.roles[i] != ByteRole::Untracked).collect();
        assert_eq!(tracked_starts, expected_tracked_starts, "segment at {}: data starts", a.start);
        for &i in &report.data_starts {
            assert!(data_start(stream, a.start + i), "segment at {}: data start at {i} is not one", a.start);
        }
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

/// Stream bytes replayed at the start of every tracker stream, and its beat.
const TAIL: usize = 23;
const BEAT: usize = 64;

/// Where the resync search resumes after a header judged in the in-order segment
/// `seg_start..seg_end` fails: that header starts at `at` (stream index), so at tracker-stream
/// position `q = at - seg_start + 23` (the stream is the 23 previous bytes, then the segment);
/// the search resumes at the next beat boundary, or at the next stream's position 0 (23 bytes
/// before the segment's end) when `q` is in the stream's last beat. Returns a stream index.
fn resume_after(at: usize, seg_start: usize, seg_end: usize) -> usize {
    let q = at + TAIL - seg_start;
    let r = (BEAT * (q / BEAT + 1)).min(seg_end - seg_start);
    seg_start + r - TAIL
}

/// A flow that was in sync, then lost a stretch of its stream: bytes `0..a` arrive in order,
/// `a..g` never arrive, and the gap segment `g..s2` is shorter than a header, so no header is
/// judged in it and the search (which starts at `g`) decides in the segments after it.
struct AfterGap {
    stream: PduStream,
    /// Stream indices of the PDU starts, from the truth.
    starts: Vec<usize>,
    isn: u32,
    tracker: FlowTracker,
    a: usize,
    g: usize,
    s2: usize,
}

impl AfterGap {
    fn new(rng: &mut SmallRng, cfg: QueueConfig, max_data: u32) -> Self {
        let stream = pdu_stream(rng, &cfg, 150, max_data, false);
        let starts = (0..stream.truth.len()).filter(|&i| stream.truth[i].pdu_start).collect();
        let len = stream.bytes.len();
        let a = rng.gen_range(100..len / 4);
        let g = a + rng.gen_range(1..200);
        let s2 = g + rng.gen_range(1..HLEN);
        let isn = rng.gen();
        Self { stream, starts, isn, tracker: FlowTracker::new(cfg, isn), a, g, s2 }
    }

    fn len(&self) -> usize {
        self.stream.bytes.len()
    }

    /// The first PDU start at or after stream index `at` (from the truth), if any.
    fn start_from(&self, at: usize) -> Option<usize> {
        self.starts.get(self.starts.partition_point(|&s| s < at)).copied()
    }

    /// The start of the PDU after the one starting at `at`: `at + plen`, from the truth.
    fn next_start(&self, at: usize) -> Option<usize> {
        self.start_from(at + 1)
    }

    fn seq(&self, at: usize) -> u32 {
        self.isn.wrapping_add(at as u32)
    }

    /// Makes the header at `at` break the rules (an unknown PDU type).
    fn break_header(&mut self, at: usize) {
        self.stream.bytes[at] = 0xEE;
    }

    fn segment(&mut self, from: usize, to: usize) -> SegmentReport {
        let seq = self.seq(from);
        let report = self.tracker.segment(seq, &self.stream.bytes[from..to]);
        for (i, role) in report.roles.iter().enumerate() {
            assert!(*role == ByteRole::Untracked || *role == self.stream.truth[from + i].role, "byte {}: claimed {role:?}", from + i);
        }
        report
    }

    /// Feeds the flow from sk_add to the end of the gap segment.
    fn lose(&mut self) {
        let r = self.segment(0, self.a);
        assert!(!r.lost_sync && r.roles.iter().all(|r| *r != ByteRole::Untracked), "in sync before the gap");
        let r = self.segment(self.g, self.s2);
        assert!(r.lost_sync && r.resync_request.is_none(), "the gap loses sync");
    }

    /// The request the search must raise when it resumes at stream index `from` and the stream
    /// is intact from there: the first PDU start at or after `from` is the candidate, the one
    /// `plen` later confirms, and the request carries the confirming header's first byte.
    /// `None` when the stream ends before the confirming header is whole.
    fn request_from(&self, from: usize) -> Option<u32> {
        let candidate = self.start_from(from)?;
        let confirming = self.next_start(candidate)?;
        (confirming + HLEN <= self.len()).then(|| self.seq(confirming))
    }
}

/// Feeds `from..to` in segments of 1..=max bytes (in order); returns the first request and
/// whether any segment lost sync before it.
fn first_request(t: &mut AfterGap, rng: &mut SmallRng, from: usize, to: usize, max: usize) -> (Option<u32>, bool) {
    let mut at = from;
    let mut lost = false;
    while at < to {
        let end = (at + rng.gen_range(1..=max)).min(to);
        let r = t.segment(at, end);
        if r.resync_request.is_some() {
            return (r.resync_request, lost);
        }
        lost |= r.lost_sync;
        at = end;
    }
    (None, lost)
}

#[test]
fn a_request_carries_the_confirming_headers_sequence_number() {
    let mut rng = SmallRng::seed_from_u64(5);
    let mut seen = 0;
    for trial in 0..200 {
        let cfg = configs()[trial % 8];
        let mut t = AfterGap::new(&mut rng, cfg, if trial % 2 == 0 { 40 } else { 2000 });
        t.lose();
        // The search starts at the gap segment's first byte: the candidate is the first PDU
        // start there or after, the request names the PDU start `plen` after it.
        let candidate = t.start_from(t.g).unwrap();
        let confirming = t.next_start(candidate).unwrap();
        let Some(expected) = t.request_from(t.g) else { continue };
        assert_eq!(expected, t.seq(candidate).wrapping_add(confirming as u32 - candidate as u32));
        let (s2, len) = (t.s2, t.len());
        let (request, lost) = first_request(&mut t, &mut rng, s2, len, 1500);
        assert_eq!(request, Some(expected), "trial {trial}: candidate at {candidate}, confirming header at {confirming}");
        assert!(!lost, "trial {trial}: in-order bytes after the gap never lose sync");
        assert_eq!(t.tracker.state(), SyncState::ResyncPending { seq: expected });
        assert!(!t.tracker.confirm_resync(t.seq(candidate)), "trial {trial}: the candidate's number is not the one requested");
        assert!(t.tracker.confirm_resync(expected));
        seen += 1;
    }
    assert!(seen > 150, "{seen} requests checked");
}

#[test]
fn after_a_failed_check_the_search_resumes_at_the_next_beat_boundary() {
    let mut rng = SmallRng::seed_from_u64(6);
    let (mut checked, mut skipped_a_pdu_start, mut resumed_in_next_stream) = (0, 0, 0);
    for trial in 0..400 {
        let cfg = configs()[trial % 8];
        let mut t = AfterGap::new(&mut rng, cfg, 30);
        // The first candidate after the gap is a true header; break the header `plen` after
        // it, so that its check fails.
        let candidate = t.start_from(t.g).unwrap();
        let check = t.next_start(candidate).unwrap();
        t.break_header(check);
        t.lose();
        // Segments after the gap; find the one where the check's 24th byte arrives.
        let mut cuts = Vec::new();
        let mut at = t.s2;
        while at < t.len() {
            let end = (at + if rng.gen_bool(0.3) { rng.gen_range(1..40) } else { rng.gen_range(40..400) }).min(t.len());
            cuts.push((at, end));
            at = end;
        }
        let &(seg_start, seg_end) = cuts.iter().find(|(s, e)| (*s..*e).contains(&(check + HLEN - 1))).unwrap();
        let resume = resume_after(check, seg_start, seg_end);
        assert!(resume > check);
        let Some(expected) = t.request_from(resume) else { continue };
        // The old rule (resume at the byte after the check) would take the next PDU start.
        if t.next_start(check).is_some_and(|s| s < resume) {
            skipped_a_pdu_start += 1;
        }
        if resume + TAIL == seg_end {
            resumed_in_next_stream += 1;
        }
        let mut request = None;
        for &(s, e) in &cuts {
            let r = t.segment(s, e);
            assert!(!r.lost_sync, "trial {trial}: a failed check is not a loss of sync");
            if r.resync_request.is_some() {
                request = r.resync_request;
                break;
            }
        }
        assert_eq!(request, Some(expected), "trial {trial}: check at {check} failed in segment {seg_start}..{seg_end}, search resumes at {resume}");
        checked += 1;
    }
    assert!(checked > 300 && skipped_a_pdu_start > 50 && resumed_in_next_stream > 5, "{checked} checked, {skipped_a_pdu_start} skipped a PDU start, {resumed_in_next_stream} resumed in the next stream");
}

#[test]
fn a_failure_in_the_requests_beat_cancels_it_and_is_no_loss() {
    let mut rng = SmallRng::seed_from_u64(7);
    let (mut same_beat, mut later_beat, mut next_segment) = (0, 0, 0);
    for trial in 0..600 {
        let cfg = configs()[trial % 8];
        let mut t = AfterGap::new(&mut rng, cfg, 24);
        // Candidate and confirming header are true; the header after the confirming one breaks.
        let candidate = t.start_from(t.g).unwrap();
        let confirming = t.next_start(candidate).unwrap();
        let broken = t.next_start(confirming).unwrap();
        t.break_header(broken);
        let request = t.seq(confirming);
        t.lose();
        // The next segment ends with the broken header's 24th byte (both judged in it), or
        // cuts the broken header (it is judged in the segment after).
        let split = rng.gen_bool(0.25);
        let e2 = if split { broken + rng.gen_range(1..HLEN) } else { broken + HLEN };
        let r2 = t.segment(t.s2, e2);
        let len = t.len();
        if split {
            assert_eq!(r2.resync_request, Some(request), "trial {trial}");
            assert!(!r2.lost_sync);
            assert_eq!(t.tracker.state(), SyncState::ResyncPending { seq: request });
            let e3 = (e2 + 4 * BEAT).min(len);
            let r3 = t.segment(e2, e3);
            assert!(r3.lost_sync, "trial {trial}: a failure in a later segment than the request is a loss");
            assert_eq!(r3.lost_at, Some(0), "trial {trial}: the broken header started in the previous segment");
            next_segment += 1;
            // The search resumes at the boundary of the broken header's beat in e2..e3.
            let resume = resume_after(broken, e2, e3);
            if let Some(expected) = t.request_from(resume) {
                let got = r3.resync_request.or_else(|| first_request(&mut t, &mut rng, e3, len, 1500).0);
                assert_eq!(got, Some(expected), "trial {trial}: search resumes at {resume}");
            }
            continue;
        }
        // The request is raised at the confirming header, the failure at the broken one: both
        // judged in the stream of s2..e2, at positions `at - s2 + 23`.
        let request_beat = (confirming + TAIL - t.s2) / BEAT;
        let failure_beat = (broken + TAIL - t.s2) / BEAT;
        if request_beat == failure_beat {
            assert_eq!(r2.resync_request, None, "trial {trial}: the failure cancels the request of its beat");
            assert!(!r2.lost_sync && r2.lost_at.is_none(), "trial {trial}: a failure that cancels a request is no loss");
            assert_eq!(t.tracker.state(), SyncState::Searching { candidate: None });
            assert!(!t.tracker.confirm_resync(request), "trial {trial}: a cancelled request cannot be confirmed");
            same_beat += 1;
        } else {
            assert!(r2.lost_sync, "trial {trial}: a failure in shadow after the request's beat is a loss");
            assert_eq!(r2.lost_at, Some(broken - t.s2));
            later_beat += 1;
        }
        let resume = resume_after(broken, t.s2, e2);
        if let Some(expected) = t.request_from(resume) {
            let (got, lost) = first_request(&mut t, &mut rng, e2, len, 1500);
            assert_eq!(got, Some(expected), "trial {trial}: search resumes at {resume}");
            assert!(!lost);
        }
    }
    assert!(same_beat > 30 && later_beat > 30 && next_segment > 30, "same beat {same_beat}, later beat {later_beat}, next segment {next_segment}");
}

/// The framing is followed in shadow, so a confirmation turns offload on at once: the rest of
/// the PDU in progress is placed and its completion reported.
#[test]
fn a_confirmation_offloads_the_rest_of_the_pdu_in_progress() {
    let mut rng = SmallRng::seed_from_u64(8);
    let (mut data_offloaded, mut shadow_starts_seen) = (0, 0);
    for trial in 0..200 {
        let cfg = configs()[trial % 8];
        let mut t = AfterGap::new(&mut rng, cfg, 300);
        let candidate = t.start_from(t.g).unwrap();
        let confirming = t.next_start(candidate).unwrap();
        let Some(next) = t.next_start(confirming) else { continue };
        let Some(after) = t.next_start(next) else { continue };
        if next - confirming <= HLEN + 1 {
            continue;
        }
        t.lose();
        // The segment with the request ends inside the confirming header's PDU, past its header.
        let e2 = confirming + rng.gen_range(HLEN + 1..next - confirming);
        let r2 = t.segment(t.s2, e2);
        assert_eq!(r2.resync_request, Some(t.seq(confirming)));
        assert!(r2.roles.iter().all(|r| *r == ByteRole::Untracked), "nothing offloaded before the confirmation");
        // The walk in shadow from the confirming header reports its data start, untracked.
        let shadow_starts: Vec<usize> = (confirming..e2).filter(|&i| data_start(&t.stream, i)).map(|i| i - t.s2).collect();
        assert_eq!(r2.data_starts, shadow_starts, "trial {trial}: data starts walked in shadow");
        shadow_starts_seen += shadow_starts.len();
        assert!(t.tracker.confirm_resync(t.seq(confirming)));
        assert_eq!(t.tracker.state(), SyncState::InSync);
        let r3 = t.segment(e2, after);
        assert!(!r3.lost_sync);
        for i in e2..after {
            if matches!(t.stream.truth[i].role, ByteRole::Data { .. }) {
                assert_eq!(r3.roles[i - e2], t.stream.truth[i].role, "trial {trial}: byte {i} (PDUs at {confirming} and {next})");
                data_offloaded += 1;
            }
        }
        let starts: Vec<usize> = (e2..after).filter(|&i| data_start(&t.stream, i)).map(|i| i - e2).collect();
        assert_eq!(r3.data_starts, starts, "trial {trial}: data starts after the confirmation");
        let completes: Vec<u16> = (e2..after).filter_map(|i| t.stream.truth[i].pdu_end.flatten()).collect();
        assert_eq!(r3.completions.iter().map(|c| c.cid).collect::<Vec<_>>(), completes, "trial {trial}");
    }
    assert!(data_offloaded > 1000 && shadow_starts_seen > 50, "{data_offloaded} data bytes checked, {shadow_starts_seen} data starts in shadow");
}
