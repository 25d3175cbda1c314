//! DmaWriter in rust-hdl simulation (its `update()` model) against a reference written from
//! the contract in `dma_writer.rs`: every byte of a beat goes to the address its SGL piece
//! says, segments are the pieces cut at MPS-aligned addresses, and a PCIe write is a run of
//! segments of one tag, contiguous in host memory, never starting again at an MPS-aligned
//! address, across beats of consecutive cycles. Random SGLs (unaligned, contiguous and
//! page-aligned entries, addresses near the top of the address space), random offsets, lanes
//! and counts, refused beats, idle cycles and teardown tokens, for MPS 64, 256 and 4096.
//! Then the same cycles, plus cycles of arbitrary (out-of-contract) input, replayed through
//! the generated Verilog in Verilator: every output bit must equal the model's.
use ddpnic_hdl::placement::dma_writer::DmaWriter;
use ddpnic_hdl::placement::PlacementParams;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Port, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::{Bits, Block};

const LATENCY: usize = DmaWriter::DMA_LATENCY;

/// One cycle of `s_res_*` input.
#[derive(Clone, Debug, Default)]
struct In {
    valid: bool,
    ok: bool,
    reason: u64,
    tag: u64,
    lane: u64,
    count: u64,
    a1: u64,
    b1: u64,
    a2: u64,
    data: Vec<u8>,
    token: Option<u64>,
    /// Inside the contract (checked against the reference); false for arbitrary input.
    contract: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    addr: u64,
    count: u64,
    lane: u64,
    sop: bool,
    eop: bool,
}

/// What the block shows after one edge.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Out {
    dma: Option<(u64, Vec<u8>, Vec<Seg>)>,
    place: Option<(bool, u64)>,
    done: Option<u64>,
    /// placed beats, placed bytes, then the five refusal counters.
    stats: [u64; 7],
}

struct Stream {
    tag: u64,
    sgl: Vec<(u64, u64)>,
    total: u64,
    cursor: u64,
}

fn random_sgl(rng: &mut SmallRng, mps: u64) -> Vec<(u64, u64)> {
    let n = rng.gen_range(1..=6);
    let high = rng.gen_bool(0.2);
    let mut at = if high { 0xFFFF_FF00_0000_0000u64 } else { 0x1_0000_0000 } + rng.gen_range(0..1u64 << 20) * 4096;
    let mut out = Vec::new();
    for i in 0..n {
        let len = if n == 1 {
            rng.gen_range(1..=20_000)
        } else if i == 0 || i == n - 1 {
            rng.gen_range(1..=3000)
        } else if rng.gen_bool(0.3) {
            4096
        } else {
            rng.gen_range(64..=5000)
        };
        let addr = match rng.gen_range(0..10) {
            // The next entry follows the previous one in host memory.
            0..=2 if i > 0 => at,
            3 | 4 => at.div_ceil(4096) * 4096,
            5 => at.div_ceil(mps) * mps + mps - rng.gen_range(1..64),
            _ => at + rng.gen_range(0..8192),
        };
        out.push((addr, len));
        at = addr + len + rng.gen_range(0..2) * rng.gen_range(1..100);
    }
    out
}

/// The pieces of `count` bytes at data offset `off`: (a1, b1, a2), a2 arbitrary when unused.
fn pieces(rng: &mut SmallRng, sgl: &[(u64, u64)], off: u64, count: u64) -> (u64, u64, u64) {
    let mut start = 0;
    for (e, &(addr, len)) in sgl.iter().enumerate() {
        if off < start + len {
            let into = off - start;
            let b1 = count.min(len - into);
            let a2 = if b1 < count { sgl[e + 1].0 } else { rng.gen() };
            return (addr + into, b1, a2);
        }
        start += len;
    }
    unreachable!("offset beyond the SGL")
}

/// Contract traffic, then idle cycles, then `junk` cycles of arbitrary input.
fn workload(seed: u64, mps: u64, cycles: usize, junk: usize) -> Vec<In> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut streams: Vec<Stream> = Vec::new();
    let mut last = 0;
    let mut out = Vec::new();
    for _ in 0..cycles {
        let mut c = In { contract: true, data: vec![0; 64], ..Default::default() };
        rng.fill(&mut c.data[..]);
        if rng.gen_bool(0.03) {
            c.token = Some(rng.gen_range(0..1 << 16));
        }
        let r = rng.gen_range(0..100);
        if streams.len() < 2 || rng.gen_bool(0.01) {
            let sgl = random_sgl(&mut rng, mps);
            let total = sgl.iter().map(|e| e.1).sum();
            // Few tags, so that unrelated streams sometimes share one.
            let s = Stream { tag: rng.gen_range(0..6), sgl, total, cursor: 0 };
            if streams.len() >= 5 {
                streams.swap_remove(rng.gen_range(0..streams.len()));
            }
            streams.push(s);
            last = streams.len() - 1;
        }
        if r < 75 {
            if rng.gen_bool(0.3) {
                last = rng.gen_range(0..streams.len());
            }
            let s = &mut streams[last];
            let jump = s.cursor >= s.total || rng.gen_bool(0.05);
            if jump {
                s.cursor = rng.gen_range(0..s.total);
            }
            let lane = if jump || rng.gen_bool(0.1) { rng.gen_range(0..64) } else { 0 };
            let mut count = (64 - lane).min(s.total - s.cursor);
            if rng.gen_bool(0.15) {
                count = rng.gen_range(1..=count);
            }
            let (a1, b1, a2) = pieces(&mut rng, &s.sgl, s.cursor, count);
            (c.valid, c.ok, c.tag, c.lane, c.count, c.a1, c.b1, c.a2) = (true, true, s.tag, lane, count, a1, b1, a2);
            s.cursor += count;
        } else if r < 88 {
            // A refused beat: its other fields are whatever the store had.
            (c.valid, c.reason, c.tag, c.lane, c.count) = (true, rng.gen_range(1..=5), rng.gen_range(0..6), rng.gen_range(0..64), rng.gen_range(0..128));
            (c.a1, c.b1, c.a2) = (rng.gen(), rng.gen_range(0..128), rng.gen());
        }
        out.push(c);
    }
    out.extend((0..LATENCY + 2).map(|_| In { data: vec![0; 64], ..Default::default() }));
    for _ in 0..junk {
        let mut c = In { data: vec![0; 64], ..Default::default() };
        rng.fill(&mut c.data[..]);
        (c.valid, c.ok, c.reason, c.tag) = (rng.gen(), rng.gen(), rng.gen_range(0..8), rng.gen_range(0..4));
        (c.lane, c.count, c.b1) = (rng.gen_range(0..64), rng.gen_range(0..128), rng.gen_range(0..128));
        // Addresses near boundaries and contiguous pieces are what the logic decides on.
        let base: u64 = if rng.gen_bool(0.5) { rng.gen() } else { (rng.gen_range(0..4) * mps).wrapping_sub(rng.gen_range(0..3)) };
        c.a1 = base.wrapping_add(rng.gen_range(0..2 * mps));
        c.a2 = if rng.gen_bool(0.5) { c.a1.wrapping_add(c.b1) } else { rng.gen() };
        c.token = rng.gen_bool(0.2).then(|| rng.gen_range(0..1 << 16));
        out.push(c);
    }
    out
}

fn big(v: u64) -> BigUint {
    BigUint::from(v)
}

fn bytes_to_bits(data: &[u8]) -> Bits<512> {
    BigUint::from_bytes_le(data).into()
}

fn bits_to_bytes<const N: usize>(bits: Bits<N>) -> Vec<u8> {
    let mut v = BigUint::from(bits).to_bytes_le();
    v.resize(N / 8, 0);
    v
}

fn input_values(c: &In) -> Vec<BigUint> {
    vec![
        big(c.valid.into()), big(c.ok.into()), big(c.reason), big(c.tag), big(c.lane), big(c.count), big(c.a1), big(c.b1), big(c.a2),
        BigUint::from_bytes_le(&c.data), big(c.token.is_some().into()), big(c.token.unwrap_or(0)),
    ]
}

const INPUTS: [Port; 12] = [
    ("s_res_valid", 1), ("s_res_ok", 1), ("s_res_reason", 3), ("s_res_tag", 16), ("s_res_lane", 6), ("s_res_count", 7),
    ("s_res_a1", 64), ("s_res_b1", 7), ("s_res_a2", 64), ("s_res_data", 512), ("s_res_token_valid", 1), ("s_res_token_tag", 16),
];

const OUTPUTS: [Port; 21] = [
    ("m_dma_valid", 1), ("m_dma_tag", 16), ("m_dma_data", 512), ("m_dma_seg_valid", 4), ("m_dma_seg_addr", 256), ("m_dma_seg_count", 28),
    ("m_dma_seg_lane", 24), ("m_dma_seg_sop", 4), ("m_dma_seg_eop", 4), ("m_place_valid", 1), ("m_place_ok", 1), ("m_place_reason", 3),
    ("m_done_valid", 1), ("m_done_tag", 16), ("m_stat_placed_beats", 32), ("m_stat_placed_bytes", 48), ("m_stat_bad_input", 32),
    ("m_stat_not_live", 32), ("m_stat_wrong_flow", 32), ("m_stat_stale", 32), ("m_stat_out_of_bounds", 32),
];

/// Every output port's value, in `OUTPUTS` order.
fn output_values(u: &DmaWriter) -> Vec<BigUint> {
    vec![
        big(u.m_dma_valid.val().into()), u.m_dma_tag.val().into(), u.m_dma_data.val().into(), u.m_dma_seg_valid.val().into(),
        u.m_dma_seg_addr.val().into(), u.m_dma_seg_count.val().into(), u.m_dma_seg_lane.val().into(), u.m_dma_seg_sop.val().into(),
        u.m_dma_seg_eop.val().into(), big(u.m_place_valid.val().into()), big(u.m_place_ok.val().into()), u.m_place_reason.val().into(),
        big(u.m_done_valid.val().into()), u.m_done_tag.val().into(), u.m_stat_placed_beats.val().into(), u.m_stat_placed_bytes.val().into(),
        u.m_stat_bad_input.val().into(), u.m_stat_not_live.val().into(), u.m_stat_wrong_flow.val().into(), u.m_stat_stale.val().into(),
        u.m_stat_out_of_bounds.val().into(),
    ]
}

fn decode(u: &DmaWriter) -> Out {
    let sv = u.m_dma_seg_valid.val().to_u64();
    let addr = bits_to_bytes(u.m_dma_seg_addr.val());
    let (cnt, lane) = (u.m_dma_seg_count.val().to_u64(), u.m_dma_seg_lane.val().to_u64());
    let (sop, eop) = (u.m_dma_seg_sop.val().to_u64(), u.m_dma_seg_eop.val().to_u64());
    let segs = (0..4)
        .filter(|k| sv >> k & 1 == 1)
        .map(|k| Seg {
            addr: u64::from_le_bytes(addr[8 * k..8 * k + 8].try_into().unwrap()),
            count: cnt >> (7 * k) & 0x7f,
            lane: lane >> (6 * k) & 0x3f,
            sop: sop >> k & 1 == 1,
            eop: eop >> k & 1 == 1,
        })
        .collect();
    Out {
        dma: u.m_dma_valid.val().then(|| (u.m_dma_tag.val().to_u64(), bits_to_bytes(u.m_dma_data.val()), segs)),
        place: u.m_place_valid.val().then(|| (u.m_place_ok.val(), u.m_place_reason.val().to_u64())),
        done: u.m_done_valid.val().then(|| u.m_done_tag.val().to_u64()),
        stats: [
            u.m_stat_placed_beats.val().to_u64(), u.m_stat_placed_bytes.val().to_u64(), u.m_stat_bad_input.val().to_u64(),
            u.m_stat_not_live.val().to_u64(), u.m_stat_wrong_flow.val().to_u64(), u.m_stat_stale.val().to_u64(), u.m_stat_out_of_bounds.val().to_u64(),
        ],
    }
}

/// Runs the model; returns, per input cycle, the outputs after its edge (all port values) and
/// the decoded outputs `LATENCY - 1` edges later (that cycle's beat).
fn drive(mps: usize, ins: &[In]) -> (Vec<Vec<BigUint>>, Vec<Out>) {
    let mut uut = DmaWriter::new(PlacementParams { mps, ..Default::default() });
    uut.connect_all();
    rust_hdl::prelude::check_all(&uut).expect("no logic loops");
    let (mut raw, mut seen) = (Vec::new(), Vec::new());
    let idle = In { data: vec![0; 64], ..Default::default() };
    for i in 0..ins.len() + LATENCY - 1 {
        let c = ins.get(i).unwrap_or(&idle);
        uut.s_res_valid.next = c.valid;
        uut.s_res_ok.next = c.ok;
        uut.s_res_reason.next = c.reason.into();
        uut.s_res_tag.next = c.tag.into();
        uut.s_res_lane.next = c.lane.into();
        uut.s_res_count.next = c.count.into();
        uut.s_res_a1.next = c.a1.into();
        uut.s_res_b1.next = c.b1.into();
        uut.s_res_a2.next = c.a2.into();
        uut.s_res_data.next = bytes_to_bits(&c.data);
        uut.s_res_token_valid.next = c.token.is_some();
        uut.s_res_token_tag.next = c.token.unwrap_or(0).into();
        cycle(&mut uut, |u| &mut u.clock);
        if i < ins.len() {
            raw.push(output_values(&uut));
        }
        if i + 1 >= LATENCY {
            seen.push(decode(&uut));
        }
    }
    (raw, seen)
}

/// The reference: the segments of a placed beat, from its pieces and the contract alone.
fn reference_segments(c: &In, mps: u64) -> Vec<Seg> {
    let mut segs: Vec<Seg> = Vec::new();
    for j in 0..c.count {
        let addr = if j < c.b1 { c.a1 + j } else { c.a2 + (j - c.b1) };
        let joins = j > 0 && j != c.b1 && addr % mps != 0;
        match segs.last_mut() {
            Some(s) if joins => s.count += 1,
            _ => segs.push(Seg { addr, count: 1, lane: c.lane + j, sop: true, eop: true }),
        }
    }
    assert!(segs.len() <= 4, "test bug: {} segments for {c:?}", segs.len());
    segs
}

/// Checks the model's outputs against the reference; returns (segments, writes, tokens).
fn check(mps: u64, ins: &[In], seen: &[Out]) -> (usize, usize, usize) {
    // Segments of each placed beat, then the write framing over consecutive cycles.
    let mut expect: Vec<Option<(u64, Vec<Seg>)>> = ins.iter().map(|c| (c.contract && c.valid && c.ok).then(|| (c.tag, reference_segments(c, mps)))).collect();
    let mut prev: Option<(u64, (usize, usize))> = None; // (tag, (beat, segment)) of the last segment of the previous cycle
    for i in 0..expect.len() {
        let Some((tag, segs)) = expect[i].clone() else {
            prev = None;
            continue;
        };
        for k in 0..segs.len() {
            let p = if k > 0 { Some((tag, (i, k - 1))) } else { prev };
            if let Some((ptag, (pi, pk))) = p {
                let ps = expect[pi].as_ref().unwrap().1[pk];
                let continues = ptag == tag && ps.addr + ps.count == segs[k].addr && segs[k].addr % mps != 0;
                if continues {
                    expect[i].as_mut().unwrap().1[k].sop = false;
                    expect[pi].as_mut().unwrap().1[pk].eop = false;
                }
            }
        }
        prev = Some((tag, (i, segs.len() - 1)));
    }
    let (mut segs_n, mut writes, mut tokens) = (0, 0, 0);
    let mut stats = [0u64; 7];
    let (mut open, mut run) = (false, 0u64);
    for (i, c) in ins.iter().enumerate().filter(|(_, c)| c.contract) {
        let got = &seen[i];
        assert_eq!(got.place, c.valid.then_some((c.ok, c.reason)), "cycle {i}: verdict");
        assert_eq!(got.done, c.token, "cycle {i}: teardown token");
        match &expect[i] {
            Some((tag, segs)) => {
                let (gtag, data, gsegs) = got.dma.as_ref().unwrap_or_else(|| panic!("cycle {i}: placed beat without DMA"));
                assert_eq!((gtag, data), (tag, &c.data), "cycle {i}: tag and data");
                assert_eq!(gsegs, segs, "cycle {i}: segments of {c:?}");
                for s in segs {
                    assert!(s.sop != open, "cycle {i}: sop {} with a write {}", s.sop, if open { "open" } else { "closed" });
                    run = if s.sop { s.count } else { run + s.count };
                    assert!(run <= mps, "cycle {i}: write longer than MPS");
                    open = !s.eop;
                    writes += usize::from(s.eop);
                }
                segs_n += segs.len();
                stats[0] += 1;
                stats[1] += c.count;
            }
            None => {
                assert!(got.dma.is_none(), "cycle {i}: DMA for a beat not placed");
                assert!(!open, "cycle {i}: a write left open");
                if c.valid {
                    stats[1 + c.reason as usize] += 1;
                }
            }
        }
        tokens += usize::from(c.token.is_some());
        assert_eq!(got.stats, stats, "cycle {i}: statistics");
    }
    (segs_n, writes, tokens)
}

fn run(mps: usize, seed: u64, cycles: usize, junk: usize) -> (Vec<In>, Vec<Vec<BigUint>>) {
    let ins = workload(seed, mps as u64, cycles, junk);
    let (raw, seen) = drive(mps, &ins);
    let (segs, writes, tokens) = check(mps as u64, &ins, &seen);
    println!("MPS {mps}: {cycles} cycles, {segs} segments, {writes} writes, {tokens} tokens");
    assert!(segs > cycles / 2 && writes > cycles / 20 && tokens > cycles / 100, "thin workload");
    (ins, raw)
}

#[test]
fn model_matches_reference_mps_64() {
    run(64, 1, 20_000, 0);
}

#[test]
fn model_matches_reference_mps_4096() {
    run(4096, 2, 20_000, 0);
}

fn replay_through_verilog(mps: usize, seed: u64, cycles: usize, junk: usize) {
    let (ins, raw) = run(mps, seed, cycles, junk);
    let care: Vec<BigUint> = OUTPUTS.iter().map(|&(_, w)| (big(1) << w) - 1u32).collect();
    let vectors: Vec<Cycle> = ins.iter().zip(raw).map(|(c, out)| Cycle { inputs: input_values(c), expected: out, care: care.clone() }).collect();
    let name = format!("placement_dma_mps{mps}");
    let params = PlacementParams { mps, ..Default::default() };
    let replay = Replay { top: name.clone(), verilog: verilog_for(&mut DmaWriter::new(params), &name), clock: "clock", inputs: INPUTS.to_vec(), outputs: OUTPUTS.to_vec() };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &vectors);
}

#[test]
fn verilog_matches_model_mps_256() {
    replay_through_verilog(256, 3, 30_000, 5000);
}

#[test]
fn verilog_matches_model_mps_64() {
    replay_through_verilog(64, 4, 10_000, 5000);
}
