//! The initiator against the embedded target over loopback: every read checked against the
//! pattern model, every write read back, with digests on and off, queue depth 1 and 128,
//! out-of-order completions, transfers split to MDTS, and the target's errors as names.

mod common;

use common::{assert_pattern, expected_block, namespace, options, start_target, NQN};
use ddpnic::nvme_tcp::initiator::{Command, Controller, Transfer};
use ddpnic::nvme_tcp::nvme::commands;
use ddpnic::nvme_tcp::target::TargetConfig;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

const DIGEST_COMBINATIONS: [(bool, bool); 4] = [(false, false), (true, false), (false, true), (true, true)];

#[test]
fn reads_match_the_pattern_with_every_digest_combination_and_pdu_split() {
    for c2h_split in [None, Some(1000)] {
        let mut config = TargetConfig::new(NQN, vec![namespace(8 << 20, 512)]);
        config.c2h_max_data = c2h_split;
        let target = start_target(config);
        for (hd, dd) in DIGEST_COMBINATIONS {
            for queue_size in [2, 128] {
                let mut opts = options(&target, hd, dd);
                opts.queue_size = queue_size;
                opts.hpda = if hd { 3 } else { 0 };
                let mut ctrl = Controller::connect(&opts).unwrap();
                for (lba, blocks) in [(0u64, 1usize), (77, 33), (1000, 2048), (16383, 1)] {
                    let mut buf = vec![0u8; blocks * 512];
                    ctrl.read(1, lba, 512, &mut buf).unwrap();
                    assert_pattern(&buf, lba, 512);
                }
                ctrl.disconnect().unwrap();
            }
        }
    }
}

/// A batch of reads of mixed sizes, each into its own buffer at its own LBA, so that a
/// completion matched to the wrong command shows up as the wrong block in a buffer.
fn read_batch_and_verify(ctrl: &mut Controller, depth: usize, count: usize) {
    let sizes = [1usize, 8, 3, 64, 2, 256];
    let layout: Vec<(u64, usize)> = (0..count).map(|i| ((i as u64 * 37) % 30_000, sizes[i % sizes.len()])).collect();
    let mut buffers: Vec<Vec<u8>> = layout.iter().map(|&(_, n)| vec![0u8; n * 512]).collect();
    let mut batch: Vec<Command> = layout
        .iter()
        .zip(buffers.iter_mut())
        .map(|(&(lba, n), buf)| Command {
            sqe: commands::read_write(false, 1, lba, n as u32),
            transfer: Transfer::FromController(buf),
        })
        .collect();
    let done = ctrl.io_queue().execute_batch(&mut batch, depth).unwrap();
    drop(batch);
    assert_eq!(done.len(), count);
    assert!(done.iter().all(|c| c.status.is_success()));
    for (&(lba, _), buf) in layout.iter().zip(&buffers) {
        assert_pattern(buf, lba, 512);
    }
}

#[test]
fn queue_depth_1_and_128_with_out_of_order_completions() {
    let mut config = TargetConfig::new(NQN, vec![namespace(16 << 20, 512)]);
    config.reorder_reads = 16;
    config.c2h_max_data = Some(4096);
    let target = start_target(config);
    for (hd, dd) in [(false, false), (true, true)] {
        let mut opts = options(&target, hd, dd);
        opts.queue_size = 128;
        let mut ctrl = Controller::connect(&opts).unwrap();
        assert_eq!(ctrl.io_queue().queue_size(), 128);
        read_batch_and_verify(&mut ctrl, 1, 64);
        read_batch_and_verify(&mut ctrl, 128, 600);
        ctrl.disconnect().unwrap();
    }
}

#[test]
fn large_transfers_are_split_to_mdts_and_the_host_limit() {
    // MDTS 5 with 4 KiB pages: 128 KiB per command.
    let mut config = TargetConfig::new(NQN, vec![namespace(32 << 20, 4096)]);
    config.mdts = 5;
    config.max_transfer = 128 << 10;
    let target = start_target(config);
    let mut ctrl = Controller::connect(&options(&target, false, true)).unwrap();
    assert_eq!(ctrl.max_transfer(), 128 << 10);
    let mut buf = vec![0u8; (3 << 20) + 4096 * 5];
    ctrl.read(1, 11, 4096, &mut buf).unwrap();
    assert_pattern(&buf, 11, 4096);
    ctrl.disconnect().unwrap();

    // No MDTS: the host's own 4 MiB cap splits a 24 MiB read into six commands.
    let mut config = TargetConfig::new(NQN, vec![namespace(32 << 20, 4096)]);
    config.mdts = 0;
    let target = start_target(config);
    let mut ctrl = Controller::connect(&options(&target, true, true)).unwrap();
    assert_eq!(ctrl.max_transfer(), 4 << 20);
    let mut buf = vec![0u8; 24 << 20];
    ctrl.read(1, 100, 4096, &mut buf).unwrap();
    assert_pattern(&buf, 100, 4096);
    ctrl.disconnect().unwrap();
}

#[test]
fn writes_read_back_in_capsule_and_through_r2t() {
    let mut rng = SmallRng::seed_from_u64(6);
    // Small R2Ts and MAXH2CDATA make one write travel as many R2Ts and H2CData PDUs;
    // CPDA 7 makes the host pad its data to 32 bytes.
    let mut chopped = TargetConfig::new(NQN, vec![namespace(8 << 20, 512)]);
    chopped.r2t_max_len = Some(64 << 10);
    chopped.maxh2cdata = 8192;
    chopped.cpda = 7;
    let targets = [start_target(TargetConfig::new(NQN, vec![namespace(8 << 20, 512)])), start_target(chopped)];
    for target in &targets {
        for (hd, dd) in DIGEST_COMBINATIONS {
            let mut ctrl = Controller::connect(&options(target, hd, dd)).unwrap();
            // 16 KiB is the in-capsule limit; one block more needs R2T.
            for (lba, blocks) in [(3u64, 1usize), (50, 32), (200, 33), (4000, 2048)] {
                let data: Vec<u8> = (0..blocks * 512).map(|_| rng.gen()).collect();
                ctrl.write(1, lba, 512, &data).unwrap();
                let mut back = vec![0u8; data.len()];
                ctrl.read(1, lba, 512, &mut back).unwrap();
                assert!(back == data, "blocks {lba}..+{blocks} read back differently");
                // The blocks around the write keep their pattern.
                let mut around = vec![0u8; 512];
                ctrl.read(1, lba + blocks as u64, 512, &mut around).unwrap();
                assert_eq!(around, expected_block(lba + blocks as u64, 512));
            }
            ctrl.disconnect().unwrap();
        }
    }
}

#[test]
fn reads_completed_by_the_c2h_success_flag() {
    let mut config = TargetConfig::new(NQN, vec![namespace(4 << 20, 512)]);
    config.c2h_success = true;
    config.c2h_max_data = Some(3000);
    let target = start_target(config);
    let mut opts = options(&target, true, true);
    opts.queue_size = 32;
    let mut ctrl = Controller::connect(&opts).unwrap();
    read_batch_and_verify(&mut ctrl, 32, 200);
    ctrl.disconnect().unwrap();
}

#[test]
fn target_errors_come_back_as_status_names() {
    let target = start_target(TargetConfig::new(NQN, vec![namespace(1 << 20, 512)]));
    let mut ctrl = Controller::connect(&options(&target, false, false)).unwrap();
    let mut buf = vec![0u8; 4096];
    let err = ctrl.read(1, 2047, 512, &mut buf).unwrap_err().to_string();
    assert!(err.contains("Read failed: LBA Out of Range"), "{err}");
    let err = ctrl.read(9, 0, 512, &mut buf).unwrap_err().to_string();
    assert!(err.contains("Invalid Namespace or Format"), "{err}");
    let err = ctrl.identify_namespace(5).unwrap_err().to_string();
    assert!(err.contains("Identify Namespace failed: Invalid Namespace or Format"), "{err}");
    // The queue stays usable after NVMe errors (they are not transport failures).
    ctrl.read(1, 0, 512, &mut buf).unwrap();
    assert_pattern(&buf, 0, 512);
    ctrl.disconnect().unwrap();

    let mut opts = options(&target, false, false);
    opts.subnqn = "nqn.2026-01.io.ddpnic:nobody".into();
    let err = Controller::connect(&opts).err().expect("unknown subsystem refused").to_string();
    assert!(err.contains("Connect failed: Connect Invalid Parameters"), "{err}");
}

#[test]
fn identify_reports_the_configured_subsystem() {
    let mut config = TargetConfig::new(NQN, vec![namespace(1 << 20, 4096), namespace(3 << 20, 512)]);
    config.mdts = 6;
    let target = start_target(config);
    let ctrl = Controller::connect(&options(&target, false, false)).unwrap();
    let id = ctrl.identity();
    assert_eq!(id.subnqn, NQN);
    assert_eq!(id.namespace_count, 2);
    assert_eq!(id.mdts, 6);
    assert_eq!(id.in_capsule_data_limit(), 16 << 10);
    assert_eq!(ctrl.active_namespaces().unwrap(), vec![1, 2]);
    let ns1 = ctrl.identify_namespace(1).unwrap();
    assert_eq!((ns1.nsze, ns1.block_size), (256, 4096));
    let ns2 = ctrl.identify_namespace(2).unwrap();
    assert_eq!((ns2.nsze, ns2.block_size), (6144, 512));
    assert_eq!(ctrl.version() >> 16, 1);
    ctrl.disconnect().unwrap();
}

#[test]
fn keep_alive_holds_an_idle_association() {
    let target = start_target(TargetConfig::new(NQN, vec![namespace(1 << 20, 512)]));
    let mut opts = options(&target, false, false);
    // The target drops an admin queue that is silent for 1.5 x KATO (450 ms).
    opts.kato_ms = 300;
    let mut ctrl = Controller::connect(&opts).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let mut buf = vec![0u8; 512];
    ctrl.read(1, 5, 512, &mut buf).unwrap();
    assert_pattern(&buf, 5, 512);
    ctrl.identify_namespace(1).unwrap();
    ctrl.disconnect().unwrap();
}

#[test]
fn an_association_without_keep_alive_is_dropped_by_the_target() {
    // The counterpart of the test above: with KATO set but no Keep Alive sent (the host's
    // admin queue driven by hand), the target ends the association.
    let target = start_target(TargetConfig::new(NQN, vec![namespace(1 << 20, 512)]));
    let mut opts = options(&target, false, false);
    opts.kato_ms = 300;
    let mut admin = ddpnic::nvme_tcp::initiator::Queue::open(&opts, 0, 32).unwrap();
    admin.connect(&opts, 0xFFFF).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(admin.execute(commands::keep_alive(), Transfer::None).is_err());
}
