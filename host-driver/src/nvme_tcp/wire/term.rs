//! H2CTermReq / C2HTermReq (HLEN 24): `fes le16 | fei le32 | reserved`, followed by up to
//! 128 bytes of the offending PDU header.

use super::field::{byte_view, put_u16, put_u32, u16_at, u32_at};
use std::fmt;

mod offset {
    pub const FES: usize = 8;
    pub const FEI: usize = 10;
}

/// Largest term request (header + copied offending header), per the spec.
pub const MAX_TERM_REQ_LEN: usize = 152;

byte_view!(
    /// Termination request PDU header.
    TermReq, 24
);

impl<T: AsRef<[u8]>> TermReq<T> {
    /// Fatal error status.
    pub fn fes(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::FES)
    }
    /// Fatal error information (e.g. the byte offset of the bad header field).
    pub fn fei(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::FEI)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TermReq<T> {
    pub fn set_fes(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::FES, v)
    }
    pub fn set_fei(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), offset::FEI, v)
    }
}

/// Fatal error status codes (NVMe/TCP spec, H2CTermReq/C2HTermReq FES).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermReqStatus {
    InvalidHeaderField,
    PduSequenceError,
    HeaderDigestError,
    DataTransferOutOfRange,
    /// "R2T Limit Exceeded" for H2CTermReq, "Data Transfer Limit Exceeded" for C2HTermReq.
    TransferLimitExceeded,
    UnsupportedParameter,
    Unknown(u16),
}

impl TermReqStatus {
    pub fn from_u16(v: u16) -> Self {
        match v {
            1 => Self::InvalidHeaderField,
            2 => Self::PduSequenceError,
            3 => Self::HeaderDigestError,
            4 => Self::DataTransferOutOfRange,
            5 => Self::TransferLimitExceeded,
            6 => Self::UnsupportedParameter,
            other => Self::Unknown(other),
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Self::InvalidHeaderField => 1,
            Self::PduSequenceError => 2,
            Self::HeaderDigestError => 3,
            Self::DataTransferOutOfRange => 4,
            Self::TransferLimitExceeded => 5,
            Self::UnsupportedParameter => 6,
            Self::Unknown(v) => v,
        }
    }
}

impl fmt::Display for TermReqStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidHeaderField => f.write_str("Invalid PDU Header Field"),
            Self::PduSequenceError => f.write_str("PDU Sequence Error"),
            Self::HeaderDigestError => f.write_str("Header Digest Error"),
            Self::DataTransferOutOfRange => f.write_str("Data Transfer Out of Range"),
            Self::TransferLimitExceeded => f.write_str("Data Transfer Limit Exceeded"),
            Self::UnsupportedParameter => f.write_str("Unsupported Parameter"),
            Self::Unknown(v) => write!(f, "Unknown Fatal Error Status {v:#06x}"),
        }
    }
}
