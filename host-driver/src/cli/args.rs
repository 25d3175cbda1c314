//! Connection arguments shared by the host subcommands, named as nvme-cli names them
//! (`-a` traddr, `-s` trsvcid, `-n` subsystem NQN).

use crate::nvme_tcp::initiator::ConnectOptions;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
pub struct ConnectArgs {
    /// Target address (traddr).
    #[arg(short = 'a', long = "traddr", default_value = "127.0.0.1")]
    pub traddr: String,
    /// Target port (trsvcid).
    #[arg(short = 's', long = "trsvcid", default_value_t = 4420)]
    pub trsvcid: u16,
    /// Subsystem NQN.
    #[arg(short = 'n', long = "nqn")]
    pub nqn: String,
    /// Host NQN (default: a UUID-based NQN made up per run).
    #[arg(long)]
    pub hostnqn: Option<String>,
    /// Enable the header digest.
    #[arg(long)]
    pub hdgst: bool,
    /// Enable the data digest.
    #[arg(long)]
    pub ddgst: bool,
    /// I/O queue size (commands in flight at most).
    #[arg(long, default_value_t = 128)]
    pub queue_size: u16,
    /// Keep-alive timeout in milliseconds (0 disables keep-alive).
    #[arg(long, default_value_t = 10_000)]
    pub kato_ms: u32,
    /// Longest wait for any reply from the target, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
}

impl ConnectArgs {
    pub fn options(&self) -> ConnectOptions {
        let host = if self.traddr.contains(':') { format!("[{}]", self.traddr) } else { self.traddr.clone() };
        let mut opts = ConnectOptions::new(format!("{host}:{}", self.trsvcid), self.nqn.clone());
        if let Some(h) = &self.hostnqn {
            opts.hostnqn = h.clone();
        }
        opts.header_digest = self.hdgst;
        opts.data_digest = self.ddgst;
        opts.queue_size = self.queue_size;
        opts.kato_ms = self.kato_ms;
        opts.timeout = Duration::from_millis(self.timeout_ms);
        opts
    }
}
