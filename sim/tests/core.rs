//! The NIC core (`ddpnic_core`) driven the way the host driver drives it: BAR0 registers from
//! the register map crate, rx and tx rings in checked host memory, frames on the MAC ports.
//! Compiled only when the hdl crate provides `ddpnic_core` (build.rs sets `cfg(ddpnic_core)`).
#![cfg(ddpnic_core)]
use ddpnic_regmap as rm;
use ddpnic_sim::{run_with_vcd_on_failure, MemConfig, Nic, NicConfig, RegionId, TxReady};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

fn cfg() -> NicConfig {
    NicConfig::core().expect("ddpnic_core is built")
}

/// Host memory with PCIe-like read latency and random stalls on every AXI channel, and a
/// MAC transmit port that is ready half the time.
fn cfg_stalls() -> NicConfig {
    let mut c = cfg();
    c.mem = MemConfig { read_latency: 120, write_latency: 30, stall: 0.3, seed: 5, ..MemConfig::default() };
    c.tx_ready = TxReady::Random { p: 0.5, seed: 6 };
    c
}

fn reg(name: &str) -> u32 {
    rm::addr(name) as u32
}

fn counter(nic: &mut Nic, name: &str) -> u64 {
    nic.read64(rm::counter_addr(rm::counter(name)) as u32)
}

#[test]
fn core_has_the_contract_ports() {
    let nic = Nic::new(cfg()).unwrap();
    assert!(nic.missing_ports().is_empty(), "ddpnic_core lacks {:?}", nic.missing_ports());
}

#[test]
fn identity_and_block_chain() {
    run_with_vcd_on_failure("core_identity", cfg(), |nic| {
        assert_eq!(nic.read32(reg("MAGIC")), rm::MAGIC);
        assert_eq!(nic.read32(reg("HW_VERSION")), rm::HW_VERSION);
        assert_eq!(nic.read32(reg("BEAT_BYTES")), 64);
        assert_eq!(nic.read32(reg("CLOCK_MHZ")), 250);
        // walk the self-describing chain from offset 0
        let mut at = 0u32;
        let mut seen = Vec::new();
        loop {
            let ty = nic.read32(at + rm::HDR_TYPE as u32);
            let b = rm::block(ty);
            assert_eq!(b.base as u32, at, "block type {ty:#x} found at {at:#x}");
            assert_eq!(nic.read32(at + rm::HDR_VERSION as u32), b.version, "{} version", b.name);
            seen.push(b.name);
            at = nic.read32(at + rm::HDR_NEXT as u32);
            if at == 0 {
                break;
            }
            assert!(seen.len() < 64, "the block chain loops");
        }
        assert_eq!(seen, rm::BLOCKS.iter().map(|b| b.name).collect::<Vec<_>>());
        // every read-only constant reads its documented value
        for r in rm::flat() {
            if r.access == rm::Access::Ro && r.block != "stats" && !r.name.ends_with("_PROD") && !r.name.ends_with("_CONS") && r.name != "CMD_STATUS" && r.name != "BUILD" {
                assert_eq!(nic.read32(r.addr as u32), r.reset, "{} at {:#x}", r.name, r.addr);
            }
        }
        nic.write32(reg("SCRATCH"), 0xA5A5_1234);
        assert_eq!(nic.read32(reg("SCRATCH")), 0xA5A5_1234);
        nic.check().unwrap();
    });
}

struct RxRing {
    slots: u64,
    cpls: u64,
    size_log2: u32,
    slot_log2: u32,
    cons: u16,
    _regions: [RegionId; 2],
}

impl RxRing {
    fn setup(nic: &mut Nic, size_log2: u32, slot_log2: u32) -> RxRing {
        let n = 1u64 << size_log2;
        let slots = nic.alloc(n << slot_log2, 4096);
        let cpls = nic.alloc(n * 64, 4096);
        let r0 = nic.add_region(slots, n << slot_log2, "rx slots");
        let r1 = nic.add_region(cpls, n * 64, "rx completions");
        nic.write64(reg("RX_SLOT_BASE_LO"), slots);
        nic.write64(reg("RX_CPL_BASE_LO"), cpls);
        nic.write32(reg("RX_SIZE_LOG2"), size_log2);
        nic.write32(reg("RX_SLOT_LOG2"), slot_log2);
        nic.write32(reg("RX_CTRL"), 1);
        RxRing { slots, cpls, size_log2, slot_log2, cons: 0, _regions: [r0, r1] }
    }

    /// The next completion if the NIC has written it (phase bit matches).
    fn poll(&mut self, nic: &Nic) -> Option<(rm::RxCompletion, Vec<u8>)> {
        let mut b = [0u8; 64];
        nic.mem_read(rm::rx_cpl_addr(self.cpls, self.size_log2, self.cons), &mut b);
        let c = rm::RxCompletion::decode(&b);
        if c.phase != rm::phase(self.size_log2, self.cons) {
            return None;
        }
        let mut data = vec![0u8; c.frame_len as usize];
        nic.mem_read(rm::rx_slot_addr(self.slots, self.slot_log2, self.size_log2, self.cons), &mut data);
        self.cons = self.cons.wrapping_add(1);
        Some((c, data))
    }
}

fn random_frame(rng: &mut SmallRng, max: usize) -> Vec<u8> {
    let len = rng.gen_range(60..=max);
    let mut f: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
    // ethertype 0x88B5 (local experimental): never offloaded
    f[12] = 0x88;
    f[13] = 0xB5;
    f
}

#[test]
fn rx_frames_reach_the_ring_with_completions() {
    run_with_vcd_on_failure("core_rx_ring", cfg(), rx_ring);
}

#[test]
fn rx_ring_under_host_memory_stalls() {
    run_with_vcd_on_failure("core_rx_ring_stalls", cfg_stalls(), rx_ring);
}

fn rx_ring(nic: &mut Nic) {
    {
        let mut rng = SmallRng::seed_from_u64(21);
        let mut ring = RxRing::setup(nic, 4, 11);
        nic.write32(reg("IRQ_ENABLE"), rm::irq::RX_COMPLETION);
        let mut sent = Vec::new();
        let mut got = Vec::new();
        // 40 frames through a 16-entry ring: wraps twice, phase flips
        for i in 0..40 {
            let f = random_frame(&mut rng, 2048);
            let bad = i % 7 == 3;
            nic.send_frame_with(f.clone(), bad);
            sent.push((f, bad));
            if i % 4 == 3 {
                assert!(nic.run_until(20_000, |n| n.rx_pending() == 0));
                nic.run(300);
                while let Some(c) = ring.poll(nic) {
                    got.push(c);
                }
                nic.write32(reg("RX_CONS"), ring.cons as u32);
            }
        }
        assert!(nic.run_until(50_000, |n| n.rx_pending() == 0));
        nic.run(1000);
        while let Some(c) = ring.poll(nic) {
            got.push(c);
        }
        assert_eq!(got.len(), sent.len(), "completions");
        for (i, ((c, data), (f, bad))) in got.iter().zip(&sent).enumerate() {
            assert_eq!(c.frame_len as usize, f.len(), "frame {i}");
            assert_eq!(c.index, i as u16, "frame {i}");
            assert_eq!(c.ranges, 0, "frame {i}: nothing is offloaded");
            assert_eq!(c.fcs_bad, *bad, "frame {i}");
            assert_eq!(c.slot_bytes as usize, f.len(), "frame {i}");
            assert!(data == f, "frame {i}: slot data differs");
        }
        assert_eq!(nic.read32(reg("RX_PROD")), sent.len() as u32);
        assert_eq!(counter(nic, "rx_frames"), sent.len() as u64);
        assert_eq!(counter(nic, "rx_bytes"), sent.iter().map(|f| f.0.len() as u64).sum::<u64>());
        assert_eq!(counter(nic, "rx_completions"), sent.len() as u64);
        assert_eq!(counter(nic, "rx_drop_ring_full"), 0);
        assert_eq!(nic.irq_count(), sent.len() as u64, "one interrupt per completion");
        nic.check().unwrap();
        let s = nic.stats();
        eprintln!("core rx: {s:?}");
    }
}

#[test]
fn tx_ring_frames_go_out_unchanged() {
    run_with_vcd_on_failure("core_tx_ring", cfg(), tx_ring);
}

#[test]
fn tx_ring_under_host_memory_stalls() {
    run_with_vcd_on_failure("core_tx_ring_stalls", cfg_stalls(), tx_ring);
}

fn tx_ring(nic: &mut Nic) {
    {
        let mut rng = SmallRng::seed_from_u64(22);
        let size_log2 = 3u32;
        let n = 1u64 << size_log2;
        let descs = nic.alloc(n * 16, 4096);
        let rec = nic.alloc(64, 64);
        nic.add_region(rec, 64, "tx completion record");
        nic.write64(reg("TX_DESC_BASE_LO"), descs);
        nic.write64(reg("TX_CPL_ADDR_LO"), rec);
        nic.write32(reg("TX_SIZE_LOG2"), size_log2);
        nic.write32(reg("TX_CTRL"), 1);
        let mut prod = 0u16;
        let mut sent = Vec::new();
        for round in 0..3 {
            for _ in 0..6 {
                let f = random_frame(&mut rng, 9000);
                let buf = nic.alloc(f.len() as u64, 64);
                nic.mem_write(buf, &f);
                let d = rm::TxDesc { addr: buf, len: f.len() as u16 };
                nic.mem_write(descs + 16 * (prod as u64 % n), &d.encode());
                prod = prod.wrapping_add(1);
                sent.push(f);
            }
            nic.write32(reg("TX_PROD"), prod as u32);
            assert!(nic.run_until(100_000, |nic| nic.mem().read_u32(rec) == prod as u32), "round {round}: tx cons {}", nic.mem().read_u32(rec));
        }
        nic.run(100);
        for (i, f) in sent.iter().enumerate() {
            let got = nic.recv_frame().unwrap_or_else(|| panic!("frame {i} not sent"));
            assert!(!got.aborted, "frame {i} aborted");
            assert!(got.data == *f, "frame {i}: {} bytes posted, {} sent", f.len(), got.data.len());
        }
        assert_eq!(nic.read32(reg("TX_CONS")), prod as u32);
        assert_eq!(counter(nic, "tx_frames"), sent.len() as u64);
        nic.check().unwrap();
    }
}

#[test]
fn tx_frame_read_error_aborts_the_frame() {
    run_with_vcd_on_failure("core_tx_read_error", cfg(), |nic| {
        let descs = nic.alloc(16 * 4, 4096);
        let rec = nic.alloc(64, 64);
        nic.add_region(rec, 64, "tx completion record");
        nic.write64(reg("TX_DESC_BASE_LO"), descs);
        nic.write64(reg("TX_CPL_ADDR_LO"), rec);
        nic.write32(reg("TX_SIZE_LOG2"), 2);
        nic.write32(reg("TX_CTRL"), 1);
        let frames: Vec<Vec<u8>> = (0..3).map(|i| vec![i as u8 + 1; 1000]).collect();
        for (i, f) in frames.iter().enumerate() {
            let buf = nic.alloc(f.len() as u64, 64);
            nic.mem_write(buf, f);
            if i == 1 {
                nic.mem_mut().fail_reads(buf + 500, 1);
            }
            nic.mem_write(descs + 16 * i as u64, &rm::TxDesc { addr: buf, len: f.len() as u16 }.encode());
        }
        nic.write32(reg("TX_PROD"), 3);
        assert!(nic.run_until(50_000, |n| n.mem().read_u32(rec) == 3));
        nic.run(100);
        let got: Vec<_> = std::iter::from_fn(|| nic.recv_frame()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got.iter().map(|f| f.aborted).collect::<Vec<_>>(), [false, true, false]);
        assert!(got[0].data == frames[0] && got[2].data == frames[2]);
        assert_eq!(counter(nic, "dma_read_errors"), 1);
        nic.check().unwrap();
    });
}
