//! NQN fields (Connect data, Identify Controller SUBNQN): NUL-terminated UTF-8 in a
//! fixed 256-byte field.

/// Writes `nqn` into `dst`, cut to leave room for the terminating NUL.
pub fn put_nqn(dst: &mut [u8], nqn: &str) {
    dst.fill(0);
    let n = nqn.len().min(dst.len().saturating_sub(1));
    dst[..n].copy_from_slice(&nqn.as_bytes()[..n]);
}

/// The NQN up to its NUL (or the field's end); invalid UTF-8 is replaced, not trusted.
pub fn get_nqn(src: &[u8]) -> String {
    let end = src.iter().position(|&c| c == 0).unwrap_or(src.len());
    String::from_utf8_lossy(&src[..end]).into_owned()
}
