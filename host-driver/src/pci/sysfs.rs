//! Finding PCI functions in sysfs (/sys/bus/pci/devices/<address>/: vendor, device, class,
//! resource, and the driver and iommu_group links). The root is a parameter so tests run
//! against a fake tree.
use super::{PciAddress, PciError, PciId, Result};
use std::path::{Path, PathBuf};

pub const SYSFS_ROOT: &str = "/sys";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciFunction {
    pub address: PciAddress,
    pub id: PciId,
    pub class: u32,
    /// Name of the bound driver (vfio-pci, xdma, ...), None when unbound.
    pub driver: Option<String>,
    /// IOMMU group number, None when the IOMMU is off.
    pub iommu_group: Option<u32>,
    /// BAR0 size in bytes from the resource file (0 when unassigned).
    pub bar0_len: u64,
}

pub struct Sysfs {
    root: PathBuf,
}

fn read_hex(path: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(path).map_err(PciError::io(path.display().to_string()))?;
    let t = text.trim();
    u64::from_str_radix(t.trim_start_matches("0x"), 16).map_err(|_| PciError::Invalid(format!("{}: not hex: {t:?}", path.display())))
}

fn link_name(path: &Path) -> Option<String> {
    std::fs::read_link(path).ok().and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs::new(SYSFS_ROOT)
    }
}

impl Sysfs {
    pub fn new(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    pub fn devices_dir(&self) -> PathBuf {
        self.root.join("bus/pci/devices")
    }

    pub fn function_dir(&self, a: PciAddress) -> PathBuf {
        self.devices_dir().join(a.to_string())
    }

    /// One function's identity and state.
    pub fn function(&self, a: PciAddress) -> Result<PciFunction> {
        let dir = self.function_dir(a);
        if !dir.exists() {
            return Err(PciError::Invalid(format!("no PCI function {a} ({} does not exist)", dir.display())));
        }
        let id = PciId { vendor: read_hex(&dir.join("vendor"))? as u16, device: read_hex(&dir.join("device"))? as u16 };
        let class = read_hex(&dir.join("class"))? as u32;
        let bar0_len = std::fs::read_to_string(dir.join("resource"))
            .ok()
            .and_then(|t| {
                let first = t.lines().next()?.to_string();
                let f: Vec<u64> = first.split_whitespace().filter_map(|x| u64::from_str_radix(x.trim_start_matches("0x"), 16).ok()).collect();
                (f.len() >= 2 && f[1] > f[0]).then(|| f[1] - f[0] + 1)
            })
            .unwrap_or(0);
        Ok(PciFunction {
            address: a,
            id,
            class,
            driver: link_name(&dir.join("driver")),
            iommu_group: link_name(&dir.join("iommu_group")).and_then(|g| g.parse().ok()),
            bar0_len,
        })
    }

    /// Every function whose vendor:device is in `ids`, in address order.
    pub fn find(&self, ids: &[PciId]) -> Result<Vec<PciFunction>> {
        let dir = self.devices_dir();
        let entries = std::fs::read_dir(&dir).map_err(PciError::io(dir.display().to_string()))?;
        let mut found = Vec::new();
        for e in entries.flatten() {
            let Ok(a) = e.file_name().to_string_lossy().parse::<PciAddress>() else { continue };
            let Ok(f) = self.function(a) else { continue };
            if ids.contains(&f.id) {
                found.push(f);
            }
        }
        found.sort_by_key(|f| f.address);
        Ok(found)
    }

    /// Reserved IOVA ranges of an IOMMU group (MSI windows, RMRRs): inclusive [start, end].
    pub fn reserved_regions(&self, group: u32) -> Vec<(u64, u64)> {
        let path = self.root.join(format!("kernel/iommu_groups/{group}/reserved_regions"));
        std::fs::read_to_string(path)
            .map(|t| {
                t.lines()
                    .filter_map(|l| {
                        let mut w = l.split_whitespace();
                        let s = u64::from_str_radix(w.next()?.trim_start_matches("0x"), 16).ok()?;
                        let e = u64::from_str_radix(w.next()?.trim_start_matches("0x"), 16).ok()?;
                        Some((s, e))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A throwaway directory under the system temp dir, removed on drop.
    pub struct TempDir(pub PathBuf);
    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("ddpnic-{tag}-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A fake /sys with one function: ids, class, BAR0 of `bar` bytes, driver, IOMMU group.
    pub fn fake_function(root: &Path, addr: &str, vendor: u16, device: u16, driver: Option<&str>, group: Option<u32>) {
        let dir = root.join("bus/pci/devices").join(addr);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("vendor"), format!("0x{vendor:04x}\n")).unwrap();
        std::fs::write(dir.join("device"), format!("0x{device:04x}\n")).unwrap();
        std::fs::write(dir.join("class"), "0x020000\n").unwrap();
        std::fs::write(
            dir.join("resource"),
            "0x00000000fb000000 0x00000000fb00ffff 0x0000000000040200\n0x0000000000000000 0x0000000000000000 0x0000000000000000\n",
        )
        .unwrap();
        if let Some(d) = driver {
            let ddir = root.join("bus/pci/drivers").join(d);
            std::fs::create_dir_all(&ddir).unwrap();
            symlink(&ddir, dir.join("driver")).unwrap();
        }
        if let Some(g) = group {
            let gdir = root.join("kernel/iommu_groups").join(g.to_string());
            std::fs::create_dir_all(&gdir).unwrap();
            std::fs::write(gdir.join("reserved_regions"), "0x00000000fee00000 0x00000000feefffff msi\n").unwrap();
            symlink(&gdir, dir.join("iommu_group")).unwrap();
        }
    }

    #[test]
    fn finds_the_card_by_id_in_a_fake_tree() {
        let t = TempDir::new("sysfs");
        fake_function(&t.0, "0000:3b:00.0", 0x10ee, 0xdd01, Some("vfio-pci"), Some(42));
        fake_function(&t.0, "0000:00:1f.0", 0x8086, 0x1234, Some("lpc_ich"), Some(3));
        fake_function(&t.0, "0000:d8:00.0", 0x10ee, 0xdd01, None, None);
        std::fs::create_dir_all(t.0.join("bus/pci/devices/not-an-address")).unwrap();
        let s = Sysfs::new(&t.0);
        let found = s.find(crate::pci::DDPNIC_IDS).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].address.to_string(), "0000:3b:00.0");
        assert_eq!(found[0].driver.as_deref(), Some("vfio-pci"));
        assert_eq!(found[0].iommu_group, Some(42));
        assert_eq!(found[0].bar0_len, 65536);
        assert_eq!(found[0].class, 0x020000);
        assert_eq!(found[1].driver, None);
        assert_eq!(found[1].iommu_group, None);
        assert_eq!(s.reserved_regions(42), vec![(0xfee0_0000, 0xfeef_ffff)]);
        assert!(s.function("0000:00:02.0".parse().unwrap()).is_err());
    }
}
