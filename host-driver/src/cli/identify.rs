//! `ddpnic identify`: Identify Controller, then Identify Namespace for every namespace.

use super::args::ConnectArgs;
use super::error::CliError;
use crate::nvme_tcp::initiator::Controller;

#[derive(clap::Args, Debug)]
pub struct IdentifyArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: IdentifyArgs) -> Result<(), CliError> {
    let ctrl = Controller::connect(&args.connect.options())?;
    let id = ctrl.identity();
    let vs = ctrl.version();
    println!("subnqn    : {}", id.subnqn);
    println!("cntlid    : {}", ctrl.cntlid());
    println!("sn        : {}", id.serial);
    println!("mn        : {}", id.model);
    println!("fr        : {}", id.firmware);
    println!("version   : {}.{}.{}", vs >> 16, (vs >> 8) & 0xFF, vs & 0xFF);
    println!("mdts      : {} (transfers split at {} bytes)", id.mdts, ctrl.max_transfer());
    println!("maxcmd    : {}", id.maxcmd);
    println!("ioccsz    : {} ({} bytes in-capsule data)", id.ioccsz, id.in_capsule_data_limit());
    println!("kas       : {}", id.kas);
    println!("nn        : {}", id.namespace_count);
    for nsid in ctrl.active_namespaces()? {
        let ns = ctrl.identify_namespace(nsid)?;
        println!("ns {nsid:<6}: nsze {} blocks of {} bytes ({} bytes)", ns.nsze, ns.block_size, ns.nsze * ns.block_size as u64);
    }
    ctrl.disconnect()?;
    Ok(())
}
