//! What a controller-to-host NVMe/TCP PDU header may look like on one queue: the rules the
//! tracker applies to every header it walks in sync and the pattern its resync search looks
//! for. A header is accepted only when its type, hlen, flags, pdo and plen all agree with each
//! other and with the digests and CPDA negotiated for the queue, which makes a false match on
//! payload bytes unlikely (type, hlen, flags, pdo and the plen/data_length equation must all fit).

/// Common header length; every PDU the host receives on an I/O queue has a 24-byte header.
pub const HLEN: usize = 24;
pub const DIGEST_LEN: usize = 4;

pub const TYPE_C2H_TERM_REQ: u8 = 3;
pub const TYPE_CAPSULE_RESP: u8 = 5;
pub const TYPE_C2H_DATA: u8 = 7;
pub const TYPE_R2T: u8 = 9;

pub const FLAG_HDGST: u8 = 1 << 0;
pub const FLAG_DDGST: u8 = 1 << 1;
pub const FLAG_DATA_LAST: u8 = 1 << 2;
pub const FLAG_DATA_SUCCESS: u8 = 1 << 3;

/// Largest C2HTermReq: the header plus up to 152 bytes of the offending PDU header.
pub const MAX_TERM_REQ_PLEN: u32 = 152;

/// Per-queue settings from the ICReq/ICResp exchange (the contract's sk_add config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueConfig {
    pub hdgst: bool,
    pub ddgst: bool,
    /// Controller PDU data alignment: data starts at a multiple of 4 * (cpda + 1).
    pub cpda: u8,
}

impl QueueConfig {
    /// Bytes of header the tracker must see before it knows everything about a PDU.
    pub fn header_bytes(&self) -> usize {
        HLEN + self.hdgst_len()
    }

    pub fn hdgst_len(&self) -> usize {
        if self.hdgst { DIGEST_LEN } else { 0 }
    }

    pub fn ddgst_len(&self) -> usize {
        if self.ddgst { DIGEST_LEN } else { 0 }
    }

    /// Where C2HData payload starts: after the header and its digest, aligned to CPDA.
    pub fn data_pdo(&self) -> usize {
        self.header_bytes().next_multiple_of(4 * (usize::from(self.cpda) + 1))
    }
}

/// The fields of an accepted header that the tracker acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PduHeader {
    pub pdu_type: u8,
    pub flags: u8,
    pub pdo: u8,
    pub plen: u32,
    /// C2HData and R2T: command_id; CapsuleResp: the CQE's command_id (header byte 20).
    pub cid: u16,
    /// C2HData: data_offset and data_length.
    pub data_offset: u32,
    pub data_length: u32,
}

impl PduHeader {
    /// Bytes of C2HData payload (0 for other types), and where they start in the PDU.
    pub fn data_range(&self) -> (u32, u32) {
        if self.pdu_type == TYPE_C2H_DATA { (u32::from(self.pdo), u32::from(self.pdo) + self.data_length) } else { (0, 0) }
    }

    /// The command this PDU completes, if any.
    pub fn completes(&self) -> Option<u16> {
        let data_done = self.pdu_type == TYPE_C2H_DATA && self.flags & (FLAG_DATA_LAST | FLAG_DATA_SUCCESS) == FLAG_DATA_LAST | FLAG_DATA_SUCCESS;
        (self.pdu_type == TYPE_CAPSULE_RESP || data_done).then_some(self.cid)
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Why a header is not one the queue can receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    UnknownType(u8),
    BadHlen(u8),
    BadFlags(u8),
    BadPdo(u8),
    BadPlen(u32),
}

/// Checks the 24 header bytes against the queue's rules and returns the fields the tracker
/// needs. The header digest is not checked: 64 lanes of 24-byte CRCs would cost more than the
/// whole tracker, and header bytes always reach the host, which checks the digest (as Linux
/// does; the ConnectX-7 does not offload it either). What a corrupted header with a valid TCP
/// checksum could misdirect is bounded by placement: only into live buffers of the same flow.
pub fn parse_header(bytes: &[u8], cfg: &QueueConfig) -> Result<PduHeader, HeaderError> {
    let (pdu_type, flags, hlen, pdo, plen) = (bytes[0], bytes[1], bytes[2], bytes[3], le32(bytes, 4));
    if !matches!(pdu_type, TYPE_C2H_TERM_REQ | TYPE_CAPSULE_RESP | TYPE_C2H_DATA | TYPE_R2T) {
        return Err(HeaderError::UnknownType(pdu_type));
    }
    if usize::from(hlen) != HLEN {
        return Err(HeaderError::BadHlen(hlen));
    }
    // Term requests carry no digests; every other PDU has HDGSTF exactly when negotiated and
    // DDGSTF exactly when it carries data and data digests were negotiated.
    let carries_data = pdu_type == TYPE_C2H_DATA;
    let expected_digest_flags = if pdu_type == TYPE_C2H_TERM_REQ {
        0
    } else {
        (if cfg.hdgst { FLAG_HDGST } else { 0 }) | (if cfg.ddgst && carries_data { FLAG_DDGST } else { 0 })
    };
    let allowed_other = if carries_data { FLAG_DATA_LAST | FLAG_DATA_SUCCESS } else { 0 };
    if flags & (FLAG_HDGST | FLAG_DDGST) != expected_digest_flags || flags & !(FLAG_HDGST | FLAG_DDGST | allowed_other) != 0 {
        return Err(HeaderError::BadFlags(flags));
    }
    if carries_data && flags & FLAG_DATA_SUCCESS != 0 && flags & FLAG_DATA_LAST == 0 {
        return Err(HeaderError::BadFlags(flags));
    }
    let header = PduHeader {
        pdu_type,
        flags,
        pdo,
        plen,
        cid: if pdu_type == TYPE_CAPSULE_RESP { le16(bytes, 20) } else { le16(bytes, 8) },
        data_offset: if carries_data { le32(bytes, 12) } else { 0 },
        data_length: if carries_data { le32(bytes, 16) } else { 0 },
    };
    let with_hdgst = (HLEN + cfg.hdgst_len()) as u32;
    match pdu_type {
        TYPE_C2H_DATA => {
            if usize::from(pdo) != cfg.data_pdo() {
                return Err(HeaderError::BadPdo(pdo));
            }
            let expected = u64::from(pdo) + u64::from(header.data_length) + cfg.ddgst_len() as u64;
            if header.data_length == 0 || u64::from(plen) != expected {
                return Err(HeaderError::BadPlen(plen));
            }
        }
        TYPE_C2H_TERM_REQ => {
            if pdo != 0 {
                return Err(HeaderError::BadPdo(pdo));
            }
            if !(HLEN as u32..=MAX_TERM_REQ_PLEN).contains(&plen) {
                return Err(HeaderError::BadPlen(plen));
            }
        }
        _ => {
            if pdo != 0 {
                return Err(HeaderError::BadPdo(pdo));
            }
            if plen != with_hdgst {
                return Err(HeaderError::BadPlen(plen));
            }
        }
    }
    Ok(header)
}
