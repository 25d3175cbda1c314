//! What the host asks for when it connects.

use crate::ddp::ulp::UlpOffload;
use crate::nvme_tcp::transport::Connector;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// "host:port" of the target.
    pub addr: String,
    pub subnqn: String,
    pub hostnqn: String,
    pub host_id: [u8; 16],
    pub header_digest: bool,
    pub data_digest: bool,
    /// Entries of the I/O queue (outstanding commands at most), clamped to CAP.MQES + 1.
    pub queue_size: u16,
    /// Keep-alive timeout; 0 disables keep-alive.
    pub kato_ms: u32,
    /// Host PDU data alignment requested in ICReq (dwords, 0's based).
    pub hpda: u8,
    /// Longest wait for any reply from the target.
    pub timeout: Duration,
    /// Largest transfer per command (Linux nvmet refuses more than 4 MiB whatever MDTS says).
    pub max_transfer: usize,
    /// How to open the TCP connections; None: the kernel's TCP.
    pub connector: Option<Arc<dyn Connector>>,
    /// The NIC's receive offload (DDP, DDGST) for I/O queues; None: software only.
    pub offload: Option<Arc<dyn UlpOffload>>,
}

pub const DEFAULT_MAX_TRANSFER: usize = 4 << 20;

impl ConnectOptions {
    pub fn new(addr: impl Into<String>, subnqn: impl Into<String>) -> Self {
        let host_id = generate_host_id();
        Self {
            addr: addr.into(),
            subnqn: subnqn.into(),
            hostnqn: format!("nqn.2014-08.org.nvmexpress:uuid:{}", uuid_text(&host_id)),
            host_id,
            header_digest: false,
            data_digest: false,
            queue_size: 128,
            kato_ms: 10_000,
            hpda: 0,
            timeout: Duration::from_secs(10),
            max_transfer: DEFAULT_MAX_TRANSFER,
            connector: None,
            offload: None,
        }
    }
}

/// A random version-4 UUID (from the kernel's random source; the clock and process id
/// where that is unavailable), so that hosts can be told apart on one target.
fn generate_host_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut id));
    if random.is_err() {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        id = (nanos ^ ((std::process::id() as u128) << 64) ^ (nanos << 67)).to_le_bytes();
    }
    id[6] = (id[6] & 0x0F) | 0x40;
    id[8] = (id[8] & 0x3F) | 0x80;
    id
}

fn uuid_text(id: &[u8; 16]) -> String {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
