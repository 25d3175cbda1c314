//! HeaderParser against etherparse: random Ethernet/VLAN/IPv4(options)/IPv6/TCP(options)
//! frames with corrupted checksums, truncation, fragments, padding, UDP, IPv6 extension
//! headers and other ethertypes, at W = 8, 16 and 64 in rust-hdl simulation; the same cycles
//! replayed through the generated Verilog in Verilator at W = 8 and W = 64.
mod parser_support;

use ddpnic_hdl::parser::{model, HeaderParser, HeaderParser64, HeaderParser8};
use ddpnic_hdl::testbench::{replay::Replay, verilog_for};
use parser_support::{check, drive, frames, ports, replay_cycles, schedule, Coverage};

fn run<const W: usize, const D: usize, const L: usize, const P: usize>(seed: u64, n: usize) -> (Vec<parser_support::InCycle>, Vec<parser_support::Obs>, Coverage) {
    let fs = frames(seed, n);
    let cycles = schedule(W, &fs, seed ^ 0x5eed, model::window_beats(W));
    let obs = drive::<W, D, L, P>(&cycles);
    let cov = check(W, &fs, &cycles, &obs);
    (cycles, obs, cov)
}

fn assert_covered(cov: &Coverage) {
    println!("{cov:?}");
    assert!(cov.offloaded > 0 && cov.tcp_bad_csum > 0 && cov.ip_bad_csum > 0, "{cov:?}");
    assert!(cov.truncated > 0 && cov.fragments > 0 && cov.ipv6 > 0 && cov.vlan > 0 && cov.ip6_ext > 0, "{cov:?}");
    assert!(cov.non_tcp > 0 && cov.padded > 0, "{cov:?}");
}

#[test]
fn w8_random_frames_match_etherparse() {
    let (_, _, cov) = run::<8, 64, 3, 4>(1, 2000);
    assert_covered(&cov);
}

#[test]
fn w16_random_frames_match_etherparse() {
    let (_, _, cov) = run::<16, 128, 4, 5>(2, 1000);
    assert_covered(&cov);
}

#[test]
fn w64_random_frames_match_etherparse() {
    let (_, _, cov) = run::<64, 512, 6, 7>(3, 3000);
    assert_covered(&cov);
}

fn replay<const W: usize, const D: usize, const L: usize, const P: usize>(name: &str, seed: u64, n: usize) {
    let (cycles, obs, cov) = run::<W, D, L, P>(seed, n);
    assert_covered(&cov);
    let (inputs, outputs) = ports(W);
    let vectors = replay_cycles(W, &cycles, &obs);
    let replay = Replay { top: name.into(), verilog: verilog_for(&mut HeaderParser::<W, D, L, P>::new(), name), clock: "clock", inputs, outputs };
    replay.assert_matches(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")), &vectors);
}

#[test]
fn verilog_matches_model_w8() {
    replay::<8, 64, 3, 4>("header_parser_w8", 11, 200);
}

#[test]
fn verilog_matches_model_w64() {
    replay::<64, 512, 6, 7>("header_parser_w64", 12, 700);
}

#[test]
fn latency_and_verilog() {
    assert_eq!(HeaderParser64::LATENCY, 18);
    assert_eq!(HeaderParser8::LATENCY, 31);
    let text = verilog_for(&mut HeaderParser64::new(), "header_parser");
    assert!(text.contains("module header_parser("));
}
