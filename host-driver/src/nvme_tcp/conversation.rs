//! NVMe/TCP conversations read back from captured Ethernet frames: per TCP connection, both
//! byte streams reassembled in sequence order (retransmissions and overlaps keep the first
//! copy of a byte, out-of-order segments wait for the gap to fill) and cut into PDUs at
//! their `plen`, each tagged with the capture frame whose bytes completed it. The side that
//! sent ICReq is the host. `ddpnic replay` uses this to act as the capture's initiator.
//!
//! A connection is followed from its SYN (stream positions count from the byte after it);
//! one whose SYN is not in the capture, or whose first PDU is not ICReq/ICResp, is skipped.
//! A direction is followed for its first 2 GiB, and a `plen` below 8 (not NVMe/TCP) ends its
//! PDUs.
use super::wire::{DigestConfig, IcResp, PduType};
use crate::net::wire::tcp_view;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddrV4;
use std::ops::Range;

/// One PDU as it crossed the wire.
#[derive(Debug, Clone)]
pub struct CapturedPdu {
    /// Index (in capture order) of the frame whose bytes completed the PDU.
    pub frame: usize,
    /// Stream positions of the PDU (0: the first byte after SYN).
    pub stream: Range<u64>,
    /// The whole PDU, header to digest.
    pub bytes: Vec<u8>,
}

impl CapturedPdu {
    pub fn pdu_type(&self) -> Option<PduType> {
        PduType::from_u8(self.bytes[0]).ok()
    }
}

/// One NVMe/TCP connection of the capture.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub host: SocketAddrV4,
    pub target: SocketAddrV4,
    /// Digests and CPDA as ICResp granted them (they apply after ICResp).
    pub digests: DigestConfig,
    pub cpda: u8,
    pub to_target: Vec<CapturedPdu>,
    pub to_host: Vec<CapturedPdu>,
}

/// One direction of a connection: the stream reassembled so far, cut into PDUs.
#[derive(Default)]
struct Direction {
    /// Sequence number of stream position 0 (SYN + 1), once the SYN was seen.
    base: Option<u32>,
    stream: Vec<u8>,
    /// Segments beyond the reassembled stream, by stream position.
    waiting: BTreeMap<u64, Vec<u8>>,
    /// Stream position where the next PDU starts.
    next_pdu: u64,
    pdus: Vec<CapturedPdu>,
}

impl Direction {
    fn segment(&mut self, frame: usize, seq: u32, payload: &[u8]) {
        let Some(base) = self.base else { return };
        let pos = seq.wrapping_sub(base) as u64;
        if pos >= 1 << 31 {
            return; // sent before the SYN, or past what this reader follows
        }
        let have = self.stream.len() as u64;
        if pos > have {
            self.waiting.entry(pos).or_insert_with(|| payload.to_vec());
            return;
        }
        self.append(frame, pos, payload);
        while let Some((&p, _)) = self.waiting.first_key_value() {
            if p > self.stream.len() as u64 {
                break;
            }
            let bytes = self.waiting.pop_first().expect("a first entry").1;
            self.append(frame, p, &bytes);
        }
    }

    /// Appends the part of `payload` (at stream position `pos`) not yet in the stream.
    fn append(&mut self, frame: usize, pos: u64, payload: &[u8]) {
        let skip = (self.stream.len() as u64 - pos) as usize;
        if skip < payload.len() {
            self.stream.extend_from_slice(&payload[skip..]);
        }
        loop {
            let at = self.next_pdu as usize;
            let Some(header) = self.stream.get(at..at + 8) else { break };
            let plen = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes")) as usize;
            if plen < 8 || self.stream.len() < at + plen {
                break;
            }
            let end = self.next_pdu + plen as u64;
            self.pdus.push(CapturedPdu { frame, stream: self.next_pdu..end, bytes: self.stream[at..at + plen].to_vec() });
            self.next_pdu = end;
        }
    }
}

/// The NVMe/TCP conversations in `frames` (capture order), by first appearance.
pub fn conversations(frames: &[Vec<u8>]) -> Vec<Conversation> {
    let mut dirs: HashMap<(SocketAddrV4, SocketAddrV4), Direction> = HashMap::new();
    let mut order = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let Some(v) = tcp_view(f) else { continue };
        let key = (SocketAddrV4::new(v.key.0.into(), v.key.1), SocketAddrV4::new(v.key.2.into(), v.key.3));
        let d = dirs.entry(key).or_insert_with(|| {
            order.push(key);
            Direction::default()
        });
        if v.syn {
            d.base.get_or_insert(v.seq.wrapping_add(1));
        }
        d.segment(i, v.seq.wrapping_add(v.syn as u32), &f[v.payload_start..v.payload_start + v.payload_len]);
    }
    let mut out = Vec::new();
    for (a, b) in order {
        let (Some(fwd), Some(back)) = (dirs.remove(&(a, b)), dirs.remove(&(b, a))) else { continue };
        let first = |d: &Direction| d.pdus.first().and_then(CapturedPdu::pdu_type);
        if first(&fwd) != Some(PduType::IcReq) || first(&back) != Some(PduType::IcResp) {
            continue;
        }
        let icresp = IcResp::new_unchecked(&back.pdus[0].bytes[..]);
        out.push(Conversation {
            host: a,
            target: b,
            digests: DigestConfig::from_bits(icresp.digest()),
            cpda: icresp.cpda(),
            to_target: fwd.pdus,
            to_host: back.pdus,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(src: ([u8; 4], u16), dst: ([u8; 4], u16), seq: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        let b = etherparse::PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4(src.0, dst.0, 64);
        let b = if syn { b.tcp(src.1, dst.1, seq, 1000).syn() } else { b.tcp(src.1, dst.1, seq, 1000) };
        b.write(&mut f, payload).unwrap();
        f
    }

    fn pdu(kind: u8, hlen: u8, plen: usize) -> Vec<u8> {
        let mut p = vec![0u8; plen];
        p[0] = kind;
        p[2] = hlen;
        p[4..8].copy_from_slice(&(plen as u32).to_le_bytes());
        p
    }

    /// PDUs cut across segments, a retransmission and a reordered segment: every PDU comes
    /// out once, whole, at the frame that completed it, the ICReq sender taken as the host.
    #[test]
    fn streams_are_reassembled_and_cut_into_pdus() {
        let (h, t) = (([10, 0, 2, 2], 50000), ([10, 0, 2, 15], 4420));
        let mut icresp = pdu(1, 128, 128);
        icresp[10] = 2; // CPDA
        icresp[11] = 3; // HDGST | DDGST
        let mut stream = icresp.clone();
        stream.extend(pdu(7, 24, 1000));
        stream.extend(pdu(5, 24, 24));
        let frames = vec![
            frame(h, t, 99, true, &[]),
            frame(t, h, 499, true, &[]),
            frame(h, t, 100, false, &pdu(0, 128, 128)),
            frame(t, h, 500, false, &stream[..100]),
            frame(t, h, 500 + 600, false, &stream[600..]), // ahead: waits for the gap
            frame(t, h, 500 + 100, false, &stream[100..600]),
            frame(t, h, 500, false, &stream[..300]), // a retransmission: nothing new
        ];
        let c = conversations(&frames);
        assert_eq!(c.len(), 1);
        let c = &c[0];
        assert_eq!((c.host.port(), c.target.port()), (50000, 4420));
        assert_eq!((c.digests.header, c.digests.data, c.cpda), (true, true, 2));
        assert_eq!(c.to_target.len(), 1);
        let got: Vec<(usize, Range<u64>, u8)> = c.to_host.iter().map(|p| (p.frame, p.stream.clone(), p.bytes[0])).collect();
        assert_eq!(got, [(5, 0..128, 1), (5, 128..1128, 7), (5, 1128..1152, 5)], "complete when the gap filled");
        assert_eq!(c.to_host[1].bytes, stream[128..1128]);
    }
}
