//! Bounds-checked little-endian decoders over byte slices copied from the target or a file.
//!
//! Remote memory and ELF files are untrusted: every field is read through these helpers, which
//! return `None` instead of panicking when the slice is too short. Nothing is ever reinterpreted
//! in place.

/// The `N` bytes at `off`, if they are all inside `b`.
pub fn array_at<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    b.get(off..end)?.try_into().ok()
}

pub fn u8_at(b: &[u8], off: usize) -> Option<u8> {
    b.get(off).copied()
}

pub fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    array_at(b, off).map(u16::from_le_bytes)
}

pub fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    array_at(b, off).map(u32::from_le_bytes)
}

pub fn i32_at(b: &[u8], off: usize) -> Option<i32> {
    array_at(b, off).map(i32::from_le_bytes)
}

pub fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    array_at(b, off).map(u64::from_le_bytes)
}

pub fn i64_at(b: &[u8], off: usize) -> Option<i64> {
    array_at(b, off).map(i64::from_le_bytes)
}

/// The bytes from `off` up to (not including) the first NUL, if a NUL occurs within `max` bytes.
pub fn cstr_at(b: &[u8], off: usize, max: usize) -> Option<&[u8]> {
    let tail = b.get(off..)?;
    let tail = &tail[..tail.len().min(max)];
    let nul = tail.iter().position(|&c| c == 0)?;
    Some(&tail[..nul])
}

/// The `len` bytes at `off`, if they are all inside `b`.
pub fn slice_at(b: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    b.get(off..off.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_refuses_outside() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u8_at(&b, 8), Some(9));
        assert_eq!(u8_at(&b, 9), None);
        assert_eq!(u16_at(&b, 0), Some(0x0201));
        assert_eq!(u32_at(&b, 5), Some(0x0908_0706));
        assert_eq!(u32_at(&b, 6), None);
        assert_eq!(u64_at(&b, 1), Some(0x0908_0706_0504_0302));
        assert_eq!(u64_at(&b, 2), None);
        assert_eq!(i32_at(&[0xff, 0xff, 0xff, 0xff], 0), Some(-1));
        assert_eq!(i64_at(&[0xfe; 8], 0), Some(-0x0101_0101_0101_0102));
        assert_eq!(u64_at(&b, usize::MAX), None);
        assert_eq!(slice_at(&b, 7, 2), Some(&b[7..9]));
        assert_eq!(slice_at(&b, 7, 3), None);
        assert_eq!(slice_at(&b, usize::MAX, 2), None);
    }

    #[test]
    fn cstr_needs_a_terminator_within_the_limit() {
        let b = b"ab\0cdef\0";
        assert_eq!(cstr_at(b, 0, 16), Some(&b"ab"[..]));
        assert_eq!(cstr_at(b, 3, 16), Some(&b"cdef"[..]));
        assert_eq!(cstr_at(b, 3, 4), None);
        assert_eq!(cstr_at(b, 8, 4), None);
        assert_eq!(cstr_at(b, 100, 4), None);
    }
}
