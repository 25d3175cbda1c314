//! Protocol events on stderr through `tracing`: none by default, `-v` for the connection
//! lifecycle and negotiation (debug), `-vv` for everything (trace), or any `RUST_LOG`
//! filter, which takes precedence.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The filter for `verbose` (the count of `-v`) when RUST_LOG is unset or empty.
pub fn default_filter(verbose: u8) -> &'static str {
    match verbose {
        0 => "off",
        1 => "ddpnic=debug",
        _ => "ddpnic=trace",
    }
}

pub fn init(verbose: u8) {
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    let filter = from_env
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter(verbose)));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
