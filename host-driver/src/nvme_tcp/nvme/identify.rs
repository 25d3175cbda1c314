//! Identify Controller and Identify Namespace data structures (the fields this project
//! uses), parsed by the initiator and emitted by the target (NVMe base spec figures 275, 280;
//! NVMe-oF adds IOCCSZ/IORCSZ/ICDOFF/MSDBD at 1792..1804).

use super::commands::IDENTIFY_DATA_LEN;
use super::nqn::{get_nqn, put_nqn};
use crate::nvme_tcp::wire::field::{u16_at, u32_at, u64_at};

mod ctrl {
    pub const VID: usize = 0;
    pub const SN: (usize, usize) = (4, 24);
    pub const MN: (usize, usize) = (24, 64);
    pub const FR: (usize, usize) = (64, 72);
    pub const MDTS: usize = 77;
    pub const CNTLID: usize = 78;
    pub const VER: usize = 80;
    pub const KAS: usize = 320;
    pub const SQES: usize = 512;
    pub const CQES: usize = 513;
    pub const MAXCMD: usize = 514;
    pub const NN: usize = 516;
    pub const SGLS: usize = 536;
    pub const SUBNQN: (usize, usize) = (768, 1024);
    pub const IOCCSZ: usize = 1792;
    pub const IORCSZ: usize = 1796;
    pub const ICDOFF: usize = 1800;
    pub const MSDBD: usize = 1803;
}

mod ns {
    pub const NSZE: usize = 0;
    pub const NCAP: usize = 8;
    pub const NUSE: usize = 16;
    pub const NLBAF: usize = 25;
    pub const FLBAS: usize = 26;
    pub const LBAF0: usize = 128;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifyController {
    pub vendor_id: u16,
    pub serial: String,
    pub model: String,
    pub firmware: String,
    /// Maximum data transfer size as a power of two of CAP.MPSMIN pages; 0 = no limit.
    pub mdts: u8,
    pub cntlid: u16,
    pub version: u32,
    /// Keep-alive granularity in 100 ms units (0 = keep-alive not supported).
    pub kas: u16,
    pub maxcmd: u16,
    pub namespace_count: u32,
    pub subnqn: String,
    /// I/O queue command capsule size in 16-byte units (64-byte SQE + in-capsule data).
    pub ioccsz: u32,
    pub iorcsz: u32,
    pub icdoff: u16,
    pub msdbd: u8,
}

impl IdentifyController {
    /// Largest in-capsule data an I/O command may carry.
    pub fn in_capsule_data_limit(&self) -> usize {
        (self.ioccsz as usize * 16).saturating_sub(64)
    }

    /// MDTS in bytes for the given minimum page size, None when unlimited.
    pub fn max_transfer_bytes(&self, page_size: u64) -> Option<u64> {
        (self.mdts != 0).then(|| page_size << self.mdts)
    }

    pub fn parse(b: &[u8]) -> Self {
        Self {
            vendor_id: u16_at(b, ctrl::VID),
            serial: ascii(&b[ctrl::SN.0..ctrl::SN.1]),
            model: ascii(&b[ctrl::MN.0..ctrl::MN.1]),
            firmware: ascii(&b[ctrl::FR.0..ctrl::FR.1]),
            mdts: b[ctrl::MDTS],
            cntlid: u16_at(b, ctrl::CNTLID),
            version: u32_at(b, ctrl::VER),
            kas: u16_at(b, ctrl::KAS),
            maxcmd: u16_at(b, ctrl::MAXCMD),
            namespace_count: u32_at(b, ctrl::NN),
            subnqn: get_nqn(&b[ctrl::SUBNQN.0..ctrl::SUBNQN.1]),
            ioccsz: u32_at(b, ctrl::IOCCSZ),
            iorcsz: u32_at(b, ctrl::IORCSZ),
            icdoff: u16_at(b, ctrl::ICDOFF),
            msdbd: b[ctrl::MSDBD],
        }
    }

    pub fn emit(&self) -> Vec<u8> {
        let mut b = vec![0u8; IDENTIFY_DATA_LEN];
        b[ctrl::VID..ctrl::VID + 2].copy_from_slice(&self.vendor_id.to_le_bytes());
        put_ascii(&mut b[ctrl::SN.0..ctrl::SN.1], &self.serial);
        put_ascii(&mut b[ctrl::MN.0..ctrl::MN.1], &self.model);
        put_ascii(&mut b[ctrl::FR.0..ctrl::FR.1], &self.firmware);
        b[ctrl::MDTS] = self.mdts;
        b[ctrl::CNTLID..ctrl::CNTLID + 2].copy_from_slice(&self.cntlid.to_le_bytes());
        b[ctrl::VER..ctrl::VER + 4].copy_from_slice(&self.version.to_le_bytes());
        b[ctrl::KAS..ctrl::KAS + 2].copy_from_slice(&self.kas.to_le_bytes());
        // Required and maximum SQE/CQE sizes: 64 and 16 bytes.
        b[ctrl::SQES] = 6 << 4 | 6;
        b[ctrl::CQES] = 4 << 4 | 4;
        b[ctrl::MAXCMD..ctrl::MAXCMD + 2].copy_from_slice(&self.maxcmd.to_le_bytes());
        b[ctrl::NN..ctrl::NN + 4].copy_from_slice(&self.namespace_count.to_le_bytes());
        // SGLs supported (no alignment requirement), address-as-offset supported.
        b[ctrl::SGLS..ctrl::SGLS + 4].copy_from_slice(&(1u32 | 1 << 20).to_le_bytes());
        put_nqn(&mut b[ctrl::SUBNQN.0..ctrl::SUBNQN.1], &self.subnqn);
        b[ctrl::IOCCSZ..ctrl::IOCCSZ + 4].copy_from_slice(&self.ioccsz.to_le_bytes());
        b[ctrl::IORCSZ..ctrl::IORCSZ + 4].copy_from_slice(&self.iorcsz.to_le_bytes());
        b[ctrl::ICDOFF..ctrl::ICDOFF + 2].copy_from_slice(&self.icdoff.to_le_bytes());
        b[ctrl::MSDBD] = self.msdbd;
        b
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifyNamespace {
    /// Size in logical blocks.
    pub nsze: u64,
    pub ncap: u64,
    pub nuse: u64,
    /// Block size in bytes, from the LBA format FLBAS selects.
    pub block_size: u32,
}

impl IdentifyNamespace {
    pub fn parse(b: &[u8]) -> Self {
        let format = (b[ns::FLBAS] & 0xF) as usize;
        let lbads = b[ns::LBAF0 + 4 * format + 2];
        Self {
            nsze: u64_at(b, ns::NSZE),
            ncap: u64_at(b, ns::NCAP),
            nuse: u64_at(b, ns::NUSE),
            // LBADS below 9 is invalid (an inactive namespace reports 0): report 0 bytes.
            block_size: if (9..32).contains(&lbads) { 1 << lbads } else { 0 },
        }
    }

    /// One LBA format (index 0), no metadata.
    pub fn emit(&self) -> Vec<u8> {
        let mut b = vec![0u8; IDENTIFY_DATA_LEN];
        b[ns::NSZE..ns::NSZE + 8].copy_from_slice(&self.nsze.to_le_bytes());
        b[ns::NCAP..ns::NCAP + 8].copy_from_slice(&self.ncap.to_le_bytes());
        b[ns::NUSE..ns::NUSE + 8].copy_from_slice(&self.nuse.to_le_bytes());
        b[ns::NLBAF] = 0;
        b[ns::FLBAS] = 0;
        b[ns::LBAF0 + 2] = self.block_size.trailing_zeros() as u8;
        b
    }
}

/// The Active Namespace ID list: ascending NSIDs, ended by a zero entry or the 4 KiB end.
pub fn parse_namespace_list(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4).map(|c| u32_at(c, 0)).take_while(|&nsid| nsid != 0).collect()
}

pub fn emit_namespace_list(nsids: impl Iterator<Item = u32>) -> Vec<u8> {
    let mut b = vec![0u8; IDENTIFY_DATA_LEN];
    for (slot, nsid) in b.chunks_exact_mut(4).zip(nsids) {
        slot.copy_from_slice(&nsid.to_le_bytes());
    }
    b
}

/// Identify strings are ASCII, space padded.
fn ascii(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim_end_matches([' ', '\0']).to_string()
}

fn put_ascii(dst: &mut [u8], s: &str) {
    dst.fill(b' ');
    let n = s.len().min(dst.len());
    dst[..n].copy_from_slice(&s.as_bytes()[..n]);
}
