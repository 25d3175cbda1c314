//! Register addresses as this device lays them out: the blocks are found by walking BAR0's
//! self-describing chain (`pci::regblocks`), and each register's offset inside its block
//! comes from `ddpnic-regmap`. So a core that moves or adds blocks still works; a core without
//! a block the driver needs, or with a newer version of one, is refused.
use crate::pci::regblocks::RegisterBlocks;
use crate::pci::{Device, PciError, Result};
use ddpnic_regmap as rm;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Regs {
    /// BAR0 offset of every register by regmap name (block headers and counters included).
    by_name: HashMap<String, u64>,
    stats_base: u64,
}

impl Regs {
    /// Walks the chain, checks the identity block's MAGIC and maps every known register.
    pub fn discover<D: Device + ?Sized>(dev: &D) -> Result<Regs> {
        let mut bases = HashMap::new();
        for b in RegisterBlocks::new(dev) {
            let b = b?;
            if b.too_new() {
                return Err(PciError::Invalid(format!("register block {} at 0x{:x} has version {}, newer than this driver", b.name().unwrap_or("?"), b.offset, b.version)));
            }
            bases.insert(b.kind, b.offset);
        }
        let mut by_name = HashMap::new();
        for r in rm::flat() {
            let block = rm::BLOCKS.iter().find(|b| b.name == r.block).expect("flat() names its blocks");
            let Some(&base) = bases.get(&block.type_id) else {
                return Err(PciError::Invalid(format!("the device has no {} register block", block.name)));
            };
            by_name.insert(r.name, base + u64::from(r.addr - block.base));
        }
        let stats_base = bases[&rm::blk::STATS];
        let regs = Regs { by_name, stats_base };
        let magic = dev.read32(regs.at("MAGIC"))?;
        if magic != rm::MAGIC {
            return Err(PciError::Invalid(format!("MAGIC reads 0x{magic:08x}, not a ddpnic")));
        }
        Ok(regs)
    }

    /// BAR0 offset of a register by its regmap name (panics on a name the regmap lacks).
    pub fn at(&self, name: &str) -> u64 {
        *self.by_name.get(name).unwrap_or_else(|| panic!("no register {name} in the regmap"))
    }

    /// BAR0 offset of counter `k`'s LO word (`rm::COUNTERS[k]`).
    pub fn counter(&self, k: usize) -> u64 {
        self.stats_base + u64::from(rm::counter_addr(k) - rm::block(rm::blk::STATS).base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::mem::MemDevice;

    /// The regmap's blocks laid out at other offsets, in another order: registers follow.
    #[test]
    fn registers_follow_their_blocks() {
        let d = MemDevice::new(0x1_0000);
        let mut bases: Vec<(u32, u64)> = rm::BLOCKS.iter().enumerate().map(|(k, b)| (b.type_id, 0x2000 + 0x400 * (rm::BLOCKS.len() - 1 - k) as u64)).collect();
        bases.sort_by_key(|b| b.1);
        // chain starts at 0 with identity, then the rest by address
        let ident = bases.iter().position(|b| b.0 == rm::blk::IDENTITY).unwrap();
        let id = bases.remove(ident);
        bases.insert(0, (id.0, 0));
        for (k, &(ty, at)) in bases.iter().enumerate() {
            let next = bases.get(k + 1).map_or(0, |n| n.1 as u32);
            d.poke(at as usize, &[ty, rm::block(ty).version, next]);
        }
        let magic_off = u64::from(rm::addr("MAGIC") - rm::block(rm::blk::IDENTITY).base);
        d.poke(magic_off as usize, &[rm::MAGIC]);
        let regs = Regs::discover(&d).unwrap();
        let base = |ty: u32| bases.iter().find(|b| b.0 == ty).unwrap().1;
        assert_eq!(regs.at("RX_CONS"), base(rm::blk::RX_RING) + 0x30);
        assert_eq!(regs.at("CMD_OP"), base(rm::blk::COMMAND) + 0x10);
        assert_eq!(regs.counter(0), base(rm::blk::STATS) + u64::from(rm::STAT_FIRST));
        // a wrong MAGIC is not a ddpnic
        d.poke(magic_off as usize, &[0x1234]);
        assert!(Regs::discover(&d).is_err());
    }
}
