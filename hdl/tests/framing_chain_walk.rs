//! PduChainWalk on real PDU streams of interleaved flows, cut into packets the way the tracker
//! feeds them (each packet's stream: the flow's previous 23 bytes, then the payload): every
//! header start of every flow is reported in its packet, beat and lane (up to three a beat,
//! headers cut by packet ends included, PDUs from 24 bytes to 1 MiB), the distance to the next
//! header is right after every beat, back-to-back packets of a flow at every spacing see their
//! flow's latest state, a broken header or a gap makes the flow lost, and a lost flow is never
//! offloaded again until a restart at a true PDU start or a confirmation of its request. Lost
//! flows search: their resync requests name true PDU starts. The generated Verilog agrees
//! cycle for cycle, confirmations of right and wrong epochs included.
mod common;

use common::pdu_stream::{pdu_stream, PduStream};
use ddpnic_hdl::framing::chain_walk::{PduChainWalk64, TAIL};
use std::collections::{HashMap, HashSet};
use ddpnic_hdl::framing::lane_decoder::PduLaneDecoder;
use ddpnic_hdl::framing::pdu_rules::QueueConfig;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, seq::SliceRandom, Rng, SeedableRng};
use rust_hdl::prelude::{Bits, Block};

const W: usize = 64;

#[derive(Clone, Debug)]
struct Beat {
    ok: Vec<bool>,
    plen: Vec<u32>,
    flow: u16,
    first: bool,
    stop: usize,
    restart: Option<u32>,
    lose: bool,
    /// A confirmation of the request of this epoch.
    confirm: Option<u8>,
    /// Flow position of lane 0.
    pos0: isize,
    /// From the flows' truth: header lanes and the distance to the next header, or None
    /// where the walk must be lost.
    expected: Option<(Vec<usize>, Option<u32>)>,
}

/// One flow being cut into packets.
struct Flow {
    id: u16,
    cfg: QueueConfig,
    bytes: Vec<u8>,
    /// True PDU starts, ascending.
    starts: Vec<usize>,
    /// Payload sent so far.
    sent: usize,
    in_sync: bool,
    /// Never added: never restarted, so always lost.
    unknown: bool,
    /// Position of a header broken on purpose.
    broken: Option<usize>,
}

impl Flow {
    fn new(rng: &mut SmallRng, id: u16, cfg: QueueConfig, stream: PduStream, unknown: bool, break_one: bool) -> Self {
        let starts: Vec<usize> = (0..stream.bytes.len()).filter(|&i| stream.truth[i].pdu_start).collect();
        let mut bytes = stream.bytes;
        let broken = break_one.then(|| starts[rng.gen_range(starts.len() / 4..starts.len() / 2)]);
        if let Some(at) = broken {
            bytes[at] = 0xEE; // no such PDU type
        }
        Flow { id, cfg, bytes, starts, sent: 0, in_sync: false, unknown, broken }
    }

    fn next_start(&self, from: usize) -> Option<usize> {
        self.starts.iter().copied().find(|&s| s >= from)
    }

    /// The next packet's beats: `len` payload bytes, optionally restarting or losing the flow.
    fn packet(&mut self, rng: &mut SmallRng, len: usize) -> Vec<Beat> {
        let (from, to) = (self.sent, (self.sent + len).min(self.bytes.len()));
        self.sent = to;
        // The stream: the flow's 23 bytes before this payload (random before the first), then
        // the payload. Stream position q is flow position q + base.
        let base = from as isize - TAIL as isize;
        let mut stream: Vec<u8> = (base..from as isize).map(|p| if p < 0 { rng.gen() } else { self.bytes[p as usize] }).collect();
        stream.extend_from_slice(&self.bytes[from..to]);
        let walk_end = stream.len() - TAIL;
        let flow_pos = |q: usize| (q as isize + base) as usize;
        let mut restart = None;
        let mut lose = false;
        if !self.unknown && (from == 0 || (!self.in_sync && rng.gen_bool(0.3))) {
            // Restart at the first true PDU start this stream can walk (from lane TAIL on the
            // first packet: the bytes before are not the flow's).
            let lo = if from == 0 { 0 } else { flow_pos(0) };
            if let Some(s) = self.next_start(lo) {
                restart = Some((s as isize - base) as u32);
                self.in_sync = true;
            }
        } else if self.in_sync && rng.gen_bool(0.01) {
            lose = true;
            self.in_sync = false;
        }
        let beats = stream.len().div_ceil(W);
        stream.resize((beats + 1) * W, 0);
        (0..beats)
            .map(|b| {
                let (ok, plen) = PduLaneDecoder::<64, 512>::decode(&stream[b * W..(b + 1) * W], &stream[(b + 1) * W..(b + 2) * W], &self.cfg);
                let stop = walk_end.saturating_sub(b * W).min(W);
                let walked = b * W..b * W + stop;
                if self.broken.is_some_and(|x| x >= flow_pos(walked.start) && x < flow_pos(walked.end)) && (b > 0 || restart.is_none_or(|r| at_or_after(self.broken, r, base))) {
                    self.in_sync = false;
                }
                let expected = self.in_sync.then(|| {
                    let lo = restart.filter(|_| b == 0).map_or(walked.start, |r| r as usize);
                    let headers = self.starts.iter().map(|&s| s as isize - base).filter(|&q| q >= lo as isize && (q as usize) < walked.end).map(|q| q as usize - b * W).collect();
                    let from_here = if (b + 1) * W <= walk_end { (b + 1) * W } else { walk_end };
                    let next = self.next_start(flow_pos(from_here)).map(|s| (s - flow_pos(from_here)) as u32);
                    (headers, next)
                });
                let pos0 = base + (b * W) as isize;
                Beat { ok, plen, flow: self.id, first: b == 0, stop, restart: restart.filter(|_| b == 0), lose: lose && b == 0, confirm: None, pos0, expected }
            })
            .collect()
    }
}

/// Whether the broken header lies at or after a restart at stream position `r`: only then does
/// the walk meet it in the restart's beat.
fn at_or_after(broken: Option<usize>, r: u32, base: isize) -> bool {
    broken.is_some_and(|x| x as isize - base >= r as isize)
}

/// Flows with every digest setting and PDU sizes from tiny to 1 MiB, cut into packets of 1 to
/// 9,000 bytes, interleaved with back-to-back runs of one flow and idle cycles.
fn scenario(seed: u64) -> (Vec<Option<Beat>>, HashMap<u16, HashSet<isize>>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut flows = Vec::new();
    let mut ids: Vec<u16> = (0..4096).collect();
    ids.shuffle(&mut rng);
    for (i, (hdgst, ddgst, cpda)) in [(false, false, 0), (true, true, 0), (true, false, 3), (false, true, 1)].into_iter().enumerate() {
        let cfg = QueueConfig { hdgst, ddgst, cpda };
        for (j, max_data) in [8, 40, 300, 5000].into_iter().enumerate() {
            let stream = pdu_stream(&mut rng, &cfg, 160, max_data, false);
            let n = flows.len();
            flows.push(Flow::new(&mut rng, ids[n], cfg, stream, false, (i + j) % 3 == 0));
        }
    }
    let long = pdu_stream(&mut rng, &QueueConfig::default(), 1, 1 << 20, false);
    flows.push(Flow::new(&mut rng, ids[flows.len()], QueueConfig::default(), long, false, false));
    let stray = pdu_stream(&mut rng, &QueueConfig::default(), 40, 300, false);
    flows.push(Flow::new(&mut rng, ids[flows.len()], QueueConfig::default(), stray, true, false));
    let mut beats = Vec::new();
    let mut current = 0;
    while flows.iter().any(|f| f.sent < f.bytes.len()) {
        if rng.gen_bool(0.6) || flows[current].sent == flows[current].bytes.len() {
            let open: Vec<usize> = (0..flows.len()).filter(|&i| flows[i].sent < flows[i].bytes.len()).collect();
            current = *open.choose(&mut rng).unwrap();
        }
        let len = match rng.gen_range(0..10) {
            0 => rng.gen_range(1..=30),
            1 => rng.gen_range(1..=9000),
            _ => rng.gen_range(200..=1460),
        };
        beats.extend(flows[current].packet(&mut rng, len).into_iter().map(Some));
        if rng.gen_bool(0.2) {
            beats.extend(std::iter::repeat_n(None, rng.gen_range(1..=8)));
        }
    }
    let starts = flows.iter().map(|f| (f.id, f.starts.iter().map(|&s| s as isize).collect())).collect();
    (beats, starts)
}

/// The scenario with confirmations of epochs 0..=2 on a third of the first beats: whether they
/// take effect depends on the flow's state, which only the model and the RTL know.
fn with_confirmations(mut beats: Vec<Option<Beat>>, seed: u64) -> Vec<Option<Beat>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    for b in beats.iter_mut().flatten().filter(|b| b.first) {
        b.confirm = rng.gen_bool(0.3).then(|| rng.gen_range(0..=2));
    }
    beats
}

/// What the block presented for a beat.
#[derive(Clone, Debug)]
struct Walked {
    headers: Vec<usize>,
    lost: bool,
    next_dist: u32,
    dist: u32,
    shadow: bool,
    carried_shadow: bool,
    request: Option<usize>,
    epoch: u8,
    /// `m_hdr_lane`/`m_hdr_valid` decoded.
    hdr_lanes: Vec<usize>,
}

type Seen = Option<Walked>;

fn drive(beats: &[Option<Beat>]) -> Vec<Seen> {
    let mut uut = PduChainWalk64::new();
    uut.connect_all();
    let latency = PduChainWalk64::LATENCY;
    let mut seen = Vec::new();
    for i in 0..beats.len() + latency {
        match beats.get(i).cloned().flatten() {
            Some(b) => {
                uut.s_valid.next = true;
                uut.s_header_ok.next = (0..W).fold(Bits::default(), |acc, l| acc.replace_bit(l, b.ok[l]));
                let mut plen = vec![0u8; 256];
                for (l, p) in b.plen.iter().enumerate() {
                    plen[4 * l..4 * l + 4].copy_from_slice(&p.to_le_bytes());
                }
                uut.s_plen.next = ddpnic_hdl::bytes::bits_from_lanes(&plen);
                uut.s_flow.next = u64::from(b.flow).into();
                uut.s_first.next = b.first;
                uut.s_stop.next = (b.stop as u64).into();
                uut.s_restart.next = b.restart.is_some();
                uut.s_restart_dist.next = u64::from(b.restart.unwrap_or(0)).into();
                uut.s_lose.next = b.lose;
                uut.s_confirm.next = b.confirm.is_some();
                uut.s_confirm_epoch.next = u64::from(b.confirm.unwrap_or(0)).into();
            }
            None => uut.s_valid.next = false,
        }
        cycle(&mut uut, |u| &mut u.clock);
        if i + 1 >= latency {
            seen.push(uut.m_valid.val().then(|| Walked {
                headers: (0..W).filter(|&l| uut.m_headers.val().get_bit(l)).collect(),
                lost: uut.m_lost.val(),
                next_dist: uut.m_next_dist.val().to_u32(),
                dist: uut.m_dist.val().to_u32(),
                shadow: uut.m_shadow.val(),
                carried_shadow: uut.m_carried_shadow.val(),
                request: uut.m_request.val().then(|| uut.m_request_lane.val().to_u64() as usize),
                epoch: uut.m_request_epoch.val().to_u64() as u8,
                hdr_lanes: (0..3).filter(|&k| uut.m_hdr_valid.val().get_bit(k)).map(|k| (uut.m_hdr_lane.val().to_u64() >> (6 * k) & 63) as usize).collect(),
            }));
        }
    }
    seen
}

/// Every beat against the flows' truth: in-sync beats report exactly the true headers and the
/// distance to the next one; a lost flow reports nothing in sync (unless a confirmation took
/// effect) and its requests name true PDU starts.
fn check(beats: &[Option<Beat>], seen: &[Seen], starts: &HashMap<u16, HashSet<isize>>) {
    let (mut headers, mut three, mut lost, mut dists, mut requests) = (0, 0, 0, 0, 0);
    let mut confirmed: HashSet<u16> = HashSet::new();
    for (i, (b, got)) in beats.iter().zip(seen).enumerate() {
        let Some(b) = b else {
            assert!(got.is_none(), "cycle {i}: output without input");
            continue;
        };
        let w = got.as_ref().unwrap_or_else(|| panic!("beat {i}: no output"));
        let (h, d) = (&w.headers, &w.next_dist);
        assert_eq!(&w.hdr_lanes, h, "beat {i}: header lanes in order, as in m_headers");
        if b.confirm.is_some() {
            confirmed.insert(b.flow);
        }
        if let Some(lane) = w.request {
            assert!(starts[&b.flow].contains(&(b.pos0 + lane as isize)), "beat {i} (flow {}): request at lane {lane} is not a PDU start", b.flow);
            requests += 1;
        }
        match &b.expected {
            Some((expected, next)) => {
                assert!(!w.lost && !w.shadow, "beat {i} (flow {}): lost in a sound stream", b.flow);
                assert_eq!(h, expected, "beat {i} (flow {}): header lanes", b.flow);
                assert!(!w.carried_shadow, "beat {i} (flow {}): carried PDU in sync", b.flow);
                if let Some(next) = next {
                    assert_eq!(d, next, "beat {i} (flow {}): distance to the next header", b.flow);
                    dists += 1;
                }
                headers += h.len();
                three += usize::from(h.len() == 3);
            }
            None => {
                assert!(w.shadow || confirmed.contains(&b.flow), "beat {i} (flow {}): a lost flow offloads nothing until confirmed", b.flow);
                lost += 1;
            }
        }
    }
    assert!(headers > 2000 && three > 20 && lost > 100 && dists > 2000 && requests > 5, "{headers} headers, {three} beats with three, {lost} lost beats, {dists} distances, {requests} requests");
}

#[test]
fn walks_every_header_of_interleaved_flows() {
    let (beats, starts) = scenario(1);
    check(&beats, &drive(&beats), &starts);
}

#[test]
fn verilog_matches_model() {
    let (beats, starts) = scenario(2);
    let beats = with_confirmations(beats, 3);
    let seen = drive(&beats);
    check(&beats, &seen, &starts);
    let latency = PduChainWalk64::LATENCY;
    let big = |v: u64| BigUint::from(v);
    let cycles: Vec<Cycle> = (0..beats.len() + latency)
        .map(|i| {
            let inputs = match beats.get(i).cloned().flatten() {
                Some(b) => {
                    let ok = b.ok.iter().enumerate().fold(BigUint::default(), |acc, (l, &o)| if o { acc | (big(1) << l) } else { acc });
                    let plen = b.plen.iter().enumerate().fold(BigUint::default(), |acc, (l, &p)| acc | (big(p.into()) << (32 * l)));
                    let restart = b.restart.is_some();
                    let confirm = [big(b.confirm.is_some().into()), big(b.confirm.unwrap_or(0).into())];
                    [vec![big(1), ok, plen, big(b.flow.into()), big(b.first.into()), big(b.stop as u64), big(restart.into()), big(b.restart.unwrap_or(0).into()), big(b.lose.into())], confirm.to_vec()].concat()
                }
                None => vec![big(0); 11],
            };
            let (expected, care) = match i.checked_sub(latency - 1).and_then(|k| seen.get(k)) {
                Some(Some(w)) => {
                    let hb = w.headers.iter().fold(BigUint::default(), |acc, &lane| acc | (big(1) << lane));
                    let lanes = w.hdr_lanes.iter().enumerate().fold(0u64, |acc, (k, &l)| acc | (l as u64) << (6 * k));
                    let expected = [w.lost, w.shadow, w.carried_shadow, w.request.is_some()].map(|b| big(b.into()));
                    (
                        [vec![big(1), hb], expected[..1].to_vec(), vec![big(w.next_dist.into()), big(w.dist.into())], expected[1..].to_vec()].concat()
                            .into_iter()
                            .chain([big(w.request.unwrap_or(0) as u64), big(w.epoch.into()), big(lanes), big((1 << w.hdr_lanes.len()) - 1)])
                            .collect(),
                        vec![big(1); 12].into_iter().enumerate().map(|(k, one)| match k {
                            1 => (big(1) << 64) - 1u32,
                            3 | 4 => big(0xFFFF_FFFF),
                            8 => if w.request.is_some() { big(63) } else { big(0) },
                            9 => big(15),
                            10 => big((1 << 18) - 1),
                            11 => big(7),
                            _ => one,
                        }).collect(),
                    )
                }
                Some(None) => (vec![big(0); 12], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0].map(big).to_vec()),
                None => (vec![big(0); 12], vec![big(0); 12]),
            };
            Cycle { inputs, expected, care }
        })
        .collect();
    let replay = Replay {
        top: "pdu_chain_walk".into(),
        verilog: verilog_for(&mut PduChainWalk64::new(), "pdu_chain_walk"),
        clock: "clock",
        inputs: vec![("s_valid", 1), ("s_header_ok", 64), ("s_plen", 2048), ("s_flow", 12), ("s_first", 1), ("s_stop", 7), ("s_restart", 1), ("s_restart_dist", 32), ("s_lose", 1), ("s_confirm", 1), ("s_confirm_epoch", 4)],
        outputs: vec![
            ("m_valid", 1), ("m_headers", 64), ("m_lost", 1), ("m_next_dist", 32), ("m_dist", 32), ("m_shadow", 1), ("m_carried_shadow", 1), ("m_request", 1),
            ("m_request_lane", 6), ("m_request_epoch", 4), ("m_hdr_lane", 18), ("m_hdr_valid", 3),
        ],
    };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &cycles);
}
