//! The default peer: the embedded NVMe/TCP target on its own smoltcp stack. It listens on
//! one TCP port and serves every connection with a `target::Session`, fed one whole PDU
//! at a time, all on the caller's thread.

use super::port::{EthernetPort, Frame, QueuePort};
use super::stack::{Stack, StackConfig};
use super::time::SimTime;
use crate::nvme_tcp::target::{EmbeddedTarget, Session, TargetConfig};
use crate::nvme_tcp::transport::ByteStream;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Bytes between a session and its socket.
#[derive(Default)]
struct Pipe {
    inbox: VecDeque<u8>,
    outbox: VecDeque<u8>,
    shut: bool,
}

/// The session's view of its connection: reads take what the peer put in the inbox
/// (never blocking), writes queue in the outbox.
#[derive(Clone)]
struct PipeStream(Arc<Mutex<Pipe>>);

impl Read for PipeStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut p = self.0.lock().unwrap();
        if p.inbox.is_empty() {
            return if p.shut { Ok(0) } else { Err(io::ErrorKind::WouldBlock.into()) };
        }
        p.inbox.read(buf)
    }
}

impl Write for PipeStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut p = self.0.lock().unwrap();
        if p.shut {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        p.outbox.extend(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ByteStream for PipeStream {
    fn try_clone_stream(&self) -> io::Result<Box<dyn ByteStream>> {
        Ok(Box::new(self.clone()))
    }
    fn shutdown_stream(&self) {
        self.0.lock().unwrap().shut = true;
    }
    fn set_read_timeout_stream(&self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn peer_name(&self) -> String {
        "simulated host".into()
    }
}

struct PeerConn {
    socket: SocketHandle,
    pipe: Arc<Mutex<Pipe>>,
    session: Session,
    /// Bytes received that do not make a whole PDU yet.
    pending: Vec<u8>,
    done: bool,
}

/// Smallest top-up of a socket's transmit buffer (see `pump`).
const SEND_CHUNK: usize = 64 * 1024;

/// Length of the PDU at the start of `bytes`, once its common header is there.
fn pdu_len(bytes: &[u8]) -> Option<usize> {
    let plen = u32::from_le_bytes(bytes.get(4..8)?.try_into().unwrap()) as usize;
    // A nonsense length: hand everything over and let the session reject it.
    Some(if plen < 8 { bytes.len() } else { plen })
}

pub struct TargetPeer {
    stack: Stack,
    port: QueuePort,
    target: EmbeddedTarget,
    listen_port: u16,
    listener: SocketHandle,
    conns: Vec<PeerConn>,
    pub connections: u64,
}

impl TargetPeer {
    pub fn new(stack: StackConfig, target: TargetConfig, listen_port: u16, now: SimTime) -> Self {
        let mut stack = Stack::new(stack, now);
        let listener = Self::listen(&mut stack, listen_port);
        Self { stack, port: QueuePort::default(), target: EmbeddedTarget::new(target), listen_port, listener, conns: Vec::new(), connections: 0 }
    }

    fn listen(stack: &mut Stack, port: u16) -> SocketHandle {
        let mut s = stack.tcp_socket();
        s.listen(port).expect("listening on a fresh socket");
        stack.sockets.add(s)
    }

    /// Runs the stack and the sessions until nothing moves at `now`.
    fn service(&mut self, now: SimTime) {
        loop {
            self.stack.poll(now, &mut self.port);
            if !self.pump() {
                break;
            }
        }
    }

    /// Accepts, moves bytes between sockets and sessions; true if anything moved.
    fn pump(&mut self) -> bool {
        let mut moved = false;
        let state = self.stack.sockets.get::<tcp::Socket>(self.listener).state();
        if state != tcp::State::Listen {
            // The listener got a connection: it becomes that connection's socket.
            let socket = self.listener;
            self.listener = Self::listen(&mut self.stack, self.listen_port);
            let pipe = Arc::new(Mutex::new(Pipe::default()));
            match self.target.session(Box::new(PipeStream(pipe.clone()))) {
                Ok(session) => {
                    self.conns.push(PeerConn { socket, pipe, session, pending: Vec::new(), done: false });
                    self.connections += 1;
                }
                Err(_) => self.stack.sockets.get_mut::<tcp::Socket>(socket).abort(),
            }
            moved = true;
        }
        for c in &mut self.conns {
            if c.done {
                continue;
            }
            let s = self.stack.sockets.get_mut::<tcp::Socket>(c.socket);
            // Host -> session, whole PDUs only.
            while s.can_recv() {
                let got = s.recv(|b| (b.len(), b.to_vec())).unwrap_or_default();
                if got.is_empty() {
                    break;
                }
                c.pending.extend_from_slice(&got);
                moved = true;
            }
            let mut fed = 0;
            while let Some(n) = pdu_len(&c.pending[fed..]).filter(|&n| c.pending.len() - fed >= n) {
                c.pipe.lock().unwrap().inbox.extend(&c.pending[fed..fed + n]);
                fed += n;
                if !c.session.on_pdu() {
                    break;
                }
            }
            if fed > 0 {
                c.pending.drain(..fed);
                if !c.session.is_ended() {
                    c.session.on_idle();
                }
            }
            if !s.may_recv() && !c.session.is_ended() && s.state() != tcp::State::SynReceived {
                c.session.on_closed();
            }
            // Session -> host, as far as the socket takes it, but in chunks of at least
            // SEND_CHUNK (or all that is left): smoltcp with Nagle off sends whatever is in
            // its buffer, so topping it up by every few bytes an ACK frees would send
            // segments that small (silly window syndrome, and worse with each re-segmentation).
            let mut p = c.pipe.lock().unwrap();
            let free = s.send_capacity() - s.send_queue();
            if free < p.outbox.len().min(SEND_CHUNK) {
                continue;
            }
            while !p.outbox.is_empty() && s.can_send() {
                let (a, _) = p.outbox.as_slices();
                let n = s.send_slice(a).unwrap_or(0);
                if n == 0 {
                    break;
                }
                p.outbox.drain(..n);
                moved = true;
            }
            if (p.shut || c.session.is_ended()) && p.outbox.is_empty() {
                s.close();
                c.done = true;
                moved = true;
            }
        }
        // Forget connections whose sockets are gone.
        let sockets = &mut self.stack.sockets;
        self.conns.retain(|c| {
            let closed = c.done && sockets.get::<tcp::Socket>(c.socket).state() == tcp::State::Closed;
            if closed {
                sockets.remove(c.socket);
            }
            !closed
        });
        moved
    }
}

impl EthernetPort for TargetPeer {
    fn send(&mut self, _now: SimTime, frame: Frame) {
        self.port.inbound.push_back(frame);
    }
    fn recv(&mut self, now: SimTime) -> Option<Frame> {
        if self.port.outbound.is_empty() {
            self.service(now);
        }
        self.port.outbound.pop_front()
    }
    fn poll_at(&mut self, now: SimTime) -> Option<SimTime> {
        if !self.port.outbound.is_empty() || !self.port.inbound.is_empty() {
            return Some(now);
        }
        self.stack.poll_at(now)
    }
}
