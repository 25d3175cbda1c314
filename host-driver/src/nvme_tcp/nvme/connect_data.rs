//! The 1024-byte Fabrics Connect data: `hostid[16] | cntlid le16 | reserved |
//! subnqn[256] @256 | hostnqn[256] @512 | reserved`.

use super::commands::CONNECT_DATA_LEN;
use super::nqn::{get_nqn, put_nqn};
use crate::nvme_tcp::wire::field::u16_at;

const HOSTID: usize = 0;
const CNTLID: usize = 16;
const SUBNQN: usize = 256;
const HOSTNQN: usize = 512;
const NQN_LEN: usize = 256;

/// Controller ID for the admin queue Connect: "any controller" (dynamic model).
pub const CNTLID_DYNAMIC: u16 = 0xFFFF;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectData {
    pub host_id: [u8; 16],
    pub cntlid: u16,
    pub subnqn: String,
    pub hostnqn: String,
}

impl ConnectData {
    pub fn emit(&self) -> Vec<u8> {
        let mut b = vec![0u8; CONNECT_DATA_LEN];
        b[HOSTID..HOSTID + 16].copy_from_slice(&self.host_id);
        b[CNTLID..CNTLID + 2].copy_from_slice(&self.cntlid.to_le_bytes());
        put_nqn(&mut b[SUBNQN..SUBNQN + NQN_LEN], &self.subnqn);
        put_nqn(&mut b[HOSTNQN..HOSTNQN + NQN_LEN], &self.hostnqn);
        b
    }

    /// None when `b` is not exactly 1024 bytes.
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() != CONNECT_DATA_LEN {
            return None;
        }
        Some(Self {
            host_id: b[HOSTID..HOSTID + 16].try_into().unwrap(),
            cntlid: u16_at(b, CNTLID),
            subnqn: get_nqn(&b[SUBNQN..SUBNQN + NQN_LEN]),
            hostnqn: get_nqn(&b[HOSTNQN..HOSTNQN + NQN_LEN]),
        })
    }
}
