//! Decoding `str` and `bytes` objects from the target: PEP 393 strings (3.3+), 2.x `str`,
//! and `bytes`, with size caps so garbage can never make pyflame allocate without bound.

use super::layout::{Layout, Str};
use super::walk::WalkError;
use crate::bytes::{i64_at, u32_at};
use crate::memory::Memory;

/// Longest `co_name` / `co_filename` accepted, in bytes of character data.
pub const MAX_STR_BYTES: usize = 16 * 1024;
/// Longest line table accepted (a huge generated module can have a big one).
pub const MAX_BYTES: usize = 8 * 1024 * 1024;

/// One read covers the header and, for most names and paths, the characters too.
const FIRST_READ: usize = 256;

/// `kind` is 3 bits of PyASCIIObject.state; where they sit is in the layout.
const KIND_MASK: u32 = 0x7;

/// Reads the `str` object at `addr`.
pub fn read_str(mem: &impl Memory, layout: &Layout, addr: u64) -> Result<String, WalkError> {
    let mut head = [0u8; FIRST_READ];
    let got = mem
        .read_prefix(addr, &mut head)
        .map_err(WalkError::read("str object"))?;
    let head = &head[..got];
    let bad = |why: &str| WalkError::Garbage(format!("str object at {addr:#x}: {why}"));
    match layout.string {
        Str::Bytes { ob_size, ob_sval } => {
            let len = i64_at(head, ob_size as usize).ok_or_else(|| bad("truncated header"))?;
            let data =
                read_data(mem, addr, head, ob_sval, len, 1).ok_or_else(|| bad("bad length"))??;
            Ok(String::from_utf8_lossy(&data).into_owned())
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
            if !matches!(kind, 1 | 2 | 4) {
                return Err(bad("invalid kind"));
            }
            if ready_mask.is_some_and(|m| state & m == 0) {
                return Err(bad("not ready"));
            }
            let bytes = if state & bits.compact != 0 {
                let start = if state & bits.ascii != 0 {
                    ascii_data
                } else {
                    compact_data
                };
                read_data(mem, addr, head, start, len, kind as usize)
                    .ok_or_else(|| bad("bad length"))??
            } else {
                // A legacy string: the characters are behind `data`.
                let ptr = mem
                    .u64(addr.wrapping_add(data))
                    .map_err(WalkError::read("str data pointer"))?;
                read_data(mem, ptr, &[], 0, len, kind as usize)
                    .ok_or_else(|| bad("bad length"))??
            };
            decode(&bytes, kind).ok_or_else(|| bad("invalid characters"))
        }
    }
}

/// Reads the `bytes` object at `addr` (2.x: a `str`), used for line tables.
pub fn read_bytes(mem: &impl Memory, layout: &Layout, addr: u64) -> Result<Vec<u8>, WalkError> {
    let mut head = [0u8; FIRST_READ];
    let got = mem
        .read_prefix(addr, &mut head)
        .map_err(WalkError::read("bytes object"))?;
    let head = &head[..got];
    let o = &layout.objects;
    let bad = |why: &str| WalkError::Garbage(format!("bytes object at {addr:#x}: {why}"));
    let len = i64_at(head, o.bytes_size as usize).ok_or_else(|| bad("truncated header"))?;
    if len < 0 || len as usize > MAX_BYTES {
        return Err(bad("bad length"));
    }
    read_data_capped(mem, addr, head, o.bytes_data, len as usize, MAX_BYTES)
        .ok_or_else(|| bad("bad length"))?
}

/// `len` characters of `width` bytes at `obj + start`, taken from `head` (the bytes already
/// read from `obj`) when they are all there. None when the length is out of bounds.
fn read_data(
    mem: &impl Memory,
    obj: u64,
    head: &[u8],
    start: u64,
    len: i64,
    width: usize,
) -> Option<Result<Vec<u8>, WalkError>> {
    let n = usize::try_from(len).ok()?.checked_mul(width)?;
    read_data_capped(mem, obj, head, start, n, MAX_STR_BYTES)
}

fn read_data_capped(
    mem: &impl Memory,
    obj: u64,
    head: &[u8],
    start: u64,
    n: usize,
    cap: usize,
) -> Option<Result<Vec<u8>, WalkError>> {
    if n > cap {
        return None;
    }
    let start = start as usize;
    if let Some(b) = head.get(start..start + n) {
        return Some(Ok(b.to_vec()));
    }
    let mut buf = vec![0u8; n];
    Some(
        mem.read(obj.wrapping_add(start as u64), &mut buf)
            .map(|()| buf)
            .map_err(WalkError::read("string data")),
    )
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
