//! Driver for the `placement` Verilator model with named inputs and outputs.
#![allow(dead_code)]
use ddpnic_hdl::placement::cosim::{CoSim, Model};
use ddpnic_hdl::placement::{top, PlacementParams};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// Builds (once per parameter set and test binary) and returns the model.
pub fn model(params: PlacementParams) -> Model {
    static BUILT: Mutex<Vec<(PlacementParams, Model)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, m)) = built.iter().find(|(p, _)| *p == params) {
        return m.clone();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "placement-t{}-h{}-p{}-m{}",
        params.tag_bits, params.hash_bits, params.pool_bits, params.mps
    ));
    let m = top::build(&dir, &params).unwrap_or_else(|e| panic!("{e}"));
    built.push((params, m.clone()));
    m
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ctrl {
    pub op: u64,
    pub tag: u64,
    pub flow: u64,
    pub cid: u64,
    pub base: u64,
    pub count: u64,
    pub addr: u64,
    pub len: u64,
}

#[derive(Clone, Debug)]
pub struct Beat {
    pub flow: u64,
    pub tag: u64,
    pub gen: u64,
    pub offset: u64,
    pub lane: usize,
    pub count: usize,
    pub data: [u8; 64],
}

#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub ctrl: Option<Ctrl>,
    pub event_ready: bool,
    pub lookup: Option<(u64, u64)>,
    pub place: Option<Beat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seg {
    pub addr: u64,
    pub count: usize,
    pub lane: usize,
    pub sop: bool,
    pub eop: bool,
}

#[derive(Clone, Debug)]
pub struct DmaBeat {
    pub tag: u64,
    pub data: Vec<u8>,
    pub segs: Vec<Seg>,
}

#[derive(Clone, Debug, Default)]
pub struct Outputs {
    pub ctrl_ready: bool,
    pub event: Option<(u64, u64, u64)>,
    /// (hit, tag, gen)
    pub lookup: Option<(bool, u64, u64)>,
    pub dma: Option<DmaBeat>,
    /// (ok, reason)
    pub place: Option<(bool, u64)>,
    pub done: Option<u64>,
    pub stats: HashMap<&'static str, u64>,
}

pub struct Step {
    /// The control word presented in this step was taken.
    pub ctrl_taken: bool,
    /// The event consumed in this step: (kind, tag, status).
    pub event: Option<(u64, u64, u64)>,
    pub out: Outputs,
}

pub struct Driver {
    pub sim: CoSim,
    pub last: Outputs,
    pub cycle: u64,
}

const STATS: [&str; 11] = [
    "m_stat_lookup_miss", "m_stat_setups", "m_stat_setup_fails", "m_stat_teardowns", "m_stat_placed_beats", "m_stat_placed_bytes",
    "m_stat_bad_input", "m_stat_not_live", "m_stat_wrong_flow", "m_stat_stale", "m_stat_out_of_bounds",
];

impl Driver {
    pub fn new(params: PlacementParams) -> Self {
        let sim = CoSim::start(&model(params)).unwrap_or_else(|e| panic!("{e}"));
        let mut d = Self { sim, last: Outputs::default(), cycle: 0 };
        d.step(&Inputs::default());
        d
    }

    pub fn step(&mut self, i: &Inputs) -> Step {
        let c = i.ctrl.clone().unwrap_or_default();
        let b = i.place.clone();
        let w = |v: u64| vec![v];
        let mut data = vec![0u64; 8];
        if let Some(b) = &b {
            for (k, chunk) in b.data.chunks(8).enumerate() {
                data[k] = u64::from_le_bytes(chunk.try_into().unwrap());
            }
        }
        let bv = b.clone().unwrap_or(Beat { flow: 0, tag: 0, gen: 0, offset: 0, lane: 0, count: 0, data: [0; 64] });
        let (lf, lc) = i.lookup.unwrap_or((0, 0));
        let inputs = vec![
            w(i.ctrl.is_some() as u64), w(c.op), w(c.tag), w(c.flow), w(c.cid), w(c.base), w(c.count), w(c.addr), w(c.len),
            w(i.event_ready as u64), w(i.lookup.is_some() as u64), w(lf), w(lc),
            w(b.is_some() as u64), w(bv.flow), w(bv.tag), w(bv.gen), w(bv.offset), w(bv.lane as u64), w(bv.count as u64), data,
        ];
        let raw = self.sim.step(&inputs);
        let names: Vec<&str> = self.sim.model.outputs.iter().map(|p| p.0.as_str()).collect();
        let get = |n: &str| -> &Vec<u64> { &raw[names.iter().position(|x| *x == n).unwrap_or_else(|| panic!("no output {n}"))] };
        let g = |n: &str| get(n)[0];
        let mut out = Outputs { ctrl_ready: g("s_ctrl_ready") == 1, ..Default::default() };
        if g("m_event_valid") == 1 {
            out.event = Some((g("m_event_kind"), g("m_event_tag"), g("m_event_status")));
        }
        if g("m_lookup_valid") == 1 {
            out.lookup = Some((g("m_lookup_hit") == 1, g("m_lookup_tag"), g("m_lookup_gen")));
        }
        if g("m_place_valid") == 1 {
            out.place = Some((g("m_place_ok") == 1, g("m_place_reason")));
        }
        if g("m_done_valid") == 1 {
            out.done = Some(g("m_done_tag"));
        }
        if g("m_dma_valid") == 1 {
            let data: Vec<u8> = get("m_dma_data").iter().flat_map(|w| w.to_le_bytes()).collect();
            let (sv, addr, cnt, lane, sop, eop) = (g("m_dma_seg_valid"), get("m_dma_seg_addr"), g("m_dma_seg_count"), g("m_dma_seg_lane"), g("m_dma_seg_sop"), g("m_dma_seg_eop"));
            let segs = (0..4)
                .filter(|k| sv >> k & 1 == 1)
                .map(|k| Seg {
                    addr: addr[k],
                    count: (cnt >> (7 * k) & 0x7f) as usize,
                    lane: (lane >> (6 * k) & 0x3f) as usize,
                    sop: sop >> k & 1 == 1,
                    eop: eop >> k & 1 == 1,
                })
                .collect();
            out.dma = Some(DmaBeat { tag: g("m_dma_tag"), data, segs });
        }
        for s in STATS {
            out.stats.insert(s, g(s));
        }
        let step = Step {
            ctrl_taken: i.ctrl.is_some() && self.last.ctrl_ready,
            event: if i.event_ready { self.last.event } else { None },
            out: out.clone(),
        };
        self.last = out;
        self.cycle += 1;
        step
    }
}
