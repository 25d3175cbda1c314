//! The checkable LBA pattern (the same one the nvmet-vm RAM disk holds), generalised to
//! any block size: bytes 0..8 the LBA (LE u64), 8..16 "NVMETPAT", then byte i holds
//! `(LBA * 7 + i) & 0xff`.

pub const MAGIC: &[u8; 8] = b"NVMETPAT";

/// Writes the pattern of consecutive blocks starting at `first_lba` into `buf`
/// (a trailing partial block gets the start of its pattern).
pub fn fill(buf: &mut [u8], first_lba: u64, block_size: usize) {
    for (k, block) in buf.chunks_mut(block_size).enumerate() {
        let lba = first_lba + k as u64;
        let seed = lba.wrapping_mul(7) as u8;
        let lba_bytes = lba.to_le_bytes();
        for (i, b) in block.iter_mut().enumerate() {
            *b = match i {
                0..=7 => lba_bytes[i],
                8..=15 => MAGIC[i - 8],
                _ => seed.wrapping_add(i as u8),
            };
        }
    }
}

/// First LBA in `buf` (which starts at `first_lba`) whose content differs from the pattern.
pub fn first_mismatch(buf: &[u8], first_lba: u64, block_size: usize) -> Option<u64> {
    let mut expected = vec![0u8; block_size];
    buf.chunks(block_size).enumerate().find_map(|(k, block)| {
        let lba = first_lba + k as u64;
        fill(&mut expected, lba, block_size);
        (block != &expected[..block.len()]).then_some(lba)
    })
}
