//! CapsuleCmd (HLEN 72: common header + SQE, then optional in-capsule data) and
//! CapsuleResp (HLEN 24: common header + CQE).

use super::cqe::Cqe;
use super::field::byte_view;
use super::sqe::{Sqe, SQE_LEN};

const ENTRY_START: usize = 8;

byte_view!(
    /// CapsuleCmd PDU header.
    CapsuleCmd, 72
);
byte_view!(
    /// CapsuleResp PDU header.
    CapsuleResp, 24
);

impl<T: AsRef<[u8]>> CapsuleCmd<T> {
    pub fn sqe(&self) -> Sqe<&[u8]> {
        Sqe::new_unchecked(&self.buffer.as_ref()[ENTRY_START..Self::LEN])
    }
}

impl<'a> CapsuleCmd<&'a [u8]> {
    /// The SQE, borrowed for as long as the buffer.
    pub fn sqe_bytes(&self) -> &'a [u8; SQE_LEN] {
        let bytes: &'a [u8] = self.buffer;
        bytes[ENTRY_START..ENTRY_START + SQE_LEN].try_into().expect("CapsuleCmd holds a whole SQE")
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> CapsuleCmd<T> {
    pub fn sqe_mut(&mut self) -> Sqe<&mut [u8]> {
        Sqe::new_unchecked(&mut self.buffer.as_mut()[ENTRY_START..Self::LEN])
    }
}

impl<T: AsRef<[u8]>> CapsuleResp<T> {
    pub fn cqe(&self) -> Cqe<&[u8]> {
        Cqe::new_unchecked(&self.buffer.as_ref()[ENTRY_START..Self::LEN])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> CapsuleResp<T> {
    pub fn cqe_mut(&mut self) -> Cqe<&mut [u8]> {
        Cqe::new_unchecked(&mut self.buffer.as_mut()[ENTRY_START..Self::LEN])
    }
}
