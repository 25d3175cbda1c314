//! `Pdu<T>`: a zero-copy view of one whole PDU at the start of a buffer, validated as a
//! unit (framing, flags, per-type length fields, header and data digests). The typed
//! header views (`IcReq`, `DataPdu`, ...) read its fields; `PduRepr` turns it into values.

use super::digest::{digest, DIGEST_LEN};
use super::error::WireError;
use super::framing::{check_data_digest, DigestConfig, Framing};
use super::header::PduType;
use std::ops::Range;

#[derive(Debug, Clone)]
pub struct Pdu<T: AsRef<[u8]>> {
    buffer: T,
    framing: Framing,
}

impl<T: AsRef<[u8]>> Pdu<T> {
    /// Validates the PDU at the start of `buffer` under the connection's negotiated
    /// digests. Bytes after the PDU (`plen`) are left alone: they belong to the next one.
    pub fn new_checked(buffer: T, digests: DigestConfig) -> Result<Self, WireError> {
        let bytes = buffer.as_ref();
        let framing = Framing::from_common_header(bytes, digests)?;
        if bytes.len() < framing.plen {
            return Err(WireError::Truncated { needed: framing.plen, available: bytes.len() });
        }
        framing.check_header_digest(bytes)?;
        framing.check_fields(&bytes[..framing.hlen])?;
        if framing.ddgst {
            let data = &bytes[framing.data_start()..framing.data_start() + framing.data_len()];
            let trailer = &bytes[framing.plen - DIGEST_LEN..framing.plen];
            check_data_digest(digest(data), trailer.try_into().expect("4-byte trailer"))?;
        }
        Ok(Self { buffer, framing })
    }

    pub fn framing(&self) -> &Framing {
        &self.framing
    }

    pub fn pdu_type(&self) -> PduType {
        self.framing.pdu_type
    }

    /// The `hlen` header bytes (common header and type-specific fields).
    pub fn header(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.framing.hlen]
    }

    /// The data (in-capsule data, transfer data, or a term request's offending header).
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[self.data_range()]
    }

    fn data_range(&self) -> Range<usize> {
        let start = self.framing.data_start();
        start..start + self.framing.data_len()
    }

    /// The whole PDU, `plen` bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.framing.plen]
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<'a> Pdu<&'a [u8]> {
    /// `header` and `data`, borrowed for as long as the buffer rather than the view.
    pub fn header_and_data(&self) -> (&'a [u8], &'a [u8]) {
        let bytes: &'a [u8] = self.buffer;
        (&bytes[..self.framing.hlen], &bytes[self.data_range()])
    }
}
