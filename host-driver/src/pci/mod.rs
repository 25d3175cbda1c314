//! The `pci` layer (DESIGN.md, host driver): what the rest of the driver needs from a PCIe
//! function, whatever is behind it.
//!
//! - [`Device`]: BAR0 32-bit MMIO and DMA-able memory with its I/O virtual address.
//! - Backends: [`vfio::VfioDevice`] (a real Alveo card bound to vfio-pci), [`sim::SimDevice`]
//!   (the Verilated NIC of sim/: BAR0 through its AXI4-Lite master, DMA memory in its checked
//!   host-memory model), [`mem::MemDevice`] (BAR0 and DMA in process memory, for tests).
//! - [`sysfs`]: finds the card by vendor/device ID in /sys/bus/pci.
//! - [`regblocks`]: walks BAR0's self-describing register blocks.
//! - [`probe`]: the `ddpnic probe` subcommand.
pub mod mem;
pub mod probe;
pub mod regblocks;
pub mod sim;
pub mod sysfs;
pub mod vfio;

use std::fmt;

/// The card's PCI IDs as programmed by ip/xdma.tcl (vendor 0x10ee, device 0xdd01: a
/// development placeholder no in-tree driver binds).
pub const DDPNIC_IDS: &[PciId] = &[PciId { vendor: 0x10ee, device: 0xdd01 }];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PciId {
    pub vendor: u16,
    pub device: u16,
}

impl fmt::Display for PciId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.device)
    }
}

impl std::str::FromStr for PciId {
    type Err = PciError;
    /// `vvvv:dddd` in hex.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || PciError::Invalid(format!("PCI ID {s:?}: expected vvvv:dddd in hex"));
        let (v, d) = s.split_once(':').ok_or_else(bad)?;
        Ok(PciId { vendor: u16::from_str_radix(v, 16).map_err(|_| bad())?, device: u16::from_str_radix(d, 16).map_err(|_| bad())? })
    }
}

/// A PCI function address, `domain:bus:device.function` (e.g. 0000:3b:00.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PciAddress {
    pub domain: u16,
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl fmt::Display for PciAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:02x}:{:02x}.{:x}", self.domain, self.bus, self.device, self.function)
    }
}

impl std::str::FromStr for PciAddress {
    type Err = PciError;
    /// `dddd:bb:dd.f`, or `bb:dd.f` in domain 0.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || PciError::Invalid(format!("PCI address {s:?}: expected dddd:bb:dd.f"));
        let parts: Vec<&str> = s.split(':').collect();
        let (domain, bus, devfn) = match parts.as_slice() {
            [d, b, df] => (u16::from_str_radix(d, 16).map_err(|_| bad())?, *b, *df),
            [b, df] => (0, *b, *df),
            _ => return Err(bad()),
        };
        let (dev, func) = devfn.split_once('.').ok_or_else(bad)?;
        let a = PciAddress {
            domain,
            bus: u8::from_str_radix(bus, 16).map_err(|_| bad())?,
            device: u8::from_str_radix(dev, 16).map_err(|_| bad())?,
            function: u8::from_str_radix(func, 16).map_err(|_| bad())?,
        };
        if a.device > 0x1f || a.function > 7 {
            return Err(bad());
        }
        Ok(a)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PciError {
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
    #[error("BAR0 access at 0x{offset:x} outside its {size} bytes")]
    OutOfBar { offset: u64, size: u64 },
}

impl PciError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PciError {
        let what = what.into();
        move |source| PciError::Io { what, source }
    }
    /// The last OS error, for a failed libc call.
    pub fn os(what: impl Into<String>) -> PciError {
        PciError::Io { what: what.into(), source: std::io::Error::last_os_error() }
    }
}

pub type Result<T> = std::result::Result<T, PciError>;

/// Memory the device can read and write by DMA: `len` bytes at `as_ptr()` in this process,
/// at `iova` on the device's side. Unmapped from the IOMMU and freed when dropped.
pub struct DmaBuffer {
    ptr: *mut u8,
    len: usize,
    iova: u64,
    release: Option<Box<dyn FnOnce() + Send>>,
}

// The buffer is plain memory owned by this value; the device side is synchronised by the
// driver's protocol (rings, ownership bits), as with any DMA buffer.
unsafe impl Send for DmaBuffer {}

impl DmaBuffer {
    /// # Safety
    /// `ptr..ptr+len` must be valid, writable memory that stays mapped until `release` runs.
    pub unsafe fn new(ptr: *mut u8, len: usize, iova: u64, release: Box<dyn FnOnce() + Send>) -> DmaBuffer {
        DmaBuffer { ptr, len, iova, release: Some(release) }
    }
    pub fn iova(&self) -> u64 {
        self.iova
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr
    }
    pub fn as_slice(&self) -> &[u8] {
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        if let Some(r) = self.release.take() {
            r();
        }
    }
}

impl fmt::Debug for DmaBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DmaBuffer {{ len: {}, iova: 0x{:x} }}", self.len, self.iova)
    }
}

/// A PCIe function as the driver uses it.
pub trait Device {
    /// Size of BAR0 in bytes.
    fn bar0_len(&self) -> u64;
    /// 32-bit read at a 4-byte-aligned BAR0 offset.
    fn read32(&self, offset: u64) -> Result<u32>;
    /// 32-bit write at a 4-byte-aligned BAR0 offset.
    fn write32(&self, offset: u64, value: u32) -> Result<()>;
    /// `len` bytes (rounded up to the page size) of zeroed memory the device can reach by DMA.
    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer>;
    /// One line saying what this device is (address, backend).
    fn describe(&self) -> String;
    /// Called by a driver busy-polling for the device (an event, a completion): a card runs
    /// on its own, so this only hints the CPU; the simulated NIC clocks a few cycles.
    fn idle(&self) {
        std::hint::spin_loop()
    }
}

/// A shared device is a device (the driver's layers may each hold a handle).
impl<D: Device + ?Sized> Device for std::sync::Arc<D> {
    fn bar0_len(&self) -> u64 {
        (**self).bar0_len()
    }
    fn read32(&self, offset: u64) -> Result<u32> {
        (**self).read32(offset)
    }
    fn write32(&self, offset: u64, value: u32) -> Result<()> {
        (**self).write32(offset, value)
    }
    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer> {
        (**self).alloc_dma(len)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn idle(&self) {
        (**self).idle()
    }
}

/// Bounds and alignment of a BAR0 access.
pub fn check_bar_access(offset: u64, bar_len: u64) -> Result<()> {
    if !offset.is_multiple_of(4) {
        return Err(PciError::Invalid(format!("BAR0 offset 0x{offset:x} is not 4-byte aligned")));
    }
    if offset.checked_add(4).is_none_or(|end| end > bar_len) {
        return Err(PciError::OutOfBar { offset, size: bar_len });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_ids_parse_and_print() {
        let a: PciAddress = "0000:3b:00.0".parse().unwrap();
        assert_eq!(a, PciAddress { domain: 0, bus: 0x3b, device: 0, function: 0 });
        assert_eq!(a.to_string(), "0000:3b:00.0");
        assert_eq!("3b:1f.7".parse::<PciAddress>().unwrap().to_string(), "0000:3b:1f.7");
        assert!("3b:20.0".parse::<PciAddress>().is_err());
        assert!("0000:3b:00".parse::<PciAddress>().is_err());
        assert_eq!("10ee:DD01".parse::<PciId>().unwrap(), DDPNIC_IDS[0]);
        assert!("10ee".parse::<PciId>().is_err());
    }

    #[test]
    fn bar_accesses_are_checked() {
        assert!(check_bar_access(0, 65536).is_ok());
        assert!(check_bar_access(65532, 65536).is_ok());
        assert!(check_bar_access(65536, 65536).is_err());
        assert!(check_bar_access(2, 65536).is_err());
        assert!(check_bar_access(u64::MAX - 1, 65536).is_err());
    }
}
