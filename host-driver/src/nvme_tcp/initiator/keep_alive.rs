//! Keep-alive: a thread that sends Keep Alive on the admin queue every KATO/2, so the
//! target keeps the association while the host only does I/O.

use super::queue::{Queue, Transfer};
use crate::nvme_tcp::nvme::commands;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct KeepAlive {
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl KeepAlive {
    pub fn start(admin: Arc<Mutex<Queue>>, kato_ms: u32) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let period = Duration::from_millis(kato_ms as u64 / 2);
        let thread = std::thread::Builder::new()
            .name("nvme-keep-alive".into())
            .spawn(move || loop {
                match stopped.recv_timeout(period) {
                    Err(RecvTimeoutError::Timeout) => {
                        let mut queue = admin.lock().unwrap_or_else(|p| p.into_inner());
                        // A failure marks the admin queue failed; the next admin command reports it.
                        if let Err(e) = queue.execute(commands::keep_alive(), Transfer::None) {
                            tracing::warn!(error = %e, "Keep Alive failed; keep-alive stops");
                            return;
                        }
                    }
                    _ => return,
                }
            })
            .expect("spawning the keep-alive thread");
        Self { stop, thread: Some(thread) }
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
