//! The RSS Toeplitz hash over a TCP 5-tuple with the default RSS key: the NIC's flow table
//! uses its low bits as the set index (hdl/src/flow/flow_table.rs), and the driver, which
//! chooses each flow's slot, computes the same function. Shared here so the RTL model
//! (`ddpnic-hdl`, which re-exports it from `flow::toeplitz`) and the host driver use one copy.

/// Microsoft's default RSS key (40 bytes: enough for the 36-byte IPv6 input plus 32 bits).
pub const RSS_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// A TCP flow as the parser reports it. IPv4 addresses sit in the first 4 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FiveTuple {
    pub ipv6: bool,
    pub src_addr: [u8; 16],
    pub dst_addr: [u8; 16],
    pub src_port: u16,
    pub dst_port: u16,
}

impl FiveTuple {
    /// The RSS hash input: source address, destination address, source port, destination
    /// port, all in network byte order.
    pub fn hash_input(&self) -> Vec<u8> {
        let n = if self.ipv6 { 16 } else { 4 };
        let mut input = Vec::with_capacity(2 * n + 4);
        input.extend_from_slice(&self.src_addr[..n]);
        input.extend_from_slice(&self.dst_addr[..n]);
        input.extend_from_slice(&self.src_port.to_be_bytes());
        input.extend_from_slice(&self.dst_port.to_be_bytes());
        input
    }
}

/// Toeplitz hash of `input` under `key`: for every set input bit (most significant bit of
/// byte 0 first), XOR in the 32 key bits that start at that bit position.
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    assert!(key.len() >= input.len() + 4, "the key must cover the input plus 32 bits");
    let key_window = |bit: usize| -> u32 {
        let byte = bit / 8;
        let wide = u64::from_be_bytes(std::array::from_fn(|i| key.get(byte + i).copied().unwrap_or(0)));
        (wide << (bit % 8) >> 32) as u32
    };
    let mut hash = 0;
    for (i, byte) in input.iter().enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 {
                hash ^= key_window(i * 8 + b);
            }
        }
    }
    hash
}

pub fn hash(flow: &FiveTuple) -> u32 {
    toeplitz(&RSS_KEY, &flow.hash_input())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16) -> FiveTuple {
        let mut t = FiveTuple { src_port: sport, dst_port: dport, ..Default::default() };
        t.src_addr[..4].copy_from_slice(&src.octets());
        t.dst_addr[..4].copy_from_slice(&dst.octets());
        t
    }

    fn v6(src: &str, sport: u16, dst: &str, dport: u16) -> FiveTuple {
        FiveTuple { ipv6: true, src_addr: src.parse::<Ipv6Addr>().unwrap().octets(), dst_addr: dst.parse::<Ipv6Addr>().unwrap().octets(), src_port: sport, dst_port: dport }
    }

    /// The RSS verification suite (Intel 82599 datasheet 7.1.2.8.3, also in DPDK's tests).
    #[test]
    fn rss_verification_suite() {
        let cases = [
            (v4([66, 9, 149, 187].into(), 2794, [161, 142, 100, 80].into(), 1766), 0x51cc_c178),
            (v4([199, 92, 111, 2].into(), 14230, [65, 69, 140, 83].into(), 4739), 0xc626_b0ea),
            (v4([24, 19, 198, 95].into(), 12898, [12, 22, 207, 184].into(), 38024), 0x5c2b_394a),
            (v4([38, 27, 205, 30].into(), 48228, [209, 142, 163, 6].into(), 2217), 0xafc7_327f),
            (v4([153, 39, 163, 191].into(), 44251, [202, 188, 127, 2].into(), 1303), 0x10e8_28a2),
            (v6("3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766), 0x4020_7d3d),
            (v6("3ffe:501:8::260:97ff:fe40:efab", 14230, "ff02::1", 4739), 0xdde5_1bbf),
            (v6("3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, "fe80::200:f8ff:fe21:67cf", 38024), 0x02d1_feef),
        ];
        for (flow, expected) in cases {
            assert_eq!(hash(&flow), expected, "{flow:?}");
        }
    }
}
