//! A RAM-backed namespace.

use super::config::NamespaceConfig;
use crate::nvme_tcp::nvme::pattern;
use std::sync::RwLock;

pub struct RamNamespace {
    pub block_size: u32,
    pub blocks: u64,
    data: RwLock<Vec<u8>>,
}

impl RamNamespace {
    pub fn new(config: &NamespaceConfig) -> Self {
        let blocks = config.size_bytes / config.block_size as u64;
        let mut data = vec![0u8; (blocks * config.block_size as u64) as usize];
        if config.pattern {
            pattern::fill(&mut data, 0, config.block_size as usize);
        }
        Self { block_size: config.block_size, blocks, data: RwLock::new(data) }
    }

    /// Copies `len` bytes at byte `offset` out (the caller checked the range).
    pub fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        let data = self.data.read().unwrap_or_else(|p| p.into_inner());
        data[offset..offset + len].to_vec()
    }

    pub fn write(&self, offset: usize, bytes: &[u8]) {
        let mut data = self.data.write().unwrap_or_else(|p| p.into_inner());
        data[offset..offset + bytes.len()].copy_from_slice(bytes);
    }
}
