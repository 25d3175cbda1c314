//! The `ddp` layer when the NIC has the offload (CAPS nonzero), against a stand-in core that
//! answers the command window the way hdl/regmap/REGMAP.md specifies (events on the event
//! ring with the phase bit, TAG_SETUP followed by its TAG_ENTRY commands, TEARDOWN_DONE) and
//! records every command, so the arguments can be checked against the register map's
//! definition and the RSS hash (checked on its own against the RSS verification suite in
//! tests/sim_nic.rs). The real core answers UNSUPPORTED today (tests/sim_nic.rs).
use ddpnic::ddp::ulp::{NicOffload, QueueInfo, UlpOffload};
use ddpnic::ddp::{rx_tuple, Caps, Ddp, DdpError, SglEntry, SkConfig};
use ddpnic::nic::{NicDriver, RingConfig, RxPacket};
use ddpnic::pci::mem::MemDevice;
use ddpnic::pci::{Device, DmaBuffer, Result};
use ddpnic_regmap as rm;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// BAR0 from the register map's reset values, a command window that answers.
struct StandIn {
    regs: Mutex<HashMap<u64, u32>>,
    mem: MemDevice,
    /// every command: (opcode, ARG0..ARG12)
    log: Mutex<Vec<(u32, Vec<u32>)>>,
    /// status to answer per opcode (default OK)
    refuse: Mutex<HashMap<u32, u8>>,
    /// TAG_SETUP waiting for its entries: (tag, entries left)
    pending_setup: Mutex<Option<(u32, u32, u16)>>,
    ev_prod: Mutex<u16>,
}

impl StandIn {
    fn new(caps: u32) -> StandIn {
        let mut regs: HashMap<u64, u32> = rm::flat().into_iter().map(|r| (u64::from(r.addr), r.reset)).collect();
        regs.insert(u64::from(rm::addr("CAPS")), caps);
        StandIn { regs: Mutex::new(regs), mem: MemDevice::new(4096), log: Mutex::default(), refuse: Mutex::default(), pending_setup: Mutex::default(), ev_prod: Mutex::new(0) }
    }

    fn reg(&self, name: &str) -> u32 {
        *self.regs.lock().unwrap().get(&u64::from(rm::addr(name))).unwrap_or(&0)
    }

    fn event(&self, kind: u8, opcode: u32, token: u16, arg: u32) {
        let status = *self.refuse.lock().unwrap().get(&opcode).unwrap_or(&rm::ev_status::OK);
        let base = u64::from(self.reg("EV_BASE_LO")) | u64::from(self.reg("EV_BASE_HI")) << 32;
        let log2 = self.reg("EV_SIZE_LOG2");
        let mut prod = self.ev_prod.lock().unwrap();
        let e = rm::Event { kind, status, token, arg, index: *prod, phase: rm::phase(log2, *prod) };
        let at = base + 16 * (u64::from(*prod) & ((1 << log2) - 1));
        // SAFETY: the event ring is a DmaBuffer of MemDevice, whose IOVA is its address.
        unsafe { std::ptr::copy_nonoverlapping(e.encode().as_ptr(), at as *mut u8, 16) };
        *prod = prod.wrapping_add(1);
    }

    fn commands(&self, opcode: u32) -> Vec<Vec<u32>> {
        self.log.lock().unwrap().iter().filter(|c| c.0 == opcode).map(|c| c.1.clone()).collect()
    }
}

impl Device for StandIn {
    fn bar0_len(&self) -> u64 {
        0x1_0000
    }
    fn read32(&self, offset: u64) -> Result<u32> {
        Ok(*self.regs.lock().unwrap().get(&offset).unwrap_or(&0))
    }
    fn write32(&self, offset: u64, value: u32) -> Result<()> {
        if offset == u64::from(rm::addr("ENABLE")) {
            let v = value & self.reg("CAPS");
            self.regs.lock().unwrap().insert(offset, v);
            return Ok(());
        }
        self.regs.lock().unwrap().insert(offset, value);
        if offset != u64::from(rm::addr("CMD_OP")) {
            return Ok(());
        }
        let (opcode, token) = (value & 0xff, (value >> 16) as u16);
        let args: Vec<u32> = (0..13).map(|i| self.reg(&format!("CMD_ARG{i}"))).collect();
        self.log.lock().unwrap().push((opcode, args.clone()));
        match opcode {
            rm::op::FLOW_ADD => self.event(rm::ev::FLOW_ADD, opcode, token, args[0]),
            rm::op::FLOW_DEL => self.event(rm::ev::FLOW_DEL, opcode, token, args[0]),
            rm::op::TAG_SETUP => *self.pending_setup.lock().unwrap() = Some((args[0], args[4], token)),
            rm::op::TAG_ENTRY => {
                let mut p = self.pending_setup.lock().unwrap();
                let (tag, left, tok) = p.expect("TAG_ENTRY without TAG_SETUP");
                *p = (left > 1).then_some((tag, left - 1, tok));
                if left == 1 {
                    drop(p);
                    self.event(rm::ev::SETUP, rm::op::TAG_SETUP, tok, tag);
                }
            }
            rm::op::TAG_TEARDOWN => self.event(rm::ev::TEARDOWN_DONE, opcode, token, args[0]),
            rm::op::RESYNC => {}
            _ => self.event(rm::ev::CMD_ERROR, opcode, token, opcode),
        }
        Ok(())
    }
    fn alloc_dma(&self, len: usize) -> Result<DmaBuffer> {
        self.mem.alloc_dma(len)
    }
    fn describe(&self) -> String {
        "stand-in core".into()
    }
}

fn setup(caps: u32) -> (Arc<StandIn>, Ddp<Arc<StandIn>>) {
    let dev = Arc::new(StandIn::new(caps));
    let drv = NicDriver::start(dev.clone(), RingConfig { rx_log2: 3, slot_log2: 11, tx_log2: 2, event_log2: 3 }).unwrap();
    let ddp = Ddp::new(Arc::new(Mutex::new(drv))).unwrap();
    (dev, ddp)
}

fn sk(local: &str, remote: &str) -> SkConfig {
    SkConfig { local: local.parse().unwrap(), remote: remote.parse().unwrap(), hdgst: true, ddgst: true, cpda: 3, pfv: 0, queue_size: 33, rcv_nxt: 0xfeed_f00d }
}

#[test]
fn sk_add_setup_teardown_resync_follow_the_regmap() {
    let all = rm::caps::NVME_TCP_DDP | rm::caps::NVME_TCP_DDGST_RX;
    let (dev, ddp) = setup(all);
    assert_eq!(ddp.set_caps(Caps::ALL).unwrap(), Caps::ALL);

    // sk_add: the slot is {set, way}, set = low bits of the RSS hash of the received tuple
    let cfg = sk("10.0.2.2:50001", "10.0.2.15:4420");
    let sets = rm::FLOW_CAPACITY / 4;
    let set = rm::rss::hash(&rx_tuple(cfg.local, cfg.remote)) & (sets - 1);
    let flows: Vec<u16> = (0..4).map(|_| ddp.sk_add(&cfg).unwrap().0).collect();
    assert_eq!(flows, (0..4).map(|w| (set * 4 + w) as u16).collect::<Vec<_>>(), "four ways of one set");
    assert!(matches!(ddp.sk_add(&cfg), Err(DdpError::Limit(_))), "a full set must fail sk_add");
    let a = &dev.commands(rm::op::FLOW_ADD)[0];
    assert_eq!(a[1], 1 << 1 | 1 << 2 | 3 << 8, "flags: HDGST, DDGST, CPDA");
    assert_eq!((a[2], a[3]), (33, 0xfeed_f00d));
    assert_eq!(a[4], 50001 | 4420 << 16, "local port low, remote port high");
    assert_eq!(a[5].to_le_bytes(), [10, 0, 2, 2], "local IP, byte 0 in bits 7:0");
    assert_eq!(a[9].to_le_bytes(), [10, 0, 2, 15], "remote IP");
    ddp.sk_del(ddpnic::ddp::Flow(flows[3])).unwrap();
    assert_eq!(ddp.sk_add(&cfg).unwrap().0, flows[3], "a deleted slot is free again");

    // setup: TAG_SETUP then one TAG_ENTRY per SGL entry, answered by SETUP
    let sgl = [SglEntry { addr: 0x1_2345_6000, len: 4096 }, SglEntry { addr: 0x2_0000_0000, len: 100 }];
    let tag = ddp.setup(ddpnic::ddp::Flow(flows[0]), 0xbeef, &sgl).unwrap();
    let s = &dev.commands(rm::op::TAG_SETUP)[0];
    assert_eq!((s[0], s[1], s[2], s[4]), (u32::from(tag.0), u32::from(flows[0]), 0xbeef, 2));
    let e = dev.commands(rm::op::TAG_ENTRY);
    assert_eq!(e.iter().map(|e| (e[0], e[1], e[2])).collect::<Vec<_>>(), [(0x2345_6000, 1, 4096), (0, 2, 100)]);
    ddp.teardown(tag).unwrap();
    assert_eq!(dev.commands(rm::op::TAG_TEARDOWN)[0][0], u32::from(tag.0));

    // a refused setup is an error (the I/O runs in software) and gives its tag back
    dev.refuse.lock().unwrap().insert(rm::op::TAG_SETUP, 3);
    let before = ddp.stats();
    assert!(matches!(ddp.setup(ddpnic::ddp::Flow(flows[0]), 1, &sgl[..1]), Err(DdpError::Refused { status: 3, .. })));
    assert_eq!(ddp.stats().setup_fail, before.setup_fail + 1);
    dev.refuse.lock().unwrap().clear();

    ddp.resync(ddpnic::ddp::Flow(flows[1]), 777, true).unwrap();
    assert_eq!(dev.commands(rm::op::RESYNC)[0][..3], [u32::from(flows[1]), 777, 1]);
    let s = ddp.stats();
    assert_eq!((s.sk_add, s.sk_add_fail, s.sk_del, s.setup, s.teardown, s.resync_confirmed), (5, 1, 1, 1, 1, 1));
}

fn tcp_frame(seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    etherparse::PacketBuilder::ethernet2([2; 6], [4; 6]).ipv4([10, 0, 2, 15], [10, 0, 2, 2], 64).tcp(4420, 50002, seq, 1000).write(&mut f, payload).unwrap();
    f
}

#[test]
fn an_offloaded_queue_places_verifies_resyncs_and_tears_down() {
    let all = rm::caps::NVME_TCP_DDP | rm::caps::NVME_TCP_DDGST_RX;
    let (dev, ddp) = setup(all);
    ddp.set_caps(Caps::ALL).unwrap();
    let off = NicOffload::new(ddp.clone());
    // the ICResp arrives: 128 bytes from sequence 1000
    off.observe(&RxPacket { cpl: Default::default(), frame: tcp_frame(1000, &[0; 128]) });
    let info = QueueInfo {
        qid: 1,
        local: "10.0.2.2:50002".parse().unwrap(),
        remote: "10.0.2.15:4420".parse().unwrap(),
        hdgst: false,
        ddgst: true,
        cpda: 0,
        queue_size: 8,
        stream_position: 128,
    };
    let ulp: Arc<dyn UlpOffload> = Arc::new(off.clone());
    let mut q = ulp.sk_add(&info).expect("offloaded");
    assert_eq!(dev.commands(rm::op::FLOW_ADD)[0][3], 1128, "sk_add carries the next expected sequence number");
    let flow = dev.commands(rm::op::FLOW_ADD)[0][0] as u16;

    // a buffer outside registered DMA memory, or below io_threshold, runs in software
    let mut heap = vec![0u8; 8192];
    assert!(!q.setup(5, &mut heap));
    let mut mem = dev.alloc_dma(16384).unwrap();
    off.register_memory(&mem);
    assert!(!q.setup(5, &mut mem.as_mut_slice()[..rm::IO_THRESHOLD as usize - 1]));
    let iova = mem.iova();
    let buf = &mut mem.as_mut_slice()[4096..12288];
    assert!(q.setup(5, buf));
    assert!(q.is_offloaded(5));
    let e = dev.commands(rm::op::TAG_ENTRY);
    assert_eq!((u64::from(e[0][0]) | u64::from(e[0][1]) << 32, e[0][2]), (iova + 4096, 8192), "the SGL is the buffer's IOVA range");

    // the NIC places 1000 bytes at data offset 0 in a packet with crc_ok: a C2HData PDU at
    // stream positions 128..1156 (24-byte header, data, digest), sequence 1128..2156
    let pdu = 128..1156;
    let mut cpl = rm::RxCompletion { flow_valid: true, flow, crc_ok: true, ranges: 1, frame_len: 1082, ..Default::default() };
    cpl.range[0] = rm::PlacedRange { frame_offset: 78, len: 1000, cid: 5, data_offset: 0 };
    off.observe(&RxPacket { cpl, frame: tcp_frame(1128, &[0; 1028]) });
    assert_eq!(q.placed(5, 0..1000), vec![0..1000]);
    assert!(q.crc_ok(5, 0..1000, pdu.clone()));
    assert_eq!(q.placed(5, 500..1001), vec![500..1000]);
    assert!(!q.crc_ok(5, 0..1001, pdu.clone()), "not every byte placed");
    assert!(off.holds_placed(&cpl.range[0], flow), "the placed range lies in the live buffer");
    let beyond = rm::PlacedRange { data_offset: 8000, len: 193, ..cpl.range[0] };
    assert!(!off.holds_placed(&beyond, flow), "a range past the buffer's end is nowhere the initiator looks");
    assert!(!off.holds_placed(&cpl.range[0], flow + 1), "nor is one of another flow");
    // a retransmission without crc_ok brings no new byte: it vouches for nothing
    let no_crc = rm::RxCompletion { flow_valid: true, flow, crc_ok: false, ..Default::default() };
    off.observe(&RxPacket { cpl: no_crc, frame: tcp_frame(1128, &[0; 1028]) });
    assert!(q.crc_ok(5, 0..1000, pdu.clone()));
    // new bytes without crc_ok (sequence 2156..2256): the PDUs with bytes there go to software,
    // the one before does not
    off.observe(&RxPacket { cpl: no_crc, frame: tcp_frame(2156, &[0; 100]) });
    assert!(q.crc_ok(5, 0..1000, pdu.clone()));
    assert!(!q.crc_ok(5, 0..1000, 1156..1300));
    assert!(!q.crc_ok(5, 0..1000, 1200..1260));

    // resync requests: confirmed at a header exactly there, denied once passed without one
    let seq_at = |pos: u32| 1000u32 + pos; // stream position 0 is sequence 1000
    for s in [seq_at(5000), seq_at(6000)] {
        off.observe(&RxPacket { cpl: rm::RxCompletion { flow_valid: true, flow, crc_ok: true, resync: true, resync_seq: s, ..Default::default() }, frame: vec![0; 60] });
    }
    q.pdu_header(4000);
    assert!(dev.commands(rm::op::RESYNC).is_empty(), "nothing due before the requested sequence");
    q.pdu_header(5000);
    q.pdu_header(6100);
    let r = dev.commands(rm::op::RESYNC);
    assert_eq!(r.iter().map(|c| (c[0] as u16, c[1], c[2])).collect::<Vec<_>>(), [(flow, seq_at(5000), 1), (flow, seq_at(6000), 0)]);

    // teardown: TEARDOWN_DONE, then the buffer is no longer the NIC's
    q.teardown(5);
    assert!(!q.is_offloaded(5));
    assert!(!off.holds_placed(&cpl.range[0], flow), "a torn-down buffer holds nothing");
    q.close();
    assert_eq!(dev.commands(rm::op::FLOW_DEL).len(), 1);
    let s = ddp.stats();
    assert_eq!((s.sk_add, s.setup, s.teardown, s.sk_del, s.resync_confirmed, s.resync_denied, s.below_threshold), (1, 1, 1, 1, 1, 1, 1));
}
