//! The top-level blocks of hdl/: what `make verilog`, `make lint` and `make synth` cover.
use crate::crc32c::digest::Crc32cDigest64;
use crate::crc32c::stream::Crc32cStream64;
use crate::parser::HeaderParser64;
use crate::flow::flow_table::FlowTable4096;
use crate::framing::chain_walk::PduChainWalk64;
use crate::framing::lane_decoder::PduLaneDecoder64;
use crate::framing::stream_aligner::PduStreamAligner;
use crate::framing::tail_store::PduTailStore;
use crate::framing::seq_gate::PduSeqGate;
use crate::framing::frame_delay::PduFrameDelay;
use crate::framing::data_map::PduDataMap;
use crate::placement::dma_writer::DmaWriter;
use crate::placement::sgl_store::SglStore;
use crate::placement::tag_table::TagTable;
use crate::placement::PlacementParams;
use crate::testbench::verilog_for;
use crate::core::CoreParams;

pub struct TopBlock {
    /// Module and file name.
    pub name: &'static str,
    pub summary: &'static str,
    pub verilog: fn() -> String,
    /// `make synth` fails when the block grows past these.
    pub max_luts: usize,
    pub max_lut_levels: usize,
    /// Sub-modules synthesized as blackboxes here because they are top blocks of their own
    /// (reported and budgeted once, in their own row) ...
    pub synth_blackboxes: &'static [&'static str],
    /// ... and the budget of the block with them (their LUTs added).
    pub max_luts_with_blackboxes: usize,
}

pub fn all() -> Vec<TopBlock> {
    vec![TopBlock {
        name: "crc32c_stream",
        summary: "CRC32C data/header digest check, 64 B/cycle, save/restore across packets",
        verilog: || verilog_for(&mut Crc32cStream64::new(), "crc32c_stream"),
        max_luts: 2500,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "crc32c_digest",
        summary: "CRC32C digest value from a saved stream register (transmit, header digests)",
        verilog: || verilog_for(&mut Crc32cDigest64::new(), "crc32c_digest"),
        max_luts: 400,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "flow_table",
        summary: "5-tuple -> flow id, 4,096 flows, 4-way hash in block RAM, one lookup per cycle",
        verilog: || verilog_for(&mut FlowTable4096::new(), "flow_table"),
        max_luts: 2000,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "header_parser",
        summary: "Ethernet/802.1Q/IPv4/IPv6/TCP header parser with IPv4 and TCP checksum verdicts, 64 B/cycle",
        verilog: || verilog_for(&mut HeaderParser64::new(), "header_parser"),
        max_luts: 6500,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "pdu_lane_decoder",
        summary: "NVMe/TCP header rules checked at all 64 lanes of a beat (multi-PDU walking, resync search)",
        verilog: || verilog_for(&mut PduLaneDecoder64::new(), "pdu_lane_decoder"),
        max_luts: 8000,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "pdu_chain_walk",
        summary: "PDU header positions of 4,096 interleaved flows across packets, up to 3 a beat, one beat per cycle, and the resync search",
        verilog: || verilog_for(&mut PduChainWalk64::new(), "pdu_chain_walk"),
        max_luts: 25000,
        // 6 before the resync search: the loop's distance now also picks a search candidate's
        // exit, one more mux behind the 64:1 lane select (framing/README.md).
        max_lut_levels: 7,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "pdu_frame_delay",
        summary: "the receive stream 160 cycles late with each frame's metadata on its first beat (verdicts known before the tracker acts)",
        verilog: || verilog_for(&mut PduFrameDelay::new(), "pdu_frame_delay"),
        max_luts: 1500,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "pdu_seq_gate",
        summary: "per-flow expected TCP sequence (4,096 flows): which payload bytes of each frame the tracker walks, gaps, restarts",
        verilog: || verilog_for(&mut PduSeqGate::new(), "pdu_seq_gate"),
        max_luts: 1500,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "pdu_stream_aligner",
        summary: "a frame's tracker stream: the flow's previous 23 bytes, then the TCP payload from lane 0, one beat per cycle",
        verilog: || verilog_for(&mut PduStreamAligner::new(), "pdu_stream_aligner"),
        max_luts: 6000,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "pdu_tail_store",
        summary: "each tracker stream's first 23 lanes: its flow's previous 23 bytes (4,096 flows, forwarded for back-to-back packets)",
        verilog: || verilog_for(&mut PduTailStore::new(), "pdu_tail_store"),
        max_luts: 3000,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "pdu_data_map",
        summary: "per tracker stream beat: the first C2HData run (lanes, CID, data offset), completions, sync loss, the CRC32C segment and crc_ok doubts; per-flow PDU context and followed bit (4,096 flows, forwarded)",
        verilog: || verilog_for(&mut PduDataMap::new(), "pdu_data_map"),
        max_luts: 12000,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "pdu_tracker",
        summary: "the receive front end: parser, flow table, frame delay, seq gate, aligner, tail store, lane rules, walk, data map, CRC32C unit with per-flow saved registers (4,096 flows)",
        verilog: crate::framing::tracker::verilog,
        max_luts: 60000,
        // Over the 6-level target: ABC9 relaxes every path up to the tracker's critical delay
        // (the sequence gate's context loop), so parts that map in 6 alone take more LUTs
        // here. Deepest: the lane decoder's first stage (9), its second stage, the tail
        // store's m_data and the flow table's h_set/c_hits (8). framing/README.md.
        max_lut_levels: 9,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "placement_tags",
        summary: "placement: control port, (flow, CID) -> tag lookup (2 x 8K buckets x 8 ways in URAM), teardown handshake",
        verilog: || verilog_for(&mut TagTable::new(PlacementParams::default()), "placement_tags"),
        max_luts: 2900,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "placement_sgl",
        summary: "placement: tag descriptors, 128K-entry SGL pool, two-level prefix-sum offset search, one beat per cycle",
        verilog: || verilog_for(&mut SglStore::new(PlacementParams::default()), "placement_sgl"),
        max_luts: 4500,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "placement_dma",
        summary: "placement: SGL pieces -> up to 4 DMA segments per beat, MPS/4 KiB splits, write coalescing",
        verilog: || verilog_for(&mut DmaWriter::new(PlacementParams::default()), "placement_dma"),
        max_luts: 600,
        max_lut_levels: 6,
        synth_blackboxes: &[],
        max_luts_with_blackboxes: 0,
    },
    TopBlock {
        name: "ddpnic_core",
        summary: "NIC core: BAR0 AXI-Lite registers, offload (pdu_tracker, command engine, placement at 64K tags, placement writes, frame/verdict join), rx ring writer, event ring, tx ring, AXI4 write arbiter",
        verilog: || crate::core::verilog(&CoreParams::default()),
        // Without the tracker, which has its own row. Over the 6-level target: the join's
        // rxp_placed and placement's tag-lookup state (8; 6 alone), inside the core's critical
        // delay, now a 64-bit address adder (ABC 3,704 ps; hdl/tools/netlist_paths.py names
        // the paths).
        max_luts: 19000,
        max_lut_levels: 8,
        synth_blackboxes: &["pdu_tracker"],
        // The whole core at 4,096 flows and 64K tags: 5 % of an Alveo U250's 1.73M LUTs.
        max_luts_with_blackboxes: 86_500,
    }]
}
