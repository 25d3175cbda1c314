//! Header and data digests: CRC32C (Castagnoli), init 0xFFFFFFFF, final XOR 0xFFFFFFFF,
//! stored little-endian after the covered bytes (Linux: `cpu_to_le32(~crc32c(~0, buf))`).

/// Digest over `bytes`.
pub fn digest(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// Continues a digest computed over earlier bytes (for data received in pieces).
pub fn digest_append(so_far: u32, bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(so_far, bytes)
}

pub const DIGEST_LEN: usize = 4;
