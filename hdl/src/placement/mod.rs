//! Placement: the receive side's direct data placement, in three blocks and a reference.
//!
//! ```text
//!  s_ctrl (setup/entries/teardown) ─► TagTable ──desc/entry writes, teardown token──► SglStore
//!  s_lookup (flow, CID) ───────────► TagTable ─► m_lookup (tag, generation)           │
//!  s_place (flow, tag, gen, data offset, lanes, beat) ───────────────────────────────► SglStore
//!                                                         resolved pieces ─► DmaWriter ─► m_dma
//!  m_event (setup result, teardown done) ◄─ TagTable ◄── teardown token ◄── DmaWriter
//! ```
//! - [`tag_table::TagTable`]: the control port, (flow, CID) -> (tag, generation) at one lookup a
//!   cycle (2-choice hash of 8-way buckets in URAM, full key stored), tag ownership and the
//!   asynchronous teardown handshake.
//! - [`sgl_store::SglStore`]: per-tag descriptors, the SGL entry pool and its two-level
//!   prefix-sum index; turns one beat's (tag, data offset, bytes) into at most two SGL pieces
//!   after checking liveness, generation, flow and bounds.
//! - [`dma_writer::DmaWriter`]: splits the pieces at max-payload-size boundaries into at most
//!   four segments a beat and marks which segments start and end a PCIe write (coalescing
//!   contiguous segments of consecutive beats up to MPS bytes).
//! - [`model`]: a byte-at-a-time reference of the same contract and a host-memory model that
//!   records every DMA write; [`cosim`]: lock-step Verilator co-simulation driven from Rust.
//!
//! All three blocks have hand-written Verilog bodies (`Verilog::Custom`) generated from
//! [`PlacementParams`]; each block's rust-hdl `update()` is a bit-exact plain-Rust model of that
//! Verilog, tested per block against a contract reference and replayed through the Verilog
//! (`tests/placement_{tags,sgl,dma}.rs`). The system test runs the wired `placement` module
//! in Verilator ([`cosim`]).
pub mod bench;
pub mod cosim;
pub mod dma_writer;
pub mod model;
pub mod sgl_store;
pub mod tag_table;
pub mod top;

/// Widths of the ports (fixed, so the rust-hdl port types are fixed).
pub const FLOW_BITS: usize = 12;
pub const CID_BITS: usize = 16;
pub const TAG_PORT_BITS: usize = 16;
pub const GEN_BITS: usize = 8;
/// Entry-pool index port width (the pool itself is `2^pool_bits` entries).
pub const BASE_PORT_BITS: usize = 24;
/// SGL entries per tag: 1..=MAX_SGL_ENTRIES (16 rows of 16 in the two-level index).
pub const MAX_SGL_ENTRIES: usize = 256;
/// Beat width in bytes.
pub const W: usize = 64;
/// DMA segments per beat: two SGL pieces, each cut once at an MPS boundary.
pub const SEGS: usize = 4;

/// Control opcodes on `s_ctrl_op`.
pub const OP_SETUP: u64 = 1;
pub const OP_ENTRY: u64 = 2;
pub const OP_TEARDOWN: u64 = 3;

/// `m_event_kind`.
pub const EV_SETUP_OK: u64 = 0;
pub const EV_SETUP_FAILED: u64 = 1;
pub const EV_TEARDOWN_DONE: u64 = 2;
pub const EV_REFUSED: u64 = 3;

/// `m_event_status` (setup failures and refusals).
pub mod status {
    pub const OK: u64 = 0;
    /// Tag index beyond the table (`tag >= 2^tag_bits`).
    pub const BAD_TAG: u64 = 1;
    /// Entry count 0 or > 256, pool range outside the pool, or a placement rule broken (a
    /// tag of <= 16 entries must not cross a 16-entry row; a larger one starts a row and must
    /// not cross a 256-entry superblock).
    pub const BAD_GEOMETRY: u64 = 2;
    /// An entry of length 0, or an entry other than the first and last shorter than 64 bytes.
    pub const BAD_LENGTH: u64 = 3;
    /// Total length >= 4 GiB.
    pub const TOO_LONG: u64 = 4;
    /// A word other than an entry inside a setup, or an unknown opcode.
    pub const PROTOCOL: u64 = 5;
    /// The tag is set up, or its teardown is not done yet.
    pub const TAG_BUSY: u64 = 6;
    /// Both candidate buckets are full (try another tag later; software handles this I/O).
    pub const TABLE_FULL: u64 = 7;
    /// Teardown of a tag that is not set up.
    pub const NOT_SET_UP: u64 = 8;
    /// Second teardown of a tag whose first teardown is not done.
    pub const ALREADY_TORN: u64 = 9;
}

/// Verdict reasons on `m_place_reason`, in priority order.
pub mod reason {
    pub const PLACED: u64 = 0;
    /// count 0, lanes beyond the beat, or a tag beyond the table.
    pub const BAD_INPUT: u64 = 1;
    /// The tag is not set up (never, or torn down).
    pub const NOT_LIVE: u64 = 2;
    /// The tag belongs to another flow.
    pub const WRONG_FLOW: u64 = 3;
    /// The generation differs: data of an earlier command on this tag.
    pub const STALE: u64 = 4;
    /// offset + count beyond the SGL's total length.
    pub const OUT_OF_BOUNDS: u64 = 5;
}

/// Build-time parameters of the placement blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlacementParams {
    /// Live tags: `2^tag_bits` (<= 16).
    pub tag_bits: usize,
    /// Buckets per hash table: `2^hash_bits`; two tables of 8 ways.
    pub hash_bits: usize,
    /// SGL entry pool: `2^pool_bits` entries (>= 9).
    pub pool_bits: usize,
    /// Max payload size in bytes: a power of two, 64..=4096.
    pub mps: usize,
}

impl Default for PlacementParams {
    /// 64K tags, 2 x 8K buckets x 8 ways (128K slots, at most half full), 128K SGL entries,
    /// MPS 256.
    fn default() -> Self {
        Self { tag_bits: 16, hash_bits: 13, pool_bits: 17, mps: 256 }
    }
}

impl PlacementParams {
    pub fn check(&self) {
        assert!((1..=16).contains(&self.tag_bits), "tag_bits 1..=16");
        assert!((2..=16).contains(&self.hash_bits), "hash_bits 2..=16");
        assert!((9..BASE_PORT_BITS).contains(&self.pool_bits), "pool_bits 9..24");
        assert!(self.mps.is_power_of_two() && (64..=4096).contains(&self.mps), "mps: power of two in 64..=4096");
    }
    pub fn mps_bits(&self) -> usize {
        self.mps.trailing_zeros() as usize
    }
}

/// The H3 hash of (flow, CID) into table `t`: bit `b` is the parity of `key & mask[t][b]`,
/// with fixed pseudo-random masks (a universal family; the Verilog uses the same masks).
pub fn hash_masks(table: usize, bits: usize) -> Vec<u32> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15 ^ (table as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    (0..bits)
        .map(|_| loop {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let m = (s >> 11) as u32 & 0x0FFF_FFFF;
            if m.count_ones() >= 8 {
                break m;
            }
        })
        .collect()
}

/// Bucket of (flow, CID) in table `table` (0 or 1).
pub fn hash(table: usize, bits: usize, flow: u64, cid: u64) -> usize {
    let key = ((flow << 16) | cid) as u32;
    hash_masks(table, bits).iter().enumerate().fold(0, |h, (b, m)| h | (((key & m).count_ones() as usize & 1) << b))
}

/// `words[k]` in bits `[width*k + width-1 : width*k]` of a wide value.
pub(crate) fn wide<const N: usize>(words: &[u64], width: usize) -> rust_hdl::prelude::Bits<N> {
    let mut x = num_bigint::BigUint::default();
    for (k, &w) in words.iter().enumerate() {
        x |= num_bigint::BigUint::from(w) << (width * k);
    }
    x.into()
}

/// Replaces `%NAME%` placeholders in a Verilog template (the templates use no `%`).
pub(crate) fn subst(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("%{k}%"), v);
    }
    if let Some(at) = out.find('%') {
        panic!("unreplaced placeholder in template: {}", out[at..].chars().take(40).collect::<String>());
    }
    out
}
