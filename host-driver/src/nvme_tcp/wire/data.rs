//! Data transfer PDUs, all HLEN 24: C2HData and H2CData
//! (`command_id | ttag | data_offset | data_length`) and R2T
//! (`command_id | ttag | r2t_offset | r2t_length`).

use super::field::{byte_view, put_u16, put_u32, u16_at, u32_at};

mod offset {
    pub const CID: usize = 8;
    pub const TTAG: usize = 10;
    pub const OFFSET: usize = 12;
    pub const LENGTH: usize = 16;
}

byte_view!(
    /// C2HData or H2CData PDU header (same layout; H2CData echoes the R2T's ttag).
    DataPdu, 24
);
byte_view!(
    /// Ready-to-transfer PDU header.
    R2t, 24
);

impl<T: AsRef<[u8]>> DataPdu<T> {
    pub fn command_id(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::CID)
    }
    pub fn ttag(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::TTAG)
    }
    pub fn data_offset(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::OFFSET)
    }
    pub fn data_length(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::LENGTH)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> DataPdu<T> {
    pub fn set_command_id(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::CID, v)
    }
    pub fn set_ttag(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::TTAG, v)
    }
    pub fn set_data_offset(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), offset::OFFSET, v)
    }
    pub fn set_data_length(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), offset::LENGTH, v)
    }
}

impl<T: AsRef<[u8]>> R2t<T> {
    pub fn command_id(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::CID)
    }
    pub fn ttag(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::TTAG)
    }
    pub fn r2t_offset(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::OFFSET)
    }
    pub fn r2t_length(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::LENGTH)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> R2t<T> {
    pub fn set_command_id(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::CID, v)
    }
    pub fn set_ttag(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::TTAG, v)
    }
    pub fn set_r2t_offset(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), offset::OFFSET, v)
    }
    pub fn set_r2t_length(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), offset::LENGTH, v)
    }
}
