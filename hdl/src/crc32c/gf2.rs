//! CRC32C as linear algebra over GF(2).
//!
//! The CRC register (reflected, polynomial 0x82F63B78) is a 32-bit vector; feeding one zero
//! byte is the linear map `T`, so every table, matrix and constant the hardware needs is a
//! power of `T` applied to something. Both the Verilog generators and the bit-exact Rust
//! models take their numbers from here, so the two cannot drift apart.

/// Reflected CRC32C (Castagnoli) polynomial.
pub const POLY: u32 = 0x82F6_3B78;
/// Register value before the first byte (and the final XOR).
pub const INIT: u32 = 0xFFFF_FFFF;

/// Feed one byte into a raw (not inverted) CRC register.
pub fn feed_byte(state: u32, byte: u8) -> u32 {
    let mut s = state ^ u32::from(byte);
    for _ in 0..8 {
        s = (s >> 1) ^ if s & 1 != 0 { POLY } else { 0 };
    }
    s
}

/// Feed a byte string into a raw CRC register.
pub fn feed(state: u32, bytes: &[u8]) -> u32 {
    bytes.iter().fold(state, |s, &b| feed_byte(s, b))
}

/// The raw register after data followed by its little-endian digest: the same for all data,
/// which is what lets a receiver check a digest without knowing where it sits.
pub fn residue() -> u32 {
    Mat32::zero_bytes(4).apply(INIT)
}

/// A 32x32 matrix over GF(2), stored as its columns: `cols[j]` is the image of bit `j`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mat32 {
    pub cols: [u32; 32],
}

impl Mat32 {
    pub fn identity() -> Self {
        Self { cols: std::array::from_fn(|j| 1 << j) }
    }

    /// `T^(8n)`: the register after `n` zero bytes; negative `n` removes zero bytes.
    pub fn zero_bytes(n: i64) -> Self {
        let step = Self { cols: std::array::from_fn(|j| feed_byte(1 << j, 0)) };
        let base = if n < 0 { step.inverse() } else { step };
        base.pow(n.unsigned_abs())
    }

    pub fn apply(&self, x: u32) -> u32 {
        (0..32).filter(|j| x >> j & 1 != 0).fold(0, |acc, j| acc ^ self.cols[j])
    }

    /// `self * rhs`: apply `rhs` first.
    pub fn mul(&self, rhs: &Self) -> Self {
        Self { cols: std::array::from_fn(|j| self.apply(rhs.cols[j])) }
    }

    pub fn pow(&self, mut e: u64) -> Self {
        let (mut acc, mut base) = (Self::identity(), *self);
        while e != 0 {
            if e & 1 != 0 {
                acc = acc.mul(&base);
            }
            base = base.mul(&base);
            e >>= 1;
        }
        acc
    }

    /// Row `i` as a bit mask over the input bits.
    pub fn row(&self, i: usize) -> u32 {
        (0..32).filter(|&j| self.cols[j] >> i & 1 != 0).fold(0, |acc, j| acc | 1 << j)
    }

    /// Inverse by Gauss-Jordan elimination; CRC shift matrices are always invertible.
    pub fn inverse(&self) -> Self {
        let mut rows: [u64; 32] = std::array::from_fn(|i| u64::from(self.row(i)) | 1 << (32 + i));
        for col in 0..32 {
            let pivot = (col..32).find(|&r| rows[r] >> col & 1 != 0).expect("singular CRC matrix");
            rows.swap(col, pivot);
            for r in 0..32 {
                if r != col && rows[r] >> col & 1 != 0 {
                    rows[r] ^= rows[col];
                }
            }
        }
        // rows[i] now holds row i of the inverse in its upper half.
        let mut cols = [0u32; 32];
        for (i, r) in rows.iter().enumerate() {
            for (j, c) in cols.iter_mut().enumerate() {
                *c |= (((r >> (32 + j)) & 1) as u32) << i;
            }
        }
        Self { cols }
    }
}

/// The contribution of byte value `v` in lane `lane` of a `width`-byte beat fed into a zero
/// register (the beat's CRC is the XOR of its lanes' contributions: slicing-by-W).
pub fn lane_table(width: usize, lane: usize) -> Vec<u32> {
    let shift = Mat32::zero_bytes((width - 1 - lane) as i64);
    (0..=255u8).map(|v| shift.apply(feed_byte(0, v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_matches_crc32c_crate() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        assert_eq!(!feed(INIT, &data), crc32c::crc32c(&data));
    }

    #[test]
    fn zero_byte_powers_compose_and_invert() {
        let x = 0xDEAD_BEEF;
        assert_eq!(Mat32::zero_bytes(5).apply(x), feed(x, &[0; 5]));
        assert_eq!(Mat32::zero_bytes(-7).mul(&Mat32::zero_bytes(7)), Mat32::identity());
        assert_eq!(Mat32::zero_bytes(-3).apply(Mat32::zero_bytes(10).apply(x)), Mat32::zero_bytes(7).apply(x));
    }

    #[test]
    fn residue_is_independent_of_data() {
        for data in [&b"123456789"[..], &[0u8; 32][..], &[0xFF; 7][..]] {
            let mut framed = data.to_vec();
            framed.extend_from_slice(&crc32c::crc32c(data).to_le_bytes());
            assert_eq!(feed(INIT, &framed), residue());
        }
    }

    #[test]
    fn lane_tables_reproduce_a_beat() {
        let beat: Vec<u8> = (0..16u8).map(|i| i.wrapping_mul(29) ^ 0x5A).collect();
        let sliced = beat.iter().enumerate().fold(0, |acc, (lane, &v)| acc ^ lane_table(16, lane)[usize::from(v)]);
        assert_eq!(sliced, feed(0, &beat));
    }
}
