//! The simulated world, driven from one thread: the host's smoltcp stack, the NIC, the
//! wire and the peer, under one simulated clock.
//!
//! ```text
//! initiator -- SimStream -- host smoltcp -- Nic (host side | MAC side) -- Wire -- peer
//! ```
//! The initiator's blocking reads and writes (`SimStream`) run `World::step` until they can
//! go on, so the existing NVMe/TCP code runs unchanged. A step moves every frame that can
//! move at the current time; when nothing moves the clock jumps to the next event (a frame
//! arriving, a TCP timer), so simulated time is independent of how fast the host computer
//! is and a run is a function of its seed. With a real-time peer (a QEMU VM) the clock
//! follows the wall clock instead.

use super::port::{EthernetPort, HostSide, Nic};
use super::stack::{Stack, StackConfig};
use super::time::SimTime;
use super::wire::{Dir, Wire};
use crate::nvme_tcp::transport::{ByteStream, Connector};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::wire::{IpAddress, IpEndpoint};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub struct World {
    now: SimTime,
    host: Stack,
    nic: Box<dyn Nic>,
    wire: Wire,
    peer: Box<dyn EthernetPort>,
    /// Some: the clock follows the wall clock from this instant (a real-time peer).
    realtime: Option<Instant>,
    next_local_port: u16,
    pub steps: u64,
}

impl World {
    pub fn new(host: StackConfig, nic: Box<dyn Nic>, wire: Wire, peer: Box<dyn EthernetPort>) -> Self {
        let seed = host.seed;
        Self {
            now: SimTime::ZERO,
            host: Stack::with_checksum(host, SimTime::ZERO, nic.checksum_offload()),
            nic,
            wire,
            peer,
            realtime: None,
            next_local_port: 49152 + (seed % 1000) as u16,
            steps: 0,
        }
    }

    /// Let the clock follow the wall clock (for peers outside the simulation).
    pub fn set_realtime(&mut self, on: bool) {
        self.realtime = on.then(|| Instant::now() - Duration::from_nanos(self.now.nanos()));
    }

    pub fn now(&self) -> SimTime {
        self.now
    }
    pub fn wire(&self) -> &Wire {
        &self.wire
    }
    pub fn wire_mut(&mut self) -> &mut Wire {
        &mut self.wire
    }
    pub fn nic(&self) -> &dyn Nic {
        &*self.nic
    }
    pub fn nic_mut(&mut self) -> &mut dyn Nic {
        &mut *self.nic
    }
    pub fn host(&mut self) -> &mut Stack {
        &mut self.host
    }

    /// Moves everything that can move now; if nothing did, advances the clock to the next
    /// event (never past `limit`). Returns whether anything moved.
    pub fn step(&mut self, limit: Option<SimTime>) -> bool {
        self.steps += 1;
        let now = self.now;
        let mut moved = false;
        // The NIC runs before the host polls (frames it received are in its ring) and after
        // (frames the host posted go out).
        self.nic.advance(now);
        self.host.poll(now, &mut HostSide(&mut *self.nic));
        self.nic.advance(now);
        while let Some(f) = self.nic.mac_tx(now) {
            self.wire.inject(Dir::ToPeer, now, f);
            moved = true;
        }
        while let Some(f) = self.wire.deliver(Dir::ToPeer, now) {
            self.peer.send(now, f);
            moved = true;
        }
        while let Some(f) = self.peer.recv(now) {
            self.wire.inject(Dir::ToHost, now, f);
            moved = true;
        }
        while let Some(f) = self.wire.deliver(Dir::ToHost, now) {
            self.nic.mac_rx(now, f);
            moved = true;
        }
        if !moved {
            self.advance(limit);
        }
        moved
    }

    fn advance(&mut self, limit: Option<SimTime>) {
        let now = self.now;
        let events = [self.host.poll_at(now), self.nic.poll_at(now), self.wire.next_delivery(), self.peer.poll_at(now)];
        let future = events.iter().flatten().filter(|&&t| t > now).min().copied();
        // smoltcp counts microseconds: an event due "now" that did nothing is a tick away
        // (but never skip a frame that arrives sooner).
        let due = events.iter().flatten().any(|&t| t <= now);
        let tick = now + Duration::from_micros(1);
        let mut target = match (due, future) {
            (true, Some(f)) => f.min(tick),
            (true, None) => tick,
            (false, Some(f)) => f,
            // Nothing scheduled anywhere: only the caller's deadline can end the wait.
            (false, None) => limit.unwrap_or(now + Duration::from_millis(1)),
        };
        if let Some(l) = limit {
            target = target.min(l.max(tick));
        }
        match self.realtime {
            None => self.now = target,
            Some(start) => {
                let wall = SimTime(start.elapsed().as_nanos() as u64);
                if wall < target {
                    std::thread::sleep((target - wall).min(Duration::from_micros(200)));
                }
                self.now = SimTime(start.elapsed().as_nanos() as u64).max(now);
            }
        }
    }

    /// Steps until `done` holds or `deadline` passes; false on timeout.
    pub fn run_until(&mut self, deadline: Option<SimTime>, mut done: impl FnMut(&mut World) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            if deadline.is_some_and(|d| self.now >= d) {
                return false;
            }
            self.step(deadline);
        }
    }
}

/// The world, shared by the streams that drive it (one thread at a time).
#[derive(Clone)]
pub struct SimNet(Arc<Mutex<World>>);

impl SimNet {
    pub fn new(world: World) -> Self {
        Self(Arc::new(Mutex::new(world)))
    }

    pub fn lock(&self) -> MutexGuard<'_, World> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a TCP connection from the host stack to `remote`.
    pub fn connect(&self, remote: SocketAddr, timeout: Duration) -> io::Result<SimStream> {
        let SocketAddr::V4(v4) = remote else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the simulated stack speaks IPv4 only"));
        };
        let endpoint = IpEndpoint::new(IpAddress::Ipv4(*v4.ip()), v4.port());
        let mut w = self.lock();
        let local_port = w.next_local_port;
        w.next_local_port = w.next_local_port.checked_add(1).unwrap_or(49152);
        let socket = w.host.tcp_socket();
        let handle = w.host.sockets.add(socket);
        {
            let Stack { iface, sockets, .. } = &mut w.host;
            sockets
                .get_mut::<tcp::Socket>(handle)
                .connect(iface.context(), endpoint, local_port)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("connect: {e}")))?;
        }
        let deadline = w.now + timeout;
        let mut refused = false;
        let ok = w.run_until(Some(deadline), |w| {
            let s = w.host.sockets.get::<tcp::Socket>(handle).state();
            refused = s == tcp::State::Closed;
            s == tcp::State::Established || refused
        });
        if refused {
            w.host.sockets.remove(handle);
            return Err(io::ErrorKind::ConnectionRefused.into());
        }
        if !ok {
            w.host.sockets.remove(handle);
            return Err(io::ErrorKind::TimedOut.into());
        }
        Ok(SimStream { net: self.clone(), handle, timeout_ns: Arc::new(AtomicU64::new(0)), remote })
    }
}

/// A TCP connection of the host stack as a blocking byte stream: reads and writes run the
/// world until they can proceed. Timeouts are in simulated time.
pub struct SimStream {
    net: SimNet,
    handle: SocketHandle,
    /// Read timeout in ns, 0 = none (shared by clones, as with `TcpStream`).
    timeout_ns: Arc<AtomicU64>,
    remote: SocketAddr,
}

impl Read for SimStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut w = self.net.lock();
        let t = self.timeout_ns.load(Ordering::Relaxed);
        let deadline = (t > 0).then(|| w.now + Duration::from_nanos(t));
        loop {
            let s = w.host.sockets.get_mut::<tcp::Socket>(self.handle);
            if s.can_recv() {
                return match s.recv_slice(buf) {
                    Ok(n) => Ok(n),
                    Err(tcp::RecvError::Finished) => Ok(0),
                    Err(e) => Err(io::Error::other(e.to_string())),
                };
            }
            if !s.may_recv() {
                return Ok(0);
            }
            if deadline.is_some_and(|d| w.now >= d) {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            w.step(deadline);
        }
    }
}

impl Write for SimStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut w = self.net.lock();
        // A peer that never opens its window fails the write after the read timeout.
        let t = self.timeout_ns.load(Ordering::Relaxed);
        let deadline = (t > 0).then(|| w.now + Duration::from_nanos(t));
        loop {
            let s = w.host.sockets.get_mut::<tcp::Socket>(self.handle);
            if !s.may_send() {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            if s.can_send() {
                let n = s.send_slice(buf).map_err(|e| io::Error::other(e.to_string()))?;
                if n > 0 {
                    return Ok(n);
                }
            }
            if deadline.is_some_and(|d| w.now >= d) {
                return Err(io::ErrorKind::TimedOut.into());
            }
            w.step(deadline);
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ByteStream for SimStream {
    fn try_clone_stream(&self) -> io::Result<Box<dyn ByteStream>> {
        Ok(Box::new(SimStream { net: self.net.clone(), handle: self.handle, timeout_ns: self.timeout_ns.clone(), remote: self.remote }))
    }
    fn shutdown_stream(&self) {
        let mut w = self.net.lock();
        w.host.sockets.get_mut::<tcp::Socket>(self.handle).close();
        // Let the FIN go out and the peer see it.
        for _ in 0..64 {
            if !w.step(None) {
                break;
            }
        }
    }
    fn set_read_timeout_stream(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeout_ns.store(timeout.map_or(0, |t| t.as_nanos().max(1) as u64), Ordering::Relaxed);
        Ok(())
    }
    fn peer_name(&self) -> String {
        self.remote.to_string()
    }
    fn endpoints(&self) -> Option<(SocketAddr, SocketAddr)> {
        let w = self.net.lock();
        let local = w.host.sockets.get::<tcp::Socket>(self.handle).local_endpoint()?;
        let IpAddress::Ipv4(ip) = local.addr;
        Some((SocketAddr::from((ip, local.port)), self.remote))
    }
}

/// Connects the initiator through the simulated world (`ConnectOptions::connector`).
#[derive(Clone)]
pub struct SimConnector(pub SimNet);

impl std::fmt::Debug for SimConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimConnector")
    }
}

impl Connector for SimConnector {
    fn connect(&self, addr: &str, timeout: Duration) -> io::Result<Box<dyn ByteStream>> {
        let remote: SocketAddr = addr
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("`{addr}` is not an IPv4 address:port")))?;
        Ok(Box::new(self.0.connect(remote, timeout)?))
    }
}
