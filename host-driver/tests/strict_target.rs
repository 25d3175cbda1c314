//! The embedded target against a host that breaks the rules: a raw host built from the wire
//! layer sends exactly the PDUs each case needs. The target must keep its R2Ts within the
//! host's MAXR2T, accept H2CData only as an answer to an outstanding R2T (its tag, its
//! command, in order, within its range, LAST on the PDU that completes it, at most
//! MAXH2CDATA), and refuse a termination request whose PDO is not 0; every refusal is a
//! C2HTermReq naming the status and the offending field, then the connection closes.

mod common;

use common::{namespace, start_target, NQN};
use ddpnic::nvme_tcp::nvme::commands::{self, SqeBytes};
use ddpnic::nvme_tcp::nvme::connect_data::{ConnectData, CNTLID_DYNAMIC};
use ddpnic::nvme_tcp::nvme::registers::{cc, CC};
use ddpnic::nvme_tcp::target::{TargetConfig, TargetHandle};
use ddpnic::nvme_tcp::transport::{socket, PduWriter, RxPath, SoftwareRx, TransportError};
use ddpnic::nvme_tcp::wire::{
    CapsuleResp, DigestConfig, Emission, IcResp, PduRepr, PduType, R2t, SglDescriptor, Sqe, TermReq, TermReqStatus,
};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

const WRITE_LEN: usize = 32 << 10;
const R2T_LEN: usize = 4096;

/// What the target sent.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    R2t { cid: u16, ttag: u16, offset: usize, len: usize },
    Resp { cid: u16, status: u16 },
    Term { status: TermReqStatus, fei: u32 },
    Other(PduType),
}

/// One host connection driven by hand.
struct RawQueue {
    stream: TcpStream,
    rx: SoftwareRx<TcpStream>,
    tx: PduWriter<TcpStream>,
    emission: Emission,
    /// The result field of the last CapsuleResp.
    last_result: u64,
}

impl RawQueue {
    fn open(target: &TargetHandle, maxr2t: u32) -> Self {
        let stream = TcpStream::connect(target.addr()).unwrap();
        socket::configure(&stream, Some(Duration::from_secs(5))).unwrap();
        let mut q = Self {
            rx: SoftwareRx::new(stream.try_clone().unwrap()),
            tx: PduWriter::new(stream.try_clone().unwrap()),
            stream,
            emission: Emission::INITIAL,
            last_result: 0,
        };
        q.send(&PduRepr::IcReq { pfv: 0, hpda: 0, digests: DigestConfig::default(), maxr2t });
        let header = q.rx.recv_header().unwrap();
        assert_eq!(header.framing.pdu_type, PduType::IcResp);
        let cpda = IcResp::new_unchecked(header.header()).cpda();
        q.emission = Emission { digests: DigestConfig::default(), data_alignment: (cpda as usize + 1) * 4 };
        q
    }

    fn send(&mut self, pdu: &PduRepr<'_>) {
        self.tx.send_repr(pdu, self.emission).unwrap();
    }

    fn h2c(&mut self, cid: u16, ttag: u16, offset: usize, len: usize, last: bool) {
        let data = vec![(offset / 512) as u8; len];
        self.send(&PduRepr::H2CData { command_id: cid, ttag, data_offset: offset as u32, last, data: &data });
    }

    fn capsule(&mut self, mut sqe: SqeBytes, cid: u16, sgl: SglDescriptor, data: &[u8]) {
        let mut view = Sqe::new_unchecked(&mut sqe[..]);
        view.set_command_id(cid);
        view.set_sgl(sgl);
        self.send(&PduRepr::CapsuleCmd { sqe: &sqe, data });
    }

    fn recv(&mut self) -> Result<Got, TransportError> {
        let header = self.rx.recv_header()?;
        let h = header.header();
        Ok(match header.framing.pdu_type {
            PduType::R2T => {
                let r = R2t::new_unchecked(h);
                Got::R2t { cid: r.command_id(), ttag: r.ttag(), offset: r.r2t_offset() as usize, len: r.r2t_length() as usize }
            }
            PduType::CapsuleResp => {
                let resp = CapsuleResp::new_unchecked(h);
                let cqe = resp.cqe();
                self.last_result = cqe.result();
                Got::Resp { cid: cqe.command_id(), status: cqe.status_word() >> 1 }
            }
            PduType::C2HTermReq => {
                let t = TermReq::new_unchecked(h);
                let mut error_data = vec![0u8; header.framing.data_len()];
                self.rx.recv_data(&header, &mut error_data)?;
                Got::Term { status: TermReqStatus::from_u16(t.fes()), fei: t.fei() }
            }
            other => {
                let mut data = vec![0u8; header.framing.data_len()];
                self.rx.recv_data(&header, &mut data)?;
                Got::Other(other)
            }
        })
    }

    /// Runs one command without data transfer or with in-capsule data; returns its status.
    fn execute(&mut self, sqe: SqeBytes, data: &[u8]) -> Got {
        self.capsule(sqe, 7, SglDescriptor::in_capsule(data.len() as u32), data);
        self.recv().unwrap()
    }

    /// Fabrics Connect (no keep-alive); returns the controller ID.
    fn connect(&mut self, qid: u16, cntlid: u16) -> u16 {
        let data = ConnectData { host_id: [7; 16], cntlid, subnqn: NQN.into(), hostnqn: "nqn.2014-08.io.test:raw".into() };
        assert_eq!(self.execute(commands::connect(qid, 31, 0), &data.emit()), Got::Resp { cid: 7, status: 0 });
        self.last_result as u16
    }

    /// The next PDU, or None when the target sends nothing for `wait`.
    fn recv_within(&mut self, wait: Duration) -> Option<Got> {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let got = match self.recv() {
            Err(TransportError::Timeout) => None,
            other => Some(other.unwrap()),
        };
        self.stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        got
    }
}

/// An enabled controller (its admin queue kept open) and an I/O queue whose ICReq
/// announced `maxr2t`.
struct Association {
    _admin: RawQueue,
    io: RawQueue,
}

fn associate(target: &TargetHandle, maxr2t: u32) -> Association {
    let mut admin = RawQueue::open(target, 0);
    let cntlid = admin.connect(0, CNTLID_DYNAMIC);
    assert_eq!(admin.execute(commands::property_set(CC, cc::ENABLE_VALUE), &[]), Got::Resp { cid: 7, status: 0 });
    let mut io = RawQueue::open(target, maxr2t);
    io.connect(1, cntlid);
    Association { _admin: admin, io }
}

fn target_with(adjust: impl FnOnce(&mut TargetConfig)) -> TargetHandle {
    let mut config = TargetConfig::new(NQN, vec![namespace(1 << 20, 512)]);
    config.r2t_max_len = Some(R2T_LEN);
    adjust(&mut config);
    start_target(config)
}

/// Starts a WRITE_LEN-byte write at LBA 0 through R2T (command ID 3).
fn start_write(io: &mut RawQueue) {
    let sqe = commands::read_write(true, 1, 0, (WRITE_LEN / 512) as u32);
    io.capsule(sqe, 3, SglDescriptor::transport(WRITE_LEN as u32), &[]);
}

#[test]
fn outstanding_r2ts_stay_within_the_hosts_maxr2t() {
    // (target's R2Ts per command, host's MAXR2T (0's based)) -> R2Ts outstanding at once.
    for (per_command, maxr2t, expected) in [(4, 1, 2), (4, 15, 4), (4, 0, 1), (1, 7, 1)] {
        let target = target_with(|c| c.r2ts_per_command = per_command);
        let mut a = associate(&target, maxr2t);
        start_write(&mut a.io);
        let mut outstanding: Vec<Got> = (0..expected).map(|_| a.io.recv().unwrap()).collect();
        assert_eq!(a.io.recv_within(Duration::from_millis(150)), None, "more than {expected} R2Ts outstanding");
        // Answer newest first, each R2T in two PDUs; the target tops up to the limit.
        let (mut answered, mut asked) = (0, expected * R2T_LEN);
        while let Some(Got::R2t { cid, ttag, offset, len }) = outstanding.pop() {
            assert_eq!((cid, len), (3, R2T_LEN));
            a.io.h2c(cid, ttag, offset, len / 2, false);
            a.io.h2c(cid, ttag, offset + len / 2, len / 2, true);
            answered += len;
            if asked < WRITE_LEN {
                outstanding.insert(0, a.io.recv().unwrap());
                asked += R2T_LEN;
            }
        }
        assert_eq!(answered, WRITE_LEN, "case ({per_command}, {maxr2t})");
        assert_eq!(a.io.recv().unwrap(), Got::Resp { cid: 3, status: 0 });
    }
}

/// Starts a write, takes the first R2T, lets `misbehave` answer it, and returns the
/// C2HTermReq the target ends the connection with.
fn termination(misbehave: impl FnOnce(&mut RawQueue, u16, u16, usize, usize)) -> (TermReqStatus, u32) {
    let target = target_with(|c| c.maxh2cdata = 8192);
    let mut a = associate(&target, 0);
    start_write(&mut a.io);
    let Ok(Got::R2t { cid, ttag, offset, len }) = a.io.recv() else { panic!("no R2T") };
    misbehave(&mut a.io, cid, ttag, offset, len);
    loop {
        match a.io.recv() {
            Ok(Got::Term { status, fei }) => {
                assert!(matches!(a.io.recv(), Err(TransportError::Closed)), "the target closes after C2HTermReq");
                return (status, fei);
            }
            Ok(Got::R2t { .. }) => continue,
            other => panic!("expected C2HTermReq, got {other:?}"),
        }
    }
}

#[test]
fn h2c_data_must_answer_its_r2t() {
    use TermReqStatus::*;
    type Case = (&'static str, fn(&mut RawQueue, u16, u16, usize, usize), (TermReqStatus, u32));
    let cases: [Case; 9] = [
        ("unknown transfer tag", |q, c, t, o, l| q.h2c(c, t ^ 0x100, o, l, true), (InvalidHeaderField, 10)),
        ("another command's ID", |q, c, t, o, l| q.h2c(c ^ 1, t, o, l, true), (InvalidHeaderField, 8)),
        ("not at the R2T's offset", |q, c, t, o, l| q.h2c(c, t, o + 512, l - 512, true), (DataTransferOutOfRange, 12)),
        ("past the R2T's end", |q, c, t, o, l| q.h2c(c, t, o, l + 512, true), (DataTransferOutOfRange, 16)),
        ("more than MAXH2CDATA", |q, c, t, o, _| q.h2c(c, t, o, 8192 + 512, true), (TransferLimitExceeded, 16)),
        ("LAST before the R2T is done", |q, c, t, o, l| q.h2c(c, t, o, l / 2, true), (PduSequenceError, 1)),
        ("no LAST on the PDU that completes it", |q, c, t, o, l| q.h2c(c, t, o, l, false), (PduSequenceError, 1)),
        (
            "the same range twice",
            |q, c, t, o, l| {
                q.h2c(c, t, o, l / 2, false);
                q.h2c(c, t, o, l / 2, false);
            },
            (DataTransferOutOfRange, 12),
        ),
        (
            "data for an R2T already answered",
            |q, c, t, o, l| {
                q.h2c(c, t, o, l, true);
                q.h2c(c, t, o, l, true);
            },
            (InvalidHeaderField, 10),
        ),
    ];
    for (what, misbehave, expected) in cases {
        assert_eq!(termination(misbehave), expected, "{what}");
    }
}

/// A termination request from the host with PDO `pdo`.
fn h2c_term_req(pdo: u8) -> Vec<u8> {
    let mut b = PduRepr::H2CTermReq { fes: TermReqStatus::PduSequenceError.code(), fei: 0, error_data: &[] }.emit(Emission::INITIAL);
    b[3] = pdo;
    b
}

#[test]
fn h2c_term_req_pdo_must_be_zero() {
    let target = target_with(|_| {});
    let mut a = associate(&target, 0);
    a.io.stream.write_all(&h2c_term_req(24)).unwrap();
    assert_eq!(a.io.recv().unwrap(), Got::Term { status: TermReqStatus::InvalidHeaderField, fei: 3 });
    assert!(matches!(a.io.recv(), Err(TransportError::Closed)));

    // A well-formed one ends the connection without an answer.
    let mut a = associate(&target, 0);
    a.io.stream.write_all(&h2c_term_req(0)).unwrap();
    assert!(matches!(a.io.recv(), Err(TransportError::Closed)));
}
