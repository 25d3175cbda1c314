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
        // The arithmetic part for every byte (a loop the compiler vectorises), then the head.
        for (i, b) in block.iter_mut().enumerate() {
            *b = seed.wrapping_add(i as u8);
        }
        let mut head = [0u8; 16];
        head[..8].copy_from_slice(&lba.to_le_bytes());
        head[8..].copy_from_slice(MAGIC);
        let n = block.len().min(16);
        block[..n].copy_from_slice(&head[..n]);
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
