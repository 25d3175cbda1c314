//! The wire path: the host's user-space TCP/IP stack (smoltcp) on a NIC, the NIC's Ethernet
//! port cabled to a simulated wire (bandwidth, latency, seeded faults, pcap tap), and a peer
//! on the far side: the embedded target on its own smoltcp stack, a pcap replay, or a QEMU
//! VM through QEMU's socket network backend. All of it runs on one thread in simulated time
//! (`world`). The NIC is a `port::Nic`: `SoftNic` passes frames through; the host driver
//! on the Verilated NIC (`crate::nic::SimNic`) implements the same trait.

pub mod time;
pub mod port;
pub mod phy;
pub mod stack;
pub mod wire;
pub mod pcap;
pub mod target_peer;
pub mod qemu;
pub mod world;
pub mod setup;

pub use port::{EthernetPort, Frame, HostSide, Nic, SoftNic};
pub use time::SimTime;
pub use wire::{Dir, Faults, Wire, WireConfig, WireStats};
pub use world::{SimConnector, SimNet, SimStream, World};
