//! Why a PDU was rejected. Each variant names the field and the values involved so a
//! malformed peer can be diagnosed from the error text alone.

use super::header::PduType;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated PDU: need {needed} bytes, have {available}")]
    Truncated { needed: usize, available: usize },
    #[error("unknown PDU type {0:#04x}")]
    UnknownType(u8),
    #[error("wrong header length {hlen} for {pdu_type} (expected {expected})")]
    WrongHeaderLength { pdu_type: PduType, hlen: u8, expected: u8 },
    #[error("{pdu_type}: PDU length {plen} does not match its header and data layout (expected {expected})")]
    PlenMismatch { pdu_type: PduType, plen: u32, expected: String },
    #[error("{pdu_type}: PDU data offset {pdo} outside the PDU (header ends at {header_end}, PDU length {plen})")]
    PdoOutOfRange { pdu_type: PduType, pdo: u8, header_end: usize, plen: u32 },
    #[error("{pdu_type}: PDU data offset must be 0, not {pdo}")]
    TermReqPdo { pdu_type: PduType, pdo: u8 },
    #[error("{pdu_type}: flags {flags:#04x} include bits the type does not define (or SUCCESS without LAST)")]
    InvalidFlags { pdu_type: PduType, flags: u8 },
    #[error("R2T asks for zero bytes")]
    EmptyR2t,
    #[error("{pdu_type} must carry data but has none")]
    MissingData { pdu_type: PduType },
    #[error("{pdu_type}: header digest flag is {present} but the connection negotiated {negotiated}")]
    HeaderDigestFlag { pdu_type: PduType, present: bool, negotiated: bool },
    #[error("{pdu_type}: data digest flag is {present} but {expected} was expected")]
    DataDigestFlag { pdu_type: PduType, present: bool, expected: bool },
    #[error("header digest mismatch: received {received:#010x}, computed {computed:#010x}")]
    HeaderDigest { received: u32, computed: u32 },
    #[error("data digest mismatch: received {received:#010x}, computed {computed:#010x}")]
    DataDigest { received: u32, computed: u32 },
    #[error("{pdu_type}: data length field {field} disagrees with the {actual} data bytes in the PDU")]
    DataLengthMismatch { pdu_type: PduType, field: u32, actual: usize },
    #[error("{pdu_type}: data offset {offset} + length {length} overflows")]
    DataRangeOverflow { pdu_type: PduType, offset: u32, length: u32 },
}
