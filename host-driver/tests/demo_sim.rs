//! `ddpnic demo --nic sim` end to end: the initiator on smoltcp over the host driver's rings
//! on the Verilated NIC core, the embedded target across the simulated wire, a few MiB of
//! mixed reads with both digests, with and without faults. The demo itself checks every byte
//! against the target's LBA pattern and exits non-zero on any mismatch; here the counters
//! are checked against what the wire says happened (an independent count).
use serde_json::Value;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ddpnic");

fn demo(extra: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args(["demo", "--nic", "sim", "--digests", "--bytes", "4M", "--qd", "16", "--json"])
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().expect("a JSON line")).expect("the summary parses")
}

fn counter(s: &Value, name: &str) -> u64 {
    s["nic_counters"].as_array().unwrap().iter().find(|c| c[0] == name).unwrap_or_else(|| panic!("no counter {name}"))[1].as_u64().unwrap()
}

fn common_checks(s: &Value) {
    assert_eq!(s["nic"], "sim");
    assert_eq!(s["verified"], true);
    assert!(s["bytes"].as_u64().unwrap() >= 4 << 20);
    // every frame the MAC took reached the host through the rx ring, none dropped
    let rx = counter(s, "rx_frames");
    assert!(rx > 0);
    assert_eq!(counter(s, "rx_completions"), rx);
    assert_eq!(counter(s, "driver_rx_frames"), rx);
    assert_eq!(counter(s, "rx_drop_ring_full"), 0);
    assert_eq!(counter(s, "rx_drop_oversize"), 0);
    assert_eq!(counter(s, "rx_nvme_tcp_drop"), 0);
    // every frame the host posted went out to the wire
    assert_eq!(counter(s, "tx_frames"), counter(s, "driver_tx_frames"));
    assert_eq!(counter(s, "tx_frames"), s["wire"]["frames"][0].as_u64().unwrap());
    assert_eq!(counter(s, "tx_bytes"), s["wire"]["bytes"][0].as_u64().unwrap());
    for bad in ["tx_bad_desc", "dma_write_errors", "dma_read_errors"] {
        assert_eq!(counter(s, bad), 0, "{bad}");
    }
    // A core without the offload (CAPS = 0): the queue's sk_add is refused, the reads run in
    // software, nothing is placed.
    let sim = &s["sim"];
    if sim["caps"]["nvme_tcp_ddp"] == false {
        assert_eq!(sim["queues_in_software"], 1);
        assert_eq!(counter(s, "rx_nvme_tcp_sk_add"), 0);
        assert_eq!(counter(s, "events"), 1, "one FLOW_ADD event, answered");
        assert_eq!(s["placed_bytes"], 0);
        assert_eq!(s["copied_bytes"], s["bytes"]);
    } else {
        // the queue was offloaded: one sk_add and its sk_del, every read set up and torn down
        assert_eq!(sim["queues_offloaded"], 1);
        assert_eq!((counter(s, "rx_nvme_tcp_sk_add"), counter(s, "rx_nvme_tcp_sk_del")), (1, 1));
        assert_eq!(counter(s, "rx_nvme_tcp_setup"), sim["ddp"]["setup"].as_u64().unwrap());
        assert_eq!(counter(s, "rx_nvme_tcp_teardown"), counter(s, "rx_nvme_tcp_setup"));
        // the bytes the NIC says it placed are exactly those the initiator did not copy
        assert_eq!(counter(s, "rx_nvme_tcp_bytes"), s["placed_bytes"].as_u64().unwrap());
        assert_eq!(s["placed_bytes"].as_u64().unwrap() + s["copied_bytes"].as_u64().unwrap(), s["bytes"].as_u64().unwrap());
    }
    assert!(sim["cycles_clocked"].as_u64().unwrap() > 0);
    assert!(sim["cycles_per_second"].as_f64().unwrap() > 0.0);
}

#[test]
fn demo_on_the_simulated_nic() {
    let s = demo(&[]);
    common_checks(&s);
    // no faults: the wire delivered exactly what the target sent, the NIC received all of it
    assert_eq!(counter(&s, "rx_frames"), s["wire"]["frames"][1].as_u64().unwrap());
    assert_eq!(counter(&s, "rx_bytes"), s["wire"]["bytes"][1].as_u64().unwrap());
    assert_eq!(s["wire"]["retransmitted"][1], 0);
    // the offload did the work: over 90 % of the read bytes placed by the NIC, every read set up
    if s["sim"]["caps"]["nvme_tcp_ddp"] == true {
        let (placed, bytes) = (s["placed_bytes"].as_u64().unwrap(), s["bytes"].as_u64().unwrap());
        assert!(placed * 10 > bytes * 9, "placed {placed} of {bytes}");
        assert_eq!(counter(&s, "rx_nvme_tcp_setup"), s["ios"].as_u64().unwrap());
        assert_eq!(counter(&s, "rx_out_of_sync"), 0);
        assert_eq!(counter(&s, "rx_unknown_cid") + counter(&s, "rx_out_of_bounds"), 0);
        // the NIC's CRC32C unit vouched for data digests: the host skipped CRC32C on those PDUs
        let (verified, pdus) = (s["nic_verified_pdus"].as_u64().unwrap(), s["digest_pdus"].as_u64().unwrap());
        assert!(verified > 0 && verified <= pdus, "{verified} of {pdus} PDUs verified by the NIC");
        assert_eq!(counter(&s, "rx_crc_errors"), 0);
    }
}

#[test]
fn demo_on_the_simulated_nic_under_faults() {
    let s = demo(&["--faults", "drop=0.003,reorder=0.003,dup=0.003,corrupt=0.003,reseg=0.03,seed=11"]);
    common_checks(&s);
    let w = &s["wire"];
    let faults: u64 = ["dropped", "reordered", "duplicated", "corrupted", "resegmented"].iter().map(|k| w[k].as_u64().unwrap()).sum();
    assert!(faults > 0, "no fault happened: {w}");
    // what reached the MAC: injected toward the host, minus drops, plus duplicates and the
    // extra segments of re-segmentation (those happen on both directions: at most that many)
    let to_host = w["frames"][1].as_u64().unwrap();
    let rx = counter(&s, "rx_frames");
    assert!(rx <= to_host + w["duplicated"].as_u64().unwrap() + w["segments_added"].as_u64().unwrap(), "rx {rx}, wire {w}");
    assert!(rx + w["dropped"].as_u64().unwrap() >= to_host, "rx {rx}, wire {w}");
    // lost sync is found again: the NIC requests resyncs at PDU headers, the host confirms them
    // (or denies one it passed without a header there), and offload resumes after them
    if s["sim"]["caps"]["nvme_tcp_ddp"] == true && counter(&s, "rx_out_of_sync") > 0 {
        let ddp = &s["sim"]["ddp"];
        let (confirmed, denied) = (ddp["resync_confirmed"].as_u64().unwrap(), ddp["resync_denied"].as_u64().unwrap());
        let requested = counter(&s, "rx_nvme_tcp_resync");
        assert!(confirmed > 0 && confirmed + denied <= requested, "resync: {requested} requested, {confirmed} confirmed, {denied} denied");
        assert!(s["placed_bytes"].as_u64().unwrap() > 0);
    }
}
