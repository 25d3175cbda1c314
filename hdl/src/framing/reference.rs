//! The receive framing reference: NVMe/TCP PDU tracking for one offloaded flow, one byte at a
//! time, written from the protocol and the ULP DDP contract rather than from the beat-level
//! hardware. It is the scoreboard for the tracker RTL and for the system simulation.
//!
//! Behaviour (what the hardware must match):
//! - In-sequence bytes are walked PDU by PDU: header (+ header digest, padding), C2HData
//!   payload with its CID and data offset, data digest. Every header must pass
//!   [`parse_header`] for the queue's config, or the flow loses sync. The rules read the
//!   24-byte common + PDU-specific header only (never the header digest), so a header is
//!   judged when its 24th byte arrives.
//! - Bytes at or below the expected sequence number that were seen before (retransmissions,
//!   duplicates, the old part of an overlap) are not tracked again and change nothing.
//!
//! Stream geometry (where the beat-level rules below come from). Each segment with new bytes
//! is one tracker stream: the flow's previous 23 stream bytes, then the segment's new payload
//! bytes (the `new_len` bytes past the expected sequence number, the first at sequence number
//! `base`), cut into 64-byte beats from stream position 0. Payload byte `i` (`i >= skip`, the
//! already-seen bytes) sits at stream position `i - skip + 23`, so a header judged at payload
//! byte `i` starts at stream position `q = i - skip` (sequence number `base - 23 + q`, always
//! `0 <= q < new_len`), in stream beat `q / 64`. That is the stream where all 24 of its bytes
//! are, and the beat where the RTL decodes it.
//!
//! Losing sync and the resync search:
//! - A segment that starts beyond the expected sequence number (a gap) loses sync. The search
//!   then starts at the gap segment's first new byte (the stream's replayed 23 bytes are
//!   stale).
//! - A header that fails the rules while the flow walks (in sync, or in shadow after a
//!   request) also loses sync, except in the case below.
//! - The search looks at the in-order bytes for a header that passes the rules, holds that one
//!   candidate, and checks that another valid header starts exactly `plen` bytes later.
//!   Positions between a candidate and its check are not searched (one candidate at a time).
//! - Where the search resumes after a failure (a header failing while the flow walks, or a
//!   candidate's check header failing): at stream position `r = min(64 * (q / 64 + 1),
//!   new_len)` of the stream in which the failing header (start `q`) was judged, i.e. at the
//!   next beat boundary, or at the next stream's first position when the failure is in the
//!   stream's last beat. Its sequence number `base - 23 + r` is kept (`search_from`): no
//!   position before it is a candidate, even if its bytes are still to come. The other
//!   positions of the failing beat are not searched again (the RTL decodes a beat once).
//! - Which sequence number a request carries: when the check passes, the flow raises a resync
//!   request carrying the TCP sequence number of the CONFIRMING header's first byte (the
//!   second header, `plen` after the candidate). That header is the one the RTL's walk stands
//!   on when it decides, and it is a PDU start just as the candidate is. The flow then keeps
//!   walking the framing from the confirming header without offloading (shadow,
//!   [`SyncState::ResyncPending`] with that number).
//! - A request and a failure in the same stream beat of the same segment: the failure cancels
//!   the request (the segment reports none, the flow is searching again from the next beat
//!   boundary), and it is not a loss of sync, just as a failed candidate check is not. A
//!   failure while walking in shadow in a later beat or a later segment, or while in sync, is
//!   a loss (`lost_sync`, `lost_at`). A gap is always a loss.
//! - A resync confirmation with exactly the requested sequence number (the confirming
//!   header's) puts the flow back in sync at once: the framing was followed in shadow, so
//!   the rest of the PDU in progress is offloaded too (its CID and data offsets are known).
//!   Any other confirmation is ignored.
//! - While not in sync nothing is offloaded: every byte is [`ByteRole::Untracked`].
use super::pdu_rules::{parse_header, PduHeader, QueueConfig, HLEN, TYPE_C2H_DATA};
use std::collections::VecDeque;

/// Bytes of a tracker stream replayed from the flow's previous stream (`chain_walk::TAIL`).
const TAIL: usize = HLEN - 1;
/// Bytes of a tracker stream beat.
const BEAT: usize = 64;

/// What the tracker made of one payload byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRole {
    /// Software handles it: the flow is out of sync, or the byte was seen before.
    Untracked,
    /// Part of a PDU header, its digest, padding, or a non-data PDU's body.
    Header,
    /// C2HData payload of command `cid` at `offset` in its buffer.
    Data { cid: u16, offset: u32 },
    DataDigest,
}

/// A command completed by a PDU that ended in this segment (CapsuleResp, or C2HData with
/// DATA_SUCCESS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    pub cid: u16,
    /// Payload index of the PDU's last byte.
    pub at: usize,
}

/// A C2HData PDU that ended in this segment while tracked in sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataPduEnd {
    pub cid: u16,
    /// Payload index of the PDU's last byte.
    pub at: usize,
    /// `None` when data digests are off.
    pub digest_ok: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentReport {
    pub roles: Vec<ByteRole>,
    /// Commands completed by PDUs that ended in this segment, in order.
    pub completions: Vec<Completion>,
    /// C2HData PDUs that ended in this segment in sync, in order.
    pub data_pdus: Vec<DataPduEnd>,
    /// Payload indices of the first data byte of every C2HData PDU whose data started in this
    /// segment while the flow walked it, in sync or in shadow (the role there tells which), in
    /// order. The receive model decides there whether the NIC's CRC unit follows the PDU.
    pub data_starts: Vec<usize>,
    /// The contract's crc_ok for this packet as the framing decides it: every PDU byte in it
    /// was tracked in sync and no data digest of a PDU ending in it failed (the receive model
    /// adds what the NIC's CRC unit can check).
    pub crc_ok: bool,
    /// When this segment completed a resync search: the sequence number of the confirming
    /// header's first byte (the PDU start found `plen` after the candidate). `None` when a
    /// failure in the request's stream beat cancelled it.
    pub resync_request: Option<u32>,
    /// The flow lost sync in this segment (gap, or invalid header while walking; not a failed
    /// candidate check, nor a failure that cancels a request of the same beat).
    pub lost_sync: bool,
    /// Where: the payload index of the invalid header's first byte (0 when it started in an
    /// earlier segment, and for a gap).
    pub lost_at: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    InSync,
    /// Searching for a header; `candidate` (its sequence number, and that of its check `plen`
    /// later) is held until the header `plen` bytes later shows.
    Searching { candidate: Option<(u32, u32)> },
    /// Framing followed without offload (in shadow) from the confirming header at `seq` (the
    /// number the request carried) until the host confirms exactly it.
    ResyncPending { seq: u32 },
}

/// Where the walker is inside the current PDU.
#[derive(Clone, Debug, Default)]
struct PduWalk {
    pos: u32,
    header_bytes: Vec<u8>,
    header: Option<PduHeader>,
    data_crc: u32,
}

/// The tracker stream of the segment being processed.
#[derive(Clone, Copy, Debug, Default)]
struct Geometry {
    /// Sequence number of the first new byte (stream position 23).
    base: u32,
    /// Payload bytes seen before (not in the stream).
    skip: usize,
    /// New payload bytes: the stream is `TAIL + new_len` bytes long.
    new_len: usize,
}

pub struct FlowTracker {
    cfg: QueueConfig,
    expected_seq: u32,
    state: SyncState,
    walk: PduWalk,
    /// The last in-order bytes since the last gap (whatever the state), one header's worth:
    /// the search's window, which after a failure may start before the failing header's end.
    window: VecDeque<(u32, u8)>,
    /// The search takes no candidate starting before this sequence number (set by a gap or a
    /// failure).
    search_from: u32,
    /// The segment being processed.
    seg: Geometry,
    /// Stream beat of the resync request raised in the segment being processed, if any.
    request_beat: Option<usize>,
}

/// `a - b` as a signed distance in sequence space (wraps at 2^32).
fn seq_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

enum Walked {
    Byte(ByteRole),
    Invalid,
}

impl FlowTracker {
    /// A flow added in sync with the next PDU starting at `seq` (the contract's sk_add).
    pub fn new(cfg: QueueConfig, seq: u32) -> Self {
        Self {
            cfg,
            expected_seq: seq,
            state: SyncState::InSync,
            walk: PduWalk::default(),
            window: VecDeque::with_capacity(HLEN + 1),
            search_from: seq,
            seg: Geometry::default(),
            request_beat: None,
        }
    }

    pub fn state(&self) -> SyncState {
        self.state
    }

    pub fn expected_seq(&self) -> u32 {
        self.expected_seq
    }

    /// The host confirms a resync request (the contract's `resync(seq)`): `seq` must be the
    /// number the request carried (the confirming header's first byte).
    pub fn confirm_resync(&mut self, seq: u32) -> bool {
        match self.state {
            SyncState::ResyncPending { seq: pending } if pending == seq => {
                self.state = SyncState::InSync;
                true
            }
            _ => false,
        }
    }

    /// One TCP segment's payload starting at sequence number `seq`.
    pub fn segment(&mut self, seq: u32, payload: &[u8]) -> SegmentReport {
        let mut report = SegmentReport { roles: vec![ByteRole::Untracked; payload.len()], crc_ok: true, ..Default::default() };
        let ahead = seq_diff(seq, self.expected_seq);
        let skip = if ahead > 0 {
            self.lose_sync_at_gap(&mut report, seq);
            self.expected_seq = seq;
            0
        } else {
            // Already seen bytes: neither tracked nor counted again.
            (-i64::from(ahead)).min(payload.len() as i64) as usize
        };
        self.seg = Geometry { base: seq.wrapping_add(skip as u32), skip, new_len: payload.len() - skip };
        self.request_beat = None;
        for (i, &byte) in payload.iter().enumerate().skip(skip) {
            let byte_seq = seq.wrapping_add(i as u32);
            report.roles[i] = self.byte(i, byte_seq, byte, &mut report);
        }
        self.expected_seq = self.expected_seq.wrapping_add((payload.len() - skip) as u32);
        let any_untracked = report.roles.iter().any(|r| *r == ByteRole::Untracked);
        if any_untracked || report.lost_sync || report.data_pdus.iter().any(|p| p.digest_ok == Some(false)) {
            report.crc_ok = false;
        }
        report
    }

    /// A gap: the search starts at the gap segment's first new byte, `seq`.
    fn lose_sync_at_gap(&mut self, report: &mut SegmentReport, seq: u32) {
        report.lost_sync = true;
        report.lost_at = Some(0);
        self.state = SyncState::Searching { candidate: None };
        self.walk = PduWalk::default();
        self.window.clear();
        self.search_from = seq;
    }

    /// Stream beat of the header judged at payload byte `index` (its start is at stream
    /// position `index - skip`).
    fn judged_beat(&self, index: usize) -> usize {
        (index - self.seg.skip) / BEAT
    }

    /// A header judged at payload byte `index` failed: the search resumes at the next beat
    /// boundary of the stream, or at the next stream's first position.
    fn resume_after(&mut self, index: usize) {
        let r = (BEAT * (self.judged_beat(index) + 1)).min(self.seg.new_len);
        self.search_from = self.seg.base.wrapping_sub(TAIL as u32).wrapping_add(r as u32);
    }

    /// The header judged at payload byte `index` failed while the flow walked. In the beat of
    /// this segment's request it cancels the request; otherwise the flow loses sync.
    fn walk_failed(&mut self, index: usize, report: &mut SegmentReport) {
        let beat = self.judged_beat(index);
        if matches!(self.state, SyncState::ResyncPending { .. }) && self.request_beat == Some(beat) {
            report.resync_request = None;
        } else {
            report.lost_sync = true;
            report.lost_at = Some((index + 1).saturating_sub(HLEN));
        }
        self.request_beat = None;
        self.state = SyncState::Searching { candidate: None };
        self.walk = PduWalk::default();
        self.resume_after(index);
    }

    /// Byte `index` of the segment's payload.
    fn byte(&mut self, index: usize, seq: u32, byte: u8, report: &mut SegmentReport) -> ByteRole {
        self.window.push_back((seq, byte));
        if self.window.len() > HLEN {
            self.window.pop_front();
        }
        match self.state {
            SyncState::Searching { candidate } => {
                self.search(index, candidate, report);
                ByteRole::Untracked
            }
            SyncState::InSync | SyncState::ResyncPending { .. } => {
                match self.walk_byte(index, byte, report) {
                    Walked::Invalid => {
                        self.walk_failed(index, report);
                        ByteRole::Untracked
                    }
                    Walked::Byte(_) if self.state != SyncState::InSync => ByteRole::Untracked,
                    Walked::Byte(role) => role,
                }
            }
        }
    }

    fn walk_byte(&mut self, index: usize, byte: u8, report: &mut SegmentReport) -> Walked {
        let pos = self.walk.pos;
        let need = self.cfg.header_bytes() as u32;
        let role = if pos < need {
            self.walk.header_bytes.push(byte);
            if pos + 1 == HLEN as u32 {
                match parse_header(&self.walk.header_bytes, &self.cfg) {
                    Ok(h) => self.walk.header = Some(h),
                    Err(_) => return Walked::Invalid,
                }
            }
            ByteRole::Header
        } else {
            let h = self.walk.header.expect("header parsed before its body");
            let (data_start, data_end) = h.data_range();
            if (data_start..data_end).contains(&pos) {
                if pos == data_start {
                    report.data_starts.push(index);
                }
                self.walk.data_crc = crc32c::crc32c_append(self.walk.data_crc, &[byte]);
                ByteRole::Data { cid: h.cid, offset: h.data_offset + (pos - data_start) }
            } else if h.pdu_type == TYPE_C2H_DATA && pos >= data_end {
                // The digest: feed it too, so an intact PDU ends on the CRC residue.
                self.walk.data_crc = crc32c::crc32c_append(self.walk.data_crc, &[byte]);
                ByteRole::DataDigest
            } else {
                ByteRole::Header
            }
        };
        self.walk.pos += 1;
        if let Some(h) = self.walk.header {
            if self.walk.pos == h.plen {
                self.end_pdu(h, index, report);
            }
        }
        Walked::Byte(role)
    }

    /// The PDU's last byte is payload byte `at`.
    fn end_pdu(&mut self, h: PduHeader, at: usize, report: &mut SegmentReport) {
        if self.state == SyncState::InSync {
            if let Some(cid) = h.completes() {
                report.completions.push(Completion { cid, at });
            }
            if h.pdu_type == TYPE_C2H_DATA {
                let digest_ok = self.cfg.ddgst.then(|| self.walk.data_crc == crc32c_residue());
                report.data_pdus.push(DataPduEnd { cid: h.cid, at, digest_ok });
            }
        }
        self.walk = PduWalk::default();
    }

    /// Resync search over the window that ends with payload byte `index`: find a header, then
    /// confirm the one `plen` later.
    fn search(&mut self, index: usize, candidate: Option<(u32, u32)>, report: &mut SegmentReport) {
        if self.window.len() < HLEN {
            return;
        }
        let start = self.window[0].0;
        match candidate {
            None => {
                // Positions before the last failure's beat boundary (or the gap) are not
                // candidates.
                if seq_diff(start, self.search_from) < 0 {
                    return;
                }
                if let Ok(h) = parse_header(&self.window_bytes(), &self.cfg) {
                    self.state = SyncState::Searching { candidate: Some((start, start.wrapping_add(h.plen))) };
                }
            }
            Some((_, next_seq)) if next_seq == start => {
                let bytes = self.window_bytes();
                match parse_header(&bytes, &self.cfg) {
                    Ok(h) => {
                        // Confirmed: the request carries the confirming header's first byte,
                        // and the framing is followed from it in shadow.
                        report.resync_request = Some(start);
                        self.request_beat = Some(self.judged_beat(index));
                        self.state = SyncState::ResyncPending { seq: start };
                        self.walk = PduWalk { pos: HLEN as u32, header_bytes: bytes, header: Some(h), data_crc: 0 };
                        if self.walk.pos == h.plen {
                            self.end_pdu(h, index, report);
                        }
                    }
                    // No header where the candidate said: a failure.
                    Err(_) => {
                        self.state = SyncState::Searching { candidate: None };
                        self.resume_after(index);
                    }
                }
            }
            Some(_) => {}
        }
    }

    fn window_bytes(&self) -> Vec<u8> {
        self.window.iter().map(|&(_, b)| b).collect()
    }
}

/// CRC32C of any data followed by its own little-endian digest; the empty message's digest
/// is 0, so four zero bytes show it.
fn crc32c_residue() -> u32 {
    crc32c::crc32c(&[0; 4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residue_is_data_independent() {
        for data in [&b"123456789"[..], &[0u8; 32][..], &[0xFF; 7][..]] {
            let mut framed = data.to_vec();
            framed.extend_from_slice(&crc32c::crc32c(data).to_le_bytes());
            assert_eq!(crc32c::crc32c(&framed), crc32c_residue());
        }
    }
}
