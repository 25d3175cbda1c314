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
