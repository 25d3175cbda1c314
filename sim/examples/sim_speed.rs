//! Verilator speed of every top built into ddpnic-sim, as JSON lines:
//! `cargo run --release -p ddpnic-sim --example sim_speed [cycles]`.
//!
//! Per top: idle cycles (reset released, nothing happening) and cycles with 1,500-byte frames
//! at 100 GbE pacing on the MAC receive port (24 beats + 7 idle cycles = 31 cycles a frame:
//! 1,500 bytes + FCS, preamble and inter-frame gap at 100 Gbit/s take 30.5 cycles of 4 ns). The test top loops them back out; the core gets an
//! rx ring (4,096 slots of 2 KiB, completions) that the host side empties every 10,000
//! cycles, so every frame is written to host memory by DMA and checked by the memory model.
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
        let ring = top == "ddpnic_core" && setup_core_rx(&mut nic);
        let frame: Vec<u8> = (0..1500u32).map(|i| (i * 7 + 3) as u8).collect();
        nic.set_rx_gap(7);
        for _ in 0..cycles / 31 {
            nic.send_frame(&frame);
        }
        let s0 = nic.stats();
        let mut done = 0;
        while done < cycles {
            let n = (cycles - done).min(10_000);
            nic.run(n);
            done += n;
            if ring {
                consume_core_rx(&mut nic);
            }
        }
        let s1 = nic.stats();
        nic.check().unwrap();
        let drops = if ring { core_drops(&mut nic) } else { 0 };
        let secs = (s1.wall - s0.wall).as_secs_f64();
        let busy = (s1.cycles - s0.cycles) as f64 / secs;
        let rx_bits = (s1.rx_bytes - s0.rx_bytes) as f64 * 8.0;
        println!(
            "{{\"bench\":\"sim_speed\",\"top\":\"{top}\",\"construct_ms\":{:.1},\"idle_cycles_per_s\":{idle:.0},\"traffic_cycles_per_s\":{busy:.0},\"rx_gbit_per_s_wall\":{:.3},\"rx_gbit_per_s_simulated\":{:.1},\"dma_write_bytes\":{},\"rx_ring\":{ring},\"rx_frames_dropped\":{drops}}}",
            construct.as_secs_f64() * 1e3,
            rx_bits / secs / 1e9,
            rx_bits / ((s1.cycles - s0.cycles) as f64 * 4e-9) / 1e9,
            s1.dma_write_bytes - s0.dma_write_bytes,
        );
    }
}

#[cfg(ddpnic_core)]
fn setup_core_rx(nic: &mut Nic) -> bool {
    use ddpnic_regmap as rm;
    let (size_log2, slot_log2) = (12u32, 11u32);
    let slots = nic.alloc(1 << (size_log2 + slot_log2), 4096);
    let cpls = nic.alloc(64 << size_log2, 4096);
    nic.add_region(slots, 1 << (size_log2 + slot_log2), "rx slots");
    nic.add_region(cpls, 64 << size_log2, "rx completions");
    nic.write64(rm::addr("RX_SLOT_BASE_LO") as u32, slots);
    nic.write64(rm::addr("RX_CPL_BASE_LO") as u32, cpls);
    nic.write32(rm::addr("RX_SIZE_LOG2") as u32, size_log2);
    nic.write32(rm::addr("RX_SLOT_LOG2") as u32, slot_log2);
    nic.write32(rm::addr("RX_CTRL") as u32, 1);
    true
}

#[cfg(ddpnic_core)]
fn consume_core_rx(nic: &mut Nic) {
    use ddpnic_regmap as rm;
    let prod = nic.read32(rm::addr("RX_PROD") as u32);
    nic.write32(rm::addr("RX_CONS") as u32, prod);
}

#[cfg(not(ddpnic_core))]
fn setup_core_rx(_: &mut Nic) -> bool {
    false
}

#[cfg(not(ddpnic_core))]
fn consume_core_rx(_: &mut Nic) {}

#[cfg(ddpnic_core)]
fn core_drops(nic: &mut Nic) -> u64 {
    use ddpnic_regmap as rm;
    ["rx_drop_ring_full", "rx_drop_oversize"].iter().map(|c| nic.read64(rm::counter_addr(rm::counter(c)) as u32)).sum()
}

#[cfg(not(ddpnic_core))]
fn core_drops(_: &mut Nic) -> u64 {
    0
}
