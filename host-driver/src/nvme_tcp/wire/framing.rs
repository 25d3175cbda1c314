//! PDU framing: derives and validates a PDU's layout (header, header digest, padding,
//! data, data digest) from its common header, and checks digests and per-type length
//! fields. All framing decisions follow from the first 8 bytes, so a stream receiver can
//! validate a PDU before reading its body.

use super::data::{DataPdu, R2t};
use super::digest::{digest, DIGEST_LEN};
use super::error::WireError;
use super::field::u32_at;
use super::header::{flags, Header, PduType};
use super::icreq::digest_bits;
use super::term::MAX_TERM_REQ_LEN;

/// Which digests the connection negotiated in ICReq/ICResp (none before that).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestConfig {
    pub header: bool,
    pub data: bool,
}

impl DigestConfig {
    /// From the ICReq/ICResp DGST field (other bits are reserved).
    pub fn from_bits(bits: u8) -> Self {
        Self { header: bits & digest_bits::HDGST_ENABLE != 0, data: bits & digest_bits::DDGST_ENABLE != 0 }
    }

    pub fn to_bits(self) -> u8 {
        (if self.header { digest_bits::HDGST_ENABLE } else { 0 }) | if self.data { digest_bits::DDGST_ENABLE } else { 0 }
    }
}

/// Where the parts of one PDU sit, measured from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    pub pdu_type: PduType,
    pub flags: u8,
    pub hlen: usize,
    pub hdgst: bool,
    pub ddgst: bool,
    pub plen: usize,
    data_start: usize,
}

/// Which PDUs may, must or never carry data.
enum DataRule {
    Never,
    Optional,
    Required,
    /// Term requests: the offending header follows the 24-byte header, no digests.
    ErrorInformation,
}

fn data_rule(t: PduType) -> DataRule {
    match t {
        PduType::IcReq | PduType::IcResp | PduType::CapsuleResp | PduType::R2T => DataRule::Never,
        PduType::CapsuleCmd => DataRule::Optional,
        PduType::H2CData | PduType::C2HData => DataRule::Required,
        PduType::H2CTermReq | PduType::C2HTermReq => DataRule::ErrorInformation,
    }
}

/// Flag bits a PDU type may carry (SUCCESS only together with LAST).
fn allowed_flags(t: PduType) -> u8 {
    let digests = if t.allows_digests() { flags::HDGSTF | flags::DDGSTF } else { 0 };
    match t {
        PduType::C2HData => digests | flags::DATA_LAST | flags::DATA_SUCCESS,
        PduType::H2CData => digests | flags::DATA_LAST,
        _ => digests,
    }
}

impl Framing {
    /// Validates the common header (`b` holds at least its 8 bytes).
    pub fn from_common_header(b: &[u8], digests: DigestConfig) -> Result<Self, WireError> {
        let h = Header::new_checked(b)?;
        let pdu_type = h.pdu_type()?;
        let expected_hlen = pdu_type.header_len();
        if h.hlen() != expected_hlen {
            return Err(WireError::WrongHeaderLength { pdu_type, hlen: h.hlen(), expected: expected_hlen });
        }
        let hlen = expected_hlen as usize;
        let (fl, pdo, plen32) = (h.flags(), h.pdo(), h.plen());
        let plen = plen32 as usize;
        let allowed = allowed_flags(pdu_type);
        if fl & !allowed != 0 || (fl & flags::DATA_SUCCESS != 0 && fl & flags::DATA_LAST == 0) {
            return Err(WireError::InvalidFlags { pdu_type, flags: fl });
        }
        let hdgst_flag = fl & flags::HDGSTF != 0;
        let ddgst_flag = fl & flags::DDGSTF != 0;
        let negotiated_header = digests.header && pdu_type.allows_digests();
        if hdgst_flag != negotiated_header {
            return Err(WireError::HeaderDigestFlag { pdu_type, present: hdgst_flag, negotiated: negotiated_header });
        }
        let header_end = hlen + if hdgst_flag { DIGEST_LEN } else { 0 };
        let plen_mismatch = |expected: String| WireError::PlenMismatch { pdu_type, plen: plen32, expected };
        let data_start = match data_rule(pdu_type) {
            DataRule::ErrorInformation => {
                // The error information follows the header directly; PDO is reserved (0).
                if pdo != 0 {
                    return Err(WireError::TermReqPdo { pdu_type, pdo });
                }
                if ddgst_flag {
                    return Err(WireError::DataDigestFlag { pdu_type, present: true, expected: false });
                }
                if !(hlen..=MAX_TERM_REQ_LEN).contains(&plen) {
                    return Err(plen_mismatch(format!("{hlen}..={MAX_TERM_REQ_LEN}")));
                }
                hlen
            }
            rule => {
                let may_have_data = !matches!(rule, DataRule::Never);
                if pdo == 0 || !may_have_data {
                    if pdo != 0 {
                        return Err(WireError::PdoOutOfRange { pdu_type, pdo, header_end, plen: plen32 });
                    }
                    if matches!(rule, DataRule::Required) {
                        return Err(WireError::MissingData { pdu_type });
                    }
                    if ddgst_flag {
                        return Err(WireError::DataDigestFlag { pdu_type, present: true, expected: false });
                    }
                    if plen != header_end {
                        return Err(plen_mismatch(header_end.to_string()));
                    }
                    plen
                } else {
                    let pdo_usize = pdo as usize;
                    if pdo_usize < header_end || pdo_usize > plen {
                        return Err(WireError::PdoOutOfRange { pdu_type, pdo, header_end, plen: plen32 });
                    }
                    if ddgst_flag != digests.data {
                        return Err(WireError::DataDigestFlag { pdu_type, present: ddgst_flag, expected: digests.data });
                    }
                    let trailer = if ddgst_flag { DIGEST_LEN } else { 0 };
                    if plen <= pdo_usize + trailer {
                        return Err(plen_mismatch(format!("more than {}", pdo_usize + trailer)));
                    }
                    pdo_usize
                }
            }
        };
        Ok(Self { pdu_type, flags: fl, hlen, hdgst: hdgst_flag, ddgst: ddgst_flag, plen, data_start })
    }

    /// End of the header digest (or of the header when there is none).
    pub fn header_end(&self) -> usize {
        self.hlen + if self.hdgst { DIGEST_LEN } else { 0 }
    }

    /// Bytes from the PDU start up to its data: header, digest, padding.
    pub fn data_start(&self) -> usize {
        self.data_start
    }

    pub fn data_len(&self) -> usize {
        self.plen - self.data_start - if self.ddgst { DIGEST_LEN } else { 0 }
    }

    /// Verifies the header digest; `region` starts at the PDU and covers `header_end()`.
    pub fn check_header_digest(&self, region: &[u8]) -> Result<(), WireError> {
        if !self.hdgst {
            return Ok(());
        }
        let received = u32_at(region, self.hlen);
        let computed = digest(&region[..self.hlen]);
        if received != computed {
            return Err(WireError::HeaderDigest { received, computed });
        }
        Ok(())
    }

    /// Per-type field checks that need the header body: data PDUs' length and offset fields.
    pub fn check_fields(&self, header: &[u8]) -> Result<(), WireError> {
        if matches!(self.pdu_type, PduType::C2HData | PduType::H2CData) {
            let view = DataPdu::new_unchecked(header);
            let (field, actual) = (view.data_length(), self.data_len());
            if field as usize != actual {
                return Err(WireError::DataLengthMismatch { pdu_type: self.pdu_type, field, actual });
            }
            if view.data_offset().checked_add(field).is_none() {
                return Err(WireError::DataRangeOverflow { pdu_type: self.pdu_type, offset: view.data_offset(), length: field });
            }
        }
        if self.pdu_type == PduType::R2T {
            let view = R2t::new_unchecked(header);
            if view.r2t_length() == 0 {
                return Err(WireError::EmptyR2t);
            }
            if view.r2t_offset().checked_add(view.r2t_length()).is_none() {
                return Err(WireError::DataRangeOverflow {
                    pdu_type: self.pdu_type,
                    offset: view.r2t_offset(),
                    length: view.r2t_length(),
                });
            }
        }
        Ok(())
    }
}

/// Checks a received data digest (`received` holds the 4 little-endian trailer bytes).
pub fn check_data_digest(computed: u32, received: [u8; 4]) -> Result<(), WireError> {
    let received = u32::from_le_bytes(received);
    if received != computed {
        return Err(WireError::DataDigest { received, computed });
    }
    Ok(())
}

