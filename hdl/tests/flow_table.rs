//! FlowTable against a map of the flows a driver has placed: hits, misses, near misses that
//! differ in one bit, IPv4 keys with junk in the unused address bytes, full sets, and adds and
//! deletes racing lookups; then the same cycles replayed through the generated Verilog.
use ddpnic_hdl::flow::flow_table::{FlowTable, FlowTable4096, FlowTable64, WAYS};
use ddpnic_hdl::flow::toeplitz::FiveTuple;
use ddpnic_hdl::testbench::{cycle, replay::{Cycle, Replay}, verilog_for};
use num_bigint::BigUint;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use rust_hdl::prelude::{Bits, Block};

#[derive(Clone, Copy, Debug)]
enum Control {
    Add(usize, FiveTuple),
    Delete(usize),
}

#[derive(Clone, Debug, Default)]
struct Step {
    lookup: Option<FiveTuple>,
    control: Option<Control>,
    /// What the driver's map says the lookup must return.
    expected: Option<Option<usize>>,
}

fn random_flow(rng: &mut SmallRng) -> FiveTuple {
    let ipv6 = rng.gen_bool(0.4);
    let mut t = FiveTuple { ipv6, src_addr: rng.gen(), dst_addr: rng.gen(), src_port: rng.gen(), dst_port: 4420 };
    if !ipv6 {
        t.src_addr[4..].fill(0);
        t.dst_addr[4..].fill(0);
    }
    t
}

/// The same flow as the parser could present it: an IPv4 key with junk above byte 3.
fn as_seen(rng: &mut SmallRng, t: &FiveTuple) -> FiveTuple {
    let mut seen = *t;
    if !t.ipv6 && rng.gen_bool(0.5) {
        rng.fill(&mut seen.src_addr[4..]);
        rng.fill(&mut seen.dst_addr[4..]);
    }
    seen
}

/// A key that differs from `t` in exactly one bit that matters.
fn near_miss(rng: &mut SmallRng, t: &FiveTuple) -> FiveTuple {
    let mut m = *t;
    let addr_bytes = if t.ipv6 { 16 } else { 4 };
    match rng.gen_range(0..5) {
        0 => m.src_addr[rng.gen_range(0..addr_bytes)] ^= 1 << rng.gen_range(0..8),
        1 => m.dst_addr[rng.gen_range(0..addr_bytes)] ^= 1 << rng.gen_range(0..8),
        2 => m.src_port ^= 1 << rng.gen_range(0..16),
        3 => m.dst_port ^= 1 << rng.gen_range(0..16),
        _ => {
            // The same address bytes read as the other IP version.
            m.ipv6 = !m.ipv6;
            if !m.ipv6 {
                m.src_addr[4..].fill(0);
                m.dst_addr[4..].fill(0);
            }
        }
    }
    m
}

/// A driver placing and removing flows while lookups flow, and the answers it expects.
fn workload<const S: usize, const F: usize>(seed: u64, steps: usize) -> Vec<Step> {
    let mut rng = SmallRng::seed_from_u64(seed);
    // Placed flows in insertion order (a HashMap would make the workload differ run to run).
    let mut placed: Vec<(FiveTuple, usize)> = Vec::new();
    let mut slots: Vec<Option<FiveTuple>> = vec![None; WAYS << S];
    let mut refused = 0;
    let mut out = Vec::new();
    for _ in 0..steps {
        let mut step = Step::default();
        if rng.gen_bool(0.3) {
            if rng.gen_bool(0.6) || placed.is_empty() {
                let flow = random_flow(&mut rng);
                let set = FlowTable::<S, F>::set_of(&flow);
                match (0..WAYS).map(|w| set * WAYS + w).find(|&slot| slots[slot].is_none()) {
                    Some(slot) if !placed.iter().any(|(f, _)| *f == flow) => {
                        slots[slot] = Some(flow);
                        placed.push((flow, slot));
                        step.control = Some(Control::Add(slot, as_seen(&mut rng, &flow)));
                    }
                    _ => refused += 1, // the set is full: sk_add fails, the flow runs in software
                }
            } else {
                let (_, slot) = placed.swap_remove(rng.gen_range(0..placed.len()));
                slots[slot] = None;
                step.control = Some(Control::Delete(slot));
            }
        }
        if rng.gen_bool(0.9) {
            let kind = rng.gen_range(0..5);
            let known = (!placed.is_empty()).then(|| placed[rng.gen_range(0..placed.len())].0);
            let key = match (kind, known) {
                (0 | 1, Some(flow)) => as_seen(&mut rng, &flow),
                (2, Some(flow)) => near_miss(&mut rng, &flow),
                // All zeros, what an emptied slot holds apart from its valid bit.
                (3, _) => FiveTuple::default(),
                _ => random_flow(&mut rng),
            };
            let canonical = {
                let mut k = key;
                if !k.ipv6 {
                    k.src_addr[4..].fill(0);
                    k.dst_addr[4..].fill(0);
                }
                k
            };
            // Writes sampled with the lookup are already visible to it.
            step.expected = Some(placed.iter().find(|(f, _)| *f == canonical).map(|&(_, slot)| slot));
            step.lookup = Some(key);
        }
        out.push(step);
    }
    if S <= 4 {
        assert!(refused > 0, "the small table must see full sets");
    }
    out
}

fn addr_bits(a: &[u8; 16]) -> Bits<128> {
    BigUint::from_bytes_le(a).into()
}

fn drive<const S: usize, const F: usize>(steps: &[Step]) -> Vec<Option<Option<usize>>> {
    let mut uut = FlowTable::<S, F>::new();
    uut.connect_all();
    let latency = FlowTable::<S, F>::LATENCY;
    let mut seen = Vec::new();
    for i in 0..steps.len() + latency {
        let step = steps.get(i).cloned().unwrap_or_default();
        uut.s_valid.next = step.lookup.is_some();
        if let Some(k) = step.lookup {
            uut.s_ipv6.next = k.ipv6;
            uut.s_src_addr.next = addr_bits(&k.src_addr);
            uut.s_dst_addr.next = addr_bits(&k.dst_addr);
            uut.s_src_port.next = u64::from(k.src_port).into();
            uut.s_dst_port.next = u64::from(k.dst_port).into();
        }
        uut.c_valid.next = step.control.is_some();
        match step.control {
            Some(Control::Add(slot, k)) => {
                uut.c_add.next = true;
                uut.c_flow.next = (slot as u64).into();
                uut.c_ipv6.next = k.ipv6;
                uut.c_src_addr.next = addr_bits(&k.src_addr);
                uut.c_dst_addr.next = addr_bits(&k.dst_addr);
                uut.c_src_port.next = u64::from(k.src_port).into();
                uut.c_dst_port.next = u64::from(k.dst_port).into();
            }
            Some(Control::Delete(slot)) => {
                uut.c_add.next = false;
                uut.c_flow.next = (slot as u64).into();
            }
            None => {}
        }
        cycle(&mut uut, |u| &mut u.clock);
        if i + 1 >= latency {
            seen.push(uut.m_valid.val().then(|| uut.m_hit.val().then(|| uut.m_flow.val().index())));
        }
    }
    seen
}

fn check(steps: &[Step], seen: &[Option<Option<usize>>]) {
    let (mut hits, mut misses) = (0, 0);
    for (i, (step, got)) in steps.iter().zip(seen).enumerate() {
        assert_eq!(*got, step.expected, "step {i}: lookup of {:?}", step.lookup);
        match step.expected {
            Some(Some(_)) => hits += 1,
            Some(None) => misses += 1,
            None => {}
        }
    }
    assert!(hits > steps.len() / 10 && misses > steps.len() / 10, "workload too thin: {hits} hits, {misses} misses");
}

#[test]
fn small_table_with_full_sets_and_racing_updates() {
    for seed in 0..4 {
        let steps = workload::<4, 6>(seed, 3000);
        check(&steps, &drive::<4, 6>(&steps));
    }
}

#[test]
fn table_of_4096_flows() {
    let steps = workload::<10, 12>(10, 4000);
    check(&steps, &drive::<10, 12>(&steps));
}

fn replay_through_verilog<const S: usize, const F: usize>(name: &str, steps: &[Step]) {
    let seen = drive::<S, F>(steps);
    check(steps, &seen);
    let latency = FlowTable::<S, F>::LATENCY;
    let big = |v: u64| BigUint::from(v);
    let key_values = |k: &FiveTuple| vec![big(k.ipv6.into()), BigUint::from_bytes_le(&k.src_addr), BigUint::from_bytes_le(&k.dst_addr), big(k.src_port.into()), big(k.dst_port.into())];
    let cycles: Vec<Cycle> = (0..steps.len() + latency)
        .map(|i| {
            let step = steps.get(i).cloned().unwrap_or_default();
            let mut inputs = vec![big(step.lookup.is_some().into())];
            inputs.extend(step.lookup.as_ref().map(key_values).unwrap_or_else(|| vec![big(0); 5]));
            match step.control {
                Some(Control::Add(slot, k)) => {
                    inputs.extend([big(1), big(1), big(slot as u64)]);
                    inputs.extend(key_values(&k));
                }
                Some(Control::Delete(slot)) => inputs.extend([big(1), big(0), big(slot as u64), big(0), big(0), big(0), big(0), big(0)]),
                None => inputs.extend(vec![big(0); 8]),
            }
            let (expected, care) = match i.checked_sub(latency - 1).and_then(|k| seen.get(k)) {
                Some(Some(Some(flow))) => (vec![big(1), big(1), big(*flow as u64)], vec![big(1), big(1), big((1 << F) - 1)]),
                Some(Some(None)) => (vec![big(1), big(0), big(0)], vec![big(1), big(1), big(0)]),
                Some(None) => (vec![big(0); 3], vec![big(1), big(0), big(0)]),
                None => (vec![big(0); 3], vec![big(0); 3]),
            };
            Cycle { inputs, expected, care }
        })
        .collect();
    let key_ports = |p: &'static str| -> Vec<(&'static str, usize)> {
        match p {
            "s" => vec![("s_ipv6", 1), ("s_src_addr", 128), ("s_dst_addr", 128), ("s_src_port", 16), ("s_dst_port", 16)],
            _ => vec![("c_ipv6", 1), ("c_src_addr", 128), ("c_dst_addr", 128), ("c_src_port", 16), ("c_dst_port", 16)],
        }
    };
    let mut inputs = vec![("s_valid", 1)];
    inputs.extend(key_ports("s"));
    inputs.extend([("c_valid", 1), ("c_add", 1), ("c_flow", F)]);
    inputs.extend(key_ports("c"));
    let replay = Replay { top: name.into(), verilog: verilog_for(&mut FlowTable::<S, F>::new(), name), clock: "clock", inputs, outputs: vec![("m_valid", 1), ("m_hit", 1), ("m_flow", F)] };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &cycles);
}

#[test]
fn verilog_matches_model_small() {
    replay_through_verilog::<4, 6>("flow_table_64", &workload::<4, 6>(20, 4000));
}

#[test]
fn verilog_matches_model_4096() {
    replay_through_verilog::<10, 12>("flow_table_4096", &workload::<10, 12>(21, 3000));
}

#[test]
fn block_verilog_generates() {
    assert!(verilog_for(&mut FlowTable4096::new(), "flow_table").contains("module flow_table("));
    assert!(verilog_for(&mut FlowTable64::new(), "flow_table_64").contains("module flow_table_64("));
}
