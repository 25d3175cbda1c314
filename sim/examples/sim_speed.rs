//! Verilator speed of every top built into ddpnic-sim, as JSON lines:
//! `cargo run --release -p ddpnic-sim --example sim_speed [cycles]`.
//!
//! Per top: idle cycles (reset released, nothing happening) and cycles with 1,500-byte frames
//! back to back on the MAC receive port (the test top loops them back out; the core, when its
//! rx ring is not configured, takes them into its frame FIFO).
use ddpnic_sim::{Nic, NicConfig};
use std::time::Instant;

fn main() {
    let cycles: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    for top in ddpnic_sim::tops() {
        let t = Instant::now();
        let mut nic = Nic::new(NicConfig::new(top)).unwrap();
        let construct = t.elapsed();
        let s0 = nic.stats();
        nic.run(cycles);
        let s1 = nic.stats();
        let idle = (s1.cycles - s0.cycles) as f64 / (s1.wall - s0.wall).as_secs_f64();
        let frame: Vec<u8> = (0..1500u32).map(|i| (i * 7 + 3) as u8).collect();
        let frames = cycles / 24;
        for _ in 0..frames {
            nic.send_frame(&frame);
        }
        let s0 = nic.stats();
        nic.run(cycles);
        let s1 = nic.stats();
        let secs = (s1.wall - s0.wall).as_secs_f64();
        let busy = (s1.cycles - s0.cycles) as f64 / secs;
        let gbps_wall = (s1.rx_bytes - s0.rx_bytes) as f64 * 8.0 / secs / 1e9;
        println!(
            "{{\"bench\":\"sim_speed\",\"top\":\"{top}\",\"construct_ms\":{:.1},\"idle_cycles_per_s\":{idle:.0},\"traffic_cycles_per_s\":{busy:.0},\"rx_gbit_per_s_wall\":{gbps_wall:.3},\"rx_gbit_per_s_simulated\":{:.1}}}",
            construct.as_secs_f64() * 1e3,
            (s1.rx_bytes - s0.rx_bytes) as f64 * 8.0 / ((s1.cycles - s0.cycles) as f64 * 4e-9) / 1e9
        );
    }
}
