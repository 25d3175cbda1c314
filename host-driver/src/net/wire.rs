//! The simulated wire between the NIC's MAC port (side A, "host") and the peer (side B):
//! serialisation at a given bandwidth, a propagation latency, seeded fault injection and a
//! pcap tap at the NIC's MAC port.
//!
//! Faults are decided per frame from one seeded generator, always drawing the same number
//! of values per frame, so a seed gives the same run. Packets are parsed and rebuilt with
//! `etherparse`. Corruption flips a TCP payload byte and leaves the checksum stale, as a
//! damaged link would (the receiver's checksum check drops the segment, TCP retransmits);
//! re-segmentation splits one TCP segment into several with correct headers and checksums.

use super::pcap::PcapTap;
use super::port::Frame;
use super::time::SimTime;
use etherparse::{Ethernet2Header, NetSlice, SlicedPacket, TransportSlice};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::time::Duration;

/// Direction on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the NIC's MAC port to the peer.
    ToPeer = 0,
    /// From the peer to the NIC's MAC port.
    ToHost = 1,
}

/// Per-frame fault probabilities (0..=1) and the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    pub drop: f64,
    pub reorder: f64,
    pub duplicate: f64,
    /// Flip a TCP payload byte and leave the checksum stale (the receiver's TCP drops it).
    pub corrupt: f64,
    /// Flip a TCP payload byte and recompute the checksums: only the NVMe/TCP data digest
    /// (or the pattern check) can catch it.
    pub corrupt_valid: f64,
    pub resegment: f64,
    /// Extra delay of a reordered frame (later frames overtake it).
    pub reorder_delay: Duration,
    /// Which directions get faults (both by default).
    pub to_peer: bool,
    pub to_host: bool,
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            drop: 0.0,
            reorder: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
            corrupt_valid: 0.0,
            resegment: 0.0,
            reorder_delay: Duration::from_micros(5),
            to_peer: true,
            to_host: true,
            seed: 1,
        }
    }
}

impl Faults {
    /// Parses `drop=0.01,reorder=0.01,dup=0.01,corrupt=0.001,reseg=0.05,seed=7,delay-us=5,dir=both|to-host|to-peer`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut f = Faults::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = item.split_once('=').ok_or_else(|| format!("fault `{item}` is not key=value"))?;
            let p = || -> Result<f64, String> {
                let x: f64 = v.parse().map_err(|_| format!("`{v}` is not a number"))?;
                if (0.0..=1.0).contains(&x) {
                    Ok(x)
                } else {
                    Err(format!("probability {x} not in 0..1"))
                }
            };
            match k {
                "drop" => f.drop = p()?,
                "reorder" => f.reorder = p()?,
                "dup" | "duplicate" => f.duplicate = p()?,
                "corrupt" => f.corrupt = p()?,
                "corrupt-valid" => f.corrupt_valid = p()?,
                "reseg" | "resegment" => f.resegment = p()?,
                "seed" => f.seed = v.parse().map_err(|_| format!("seed `{v}` is not an integer"))?,
                "delay-us" => f.reorder_delay = Duration::from_micros(v.parse().map_err(|_| format!("`{v}` is not an integer"))?),
                "dir" => {
                    (f.to_peer, f.to_host) = match v {
                        "both" => (true, true),
                        "to-host" => (false, true),
                        "to-peer" => (true, false),
                        _ => return Err(format!("dir `{v}`: both, to-host or to-peer")),
                    }
                }
                _ => return Err(format!("unknown fault `{k}` (drop, reorder, dup, corrupt, corrupt-valid, reseg, seed, delay-us, dir)")),
            }
        }
        Ok(f)
    }

    pub fn any(&self) -> bool {
        self.drop + self.reorder + self.duplicate + self.corrupt + self.corrupt_valid + self.resegment > 0.0
    }
}

#[derive(Debug, Clone)]
pub struct WireConfig {
    /// Bits per second; 0 = infinitely fast.
    pub bandwidth_bps: u64,
    /// One-way propagation delay.
    pub latency: Duration,
    pub faults: Faults,
}

impl Default for WireConfig {
    fn default() -> Self {
        Self { bandwidth_bps: 100_000_000_000, latency: Duration::from_micros(1), faults: Faults::default() }
    }
}

/// What the wire saw and did. Index 0 = toward the peer, 1 = toward the host.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WireStats {
    pub frames: [u64; 2],
    pub bytes: [u64; 2],
    pub dropped: u64,
    pub reordered: u64,
    pub duplicated: u64,
    pub corrupted: u64,
    /// Corrupted with the checksums made valid again.
    pub corrupted_valid: u64,
    pub resegmented: u64,
    /// Extra segments the re-segmentation made.
    pub segments_added: u64,
    /// TCP segments that repeat sequence space the same sender already sent (retransmissions),
    /// counted where they enter the wire.
    pub retransmitted: [u64; 2],
}

impl fmt::Display for WireStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frames to-peer {} to-host {}; faults: dropped {}, reordered {}, duplicated {}, corrupted {} (+{} with valid checksums), resegmented {} (+{} segments); TCP retransmissions to-peer {} to-host {}",
            self.frames[0],
            self.frames[1],
            self.dropped,
            self.reordered,
            self.duplicated,
            self.corrupted,
            self.corrupted_valid,
            self.resegmented,
            self.segments_added,
            self.retransmitted[0],
            self.retransmitted[1]
        )
    }
}

/// (direction, source address, source port, destination address, destination port).
type FlowKey = (u8, [u8; 4], u16, [u8; 4], u16);

#[derive(Default)]
struct Lane {
    /// The transmitter is busy until then (serialisation).
    busy_until: SimTime,
    /// (delivery time, order of entry) -> frame.
    in_flight: BinaryHeap<Reverse<(SimTime, u64, Frame)>>,
}

pub struct Wire {
    config: WireConfig,
    rng: SmallRng,
    lanes: [Lane; 2],
    order: u64,
    stats: WireStats,
    /// Highest TCP sequence end sent per flow and direction.
    highest: HashMap<FlowKey, u32>,
    tap: Option<PcapTap>,
    tap_error: Option<std::io::Error>,
}

/// The parts of an IPv4/TCP frame the wire (and the offload's receive log) looks at.
pub(crate) struct TcpView {
    /// (source address, source port, destination address, destination port)
    pub key: ([u8; 4], u16, [u8; 4], u16),
    pub seq: u32,
    pub syn: bool,
    pub payload_start: usize,
    pub payload_len: usize,
}

pub(crate) fn tcp_view(frame: &[u8]) -> Option<TcpView> {
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    let Some(NetSlice::Ipv4(ip)) = &p.net else { return None };
    let Some(TransportSlice::Tcp(tcp)) = &p.transport else { return None };
    let h = ip.header();
    let payload = tcp.payload();
    Some(TcpView {
        key: (h.source(), tcp.source_port(), h.destination(), tcp.destination_port()),
        seq: tcp.sequence_number(),
        syn: tcp.syn(),
        payload_start: payload.as_ptr() as usize - frame.as_ptr() as usize,
        payload_len: payload.len(),
    })
}

/// Splits a TCP segment at the given payload offsets into several, each with its own
/// headers (sequence number, IP length and identification, checksums); PSH and FIN stay on
/// the last piece. No offsets: the segment rebuilt whole with fresh checksums. None if the frame is not IPv4/TCP with enough payload.
pub fn resegment(frame: &[u8], cuts: &[usize]) -> Option<Vec<Frame>> {
    let p = SlicedPacket::from_ethernet(frame).ok()?;
    let Some(NetSlice::Ipv4(ip)) = &p.net else { return None };
    let Some(TransportSlice::Tcp(tcp)) = &p.transport else { return None };
    let payload = tcp.payload();
    if cuts.iter().any(|&c| c == 0 || c >= payload.len()) || !cuts.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    let (eth, _) = Ethernet2Header::from_slice(frame).ok()?;
    let ip0 = ip.header().to_header();
    let tcp0 = tcp.to_header();
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(payload.len());
    let mut out = Vec::new();
    for (i, w) in bounds.windows(2).enumerate() {
        let piece = &payload[w[0]..w[1]];
        let last = w[1] == payload.len();
        let mut iph = ip0.clone();
        iph.identification = ip0.identification.wrapping_add(i as u16);
        iph.set_payload_len(tcp0.header_len() + piece.len()).ok()?;
        iph.header_checksum = iph.calc_header_checksum();
        let mut th = tcp0.clone();
        th.sequence_number = tcp0.sequence_number.wrapping_add(w[0] as u32);
        th.psh = tcp0.psh && last;
        th.fin = tcp0.fin && last;
        th.checksum = th.calc_checksum_ipv4(&iph, piece).ok()?;
        let mut f = Vec::with_capacity(14 + iph.header_len() + th.header_len() + piece.len());
        eth.write(&mut f).ok()?;
        iph.write(&mut f).ok()?;
        th.write(&mut f).ok()?;
        f.extend_from_slice(piece);
        out.push(f);
    }
    Some(out)
}

fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl Wire {
    pub fn new(config: WireConfig) -> Self {
        let rng = SmallRng::seed_from_u64(config.faults.seed);
        Self {
            config,
            rng,
            lanes: [Lane::default(), Lane::default()],
            order: 0,
            stats: WireStats::default(),
            highest: HashMap::new(),
            tap: None,
            tap_error: None,
        }
    }

    /// Records every frame at the NIC's MAC port: frames the NIC sends as they leave it,
    /// frames for the NIC as they reach it (after the faults).
    pub fn set_tap(&mut self, tap: PcapTap) {
        self.tap = Some(tap);
    }

    pub fn take_tap(&mut self) -> Option<PcapTap> {
        self.tap.take()
    }

    /// The first error writing the pcap, if any.
    pub fn tap_error(&self) -> Option<&std::io::Error> {
        self.tap_error.as_ref()
    }

    pub fn stats(&self) -> &WireStats {
        &self.stats
    }

    pub fn config(&self) -> &WireConfig {
        &self.config
    }

    fn record(&mut self, at: SimTime, frame: &[u8]) {
        if let Some(tap) = &mut self.tap {
            if let Err(e) = tap.write(at, frame) {
                self.tap_error.get_or_insert(e);
            }
        }
    }

    fn count_retransmission(&mut self, dir: Dir, frame: &[u8]) {
        let Some(v) = tcp_view(frame) else { return };
        if v.payload_len == 0 || v.syn {
            return;
        }
        let end = v.seq.wrapping_add(v.payload_len as u32);
        let key = (dir as u8, v.key.0, v.key.1, v.key.2, v.key.3);
        match self.highest.get_mut(&key) {
            Some(h) if seq_lt(v.seq, *h) => {
                self.stats.retransmitted[dir as usize] += 1;
                if seq_lt(*h, end) {
                    *h = end;
                }
            }
            Some(h) => *h = end,
            None => {
                self.highest.insert(key, end);
            }
        }
    }

    /// A frame enters the wire at `now` in direction `dir`.
    pub fn inject(&mut self, dir: Dir, now: SimTime, frame: Frame) {
        let d = dir as usize;
        self.stats.frames[d] += 1;
        self.stats.bytes[d] += frame.len() as u64;
        self.count_retransmission(dir, &frame);
        if dir == Dir::ToPeer {
            self.record(now, &frame);
        }
        // Always the same draws per frame, so one seed gives one run.
        let draws: [f64; 6] = std::array::from_fn(|_| self.rng.gen::<f64>());
        let aux: u64 = self.rng.gen();
        let f = &self.config.faults;
        let active = match dir {
            Dir::ToPeer => f.to_peer,
            Dir::ToHost => f.to_host,
        };
        if !active || !f.any() {
            self.schedule(dir, now, frame, Duration::ZERO);
            return;
        }
        let (p_drop, p_reseg, p_corrupt, p_dup, p_reorder, p_valid) =
            (f.drop, f.resegment, f.corrupt, f.duplicate, f.reorder, f.corrupt_valid);
        let reorder_delay = f.reorder_delay;
        if draws[0] < p_drop {
            self.stats.dropped += 1;
            return;
        }
        let mut frames = vec![frame];
        if draws[1] < p_reseg {
            if let Some(v) = tcp_view(&frames[0]).filter(|v| v.payload_len >= 2) {
                let pieces = (2 + (aux % 3) as usize).min(v.payload_len);
                let mut cuts: Vec<usize> = (1..pieces).map(|i| i * v.payload_len / pieces).collect();
                // Jitter the cut points a little, keeping them strictly increasing.
                for (i, c) in cuts.iter_mut().enumerate() {
                    let slack = v.payload_len / pieces / 2;
                    if slack > 0 {
                        *c = *c - slack / 2 + ((aux >> (8 * (i + 1))) as usize % slack);
                    }
                }
                if let Some(parts) = resegment(&frames[0], &cuts) {
                    self.stats.resegmented += 1;
                    self.stats.segments_added += parts.len() as u64 - 1;
                    frames = parts;
                }
            }
        }
        if draws[2] < p_corrupt {
            let which = (aux >> 40) as usize % frames.len();
            if let Some(v) = tcp_view(&frames[which]).filter(|v| v.payload_len > 0) {
                let at = v.payload_start + (aux as usize >> 3) % v.payload_len;
                frames[which][at] ^= 1 << (aux % 8);
                self.stats.corrupted += 1;
            }
        }
        if draws[5] < p_valid {
            let which = (aux >> 44) as usize % frames.len();
            if let Some(v) = tcp_view(&frames[which]).filter(|v| v.payload_len > 0) {
                let at = v.payload_start + (aux as usize >> 11) % v.payload_len;
                frames[which][at] ^= 1 << ((aux >> 5) % 8);
                // Rebuilt in one piece: fresh IPv4 and TCP checksums over the damaged bytes.
                if let Some(mut one) = resegment(&frames[which], &[]) {
                    frames[which] = one.remove(0);
                    self.stats.corrupted_valid += 1;
                }
            }
        }
        if draws[3] < p_dup {
            self.stats.duplicated += 1;
            let again = frames[frames.len() - 1].clone();
            frames.push(again);
        }
        let delay = if draws[4] < p_reorder {
            self.stats.reordered += 1;
            reorder_delay
        } else {
            Duration::ZERO
        };
        for f in frames {
            self.schedule(dir, now, f, delay);
        }
    }

    fn schedule(&mut self, dir: Dir, now: SimTime, frame: Frame, extra: Duration) {
        let lane = &mut self.lanes[dir as usize];
        let start = lane.busy_until.max(now);
        // Preamble, start delimiter, FCS and inter-frame gap: 24 bytes besides the frame.
        let bits = (frame.len().max(60) as u64 + 24) * 8;
        let serialise = match self.config.bandwidth_bps {
            0 => 0,
            bps => (bits as u128 * 1_000_000_000 / bps as u128) as u64,
        };
        lane.busy_until = SimTime(start.nanos() + serialise);
        let at = lane.busy_until + self.config.latency + extra;
        self.order += 1;
        lane.in_flight.push(Reverse((at, self.order, frame)));
    }

    /// The next frame that has arrived at the far end of `dir` by `now`.
    pub fn deliver(&mut self, dir: Dir, now: SimTime) -> Option<Frame> {
        let lane = &mut self.lanes[dir as usize];
        if lane.in_flight.peek()?.0 .0 > now {
            return None;
        }
        let Reverse((at, _, frame)) = lane.in_flight.pop()?;
        if dir == Dir::ToHost {
            self.record(at, &frame);
        }
        Some(frame)
    }

    /// When the next frame arrives anywhere.
    pub fn next_delivery(&self) -> Option<SimTime> {
        self.lanes.iter().filter_map(|l| l.in_flight.peek().map(|r| r.0 .0)).min()
    }

    pub fn in_flight(&self) -> usize {
        self.lanes.iter().map(|l| l.in_flight.len()).sum()
    }
}
