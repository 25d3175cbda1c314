//! [`Mirror`]: a host that plays a captured NVMe/TCP conversation through the NIC and drives
//! the offload where the capture's initiator stood (`ddpnic replay --nic sim`).
//!
//! The frames toward the host enter the NIC's MAC port through the wire (faults and pcap as
//! configured) at line rate, in capture order. Around them, as the capture's host did:
//! sk_add once a connection's ICResp has come through the NIC (the queue's digests and CPDA
//! as ICResp granted them), setup with a fresh DMA buffer when a command that reads data
//! (an opcode whose transfer runs controller to host, with a transport SGL) leaves in a
//! CapsuleCmd, teardown once its completion (CapsuleResp, or C2HData with SUCCESS) has come
//! back through the NIC. Every C2HData PDU is then judged against the capture: each byte the
//! NIC placed must equal the PDU's data (unless the wire corrupted frames and fixed their
//! checksums, `corrupt-valid`: then only the data digest can tell), and a PDU whose digest
//! the NIC vouched for (crc_ok on every packet that carried it) must have a good digest and
//! every byte as captured. Failures are NIC bugs: [`MirrorReport::clean`].
use super::ulp::{NicOffload, QueueInfo, QueueOffload, UlpOffload};
use crate::net::port::Nic;
use crate::net::wire::{Dir, Wire};
use crate::net::time::SimTime;
use crate::nvme_tcp::conversation::{CapturedPdu, Conversation};
use crate::nvme_tcp::wire::{flags, CapsuleCmd, CapsuleResp, DataPdu, Framing, Header, Pdu, PduType, SglDescriptor, WireError};
use crate::pci::{Device, DmaBuffer};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Completions waiting for their teardown before the NIC is drained and they are done.
const TEARDOWN_BATCH: usize = 16;
/// Queue depth given at sk_add (the capture's Connect is not read for it).
const QUEUE_SIZE: u16 = 128;
/// NVMe opcode bits 1:0 = 10b: data moves from the controller to the host.
const XFER_C2H: u8 = 0b10;
/// Fabrics commands (Connect, Property Get/Set) carry their own data rules.
const OPCODE_FABRICS: u8 = 0x7f;

/// What the replay found, by connection and in total.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MirrorReport {
    pub connections: u64,
    pub queues_offloaded: u64,
    /// Commands that read data, and those set up for the NIC to place.
    pub read_commands: u64,
    pub setups: u64,
    pub c2h_pdus: u64,
    pub data_bytes: u64,
    pub placed_bytes: u64,
    /// Placed bytes that differ from the capture (0 unless the wire corrupted frames and made
    /// their checksums valid again, `wire_corrupted_valid`).
    pub misplaced_bytes: u64,
    pub wire_corrupted_valid: u64,
    /// C2HData PDUs with a data digest; those whose digest is wrong on the wire; those the
    /// NIC vouched for; those it vouched for although the digest was wrong or a byte it
    /// placed differs from the capture (must be 0).
    pub digest_pdus: u64,
    pub bad_digests: u64,
    pub nic_verified_pdus: u64,
    pub vouched_bad: u64,
}

impl MirrorReport {
    /// The NIC did nothing wrong.
    pub fn clean(&self) -> bool {
        self.vouched_bad == 0 && (self.misplaced_bytes == 0 || self.wire_corrupted_valid > 0)
    }
}

/// One conversation being mirrored.
struct Queue {
    conv: Conversation,
    offload: Option<Box<dyn QueueOffload>>,
    /// Live DDP buffers by CID.
    live: HashMap<u16, DmaBuffer>,
    /// PDUs toward the host (indexes into `conv.to_host`) that came through the NIC since
    /// the last drain: each header answers resync requests, each C2HData PDU is judged.
    arrived: Vec<usize>,
    /// Commands whose completion came through the NIC: torn down at the next drain.
    completed: Vec<u16>,
    /// The next PDU of each direction to act on (a stream's PDUs complete in frame order).
    next_sent: usize,
    next_received: usize,
}

pub struct Mirror<D: Device + Send + 'static> {
    offload: Arc<NicOffload<D>>,
    dev: D,
    queues: Vec<Queue>,
    /// Free DDP buffers by length, registered with the offload once.
    pool: HashMap<usize, Vec<DmaBuffer>>,
    now: SimTime,
    report: MirrorReport,
}

impl<D: Device + Send + 'static> Mirror<D> {
    pub fn new(offload: Arc<NicOffload<D>>, dev: D, conversations: Vec<Conversation>) -> Self {
        let queues = conversations
            .into_iter()
            .map(|conv| Queue { conv, offload: None, live: HashMap::new(), arrived: Vec::new(), completed: Vec::new(), next_sent: 0, next_received: 0 })
            .collect::<Vec<_>>();
        let report = MirrorReport { connections: queues.len() as u64, ..Default::default() };
        Mirror { offload, dev, queues, pool: HashMap::new(), now: SimTime::ZERO, report }
    }

    /// Plays `frames` (capture order; `feed[i]`: frame `i` enters the NIC) and returns the
    /// report. `nic` is the NIC the offload drives; `wire` carries the frames to its MAC port.
    pub fn run(mut self, frames: Vec<Vec<u8>>, feed: &[bool], nic: &mut dyn Nic, wire: &mut Wire) -> MirrorReport {
        for (i, frame) in frames.into_iter().enumerate() {
            for q in 0..self.queues.len() {
                while let Some(p) = self.queues[q].conv.to_target.get(self.queues[q].next_sent).filter(|p| p.frame == i) {
                    let read = read_command(p);
                    self.queues[q].next_sent += 1;
                    if let Some((cid, len)) = read {
                        self.read_sent(q, cid, len, nic, wire);
                    }
                }
            }
            if feed[i] {
                wire.inject(Dir::ToHost, self.now, frame);
                self.now = wire.next_delivery().unwrap_or(self.now).max(self.now);
                self.pump(nic, wire);
            }
            for q in 0..self.queues.len() {
                while self.queues[q].conv.to_host.get(self.queues[q].next_received).is_some_and(|p| p.frame == i) {
                    let k = self.queues[q].next_received;
                    self.queues[q].next_received += 1;
                    self.host_received(q, k, nic, wire);
                }
            }
            if self.queues.iter().map(|q| q.completed.len()).sum::<usize>() >= TEARDOWN_BATCH {
                self.drain(nic, wire);
            }
        }
        self.drain(nic, wire);
        for q in &mut self.queues {
            if let Some(mut o) = q.offload.take() {
                o.close();
            }
        }
        self.report.wire_corrupted_valid = wire.stats().corrupted_valid;
        self.report
    }

    /// The capture's host sent read command `cid` for `len` bytes on queue `q`: set it up.
    fn read_sent(&mut self, q: usize, cid: u16, len: usize, nic: &mut dyn Nic, wire: &mut Wire) {
        self.report.read_commands += 1;
        if self.queues[q].offload.is_none() {
            return;
        }
        if self.queues[q].live.contains_key(&cid) {
            // The capture reuses a CID whose completion is still on its way through the NIC.
            self.drain(nic, wire);
        }
        let mut buf = self.buffer(len);
        buf.as_mut_slice().fill(0);
        let queue = &mut self.queues[q];
        let o = queue.offload.as_mut().expect("checked above");
        if o.setup(cid, buf.as_mut_slice()) {
            self.report.setups += 1;
            queue.live.insert(cid, buf);
        } else {
            self.pool.entry(len).or_default().push(buf);
        }
    }

    /// PDU `k` of queue `q` toward the host has come through the NIC.
    fn host_received(&mut self, q: usize, k: usize, nic: &mut dyn Nic, wire: &mut Wire) {
        if self.queues[q].offload.is_some() {
            self.queues[q].arrived.push(k);
        }
        let p = &self.queues[q].conv.to_host[k];
        match p.pdu_type() {
            Some(PduType::IcResp) => {
                let stream_position = p.stream.end;
                self.drain(nic, wire);
                let c = &self.queues[q].conv;
                let info = QueueInfo {
                    qid: q as u16,
                    local: c.host.into(),
                    remote: c.target.into(),
                    hdgst: c.digests.header,
                    ddgst: c.digests.data,
                    cpda: c.cpda,
                    queue_size: QUEUE_SIZE,
                    stream_position,
                };
                let offload = self.offload.sk_add(&info);
                self.report.queues_offloaded += offload.is_some() as u64;
                self.queues[q].offload = offload;
            }
            Some(PduType::C2HData) => {
                let success = Header::new_unchecked(&p.bytes[..]).flags() & flags::DATA_SUCCESS != 0;
                let cid = DataPdu::new_unchecked(&p.bytes[..]).command_id();
                if success {
                    self.queues[q].completed.push(cid);
                }
            }
            Some(PduType::CapsuleResp) => {
                let cid = CapsuleResp::new_unchecked(&p.bytes[..]).cqe().command_id();
                self.queues[q].completed.push(cid);
            }
            _ => {}
        }
    }

    /// Frames the wire delivers now into the MAC port; the NIC clocked up to now; everything
    /// it delivered to the host taken (the offload's observer has seen it).
    fn pump(&mut self, nic: &mut dyn Nic, wire: &mut Wire) {
        while let Some(f) = wire.deliver(Dir::ToHost, self.now) {
            nic.mac_rx(self.now, f);
        }
        nic.advance(self.now);
        while nic.host_recv(self.now).is_some() {}
    }

    /// Runs until every frame went through the NIC, then judges the PDUs that came through
    /// and tears down the completed commands.
    fn drain(&mut self, nic: &mut dyn Nic, wire: &mut Wire) {
        loop {
            if let Some(t) = wire.next_delivery() {
                self.now = self.now.max(t);
            } else if let Some(t) = nic.poll_at(self.now) {
                self.now = self.now.max(t);
            } else {
                break;
            }
            self.pump(nic, wire);
        }
        for q in 0..self.queues.len() {
            for k in std::mem::take(&mut self.queues[q].arrived) {
                let p = &self.queues[q].conv.to_host[k];
                let (start, c2h) = (p.stream.start, p.pdu_type() == Some(PduType::C2HData));
                if let Some(o) = self.queues[q].offload.as_mut() {
                    o.pdu_header(start);
                }
                if c2h {
                    self.judge(q, k);
                }
            }
            for cid in std::mem::take(&mut self.queues[q].completed) {
                let queue = &mut self.queues[q];
                if let (Some(o), Some(buf)) = (queue.offload.as_mut(), queue.live.remove(&cid)) {
                    o.teardown(cid);
                    self.pool.entry(buf.len()).or_default().push(buf);
                }
            }
        }
    }

    /// Judges C2HData PDU `k` of queue `q` against the capture (PDUs are judged in stream
    /// order, as `QueueOffload::crc_ok` wants them).
    fn judge(&mut self, q: usize, k: usize) {
        let queue = &mut self.queues[q];
        let p = &queue.conv.to_host[k];
        let digests = queue.conv.digests;
        let Ok(framing) = Framing::from_common_header(&p.bytes, digests) else { return };
        let header = DataPdu::new_unchecked(&p.bytes[..]);
        let (cid, offset) = (header.command_id(), header.data_offset() as usize);
        let data = &p.bytes[framing.data_start()..framing.data_start() + framing.data_len()];
        let r = &mut self.report;
        r.c2h_pdus += 1;
        r.data_bytes += data.len() as u64;
        let digest_good = !matches!(Pdu::new_checked(&p.bytes[..], digests), Err(WireError::DataDigest { .. }));
        if framing.ddgst {
            r.digest_pdus += 1;
            r.bad_digests += !digest_good as u64;
        }
        let (Some(o), Some(buf)) = (queue.offload.as_mut(), queue.live.get(&cid)) else { return };
        let range = offset..offset + data.len();
        if range.end > buf.len() {
            return;
        }
        let mut misplaced = 0;
        for part in o.placed(cid, range.clone()) {
            r.placed_bytes += part.len() as u64;
            let wire_bytes = &data[part.start - offset..part.end - offset];
            misplaced += buf.as_slice()[part].iter().zip(wire_bytes).filter(|(a, b)| a != b).count() as u64;
        }
        r.misplaced_bytes += misplaced;
        if framing.ddgst && o.crc_ok(cid, range, p.stream.clone()) {
            r.nic_verified_pdus += 1;
            r.vouched_bad += (!digest_good || misplaced > 0) as u64;
        }
    }

    /// A DDP buffer of `len` bytes: a free one from the pool, else a new one registered.
    fn buffer(&mut self, len: usize) -> DmaBuffer {
        if let Some(b) = self.pool.get_mut(&len).and_then(Vec::pop) {
            return b;
        }
        let b = self.dev.alloc_dma(len).expect("DMA memory for a DDP buffer");
        self.offload.register_memory(&b);
        b
    }
}

/// `(cid, length)` of a CapsuleCmd whose data the controller sends back in C2HData: an
/// opcode whose transfer runs controller to host, with a transport SGL of some length.
fn read_command(p: &CapturedPdu) -> Option<(u16, usize)> {
    if p.pdu_type() != Some(PduType::CapsuleCmd) {
        return None;
    }
    let cmd = CapsuleCmd::new_checked(&p.bytes[..]).ok()?;
    let sqe = cmd.sqe();
    let sgl = sqe.sgl();
    let reads = sqe.opcode() != OPCODE_FABRICS && (sqe.opcode() & 0b11) == XFER_C2H;
    (reads && sgl.identifier == SglDescriptor::TRANSPORT_DATA_BLOCK && sgl.length > 0).then(|| (sqe.command_id(), sgl.length as usize))
}
