//! The host driver's `pci` sim backend, `nic` layer and `ddp` layer against the Verilated NIC
//! core. References are independent of the code under test: the frames the test itself put
//! on the MAC port or posted, the regmap's documented constants, and the RSS verification
//! suite's published hash.
use ddpnic::ddp::{rx_tuple, Caps, Ddp, DdpError, SglEntry, SkConfig};
use ddpnic::nic::{NicDriver, RingConfig};
use ddpnic::pci::sim::SimDevice;
use ddpnic::pci::Device;
use ddpnic_regmap as rm;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};

fn random_frame(rng: &mut SmallRng, min: usize, max: usize) -> Vec<u8> {
    let mut f: Vec<u8> = (0..rng.gen_range(min..=max)).map(|_| rng.gen()).collect();
    // a local experimental ethertype: nothing the NIC would parse as TCP
    f[12] = 0x88;
    f[13] = 0xB5;
    f
}

fn rings(rx_log2: u32, tx_log2: u32) -> RingConfig {
    RingConfig { rx_log2, slot_log2: 11, tx_log2, event_log2: 4 }
}

#[test]
fn frames_cross_the_core_both_ways_byte_exact_with_ring_wrap() {
    let dev = SimDevice::core().unwrap();
    let mut drv = NicDriver::start(dev.clone(), rings(3, 2)).unwrap();
    let mut rng = SmallRng::seed_from_u64(7);

    // rx: 60 frames through an 8-entry ring (wraps 7 times, the phase flips each time),
    // consumed in uneven batches.
    let sent: Vec<Vec<u8>> = (0..60).map(|_| random_frame(&mut rng, 60, 1514)).collect();
    let mut got = Vec::new();
    for chunk in sent.chunks(5) {
        for f in chunk {
            dev.mac_send(f.clone());
        }
        for _ in 0..40 {
            dev.run(64);
            while let Some(p) = drv.recv() {
                assert_eq!(p.cpl.ranges, 0, "nothing is placed without sk_add");
                got.push(p);
            }
            drv.rx_release().unwrap();
        }
    }
    dev.run(2000);
    while let Some(p) = drv.recv() {
        got.push(p);
    }
    assert_eq!(got.len(), sent.len());
    for (i, (p, f)) in got.iter().zip(&sent).enumerate() {
        assert_eq!(p.frame, *f, "rx frame {i}");
        assert_eq!(p.cpl.index, i as u16, "rx frame {i} index");
        assert_eq!(p.cpl.phase, (i / 8) % 2 == 0, "rx frame {i} phase");
    }

    // tx: 30 frames through a 4-descriptor ring, posted whenever there is room.
    let out: Vec<Vec<u8>> = (0..30).map(|_| random_frame(&mut rng, 60, 1514)).collect();
    let mut wire = Vec::new();
    let mut next = 0;
    for _ in 0..10_000 {
        while next < out.len() && drv.send(&out[next]).unwrap() {
            next += 1;
        }
        dev.run(32);
        while let Some(f) = dev.mac_recv() {
            wire.push(f);
        }
        if wire.len() == out.len() {
            break;
        }
    }
    assert!(drv.stats.tx_ring_full > 0, "the 4-entry tx ring never filled: wrap not exercised");
    assert_eq!(wire, out, "frames on the wire differ from those posted");

    let c = drv.counters().unwrap();
    assert_eq!(c.get("rx_frames"), sent.len() as u64);
    assert_eq!(c.get("rx_bytes"), sent.iter().map(|f| f.len() as u64).sum::<u64>());
    assert_eq!(c.get("rx_completions"), sent.len() as u64);
    assert_eq!(c.get("tx_frames"), out.len() as u64);
    assert_eq!(c.get("tx_bytes"), out.iter().map(|f| f.len() as u64).sum::<u64>());
    assert_eq!(c.get("rx_drop_ring_full"), 0);
    dev.check().unwrap();
}

#[test]
fn a_full_rx_ring_drops_whole_frames_and_counts_them() {
    let dev = SimDevice::core().unwrap();
    let mut drv = NicDriver::start(dev.clone(), rings(2, 2)).unwrap();
    let mut rng = SmallRng::seed_from_u64(8);
    // Nobody consumes: 4 slots fill, the 512-beat FIFO fills behind them, the rest drop.
    let sent: Vec<Vec<u8>> = (0..100).map(|_| random_frame(&mut rng, 1000, 1514)).collect();
    for f in &sent {
        dev.mac_send(f.clone());
    }
    dev.run(20_000);
    let dropped = drv.counters().unwrap().get("rx_drop_ring_full");
    assert!(dropped > 0, "no frame dropped behind a full ring");
    // Now drain: every delivered frame is one that was sent, in order, and delivered +
    // dropped accounts for every frame.
    let mut got = Vec::new();
    for _ in 0..200 {
        while let Some(p) = drv.recv() {
            got.push(p.frame);
        }
        drv.rx_release().unwrap();
        dev.run(500);
    }
    let c = drv.counters().unwrap();
    assert_eq!(c.get("rx_drop_ring_full"), dropped, "drops after the ring was drained");
    assert_eq!(got.len() as u64 + dropped, sent.len() as u64);
    let mut it = sent.iter();
    for (i, g) in got.iter().enumerate() {
        assert!(it.any(|s| s == g), "delivered frame {i} is not the next of the sent frames");
    }
    assert_eq!(c.get("rx_frames"), sent.len() as u64);
    dev.check().unwrap();
}

#[test]
fn flow_slot_hash_is_the_rss_verification_vector() {
    // Intel 82599 datasheet, RSS verification suite, IPv4 with TCP: source 66.9.149.187:2794,
    // destination 161.142.100.80:1766 -> 0x51ccc178. The NIC receives from the target, so
    // the target is the remote end.
    let local = "161.142.100.80:1766".parse().unwrap();
    let remote = "66.9.149.187:2794".parse().unwrap();
    assert_eq!(rm::rss::hash(&rx_tuple(local, remote)), 0x51cc_c178);
}

#[test]
fn ddp_on_the_core_without_offload_engine_falls_back_everywhere() {
    let dev = SimDevice::core().unwrap();
    let drv = NicDriver::start(dev.clone(), rings(4, 2)).unwrap();
    let shared = Arc::new(Mutex::new(drv));
    let ddp = Ddp::new(shared.clone()).unwrap();

    let (caps, enabled) = ddp.caps().unwrap();
    let reset = |n: &str| rm::flat().into_iter().find(|r| r.name == n).unwrap().reset;
    assert_eq!(caps.bits(), reset("CAPS"));
    assert_eq!(enabled.bits(), 0);
    // ENABLE is masked by CAPS
    assert_eq!(ddp.set_caps(Caps::ALL).unwrap().bits(), reset("CAPS"));
    // The core has the offload engine (CAPS = DDP | DDGST-rx); with it disabled again every
    // command is answered as by a core without one.
    assert_eq!(ddp.set_caps(Caps::from_bits(0)).unwrap().bits(), 0);
    let l = ddp.limits();
    assert_eq!((l.io_threshold, l.max_ddp_sgl_len, l.flow_capacity, l.tag_capacity), (reset("IO_THRESHOLD"), reset("MAX_SGL_LEN"), reset("FLOW_CAPACITY"), reset("TAG_CAPACITY")));
    assert!(!ddp.worth_offloading(l.io_threshold as usize - 1) && ddp.worth_offloading(l.io_threshold as usize));

    let cfg = SkConfig {
        local: "10.0.2.2:50000".parse().unwrap(),
        remote: "10.0.2.15:4420".parse().unwrap(),
        hdgst: true,
        ddgst: true,
        cpda: 0,
        pfv: 0,
        queue_size: 32,
        rcv_nxt: 12345,
    };
    let unsupported = |r: &DdpError| matches!(r, DdpError::Refused { status, .. } if *status == rm::ev_status::UNSUPPORTED);
    let e = ddp.sk_add(&cfg).unwrap_err();
    assert!(unsupported(&e), "sk_add: {e}");
    // an I/O's buffer in DMA memory: TAG_SETUP + 2 TAG_ENTRY, answered UNSUPPORTED
    let buf = dev.alloc_dma(8192).unwrap();
    let sgl = [SglEntry { addr: buf.iova(), len: 4096 }, SglEntry { addr: buf.iova() + 4096, len: 4096 }];
    let e = ddp.setup(ddpnic::ddp::Flow(0), 7, &sgl).unwrap_err();
    assert!(unsupported(&e), "setup: {e}");
    let s = ddp.stats();
    assert_eq!((s.sk_add, s.sk_add_fail, s.setup, s.setup_fail), (0, 1, 0, 1));
    // one event per command that has one (FLOW_ADD, SETUP), none lost
    let c = ddp.counters().unwrap();
    assert_eq!(c.get("events"), 2);
    assert_eq!(c.get("rx_nvme_tcp_sk_add"), 0);
    // a refused setup gave its tag back: the next one is refused the same way, not for lack of tags
    let e = ddp.setup(ddpnic::ddp::Flow(0), 8, &sgl[..1]).unwrap_err();
    assert!(unsupported(&e), "second setup: {e}");
    drop(buf);
    dev.check().unwrap();
}

#[test]
fn sim_nic_in_the_world_clocks_while_busy_and_skips_idle_time() {
    use ddpnic::net::{Nic, SimTime};
    use ddpnic::nic::SimNic;
    let dev = SimDevice::core().unwrap();
    let mut nic = SimNic::new(dev.clone(), RingConfig::for_mtu(1500)).unwrap();
    let mut rng = SmallRng::seed_from_u64(9);
    let frames: Vec<Vec<u8>> = (0..20).map(|_| random_frame(&mut rng, 60, 1514)).collect();
    let mut now = SimTime(1_000);
    for (i, f) in frames.iter().enumerate() {
        if i == 7 {
            // a frame with a bad FCS: the NIC delivers it flagged, the driver drops it
            dev.nic().send_frame_with(f.clone(), true);
        } else {
            nic.mac_rx(now, f.clone());
        }
    }
    let mut got = Vec::new();
    while got.len() < 19 {
        let at = nic.poll_at(now).expect("work pending: the NIC has a next event");
        assert!(at >= now);
        now = at;
        nic.advance(now);
        got.extend(std::iter::from_fn(|| nic.host_recv(now)));
        assert!(now.0 < 10_000_000, "frames stuck in the NIC");
    }
    let want: Vec<Vec<u8>> = frames.iter().enumerate().filter(|(i, _)| *i != 7).map(|(_, f)| f.clone()).collect();
    assert_eq!(got, want);
    // tx through the host side
    for f in &frames[..10] {
        assert!(nic.host_can_send());
        nic.host_send(now, f.clone());
    }
    let mut out = Vec::new();
    while out.len() < 10 {
        now = nic.poll_at(now).expect("tx pending");
        nic.advance(now);
        out.extend(std::iter::from_fn(|| nic.mac_tx(now)));
        assert!(now.0 < 20_000_000, "frames stuck in the tx ring");
    }
    assert_eq!(out, frames[..10].to_vec());
    // once idle (after the linger), a jump of 1 ms is not clocked
    while let Some(t) = nic.poll_at(now) {
        now = t;
        nic.advance(now);
    }
    let before = dev.cycle();
    let skipped = nic.skipped_cycles();
    let s0 = skipped.load(std::sync::atomic::Ordering::Relaxed);
    nic.advance(SimTime(now.0 + 1_000_000));
    assert!(dev.cycle() - before < 100, "idle time was clocked");
    assert_eq!(skipped.load(std::sync::atomic::Ordering::Relaxed) - s0, 250_000);
    let c: std::collections::HashMap<String, u64> = nic.counters().into_iter().collect();
    assert_eq!(c["rx_fcs_bad"], 1);
    assert_eq!(c["rx_frames"], 20);
    assert_eq!(c["tx_frames"], 10);
    dev.check().unwrap();
}
