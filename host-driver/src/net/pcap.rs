//! The pcap tap (nanosecond pcap, LINKTYPE_ETHERNET, timestamps from simulated time) and
//! a pcap file as a frame source (`PcapReplay`).

use super::port::{EthernetPort, Frame};
use super::time::SimTime;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::{DataLink, TsResolution};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

/// Simulated time 0 is this wall-clock instant in the capture (2026-01-01T00:00:00Z), so
/// the file does not depend on when it was made.
pub const CAPTURE_EPOCH: Duration = Duration::from_secs(1_767_225_600);

fn pcap_err(e: pcap_file::PcapError) -> io::Error {
    io::Error::other(e.to_string())
}

pub struct PcapTap {
    writer: PcapWriter<Box<dyn Write + Send>>,
    pub frames: u64,
}

impl PcapTap {
    pub fn create(path: &Path) -> io::Result<Self> {
        let file = std::fs::File::create(path)?;
        Self::new(Box::new(io::BufWriter::new(file)))
    }

    pub fn new(out: Box<dyn Write + Send>) -> io::Result<Self> {
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::NanoSecond,
            snaplen: 65535,
            ..PcapHeader::default()
        };
        Ok(Self { writer: PcapWriter::with_header(out, header).map_err(pcap_err)?, frames: 0 })
    }

    pub fn write(&mut self, at: SimTime, frame: &[u8]) -> io::Result<()> {
        let ts = CAPTURE_EPOCH + Duration::from_nanos(at.nanos());
        self.writer.write_packet(&PcapPacket::new(ts, frame.len() as u32, frame)).map_err(pcap_err)?;
        self.frames += 1;
        Ok(())
    }

    /// Flushes and closes the file (dropping the tap also flushes, ignoring errors).
    pub fn finish(self) -> io::Result<()> {
        self.writer.into_writer().flush()
    }
}

/// Reads every frame of a pcap file with its timestamp (relative to the first frame).
pub fn read_frames(path: &Path) -> io::Result<Vec<(Duration, Frame)>> {
    let mut reader = PcapReader::new(std::fs::File::open(path)?).map_err(pcap_err)?;
    let mut out = Vec::new();
    let mut first = None;
    while let Some(p) = reader.next_packet() {
        let p = p.map_err(pcap_err)?;
        let t0 = *first.get_or_insert(p.timestamp);
        out.push((p.timestamp.saturating_sub(t0), p.data.into_owned()));
    }
    Ok(out)
}

/// A peer that plays a capture: each frame comes out of `recv` at its capture time
/// (relative to the first frame, from `start`); frames sent to it are counted and dropped.
pub struct PcapReplay {
    frames: VecDeque<(SimTime, Frame)>,
    pub received: u64,
}

impl PcapReplay {
    pub fn new(frames: Vec<(Duration, Frame)>, start: SimTime) -> Self {
        Self { frames: frames.into_iter().map(|(t, f)| (start + t, f)).collect(), received: 0 }
    }

    pub fn open(path: &Path, start: SimTime) -> io::Result<Self> {
        Ok(Self::new(read_frames(path)?, start))
    }

    pub fn remaining(&self) -> usize {
        self.frames.len()
    }
}

impl EthernetPort for PcapReplay {
    fn send(&mut self, _now: SimTime, _frame: Frame) {
        self.received += 1;
    }
    fn recv(&mut self, now: SimTime) -> Option<Frame> {
        if self.frames.front()?.0 <= now {
            self.frames.pop_front().map(|(_, f)| f)
        } else {
            None
        }
    }
    fn poll_at(&mut self, _now: SimTime) -> Option<SimTime> {
        self.frames.front().map(|(t, _)| *t)
    }
}
