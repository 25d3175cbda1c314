//! Target-to-host NVMe/TCP traffic as real Ethernet frames (etherparse): flows of IPv4 or
//! IPv6 with their PDU streams and truth, the commands' buffer sizes, and the flows' segments
//! interleaved at random.
use super::pdu_stream::{arrivals, pdu_stream, Arrival, Faults, PduStream};
use crate::flow::toeplitz::FiveTuple;
use crate::framing::pdu_rules::QueueConfig;
use crate::framing::reference::ByteRole;
use etherparse::PacketBuilder;
use rand::{rngs::SmallRng, Rng};
use std::collections::HashMap;

pub struct Flow {
    pub id: u16,
    /// As the NIC receives it: source = the target.
    pub tuple: FiveTuple,
    pub ipv6: bool,
    pub cfg: QueueConfig,
    pub stream: PduStream,
    pub isn: u32,
    /// Data length per CID (the buffer the host registers).
    pub commands: HashMap<u16, u32>,
}

/// A flow of `pdus` PDUs with up to `max_data` data bytes each.
pub fn flow(rng: &mut SmallRng, id: u16, cfg: &QueueConfig, ipv6: bool, pdus: usize, max_data: u32) -> Flow {
    let stream = pdu_stream(rng, cfg, pdus, max_data, false);
    let mut commands: HashMap<u16, u32> = HashMap::new();
    for t in &stream.truth {
        if let ByteRole::Data { cid, offset } = t.role {
            let e = commands.entry(cid).or_default();
            *e = (*e).max(offset + 1);
        }
    }
    let mut tuple = FiveTuple { ipv6, src_port: 4420, dst_port: 40_000 + id, ..Default::default() };
    let n = if ipv6 { 16 } else { 4 };
    rng.fill(&mut tuple.src_addr[..n]);
    rng.fill(&mut tuple.dst_addr[..n]);
    Flow { id, tuple, ipv6, cfg: *cfg, stream, isn: rng.gen(), commands }
}

/// A frame of `flow` carrying stream bytes `start..end` at sequence `seq`.
pub fn frame(f: &Flow, seq: u32, start: usize, end: usize) -> Vec<u8> {
    let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let b = if f.ipv6 {
        b.ipv6(f.tuple.src_addr, f.tuple.dst_addr, 64)
    } else {
        let a = |x: &[u8; 16]| [x[0], x[1], x[2], x[3]];
        b.ipv4(a(&f.tuple.src_addr), a(&f.tuple.dst_addr), 64)
    };
    let b = b.tcp(f.tuple.src_port, f.tuple.dst_port, seq, 65535).ack(1);
    let payload = &f.stream.bytes[start..end];
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).expect("etherparse writes the frame");
    out
}

/// Every flow's segments (MSS drawn from `mss`), delivered with `faults` and interleaved at
/// random: (flow index, segment).
pub fn interleaved(rng: &mut SmallRng, flows: &[Flow], mss: std::ops::RangeInclusive<usize>, faults: Faults) -> Vec<(usize, Arrival)> {
    let mut queues: Vec<std::collections::VecDeque<Arrival>> = flows
        .iter()
        .map(|f| {
            let mss = rng.gen_range(mss.clone());
            arrivals(rng, f.isn, f.stream.bytes.len(), mss, faults).into()
        })
        .collect();
    let mut out = Vec::new();
    while queues.iter().any(|q| !q.is_empty()) {
        let i = rng.gen_range(0..flows.len());
        if let Some(a) = queues[i].pop_front() {
            out.push((i, a));
        }
    }
    out
}
