//! Decoding `str` and `bytes` objects from the target: PEP 393 strings (3.3+), 2.x `str`, and
//! `bytes`, each checked to be of its type, bounded, and checked against CPython's invariants
//! before a byte of it is trusted.
//!
//! A name longer than `MAX_NAME_CHARS` is cut, with a marker saying how long it was; reading it
//! costs the same as reading a name of that length. Every character array CPython makes ends in
//! a NUL code unit right after its last character (`PyUnicode_New`, `PyBytes_FromStringAndSize`,
//! 2.x `PyString_FromStringAndSize`); pyflame checks it, so a corrupted length is refused instead
//! of being read as text.

use super::layout::{Layout, Str};
use super::types::{Kind, Types};
use super::walk::WalkError;
use crate::bytes::{i64_at, u32_at, u64_at};
use crate::memory::Memory;

/// Names (`co_name`, `co_filename`) keep at most this many characters.
pub const MAX_NAME_CHARS: usize = 1024;
/// Longest line table accepted (a huge generated module can have a big one).
pub const MAX_TABLE_BYTES: usize = 8 << 20;

/// One read covers the header and, for most names and paths, the characters too.
const FIRST_READ: usize = 256;

/// `kind` is 3 bits of PyASCIIObject.state; where they sit is in the layout.
const KIND_MASK: u32 = 0x7;

/// Reads the `str` object at `addr` (2.x: a `str` of bytes), cut to `MAX_NAME_CHARS`.
pub fn read_str(
    mem: &dyn Memory,
    layout: &Layout,
    types: &mut Types,
    addr: u64,
) -> Result<String, WalkError> {
    let mut head = [0u8; FIRST_READ];
    let got = mem
        .read_prefix(addr, &mut head)
        .map_err(WalkError::read("str object"))?;
    let head = &head[..got];
    let bad = |why: &str| WalkError::Garbage(format!("str object at {addr:#x}: {why}"));
    let ob_type =
        u64_at(head, layout.objects.ob_type as usize).ok_or_else(|| bad("truncated header"))?;
    let exact = match types.of_type(mem, layout, None, ob_type)? {
        Kind::Str { exact } => exact,
        _ => return Err(bad("not a str")),
    };
    let (chars, len) = match layout.string {
        Str::Bytes { ob_size, ob_sval } => {
            let len = i64_at(head, ob_size as usize).ok_or_else(|| bad("truncated header"))?;
            let data = read_chars(mem, addr, head, ob_sval, len, 1, MAX_NAME_CHARS)
                .map_err(|e| e.or(bad))?;
            (String::from_utf8_lossy(&data).into_owned(), len)
        }
        Str::Pep393 {
            length,
            state,
            ascii_data,
            compact_data,
            data,
            ready_mask,
            bits,
        } => {
            let len = i64_at(head, length as usize).ok_or_else(|| bad("truncated header"))?;
            let state = u32_at(head, state as usize).ok_or_else(|| bad("truncated header"))?;
            let kind = (state >> bits.kind_shift) & KIND_MASK;
            let ascii = state & bits.ascii != 0;
            if !matches!(kind, 1 | 2 | 4) || (ascii && kind != 1) {
                return Err(bad("invalid kind"));
            }
            if ready_mask.is_some_and(|m| state & m == 0) {
                return Err(bad("not ready"));
            }
            let bytes = if state & bits.compact != 0 {
                let start = if ascii { ascii_data } else { compact_data };
                read_chars(mem, addr, head, start, len, kind as usize, MAX_NAME_CHARS)
            } else if exact && ready_mask.is_none() {
                // Since 3.12 only a subclass's instance keeps its characters elsewhere.
                return Err(bad("a str that is not compact"));
            } else {
                // A legacy string: the characters are behind `data`.
                let ptr = match u64_at(head, data as usize) {
                    Some(p) => p,
                    None => mem
                        .u64(addr.wrapping_add(data))
                        .map_err(WalkError::read("str data pointer"))?,
                };
                read_chars(mem, ptr, &[], 0, len, kind as usize, MAX_NAME_CHARS)
            }
            .map_err(|e| e.or(bad))?;
            if ascii && bytes.iter().any(|&b| b >= 0x80) {
                return Err(bad("non-ASCII characters in an ASCII string"));
            }
            (
                decode(&bytes, kind).ok_or_else(|| bad("invalid characters"))?,
                len,
            )
        }
    };
    Ok(match usize::try_from(len) {
        Ok(n) if n > MAX_NAME_CHARS => format!("{chars}...[{n} chars]"),
        _ => chars,
    })
}

/// Reads the `bytes` object at `addr` (2.x: a `str`), used for line tables; at most `cap` bytes.
pub fn read_bytes(
    mem: &dyn Memory,
    layout: &Layout,
    types: &mut Types,
    addr: u64,
    cap: usize,
) -> Result<Vec<u8>, WalkError> {
    let mut head = [0u8; FIRST_READ];
    let got = mem
        .read_prefix(addr, &mut head)
        .map_err(WalkError::read("bytes object"))?;
    let head = &head[..got];
    let o = &layout.objects;
    let bad = |why: &str| WalkError::Garbage(format!("bytes object at {addr:#x}: {why}"));
    let ob_type = u64_at(head, o.ob_type as usize).ok_or_else(|| bad("truncated header"))?;
    let py2 = matches!(layout.string, Str::Bytes { .. });
    match types.of_type(mem, layout, None, ob_type)? {
        Kind::Bytes { .. } => {}
        Kind::Str { .. } if py2 => {}
        _ => return Err(bad("not a bytes object")),
    }
    let len = i64_at(head, o.bytes_size as usize).ok_or_else(|| bad("truncated header"))?;
    if usize::try_from(len).map_or(true, |n| n > cap) {
        return Err(bad("bad length"));
    }
    read_chars(mem, addr, head, o.bytes_data, len, 1, cap).map_err(|e| e.or(bad))
}

/// Why characters could not be had: a read error, or garbage described by the caller.
enum CharsError {
    Read(WalkError),
    Garbage(&'static str),
}

impl CharsError {
    fn or(self, bad: impl Fn(&str) -> WalkError) -> WalkError {
        match self {
            CharsError::Read(e) => e,
            CharsError::Garbage(why) => bad(why),
        }
    }
}

/// The first `min(len, max_units)` code units of `width` bytes at `obj + start`, after checking
/// that code unit `len` is the terminating NUL. Taken from `head` (the bytes already read from
/// `obj`) when they are there.
fn read_chars(
    mem: &dyn Memory,
    obj: u64,
    head: &[u8],
    start: u64,
    len: i64,
    width: usize,
    max_units: usize,
) -> Result<Vec<u8>, CharsError> {
    let len = usize::try_from(len).map_err(|_| CharsError::Garbage("negative length"))?;
    let end = len
        .checked_mul(width)
        .ok_or(CharsError::Garbage("bad length"))?;
    let read = |off: usize, n: usize| -> Result<Vec<u8>, CharsError> {
        let from = usize::try_from(start).ok().and_then(|s| s.checked_add(off));
        if let Some(b) = from.and_then(|f| head.get(f..f.checked_add(n)?)) {
            return Ok(b.to_vec());
        }
        let mut buf = vec![0u8; n];
        let at = obj.wrapping_add(start).wrapping_add(off as u64);
        mem.read(at, &mut buf)
            .map_err(|e| CharsError::Read(WalkError::read("string data")(e)))?;
        Ok(buf)
    };
    let kept = len.min(max_units);
    let (mut data, terminator) = if kept == len {
        let mut data = read(0, end + width)?;
        let terminator = data.split_off(end);
        (data, terminator)
    } else {
        (read(0, kept * width)?, read(end, width)?)
    };
    if terminator.iter().any(|&b| b != 0) {
        return Err(CharsError::Garbage("no NUL after its last character"));
    }
    data.truncate(kept * width);
    Ok(data)
}

/// Latin-1, UCS-2 or UCS-4 code units to a Rust string; None for invalid code points.
/// Lone surrogates (legal in Python str) become U+FFFD.
fn decode(bytes: &[u8], kind: u32) -> Option<String> {
    match kind {
        1 => Some(bytes.iter().map(|&b| b as char).collect()),
        2 => Some(
            bytes
                .chunks_exact(2)
                .map(|c| {
                    char::from_u32(u16::from_le_bytes([c[0], c[1]]) as u32).unwrap_or('\u{fffd}')
                })
                .collect(),
        ),
        4 => bytes
            .chunks_exact(4)
            .map(|c| {
                let u = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                match u {
                    0xd800..=0xdfff => Some('\u{fffd}'),
                    _ => char::from_u32(u),
                }
            })
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
#[path = "strings_tests.rs"]
mod tests;
