//! The send path: writes one PDU (header region, data, data digest) to a byte stream with as
//! few system calls as possible, since TCP_NODELAY turns every write into a segment.

use super::error::TransportError;
use super::stats::{timed, timed_cpu_if, CpuBreakdown};
use crate::nvme_tcp::wire::digest::digest;
use crate::nvme_tcp::wire::{Emission, OutgoingHeader, PduRepr};
use std::io::{IoSlice, Write};

/// Below this size the data is copied next to the header and sent in one write.
const COALESCE_LIMIT: usize = 16 * 1024;

pub struct PduWriter<W: Write + Send> {
    stream: W,
    cpu: CpuBreakdown,
    /// Measure the CPU time of each stream write (`CpuBreakdown::socket_send_ns`).
    socket_timing: bool,
}

impl<W: Write + Send> PduWriter<W> {
    pub fn new(stream: W) -> Self {
        Self { stream, cpu: CpuBreakdown::default(), socket_timing: true }
    }

    /// Stops measuring the CPU time of stream writes (for streams that are not system calls).
    pub fn without_socket_timing(mut self) -> Self {
        self.socket_timing = false;
        self
    }

    pub fn send_repr(&mut self, pdu: &PduRepr<'_>, emission: Emission) -> Result<(), TransportError> {
        self.send(&mut pdu.outgoing_header(emission), pdu.data())
    }

    /// Sends a prepared header region followed by `data` (and its digest when negotiated).
    pub fn send(&mut self, header: &mut OutgoingHeader, data: &[u8]) -> Result<(), TransportError> {
        assert_eq!(data.len(), header.data_len(), "data length differs from the header's");
        let ddgst = if header.data_digest() {
            Some(timed(&mut self.cpu.crc_ns, || digest(data)).to_le_bytes())
        } else {
            None
        };
        let region = header.finish();
        let stream = &mut self.stream;
        if data.len() <= COALESCE_LIMIT {
            let mut one = Vec::with_capacity(region.len() + data.len() + 4);
            one.extend_from_slice(region);
            one.extend_from_slice(data);
            one.extend_from_slice(ddgst.as_ref().map_or(&[][..], |d| &d[..]));
            timed_cpu_if(self.socket_timing, &mut self.cpu.socket_send_ns, || stream.write_all(&one))?;
        } else {
            let trailer = ddgst.as_ref().map_or(&[][..], |d| &d[..]);
            let mut slices = [IoSlice::new(region), IoSlice::new(data), IoSlice::new(trailer)];
            timed_cpu_if(self.socket_timing, &mut self.cpu.socket_send_ns, || write_all_vectored(stream, &mut slices))?;
        }
        Ok(())
    }

    pub fn cpu_breakdown(&self) -> CpuBreakdown {
        self.cpu
    }
}

fn write_all_vectored(w: &mut impl Write, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match w.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
