//! Read, Write (in-capsule or through R2T/H2CData) and Flush on a RAM namespace.

use super::connection::{generic_error, Connection, Ending, PendingWrite};
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
            let ttag = self.next_ttag;
            self.next_ttag = self.next_ttag.wrapping_add(1);
            let first = self.r2t_len(extent.len);
            self.writes.insert(
                ttag,
                PendingWrite {
                    cid,
                    nsid: extent.nsid,
                    byte_offset: extent.byte_offset,
                    buffer: vec![0u8; extent.len],
                    received: 0,
                    r2t_end: first,
                },
            );
            self.reply.r2t(cid, ttag, 0, first as u32);
        }
        Ok(())
    }

    /// Answers the held reads, newest first, so the host sees completions out of order.
    pub(super) fn release_held_reads(&mut self) {
        let config = &self.subsystem.config;
        while let Some((cid, data)) = self.held_reads.pop() {
            self.reply.c2h_data(cid, data, config.c2h_max_data, config.c2h_success);
        }
    }

    fn r2t_len(&self, remaining: usize) -> usize {
        self.subsystem.config.r2t_max_len.map_or(remaining, |max| remaining.min(max))
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

    /// H2CData must answer the outstanding R2T of its ttag, in order and within range.
    pub(super) fn receive_h2c_data(&mut self, header: &RxHeader) -> Result<(), Ending> {
        let pdu = DataPdu::new_unchecked(header.header());
        let (ttag, cid, offset, len) = (pdu.ttag(), pdu.command_id(), pdu.data_offset() as usize, pdu.data_length() as usize);
        let out_of_range = Ending::Terminate { status: TermReqStatus::DataTransferOutOfRange, fei: 12 };
        if len > self.subsystem.config.maxh2cdata as usize {
            return Err(Ending::Terminate { status: TermReqStatus::TransferLimitExceeded, fei: 16 });
        }
        let Some(write) = self.writes.get_mut(&ttag) else {
            return Err(Ending::Terminate { status: TermReqStatus::InvalidHeaderField, fei: 10 });
        };
        if write.cid != cid {
            return Err(Ending::Terminate { status: TermReqStatus::InvalidHeaderField, fei: 8 });
        }
        if offset != write.received || offset + len > write.r2t_end {
            return Err(out_of_range);
        }
        self.rx.recv_data(header, &mut write.buffer[offset..offset + len])?;
        write.received += len;
        if write.received < write.r2t_end {
            return Ok(());
        }
        if header.framing.flags & flags::DATA_LAST == 0 {
            return Err(Ending::Terminate { status: TermReqStatus::PduSequenceError, fei: 1 });
        }
        if write.received < write.buffer.len() {
            let remaining = write.buffer.len() - write.received;
            let (cid, at) = (write.cid, write.received);
            let next = self.r2t_len(remaining);
            self.writes.get_mut(&ttag).expect("present").r2t_end = at + next;
            self.reply.r2t(cid, ttag, at as u32, next as u32);
            return Ok(());
        }
        let done = self.writes.remove(&ttag).expect("present");
        let ns = self.subsystem.namespace(done.nsid).expect("validated namespace");
        ns.write(done.byte_offset, &done.buffer);
        self.reply.capsule_resp(done.cid, Status::SUCCESS, 0);
        Ok(())
    }
}
