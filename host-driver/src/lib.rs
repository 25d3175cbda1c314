//! ddpnic host driver. Today: NVMe/TCP in software (`nvme_tcp`), the baseline and the
//! fallback for the NIC's receive offload, and the `ddpnic` command-line tool (`cli`).

pub mod cli;
pub mod ddp;
pub mod net;
pub mod nic;
pub mod nvme_tcp;
pub mod pci;
