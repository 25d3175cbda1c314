//! Builders for the 64-byte SQEs the initiator sends, and the Fabrics field offsets the
//! target decodes. All commands set PSDT to SGL; the queue that sends a command fills in
//! its command ID and SGL descriptor, since only it knows where the data will travel.

use crate::nvme_tcp::nvme::opcodes::{admin, cns, fctype, feature, io};
use crate::nvme_tcp::wire::sqe::FLAGS_PSDT_SGL;
use crate::nvme_tcp::wire::Sqe;

pub type SqeBytes = [u8; 64];

/// Byte offsets of Fabrics command fields within the SQE.
pub mod fabrics_field {
    pub const FCTYPE: usize = 4;
    pub const CONNECT_RECFMT: usize = 40;
    pub const CONNECT_QID: usize = 42;
    pub const CONNECT_SQSIZE: usize = 44;
    pub const CONNECT_KATO: usize = 48;
    pub const PROPERTY_ATTRIB: usize = 40;
    pub const PROPERTY_OFFSET: usize = 44;
    pub const PROPERTY_VALUE: usize = 48;
}

/// Length of the Connect command's in-capsule data.
pub const CONNECT_DATA_LEN: usize = 1024;
/// Identify data is always one 4 KiB structure.
pub const IDENTIFY_DATA_LEN: usize = 4096;

fn base(opcode: u8, nsid: u32) -> SqeBytes {
    let mut b = [0u8; 64];
    let mut sqe = Sqe::new_unchecked(&mut b[..]);
    sqe.set_opcode(opcode);
    sqe.set_flags(FLAGS_PSDT_SGL);
    sqe.set_nsid(nsid);
    b
}

fn fabrics(fc: u8) -> SqeBytes {
    let mut b = base(admin::FABRICS, 0);
    b[fabrics_field::FCTYPE] = fc;
    b
}

/// Fabrics Connect; the 1024-byte Connect data goes in the capsule. `sqsize` is 0's based.
pub fn connect(qid: u16, sqsize: u16, kato_ms: u32) -> SqeBytes {
    let mut b = fabrics(fctype::CONNECT);
    let mut sqe = Sqe::new_unchecked(&mut b[..]);
    sqe.set_u16_at(fabrics_field::CONNECT_RECFMT, 0);
    sqe.set_u16_at(fabrics_field::CONNECT_QID, qid);
    sqe.set_u16_at(fabrics_field::CONNECT_SQSIZE, sqsize);
    sqe.set_u32_at(fabrics_field::CONNECT_KATO, kato_ms);
    b
}

/// Property Get of a 4- or 8-byte property.
pub fn property_get(offset: u32, eight_bytes: bool) -> SqeBytes {
    let mut b = fabrics(fctype::PROPERTY_GET);
    let mut sqe = Sqe::new_unchecked(&mut b[..]);
    sqe.set_byte(fabrics_field::PROPERTY_ATTRIB, eight_bytes as u8);
    sqe.set_u32_at(fabrics_field::PROPERTY_OFFSET, offset);
    b
}

/// Property Set of a 4-byte property.
pub fn property_set(offset: u32, value: u32) -> SqeBytes {
    let mut b = fabrics(fctype::PROPERTY_SET);
    let mut sqe = Sqe::new_unchecked(&mut b[..]);
    sqe.set_u32_at(fabrics_field::PROPERTY_OFFSET, offset);
    sqe.set_u64_at(fabrics_field::PROPERTY_VALUE, value as u64);
    b
}

pub fn identify_controller() -> SqeBytes {
    identify(cns::CONTROLLER, 0)
}

pub fn identify_namespace(nsid: u32) -> SqeBytes {
    identify(cns::NAMESPACE, nsid)
}

/// Active namespace IDs greater than `after`, in a 4 KiB list.
pub fn identify_active_namespaces(after: u32) -> SqeBytes {
    identify(cns::ACTIVE_NAMESPACE_LIST, after)
}

fn identify(cns_value: u8, nsid: u32) -> SqeBytes {
    let mut b = base(admin::IDENTIFY, nsid);
    Sqe::new_unchecked(&mut b[..]).set_cdw(10, cns_value as u32);
    b
}

/// Set Features, Number of Queues: requests `count` I/O submission and completion queues.
pub fn set_number_of_queues(count: u16) -> SqeBytes {
    let mut b = base(admin::SET_FEATURES, 0);
    let mut sqe = Sqe::new_unchecked(&mut b[..]);
    sqe.set_cdw(10, feature::NUMBER_OF_QUEUES as u32);
    let zero_based = count.saturating_sub(1) as u32;
    sqe.set_cdw(11, zero_based << 16 | zero_based);
    b
}

pub fn keep_alive() -> SqeBytes {
    base(admin::KEEP_ALIVE, 0)
}

/// Read or Write of `blocks` (1-based count) starting at `slba`.
pub fn read_write(write: bool, nsid: u32, slba: u64, blocks: u32) -> SqeBytes {
    let opcode = if write { io::WRITE } else { io::READ };
    let mut b = base(opcode, nsid);
    let mut sqe = Sqe::new_unchecked(&mut b[..]);
    sqe.set_cdw(10, slba as u32);
    sqe.set_cdw(11, (slba >> 32) as u32);
    sqe.set_cdw(12, blocks - 1);
    b
}
