//! The 8-byte common header every NVMe/TCP PDU starts with:
//! `type u8 | flags u8 | hlen u8 | pdo u8 | plen le32`.

use super::error::WireError;
use super::field::{put_u32, u32_at};
use std::fmt;

/// PDU types (NVMe/TCP transport spec, section 3.6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PduType {
    IcReq = 0x00,
    IcResp = 0x01,
    H2CTermReq = 0x02,
    C2HTermReq = 0x03,
    CapsuleCmd = 0x04,
    CapsuleResp = 0x05,
    H2CData = 0x06,
    C2HData = 0x07,
    R2T = 0x09,
}

impl PduType {
    pub fn from_u8(v: u8) -> Result<Self, WireError> {
        Ok(match v {
            0x00 => Self::IcReq,
            0x01 => Self::IcResp,
            0x02 => Self::H2CTermReq,
            0x03 => Self::C2HTermReq,
            0x04 => Self::CapsuleCmd,
            0x05 => Self::CapsuleResp,
            0x06 => Self::H2CData,
            0x07 => Self::C2HData,
            0x09 => Self::R2T,
            other => return Err(WireError::UnknownType(other)),
        })
    }

    /// The fixed header length (HLEN) the spec assigns to the type.
    pub fn header_len(self) -> u8 {
        match self {
            Self::IcReq | Self::IcResp => 128,
            Self::CapsuleCmd => 72,
            Self::H2CTermReq
            | Self::C2HTermReq
            | Self::CapsuleResp
            | Self::H2CData
            | Self::C2HData
            | Self::R2T => 24,
        }
    }

    /// Connection setup and termination PDUs never carry digests.
    pub fn allows_digests(self) -> bool {
        !matches!(self, Self::IcReq | Self::IcResp | Self::H2CTermReq | Self::C2HTermReq)
    }

    pub fn is_term_req(self) -> bool {
        matches!(self, Self::H2CTermReq | Self::C2HTermReq)
    }
}

impl fmt::Display for PduType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Common header flag bits.
pub mod flags {
    pub const HDGSTF: u8 = 0x01;
    pub const DDGSTF: u8 = 0x02;
    /// Last data PDU of a transfer (C2HData, H2CData).
    pub const DATA_LAST: u8 = 0x04;
    /// C2HData only: the command completed successfully, no CapsuleResp follows.
    pub const DATA_SUCCESS: u8 = 0x08;
}

pub const COMMON_HEADER_LEN: usize = 8;

mod offset {
    pub const TYPE: usize = 0;
    pub const FLAGS: usize = 1;
    pub const HLEN: usize = 2;
    pub const PDO: usize = 3;
    pub const PLEN: usize = 4;
}

/// View of the common header at the start of `buffer`.
#[derive(Debug, Clone)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let available = buffer.as_ref().len();
        if available < COMMON_HEADER_LEN {
            return Err(WireError::Truncated { needed: COMMON_HEADER_LEN, available });
        }
        Ok(Self { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn raw_type(&self) -> u8 {
        self.buffer.as_ref()[offset::TYPE]
    }

    pub fn pdu_type(&self) -> Result<PduType, WireError> {
        PduType::from_u8(self.raw_type())
    }

    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[offset::FLAGS]
    }

    pub fn hlen(&self) -> u8 {
        self.buffer.as_ref()[offset::HLEN]
    }

    pub fn pdo(&self) -> u8 {
        self.buffer.as_ref()[offset::PDO]
    }

    pub fn plen(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::PLEN)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    pub fn set_pdu_type(&mut self, t: PduType) {
        self.buffer.as_mut()[offset::TYPE] = t as u8;
    }

    pub fn set_flags(&mut self, v: u8) {
        self.buffer.as_mut()[offset::FLAGS] = v;
    }

    pub fn set_hlen(&mut self, v: u8) {
        self.buffer.as_mut()[offset::HLEN] = v;
    }

    pub fn set_pdo(&mut self, v: u8) {
        self.buffer.as_mut()[offset::PDO] = v;
    }

    pub fn set_plen(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), offset::PLEN, v);
    }
}
