//! The bus models and the memory checker against `sim_testtop` (sim/verilog/sim_testtop.v):
//! a register file, a DMA copy engine and an AXI-Stream loopback with the core's ports.
use ddpnic_sim::{run_with_vcd_on_failure, run_with_vcd_on_failure_in, MemConfig, Nic, NicConfig, SimError, TxReady};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const ID: u32 = 0x000;
const VERSION: u32 = 0x004;
const SCRATCH: u32 = 0x010;
const DMA_SRC: u32 = 0x040;
const DMA_DST: u32 = 0x048;
const DMA_LEN: u32 = 0x050;
const DMA_CTRL: u32 = 0x054;
const DMA_MAXBEATS: u32 = 0x058;
const DMA_STATUS: u32 = 0x05c;
const LOOP_OVERFLOW: u32 = 0x060;
const RX_FRAMES: u32 = 0x06c;
/// DMA_CTRL flags: bursts may cross 4 KiB; write data before the write address.
const NO_SPLIT: u32 = 2;
const W_FIRST: u32 = 4;

fn cfg() -> NicConfig {
    NicConfig::new("sim_testtop")
}

/// Starts a copy on the test top's engine and clocks until its interrupt; returns the cycles taken.
fn copy(nic: &mut Nic, src: u64, dst: u64, len: u32, max_beats: u32, flags: u32) -> u64 {
    let irqs = nic.irq_count();
    nic.write64(DMA_SRC, src);
    nic.write64(DMA_DST, dst);
    nic.write32(DMA_LEN, len);
    nic.write32(DMA_MAXBEATS, max_beats);
    let t0 = nic.cycle();
    nic.write32(DMA_CTRL, 1 | flags);
    assert!(nic.run_until(1_000_000, |n| n.irq_count() > irqs), "copy of {len} bytes did not finish");
    assert_eq!(nic.read32(DMA_STATUS) & 1, 0, "engine still busy after its interrupt");
    nic.cycle() - t0
}

#[test]
fn tops_and_ports() {
    assert!(ddpnic_sim::tops().contains(&"sim_testtop"));
    let nic = Nic::new(cfg()).unwrap();
    assert!(nic.missing_ports().is_empty(), "test top lacks {:?}", nic.missing_ports());
    let ports = nic.ports();
    assert!(ports.contains(&("s_axis_rx_tdata".to_string(), 512, false)));
    assert!(ports.contains(&("m_axi_awaddr".to_string(), 64, true)));
    assert!(Nic::new(NicConfig::new("no_such_top")).is_err());
}

#[test]
fn mmio_round_trip() {
    run_with_vcd_on_failure("mmio_round_trip", cfg(), |nic| {
        assert_eq!(nic.read32(ID), 0x51A7_E57B);
        assert_eq!(nic.read32(VERSION), 1);
        assert_eq!(nic.read32(0x1000), 0xDEAD_BEEF, "unmapped offsets read the test top's filler");
        let mut rng = SmallRng::seed_from_u64(5);
        let mut shadow = [0u32; 12];
        for _ in 0..300 {
            let i = rng.gen_range(0..12);
            let off = SCRATCH + 4 * i as u32;
            if rng.gen_bool(0.5) {
                let v: u32 = rng.gen();
                if rng.gen_bool(0.3) {
                    let strb: u8 = rng.gen_range(0..16);
                    nic.try_write32_strb(off, v, strb).unwrap();
                    for b in 0..4 {
                        if strb >> b & 1 == 1 {
                            shadow[i] = shadow[i] & !(0xFF << (8 * b)) | v & (0xFF << (8 * b));
                        }
                    }
                } else {
                    nic.write32(off, v);
                    shadow[i] = v;
                }
            } else {
                assert_eq!(nic.read32(off), shadow[i], "scratch {i}");
            }
        }
        nic.write64(DMA_SRC, 0x1234_5678_9ABC_DEF0);
        assert_eq!(nic.read64(DMA_SRC), 0x1234_5678_9ABC_DEF0);
        // an access costs a handful of cycles
        let t = nic.cycle();
        nic.read32(ID);
        assert!(nic.cycle() - t <= 4, "a read took {} cycles", nic.cycle() - t);
        nic.check().unwrap();
    });
}

#[test]
fn dma_random_bursts_with_stalls() {
    let mut c = cfg();
    c.mem = MemConfig { read_latency: 20, write_latency: 3, stall: 0.25, seed: 11, ..MemConfig::default() };
    run_with_vcd_on_failure("dma_random_bursts", c, |nic| {
        let mut rng = SmallRng::seed_from_u64(3);
        const SIZE: u64 = 64 * 1024;
        let src = nic.alloc(SIZE, 4096);
        let dst = nic.alloc(SIZE, 4096);
        let pattern: Vec<u8> = (0..SIZE).map(|_| rng.gen()).collect();
        nic.mem_write(src, &pattern);
        let mut shadow = vec![0u8; SIZE as usize];
        let region = nic.add_region(dst, SIZE, "dst");
        let mut bytes = 0u64;
        for round in 0..60 {
            let lane = rng.gen_range(0..64u64);
            let len = rng.gen_range(1..=9000u64);
            let so = rng.gen_range(0..(SIZE - len - 64) / 64) * 64 + lane;
            let d_o = rng.gen_range(0..(SIZE - len - 64) / 64) * 64 + lane;
            let max_beats = if rng.gen_bool(0.5) { 64 } else { rng.gen_range(1..=64) };
            nic.mem_mut().take_write_log();
            let flags = if rng.gen_bool(0.5) { W_FIRST } else { 0 };
            copy(nic, src + so, dst + d_o, len as u32, max_beats, flags);
            shadow[d_o as usize..(d_o + len) as usize].copy_from_slice(&pattern[so as usize..(so + len) as usize]);
            assert!(nic.mem().read_vec(dst, SIZE as usize) == shadow, "round {round}: destination differs from the copy");
            // the write log covers exactly the copied range, in order
            let log = nic.mem_mut().take_write_log();
            let mut at = dst + d_o;
            for w in &log {
                assert_eq!(w.addr, at, "round {round}: write log {log:?}");
                assert!(w.len <= 64 * max_beats as u64);
                at += w.len;
            }
            assert_eq!(at, dst + d_o + len);
            bytes += len;
        }
        nic.remove_region(region);
        nic.check().unwrap();
        let s = nic.stats();
        assert_eq!(s.dma_write_bytes, bytes);
        assert!(s.dma_read_bytes >= bytes);
        eprintln!("dma_random_bursts: {bytes} bytes copied, {} write bursts, {s:?}", s.dma_write_bursts);
    });
}

#[test]
fn burst_crossing_4k_is_flagged() {
    run_with_vcd_on_failure("cross_4k", cfg(), |nic| {
        let src = nic.alloc(16384, 4096);
        let dst = nic.alloc(16384, 4096);
        nic.add_region(dst, 16384, "dst");
        // split by the engine: fine
        copy(nic, src + 4000, dst + 4000 + 4096, 300, 64, 0);
        nic.check().unwrap();
        // no split: both the read and the write burst cross 4 KiB
        copy(nic, src + 4032, dst + 4032 + 4096, 128, 64, NO_SPLIT);
        let errors = nic.take_errors();
        assert!(
            errors.iter().any(|e| matches!(e, SimError::Cross4K { write: false, addr, .. } if *addr == src + 4032)),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| matches!(e, SimError::Cross4K { write: true, addr, len: 128, .. } if *addr == dst + 8128)),
            "{errors:?}"
        );
        assert_eq!(errors.len(), 2, "{errors:?}");
        // and the data still arrived (the model reports, it does not drop)
        assert_eq!(nic.mem().read_vec(dst + 8128, 128), nic.mem().read_vec(src + 4032, 128));
    });
}

#[test]
fn write_outside_live_region_is_flagged() {
    run_with_vcd_on_failure("out_of_region", cfg(), |nic| {
        let src = nic.alloc(8192, 4096);
        let dst = nic.alloc(8192, 4096);
        nic.mem_write(src, &[0x5A; 8192]);
        let r = nic.add_region(dst + 64, 1000, "buffer");
        copy(nic, src + 64, dst + 64, 1000, 64, 0);
        nic.check().unwrap();
        // 10 bytes past the end of the region
        let t0 = nic.cycle();
        copy(nic, src + 64, dst + 64, 1010, 64, 0);
        let errors = nic.take_errors();
        match errors.as_slice() {
            [SimError::WriteOutsideRegion { addr, len: 10, cycle, id: 2 }] if *addr == dst + 1064 => {
                assert!(*cycle > t0 && *cycle < nic.cycle(), "cycle {cycle} not within the copy");
            }
            other => panic!("expected one 10-byte write outside the region, got {other:?}"),
        }
        // teardown: after remove_region every write there is an error
        nic.remove_region(r);
        copy(nic, src, dst + 128, 64, 64, 0);
        let errors = nic.take_errors();
        assert!(matches!(errors.as_slice(), [SimError::WriteOutsideRegion { len: 64, .. }]), "{errors:?}");
        assert!(errors[0].to_string().contains("outside any live region"));
        // DMA reads of never-allocated memory are flagged too
        copy(nic, 0x40, dst + 128, 64, 64, 0);
        assert!(nic.errors().iter().any(|e| matches!(e, SimError::ReadUnallocated { addr: 0x40, .. })), "{:?}", nic.errors());
    });
}

#[test]
#[should_panic(expected = "outside any live region")]
fn fail_fast_panics_at_the_bad_write() {
    let mut c = cfg();
    c.fail_fast = true;
    let mut nic = Nic::new(c).unwrap();
    let src = nic.alloc(4096, 4096);
    let dst = nic.alloc(4096, 4096);
    copy(&mut nic, src, dst, 64, 64, 0);
}

fn random_frame(rng: &mut SmallRng) -> Vec<u8> {
    let len = match rng.gen_range(0..4) {
        0 => rng.gen_range(1..=64),
        1 => rng.gen_range(60..=1514),
        2 => 64 * rng.gen_range(1..=20),
        _ => rng.gen_range(1515..=9018),
    };
    (0..len).map(|_| rng.gen()).collect()
}

#[test]
fn frames_loop_back_byte_exact() {
    run_with_vcd_on_failure("loopback", cfg(), |nic| {
        let mut rng = SmallRng::seed_from_u64(9);
        let mut sent = Vec::new();
        // back to back with the transmit side always ready, then with a gap and random stalls
        for phase in 0..2 {
            if phase == 1 {
                nic.set_rx_gap(150);
                nic.set_tx_ready(TxReady::Random { p: 0.5, seed: 4 });
            }
            for _ in 0..40 {
                let f = random_frame(&mut rng);
                let bad = rng.gen_bool(0.1);
                nic.send_frame_with(f.clone(), bad);
                sent.push((f, bad));
            }
            let t0 = nic.cycle();
            let beats: u64 = sent.iter().rev().take(40).map(|(f, _)| f.len().div_ceil(64) as u64).sum();
            assert!(nic.run_until(200_000, |n| n.rx_pending() == 0));
            if phase == 0 {
                // no backpressure and no gaps: one beat per cycle
                assert_eq!(nic.cycle() - t0, beats, "frames did not enter back to back");
            }
        }
        assert!(nic.run_until(200_000, |n| n.tx_pending() == sent.len()));
        nic.run(100);
        for (i, (f, bad)) in sent.iter().enumerate() {
            let got = nic.recv_frame().unwrap_or_else(|| panic!("frame {i} missing"));
            assert!(got.data == *f, "frame {i}: {} bytes sent, {} back, first difference at {:?}", f.len(), got.data.len(),
                got.data.iter().zip(f).position(|(a, b)| a != b));
            assert_eq!(got.aborted, *bad, "frame {i}: TUSER");
        }
        assert!(nic.recv_frame().is_none());
        assert_eq!(nic.read32(LOOP_OVERFLOW), 0);
        assert_eq!(nic.read32(RX_FRAMES), sent.len() as u32);
        let s = nic.stats();
        assert_eq!(s.rx_frames, sent.len() as u64);
        assert_eq!(s.tx_bytes, s.rx_bytes);
        nic.check().unwrap();
    });
}

#[test]
fn vcd_file_is_written() {
    let dir = std::env::temp_dir().join(format!("ddpnic-sim-vcd-{}", std::process::id()));
    let path = dir.join("run.vcd");
    let mut c = cfg();
    c.vcd = Some(path.clone());
    {
        let mut nic = Nic::new(c).unwrap();
        nic.send_frame(&[0xAB; 100]);
        nic.read32(ID);
        nic.run(20);
        // a second file on request
        nic.start_vcd(&dir.join("second.vcd")).unwrap();
        nic.run(10);
        nic.stop_vcd();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("$enddefinitions"), "not a VCD");
    assert!(text.contains("s_axis_rx_tdata") && text.contains("m_axi_awaddr"));
    assert!(text.contains("#8"), "no time steps");
    let second = std::fs::read_to_string(dir.join("second.vcd")).unwrap();
    assert!(second.contains("$enddefinitions"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn vcd_on_failure_names_the_file() {
    let dir = std::env::temp_dir().join(format!("ddpnic-sim-fail-{}", std::process::id()));
    let r = std::panic::catch_unwind(|| {
        run_with_vcd_on_failure_in(&dir, "deliberate", cfg(), |nic| {
            nic.run(10);
            panic!("deliberate failure");
        })
    });
    let msg = r.unwrap_err().downcast::<String>().map(|s| *s).unwrap_or_default();
    assert!(msg.contains("deliberate failure") && msg.contains("deliberate.vcd"), "{msg}");
    assert!(std::fs::read_to_string(dir.join("deliberate.vcd")).unwrap().contains("$enddefinitions"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn speed() {
    let mut nic = Nic::new(cfg()).unwrap();
    let mut rng = SmallRng::seed_from_u64(1);
    let frames: Vec<Vec<u8>> = (0..400).map(|_| (0..1500).map(|_| rng.gen()).collect()).collect();
    for f in &frames {
        nic.send_frame(f);
    }
    let c0 = nic.cycle();
    let s0 = nic.stats();
    assert!(nic.run_until(1_000_000, |n| n.tx_pending() == frames.len()));
    let s = nic.stats();
    let cps = (s.cycles - s0.cycles) as f64 / (s.wall - s0.wall).as_secs_f64();
    eprintln!(
        "sim_testtop: {} cycles, {:.2} M cycles/s with 1500-byte frames back to back, {:.1} Gbit/s simulated, {:.2} Gbit/s wall",
        nic.cycle() - c0,
        cps / 1e6,
        s.rx_gbps_simulated,
        s.rx_gbps_wall
    );
    assert!(cps > 10_000.0);
}

#[test]
fn mmio_read_latency_is_configurable() {
    let mut c = cfg();
    c.mmio_read_cycles = 250;
    let mut nic = Nic::new(c).unwrap();
    let t = nic.cycle();
    assert_eq!(nic.read32(ID), 0x51A7_E57B);
    assert!(nic.cycle() - t >= 250);
    let t = nic.cycle();
    nic.write32(SCRATCH, 1);
    assert!(nic.cycle() - t < 10, "writes are posted");
    assert!(nic.run_until_idle(10));
}

#[test]
fn simulated_time() {
    let mut nic = Nic::new(cfg()).unwrap();
    assert_eq!(nic.time_ns(), 8 * 4, "8 reset cycles");
    nic.run_to_ns(1001);
    assert_eq!(nic.cycle(), 251);
    nic.run_to_ns(10);
    assert_eq!(nic.cycle(), 251, "time never goes back");
    assert!(nic.bus_idle());
    nic.send_frame(&[1; 200]);
    assert!(!nic.bus_idle());
    nic.tick();
    let s = nic.stats();
    assert_eq!(s.cycles, 252);
    assert!(s.cycles_per_sec > 0.0);
}

#[test]
fn reset_mid_run() {
    let mut nic = Nic::new(cfg()).unwrap();
    nic.write32(SCRATCH, 0x1234);
    let src = nic.alloc(4096, 4096);
    let dst = nic.alloc(4096, 4096);
    nic.add_region(dst, 4096, "dst");
    copy(&mut nic, src, dst, 4096, 64, 0);
    nic.reset();
    assert_eq!(nic.read32(SCRATCH), 0, "registers cleared by rst");
    assert_eq!(nic.read32(ID), 0x51A7_E57B);
    copy(&mut nic, src, dst, 100, 64, 0);
    nic.check().unwrap();
}

#[test]
fn injected_write_errors_answer_slverr_and_drop_data() {
    run_with_vcd_on_failure("write_fault", cfg(), |nic| {
        let src = nic.alloc(8192, 4096);
        let dst = nic.alloc(8192, 4096);
        nic.mem_write(src, &[0x77; 8192]);
        nic.add_region(dst, 8192, "dst");
        nic.mem_mut().fail_writes(dst + 4096 + 100, 1);
        copy(nic, src, dst, 8192, 64, 0);
        assert_eq!(nic.read32(0x068), 1, "one burst answered SLVERR");
        // the faulted beat (line dst+4096+64..128) was dropped, everything else written
        let got = nic.mem().read_vec(dst, 8192);
        assert!(got[..4096 + 64].iter().all(|&b| b == 0x77));
        assert!(got[4096 + 64..4096 + 128].iter().all(|&b| b == 0));
        assert!(got[4096 + 128..].iter().all(|&b| b == 0x77));
        nic.mem_mut().clear_faults();
        copy(nic, src, dst, 8192, 64, 0);
        assert_eq!(nic.read32(0x068), 1);
        nic.check().unwrap();
    });
}
