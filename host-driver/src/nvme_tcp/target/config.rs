//! Target configuration. Defaults follow Linux nvmet where it matters to a host.

use super::fault::Fault;

#[derive(Debug, Clone)]
pub struct NamespaceConfig {
    pub size_bytes: u64,
    pub block_size: u32,
    /// Fill with the LBA pattern (`nvme::pattern`) instead of zeros.
    pub pattern: bool,
}

#[derive(Debug, Clone)]
pub struct TargetConfig {
    pub nqn: String,
    pub namespaces: Vec<NamespaceConfig>,
    /// Largest data per C2HData PDU; None sends each read as one PDU (as Linux nvmet does).
    pub c2h_max_data: Option<usize>,
    /// Set the C2HData SUCCESS flag and skip the CapsuleResp for successful reads.
    pub c2h_success: bool,
    /// Largest R2T; None asks for a whole write in one R2T (as Linux nvmet does).
    pub r2t_max_len: Option<usize>,
    /// R2Ts kept outstanding per write (each with its own transfer tag), never more than
    /// the host's MAXR2T + 1. Linux nvmet keeps one.
    pub r2ts_per_command: usize,
    /// MAXH2CDATA announced in ICResp.
    pub maxh2cdata: u32,
    /// Controller PDU data alignment (dwords, 0's based) announced in ICResp.
    pub cpda: u8,
    /// In-capsule data accepted on I/O queues (Linux default 16 KiB).
    pub in_capsule_data: usize,
    /// MDTS reported in Identify (pages of 4 KiB, power of two; 0 = unlimited).
    pub mdts: u8,
    /// Largest transfer accepted per command; larger ones fail with Data SGL Length Invalid.
    pub max_transfer: usize,
    /// CAP.MQES: largest queue, 0's based.
    pub mqes: u16,
    pub max_io_queues: u16,
    pub serial: String,
    pub model: String,
    /// Hold up to this many reads and answer them newest first (out-of-order completions);
    /// held reads are also answered whenever the host has nothing more in flight. 0 or 1: in order.
    pub reorder_reads: usize,
    /// Misbehave on every read on an I/O queue (for testing hosts); None behaves.
    pub fault: Option<Fault>,
}

impl TargetConfig {
    pub fn new(nqn: impl Into<String>, namespaces: Vec<NamespaceConfig>) -> Self {
        Self {
            nqn: nqn.into(),
            namespaces,
            c2h_max_data: None,
            c2h_success: false,
            r2t_max_len: None,
            r2ts_per_command: 1,
            maxh2cdata: 4 << 20,
            cpda: 0,
            in_capsule_data: 16 * 1024,
            mdts: 10,
            max_transfer: 4 << 20,
            mqes: 1023,
            max_io_queues: 8,
            serial: "ddpnic0001".into(),
            model: "ddpnic embedded target".into(),
            reorder_reads: 0,
            fault: None,
        }
    }
}
