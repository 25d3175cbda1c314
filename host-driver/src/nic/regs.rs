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
