//! Little-endian field accessors shared by the PDU views (all NVMe/TCP fields are LE).

pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// Declares a zero-copy view type over a buffer that must hold at least `$len` bytes,
/// with the constructors every view shares.
macro_rules! byte_view {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Bytes the view needs.
            pub const LEN: usize = $len;

            pub fn new_unchecked(buffer: T) -> Self {
                Self { buffer }
            }

            pub fn new_checked(buffer: T) -> Result<Self, $crate::nvme_tcp::wire::WireError> {
                let available = buffer.as_ref().len();
                if available < Self::LEN {
                    return Err($crate::nvme_tcp::wire::WireError::Truncated { needed: Self::LEN, available });
                }
                Ok(Self { buffer })
            }

            pub fn into_inner(self) -> T {
                self.buffer
            }

            pub fn as_bytes(&self) -> &[u8] {
                &self.buffer.as_ref()[..Self::LEN]
            }
        }

        impl<T: AsRef<[u8]> + AsMut<[u8]>> $name<T> {
            pub fn as_bytes_mut(&mut self) -> &mut [u8] {
                &mut self.buffer.as_mut()[..Self::LEN]
            }
        }
    };
}
pub(crate) use byte_view;
