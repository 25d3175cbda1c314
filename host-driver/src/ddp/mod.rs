//! The `ddp` layer (DESIGN.md, host driver): the ULP DDP operations of the NIC/host contract
//! (reference/ulp-ddp-offload.rst) over the core's command window and event ring.
//!
//! - caps / set_caps: CAPS and ENABLE (the NVMe/TCP DDP and DDGST-rx bits);
//! - limits: the limits block (io_threshold, max SGL entries, flows, tags, SGL pool);
//! - sk_add / sk_del: FLOW_ADD / FLOW_DEL for a queue's TCP connection. The driver picks the
//!   flow-table slot: the set is the RSS Toeplitz hash of the 5-tuple as the NIC receives it
//!   (source = the target, destination = this host), the way a free one of four;
//! - setup / teardown: TAG_SETUP plus one TAG_ENTRY per SGL entry, answered by a SETUP event;
//!   TAG_TEARDOWN answered by TEARDOWN_DONE, after which the NIC never writes the buffer
//!   again (only then may the request complete and the tag be reused);
//! - resync: RESYNC confirm (or deny) for a request the rx completions carried;
//! - statistics: the core's counters (`nic::Counters`) plus what this layer saw.
//!
//! Every failure is an answer, not an error for the caller's I/O: a queue whose sk_add fails
//! runs in software, an I/O whose setup fails runs in software. While CAPS reads 0 (no offload
//! engine in the core) every command is answered UNSUPPORTED and everything runs in software.
pub mod mirror;
pub mod ulp;

use crate::nic::{Counters, NicDriver};
use crate::pci::{Device, PciError};
use ddpnic_regmap::{self as rm, ev, ev_status, op};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddrV4;
use std::sync::{Arc, Mutex, MutexGuard};

/// Flow-table ways per set (hdl/src/flow/flow_table.rs).
pub const FLOW_WAYS: u32 = 4;
/// Polls of the event ring before a command counts as unanswered.
const EVENT_POLLS: u32 = 200_000;

#[derive(Debug, thiserror::Error)]
pub enum DdpError {
    #[error("device: {0}")]
    Device(#[from] PciError),
    /// The core answered with a non-OK status (UNSUPPORTED = 0xFE while CAPS is 0).
    #[error("{what}: the NIC answered status {status:#04x}{}", if *status == ev_status::UNSUPPORTED { " (unsupported)" } else { "" })]
    Refused { what: &'static str, status: u8 },
    #[error("{0}: no answer from the NIC")]
    NoAnswer(&'static str),
    #[error("{0}")]
    Limit(String),
}

pub type Result<T> = std::result::Result<T, DdpError>;

/// The contract's capability bits (CAPS / ENABLE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Caps {
    pub nvme_tcp_ddp: bool,
    pub nvme_tcp_ddgst_rx: bool,
}

impl Caps {
    pub fn from_bits(b: u32) -> Caps {
        Caps { nvme_tcp_ddp: b & rm::caps::NVME_TCP_DDP != 0, nvme_tcp_ddgst_rx: b & rm::caps::NVME_TCP_DDGST_RX != 0 }
    }
    pub fn bits(&self) -> u32 {
        (self.nvme_tcp_ddp as u32 * rm::caps::NVME_TCP_DDP) | (self.nvme_tcp_ddgst_rx as u32 * rm::caps::NVME_TCP_DDGST_RX)
    }
    pub const ALL: Caps = Caps { nvme_tcp_ddp: true, nvme_tcp_ddgst_rx: true };
}

/// `ulp_ddp_limits` plus the core's sizes, read from the limits block.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    pub max_ddp_sgl_len: u32,
    pub io_threshold: u32,
    pub full_ccid_range: bool,
    pub flow_capacity: u32,
    pub tag_capacity: u32,
    pub sgl_pool_entries: u32,
    pub max_payload: u32,
    pub max_frame: u32,
}

/// What sk_add needs of a queue's connection (the contract's `ulp_ddp_config`).
#[derive(Debug, Clone, Copy)]
pub struct SkConfig {
    /// This host's end and the target's end of the TCP connection.
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    pub hdgst: bool,
    pub ddgst: bool,
    /// Controller PDU data alignment (ICResp CPDA) and PDU format version.
    pub cpda: u8,
    pub pfv: u8,
    pub queue_size: u16,
    /// Next TCP sequence number the host expects from the target.
    pub rcv_nxt: u32,
}

/// An offloaded queue: its flow-table slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow(pub u16);

/// A mapped DDP buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(pub u16);

/// One SGL entry: device address and length.
#[derive(Debug, Clone, Copy)]
pub struct SglEntry {
    pub addr: u64,
    pub len: u32,
}

/// What this layer did (the core counts what it did in `Counters`).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DdpStats {
    pub sk_add: u64,
    pub sk_add_fail: u64,
    pub sk_del: u64,
    pub setup: u64,
    pub setup_fail: u64,
    /// I/Os below io_threshold, not offered to the NIC.
    pub below_threshold: u64,
    pub teardown: u64,
    pub resync_confirmed: u64,
    pub resync_denied: u64,
}

/// The 5-tuple as the NIC's parser reports it for frames from the target.
pub fn rx_tuple(local: SocketAddrV4, remote: SocketAddrV4) -> rm::rss::FiveTuple {
    let mut t = rm::rss::FiveTuple { ipv6: false, src_port: remote.port(), dst_port: local.port(), ..Default::default() };
    t.src_addr[..4].copy_from_slice(&remote.ip().octets());
    t.dst_addr[..4].copy_from_slice(&local.ip().octets());
    t
}

struct State {
    limits: Limits,
    /// Flow-table slots in use.
    flows: BTreeSet<u16>,
    /// Free tags and free SGL pool chunks (each `max_ddp_sgl_len` entries).
    free_tags: VecDeque<u16>,
    free_chunks: VecDeque<u32>,
    /// tag -> its pool chunk
    live: HashMap<u16, u32>,
    /// Events read while waiting for another.
    events: VecDeque<rm::Event>,
    stats: DdpStats,
}

/// The contract's operations on one NIC. Cheap to clone; every clone drives the same NIC.
pub struct Ddp<D: Device> {
    driver: Arc<Mutex<NicDriver<D>>>,
    state: Arc<Mutex<State>>,
}

impl<D: Device> Clone for Ddp<D> {
    fn clone(&self) -> Self {
        Ddp { driver: self.driver.clone(), state: self.state.clone() }
    }
}

impl<D: Device> Ddp<D> {
    /// Reads the limits; offloads nothing until `set_caps` and `sk_add`.
    pub fn new(driver: Arc<Mutex<NicDriver<D>>>) -> Result<Ddp<D>> {
        let limits = {
            let d = driver.lock().unwrap_or_else(|p| p.into_inner());
            let r = |n: &str| d.read(n);
            Limits {
                max_ddp_sgl_len: r("MAX_SGL_LEN")?,
                io_threshold: r("IO_THRESHOLD")?,
                full_ccid_range: r("FULL_CID_RANGE")? != 0,
                flow_capacity: r("FLOW_CAPACITY")?,
                tag_capacity: r("TAG_CAPACITY")?,
                sgl_pool_entries: r("SGL_POOL_ENTRIES")?,
                max_payload: r("MAX_PAYLOAD")?,
                max_frame: r("MAX_FRAME")?,
            }
        };
        let chunk = limits.max_ddp_sgl_len.max(1);
        let state = State {
            limits,
            flows: BTreeSet::new(),
            free_tags: (0..limits.tag_capacity.min(1 << 16)).map(|t| t as u16).collect(),
            free_chunks: (0..limits.sgl_pool_entries / chunk).map(|c| c * chunk).collect(),
            live: HashMap::new(),
            events: VecDeque::new(),
            stats: DdpStats::default(),
        };
        Ok(Ddp { driver, state: Arc::new(Mutex::new(state)) })
    }

    fn drv(&self) -> MutexGuard<'_, NicDriver<D>> {
        self.driver.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn st(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (implemented, enabled) capabilities.
    pub fn caps(&self) -> Result<(Caps, Caps)> {
        let d = self.drv();
        Ok((Caps::from_bits(d.read("CAPS")?), Caps::from_bits(d.read("ENABLE")?)))
    }

    /// Enables the wanted capabilities the NIC has; returns those now enabled.
    pub fn set_caps(&self, want: Caps) -> Result<Caps> {
        let d = self.drv();
        let have = d.read("CAPS")?;
        d.write("ENABLE", want.bits() & have)?;
        Ok(Caps::from_bits(d.read("ENABLE")?))
    }

    pub fn limits(&self) -> Limits {
        self.st().limits
    }

    /// Whether an I/O of `bytes` is worth offloading (the contract's io_threshold).
    pub fn worth_offloading(&self, bytes: usize) -> bool {
        let mut st = self.st();
        let ok = bytes >= st.limits.io_threshold as usize;
        st.stats.below_threshold += !ok as u64;
        ok
    }

    /// Issues a command and waits for the event of `kind` about `arg` (the tag or flow).
    fn command_wait(&self, what: &'static str, opcode: u32, args: &[u32], kind: u8, arg: u32) -> Result<rm::Event> {
        let token = self.drv().command(opcode, args)?;
        self.wait_event(what, |e| (e.kind == kind && e.arg == arg) || (e.kind == ev::CMD_ERROR && e.token == token))
    }

    /// Waits (letting the device run) for the first event `matches` accepts; other events
    /// stay queued for their own waiters.
    fn wait_event(&self, what: &'static str, matches: impl Fn(&rm::Event) -> bool) -> Result<rm::Event> {
        for _ in 0..EVENT_POLLS {
            {
                let mut st = self.st();
                st.events.extend(self.drv().drain_events()?);
                if let Some(i) = st.events.iter().position(&matches) {
                    return Ok(st.events.remove(i).expect("index in range"));
                }
            }
            self.drv().dev().idle();
        }
        Err(DdpError::NoAnswer(what))
    }

    fn ok(what: &'static str, e: rm::Event) -> Result<()> {
        if e.kind == ev::CMD_ERROR || e.status != ev_status::OK {
            return Err(DdpError::Refused { what, status: if e.kind == ev::CMD_ERROR && e.status == 0 { ev_status::BAD_OPCODE } else { e.status } });
        }
        Ok(())
    }

    /// Offloads a queue's connection. On error the queue runs in software.
    pub fn sk_add(&self, cfg: &SkConfig) -> Result<Flow> {
        let r = self.try_sk_add(cfg);
        let mut st = self.st();
        match &r {
            Ok(f) => {
                st.stats.sk_add += 1;
                st.flows.insert(f.0);
            }
            Err(_) => st.stats.sk_add_fail += 1,
        }
        r
    }

    fn try_sk_add(&self, cfg: &SkConfig) -> Result<Flow> {
        let flow = {
            let st = self.st();
            let sets = (st.limits.flow_capacity / FLOW_WAYS).max(1);
            let set = rm::rss::hash(&rx_tuple(cfg.local, cfg.remote)) & (sets - 1);
            (0..FLOW_WAYS)
                .map(|w| (set * FLOW_WAYS + w) as u16)
                .find(|f| !st.flows.contains(f))
                .ok_or_else(|| DdpError::Limit(format!("flow-table set {set} is full")))?
        };
        let flags = (cfg.hdgst as u32) << 1 | (cfg.ddgst as u32) << 2 | u32::from(cfg.cpda) << 8 | u32::from(cfg.pfv) << 16;
        let ip = |a: &SocketAddrV4| u32::from_le_bytes(a.ip().octets());
        let args = [
            u32::from(flow),
            flags,
            u32::from(cfg.queue_size),
            cfg.rcv_nxt,
            u32::from(cfg.local.port()) | u32::from(cfg.remote.port()) << 16,
            ip(&cfg.local),
            0,
            0,
            0,
            ip(&cfg.remote),
            0,
            0,
            0,
        ];
        let e = self.command_wait("FLOW_ADD", op::FLOW_ADD, &args, ev::FLOW_ADD, u32::from(flow))?;
        Self::ok("FLOW_ADD", e)?;
        Ok(Flow(flow))
    }

    /// Ends a queue's offload; returns once the NIC will place nothing more for it.
    pub fn sk_del(&self, flow: Flow) -> Result<()> {
        let e = self.command_wait("FLOW_DEL", op::FLOW_DEL, &[u32::from(flow.0)], ev::FLOW_DEL, u32::from(flow.0));
        let mut st = self.st();
        st.flows.remove(&flow.0);
        let r = e.and_then(|e| Self::ok("FLOW_DEL", e));
        st.stats.sk_del += r.is_ok() as u64;
        r
    }

    /// Maps a buffer for command `cid` of `flow`. On error the I/O runs in software.
    pub fn setup(&self, flow: Flow, cid: u16, sgl: &[SglEntry]) -> Result<Tag> {
        let r = self.try_setup(flow, cid, sgl);
        let mut st = self.st();
        match &r {
            Ok(_) => st.stats.setup += 1,
            Err(_) => st.stats.setup_fail += 1,
        }
        r
    }

    fn try_setup(&self, flow: Flow, cid: u16, sgl: &[SglEntry]) -> Result<Tag> {
        let (tag, base) = {
            let mut st = self.st();
            if sgl.is_empty() || sgl.len() > st.limits.max_ddp_sgl_len as usize {
                return Err(DdpError::Limit(format!("{} SGL entries (1..={})", sgl.len(), st.limits.max_ddp_sgl_len)));
            }
            let (Some(tag), Some(base)) = (st.free_tags.pop_front(), st.free_chunks.pop_front()) else {
                return Err(DdpError::Limit("no free tag or SGL pool chunk".into()));
            };
            st.live.insert(tag, base);
            (tag, base)
        };
        let issued = (|| -> Result<u16> {
            let mut d = self.drv();
            let token = d.command(op::TAG_SETUP, &[u32::from(tag), u32::from(flow.0), u32::from(cid), base, sgl.len() as u32])?;
            for e in sgl {
                d.command(op::TAG_ENTRY, &[e.addr as u32, (e.addr >> 32) as u32, e.len])?;
            }
            Ok(token)
        })();
        let r = issued.and_then(|token| self.wait_event("TAG_SETUP", |e| (e.kind == ev::SETUP && e.arg == u32::from(tag)) || (e.kind == ev::CMD_ERROR && e.token == token)));
        match r.and_then(|e| Self::ok("TAG_SETUP", e)) {
            Ok(()) => Ok(Tag(tag)),
            Err(err) => {
                self.release(tag);
                Err(err)
            }
        }
    }

    fn release(&self, tag: u16) {
        let mut st = self.st();
        if let Some(base) = st.live.remove(&tag) {
            st.free_chunks.push_back(base);
            st.free_tags.push_back(tag);
        }
    }

    /// Unmaps a buffer and waits for TEARDOWN_DONE: after this returns the NIC never writes
    /// the buffer again, the tag is free and the request may complete.
    pub fn teardown(&self, tag: Tag) -> Result<()> {
        let r = self.command_wait("TAG_TEARDOWN", op::TAG_TEARDOWN, &[u32::from(tag.0)], ev::TEARDOWN_DONE, u32::from(tag.0));
        let r = r.and_then(|e| Self::ok("TAG_TEARDOWN", e));
        if r.is_ok() {
            self.release(tag.0);
            self.st().stats.teardown += 1;
        }
        r
    }

    /// Answers a resync request: `confirm` when a PDU header starts at TCP sequence `seq`.
    pub fn resync(&self, flow: Flow, seq: u32, confirm: bool) -> Result<()> {
        self.drv().command(op::RESYNC, &[u32::from(flow.0), seq, confirm as u32])?;
        let mut st = self.st();
        if confirm {
            st.stats.resync_confirmed += 1;
        } else {
            st.stats.resync_denied += 1;
        }
        Ok(())
    }

    pub fn stats(&self) -> DdpStats {
        self.st().stats
    }

    /// The core's counters now.
    pub fn counters(&self) -> Result<Counters> {
        Ok(self.drv().counters()?)
    }
}
