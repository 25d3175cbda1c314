//! Measured CPU time on the data path, split by cause, for the software baseline: time in
//! socket system calls (which includes the kernel's copy to user memory), in user-space
//! copies, and in CRC32C.

use std::time::Instant;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuBreakdown {
    pub socket_recv_ns: u64,
    pub socket_send_ns: u64,
    pub copy_ns: u64,
    pub crc_ns: u64,
    pub data_bytes: u64,
    /// Data bytes the NIC placed (neither copied nor, with `nic_verified_pdus`, checksummed).
    pub placed_bytes: u64,
    /// Data PDUs with a data digest, and those of them (and their data bytes) whose digest
    /// the NIC verified (no CRC32C on the host).
    pub digest_pdus: u64,
    pub nic_verified_pdus: u64,
    pub nic_verified_bytes: u64,
}

impl CpuBreakdown {
    pub fn add(&mut self, other: &CpuBreakdown) {
        self.socket_recv_ns += other.socket_recv_ns;
        self.socket_send_ns += other.socket_send_ns;
        self.copy_ns += other.copy_ns;
        self.crc_ns += other.crc_ns;
        self.data_bytes += other.data_bytes;
        self.placed_bytes += other.placed_bytes;
        self.digest_pdus += other.digest_pdus;
        self.nic_verified_pdus += other.nic_verified_pdus;
        self.nic_verified_bytes += other.nic_verified_bytes;
    }
}

/// Runs `f` and adds its wall time to `counter`: for copies and CRC, which never block,
/// wall time is CPU time and much cheaper to read than the thread CPU clock.
pub(crate) fn timed<R>(counter: &mut u64, f: impl FnOnce() -> R) -> R {
    let start = Instant::now();
    let r = f();
    *counter += start.elapsed().as_nanos() as u64;
    r
}

/// Runs `f` and adds the calling thread's CPU time to `counter`: socket calls may block, and
/// time spent waiting for the peer is not CPU.
pub(crate) fn timed_cpu<R>(counter: &mut u64, f: impl FnOnce() -> R) -> R {
    let start = thread_cpu_ns();
    let r = f();
    *counter += thread_cpu_ns().saturating_sub(start);
    r
}

/// `timed_cpu` when `on`, else just `f` (reading the thread CPU clock is a system call,
/// too dear per read on a user-space stack where a read is a function call).
pub(crate) fn timed_cpu_if<R>(on: bool, counter: &mut u64, f: impl FnOnce() -> R) -> R {
    if on {
        timed_cpu(counter, f)
    } else {
        f()
    }
}

/// CPU time consumed by the calling thread.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CPU time (user + system) consumed by the whole process.
pub fn process_cpu_ns() -> u64 {
    // SAFETY: getrusage only writes the rusage we pass; all-zero is a valid rusage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
