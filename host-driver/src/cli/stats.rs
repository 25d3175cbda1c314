//! `ddpnic stats`: the NIC's counters by the regmap's names (the contract's
//! rx_nvme_tcp_sk_add ... rx_nvme_tcp_bytes, then the debugging ones) as a table, or with
//! `--json` as one JSON object. From a card bound to vfio-pci (`--pci`) or from a freshly
//! built simulated core (`--sim`, all zero: the demo prints a run's counters in its summary).
use super::error::CliError;
use crate::nic::{Counters, Regs};
use crate::pci::sim::SimDevice;
use crate::pci::sysfs::{Sysfs, SYSFS_ROOT};
use crate::pci::vfio::VfioDevice;
use crate::pci::{Device, PciAddress};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    /// Read the card at this PCI function (dddd:bb:dd.f), bound to vfio-pci.
    #[arg(long, conflicts_with = "sim")]
    pub pci: Option<PciAddress>,
    /// Read a freshly built simulated NIC core (Verilator).
    #[arg(long)]
    pub sim: bool,
    /// One JSON object, counter name -> value.
    #[arg(long)]
    pub json: bool,
    /// sysfs root (tests and containers).
    #[arg(long, default_value = SYSFS_ROOT, hide = true)]
    pub sysfs: PathBuf,
}

fn read<D: Device + ?Sized>(dev: &D) -> Result<Counters, CliError> {
    let regs = Regs::discover(dev).map_err(|e| CliError::Invalid(e.to_string()))?;
    Counters::read(dev, &regs).map_err(|e| CliError::Invalid(e.to_string()))
}

pub fn run(args: StatsArgs) -> Result<(), CliError> {
    let (what, counters) = match (args.pci, args.sim) {
        (Some(a), _) => {
            let dev = VfioDevice::open(&Sysfs::new(&args.sysfs), a).map_err(|e| CliError::Invalid(e.to_string()))?;
            (dev.describe(), read(&dev)?)
        }
        (None, true) => {
            let dev = SimDevice::core().map_err(|e| CliError::Invalid(e.to_string()))?;
            (dev.describe(), read(&dev)?)
        }
        (None, false) => return Err(CliError::Invalid("say which NIC: --pci dddd:bb:dd.f (vfio-pci) or --sim".into())),
    };
    if args.json {
        println!("{}", counters.to_json());
    } else {
        println!("{what}");
        print!("{counters}");
    }
    Ok(())
}
