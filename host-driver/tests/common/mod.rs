//! Test-side references, written from the specification (and from nvmet-vm's mkpattern.py)
//! without the library's help, so the tests compare the code against something it did not
//! produce: the LBA pattern model, a PDU builder with its own framing and CRC32C from the
//! `crc32c` crate, and helpers that run the embedded target on loopback.
#![allow(dead_code)] // each test binary uses a different part of this module

use ddpnic::nvme_tcp::initiator::ConnectOptions;
use ddpnic::nvme_tcp::target::{NamespaceConfig, Target, TargetConfig, TargetHandle};
use std::time::Duration;

pub const NQN: &str = "nqn.2026-01.io.ddpnic:test";

/// mkpattern.py's `expected_block`, for any block size: LBA (LE u64), "NVMETPAT", then
/// `(LBA*7 + i) & 0xff` for every further byte offset i.
pub fn expected_block(lba: u64, block_size: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(block_size);
    b.extend_from_slice(&lba.to_le_bytes());
    b.extend_from_slice(b"NVMETPAT");
    b.extend((16..block_size).map(|i| ((lba * 7 + i as u64) & 0xff) as u8));
    b
}

/// Asserts that `buf` holds the pattern of the blocks from `first_lba` on.
pub fn assert_pattern(buf: &[u8], first_lba: u64, block_size: usize) {
    assert_eq!(buf.len() % block_size, 0);
    for (k, block) in buf.chunks(block_size).enumerate() {
        let lba = first_lba + k as u64;
        assert!(block == expected_block(lba, block_size).as_slice(), "block {lba} differs from the pattern");
    }
}

/// CRC32C digest as the spec defines it, from the independent `crc32c` crate.
pub fn spec_digest(bytes: &[u8]) -> [u8; 4] {
    crc32c::crc32c(bytes).to_le_bytes()
}

/// A PDU assembled by hand: `hlen` header bytes whose first 8 are filled from the arguments
/// (`fields` supplies bytes 8..hlen), optional header digest, zero padding up to `pdo`,
/// data, optional data digest. `plen` is computed.
pub struct SpecPdu<'a> {
    pub pdu_type: u8,
    pub flags: u8,
    pub hlen: u8,
    pub pdo: u8,
    pub fields: &'a [u8],
    pub data: &'a [u8],
}

impl SpecPdu<'_> {
    pub fn bytes(&self) -> Vec<u8> {
        let hdgst = self.flags & 0x01 != 0;
        let ddgst = self.flags & 0x02 != 0;
        let header_end = self.hlen as usize + if hdgst { 4 } else { 0 };
        let data_start = if self.pdo == 0 { header_end } else { self.pdo as usize };
        let plen = data_start + self.data.len() + if ddgst { 4 } else { 0 };
        let mut b = vec![self.pdu_type, self.flags, self.hlen, self.pdo];
        b.extend_from_slice(&(plen as u32).to_le_bytes());
        b.extend_from_slice(self.fields);
        b.resize(self.hlen as usize, 0);
        if hdgst {
            let d = spec_digest(&b);
            b.extend_from_slice(&d);
        }
        b.resize(data_start, 0);
        b.extend_from_slice(self.data);
        if ddgst {
            b.extend_from_slice(&spec_digest(self.data));
        }
        b
    }
}

pub fn namespace(size_bytes: u64, block_size: u32) -> NamespaceConfig {
    NamespaceConfig { size_bytes, block_size, pattern: true }
}

/// The embedded target on an ephemeral loopback port.
pub fn start_target(config: TargetConfig) -> TargetHandle {
    Target::bind("127.0.0.1:0", config).expect("binding a loopback port").spawn()
}

/// Host options for `target`, with a short reply timeout so that failures come quickly.
pub fn options(target: &TargetHandle, header_digest: bool, data_digest: bool) -> ConnectOptions {
    let mut opts = ConnectOptions::new(target.addr().to_string(), NQN);
    opts.header_digest = header_digest;
    opts.data_digest = data_digest;
    opts.timeout = Duration::from_secs(5);
    opts
}
