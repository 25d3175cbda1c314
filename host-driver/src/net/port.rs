//! The frame-level seams of the simulated world.
//!
//! `EthernetPort`: something a cable plugs into. Frames go in with `send`, frames come out
//! with `recv`, both at a simulated time; `poll_at` tells the world when the port next has
//! something to do, so the clock can jump there. Peers (the embedded target on its stack,
//! a QEMU VM, a pcap replay) and each side of a NIC are ports.
//!
//! `Nic`: the NIC between the host's TCP/IP stack and the wire, with a host side (what the
//! driver's network device sees) and a MAC side (the Ethernet port cabled to the wire).
//! `SoftNic` passes frames through unchanged; `crate::nic::SimNic` (the host driver's rings
//! on the Verilated NIC) implements the same trait.

use super::time::SimTime;
use smoltcp::phy::ChecksumCapabilities;
use std::collections::VecDeque;

/// An Ethernet frame without FCS, as the MAC hands it over.
pub type Frame = Vec<u8>;

pub trait EthernetPort: Send {
    /// Hands a frame to the port at `now` (frames move by value: no copy per hop).
    fn send(&mut self, now: SimTime, frame: Frame);
    /// The next frame the port has for the caller at `now`, if any.
    fn recv(&mut self, now: SimTime) -> Option<Frame>;
    /// Whether `send` would accept a frame now (a full transmit ring says no).
    fn can_send(&self) -> bool {
        true
    }
    /// The earliest time at which the port has something to do (a frame to hand out or a
    /// timer), None if it only reacts to `send`. The world's clock never jumps past it.
    fn poll_at(&mut self, _now: SimTime) -> Option<SimTime> {
        None
    }
}

/// A NIC: the host side faces the host's TCP/IP stack, the MAC side faces the wire.
/// This is the one trait the simulated NIC (and a board, through VFIO) implements to plug
/// into `World`.
///
/// How the world drives it, every step at the current simulated time `now`:
/// `advance(now)`, the host stack polls (`host_recv` until None, `host_send` per frame it
/// transmits while `host_can_send`), `advance(now)`, `mac_tx` until None (onto the wire),
/// then `mac_rx` for each frame the wire delivers. When no frame moved anywhere the clock
/// jumps to the earliest `poll_at` of NIC, stacks and wire, so a NIC with work in its
/// pipeline must report when it next produces something (e.g. `now` + pipeline latency).
/// Frames are whole Ethernet frames without FCS. Offload results (placed bytes, CRC
/// verdicts) travel beside the frames, from the NIC to the driver's `RxPath`, not here.
///
/// Over the Verilated NIC (`ddpnic-sim`, 250 MHz, 4 ns a cycle): `mac_rx` is
/// `sim::Nic::send_frame`, `mac_tx` is `recv_frame`, `advance(now)` runs the cycles up to
/// `now`, `poll_at` is the next cycle while `rx_pending`/`tx_pending` or rings have work,
/// and the host side is the driver's tx/rx rings over BAR0 and DMA memory.
pub trait Nic: Send {
    /// Short name for summaries ("soft", "sim", ...).
    fn name(&self) -> &str;
    /// Host side: the stack transmits a frame (posts it to the NIC's transmit ring).
    fn host_send(&mut self, now: SimTime, frame: Frame);
    /// Host side: the next frame the NIC delivered to the host (its receive ring).
    fn host_recv(&mut self, now: SimTime) -> Option<Frame>;
    /// Host side: whether the transmit ring has room.
    fn host_can_send(&self) -> bool {
        true
    }
    /// MAC side: a frame arrives from the wire (the MAC has no receive backpressure).
    fn mac_rx(&mut self, now: SimTime, frame: Frame);
    /// MAC side: the next frame the NIC transmits onto the wire.
    fn mac_tx(&mut self, now: SimTime) -> Option<Frame>;
    /// Runs the NIC up to `now` (clocks the RTL); the world calls it every step.
    fn advance(&mut self, _now: SimTime) {}
    /// Earliest time the NIC has work pending, if any (see `EthernetPort::poll_at`).
    fn poll_at(&mut self, _now: SimTime) -> Option<SimTime> {
        None
    }
    /// What the host stack may leave to the NIC: a NIC that validated a frame's checksums
    /// (and may have placed payload bytes elsewhere) lets the stack skip verifying them.
    /// Asked once, when the world makes the host stack. Default: the stack computes and
    /// verifies everything.
    fn checksum_offload(&self) -> ChecksumCapabilities {
        ChecksumCapabilities::default()
    }
    /// Counters worth a line in the summary, by name.
    fn counters(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
}

/// What the host has when the NIC offloads nothing: frames pass through unchanged, the
/// host's stack computes and verifies every checksum.
#[derive(Default)]
pub struct SoftNic {
    to_wire: VecDeque<Frame>,
    to_host: VecDeque<Frame>,
    tx_frames: u64,
    rx_frames: u64,
}

impl SoftNic {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Nic for SoftNic {
    fn name(&self) -> &str {
        "soft"
    }
    fn host_send(&mut self, _now: SimTime, frame: Frame) {
        self.tx_frames += 1;
        self.to_wire.push_back(frame);
    }
    fn host_recv(&mut self, _now: SimTime) -> Option<Frame> {
        self.to_host.pop_front()
    }
    fn mac_rx(&mut self, _now: SimTime, frame: Frame) {
        self.rx_frames += 1;
        self.to_host.push_back(frame);
    }
    fn mac_tx(&mut self, _now: SimTime) -> Option<Frame> {
        self.to_wire.pop_front()
    }
    fn counters(&self) -> Vec<(String, u64)> {
        vec![("nic_tx_frames".into(), self.tx_frames), ("nic_rx_frames".into(), self.rx_frames)]
    }
}

/// The host side of a NIC as an `EthernetPort` (what the host's smoltcp device wraps).
pub struct HostSide<'a>(pub &'a mut dyn Nic);

impl EthernetPort for HostSide<'_> {
    fn send(&mut self, now: SimTime, frame: Frame) {
        self.0.host_send(now, frame)
    }
    fn recv(&mut self, now: SimTime) -> Option<Frame> {
        self.0.host_recv(now)
    }
    fn can_send(&self) -> bool {
        self.0.host_can_send()
    }
    fn poll_at(&mut self, now: SimTime) -> Option<SimTime> {
        self.0.poll_at(now)
    }
}

/// A port made of two queues, for a stack whose frames the caller moves by hand.
#[derive(Default)]
pub struct QueuePort {
    pub inbound: VecDeque<Frame>,
    pub outbound: VecDeque<Frame>,
}

impl EthernetPort for QueuePort {
    /// The stack transmits: the frame waits in `outbound`.
    fn send(&mut self, _now: SimTime, frame: Frame) {
        self.outbound.push_back(frame);
    }
    /// The stack receives from `inbound`.
    fn recv(&mut self, _now: SimTime) -> Option<Frame> {
        self.inbound.pop_front()
    }
}
