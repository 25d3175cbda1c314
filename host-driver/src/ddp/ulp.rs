//! The offload as the NVMe/TCP initiator sees it (the ULP side of the contract), and its
//! implementation over a NIC driven by this host driver.
//!
//! [`UlpOffload`] is asked once per I/O queue (sk_add) and answers with a [`QueueOffload`]
//! or `None` (the queue runs in software). Per read command the queue calls `setup`
//! (false: this I/O runs in software), asks for each C2HData PDU which bytes the NIC placed
//! (`placed`) and whether every packet of the PDU had crc_ok (`crc_ok`), and calls `teardown`
//! before it completes the command (it returns at TEARDOWN_DONE). At every PDU header it
//! reports the header's stream position, which answers the NIC's resync requests.
//!
//! [`NicOffload`] implements it with [`Ddp`]: buffers must lie in DMA memory registered with
//! [`NicOffload::register_memory`] (other buffers run in software); the receive log is fed
//! by [`NicOffload::observe`], which the NIC port calls with every received packet (placed
//! ranges per command, crc_ok, resync requests, and the TCP sequence numbers that give
//! sk_add the next expected sequence number); [`NicOffload::holds_placed`] tells the NIC port
//! whether a placed range lies in a live buffer, where the initiator will read it (the frame
//! goes to the TCP/IP stack with those bytes unwritten, nobody copies them).
use super::{Ddp, Flow, SglEntry, SkConfig, Tag};
use crate::net::wire::tcp_view;
use crate::nic::RxPacket;
use crate::nvme_tcp::initiator::ranges::RangeSet;
use crate::pci::{Device, DmaBuffer};
use ddpnic_regmap as rm;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

/// A queue's connection, as sk_add needs it.
#[derive(Debug, Clone, Copy)]
pub struct QueueInfo {
    pub qid: u16,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub hdgst: bool,
    pub ddgst: bool,
    pub cpda: u8,
    pub queue_size: u16,
    /// Bytes the queue has consumed from the TCP stream so far (ICResp included).
    pub stream_position: u64,
}

pub trait UlpOffload: Send + Sync + std::fmt::Debug {
    /// sk_add for a queue; None: the queue runs in software.
    fn sk_add(&self, q: &QueueInfo) -> Option<Box<dyn QueueOffload>>;
}

pub trait QueueOffload: Send {
    /// setup for a read of `buf` by command `cid`; false: this I/O runs in software.
    fn setup(&mut self, cid: u16, buf: &mut [u8]) -> bool;
    /// Whether `cid` is offloaded (setup succeeded, not torn down).
    fn is_offloaded(&self, cid: u16) -> bool;
    /// The parts of bytes `range` of `cid`'s data that the NIC placed in the buffer already
    /// (sorted, disjoint, inside `range`).
    fn placed(&mut self, cid: u16, range: Range<usize>) -> Vec<Range<usize>>;
    /// Whether every byte of `range` was placed and every packet that carried bytes of the PDU
    /// (stream positions `pdu`) had crc_ok: the NIC checked the PDU's DDGST. PDUs are asked
    /// in stream order.
    fn crc_ok(&mut self, cid: u16, range: Range<usize>, pdu: Range<u64>) -> bool;
    /// teardown; returns once the NIC reported TEARDOWN_DONE.
    fn teardown(&mut self, cid: u16);
    /// A PDU header starts at this stream position (answers resync requests).
    fn pdu_header(&mut self, stream_position: u64);
    /// sk_del.
    fn close(&mut self);
}

#[derive(Default)]
struct FlowLog {
    placed: HashMap<u16, RangeSet>,
    /// TCP sequence ranges of packets that brought new bytes without crc_ok: a PDU with
    /// bytes in one has its digest checked in software. Pruned as PDUs are checked.
    doubt: Vec<(u32, u32)>,
    /// Resync requests not answered yet (TCP sequence numbers).
    resync: Vec<u32>,
}

#[derive(Default)]
struct Log {
    /// Next TCP sequence number after the highest byte seen, per (local port, remote port)
    /// of frames toward the host.
    rcv_nxt: HashMap<(u16, u16), u32>,
    flows: HashMap<u16, FlowLog>,
    /// Live DDP buffers: (flow, cid) -> length.
    bufs: HashMap<(u16, u16), usize>,
    /// DMA memory the driver may hand to the NIC: (address in this process, length, iova).
    memory: Vec<(usize, usize, u64)>,
}

/// The offload over a NIC (see the module doc). Shared: the NIC port and every queue hold it.
pub struct NicOffload<D: Device> {
    ddp: Ddp<D>,
    log: Mutex<Log>,
}

fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl<D: Device> std::fmt::Debug for NicOffload<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NicOffload")
    }
}

impl<D: Device + Send + 'static> NicOffload<D> {
    pub fn new(ddp: Ddp<D>) -> Arc<NicOffload<D>> {
        Arc::new(NicOffload { ddp, log: Mutex::new(Log::default()) })
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn ddp(&self) -> &Ddp<D> {
        &self.ddp
    }

    /// Lets buffers inside `buf` be offloaded (it must outlive their I/Os).
    pub fn register_memory(&self, buf: &DmaBuffer) {
        self.log().memory.push((buf.as_ptr() as usize, buf.len(), buf.iova()));
    }

    /// The NIC port calls this with every received packet, before the stack sees it.
    pub fn observe(&self, p: &RxPacket) {
        let mut log = self.log();
        // The sequence range of new payload bytes, if any: only those are the packet's to
        // vouch for (old bytes were judged with the packet that brought them first).
        let mut fresh = None;
        if let Some(v) = tcp_view(&p.frame) {
            let end = v.seq.wrapping_add(v.payload_len as u32).wrapping_add(v.syn as u32);
            let key = (v.key.3, v.key.1);
            match log.rcv_nxt.get_mut(&key) {
                Some(n) if !seq_after(end, *n) => {}
                Some(n) => {
                    fresh = (v.payload_len > 0).then_some((*n, end));
                    *n = end;
                }
                None => {
                    log.rcv_nxt.insert(key, end);
                }
            }
        }
        if !p.cpl.flow_valid {
            return;
        }
        let flow = p.cpl.flow;
        let f = log.flows.entry(flow).or_default();
        for r in p.placed() {
            let range = r.data_offset as usize..r.data_offset as usize + r.len as usize;
            // a retransmission places the same bytes again: already present
            let _ = f.placed.entry(r.cid).or_default().insert(range);
        }
        if let Some(range) = fresh.filter(|_| !p.cpl.crc_ok) {
            f.doubt.push(range);
        }
        if p.cpl.resync {
            f.resync.push(p.cpl.resync_seq);
        }
    }

    /// Whether a placed range of `flow` lies inside a live DDP buffer (between setup and
    /// teardown), so the initiator finds its bytes there.
    pub fn holds_placed(&self, r: &rm::PlacedRange, flow: u16) -> bool {
        self.log().bufs.get(&(flow, r.cid)).is_some_and(|&len| r.data_offset as usize + r.len as usize <= len)
    }

    fn iova_of(&self, buf: &[u8]) -> Option<u64> {
        let p = buf.as_ptr() as usize;
        self.log().memory.iter().find(|&&(a, l, _)| a <= p && p + buf.len() <= a + l).map(|&(a, _, iova)| iova + (p - a) as u64)
    }
}

impl<D: Device + Send + 'static> UlpOffload for Arc<NicOffload<D>> {
    fn sk_add(&self, q: &QueueInfo) -> Option<Box<dyn QueueOffload>> {
        let (SocketAddr::V4(local), SocketAddr::V4(remote)) = (q.local, q.remote) else {
            return None;
        };
        let rcv_nxt = *self.log().rcv_nxt.get(&(local.port(), remote.port()))?;
        let cfg = SkConfig { local, remote, hdgst: q.hdgst, ddgst: q.ddgst, cpda: q.cpda, pfv: 0, queue_size: q.queue_size, rcv_nxt };
        match self.ddp.sk_add(&cfg) {
            Ok(flow) => {
                tracing::info!(qid = q.qid, flow = flow.0, rcv_nxt, "queue offloaded");
                let base_seq = rcv_nxt.wrapping_sub(q.stream_position as u32);
                Some(Box::new(NicQueue { owner: self.clone(), flow, base_seq, tags: HashMap::new() }))
            }
            Err(e) => {
                tracing::info!(qid = q.qid, "queue runs in software: sk_add: {e}");
                None
            }
        }
    }
}

/// One offloaded queue.
struct NicQueue<D: Device> {
    owner: Arc<NicOffload<D>>,
    flow: Flow,
    /// TCP sequence number of stream position 0.
    base_seq: u32,
    tags: HashMap<u16, Tag>,
}

impl<D: Device + Send + 'static> QueueOffload for NicQueue<D> {
    fn setup(&mut self, cid: u16, buf: &mut [u8]) -> bool {
        let ddp = &self.owner.ddp;
        if !ddp.worth_offloading(buf.len()) {
            return false;
        }
        let Some(iova) = self.owner.iova_of(buf) else { return false };
        let sgl = [SglEntry { addr: iova, len: buf.len() as u32 }];
        {
            let mut log = self.owner.log();
            log.bufs.insert((self.flow.0, cid), buf.len());
            let f = log.flows.entry(self.flow.0).or_default();
            f.placed.remove(&cid);
        }
        match ddp.setup(self.flow, cid, &sgl) {
            Ok(tag) => {
                self.tags.insert(cid, tag);
                true
            }
            Err(e) => {
                tracing::debug!(cid, "I/O runs in software: setup: {e}");
                self.owner.log().bufs.remove(&(self.flow.0, cid));
                false
            }
        }
    }

    fn is_offloaded(&self, cid: u16) -> bool {
        self.tags.contains_key(&cid)
    }

    fn placed(&mut self, cid: u16, range: Range<usize>) -> Vec<Range<usize>> {
        let log = self.owner.log();
        log.flows.get(&self.flow.0).and_then(|f| f.placed.get(&cid)).map_or_else(Vec::new, |r| r.within(range))
    }

    fn crc_ok(&mut self, cid: u16, range: Range<usize>, pdu: Range<u64>) -> bool {
        let (start, end) = (self.base_seq.wrapping_add(pdu.start as u32), self.base_seq.wrapping_add(pdu.end as u32));
        let mut log = self.owner.log();
        let Some(f) = log.flows.get_mut(&self.flow.0) else { return false };
        // Later PDUs start at or after this one: doubts that end before it concern none.
        f.doubt.retain(|&(_, e)| seq_after(e, start));
        let doubted = f.doubt.iter().any(|&(s, _)| seq_after(end, s));
        !doubted && f.placed.get(&cid).is_some_and(|r| r.covers(range))
    }

    fn teardown(&mut self, cid: u16) {
        let Some(tag) = self.tags.remove(&cid) else { return };
        if let Err(e) = self.owner.ddp.teardown(tag) {
            tracing::warn!(cid, "teardown: {e}");
        }
        let mut log = self.owner.log();
        log.bufs.remove(&(self.flow.0, cid));
        if let Some(f) = log.flows.get_mut(&self.flow.0) {
            f.placed.remove(&cid);
        }
    }

    fn pdu_header(&mut self, stream_position: u64) {
        let seq = self.base_seq.wrapping_add(stream_position as u32);
        let pending: Vec<u32> = {
            let mut log = self.owner.log();
            let Some(f) = log.flows.get_mut(&self.flow.0) else { return };
            if f.resync.is_empty() {
                return;
            }
            let (due, later): (Vec<u32>, Vec<u32>) = f.resync.iter().partition(|&&s| !seq_after(s, seq));
            f.resync = later;
            due
        };
        for s in pending {
            // a header starts exactly here: confirm; a request we passed without a header: deny
            if let Err(e) = self.owner.ddp.resync(self.flow, s, s == seq) {
                tracing::warn!("resync: {e}");
            }
        }
    }

    fn close(&mut self) {
        let cids: Vec<u16> = self.tags.keys().copied().collect();
        for cid in cids {
            self.teardown(cid);
        }
        if let Err(e) = self.owner.ddp.sk_del(self.flow) {
            tracing::warn!("sk_del: {e}");
        }
    }
}
