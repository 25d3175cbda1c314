//! Byte lanes <-> wide `Bits`: lane `i` of a beat is bits `[8i+7:8i]`, as on AXI-Stream.
use num_bigint::BigUint;
use rust_hdl::prelude::Bits;

pub fn bits_from_lanes<const N: usize>(lanes: &[u8]) -> Bits<N> {
    assert_eq!(lanes.len() * 8, N, "a beat of {} bytes does not fill Bits<{N}>", lanes.len());
    BigUint::from_bytes_le(lanes).into()
}

pub fn lanes_from_bits<const N: usize>(bits: Bits<N>) -> Vec<u8> {
    let mut lanes = BigUint::from(bits).to_bytes_le();
    lanes.resize(N / 8, 0);
    lanes
}
