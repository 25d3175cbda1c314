//! `ddpnic target`: the embedded target on a TCP address, for demos and for other hosts.

use super::error::CliError;
use super::size::parse_size;
use crate::nvme_tcp::target::{NamespaceConfig, Target, TargetConfig};

#[derive(clap::Args, Debug)]
pub struct TargetArgs {
    /// Address to listen on, ADDR:PORT.
    #[arg(long, default_value = "127.0.0.1:4420")]
    pub listen: String,
    /// Subsystem NQN.
    #[arg(long)]
    pub nqn: String,
    /// Size of each namespace (e.g. 64M).
    #[arg(long, value_parser = parse_size, default_value = "64M")]
    pub size: u64,
    /// Logical block size.
    #[arg(long, default_value_t = 512, value_parser = block_size)]
    pub block_size: u32,
    /// Number of namespaces (NSIDs 1..=N).
    #[arg(long, default_value_t = 1)]
    pub namespaces: u32,
    /// Fill the namespaces with the checkable LBA pattern instead of zeros.
    #[arg(long)]
    pub pattern: bool,
    /// Split read data into C2HData PDUs of at most this size (default: one PDU per command).
    #[arg(long, value_parser = parse_size)]
    pub c2h_pdu_size: Option<u64>,
    /// Complete successful reads with the C2HData SUCCESS flag instead of a CapsuleResp.
    #[arg(long)]
    pub c2h_success: bool,
    /// Ask for write data in R2Ts of at most this size (default: one R2T per command).
    #[arg(long, value_parser = parse_size)]
    pub r2t_size: Option<u64>,
}

pub fn run(args: TargetArgs) -> Result<(), CliError> {
    if args.namespaces == 0 || args.size < args.block_size as u64 {
        return Err(CliError::Invalid("need at least one namespace of at least one block".into()));
    }
    let ns = NamespaceConfig { size_bytes: args.size, block_size: args.block_size, pattern: args.pattern };
    let mut config = TargetConfig::new(args.nqn.clone(), vec![ns; args.namespaces as usize]);
    config.c2h_max_data = args.c2h_pdu_size.map(|s| s.max(1) as usize);
    config.c2h_success = args.c2h_success;
    config.r2t_max_len = args.r2t_size.map(|s| s.max(1) as usize);
    let target = Target::bind(&args.listen, config).map_err(CliError::io(format!("cannot listen on {}", args.listen)))?;
    println!(
        "ddpnic target: {} on {} ({} namespace(s) of {} bytes, {}-byte blocks{})",
        args.nqn,
        target.local_addr(),
        args.namespaces,
        args.size / args.block_size as u64 * args.block_size as u64,
        args.block_size,
        if args.pattern { ", LBA pattern" } else { "" }
    );
    target.run().map_err(CliError::io("target stopped"))
}

fn block_size(text: &str) -> Result<u32, String> {
    match text {
        "512" => Ok(512),
        "4096" => Ok(4096),
        _ => Err(format!("block size must be 512 or 4096, not {text}")),
    }
}
