//! A target-to-host NVMe/TCP flow for the tests: its 5-tuple (as the host receives it), queue
//! config, PDU stream (with the truth of every byte), initial sequence number and the data
//! length of each command, and its frames built with etherparse.
use super::pdu_stream::{pdu_stream, PduStream};
use ddpnic_hdl::flow::toeplitz::FiveTuple;
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::framing::reference::ByteRole;
use etherparse::PacketBuilder;
use rand::{rngs::SmallRng, Rng};
use std::collections::HashMap;

pub struct Flow {
    pub id: u16,
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

/// A target-to-host frame of `f` carrying stream bytes `start..end` at sequence `seq`.
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
