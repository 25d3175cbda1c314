//! A smoltcp interface with its sockets, tuned for bulk NVMe/TCP in simulated time.

use super::phy::PortDevice;
use super::port::{EthernetPort, QueuePort};
use super::time::SimTime;
use smoltcp::iface::{Config, Interface, PollResult, SocketSet};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::tcp;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address};

#[derive(Debug, Clone)]
pub struct StackConfig {
    pub mac: [u8; 6],
    pub ip: Ipv4Address,
    pub prefix_len: u8,
    /// IP MTU; frames are at most MTU + 14 bytes.
    pub mtu: usize,
    /// Seeds smoltcp's initial sequence numbers and ephemeral ports.
    pub seed: u64,
    /// Receive and transmit buffer of each TCP socket. Above 64 KiB smoltcp offers window
    /// scaling (shift = log2(size) - 16).
    pub tcp_buffer: usize,
}

pub struct Stack {
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
    pub config: StackConfig,
    /// The checksum work the NIC leaves to the stack. smoltcp reads it once, when the
    /// interface is made, so it is fixed for the stack's life.
    checksum: ChecksumCapabilities,
}

impl Stack {
    /// A stack that computes and verifies every checksum itself.
    pub fn new(config: StackConfig, now: SimTime) -> Self {
        Self::with_checksum(config, now, ChecksumCapabilities::default())
    }

    /// A stack whose NIC verifies or computes the checksums `checksum` leaves out.
    pub fn with_checksum(config: StackConfig, now: SimTime, checksum: ChecksumCapabilities) -> Self {
        let mut scratch = QueuePort::default();
        let mut device = PortDevice::new(&mut scratch, now, config.mtu);
        device.checksum = checksum.clone();
        let mut ic = Config::new(HardwareAddress::Ethernet(EthernetAddress(config.mac)));
        ic.random_seed = config.seed;
        let mut iface = Interface::new(ic, &mut device, now.to_smoltcp());
        iface.update_ip_addrs(|addrs| {
            addrs.push(IpCidr::new(IpAddress::Ipv4(config.ip), config.prefix_len)).expect("one address fits");
        });
        Self { iface, sockets: SocketSet::new(Vec::new()), config, checksum }
    }

    /// One smoltcp poll over `port`; true if any socket may have changed.
    pub fn poll(&mut self, now: SimTime, port: &mut dyn EthernetPort) -> bool {
        let mut device = PortDevice::new(port, now, self.config.mtu);
        device.checksum = self.checksum.clone();
        self.iface.poll(now.to_smoltcp(), &mut device, &mut self.sockets) != PollResult::None
    }

    pub fn poll_at(&mut self, now: SimTime) -> Option<SimTime> {
        self.iface.poll_at(now.to_smoltcp(), &self.sockets).map(SimTime::from_smoltcp)
    }

    /// A TCP socket for NVMe/TCP: Nagle off (PDUs are latency-bound), immediate ACKs.
    pub fn tcp_socket(&self) -> tcp::Socket<'static> {
        let n = self.config.tcp_buffer;
        let mut s = tcp::Socket::new(tcp::SocketBuffer::new(vec![0u8; n]), tcp::SocketBuffer::new(vec![0u8; n]));
        s.set_nagle_enabled(false);
        s.set_ack_delay(None);
        s
    }
}
