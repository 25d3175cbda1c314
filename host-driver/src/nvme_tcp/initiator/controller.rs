//! A connected controller: the Fabrics bring-up sequence as Linux hosts run it (admin
//! Connect, CAP, CC.EN, CSTS.RDY, Identify, Set Features Number of Queues, I/O queue
//! Connect), reads and writes split to the transfer limit, and a clean shutdown.

use super::error::Error;
use super::keep_alive::KeepAlive;
use super::options::ConnectOptions;
use super::queue::{check, Command, Queue, Transfer};
use crate::nvme_tcp::nvme::commands::{self, IDENTIFY_DATA_LEN};
use crate::nvme_tcp::nvme::connect_data::CNTLID_DYNAMIC;
use crate::nvme_tcp::nvme::identify::{parse_namespace_list, IdentifyController, IdentifyNamespace};
use crate::nvme_tcp::nvme::registers::{self, cap, cc, csts};
use crate::nvme_tcp::status::CommandSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Admin queue entries (the admin queue carries few commands at a time).
const ADMIN_QUEUE_SIZE: u16 = 32;
const READY_POLL: Duration = Duration::from_millis(5);

pub struct Controller {
    admin: Arc<Mutex<Queue>>,
    io: Queue,
    keep_alive: Option<KeepAlive>,
    cntlid: u16,
    cap: u64,
    version: u32,
    identity: IdentifyController,
    max_transfer: usize,
}

impl Controller {
    pub fn connect(opts: &ConnectOptions) -> Result<Self, Error> {
        let mut admin = Queue::open(opts, 0, ADMIN_QUEUE_SIZE)?;
        let cntlid = admin.connect(opts, CNTLID_DYNAMIC)?;
        let cap = property_get(&mut admin, registers::CAP, true)?;
        let version = property_get(&mut admin, registers::VS, false)? as u32;
        enable(&mut admin, cap)?;

        let mut identity_bytes = vec![0u8; IDENTIFY_DATA_LEN];
        let done = admin.execute(commands::identify_controller(), Transfer::FromController(&mut identity_bytes))?;
        check(done, "Identify Controller", CommandSet::Admin)?;
        let identity = IdentifyController::parse(&identity_bytes);

        let done = admin.execute(commands::set_number_of_queues(1), Transfer::None)?;
        check(done, "Set Features (Number of Queues)", CommandSet::Admin)?;

        let queue_size = opts.queue_size.clamp(2, cap::mqes(cap).saturating_add(1).max(2));
        let mut io = Queue::open(opts, 1, queue_size)?;
        io.connect(opts, cntlid)?;
        io.set_in_capsule_limit(identity.in_capsule_data_limit());

        let max_transfer = identity
            .max_transfer_bytes(cap::mpsmin_bytes(cap))
            .map_or(opts.max_transfer, |mdts| opts.max_transfer.min(mdts as usize));
        tracing::info!(
            cntlid,
            version = format_args!("{}.{}.{}", version >> 16, (version >> 8) & 0xFF, version & 0xFF),
            mqes = cap::mqes(cap),
            mdts = identity.mdts,
            max_transfer,
            io_queue_size = queue_size,
            "controller ready"
        );
        let admin = Arc::new(Mutex::new(admin));
        let keep_alive = (opts.kato_ms > 0).then(|| KeepAlive::start(admin.clone(), opts.kato_ms));
        Ok(Self { admin, io, keep_alive, cntlid, cap, version, identity, max_transfer })
    }

    pub fn cntlid(&self) -> u16 {
        self.cntlid
    }

    pub fn cap(&self) -> u64 {
        self.cap
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn identity(&self) -> &IdentifyController {
        &self.identity
    }

    /// Bytes per command after MDTS and the host's own cap.
    pub fn max_transfer(&self) -> usize {
        self.max_transfer
    }

    pub fn identify_namespace(&self, nsid: u32) -> Result<IdentifyNamespace, Error> {
        let mut bytes = vec![0u8; IDENTIFY_DATA_LEN];
        let done = self.admin().execute(commands::identify_namespace(nsid), Transfer::FromController(&mut bytes))?;
        check(done, "Identify Namespace", CommandSet::Admin)?;
        Ok(IdentifyNamespace::parse(&bytes))
    }

    /// The active namespace IDs (the first 1024 of them: one Identify list).
    pub fn active_namespaces(&self) -> Result<Vec<u32>, Error> {
        let mut bytes = vec![0u8; IDENTIFY_DATA_LEN];
        let done = self.admin().execute(commands::identify_active_namespaces(0), Transfer::FromController(&mut bytes))?;
        check(done, "Identify Active Namespace List", CommandSet::Admin)?;
        Ok(parse_namespace_list(&bytes))
    }

    /// The I/O queue, for callers that build their own command batches (benchmarks).
    pub fn io_queue(&mut self) -> &mut Queue {
        &mut self.io
    }

    /// Reads `buf.len()` bytes (a whole number of blocks) starting at `slba`.
    pub fn read(&mut self, nsid: u32, slba: u64, block_size: usize, buf: &mut [u8]) -> Result<(), Error> {
        self.read_with_progress(nsid, slba, block_size, buf, &mut |_| {})
    }

    /// `read`, calling `progress` with the byte count of each command as it completes.
    pub fn read_with_progress(
        &mut self,
        nsid: u32,
        slba: u64,
        block_size: usize,
        buf: &mut [u8],
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), Error> {
        let chunk = self.chunk_bytes(block_size, buf.len())?;
        let pieces = buf.chunks_mut(chunk).map(Transfer::FromController).collect();
        self.run_io(nsid, slba, block_size, pieces, "Read", progress)
    }

    /// Writes `data` (a whole number of blocks) starting at `slba`.
    pub fn write(&mut self, nsid: u32, slba: u64, block_size: usize, data: &[u8]) -> Result<(), Error> {
        self.write_with_progress(nsid, slba, block_size, data, &mut |_| {})
    }

    /// `write`, calling `progress` with the byte count of each command as it completes.
    pub fn write_with_progress(
        &mut self,
        nsid: u32,
        slba: u64,
        block_size: usize,
        data: &[u8],
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), Error> {
        let chunk = self.chunk_bytes(block_size, data.len())?;
        let pieces = data.chunks(chunk).map(Transfer::ToController).collect();
        self.run_io(nsid, slba, block_size, pieces, "Write", progress)
    }

    /// Normal shutdown (CC.SHN, wait for CSTS.SHST complete), then closes both connections.
    pub fn disconnect(mut self) -> Result<(), Error> {
        self.keep_alive = None;
        let mut admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let result = shutdown(&mut admin, self.cap);
        tracing::info!(cntlid = self.cntlid, ok = result.is_ok(), "controller shut down");
        self.io.close();
        admin.close();
        result
    }

    fn admin(&self) -> MutexGuard<'_, Queue> {
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn chunk_bytes(&self, block_size: usize, len: usize) -> Result<usize, Error> {
        if block_size == 0 || len == 0 || !len.is_multiple_of(block_size) {
            return Err(Error::InvalidRequest(format!(
                "transfer of {len} bytes is not a positive multiple of the {block_size}-byte block size"
            )));
        }
        // NLB is a 16-bit 0's based field: at most 65536 blocks per command.
        Ok((self.max_transfer / block_size).clamp(1, 1 << 16) * block_size)
    }

    /// One Read or Write per piece, consecutive blocks from `slba`, all in flight together
    /// up to the queue size.
    fn run_io(
        &mut self,
        nsid: u32,
        slba: u64,
        block_size: usize,
        pieces: Vec<Transfer<'_>>,
        what: &'static str,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(), Error> {
        let mut lba = slba;
        let mut batch: Vec<Command> = pieces
            .into_iter()
            .map(|transfer| {
                let blocks = transfer.data_len() / block_size;
                let write = matches!(transfer, Transfer::ToController(_));
                let command = Command { sqe: commands::read_write(write, nsid, lba, blocks as u32), transfer };
                lba += blocks as u64;
                command
            })
            .collect();
        let depth = self.io.queue_size() as usize;
        let lens: Vec<usize> = batch.iter().map(|c| c.transfer.data_len()).collect();
        for done in self.io.execute_batch_observed(&mut batch, depth, &mut |i| progress(lens[i]))? {
            check(done, what, CommandSet::Io)?;
        }
        Ok(())
    }
}

fn property_get(admin: &mut Queue, offset: u32, eight_bytes: bool) -> Result<u64, Error> {
    let done = admin.execute(commands::property_get(offset, eight_bytes), Transfer::None)?;
    Ok(check(done, "Property Get", CommandSet::Fabrics)?.result)
}

fn property_set(admin: &mut Queue, offset: u32, value: u32) -> Result<(), Error> {
    let done = admin.execute(commands::property_set(offset, value), Transfer::None)?;
    check(done, "Property Set", CommandSet::Fabrics).map(drop)
}

/// CC.EN = 1, then poll CSTS.RDY for up to CAP.TO.
fn enable(admin: &mut Queue, cap_value: u64) -> Result<(), Error> {
    property_set(admin, registers::CC, cc::ENABLE_VALUE)?;
    let timeout = Duration::from_millis(cap::timeout_ms(cap_value).max(500));
    wait_for_status(admin, timeout, |s| s & csts::RDY != 0, "CSTS.RDY did not become 1")
}

fn shutdown(admin: &mut Queue, cap_value: u64) -> Result<(), Error> {
    property_set(admin, registers::CC, cc::ENABLE_VALUE | cc::SHN_NORMAL)?;
    let timeout = Duration::from_millis(cap::timeout_ms(cap_value).clamp(500, 5000));
    wait_for_status(admin, timeout, |s| s & csts::SHST_MASK == csts::SHST_COMPLETE, "shutdown did not complete")
}

fn wait_for_status(admin: &mut Queue, timeout: Duration, done: impl Fn(u32) -> bool, what: &str) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    loop {
        let status = property_get(admin, registers::CSTS, false)? as u32;
        if status & csts::CFS != 0 {
            return Err(Error::NotReady("controller fatal status (CSTS.CFS) set".into()));
        }
        if done(status) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::NotReady(format!("{what} within {} ms (CAP.TO)", timeout.as_millis())));
        }
        std::thread::sleep(READY_POLL);
    }
}
