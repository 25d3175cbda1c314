//! The 16-byte NVMe completion queue entry carried by a CapsuleResp:
//! `result le64 | sq_head le16 | sq_id le16 | command_id le16 | status le16`.

use super::field::{byte_view, put_u16, put_u64, u16_at, u64_at};

mod offset {
    pub const RESULT: usize = 0;
    pub const SQ_HEAD: usize = 8;
    pub const SQ_ID: usize = 10;
    pub const CID: usize = 12;
    pub const STATUS: usize = 14;
}

byte_view!(
    /// Completion queue entry.
    Cqe, 16
);

impl<T: AsRef<[u8]>> Cqe<T> {
    /// Command specific result (DW0, and DW1 for 64-bit Property Get values).
    pub fn result(&self) -> u64 {
        u64_at(self.buffer.as_ref(), offset::RESULT)
    }
    pub fn sq_head(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::SQ_HEAD)
    }
    pub fn sq_id(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::SQ_ID)
    }
    pub fn command_id(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::CID)
    }
    /// Raw status word: phase tag in bit 0, status field in bits 15:1.
    pub fn status_word(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::STATUS)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Cqe<T> {
    pub fn set_result(&mut self, v: u64) {
        put_u64(self.buffer.as_mut(), offset::RESULT, v)
    }
    pub fn set_sq_head(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::SQ_HEAD, v)
    }
    pub fn set_sq_id(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::SQ_ID, v)
    }
    pub fn set_command_id(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::CID, v)
    }
    pub fn set_status_word(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::STATUS, v)
    }
}

/// A completion as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqeRepr {
    pub result: u64,
    pub sq_head: u16,
    pub sq_id: u16,
    pub command_id: u16,
    pub status_word: u16,
}

impl CqeRepr {
    pub fn parse<T: AsRef<[u8]>>(cqe: &Cqe<T>) -> Self {
        Self {
            result: cqe.result(),
            sq_head: cqe.sq_head(),
            sq_id: cqe.sq_id(),
            command_id: cqe.command_id(),
            status_word: cqe.status_word(),
        }
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, cqe: &mut Cqe<T>) {
        cqe.set_result(self.result);
        cqe.set_sq_head(self.sq_head);
        cqe.set_sq_id(self.sq_id);
        cqe.set_command_id(self.command_id);
        cqe.set_status_word(self.status_word);
    }
}
