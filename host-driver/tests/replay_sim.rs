//! `ddpnic replay --nic sim` on a capture of the Linux kernel's own NVMe/TCP target
//! (`fixtures/nvmet-reads-digests.pcap`: tools/nvmet-vm, `NET=socket`, read by `ddpnic demo
//! --nic soft --peer qemu:127.0.0.1:5555 --digests --bytes 256K --min-io 4K --max-io 64K
//! --qd 8 --seed 3`): the Verilated NIC follows the real target's PDUs, places the reads'
//! data and checks their digests; the replay judges every placed byte and every digest the
//! NIC vouched for against the capture (a wrong one fails the command).
use serde_json::Value;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ddpnic");
const CAPTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nvmet-reads-digests.pcap");

fn replay(extra: &[&str]) -> Value {
    let out = Command::new(BIN).args(["replay", CAPTURE, "--nic", "sim", "--json"]).args(extra).env_remove("RUST_LOG").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "replay failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().expect("a JSON line")).expect("the report parses")
}

fn n(r: &Value, k: &str) -> u64 {
    r[k].as_u64().unwrap_or_else(|| panic!("no {k} in {r}"))
}

#[test]
fn a_linux_targets_reads_are_placed_and_their_digests_checked() {
    let r = replay(&[]);
    // the admin and the I/O queue, each offloaded after its ICResp; every read set up
    assert_eq!((n(&r, "connections"), n(&r, "queues_offloaded")), (2, 2), "{r}");
    assert!(n(&r, "read_commands") >= 10 && n(&r, "setups") == n(&r, "read_commands"), "{r}");
    // nvmet sends each read as one C2HData PDU with a digest: the NIC places it
    assert_eq!(n(&r, "c2h_pdus"), n(&r, "read_commands"));
    assert!(n(&r, "placed_bytes") * 100 > n(&r, "data_bytes") * 99, "{r}");
    assert_eq!(n(&r, "misplaced_bytes"), 0);
    // every digest on the wire is good; the NIC vouches for most (one CRC unit: a PDU whose
    // data starts in the beat where the previous digest ends is the host's to check)
    assert_eq!((n(&r, "digest_pdus"), n(&r, "bad_digests")), (n(&r, "c2h_pdus"), 0));
    assert!(n(&r, "nic_verified_pdus") * 2 > n(&r, "digest_pdus"), "{r}");
    assert_eq!(n(&r, "vouched_bad"), 0);
}

#[test]
fn corrupted_payloads_with_valid_checksums_are_never_vouched_for() {
    let r = replay(&["--faults", "corrupt-valid=0.05,dir=to-host,seed=4"]);
    assert!(n(&r, "wire_corrupted_valid") > 0 && n(&r, "misplaced_bytes") > 0, "{r}");
    // the NIC placed corrupted bytes (the TCP checksum could not tell) but vouched for no PDU
    // that carried one: their digests fail in its CRC32C unit
    assert_eq!(n(&r, "vouched_bad"), 0, "{r}");
    assert!(n(&r, "nic_verified_pdus") < n(&r, "digest_pdus"), "{r}");
}
