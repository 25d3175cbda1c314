//! Receive framing: following NVMe/TCP PDUs inside the TCP byte stream of each offloaded flow.
pub mod pdu_rules;
pub mod reference;
pub mod lane_decoder;
pub mod chain_walk;
pub mod stream_beat;
pub mod stream_aligner;
pub mod tail_store;
pub mod seq_gate;
pub mod frame_delay;
pub mod data_map;
pub mod tracker;
pub mod bench;
