//! BAR0's self-describing register blocks, as the driver discovers them.
//!
//! ASSUMED LAYOUT (to reconcile with the NIC core's register map when it lands on main):
//! - the first block starts at BAR0 offset 0;
//! - a block's word 0 is its header: block type in bits 31:16, block version in bits 15:0;
//! - its word 1 is the BAR0 byte offset of the next block (absolute, 4-byte aligned), 0 when
//!   it is the last block;
//! - the block's registers follow from word 2.
//!
//! The walk stops with an error on: a header of 0xffff_ffff (the device does not answer: link
//! down, card not configured, surprise removal), a type of 0, a next offset that is not aligned,
//! lies outside BAR0 or does not move forward (a loop), or more than [`MAX_BLOCKS`] blocks.
use super::{Device, PciError, Result};

pub const MAX_BLOCKS: usize = 256;

/// Block types the driver knows (assumed numbering, see the module comment).
pub const KNOWN: &[(u16, &str, u16)] = &[
    // (type, name, highest version this driver understands)
    (0x0001, "identity", 1),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterBlock {
    /// BAR0 byte offset of the header word.
    pub offset: u64,
    pub kind: u16,
    pub version: u16,
    /// BAR0 byte offset of the next block, 0 for the last.
    pub next: u64,
}

impl RegisterBlock {
    pub fn name(&self) -> Option<&'static str> {
        KNOWN.iter().find(|(t, _, _)| *t == self.kind).map(|(_, n, _)| *n)
    }
    /// A known block with a version newer than this driver understands.
    pub fn too_new(&self) -> bool {
        KNOWN.iter().any(|(t, _, v)| *t == self.kind && self.version > *v)
    }
    /// BAR0 offset of the block's register `index` (0 = the first after the two header words).
    pub fn reg(&self, index: u64) -> u64 {
        self.offset + 8 + 4 * index
    }
}

/// Iterator over the blocks of a device's BAR0; yields an error once and then stops.
pub struct RegisterBlocks<'a, D: Device + ?Sized> {
    dev: &'a D,
    next: Option<u64>,
    count: usize,
}

impl<'a, D: Device + ?Sized> RegisterBlocks<'a, D> {
    pub fn new(dev: &'a D) -> Self {
        RegisterBlocks { dev, next: Some(0), count: 0 }
    }

    fn read_block(&mut self, offset: u64) -> Result<RegisterBlock> {
        let header = self.dev.read32(offset)?;
        if header == 0xffff_ffff {
            return Err(PciError::Invalid(format!("register block at 0x{offset:x} reads 0xffffffff: the device does not answer")));
        }
        let kind = (header >> 16) as u16;
        if kind == 0 {
            return Err(PciError::Invalid(format!("register block at 0x{offset:x} has type 0 (header 0x{header:08x})")));
        }
        let next = self.dev.read32(offset + 4)? as u64;
        if next != 0 && (!next.is_multiple_of(4) || next <= offset || next + 8 > self.dev.bar0_len()) {
            return Err(PciError::Invalid(format!("register block at 0x{offset:x}: next offset 0x{next:x} is misaligned, outside BAR0 or not forward")));
        }
        Ok(RegisterBlock { offset, kind, version: header as u16, next })
    }
}

impl<D: Device + ?Sized> Iterator for RegisterBlocks<'_, D> {
    type Item = Result<RegisterBlock>;
    fn next(&mut self) -> Option<Self::Item> {
        let offset = self.next.take()?;
        self.count += 1;
        if self.count > MAX_BLOCKS {
            return Some(Err(PciError::Invalid(format!("more than {MAX_BLOCKS} register blocks"))));
        }
        let r = self.read_block(offset);
        if let Ok(b) = &r {
            self.next = (b.next != 0).then_some(b.next);
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::mem::MemDevice;

    fn walk(dev: &MemDevice) -> Vec<Result<RegisterBlock>> {
        RegisterBlocks::new(dev).collect()
    }

    #[test]
    fn walks_a_chain_to_its_end() {
        let d = MemDevice::new(4096);
        d.poke(0, &[0x0001_0001, 0x100]);
        d.poke(0x100, &[0x0042_0003, 0x200]);
        d.poke(0x200, &[0x0007_0002, 0]);
        let blocks: Vec<RegisterBlock> = walk(&d).into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(blocks.len(), 3);
        assert_eq!((blocks[0].kind, blocks[0].version, blocks[0].name()), (1, 1, Some("identity")));
        assert_eq!((blocks[1].offset, blocks[1].kind, blocks[1].version), (0x100, 0x42, 3));
        assert_eq!(blocks[1].reg(1), 0x10c);
        assert_eq!(blocks[2].next, 0);
        assert!(!blocks[0].too_new());
    }

    #[test]
    fn refuses_loops_dead_devices_and_bad_offsets() {
        let d = MemDevice::new(4096);
        d.poke(0, &[0x0001_0001, 0x100]);
        d.poke(0x100, &[0x0002_0001, 0]);
        assert!(walk(&d).iter().all(|r| r.is_ok()));
        d.poke(0x100, &[0x0002_0001, 0x40]);
        let r = walk(&d);
        assert!(r[1].is_err(), "backwards next accepted");
        assert_eq!(r.len(), 2);
        d.poke(0x100, &[0x0002_0001, 0x1002]);
        assert!(walk(&d)[1].is_err(), "misaligned next accepted");
        d.poke(0x100, &[0x0002_0001, 0x2000]);
        assert!(walk(&d)[1].is_err(), "next outside BAR0 accepted");
        d.poke(0, &[0xffff_ffff, 0xffff_ffff]);
        let r = walk(&d);
        assert_eq!(r.len(), 1);
        assert!(r[0].as_ref().unwrap_err().to_string().contains("does not answer"));
        d.poke(0, &[0x0000_0001, 0]);
        assert!(walk(&d)[0].is_err(), "type 0 accepted");
        d.poke(0, &[0x0001_0002, 0]);
        assert!(walk(&d)[0].as_ref().unwrap().too_new());
    }
}
