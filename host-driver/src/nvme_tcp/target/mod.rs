//! An embedded NVMe/TCP target: one subsystem with RAM-backed namespaces, served over
//! loopback or any TCP address. Its knobs reproduce the behaviours real targets differ in
//! (one C2HData per command or several, R2T sizes, data alignment, the SUCCESS flag).

mod config;
mod namespace;
mod subsystem;
mod connection;
mod admin;
mod io;
mod reply;
mod fault;
mod session;

pub use config::{NamespaceConfig, TargetConfig};
pub use fault::Fault;
pub use session::{EmbeddedTarget, Session};

use std::io::Result as IoResult;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use subsystem::Subsystem;

pub struct Target {
    listener: TcpListener,
    subsystem: Arc<Subsystem>,
}

impl Target {
    /// Builds the namespaces (filling the pattern if asked) and binds `addr`.
    pub fn bind(addr: &str, config: TargetConfig) -> IoResult<Self> {
        let listener = TcpListener::bind(addr)?;
        Ok(Self { listener, subsystem: Arc::new(Subsystem::new(config)) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener has an address")
    }

    /// Serves connections until the process exits.
    pub fn run(self) -> IoResult<()> {
        let stop = AtomicBool::new(false);
        self.accept_loop(&stop)
    }

    /// Serves connections on a background thread until the handle is stopped or dropped.
    pub fn spawn(self) -> TargetHandle {
        let addr = self.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("nvmet-accept".into())
            .spawn(move || {
                let _ = self.accept_loop(&flag);
            })
            .expect("spawning the accept thread");
        TargetHandle { addr, stop, thread: Some(thread) }
    }

    fn accept_loop(&self, stop: &AtomicBool) -> IoResult<()> {
        for stream in self.listener.incoming() {
            if stop.load(Ordering::Acquire) {
                return Ok(());
            }
            let Ok(stream) = stream else { continue };
            let subsystem = self.subsystem.clone();
            std::thread::Builder::new()
                .name("nvmet-conn".into())
                .spawn(move || connection::serve(stream, subsystem))?;
        }
        Ok(())
    }
}

pub struct TargetHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TargetHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TargetHandle {
    /// Stops accepting (existing connections end when their hosts disconnect).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the blocking accept so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
