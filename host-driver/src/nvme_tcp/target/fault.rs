//! Deliberate misbehaviour, so that host tests can meet a broken target: each fault replaces
//! the answer to a read on an I/O queue (the bring-up on the admin queue stays correct, so
//! the host gets as far as real I/O before the target goes wrong).

use super::connection::Connection;
use crate::nvme_tcp::status::Status;
use crate::nvme_tcp::wire::digest::DIGEST_LEN;
use crate::nvme_tcp::wire::{DataPdu, PduRepr, TermReqStatus};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Send the data, then a CapsuleResp for a command ID the host never used.
    WrongCommandId,
    /// Send the C2HData with a wrong data digest (the host must have asked for data digests).
    CorruptDataDigest,
    /// Send the C2HData with a wrong header digest (the host must have asked for header digests).
    CorruptHeaderDigest,
    /// Send a C2HData whose data length field claims one byte more than the PDU carries.
    DataLengthMismatch,
    /// Send the first half of the C2HData PDU, then close the connection.
    TruncateAndClose,
    /// Close the connection instead of answering.
    DropConnection,
    /// Never answer.
    Silence,
    /// Answer with a C2HTermReq and close.
    Terminate,
    /// Send the first quarter of the data twice and never the last quarter, so that the byte
    /// count is right but the coverage is not, then a successful CapsuleResp.
    DuplicateRange,
    /// Skip the second quarter of the data, then complete successfully (with the SUCCESS flag
    /// when `c2h_success` is set, else with a CapsuleResp).
    MissingRange,
    /// Send the second half of the data 512 bytes longer than the command's transfer.
    DataBeyondTransfer,
    /// Send all the data, then its last 512 bytes again in a PDU after the LAST one.
    DataAfterLast,
    /// Complete correctly, but with a CQE that names another submission queue.
    WrongSqId,
    /// Complete correctly, but with a CQE whose SQ head lies outside the queue.
    SqHeadOutOfRange,
}

impl Connection {
    pub(super) fn misbehave(&mut self, fault: Fault, cid: u16, data: &[u8]) {
        tracing::info!(?fault, cid, len = data.len(), "target: injecting a fault instead of answering a read");
        let emission = self.reply.emission();
        let c2h = PduRepr::C2HData { command_id: cid, data_offset: 0, last: true, success: false, data };
        let mut bytes = c2h.emit(emission);
        match fault {
            Fault::WrongCommandId => {
                self.reply.raw(bytes);
                self.reply.capsule_resp(cid ^ 0x4000, Status::SUCCESS, 0);
            }
            Fault::CorruptDataDigest => {
                let end = bytes.len();
                bytes[end - DIGEST_LEN] ^= 0x01;
                self.reply.raw(bytes);
            }
            Fault::CorruptHeaderDigest => {
                bytes[DataPdu::<&[u8]>::LEN] ^= 0x80;
                self.reply.raw(bytes);
            }
            Fault::DataLengthMismatch => {
                let mut pdu = DataPdu::new_unchecked(&mut bytes[..]);
                pdu.set_data_length(data.len() as u32 + 1);
                self.reply.raw(bytes);
            }
            Fault::TruncateAndClose => {
                bytes.truncate(bytes.len() / 2);
                self.reply.raw(bytes);
                self.reply.close();
            }
            Fault::DropConnection => self.reply.close(),
            Fault::Silence => {}
            Fault::Terminate => {
                self.reply.term_req(TermReqStatus::DataTransferOutOfRange.code(), 0, &bytes[..DataPdu::<&[u8]>::LEN]);
                self.reply.close();
            }
            Fault::DuplicateRange => {
                let (half, quarter) = (data.len() / 2, data.len() / 4);
                self.raw_c2h(cid, data, 0..half, false, false);
                self.raw_c2h(cid, data, 0..quarter, false, false);
                self.raw_c2h(cid, data, half..half + quarter, true, false);
                self.reply.capsule_resp(cid, Status::SUCCESS, 0);
            }
            Fault::MissingRange => {
                let (half, quarter) = (data.len() / 2, data.len() / 4);
                let success = self.subsystem.config.c2h_success;
                self.raw_c2h(cid, data, 0..quarter, false, false);
                self.raw_c2h(cid, data, half..data.len(), true, success);
                if !success {
                    self.reply.capsule_resp(cid, Status::SUCCESS, 0);
                }
            }
            Fault::DataBeyondTransfer => {
                let half = data.len() / 2;
                let longer: Vec<u8> = data.iter().copied().chain([0xEE; 512]).collect();
                self.raw_c2h(cid, data, 0..half, false, false);
                self.raw_c2h(cid, &longer, half..longer.len(), true, false);
                self.reply.capsule_resp(cid, Status::SUCCESS, 0);
            }
            Fault::DataAfterLast => {
                self.reply.raw(bytes);
                self.raw_c2h(cid, data, data.len() - 512..data.len(), true, false);
                self.reply.capsule_resp(cid, Status::SUCCESS, 0);
            }
            Fault::WrongSqId => {
                self.reply.raw(bytes);
                self.reply.sq_id ^= 0x8;
                self.reply.capsule_resp(cid, Status::SUCCESS, 0);
                self.reply.sq_id ^= 0x8;
            }
            Fault::SqHeadOutOfRange => {
                self.reply.raw(bytes);
                let head = std::mem::replace(&mut self.reply.sq_head, self.reply.queue_size);
                self.reply.capsule_resp(cid, Status::SUCCESS, 0);
                self.reply.sq_head = head;
            }
        }
    }

    /// One C2HData PDU carrying `data[range]` at offset `range.start`.
    fn raw_c2h(&mut self, cid: u16, data: &[u8], range: Range<usize>, last: bool, success: bool) {
        let data_offset = range.start as u32;
        let pdu = PduRepr::C2HData { command_id: cid, data_offset, last, success, data: &data[range] };
        self.reply.raw(pdu.emit(self.reply.emission()));
    }
}
