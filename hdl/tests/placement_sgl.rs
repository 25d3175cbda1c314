//! SglStore in rust-hdl simulation (its `update()` model) against a reference that walks each
//! tag's SGL entry by entry. The test plays `TagTable`: it writes SGL entries (prefix sums,
//! level-1 flags) and descriptors for random SGLs of 1..=256 entries (odd lengths, unaligned
//! addresses, small tags anywhere in a row, large tags over up to 16 rows of a superblock),
//! tears tags down with a token while their beats are in flight, and reuses tags and pool rows
//! only after the token has come out. Beats: continuing, jumping, at entry and row boundaries,
//! at the end of the buffer, and every kind of refusal. The reference gives each beat's
//! verdict (in the contract's priority order) from the descriptors written up to the beat's
//! cycle, and for a placed beat the host address of its first byte, the bytes left in that
//! entry and the next entry's address; tokens must come out with the beat presented the cycle
//! before the killing write. Then the same cycles, plus cycles of arbitrary writes and beats,
//! are replayed through the Verilog in Verilator.
use ddpnic_hdl::placement::sgl_store::SglStore;
use ddpnic_hdl::placement::*;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Port, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::{Bits, Block};
use std::collections::{BTreeMap, HashMap, VecDeque};

const LATENCY: usize = SglStore::PLACE_LATENCY;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct DescW {
    tag: u64,
    live: bool,
    gen: u64,
    flow: u64,
    base: u64,
    last: u64,
    total: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct EntryW {
    index: u64,
    addr: u64,
    start: u64,
    l1: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct BeatIn {
    flow: u64,
    tag: u64,
    gen: u64,
    offset: u64,
    lane: u64,
    count: u64,
}

#[derive(Clone, Debug, Default)]
struct In {
    desc: Option<DescW>,
    token: Option<u64>,
    entry: Option<EntryW>,
    beat: Option<BeatIn>,
    data: Vec<u8>,
}

/// What `m_res_*` must show for a beat.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Res {
    reason: u64,
    tag: u64,
    lane: u64,
    count: u64,
    /// (a1, b1, a2 when the beat spans two entries)
    pieces: Option<(u64, u64, Option<u64>)>,
}

struct Tag {
    flow: u64,
    gen: u64,
    sgl: Vec<(u64, u64)>,
    rows: (usize, usize),
    /// The test's own cursor for continuing beats.
    cursor: u64,
}

struct Host {
    p: PlacementParams,
    rng: SmallRng,
    /// Descriptors as written (what a beat must be judged by), and the SGLs behind them.
    descs: HashMap<u64, DescW>,
    live: BTreeMap<u64, Tag>,
    /// Torn down, token not out yet (beats still race the teardown).
    dying: HashMap<u64, Tag>,
    gens: HashMap<u64, u64>,
    rows_free: Vec<bool>,
    max_live: usize,
    counts: BTreeMap<String, u64>,
}

fn note(counts: &mut BTreeMap<String, u64>, what: &str) {
    *counts.entry(what.to_string()).or_default() += 1;
}

impl Host {
    fn alloc_rows(&mut self, n: usize) -> Option<usize> {
        let rows = self.rows_free.len();
        let start = self.rng.gen_range(0..rows);
        (0..rows).map(|k| (start + k) % rows).find(|&r| r % 16 + n <= 16 && r + n <= rows && (r..r + n).all(|x| self.rows_free[x])).inspect(|&r| {
            (r..r + n).for_each(|x| self.rows_free[x] = false);
        })
    }

    fn random_sgl(&mut self) -> Vec<(u64, u64)> {
        let r = &mut self.rng;
        let n = match r.gen_range(0..100) {
            0..=49 => r.gen_range(1..=4),
            50..=74 => r.gen_range(5..=16),
            75..=92 => r.gen_range(17..=64),
            _ => r.gen_range(65..=MAX_SGL_ENTRIES),
        };
        (0..n)
            .map(|i| {
                let len = if n == 1 {
                    r.gen_range(1..=70_000)
                } else if i == 0 || i == n - 1 {
                    r.gen_range(1..=5000)
                } else if r.gen_bool(0.3) {
                    4096
                } else if r.gen_bool(0.2) {
                    64
                } else {
                    r.gen_range(64..=9000)
                };
                (r.gen::<u64>() >> r.gen_range(0..30), len)
            })
            .collect()
    }

    /// The writes of a setup: entries, then the descriptor.
    fn setup(&mut self, entries: &mut VecDeque<EntryW>, descs: &mut VecDeque<(DescW, bool)>) {
        let tag = self.rng.gen_range(0..1u64 << self.p.tag_bits.min(10));
        if self.live.contains_key(&tag) || self.dying.contains_key(&tag) {
            return;
        }
        let sgl = self.random_sgl();
        let n = sgl.len();
        let nrows = n.div_ceil(16);
        let Some(row) = self.alloc_rows(nrows) else { return };
        let base = (row * 16) as u64 + if n <= 16 { self.rng.gen_range(0..=(16 - n)) as u64 } else { 0 };
        let mut acc = 0;
        for (i, &(addr, len)) in sgl.iter().enumerate() {
            entries.push_back(EntryW { index: base + i as u64, addr, start: acc, l1: n > 16 && i % 16 == 0 });
            acc += len;
        }
        let gen = (self.gens.get(&tag).copied().unwrap_or(0) + 1) % 256;
        self.gens.insert(tag, gen);
        let flow = self.rng.gen_range(0..1 << FLOW_BITS);
        descs.push_back((DescW { tag, live: true, gen, flow, base, last: n as u64 - 1, total: acc }, false));
        // Live for the test once the descriptor is written (see `step`).
        self.live.insert(tag, Tag { flow, gen, sgl, rows: (row, nrows), cursor: 0 });
        self.live.get_mut(&tag).unwrap().cursor = u64::MAX; // not yet written
        note(&mut self.counts, if n > 16 { "setup large" } else { "setup small" });
    }

    fn teardown(&mut self, descs: &mut VecDeque<(DescW, bool)>) {
        let ready: Vec<u64> = self.live.iter().filter(|(_, t)| t.cursor != u64::MAX).map(|(&k, _)| k).collect();
        if ready.is_empty() {
            return;
        }
        let tag = ready[self.rng.gen_range(0..ready.len())];
        let t = self.live.remove(&tag).unwrap();
        descs.push_back((DescW { tag, live: false, gen: t.gen, ..Default::default() }, true));
        self.dying.insert(tag, t);
        note(&mut self.counts, "teardown");
    }

    /// The reference verdict and pieces for a beat, judged by the descriptors written so far.
    fn expect(&self, b: &BeatIn, sgls: &HashMap<u64, Vec<(u64, u64)>>) -> Res {
        let mut r = Res { reason: reason::PLACED, tag: b.tag, lane: b.lane, count: b.count, pieces: None };
        let d = self.descs.get(&b.tag).copied().unwrap_or_default();
        r.reason = if b.count == 0 || b.lane + b.count > W as u64 || b.tag >> self.p.tag_bits != 0 {
            reason::BAD_INPUT
        } else if !d.live {
            reason::NOT_LIVE
        } else if d.flow != b.flow {
            reason::WRONG_FLOW
        } else if d.gen != b.gen {
            reason::STALE
        } else if b.offset + b.count > d.total {
            reason::OUT_OF_BOUNDS
        } else {
            reason::PLACED
        };
        if r.reason == reason::PLACED {
            // Walk the entries.
            let sgl = &sgls[&b.tag];
            let mut at = 0;
            for (e, &(addr, len)) in sgl.iter().enumerate() {
                if b.offset < at + len {
                    let into = b.offset - at;
                    let b1 = b.count.min(len - into);
                    r.pieces = Some((addr + into, b1, (b1 < b.count).then(|| sgl[e + 1].0)));
                    break;
                }
                at += len;
            }
        }
        r
    }

    fn beat(&mut self) -> BeatIn {
        let tag_range = 1u64 << self.p.tag_bits.min(10);
        let mut written: Vec<u64> = self.live.iter().filter(|(_, t)| t.cursor != u64::MAX).map(|(&k, _)| k).collect();
        let mut dying: Vec<u64> = self.dying.keys().copied().collect();
        dying.sort();
        written.extend(dying);
        let kind = self.rng.gen_range(0..100);
        let r = &mut self.rng;
        if kind < 78 && !written.is_empty() {
            let tag = written[r.gen_range(0..written.len())];
            let t = match self.live.get_mut(&tag) {
                Some(t) => t,
                None => self.dying.get_mut(&tag).unwrap(),
            };
            let total: u64 = t.sgl.iter().map(|e| e.1).sum();
            let starts: Vec<u64> = t.sgl.iter().scan(0, |a, e| {
                let s = *a;
                *a += e.1;
                Some(s)
            }).collect();
            let (mut off, mut lane) = (t.cursor, 0);
            match r.gen_range(0..10) {
                0..=3 if off < total => {}
                4 | 5 => {
                    // Just before an entry (or a row of entries) starts.
                    let e = if r.gen_bool(0.3) && starts.len() > 16 { 16 * r.gen_range(0..starts.len().div_ceil(16)) } else { r.gen_range(0..starts.len()) };
                    off = starts[e].saturating_sub(r.gen_range(0..64));
                    lane = r.gen_range(0..64);
                }
                6 => {
                    off = total.saturating_sub(r.gen_range(0..70));
                    lane = r.gen_range(0..64);
                }
                _ => {
                    off = r.gen_range(0..total);
                    lane = r.gen_range(0..64);
                }
            }
            let mut count = (64 - lane).min(total.saturating_sub(off).max(1));
            if r.gen_bool(0.15) {
                count = r.gen_range(1..=count);
            }
            t.cursor = off + count;
            return BeatIn { flow: t.flow, tag, gen: t.gen, offset: off, lane, count };
        }
        // Refusals.
        let mut b = BeatIn { flow: r.gen_range(0..16), tag: r.gen_range(0..tag_range), gen: r.gen_range(0..256), offset: r.gen_range(0..100_000), lane: r.gen_range(0..64), count: 1 };
        b.count = r.gen_range(1..=64 - b.lane);
        if let Some(&tag) = written.get(r.gen_range(0..written.len().max(1))) {
            let t = self.live.get(&tag).unwrap_or_else(|| &self.dying[&tag]);
            (b.tag, b.flow, b.gen) = (tag, t.flow, t.gen);
            match r.gen_range(0..4) {
                0 => b.flow ^= r.gen_range(1..1 << FLOW_BITS),
                1 => b.gen = (b.gen + r.gen_range(1..256)) % 256,
                2 => b.count = if r.gen_bool(0.5) { 0 } else { r.gen_range(65 - b.lane..128) },
                _ => b.offset = t.sgl.iter().map(|e| e.1).sum::<u64>() + r.gen_range(0..100_000),
            }
        }
        if self.p.tag_bits < 16 && r.gen_bool(0.1) {
            b.tag = r.gen_range(1 << self.p.tag_bits..1 << 16);
        }
        b
    }
}

fn apply(u: &mut SglStore, i: &In) {
    let d = i.desc.unwrap_or_default();
    u.s_desc_we.next = i.desc.is_some();
    u.s_desc_tag.next = d.tag.into();
    u.s_desc_live.next = d.live;
    u.s_desc_gen.next = d.gen.into();
    u.s_desc_flow.next = d.flow.into();
    u.s_desc_base.next = d.base.into();
    u.s_desc_last.next = d.last.into();
    u.s_desc_total.next = d.total.into();
    u.s_token_valid.next = i.token.is_some();
    u.s_token_tag.next = i.token.unwrap_or(0).into();
    let e = i.entry.unwrap_or_default();
    u.s_entry_we.next = i.entry.is_some();
    u.s_entry_index.next = e.index.into();
    u.s_entry_addr.next = e.addr.into();
    u.s_entry_start.next = e.start.into();
    u.s_entry_l1.next = e.l1;
    let b = i.beat.unwrap_or_default();
    u.s_place_valid.next = i.beat.is_some();
    u.s_place_flow.next = b.flow.into();
    u.s_place_tag.next = b.tag.into();
    u.s_place_gen.next = b.gen.into();
    u.s_place_offset.next = b.offset.into();
    u.s_place_lane.next = b.lane.into();
    u.s_place_count.next = b.count.into();
    u.s_place_data.next = BigUint::from_bytes_le(&i.data).into();
}

fn input_values(i: &In) -> Vec<BigUint> {
    let d = i.desc.unwrap_or_default();
    let e = i.entry.unwrap_or_default();
    let b = i.beat.unwrap_or_default();
    let mut v: Vec<BigUint> = [
        i.desc.is_some() as u64, d.tag, d.live as u64, d.gen, d.flow, d.base, d.last, d.total, i.token.is_some() as u64, i.token.unwrap_or(0),
        i.entry.is_some() as u64, e.index, e.addr, e.start, e.l1 as u64, i.beat.is_some() as u64, b.flow, b.tag, b.gen, b.offset, b.lane, b.count,
    ]
    .iter()
    .map(|&x| BigUint::from(x))
    .collect();
    v.push(BigUint::from_bytes_le(&i.data));
    v
}

const INPUTS: [Port; 23] = [
    ("s_desc_we", 1), ("s_desc_tag", 16), ("s_desc_live", 1), ("s_desc_gen", 8), ("s_desc_flow", 12), ("s_desc_base", 24), ("s_desc_last", 8),
    ("s_desc_total", 32), ("s_token_valid", 1), ("s_token_tag", 16), ("s_entry_we", 1), ("s_entry_index", 24), ("s_entry_addr", 64),
    ("s_entry_start", 32), ("s_entry_l1", 1), ("s_place_valid", 1), ("s_place_flow", 12), ("s_place_tag", 16), ("s_place_gen", 8),
    ("s_place_offset", 32), ("s_place_lane", 6), ("s_place_count", 7), ("s_place_data", 512),
];

const OUTPUTS: [Port; 12] = [
    ("m_res_valid", 1), ("m_res_ok", 1), ("m_res_reason", 3), ("m_res_tag", 16), ("m_res_lane", 6), ("m_res_count", 7), ("m_res_a1", 64),
    ("m_res_b1", 7), ("m_res_a2", 64), ("m_res_data", 512), ("m_res_token_valid", 1), ("m_res_token_tag", 16),
];

fn output_values(u: &SglStore) -> Vec<BigUint> {
    let b = |v: bool| BigUint::from(v as u64);
    vec![
        b(u.m_res_valid.val()), b(u.m_res_ok.val()), u.m_res_reason.val().into(), u.m_res_tag.val().into(), u.m_res_lane.val().into(),
        u.m_res_count.val().into(), u.m_res_a1.val().into(), u.m_res_b1.val().into(), u.m_res_a2.val().into(), u.m_res_data.val().into(),
        b(u.m_res_token_valid.val()), u.m_res_token_tag.val().into(),
    ]
}

fn bytes(bits: Bits<512>) -> Vec<u8> {
    let mut v = BigUint::from(bits).to_bytes_le();
    v.resize(64, 0);
    v
}

/// Contract traffic for `steps` cycles, idle cycles, then `junk` cycles of arbitrary input;
/// returns the inputs and the outputs after every edge.
fn run(p: PlacementParams, seed: u64, steps: usize, junk: usize, max_live: usize) -> (Vec<In>, Vec<Vec<BigUint>>, BTreeMap<String, u64>) {
    let mut h = Host {
        p,
        rng: SmallRng::seed_from_u64(seed),
        descs: HashMap::new(),
        live: BTreeMap::new(),
        dying: HashMap::new(),
        gens: HashMap::new(),
        rows_free: vec![true; 1 << (p.pool_bits - 4)],
        max_live,
        counts: BTreeMap::new(),
    };
    let mut u = SglStore::new(p);
    u.connect_all();
    rust_hdl::prelude::check_all(&u).expect("no logic loops");
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xD15C);
    let (mut entries, mut descs) = (VecDeque::new(), VecDeque::new());
    // The SGL behind each written descriptor (what the reference walks).
    let mut sgls: HashMap<u64, Vec<(u64, u64)>> = HashMap::new();
    let mut pending: VecDeque<(usize, Res, Vec<u8>)> = VecDeque::new();
    let mut token_at: VecDeque<(usize, u64)> = VecDeque::new();
    let (mut ins, mut outs) = (Vec::new(), Vec::new());
    let total_steps = steps + LATENCY + 4 + junk;
    let mut hold_until = 0;
    for step in 0..total_steps {
        let contract = step < steps;
        let mut i = In { data: vec![0; 64], ..Default::default() };
        rng.fill(&mut i.data[..]);
        if contract {
            if entries.is_empty() && descs.is_empty() && rng.gen_bool(0.3) {
                if h.live.len() < h.max_live && rng.gen_bool(0.55) {
                    h.setup(&mut entries, &mut descs);
                } else {
                    h.teardown(&mut descs);
                    // Beats of the tag keep coming until the killing write (and after it).
                    hold_until = step + rng.gen_range(0..8);
                }
            }
            // Entries first (one a cycle, with gaps), then the descriptor; sometimes both in a cycle.
            if !entries.is_empty() && rng.gen_bool(0.9) {
                i.entry = entries.pop_front();
            }
            if entries.is_empty() && !descs.is_empty() && step >= hold_until && (i.entry.is_none() || rng.gen_bool(0.3)) {
                let (d, token) = descs.pop_front().unwrap();
                i.desc = Some(d);
                if token {
                    i.token = Some(d.tag);
                    token_at.push_back((step + LATENCY - 2, d.tag));
                }
                // The descriptor takes effect for beats of this very cycle.
                h.descs.insert(d.tag, d);
                if d.live {
                    let t = h.live.get_mut(&d.tag).unwrap();
                    t.cursor = 0;
                    sgls.insert(d.tag, t.sgl.clone());
                }
            }
            if rng.gen_bool(0.85) {
                let b = h.beat();
                let want = h.expect(&b, &sgls);
                if h.dying.contains_key(&b.tag) {
                    note(&mut h.counts, if want.reason == reason::PLACED { "beat racing its teardown: placed" } else { "beat racing its teardown: refused" });
                }
                if want.reason == reason::PLACED && sgls[&b.tag].len() > 16 && h.descs[&b.tag].base.is_multiple_of(256) {
                    let first_row_bytes: u64 = sgls[&b.tag][..16].iter().map(|e| e.1).sum();
                    if b.offset >= first_row_bytes {
                        note(&mut h.counts, "placed beyond the first row of a large tag");
                    }
                }
                pending.push_back((step, want, i.data.clone()));
                i.beat = Some(b);
            }
        } else if step >= steps + LATENCY + 4 {
            // Arbitrary writes, tokens and beats: the Verilog must still equal the model.
            let r = &mut rng;
            if r.gen_bool(0.3) {
                i.desc = Some(DescW { tag: r.gen_range(0..1 << 16), live: r.gen(), gen: r.gen_range(0..4), flow: r.gen_range(0..4), base: r.gen_range(0..1 << BASE_PORT_BITS), last: r.gen_range(0..256), total: r.gen::<u32>().into() });
            }
            if r.gen_bool(0.1) {
                i.token = Some(r.gen_range(0..1 << 16));
            }
            if r.gen_bool(0.5) {
                i.entry = Some(EntryW { index: r.gen_range(0..1 << BASE_PORT_BITS), addr: r.gen(), start: if r.gen_bool(0.5) { r.gen_range(0..5000) } else { r.gen::<u32>().into() }, l1: r.gen() });
            }
            if r.gen_bool(0.9) {
                i.beat = Some(BeatIn { flow: r.gen_range(0..4), tag: r.gen_range(0..1 << 16), gen: r.gen_range(0..4), offset: if r.gen_bool(0.5) { r.gen_range(0..5000) } else { r.gen::<u32>().into() }, lane: r.gen_range(0..64), count: r.gen_range(0..128) });
            }
        }
        apply(&mut u, &i);
        cycle(&mut u, |u| &mut u.clock);
        outs.push(output_values(&u));
        // The beat presented LATENCY - 1 cycles ago.
        let due = pending.front().is_some_and(|&(s, _, _)| s + LATENCY - 1 == step);
        if due {
            let (s, want, data) = pending.pop_front().unwrap();
            assert!(u.m_res_valid.val(), "step {s}: no result");
            let (count, b1) = (u.m_res_count.val().to_u64(), u.m_res_b1.val().to_u64());
            let got = Res {
                reason: u.m_res_reason.val().to_u64(),
                tag: u.m_res_tag.val().to_u64(),
                lane: u.m_res_lane.val().to_u64(),
                count,
                pieces: u.m_res_ok.val().then(|| (u.m_res_a1.val().to_u64(), b1, (b1 < count).then(|| u.m_res_a2.val().to_u64()))),
            };
            assert_eq!(u.m_res_ok.val(), got.reason == reason::PLACED, "step {s}: ok and reason disagree");
            assert_eq!(got, want, "step {s}: result");
            assert_eq!(bytes(u.m_res_data.val()), data, "step {s}: data");
            note(&mut h.counts, &format!("reason {}", want.reason));
            match want.pieces {
                Some((_, _, Some(_))) => note(&mut h.counts, "placed across two entries"),
                Some(_) => note(&mut h.counts, "placed in one entry"),
                None => {}
            }
        } else if step < steps + LATENCY - 1 {
            assert!(!u.m_res_valid.val(), "step {step}: a result without a beat");
        }
        let tok = u.m_res_token_valid.val().then(|| u.m_res_token_tag.val().to_u64());
        if step < steps + LATENCY + 4 {
            match token_at.front() {
                Some(&(at, tag)) if at == step => {
                    assert_eq!(tok, Some(tag), "step {step}: token");
                    token_at.pop_front();
                    // Every beat that could be placed has left: the tag and its rows are free.
                    let rows = h.dying.remove(&tag).unwrap().rows;
                    (rows.0..rows.0 + rows.1).for_each(|x| h.rows_free[x] = true);
                    note(&mut h.counts, "token out");
                }
                _ => assert_eq!(tok, None, "step {step}: unexpected token"),
            }
        }
        ins.push(i);
    }
    assert!(pending.is_empty() && token_at.is_empty());
    println!("{} cycles: {:#?}", ins.len(), h.counts);
    (ins, outs, h.counts)
}

fn covered(c: &BTreeMap<String, u64>) {
    for k in [
        "reason 0", "reason 1", "reason 2", "reason 3", "reason 4", "reason 5", "placed across two entries", "setup large", "token out",
        "beat racing its teardown: placed", "beat racing its teardown: refused", "placed beyond the first row of a large tag",
    ] {
        assert!(c.get(k).copied().unwrap_or(0) > 20, "{k}: rarely seen: {c:#?}");
    }
}

/// 64 tags, a 1K-entry pool (4 superblocks): row and tag reuse.
fn small() -> PlacementParams {
    PlacementParams { tag_bits: 6, hash_bits: 2, pool_bits: 10, mps: 128 }
}

#[test]
fn model_matches_reference_small_pool() {
    covered(&run(small(), 1, 40_000, 0, 24).2);
}

#[test]
fn model_matches_reference_default_pool() {
    covered(&run(PlacementParams::default(), 2, 40_000, 0, 40).2);
}

fn replay_through_verilog(p: PlacementParams, name: &str, seed: u64, steps: usize, junk: usize, max_live: usize) {
    let (ins, outs, c) = run(p, seed, steps, junk, max_live);
    covered(&c);
    let care: Vec<BigUint> = OUTPUTS.iter().map(|&(_, w)| (BigUint::from(1u32) << w) - 1u32).collect();
    let vectors: Vec<Cycle> = ins.iter().zip(outs).map(|(i, o)| Cycle { inputs: input_values(i), expected: o, care: care.clone() }).collect();
    let replay = Replay { top: name.into(), verilog: verilog_for(&mut SglStore::new(p), name), clock: "clock", inputs: INPUTS.to_vec(), outputs: OUTPUTS.to_vec() };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &vectors);
}

#[test]
fn verilog_matches_model_small_pool() {
    replay_through_verilog(small(), "placement_sgl_small", 3, 30_000, 5000, 24);
}

#[test]
fn verilog_matches_model_default_pool() {
    replay_through_verilog(PlacementParams::default(), "placement_sgl", 4, 30_000, 5000, 40);
}
