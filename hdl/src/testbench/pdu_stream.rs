//! Controller-to-host NVMe/TCP byte streams built from the PDU formats (independently of the
//! tracker's parser), with the truth about every byte, cut into TCP segments and disturbed
//! the ways a network does: drops with later retransmission, reordering, duplicates.
use crate::framing::pdu_rules::QueueConfig;
use crate::framing::reference::ByteRole;
use rand::{rngs::SmallRng, Rng};

/// What a byte of the stream really is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truth {
    pub role: ByteRole,
    /// First byte of a PDU.
    pub pdu_start: bool,
    /// Last byte of a PDU: the command it completes, if any.
    pub pdu_end: Option<Option<u16>>,
    /// Last byte of a C2HData PDU: its data digest is intact.
    pub data_end: Option<(u16, bool)>,
}

pub struct PduStream {
    pub bytes: Vec<u8>,
    pub truth: Vec<Truth>,
}

const C2H_DATA: u8 = 7;
const CAPSULE_RESP: u8 = 5;
const R2T: u8 = 9;

fn push_header(s: &mut PduStream, cfg: &QueueConfig, header: [u8; 24]) {
    s.bytes.extend_from_slice(&header);
    if cfg.hdgst {
        s.bytes.extend_from_slice(&crc32c::crc32c(&header).to_le_bytes());
    }
}

/// `pdus` PDUs: mostly C2HData of one command each (one PDU or several), CapsuleResp after a
/// command's data unless DATA_SUCCESS made it unnecessary, and the odd R2T. With `corrupt`,
/// some C2HData payloads get a flipped bit after their digest was computed.
pub fn pdu_stream(rng: &mut SmallRng, cfg: &QueueConfig, pdus: usize, max_data: u32, corrupt: bool) -> PduStream {
    let mut s = PduStream { bytes: Vec::new(), truth: Vec::new() };
    let mark = |s: &mut PduStream, start: usize, roles: &dyn Fn(usize) -> ByteRole, end: Option<u16>, data_end: Option<(u16, bool)>| {
        for i in start..s.bytes.len() {
            s.truth.push(Truth { role: roles(i - start), pdu_start: i == start, pdu_end: (i + 1 == s.bytes.len()).then_some(end), data_end: if i + 1 == s.bytes.len() { data_end } else { None } });
        }
    };
    let mut made = 0;
    while made < pdus {
        let cid: u16 = rng.gen();
        let total: u32 = rng.gen_range(1..=max_data);
        let pieces = rng.gen_range(1..=3u32).min(total);
        let success = rng.gen_bool(0.5);
        let mut offset = 0;
        for piece in 0..pieces {
            let len = if piece + 1 == pieces { total - offset } else { rng.gen_range(1..=(total - offset - (pieces - piece - 1))) };
            let last = piece + 1 == pieces;
            let start = s.bytes.len();
            let pdo = cfg.data_pdo();
            let plen = pdo as u32 + len + cfg.ddgst_len() as u32;
            let flags = u8::from(cfg.hdgst) | (u8::from(cfg.ddgst) << 1) | (u8::from(last) << 2) | (u8::from(last && success) << 3);
            let mut h = [0u8; 24];
            h[..4].copy_from_slice(&[C2H_DATA, flags, 24, pdo as u8]);
            h[4..8].copy_from_slice(&plen.to_le_bytes());
            h[8..10].copy_from_slice(&cid.to_le_bytes());
            h[10..12].copy_from_slice(&rng.gen::<u16>().to_le_bytes()); // ttag: ignored
            h[12..16].copy_from_slice(&offset.to_le_bytes());
            h[16..20].copy_from_slice(&len.to_le_bytes());
            push_header(&mut s, cfg, h);
            s.bytes.resize(start + pdo, 0);
            let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let intact = !(corrupt && rng.gen_bool(0.2));
            let mut sent = data.clone();
            if !intact {
                let at = rng.gen_range(0..sent.len());
                sent[at] ^= 1 << rng.gen_range(0..8);
            }
            s.bytes.extend_from_slice(&sent);
            if cfg.ddgst {
                s.bytes.extend_from_slice(&crc32c::crc32c(&data).to_le_bytes());
            }
            let data_offset = offset;
            let roles = move |i: usize| {
                let i = i as u32;
                if i < pdo as u32 {
                    ByteRole::Header
                } else if i < pdo as u32 + len {
                    ByteRole::Data { cid, offset: data_offset + i - pdo as u32 }
                } else {
                    ByteRole::DataDigest
                }
            };
            let completes = (last && success).then_some(cid);
            mark(&mut s, start, &roles, completes, Some((cid, intact || !cfg.ddgst)));
            offset += len;
            made += 1;
        }
        if !success {
            let start = s.bytes.len();
            let mut h = [0u8; 24];
            h[..4].copy_from_slice(&[CAPSULE_RESP, u8::from(cfg.hdgst), 24, 0]);
            h[4..8].copy_from_slice(&((24 + cfg.hdgst_len()) as u32).to_le_bytes());
            h[8..20].copy_from_slice(&rng.gen::<[u8; 12]>()); // result, sq_head, sq_id
            h[20..22].copy_from_slice(&cid.to_le_bytes());
            h[22..24].copy_from_slice(&rng.gen::<u16>().to_le_bytes()); // status
            push_header(&mut s, cfg, h);
            mark(&mut s, start, &|_| ByteRole::Header, Some(cid), None);
            made += 1;
        }
        if rng.gen_bool(0.05) {
            let start = s.bytes.len();
            let mut h = [0u8; 24];
            h[..4].copy_from_slice(&[R2T, u8::from(cfg.hdgst), 24, 0]);
            h[4..8].copy_from_slice(&((24 + cfg.hdgst_len()) as u32).to_le_bytes());
            h[8..24].copy_from_slice(&rng.gen::<[u8; 16]>());
            push_header(&mut s, cfg, h);
            mark(&mut s, start, &|_| ByteRole::Header, None, None);
            made += 1;
        }
    }
    s
}

/// One TCP segment as it arrives: sequence number and the range of stream bytes it carries.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub seq: u32,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    pub drop: f64,
    pub reorder: f64,
    pub duplicate: f64,
}

/// Cut `len` stream bytes into segments of 1..=mss bytes and deliver them with faults. A
/// dropped segment arrives again later (TCP retransmits it), after a few others.
pub fn arrivals(rng: &mut SmallRng, isn: u32, len: usize, mss: usize, faults: Faults) -> Vec<Arrival> {
    let mut cut = Vec::new();
    let mut at = 0;
    while at < len {
        let n = if rng.gen_bool(0.7) { mss } else { rng.gen_range(1..=mss) }.min(len - at);
        cut.push(Arrival { seq: isn.wrapping_add(at as u32), start: at, end: at + n });
        at += n;
    }
    let mut out: Vec<Arrival> = Vec::new();
    let mut late: Vec<(usize, Arrival)> = Vec::new();
    for (i, seg) in cut.into_iter().enumerate() {
        if rng.gen_bool(faults.drop) {
            late.push((i + rng.gen_range(1..6), seg));
        } else if rng.gen_bool(faults.reorder) {
            late.push((i + 1, seg));
        } else {
            if rng.gen_bool(faults.duplicate) {
                out.push(seg.clone());
            }
            out.push(seg);
        }
        late.sort_by_key(|(due, _)| *due);
        while late.first().is_some_and(|(due, _)| *due <= i) {
            out.push(late.remove(0).1);
        }
    }
    out.extend(late.into_iter().map(|(_, s)| s));
    out
}
