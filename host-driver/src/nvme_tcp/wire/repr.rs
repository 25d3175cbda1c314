//! `PduRepr`: a PDU as values, parsed from a validated `Pdu` view and emitted back to bytes
//! (the smoltcp `Repr` pattern). Every field the spec defines survives a parse/emit round
//! trip; reserved bytes and padding are emitted as zeros.

use super::capsule::{CapsuleCmd, CapsuleResp};
use super::cqe::CqeRepr;
use super::data::{DataPdu, R2t};
use super::framing::DigestConfig;
use super::header::{flags, PduType};
use super::icreq::{IcReq, IcResp};
use super::outgoing::OutgoingHeader;
use super::pdu::Pdu;
use super::sqe::SQE_LEN;
use super::term::TermReq;

/// How the sender lays out PDUs on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emission {
    pub digests: DigestConfig,
    /// The receiver's PDU data alignment in bytes ((PDA + 1) * 4).
    pub data_alignment: usize,
}

impl Emission {
    /// Before ICReq/ICResp: no digests, dword alignment.
    pub const INITIAL: Emission = Emission { digests: DigestConfig { header: false, data: false }, data_alignment: 4 };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduRepr<'a> {
    IcReq { pfv: u16, hpda: u8, digests: DigestConfig, maxr2t: u32 },
    IcResp { pfv: u16, cpda: u8, digests: DigestConfig, maxh2cdata: u32 },
    H2CTermReq { fes: u16, fei: u32, error_data: &'a [u8] },
    C2HTermReq { fes: u16, fei: u32, error_data: &'a [u8] },
    CapsuleCmd { sqe: &'a [u8; SQE_LEN], data: &'a [u8] },
    CapsuleResp { cqe: CqeRepr },
    H2CData { command_id: u16, ttag: u16, data_offset: u32, last: bool, data: &'a [u8] },
    C2HData { command_id: u16, data_offset: u32, last: bool, success: bool, data: &'a [u8] },
    R2T { command_id: u16, ttag: u16, r2t_offset: u32, r2t_length: u32 },
}

impl<'a> PduRepr<'a> {
    pub fn parse(pdu: &Pdu<&'a [u8]>) -> Self {
        let ((h, data), fl) = (pdu.header_and_data(), pdu.framing().flags);
        let last = fl & flags::DATA_LAST != 0;
        match pdu.pdu_type() {
            PduType::IcReq => {
                let v = IcReq::new_unchecked(h);
                Self::IcReq { pfv: v.pfv(), hpda: v.hpda(), digests: DigestConfig::from_bits(v.digest()), maxr2t: v.maxr2t() }
            }
            PduType::IcResp => {
                let v = IcResp::new_unchecked(h);
                Self::IcResp {
                    pfv: v.pfv(),
                    cpda: v.cpda(),
                    digests: DigestConfig::from_bits(v.digest()),
                    maxh2cdata: v.maxh2cdata(),
                }
            }
            PduType::H2CTermReq => {
                let v = TermReq::new_unchecked(h);
                Self::H2CTermReq { fes: v.fes(), fei: v.fei(), error_data: data }
            }
            PduType::C2HTermReq => {
                let v = TermReq::new_unchecked(h);
                Self::C2HTermReq { fes: v.fes(), fei: v.fei(), error_data: data }
            }
            PduType::CapsuleCmd => {
                Self::CapsuleCmd { sqe: CapsuleCmd::new_unchecked(h).sqe_bytes(), data }
            }
            PduType::CapsuleResp => Self::CapsuleResp { cqe: CqeRepr::parse(&CapsuleResp::new_unchecked(h).cqe()) },
            PduType::H2CData => {
                let v = DataPdu::new_unchecked(h);
                Self::H2CData { command_id: v.command_id(), ttag: v.ttag(), data_offset: v.data_offset(), last, data }
            }
            PduType::C2HData => {
                let v = DataPdu::new_unchecked(h);
                Self::C2HData {
                    command_id: v.command_id(),
                    data_offset: v.data_offset(),
                    last,
                    success: fl & flags::DATA_SUCCESS != 0,
                    data,
                }
            }
            PduType::R2T => {
                let v = R2t::new_unchecked(h);
                Self::R2T { command_id: v.command_id(), ttag: v.ttag(), r2t_offset: v.r2t_offset(), r2t_length: v.r2t_length() }
            }
        }
    }

    pub fn pdu_type(&self) -> PduType {
        match self {
            Self::IcReq { .. } => PduType::IcReq,
            Self::IcResp { .. } => PduType::IcResp,
            Self::H2CTermReq { .. } => PduType::H2CTermReq,
            Self::C2HTermReq { .. } => PduType::C2HTermReq,
            Self::CapsuleCmd { .. } => PduType::CapsuleCmd,
            Self::CapsuleResp { .. } => PduType::CapsuleResp,
            Self::H2CData { .. } => PduType::H2CData,
            Self::C2HData { .. } => PduType::C2HData,
            Self::R2T { .. } => PduType::R2T,
        }
    }

    /// The bytes that follow the header region.
    pub fn data(&self) -> &'a [u8] {
        match *self {
            Self::H2CTermReq { error_data, .. } | Self::C2HTermReq { error_data, .. } => error_data,
            Self::CapsuleCmd { data, .. } | Self::H2CData { data, .. } | Self::C2HData { data, .. } => data,
            _ => &[],
        }
    }

    /// The header region with every field set, ready for `PduWriter::send` with `data()`.
    pub fn outgoing_header(&self, emission: Emission) -> OutgoingHeader {
        let mut out = OutgoingHeader::new(self.pdu_type(), emission.digests, emission.data_alignment, self.data().len());
        let fields = out.fields_mut();
        match *self {
            Self::IcReq { pfv, hpda, digests, maxr2t } => {
                let mut v = IcReq::new_unchecked(fields);
                v.set_pfv(pfv);
                v.set_hpda(hpda);
                v.set_digest(digests.to_bits());
                v.set_maxr2t(maxr2t);
            }
            Self::IcResp { pfv, cpda, digests, maxh2cdata } => {
                let mut v = IcResp::new_unchecked(fields);
                v.set_pfv(pfv);
                v.set_cpda(cpda);
                v.set_digest(digests.to_bits());
                v.set_maxh2cdata(maxh2cdata);
            }
            Self::H2CTermReq { fes, fei, .. } | Self::C2HTermReq { fes, fei, .. } => {
                let mut v = TermReq::new_unchecked(fields);
                v.set_fes(fes);
                v.set_fei(fei);
            }
            Self::CapsuleCmd { sqe, .. } => {
                CapsuleCmd::new_unchecked(fields).sqe_mut().as_bytes_mut().copy_from_slice(sqe);
            }
            Self::CapsuleResp { cqe } => cqe.emit(&mut CapsuleResp::new_unchecked(fields).cqe_mut()),
            Self::H2CData { command_id, ttag, data_offset, last, data } => {
                let mut v = DataPdu::new_unchecked(fields);
                v.set_command_id(command_id);
                v.set_ttag(ttag);
                v.set_data_offset(data_offset);
                v.set_data_length(data.len() as u32);
                if last {
                    out.add_flags(flags::DATA_LAST);
                }
            }
            Self::C2HData { command_id, data_offset, last, success, data } => {
                let mut v = DataPdu::new_unchecked(fields);
                v.set_command_id(command_id);
                v.set_data_offset(data_offset);
                v.set_data_length(data.len() as u32);
                out.add_flags(if last { flags::DATA_LAST } else { 0 } | if success { flags::DATA_SUCCESS } else { 0 });
            }
            Self::R2T { command_id, ttag, r2t_offset, r2t_length } => {
                let mut v = R2t::new_unchecked(fields);
                v.set_command_id(command_id);
                v.set_ttag(ttag);
                v.set_r2t_offset(r2t_offset);
                v.set_r2t_length(r2t_length);
            }
        }
        out
    }

    /// The whole PDU as one buffer.
    pub fn emit(&self, emission: Emission) -> Vec<u8> {
        self.outgoing_header(emission).encode(self.data())
    }
}
