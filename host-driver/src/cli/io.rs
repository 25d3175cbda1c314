//! `ddpnic read` and `ddpnic write`: one range of blocks between a namespace and a file.
//! Large transfers show a progress bar when stderr is a terminal; each successful run ends
//! with a one-line summary on stderr.

use super::args::ConnectArgs;
use super::error::CliError;
use crate::nvme_tcp::initiator::Controller;
use crate::nvme_tcp::nvme::pattern;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Transfers larger than this get a progress bar.
const PROGRESS_THRESHOLD: usize = 8 << 20;

#[derive(clap::Args, Debug)]
pub struct RangeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Namespace ID.
    #[arg(long, default_value_t = 1)]
    pub nsid: u32,
    /// First logical block.
    #[arg(long)]
    pub start_block: u64,
    /// Number of logical blocks (1 or more; not 0's based).
    #[arg(long)]
    pub block_count: u64,
}

#[derive(clap::Args, Debug)]
pub struct ReadArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// File to write the data read to.
    #[arg(long)]
    pub data: PathBuf,
    /// Check the data against the LBA pattern (as the nvmet-vm RAM disk and `target --pattern` hold it).
    #[arg(long)]
    pub verify_pattern: bool,
}

#[derive(clap::Args, Debug)]
pub struct WriteArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// File holding exactly block-count blocks of data to write.
    #[arg(long)]
    pub data: PathBuf,
}

/// A connected controller and the byte size of the requested range.
struct Session {
    ctrl: Controller,
    block_size: usize,
    len: usize,
}

fn open(range: &RangeArgs) -> Result<Session, CliError> {
    if range.block_count == 0 {
        return Err(CliError::Invalid("--block-count must be at least 1".into()));
    }
    let ctrl = Controller::connect(&range.connect.options())?;
    let ns = ctrl.identify_namespace(range.nsid)?;
    if ns.block_size == 0 || ns.nsze == 0 {
        return Err(CliError::Invalid(format!("namespace {} is not active", range.nsid)));
    }
    let end = range.start_block.checked_add(range.block_count).filter(|&e| e <= ns.nsze);
    if end.is_none() {
        return Err(CliError::Invalid(format!(
            "blocks {}..+{} lie outside namespace {} ({} blocks)",
            range.start_block, range.block_count, range.nsid, ns.nsze
        )));
    }
    let len = usize::try_from(range.block_count * ns.block_size as u64)
        .map_err(|_| CliError::Invalid("range too large for this machine".into()))?;
    Ok(Session { ctrl, block_size: ns.block_size as usize, len })
}

pub fn read(args: ReadArgs) -> Result<(), CliError> {
    let r = &args.range;
    let mut s = open(r)?;
    let mut buf = vec![0u8; s.len];
    let bar = progress_bar(s.len, "read");
    let started = Instant::now();
    let result = s.ctrl.read_with_progress(r.nsid, r.start_block, s.block_size, &mut buf, &mut |n| advance(&bar, n));
    let elapsed = started.elapsed();
    finish(bar);
    result?;
    s.ctrl.disconnect()?;
    std::fs::write(&args.data, &buf).map_err(CliError::io(format!("cannot write {}", args.data.display())))?;
    let mut integrity = None;
    if args.verify_pattern {
        if let Some(lba) = pattern::first_mismatch(&buf, r.start_block, s.block_size) {
            return Err(CliError::Invalid(format!(
                "block {lba} does not hold the LBA pattern (data saved to {})",
                args.data.display()
            )));
        }
        integrity = Some(format!("pattern verified for blocks {}..{}", r.start_block, r.start_block + r.block_count));
    }
    eprintln!("{}", summary("read", s.len, elapsed, &r.connect, integrity.as_deref()));
    Ok(())
}

pub fn write(args: WriteArgs) -> Result<(), CliError> {
    let r = &args.range;
    let data = std::fs::read(&args.data).map_err(CliError::io(format!("cannot read {}", args.data.display())))?;
    let mut s = open(r)?;
    if data.len() != s.len {
        return Err(CliError::Invalid(format!(
            "{} holds {} bytes, but {} blocks of {} bytes are {} bytes",
            args.data.display(),
            data.len(),
            r.block_count,
            s.block_size,
            s.len
        )));
    }
    let bar = progress_bar(s.len, "write");
    let started = Instant::now();
    let result = s.ctrl.write_with_progress(r.nsid, r.start_block, s.block_size, &data, &mut |n| advance(&bar, n));
    let elapsed = started.elapsed();
    finish(bar);
    result?;
    s.ctrl.disconnect()?;
    eprintln!("{}", summary("wrote", s.len, elapsed, &r.connect, None));
    Ok(())
}

/// A progress bar on stderr for transfers above the threshold, if stderr is a terminal.
fn progress_bar(len: usize, verb: &str) -> Option<ProgressBar> {
    if !wants_progress(len, std::io::stderr().is_terminal()) {
        return None;
    }
    let style = ProgressStyle::with_template(
        "{msg} [{bar:40}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    )
    .expect("a valid progress template")
    .progress_chars("=> ");
    Some(ProgressBar::new(len as u64).with_style(style).with_message(verb.to_string()))
}

fn wants_progress(len: usize, stderr_is_terminal: bool) -> bool {
    len > PROGRESS_THRESHOLD && stderr_is_terminal
}

fn advance(bar: &Option<ProgressBar>, bytes: usize) {
    if let Some(b) = bar {
        b.inc(bytes as u64);
    }
}

/// Clears the bar, so that the summary or the error line stands alone.
fn finish(bar: Option<ProgressBar>) {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

/// The one line that ends a successful read or write.
fn summary(verb: &str, bytes: usize, elapsed: Duration, connect: &ConnectArgs, integrity: Option<&str>) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let mib = bytes as f64 / (1 << 20) as f64;
    let on_off = |b: bool| if b { "on" } else { "off" };
    let mut line = format!(
        "{verb} {bytes} bytes ({mib:.1} MiB) in {secs:.3} s, {:.1} MiB/s, hdgst {}, ddgst {}",
        mib / secs,
        on_off(connect.hdgst),
        on_off(connect.ddgst)
    );
    if let Some(text) = integrity {
        line.push_str(", ");
        line.push_str(text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_only_for_large_transfers_on_a_terminal() {
        assert!(!wants_progress(PROGRESS_THRESHOLD, true));
        assert!(wants_progress(PROGRESS_THRESHOLD + 512, true));
        assert!(!wants_progress(1 << 30, false));
    }

    #[test]
    fn summary_is_one_line_with_rate_digests_and_integrity() {
        let mut connect = ConnectArgs {
            traddr: "127.0.0.1".into(),
            trsvcid: 4420,
            nqn: "nqn.x".into(),
            hostnqn: None,
            hdgst: false,
            ddgst: true,
            queue_size: 128,
            kato_ms: 0,
            timeout_ms: 1000,
        };
        let line = summary("read", 32 << 20, Duration::from_millis(500), &connect, Some("pattern verified for blocks 0..8"));
        assert_eq!(
            line,
            "read 33554432 bytes (32.0 MiB) in 0.500 s, 64.0 MiB/s, hdgst off, ddgst on, pattern verified for blocks 0..8"
        );
        connect.hdgst = true;
        assert_eq!(
            summary("wrote", 4096, Duration::from_secs(2), &connect, None),
            "wrote 4096 bytes (0.0 MiB) in 2.000 s, 0.0 MiB/s, hdgst on, ddgst on"
        );
    }
}
