//! Building a world: the addresses the simulated network uses (those of the nvmet-vm
//! socket cable, so the same host setup reaches the embedded target or a VM), and one
//! function that cables host stack, NIC, wire (with its pcap tap) and peer together.

use super::pcap::PcapTap;
use super::port::{EthernetPort, Nic};
use super::stack::StackConfig;
use super::target_peer::TargetPeer;
use super::time::SimTime;
use super::wire::{Wire, WireConfig};
use super::world::{SimNet, World};
use crate::nvme_tcp::target::TargetConfig;
use smoltcp::wire::Ipv4Address;
use std::io;
use std::path::PathBuf;

pub const HOST_MAC: [u8; 6] = [0x02, 0xdd, 0x70, 0x00, 0x00, 0x01];
pub const HOST_IP: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
pub const PEER_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
pub const PEER_IP: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
pub const NVME_PORT: u16 = 4420;
/// Where the initiator connects (`ConnectOptions::addr`).
pub const TARGET_ADDR: &str = "10.0.2.15:4420";

#[derive(Debug, Clone)]
pub struct SimSetup {
    /// IP MTU of both stacks (1500 or 9000).
    pub mtu: usize,
    /// Seeds both stacks (and the wire's faults come from `wire.faults.seed`).
    pub seed: u64,
    pub wire: WireConfig,
    /// TCP socket buffers (each direction, each socket).
    pub tcp_buffer: usize,
    /// Write a pcap of the NIC's MAC port here.
    pub pcap: Option<PathBuf>,
}

impl Default for SimSetup {
    fn default() -> Self {
        Self { mtu: 1500, seed: 1, wire: WireConfig::default(), tcp_buffer: 256 << 10, pcap: None }
    }
}

impl SimSetup {
    fn stack(&self, mac: [u8; 6], ip: Ipv4Address, salt: u64) -> StackConfig {
        StackConfig { mac, ip, prefix_len: 24, mtu: self.mtu, seed: self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt, tcp_buffer: self.tcp_buffer }
    }

    /// The host stack on `nic`, the wire, and `peer` at the far end.
    pub fn build(&self, nic: Box<dyn Nic>, peer: Box<dyn EthernetPort>) -> io::Result<SimNet> {
        let mut wire = Wire::new(self.wire.clone());
        if let Some(p) = &self.pcap {
            wire.set_tap(PcapTap::create(p)?);
        }
        Ok(SimNet::new(World::new(self.stack(HOST_MAC, HOST_IP, 1), nic, wire, peer)))
    }

    /// The default peer: the embedded target on its own stack at `TARGET_ADDR`.
    pub fn target_peer(&self, target: TargetConfig) -> TargetPeer {
        TargetPeer::new(self.stack(PEER_MAC, PEER_IP, 2), target, NVME_PORT, SimTime::ZERO)
    }
}
