//! `ddpnic probe`: find the card(s) in sysfs by vendor/device ID (or take one address), open
//! each that is bound to vfio-pci, and walk its BAR0 register blocks, checking the known ones'
//! versions. Prints what it found; fails when no card is found or a walk fails.
use super::regblocks::{RegisterBlock, RegisterBlocks};
use ddpnic_regmap as regmap;
use super::sysfs::{PciFunction, Sysfs, SYSFS_ROOT};
use super::vfio::VfioDevice;
use super::{Device, PciAddress, PciError, PciId, Result, DDPNIC_IDS};
use std::fmt::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// Probe this PCI function only (dddd:bb:dd.f) instead of searching by ID.
    #[arg(long)]
    pub pci: Option<PciAddress>,
    /// vendor:device IDs to search for (hex); default: the ddpnic bitstream's 10ee:dd01.
    #[arg(long = "id", value_name = "VVVV:DDDD")]
    pub ids: Vec<PciId>,
    /// sysfs root (tests and containers).
    #[arg(long, default_value = SYSFS_ROOT, hide = true)]
    pub sysfs: PathBuf,
}

/// One line per block, and whether every block is usable by this driver.
pub fn describe_blocks<D: Device + ?Sized>(dev: &D) -> (String, bool) {
    let mut s = String::new();
    let mut ok = true;
    let mut first = true;
    for r in RegisterBlocks::new(dev) {
        match r {
            Ok(b) => {
                let RegisterBlock { offset, kind, version, next, .. } = b;
                let name = b.name().unwrap_or("unknown");
                let verdict = if b.too_new() {
                    ok = false;
                    "  NEWER THAN THIS DRIVER"
                } else {
                    ""
                };
                writeln!(s, "  block @0x{offset:04x}: type 0x{kind:04x} ({name}) version {version} next 0x{next:04x}{verdict}").unwrap();
                if first && b.name() != Some("identity") {
                    writeln!(s, "  the first block is not the identity block: not a ddpnic bitstream?").unwrap();
                    ok = false;
                }
                if first && b.name() == Some("identity") {
                    match dev.read32(u64::from(regmap::addr("MAGIC"))) {
                        Ok(regmap::MAGIC) => writeln!(s, "  identity MAGIC 0x{:08x} (\"DDPN\")", regmap::MAGIC).unwrap(),
                        Ok(m) => {
                            writeln!(s, "  identity MAGIC reads 0x{m:08x}, expected 0x{:08x}", regmap::MAGIC).unwrap();
                            ok = false;
                        }
                        Err(e) => {
                            writeln!(s, "  identity MAGIC unreadable: {e}").unwrap();
                            ok = false;
                        }
                    }
                }
            }
            Err(e) => {
                writeln!(s, "  register walk failed: {e}").unwrap();
                ok = false;
            }
        }
        first = false;
    }
    if first {
        writeln!(s, "  no register blocks").unwrap();
        ok = false;
    }
    (s, ok)
}

fn describe_function(f: &PciFunction) -> String {
    format!(
        "{} {} class {:06x} driver {} iommu_group {} BAR0 {} KiB",
        f.address,
        f.id,
        f.class,
        f.driver.as_deref().unwrap_or("none"),
        f.iommu_group.map_or("none".into(), |g| g.to_string()),
        f.bar0_len / 1024
    )
}

pub fn run(args: ProbeArgs) -> Result<()> {
    let sysfs = Sysfs::new(&args.sysfs);
    let ids = if args.ids.is_empty() { DDPNIC_IDS.to_vec() } else { args.ids.clone() };
    let functions = match args.pci {
        Some(a) => vec![sysfs.function(a)?],
        None => sysfs.find(&ids)?,
    };
    if functions.is_empty() {
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        return Err(PciError::Invalid(format!(
            "no PCI function with ID {} in {}: is the card programmed (make flash) and the host rebooted or the bus rescanned?",
            list.join(", "),
            sysfs.devices_dir().display()
        )));
    }
    let mut all_ok = true;
    for f in &functions {
        println!("{}", describe_function(f));
        if f.driver.as_deref() != Some("vfio-pci") {
            println!("  not bound to vfio-pci: registers not read (boards/README.md, bring-up)");
            continue;
        }
        match VfioDevice::open(&sysfs, f.address) {
            Ok(dev) => {
                println!("  opened {}", dev.describe());
                let (text, ok) = describe_blocks(&dev);
                print!("{text}");
                all_ok &= ok;
            }
            Err(e) => {
                println!("  cannot open: {e}");
                all_ok = false;
            }
        }
    }
    if all_ok {
        Ok(())
    } else {
        Err(PciError::Invalid("probe found problems (above)".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::mem::MemDevice;
    use crate::pci::sysfs::tests::{fake_function, TempDir};

    #[test]
    fn names_unknown_blocks_and_wants_identity_first() {
        let d = MemDevice::new(65536);
        d.poke(0, &[regmap::blk::IDENTITY, 1, 0x40]);
        d.poke(0x10, &[regmap::MAGIC]);
        d.poke(0x40, &[0x0123, 2, 0]);
        let (text, ok) = describe_blocks(&d);
        assert!(ok, "{text}");
        assert!(text.contains("block @0x0040: type 0x0123 (unknown) version 2 next 0x0000"), "{text}");
        d.poke(0, &[regmap::blk::CONTROL, 1, 0]);
        let (text, ok) = describe_blocks(&d);
        assert!(!ok && text.contains("not the identity block"), "{text}");
    }

    #[test]
    fn describes_the_cores_register_map_and_checks_magic() {
        let d = MemDevice::new(65536);
        d.poke(0, &[0xDD01, 1, 0x100]);
        d.poke(0x10, &[regmap::MAGIC]);
        d.poke(0x100, &[0xDD02, 1, 0]);
        let (text, ok) = describe_blocks(&d);
        assert!(ok, "{text}");
        assert!(text.contains("type 0xdd01 (identity) version 1 next 0x0100"), "{text}");
        assert!(text.contains("identity MAGIC 0x4e504444"), "{text}");
        d.poke(0x10, &[0]);
        let (text, ok) = describe_blocks(&d);
        assert!(!ok && text.contains("expected 0x4e504444"), "{text}");
        d.poke(0x104, &[2]);
        d.poke(0x10, &[regmap::MAGIC]);
        let (text, ok) = describe_blocks(&d);
        assert!(!ok && text.contains("NEWER THAN THIS DRIVER"), "{text}");
    }

    #[test]
    fn probe_reports_unbound_cards_and_missing_cards() {
        let t = TempDir::new("probe");
        let args = |pci: Option<&str>| ProbeArgs { pci: pci.map(|p| p.parse().unwrap()), ids: vec![], sysfs: t.0.clone() };
        std::fs::create_dir_all(t.0.join("bus/pci/devices")).unwrap();
        assert!(run(args(None)).unwrap_err().to_string().contains("no PCI function with ID 10ee:dd01"));
        fake_function(&t.0, "0000:3b:00.0", 0x10ee, 0xdd01, None, Some(5));
        assert!(run(args(None)).is_ok(), "an unbound card is reported, not an error");
        assert!(run(args(Some("0000:3b:00.0"))).is_ok());
        assert!(run(args(Some("0000:3c:00.0"))).is_err());
    }
}
