//! One target connection: ICReq/ICResp, then a loop that receives PDUs and dispatches
//! commands to the admin or I/O handlers. Malformed PDUs end the connection with a
//! C2HTermReq naming the problem.

use super::reply::Replier;
use super::subsystem::Subsystem;
use crate::nvme_tcp::nvme::opcodes::{admin, fctype};
use crate::nvme_tcp::nvme::commands::fabrics_field;
use crate::nvme_tcp::status::{generic, sct, Status};
use crate::nvme_tcp::transport::{socket, ByteStream, RxPath, SoftwareRx, TransportError};
use crate::nvme_tcp::wire::{CapsuleCmd, DigestConfig, IcReq, PduType, TermReq, TermReqStatus, WireError};
use std::collections::HashMap;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

/// A host must send ICReq soon after connecting.
const ICREQ_TIMEOUT: Duration = Duration::from_secs(10);
/// Admin queue capsules may carry up to 8 KiB in-capsule (NVMe-oF), Connect needs 1 KiB.
const ADMIN_IN_CAPSULE_LIMIT: usize = 8192;

/// A write waiting for its data through R2T/H2CData.
pub struct PendingWrite {
    pub nsid: u32,
    pub byte_offset: usize,
    pub buffer: Vec<u8>,
    /// Bytes of `buffer` that arrived.
    pub received: usize,
    /// Start of the part no R2T has asked for yet.
    pub requested: usize,
    /// R2Ts sent and not yet fully answered.
    pub r2ts_outstanding: usize,
}

/// An R2T sent and not yet fully answered; its H2CData must come in order.
pub struct OutstandingR2t {
    pub cid: u16,
    /// Next byte offset expected (the R2T's offset until data arrives).
    pub next: usize,
    pub end: usize,
}

/// Why a connection ends.
pub enum Ending {
    /// The host went away (or the socket failed): nothing to send.
    Quiet,
    /// A fatal protocol error: tell the host with a C2HTermReq.
    Terminate { status: TermReqStatus, fei: u32 },
}

impl From<TransportError> for Ending {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Wire(w) => terminate_for(&w),
            _ => Ending::Quiet,
        }
    }
}

/// FEI for an invalid header field is the byte offset of that field.
fn terminate_for(e: &WireError) -> Ending {
    let (status, fei) = match e {
        WireError::HeaderDigest { .. } => (TermReqStatus::HeaderDigestError, 0),
        // Linux nvmet drops the connection on a data digest error without a TermReq.
        WireError::DataDigest { .. } => return Ending::Quiet,
        WireError::UnknownType(_) => (TermReqStatus::InvalidHeaderField, 0),
        WireError::HeaderDigestFlag { .. } | WireError::DataDigestFlag { .. } | WireError::InvalidFlags { .. } => {
            (TermReqStatus::InvalidHeaderField, 1)
        }
        WireError::WrongHeaderLength { .. } => (TermReqStatus::InvalidHeaderField, 2),
        WireError::PdoOutOfRange { .. } | WireError::TermReqPdo { .. } => (TermReqStatus::InvalidHeaderField, 3),
        WireError::DataLengthMismatch { .. } | WireError::DataRangeOverflow { .. } | WireError::EmptyR2t => {
            (TermReqStatus::InvalidHeaderField, 16)
        }
        WireError::PlenMismatch { .. } | WireError::MissingData { .. } | WireError::Truncated { .. } => {
            (TermReqStatus::InvalidHeaderField, 4)
        }
    };
    Ending::Terminate { status, fei }
}

pub struct Connection {
    pub subsystem: Arc<Subsystem>,
    pub rx: SoftwareRx<Box<dyn ByteStream>>,
    pub reply: Replier,
    pub stream: Box<dyn ByteStream>,
    /// Set by a successful Connect.
    pub qid: Option<u16>,
    pub cntlid: u16,
    /// Writes waiting for data, by command ID.
    pub writes: HashMap<u16, PendingWrite>,
    /// Outstanding R2Ts, by transfer tag.
    pub r2ts: HashMap<u16, OutstandingR2t>,
    pub next_ttag: u16,
    /// R2Ts the host accepts outstanding per command (its ICReq MAXR2T + 1).
    pub host_max_r2ts: usize,
    /// Reads answered later, in reverse order (`TargetConfig::reorder_reads`).
    pub held_reads: Vec<(u16, Vec<u8>)>,
}

pub fn serve(stream: TcpStream, subsystem: Arc<Subsystem>) {
    let (Ok(read_half), Ok(write_half)) = (stream.try_clone(), stream.try_clone()) else { return };
    if socket::configure(&stream, Some(ICREQ_TIMEOUT)).is_err() {
        return;
    }
    let rx = SoftwareRx::new(Box::new(read_half) as Box<dyn ByteStream>);
    let mut conn = Connection::new(subsystem, rx, Replier::new(write_half), Box::new(stream));
    let result = conn.run();
    conn.end(result);
}

impl Connection {
    pub fn new(subsystem: Arc<Subsystem>, rx: SoftwareRx<Box<dyn ByteStream>>, reply: Replier, stream: Box<dyn ByteStream>) -> Self {
        tracing::debug!(peer = %stream.peer_name(), "target: connection accepted");
        Connection {
            subsystem,
            rx,
            reply,
            stream,
            qid: None,
            cntlid: 0,
            writes: HashMap::new(),
            r2ts: HashMap::new(),
            next_ttag: 0,
            host_max_r2ts: 1,
            held_reads: Vec::new(),
        }
    }

    /// Logs how the connection ended, sends a C2HTermReq if it was a protocol error, and
    /// removes the controller when its admin queue goes.
    pub fn end(&mut self, result: Result<(), Ending>) {
    let conn = self;
    let peer = conn.stream.peer_name();
    let qid = conn.qid.map_or_else(|| "none".into(), |q| q.to_string());
    match result {
        Ok(()) => tracing::debug!(%peer, %qid, "target: host closed the connection"),
        Err(Ending::Quiet) => tracing::debug!(%peer, %qid, "target: connection ended"),
        Err(Ending::Terminate { status, fei }) => {
            tracing::warn!(%peer, %qid, %status, fei, "target: fatal protocol error by the host, sending C2HTermReq");
            conn.reply.term_req(status.code(), fei, &[]);
        }
    }
    if conn.qid == Some(0) {
        conn.subsystem.remove_controller(conn.cntlid);
    }
    }

    fn run(&mut self) -> Result<(), Ending> {
        self.initialize()?;
        loop {
            if self.rx.buffered() == 0 {
                // Nothing more is pending from the host: answer what was held back.
                self.release_held_reads();
            }
            if !self.handle_next()? {
                return Ok(());
            }
        }
    }

    /// Receives and handles one PDU; false when the host closed the connection.
    pub(super) fn handle_next(&mut self) -> Result<bool, Ending> {
        {
            let header = match self.rx.recv_header() {
                Err(TransportError::Closed) => return Ok(false),
                other => other?,
            };
            match header.framing.pdu_type {
                PduType::CapsuleCmd => {
                    let limit = match self.qid {
                        Some(q) if q > 0 => self.subsystem.config.in_capsule_data,
                        _ => ADMIN_IN_CAPSULE_LIMIT,
                    };
                    if header.framing.data_len() > limit {
                        return Err(Ending::Terminate { status: TermReqStatus::TransferLimitExceeded, fei: 0 });
                    }
                    let mut data = vec![0u8; header.framing.data_len()];
                    self.rx.recv_data(&header, &mut data)?;
                    let mut sqe = [0u8; 64];
                    sqe.copy_from_slice(CapsuleCmd::new_unchecked(header.header()).sqe().as_bytes());
                    self.reply.sq_head = (self.reply.sq_head + 1) % self.reply.queue_size.max(1);
                    self.dispatch(&sqe, data)?;
                }
                PduType::H2CData => self.receive_h2c_data(&header)?,
                PduType::H2CTermReq => {
                    let term = TermReq::new_unchecked(header.header());
                    let status = TermReqStatus::from_u16(term.fes());
                    tracing::warn!(%status, fei = term.fei(), "target: host terminated the connection (H2CTermReq)");
                    return Err(Ending::Quiet);
                }
                _ => return Err(Ending::Terminate { status: TermReqStatus::PduSequenceError, fei: 0 }),
            }
        }
        Ok(true)
    }

    pub(super) fn initialize(&mut self) -> Result<(), Ending> {
        let header = self.rx.recv_header()?;
        if header.framing.pdu_type != PduType::IcReq {
            return Err(Ending::Terminate { status: TermReqStatus::PduSequenceError, fei: 0 });
        }
        let req = IcReq::new_unchecked(header.header());
        if req.pfv() != 0 {
            return Err(Ending::Terminate { status: TermReqStatus::UnsupportedParameter, fei: 8 });
        }
        if req.hpda() > 31 {
            return Err(Ending::Terminate { status: TermReqStatus::UnsupportedParameter, fei: 10 });
        }
        self.host_max_r2ts = usize::try_from(req.maxr2t()).map_or(usize::MAX, |m| m.saturating_add(1));
        let digests = DigestConfig::from_bits(req.digest());
        let config = &self.subsystem.config;
        tracing::debug!(
            hpda = req.hpda(),
            hdgst = digests.header,
            ddgst = digests.data,
            maxr2t = req.maxr2t(),
            cpda = config.cpda,
            maxh2cdata = config.maxh2cdata,
            "target: ICReq received, ICResp sent"
        );
        self.reply.ic_resp(digests, req.hpda(), config.cpda, config.maxh2cdata);
        self.rx.set_digests(digests);
        // From here an idle I/O queue is legitimate; the admin queue gets KATO after Connect.
        self.stream.set_read_timeout_stream(None).map_err(|_| Ending::Quiet)
    }

    fn dispatch(&mut self, sqe: &[u8; 64], data: Vec<u8>) -> Result<(), Ending> {
        let is_connect = sqe[0] == admin::FABRICS && sqe[fabrics_field::FCTYPE] == fctype::CONNECT;
        match self.qid {
            _ if is_connect => self.connect(sqe, &data),
            None => {
                let cid = u16::from_le_bytes([sqe[2], sqe[3]]);
                self.reply.capsule_resp(cid, generic_error(generic::COMMAND_SEQUENCE_ERROR), 0);
                Ok(())
            }
            Some(0) => self.admin_command(sqe),
            Some(_) => self.io_command(sqe, data),
        }
    }

    pub fn set_keep_alive_timeout(&self, kato_ms: u32) {
        // The host sends Keep Alive at KATO/2; allow a margin before declaring it gone.
        let timeout = (kato_ms > 0).then(|| Duration::from_millis(kato_ms as u64 * 3 / 2));
        let _ = self.stream.set_read_timeout_stream(timeout);
    }
}

/// A generic status with Do Not Retry set, as nvmet reports errors.
pub fn generic_error(sc: u8) -> Status {
    Status::new(sct::GENERIC, sc, true)
}
