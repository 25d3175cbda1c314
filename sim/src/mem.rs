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

/// One allocation: its bytes live in a heap block that never moves, so a driver may hold a
/// raw pointer to them ([`HostMemory::host_ptr`]) the way it holds a DMA buffer's mapping.
struct Alloc {
    data: Box<[u8]>,
}

/// Host memory: allocations backed by real process memory, sparse pages (zero where never
/// written) everywhere else, live regions, the write log and the errors found.
pub struct HostMemory {
    pages: HashMap<u64, Box<[u8; PAGE as usize]>>,
    next_alloc: u64,
    /// start -> allocation (length a multiple of 64 bytes)
    allocs: BTreeMap<u64, Alloc>,
    regions: BTreeMap<u64, Vec<Region>>,
    by_id: HashMap<RegionId, u64>,
    next_region: u64,
    /// longest region ever added: bounds the search for a region covering an address
    max_region_len: u64,
    log: Vec<DmaWrite>,
    log_enabled: bool,
    /// injected bus errors: (start, end, on writes)
    faults: Vec<(u64, u64, bool)>,
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
            allocs: BTreeMap::new(),
            regions: BTreeMap::new(),
            by_id: HashMap::new(),
            next_region: 1,
            max_region_len: 0,
            log: Vec::new(),
            log_enabled: true,
            faults: Vec::new(),
            errors: Vec::new(),
        }
    }

    // ------------------------------------------------------------------ bytes

    #[inline]
    fn page(&mut self, addr: u64) -> &mut [u8; PAGE as usize] {
        self.pages.entry(addr / PAGE).or_insert_with(|| Box::new([0; PAGE as usize]))
    }

    /// The allocation holding `addr`: (start, allocation).
    #[inline]
    fn alloc_at(&self, addr: u64) -> Option<(u64, &Alloc)> {
        match self.allocs.range(..=addr).next_back() {
            Some((&a, al)) if addr < a + al.data.len() as u64 => Some((a, al)),
            _ => None,
        }
    }

    #[inline]
    fn alloc_at_mut(&mut self, addr: u64) -> Option<(u64, &mut Alloc)> {
        match self.allocs.range_mut(..=addr).next_back() {
            Some((&a, al)) if addr < a + al.data.len() as u64 => Some((a, al)),
            _ => None,
        }
    }

    /// Bytes from `a` up to the end of its allocation or page, whichever backs it.
    fn chunk_len(&self, a: u64, want: usize) -> usize {
        match self.alloc_at(a) {
            Some((start, al)) => (start + al.data.len() as u64 - a).min(want as u64) as usize,
            None => {
                let to_page = (PAGE - a % PAGE) as usize;
                // do not run into a later allocation
                let next = self.allocs.range(a..).next().map(|(&s, _)| (s - a) as usize).unwrap_or(usize::MAX);
                to_page.min(next).min(want)
            }
        }
    }

    /// Reads host memory (never-written bytes read as 0). Not a DMA: never checked or logged.
    pub fn read(&self, addr: u64, buf: &mut [u8]) {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr + done as u64;
            let n = self.chunk_len(a, buf.len() - done);
            match self.alloc_at(a) {
                Some((start, al)) => {
                    let o = (a - start) as usize;
                    buf[done..done + n].copy_from_slice(&al.data[o..o + n]);
                }
                None => match self.pages.get(&(a / PAGE)) {
                    Some(p) => buf[done..done + n].copy_from_slice(&p[(a % PAGE) as usize..(a % PAGE) as usize + n]),
                    None => buf[done..done + n].fill(0),
                },
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
            let n = self.chunk_len(a, data.len() - done);
            match self.alloc_at_mut(a) {
                Some((start, al)) => {
                    let o = (a - start) as usize;
                    al.data[o..o + n].copy_from_slice(&data[done..done + n]);
                }
                None => {
                    let off = (a % PAGE) as usize;
                    self.page(a)[off..off + n].copy_from_slice(&data[done..done + n]);
                }
            }
            done += n;
        }
    }

    pub fn write_u32(&mut self, addr: u64, v: u32) {
        self.write(addr, &v.to_le_bytes())
    }

    pub fn write_u64(&mut self, addr: u64, v: u64) {
        self.write(addr, &v.to_le_bytes())
    }

    /// The 64 bytes of the aligned line holding `addr` (the DMA read path). Allocations are
    /// 64-byte aligned and sized, so a line is wholly inside one or wholly outside all.
    #[inline]
    pub(crate) fn read_line(&self, addr: u64, out: &mut [u8; 64]) {
        let a = addr & !63;
        if let Some((start, al)) = self.alloc_at(a) {
            let o = (a - start) as usize;
            out.copy_from_slice(&al.data[o..o + 64]);
            return;
        }
        match self.pages.get(&(a / PAGE)) {
            Some(p) => out.copy_from_slice(&p[(a % PAGE) as usize..(a % PAGE) as usize + 64]),
            None => out.fill(0),
        }
    }

    #[inline]
    fn line_mut(&mut self, line: u64) -> &mut [u8] {
        if self.alloc_at(line).is_some() {
            let (start, al) = self.alloc_at_mut(line).unwrap();
            let o = (line - start) as usize;
            return &mut al.data[o..o + 64];
        }
        let o = (line % PAGE) as usize;
        &mut self.page(line)[o..o + 64]
    }

    // ------------------------------------------------------------------ allocator

    /// Reserves `len` bytes (rounded up to 64) aligned to `align` (a power of two, at least 64),
    /// zeroed and backed by process memory ([`host_ptr`](Self::host_ptr)). DMA reads may
    /// touch allocated memory (whole 64-byte lines: a DMA engine reads whole beats); DMA
    /// writes need a live region as well. Addresses are never reused, and a guard gap follows
    /// every allocation so overruns land in unallocated memory.
    pub fn alloc(&mut self, len: u64, align: u64) -> u64 {
        let align = align.max(64);
        assert!(align.is_power_of_two(), "alignment {align} is not a power of two");
        let size = len.max(1).div_ceil(64) * 64;
        let addr = (self.next_alloc + align - 1) & !(align - 1);
        self.next_alloc = addr + size + PAGE;
        self.allocs.insert(addr, Alloc { data: vec![0u8; size as usize].into_boxed_slice() });
        addr
    }

    /// Releases an allocation made by [`alloc`](Self::alloc): its memory is freed (pointers
    /// from `host_ptr` dangle) and later DMA there reads unallocated memory. False if unknown.
    pub fn free(&mut self, addr: u64) -> bool {
        self.allocs.remove(&addr).is_some()
    }

    /// Process memory backing `addr`, and how many bytes from there to the allocation's end.
    /// The pointer stays valid until [`free`](Self::free) or the memory is dropped; the
    /// simulation only touches it inside `Nic` calls (a single-threaded world).
    pub fn host_ptr(&mut self, addr: u64) -> Option<(*mut u8, usize)> {
        let (start, al) = self.alloc_at_mut(addr)?;
        let o = (addr - start) as usize;
        Some((unsafe { al.data.as_mut_ptr().add(o) }, al.data.len() - o))
    }

    pub fn is_allocated(&self, addr: u64, len: u64) -> bool {
        let mut pos = addr;
        let end = addr + len.max(1);
        while pos < end {
            match self.alloc_at(pos) {
                Some((s, al)) => pos = s + al.data.len() as u64,
                None => return false,
            }
        }
        true
    }

    // ------------------------------------------------------------------ live regions

    /// Declares `[addr, addr + len)` writable by the NIC (a ring, a registered buffer).
    /// Regions may overlap and touch; a write is good when every byte is in some live region.
    pub fn add_region(&mut self, addr: u64, len: u64, name: impl Into<String>) -> RegionId {
        let id = RegionId(self.next_region);
        self.next_region += 1;
        self.max_region_len = self.max_region_len.max(len);
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
            // any region with start <= pos and end > pos; nearest starts first, and none
            // starting more than the longest region's length below pos can reach it
            for (_, list) in self.regions.range(pos.saturating_sub(self.max_region_len)..=pos).rev() {
                for r in list {
                    if r.addr + r.len > pos {
                        pos = r.addr + r.len;
                        continue 'outer;
                    }
                }
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
        let dst = self.line_mut(line);
        if strobe == u64::MAX {
            dst.copy_from_slice(data);
        } else {
            for lane in 0..64 {
                if strobe >> lane & 1 == 1 {
                    dst[lane] = data[lane];
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

    // ------------------------------------------------------------------ injected bus errors

    /// From now on DMA reads of any 64-byte line touching `[addr, addr + len)` answer SLVERR
    /// (data still returned), as a host bridge does on an IOMMU fault or a poisoned TLP.
    pub fn fail_reads(&mut self, addr: u64, len: u64) {
        self.faults.push((addr, addr + len, false));
    }

    /// From now on DMA write beats to lines touching `[addr, addr + len)` are dropped and
    /// their burst answers SLVERR (the NIC should count it).
    pub fn fail_writes(&mut self, addr: u64, len: u64) {
        self.faults.push((addr, addr + len, true));
    }

    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    #[inline]
    pub(crate) fn faulty(&self, addr: u64, len: u64, write: bool) -> bool {
        !self.faults.is_empty() && self.faults.iter().any(|&(s, e, w)| w == write && s < addr + len && addr < e)
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
    fn many_regions_stay_fast() {
        let mut m = HostMemory::new();
        let base = m.alloc(64 * 65536 * 2, 4096);
        for i in 0..65536u64 {
            m.add_region(base + i * 128, 64, format!("buf {i}"));
        }
        let t = std::time::Instant::now();
        let data = [1u8; 64];
        for i in 0..65536u64 {
            // one good line, one bad line
            m.dma_write_line(base + i * 128, &data, u64::MAX, i, 0, i);
            m.dma_write_line(base + i * 128 + 64, &data, u64::MAX, i, 0, i);
        }
        assert_eq!(m.errors.len(), 65536);
        assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
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

    #[test]
    fn allocations_are_process_memory() {
        let mut m = HostMemory::new();
        let a = m.alloc(100, 4096);
        let b = m.alloc(64, 64);
        assert_eq!(a % 4096, 0);
        assert!(b >= a + 128 + 4096, "guard gap");
        let (p, n) = m.host_ptr(a + 10).unwrap();
        assert_eq!(n, 118);
        unsafe { *p = 7 };
        assert_eq!(m.read_vec(a + 10, 1), [7]);
        // a host write spanning an allocation and unallocated memory after it
        m.write(a + 120, &[1; 16]);
        assert_eq!(m.read_vec(a + 120, 16), [1; 16]);
        assert!(m.is_allocated(a, 128) && !m.is_allocated(a, 129));
        let mut line = [0u8; 64];
        m.read_line(a + 64, &mut line);
        assert_eq!(line[56..], [1; 8]);
        assert!(m.free(a));
        assert!(m.host_ptr(a).is_none() && !m.is_allocated(a, 1));
        // unallocated memory is sparse and reads zero until written
        assert_eq!(m.read_u64(0x40), 0);
        m.write_u64(0x40, 9);
        assert_eq!(m.read_u64(0x40), 9);
    }
}
