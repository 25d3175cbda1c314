//! TagTable in rust-hdl simulation (its `update()` model) against a reference of its contract,
//! closed loop: a host issues setups (random SGLs, every setup failure), teardowns (double,
//! of tags never set up, of tags out of range), unknown words, and duplicate keys, while
//! lookups run every other cycle and the test plays `SglStore`/`DmaWriter` by returning each
//! teardown token after a random delay; the event consumer stalls in bursts so the event FIFO
//! fills. The reference predicts every event (status included, `TABLE_FULL` from a model of
//! 2-choice bucket occupancy), every lookup result at the documented timing (a setup's key
//! matches from the cycle after its last word is taken; a teardown's key misses from the cycle
//! after the teardown word is taken), every descriptor, entry and token write to `SglStore`,
//! and the counters. Then the same cycles are replayed through the Verilog in Verilator.
use ddpnic_hdl::placement::model::{setup_status, Sgl};
use ddpnic_hdl::placement::tag_table::TagTable;
use ddpnic_hdl::placement::*;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Port, Replay}, settle, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::Block;
use std::collections::{BTreeMap, HashMap, VecDeque};

const LATENCY: usize = TagTable::LOOKUP_LATENCY;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Word {
    op: u64,
    tag: u64,
    flow: u64,
    cid: u64,
    base: u64,
    count: u64,
    addr: u64,
    len: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EntryW {
    index: u64,
    addr: u64,
    start: u64,
    l1: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DescW {
    tag: u64,
    live: bool,
    gen: u64,
    flow: u64,
    base: u64,
    last: u64,
    total: u64,
    token: bool,
}

#[derive(Clone, Copy, Debug)]
enum Effect {
    /// The key matches lookups from the cycle after the word is taken.
    Add { flow: u64, cid: u64, tag: u64, gen: u64 },
    Remove { tag: u64 },
}

/// A command: its words, and what the reference expects of it.
#[derive(Clone, Debug, Default)]
struct Cmd {
    words: Vec<Word>,
    /// Events (kind, tag, allowed statuses), in order.
    events: Vec<(u64, u64, Vec<u64>)>,
    entries: Vec<EntryW>,
    descs: Vec<DescW>,
    /// Lookup-table effect of the word at this index.
    effects: Vec<(usize, Effect)>,
}

#[derive(Clone, Debug, Default)]
struct RefTag {
    busy: bool,
    live: bool,
    gen: u64,
    key: (u64, u64),
    /// (table, bucket) holding the key.
    slot: (usize, usize),
}

/// The host and the reference state, updated when a command is planned (commands run one at a
/// time, so the state at planning is the state when the command runs), except teardown
/// completion, which frees a tag when its `EV_TEARDOWN_DONE` is consumed.
struct Host {
    p: PlacementParams,
    rng: SmallRng,
    tags: HashMap<u64, RefTag>,
    /// Keys per bucket: occupancy of the 2 x 2^hash_bits buckets of 8 ways.
    occ: [Vec<u8>; 2],
    counts: BTreeMap<String, u64>,
    max_live: usize,
}

fn note(counts: &mut BTreeMap<String, u64>, what: &str) {
    *counts.entry(what.to_string()).or_default() += 1;
}

impl Host {
    fn live(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.tags.iter().filter(|(_, t)| t.live).map(|(&k, _)| k).collect();
        v.sort();
        v
    }

    fn free_tag(&mut self) -> Option<u64> {
        (0..40).map(|_| self.rng.gen_range(0..1u64 << self.p.tag_bits)).find(|t| !self.tags.get(t).is_some_and(|r| r.busy))
    }

    fn random_sgl(&mut self, n: usize) -> Sgl {
        let r = &mut self.rng;
        Sgl((0..n)
            .map(|i| {
                let len = if i == 0 || i == n - 1 { r.gen_range(1..=9000) } else if r.gen_bool(0.3) { 4096 } else { r.gen_range(64..=9000) };
                (r.gen::<u64>() >> r.gen_range(0..40), len)
            })
            .collect())
    }

    /// A base that obeys (or, with `bad`, breaks) the placement rules for `n` entries.
    fn base_for(&mut self, n: usize, bad: bool) -> u64 {
        let pool = 1u64 << self.p.pool_bits;
        let r = &mut self.rng;
        if bad {
            return match r.gen_range(0..4) {
                0 if n <= 16 && n > 1 => r.gen_range(0..pool / 16) * 16 + 16 - n as u64 + r.gen_range(1..n as u64),
                1 if n > 16 => r.gen_range(0..pool / 16) * 16 + r.gen_range(1..16),
                2 if n > 16 => r.gen_range(0..pool / 256) * 256 + (17 - n.div_ceil(16) as u64 + r.gen_range(0..n.div_ceil(16) as u64 - 1)) * 16,
                _ => r.gen_range(pool..1 << BASE_PORT_BITS),
            };
        }
        if n <= 16 {
            r.gen_range(0..pool / 16) * 16 + r.gen_range(0..=16 - n as u64)
        } else {
            r.gen_range(0..pool / 256) * 256 + r.gen_range(0..=16 - n.div_ceil(16) as u64) * 16
        }
    }

    /// 2-choice insertion: the emptier of the key's two buckets, table 0 on a tie.
    fn choose(&self, flow: u64, cid: u64) -> Option<(usize, usize)> {
        let b = [hash(0, self.p.hash_bits, flow, cid), hash(1, self.p.hash_bits, flow, cid)];
        let n = [self.occ[0][b[0]], self.occ[1][b[1]]];
        match (n[0] < 8, n[1] < 8) {
            (true, true) => Some(if n[0] <= n[1] { (0, b[0]) } else { (1, b[1]) }),
            (true, false) => Some((0, b[0])),
            (false, true) => Some((1, b[1])),
            _ => None,
        }
    }

    fn setup(&mut self) -> Cmd {
        let live = self.live();
        let r = self.rng.gen_range(0..100);
        let kind = match r {
            0..=3 if !live.is_empty() => "busy",
            4..=7 if !live.is_empty() => "duplicate key",
            8..=9 if self.p.tag_bits < 16 => "bad tag",
            10..=13 => "bad geometry",
            14..=17 => "bad length",
            18..=19 => "too long",
            20..=22 => "protocol",
            _ => "ok",
        };
        let tag = match kind {
            "busy" => live[self.rng.gen_range(0..live.len())],
            "bad tag" => self.rng.gen_range(1u64 << self.p.tag_bits..1 << 16),
            _ => match self.free_tag() {
                Some(t) => t,
                None => return self.teardown(),
            },
        };
        let (flow, cid) = if kind == "duplicate key" {
            self.tags[&live[self.rng.gen_range(0..live.len())]].key
        } else {
            (self.rng.gen_range(0..1 << FLOW_BITS), self.rng.gen_range(0..1 << CID_BITS))
        };
        let n = match self.rng.gen_range(0..100) {
            0..=59 => self.rng.gen_range(1..=4),
            60..=84 => self.rng.gen_range(5..=16),
            85..=96 => self.rng.gen_range(17..=64),
            _ => self.rng.gen_range(65..=MAX_SGL_ENTRIES),
        };
        // (address, length) of every word after the setup word.
        let mut sgl: Vec<(u64, u64)> = self.random_sgl(n).0.iter().map(|&(a, l)| (a, u64::from(l))).collect();
        let mut count = n as u64;
        let mut base = self.base_for(n, false);
        let mut protocol_at = None;
        match kind {
            "bad geometry" => match self.rng.gen_range(0..4) {
                0 => count = 0,
                1 => count = self.rng.gen_range(257..300),
                _ => base = self.base_for(n, true),
            },
            "bad length" if n >= 3 && self.rng.gen_bool(0.5) => sgl[self.rng.gen_range(1..n - 1)].1 = self.rng.gen_range(1..64),
            "bad length" => sgl[self.rng.gen_range(0..n)].1 = 0,
            "too long" => {
                // Totals of exactly 2^32 - 1 (fine) and 2^32 or 2^32 + 1 (too long).
                if n == 1 {
                    sgl.push((self.rng.gen(), 100));
                    count = 2;
                    base = self.base_for(2, false);
                }
                let rest: u64 = sgl[1..].iter().map(|e| e.1).sum();
                sgl[0].1 = (1u64 << 32) - 1 - rest + self.rng.gen_range(0..3);
            }
            "protocol" => protocol_at = Some(self.rng.gen_range(0..count as usize)),
            _ => {}
        }
        while sgl.len() < count as usize {
            sgl.push((self.rng.gen(), self.rng.gen_range(64..5000)));
        }
        sgl.truncate(count as usize);
        note(&mut self.counts, &format!("setup planned: {kind}"));
        let mut c = Cmd { words: vec![Word { op: OP_SETUP, tag, flow, cid, base, count, ..Default::default() }], ..Default::default() };
        for (i, &(addr, len)) in sgl.iter().enumerate() {
            let op = if protocol_at == Some(i) { [0, OP_SETUP, OP_TEARDOWN][self.rng.gen_range(0..3)] } else { OP_ENTRY };
            c.words.push(Word { op, addr, len, tag: self.rng.gen_range(0..1 << 16), ..Default::default() });
        }
        let words_sgl = sgl;
        // The expected status, in the order the contract checks: tag, geometry, entries,
        // ownership, room in the table.
        let lens = Sgl(words_sgl.iter().map(|&(a, l)| (a, u32::try_from(l).expect("32-bit lengths"))).collect());
        let geometry = setup_status(self.p.tag_bits, self.p.pool_bits, tag, base, count as usize, &Sgl(Vec::new()));
        let mut st = if geometry != status::OK {
            geometry
        } else if protocol_at.is_some() {
            status::PROTOCOL
        } else {
            setup_status(self.p.tag_bits, self.p.pool_bits, tag, base, count as usize, &lens)
        };
        if st == status::OK && self.tags.get(&tag).is_some_and(|t| t.busy) {
            st = status::TAG_BUSY;
        }
        let slot = self.choose(flow, cid);
        if st == status::OK && slot.is_none() {
            st = status::TABLE_FULL;
        }
        // Entry writes to the pool: every word after the setup word unless tag or geometry is bad.
        if st != status::BAD_TAG && st != status::BAD_GEOMETRY {
            let mut acc = 0u64;
            for (i, &(addr, len)) in words_sgl.iter().enumerate() {
                c.entries.push(EntryW { index: base + i as u64, addr, start: acc & 0xFFFF_FFFF, l1: count > 16 && i % 16 == 0 });
                acc += len;
            }
        }
        if st == status::OK {
            let (t, b) = slot.unwrap();
            self.occ[t][b] += 1;
            let gen = (self.tags.get(&tag).map_or(0, |r| r.gen) + 1) % 256;
            self.tags.insert(tag, RefTag { busy: true, live: true, gen, key: (flow, cid), slot: (t, b) });
            let total: u64 = words_sgl.iter().map(|e| e.1).sum();
            c.descs.push(DescW { tag, live: true, gen, flow, base, last: count - 1, total: total & 0xFFFF_FFFF, token: false });
            c.events.push((EV_SETUP_OK, tag, vec![status::OK]));
            c.effects.push((c.words.len() - 1, Effect::Add { flow, cid, tag, gen }));
        } else {
            c.events.push((EV_SETUP_FAILED, tag, vec![st]));
        }
        note(&mut self.counts, &format!("setup status {st}"));
        c
    }

    fn teardown(&mut self) -> Cmd {
        let live = self.live();
        let r = self.rng.gen_range(0..100);
        let mut c = Cmd::default();
        if r < 8 || live.is_empty() {
            // A tag that is not set up, or one out of range.
            let tag = if self.p.tag_bits < 16 && r < 3 { self.rng.gen_range(1u64 << self.p.tag_bits..1 << 16) } else if let Some(t) = self.free_tag() { t } else { return Cmd::default() };
            let st = if tag >> self.p.tag_bits != 0 { status::BAD_TAG } else { status::NOT_SET_UP };
            c.words.push(Word { op: OP_TEARDOWN, tag, ..Default::default() });
            c.events.push((EV_REFUSED, tag, vec![st]));
            note(&mut self.counts, &format!("teardown refused {st}"));
            return c;
        }
        let tag = live[self.rng.gen_range(0..live.len())];
        let t = self.tags.get_mut(&tag).unwrap();
        t.live = false;
        self.occ[t.slot.0][t.slot.1] -= 1;
        c.words.push(Word { op: OP_TEARDOWN, tag, ..Default::default() });
        c.descs.push(DescW { tag, live: false, gen: t.gen, flow: 0, base: 0, last: 0, total: 0, token: true });
        c.effects.push((0, Effect::Remove { tag }));
        note(&mut self.counts, "teardown");
        if self.rng.gen_bool(0.1) {
            // A second teardown right behind: refused, whether the first is done or not.
            c.words.push(Word { op: OP_TEARDOWN, tag, ..Default::default() });
            c.events.push((EV_REFUSED, tag, vec![status::ALREADY_TORN, status::NOT_SET_UP]));
            note(&mut self.counts, "double teardown");
        }
        c
    }

    fn plan(&mut self) -> Cmd {
        let r = self.rng.gen_range(0..100);
        let busy_n = self.tags.values().filter(|t| t.busy).count();
        if r < 2 {
            // A word that starts no command.
            let op = [0, OP_ENTRY][self.rng.gen_range(0..2)];
            let tag = self.rng.gen_range(0..1 << 16);
            note(&mut self.counts, "unknown word");
            let w = Word { op, tag, addr: self.rng.gen(), len: self.rng.gen_range(0..1 << 32), ..Default::default() };
            return Cmd { words: vec![w], events: vec![(EV_REFUSED, tag, vec![status::PROTOCOL])], ..Default::default() };
        }
        // Keep the table near `max_live` busy tags (full buckets in the small tables).
        if busy_n >= self.max_live || (busy_n > 0 && r < 40) {
            self.teardown()
        } else {
            self.setup()
        }
    }
}

/// One cycle of inputs.
#[derive(Clone, Debug, Default)]
struct In {
    ctrl: Option<Word>,
    event_ready: bool,
    lookup: Option<(u64, u64)>,
    done: Option<u64>,
}

fn apply(u: &mut TagTable, i: &In) {
    let w = i.ctrl.unwrap_or_default();
    u.s_ctrl_valid.next = i.ctrl.is_some();
    u.s_ctrl_op.next = w.op.into();
    u.s_ctrl_tag.next = w.tag.into();
    u.s_ctrl_flow.next = w.flow.into();
    u.s_ctrl_cid.next = w.cid.into();
    u.s_ctrl_base.next = w.base.into();
    u.s_ctrl_count.next = w.count.into();
    u.s_ctrl_addr.next = w.addr.into();
    u.s_ctrl_len.next = w.len.into();
    u.m_event_ready.next = i.event_ready;
    let (f, c) = i.lookup.unwrap_or((0, 0));
    u.s_lookup_valid.next = i.lookup.is_some();
    u.s_lookup_flow.next = f.into();
    u.s_lookup_cid.next = c.into();
    u.s_done_valid.next = i.done.is_some();
    u.s_done_tag.next = i.done.unwrap_or(0).into();
}

fn input_values(i: &In) -> Vec<BigUint> {
    let w = i.ctrl.unwrap_or_default();
    let (f, c) = i.lookup.unwrap_or((0, 0));
    [
        i.ctrl.is_some() as u64, w.op, w.tag, w.flow, w.cid, w.base, w.count, w.addr, w.len, i.event_ready as u64,
        i.lookup.is_some() as u64, f, c, i.done.is_some() as u64, i.done.unwrap_or(0),
    ]
    .iter()
    .map(|&v| BigUint::from(v))
    .collect()
}

const INPUTS: [Port; 15] = [
    ("s_ctrl_valid", 1), ("s_ctrl_op", 2), ("s_ctrl_tag", 16), ("s_ctrl_flow", 12), ("s_ctrl_cid", 16), ("s_ctrl_base", 24),
    ("s_ctrl_count", 9), ("s_ctrl_addr", 64), ("s_ctrl_len", 32), ("m_event_ready", 1), ("s_lookup_valid", 1), ("s_lookup_flow", 12),
    ("s_lookup_cid", 16), ("s_done_valid", 1), ("s_done_tag", 16),
];

const OUTPUTS: [Port; 28] = [
    ("s_ctrl_ready", 1), ("m_event_valid", 1), ("m_event_kind", 2), ("m_event_tag", 16), ("m_event_status", 4),
    ("m_lookup_valid", 1), ("m_lookup_hit", 1), ("m_lookup_tag", 16), ("m_lookup_gen", 8),
    ("m_desc_we", 1), ("m_desc_tag", 16), ("m_desc_live", 1), ("m_desc_gen", 8), ("m_desc_flow", 12), ("m_desc_base", 24),
    ("m_desc_last", 8), ("m_desc_total", 32), ("m_token_valid", 1), ("m_token_tag", 16),
    ("m_entry_we", 1), ("m_entry_index", 24), ("m_entry_addr", 64), ("m_entry_start", 32), ("m_entry_l1", 1),
    ("m_stat_lookup_miss", 32), ("m_stat_setups", 32), ("m_stat_setup_fails", 32), ("m_stat_teardowns", 32),
];

fn output_values(u: &TagTable) -> Vec<BigUint> {
    let b = |v: bool| BigUint::from(v as u64);
    vec![
        b(u.s_ctrl_ready.val()), b(u.m_event_valid.val()), u.m_event_kind.val().into(), u.m_event_tag.val().into(), u.m_event_status.val().into(),
        b(u.m_lookup_valid.val()), b(u.m_lookup_hit.val()), u.m_lookup_tag.val().into(), u.m_lookup_gen.val().into(),
        b(u.m_desc_we.val()), u.m_desc_tag.val().into(), b(u.m_desc_live.val()), u.m_desc_gen.val().into(), u.m_desc_flow.val().into(),
        u.m_desc_base.val().into(), u.m_desc_last.val().into(), u.m_desc_total.val().into(), b(u.m_token_valid.val()), u.m_token_tag.val().into(),
        b(u.m_entry_we.val()), u.m_entry_index.val().into(), u.m_entry_addr.val().into(), u.m_entry_start.val().into(), b(u.m_entry_l1.val()),
        u.m_stat_lookup_miss.val().into(), u.m_stat_setups.val().into(), u.m_stat_setup_fails.val().into(), u.m_stat_teardowns.val().into(),
    ]
}

/// Runs the closed loop for `steps` cycles (then drains); returns the inputs, the outputs
/// after every edge, and the host's tallies.
fn run(p: PlacementParams, seed: u64, steps: usize, max_live: usize) -> (Vec<In>, Vec<Vec<BigUint>>, BTreeMap<String, u64>) {
    let mut h = Host { p, rng: SmallRng::seed_from_u64(seed), tags: HashMap::new(), occ: [vec![0; 1 << p.hash_bits], vec![0; 1 << p.hash_bits]], counts: BTreeMap::new(), max_live };
    let mut u = TagTable::new(p);
    u.connect_all();
    rust_hdl::prelude::check_all(&u).expect("no logic loops");
    settle(&mut u);
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5EED);
    let (mut ins, mut outs) = (Vec::new(), Vec::new());
    // Control words of the current command: (command index, word index).
    let mut cmds: Vec<Cmd> = Vec::new();
    let mut word: Option<(usize, usize)> = None;
    let mut events: VecDeque<(u64, u64, Vec<u64>)> = VecDeque::new();
    let mut entries: VecDeque<EntryW> = VecDeque::new();
    let mut descs: VecDeque<DescW> = VecDeque::new();
    // Lookup reference: live keys with their (tag, gen).
    let mut keys: Vec<(u64, u64, u64, u64)> = Vec::new();
    let mut effects: Vec<Effect> = Vec::new();
    let mut lookups: VecDeque<(usize, u64, u64, Option<(u64, u64)>)> = VecDeque::new();
    // Tokens out (tag, return step), returned in order; returned, not yet reported done.
    let mut tokens: VecDeque<(u64, usize)> = VecDeque::new();
    let mut returned: VecDeque<u64> = VecDeque::new();
    let mut stall = 0u32;
    let (mut hits, mut misses, mut dones, mut holdoff, mut longest_holdoff) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut ready = u.s_ctrl_ready.val();
    let mut ev_before = (u.m_event_valid.val(), 0, 0, 0);
    let mut step = 0;
    loop {
        let draining = step >= steps;
        if draining && word.is_none() && events.is_empty() && tokens.is_empty() && returned.is_empty() && lookups.is_empty() {
            break;
        }
        assert!(step < steps + 5000, "drain does not finish");
        // Lookup-table effects of words taken in the previous cycle.
        for e in effects.drain(..) {
            match e {
                Effect::Add { flow, cid, tag, gen } => keys.push((flow, cid, tag, gen)),
                Effect::Remove { tag } => keys.retain(|k| k.2 != tag),
            }
        }
        if word.is_none() && !draining && rng.gen_bool(0.5) {
            let c = h.plan();
            if !c.words.is_empty() {
                events.extend(c.events.iter().cloned());
                entries.extend(c.entries.iter().copied());
                descs.extend(c.descs.iter().copied());
                cmds.push(c);
                word = Some((cmds.len() - 1, 0));
            }
        }
        if stall == 0 && rng.gen_bool(0.005) {
            stall = rng.gen_range(10..250);
        }
        stall = stall.saturating_sub(1);
        let lookup = (!draining && rng.gen_bool(0.5)).then(|| {
            if !keys.is_empty() && rng.gen_bool(0.6) {
                let k = keys[rng.gen_range(0..keys.len())];
                (k.0, k.1)
            } else if let Some(c) = cmds.iter().rev().take(30).nth(rng.gen_range(0..30)).filter(|c| c.words[0].op == OP_SETUP) {
                (c.words[0].flow, c.words[0].cid)
            } else {
                (rng.gen_range(0..1 << FLOW_BITS), rng.gen_range(0..1 << CID_BITS))
            }
        });
        let done = match tokens.front() {
            Some(&(tag, at)) if at <= step => {
                tokens.pop_front();
                Some(tag)
            }
            _ => None,
        };
        let i = In { ctrl: word.map(|(c, w)| cmds[c].words[w]), event_ready: stall == 0 && rng.gen_bool(0.9), lookup, done };
        apply(&mut u, &i);
        cycle(&mut u, |u| &mut u.clock);
        let out = output_values(&u);
        // The cycle's consequences, from the values before and after the edge.
        if let Some(l) = lookup {
            let m: Vec<_> = keys.iter().filter(|k| (k.0, k.1) == l).collect();
            lookups.push_back((step, l.0, l.1, (m.len() == 1).then(|| (m[0].2, m[0].3))));
        }
        if let Some(tag) = done {
            returned.push_back(tag);
        }
        if i.ctrl.is_some() && ready {
            let (c, w) = word.unwrap();
            for &(_, e) in cmds[c].effects.iter().filter(|(k, _)| *k == w) {
                effects.push(e);
            }
            word = (w + 1 < cmds[c].words.len()).then_some((c, w + 1));
        }
        if i.event_ready && ev_before.0 {
            let (kind, tag, st) = (ev_before.1, ev_before.2, ev_before.3);
            if kind == EV_TEARDOWN_DONE {
                assert_eq!(Some(tag), returned.pop_front(), "step {step}: teardown done out of token order");
                assert_eq!(st, 0);
                let t = h.tags.get_mut(&tag).expect("done for a tag never set up");
                assert!(t.busy && !t.live);
                t.busy = false;
                dones += 1;
            } else {
                let (ek, et, est) = events.pop_front().unwrap_or_else(|| panic!("step {step}: unexpected event {:?}", (kind, tag, st)));
                assert!(kind == ek && tag == et && est.contains(&st), "step {step}: event {:?}, expected {:?}", (kind, tag, st), (ek, et, est));
                note(&mut h.counts, &format!("event {kind} status {st}"));
            }
        }
        if u.m_lookup_valid.val() {
            let (s, f, c, want) = lookups.pop_front().expect("lookup result without a lookup");
            assert_eq!(s + LATENCY - 1, step, "lookup latency");
            let got = u.m_lookup_hit.val().then(|| (u.m_lookup_tag.val().to_u64(), u.m_lookup_gen.val().to_u64()));
            assert_eq!(got, want, "step {step}: lookup ({f}, {c:#x}) presented at step {s}");
            if want.is_some() { hits += 1 } else { misses += 1 }
        }
        if u.m_entry_we.val() {
            let got = EntryW { index: u.m_entry_index.val().to_u64(), addr: u.m_entry_addr.val().to_u64(), start: u.m_entry_start.val().to_u64(), l1: u.m_entry_l1.val() };
            assert_eq!(Some(got), entries.pop_front(), "step {step}: entry write");
        }
        if u.m_desc_we.val() {
            let got = DescW {
                tag: u.m_desc_tag.val().to_u64(), live: u.m_desc_live.val(), gen: u.m_desc_gen.val().to_u64(), flow: u.m_desc_flow.val().to_u64(),
                base: u.m_desc_base.val().to_u64(), last: u.m_desc_last.val().to_u64(), total: u.m_desc_total.val().to_u64(), token: u.m_token_valid.val(),
            };
            assert_eq!(Some(got), descs.pop_front(), "step {step}: descriptor write");
            if got.token {
                assert_eq!(u.m_token_tag.val().to_u64(), got.tag);
                tokens.push_back((got.tag, step + rng.gen_range(1..40)));
            }
        } else {
            assert!(!u.m_token_valid.val(), "step {step}: a token without its descriptor write");
        }
        holdoff = if i.ctrl.is_some() && !ready { holdoff + 1 } else { 0 };
        longest_holdoff = longest_holdoff.max(holdoff);
        ready = u.s_ctrl_ready.val();
        ev_before = (u.m_event_valid.val(), u.m_event_kind.val().to_u64(), u.m_event_tag.val().to_u64(), u.m_event_status.val().to_u64());
        ins.push(i);
        outs.push(out);
        step += 1;
    }
    assert!(entries.is_empty() && descs.is_empty(), "writes that never came");
    let n = |k: &str| h.counts.get(k).copied().unwrap_or(0);
    let fails: u64 = h.counts.iter().filter(|(k, _)| k.starts_with("setup status ") && *k != "setup status 0").map(|(_, v)| v).sum();
    assert_eq!(u.m_stat_setups.val().to_u64(), n("setup status 0"));
    assert_eq!(u.m_stat_setup_fails.val().to_u64(), fails);
    assert_eq!(u.m_stat_teardowns.val().to_u64(), n("teardown"));
    assert_eq!(u.m_stat_lookup_miss.val().to_u64(), misses);
    assert_eq!(dones, n("teardown"));
    h.counts.insert("lookup hits".into(), hits);
    h.counts.insert("lookup misses".into(), misses);
    h.counts.insert("longest control hold-off".into(), longest_holdoff);
    println!("{} cycles: {:#?}", ins.len(), h.counts);
    (ins, outs, h.counts)
}

fn covered(counts: &BTreeMap<String, u64>, statuses: &[u64]) {
    for st in statuses {
        assert!(counts.get(&format!("setup status {st}")).copied().unwrap_or(0) > 0, "status {st} never seen: {counts:#?}");
    }
    for k in ["teardown", "double teardown", "event 3 status 9", "unknown word", "lookup hits", "lookup misses"] {
        assert!(counts.get(k).copied().unwrap_or(0) > 0, "{k}: never seen: {counts:#?}");
    }
    // The event consumer's stalls fill the event FIFO, which holds the control port off.
    assert!(counts["longest control hold-off"] > 20, "the event FIFO never filled: {counts:#?}");
}

/// 64 tags, 2 x 4 buckets x 8 ways: full bucket pairs, tag reuse, generations wrapping.
fn small() -> PlacementParams {
    PlacementParams { tag_bits: 6, hash_bits: 2, pool_bits: 10, mps: 128 }
}

#[test]
fn model_matches_reference_small_tables() {
    let (_, _, c) = run(small(), 1, 40_000, 60);
    covered(&c, &[0, 1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn model_matches_reference_default_tables() {
    let (_, _, c) = run(PlacementParams::default(), 2, 30_000, 40);
    covered(&c, &[0, 2, 3, 4, 5, 6]);
}

fn replay_through_verilog(p: PlacementParams, name: &str, seed: u64, steps: usize, max_live: usize) {
    let (ins, outs, _) = run(p, seed, steps, max_live);
    let care: Vec<BigUint> = OUTPUTS.iter().map(|&(_, w)| (BigUint::from(1u32) << w) - 1u32).collect();
    let vectors: Vec<Cycle> = ins.iter().zip(outs).map(|(i, o)| Cycle { inputs: input_values(i), expected: o, care: care.clone() }).collect();
    let replay = Replay { top: name.into(), verilog: verilog_for(&mut TagTable::new(p), name), clock: "clock", inputs: INPUTS.to_vec(), outputs: OUTPUTS.to_vec() };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &vectors);
}

#[test]
fn verilog_matches_model_small_tables() {
    replay_through_verilog(small(), "placement_tags_small", 3, 30_000, 60);
}

#[test]
fn verilog_matches_model_default_tables() {
    replay_through_verilog(PlacementParams::default(), "placement_tags", 4, 20_000, 40);
}
