//! Beat-level CRC32C arithmetic: the behaviour of the `Crc32cStream` block, one beat at a time.
//!
//! This is the block's own Rust simulation model (the generated Verilog implements the same
//! equations as a pipeline). It steps once per clock cycle, beat or not, because `Resume`
//! reaches back one cycle. Tests do not trust it: they check it, and the Verilog, against
//! the `crc32c` crate run over plain byte strings.
//!
//! The register is kept "lazy" in a virtual-lane frame. A byte's virtual position is its
//! physical lane plus the beat's phase `(stream_lane - start) mod W`, so positions follow the
//! stream offset (for NVMe/TCP, the TCP sequence number) rather than where headers put the
//! payload. The register holds the CRC as if zero bytes had been fed up to the end of the
//! virtual beat. Moving from one beat to the next, even to a beat of another packet, then
//! needs only `A = T^(8W)`, the identity, or `A^-1`, chosen from positions alone; the
//! per-beat phase shift applies to the data contribution, off the state loop.
use super::gf2::{self, Mat32};

/// What to do with the CRC register at this beat's first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrcOp {
    /// A new digest segment starts at `start` (register = !0 before it).
    Start = 0,
    /// The bytes continue the segment of the previous valid beat into this unit.
    Continue = 1,
    /// The bytes continue a segment saved earlier from `m_crc`/`m_hi` and given in `restore`.
    Restore = 2,
    /// The bytes continue the segment of the beat two cycles earlier, whatever the cycle in
    /// between held (another segment's beat or none): the register as it stood before the
    /// previous cycle.
    Resume = 3,
}

impl CrcOp {
    /// The op of a 2-bit `s_op` code.
    pub fn from_bits(bits: u64) -> Self {
        [Self::Start, Self::Continue, Self::Restore, Self::Resume][bits as usize]
    }
}

/// A saved register: what a flow context stores between packets (33 bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SavedCrc {
    pub crc: u32,
    /// The segment's last byte sat in the upper half of the virtual position range.
    pub hi: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeatIn {
    pub data: Vec<u8>,
    pub start: usize,
    pub end: usize,
    /// Stream offset (mod W) of the byte in lane `start`.
    pub stream_lane: usize,
    pub op: CrcOp,
    /// For `Restore`: the saved register (the block reads `crc` `RESTORE_LAG` cycles late).
    pub restore: SavedCrc,
    pub last: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BeatOut {
    /// The beat was refused: start lane after end lane, or a continuation whose stream offset
    /// does not follow the last byte it continues. The register holds.
    pub error: bool,
    pub last: bool,
    /// On a `last` beat: the segment, digest included, left the CRC32C residue.
    pub digest_ok: bool,
    /// The register after this beat, to save in a flow context.
    pub state: SavedCrc,
    /// Virtual position (0 ..= 2W-2) of the last byte, for the digest value.
    pub end_pos: usize,
}

/// The per-W constants: shift matrices and the tables of constants indexed by position.
#[derive(Clone, Debug)]
pub struct CrcTables {
    pub width: usize,
    /// `A = T^(8W)` and its inverse: the loop's beat-to-beat moves.
    pub beat: Mat32,
    pub beat_inv: Mat32,
    /// `init_at[v]`: the contribution of the initial register to a segment whose first byte
    /// has virtual position `v`.
    pub init_at: Vec<u32>,
    /// `residue_at[v]`: the lazy register of a good segment whose last byte is at `v`.
    pub residue_at: Vec<u32>,
    /// `phase_at[p] = T^(-8p)`: moves a physical-frame contribution into the virtual frame.
    pub phase_at: Vec<Mat32>,
}

impl CrcTables {
    pub fn new(width: usize) -> Self {
        assert!(width.is_power_of_two() && (4..=128).contains(&width), "W must be a power of two in 4..=128");
        let w = width as i64;
        let positions = 2 * width - 1;
        Self {
            width,
            beat: Mat32::zero_bytes(w),
            beat_inv: Mat32::zero_bytes(-w),
            init_at: (0..positions).map(|v| Mat32::zero_bytes(w - v as i64).apply(gf2::INIT)).collect(),
            residue_at: (0..positions).map(|v| Mat32::zero_bytes(w - 1 - v as i64).apply(gf2::residue())).collect(),
            phase_at: (0..width).map(|p| Mat32::zero_bytes(-(p as i64))).collect(),
        }
    }

    /// The digest of a segment whose lazy register is `crc` with its last byte at `end_pos`.
    pub fn digest_value(&self, crc: u32, end_pos: usize) -> u32 {
        !Mat32::zero_bytes(end_pos as i64 + 1 - self.width as i64).apply(crc)
    }
}

/// The loop register: the lazy CRC and the virtual position of the segment's last byte.
#[derive(Clone, Copy, Debug)]
struct Register {
    crc: u32,
    end_pos: usize,
}

/// The state a `Crc32cStream` keeps between cycles. Call `beat` or `idle` once per cycle.
#[derive(Clone, Debug)]
pub struct Crc32cBeatModel {
    tables: CrcTables,
    now: Register,
    /// The register before the previous cycle, for `Resume`.
    before: Register,
}

impl Crc32cBeatModel {
    pub fn new(width: usize) -> Self {
        let reset = Register { crc: 0, end_pos: width - 1 };
        Self { tables: CrcTables::new(width), now: reset, before: reset }
    }

    pub fn tables(&self) -> &CrcTables {
        &self.tables
    }

    /// A cycle without a beat, and its outputs.
    pub fn idle(&mut self) -> BeatOut {
        self.before = self.now;
        self.held(false)
    }

    fn held(&self, error: bool) -> BeatOut {
        let w = self.tables.width;
        let Register { crc, end_pos } = self.now;
        BeatOut { error, last: false, digest_ok: false, state: SavedCrc { crc, hi: end_pos >= w }, end_pos }
    }

    /// A cycle with a beat, and its outputs.
    pub fn beat(&mut self, beat: &BeatIn) -> BeatOut {
        let resume_from = std::mem::replace(&mut self.before, self.now);
        let w = self.tables.width;
        let lane_mask = w - 1;
        if beat.start > beat.end || beat.end >= w || beat.data.len() != w {
            return self.held(true);
        }
        let phase = (beat.stream_lane.wrapping_sub(beat.start)) & lane_mask;
        let (v_start, v_end) = (beat.start + phase, beat.end + phase);
        let previous_end = match beat.op {
            CrcOp::Start => None,
            CrcOp::Continue => Some((self.now.end_pos, self.now.crc)),
            CrcOp::Resume => Some((resume_from.end_pos, resume_from.crc)),
            CrcOp::Restore => Some((((beat.stream_lane + w - 1) & lane_mask) + if beat.restore.hi { w } else { 0 }, beat.restore.crc)),
        };
        let carried = match previous_end {
            None => self.tables.init_at[v_start],
            Some((prev_pos, prev_crc)) => {
                let gap = 1 + prev_pos as i64 - v_start as i64;
                match gap {
                    g if g == w as i64 => self.tables.beat.apply(prev_crc),
                    0 => prev_crc,
                    g if g == -(w as i64) => self.tables.beat_inv.apply(prev_crc),
                    _ => return self.held(true),
                }
            }
        };
        let mut masked = vec![0u8; w];
        masked[beat.start..=beat.end].copy_from_slice(&beat.data[beat.start..=beat.end]);
        let contribution = self.tables.phase_at[phase].apply(gf2::feed(0, &masked));
        self.now = Register { crc: contribution ^ carried, end_pos: v_end };
        BeatOut { last: beat.last, digest_ok: beat.last && self.now.crc == self.tables.residue_at[v_end], ..self.held(false) }
    }
}
