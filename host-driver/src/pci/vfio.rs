//! VFIO backend: a real card bound to vfio-pci, driven from user space.
//!
//! Path (Linux VFIO "group/container" API, include/uapi/linux/vfio.h):
//! /dev/vfio/vfio (container) -> VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION(TYPE1v2) ->
//! /dev/vfio/<iommu group> -> VFIO_GROUP_GET_STATUS (viable?) -> VFIO_GROUP_SET_CONTAINER ->
//! VFIO_SET_IOMMU(TYPE1v2) -> VFIO_GROUP_GET_DEVICE_FD("dddd:bb:dd.f") -> VFIO_DEVICE_GET_INFO,
//! VFIO_DEVICE_GET_REGION_INFO(BAR0, config) -> mmap BAR0; memory space and bus mastering on
//! in the command register through the config region; DMA memory is anonymous memory mapped
//! into the IOMMU with VFIO_IOMMU_MAP_DMA at an IOVA this backend allocates (skipping the
//! group's reserved regions). On kernels built with iommufd, /dev/vfio/vfio is provided by its
//! container compatibility layer, so the same path works; the iommufd cdev API
//! (/dev/vfio/devices/vfioN) is not used.
//!
//! The ioctl numbers and argument structs are declared here rather than taken from the
//! `vfio-bindings` crate: the driver needs nine ioctls and five structs of a stable uAPI, the
//! crate's bindgen output is tied to the kernel headers it was generated from and brings its
//! own feature matrix, and the declarations below are checked by unit tests against the
//! values in linux/vfio.h (numbers, sizes, field offsets).
use super::sysfs::Sysfs;
use super::{check_bar_access, Device, DmaBuffer, PciAddress, PciError, Result};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};

// ---- linux/ioctl.h: _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr ----
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: u32) -> u64 {
    ((dir << 30) | (size << 16) | (ty << 8) | nr) as u64
}
/// `_IO(type, nr)`: no argument size encoded; VFIO passes argsz inside its structs.
pub const fn io(ty: u32, nr: u32) -> u64 {
    ioc(0, ty, nr, 0)
}

// ---- linux/vfio.h ----
pub const VFIO_TYPE: u32 = b';' as u32;
pub const VFIO_BASE: u32 = 100;
pub const VFIO_API_VERSION: i32 = 0;
pub const VFIO_TYPE1V2_IOMMU: u64 = 3;

pub const VFIO_GET_API_VERSION: u64 = io(VFIO_TYPE, VFIO_BASE);
pub const VFIO_CHECK_EXTENSION: u64 = io(VFIO_TYPE, VFIO_BASE + 1);
pub const VFIO_SET_IOMMU: u64 = io(VFIO_TYPE, VFIO_BASE + 2);
pub const VFIO_GROUP_GET_STATUS: u64 = io(VFIO_TYPE, VFIO_BASE + 3);
pub const VFIO_GROUP_SET_CONTAINER: u64 = io(VFIO_TYPE, VFIO_BASE + 4);
pub const VFIO_GROUP_GET_DEVICE_FD: u64 = io(VFIO_TYPE, VFIO_BASE + 6);
pub const VFIO_DEVICE_GET_INFO: u64 = io(VFIO_TYPE, VFIO_BASE + 7);
pub const VFIO_DEVICE_GET_REGION_INFO: u64 = io(VFIO_TYPE, VFIO_BASE + 8);
pub const VFIO_DEVICE_RESET: u64 = io(VFIO_TYPE, VFIO_BASE + 11);
pub const VFIO_IOMMU_MAP_DMA: u64 = io(VFIO_TYPE, VFIO_BASE + 13);
pub const VFIO_IOMMU_UNMAP_DMA: u64 = io(VFIO_TYPE, VFIO_BASE + 14);

pub const VFIO_GROUP_FLAGS_VIABLE: u32 = 1 << 0;
pub const VFIO_DEVICE_FLAGS_PCI: u32 = 1 << 1;
pub const VFIO_REGION_INFO_FLAG_READ: u32 = 1 << 0;
pub const VFIO_REGION_INFO_FLAG_WRITE: u32 = 1 << 1;
pub const VFIO_REGION_INFO_FLAG_MMAP: u32 = 1 << 2;
pub const VFIO_DMA_MAP_FLAG_READ: u32 = 1 << 0;
pub const VFIO_DMA_MAP_FLAG_WRITE: u32 = 1 << 1;
pub const VFIO_PCI_BAR0_REGION_INDEX: u32 = 0;
pub const VFIO_PCI_CONFIG_REGION_INDEX: u32 = 7;

/// PCI command register (config offset 4): memory space enable, bus master enable.
pub const PCI_COMMAND: u64 = 4;
pub const PCI_COMMAND_MEMORY: u16 = 1 << 1;
pub const PCI_COMMAND_MASTER: u16 = 1 << 2;

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct VfioGroupStatus {
    pub argsz: u32,
    pub flags: u32,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct VfioDeviceInfo {
    pub argsz: u32,
    pub flags: u32,
    pub num_regions: u32,
    pub num_irqs: u32,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct VfioRegionInfo {
    pub argsz: u32,
    pub flags: u32,
    pub index: u32,
    pub cap_offset: u32,
    pub size: u64,
    pub offset: u64,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct VfioDmaMap {
    pub argsz: u32,
    pub flags: u32,
    pub vaddr: u64,
    pub iova: u64,
    pub size: u64,
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct VfioDmaUnmap {
    pub argsz: u32,
    pub flags: u32,
    pub iova: u64,
    pub size: u64,
}

fn ioctl_ptr<T>(fd: RawFd, req: u64, arg: &mut T, what: &str) -> Result<i32> {
    // SAFETY: `arg` is a live, correctly laid out argument for `req` (checked by the tests).
    let r = unsafe { libc::ioctl(fd, req as _, arg as *mut T) };
    if r < 0 {
        return Err(PciError::os(what));
    }
    Ok(r)
}

fn ioctl_val(fd: RawFd, req: u64, arg: libc::c_ulong, what: &str) -> Result<i32> {
    // SAFETY: these requests take an integer argument.
    let r = unsafe { libc::ioctl(fd, req as _, arg) };
    if r < 0 {
        return Err(PciError::os(what));
    }
    Ok(r)
}

fn open_rw(path: &str) -> Result<OwnedFd> {
    let c = CString::new(path).unwrap();
    // SAFETY: plain open(2) of a NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(PciError::os(format!("open {path}")));
    }
    // SAFETY: fd was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// IOVA allocation: a bump allocator from 4 GiB up, page aligned, skipping reserved ranges.
#[derive(Debug)]
pub struct IovaAllocator {
    next: u64,
    reserved: Vec<(u64, u64)>,
}

impl IovaAllocator {
    pub const BASE: u64 = 1 << 32;
    pub fn new(reserved: Vec<(u64, u64)>) -> Self {
        IovaAllocator { next: Self::BASE, reserved }
    }
    /// `len` is a multiple of `align`, a power of two.
    pub fn alloc(&mut self, len: u64, align: u64) -> u64 {
        let mut start = self.next.div_ceil(align) * align;
        while let Some(&(_, e)) = self.reserved.iter().find(|&&(s, e)| start <= e && start + len > s) {
            start = (e + 1).div_ceil(align) * align;
        }
        self.next = start + len;
        start
    }
}

/// An Alveo card bound to vfio-pci.
pub struct VfioDevice {
    address: PciAddress,
    container: Arc<OwnedFd>,
    _group: OwnedFd,
    device: OwnedFd,
    bar: *mut u8,
    bar_len: u64,
    iova: Mutex<IovaAllocator>,
}

// The BAR mapping is device memory accessed only with volatile 32-bit loads and stores.
unsafe impl Send for VfioDevice {}
unsafe impl Sync for VfioDevice {}

const HUGE_PAGE: usize = 2 << 20;

impl VfioDevice {
    /// Opens `address` (bound to vfio-pci), maps BAR0, enables memory space and bus mastering.
    pub fn open(sysfs: &Sysfs, address: PciAddress) -> Result<VfioDevice> {
        let f = sysfs.function(address)?;
        let group = f.iommu_group.ok_or_else(|| {
            PciError::Invalid(format!("{address} has no IOMMU group: boot with intel_iommu=on (Intel) or amd_iommu=on (AMD) and iommu=pt"))
        })?;
        if f.driver.as_deref() != Some("vfio-pci") {
            return Err(PciError::Invalid(format!(
                "{address} is bound to {}, not vfio-pci: see boards/README.md (bring-up: bind vfio-pci)",
                f.driver.as_deref().unwrap_or("no driver")
            )));
        }
        let container = open_rw("/dev/vfio/vfio")?;
        let v = ioctl_val(container.as_raw_fd(), VFIO_GET_API_VERSION, 0, "VFIO_GET_API_VERSION")?;
        if v != VFIO_API_VERSION {
            return Err(PciError::Invalid(format!("VFIO API version {v}, expected {VFIO_API_VERSION}")));
        }
        if ioctl_val(container.as_raw_fd(), VFIO_CHECK_EXTENSION, VFIO_TYPE1V2_IOMMU as _, "VFIO_CHECK_EXTENSION")? != 1 {
            return Err(PciError::Invalid("the VFIO container does not support the type1v2 IOMMU".into()));
        }
        let group_fd = open_rw(&format!("/dev/vfio/{group}"))?;
        let mut status = VfioGroupStatus { argsz: std::mem::size_of::<VfioGroupStatus>() as u32, flags: 0 };
        ioctl_ptr(group_fd.as_raw_fd(), VFIO_GROUP_GET_STATUS, &mut status, "VFIO_GROUP_GET_STATUS")?;
        if status.flags & VFIO_GROUP_FLAGS_VIABLE == 0 {
            return Err(PciError::Invalid(format!("IOMMU group {group} is not viable: bind every device of /sys/kernel/iommu_groups/{group}/devices to vfio-pci")));
        }
        let mut cfd: RawFd = container.as_raw_fd();
        ioctl_ptr(group_fd.as_raw_fd(), VFIO_GROUP_SET_CONTAINER, &mut cfd, "VFIO_GROUP_SET_CONTAINER")?;
        ioctl_val(container.as_raw_fd(), VFIO_SET_IOMMU, VFIO_TYPE1V2_IOMMU as _, "VFIO_SET_IOMMU")?;
        let name = CString::new(address.to_string()).unwrap();
        // SAFETY: the argument is a NUL-terminated device name.
        let dfd = unsafe { libc::ioctl(group_fd.as_raw_fd(), VFIO_GROUP_GET_DEVICE_FD as _, name.as_ptr()) };
        if dfd < 0 {
            return Err(PciError::os("VFIO_GROUP_GET_DEVICE_FD"));
        }
        // SAFETY: a new fd owned by nobody else.
        let device = unsafe { OwnedFd::from_raw_fd(dfd) };
        let mut info = VfioDeviceInfo { argsz: std::mem::size_of::<VfioDeviceInfo>() as u32, ..Default::default() };
        ioctl_ptr(device.as_raw_fd(), VFIO_DEVICE_GET_INFO, &mut info, "VFIO_DEVICE_GET_INFO")?;
        if info.flags & VFIO_DEVICE_FLAGS_PCI == 0 || info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX {
            return Err(PciError::Invalid(format!("{address} is not a VFIO PCI device")));
        }
        let bar_info = region_info(&device, VFIO_PCI_BAR0_REGION_INDEX)?;
        if bar_info.flags & VFIO_REGION_INFO_FLAG_MMAP == 0 || bar_info.size == 0 {
            return Err(PciError::Invalid(format!("{address}: BAR0 cannot be mapped (flags 0x{:x}, size {})", bar_info.flags, bar_info.size)));
        }
        // SAFETY: mapping the device's BAR0 region as VFIO describes it.
        let bar = unsafe {
            libc::mmap(std::ptr::null_mut(), bar_info.size as usize, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, device.as_raw_fd(), bar_info.offset as libc::off_t)
        };
        if bar == libc::MAP_FAILED {
            return Err(PciError::os("mmap BAR0"));
        }
        let dev = VfioDevice {
            address,
            container: Arc::new(container),
            _group: group_fd,
            device,
            bar: bar as *mut u8,
            bar_len: bar_info.size,
            iova: Mutex::new(IovaAllocator::new(sysfs.reserved_regions(group))),
        };
        dev.enable_bus_master()?;
        Ok(dev)
    }

    fn enable_bus_master(&self) -> Result<()> {
        let cfg = region_info(&self.device, VFIO_PCI_CONFIG_REGION_INDEX)?;
        let mut cmd = [0u8; 2];
        let off = (cfg.offset + PCI_COMMAND) as libc::off_t;
        // SAFETY: 2-byte pread/pwrite of the config region through the device fd.
        if unsafe { libc::pread(self.device.as_raw_fd(), cmd.as_mut_ptr() as *mut _, 2, off) } != 2 {
            return Err(PciError::os("read the PCI command register"));
        }
        let v = u16::from_le_bytes(cmd) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
        let bytes = v.to_le_bytes();
        if unsafe { libc::pwrite(self.device.as_raw_fd(), bytes.as_ptr() as *const _, 2, off) } != 2 {
            return Err(PciError::os("write the PCI command register"));
        }
        Ok(())
    }

    pub fn address(&self) -> PciAddress {
        self.address
    }
}

fn region_info(device: &OwnedFd, index: u32) -> Result<VfioRegionInfo> {
    let mut r = VfioRegionInfo { argsz: std::mem::size_of::<VfioRegionInfo>() as u32, index, ..Default::default() };
    ioctl_ptr(device.as_raw_fd(), VFIO_DEVICE_GET_REGION_INFO, &mut r, "VFIO_DEVICE_GET_REGION_INFO")?;
    Ok(r)
}

impl Drop for VfioDevice {
    fn drop(&mut self) {
        // SAFETY: unmapping the BAR mapping made in open().
        unsafe { libc::munmap(self.bar as *mut _, self.bar_len as usize) };
    }
}

impl Device for VfioDevice {
    fn bar0_len(&self) -> u64 {
        self.bar_len
    }
    fn read32(&self, offset: u64) -> Result<u32> {
        check_bar_access(offset, self.bar_len)?;
        // SAFETY: in bounds and aligned (checked); device memory needs a volatile access.
        Ok(unsafe { std::ptr::read_volatile(self.bar.add(offset as usize) as *const u32) })
    }
    fn write32(&self, offset: u64, value: u32) -> Result<()> {
        check_bar_access(offset, self.bar_len)?;
        // SAFETY: as read32.
        unsafe { std::ptr::write_volatile(self.bar.add(offset as usize) as *mut u32, value) };
        Ok(())
    }
    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer> {
        // 2 MiB hugepages when the request is that large and hugepages are reserved
        // (/proc/sys/vm/nr_hugepages), 4 KiB pages otherwise.
        let page = 4096usize;
        let mut size = len.div_ceil(page).max(1) * page;
        let mut ptr = libc::MAP_FAILED;
        if size >= HUGE_PAGE {
            let huge = size.div_ceil(HUGE_PAGE) * HUGE_PAGE;
            // SAFETY: anonymous mapping.
            ptr = unsafe { libc::mmap(std::ptr::null_mut(), huge, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_HUGETLB | libc::MAP_POPULATE, -1, 0) };
            if ptr != libc::MAP_FAILED {
                size = huge;
            }
        }
        if ptr == libc::MAP_FAILED {
            // SAFETY: anonymous mapping.
            ptr = unsafe { libc::mmap(std::ptr::null_mut(), size, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE, -1, 0) };
        }
        if ptr == libc::MAP_FAILED {
            return Err(PciError::os(format!("mmap {size} bytes of DMA memory")));
        }
        let align = if size.is_multiple_of(HUGE_PAGE) { HUGE_PAGE } else { page } as u64;
        let iova = self.iova.lock().unwrap().alloc(size as u64, align);
        let mut map = VfioDmaMap {
            argsz: std::mem::size_of::<VfioDmaMap>() as u32,
            flags: VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
            vaddr: ptr as u64,
            iova,
            size: size as u64,
        };
        if let Err(e) = ioctl_ptr(self.container.as_raw_fd(), VFIO_IOMMU_MAP_DMA, &mut map, "VFIO_IOMMU_MAP_DMA") {
            unsafe { libc::munmap(ptr, size) };
            return Err(e);
        }
        let container = Arc::clone(&self.container);
        let addr = ptr as usize;
        let release = Box::new(move || {
            let mut unmap = VfioDmaUnmap { argsz: std::mem::size_of::<VfioDmaUnmap>() as u32, flags: 0, iova, size: size as u64 };
            let _ = ioctl_ptr(container.as_raw_fd(), VFIO_IOMMU_UNMAP_DMA, &mut unmap, "VFIO_IOMMU_UNMAP_DMA");
            // SAFETY: the mapping made above, no longer reachable by the device.
            unsafe { libc::munmap(addr as *mut _, size) };
        });
        // SAFETY: ptr..ptr+size is our mapping until `release` runs.
        Ok(unsafe { DmaBuffer::new(ptr as *mut u8, size, iova, release) })
    }
    fn describe(&self) -> String {
        format!("{} via vfio-pci, BAR0 {} KiB", self.address, self.bar_len / 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// The request numbers linux/vfio.h defines (_IO(';', 100 + n)).
    #[test]
    fn ioctl_numbers_match_linux_vfio_h() {
        assert_eq!(VFIO_GET_API_VERSION, 0x3b64);
        assert_eq!(VFIO_CHECK_EXTENSION, 0x3b65);
        assert_eq!(VFIO_SET_IOMMU, 0x3b66);
        assert_eq!(VFIO_GROUP_GET_STATUS, 0x3b67);
        assert_eq!(VFIO_GROUP_SET_CONTAINER, 0x3b68);
        assert_eq!(VFIO_GROUP_GET_DEVICE_FD, 0x3b6a);
        assert_eq!(VFIO_DEVICE_GET_INFO, 0x3b6b);
        assert_eq!(VFIO_DEVICE_GET_REGION_INFO, 0x3b6c);
        assert_eq!(VFIO_DEVICE_RESET, 0x3b6f);
        assert_eq!(VFIO_IOMMU_MAP_DMA, 0x3b71);
        assert_eq!(VFIO_IOMMU_UNMAP_DMA, 0x3b72);
        // the general _IOC encoding, on a request with a size: _IOR('T', 0x13, int) = TIOCGWINSZ-like check
        assert_eq!(ioc(2, b'T' as u32, 0x13, 8), 0x8008_5413);
    }

    /// Struct sizes and field offsets as in linux/vfio.h.
    #[test]
    fn argument_structs_match_linux_vfio_h() {
        assert_eq!(size_of::<VfioGroupStatus>(), 8);
        assert_eq!(size_of::<VfioDeviceInfo>(), 16);
        assert_eq!(offset_of!(VfioDeviceInfo, num_regions), 8);
        assert_eq!(size_of::<VfioRegionInfo>(), 32);
        assert_eq!(offset_of!(VfioRegionInfo, index), 8);
        assert_eq!(offset_of!(VfioRegionInfo, size), 16);
        assert_eq!(offset_of!(VfioRegionInfo, offset), 24);
        assert_eq!(size_of::<VfioDmaMap>(), 32);
        assert_eq!(offset_of!(VfioDmaMap, vaddr), 8);
        assert_eq!(offset_of!(VfioDmaMap, iova), 16);
        assert_eq!(offset_of!(VfioDmaMap, size), 24);
        assert_eq!(size_of::<VfioDmaUnmap>(), 24);
        assert_eq!(offset_of!(VfioDmaUnmap, iova), 8);
    }

    #[test]
    fn iovas_are_aligned_and_skip_reserved_ranges() {
        let mut a = IovaAllocator::new(vec![(0x1_0000_3000, 0x1_0000_3fff), (0x1_0020_0000, 0x1_003f_ffff)]);
        assert_eq!(a.alloc(0x3000, 0x1000), 0x1_0000_0000);
        assert_eq!(a.alloc(0x1000, 0x1000), 0x1_0000_4000, "reserved page skipped");
        assert_eq!(a.alloc(0x20_0000, 0x20_0000), 0x1_0040_0000, "2 MiB aligned past the reserved 2 MiB");
        assert_eq!(a.alloc(0x1000, 0x1000), 0x1_0060_0000);
    }

    /// Opening fails with a bring-up hint, not a panic, when the function is not usable.
    #[test]
    fn open_explains_what_is_missing() {
        let t = crate::pci::sysfs::tests::TempDir::new("vfio");
        crate::pci::sysfs::tests::fake_function(&t.0, "0000:3b:00.0", 0x10ee, 0xdd01, Some("xdma"), Some(7));
        crate::pci::sysfs::tests::fake_function(&t.0, "0000:3c:00.0", 0x10ee, 0xdd01, Some("vfio-pci"), None);
        let s = Sysfs::new(&t.0);
        let e = VfioDevice::open(&s, "0000:3b:00.0".parse().unwrap()).err().unwrap().to_string();
        assert!(e.contains("not vfio-pci"), "{e}");
        let e = VfioDevice::open(&s, "0000:3c:00.0".parse().unwrap()).err().unwrap().to_string();
        assert!(e.contains("intel_iommu=on"), "{e}");
    }
}
