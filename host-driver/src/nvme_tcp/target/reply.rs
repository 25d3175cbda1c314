//! Everything a target connection sends, built on the reading thread and written by a
//! dedicated writer thread, so a host that is busy sending can never deadlock against a
//! target that is busy sending.

use crate::nvme_tcp::status::Status;
use crate::nvme_tcp::transport::{ByteStream, PduWriter};
use crate::nvme_tcp::wire::term::MAX_TERM_REQ_LEN;
use crate::nvme_tcp::wire::{CqeRepr, DigestConfig, Emission, OutgoingHeader, PduRepr, TermReq};
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::ops::Range;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

enum Frame {
    Pdu { header: Box<OutgoingHeader>, data: Arc<Vec<u8>>, range: Range<usize> },
    /// Bytes sent as they are (deliberately malformed PDUs, see `fault`).
    Raw(Vec<u8>),
    /// Close the connection after what is queued before it.
    Close,
}

/// Where frames go: a writer thread, or (single-threaded simulation) written at once.
enum Sink {
    Thread(mpsc::Sender<Frame>),
    Inline { out: PduWriter<Box<dyn ByteStream>>, raw: Box<dyn ByteStream>, closed: bool },
}

impl Sink {
    fn send(&mut self, frame: Frame) {
        match self {
            Sink::Thread(tx) => {
                let _ = tx.send(frame);
            }
            Sink::Inline { out, raw, closed } => {
                if *closed {
                    return;
                }
                let sent = match frame {
                    Frame::Pdu { mut header, data, range } => out.send(&mut header, &data[range]).is_ok(),
                    Frame::Raw(bytes) => raw.write_all(&bytes).is_ok(),
                    Frame::Close => false,
                };
                if !sent {
                    *closed = true;
                    raw.shutdown_stream();
                }
            }
        }
    }
}

pub struct Replier {
    frames: Sink,
    writer: Option<JoinHandle<()>>,
    /// Digests, and the alignment the host asked for (HPDA), for everything after ICResp.
    emission: Emission,
    pub sq_id: u16,
    pub sq_head: u16,
    pub queue_size: u16,
}

impl Replier {
    pub fn new(stream: TcpStream) -> Self {
        let (frames, queued) = mpsc::channel::<Frame>();
        let writer = std::thread::Builder::new()
            .name("nvmet-writer".into())
            .spawn(move || {
                let Ok(mut raw) = stream.try_clone() else { return };
                let mut out = PduWriter::new(&stream);
                for frame in queued {
                    let sent = match frame {
                        Frame::Pdu { mut header, data, range } => out.send(&mut header, &data[range]).is_ok(),
                        Frame::Raw(bytes) => raw.write_all(&bytes).is_ok(),
                        Frame::Close => false,
                    };
                    if !sent {
                        break;
                    }
                }
                let _ = stream.shutdown(Shutdown::Both);
            })
            .expect("spawning the target writer");
        Self {
            frames: Sink::Thread(frames),
            writer: Some(writer),
            emission: Emission::INITIAL,
            sq_id: 0,
            sq_head: 0,
            queue_size: 1,
        }
    }

    /// A replier that writes each frame to `stream` when it is queued (no thread).
    pub fn inline(stream: Box<dyn ByteStream>) -> std::io::Result<Self> {
        let raw = stream.try_clone_stream()?;
        Ok(Self {
            frames: Sink::Inline { out: PduWriter::new(stream).without_socket_timing(), raw, closed: false },
            writer: None,
            emission: Emission::INITIAL,
            sq_id: 0,
            sq_head: 0,
            queue_size: 1,
        })
    }

    fn queue(&mut self, header: OutgoingHeader, data: Arc<Vec<u8>>, range: Range<usize>) {
        // A send error means the writer stopped after a socket error; the reader notices too.
        self.frames.send(Frame::Pdu { header: Box::new(header), data, range });
    }

    /// Sends `bytes` unchanged, whatever they are.
    pub fn raw(&mut self, bytes: Vec<u8>) {
        self.frames.send(Frame::Raw(bytes));
    }

    /// Closes the connection once everything queued so far is sent.
    pub fn close(&mut self) {
        self.frames.send(Frame::Close);
    }

    /// How PDUs are laid out on this connection.
    pub fn emission(&self) -> Emission {
        self.emission
    }

    fn no_data() -> Arc<Vec<u8>> {
        Arc::new(Vec::new())
    }

    /// Queues a PDU whose data (if any) is `data[range]`.
    fn queue_repr(&mut self, pdu: &PduRepr<'_>, emission: Emission, data: Arc<Vec<u8>>, range: Range<usize>) {
        self.queue(pdu.outgoing_header(emission), data, range);
    }

    /// ICResp, after which the negotiated digests apply to everything sent.
    pub fn ic_resp(&mut self, digests: DigestConfig, hpda: u8, cpda: u8, maxh2cdata: u32) {
        let resp = PduRepr::IcResp { pfv: 0, cpda, digests, maxh2cdata };
        self.queue_repr(&resp, Emission::INITIAL, Self::no_data(), 0..0);
        self.emission = Emission { digests, data_alignment: (hpda as usize + 1) * 4 };
    }

    pub fn capsule_resp(&mut self, cid: u16, status: Status, result: u64) {
        let cqe = CqeRepr {
            result,
            sq_head: self.sq_head,
            sq_id: self.sq_id,
            command_id: cid,
            status_word: status.to_word(),
        };
        self.queue_repr(&PduRepr::CapsuleResp { cqe }, self.emission, Self::no_data(), 0..0);
    }

    /// Sends read data in PDUs of at most `max_pdu` bytes; with `success` the last PDU
    /// carries the SUCCESS flag and no CapsuleResp follows.
    pub fn c2h_data(&mut self, cid: u16, data: Vec<u8>, max_pdu: Option<usize>, success: bool) {
        let total = data.len();
        let step = max_pdu.unwrap_or(total).max(1);
        let data = Arc::new(data);
        let mut at = 0;
        while at < total {
            let n = step.min(total - at);
            let last = at + n == total;
            let pdu = PduRepr::C2HData {
                command_id: cid,
                data_offset: at as u32,
                last,
                success: last && success,
                data: &data[at..at + n],
            };
            self.queue_repr(&pdu, self.emission, data.clone(), at..at + n);
            at += n;
        }
        if !success {
            self.capsule_resp(cid, Status::SUCCESS, 0);
        }
    }

    pub fn r2t(&mut self, cid: u16, ttag: u16, offset: u32, len: u32) {
        let pdu = PduRepr::R2T { command_id: cid, ttag, r2t_offset: offset, r2t_length: len };
        self.queue_repr(&pdu, self.emission, Self::no_data(), 0..0);
    }

    /// C2HTermReq carrying (up to 128 bytes of) the offending header.
    pub fn term_req(&mut self, fes: u16, fei: u32, offending: &[u8]) {
        let copied = Arc::new(offending[..offending.len().min(MAX_TERM_REQ_LEN - TermReq::<&[u8]>::LEN)].to_vec());
        let n = copied.len();
        let pdu = PduRepr::C2HTermReq { fes, fei, error_data: &copied[..] };
        self.queue_repr(&pdu, Emission::INITIAL, copied.clone(), 0..n);
    }
}

impl Drop for Replier {
    /// Lets the writer flush what is queued, then closes the socket.
    fn drop(&mut self) {
        let (done, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.frames, Sink::Thread(done)));
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}
