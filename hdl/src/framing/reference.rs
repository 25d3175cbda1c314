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
//! - A segment that starts beyond the expected sequence number (a gap) loses sync. The flow
//!   then searches the in-order bytes that follow for a header that passes the rules, holds
//!   that one candidate, and checks that another valid header starts exactly `plen` bytes
//!   later. If it does, the flow raises a resync request carrying the TCP sequence number of
//!   the candidate header's FIRST byte (the PDU start, which is what the host tracks) and
//!   keeps walking the framing from there without offloading. If it does not, or another gap
//!   comes, the search starts anew: at the byte after the failed check, or after the gap.
//!   Positions between a candidate and its check are not searched (one candidate at a time).
//! - A resync confirmation with exactly the requested sequence number puts the flow back in
//!   sync; offload resumes at the next PDU header. Any other confirmation is ignored.
//! - While not in sync nothing is offloaded: every byte is [`ByteRole::Untracked`].
use super::pdu_rules::{parse_header, PduHeader, QueueConfig, HLEN, TYPE_C2H_DATA};

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
    /// `None` when data digests are off.
    pub digest_ok: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentReport {
    pub roles: Vec<ByteRole>,
    /// Commands completed by PDUs that ended in this segment, in order.
    pub completions: Vec<Completion>,
    pub data_pdus: Vec<DataPduEnd>,
    /// The contract's crc_ok for this packet: every PDU byte in it was tracked in sync and
    /// no data digest of a PDU ending in it failed.
    pub crc_ok: bool,
    /// Sequence number of a candidate PDU start, when this segment completed a resync search.
    pub resync_request: Option<u32>,
    /// The flow lost sync in this segment (gap or invalid header).
    pub lost_sync: bool,
    /// Where: the payload index of the invalid header's first byte (0 when it started in an
    /// earlier segment, and for a gap).
    pub lost_at: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    InSync,
    /// Searching for a header; `candidate` is held until the header `plen` bytes later shows.
    Searching { candidate: Option<(u32, u32)> },
    /// Framing followed from `seq` without offload until the host confirms it.
    ResyncPending { seq: u32, offload_from_next_pdu: bool },
}

/// Where the walker is inside the current PDU.
#[derive(Clone, Debug, Default)]
struct PduWalk {
    pos: u32,
    header_bytes: Vec<u8>,
    header: Option<PduHeader>,
    data_crc: u32,
}

pub struct FlowTracker {
    cfg: QueueConfig,
    expected_seq: u32,
    state: SyncState,
    walk: PduWalk,
    /// Searching: the contiguous bytes since the last gap, one header's worth.
    window: Vec<(u32, u8)>,
    /// The walk of the current PDU is being followed in shadow (not offloaded).
    shadow: bool,
    /// After losing sync, search for a header and request a resync (the contract). Without
    /// it a lost flow stays lost until it is added again.
    resync_search: bool,
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
        Self { cfg, expected_seq: seq, state: SyncState::InSync, walk: PduWalk::default(), window: Vec::new(), shadow: false, resync_search: true }
    }

    /// The same flow, but once lost it stays lost (no resync search).
    pub fn without_resync_search(mut self) -> Self {
        self.resync_search = false;
        self
    }

    pub fn state(&self) -> SyncState {
        self.state
    }

    pub fn expected_seq(&self) -> u32 {
        self.expected_seq
    }

    /// The host confirms a resync request (the contract's `resync(seq)`).
    pub fn confirm_resync(&mut self, seq: u32) -> bool {
        match self.state {
            SyncState::ResyncPending { seq: pending, .. } if pending == seq => {
                self.state = SyncState::ResyncPending { seq, offload_from_next_pdu: true };
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
            self.lose_sync(&mut report, 0);
            self.expected_seq = seq;
            0
        } else {
            // Already seen bytes: neither tracked nor counted again.
            (-i64::from(ahead)).min(payload.len() as i64) as usize
        };
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

    fn lose_sync(&mut self, report: &mut SegmentReport, at: usize) {
        report.lost_sync = true;
        report.lost_at = Some(at);
        self.state = SyncState::Searching { candidate: None };
        self.walk = PduWalk::default();
        self.window.clear();
        self.shadow = false;
    }

    /// Byte `index` of the segment's payload.
    fn byte(&mut self, index: usize, seq: u32, byte: u8, report: &mut SegmentReport) -> ByteRole {
        match self.state {
            SyncState::Searching { candidate } => {
                if self.resync_search {
                    self.search(index, seq, byte, candidate, report);
                }
                ByteRole::Untracked
            }
            SyncState::InSync | SyncState::ResyncPending { .. } => {
                if self.walk.pos == 0 {
                    self.start_pdu();
                }
                match self.walk_byte(index, byte, report) {
                    Walked::Invalid => {
                        self.lose_sync(report, (index + 1).saturating_sub(HLEN));
                        ByteRole::Untracked
                    }
                    Walked::Byte(_) if self.shadow => ByteRole::Untracked,
                    Walked::Byte(role) => role,
                }
            }
        }
    }

    /// At a PDU boundary: a confirmed resync turns offload back on here.
    fn start_pdu(&mut self) {
        if let SyncState::ResyncPending { offload_from_next_pdu: true, .. } = self.state {
            self.state = SyncState::InSync;
        }
        self.shadow = self.state != SyncState::InSync;
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
        if !self.shadow {
            if let Some(cid) = h.completes() {
                report.completions.push(Completion { cid, at });
            }
            if h.pdu_type == TYPE_C2H_DATA {
                let digest_ok = self.cfg.ddgst.then(|| self.walk.data_crc == crc32c_residue());
                report.data_pdus.push(DataPduEnd { cid: h.cid, digest_ok });
            }
        }
        self.walk = PduWalk::default();
    }

    /// Resync search over in-order bytes: find a header, then confirm the one `plen` later.
    fn search(&mut self, index: usize, seq: u32, byte: u8, candidate: Option<(u32, u32)>, report: &mut SegmentReport) {
        self.window.push((seq, byte));
        if self.window.len() > HLEN {
            self.window.remove(0);
        }
        if self.window.len() < HLEN {
            return;
        }
        let start = self.window[0].0;
        let bytes: Vec<u8> = self.window.iter().map(|&(_, b)| b).collect();
        let header = parse_header(&bytes, &self.cfg);
        match candidate {
            None => {
                if let Ok(h) = header {
                    self.state = SyncState::Searching { candidate: Some((start, start.wrapping_add(h.plen))) };
                }
            }
            Some((candidate_seq, next_seq)) if next_seq == start => match header {
                Ok(h) => {
                    // Confirmed: follow the framing from the second header, in shadow.
                    report.resync_request = Some(candidate_seq);
                    self.state = SyncState::ResyncPending { seq: candidate_seq, offload_from_next_pdu: false };
                    self.shadow = true;
                    self.walk = PduWalk { pos: HLEN as u32, header_bytes: bytes, header: Some(h), data_crc: 0 };
                    self.window.clear();
                    if self.walk.pos == h.plen {
                        self.end_pdu(h, index, report);
                    }
                }
                // No header where the candidate said: the search resumes at the next byte.
                Err(_) => self.state = SyncState::Searching { candidate: None },
            },
            Some(_) => {}
        }
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
