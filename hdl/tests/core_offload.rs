//! The offload side of `ddpnic_core` in Verilator, mostly through a test build that leaves the
//! `pdu_tracker` out (`SidebandPorts::Tracker`): the test plays the tracker, presenting every
//! frame on `f_*` and its stream beats on `t_*` exactly as `receive_model` says the tracker
//! does (`FrameVerdict::stream`), and watches the command engine's flow writes on `c_*`. The
//! `mac_port_*` tests run the whole core instead (the real tracker), frames in at the MAC
//! port, with the same checks.
//!
//! References, all independent of the RTL: the regmap's command and event contract, the
//! placement contract (setup statuses, teardown after the tag's writes), `receive_model` (which
//! bytes are placed, the ranges, crc_ok, the counters), the SGLs the test registered (where
//! each data byte must land), and the wire frames (what the ring + ranges must rebuild).
mod common;

use common::nvme_traffic::{flow, frame};
use common::pdu_stream::{arrivals, Faults};
use ddpnic_hdl::core::harness::{build, FlowWrite, FrameBeat, Readiness, RxIn, StreamBeat, TrackerIn, World};
use ddpnic_hdl::core::{verilog, CoreParams, SidebandPorts, FLOW_DEL_WAIT};
use ddpnic_hdl::flow::flow_table::{FlowTable4096, WAYS};
use ddpnic_hdl::flow::toeplitz::FiveTuple;
use ddpnic_hdl::framing::reference::ByteRole;
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::placement::status;
use ddpnic_hdl::receive_model::{FrameVerdict, ReceiveModel};
use ddpnic_regmap::{self as rm, Event, PlacedRange, RxCompletion};
use rand::{rngs::SmallRng, Rng, SeedableRng};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The Verilated core: `SidebandPorts::Tracker` (the test plays the tracker) or
/// `SidebandPorts::None` (the whole core, frames in at the MAC port); built once each.
fn binary_for(mode: SidebandPorts) -> PathBuf {
    static BUILT: Mutex<Vec<(SidebandPorts, PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = built.iter().find(|(m, _)| *m == mode) {
        return p.clone();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ddpnic_core_offload_{mode:?}"));
    let params = CoreParams { sideband_ports: mode, ..Default::default() };
    let p = build(&dir, &verilog(&params), mode).unwrap_or_else(|e| panic!("{e}"));
    built.push((mode, p.clone()));
    p
}

fn binary() -> PathBuf {
    binary_for(SidebandPorts::Tracker)
}

const EV_BASE: u64 = 0x7000_0000;
const EV_LOG2: u32 = 10;

/// The host's side of the event ring: events in order as they appear.
struct Events {
    cons: u16,
}

impl Events {
    fn setup(w: &mut World) -> Self {
        w.mem.writable.push((EV_BASE, 16 << EV_LOG2, "event ring".into()));
        w.set("EV_BASE_LO", EV_BASE as u32);
        w.set("EV_SIZE_LOG2", EV_LOG2);
        w.set("EV_CTRL", 1);
        Self { cons: 0 }
    }
    fn poll(&mut self, w: &mut World) -> Vec<Event> {
        let mut out = Vec::new();
        loop {
            let a = EV_BASE + 16 * (self.cons as u64 % (1 << EV_LOG2));
            let e = Event::decode(&w.mem.read_bytes(a, 16).try_into().unwrap());
            if e.phase != rm::phase(EV_LOG2, self.cons) {
                break;
            }
            out.push(e);
            self.cons = self.cons.wrapping_add(1);
        }
        if !out.is_empty() {
            w.set("EV_CONS", self.cons as u32);
        }
        out
    }
    /// Runs until `n` events have arrived (or panics after `limit` cycles).
    fn wait(&mut self, w: &mut World, n: usize, limit: u64) -> Vec<Event> {
        let mut got = Vec::new();
        let start = w.cycle;
        while got.len() < n {
            assert!(w.cycle - start < limit, "waited {limit} cycles for {n} events, got {got:?}");
            w.run(10);
            got.extend(self.poll(w));
        }
        got
    }
}

fn command(w: &mut World, op: u32, token: u16, args: &[u32]) {
    for (k, &a) in args.iter().enumerate() {
        w.set(&format!("CMD_ARG{k}"), a);
    }
    w.set("CMD_OP", (token as u32) << 16 | op);
}

/// FLOW_ADD's arguments for `tuple` as the NIC receives it (source = the target = remote).
fn flow_add_args(id: u16, tuple: &FiveTuple, cfg: &QueueConfig, seq: u32) -> Vec<u32> {
    let word = |a: &[u8; 16], k: usize| u32::from_le_bytes(a[4 * k..4 * k + 4].try_into().unwrap());
    let flags = tuple.ipv6 as u32 | (cfg.hdgst as u32) << 1 | (cfg.ddgst as u32) << 2 | (cfg.cpda as u32) << 8;
    let mut v = vec![id as u32, flags, 128, seq, tuple.dst_port as u32 | (tuple.src_port as u32) << 16];
    v.extend((0..4).map(|k| word(&tuple.dst_addr, k)));
    v.extend((0..4).map(|k| word(&tuple.src_addr, k)));
    v
}

/// An SGL of about 130 entries at most: (host address, length), the first and last of any length,
/// the others at least 64 bytes; addresses unaligned, each entry in its own window at `base`.
fn sgl(rng: &mut SmallRng, base: u64, total: u32) -> Vec<(u64, u32)> {
    let mut v = Vec::new();
    let mut left = total;
    let longest = (total / 64).max(9000);
    let window = (u64::from(longest) + 4096).next_power_of_two();
    while left > 0 {
        // The first entry any length, the others 64..longest bytes (the last whatever is left).
        let n = if v.is_empty() { rng.gen_range(1..=left.min(5000)) } else { rng.gen_range(64..=longest).min(left) };
        v.push((base + window * v.len() as u64 + rng.gen_range(0..4096), n));
        left -= n;
    }
    v
}

/// The host's byte at data offset `off` of an SGL.
fn sgl_addr(s: &[(u64, u32)], mut off: u32) -> u64 {
    for &(a, l) in s {
        if off < l {
            return a + off as u64;
        }
        off -= l;
    }
    panic!("offset past the SGL");
}

#[test]
fn commands_drive_the_tracker_and_placement_and_answer_in_the_event_ring() {
    let mut w = World::with_sideband(&binary(), 3, SidebandPorts::Tracker);
    let mut ev = Events::setup(&mut w);
    assert_eq!(w.reg("CAPS"), rm::caps::NVME_TCP_DDP | rm::caps::NVME_TCP_DDGST_RX);
    // Disabled: as a core without offload.
    command(&mut w, rm::op::FLOW_ADD, 1, &[5]);
    let e = ev.wait(&mut w, 1, 1000);
    assert_eq!((e[0].kind, e[0].status, e[0].token), (rm::ev::FLOW_ADD, rm::ev_status::UNSUPPORTED, 1));
    assert!(w.flow_writes.is_empty());
    w.set("ENABLE", 3);
    assert_eq!(w.reg("ENABLE"), 3);

    // FLOW_ADD: the tracker gets the tuple as received (source = remote).
    let mut tuple = FiveTuple { ipv6: true, src_port: 4420, dst_port: 50_123, ..Default::default() };
    for k in 0..16 {
        tuple.src_addr[k] = 0x10 + k as u8;
        tuple.dst_addr[k] = 0x80 + k as u8;
    }
    let cfg = QueueConfig { hdgst: true, ddgst: true, cpda: 3 };
    command(&mut w, rm::op::FLOW_ADD, 2, &flow_add_args(77, &tuple, &cfg, 0xDEAD_BEEF));
    let e = ev.wait(&mut w, 1, 1000);
    assert_eq!(e[0], Event { kind: rm::ev::FLOW_ADD, status: 0, token: 2, arg: 77, index: 1, phase: true });
    assert_eq!(
        w.flow_writes,
        vec![FlowWrite { add: true, id: 77, ipv6: true, src_addr: tuple.src_addr.to_vec(), dst_addr: tuple.dst_addr.to_vec(), src_port: 4420, dst_port: 50_123, seq: 0xDEAD_BEEF, hdgst: true, ddgst: true, cpda: 3 }]
    );
    // RESYNC: a confirmation reaches the tracker; a denial does not. No events.
    command(&mut w, rm::op::RESYNC, 3, &[77, 1234, 1]);
    command(&mut w, rm::op::RESYNC, 4, &[77, 999, 0]);
    w.run(50);
    assert_eq!(w.resyncs, vec![(77, 1234)]);

    // Setups: ok, bad length, bad geometry (count 0), and a TAG_ENTRY outside a setup.
    command(&mut w, rm::op::TAG_SETUP, 10, &[9, 77, 0x42, 0, 3]);
    for (a, l) in [(0x1_0000_0003u64, 100u32), (0x2_0000_0000, 4096), (0x3_0000_0000, 7)] {
        command(&mut w, rm::op::TAG_ENTRY, 0, &[a as u32, (a >> 32) as u32, l]);
    }
    command(&mut w, rm::op::TAG_SETUP, 11, &[10, 77, 0x43, 16, 3]);
    for l in [100u32, 10, 100] {
        command(&mut w, rm::op::TAG_ENTRY, 0, &[0x4000, 0, l]);
    }
    command(&mut w, rm::op::TAG_SETUP, 12, &[11, 77, 0x44, 32, 0]);
    command(&mut w, rm::op::TAG_ENTRY, 13, &[0, 0, 64]);
    // Inside a setup, any other command is refused and the setup goes on.
    command(&mut w, rm::op::TAG_SETUP, 14, &[12, 77, 0x45, 48, 1]);
    command(&mut w, rm::op::FLOW_DEL, 15, &[77]);
    command(&mut w, rm::op::TAG_ENTRY, 0, &[0x5000, 0, 64]);
    // Own refusals may overtake placement's results: compare in token order.
    let mut e = ev.wait(&mut w, 6, 2000);
    e.sort_by_key(|e| e.token);
    let got: Vec<(u8, u8, u16, u32)> = e.iter().map(|e| (e.kind, e.status, e.token, e.arg)).collect();
    assert_eq!(
        got,
        vec![
            (rm::ev::SETUP, 0, 10, 9),
            (rm::ev::SETUP, status::BAD_LENGTH as u8, 11, 10),
            (rm::ev::SETUP, status::BAD_GEOMETRY as u8, 12, 11),
            (rm::ev::CMD_ERROR, rm::ev_status::PROTOCOL, 13, rm::op::TAG_ENTRY),
            (rm::ev::SETUP, 0, 14, 12),
            (rm::ev::CMD_ERROR, rm::ev_status::PROTOCOL, 15, rm::op::FLOW_DEL),
        ]
    );

    // Teardowns: done for live tags (with their tokens, in any order), refusals carry
    // placement's status.
    command(&mut w, rm::op::TAG_TEARDOWN, 20, &[9]);
    command(&mut w, rm::op::TAG_TEARDOWN, 21, &[10]);
    command(&mut w, rm::op::TAG_TEARDOWN, 22, &[12]);
    let mut e = ev.wait(&mut w, 3, 2000);
    e.sort_by_key(|e| e.token);
    let got: Vec<(u8, u8, u16, u32)> = e.iter().map(|e| (e.kind, e.status, e.token, e.arg)).collect();
    assert_eq!(got, vec![(rm::ev::TEARDOWN_DONE, 0, 20, 9), (rm::ev::TEARDOWN_DONE, status::NOT_SET_UP as u8, 21, 10), (rm::ev::TEARDOWN_DONE, 0, 22, 12)]);

    // FLOW_DEL: the tracker's delete, the event only FLOW_DEL_WAIT cycles after it.
    command(&mut w, rm::op::FLOW_DEL, 30, &[77]);
    let at = w.cycle;
    let e = ev.wait(&mut w, 1, 5000);
    assert!(w.cycle - at >= FLOW_DEL_WAIT as u64, "FLOW_DEL event after {} cycles", w.cycle - at);
    assert_eq!((e[0].kind, e[0].status, e[0].token, e[0].arg), (rm::ev::FLOW_DEL, 0, 30, 77));
    assert_eq!(w.flow_writes.len(), 2);
    assert!(!w.flow_writes[1].add && w.flow_writes[1].id == 77);

    for (name, v) in [
        ("rx_nvme_tcp_sk_add", 1),
        ("rx_nvme_tcp_sk_add_fail", 1),
        ("rx_nvme_tcp_sk_del", 1),
        ("rx_nvme_tcp_setup", 2),
        ("rx_nvme_tcp_setup_fail", 2),
        ("rx_nvme_tcp_teardown", 2),
    ] {
        assert_eq!(w.counter(name), v, "{name}");
    }
    assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);
}

/// Bytes of Ethernet + IP + TCP headers in one of the test's frames.
fn hdr_len(frame: &[u8]) -> usize {
    let p = etherparse::SlicedPacket::from_ethernet(frame).expect("a test frame");
    frame.len() - p.transport.map_or(0, |t| match t {
        etherparse::TransportSlice::Tcp(t) => t.payload().len(),
        _ => 0,
    })
}

/// The tracker's cycles for one frame: its beats on f_* and its stream on t_* from the same
/// cycle (TRACKER_PORTS.md allows a stream from the frame's first beat on).
fn tracker_cycles(bytes: &[u8], v: &FrameVerdict) -> Vec<TrackerIn> {
    let nf = bytes.len().div_ceil(64);
    let nt = v.stream.len();
    (0..nf.max(nt))
        .map(|k| TrackerIn {
            f: (k < nf).then(|| FrameBeat {
                data: bytes[64 * k..(64 * k + 64).min(bytes.len())].to_vec(),
                last: k + 1 == nf,
                user: false,
                ip_csum_ok: v.ip_csum_ok,
                tcp_csum_ok: v.tcp_csum_ok,
                flow: v.flow,
                tracked: v.tracked,
            }),
            t: (k < nt).then(|| StreamBeat {
                beat: v.stream[k].clone(),
                first: k == 0,
                last: k + 1 == nt,
                flow: v.flow.unwrap_or(0),
                crc_ok: v.crc_ok,
                resync: v.resync_request,
            }),
        })
        .collect()
}

struct Traffic {
    /// The W channel keeps up (frames are spaced so it does): the RTL must equal the model
    /// exactly. Otherwise runs may be refused for a busy DMA; placed ranges are then checked
    /// against the wire and the buffers only.
    exact: bool,
    faults: Faults,
    /// Register some buffers one byte short (out-of-bounds refusals).
    short: bool,
    /// Leave some commands unregistered (unknown CIDs).
    unknown: bool,
    /// AXI W readiness (percent): below ~80 the placement FIFO fills and runs are refused.
    w_ready: u64,
    /// Tear down the first flow's tags once this many frames were sent, with traffic still
    /// flowing (inexact: its later runs are refused as not live).
    teardown_at: Option<usize>,
    /// Frames in at the MAC port through the real tracker, instead of playing the tracker.
    mac: bool,
    pdus: usize,
    /// The largest read (a command's data, in one to three C2HData PDUs).
    max_read: u32,
    seed: u64,
}

struct Outcome {
    /// Runs the model handed to software: second run of a beat, beyond a frame's 4 ranges.
    second_runs: u64,
    range_overflows: u64,
    placed_bytes: u64,
    dma_busy: u64,
    cycles: u64,
    frames: usize,
    resyncs: u64,
    confirmed: u64,
}

/// Flows added and buffers registered through BAR0, frames of real NVMe/TCP streams through
/// the tracker ports; every completion, slot, placed byte and counter checked; then every tag
/// torn down and its buffer unregistered when TEARDOWN_DONE arrives (a later write would be
/// an error).
fn run(t: Traffic) -> Outcome {
    let mut rng = SmallRng::seed_from_u64(t.seed);
    let mode = if t.mac { SidebandPorts::None } else { SidebandPorts::Tracker };
    let mut w = World::with_sideband(&binary_for(mode), t.seed, mode);
    w.ready = Readiness { aw: 90, w: t.w_ready, ..Default::default() };
    let mut ev = Events::setup(&mut w);
    w.set("ENABLE", 3);
    let (slot_base, cpl_base, size_log2, slot_log2) = (0x3_0000_0000u64, 0x3_1000_0000u64, 6u32, 14u32);
    let n = 1u64 << size_log2;
    w.setup_rx_ring(slot_base, cpl_base, size_log2, slot_log2);

    let cfgs = [QueueConfig { hdgst: false, ddgst: true, cpda: 0 }, QueueConfig { hdgst: true, ddgst: true, cpda: 0 }, QueueConfig::default()];
    let mut flows: Vec<_> = (0..3).map(|i| flow(&mut rng, 100 + 9 * i as u16, &cfgs[i], i == 1, t.pdus, t.max_read)).collect();
    if t.mac {
        // The real flow table finds a flow only in its slot's set, `{set, way}` from the RSS
        // hash, as the driver places it.
        for (way, f) in flows.iter_mut().enumerate() {
            f.id = (FlowTable4096::set_of(&f.tuple) * WAYS + way) as u16;
        }
    }
    let mut model = ReceiveModel::new();
    // (flow, cid) -> (tag, SGL); tags get a 256-entry superblock of the pool each.
    let mut tags: HashMap<(u16, u16), (u16, Vec<(u64, u32)>)> = HashMap::new();
    let mut token = 0x100u16;
    for f in &flows {
        command(&mut w, rm::op::FLOW_ADD, token, &flow_add_args(f.id, &f.tuple, &f.cfg, f.isn));
        token += 1;
        assert!(model.add_flow(f.id, f.tuple, f.cfg, f.isn));
        let e = ev.wait(&mut w, 1, 1000);
        assert_eq!((e[0].kind, e[0].status), (rm::ev::FLOW_ADD, 0));
        let mut cids: Vec<(&u16, &u32)> = f.commands.iter().collect();
        cids.sort();
        for (&cid, &len) in cids {
            if t.unknown && cid % 5 == 0 {
                continue;
            }
            let len = if t.short && cid % 3 == 0 { len - 1 } else { len };
            let tag = tags.len() as u16;
            let base = 0x100_0000_0000u64 * (1 + tag as u64);
            let s = sgl(&mut rng, base, len);
            assert!(s.len() <= 256);
            command(&mut w, rm::op::TAG_SETUP, token, &[tag as u32, f.id as u32, cid as u32, 256 * tag as u32, s.len() as u32]);
            for &(a, l) in &s {
                command(&mut w, rm::op::TAG_ENTRY, 0, &[a as u32, (a >> 32) as u32, l]);
                w.mem.writable.push((a, l as u64, format!("tag {tag}")));
            }
            let e = ev.wait(&mut w, 1, 3000);
            assert_eq!((e[0].kind, e[0].status, e[0].token, e[0].arg), (rm::ev::SETUP, 0, token, tag as u32), "setup of tag {tag}");
            token += 1;
            assert!(model.setup(f.id, cid, len));
            tags.insert((f.id, cid), (tag, s));
        }
    }

    // The traffic, interleaved across flows.
    let mut queues: Vec<_> = flows
        .iter()
        .map(|f| {
            let mss = rng.gen_range(500..=8948);
            (arrivals(&mut rng, f.isn, f.stream.bytes.len(), mss, t.faults), 0usize)
        })
        .collect();
    // (frame, flow index, stream index of its first payload byte)
    let mut frames: Vec<(Vec<u8>, usize, usize)> = Vec::new();
    while queues.iter().any(|(q, at)| *at < q.len()) {
        let i = rng.gen_range(0..flows.len());
        let (q, at) = &mut queues[i];
        let Some(a) = q.get(*at).cloned() else { continue };
        *at += 1;
        frames.push((frame(&flows[i], a.seq, a.start, a.end), i, a.start));
    }
    // Frames with the model's verdicts, made as they are sent: a resync request the host
    // confirms (when a PDU starts there, by the stream's truth) is confirmed to the NIC and the
    // model once every frame before it has completed, so both see it between the same frames.
    let mut expect: Vec<(Vec<u8>, FrameVerdict, usize, usize)> = Vec::new();
    let mut confirm: Option<(u16, u32)> = None;
    let mut confirmed = 0u64;
    let start = w.cycle;
    let mut sent = 0usize;
    let mut cons = 0u16;
    let mut placed_bytes = 0u64;
    // Frames the ring dropped whole (only when not exact: the W channel cannot keep up).
    let mut next = 0usize;
    let mut dropped = 0u64;
    let first_flow_tags: Vec<u16> = tags.iter().filter(|(k, _)| k.0 == flows[0].id).map(|(_, v)| v.0).collect();
    let mut torn: Vec<u16> = Vec::new();
    let mut torn_done = 0usize;
    w.run_until(2_000_000, |w| {
        if t.teardown_at.is_some_and(|at| sent >= at) && torn.is_empty() {
            for &tag in &first_flow_tags {
                command(w, rm::op::TAG_TEARDOWN, 0x8000 | tag, &[tag as u32]);
            }
            torn = first_flow_tags.clone();
        }
        // Torn-down buffers leave the writable set at their TEARDOWN_DONE: a later write
        // into one is an error of the host memory model.
        for x in ev.poll(w) {
            assert_eq!((x.kind, x.status, x.token), (rm::ev::TEARDOWN_DONE, 0, 0x8000 | x.arg as u16), "{x:?}");
            let name = format!("tag {}", x.arg);
            w.mem.writable.retain(|r| r.2 != name);
            torn_done += 1;
        }
        // Keep the tracker fed, a frame at a time, with a ring slot free for each (the ring
        // may not drop: every frame must come back).
        while sent < frames.len() && w.tracker_queue.len() + w.rx_queue.len() < 200 && (!t.exact || (sent as u16).wrapping_sub(cons) < n as u16 - 4) {
            if let Some((flow, seq)) = confirm {
                if cons != sent as u16 {
                    break;
                }
                command(w, rm::op::RESYNC, 0x4000, &[flow.into(), seq, 1]);
                assert!(model.resync(flow, seq), "the model confirms its own request");
                confirm = None;
                confirmed += 1;
            }
            if expect.len() == sent {
                let (bytes, i, start) = frames[sent].clone();
                let v = model.frame(&bytes, false);
                if let (true, Some(seq)) = (t.exact, v.resync_request) {
                    let f = &flows[i];
                    confirm = f.stream.truth.get(seq.wrapping_sub(f.isn) as usize).is_some_and(|b| b.pdu_start).then_some((f.id, seq));
                }
                expect.push((bytes, v, i, start));
            }
            let (bytes, v, _, _) = &expect[sent];
            if t.mac {
                let beats = bytes.len().div_ceil(64);
                w.send_frame(bytes, false);
                let gap = if t.exact { beats.max(v.stream.len()) } else { 0 };
                w.rx_queue.extend((0..gap).map(|_| RxIn::default()));
            } else {
                let cycles = tracker_cycles(bytes, v);
                let gap = if t.exact { cycles.len() } else { 0 };
                w.tracker_queue.extend(cycles);
                w.tracker_queue.extend((0..gap).map(|_| TrackerIn::default()));
            }
            sent += 1;
        }
        loop {
            let raw: [u8; 64] = w.mem.read_bytes(rm::rx_cpl_addr(cpl_base, size_log2, cons), 64).try_into().unwrap();
            let c = RxCompletion::decode(&raw);
            if c.phase != rm::phase(size_log2, cons) {
                break;
            }
            // The frame: the next one sent whose headers (beat 0, never placed) are in the slot.
            let slot0 = w.mem.read_bytes(rm::rx_slot_addr(slot_base, slot_log2, size_log2, cons), 64);
            while !t.exact && next < expect.len() && (expect[next].0.len() != c.frame_len as usize || expect[next].0[..(c.frame_len as usize).min(64)] != slot0[..(c.frame_len as usize).min(64)]) {
                next += 1;
            }
            assert!(next < expect.len(), "completion {cons} matches no frame sent");
            let k = next;
            next += 1;
            let (bytes, v, fi, start) = &expect[k];
            let mut want = RxCompletion {
                frame_len: bytes.len() as u16,
                ip_csum_ok: v.ip_csum_ok,
                tcp_csum_ok: v.tcp_csum_ok,
                crc_ok: v.crc_ok,
                resync: v.resync_request.is_some(),
                resync_seq: v.resync_request.unwrap_or(0),
                flow_valid: v.flow.is_some(),
                flow: v.flow.unwrap_or(0),
                index: cons,
                phase: rm::phase(size_log2, cons),
                ranges: v.ranges.len(),
                ..Default::default()
            };
            for (j, r) in v.ranges.iter().enumerate() {
                want.range[j] = PlacedRange { frame_offset: r.frame_offset as u16, len: r.len as u16, cid: r.cid, data_offset: r.data_offset };
            }
            if !t.exact {
                // Refused runs change which ranges a frame reports: each must still be data of
                // its CID at its data offsets, by the stream's truth.
                for r in &c.range[..c.ranges] {
                    for j in 0..r.len as usize {
                        let at = start + r.frame_offset as usize + j - hdr_len(bytes);
                        assert_eq!(flows[*fi].stream.truth[at].role, ByteRole::Data { cid: r.cid, offset: r.data_offset + j as u32 }, "frame {k}: range {r:?} byte {j}");
                    }
                }
                want.ranges = c.ranges;
                want.range = c.range;
            }
            want.slot_bytes = (0..bytes.len().div_ceil(64)).filter(|&b| want.beat_written(b)).map(|b| (bytes.len() - 64 * b).min(64)).sum::<usize>() as u16;
            assert_eq!(c, want, "completion of frame {k}");
            // Rebuild the frame: written beats from the slot, placed bytes from the buffers.
            let slot = w.mem.read_bytes(rm::rx_slot_addr(slot_base, slot_log2, size_log2, cons), bytes.len());
            let mut rebuilt = vec![None; bytes.len()];
            for b in 0..bytes.len().div_ceil(64) {
                if c.beat_written(b) {
                    for x in 64 * b..(64 * b + 64).min(bytes.len()) {
                        rebuilt[x] = Some(slot[x]);
                    }
                }
            }
            let flow = v.flow.unwrap_or(0);
            for r in &c.range[..c.ranges] {
                let (_, s) = &tags[&(flow, r.cid)];
                for j in 0..r.len as usize {
                    let host = w.mem.read(sgl_addr(s, r.data_offset + j as u32));
                    let at = r.frame_offset as usize + j;
                    assert_eq!(host, bytes[at], "frame {k}: CID {} data offset {} in host memory", r.cid, r.data_offset + j as u32);
                    rebuilt[at] = Some(host);
                }
                placed_bytes += r.len as u64;
            }
            for (x, b) in rebuilt.iter().enumerate() {
                assert_eq!(*b, Some(bytes[x]), "frame {k} byte {x} of {}", bytes.len());
            }
            cons = cons.wrapping_add(1);
            w.set("RX_CONS", cons as u32);
        }
        if sent == frames.len() && w.tracker_queue.is_empty() && w.rx_queue.is_empty() && w.cycle % 1000 == 0 {
            dropped = w.counter("rx_drop_ring_full");
        }
        sent == frames.len() && cons as u64 + dropped == frames.len() as u64
    });
    assert!(t.exact || dropped < expect.len() as u64 / 2, "{dropped} of {} frames dropped", expect.len());
    let cycles = w.cycle - start;

    // Counters: the model's (packets and bytes: what the completions reported, which is the
    // model's when exact).
    let m = &model.counters;
    let dma_busy = w.counter("rx_ddp_dma_busy");
    assert!(t.teardown_at.is_none() || !t.exact, "a teardown during traffic is inexact");
    if t.exact {
        assert_eq!(placed_bytes, m.bytes);
        assert_eq!(w.counter("rx_nvme_tcp_packets"), m.packets);
        assert_eq!(w.counter("rx_nvme_tcp_bytes"), placed_bytes);
        assert_eq!(dma_busy, 0);
    }
    for (name, v) in [
        ("rx_nvme_tcp_resync", m.resync),
        // After a teardown the flow's runs miss the lookup: more unknown CIDs than the model's.
        ("rx_unknown_cid", if torn.is_empty() { m.unknown_cid } else { w.counter("rx_unknown_cid").max(m.unknown_cid) }),
        ("rx_out_of_bounds", m.out_of_bounds),
        ("rx_out_of_sync", m.lost_sync),
        ("rx_frames", expect.len() as u64),
        ("rx_drop_ring_full", dropped),
    ] {
        assert_eq!(w.counter(name), v, "{name}");
    }
    assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);

    // Teardown: each tag's buffer leaves the writable set when its TEARDOWN_DONE arrives.
    for tag in (0..tags.len() as u16).filter(|t| !torn.contains(t)) {
        command(&mut w, rm::op::TAG_TEARDOWN, 0x8000 | tag, &[tag as u32]);
    }
    let e = ev.wait(&mut w, tags.len() - torn_done, 100_000);
    for x in &e {
        assert_eq!((x.kind, x.status, x.token), (rm::ev::TEARDOWN_DONE, 0, 0x8000 | x.arg as u16), "{x:?}");
        let name = format!("tag {}", x.arg);
        w.mem.writable.retain(|r| r.2 != name);
    }
    w.run(2000);
    assert_eq!(w.counter("rx_nvme_tcp_teardown"), tags.len() as u64);
    assert!(w.mem.errors.is_empty(), "{:?}", w.mem.errors);
    Outcome { second_runs: model.counters.second_run, range_overflows: model.counters.range_overflow, placed_bytes, dma_busy, cycles, frames: expect.len(), resyncs: m.resync, confirmed }
}

#[test]
fn placed_bytes_land_in_the_buffers_and_frames_rebuild() {
    let o = run(Traffic { exact: true, faults: Faults::default(), short: false, unknown: false, w_ready: 100, teardown_at: None, mac: false, pdus: 40, max_read: 6000, seed: 21 });
    assert!(o.placed_bytes > 50_000, "placed {}", o.placed_bytes);
    eprintln!("clean: {} frames, {} bytes placed in {} cycles, {} second runs, {} runs past 4 ranges", o.frames, o.placed_bytes, o.cycles, o.second_runs, o.range_overflows);
}

#[test]
fn faults_unknown_cids_and_short_buffers_are_counted_as_the_model_says() {
    let o = run(Traffic { exact: true, faults: Faults { drop: 0.03, reorder: 0.03, duplicate: 0.03 }, short: true, unknown: true, w_ready: 100, teardown_at: None, mac: false, pdus: 40, max_read: 6000, seed: 22 });
    assert!(o.placed_bytes > 0);
}

#[test]
fn a_stalled_write_channel_refuses_runs_instead_of_losing_them() {
    let o = run(Traffic { exact: false, faults: Faults::default(), short: false, unknown: false, w_ready: 50, teardown_at: None, mac: false, pdus: 40, max_read: 6000, seed: 23 });
    assert!(o.dma_busy > 0, "the placement FIFO never filled");
    eprintln!("stalled W: {} runs refused (busy), {} bytes placed", o.dma_busy, o.placed_bytes);
}

#[test]
fn teardown_during_traffic_is_done_only_after_the_tags_last_write() {
    let o = run(Traffic { exact: false, faults: Faults::default(), short: false, unknown: false, w_ready: 40, teardown_at: Some(30), mac: false, pdus: 40, max_read: 6000, seed: 24 });
    assert!(o.placed_bytes > 0);
}

/// Frames back to back (the tracker's pace), the host always ready: how much placement keeps
/// up (figures printed; refusals are allowed, losses are not).
#[test]
fn back_to_back_frames_with_a_ready_host() {
    let o = run(Traffic { exact: false, faults: Faults::default(), short: false, unknown: false, w_ready: 100, teardown_at: None, mac: false, pdus: 60, max_read: 6000, seed: 25 });
    eprintln!(
        "back to back: {} frames, {} bytes placed in {} cycles ({:.1} placed bytes/cycle), {} runs refused (busy)",
        o.frames,
        o.placed_bytes,
        o.cycles,
        o.placed_bytes as f64 / o.cycles as f64,
        o.dma_busy
    );
}

/// The whole core, frames in at the MAC port: the real tracker's streams make the same
/// completions (crc_ok included), placements and counters as the model says.
#[test]
fn mac_port_frames_through_the_real_tracker_place_as_the_model_says() {
    let o = run(Traffic { exact: true, faults: Faults::default(), short: false, unknown: false, w_ready: 100, teardown_at: None, mac: true, pdus: 300, max_read: 6000, seed: 26 });
    assert!(o.placed_bytes > 50_000, "placed {}", o.placed_bytes);
    eprintln!("MAC port, clean: {} frames, {} bytes placed in {} cycles, {} second runs, {} runs past 4 ranges", o.frames, o.placed_bytes, o.cycles, o.second_runs, o.range_overflows);
}

/// The same with drops, reordering and duplicates, unknown CIDs and short buffers: flows that
/// lose sync search, request a resync, and are offloaded again once the host confirms.
#[test]
fn mac_port_faults_unknown_cids_and_short_buffers_are_counted_as_the_model_says() {
    let o = run(Traffic { exact: true, faults: Faults { drop: 0.03, reorder: 0.03, duplicate: 0.03 }, short: true, unknown: true, w_ready: 100, teardown_at: None, mac: true, pdus: 300, max_read: 6000, seed: 27 });
    assert!(o.placed_bytes > 0 && o.resyncs > 3 && o.confirmed > 3, "{} resync requests, {} confirmed", o.resyncs, o.confirmed);
    eprintln!("MAC port, faults: {} frames, {} bytes placed, {} resync requests, {} confirmed", o.frames, o.placed_bytes, o.resyncs, o.confirmed);
}

/// Reads of up to 4 MiB (one to three C2HData PDUs each, SGLs of up to ~130 entries), frames
/// in at the MAC port, both digest settings: placements and counters as the model says.
#[test]
fn mac_port_reads_up_to_4_mib_place_as_the_model_says() {
    let o = run(Traffic { exact: true, faults: Faults::default(), short: false, unknown: false, w_ready: 100, teardown_at: None, mac: true, pdus: 5, max_read: 4 << 20, seed: 28 });
    assert!(o.placed_bytes > 4 << 20, "placed {}", o.placed_bytes);
    eprintln!("MAC port, large reads: {} frames, {} bytes placed in {} cycles", o.frames, o.placed_bytes, o.cycles);
}
