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
    use std::net::Ipv6Addr;

    // The hash itself is checked against the RSS verification suite in ddpnic_regmap::rss.
    #[test]
    fn columns_rebuild_the_hash() {
        let addr = |s: &str| s.parse::<Ipv6Addr>().unwrap().octets();
        let flow = FiveTuple { ipv6: true, src_addr: addr("2001:db8::1"), dst_addr: addr("2001:db8::2"), src_port: 4420, dst_port: 51000 };
        let input = flow.hash_input();
        let cols = columns(input.len());
        let by_columns = (0..input.len() * 8).filter(|i| input[i / 8] & (0x80 >> (i % 8)) != 0).fold(0, |h, i| h ^ cols[i]);
        assert_eq!(by_columns, hash(&flow));
    }
}
