//! The receive path: PDU headers, then each PDU's data delivered into the buffer of the
//! command it belongs to.
//!
//! `RxPath` is the seam for the NIC offload: the software path (`SoftwareRx`) stages bytes
//! from the socket, copies data into the destination and computes CRC32C; a NIC backend that
//! already placed a PDU's data into the registered buffer and verified its digest returns a
//! `DataReceipt` saying so and touches neither the bytes nor the CRC.

use super::error::TransportError;
use super::stats::{timed, timed_cpu_if, CpuBreakdown};
use crate::nvme_tcp::wire::digest::{digest_append, DIGEST_LEN};
use crate::nvme_tcp::wire::framing::check_data_digest;
use crate::nvme_tcp::wire::header::COMMON_HEADER_LEN;
use crate::nvme_tcp::wire::{DigestConfig, Framing};
use std::io::Read;

/// A received, validated PDU header region (header, digest, padding).
#[derive(Clone)]
pub struct RxHeader {
    pub framing: Framing,
    bytes: [u8; 256],
}

impl RxHeader {
    /// The `hlen` header bytes, for the wire views.
    pub fn header(&self) -> &[u8] {
        &self.bytes[..self.framing.hlen]
    }
}

/// Who put the data into the destination buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    CopiedBySoftware,
    PlacedByNic,
}

/// How the data digest was checked (a failed check is an error, not a verdict).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestVerdict {
    NotNegotiated,
    VerifiedBySoftware,
    VerifiedByNic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataReceipt {
    pub placement: Placement,
    pub digest: DigestVerdict,
}

pub trait RxPath: Send {
    /// Digests apply to every PDU after the ICReq/ICResp exchange.
    fn set_digests(&mut self, digests: DigestConfig);
    /// Receives and validates the next PDU's header region (framing, header digest, fields).
    fn recv_header(&mut self) -> Result<RxHeader, TransportError>;
    /// Delivers the data of the PDU whose header was just received into `dest`
    /// (`dest.len()` equals `header.framing.data_len()`) and checks its digest.
    fn recv_data(&mut self, header: &RxHeader, dest: &mut [u8]) -> Result<DataReceipt, TransportError>;
    /// CPU time spent so far, by cause.
    fn cpu_breakdown(&self) -> CpuBreakdown;
    /// Bytes consumed from the stream so far (the next PDU starts here).
    fn stream_position(&self) -> u64 {
        0
    }
    /// As `recv_data` for a PDU whose data the NIC may have placed in `dest` already:
    /// `placed(range)` gives the parts of those bytes of `dest` it placed (asked once they
    /// have arrived; sorted, inside `range`), which are then not copied; `nic_crc_ok(pdu)` (asked after the digest arrived, with the
    /// PDU's stream positions) whether the NIC verified the digest, else it is computed here.
    fn recv_data_offloaded(
        &mut self,
        header: &RxHeader,
        dest: &mut [u8],
        _placed: &mut dyn FnMut(std::ops::Range<usize>) -> Vec<std::ops::Range<usize>>,
        _nic_crc_ok: &mut dyn FnMut(std::ops::Range<u64>) -> bool,
    ) -> Result<DataReceipt, TransportError> {
        self.recv_data(header, dest)
    }
}

/// Staging buffer size: large enough that big reads need few system calls.
const STAGING_LEN: usize = 256 * 1024;

/// The software receive path over any byte stream (a `TcpStream` in practice).
pub struct SoftwareRx<R: Read + Send> {
    stream: R,
    staging: Box<[u8]>,
    start: usize,
    end: usize,
    digests: DigestConfig,
    cpu: CpuBreakdown,
    /// Measure the CPU time of each stream read (`CpuBreakdown::socket_recv_ns`).
    socket_timing: bool,
    /// Bytes consumed so far.
    position: u64,
}

impl<R: Read + Send> SoftwareRx<R> {
    pub fn new(stream: R) -> Self {
        Self {
            stream,
            staging: vec![0u8; STAGING_LEN].into_boxed_slice(),
            start: 0,
            end: 0,
            digests: DigestConfig::default(),
            cpu: CpuBreakdown::default(),
            socket_timing: true,
            position: 0,
        }
    }

    /// Stops measuring the CPU time of stream reads (for streams that are not system calls).
    pub fn without_socket_timing(mut self) -> Self {
        self.socket_timing = false;
        self
    }

    /// Bytes received from the stream but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Reads until at least `n` bytes (n <= STAGING_LEN) are buffered; `pdu_progress` and
    /// `pdu_len` describe the PDU being read, for the error when the peer closes.
    fn fill_to(&mut self, n: usize, pdu_progress: usize, pdu_len: usize) -> Result<(), TransportError> {
        if self.buffered() >= n {
            return Ok(());
        }
        if self.start + n > self.staging.len() {
            self.staging.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.buffered() < n {
            let (stream, staging, end) = (&mut self.stream, &mut self.staging, self.end);
            let got = timed_cpu_if(self.socket_timing, &mut self.cpu.socket_recv_ns, || stream.read(&mut staging[end..]))?;
            if got == 0 {
                let received = pdu_progress + self.buffered();
                return Err(if received == 0 {
                    TransportError::Closed
                } else {
                    TransportError::ClosedMidPdu { received, expected: pdu_len.max(received + 1) }
                });
            }
            self.end += got;
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let s = self.start;
        self.start += n;
        self.position += n as u64;
        &self.staging[s..s + n]
    }
}

impl<R: Read + Send> RxPath for SoftwareRx<R> {
    fn set_digests(&mut self, digests: DigestConfig) {
        self.digests = digests;
    }

    fn recv_header(&mut self) -> Result<RxHeader, TransportError> {
        self.fill_to(COMMON_HEADER_LEN, 0, 0)?;
        let framing = Framing::from_common_header(&self.staging[self.start..self.end], self.digests)?;
        let region = framing.data_start();
        self.fill_to(region, 0, framing.plen)?;
        let mut header = RxHeader { framing, bytes: [0; 256] };
        header.bytes[..region].copy_from_slice(self.take(region));
        framing.check_header_digest(&header.bytes)?;
        framing.check_fields(header.header())?;
        Ok(header)
    }

    fn recv_data(&mut self, header: &RxHeader, dest: &mut [u8]) -> Result<DataReceipt, TransportError> {
        let framing = &header.framing;
        assert_eq!(dest.len(), framing.data_len(), "destination must match the PDU's data length");
        let mut crc = 0u32;
        let mut done = 0;
        while done < dest.len() {
            let want = (dest.len() - done).min(STAGING_LEN);
            self.fill_to(1, framing.data_start() + done, framing.plen)?;
            let n = want.min(self.buffered());
            let (s, piece) = (self.start, &mut dest[done..done + n]);
            timed(&mut self.cpu.copy_ns, || piece.copy_from_slice(&self.staging[s..s + n]));
            self.start += n;
            self.position += n as u64;
            if framing.ddgst {
                crc = timed(&mut self.cpu.crc_ns, || digest_append(crc, piece));
            }
            done += n;
        }
        self.cpu.data_bytes += dest.len() as u64;
        if !framing.ddgst {
            return Ok(DataReceipt { placement: Placement::CopiedBySoftware, digest: DigestVerdict::NotNegotiated });
        }
        self.fill_to(DIGEST_LEN, framing.plen - DIGEST_LEN, framing.plen)?;
        let received: [u8; 4] = self.take(DIGEST_LEN).try_into().unwrap();
        self.cpu.digest_pdus += 1;
        check_data_digest(crc, received)?;
        Ok(DataReceipt { placement: Placement::CopiedBySoftware, digest: DigestVerdict::VerifiedBySoftware })
    }

    fn cpu_breakdown(&self) -> CpuBreakdown {
        self.cpu
    }

    fn stream_position(&self) -> u64 {
        self.position
    }

    fn recv_data_offloaded(
        &mut self,
        header: &RxHeader,
        dest: &mut [u8],
        placed: &mut dyn FnMut(std::ops::Range<usize>) -> Vec<std::ops::Range<usize>>,
        nic_crc_ok: &mut dyn FnMut(std::ops::Range<u64>) -> bool,
    ) -> Result<DataReceipt, TransportError> {
        let framing = &header.framing;
        assert_eq!(dest.len(), framing.data_len(), "destination must match the PDU's data length");
        let mut done = 0;
        let mut all_placed = true;
        while done < dest.len() {
            let want = (dest.len() - done).min(STAGING_LEN);
            self.fill_to(1, framing.data_start() + done, framing.plen)?;
            let n = want.min(self.buffered());
            // The bytes are here, so the packets that carried them have been seen. Copy only
            // the gaps between the placed parts.
            let end = done + n;
            let mut at = done;
            for part in placed(done..end).into_iter().chain(std::iter::once(end..end)) {
                if part.start > at {
                    all_placed = false;
                    let (s, piece) = (self.start + (at - done), &mut dest[at..part.start]);
                    timed(&mut self.cpu.copy_ns, || piece.copy_from_slice(&self.staging[s..s + piece.len()]));
                }
                self.cpu.placed_bytes += part.len() as u64;
                at = part.end;
            }
            self.start += n;
            self.position += n as u64;
            done += n;
        }
        self.cpu.data_bytes += dest.len() as u64;
        let placement = if all_placed { Placement::PlacedByNic } else { Placement::CopiedBySoftware };
        if !framing.ddgst {
            return Ok(DataReceipt { placement, digest: DigestVerdict::NotNegotiated });
        }
        self.fill_to(DIGEST_LEN, framing.plen - DIGEST_LEN, framing.plen)?;
        let received: [u8; 4] = self.take(DIGEST_LEN).try_into().unwrap();
        let pdu = self.position - framing.plen as u64..self.position;
        self.cpu.digest_pdus += 1;
        if all_placed && nic_crc_ok(pdu) {
            self.cpu.nic_verified_pdus += 1;
            self.cpu.nic_verified_bytes += dest.len() as u64;
            return Ok(DataReceipt { placement, digest: DigestVerdict::VerifiedByNic });
        }
        let crc = timed(&mut self.cpu.crc_ns, || digest_append(0, dest));
        check_data_digest(crc, received)?;
        Ok(DataReceipt { placement, digest: DigestVerdict::VerifiedBySoftware })
    }
}
