//! The three rings of the core in DMA memory, as hdl/regmap/REGMAP.md ("Rings in host
//! memory") defines them:
//!
//! - [`RxRing`]: 2^n slots and 2^n 64-byte completions. The NIC writes frame `i` to slot
//!   `i mod N` and then its completion, whose phase bit says it is new (1 on the first pass,
//!   flipping at every wrap). Beats the NIC placed in full are not written to the slot (their
//!   bytes are in the DDP buffers, where the ULP reads them). The host hands slots back by
//!   writing RX_CONS.
//! - [`TxRing`]: 2^n 16-byte descriptors, each with its own frame buffer; TX_PROD is the
//!   doorbell, the NIC writes TX_CONS into a 64-byte completion record.
//! - [`EventRing`]: 2^n 16-byte events (command results, teardown done), phase bit as rx.
//!
//! The NIC writes these buffers while the driver reads them: every entry is read with
//! volatile loads, its phase bit first, then an acquire fence before its payload.
use super::regs::Regs;
use crate::pci::{Device, DmaBuffer, PciError, Result};
use ddpnic_regmap as rm;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, TcpPacket};
use std::sync::atomic::{fence, Ordering};

/// Volatile copy out of DMA memory at byte offset `at`.
fn dma_read(buf: &DmaBuffer, at: usize, out: &mut [u8]) {
    assert!(at + out.len() <= buf.len(), "read past a DMA buffer");
    for (i, b) in out.iter_mut().enumerate() {
        // SAFETY: in bounds (checked above); the device may write concurrently, hence volatile.
        *b = unsafe { std::ptr::read_volatile(buf.as_ptr().add(at + i)) };
    }
}

fn dma_write(buf: &mut DmaBuffer, at: usize, data: &[u8]) {
    buf.as_mut_slice()[at..at + data.len()].copy_from_slice(data);
}

fn write64<D: Device + ?Sized>(dev: &D, regs: &Regs, lo: &str, value: u64) -> Result<()> {
    dev.write32(regs.at(lo), value as u32)?;
    dev.write32(regs.at(lo) + 4, (value >> 32) as u32)
}

/// A received frame: the completion and the frame as far as the slot holds it. Beats the NIC
/// placed in full read as zero: the stack that gets the frame must take the NIC's checksum
/// verdicts ([`RxPacket::checksums_ok`]) and the ULP must take those bytes from its buffer.
#[derive(Debug, Clone)]
pub struct RxPacket {
    pub cpl: rm::RxCompletion,
    pub frame: Vec<u8>,
}

impl RxPacket {
    /// The payload ranges the NIC placed in DDP buffers.
    pub fn placed(&self) -> &[rm::PlacedRange] {
        &self.cpl.range[..self.cpl.ranges.min(rm::RX_RANGES)]
    }

    /// Bytes of this frame the NIC placed (the host does not copy them).
    pub fn placed_bytes(&self) -> usize {
        self.placed().iter().map(|r| r.len as usize).sum()
    }

    /// Whether the frame's IPv4 header and TCP checksums hold: the NIC's verdicts where it gave
    /// them (it checked the frame as it came off the wire, before placing any byte), else the
    /// host's own check. Frames that are not IPv4/TCP, and IP fragments, are the stack's to
    /// judge (true).
    pub fn checksums_ok(&self) -> bool {
        if self.cpl.ip_csum_ok && self.cpl.tcp_csum_ok {
            return true;
        }
        let Ok(eth) = EthernetFrame::new_checked(&self.frame[..]) else { return true };
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            return true;
        }
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else { return false };
        if !ip.verify_checksum() {
            return false;
        }
        if ip.next_header() != IpProtocol::Tcp || ip.more_frags() || ip.frag_offset() != 0 {
            return true;
        }
        TcpPacket::new_checked(ip.payload())
            .is_ok_and(|tcp| tcp.verify_checksum(&IpAddress::Ipv4(ip.src_addr()), &IpAddress::Ipv4(ip.dst_addr())))
    }
}

pub struct RxRing {
    slots: DmaBuffer,
    cpls: DmaBuffer,
    size_log2: u32,
    slot_log2: u32,
    /// Completions consumed (free running), and the value last written to RX_CONS.
    cons: u16,
    cons_written: u16,
}

impl RxRing {
    /// Allocates 2^`size_log2` slots of 2^`slot_log2` bytes, programs and enables the ring.
    pub fn start<D: Device + ?Sized>(dev: &D, regs: &Regs, size_log2: u32, slot_log2: u32) -> Result<RxRing> {
        if size_log2 > rm::MAX_RING_LOG2 || !(rm::MIN_SLOT_LOG2..=rm::MAX_SLOT_LOG2).contains(&slot_log2) {
            return Err(PciError::Invalid(format!("rx ring 2^{size_log2} slots of 2^{slot_log2} bytes is outside the core's range")));
        }
        let n = 1usize << size_log2;
        let slots = dev.alloc_dma(n << slot_log2)?;
        let cpls = dev.alloc_dma(n * 64)?;
        dev.write32(regs.at("RX_CTRL"), 0)?;
        write64(dev, regs, "RX_SLOT_BASE_LO", slots.iova())?;
        write64(dev, regs, "RX_CPL_BASE_LO", cpls.iova())?;
        dev.write32(regs.at("RX_SIZE_LOG2"), size_log2)?;
        dev.write32(regs.at("RX_SLOT_LOG2"), slot_log2)?;
        dev.write32(regs.at("RX_CTRL"), 1)?;
        Ok(RxRing { slots, cpls, size_log2, slot_log2, cons: 0, cons_written: 0 })
    }

    pub fn entries(&self) -> usize {
        1 << self.size_log2
    }

    pub fn slot_bytes(&self) -> usize {
        1 << self.slot_log2
    }

    /// The next frame if the NIC has completed it (its completion carries the current phase).
    pub fn poll(&mut self) -> Option<RxPacket> {
        let at = (rm::rx_cpl_addr(0, self.size_log2, self.cons)) as usize;
        let mut b = [0u8; 64];
        dma_read(&self.cpls, at + 15, &mut b[15..16]);
        if (b[15] & 0x80 != 0) != rm::phase(self.size_log2, self.cons) {
            return None;
        }
        fence(Ordering::Acquire);
        dma_read(&self.cpls, at, &mut b);
        let cpl = rm::RxCompletion::decode(&b);
        let slot = rm::rx_slot_addr(0, self.slot_log2, self.size_log2, self.cons) as usize;
        let len = (cpl.frame_len as usize).min(self.slot_bytes());
        let mut frame = vec![0u8; len];
        for k in 0..len.div_ceil(64) {
            if cpl.beat_written(k) {
                let (a, e) = (64 * k, (64 * k + 64).min(len));
                dma_read(&self.slots, slot + a, &mut frame[a..e]);
            }
        }
        self.cons = self.cons.wrapping_add(1);
        Some(RxPacket { cpl, frame })
    }

    /// Hands the consumed slots back to the NIC (one RX_CONS write for all of them).
    pub fn release<D: Device + ?Sized>(&mut self, dev: &D, regs: &Regs) -> Result<()> {
        if self.cons != self.cons_written {
            dev.write32(regs.at("RX_CONS"), u32::from(self.cons))?;
            self.cons_written = self.cons;
        }
        Ok(())
    }
}

pub struct TxRing {
    descs: DmaBuffer,
    record: DmaBuffer,
    frames: DmaBuffer,
    size_log2: u32,
    buf_log2: u32,
    prod: u16,
}

impl TxRing {
    /// 2^`size_log2` descriptors with a 2^`buf_log2`-byte frame buffer each.
    pub fn start<D: Device + ?Sized>(dev: &D, regs: &Regs, size_log2: u32, buf_log2: u32) -> Result<TxRing> {
        if !(2..=rm::MAX_RING_LOG2).contains(&size_log2) || !(6..=14).contains(&buf_log2) {
            return Err(PciError::Invalid(format!("tx ring 2^{size_log2} descriptors of 2^{buf_log2} bytes is outside the core's range")));
        }
        let n = 1usize << size_log2;
        let descs = dev.alloc_dma(n * 16)?;
        let record = dev.alloc_dma(64)?;
        let frames = dev.alloc_dma(n << buf_log2)?;
        dev.write32(regs.at("TX_CTRL"), 0)?;
        write64(dev, regs, "TX_DESC_BASE_LO", descs.iova())?;
        write64(dev, regs, "TX_CPL_ADDR_LO", record.iova())?;
        dev.write32(regs.at("TX_SIZE_LOG2"), size_log2)?;
        dev.write32(regs.at("TX_CTRL"), 1)?;
        Ok(TxRing { descs, record, frames, size_log2, buf_log2, prod: 0 })
    }

    /// Descriptors the NIC has finished (from the completion record).
    pub fn consumed(&self) -> u16 {
        let mut b = [0u8; 4];
        dma_read(&self.record, 0, &mut b);
        u32::from_le_bytes(b) as u16
    }

    /// Descriptors posted and not yet sent.
    pub fn in_flight(&self) -> usize {
        usize::from(self.prod.wrapping_sub(self.consumed()))
    }

    pub fn has_room(&self) -> bool {
        self.in_flight() < 1 << self.size_log2
    }

    pub fn max_frame(&self) -> usize {
        (1usize << self.buf_log2).min(rm::MAX_FRAME as usize)
    }

    /// Copies `frame` into the next buffer, writes its descriptor and rings the doorbell.
    /// False when the ring is full; an error for a frame the NIC cannot send.
    pub fn post<D: Device + ?Sized>(&mut self, dev: &D, regs: &Regs, frame: &[u8]) -> Result<bool> {
        if frame.is_empty() || frame.len() > self.max_frame() {
            return Err(PciError::Invalid(format!("a {}-byte frame does not fit a tx buffer of {}", frame.len(), self.max_frame())));
        }
        if !self.has_room() {
            return Ok(false);
        }
        let i = usize::from(self.prod) & ((1 << self.size_log2) - 1);
        let at = i << self.buf_log2;
        dma_write(&mut self.frames, at, frame);
        let desc = rm::TxDesc { addr: self.frames.iova() + at as u64, len: frame.len() as u16 };
        dma_write(&mut self.descs, 16 * i, &desc.encode());
        fence(Ordering::Release);
        self.prod = self.prod.wrapping_add(1);
        dev.write32(regs.at("TX_PROD"), u32::from(self.prod))?;
        Ok(true)
    }
}

pub struct EventRing {
    buf: DmaBuffer,
    size_log2: u32,
    cons: u16,
}

impl EventRing {
    pub fn start<D: Device + ?Sized>(dev: &D, regs: &Regs, size_log2: u32) -> Result<EventRing> {
        if !(2..=rm::MAX_RING_LOG2).contains(&size_log2) {
            return Err(PciError::Invalid(format!("event ring of 2^{size_log2} entries is outside the core's range")));
        }
        let buf = dev.alloc_dma(16 << size_log2)?;
        dev.write32(regs.at("EV_CTRL"), 0)?;
        write64(dev, regs, "EV_BASE_LO", buf.iova())?;
        dev.write32(regs.at("EV_SIZE_LOG2"), size_log2)?;
        dev.write32(regs.at("EV_CTRL"), 1)?;
        Ok(EventRing { buf, size_log2, cons: 0 })
    }

    /// The next event if the NIC has written it; the slot is handed back at once.
    pub fn poll<D: Device + ?Sized>(&mut self, dev: &D, regs: &Regs) -> Result<Option<rm::Event>> {
        let at = 16 * (usize::from(self.cons) & ((1 << self.size_log2) - 1));
        let mut b = [0u8; 16];
        dma_read(&self.buf, at + 15, &mut b[15..16]);
        if (b[15] & 0x80 != 0) != rm::phase(self.size_log2, self.cons) {
            return Ok(None);
        }
        fence(Ordering::Acquire);
        dma_read(&self.buf, at, &mut b);
        self.cons = self.cons.wrapping_add(1);
        dev.write32(regs.at("EV_CONS"), u32::from(self.cons))?;
        Ok(Some(rm::Event::decode(&b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_frame(payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4([10, 0, 2, 15], [10, 0, 2, 2], 64)
            .tcp(4420, 50002, 7, 1000)
            .write(&mut f, payload)
            .unwrap();
        f
    }

    fn packet(frame: Vec<u8>, nic_says_ok: bool) -> RxPacket {
        let cpl = rm::RxCompletion { frame_len: frame.len() as u16, ip_csum_ok: nic_says_ok, tcp_csum_ok: nic_says_ok, ..Default::default() };
        RxPacket { cpl, frame }
    }

    /// Without the NIC's verdicts the host checks the IPv4 header and TCP checksums itself
    /// (frames built by etherparse, then damaged); with them it takes the NIC's word, which is
    /// what lets a frame whose placed beats were never written reach the stack.
    #[test]
    fn checksums_are_the_nics_verdicts_or_the_hosts_own_check() {
        let good = tcp_frame(&[0x5a; 300]);
        assert!(packet(good.clone(), false).checksums_ok());
        let mut bad_payload = good.clone();
        bad_payload[200] ^= 0x01;
        assert!(!packet(bad_payload.clone(), false).checksums_ok());
        let mut bad_ip = good.clone();
        bad_ip[14 + 8] ^= 0x01; // TTL: the IPv4 header checksum fails
        assert!(!packet(bad_ip, false).checksums_ok());
        let mut placed = good.clone();
        placed[128..256].fill(0);
        assert!(packet(placed.clone(), true).checksums_ok());
        assert!(!packet(placed, false).checksums_ok());
        let mut arp = good;
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(packet(arp, false).checksums_ok(), "not IPv4: the stack's to judge");
    }
}
