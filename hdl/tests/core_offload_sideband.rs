//! The rx ring writer with placed bytes, through a test build of `ddpnic_core` whose offload
//! sideband (`rxp_placed`, `rxp_meta_*`, `ofl_stat_placed_bytes`) is driven from Rust, as the
//! offload pipeline will drive it. Checked against the regmap's rule: beat k of a frame is
//! written at slot offset 64k unless every byte of it was placed (such beats are never
//! written: the slot keeps a sentinel there), the completion carries the frame's metadata and
//! ranges byte for byte, slot bytes + placed ranges rebuild every frame, offload counters.
use ddpnic_hdl::core::harness::{build, Meta, Readiness, Rng, RxIn, World};
use ddpnic_hdl::core::{verilog, CoreParams, SidebandPorts};
use ddpnic_regmap::{self as rm, PlacedRange, RxCompletion};
use std::path::Path;

const SENTINEL: u8 = 0xEE;

#[test]
fn placed_beats_are_skipped_and_completions_carry_the_sideband() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ddpnic_core_sideband");
    let params = CoreParams { sideband_ports: SidebandPorts::Rxp, ..Default::default() };
    let bin = build(&dir, &verilog(&params), SidebandPorts::Rxp).unwrap_or_else(|e| panic!("{e}"));
    let mut w = World::with_sideband(&bin, 11, SidebandPorts::Rxp);
    w.ready = Readiness { aw: 80, w: 80, ..Default::default() };
    let (slot_base, cpl_base, size_log2, slot_log2) = (0x3_0000_0000u64, 0x3_1000_0000u64, 3u32, 12u32);
    let n = 1u64 << size_log2;
    w.mem.write_bytes(slot_base, &vec![SENTINEL; (n << slot_log2) as usize]);
    w.setup_rx_ring(slot_base, cpl_base, size_log2, slot_log2);

    let mut rng = Rng::new(12);
    let mut expect: Vec<(Vec<u8>, RxCompletion)> = Vec::new();
    let (mut packets, mut resyncs, mut placed_total) = (0u64, 0u64, 0u64);
    for i in 0..200u16 {
        let len = if i % 10 == 0 { 4096 } else { 64 + rng.below(4033) as usize };
        let frame: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Up to four disjoint ranges after the headers, some covering whole beats.
        let mut ranges = Vec::new();
        let mut at = 54 + rng.below(80) as usize;
        for _ in 0..rng.below(5) {
            if at >= len {
                break;
            }
            let span = if rng.chance(50) { 2000 } else { 100 };
            let l = (1 + rng.below(span) as usize).min(len - at);
            ranges.push(PlacedRange { frame_offset: at as u16, len: l as u16, cid: rng.next() as u16, data_offset: rng.next() as u32 });
            at += l + rng.below(200) as usize;
        }
        let placed = |byte: usize| ranges.iter().any(|r| (r.frame_offset as usize..(r.frame_offset + r.len) as usize).contains(&byte));
        let with_meta = !ranges.is_empty() || rng.chance(50);
        let meta = Meta { flags: rng.below(32) as u8, flow: rng.below(4096) as u16, seq: rng.next() as u32, ranges: ranges.clone() };
        let beats = len.div_ceil(64);
        // The meta pulse: before the first beat (an idle cycle), or at any beat up to the last.
        let meta_at = if rng.chance(20) { None } else { Some(rng.below(beats as u64) as usize) };
        if with_meta && meta_at.is_none() {
            w.rx_queue.push_back(RxIn { meta: Some(meta.clone()), ..Default::default() });
        }
        let bad = rng.chance(5);
        let mut slot_bytes = 0usize;
        for k in 0..beats {
            let chunk = &frame[64 * k..(64 * k + 64).min(len)];
            let mask = (0..chunk.len()).filter(|&l| placed(64 * k + l)).fold(0u64, |m, l| m | 1 << l);
            if mask.count_ones() as usize != chunk.len() {
                slot_bytes += chunk.len();
            }
            placed_total += mask.count_ones() as u64;
            w.rx_queue.push_back(RxIn {
                beat: Some((chunk.to_vec(), k + 1 == beats, bad && k + 1 == beats)),
                placed: mask,
                meta: (with_meta && meta_at == Some(k)).then(|| meta.clone()),
                placed_bytes: mask.count_ones() as u64,
            });
        }
        for _ in 0..beats + rng.below(8) as usize {
            w.rx_queue.push_back(RxIn::default());
        }
        let mut c = RxCompletion { frame_len: len as u16, slot_bytes: slot_bytes as u16, fcs_bad: bad, index: i, phase: rm::phase(size_log2, i), ..Default::default() };
        if with_meta {
            c.ip_csum_ok = meta.flags & 1 != 0;
            c.tcp_csum_ok = meta.flags & 2 != 0;
            c.crc_ok = meta.flags & 4 != 0;
            c.resync = meta.flags & 8 != 0;
            c.flow_valid = meta.flags & 16 != 0;
            c.flow = meta.flow;
            c.resync_seq = meta.seq;
            c.ranges = ranges.len();
            c.range[..ranges.len()].copy_from_slice(&ranges);
            packets += !ranges.is_empty() as u64;
            resyncs += c.resync as u64;
        }
        expect.push((frame, c));
    }

    let mut cons = 0u16;
    let mut skipped_beats = 0usize;
    w.run_until(400_000, |w| {
        loop {
            let a = rm::rx_cpl_addr(cpl_base, size_log2, cons);
            let raw: [u8; 64] = w.mem.read_bytes(a, 64).try_into().unwrap();
            let c = RxCompletion::decode(&raw);
            if c.phase != rm::phase(size_log2, cons) {
                break;
            }
            let (frame, want) = &expect[cons as usize];
            assert_eq!(c, *want, "completion {cons}");
            assert_eq!(raw, want.encode(), "completion {cons} bytes");
            let slot_addr = rm::rx_slot_addr(slot_base, slot_log2, size_log2, cons);
            let slot = w.mem.read_bytes(slot_addr, frame.len());
            // Rebuild: written beats from the slot, the rest from the placed ranges.
            for k in 0..frame.len().div_ceil(64) {
                let (lo, hi) = (64 * k, (64 * k + 64).min(frame.len()));
                if c.beat_written(k) {
                    assert!(slot[lo..hi] == frame[lo..hi], "frame {cons} beat {k}: slot data differs");
                } else {
                    skipped_beats += 1;
                    assert!(slot[lo..hi].iter().all(|&b| b == SENTINEL), "frame {cons} beat {k}: fully placed but written");
                    for byte in lo..hi {
                        assert!(c.range[..c.ranges].iter().any(|r| (r.frame_offset as usize..(r.frame_offset + r.len) as usize).contains(&byte)), "frame {cons} byte {byte} neither written nor placed");
                    }
                }
            }
            w.mem.write_bytes(slot_addr, &vec![SENTINEL; 1 << slot_log2]);
            cons = cons.wrapping_add(1);
            w.set("RX_CONS", cons as u32);
        }
        w.rx_queue.is_empty() && cons as usize == expect.len()
    });
    assert!(skipped_beats > 100, "the traffic skips whole beats ({skipped_beats})");
    assert_eq!(w.counter("rx_drop_ring_full"), 0);
    assert_eq!(w.counter("rx_nvme_tcp_packets"), packets);
    assert_eq!(w.counter("rx_nvme_tcp_resync"), resyncs);
    assert_eq!(w.counter("rx_nvme_tcp_bytes"), placed_total);
    assert_eq!(w.counter("rx_completions"), expect.len() as u64);
    assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);
}
