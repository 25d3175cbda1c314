//! Building the header region of an outgoing PDU: common header, type fields, header
//! digest and the padding that aligns data to the receiver's PDA.

use super::digest::{digest, DIGEST_LEN};
use super::framing::DigestConfig;
use super::header::{flags, Header, PduType, COMMON_HEADER_LEN};

/// Largest header region: PDO is a u8, so header + digest + padding < 256 bytes.
const MAX_HEADER_REGION: usize = 256;

/// The header region (header, header digest, padding) of a PDU about to be sent. Fill the
/// type-specific fields through `fields_mut`, then `finish` computes the header digest.
#[derive(Clone)]
pub struct OutgoingHeader {
    buf: [u8; MAX_HEADER_REGION],
    hlen: usize,
    hdgst: bool,
    ddgst: bool,
    region_len: usize,
    data_len: usize,
}

impl OutgoingHeader {
    /// `data_alignment` is the receiver's PDU data alignment in bytes ((PDA + 1) * 4).
    pub fn new(pdu_type: PduType, digests: DigestConfig, data_alignment: usize, data_len: usize) -> Self {
        let hlen = pdu_type.header_len() as usize;
        let hdgst = digests.header && pdu_type.allows_digests();
        let ddgst = digests.data && pdu_type.allows_digests() && data_len > 0;
        let header_end = hlen + if hdgst { DIGEST_LEN } else { 0 };
        let (region_len, pdo) = if pdu_type.is_term_req() {
            (hlen, 0)
        } else if data_len > 0 {
            let pdo = header_end.div_ceil(data_alignment.max(1)) * data_alignment.max(1);
            (pdo, pdo)
        } else {
            (header_end, 0)
        };
        let plen = region_len + data_len + if ddgst { DIGEST_LEN } else { 0 };
        let mut out = Self { buf: [0; MAX_HEADER_REGION], hlen, hdgst, ddgst, region_len, data_len };
        let mut h = Header::new_unchecked(&mut out.buf[..COMMON_HEADER_LEN]);
        h.set_pdu_type(pdu_type);
        h.set_hlen(hlen as u8);
        h.set_pdo(pdo as u8);
        h.set_plen(plen as u32);
        h.set_flags(if hdgst { flags::HDGSTF } else { 0 } | if ddgst { flags::DDGSTF } else { 0 });
        out
    }

    /// The `hlen` header bytes, for the type-specific views.
    pub fn fields_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.hlen]
    }

    pub fn add_flags(&mut self, extra: u8) {
        self.buf[1] |= extra;
    }

    /// Whether a data digest must follow the data.
    pub fn data_digest(&self) -> bool {
        self.ddgst
    }

    pub fn data_len(&self) -> usize {
        self.data_len
    }

    /// Computes the header digest and returns the bytes to send before the data.
    pub fn finish(&mut self) -> &[u8] {
        if self.hdgst {
            let d = digest(&self.buf[..self.hlen]);
            self.buf[self.hlen..self.hlen + DIGEST_LEN].copy_from_slice(&d.to_le_bytes());
        }
        &self.buf[..self.region_len]
    }
}

impl OutgoingHeader {
    /// The whole PDU in one buffer (header region, data, data digest).
    pub fn encode(mut self, data: &[u8]) -> Vec<u8> {
        assert_eq!(data.len(), self.data_len, "data length differs from the header's");
        let ddgst = self.ddgst;
        let mut out = self.finish().to_vec();
        out.extend_from_slice(data);
        if ddgst {
            out.extend_from_slice(&digest(data).to_le_bytes());
        }
        out
    }
}
