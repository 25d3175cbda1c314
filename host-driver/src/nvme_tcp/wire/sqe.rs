//! The 64-byte NVMe submission queue entry carried by a CapsuleCmd, and the 16-byte SGL
//! data descriptor in its DPTR field (NVMe base spec 4.2 and 4.4).

use super::field::{byte_view, put_u16, put_u32, put_u64, u16_at, u32_at, u64_at};

mod offset {
    pub const OPCODE: usize = 0;
    pub const FLAGS: usize = 1;
    pub const CID: usize = 2;
    pub const NSID: usize = 4;
    pub const DPTR: usize = 24;
    pub const CDW10: usize = 40;
}

/// Command flags: PSDT = 01b, "SGLs are used for this transfer", which NVMe over
/// Fabrics requires (Linux nvmet rejects PRP commands).
pub const FLAGS_PSDT_SGL: u8 = 0x40;

/// Size of a submission queue entry (IOSQES = 6).
pub const SQE_LEN: usize = 64;

byte_view!(
    /// Submission queue entry.
    Sqe, SQE_LEN
);

impl<T: AsRef<[u8]>> Sqe<T> {
    pub fn opcode(&self) -> u8 {
        self.buffer.as_ref()[offset::OPCODE]
    }
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[offset::FLAGS]
    }
    pub fn command_id(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::CID)
    }
    pub fn nsid(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::NSID)
    }
    pub fn sgl(&self) -> SglDescriptor {
        SglDescriptor::parse(&self.buffer.as_ref()[offset::DPTR..offset::DPTR + 16])
    }
    /// Command dword 10..15 (`n` in 10..=15).
    pub fn cdw(&self, n: usize) -> u32 {
        u32_at(self.buffer.as_ref(), offset::CDW10 + 4 * (n - 10))
    }
    /// A byte of the command-specific area (fabrics commands use byte offsets).
    pub fn byte(&self, off: usize) -> u8 {
        self.buffer.as_ref()[off]
    }
    pub fn u16_at(&self, off: usize) -> u16 {
        u16_at(self.buffer.as_ref(), off)
    }
    pub fn u32_at(&self, off: usize) -> u32 {
        u32_at(self.buffer.as_ref(), off)
    }
    pub fn u64_at(&self, off: usize) -> u64 {
        u64_at(self.buffer.as_ref(), off)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Sqe<T> {
    pub fn set_opcode(&mut self, v: u8) {
        self.buffer.as_mut()[offset::OPCODE] = v
    }
    pub fn set_flags(&mut self, v: u8) {
        self.buffer.as_mut()[offset::FLAGS] = v
    }
    pub fn set_command_id(&mut self, v: u16) {
        put_u16(self.buffer.as_mut(), offset::CID, v)
    }
    pub fn set_nsid(&mut self, v: u32) {
        put_u32(self.buffer.as_mut(), offset::NSID, v)
    }
    pub fn set_sgl(&mut self, sgl: SglDescriptor) {
        sgl.emit(&mut self.buffer.as_mut()[offset::DPTR..offset::DPTR + 16])
    }
    pub fn set_cdw(&mut self, n: usize, v: u32) {
        put_u32(self.buffer.as_mut(), offset::CDW10 + 4 * (n - 10), v)
    }
    pub fn set_byte(&mut self, off: usize, v: u8) {
        self.buffer.as_mut()[off] = v
    }
    pub fn set_u16_at(&mut self, off: usize, v: u16) {
        put_u16(self.buffer.as_mut(), off, v)
    }
    pub fn set_u32_at(&mut self, off: usize, v: u32) {
        put_u32(self.buffer.as_mut(), off, v)
    }
    pub fn set_u64_at(&mut self, off: usize, v: u64) {
        put_u64(self.buffer.as_mut(), off, v)
    }
}

/// SGL data descriptor: `address le64 | length le32 | 3 reserved | identifier u8`
/// where the identifier is `type << 4 | subtype`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SglDescriptor {
    pub address: u64,
    pub length: u32,
    pub identifier: u8,
}

impl SglDescriptor {
    /// Data Block descriptor, Offset subtype: data is in the capsule at `address`.
    pub const IN_CAPSULE: u8 = 0x01;
    /// Transport SGL Data Block, transport-specific subtype A: NVMe/TCP moves the data
    /// with C2HData, or R2T + H2CData.
    pub const TRANSPORT_DATA_BLOCK: u8 = 0x5A;

    pub fn in_capsule(length: u32) -> Self {
        Self { address: 0, length, identifier: Self::IN_CAPSULE }
    }

    pub fn transport(length: u32) -> Self {
        Self { address: 0, length, identifier: Self::TRANSPORT_DATA_BLOCK }
    }

    pub fn parse(b: &[u8]) -> Self {
        Self { address: u64_at(b, 0), length: u32_at(b, 8), identifier: b[15] }
    }

    pub fn emit(&self, b: &mut [u8]) {
        put_u64(b, 0, self.address);
        put_u32(b, 8, self.length);
        b[12..15].fill(0);
        b[15] = self.identifier;
    }
}
