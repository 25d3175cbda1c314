//! BAR0's self-describing register blocks, as the driver discovers them. The layout and the
//! block types come from `ddpnic-regmap`, the source the RTL's register file is generated
//! from (hdl/regmap/REGMAP.md): every block starts with TYPE, VERSION and NEXT (the absolute
//! BAR0 offset of the next block, 0 = last), the chain starts at BAR0 offset 0 with the
//! identity block, whose MAGIC reads "DDPN".
//!
//! The walk stops with an error on a word of 0xffff_ffff (the device does not answer: link
//! down, card not configured, surprise removal), a type of 0, a next offset that is
//! misaligned, outside BAR0 or not forward (a loop), or more than [`MAX_BLOCKS`] blocks.
use super::{Device, PciError, Result};
use ddpnic_regmap as regmap;

pub const MAX_BLOCKS: usize = 256;

/// Bytes of header before a block's registers (TYPE, VERSION, NEXT).
const HEADER_LEN: u64 = regmap::HDR_NEXT as u64 + 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterBlock {
    /// BAR0 byte offset of the block.
    pub offset: u64,
    pub kind: u32,
    pub version: u32,
    /// BAR0 byte offset of the next block, 0 for the last.
    pub next: u64,
}

impl RegisterBlock {
    fn known(&self) -> Option<&'static regmap::Block> {
        regmap::BLOCKS.iter().find(|b| b.type_id == self.kind)
    }
    pub fn name(&self) -> Option<&'static str> {
        self.known().map(|b| b.name)
    }
    /// A known block with a version newer than this driver understands.
    pub fn too_new(&self) -> bool {
        self.known().is_some_and(|b| self.version > b.version)
    }
    /// BAR0 offset of the register at byte `offset` inside the block (as the regmap gives it).
    pub fn reg(&self, offset: u16) -> u64 {
        self.offset + u64::from(offset)
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
        let kind = self.dev.read32(offset + u64::from(regmap::HDR_TYPE))?;
        if kind == 0xffff_ffff {
            return Err(PciError::Invalid(format!("register block at 0x{offset:x} reads 0xffffffff: the device does not answer")));
        }
        if kind == 0 {
            return Err(PciError::Invalid(format!("register block at 0x{offset:x} has type 0")));
        }
        let version = self.dev.read32(offset + u64::from(regmap::HDR_VERSION))?;
        let next = u64::from(self.dev.read32(offset + u64::from(regmap::HDR_NEXT))?);
        if next != 0 && (!next.is_multiple_of(4) || next <= offset || next + HEADER_LEN > self.dev.bar0_len()) {
            return Err(PciError::Invalid(format!("register block at 0x{offset:x}: next offset 0x{next:x} is misaligned, outside BAR0 or not forward")));
        }
        Ok(RegisterBlock { offset, kind, version, next })
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

    /// The core's chain, laid out from the regmap's own block list.
    #[test]
    fn walks_the_cores_chain_to_its_end() {
        let d = MemDevice::new(65536);
        for (k, b) in regmap::BLOCKS.iter().enumerate() {
            let next = regmap::BLOCKS.get(k + 1).map_or(0, |n| u32::from(n.base));
            d.poke(b.base as usize, &[b.type_id, b.version, next]);
        }
        d.poke(regmap::addr("MAGIC") as usize, &[regmap::MAGIC]);
        let blocks: Vec<RegisterBlock> = walk(&d).into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(blocks.len(), regmap::BLOCKS.len());
        assert!(blocks.iter().all(|b| b.name().is_some() && !b.too_new()));
        assert_eq!(blocks[0].name(), Some("identity"));
        assert_eq!(blocks.last().unwrap().next, 0);
        assert_eq!(blocks[0].reg(0x10), u64::from(regmap::addr("MAGIC")));
    }

    #[test]
    fn refuses_loops_dead_devices_and_bad_offsets() {
        let d = MemDevice::new(4096);
        d.poke(0, &[regmap::blk::IDENTITY, 1, 0x100]);
        d.poke(0x100, &[regmap::blk::CONTROL, 1, 0]);
        assert!(walk(&d).iter().all(|r| r.is_ok()));
        d.poke(0x100, &[regmap::blk::CONTROL, 1, 0x40]);
        let r = walk(&d);
        assert!(r[1].is_err(), "backwards next accepted");
        assert_eq!(r.len(), 2);
        d.poke(0x100, &[regmap::blk::CONTROL, 1, 0x1002]);
        assert!(walk(&d)[1].is_err(), "misaligned next accepted");
        d.poke(0x100, &[regmap::blk::CONTROL, 1, 0x2000]);
        assert!(walk(&d)[1].is_err(), "next outside BAR0 accepted");
        d.poke(0x100, &[0, 1, 0]);
        assert!(walk(&d)[1].is_err(), "type 0 accepted");
        d.poke(0, &[0xffff_ffff, 0xffff_ffff, 0xffff_ffff]);
        let r = walk(&d);
        assert_eq!(r.len(), 1);
        assert!(r[0].as_ref().unwrap_err().to_string().contains("does not answer"));
        d.poke(0, &[0, 0, 0]);
        assert!(walk(&d)[0].is_err(), "an empty BAR accepted");
        d.poke(0, &[regmap::blk::IDENTITY, 2, 0]);
        assert!(walk(&d)[0].as_ref().unwrap().too_new());
    }
}
