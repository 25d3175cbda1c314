//! The host-memory model: sparse byte memory, a DMA allocator, live regions, and the write log.
//!
//! Every DMA write the NIC makes is checked against the live regions the user declared (rings,
//! registered buffers); a byte written outside every live region is an error carrying the
//! address, length and cycle. Regions come and go at run time, mirroring setup and teardown.
use std::collections::{BTreeMap, HashMap};
use std::fmt;

const PAGE: u64 = 4096;

/// Identifies a live region (see [`HostMemory::add_region`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionId(pub u64);

#[derive(Clone, Debug)]
pub struct Region {
    pub id: RegionId,
    pub addr: u64,
    pub len: u64,
    pub name: String,
}

/// One contiguous run of bytes written by one DMA write burst.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmaWrite {
    /// Cycle of the burst's first data beat.
    pub cycle: u64,
    pub id: u8,
    pub addr: u64,
    pub len: u64,
}

/// What went wrong, where and when. `cycle` is the simulation cycle of the offending beat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimError {
    /// DMA write bytes outside every live region.
    WriteOutsideRegion { addr: u64, len: u64, cycle: u64, id: u8 },
    /// DMA read of bytes never allocated with [`HostMemory::alloc`] (only when read checking is on).
    ReadUnallocated { addr: u64, len: u64, cycle: u64, id: u8 },
    /// A burst crosses a 4 KiB boundary or is longer than 4 KiB.
    Cross4K { write: bool, addr: u64, len: u64, cycle: u64, id: u8 },
    /// Any other AXI protocol violation (burst type, size, WLAST, strobes, TKEEP).
    Protocol { what: String, cycle: u64 },
    /// An MMIO access got a non-OKAY response.
    MmioResponse { write: bool, offset: u32, resp: u8, cycle: u64 },
    /// An MMIO access got no response in time.
    MmioTimeout { write: bool, offset: u32, cycle: u64 },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::WriteOutsideRegion { addr, len, cycle, id } => {
                write!(f, "cycle {cycle}: DMA write outside any live region: {len} bytes at {addr:#x} (AXI id {id})")
            }
            SimError::ReadUnallocated { addr, len, cycle, id } => {
                write!(f, "cycle {cycle}: DMA read of unallocated memory: {len} bytes at {addr:#x} (AXI id {id})")
            }
            SimError::Cross4K { write, addr, len, cycle, id } => write!(
                f,
                "cycle {cycle}: DMA {} burst crosses a 4 KiB boundary or exceeds 4 KiB: {len} bytes at {addr:#x} (AXI id {id})",
                if *write { "write" } else { "read" }
            ),
            SimError::Protocol { what, cycle } => write!(f, "cycle {cycle}: protocol violation: {what}"),
            SimError::MmioResponse { write, offset, resp, cycle } => write!(
                f,
                "cycle {cycle}: MMIO {} at BAR0+{offset:#x} answered resp={resp}",
                if *write { "write" } else { "read" }
            ),
            SimError::MmioTimeout { write, offset, cycle } => write!(
                f,
                "cycle {cycle}: MMIO {} at BAR0+{offset:#x} got no response",
                if *write { "write" } else { "read" }
            ),
        }
    }
}

impl std::error::Error for SimError {}

/// Sparse host memory (zero where never written) with an allocator and live regions.
pub struct HostMemory {
    pages: HashMap<u64, Box<[u8; PAGE as usize]>>,
    next_alloc: u64,
    /// start -> end (exclusive) of every allocation
    allocated: BTreeMap<u64, u64>,
    regions: BTreeMap<u64, Vec<Region>>,
    by_id: HashMap<RegionId, u64>,
    next_region: u64,
    log: Vec<DmaWrite>,
    log_enabled: bool,
    pub(crate) errors: Vec<SimError>,
}

impl Default for HostMemory {
    fn default() -> Self {
        Self::new()
    }
}

impl HostMemory {
    /// Allocations start at 4 GiB so the NIC's 64-bit addressing is exercised.
    pub const ALLOC_BASE: u64 = 0x1_0000_0000;

    pub fn new() -> Self {
        HostMemory {
            pages: HashMap::new(),
            next_alloc: Self::ALLOC_BASE,
            allocated: BTreeMap::new(),
            regions: BTreeMap::new(),
            by_id: HashMap::new(),
            next_region: 1,
            log: Vec::new(),
            log_enabled: true,
            errors: Vec::new(),
        }
    }

    // ------------------------------------------------------------------ bytes

    #[inline]
    fn page(&mut self, addr: u64) -> &mut [u8; PAGE as usize] {
        self.pages.entry(addr / PAGE).or_insert_with(|| Box::new([0; PAGE as usize]))
    }

    /// Reads host memory (never-written bytes read as 0). Not a DMA: never checked or logged.
    pub fn read(&self, addr: u64, buf: &mut [u8]) {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr + done as u64;
            let off = (a % PAGE) as usize;
            let n = (PAGE as usize - off).min(buf.len() - done);
            match self.pages.get(&(a / PAGE)) {
                Some(p) => buf[done..done + n].copy_from_slice(&p[off..off + n]),
                None => buf[done..done + n].fill(0),
            }
            done += n;
        }
    }

    pub fn read_vec(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.read(addr, &mut v);
        v
    }

    pub fn read_u32(&self, addr: u64) -> u32 {
        let mut b = [0; 4];
        self.read(addr, &mut b);
        u32::from_le_bytes(b)
    }

    pub fn read_u64(&self, addr: u64) -> u64 {
        let mut b = [0; 8];
        self.read(addr, &mut b);
        u64::from_le_bytes(b)
    }

    /// Writes host memory as the host CPU does: never checked or logged.
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        let mut done = 0usize;
        while done < data.len() {
            let a = addr + done as u64;
            let off = (a % PAGE) as usize;
            let n = (PAGE as usize - off).min(data.len() - done);
            self.page(a)[off..off + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
    }

    pub fn write_u32(&mut self, addr: u64, v: u32) {
        self.write(addr, &v.to_le_bytes())
    }

    pub fn write_u64(&mut self, addr: u64, v: u64) {
        self.write(addr, &v.to_le_bytes())
    }

    /// The 64 bytes of the aligned line holding `addr` (the DMA read path).
    #[inline]
    pub(crate) fn read_line(&self, addr: u64, out: &mut [u8; 64]) {
        let a = addr & !63;
        match self.pages.get(&(a / PAGE)) {
            Some(p) => out.copy_from_slice(&p[(a % PAGE) as usize..(a % PAGE) as usize + 64]),
            None => out.fill(0),
        }
    }

    // ------------------------------------------------------------------ allocator

    /// Reserves `len` bytes aligned to `align` (a power of two, at least 64) and zeroes them.
    /// DMA reads may touch allocated memory, rounded up to whole 64-byte lines (a DMA engine
    /// reads whole beats; an IOMMU maps whole pages); DMA writes need a live region as well.
    pub fn alloc(&mut self, len: u64, align: u64) -> u64 {
        let align = align.max(64);
        assert!(align.is_power_of_two(), "alignment {align} is not a power of two");
        let addr = (self.next_alloc + align - 1) & !(align - 1);
        // leave a guard gap after every allocation so overruns land in unallocated memory
        self.next_alloc = addr + len.max(1) + 4096;
        self.allocated.insert(addr, addr + len.div_ceil(64) * 64);
        let zeros = vec![0u8; len as usize];
        self.write(addr, &zeros);
        addr
    }

    /// Forgets an allocation made by [`alloc`](Self::alloc) (its addresses are not reused).
    pub fn free(&mut self, addr: u64) -> bool {
        self.allocated.remove(&addr).is_some()
    }

    pub fn is_allocated(&self, addr: u64, len: u64) -> bool {
        covered(&self.allocated, addr, len, |e| *e)
    }

    // ------------------------------------------------------------------ live regions

    /// Declares `[addr, addr + len)` writable by the NIC (a ring, a registered buffer).
    /// Regions may overlap and touch; a write is good when every byte is in some live region.
    pub fn add_region(&mut self, addr: u64, len: u64, name: impl Into<String>) -> RegionId {
        let id = RegionId(self.next_region);
        self.next_region += 1;
        self.regions.entry(addr).or_default().push(Region { id, addr, len, name: name.into() });
        self.by_id.insert(id, addr);
        id
    }

    /// Ends a live region (teardown): later NIC writes there are errors. False if unknown.
    pub fn remove_region(&mut self, id: RegionId) -> bool {
        let Some(addr) = self.by_id.remove(&id) else { return false };
        let list = self.regions.get_mut(&addr).unwrap();
        list.retain(|r| r.id != id);
        if list.is_empty() {
            self.regions.remove(&addr);
        }
        true
    }

    pub fn regions(&self) -> impl Iterator<Item = &Region> {
        self.regions.values().flatten()
    }

    /// True when every byte of `[addr, addr + len)` lies in a live region.
    pub fn is_live(&self, addr: u64, len: u64) -> bool {
        // end of the longest region starting at each address
        let mut pos = addr;
        let end = addr + len;
        'outer: while pos < end {
            // any region with start <= pos and end > pos; try the nearest starts first
            for (_, list) in self.regions.range(..=pos).rev() {
                for r in list {
                    if r.addr + r.len > pos {
                        pos = r.addr + r.len;
                        continue 'outer;
                    }
                }
                // regions far below pos cannot reach it unless they are long: keep looking,
                // but stop after a bounded number of starts (errors take the slow path below)
            }
            return false;
        }
        true
    }

    // ------------------------------------------------------------------ DMA side (used by the AXI slave)

    /// A DMA write of `data[i]` to `addr + i` for every i with `strobe` bit i set (one beat).
    pub(crate) fn dma_write_line(&mut self, line: u64, data: &[u8; 64], strobe: u64, cycle: u64, id: u8, burst_cycle: u64) {
        if strobe == 0 {
            return;
        }
        let page = self.page(line);
        let base = (line % PAGE) as usize;
        if strobe == u64::MAX {
            page[base..base + 64].copy_from_slice(data);
        } else {
            for lane in 0..64 {
                if strobe >> lane & 1 == 1 {
                    page[base + lane] = data[lane];
                }
            }
        }
        // contiguous runs of set strobes
        let mut s = strobe;
        while s != 0 {
            let lo = s.trailing_zeros() as u64;
            let run = (!(s >> lo)).trailing_zeros() as u64;
            let addr = line + lo;
            self.check_write(addr, run, cycle, id);
            if self.log_enabled {
                match self.log.last_mut() {
                    Some(w) if w.cycle == burst_cycle && w.id == id && w.addr + w.len == addr => w.len += run,
                    _ => self.log.push(DmaWrite { cycle: burst_cycle, id, addr, len: run }),
                }
            }
            if lo + run >= 64 {
                break;
            }
            s &= !((1u64 << (lo + run)) - 1);
        }
    }

    fn check_write(&mut self, addr: u64, len: u64, cycle: u64, id: u8) {
        if self.is_live(addr, len) {
            return;
        }
        // report exactly the bytes outside; merge with the previous report of the same burst
        let mut a = addr;
        while a < addr + len {
            if self.is_live(a, 1) {
                a += 1;
                continue;
            }
            let start = a;
            while a < addr + len && !self.is_live(a, 1) {
                a += 1;
            }
            let n = a - start;
            match self.errors.last_mut() {
                Some(SimError::WriteOutsideRegion { addr: ea, len: el, id: eid, .. }) if *eid == id && *ea + *el == start => *el += n,
                _ => self.errors.push(SimError::WriteOutsideRegion { addr: start, len: n, cycle, id }),
            }
        }
    }

    // ------------------------------------------------------------------ log

    /// Every DMA write so far (contiguous runs per burst), oldest first, and clears the log.
    pub fn take_write_log(&mut self) -> Vec<DmaWrite> {
        std::mem::take(&mut self.log)
    }

    pub fn write_log(&self) -> &[DmaWrite] {
        &self.log
    }

    /// Turns the write log off (long runs that do not need it) or on.
    pub fn set_write_log(&mut self, on: bool) {
        self.log_enabled = on;
    }
}

fn covered<V>(map: &BTreeMap<u64, V>, addr: u64, len: u64, end_of: impl Fn(&V) -> u64) -> bool {
    let mut pos = addr;
    let end = addr + len.max(1);
    while pos < end {
        match map.range(..=pos).next_back() {
            Some((_, v)) if end_of(v) > pos => pos = end_of(v),
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_cover_and_teardown() {
        let mut m = HostMemory::new();
        let a = m.alloc(8192, 4096);
        let r1 = m.add_region(a, 4096, "ring");
        let r2 = m.add_region(a + 4096, 100, "buf");
        assert!(m.is_live(a, 4196));
        assert!(!m.is_live(a, 4197));
        assert!(m.remove_region(r2));
        assert!(!m.is_live(a + 4096, 1));
        assert!(m.is_live(a + 10, 10));
        assert!(m.remove_region(r1));
        assert!(!m.remove_region(r1));
        assert!(!m.is_live(a, 1));
    }

    #[test]
    fn dma_line_write_checks_and_logs() {
        let mut m = HostMemory::new();
        let a = m.alloc(4096, 4096);
        m.add_region(a + 8, 16, "x");
        let data = [0xAB; 64];
        // lanes 4..=27: 4 bytes before the region and 4 after
        m.dma_write_line(a, &data, ((1u64 << 28) - 1) & !0xF, 7, 3, 7);
        assert_eq!(
            m.errors,
            vec![
                SimError::WriteOutsideRegion { addr: a + 4, len: 4, cycle: 7, id: 3 },
                SimError::WriteOutsideRegion { addr: a + 24, len: 4, cycle: 7, id: 3 }
            ]
        );
        assert_eq!(m.take_write_log(), vec![DmaWrite { cycle: 7, id: 3, addr: a + 4, len: 24 }]);
        assert_eq!(m.read_vec(a, 32)[4..28], [0xAB; 24]);
        assert_eq!(m.read_vec(a, 4), [0; 4]);
    }
}
