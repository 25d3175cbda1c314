//! Byte-at-a-time reference of the placement contract, written from the contract and not from
//! the RTL: a registry of tags ((flow, CID) -> tag, generation, SGL), the verdict for a beat,
//! the host address of every data byte by walking the SGL entry by entry, and a host-memory
//! model that records every DMA write and flags any byte written outside a live buffer or
//! differing from the wire.
use super::{reason, status, MAX_SGL_ENTRIES, W};
use std::collections::{BTreeMap, HashMap};

/// A scatter-gather list: (host address, length) entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sgl(pub Vec<(u64, u32)>);

impl Sgl {
    pub fn total(&self) -> u64 {
        self.0.iter().map(|e| u64::from(e.1)).sum()
    }

    /// Host address of data byte `offset`, walking the entries one by one.
    pub fn addr_of(&self, offset: u64) -> Option<u64> {
        let mut at = 0u64;
        for &(addr, len) in &self.0 {
            if offset < at + u64::from(len) {
                return Some(addr + (offset - at));
            }
            at += u64::from(len);
        }
        None
    }
}

/// What a setup should answer, from the host allocation rules and the SGL alone (a busy tag
/// and a full bucket pair are the table's business and are not predicted here).
pub fn setup_status(tag_bits: usize, pool_bits: usize, tag: u64, base: u64, count: usize, sgl: &Sgl) -> u64 {
    if tag >> tag_bits != 0 {
        return status::BAD_TAG;
    }
    let (b0, row) = (base % 16, (base / 16) % 16);
    let geometry_ok = (1..=MAX_SGL_ENTRIES).contains(&count)
        && base < (1 << pool_bits)
        && if count <= 16 { b0 + count as u64 <= 16 } else { b0 == 0 && row + count.div_ceil(16) as u64 <= 16 };
    if !geometry_ok {
        return status::BAD_GEOMETRY;
    }
    let n = sgl.0.len();
    for (i, &(_, len)) in sgl.0.iter().enumerate() {
        if len == 0 || (i > 0 && i + 1 < n && (len as usize) < W) {
            return status::BAD_LENGTH;
        }
    }
    if sgl.total() >= 1 << 32 {
        return status::TOO_LONG;
    }
    status::OK
}

#[derive(Clone, Debug)]
pub struct RefTag {
    pub flow: u64,
    pub cid: u64,
    pub gen: u64,
    pub sgl: Sgl,
    /// Set up and not torn down.
    pub live: bool,
}

/// The tag registry as the host sees it.
#[derive(Default)]
pub struct RefRegistry {
    pub tag_bits: usize,
    pub tags: HashMap<u64, RefTag>,
    gens: HashMap<u64, u64>,
}

impl RefRegistry {
    pub fn new(tag_bits: usize) -> Self {
        Self { tag_bits, ..Default::default() }
    }

    /// A successful setup: the tag's generation advances (mod 256).
    pub fn setup(&mut self, tag: u64, flow: u64, cid: u64, sgl: Sgl) -> u64 {
        let gen = (self.gens.get(&tag).copied().unwrap_or(0) + 1) % 256;
        self.gens.insert(tag, gen);
        self.tags.insert(tag, RefTag { flow, cid, gen, sgl, live: true });
        gen
    }

    pub fn teardown(&mut self, tag: u64) {
        if let Some(t) = self.tags.get_mut(&tag) {
            t.live = false;
        }
    }

    pub fn lookup(&self, flow: u64, cid: u64) -> Option<(u64, u64)> {
        let hits: Vec<_> = self.tags.iter().filter(|(_, t)| t.live && t.flow == flow && t.cid == cid).map(|(&tag, t)| (tag, t.gen)).collect();
        (hits.len() == 1).then(|| hits[0])
    }

    /// The verdict for `count` bytes at data `offset` starting in `lane`.
    pub fn verdict(&self, flow: u64, tag: u64, gen: u64, offset: u64, lane: usize, count: usize) -> u64 {
        if count == 0 || lane + count > W || tag >> self.tag_bits != 0 {
            return reason::BAD_INPUT;
        }
        let Some(t) = self.tags.get(&tag).filter(|t| t.live) else { return reason::NOT_LIVE };
        if t.flow != flow {
            return reason::WRONG_FLOW;
        }
        if t.gen != gen {
            return reason::STALE;
        }
        if offset + count as u64 > t.sgl.total() {
            return reason::OUT_OF_BOUNDS;
        }
        reason::PLACED
    }
}

/// The byte the wire carries at data `offset` of the command with identity `seed`.
pub fn wire_byte(seed: u64, offset: u64) -> u8 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ offset.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x ^ (x >> 32)) as u8
}

/// Host memory: registered buffers (each an SGL and the seed of the data meant for it) and a
/// record of every DMA write.
#[derive(Default)]
pub struct HostMemory {
    /// Entry start -> (end, buffer seed, data offset of the entry's first byte).
    ranges: BTreeMap<u64, (u64, u64, u64)>,
    buffers: HashMap<u64, Sgl>,
    /// Every byte written: address -> (seed, value).
    pub written: HashMap<u64, u8>,
    pub bytes_written: u64,
    pub errors: Vec<String>,
}

impl HostMemory {
    /// The buffer becomes writable (at setup).
    pub fn register(&mut self, seed: u64, sgl: &Sgl) {
        let mut at = 0;
        for &(addr, len) in &sgl.0 {
            let end = addr + u64::from(len);
            if let Some((&s, &(e, other, _))) = self.ranges.range(..end).next_back() {
                assert!(e <= addr || s >= end, "test bug: buffers {seed} and {other} overlap");
            }
            self.ranges.insert(addr, (end, seed, at));
            at += u64::from(len);
        }
        self.buffers.insert(seed, sgl.clone());
    }

    /// The buffer is no longer writable (at teardown done).
    pub fn release(&mut self, seed: u64) {
        if let Some(sgl) = self.buffers.remove(&seed) {
            for &(addr, _) in &sgl.0 {
                self.ranges.remove(&addr);
            }
        }
    }

    /// The seed and data offset of the live buffer byte at `addr`.
    pub fn owner(&self, addr: u64) -> Option<(u64, u64)> {
        let (&start, &(end, seed, at)) = self.ranges.range(..=addr).next_back()?;
        (addr < end).then_some((seed, at + addr - start))
    }

    /// One DMA byte write; `cycle` only labels errors.
    pub fn write(&mut self, cycle: u64, addr: u64, value: u8) {
        self.bytes_written += 1;
        self.written.insert(addr, value);
        match self.owner(addr) {
            None => self.errors.push(format!("cycle {cycle}: write of {value:#04x} at {addr:#x} outside every live buffer")),
            Some((seed, offset)) if wire_byte(seed, offset) != value => self.errors.push(format!(
                "cycle {cycle}: write at {addr:#x} (buffer {seed}, offset {offset}) is {value:#04x}, the wire had {:#04x}",
                wire_byte(seed, offset)
            )),
            Some(_) => {}
        }
    }
}
