//! `ddpnic_core` in Verilator, driven as a host drives the board: BAR0 over AXI-Lite, host
//! memory behind the AXI4 master (random ready/valid), frames on the MAC ports. Every check
//! is against the regmap's contract, written here independently of the RTL: the register
//! chain and values, ring behaviour (slots, completions with phase, producer/consumer
//! indices, whole-frame drops only when the host ring/FIFO is full), the formats byte for
//! byte, tx frames unchanged, events for every command, counters and interrupts.
use ddpnic_hdl::core::harness::{build, Readiness, Rng, World};
use ddpnic_hdl::core::{verilog, CoreParams, SidebandPorts, RX_LATENCY};
use ddpnic_regmap::{self as rm, Access, Event, RxCompletion, TxDesc};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn binary() -> PathBuf {
    static BUILT: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut b = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if b.is_none() {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ddpnic_core");
        *b = Some(build(&dir, &verilog(&CoreParams::default()), SidebandPorts::None).unwrap_or_else(|e| panic!("{e}")));
    }
    b.clone().unwrap()
}

fn random_frame(rng: &mut Rng, min: usize, max: usize) -> Vec<u8> {
    let n = min + rng.below((max - min + 1) as u64) as usize;
    (0..n).map(|_| rng.next() as u8).collect()
}

// ---- The host side of the rx ring, from the regmap contract.
struct RxRing {
    slot_base: u64,
    cpl_base: u64,
    size_log2: u32,
    slot_log2: u32,
    cons: u16,
}

impl RxRing {
    fn setup(w: &mut World, slot_base: u64, cpl_base: u64, size_log2: u32, slot_log2: u32) -> Self {
        w.setup_rx_ring(slot_base, cpl_base, size_log2, slot_log2);
        Self { slot_base, cpl_base, size_log2, slot_log2, cons: 0 }
    }

    /// The next completion if the NIC has written it (phase), with the frame rebuilt.
    fn poll(&mut self, w: &World) -> Option<(RxCompletion, [u8; 64], Vec<u8>)> {
        let a = rm::rx_cpl_addr(self.cpl_base, self.size_log2, self.cons);
        let raw: [u8; 64] = w.mem.read_bytes(a, 64).try_into().unwrap();
        let c = RxCompletion::decode(&raw);
        if c.phase != rm::phase(self.size_log2, self.cons) {
            return None;
        }
        let slot = rm::rx_slot_addr(self.slot_base, self.slot_log2, self.size_log2, self.cons);
        let frame = w.mem.read_bytes(slot, c.frame_len as usize);
        // Zero the completion's phase source so a stale entry is never mistaken on the next pass.
        self.cons = self.cons.wrapping_add(1);
        Some((c, raw, frame))
    }
}

fn expected_completion(frame_len: usize, fcs_bad: bool, index: u16, size_log2: u32) -> RxCompletion {
    RxCompletion {
        frame_len: frame_len as u16,
        slot_bytes: frame_len as u16,
        fcs_bad,
        index,
        phase: rm::phase(size_log2, index),
        ..Default::default()
    }
}

#[test]
fn registers_are_discoverable_and_match_the_regmap() {
    let mut w = World::new(&binary(), 1);
    // Walk the block chain.
    let mut at = 0u16;
    let mut seen = Vec::new();
    loop {
        let (t, v, next) = (w.read32(at), w.read32(at + 4), w.read32(at + 8));
        let b = rm::BLOCKS.iter().find(|b| b.base == at).unwrap_or_else(|| panic!("no block at 0x{at:x}"));
        assert_eq!((t, v), (b.type_id, b.version), "block {}", b.name);
        assert_eq!(w.read32(at + 12), 0, "reserved header word");
        seen.push(b.name);
        if next == 0 {
            break;
        }
        assert!(next > at as u32, "chain goes forward");
        at = next as u16;
    }
    assert_eq!(seen, rm::BLOCKS.iter().map(|b| b.name).collect::<Vec<_>>());
    // Every register: values after reset, read/write masks.
    let mut rng = Rng::new(7);
    for r in rm::flat() {
        let got = w.read32(r.addr);
        match r.access {
            Access::Ro => assert_eq!(got, if r.name == "BUILD" { CoreParams::default().build } else { r.reset }, "{} after reset", r.name),
            _ => assert_eq!(got, r.reset, "{} after reset", r.name),
        }
        let skip = r.name.ends_with("_CTRL") || r.name == "CMD_OP";
        if r.access == Access::Rw && !skip {
            let v = rng.next() as u32;
            w.write32(r.addr, v);
            let mask = if r.bits == 32 { u32::MAX } else { (1u32 << r.bits) - 1 };
            let expect = if r.name == "ENABLE" { v & mask & w.reg("CAPS") } else { v & mask };
            assert_eq!(w.read32(r.addr), expect, "{} read back", r.name);
        }
        if r.access == Access::Ro {
            w.write32(r.addr, 0xFFFF_FFFF);
            assert_eq!(w.read32(r.addr), got, "{} is read-only", r.name);
        }
    }
    // Unmapped offsets read 0; partial-strobe writes are ignored.
    for a in [0x00F0u16, 0x0238, 0x0FF0, 0x4000, 0xFFFC] {
        assert_eq!(w.read32(a), 0, "unmapped 0x{a:x}");
    }
    assert_eq!(rm::addr("SCRATCH") % 4, 0);
    w.set("SCRATCH", 0x1234_5678);
    assert_eq!(w.reg("SCRATCH"), 0x1234_5678);
    assert_eq!(w.reg("MAGIC"), rm::MAGIC);
    assert!(w.mem.errors.is_empty());
}

#[test]
fn regmap_doc_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("regmap/REGMAP.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != rm::markdown() {
        std::fs::write(&path, rm::markdown()).unwrap();
        panic!("hdl/regmap/REGMAP.md was stale and has been rewritten: commit it");
    }
}

/// Frames of random sizes (60 .. 2 KiB, some with a bad FCS), random AXI write readiness,
/// the host consuming: every frame arrives whole, in order, with its completion exactly as
/// the contract says; longer-than-slot frames are dropped and counted; counters and irqs.
#[test]
fn rx_frames_reach_the_ring_whole_and_in_order() {
    let mut w = World::new(&binary(), 2);
    w.ready = Readiness { aw: 70, w: 75, ..Default::default() };
    w.set("IRQ_ENABLE", rm::irq::RX_COMPLETION);
    let mut ring = RxRing::setup(&mut w, 0x1_0000_0000, 0x2_0000_3000 - 0x3000 + 0x1000, 4, 11);
    let mut rng = Rng::new(3);
    let mut sent = Vec::new();
    let (mut oversize, mut bytes, mut fcs_bad) = (0u64, 0u64, 0u64);
    for i in 0..120 {
        let frame = if i % 37 == 5 { random_frame(&mut rng, 2049, 4000) } else { random_frame(&mut rng, 60, 2048) };
        let bad = rng.chance(10);
        w.send_frame(&frame, bad);
        for _ in 0..rng.below(4) + 2 * frame.len().div_ceil(64) as u64 {
            w.rx_queue.push_back(Default::default());
        }
        bytes += frame.len() as u64;
        fcs_bad += bad as u64;
        if frame.len() > 2048 {
            oversize += 1;
        } else {
            sent.push((frame, bad));
        }
    }
    let mut got = 0usize;
    let mut idx = 0u16;
    w.run_until(200_000, |w| {
        while let Some((c, raw, frame)) = ring.poll(w) {
            let (f, bad) = &sent[got];
            let exp = expected_completion(f.len(), *bad, idx, ring.size_log2);
            assert_eq!(c, exp, "completion {got}");
            assert_eq!(raw, exp.encode(), "completion {got} bytes");
            assert!(frame == *f, "frame {got}: slot data differs");
            got += 1;
            idx = idx.wrapping_add(1);
        }
        // The host hands completions back every few cycles.
        if rng.chance(20) && w.rx_queue.is_empty() || rng.chance(3) {
            let cons = ring.cons as u32;
            w.set("RX_CONS", cons);
        }
        got == sent.len()
    });
    w.set("RX_CONS", ring.cons as u32);
    assert_eq!(w.reg("RX_PROD"), sent.len() as u32);
    assert_eq!(w.counter("rx_frames"), 120);
    assert_eq!(w.counter("rx_bytes"), bytes);
    assert_eq!(w.counter("rx_completions"), sent.len() as u64);
    assert_eq!(w.counter("rx_drop_oversize"), oversize);
    assert_eq!(w.counter("rx_drop_ring_full"), 0);
    assert_eq!(w.counter("rx_fcs_bad"), fcs_bad);
    assert_eq!(w.irqs, sent.len() as u64);
    // Bursts: slot data in runs of whole beats, never across 4 KiB (checked per burst).
    assert!(w.write_bursts.iter().any(|b| b.1 > 1));
    assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);
}

/// The host stops consuming: the ring fills, the frame FIFO absorbs what it can, then whole
/// frames are dropped and counted. When the host resumes, the buffered frames follow in
/// order; every delivered frame is whole; drops + deliveries = frames sent. Frames sent while
/// the ring is disabled are dropped and counted too.
#[test]
fn rx_full_ring_drops_whole_frames_only() {
    let mut w = World::new(&binary(), 4);
    w.ready = Readiness { aw: 90, w: 90, ..Default::default() };
    // Disabled ring: dropped.
    let mut rng = Rng::new(5);
    for _ in 0..3 {
        let f = random_frame(&mut rng, 60, 300);
        w.send_frame(&f, false);
    }
    w.run(100 + RX_LATENCY as u64);
    assert_eq!(w.counter("rx_drop_ring_full"), 3);
    let mut ring = RxRing::setup(&mut w, 0x8000_0000, 0x9000_0000, 2, 11);
    let mut sent = Vec::new();
    for _ in 0..150 {
        let f = random_frame(&mut rng, 60, 1514);
        w.send_frame(&f, false);
        sent.push(f);
    }
    w.run_until(100_000, |w| w.rx_queue.is_empty());
    w.run(2000);
    assert_eq!(w.reg("RX_PROD"), 4, "a full ring takes no more completions");
    let dropped_while_full = w.counter("rx_drop_ring_full") - 3;
    assert!(dropped_while_full > 0, "150 frames must overflow a 4-entry ring and a 32 KiB FIFO");
    // Resume consuming.
    let mut delivered = Vec::new();
    w.run_until(100_000, |w| {
        while let Some((c, _, frame)) = ring.poll(w) {
            assert_eq!(c.frame_len as usize, frame.len());
            assert_eq!(c.index, delivered.len() as u16);
            delivered.push(frame);
        }
        let cons = ring.cons as u32;
        w.set("RX_CONS", cons);
        delivered.len() as u64 + dropped_while_full == sent.len() as u64
    });
    // Delivered frames: an in-order subsequence of the sent ones, each whole.
    let mut it = sent.iter();
    for (k, d) in delivered.iter().enumerate() {
        assert!(it.any(|s| s == d), "delivered frame {k} is not the next sent frame (or not whole)");
    }
    assert_eq!(w.counter("rx_completions"), delivered.len() as u64);
    assert!(delivered.len() > 4 + 20, "the FIFO buffered frames while the ring was full ({} delivered)", delivered.len());
    assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);
}

/// tx: frames of 1 .. 9000 bytes at 64-byte aligned addresses near 4 KiB boundaries, two bad
/// descriptors, random read latency and MAC backpressure: sent unchanged and in order,
/// TX_CONS and the completion record follow, reads never cross 4 KiB.
#[test]
fn tx_frames_are_fetched_and_sent_unchanged() {
    let mut w = World::new(&binary(), 6);
    w.ready = Readiness { ar: 60, r: 70, tx: 60, aw: 80, w: 80 };
    w.read_latency = 30;
    w.set("IRQ_ENABLE", rm::irq::TX_COMPLETION);
    let (desc_base, cpl, bufs) = (0x4000_0000u64, 0x4100_0040u64, 0x5000_0000u64);
    w.mem.writable.push((cpl, 64, "tx completion record".into()));
    w.set("TX_DESC_BASE_LO", desc_base as u32);
    w.set("TX_DESC_BASE_HI", 0);
    w.set("TX_CPL_ADDR_LO", cpl as u32);
    w.set("TX_CPL_ADDR_HI", 0);
    w.set("TX_SIZE_LOG2", 3);
    w.set("TX_CTRL", 1);
    let mut rng = Rng::new(9);
    let mut expect = Vec::new();
    let (mut prod, mut bytes, mut bad) = (0u16, 0u64, 0u64);
    for i in 0..40u64 {
        // Wait for a free descriptor.
        w.run_until(200_000, |w| prod.wrapping_sub(w.reg("TX_CONS") as u16) < 8);
        let len = match i {
            7 => 0,
            13 => 20_000,
            _ if i % 5 == 0 => 9000,
            _ => 1 + rng.below(2000) as usize,
        };
        let addr = bufs + i * 0x8000 + 64 * rng.below(64) + if i % 3 == 0 { 0xFC0 } else { 0 };
        let frame: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        w.mem.write_bytes(addr, &frame);
        let d = TxDesc { addr, len: len as u16 };
        w.mem.write_bytes(desc_base + 16 * (prod as u64 % 8), &d.encode());
        if (1..=rm::MAX_FRAME as usize).contains(&len) {
            expect.push(frame);
            bytes += len as u64;
        } else {
            bad += 1;
        }
        prod = prod.wrapping_add(1);
        w.set("TX_PROD", prod as u32);
    }
    w.run_until(400_000, |w| w.reg("TX_CONS") == prod as u32 && w.tx_frames.len() == expect.len());
    w.run(50);
    assert_eq!(w.tx_frames.len(), expect.len());
    for (k, (f, user)) in w.tx_frames.iter().enumerate() {
        assert!(!user, "frame {k} aborted");
        assert!(*f == expect[k], "tx frame {k} differs ({} vs {} bytes)", f.len(), expect[k].len());
    }
    assert_eq!(u32::from_le_bytes(w.mem.read_bytes(cpl, 4).try_into().unwrap()), prod as u32, "completion record");
    assert_eq!(w.counter("tx_frames"), expect.len() as u64);
    assert_eq!(w.counter("tx_bytes"), bytes);
    assert_eq!(w.counter("tx_bad_desc"), bad);
    // One irq per completion record written; records coalesce when frames finish back to back.
    let records = w.write_bursts.iter().filter(|b| b.0 == cpl).count() as u64;
    assert!((1..=40).contains(&records) && w.irqs == records, "{records} records, {} irqs", w.irqs);
    assert!(w.read_bursts.iter().any(|b| b.1 == 64), "full 4 KiB bursts");
    assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);
}

/// Commands through the window: one event per command (none for TAG_ENTRY and RESYNC), with
/// kind, status (unsupported: no offload engine yet), token, arg, index and phase; a full
/// event ring stalls the window (CMD_STATUS busy) until the host consumes; counters.
#[test]
fn commands_answer_through_the_event_ring() {
    let mut w = World::new(&binary(), 8);
    w.ready = Readiness { aw: 60, w: 60, ..Default::default() };
    w.set("IRQ_ENABLE", rm::irq::EVENT);
    let base = 0x7000_0000u64;
    w.mem.writable.push((base, 4 * 16, "event ring".into()));
    w.set("EV_BASE_LO", base as u32);
    w.set("EV_SIZE_LOG2", 2);
    w.set("EV_CTRL", 1);
    let (mut cons, mut produced) = (0u16, 0u16);
    let mut expect: Vec<Event> = Vec::new();
    let cmds: Vec<(u32, u32)> = (0..30).map(|i| ([rm::op::FLOW_ADD, rm::op::TAG_SETUP, rm::op::TAG_ENTRY, rm::op::TAG_TEARDOWN, rm::op::FLOW_DEL, rm::op::RESYNC, 0x77][i % 7], 100 + i as u32)).collect();
    let mut counts = [0u64; 8];
    let check = |w: &mut World, cons: &mut u16, expect: &mut Vec<Event>| {
        loop {
            let a = base + 16 * (*cons as u64 % 4);
            let e = Event::decode(&w.mem.read_bytes(a, 16).try_into().unwrap());
            if e.phase != rm::phase(2, *cons) {
                break;
            }
            let want = expect.remove(0);
            assert_eq!(e, want, "event {cons}");
            *cons = cons.wrapping_add(1);
        }
        w.set("EV_CONS", *cons as u32);
    };
    for (k, &(op, arg)) in cmds.iter().enumerate() {
        let token = 0x5000 + k as u16;
        w.set("CMD_ARG0", arg);
        w.set("CMD_OP", (token as u32) << 16 | op);
        let ev = match op {
            rm::op::FLOW_ADD => Some(rm::ev::FLOW_ADD),
            rm::op::FLOW_DEL => Some(rm::ev::FLOW_DEL),
            rm::op::TAG_SETUP => Some(rm::ev::SETUP),
            rm::op::TAG_TEARDOWN => Some(rm::ev::TEARDOWN_DONE),
            rm::op::TAG_ENTRY | rm::op::RESYNC => None,
            _ => Some(rm::ev::CMD_ERROR),
        };
        if let Some(kind) = ev {
            counts[kind as usize] += 1;
            let (status, arg) = if kind == rm::ev::CMD_ERROR { (rm::ev_status::BAD_OPCODE, op) } else { (rm::ev_status::UNSUPPORTED, arg) };
            expect.push(Event { kind, status, token, arg, index: produced, phase: rm::phase(2, produced), });
            produced = produced.wrapping_add(1);
        }
        // Let the ring fill up for the first commands, then consume as we go.
        if k >= 8 {
            w.run(20);
            check(&mut w, &mut cons, &mut expect);
        } else if k == 7 {
            // 6 events so far on a 4-entry ring: the 5th waits in the engine, the 6th command in
            // the window, which is busy.
            w.run(50);
            assert_eq!(w.reg("EV_PROD"), 4);
            assert_eq!(w.reg("CMD_STATUS") & 1, 1, "busy while the ring is full");
            check(&mut w, &mut cons, &mut expect);
        }
    }
    w.run(100);
    check(&mut w, &mut cons, &mut expect);
    assert!(expect.is_empty(), "events missing: {expect:?}");
    assert_eq!(w.reg("EV_PROD"), produced as u32);
    assert_eq!(w.counter("events"), produced as u64);
    assert_eq!(w.counter("rx_nvme_tcp_sk_add_fail"), counts[rm::ev::FLOW_ADD as usize]);
    assert_eq!(w.counter("rx_nvme_tcp_setup_fail"), counts[rm::ev::SETUP as usize]);
    assert_eq!(w.counter("rx_nvme_tcp_sk_add"), 0);
    assert_eq!(w.counter("rx_nvme_tcp_teardown"), 0);
    assert_eq!(w.irqs, produced as u64);
    assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);
}

/// Throughput of the rx ring writer with a host that keeps up, frames paced as on a 100 GbE
/// wire (`core::bench`): 256 bytes and more arrive with no drop at the wire's rate (64-byte
/// frames need two write beats, data and completion, in 1.76 cycles: they cannot, and lose
/// some frames, counted).
#[test]
fn rx_keeps_up_with_100g_pacing() {
    for len in [64usize, 256, 512, 1500, 4000, 9000] {
        let r = ddpnic_hdl::core::bench::rx_line_rate(&binary(), len);
        println!("{}", r.json());
        if len >= 256 {
            assert_eq!(r.dropped, 0, "{len}-byte frames at 100 GbE pacing");
            assert!(r.cycles_per_frame < r.wire_cycles_per_frame * 1.02, "{len}-byte frames: {r:?}");
        }
    }
}

/// AXI error responses: a tx frame whose buffer reads back SLVERR is sent with tuser (abort)
/// on its last beat and counted; later frames are unaffected; write errors are counted.
#[test]
fn axi_errors_abort_tx_frames_and_are_counted() {
    let mut w = World::new(&binary(), 30);
    let (desc_base, cpl, bufs) = (0x6000_0000u64, 0x6100_0000u64, 0x6200_0000u64);
    w.mem.writable.push((cpl, 64, "tx completion record".into()));
    w.set("TX_DESC_BASE_LO", desc_base as u32);
    w.set("TX_CPL_ADDR_LO", cpl as u32);
    w.set("TX_SIZE_LOG2", 2);
    w.set("TX_CTRL", 1);
    w.bad_read_pages.push((bufs + 0x1000) >> 12);
    w.write_errors_to_inject = 2;
    let mut rng = Rng::new(31);
    let mut frames = Vec::new();
    for i in 0..3u64 {
        let addr = bufs + i * 0x1000;
        let f: Vec<u8> = (0..1000).map(|_| rng.next() as u8).collect();
        w.mem.write_bytes(addr, &f);
        w.mem.write_bytes(desc_base + 16 * i, &TxDesc { addr, len: 1000 }.encode());
        frames.push(f);
    }
    w.set("TX_PROD", 3);
    w.run_until(20_000, |w| w.tx_frames.len() == 3 && w.reg("TX_CONS") == 3);
    w.run(50);
    let users: Vec<bool> = w.tx_frames.iter().map(|f| f.1).collect();
    assert_eq!(users, [false, true, false], "only the frame read with errors is aborted");
    assert!(w.tx_frames[0].0 == frames[0] && w.tx_frames[2].0 == frames[2]);
    assert_eq!(w.counter("dma_read_errors"), 16, "one per erroneous read beat");
    assert_eq!(w.counter("dma_write_errors"), 2);
    assert_eq!(w.counter("tx_frames"), 3);
}

/// Everything at once, with random AXI readiness: rx frames, tx frames and commands compete
/// for the write arbiter; every rx frame, tx frame and event arrives intact and in order.
#[test]
fn rx_tx_and_events_share_the_dma_without_loss() {
    let mut w = World::new(&binary(), 40);
    w.ready = Readiness { aw: 50, w: 60, ar: 60, r: 60, tx: 70 };
    w.set("IRQ_ENABLE", 7);
    let mut rx = RxRing::setup(&mut w, 0x1_1000_0000, 0x1_2000_0000, 3, 11);
    let (ev_base, desc_base, tx_cpl, bufs) = (0x1_3000_0000u64, 0x1_4000_0000u64, 0x1_5000_0000u64, 0x1_6000_0000u64);
    w.mem.writable.push((ev_base, 8 * 16, "event ring".into()));
    w.mem.writable.push((tx_cpl, 64, "tx completion record".into()));
    w.set("EV_BASE_LO", ev_base as u32);
    w.set("EV_BASE_HI", 1);
    w.set("EV_SIZE_LOG2", 3);
    w.set("EV_CTRL", 1);
    w.set("TX_DESC_BASE_LO", desc_base as u32);
    w.set("TX_DESC_BASE_HI", 1);
    w.set("TX_CPL_ADDR_LO", tx_cpl as u32);
    w.set("TX_CPL_ADDR_HI", 1);
    w.set("TX_SIZE_LOG2", 4);
    w.set("TX_CTRL", 1);
    let mut rng = Rng::new(41);
    let mut rx_sent = Vec::new();
    for _ in 0..60 {
        let f = random_frame(&mut rng, 60, 1514);
        w.send_frame(&f, false);
        for _ in 0..f.len().div_ceil(64) * 3 {
            w.rx_queue.push_back(Default::default());
        }
        rx_sent.push(f);
    }
    let mut tx_sent = Vec::new();
    for i in 0..16u64 {
        let f = random_frame(&mut rng, 1, 3000);
        let addr = bufs + i * 0x2000;
        w.mem.write_bytes(addr, &f);
        w.mem.write_bytes(desc_base + 16 * i, &TxDesc { addr, len: f.len() as u16 }.encode());
        tx_sent.push(f);
    }
    w.set("TX_PROD", 16);
    let (mut rx_got, mut ev_cons, mut cmds, mut events) = (0usize, 0u16, 0u32, 0u32);
    w.run_until(300_000, |w| {
        while let Some((_, _, frame)) = rx.poll(w) {
            assert!(frame == rx_sent[rx_got], "rx frame {rx_got}");
            rx_got += 1;
        }
        let cons = rx.cons as u32;
        w.set("RX_CONS", cons);
        loop {
            let e = Event::decode(&w.mem.read_bytes(ev_base + 16 * (ev_cons as u64 % 8), 16).try_into().unwrap());
            if e.phase != rm::phase(3, ev_cons) {
                break;
            }
            assert_eq!((e.kind, e.token, e.index), (rm::ev::FLOW_ADD, ev_cons, ev_cons), "event {ev_cons}");
            ev_cons = ev_cons.wrapping_add(1);
            events += 1;
        }
        w.set("EV_CONS", ev_cons as u32);
        if cmds < 40 && w.reg("CMD_STATUS") & 1 == 0 {
            w.set("CMD_OP", cmds << 16 | rm::op::FLOW_ADD);
            cmds += 1;
        }
        rx_got == rx_sent.len() && w.tx_frames.len() == tx_sent.len() && events == 40
    });
    for (k, (f, user)) in w.tx_frames.iter().enumerate() {
        assert!(!user && *f == tx_sent[k], "tx frame {k}");
    }
    assert_eq!(w.counter("rx_drop_ring_full"), 0);
    assert_eq!(w.counter("rx_nvme_tcp_sk_add_fail"), 40);
    w.run(100);
    let records = w.write_bursts.iter().filter(|b| b.0 == tx_cpl).count() as u64;
    assert_eq!(w.irqs, 60 + records + 40);
    assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);
}

/// Transmit rate: printed, and bounded by one descriptor-line round trip plus the data per
/// frame (lines of four descriptors and the frames' reads overlap).
#[test]
fn tx_rate_with_read_latency() {
    for latency in [0u64, 200] {
        for len in [64usize, 1500] {
            let c = ddpnic_hdl::core::bench::tx_cycles_per_frame(&binary(), len, latency);
            println!("{{\"tx_frame_bytes\": {len}, \"read_latency\": {latency}, \"cycles_per_frame\": {c:.1}}}");
            assert!(c < (latency / 2 + len.div_ceil(64) as u64 + 16) as f64, "{len} B at latency {latency}: {c} cycles");
        }
    }
}

/// Ring geometry corners: 1 entry (phase flips every frame), 2 entries, 32768 entries, every
/// slot size; each with frames up to the slot size and AXI stalls.
#[test]
fn rx_ring_geometries() {
    for (k, &(size_log2, slot_log2)) in [(0u32, 14u32), (1, 12), (15, 11), (3, 13)].iter().enumerate() {
        let mut w = World::new(&binary(), 50 + k as u64);
        w.ready = Readiness { aw: 70, w: 70, ..Default::default() };
        let mut ring = RxRing::setup(&mut w, 0x7_0000_0000, 0x7_8000_0000, size_log2, slot_log2);
        let mut rng = Rng::new(60 + k as u64);
        let sent: Vec<Vec<u8>> = (0..20).map(|_| random_frame(&mut rng, 60, 1 << slot_log2)).collect();
        for f in &sent {
            w.send_frame(f, false);
            for _ in 0..f.len().div_ceil(64) * 2 {
                w.rx_queue.push_back(Default::default());
            }
        }
        let mut got = 0usize;
        w.run_until(200_000, |w| {
            while let Some((c, raw, frame)) = ring.poll(w) {
                let exp = expected_completion(sent[got].len(), false, got as u16, size_log2);
                assert_eq!(raw, exp.encode(), "ring 2^{size_log2}, slot 2^{slot_log2}: completion {got} ({c:?})");
                assert!(frame == sent[got], "ring 2^{size_log2}: frame {got}");
                got += 1;
            }
            let cons = ring.cons as u32;
            w.set("RX_CONS", cons);
            got == sent.len()
        });
        assert_eq!(w.counter("rx_drop_ring_full") + w.counter("rx_drop_oversize"), 0);
        assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);
    }
}

/// Disabling and re-enabling a ring restarts it: PROD and CONS read 0, the next frame goes to
/// slot 0 with phase 1 (the host clears the completion ring before re-enabling).
#[test]
fn rx_ring_restart() {
    let mut w = World::new(&binary(), 70);
    let mut ring = RxRing::setup(&mut w, 0x9_0000_0000, 0x9_1000_0000, 2, 11);
    let mut rng = Rng::new(71);
    for _ in 0..3 {
        let f = random_frame(&mut rng, 60, 500);
        w.send_frame(&f, false);
    }
    w.run_until(10_000, |w| w.reg("RX_PROD") == 3);
    w.set("RX_CTRL", 0);
    w.mem.write_bytes(0x9_1000_0000, &[0u8; 256]);
    w.set("RX_CTRL", 1);
    assert_eq!((w.reg("RX_PROD"), w.reg("RX_CONS")), (0, 0));
    ring.cons = 0;
    let f = random_frame(&mut rng, 60, 500);
    w.send_frame(&f, false);
    w.run_until(10_000, |w| w.reg("RX_PROD") == 1);
    let (c, _, frame) = ring.poll(&w).expect("a completion at entry 0");
    assert_eq!((c.index, c.phase), (0, true));
    assert!(frame == f);
}
