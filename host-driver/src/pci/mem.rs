//! A [`Device`] in process memory: BAR0 is a vector of words, DMA buffers are heap pages
//! whose IOVA is their address. For tests of everything above the pci layer that needs no
//! device behaviour (register-block walks, probe output).
use super::{check_bar_access, Device, DmaBuffer, Result};
use std::sync::Mutex;

pub struct MemDevice {
    bar: Mutex<Vec<u32>>,
}

impl MemDevice {
    pub fn new(bar0_len: usize) -> MemDevice {
        MemDevice { bar: Mutex::new(vec![0; bar0_len / 4]) }
    }
    /// Writes words at a BAR0 byte offset (test setup).
    pub fn poke(&self, offset: usize, words: &[u32]) {
        let mut bar = self.bar.lock().unwrap();
        bar[offset / 4..offset / 4 + words.len()].copy_from_slice(words);
    }
}

impl Device for MemDevice {
    fn bar0_len(&self) -> u64 {
        self.bar.lock().unwrap().len() as u64 * 4
    }
    fn read32(&self, offset: u64) -> Result<u32> {
        check_bar_access(offset, self.bar0_len())?;
        Ok(self.bar.lock().unwrap()[offset as usize / 4])
    }
    fn write32(&self, offset: u64, value: u32) -> Result<()> {
        check_bar_access(offset, self.bar0_len())?;
        self.bar.lock().unwrap()[offset as usize / 4] = value;
        Ok(())
    }
    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer> {
        let len = len.div_ceil(4096).max(1) * 4096;
        let mem: Box<[u8]> = vec![0u8; len].into_boxed_slice();
        let ptr = Box::into_raw(mem) as *mut u8;
        let addr = ptr as usize;
        // SAFETY: the allocation lives until the release closure rebuilds and drops the box.
        Ok(unsafe {
            DmaBuffer::new(
                ptr,
                len,
                addr as u64,
                Box::new(move || drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(addr as *mut u8, len)))),
            )
        })
    }
    fn describe(&self) -> String {
        format!("in-memory device, BAR0 {} bytes", self.bar0_len())
    }
}
