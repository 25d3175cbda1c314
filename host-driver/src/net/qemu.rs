//! QEMU's socket network backend as an Ethernet port: a TCP connection carrying raw
//! Ethernet frames (no FCS), each preceded by its length as a 4-byte big-endian number.
//! That is what `-netdev socket,listen=...|connect=...` and `-netdev stream` speak, so a
//! VM's NIC can be cabled to the simulated wire. QEMU's end is a real-time peer: run the
//! world with `World::set_realtime(true)`.

use super::port::{EthernetPort, Frame};
use super::time::SimTime;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Largest frame accepted from the socket (a jumbo frame plus headroom).
pub const MAX_FRAME: usize = 65536;

/// Appends one record (length prefix + frame) to `out`.
pub fn encode_frame(frame: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(frame.len() as u32).to_be_bytes());
    out.extend_from_slice(frame);
}

/// Takes one whole record off the front of `buf`, if there is one.
pub fn decode_frame(buf: &mut Vec<u8>) -> io::Result<Option<Frame>> {
    let Some(len) = buf.get(..4).map(|b| u32::from_be_bytes(b.try_into().unwrap()) as usize) else {
        return Ok(None);
    };
    if len > MAX_FRAME {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame length {len} from the socket backend")));
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    let frame = buf[4..4 + len].to_vec();
    buf.drain(..4 + len);
    Ok(Some(frame))
}

pub struct QemuSocketPort {
    stream: TcpStream,
    rx: Vec<u8>,
    pub frames_in: u64,
    pub frames_out: u64,
    /// The first socket error or the peer's close; the port is dead after it.
    pub error: Option<io::Error>,
}

impl QemuSocketPort {
    /// Connects to QEMU listening (`-netdev socket,listen=:5555` or `-netdev stream,server=on`).
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Self::from_stream(TcpStream::connect(addr)?)
    }

    /// Waits for QEMU to connect (`-netdev socket,connect=...` or `-netdev stream,server=off`).
    pub fn accept(listener: &TcpListener) -> io::Result<Self> {
        Self::from_stream(listener.accept()?.0)
    }

    pub fn from_stream(stream: TcpStream) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        Ok(Self { stream, rx: Vec::new(), frames_in: 0, frames_out: 0, error: None })
    }

    fn fill(&mut self) {
        let mut buf = [0u8; 65536];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.error.get_or_insert_with(|| io::ErrorKind::UnexpectedEof.into());
                    return;
                }
                Ok(n) => self.rx.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error.get_or_insert(e);
                    return;
                }
            }
        }
        quickack(&self.stream);
    }
}

/// QEMU keeps Nagle on at its end: ACK at once so it never waits for a delayed ACK
/// (TCP_QUICKACK does not stay set, so this runs after every receive).
fn quickack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let one: libc::c_int = 1;
        // SAFETY: setsockopt reads one c_int from a valid pointer.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                &one as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

impl EthernetPort for QemuSocketPort {
    fn send(&mut self, _now: SimTime, frame: Frame) {
        if self.error.is_some() {
            return;
        }
        let mut record = Vec::with_capacity(frame.len() + 4);
        encode_frame(&frame, &mut record);
        let mut at = 0;
        while at < record.len() {
            match self.stream.write(&record[at..]) {
                Ok(0) => {
                    self.error = Some(io::ErrorKind::WriteZero.into());
                    return;
                }
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_micros(50)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
        self.frames_out += 1;
    }

    fn recv(&mut self, _now: SimTime) -> Option<Frame> {
        if self.error.is_none() {
            self.fill();
        }
        match decode_frame(&mut self.rx) {
            Ok(Some(f)) => {
                self.frames_in += 1;
                Some(f)
            }
            Ok(None) => None,
            Err(e) => {
                self.error.get_or_insert(e);
                self.rx.clear();
                None
            }
        }
    }
}
