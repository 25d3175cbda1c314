//! Read, Write (in-capsule or through R2T/H2CData) and Flush on a RAM namespace.

use super::connection::{generic_error, Connection, Ending, OutstandingR2t, PendingWrite};
use crate::nvme_tcp::nvme::opcodes::io;
use crate::nvme_tcp::nvme::registers::cc;
use crate::nvme_tcp::status::{generic, Status};
use crate::nvme_tcp::transport::{RxHeader, RxPath};
use crate::nvme_tcp::wire::sqe::FLAGS_PSDT_SGL;
use crate::nvme_tcp::wire::{flags, DataPdu, SglDescriptor, Sqe, TermReqStatus};

/// A validated Read or Write: which namespace bytes it covers.
struct Extent {
    nsid: u32,
    byte_offset: usize,
    len: usize,
}

impl Connection {
    pub(super) fn io_command(&mut self, sqe_bytes: &[u8; 64], in_capsule: Vec<u8>) -> Result<(), Ending> {
        let sqe = Sqe::new_unchecked(&sqe_bytes[..]);
        let cid = sqe.command_id();
        let opcode = sqe.opcode();
        if opcode == io::FLUSH {
            let status = self.check_ready(&sqe).err().unwrap_or(Status::SUCCESS);
            self.reply.capsule_resp(cid, status, 0);
            return Ok(());
        }
        if opcode != io::READ && opcode != io::WRITE {
            self.reply.capsule_resp(cid, generic_error(generic::INVALID_OPCODE), 0);
            return Ok(());
        }
        let extent = match self.validate(&sqe, &in_capsule) {
            Ok(e) => e,
            Err(status) => {
                self.reply.capsule_resp(cid, status, 0);
                return Ok(());
            }
        };
        let ns = self.subsystem.namespace(extent.nsid).expect("validated namespace").clone();
        if opcode == io::READ {
            let data = ns.read(extent.byte_offset, extent.len);
            let config = &self.subsystem.config;
            if let Some(fault) = config.fault {
                self.misbehave(fault, cid, &data);
            } else if config.reorder_reads > 1 {
                self.held_reads.push((cid, data));
                if self.held_reads.len() >= config.reorder_reads {
                    self.release_held_reads();
                }
            } else {
                self.reply.c2h_data(cid, data, config.c2h_max_data, config.c2h_success);
            }
        } else if !in_capsule.is_empty() {
            ns.write(extent.byte_offset, &in_capsule);
            self.reply.capsule_resp(cid, Status::SUCCESS, 0);
        } else {
            if self.writes.contains_key(&cid) {
                // A command ID reused while its write still waits for data.
                return Err(Ending::Terminate { status: TermReqStatus::InvalidHeaderField, fei: 0 });
            }
            let write = PendingWrite {
                nsid: extent.nsid,
                byte_offset: extent.byte_offset,
                buffer: vec![0u8; extent.len],
                received: 0,
                requested: 0,
                r2ts_outstanding: 0,
            };
            self.writes.insert(cid, write);
            self.send_r2ts(cid);
        }
        Ok(())
    }

    /// Asks for more of the write's data while fewer R2Ts than allowed are outstanding:
    /// `r2ts_per_command`, and never more than the host's MAXR2T + 1.
    fn send_r2ts(&mut self, cid: u16) {
        let config = &self.subsystem.config;
        let limit = config.r2ts_per_command.clamp(1, self.host_max_r2ts);
        let max_len = config.r2t_max_len;
        let write = self.writes.get_mut(&cid).expect("pending write");
        while write.r2ts_outstanding < limit && write.requested < write.buffer.len() {
            let at = write.requested;
            let len = max_len.map_or(write.buffer.len() - at, |m| m.clamp(1, write.buffer.len() - at));
            let ttag = self.next_ttag;
            self.next_ttag = self.next_ttag.wrapping_add(1);
            self.r2ts.insert(ttag, OutstandingR2t { cid, next: at, end: at + len });
            write.requested += len;
            write.r2ts_outstanding += 1;
            self.reply.r2t(cid, ttag, at as u32, len as u32);
        }
    }

    /// Answers the held reads, newest first, so the host sees completions out of order.
    pub(super) fn release_held_reads(&mut self) {
        let config = &self.subsystem.config;
        while let Some((cid, data)) = self.held_reads.pop() {
            self.reply.c2h_data(cid, data, config.c2h_max_data, config.c2h_success);
        }
    }

    fn check_ready(&self, sqe: &Sqe<&[u8]>) -> Result<(), Status> {
        let enabled = self.subsystem.with_controller(self.cntlid, |c| c.cc & cc::EN != 0).unwrap_or(false);
        if !enabled {
            // What Linux nvmet answers to I/O before CC.EN=1 (0x400C).
            return Err(generic_error(generic::COMMAND_SEQUENCE_ERROR));
        }
        if self.subsystem.namespace(sqe.nsid()).is_none() {
            return Err(generic_error(generic::INVALID_NAMESPACE));
        }
        Ok(())
    }

    fn validate(&self, sqe: &Sqe<&[u8]>, in_capsule: &[u8]) -> Result<Extent, Status> {
        self.check_ready(sqe)?;
        if sqe.flags() & 0xC0 != FLAGS_PSDT_SGL {
            return Err(generic_error(generic::INVALID_FIELD));
        }
        let ns = self.subsystem.namespace(sqe.nsid()).expect("checked by check_ready");
        let slba = sqe.cdw(10) as u64 | (sqe.cdw(11) as u64) << 32;
        let blocks = (sqe.cdw(12) & 0xFFFF) as u64 + 1;
        if slba.checked_add(blocks).is_none_or(|end| end > ns.blocks) {
            return Err(generic_error(generic::LBA_OUT_OF_RANGE));
        }
        let len = (blocks * ns.block_size as u64) as usize;
        let sgl = sqe.sgl();
        let write = sqe.opcode() == io::WRITE;
        match sgl.identifier {
            SglDescriptor::TRANSPORT_DATA_BLOCK if in_capsule.is_empty() => {}
            SglDescriptor::IN_CAPSULE if write && sgl.address == 0 => {
                if in_capsule.len() != sgl.length as usize {
                    return Err(generic_error(generic::DATA_SGL_LENGTH_INVALID));
                }
            }
            _ => return Err(generic_error(generic::SGL_DESCRIPTOR_TYPE_INVALID)),
        }
        if sgl.length as usize != len || len > self.subsystem.config.max_transfer {
            return Err(generic_error(generic::DATA_SGL_LENGTH_INVALID));
        }
        Ok(Extent { nsid: sqe.nsid(), byte_offset: (slba * ns.block_size as u64) as usize, len })
    }

    /// H2CData must answer an outstanding R2T (by transfer tag), for that R2T's command, in
    /// order from the R2T's offset, within its range, at most MAXH2CDATA per PDU, with LAST
    /// on exactly the PDU that completes the R2T. FEI is the offset of the offending field.
    pub(super) fn receive_h2c_data(&mut self, header: &RxHeader) -> Result<(), Ending> {
        let pdu = DataPdu::new_unchecked(header.header());
        let (ttag, cid, offset, len) = (pdu.ttag(), pdu.command_id(), pdu.data_offset() as usize, pdu.data_length() as usize);
        let terminate = |status, fei| Err(Ending::Terminate { status, fei });
        if len > self.subsystem.config.maxh2cdata as usize {
            return terminate(TermReqStatus::TransferLimitExceeded, 16);
        }
        let Some(r2t) = self.r2ts.get_mut(&ttag) else {
            return terminate(TermReqStatus::InvalidHeaderField, 10);
        };
        if r2t.cid != cid {
            return terminate(TermReqStatus::InvalidHeaderField, 8);
        }
        if offset != r2t.next {
            return terminate(TermReqStatus::DataTransferOutOfRange, 12);
        }
        if offset + len > r2t.end {
            return terminate(TermReqStatus::DataTransferOutOfRange, 16);
        }
        let completes_r2t = offset + len == r2t.end;
        if completes_r2t != (header.framing.flags & flags::DATA_LAST != 0) {
            return terminate(TermReqStatus::PduSequenceError, 1);
        }
        r2t.next += len;
        let write = self.writes.get_mut(&cid).expect("an outstanding R2T belongs to a pending write");
        self.rx.recv_data(header, &mut write.buffer[offset..offset + len])?;
        write.received += len;
        if !completes_r2t {
            return Ok(());
        }
        self.r2ts.remove(&ttag);
        write.r2ts_outstanding -= 1;
        if write.received < write.buffer.len() {
            self.send_r2ts(cid);
            return Ok(());
        }
        let done = self.writes.remove(&cid).expect("present");
        let ns = self.subsystem.namespace(done.nsid).expect("validated namespace");
        ns.write(done.byte_offset, &done.buffer);
        self.reply.capsule_resp(cid, Status::SUCCESS, 0);
        Ok(())
    }
}
