//! One NVMe/TCP queue (one TCP connection): connection setup, Fabrics Connect, and a
//! command engine that keeps up to `depth` commands in flight, places C2HData into each
//! command's buffer, answers R2Ts with H2CData and matches completions by command ID in
//! whatever order they arrive.

use super::cids::CidPool;
use super::error::{Error, Violation};
use super::handshake::{self, Negotiated};
use super::options::ConnectOptions;
use super::ranges::RangeSet;
use crate::ddp::ulp::{QueueInfo, QueueOffload};
use crate::nvme_tcp::nvme::commands::{self, SqeBytes, CONNECT_DATA_LEN};
use crate::nvme_tcp::nvme::connect_data::ConnectData;
use crate::nvme_tcp::status::{CommandSet, Status};
use crate::nvme_tcp::transport::{socket, ByteStream, CpuBreakdown, PduWriter, RxHeader, RxPath, SoftwareRx};
use crate::nvme_tcp::wire::{
    flags, CapsuleResp, DataPdu, PduRepr, PduType, R2t, SglDescriptor, Sqe, TermReq, TermReqStatus,
};

/// Where a command's data goes.
pub enum Transfer<'a> {
    None,
    FromController(&'a mut [u8]),
    ToController(&'a [u8]),
}

impl Transfer<'_> {
    /// Bytes to move (0 for commands without data).
    pub fn data_len(&self) -> usize {
        match self {
            Transfer::None => 0,
            Transfer::FromController(b) => b.len(),
            Transfer::ToController(b) => b.len(),
        }
    }
}

pub struct Command<'a> {
    pub sqe: SqeBytes,
    pub transfer: Transfer<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// CQE DW0/DW1.
    pub result: u64,
    pub status: Status,
}

/// Book-keeping for one outstanding command.
struct InFlight {
    index: usize,
    /// Byte ranges of a read that have arrived.
    received: RangeSet,
    /// A C2HData PDU with the LAST flag has arrived.
    last_seen: bool,
    in_capsule: bool,
}

impl InFlight {
    /// A successful completion of a read (`by` the CapsuleResp or the SUCCESS flag) needs
    /// every byte of the transfer to have arrived.
    fn check_complete(&self, cid: u16, by: &'static str, len: usize) -> Result<(), Violation> {
        match self.received.first_gap(len) {
            None => Ok(()),
            Some(missing) => Err(Violation::Incomplete { cid, by, missing, received: self.received.covered(), len }),
        }
    }
}

pub struct Queue {
    qid: u16,
    stream: Box<dyn ByteStream>,
    rx: Box<dyn RxPath>,
    tx: PduWriter<Box<dyn ByteStream>>,
    negotiated: Negotiated,
    queue_size: u16,
    in_capsule_limit: usize,
    cids: CidPool,
    /// Fabrics Connect succeeded: completions must name this queue's SQ from now on.
    connected: bool,
    failed: bool,
    /// The NIC's receive offload for this queue (sk_add succeeded); None: software.
    offload: Option<Box<dyn QueueOffload>>,
}

impl Queue {
    /// Opens the TCP connection and runs ICReq/ICResp. The queue is not usable for NVMe
    /// commands other than Connect until `connect` succeeds.
    pub fn open(opts: &ConnectOptions, qid: u16, queue_size: u16) -> Result<Self, Error> {
        let connect_err = |source| Error::Connect { addr: opts.addr.clone(), source };
        let stream: Box<dyn ByteStream> = match &opts.connector {
            None => {
                let tcp = socket::connect(&opts.addr, opts.timeout).map_err(connect_err)?;
                socket::configure(&tcp, Some(opts.timeout)).map_err(connect_err)?;
                Box::new(tcp)
            }
            Some(c) => {
                let s = c.connect(&opts.addr, opts.timeout).map_err(connect_err)?;
                s.set_read_timeout_stream(Some(opts.timeout)).map_err(connect_err)?;
                s
            }
        };
        let mut rx = SoftwareRx::new(stream.try_clone_stream().map_err(connect_err)?);
        let mut tx = PduWriter::new(stream.try_clone_stream().map_err(connect_err)?);
        if opts.connector.is_some() {
            // A user-space stack: reads and writes are function calls, not system calls.
            (rx, tx) = (rx.without_socket_timing(), tx.without_socket_timing());
        }
        let mut rx: Box<dyn RxPath> = Box::new(rx);
        tracing::debug!(addr = %opts.addr, qid, "TCP connected");
        let negotiated = handshake::exchange(rx.as_mut(), &mut tx, opts)
            .inspect_err(|e| tracing::warn!(qid, error = %e, "connection initialisation (ICReq/ICResp) failed"))?;
        // sk_add for I/O queues, now that the connection is up and the target is quiet.
        let offload = match (&opts.offload, stream.endpoints()) {
            (Some(o), Some((local, remote))) if qid != 0 => o.sk_add(&QueueInfo {
                qid,
                local,
                remote,
                hdgst: negotiated.emission.digests.header,
                ddgst: negotiated.emission.digests.data,
                cpda: (negotiated.emission.data_alignment / 4).saturating_sub(1) as u8,
                queue_size,
                stream_position: rx.stream_position(),
            }),
            _ => None,
        };
        Ok(Self {
            qid,
            stream,
            rx,
            tx,
            negotiated,
            queue_size,
            in_capsule_limit: CONNECT_DATA_LEN,
            cids: CidPool::new(queue_size),
            connected: false,
            failed: false,
            offload,
        })
    }

    /// Fabrics Connect for this queue; returns the controller ID the target assigned.
    pub fn connect(&mut self, opts: &ConnectOptions, cntlid: u16) -> Result<u16, Error> {
        let data = ConnectData {
            host_id: opts.host_id,
            cntlid,
            subnqn: opts.subnqn.clone(),
            hostnqn: opts.hostnqn.clone(),
        }
        .emit();
        // KATO applies to the association and is given on the admin queue only.
        let kato = if self.qid == 0 { opts.kato_ms } else { 0 };
        let sqe = commands::connect(self.qid, self.queue_size - 1, kato);
        let done = self.execute(sqe, Transfer::ToController(&data))?;
        check(done, "Connect", CommandSet::Fabrics)
            .inspect_err(|e| tracing::warn!(qid = self.qid, error = %e, "Fabrics Connect refused"))?;
        tracing::info!(qid = self.qid, cntlid = done.result as u16, queue_size = self.queue_size, kato_ms = kato, "queue connected");
        self.connected = true;
        Ok(done.result as u16)
    }

    pub fn qid(&self) -> u16 {
        self.qid
    }

    pub fn queue_size(&self) -> u16 {
        self.queue_size
    }

    /// Largest write sent inside the command capsule (from Identify IOCCSZ for I/O queues).
    pub fn set_in_capsule_limit(&mut self, bytes: usize) {
        self.in_capsule_limit = bytes;
    }

    /// CPU time the receive and send paths spent, by cause.
    pub fn cpu_breakdown(&self) -> CpuBreakdown {
        let mut total = self.rx.cpu_breakdown();
        total.add(&self.tx.cpu_breakdown());
        total
    }

    /// Runs one command to completion.
    pub fn execute(&mut self, sqe: SqeBytes, transfer: Transfer<'_>) -> Result<Completion, Error> {
        let mut batch = [Command { sqe, transfer }];
        Ok(self.execute_batch(&mut batch, 1)?[0])
    }

    /// Runs all `commands`, keeping up to `depth` (at most the queue size) in flight.
    /// Completions are returned in command order. A transport or protocol error fails the
    /// whole batch and the queue.
    pub fn execute_batch(&mut self, commands: &mut [Command<'_>], depth: usize) -> Result<Vec<Completion>, Error> {
        self.execute_batch_observed(commands, depth, &mut |_| {})
    }

    /// `execute_batch`, calling `completed` with each command's index as it completes.
    pub fn execute_batch_observed(
        &mut self,
        commands: &mut [Command<'_>],
        depth: usize,
        completed: &mut dyn FnMut(usize),
    ) -> Result<Vec<Completion>, Error> {
        if self.failed {
            return Err(Error::QueueFailed(self.qid));
        }
        let result = self.run(commands, depth.clamp(1, self.queue_size as usize), completed);
        if let Err(e) = &result {
            tracing::warn!(qid = self.qid, error = %e, "queue failed; closing its connection");
            self.failed = true;
            // Nothing more can be trusted on this connection: drop it so the target notices.
            self.stream.shutdown_stream();
        }
        result
    }

    fn run(&mut self, commands: &mut [Command<'_>], depth: usize, completed: &mut dyn FnMut(usize)) -> Result<Vec<Completion>, Error> {
        let mut completions: Vec<Option<Completion>> = vec![None; commands.len()];
        let mut in_flight: Vec<Option<InFlight>> = (0..self.queue_size).map(|_| None).collect();
        let (mut next, mut outstanding) = (0, 0);
        while next < commands.len() || outstanding > 0 {
            while outstanding < depth && next < commands.len() {
                let cid = self.cids.take().expect("outstanding commands stay below the queue size");
                let in_capsule = self.submit(cid, &mut commands[next])?;
                in_flight[cid as usize] =
                    Some(InFlight { index: next, received: RangeSet::default(), last_seen: false, in_capsule });
                next += 1;
                outstanding += 1;
            }
            if let Some((cid, index, completion)) = self.process_pdu(commands, &mut in_flight)? {
                // The request completes only once the NIC reported TEARDOWN_DONE.
                if let Some(o) = self.offload.as_mut() {
                    o.teardown(cid);
                }
                completions[index] = Some(completion);
                completed(index);
                in_flight[cid as usize] = None;
                self.cids.give_back(cid);
                outstanding -= 1;
            }
        }
        Ok(completions.into_iter().map(|c| c.expect("every command completed")).collect())
    }

    /// Sends the command capsule; returns whether its data went in-capsule.
    fn submit(&mut self, cid: u16, command: &mut Command<'_>) -> Result<bool, Error> {
        let len = command.transfer.data_len();
        let in_capsule = matches!(command.transfer, Transfer::ToController(_)) && len <= self.in_capsule_limit;
        let mut sqe = Sqe::new_unchecked(&mut command.sqe[..]);
        sqe.set_command_id(cid);
        match command.transfer {
            Transfer::None => {}
            _ if in_capsule => sqe.set_sgl(SglDescriptor::in_capsule(len as u32)),
            _ => sqe.set_sgl(SglDescriptor::transport(len as u32)),
        }
        if let (Some(o), Transfer::FromController(buf)) = (self.offload.as_mut(), &mut command.transfer) {
            o.setup(cid, buf);
        }
        let data: &[u8] = match (&command.transfer, in_capsule) {
            (Transfer::ToController(d), true) => d,
            _ => &[],
        };
        self.tx.send_repr(&PduRepr::CapsuleCmd { sqe: &command.sqe, data }, self.negotiated.emission)?;
        Ok(in_capsule)
    }

    /// Handles one PDU from the controller; returns a completion if it finished a command.
    fn process_pdu(
        &mut self,
        commands: &mut [Command<'_>],
        in_flight: &mut [Option<InFlight>],
    ) -> Result<Option<(u16, usize, Completion)>, Error> {
        if let Some(o) = self.offload.as_mut() {
            o.pdu_header(self.rx.stream_position());
        }
        let header = self.rx.recv_header()?;
        match header.framing.pdu_type {
            PduType::CapsuleResp => {
                let resp = CapsuleResp::new_unchecked(header.header());
                let cqe = resp.cqe();
                let cid = cqe.command_id();
                let entry = outstanding_mut(in_flight, cid, "CapsuleResp")?;
                // Until Connect completes, a target may not have bound the SQ yet (Linux
                // nvmet answers a refused I/O queue Connect with SQ ID 0).
                if self.connected && cqe.sq_id() != self.qid {
                    return Err(Violation::WrongSqId { cid, sq_id: cqe.sq_id(), qid: self.qid }.into());
                }
                // SQ flow control is on (the host never sets CATTR.DISABLE_SQFLOW).
                if cqe.sq_head() >= self.queue_size {
                    return Err(Violation::SqHeadOutOfRange { cid, sq_head: cqe.sq_head(), queue_size: self.queue_size }.into());
                }
                let status = Status::from_word(cqe.status_word());
                if let (true, Transfer::FromController(buffer)) = (status.is_success(), &commands[entry.index].transfer) {
                    entry.check_complete(cid, "CapsuleResp", buffer.len())?;
                }
                Ok(Some((cid, entry.index, Completion { result: cqe.result(), status })))
            }
            PduType::C2HData => self.receive_data(&header, commands, in_flight),
            PduType::R2T => {
                self.answer_r2t(&header, commands, in_flight)?;
                Ok(None)
            }
            PduType::C2HTermReq => {
                let term = TermReq::new_unchecked(header.header());
                Err(Error::Terminated { status: TermReqStatus::from_u16(term.fes()), fei: term.fei() })
            }
            other => Err(Error::Protocol(format!("unexpected {other} PDU from the controller"))),
        }
    }

    fn receive_data(
        &mut self,
        header: &RxHeader,
        commands: &mut [Command<'_>],
        in_flight: &mut [Option<InFlight>],
    ) -> Result<Option<(u16, usize, Completion)>, Error> {
        let pdu = DataPdu::new_unchecked(header.header());
        let cid = pdu.command_id();
        let entry = outstanding_mut(in_flight, cid, "C2HData")?;
        let Transfer::FromController(buffer) = &mut commands[entry.index].transfer else {
            return Err(Error::Protocol(format!("C2HData for command {cid}, which reads no data")));
        };
        // Framing guarantees offset + length fits in u32. Every check comes before the copy,
        // so bytes that already arrived are never overwritten.
        let offset = pdu.data_offset() as usize;
        let range = offset..offset + pdu.data_length() as usize;
        if range.end > buffer.len() {
            return Err(Violation::BeyondTransfer { cid, range, len: buffer.len() }.into());
        }
        if entry.last_seen {
            return Err(Violation::AfterLast { cid, range }.into());
        }
        if let Err(overlap) = entry.received.insert(range.clone()) {
            return Err(Violation::Duplicate { cid, range, overlap }.into());
        }
        match self.offload.as_mut().filter(|o| o.is_offloaded(cid)) {
            Some(o) => {
                let start = range.start;
                let o = std::cell::RefCell::new(o);
                let mut placed = |r: std::ops::Range<usize>| {
                    o.borrow_mut().placed(cid, start + r.start..start + r.end).into_iter().map(|p| p.start - start..p.end - start).collect()
                };
                let whole = range.clone();
                let mut crc_ok = |pdu| o.borrow_mut().crc_ok(cid, whole.clone(), pdu);
                self.rx.recv_data_offloaded(header, &mut buffer[range], &mut placed, &mut crc_ok)?;
            }
            None => {
                self.rx.recv_data(header, &mut buffer[range])?;
            }
        }
        let fl = header.framing.flags;
        entry.last_seen = fl & flags::DATA_LAST != 0;
        // SUCCESS comes with LAST (framing checks that).
        if fl & flags::DATA_SUCCESS == 0 {
            return Ok(None);
        }
        entry.check_complete(cid, "C2HData SUCCESS flag", buffer.len())?;
        Ok(Some((cid, entry.index, Completion { result: 0, status: Status::SUCCESS })))
    }

    /// Sends the R2T's range as H2CData PDUs of at most MAXH2CDATA bytes each (Linux nvmet
    /// with data digest wants one PDU per R2T, which holds whenever the R2T fits).
    fn answer_r2t(
        &mut self,
        header: &RxHeader,
        commands: &[Command<'_>],
        in_flight: &mut [Option<InFlight>],
    ) -> Result<(), Error> {
        let r2t = R2t::new_unchecked(header.header());
        let (cid, ttag) = (r2t.command_id(), r2t.ttag());
        let entry = outstanding_mut(in_flight, cid, "R2T")?;
        let Transfer::ToController(data) = &commands[entry.index].transfer else {
            return Err(Error::Protocol(format!("R2T for command {cid}, which writes no data")));
        };
        if entry.in_capsule {
            return Err(Error::Protocol(format!("R2T for command {cid}, whose data was sent in-capsule")));
        }
        let (offset, len) = (r2t.r2t_offset() as usize, r2t.r2t_length() as usize);
        if len == 0 || offset + len > data.len() {
            return Err(Error::Protocol(format!(
                "R2T for command {cid} asks for bytes {offset}..{} of a {}-byte transfer",
                offset + len,
                data.len()
            )));
        }
        let mut sent = 0;
        while sent < len {
            let piece = (len - sent).min(self.negotiated.maxh2cdata);
            let at = offset + sent;
            let pdu = PduRepr::H2CData {
                command_id: cid,
                ttag,
                data_offset: at as u32,
                last: sent + piece == len,
                data: &data[at..at + piece],
            };
            self.tx.send_repr(&pdu, self.negotiated.emission)?;
            sent += piece;
        }
        Ok(())
    }

    /// Closes the connection (the target sees a FIN).
    pub fn close(&self) {
        self.stream.shutdown_stream();
    }

    /// Whether the NIC offloads this queue's receive side (its sk_add succeeded).
    pub fn offloaded(&self) -> bool {
        self.offload.is_some()
    }
}

impl Drop for Queue {
    /// sk_del (after tearing down any buffer still mapped).
    fn drop(&mut self) {
        if let Some(o) = self.offload.as_mut() {
            o.close();
        }
    }
}

fn outstanding_mut<'a>(in_flight: &'a mut [Option<InFlight>], cid: u16, what: &str) -> Result<&'a mut InFlight, Error> {
    in_flight
        .get_mut(cid as usize)
        .and_then(Option::as_mut)
        .ok_or_else(|| Error::Protocol(format!("{what} for command ID {cid}, which is not outstanding")))
}

/// Turns a failed completion into an error naming the command and the status.
pub fn check(done: Completion, command: &'static str, set: CommandSet) -> Result<Completion, Error> {
    if done.status.is_success() {
        Ok(done)
    } else {
        Err(Error::Nvme { command, status: done.status, set })
    }
}
