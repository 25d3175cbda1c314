//! ddpnic BAR0 register map and host-memory formats: the one source the RTL decoder
//! (`ddpnic-hdl`), the simulator (`sim/`) and the host driver use. No dependencies.
//!
//! BAR0 is 64 KiB of 32-bit registers (AXI4-Lite, byte addresses, 4-byte aligned). It is a
//! chain of self-describing blocks: every block starts with a 16-byte header
//! (`+0x0 TYPE`, `+0x4 VERSION`, `+0x8 NEXT` = BAR offset of the next block, 0 = last;
//! `+0xC` reserved, reads 0); the chain starts at offset 0 with the identity block. A driver
//! walks the chain and finds blocks by type, so blocks may move or be added.
//!
//! Ring formats in host memory (all little-endian): [`RxCompletion`] (64 bytes),
//! [`Event`] (16 bytes), [`TxDesc`] (16 bytes), the tx completion record (64 bytes, dword 0 =
//! tx consumer index). `markdown()` renders the whole map; `ddpnic-hdl regmap` prints it and
//! `hdl/regmap/REGMAP.md` is the committed copy (a test keeps it current).
#![forbid(unsafe_code)]

pub mod rss;

use std::fmt::Write as _;

/// Register access from the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read-only (constant or status).
    Ro,
    /// Read/write; reads return the last value written (masked to `bits`).
    Rw,
    /// Write-only action; reads return the value named in the doc.
    Wo,
}

#[derive(Clone, Copy, Debug)]
pub struct Reg {
    pub name: &'static str,
    /// Byte offset inside the block.
    pub offset: u16,
    pub access: Access,
    /// Implemented bits from 0 (writes above are ignored, reads return 0).
    pub bits: u8,
    /// Value after configuration (and for Ro constants, the value).
    pub reset: u32,
    pub doc: &'static str,
}

#[derive(Clone, Copy, Debug)]
pub struct Block {
    pub name: &'static str,
    pub type_id: u32,
    pub version: u32,
    /// BAR0 byte offset of the block header.
    pub base: u16,
    pub doc: &'static str,
    pub regs: &'static [Reg],
}

/// Header offsets shared by every block.
pub const HDR_TYPE: u16 = 0x0;
pub const HDR_VERSION: u16 = 0x4;
pub const HDR_NEXT: u16 = 0x8;

/// "DDPN" in bytes 0..3.
pub const MAGIC: u32 = 0x4E50_4444;
/// 0x00MMmmpp.
pub const HW_VERSION: u32 = 0x0000_0100;
pub const BEAT_BYTES: u32 = 64;
pub const CLOCK_MHZ: u32 = 250;

/// `CAPS`/`ENABLE` bits (the contract's capability bits).
pub mod caps {
    /// NVMe/TCP direct data placement (`ULP_DDP_C_NVME_TCP`).
    pub const NVME_TCP_DDP: u32 = 1 << 0;
    /// NVMe/TCP data digest verification on receive (`ULP_DDP_C_NVME_TCP_DDGST_RX`).
    pub const NVME_TCP_DDGST_RX: u32 = 1 << 1;
}

/// `IRQ_ENABLE` bits: which writes pulse `irq`.
pub mod irq {
    pub const RX_COMPLETION: u32 = 1 << 0;
    pub const TX_COMPLETION: u32 = 1 << 1;
    pub const EVENT: u32 = 1 << 2;
}

/// Limits (the contract's `ulp_ddp_limits` and the core's sizes).
pub const MAX_SGL_LEN: u32 = 256;
pub const IO_THRESHOLD: u32 = 512;
pub const FLOW_CAPACITY: u32 = 4096;
pub const TAG_CAPACITY: u32 = 65536;
pub const SGL_POOL_ENTRIES: u32 = 131072;
pub const MAX_PAYLOAD: u32 = 256;
/// Receive frame FIFO, in 64-byte beats (the burst the host interface absorbs).
pub const RX_FIFO_BEATS: u32 = 512;
/// Largest frame the core accepts (receive and transmit), bytes.
pub const MAX_FRAME: u32 = 16384;
/// Placed ranges per rx completion.
pub const RX_RANGES: usize = 4;
/// Largest `SIZE_LOG2` of any ring (indices are 16-bit, free running).
pub const MAX_RING_LOG2: u32 = 15;
/// `RX_SLOT_LOG2` bounds: 2 KiB .. 16 KiB slots.
pub const MIN_SLOT_LOG2: u32 = 11;
pub const MAX_SLOT_LOG2: u32 = 14;

/// Command opcodes (`CMD_OP[7:0]`); `CMD_OP[31:16]` is a token echoed in the event.
pub mod op {
    /// ARG0 flow[11:0]; ARG1 flags (bit0 IPv6, bit1 HDGST, bit2 DDGST, [15:8] CPDA, [23:16]
    /// PFV); ARG2 queue size[15:0]; ARG3 next expected TCP sequence number; ARG4 local
    /// port[15:0], remote port[31:16]; ARG5..8 local IP; ARG9..12 remote IP (IPv4 in the first
    /// word, network byte order as read from the packet: byte 0 of the address in bits 7:0).
    /// Event `FLOW_ADD` (status).
    pub const FLOW_ADD: u32 = 1;
    /// ARG0 flow. Event `FLOW_DEL` (status) when no further placement of the flow can happen.
    pub const FLOW_DEL: u32 = 2;
    /// ARG0 tag[15:0]; ARG1 flow[11:0]; ARG2 CID[15:0]; ARG3 SGL pool base[23:0]; ARG4 entry
    /// count[8:0] (1..=256), then `count` TAG_ENTRY commands. Event `SETUP` (status) after
    /// the last entry.
    pub const TAG_SETUP: u32 = 3;
    /// ARG0 address[31:0]; ARG1 address[63:32]; ARG2 length in bytes. No event.
    pub const TAG_ENTRY: u32 = 4;
    /// ARG0 tag. Event `TEARDOWN_DONE` once no DMA write of the tag is in flight.
    pub const TAG_TEARDOWN: u32 = 5;
    /// ARG0 flow; ARG1 TCP sequence number of the resync request; ARG2 bit0 = 1: a PDU header
    /// starts there (confirm), 0: it does not. No event.
    pub const RESYNC: u32 = 6;
}

/// Event kinds (`Event::kind`).
pub mod ev {
    pub const FLOW_ADD: u8 = 1;
    pub const FLOW_DEL: u8 = 2;
    pub const SETUP: u8 = 3;
    pub const TEARDOWN_DONE: u8 = 4;
    /// An unknown opcode, or a command the core refused; `arg` = the opcode.
    pub const CMD_ERROR: u8 = 5;
}

/// Event status values (`Event::status`). Setup failures use the placement unit's statuses
/// (1..=9, `ddpnic_hdl::placement::status`).
pub mod ev_status {
    pub const OK: u8 = 0;
    /// The core has no offload engine for this command (this build, or disabled in `ENABLE`).
    pub const UNSUPPORTED: u8 = 0xFE;
    /// `CMD_ERROR`: a TAG_ENTRY outside a setup, or another command before a setup's last
    /// TAG_ENTRY (the command is not executed). Same value as placement's `PROTOCOL`.
    pub const PROTOCOL: u8 = 5;
    pub const BAD_OPCODE: u8 = 0xFF;
}

/// Statistics block: 64-bit counters, `LO` at `STAT_FIRST + 8k`, `HI` at `+4`. Reading `LO`
/// latches `HI` (read LO then HI for a consistent value). Counters are cleared only by the
/// core's reset (software takes differences). The first ten are the contract's.
pub const COUNTERS: &[(&str, &str)] = &[
    ("rx_nvme_tcp_sk_add", "offload contexts created (FLOW_ADD ok)"),
    ("rx_nvme_tcp_sk_add_fail", "offload context creations that failed"),
    ("rx_nvme_tcp_sk_del", "offload contexts destroyed (FLOW_DEL ok)"),
    ("rx_nvme_tcp_setup", "DDP buffers mapped (TAG_SETUP ok)"),
    ("rx_nvme_tcp_setup_fail", "DDP buffer mappings that failed"),
    ("rx_nvme_tcp_teardown", "DDP buffers unmapped (TEARDOWN_DONE)"),
    ("rx_nvme_tcp_drop", "packets dropped because of fatal offload errors (the core drops none: stays 0; the driver adds its own)"),
    ("rx_nvme_tcp_resync", "packets with a resync request"),
    ("rx_nvme_tcp_packets", "packets that used offload (at least one byte placed)"),
    ("rx_nvme_tcp_bytes", "bytes placed in DDP buffers"),
    ("rx_frames", "frames received from the MAC (delivered or dropped)"),
    ("rx_bytes", "bytes received from the MAC"),
    ("rx_crc_errors", "packets in which a PDU's data digest failed"),
    ("rx_out_of_sync", "times a flow lost PDU sync"),
    ("rx_unknown_cid", "C2HData headers whose (flow, CID) had no tag"),
    ("rx_out_of_bounds", "beats refused for data beyond the tag's buffer (or not live, stale)"),
    ("rx_drop_ring_full", "frames dropped whole: the frame FIFO could not take them (the rx ring was full or the DMA too slow), or the rx ring was disabled at their first beat"),
    ("tx_frames", "frames sent to the MAC"),
    ("rx_fcs_bad", "frames with tuser set (bad FCS): delivered to the ring flagged, never offloaded"),
    ("rx_drop_oversize", "frames dropped whole: longer than the rx slot"),
    ("rx_completions", "rx completions written"),
    ("tx_bytes", "bytes sent to the MAC"),
    ("tx_bad_desc", "tx descriptors skipped (length 0 or above MAX_FRAME)"),
    ("events", "event entries written"),
    ("dma_write_errors", "AXI write responses other than OKAY"),
    ("dma_read_errors", "AXI read beats with a response other than OKAY (a tx frame read so is sent with tuser = abort on its last beat)"),
    ("rx_ddp_dma_busy", "data runs of a known (flow, CID) not placed because the placement write FIFO was full (the bytes go to software in the ring)"),
];

/// Counter index by name (panics on an unknown name).
pub fn counter(name: &str) -> usize {
    COUNTERS.iter().position(|c| c.0 == name).unwrap_or_else(|| panic!("no counter {name}"))
}

pub const STAT_FIRST: u16 = 0x10;

const fn ro(name: &'static str, offset: u16, reset: u32, doc: &'static str) -> Reg {
    Reg { name, offset, access: Access::Ro, bits: 32, reset, doc }
}
const fn rw(name: &'static str, offset: u16, bits: u8, reset: u32, doc: &'static str) -> Reg {
    Reg { name, offset, access: Access::Rw, bits, reset, doc }
}

pub mod blk {
    pub const IDENTITY: u32 = 0xDD01;
    pub const CONTROL: u32 = 0xDD02;
    pub const LIMITS: u32 = 0xDD03;
    pub const RX_RING: u32 = 0xDD10;
    pub const TX_RING: u32 = 0xDD11;
    pub const EVENT_RING: u32 = 0xDD12;
    pub const COMMAND: u32 = 0xDD20;
    pub const STATS: u32 = 0xDD30;
}

static IDENTITY: &[Reg] = &[
    ro("MAGIC", 0x10, MAGIC, "0x4E504444, bytes \"DDPN\""),
    ro("HW_VERSION", 0x14, HW_VERSION, "0x00MMmmpp"),
    ro("BUILD", 0x18, 0, "build identifier (a generation parameter, e.g. a commit prefix)"),
    ro("BEAT_BYTES", 0x1C, BEAT_BYTES, "data path width in bytes"),
    ro("CLOCK_MHZ", 0x20, CLOCK_MHZ, "core clock"),
];

static CONTROL: &[Reg] = &[
    ro("CAPS", 0x10, caps::NVME_TCP_DDP | caps::NVME_TCP_DDGST_RX, "capability bits this build implements (bit0 NVMe/TCP DDP, bit1 DDGST rx)"),
    rw("ENABLE", 0x14, 2, 0, "enabled capabilities (same bits, masked by CAPS)"),
    rw("IRQ_ENABLE", 0x18, 3, 0, "bit0 rx completion, bit1 tx completion record, bit2 event: such a write pulses irq"),
    rw("SCRATCH", 0x1C, 32, 0, "free for the driver (bus test)"),
];

static LIMITS: &[Reg] = &[
    ro("MAX_SGL_LEN", 0x10, MAX_SGL_LEN, "SGL entries per DDP buffer (max_ddp_sgl_len)"),
    ro("IO_THRESHOLD", 0x14, IO_THRESHOLD, "smallest I/O worth offloading, bytes (io_threshold)"),
    ro("FULL_CID_RANGE", 0x18, 1, "1: any 16-bit CID (full_ccid_range)"),
    ro("FLOW_CAPACITY", 0x1C, FLOW_CAPACITY, "offloaded flows (flow ids 0..n-1)"),
    ro("TAG_CAPACITY", 0x20, TAG_CAPACITY, "DDP tags (0..n-1)"),
    ro("SGL_POOL_ENTRIES", 0x24, SGL_POOL_ENTRIES, "SGL entry pool (TAG_SETUP base + count within it)"),
    ro("MAX_PAYLOAD", 0x28, MAX_PAYLOAD, "placement write split, bytes"),
    ro("RX_FIFO_BEATS", 0x2C, RX_FIFO_BEATS, "receive frame FIFO, 64-byte beats"),
    ro("MAX_FRAME", 0x30, MAX_FRAME, "largest frame, bytes (rx and tx)"),
    ro("RX_RANGES", 0x34, RX_RANGES as u32, "placed ranges per rx completion"),
];

static RX_RING: &[Reg] = &[
    rw("RX_SLOT_BASE_LO", 0x10, 32, 0, "slot array base [31:0]; 4 KiB aligned (bits 11:0 ignored)"),
    rw("RX_SLOT_BASE_HI", 0x14, 32, 0, "slot array base [63:32]"),
    rw("RX_CPL_BASE_LO", 0x18, 32, 0, "completion ring base [31:0]; 4 KiB aligned (bits 11:0 ignored)"),
    rw("RX_CPL_BASE_HI", 0x1C, 32, 0, "completion ring base [63:32]"),
    rw("RX_SIZE_LOG2", 0x20, 4, 0, "ring entries = 2^n, n <= 15 (slots and completions alike)"),
    rw("RX_SLOT_LOG2", 0x24, 4, 11, "slot size = 2^n bytes, 11..=14; longer frames are dropped (rx_drop_oversize)"),
    rw("RX_CTRL", 0x28, 1, 0, "bit0 enable; writing 1 while disabled zeroes PROD and CONS and restarts at slot 0 (phase 1)"),
    ro("RX_PROD", 0x2C, 0, "completions written [15:0], free running"),
    rw("RX_CONS", 0x30, 16, 0, "host: completions consumed [15:0], free running; slot i is the NIC's again once CONS passes it"),
];

static TX_RING: &[Reg] = &[
    rw("TX_DESC_BASE_LO", 0x10, 32, 0, "descriptor ring base [31:0]; 4 KiB aligned (bits 11:0 ignored)"),
    rw("TX_DESC_BASE_HI", 0x14, 32, 0, "descriptor ring base [63:32]"),
    rw("TX_CPL_ADDR_LO", 0x18, 32, 0, "tx completion record address [31:0]; 64-byte aligned (bits 5:0 ignored)"),
    rw("TX_CPL_ADDR_HI", 0x1C, 32, 0, "tx completion record address [63:32]"),
    rw("TX_SIZE_LOG2", 0x20, 4, 0, "descriptors = 2^n, 2 <= n <= 15"),
    rw("TX_CTRL", 0x28, 1, 0, "bit0 enable; writing 1 while disabled zeroes PROD and CONS"),
    ro("TX_CONS", 0x2C, 0, "descriptors done [15:0], free running (also written to the completion record)"),
    rw("TX_PROD", 0x30, 16, 0, "host: descriptors posted [15:0], free running (doorbell)"),
];

static EVENT_RING: &[Reg] = &[
    rw("EV_BASE_LO", 0x10, 32, 0, "event ring base [31:0]; 4 KiB aligned (bits 11:0 ignored)"),
    rw("EV_BASE_HI", 0x14, 32, 0, "event ring base [63:32]"),
    rw("EV_SIZE_LOG2", 0x20, 4, 0, "entries (16 bytes) = 2^n, 2 <= n <= 15"),
    rw("EV_CTRL", 0x28, 1, 0, "bit0 enable; writing 1 while disabled zeroes PROD and CONS (phase 1). A full ring stalls commands"),
    ro("EV_PROD", 0x2C, 0, "events written [15:0], free running"),
    rw("EV_CONS", 0x30, 16, 0, "host: events consumed [15:0], free running"),
];

static COMMAND: &[Reg] = &[
    Reg { name: "CMD_OP", offset: 0x10, access: Access::Wo, bits: 32, reset: 0, doc: "write: [7:0] opcode, [31:16] token; issues the command with ARG0..15 (the write completes when the command is taken). Read: the last word written" },
    ro("CMD_STATUS", 0x14, 0, "bit0 busy (a command is waiting to be taken)"),
    rw("CMD_ARG0", 0x40, 32, 0, "arguments (see the opcodes)"),
    rw("CMD_ARG1", 0x44, 32, 0, ""),
    rw("CMD_ARG2", 0x48, 32, 0, ""),
    rw("CMD_ARG3", 0x4C, 32, 0, ""),
    rw("CMD_ARG4", 0x50, 32, 0, ""),
    rw("CMD_ARG5", 0x54, 32, 0, ""),
    rw("CMD_ARG6", 0x58, 32, 0, ""),
    rw("CMD_ARG7", 0x5C, 32, 0, ""),
    rw("CMD_ARG8", 0x60, 32, 0, ""),
    rw("CMD_ARG9", 0x64, 32, 0, ""),
    rw("CMD_ARG10", 0x68, 32, 0, ""),
    rw("CMD_ARG11", 0x6C, 32, 0, ""),
    rw("CMD_ARG12", 0x70, 32, 0, ""),
    rw("CMD_ARG13", 0x74, 32, 0, ""),
    rw("CMD_ARG14", 0x78, 32, 0, ""),
    rw("CMD_ARG15", 0x7C, 32, 0, ""),
];

/// Number of command argument registers.
pub const CMD_ARGS: usize = 16;

/// The statistics registers are generated from `COUNTERS`; this block lists none itself.
static STATS: &[Reg] = &[];

pub static BLOCKS: &[Block] = &[
    Block { name: "identity", type_id: blk::IDENTITY, version: 1, base: 0x0000, doc: "who this is", regs: IDENTITY },
    Block { name: "control", type_id: blk::CONTROL, version: 1, base: 0x0100, doc: "capabilities, enables, interrupts", regs: CONTROL },
    Block { name: "limits", type_id: blk::LIMITS, version: 1, base: 0x0200, doc: "the contract's limits and the core's sizes", regs: LIMITS },
    Block { name: "rx_ring", type_id: blk::RX_RING, version: 1, base: 0x0300, doc: "receive: slot array + completion ring (64-byte entries, phase bit)", regs: RX_RING },
    Block { name: "tx_ring", type_id: blk::TX_RING, version: 1, base: 0x0400, doc: "transmit: descriptor ring, completion record", regs: TX_RING },
    Block { name: "event_ring", type_id: blk::EVENT_RING, version: 1, base: 0x0500, doc: "asynchronous events (16-byte entries, phase bit)", regs: EVENT_RING },
    Block { name: "command", type_id: blk::COMMAND, version: 1, base: 0x0600, doc: "command window: flow add/del, tag setup/entry/teardown, resync", regs: COMMAND },
    Block { name: "stats", type_id: blk::STATS, version: 1, base: 0x0800, doc: "64-bit counters (LO, HI); reading LO latches HI", regs: STATS },
];

/// A flat view of every register: (BAR offset, block, register). Statistics appear as
/// `<COUNTER>_LO`/`_HI`; block headers as `TYPE`/`VERSION`/`NEXT`.
#[derive(Clone, Debug)]
pub struct FlatReg {
    pub addr: u16,
    pub block: &'static str,
    pub name: String,
    pub access: Access,
    pub bits: u8,
    pub reset: u32,
    pub doc: String,
}

pub fn block(type_id: u32) -> &'static Block {
    BLOCKS.iter().find(|b| b.type_id == type_id).expect("block type")
}

/// BAR0 offset of a register by name (block registers and `<counter>_LO/_HI`).
pub fn addr(name: &str) -> u16 {
    flat().into_iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no register {name}")).addr
}

/// BAR0 offset of counter `k`'s LO word.
pub fn counter_addr(k: usize) -> u16 {
    block(blk::STATS).base + STAT_FIRST + 8 * k as u16
}

pub fn flat() -> Vec<FlatReg> {
    let mut out = Vec::new();
    for (i, b) in BLOCKS.iter().enumerate() {
        let next = BLOCKS.get(i + 1).map_or(0, |n| n.base as u32);
        let hdr = |off: u16, name: &str, v: u32, doc: &str| FlatReg { addr: b.base + off, block: b.name, name: format!("{}_{name}", b.name.to_uppercase()), access: Access::Ro, bits: 32, reset: v, doc: doc.into() };
        out.push(hdr(HDR_TYPE, "TYPE", b.type_id, "block type"));
        out.push(hdr(HDR_VERSION, "VERSION", b.version, "block version"));
        out.push(hdr(HDR_NEXT, "NEXT", next, "BAR offset of the next block (0: last)"));
        for r in b.regs {
            out.push(FlatReg { addr: b.base + r.offset, block: b.name, name: r.name.into(), access: r.access, bits: r.bits, reset: r.reset, doc: r.doc.into() });
        }
        if b.type_id == blk::STATS {
            for (k, (name, doc)) in COUNTERS.iter().enumerate() {
                let a = counter_addr(k);
                out.push(FlatReg { addr: a, block: b.name, name: format!("{}_LO", name.to_uppercase()), access: Access::Ro, bits: 32, reset: 0, doc: (*doc).into() });
                out.push(FlatReg { addr: a + 4, block: b.name, name: format!("{}_HI", name.to_uppercase()), access: Access::Ro, bits: 32, reset: 0, doc: "bits 63:32, latched by the LO read".into() });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Host-memory formats.

/// A placed range of an rx completion: `len` payload bytes at `frame_offset` (byte offset in
/// the frame) went to CID `cid` at data offset `data_offset` of its buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlacedRange {
    pub frame_offset: u16,
    pub len: u16,
    pub cid: u16,
    pub data_offset: u32,
}

/// rx completion, 64 bytes, one per delivered frame, written after the frame's slot data.
///
/// | bytes | field |
/// |---|---|
/// | 0..2 | frame length |
/// | 2..4 | bytes written to the slot |
/// | 4..6 | flags: bit0 IPv4 header checksum ok, bit1 TCP checksum ok, bit2 crc_ok, bit3 resync request, bit4 flow valid, bit5 bad FCS (tuser), bits 10:8 number of placed ranges |
/// | 6..8 | flow id |
/// | 8..12 | resync request: TCP sequence number of the candidate PDU header |
/// | 12..14 | ring index (the completion's PROD value [15:0]) |
/// | 15 bit 7 | phase: 1 on the first pass through the ring, flips at every wrap |
/// | 16 + 12k .. | range k (k < 4): frame offset u16, length u16, CID u16, reserved u16, data offset u32 |
///
/// Slot data rule: beat k of the frame (bytes 64k..64k+63) is written at slot offset 64k
/// unless every one of its bytes was placed; such beats are skipped (the slot keeps stale
/// bytes there). Partly placed beats are written whole (placed bytes included). The host
/// rebuilds the frame from the slot and the placed ranges. `slot_bytes` counts the frame
/// bytes written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxCompletion {
    pub frame_len: u16,
    pub slot_bytes: u16,
    pub ip_csum_ok: bool,
    pub tcp_csum_ok: bool,
    pub crc_ok: bool,
    pub resync: bool,
    pub flow_valid: bool,
    pub fcs_bad: bool,
    pub ranges: usize,
    pub flow: u16,
    pub resync_seq: u32,
    pub index: u16,
    pub phase: bool,
    pub range: [PlacedRange; RX_RANGES],
}

pub mod rx_flag {
    pub const IP_CSUM_OK: u16 = 1 << 0;
    pub const TCP_CSUM_OK: u16 = 1 << 1;
    pub const CRC_OK: u16 = 1 << 2;
    pub const RESYNC: u16 = 1 << 3;
    pub const FLOW_VALID: u16 = 1 << 4;
    pub const FCS_BAD: u16 = 1 << 5;
    pub const RANGES_SHIFT: u16 = 8;
}

impl RxCompletion {
    pub fn flags(&self) -> u16 {
        use rx_flag::*;
        (self.ip_csum_ok as u16 * IP_CSUM_OK)
            | (self.tcp_csum_ok as u16 * TCP_CSUM_OK)
            | (self.crc_ok as u16 * CRC_OK)
            | (self.resync as u16 * RESYNC)
            | (self.flow_valid as u16 * FLOW_VALID)
            | (self.fcs_bad as u16 * FCS_BAD)
            | ((self.ranges as u16 & 7) << RANGES_SHIFT)
    }

    pub fn encode(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..2].copy_from_slice(&self.frame_len.to_le_bytes());
        b[2..4].copy_from_slice(&self.slot_bytes.to_le_bytes());
        b[4..6].copy_from_slice(&self.flags().to_le_bytes());
        b[6..8].copy_from_slice(&self.flow.to_le_bytes());
        b[8..12].copy_from_slice(&self.resync_seq.to_le_bytes());
        b[12..14].copy_from_slice(&self.index.to_le_bytes());
        b[15] = (self.phase as u8) << 7;
        for (k, r) in self.range.iter().enumerate() {
            let o = 16 + 12 * k;
            b[o..o + 2].copy_from_slice(&r.frame_offset.to_le_bytes());
            b[o + 2..o + 4].copy_from_slice(&r.len.to_le_bytes());
            b[o + 4..o + 6].copy_from_slice(&r.cid.to_le_bytes());
            b[o + 8..o + 12].copy_from_slice(&r.data_offset.to_le_bytes());
        }
        b
    }

    pub fn decode(b: &[u8; 64]) -> Self {
        use rx_flag::*;
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let flags = u16_at(4);
        let mut range = [PlacedRange::default(); RX_RANGES];
        for (k, r) in range.iter_mut().enumerate() {
            let o = 16 + 12 * k;
            *r = PlacedRange { frame_offset: u16_at(o), len: u16_at(o + 2), cid: u16_at(o + 4), data_offset: u32_at(o + 8) };
        }
        Self {
            frame_len: u16_at(0),
            slot_bytes: u16_at(2),
            ip_csum_ok: flags & IP_CSUM_OK != 0,
            tcp_csum_ok: flags & TCP_CSUM_OK != 0,
            crc_ok: flags & CRC_OK != 0,
            resync: flags & RESYNC != 0,
            flow_valid: flags & FLOW_VALID != 0,
            fcs_bad: flags & FCS_BAD != 0,
            ranges: usize::from((flags >> RANGES_SHIFT) & 7),
            flow: u16_at(6),
            resync_seq: u32_at(8),
            index: u16_at(12),
            phase: b[15] & 0x80 != 0,
            range,
        }
    }

    /// Whether beat `k` of the frame was written to the slot (not every byte placed).
    pub fn beat_written(&self, k: usize) -> bool {
        let (lo, hi) = (64 * k, (64 * k + 64).min(self.frame_len as usize));
        let mut covered = vec![false; hi.saturating_sub(lo)];
        for r in &self.range[..self.ranges.min(RX_RANGES)] {
            let (a, e) = (r.frame_offset as usize, r.frame_offset as usize + r.len as usize);
            for (i, c) in covered.iter_mut().enumerate() {
                *c |= (a..e).contains(&(lo + i));
            }
        }
        covered.is_empty() || !covered.iter().all(|&c| c)
    }
}

/// Event entry, 16 bytes: dword0 = kind[7:0] | status[15:8] | token[31:16]; dword1 = arg (tag,
/// flow or opcode); dword2 reserved (0); dword3 = ring index[15:0] | phase << 31.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub kind: u8,
    pub status: u8,
    pub token: u16,
    pub arg: u32,
    pub index: u16,
    pub phase: bool,
}

impl Event {
    pub fn encode(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0] = self.kind;
        b[1] = self.status;
        b[2..4].copy_from_slice(&self.token.to_le_bytes());
        b[4..8].copy_from_slice(&self.arg.to_le_bytes());
        b[12..14].copy_from_slice(&self.index.to_le_bytes());
        b[15] = (self.phase as u8) << 7;
        b
    }
    pub fn decode(b: &[u8; 16]) -> Self {
        Self {
            kind: b[0],
            status: b[1],
            token: u16::from_le_bytes([b[2], b[3]]),
            arg: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            index: u16::from_le_bytes([b[12], b[13]]),
            phase: b[15] & 0x80 != 0,
        }
    }
}

/// Transmit descriptor, 16 bytes: frame address u64 (64-byte aligned: bits 5:0 ignored), length
/// u16 (1..=MAX_FRAME, else the descriptor is skipped and counted), 6 reserved bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxDesc {
    pub addr: u64,
    pub len: u16,
}

impl TxDesc {
    pub fn encode(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..8].copy_from_slice(&self.addr.to_le_bytes());
        b[8..10].copy_from_slice(&self.len.to_le_bytes());
        b
    }
    pub fn decode(b: &[u8; 16]) -> Self {
        Self { addr: u64::from_le_bytes(b[0..8].try_into().unwrap()), len: u16::from_le_bytes([b[8], b[9]]) }
    }
}

/// Rx ring geometry helpers for drivers: slot `i`'s address and completion `i`'s address.
pub fn rx_slot_addr(slot_base: u64, slot_log2: u32, size_log2: u32, index: u16) -> u64 {
    (slot_base & !0xFFF) + (((index as u64) & ((1 << size_log2) - 1)) << slot_log2)
}
pub fn rx_cpl_addr(cpl_base: u64, size_log2: u32, index: u16) -> u64 {
    (cpl_base & !0xFFF) + (((index as u64) & ((1 << size_log2) - 1)) << 6)
}
/// Phase a completion or event at free-running `index` carries (1 on the first pass).
pub fn phase(size_log2: u32, index: u16) -> bool {
    (index as u32 >> size_log2) & 1 == 0
}

/// The register map as markdown (the committed REGMAP.md is this text).
pub fn markdown() -> String {
    let mut s = String::from("# ddpnic BAR0 register map\n\n<!-- generated by `ddpnic-hdl regmap` from hdl/regmap/src/lib.rs; do not edit -->\n\n");
    s.push_str("BAR0: 64 KiB, 32-bit registers over AXI4-Lite, little-endian. Self-describing blocks: every block starts with TYPE (+0x0), VERSION (+0x4), NEXT (+0x8, BAR offset of the next block, 0 = last); the chain starts at 0x0000. Unmapped offsets read 0, writes to them are ignored.\n\n");
    for b in BLOCKS {
        let _ = writeln!(s, "## {} (type 0x{:04X}, version {}, base 0x{:04X})\n\n{}\n", b.name, b.type_id, b.version, b.base, b.doc);
        s.push_str("| offset | name | access | bits | reset/value | description |\n|---|---|---|---:|---|---|\n");
        for r in flat().iter().filter(|r| r.block == b.name) {
            let acc = match r.access {
                Access::Ro => "RO",
                Access::Rw => "RW",
                Access::Wo => "WO",
            };
            let _ = writeln!(s, "| 0x{:04X} | {} | {} | {} | 0x{:X} | {} |", r.addr, r.name, acc, r.bits, r.reset, r.doc);
        }
        s.push('\n');
    }
    s.push_str("## Commands (CMD_OP[7:0])\n\n| op | name | arguments / result |\n|---|---|---|\n");
    for (v, n, d) in [
        (op::FLOW_ADD, "FLOW_ADD", "ARG0 flow[11:0]; ARG1 flags (bit0 IPv6, bit1 HDGST, bit2 DDGST, [15:8] CPDA, [23:16] PFV); ARG2 queue size; ARG3 next expected TCP seq; ARG4 local port[15:0] remote port[31:16]; ARG5..8 local IP, ARG9..12 remote IP (IPv4 in the first word, byte 0 of the address in bits 7:0). Event FLOW_ADD"),
        (op::FLOW_DEL, "FLOW_DEL", "ARG0 flow. Event FLOW_DEL"),
        (op::TAG_SETUP, "TAG_SETUP", "ARG0 tag; ARG1 flow; ARG2 CID; ARG3 pool base; ARG4 entry count (1..=256), then that many TAG_ENTRY. Event SETUP after the last entry"),
        (op::TAG_ENTRY, "TAG_ENTRY", "ARG0 addr[31:0]; ARG1 addr[63:32]; ARG2 length. No event"),
        (op::TAG_TEARDOWN, "TAG_TEARDOWN", "ARG0 tag. Event TEARDOWN_DONE when no DMA of the tag is in flight"),
        (op::RESYNC, "RESYNC", "ARG0 flow; ARG1 TCP seq; ARG2 bit0 confirm. No event"),
    ] {
        let _ = writeln!(s, "| {v} | {n} | {d} |");
    }
    s.push_str("\nEvents (16 bytes): dword0 kind[7:0] status[15:8] token[31:16] (token = CMD_OP[31:16]); dword1 arg; dword2 0; dword3 index[15:0], phase bit 31. Kinds: 1 FLOW_ADD, 2 FLOW_DEL, 3 SETUP, 4 TEARDOWN_DONE, 5 CMD_ERROR. Status 0 ok, 1..9 placement setup/teardown statuses (CMD_ERROR 5: TAG_ENTRY outside a setup or another command inside one), 0xFE unsupported (no offload engine / not enabled), 0xFF bad opcode.\n\n");
    s.push_str("## Rings in host memory\n\n");
    s.push_str("- **rx**: 2^RX_SIZE_LOG2 slots of 2^RX_SLOT_LOG2 bytes at RX_SLOT_BASE and as many 64-byte completions at RX_CPL_BASE. Frame i (free-running PROD index) goes to slot i mod N, its completion to entry i mod N, written after the slot data (same AXI ID, so in order). A frame is delivered only while PROD - CONS < N; otherwise it waits in the 512-beat frame FIFO; a frame that does not fit the FIFO (or is longer than a slot) is dropped whole and counted. Nothing else drops.\n");
    s.push_str("- **rx completion** (64 bytes): bytes 0..2 frame length; 2..4 bytes written to the slot; 4..6 flags (bit0 IPv4 csum ok, bit1 TCP csum ok, bit2 crc_ok, bit3 resync request, bit4 flow valid, bit5 bad FCS, bits 10:8 ranges); 6..8 flow; 8..12 resync TCP seq; 12..14 ring index; byte 15 bit 7 phase (1 on the first pass, flips per wrap); 16+12k: range k = frame offset u16, length u16, CID u16, reserved u16, data offset u32 (k < 4).\n");
    s.push_str("- **slot data**: beat k (frame bytes 64k..64k+63) is at slot offset 64k; beats whose every byte was placed are not written (the host takes them from the placed ranges); partly placed beats are written whole.\n");
    s.push_str("- **tx**: 2^TX_SIZE_LOG2 descriptors of 16 bytes at TX_DESC_BASE: address u64 (64-byte aligned), length u16 (1..=16384; else skipped and counted). The host writes TX_PROD; the NIC reads descriptors in 64-byte lines (up to four, those posted when the line is read), fetches each frame (AXI4 reads, bursts <= 4 KiB, never across 4 KiB, several in flight), sends it unchanged, increments TX_CONS at its last beat and (re)writes a 64-byte record at TX_CPL_ADDR whose dword 0 is TX_CONS at the time of the write (records coalesce when frames finish back to back; one irq per record).\n");
    s.push_str("- **events**: 2^EV_SIZE_LOG2 entries of 16 bytes at EV_BASE, phase bit as rx. A full event ring stalls the command window (CMD_STATUS busy).\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_chain_and_do_not_overlap() {
        let regs = flat();
        let mut seen = std::collections::BTreeSet::new();
        for r in &regs {
            assert_eq!(r.addr % 4, 0, "{}", r.name);
            assert!(seen.insert(r.addr), "two registers at 0x{:x}", r.addr);
        }
        for (i, b) in BLOCKS.iter().enumerate() {
            if let Some(n) = BLOCKS.get(i + 1) {
                let last = regs.iter().filter(|r| r.block == b.name).map(|r| r.addr).max().unwrap();
                assert!(last < n.base, "{} runs into {}", b.name, n.name);
            }
            assert!(b.regs.iter().all(|r| r.offset >= 0x10), "{}: registers start after the header", b.name);
        }
        let stats = block(blk::STATS);
        assert!(counter_addr(COUNTERS.len() - 1) + 8 <= stats.base + 0x400);
        assert_eq!(&COUNTERS[..10].iter().map(|c| c.0).collect::<Vec<_>>(), &["rx_nvme_tcp_sk_add", "rx_nvme_tcp_sk_add_fail", "rx_nvme_tcp_sk_del", "rx_nvme_tcp_setup", "rx_nvme_tcp_setup_fail", "rx_nvme_tcp_teardown", "rx_nvme_tcp_drop", "rx_nvme_tcp_resync", "rx_nvme_tcp_packets", "rx_nvme_tcp_bytes"]);
    }

    #[test]
    fn formats_round_trip() {
        let mut c = RxCompletion { frame_len: 1514, slot_bytes: 1450, crc_ok: true, ranges: 2, flow: 4095, resync_seq: 0xdead_beef, index: 7, phase: true, tcp_csum_ok: true, ..Default::default() };
        c.range[0] = PlacedRange { frame_offset: 66, len: 64, cid: 0xffff, data_offset: 0x1234_5678 };
        c.range[1] = PlacedRange { frame_offset: 200, len: 1000, cid: 3, data_offset: 4096 };
        assert_eq!(RxCompletion::decode(&c.encode()), c);
        assert_eq!(c.encode()[15], 0x80);
        let e = Event { kind: ev::SETUP, status: 7, token: 0xabcd, arg: 65535, index: 3, phase: true };
        assert_eq!(Event::decode(&e.encode()), e);
        let d = TxDesc { addr: 0x1234_5678_9abc_de40, len: 9000 };
        assert_eq!(TxDesc::decode(&d.encode()), d);
    }

    #[test]
    fn beats_written() {
        let mut c = RxCompletion { frame_len: 300, ranges: 1, ..Default::default() };
        c.range[0] = PlacedRange { frame_offset: 60, len: 240, cid: 1, data_offset: 0 };
        // beat 0 partly placed, 1..3 fully, 4 (256..300) fully (the frame ends at 300).
        assert_eq!((0..5).map(|k| c.beat_written(k)).collect::<Vec<_>>(), [true, false, false, false, false]);
    }

    #[test]
    fn geometry() {
        assert_eq!(rx_slot_addr(0x10_0000, 11, 3, 9), 0x10_0800);
        assert!(phase(3, 7) && !phase(3, 8) && phase(3, 16));
        assert_eq!(addr("RX_CONS"), 0x330);
        assert_eq!(addr("RX_NVME_TCP_SK_ADD_LO"), 0x810);
    }
}
