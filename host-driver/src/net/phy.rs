//! smoltcp's `phy::Device` over any `EthernetPort`, at a given simulated time.

use super::port::{EthernetPort, Frame};
use super::time::SimTime;
use smoltcp::phy::{self, ChecksumCapabilities, DeviceCapabilities, Medium};

/// Borrowed for one `Interface::poll`. Checksums: computed on transmit and verified on
/// receive by smoltcp unless `checksum` says the NIC does it.
pub struct PortDevice<'a> {
    pub port: &'a mut dyn EthernetPort,
    pub now: SimTime,
    /// IP MTU (1500 for standard Ethernet).
    pub mtu: usize,
    pub checksum: ChecksumCapabilities,
}

impl<'a> PortDevice<'a> {
    pub fn new(port: &'a mut dyn EthernetPort, now: SimTime, mtu: usize) -> Self {
        Self { port, now, mtu, checksum: ChecksumCapabilities::default() }
    }
}

pub struct FrameRx(Frame);

impl phy::RxToken for FrameRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

pub struct PortTx<'b> {
    port: &'b mut dyn EthernetPort,
    now: SimTime,
}

impl phy::TxToken for PortTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0u8; len];
        let r = f(&mut frame);
        self.port.send(self.now, frame);
        r
    }
}

impl phy::Device for PortDevice<'_> {
    type RxToken<'b>
        = FrameRx
    where
        Self: 'b;
    type TxToken<'b>
        = PortTx<'b>
    where
        Self: 'b;

    fn receive(&mut self, _ts: smoltcp::time::Instant) -> Option<(FrameRx, PortTx<'_>)> {
        let frame = self.port.recv(self.now)?;
        Some((FrameRx(frame), PortTx { port: &mut *self.port, now: self.now }))
    }

    fn transmit(&mut self, _ts: smoltcp::time::Instant) -> Option<PortTx<'_>> {
        if self.port.can_send() {
            Some(PortTx { port: &mut *self.port, now: self.now })
        } else {
            None
        }
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu + 14;
        caps.max_burst_size = None;
        caps.checksum = self.checksum.clone();
        caps
    }
}
