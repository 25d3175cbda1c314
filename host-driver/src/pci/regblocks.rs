//! BAR0's self-describing register blocks, as the driver discovers them.
//!
//! Two header layouts, told apart by the first word at BAR0 offset 0:
//! - [`HeaderLayout::Packed`], the layout this driver was first written against: word 0 is
//!   type in bits 31:16 and version in bits 15:0, word 1 the absolute BAR0 byte offset of the
//!   next block (0 = last), registers from word 2. Chosen when word 0 has a non-zero type in
//!   its upper half.
//! - [`HeaderLayout::ThreeWord`], the NIC core's register map as documented on branch `core`
//!   (hdl/regmap/REGMAP.md): +0x0 TYPE, +0x4 VERSION, +0x8 NEXT (absolute BAR0 offset, 0 =
//!   last), 32 bits each, registers after them; identity block type 0xDD01 at 0x0000 with
//!   MAGIC 0x4E504444 ("DDPN") at +0x10. Chosen when word 0 is a non-zero value below 0x10000.
//!
//! Both chains start at BAR0 offset 0. The walk stops with an error on a word of 0xffff_ffff
//! (the device does not answer: link down, card not configured, surprise removal), a type of
//! 0, a next offset that is misaligned, outside BAR0 or not forward (a loop), or more than
//! [`MAX_BLOCKS`] blocks.
use super::{Device, PciError, Result};

pub const MAX_BLOCKS: usize = 256;

/// The identity block's MAGIC (three-word layout, +0x10): "DDPN".
pub const IDENTITY_MAGIC: u32 = 0x4E50_4444;

/// Block types the driver knows: (type, name, highest version this driver understands).
pub const KNOWN: &[(u32, &str, u32)] = &[
    // packed layout (the first assumption)
    (0x0001, "identity", 1),
    // three-word layout, hdl/regmap (branch core)
    (0xDD01, "identity", 1),
    (0xDD02, "control", 1),
    (0xDD03, "limits", 1),
    (0xDD10, "rx_ring", 1),
    (0xDD11, "tx_ring", 1),
    (0xDD12, "event_ring", 1),
    (0xDD20, "command", 1),
    (0xDD30, "stats", 1),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderLayout {
    Packed,
    ThreeWord,
}

impl HeaderLayout {
    /// Bytes of header before a block's registers.
    pub fn header_len(self) -> u64 {
        match self {
            HeaderLayout::Packed => 8,
            HeaderLayout::ThreeWord => 12,
        }
    }

    /// Decides from BAR0's first word.
    pub fn detect<D: Device + ?Sized>(dev: &D) -> Result<HeaderLayout> {
        match dev.read32(0)? {
            0xffff_ffff => Err(PciError::Invalid("BAR0 offset 0 reads 0xffffffff: the device does not answer".into())),
            0 => Err(PciError::Invalid("BAR0 offset 0 reads 0: no register block".into())),
            w if w >> 16 != 0 => Ok(HeaderLayout::Packed),
            _ => Ok(HeaderLayout::ThreeWord),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterBlock {
    pub layout: HeaderLayout,
    /// BAR0 byte offset of the block.
    pub offset: u64,
    pub kind: u32,
    pub version: u32,
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
    /// BAR0 offset of the block's register `index` (0 = the first after the header).
    pub fn reg(&self, index: u64) -> u64 {
        self.offset + self.layout.header_len() + 4 * index
    }
}

/// Iterator over the blocks of a device's BAR0; yields an error once and then stops.
pub struct RegisterBlocks<'a, D: Device + ?Sized> {
    dev: &'a D,
    layout: Option<HeaderLayout>,
    next: Option<u64>,
    count: usize,
}

impl<'a, D: Device + ?Sized> RegisterBlocks<'a, D> {
    /// Detects the layout from BAR0's first word.
    pub fn new(dev: &'a D) -> Self {
        RegisterBlocks { dev, layout: None, next: Some(0), count: 0 }
    }

    pub fn with_layout(dev: &'a D, layout: HeaderLayout) -> Self {
        RegisterBlocks { dev, layout: Some(layout), next: Some(0), count: 0 }
    }

    fn read_block(&mut self, offset: u64) -> Result<RegisterBlock> {
        let layout = match self.layout {
            Some(l) => l,
            None => {
                let l = HeaderLayout::detect(self.dev)?;
                self.layout = Some(l);
                l
            }
        };
        let w0 = self.dev.read32(offset)?;
        if w0 == 0xffff_ffff {
            return Err(PciError::Invalid(format!("register block at 0x{offset:x} reads 0xffffffff: the device does not answer")));
        }
        let (kind, version, next) = match layout {
            HeaderLayout::Packed => (w0 >> 16, w0 & 0xffff, self.dev.read32(offset + 4)? as u64),
            HeaderLayout::ThreeWord => (w0, self.dev.read32(offset + 4)?, self.dev.read32(offset + 8)? as u64),
        };
        if kind == 0 {
            return Err(PciError::Invalid(format!("register block at 0x{offset:x} has type 0")));
        }
        if next != 0 && (!next.is_multiple_of(4) || next <= offset || next + layout.header_len() > self.dev.bar0_len()) {
            return Err(PciError::Invalid(format!("register block at 0x{offset:x}: next offset 0x{next:x} is misaligned, outside BAR0 or not forward")));
        }
        Ok(RegisterBlock { layout, offset, kind, version, next })
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
    fn walks_a_packed_chain_to_its_end() {
        let d = MemDevice::new(4096);
        d.poke(0, &[0x0001_0001, 0x100]);
        d.poke(0x100, &[0x0042_0003, 0x200]);
        d.poke(0x200, &[0x0007_0002, 0]);
        let blocks: Vec<RegisterBlock> = walk(&d).into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[0].layout, HeaderLayout::Packed);
        assert_eq!((blocks[0].kind, blocks[0].version, blocks[0].name()), (1, 1, Some("identity")));
        assert_eq!((blocks[1].offset, blocks[1].kind, blocks[1].version), (0x100, 0x42, 3));
        assert_eq!(blocks[1].reg(1), 0x10c);
        assert_eq!(blocks[2].next, 0);
        assert!(!blocks[0].too_new());
    }

    /// The chain as hdl/regmap/REGMAP.md (branch core) lays it out.
    #[test]
    fn walks_the_cores_three_word_chain() {
        let d = MemDevice::new(65536);
        let chain: [(usize, u32); 8] = [(0x000, 0xDD01), (0x100, 0xDD02), (0x200, 0xDD03), (0x300, 0xDD10), (0x400, 0xDD11), (0x500, 0xDD12), (0x600, 0xDD20), (0x800, 0xDD30)];
        for (k, &(off, ty)) in chain.iter().enumerate() {
            let next = chain.get(k + 1).map_or(0, |n| n.0);
            d.poke(off, &[ty, 1, next as u32]);
        }
        d.poke(0x10, &[IDENTITY_MAGIC]);
        let blocks: Vec<RegisterBlock> = walk(&d).into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(blocks.len(), 8);
        assert!(blocks.iter().all(|b| b.layout == HeaderLayout::ThreeWord && b.version == 1 && b.name().is_some()));
        assert_eq!(blocks[7].name(), Some("stats"));
        assert_eq!(blocks[0].reg(1), 0x10, "identity MAGIC is its register 1 (+0x10)");
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
        d.poke(0x100, &[0x0000_0001, 0]);
        assert!(walk(&d)[1].is_err(), "type 0 accepted");
        d.poke(0, &[0xffff_ffff, 0xffff_ffff]);
        let r = walk(&d);
        assert_eq!(r.len(), 1);
        assert!(r[0].as_ref().unwrap_err().to_string().contains("does not answer"));
        d.poke(0, &[0, 0]);
        assert!(walk(&d)[0].is_err(), "an empty BAR accepted");
        d.poke(0, &[0x0001_0002, 0]);
        assert!(walk(&d)[0].as_ref().unwrap().too_new());
    }
}
