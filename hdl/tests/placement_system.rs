//! The placement unit (tag table + SGL store + DMA writer) in Verilator, driven cycle by cycle
//! against the byte-level reference: random SGLs (1..=256 entries, odd lengths, unaligned
//! and high addresses, contiguous neighbours), random data offsets and packet splits,
//! interleaved tags and flows, CID reuse, setup and teardown racing live traffic, and every
//! kind of bad input. The host-memory model records every DMA byte and fails on any byte
//! outside a live buffer or differing from the wire; every verdict, lookup and event is checked.
mod placement_common;

use ddpnic_hdl::placement::model::{setup_status, wire_byte, HostMemory, Sgl};
use ddpnic_hdl::placement::tag_table::TagTable;
use ddpnic_hdl::placement::top::PLACE_LATENCY;
use ddpnic_hdl::placement::*;
use placement_common::{Beat, Ctrl, Driver, Inputs};
use rand::{rngs::SmallRng, Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// A beat presented up to this many steps after the teardown word was taken may still be
/// placed; from the next step on it never is (exact, checked).
const TEARDOWN_GRACE: u64 = 2;

#[derive(Clone, Debug)]
struct Cmd {
    tag: u64,
    flow: u64,
    cid: u64,
    seed: u64,
    sgl: Sgl,
    rows: (usize, usize),
    expect: u64,
    /// Owns the tag (false for deliberate busy-tag setups).
    owner: bool,
    gen: u64,
    taken_at: Option<u64>,
    live_since: Option<u64>,
    torn_at: Option<u64>,
    finished: bool,
    failed: bool,
    cursor: Option<(u64, u64)>,
    next_chunk: u64,
    beats_placed: u64,
}

struct PendingBeat {
    step: u64,
    beat: Beat,
}

#[derive(Default, Debug)]
struct Counts {
    setups_ok: u64,
    setup_fail: BTreeMap<u64, u64>,
    refused: u64,
    teardowns: u64,
    verdicts: BTreeMap<u64, u64>,
    bytes_placed: u64,
    writes: u64,
    segs: u64,
    lookups_hit: u64,
    lookups_miss: u64,
    lookups_unchecked: u64,
    raced_teardown_beats: u64,
    stale_after_reuse: u64,
}

struct World {
    p: PlacementParams,
    rng: SmallRng,
    d: Driver,
    mem: HostMemory,
    cmds: Vec<Cmd>,
    queue: VecDeque<(Ctrl, Option<usize>)>,
    tag_owner: HashMap<u64, usize>,
    /// Expected refusals by tag: the statuses allowed.
    refusals: HashMap<u64, Vec<Vec<u64>>>,
    rows_free: Vec<bool>,
    host_lo: u64,
    host_hi: u64,
    beats: VecDeque<PendingBeat>,
    lookups: VecDeque<(u64, u64, u64)>,
    open_write: Option<(u64, u64, usize, u64)>,
    last_cmd: Option<usize>,
    step: u64,
    c: Counts,
    draining: bool,
    max_live: usize,
}

impl World {
    fn new(p: PlacementParams, seed: u64, max_live: usize) -> Self {
        Self {
            p,
            rng: SmallRng::seed_from_u64(seed),
            d: Driver::new(p),
            mem: HostMemory::default(),
            cmds: Vec::new(),
            queue: VecDeque::new(),
            tag_owner: HashMap::new(),
            refusals: HashMap::new(),
            rows_free: vec![true; 1 << (p.pool_bits - 4)],
            host_lo: 0x1_0000_0000,
            host_hi: 0xFFFF_8000_0000_0000,
            beats: VecDeque::new(),
            lookups: VecDeque::new(),
            open_write: None,
            last_cmd: None,
            step: 0,
            c: Counts::default(),
            draining: false,
            max_live,
        }
    }

    fn alloc_rows(&mut self, n: usize) -> Option<usize> {
        let rows = self.rows_free.len();
        let start = self.rng.gen_range(0..rows);
        for k in 0..rows {
            let r = (start + k) % rows;
            if r % 16 + n > 16 || r + n > rows {
                continue;
            }
            if (r..r + n).all(|x| self.rows_free[x]) {
                (r..r + n).for_each(|x| self.rows_free[x] = false);
                return Some(r);
            }
        }
        None
    }

    fn free_rows(&mut self, (r, n): (usize, usize)) {
        (r..r + n).for_each(|x| {
            assert!(!self.rows_free[x]);
            self.rows_free[x] = true
        });
    }

    fn random_sgl(&mut self) -> Sgl {
        let r = &mut self.rng;
        let n = match r.gen_range(0..100) {
            0..=59 => r.gen_range(1..=4),
            60..=84 => r.gen_range(5..=16),
            85..=96 => r.gen_range(17..=64),
            _ => r.gen_range(65..=MAX_SGL_ENTRIES),
        };
        let high = r.gen_bool(0.2);
        let mut entries = Vec::with_capacity(n);
        let mut prev_end = 0;
        for i in 0..n {
            let len: u32 = if n == 1 {
                r.gen_range(1..=70_000)
            } else if i == 0 || i == n - 1 {
                r.gen_range(1..=5000)
            } else if r.gen_bool(0.3) {
                4096
            } else {
                r.gen_range(64..=9000)
            };
            let next = if high { &mut self.host_hi } else { &mut self.host_lo };
            let addr = if i > 0 && r.gen_bool(0.2) {
                prev_end
            } else {
                let a = *next + r.gen_range(0..3) * 4096 + if r.gen_bool(0.5) { r.gen_range(0..4096) } else { 4096 - r.gen_range(0..64) };
                a
            };
            prev_end = addr + u64::from(len);
            *next = prev_end.max(*next) + 1;
            entries.push((addr, len));
        }
        Sgl(entries)
    }

    fn free_tag(&mut self) -> Option<u64> {
        for _ in 0..50 {
            let t = self.rng.gen_range(0..1u64 << self.p.tag_bits.min(12));
            if !self.tag_owner.contains_key(&t) {
                return Some(t);
            }
        }
        None
    }

    fn new_key(&mut self) -> (u64, u64) {
        // CID reuse: the key of a torn-down command.
        if self.rng.gen_bool(0.3) {
            let torn: Vec<usize> = (0..self.cmds.len()).filter(|&i| self.cmds[i].torn_at.is_some()).collect();
            if let Some(&i) = torn.get(self.rng.gen_range(0..torn.len().max(1))) {
                let (f, c) = (self.cmds[i].flow, self.cmds[i].cid);
                if !self.cmds.iter().any(|x| x.flow == f && x.cid == c && !x.finished && x.torn_at.is_none()) {
                    return (f, c);
                }
            }
        }
        loop {
            let (f, c) = (self.rng.gen_range(0..16), self.rng.gen_range(0..0x10000));
            if !self.cmds.iter().any(|x| x.flow == f && x.cid == c && !x.finished) {
                return (f, c);
            }
        }
    }

    fn enqueue_setup(&mut self, tag: u64, owner: bool) {
        let mut sgl = self.random_sgl();
        let (flow, cid) = self.new_key();
        let n = sgl.0.len();
        let nrows = n.div_ceil(16);
        let Some(row) = self.alloc_rows(nrows) else { return };
        let mut base = (row * 16) as u64;
        if n <= 16 {
            base += self.rng.gen_range(0..=(16 - n)) as u64;
        }
        let count = n as u64;
        // Deliberate failures: a short interior entry, bad geometry, a zero-length entry.
        match self.rng.gen_range(0..100) {
            0..=1 if n >= 3 => sgl.0[1].1 = self.rng.gen_range(1..64),
            // A tag of <= 16 entries crossing its row.
            2 if n <= 16 && n > 1 => base = (row * 16 + 16 - n + 1) as u64,
            3 => sgl.0[n - 1].1 = 0,
            _ => {}
        }
        let mut expect = setup_status(self.p.tag_bits, self.p.pool_bits, tag, base, n, &sgl);
        if expect == status::OK && !owner {
            expect = status::TAG_BUSY;
        }
        let seed = self.rng.gen();
        let idx = self.cmds.len();
        self.cmds.push(Cmd {
            tag, flow, cid, seed, sgl: sgl.clone(), rows: (row, nrows), expect, owner, gen: 0, taken_at: None, live_since: None,
            torn_at: None, finished: false, failed: false, cursor: None, next_chunk: 0, beats_placed: 0,
        });
        if owner {
            self.tag_owner.insert(tag, idx);
        }
        self.queue.push_back((Ctrl { op: OP_SETUP, tag, flow, cid, base, count, ..Default::default() }, Some(idx)));
        for &(addr, len) in &sgl.0 {
            self.queue.push_back((Ctrl { op: OP_ENTRY, addr, len: u64::from(len), ..Default::default() }, None));
        }
    }

    fn plan_control(&mut self) {
        if self.queue.len() > 3 {
            return;
        }
        let live: Vec<usize> = (0..self.cmds.len()).filter(|&i| self.cmds[i].live_since.is_some() && self.cmds[i].torn_at.is_none() && !self.cmds[i].finished).collect();
        let busy = self.cmds.iter().filter(|c| !c.finished).count();
        let r = self.rng.gen_range(0..100);
        if self.draining {
            if let Some(&i) = live.first() {
                self.queue.push_back((Ctrl { op: OP_TEARDOWN, tag: self.cmds[i].tag, ..Default::default() }, Some(i)));
                self.cmds[i].torn_at = Some(u64::MAX); // queued; set when taken
            }
            return;
        }
        if r < 3 {
            // Refusals: teardown of a tag that is not set up; a second teardown.
            if let Some(t) = self.free_tag() {
                self.refusals.entry(t).or_default().push(vec![status::NOT_SET_UP]);
                self.tag_owner.insert(t, usize::MAX);
                self.queue.push_back((Ctrl { op: OP_TEARDOWN, tag: t, ..Default::default() }, None));
            }
        } else if r < 5 && !live.is_empty() {
            // A setup on a live tag: refused as busy.
            let i = live[self.rng.gen_range(0..live.len())];
            let t = self.cmds[i].tag;
            self.enqueue_setup(t, false);
        } else if r < 55 && busy < self.max_live {
            if let Some(t) = self.free_tag() {
                self.enqueue_setup(t, true);
            }
        } else if r < 55 + (live.len() * 40 / self.max_live.max(1)) as u32 && !live.is_empty() {
            let i = live[self.rng.gen_range(0..live.len())];
            if self.cmds[i].beats_placed > 0 || self.rng.gen_bool(0.2) {
                self.queue.push_back((Ctrl { op: OP_TEARDOWN, tag: self.cmds[i].tag, ..Default::default() }, Some(i)));
                self.cmds[i].torn_at = Some(u64::MAX);
                if self.rng.gen_bool(0.1) {
                    self.refusals.entry(self.cmds[i].tag).or_default().push(vec![status::ALREADY_TORN, status::NOT_SET_UP]);
                    self.queue.push_back((Ctrl { op: OP_TEARDOWN, tag: self.cmds[i].tag, ..Default::default() }, None));
                }
            }
        }
    }

    /// A beat for this step, if any.
    fn plan_beat(&mut self) -> Option<Beat> {
        if !self.rng.gen_bool(0.85) {
            return None;
        }
        let pending_tag = |w: &World, t: u64| w.cmds.iter().any(|c| c.tag == t && c.taken_at.is_some() && c.live_since.is_none() && !c.failed && c.expect == status::OK);
        let eligible: Vec<usize> = (0..self.cmds.len())
            .filter(|&i| {
                let c = &self.cmds[i];
                c.live_since.is_some() && !c.finished && c.torn_at.map_or(true, |ta| ta == u64::MAX || self.step <= ta + TEARDOWN_GRACE + 3)
            })
            .collect();
        let mut data = [0u8; 64];
        self.rng.fill(&mut data[..]);
        let kind = self.rng.gen_range(0..100);
        if kind < 80 && !eligible.is_empty() {
            let i = match self.last_cmd {
                Some(i) if eligible.contains(&i) && self.rng.gen_bool(0.7) => i,
                _ => eligible[self.rng.gen_range(0..eligible.len())],
            };
            self.last_cmd = Some(i);
            let total = self.cmds[i].sgl.total();
            let (mut off, end) = match self.cmds[i].cursor {
                Some((o, e)) if o < e => (o, e),
                _ => {
                    let start = if self.rng.gen_bool(0.5) && self.cmds[i].next_chunk < total { self.cmds[i].next_chunk } else { self.rng.gen_range(0..total) };
                    let len = self.rng.gen_range(1..=(total - start).min(4000));
                    (start, start + len)
                }
            };
            let lane = if self.cmds[i].cursor.map_or(true, |(o, e)| o >= e) || self.rng.gen_bool(0.1) { self.rng.gen_range(0..64) } else { 0 };
            let mut count = (64 - lane).min((end - off) as usize);
            if self.rng.gen_bool(0.15) {
                count = self.rng.gen_range(1..=count);
            }
            let c = &self.cmds[i];
            for k in 0..count {
                data[lane + k] = wire_byte(c.seed, off + k as u64);
            }
            let beat = Beat { flow: c.flow, tag: c.tag, gen: c.gen, offset: off, lane, count, data };
            off += count as u64;
            self.cmds[i].cursor = Some((off, end));
            self.cmds[i].next_chunk = off;
            return Some(beat);
        }
        // Bad beats.
        let mut b = Beat { flow: self.rng.gen_range(0..16), tag: self.rng.gen_range(0..1 << self.p.tag_bits.min(12)), gen: self.rng.gen_range(0..256), offset: self.rng.gen_range(0..100_000), lane: self.rng.gen_range(0..64), count: 1, data };
        b.count = self.rng.gen_range(1..=64 - b.lane);
        let all: Vec<usize> = (0..self.cmds.len()).filter(|&i| self.cmds[i].live_since.is_some()).collect();
        if let Some(&i) = all.get(self.rng.gen_range(0..all.len().max(1))) {
            let c = &self.cmds[i];
            (b.tag, b.flow, b.gen) = (c.tag, c.flow, c.gen);
            let total = c.sgl.total();
            match self.rng.gen_range(0..5) {
                0 => b.flow ^= self.rng.gen_range(1..16),
                1 => b.gen = (b.gen + self.rng.gen_range(1..256)) % 256,
                2 => b.offset = total.saturating_sub(self.rng.gen_range(0..b.count as u64)) + self.rng.gen_range(0..3),
                3 => b.count = if self.rng.gen_bool(0.5) { 0 } else { 65 - b.lane.min(60) + self.rng.gen_range(0..3) },
                _ => {
                    // A valid beat at a random offset (a jump), with the right data.
                    b.offset = self.rng.gen_range(0..total.max(1));
                    b.count = b.count.min((total - b.offset) as usize);
                    for k in 0..b.count {
                        b.data[b.lane + k] = wire_byte(c.seed, b.offset + k as u64);
                    }
                }
            }
            if b.count > 127 {
                b.count = 127;
            }
        } else if self.p.tag_bits < 16 && self.rng.gen_bool(0.3) {
            b.tag = self.rng.gen_range(1u64 << self.p.tag_bits..1 << 16);
        }
        if pending_tag(self, b.tag) {
            return None;
        }
        Some(b)
    }

    /// The reference verdict for a beat presented at `step`: (reason, owner command).
    fn expected(&self, b: &Beat, step: u64) -> (u64, Option<usize>) {
        if b.count == 0 || b.lane + b.count > 64 || b.tag >> self.p.tag_bits != 0 {
            return (reason::BAD_INPUT, None);
        }
        let owner = (0..self.cmds.len()).find(|&i| {
            let c = &self.cmds[i];
            c.owner && c.tag == b.tag && c.live_since.is_some_and(|l| l < step) && c.torn_at.map_or(true, |ta| ta == u64::MAX || step <= ta + TEARDOWN_GRACE)
        });
        let Some(i) = owner else { return (reason::NOT_LIVE, None) };
        let c = &self.cmds[i];
        let r = if c.flow != b.flow {
            reason::WRONG_FLOW
        } else if c.gen != b.gen {
            reason::STALE
        } else if b.offset + b.count as u64 > c.sgl.total() {
            reason::OUT_OF_BOUNDS
        } else {
            reason::PLACED
        };
        (r, Some(i))
    }

    fn check_placed(&mut self, pb: &PendingBeat, owner: usize, dma: &placement_common::DmaBeat) {
        let b = &pb.beat;
        assert_eq!(dma.tag, b.tag, "step {}: DMA tag", pb.step);
        assert_eq!(&dma.data[b.lane..b.lane + b.count], &b.data[b.lane..b.lane + b.count], "step {}: DMA data differs from the beat", pb.step);
        let mut lane = b.lane;
        for s in &dma.segs {
            assert_eq!(s.lane, lane, "step {}: segments must cover the lanes in order: {:?} for {b:?}", pb.step, dma.segs);
            assert!(s.count >= 1 && s.count <= 64);
            let mps = self.p.mps as u64;
            assert_eq!(s.addr / mps, (s.addr + s.count as u64 - 1) / mps, "step {}: segment crosses an MPS boundary: {s:?}", pb.step);
            for k in 0..s.count {
                let off = b.offset + (s.lane + k - b.lane) as u64;
                let want = self.cmds[owner].sgl.addr_of(off).expect("in bounds");
                assert_eq!(s.addr + k as u64, want, "step {}: byte at offset {off} written to the wrong address", pb.step);
                self.mem.write(self.step, s.addr + k as u64, dma.data[s.lane + k]);
            }
            // PCIe write framing.
            if s.sop {
                assert!(self.open_write.is_none(), "step {}: sop inside an open write", self.step);
                self.open_write = Some((s.addr, s.addr, 0, b.tag));
            }
            let (start, next, bytes, tag) = self.open_write.expect("segment outside a write (no sop)");
            assert!(next == s.addr && tag == b.tag, "step {}: write not contiguous", self.step);
            let (next, bytes) = (next + s.count as u64, bytes + s.count);
            assert!(bytes <= self.p.mps, "write longer than MPS");
            assert_eq!(start / 4096, (next - 1) / 4096, "write crosses 4 KiB");
            self.open_write = Some((start, next, bytes, tag));
            self.c.segs += 1;
            if s.eop {
                self.open_write = None;
                self.c.writes += 1;
            }
            lane += s.count;
        }
        assert_eq!(lane, b.lane + b.count, "step {}: segments cover {} bytes of {}", pb.step, lane - b.lane, b.count);
        self.c.bytes_placed += b.count as u64;
        self.cmds[owner].beats_placed += 1;
    }

    fn handle_event(&mut self, (kind, tag, st): (u64, u64, u64)) {
        match kind {
            EV_SETUP_OK | EV_SETUP_FAILED => {
                let i = (0..self.cmds.len())
                    .find(|&i| self.cmds[i].tag == tag && self.cmds[i].taken_at.is_some() && self.cmds[i].live_since.is_none() && !self.cmds[i].failed)
                    .unwrap_or_else(|| panic!("step {}: setup event for tag {tag} without a setup", self.step));
                let c = &self.cmds[i];
                let table_full_ok = self.p.hash_bits <= 4 && c.expect == status::OK && st == status::TABLE_FULL;
                if kind == EV_SETUP_OK {
                    assert_eq!(c.expect, status::OK, "step {}: setup of tag {tag} succeeded, expected status {}", self.step, c.expect);
                    let gen = (self.cmds.iter().filter(|x| x.tag == tag && x.live_since.is_some() && x.owner).count() as u64 + 1) % 256;
                    let c = &mut self.cmds[i];
                    c.gen = gen;
                    c.live_since = Some(self.step);
                    self.c.setups_ok += 1;
                } else {
                    assert!(st == c.expect || table_full_ok, "step {}: setup of tag {tag} failed with {st}, expected {}", self.step, c.expect);
                    let (seed, rows, owner) = (c.seed, c.rows, c.owner);
                    self.cmds[i].failed = true;
                    self.cmds[i].finished = true;
                    self.mem.release(seed);
                    self.free_rows(rows);
                    if owner {
                        self.tag_owner.remove(&tag);
                    }
                    *self.c.setup_fail.entry(st).or_default() += 1;
                }
            }
            EV_TEARDOWN_DONE => {
                let i = *self.tag_owner.get(&tag).unwrap_or_else(|| panic!("step {}: teardown done for unowned tag {tag}", self.step));
                let ta = self.cmds[i].torn_at.expect("teardown done before teardown");
                assert!(ta != u64::MAX, "teardown done before the teardown word was taken");
                for pb in &self.beats {
                    assert!(
                        !(pb.beat.tag == tag && pb.step <= ta + TEARDOWN_GRACE),
                        "step {}: teardown done for tag {tag} while a beat of step {} (teardown at {ta}) is still in flight",
                        self.step,
                        pb.step
                    );
                }
                let (seed, rows) = (self.cmds[i].seed, self.cmds[i].rows);
                self.mem.release(seed);
                self.free_rows(rows);
                self.cmds[i].finished = true;
                self.tag_owner.remove(&tag);
                self.c.teardowns += 1;
            }
            EV_REFUSED => {
                let allowed = self.refusals.get_mut(&tag).and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
                let allowed = allowed.unwrap_or_else(|| panic!("step {}: unexpected refusal of tag {tag} (status {st})", self.step));
                assert!(allowed.contains(&st), "step {}: refusal status {st}, allowed {allowed:?}", self.step);
                if self.tag_owner.get(&tag) == Some(&usize::MAX) {
                    self.tag_owner.remove(&tag);
                }
                self.c.refused += 1;
            }
            _ => unreachable!(),
        }
    }

    fn check_lookup(&mut self, s: u64, flow: u64, cid: u64, got: (bool, u64, u64)) {
        let (mut sure, mut maybe) = (Vec::new(), 0);
        for c in self.cmds.iter().filter(|c| c.owner && c.flow == flow && c.cid == cid && c.taken_at.is_some_and(|t| t < s)) {
            if c.failed {
                continue;
            }
            let torn = c.torn_at.is_some_and(|ta| ta != u64::MAX && s > ta);
            match c.live_since {
                Some(l) if l < s && !torn => sure.push((c.tag, c.gen)),
                Some(_) if torn => {}
                _ if c.expect == status::OK && !torn => maybe += 1,
                _ => {}
            }
        }
        if maybe > 0 || sure.len() > 1 {
            self.c.lookups_unchecked += 1;
        } else if let Some(&(tag, gen)) = sure.first() {
            assert_eq!(got, (true, tag, gen), "step {s}: lookup ({flow}, {cid:#x})");
            self.c.lookups_hit += 1;
        } else {
            assert!(!got.0, "step {s}: lookup ({flow}, {cid:#x}) hit {got:?}, nothing is set up");
            self.c.lookups_miss += 1;
        }
    }

    fn run(&mut self, steps: u64) {
        let mut drain_steps = 0;
        loop {
            if self.step >= steps && !self.draining {
                self.draining = true;
            }
            if self.draining {
                drain_steps += 1;
                assert!(drain_steps < 200_000, "drain does not finish");
                if self.queue.is_empty() && self.cmds.iter().all(|c| c.finished) && self.beats.is_empty() && self.tag_owner.is_empty() {
                    break;
                }
            }
            self.plan_control();
            let ctrl = self.queue.front().map(|q| q.0.clone());
            let place = if self.draining { None } else { self.plan_beat() };
            let lookup = if self.rng.gen_bool(0.3) {
                let ks: Vec<(u64, u64)> = self.cmds.iter().rev().take(50).map(|c| (c.flow, c.cid)).collect();
                Some(if !ks.is_empty() && self.rng.gen_bool(0.8) { ks[self.rng.gen_range(0..ks.len())] } else { (self.rng.gen_range(0..4096), self.rng.gen_range(0..0x10000)) })
            } else {
                None
            };
            let event_ready = self.rng.gen_bool(0.9);
            let s = self.d.step(&Inputs { ctrl, event_ready, lookup, place: place.clone() });
            let now = self.step + 1; // the edge this step applied
            self.step = now;
            if let Some(b) = place {
                self.beats.push_back(PendingBeat { step: now, beat: b });
            }
            if let Some((f, c)) = lookup {
                self.lookups.push_back((now, f, c));
            }
            if s.ctrl_taken {
                let (w, meta) = self.queue.pop_front().unwrap();
                if let Some(i) = meta {
                    if w.op == OP_SETUP {
                        self.cmds[i].taken_at = Some(now);
                        if self.cmds[i].expect == status::OK {
                            let (seed, sgl) = (self.cmds[i].seed, self.cmds[i].sgl.clone());
                            self.mem.register(seed, &sgl);
                        }
                    } else {
                        self.cmds[i].torn_at = Some(now);
                    }
                }
            }
            if let Some(ev) = s.event {
                self.handle_event(ev);
            }
            if let Some((hit, tag, gen)) = s.out.lookup {
                let (ls, f, c) = self.lookups.pop_front().expect("lookup result without a lookup");
                assert_eq!(ls + TagTable::LOOKUP_LATENCY as u64 - 1, now, "lookup latency");
                self.check_lookup(ls, f, c, (hit, tag, gen));
            }
            match s.out.place {
                Some((ok, r)) => {
                    let pb = self.beats.pop_front().expect("verdict without a beat");
                    assert_eq!(pb.step + PLACE_LATENCY as u64 - 1, now, "placement latency");
                    let (want, owner) = self.expected(&pb.beat, pb.step);
                    let raced = owner.is_some_and(|i| self.cmds[i].torn_at.is_some_and(|ta| ta != u64::MAX && pb.step > ta));
                    self.c.raced_teardown_beats += u64::from(raced && ok);
                    assert_eq!((ok, r), (want == reason::PLACED, want), "step {}: verdict for {:?} (owner {:?})", pb.step, pb.beat, owner.map(|i| &self.cmds[i]));
                    *self.c.verdicts.entry(r).or_default() += 1;
                    if ok {
                        let dma = s.out.dma.clone().unwrap_or_else(|| panic!("step {}: placed without DMA segments", pb.step));
                        self.check_placed(&pb, owner.unwrap(), &dma);
                    } else {
                        assert!(s.out.dma.is_none(), "step {}: DMA for a refused beat", pb.step);
                        if r == reason::STALE {
                            self.c.stale_after_reuse += 1;
                        }
                    }
                }
                None => assert!(s.out.dma.is_none(), "DMA without a verdict"),
            }
            if s.out.dma.is_none() {
                assert!(self.open_write.is_none(), "step {now}: a write was left open");
            }
            assert!(self.mem.errors.is_empty(), "host memory: {:#?}", &self.mem.errors[..self.mem.errors.len().min(5)]);
        }
        for _ in 0..20 {
            let s = self.d.step(&Inputs { event_ready: true, ..Default::default() });
            assert!(s.event.is_none() && s.out.place.is_none() && s.out.dma.is_none());
        }
        let st = &self.d.last.stats;
        let v = |r: u64| self.c.verdicts.get(&r).copied().unwrap_or(0);
        assert_eq!(st["m_stat_placed_beats"], v(reason::PLACED));
        assert_eq!(st["m_stat_placed_bytes"], self.c.bytes_placed);
        assert_eq!(st["m_stat_bad_input"], v(reason::BAD_INPUT));
        assert_eq!(st["m_stat_not_live"], v(reason::NOT_LIVE));
        assert_eq!(st["m_stat_wrong_flow"], v(reason::WRONG_FLOW));
        assert_eq!(st["m_stat_stale"], v(reason::STALE));
        assert_eq!(st["m_stat_out_of_bounds"], v(reason::OUT_OF_BOUNDS));
        assert_eq!(st["m_stat_setups"], self.c.setups_ok);
        assert_eq!(st["m_stat_setup_fails"], self.c.setup_fail.values().sum::<u64>());
        assert_eq!(st["m_stat_teardowns"], self.c.teardowns);
        assert_eq!(self.mem.bytes_written, self.c.bytes_placed);
        println!("{} steps: {:#?}", self.step, self.c);
    }
}

#[test]
fn random_traffic_default_params() {
    let mut w = World::new(PlacementParams::default(), 1, 48);
    w.run(60_000);
    assert!(w.c.setups_ok > 300 && w.c.raced_teardown_beats > 0 && w.c.writes > 1000, "thin coverage: {:?}", w.c);
    for r in [reason::BAD_INPUT, reason::NOT_LIVE, reason::WRONG_FLOW, reason::STALE, reason::OUT_OF_BOUNDS] {
        assert!(w.c.verdicts.get(&r).copied().unwrap_or(0) > 10, "reason {r} rarely exercised: {:?}", w.c.verdicts);
    }
}

#[test]
fn random_traffic_small_tables() {
    // 64 tags, 2 x 4 buckets x 8 ways, a 1K-entry pool, MPS 128: tag and pool reuse, full buckets.
    let mut w = World::new(PlacementParams { tag_bits: 6, hash_bits: 2, pool_bits: 10, mps: 128 }, 2, 60);
    w.run(40_000);
    assert!(w.c.setups_ok > 200, "thin coverage: {:?}", w.c);
}
