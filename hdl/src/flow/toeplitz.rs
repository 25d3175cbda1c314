//! The Toeplitz hash of RSS over a TCP 5-tuple, with the well-known default RSS key: the
//! flow table's set index. It is linear over GF(2), so the hardware computes each hash bit as
//! the XOR of a constant subset of the key bits (`columns`), and the driver, which chooses
//! where to put each flow, computes the same function in software (`hash`). Using the
//! standard RSS function means the 82599 datasheet's RSS verification suite checks it.

pub use ddpnic_regmap::rss::{hash, toeplitz, FiveTuple, RSS_KEY};

/// For input bit `i` (byte `i / 8`, bit `7 - i % 8` of it), the hash bits it flips.
pub fn columns(input_bytes: usize) -> Vec<u32> {
    (0..input_bytes * 8)
        .map(|i| {
            let mut unit = vec![0u8; input_bytes];
            unit[i / 8] = 0x80 >> (i % 8);
            toeplitz(&RSS_KEY, &unit)
        })
        .collect()
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

    #[test]
    fn columns_rebuild_the_hash() {
        let flow = v6("2001:db8::1", 4420, "2001:db8::2", 51000);
        let input = flow.hash_input();
        let cols = columns(input.len());
        let by_columns = (0..input.len() * 8).filter(|i| input[i / 8] & (0x80 >> (i % 8)) != 0).fold(0, |h, i| h ^ cols[i]);
        assert_eq!(by_columns, hash(&flow));
    }
}
