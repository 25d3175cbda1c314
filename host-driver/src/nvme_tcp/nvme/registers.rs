//! Controller properties reached through Fabrics Property Get/Set (NVMe base spec 3.1).

pub const CAP: u32 = 0x00;
pub const VS: u32 = 0x08;
pub const CC: u32 = 0x14;
pub const CSTS: u32 = 0x1C;

/// CAP fields.
pub mod cap {
    /// Maximum queue entries supported, 0's based.
    pub fn mqes(cap: u64) -> u16 {
        cap as u16
    }
    /// Worst-case time to CSTS.RDY after CC.EN changes, in milliseconds (TO is in 500 ms units).
    pub fn timeout_ms(cap: u64) -> u64 {
        ((cap >> 24) & 0xFF) * 500
    }
    /// Minimum memory page size in bytes.
    pub fn mpsmin_bytes(cap: u64) -> u64 {
        1 << (12 + ((cap >> 48) & 0xF))
    }
    pub fn build(mqes: u16, timeout_500ms: u8) -> u64 {
        // CSS bit 37: NVM command set supported.
        mqes as u64 | (timeout_500ms as u64) << 24 | 1 << 37
    }
}

/// CC fields.
pub mod cc {
    pub const EN: u32 = 1 << 0;
    pub const SHN_MASK: u32 = 3 << 14;
    pub const SHN_NORMAL: u32 = 1 << 14;
    /// EN=1, CSS=NVM, MPS=4 KiB, AMS=round robin, IOSQES=6 (64 B), IOCQES=4 (16 B).
    pub const ENABLE_VALUE: u32 = EN | 6 << 16 | 4 << 20;
}

/// CSTS fields.
pub mod csts {
    pub const RDY: u32 = 1 << 0;
    pub const CFS: u32 = 1 << 1;
    pub const SHST_MASK: u32 = 3 << 2;
    pub const SHST_COMPLETE: u32 = 2 << 2;
}

/// VS value for NVMe 1.3.0 (major << 16 | minor << 8).
pub const VERSION_1_3: u32 = 1 << 16 | 3 << 8;
