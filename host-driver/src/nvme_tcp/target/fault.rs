//! Deliberate misbehaviour, so that host tests can meet a broken target: each fault replaces
//! the answer to a read on an I/O queue (the bring-up on the admin queue stays correct, so
//! the host gets as far as real I/O before the target goes wrong).

use super::connection::Connection;
use crate::nvme_tcp::status::Status;
use crate::nvme_tcp::wire::digest::DIGEST_LEN;
use crate::nvme_tcp::wire::{DataPdu, PduRepr, TermReqStatus};

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
}

impl Connection {
    pub(super) fn misbehave(&mut self, fault: Fault, cid: u16, data: &[u8]) {
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
        }
    }
}
