//! The receive path at packet level: what the NIC must report for every frame (parser +
//! flow table + PDU tracker + tag lookup), written from the protocol and the contract, not
//! from the RTL's structure. It is the scoreboard the Verilator system runs are held to, and
//! it states the per-frame rules the RTL follows:
//!
//! - A frame is offloadable when etherparse reads Ethernet (optionally one 802.1Q tag), IPv4
//!   without fragmentation or IPv6 without extension headers, and TCP, with both checksums
//!   right and a good FCS, and its 5-tuple is an added flow. Anything else changes no state.
//! - The flow's bytes are framed by [`FlowTracker`] (in-sequence walk, gaps, resync).
//! - The tracker sees each frame as a stream (framing/README.md, framing/TRACKER_PORTS.md):
//!   the flow's previous 23 stream bytes, then the frame's new payload bytes (those past the
//!   flow's expected sequence number), 64 bytes a beat. [`TrackerBeat`] is what `pdu_tracker`
//!   presents for each stream beat.
//! - A resync request (the sequence number of the confirming header's first byte, see
//!   `framing/reference.rs`) is presented on the stream's last beat, and only there.
//! - Placement works per stream beat: in each beat only the first run of C2HData bytes can be
//!   placed; a later run in the same beat goes to software and clears the frame's `crc_ok`
//!   (the CRC32C unit checks one data run a beat, like the placement stage takes one tag a
//!   beat). In the beat where the flow meets an invalid header (where its first byte is in
//!   the stream) nothing is presented: the walk does not know which of the beat's headers
//!   broke the rules.
//! - With data digests the CRC32C unit takes one CRC segment (a C2HData PDU's data and data
//!   digest bytes) per stream beat. It follows a PDU's digest when, at the PDU's first data
//!   byte, that byte is tracked in sync and no byte of the frame's new payload before it in
//!   the same stream beat is data or data digest (the beat's segment is taken). The flow keeps
//!   that decision across frames until the PDU ends. Each C2HData PDU that ends in the frame
//!   in sync: not followed, the frame's `crc_ok` is false (no verdict, not a CRC error);
//!   followed with a failed digest, one `crc_errors` (and `crc_ok` false) and the beat of
//!   its last byte is `crc_bad`, except in the beat where sync is lost (it presents
//!   nothing, so no digest is checked there). Without data
//!   digests no PDU is followed and `crc_ok` does not depend on it.
//! - A run is placed when its (flow, CID) has a live buffer and `offset + len` fits in it;
//!   otherwise it goes to software, counted as an unknown CID or out of bounds.
//! - Placed runs that continue each other (same CID, adjacent in the frame and in the buffer)
//!   form one range; a frame reports at most [`MAX_RANGES`]; runs beyond go to software.
use crate::flow::toeplitz::FiveTuple;
use crate::framing::pdu_rules::QueueConfig;
use crate::framing::reference::{ByteRole, FlowTracker, SegmentReport};
use crate::framing::chain_walk::TAIL;
use etherparse::{IpNumber, LinkExtSlice, NetSlice, SlicedPacket, TcpSlice};
use std::collections::HashMap;

/// Placed ranges an rx completion can carry.
pub const MAX_RANGES: usize = 4;
const BEAT: usize = 64;

/// Payload bytes of one frame that went to a command's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacedRange {
    /// Byte offset in the frame.
    pub frame_offset: usize,
    pub len: usize,
    pub cid: u16,
    pub data_offset: u32,
}

/// The C2HData bytes a stream beat presents to placement: lanes `lane .. lane + len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRun {
    pub lane: usize,
    pub len: usize,
    pub cid: u16,
    /// Data offset of the byte in `lane`.
    pub offset: u32,
}

/// One beat of a frame's tracker stream, as `pdu_tracker` presents it on `t_*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrackerBeat {
    /// The stream bytes of the beat (64, fewer on the last beat); on the first beat, lanes
    /// 0..23 are the flow's previous stream bytes.
    pub data: Vec<u8>,
    /// Frame byte offset of lane 0 (mod 2^16).
    pub frame_offset: u16,
    pub run: Option<DataRun>,
    /// A second run of data bytes in the beat went to software.
    pub second_run: bool,
    /// Commands completed by PDUs whose last byte is in this beat.
    pub completions: Vec<u16>,
    /// The flow lost sync at this beat.
    pub lost: bool,
    /// A data digest the NIC followed failed in a PDU ending in this beat (counted as a CRC
    /// error).
    pub crc_bad: bool,
    /// On the stream's last beat: the frame's resync request (the TCP sequence number of the
    /// confirming header's first byte); `None` on every other beat.
    pub resync: Option<u32>,
}

/// What the NIC reports for one frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameVerdict {
    pub ip_csum_ok: bool,
    pub tcp_csum_ok: bool,
    /// The frame belongs to an added flow (its id), whether or not it was offloadable.
    pub flow: Option<u16>,
    /// The frame's new payload bytes were streamed to the tracker (an offloadable frame of an
    /// added flow with bytes past the expected sequence number): `stream` holds its beats.
    pub tracked: bool,
    pub stream: Vec<TrackerBeat>,
    pub crc_ok: bool,
    /// The frame's resync request: the TCP sequence number of the confirming header's first
    /// byte (also on the stream's last beat, [`TrackerBeat::resync`]).
    pub resync_request: Option<u32>,
    pub ranges: Vec<PlacedRange>,
    /// Commands completed by PDUs that ended in this frame.
    pub completions: Vec<u16>,
}

/// The contract's counters (`rx_nvme_tcp_*`) and the debugging ones, as the NIC keeps them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub sk_add: u64,
    pub sk_add_fail: u64,
    pub sk_del: u64,
    pub setup: u64,
    pub setup_fail: u64,
    pub teardown: u64,
    pub resync: u64,
    /// Frames with at least one placed range.
    pub packets: u64,
    /// Bytes placed.
    pub bytes: u64,
    pub frames: u64,
    /// Data digests that failed on PDUs the CRC unit followed (it knows no others).
    pub crc_errors: u64,
    pub lost_sync: u64,
    pub unknown_cid: u64,
    pub out_of_bounds: u64,
    /// Data runs handed to software because the beat already placed one.
    pub second_run: u64,
    /// Data runs handed to software because the completion was full.
    pub range_overflow: u64,
}

/// A frame read by etherparse: the flow, the checksum verdicts and where the payload is.
struct Parsed {
    tuple: FiveTuple,
    offloadable: bool,
    ip_csum_ok: bool,
    tcp_csum_ok: bool,
    seq: u32,
    payload_start: usize,
    payload_len: usize,
}

fn parse(frame: &[u8]) -> Option<Parsed> {
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    if p.link_exts.len() > 1 || p.link_exts.iter().any(|e| !matches!(e, LinkExtSlice::Vlan(_))) {
        return None;
    }
    let base = frame.as_ptr() as usize;
    let mut tuple = FiveTuple::default();
    let (ip_csum_ok, tcp_csum_ok, whole, tcp): (bool, bool, bool, TcpSlice) = match &p.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            tuple.src_addr[..4].copy_from_slice(&h.source());
            tuple.dst_addr[..4].copy_from_slice(&h.destination());
            let tcp = (h.protocol() == IpNumber::TCP).then(|| TcpSlice::from_slice(ip.payload().payload).ok()).flatten()?;
            let tcp_ok = tcp.calc_checksum_ipv4(h.source(), h.destination()).is_ok_and(|c| c == tcp.checksum());
            let whole = !h.more_fragments() && h.fragments_offset().value() == 0;
            (h.to_header().calc_header_checksum() == h.header_checksum(), tcp_ok, whole, tcp)
        }
        Some(NetSlice::Ipv6(ip)) => {
            let h = ip.header();
            tuple.ipv6 = true;
            tuple.src_addr = h.source();
            tuple.dst_addr = h.destination();
            if !ip.extensions().is_empty() || h.next_header() != IpNumber::TCP {
                return None;
            }
            let tcp = TcpSlice::from_slice(ip.payload().payload).ok()?;
            let tcp_ok = tcp.calc_checksum_ipv6(h.source(), h.destination()).is_ok_and(|c| c == tcp.checksum());
            (true, tcp_ok, true, tcp)
        }
        _ => return None,
    };
    tuple.src_port = tcp.source_port();
    tuple.dst_port = tcp.destination_port();
    Some(Parsed {
        tuple,
        offloadable: ip_csum_ok && tcp_csum_ok && whole,
        ip_csum_ok,
        tcp_csum_ok,
        seq: tcp.sequence_number(),
        payload_start: tcp.payload().as_ptr() as usize - base,
        payload_len: tcp.payload().len(),
    })
}

struct Flow {
    id: u16,
    tracker: FlowTracker,
    /// The last 23 bytes of the flow's previous stream.
    tail: Vec<u8>,
    /// The CRC unit follows the data digest of the C2HData PDU in progress.
    crc_followed: bool,
}

/// The NIC's receive path, frame by frame.
pub struct ReceiveModel {
    flows: HashMap<FiveTuple, Flow>,
    ids: HashMap<u16, FiveTuple>,
    /// Live buffers: (flow, CID) -> length.
    buffers: HashMap<(u16, u16), u32>,
    pub counters: Counters,
}

impl Default for ReceiveModel {
    fn default() -> Self {
        Self { flows: HashMap::new(), ids: HashMap::new(), buffers: HashMap::new(), counters: Counters::default() }
    }
}

impl ReceiveModel {
    pub fn new() -> Self {
        Self::default()
    }

    /// sk_add: offload the flow `tuple` (as the NIC sees it: source = the target) as flow
    /// `id`, its next PDU starting at TCP sequence `seq`. Fails when the tuple or id is in use.
    pub fn add_flow(&mut self, id: u16, tuple: FiveTuple, cfg: QueueConfig, seq: u32) -> bool {
        if self.flows.contains_key(&tuple) || self.ids.contains_key(&id) {
            self.counters.sk_add_fail += 1;
            return false;
        }
        self.flows.insert(tuple, Flow { id, tracker: FlowTracker::new(cfg, seq), tail: vec![0; TAIL], crc_followed: false });
        self.ids.insert(id, tuple);
        self.counters.sk_add += 1;
        true
    }

    pub fn del_flow(&mut self, id: u16) {
        if let Some(tuple) = self.ids.remove(&id) {
            self.flows.remove(&tuple);
            self.buffers.retain(|(flow, _), _| *flow != id);
            self.counters.sk_del += 1;
        }
    }

    /// Setup: a buffer of `len` bytes for (flow, CID). Fails when the pair is registered.
    pub fn setup(&mut self, flow: u16, cid: u16, len: u32) -> bool {
        if self.buffers.contains_key(&(flow, cid)) || !self.ids.contains_key(&flow) {
            self.counters.setup_fail += 1;
            return false;
        }
        self.buffers.insert((flow, cid), len);
        self.counters.setup += 1;
        true
    }

    pub fn teardown(&mut self, flow: u16, cid: u16) {
        if self.buffers.remove(&(flow, cid)).is_some() {
            self.counters.teardown += 1;
        }
    }

    /// The host confirms a resync request with the number the request carried.
    pub fn resync(&mut self, flow: u16, seq: u32) -> bool {
        let Some(tuple) = self.ids.get(&flow) else { return false };
        self.flows.get_mut(tuple).is_some_and(|f| f.tracker.confirm_resync(seq))
    }

    /// One received frame (without FCS); `fcs_bad` is the MAC's verdict.
    pub fn frame(&mut self, frame: &[u8], fcs_bad: bool) -> FrameVerdict {
        self.counters.frames += 1;
        let mut verdict = FrameVerdict::default();
        let Some(p) = parse(frame) else { return verdict };
        verdict.ip_csum_ok = p.ip_csum_ok;
        verdict.tcp_csum_ok = p.tcp_csum_ok;
        let Some(flow) = self.flows.get_mut(&p.tuple) else { return verdict };
        verdict.flow = Some(flow.id);
        if !p.offloadable || fcs_bad || p.payload_len == 0 {
            return verdict;
        }
        let payload = &frame[p.payload_start..p.payload_start + p.payload_len];
        let fresh = seq_diff(flow.tracker.expected_seq(), p.seq).clamp(0, p.payload_len as i64) as usize;
        let report = flow.tracker.segment(p.seq, payload);
        let id = flow.id;
        verdict.crc_ok = report.crc_ok;
        verdict.resync_request = report.resync_request;
        verdict.completions = report.completions.iter().map(|c| c.cid).collect();
        self.counters.resync += u64::from(report.resync_request.is_some());
        self.counters.lost_sync += u64::from(report.lost_sync);
        if fresh == p.payload_len {
            return verdict;
        }
        verdict.tracked = true;
        // A PDU's data starts before it ends, and a later PDU's data start must not decide for
        // an earlier one's end: take them in payload order.
        let mut starts = report.data_starts.iter().copied().peekable();
        // The beat where sync is lost presents nothing, so the unit checks no digest there.
        let lost_beat = report.lost_at.map(|i| stream_beat(i, fresh));
        let mut failed_beats = Vec::new();
        for end in &report.data_pdus {
            while let Some(start) = starts.next_if(|&s| s < end.at) {
                flow.crc_followed = crc_follows(&report, fresh, start);
            }
            match end.digest_ok {
                // No data digests: nothing to follow.
                None => {}
                Some(_) if !flow.crc_followed => verdict.crc_ok = false,
                Some(false) if Some(stream_beat(end.at, fresh)) != lost_beat => failed_beats.push(stream_beat(end.at, fresh)),
                Some(_) => {}
            }
        }
        for start in starts {
            flow.crc_followed = crc_follows(&report, fresh, start);
        }
        let mut stream = std::mem::take(&mut flow.tail);
        stream.extend_from_slice(&payload[fresh..]);
        flow.tail = stream[stream.len() - TAIL..].to_vec();
        let frame_offset = |beat: usize| (p.payload_start + fresh + BEAT * beat).wrapping_sub(TAIL) as u16;
        verdict.stream = stream.chunks(BEAT).enumerate().map(|(b, data)| TrackerBeat { data: data.to_vec(), frame_offset: frame_offset(b), ..Default::default() }).collect();
        present_runs(&mut verdict.stream, &report, fresh);
        for b in failed_beats {
            verdict.stream[b].crc_bad = true;
            self.counters.crc_errors += 1;
        }
        if let Some(last) = verdict.stream.last_mut() {
            last.resync = report.resync_request;
        }
        for beat in &mut verdict.stream {
            if beat.second_run {
                self.counters.second_run += 1;
                verdict.crc_ok = false;
            }
            let Some(run) = beat.run else { continue };
            match self.buffers.get(&(id, run.cid)) {
                None => self.counters.unknown_cid += 1,
                Some(&len) if u64::from(run.offset) + run.len as u64 > u64::from(len) => self.counters.out_of_bounds += 1,
                Some(_) => {
                    let frame_offset = usize::from(beat.frame_offset.wrapping_add(run.lane as u16));
                    let full = verdict.ranges.len() == MAX_RANGES;
                    match verdict.ranges.last_mut() {
                        Some(last) if last.cid == run.cid && last.frame_offset + last.len == frame_offset && last.data_offset + last.len as u32 == run.offset => last.len += run.len,
                        _ if full => {
                            self.counters.range_overflow += 1;
                            continue;
                        }
                        _ => verdict.ranges.push(PlacedRange { frame_offset, len: run.len, cid: run.cid, data_offset: run.offset }),
                    }
                    self.counters.bytes += run.len as u64;
                }
            }
        }
        self.counters.packets += u64::from(!verdict.ranges.is_empty());
        verdict
    }
}

/// `a - b` in sequence space.
fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// Stream beat of payload byte `i` (at stream position `i - fresh + 23`).
fn stream_beat(i: usize, fresh: usize) -> usize {
    (i + TAIL).saturating_sub(fresh) / BEAT
}

/// Whether the CRC unit follows the C2HData PDU whose first data byte is payload byte
/// `start`: the byte is tracked in sync, and no new byte before it in its beat is data or
/// data digest (the unit took that beat's CRC segment).
fn crc_follows(report: &SegmentReport, fresh: usize, start: usize) -> bool {
    let beat = stream_beat(start, fresh);
    let taken = (fresh..start).rev().take_while(|&i| stream_beat(i, fresh) == beat).any(|i| matches!(report.roles[i], ByteRole::Data { .. } | ByteRole::DataDigest));
    matches!(report.roles[start], ByteRole::Data { .. }) && !taken
}

/// Fills in what each stream beat presents, from the segment's byte roles: the first run of
/// data bytes of a beat (a later one is `second_run`), the completions, and the beat where
/// sync was lost (which presents nothing). Payload byte `i` is at stream position
/// `i - fresh + 23`.
fn present_runs(beats: &mut [TrackerBeat], report: &SegmentReport, fresh: usize) {
    let beat_of = |i: usize| stream_beat(i, fresh);
    let lost_beat = report.lost_at.map(beat_of);
    let mut open: Option<(usize, DataRun)> = None;
    for (i, role) in report.roles.iter().enumerate().skip(fresh) {
        let b = beat_of(i);
        let lane = (i + TAIL - fresh) % BEAT;
        let ByteRole::Data { cid, offset } = *role else { continue };
        if Some(b) == lost_beat {
            continue;
        }
        match &mut open {
            Some((ob, r)) if *ob == b && r.lane + r.len == lane && r.cid == cid && r.offset + r.len as u32 == offset => r.len += 1,
            Some((ob, _)) if *ob == b => beats[b].second_run = true,
            _ => {
                if let Some((ob, r)) = open.take() {
                    beats[ob].run = Some(r);
                }
                open = Some((b, DataRun { lane, len: 1, cid, offset }));
            }
        }
    }
    if let Some((ob, r)) = open {
        beats[ob].run = Some(r);
    }
    for c in &report.completions {
        let b = beat_of(c.at);
        if Some(b) != lost_beat {
            beats[b].completions.push(c.cid);
        }
    }
    if let Some(b) = lost_beat {
        beats[b].lost = true;
    }
}
