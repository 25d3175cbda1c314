//! ICReq (host to controller) and ICResp (controller to host): the connection
//! initialisation exchange that negotiates digests, data alignment and H2CData size.

use super::field::{byte_view, put_u16, put_u32, u16_at, u32_at};

mod offset {
    pub const PFV: usize = 8;
    pub const PDA: usize = 10;
    pub const DIGEST: usize = 11;
    /// ICReq: MAXR2T; ICResp: MAXH2CDATA.
    pub const LIMIT: usize = 12;
}

/// Digest enable bits of the ICReq/ICResp DGST field.
pub mod digest_bits {
    pub const HDGST_ENABLE: u8 = 0x01;
    pub const DDGST_ENABLE: u8 = 0x02;
}

byte_view!(
    /// ICReq PDU (HLEN 128): `pfv | hpda | digest | maxr2t`.
    IcReq, 128
);
byte_view!(
    /// ICResp PDU (HLEN 128): `pfv | cpda | digest | maxh2cdata`.
    IcResp, 128
);

impl<T: AsRef<[u8]>> IcReq<T> {
    pub fn pfv(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::PFV)
    }
    /// Host PDU data alignment, in dwords, 0's based.
    pub fn hpda(&self) -> u8 {
        self.buffer.as_ref()[offset::PDA]
    }
    pub fn digest(&self) -> u8 {
        self.buffer.as_ref()[offset::DIGEST]
    }
    /// Outstanding R2Ts per command the host accepts, 0's based.
    pub fn maxr2t(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::LIMIT)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> IcReq<T> {
    pub fn set_pfv(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::PFV, v)
    }
    pub fn set_hpda(&mut self, v: u8) {
        self.buffer.as_mut()[offset::PDA] = v
    }
    pub fn set_digest(&mut self, v: u8) {
        self.buffer.as_mut()[offset::DIGEST] = v
    }
    pub fn set_maxr2t(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), offset::LIMIT, v)
    }
}

impl<T: AsRef<[u8]>> IcResp<T> {
    pub fn pfv(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::PFV)
    }
    /// Controller PDU data alignment, in dwords, 0's based.
    pub fn cpda(&self) -> u8 {
        self.buffer.as_ref()[offset::PDA]
    }
    pub fn digest(&self) -> u8 {
        self.buffer.as_ref()[offset::DIGEST]
    }
    /// Largest H2CData payload the controller accepts.
    pub fn maxh2cdata(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::LIMIT)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> IcResp<T> {
    pub fn set_pfv(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::PFV, v)
    }
    pub fn set_cpda(&mut self, v: u8) {
        self.buffer.as_mut()[offset::PDA] = v
    }
    pub fn set_digest(&mut self, v: u8) {
        self.buffer.as_mut()[offset::DIGEST] = v
    }
    pub fn set_maxh2cdata(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), offset::LIMIT, v)
    }
}
