//! Placement blocks one by one: generated Verilog lints clean, plus directed Verilator tests
//! of the tag table (lookup, setup, teardown, failures) and the DMA writer's splitting rules.
use ddpnic_hdl::placement::dma_writer::DmaWriter;
use ddpnic_hdl::placement::sgl_store::SglStore;
use ddpnic_hdl::placement::tag_table::TagTable;
use ddpnic_hdl::placement::PlacementParams;
use ddpnic_hdl::testbench::verilog_for;
use std::path::Path;

fn lint(name: &str, text: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("placement-lint");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}.v"));
    std::fs::write(&file, text).unwrap();
    let waivers = Path::new(env!("CARGO_MANIFEST_DIR")).join("lint/waivers.vlt");
    let findings = ddpnic_hdl::tools::lint::lint_file(&file, &waivers).unwrap();
    assert!(findings.is_empty(), "{name}: {findings:#?}");
}

#[test]
fn verilog_lints_clean() {
    for p in [PlacementParams::default(), PlacementParams { tag_bits: 6, hash_bits: 3, pool_bits: 10, mps: 128 }] {
        lint("placement_tags", &verilog_for(&mut TagTable::new(p), "placement_tags"));
        lint("placement_sgl", &verilog_for(&mut SglStore::new(p), "placement_sgl"));
        lint("placement_dma", &verilog_for(&mut DmaWriter::new(p), "placement_dma"));
    }
}

mod placement_common;
use ddpnic_hdl::placement::{status, EV_REFUSED, EV_SETUP_OK, EV_TEARDOWN_DONE, OP_ENTRY, OP_SETUP, OP_TEARDOWN};
use placement_common::{Beat, Ctrl, Driver, Inputs};

/// Sends control words (waiting for ready) and returns the events seen meanwhile.
fn send(d: &mut Driver, words: &[Ctrl]) -> Vec<(u64, u64, u64)> {
    let mut events = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let s = d.step(&Inputs { ctrl: Some(words[i].clone()), event_ready: true, ..Default::default() });
        events.extend(s.event);
        if s.ctrl_taken {
            i += 1;
        }
    }
    events
}

fn idle(d: &mut Driver, cycles: usize) -> Vec<(u64, u64, u64)> {
    (0..cycles).filter_map(|_| d.step(&Inputs { event_ready: true, ..Default::default() }).event).collect()
}

fn setup_words(tag: u64, flow: u64, cid: u64, base: u64, sgl: &[(u64, u64)]) -> Vec<Ctrl> {
    let mut v = vec![Ctrl { op: OP_SETUP, tag, flow, cid, base, count: sgl.len() as u64, ..Default::default() }];
    v.extend(sgl.iter().map(|&(addr, len)| Ctrl { op: OP_ENTRY, addr, len, ..Default::default() }));
    v
}

#[test]
fn smoke_setup_lookup_place_teardown() {
    let mut d = Driver::new(PlacementParams::default());
    let sgl = [(0x1000_0fd0u64, 100u64), (0x2000_0000, 4096), (0x3000_0010, 50)];
    let mut ev = send(&mut d, &setup_words(7, 3, 0xBEEF, 32, &sgl));
    ev.extend(idle(&mut d, 8));
    assert_eq!(ev, vec![(EV_SETUP_OK, 7, status::OK)]);
    // Lookup.
    d.step(&Inputs { lookup: Some((3, 0xBEEF)), event_ready: true, ..Default::default() });
    let mut seen = None;
    for _ in 0..8 {
        if let Some(l) = d.step(&Inputs::default()).out.lookup {
            seen = Some(l);
        }
    }
    assert_eq!(seen, Some((true, 7, 1)));
    // One beat crossing a 4 KiB boundary and the first entry's end: offset 40, 64 bytes.
    let mut data = [0u8; 64];
    for (i, b) in data.iter_mut().enumerate() {
        *b = i as u8;
    }
    d.step(&Inputs { place: Some(Beat { flow: 3, tag: 7, gen: 1, offset: 40, lane: 0, count: 64, data }), ..Default::default() });
    let mut dma = None;
    let mut verdict = None;
    for _ in 0..20 {
        let s = d.step(&Inputs::default());
        if s.out.place.is_some() {
            verdict = s.out.place;
            dma = s.out.dma.clone();
        }
    }
    assert_eq!(verdict, Some((true, 0)));
    let dma = dma.expect("segments");
    let segs: Vec<(u64, usize, usize)> = dma.segs.iter().map(|s| (s.addr, s.count, s.lane)).collect();
    assert_eq!(segs, vec![(0x1000_0ff8, 8, 0), (0x1000_1000, 52, 8), (0x2000_0000, 4, 60)]);
    // Teardown.
    let mut ev = send(&mut d, &[Ctrl { op: OP_TEARDOWN, tag: 7, ..Default::default() }]);
    ev.extend(idle(&mut d, 30));
    assert_eq!(ev, vec![(EV_TEARDOWN_DONE, 7, 0)]);
    let mut ev = send(&mut d, &[Ctrl { op: OP_TEARDOWN, tag: 7, ..Default::default() }]);
    ev.extend(idle(&mut d, 10));
    assert_eq!(ev, vec![(EV_REFUSED, 7, status::NOT_SET_UP)]);
}

fn events_after(d: &mut Driver, words: &[Ctrl], idle_cycles: usize) -> Vec<(u64, u64, u64)> {
    let mut ev = send(d, words);
    ev.extend(idle(d, idle_cycles));
    ev
}

#[test]
fn setup_failures_and_refusals() {
    use ddpnic_hdl::placement::EV_SETUP_FAILED;
    let mut d = Driver::new(PlacementParams::default());
    // Total length 4 GiB or more.
    let ev = events_after(&mut d, &setup_words(1, 0, 1, 2, &[(0x1000, 0xFFFF_FFFF), (0x1_0000_0000_0000, 1)]), 6);
    assert_eq!(ev, vec![(EV_SETUP_FAILED, 1, status::TOO_LONG)]);
    // Exactly 4 GiB - 1 is fine.
    let ev = events_after(&mut d, &setup_words(1, 0, 1, 2, &[(0x1000, 0xFFFF_FFFE), (0x1_0000_0000_0000, 1)]), 6);
    assert_eq!(ev, vec![(EV_SETUP_OK, 1, status::OK)]);
    // The same tag again: busy.
    let ev = events_after(&mut d, &setup_words(1, 0, 2, 16, &[(0x5000, 100)]), 6);
    assert_eq!(ev, vec![(EV_SETUP_FAILED, 1, status::TAG_BUSY)]);
    // A teardown word inside a setup: protocol error (the word counts as an entry).
    let mut words = setup_words(2, 0, 3, 32, &[(0x5000, 100), (0x6000, 100)]);
    words[2].op = OP_TEARDOWN;
    assert_eq!(events_after(&mut d, &words, 6), vec![(EV_SETUP_FAILED, 2, status::PROTOCOL)]);
    // An unknown opcode: refused.
    assert_eq!(events_after(&mut d, &[Ctrl { op: 0, tag: 9, ..Default::default() }], 6), vec![(EV_REFUSED, 9, status::PROTOCOL)]);
    // 0 and 257 entries, a small SGL crossing its row, a large one not starting a row, or
    // crossing its superblock.
    assert_eq!(events_after(&mut d, &setup_words(3, 0, 4, 48, &[]), 6), vec![(EV_SETUP_FAILED, 3, status::BAD_GEOMETRY)]);
    let many: Vec<(u64, u64)> = (0..257).map(|i| (0x10_0000 * i, 4096)).collect();
    assert_eq!(events_after(&mut d, &setup_words(3, 0, 4, 512, &many), 6), vec![(EV_SETUP_FAILED, 3, status::BAD_GEOMETRY)]);
    assert_eq!(events_after(&mut d, &setup_words(3, 0, 4, 60, &[(0, 64); 5]), 6), vec![(EV_SETUP_FAILED, 3, status::BAD_GEOMETRY)]);
    assert_eq!(events_after(&mut d, &setup_words(3, 0, 4, 1024 + 8, &[(0, 64); 17]), 6), vec![(EV_SETUP_FAILED, 3, status::BAD_GEOMETRY)]);
    assert_eq!(events_after(&mut d, &setup_words(3, 0, 4, 1024 + 15 * 16, &[(0, 64); 17]), 6), vec![(EV_SETUP_FAILED, 3, status::BAD_GEOMETRY)]);
    assert_eq!(events_after(&mut d, &setup_words(3, 0, 4, 1024 + 14 * 16, &[(0, 64); 17]), 6), vec![(EV_SETUP_OK, 3, status::OK)]);
    // Short interior entry; zero-length last entry; short first and last entries are fine.
    assert_eq!(events_after(&mut d, &setup_words(4, 0, 5, 64, &[(0, 100), (0x1000, 63), (0x2000, 100)]), 6), vec![(EV_SETUP_FAILED, 4, status::BAD_LENGTH)]);
    assert_eq!(events_after(&mut d, &setup_words(4, 0, 5, 64, &[(0, 100), (0x2000, 0)]), 6), vec![(EV_SETUP_FAILED, 4, status::BAD_LENGTH)]);
    assert_eq!(events_after(&mut d, &setup_words(4, 0, 5, 64, &[(0, 1), (0x1000, 64), (0x2000, 1)]), 6), vec![(EV_SETUP_OK, 4, status::OK)]);
    // Teardown twice: the second is refused.
    let ev = events_after(&mut d, &[Ctrl { op: OP_TEARDOWN, tag: 4, ..Default::default() }, Ctrl { op: OP_TEARDOWN, tag: 4, ..Default::default() }], 30);
    assert!(ev.contains(&(EV_TEARDOWN_DONE, 4, 0)) && ev.iter().any(|e| e.0 == EV_REFUSED && e.1 == 4), "{ev:?}");
}

#[test]
fn duplicate_keys_never_match() {
    // The host must not register one (flow, CID) twice; if it does, lookups miss (never a
    // wrong tag) until one of them is torn down.
    let mut d = Driver::new(PlacementParams::default());
    for tag in [10, 11] {
        assert_eq!(events_after(&mut d, &setup_words(tag, 5, 77, tag * 16, &[(0x1000 * tag, 100)]), 6), vec![(EV_SETUP_OK, tag, 0)]);
    }
    let lookup = |d: &mut Driver| {
        d.step(&Inputs { lookup: Some((5, 77)), ..Default::default() });
        (0..8).find_map(|_| d.step(&Inputs::default()).out.lookup).unwrap()
    };
    assert!(!lookup(&mut d).0);
    assert_eq!(d.last.stats["m_stat_lookup_miss"], 1);
    events_after(&mut d, &[Ctrl { op: OP_TEARDOWN, tag: 10, ..Default::default() }], 30);
    assert_eq!(lookup(&mut d), (true, 11, 1));
}

#[test]
fn dma_writes_coalesce_to_mps() {
    // 4 KiB page-aligned entries, full beats: one 256-byte write per 4 beats; entries
    // starting 16 bytes into a page: 240, 15 x 256 and 16 bytes per entry.
    let mut d = Driver::new(PlacementParams::default());
    let pages: Vec<(u64, u64)> = (0..4).map(|i| (0x7_0000_0000 + 0x10_0000 * i, 4096)).collect();
    assert_eq!(events_after(&mut d, &setup_words(1, 1, 1, 0, &pages), 6), vec![(EV_SETUP_OK, 1, 0)]);
    let shifted: Vec<(u64, u64)> = pages.iter().map(|&(a, l)| (a + 0x8_0000_0000 + 16, l)).collect();
    assert_eq!(events_after(&mut d, &setup_words(2, 2, 2, 16, &shifted), 6), vec![(EV_SETUP_OK, 2, 0)]);
    for (tag, flow, first_write) in [(1u64, 1u64, 256usize), (2, 2, 240)] {
        let (mut writes, mut cur) = (Vec::new(), 0usize);
        let mut off = 0u64;
        for _ in 0..(4 * 4096 / 64 + 20) {
            let place = (off < 4 * 4096).then(|| Beat { flow, tag, gen: 1, offset: off, lane: 0, count: 64, data: [0xAB; 64] });
            off += 64;
            let s = d.step(&Inputs { place, ..Default::default() });
            if let Some(dma) = s.out.dma {
                for seg in dma.segs {
                    if seg.sop {
                        cur = 0;
                    }
                    cur += seg.count;
                    if seg.eop {
                        writes.push(cur);
                    }
                }
            }
        }
        // Per page: a first write up to the next 256-byte boundary, full writes, the rest.
        let page: Vec<usize> = if first_write == 256 { vec![256; 16] } else { [vec![240], vec![256; 15], vec![16]].concat() };
        assert_eq!(writes, page.repeat(4), "tag {tag}");
    }
}
