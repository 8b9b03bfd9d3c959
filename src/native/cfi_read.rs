//! A cursor over call-frame bytes: fixed-size fields (through `crate::bytes`), LEB128, and
//! DW_EH_PE_* encoded pointers. Every read is bounded by the cursor's end.

use super::CfiError;
use crate::bytes::{slice_at, u16_at, u32_at, u64_at, u8_at};

/// DW_EH_PE_* (LSB, "DWARF Exception Header Encoding"): low nibble the format, high the base.
pub const DW_EH_PE_ABSPTR: u8 = 0x00;
pub const DW_EH_PE_ULEB128: u8 = 0x01;
pub const DW_EH_PE_UDATA2: u8 = 0x02;
pub const DW_EH_PE_UDATA4: u8 = 0x03;
pub const DW_EH_PE_UDATA8: u8 = 0x04;
pub const DW_EH_PE_SLEB128: u8 = 0x09;
pub const DW_EH_PE_SDATA2: u8 = 0x0a;
pub const DW_EH_PE_SDATA4: u8 = 0x0b;
pub const DW_EH_PE_SDATA8: u8 = 0x0c;
pub const DW_EH_PE_PCREL: u8 = 0x10;
pub const DW_EH_PE_DATAREL: u8 = 0x30;
pub const DW_EH_PE_OMIT: u8 = 0xff;

/// LEB128 numbers longer than this are refused (a u64 needs 10 bytes).
const MAX_LEB: usize = 16;

/// Where encoded pointers are relative to: the link-time address of byte 0 of the cursor's
/// buffer (DW_EH_PE_pcrel), and of `.eh_frame_hdr` (DW_EH_PE_datarel).
#[derive(Clone, Copy, Debug, Default)]
pub struct Bases {
    pub section: u64,
    pub data: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pub pos: usize,
    /// Reads stop here (`<= buf.len()`): the end of the entry being read.
    end: usize,
}

impl<'a> Reader<'a> {
    /// A cursor over `buf[pos..end]`; `end` is clamped to the buffer.
    pub fn new(buf: &'a [u8], pos: usize, end: usize) -> Reader<'a> {
        Reader {
            buf,
            pos,
            end: end.min(buf.len()),
        }
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    /// The next `n` bytes, moving past them.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], CfiError> {
        let stop = self.pos.checked_add(n).ok_or(CfiError::Truncated)?;
        if stop > self.end {
            return Err(CfiError::Truncated);
        }
        let b = slice_at(self.buf, self.pos, n).ok_or(CfiError::Truncated)?;
        self.pos = stop;
        Ok(b)
    }

    fn fixed<T>(&mut self, n: usize, f: fn(&[u8], usize) -> Option<T>) -> Result<T, CfiError> {
        let b = self.bytes(n)?;
        f(b, 0).ok_or(CfiError::Truncated)
    }

    pub fn u8(&mut self) -> Result<u8, CfiError> {
        self.fixed(1, u8_at)
    }
    pub fn u16(&mut self) -> Result<u16, CfiError> {
        self.fixed(2, u16_at)
    }
    pub fn u32(&mut self) -> Result<u32, CfiError> {
        self.fixed(4, u32_at)
    }
    pub fn u64(&mut self) -> Result<u64, CfiError> {
        self.fixed(8, u64_at)
    }

    /// Unsigned LEB128; bits beyond 64 must be zero.
    pub fn uleb(&mut self) -> Result<u64, CfiError> {
        let mut value = 0u64;
        for i in 0..MAX_LEB {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            let shift = 7 * i as u32;
            if shift < 64 {
                let part = bits << shift;
                if part >> shift != bits {
                    return Err(CfiError::Malformed("LEB128 number over 64 bits"));
                }
                value |= part;
            } else if bits != 0 {
                return Err(CfiError::Malformed("LEB128 number over 64 bits"));
            }
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CfiError::Malformed("LEB128 number too long"))
    }

    /// Signed LEB128 (sign-extended from its last byte's bit 6).
    pub fn sleb(&mut self) -> Result<i64, CfiError> {
        let mut value = 0i64;
        for i in 0..MAX_LEB {
            let byte = self.u8()?;
            let shift = 7 * i as u32;
            if shift < 64 {
                value |= i64::from(byte & 0x7f) << shift;
            }
            if byte & 0x80 == 0 {
                if shift + 7 < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << (shift + 7);
                }
                return Ok(value);
            }
        }
        Err(CfiError::Malformed("LEB128 number too long"))
    }

    /// A ULEB128 register number; numbers beyond u16 read as u16::MAX (never tracked).
    pub fn reg(&mut self) -> Result<u16, CfiError> {
        Ok(u16::try_from(self.uleb()?).unwrap_or(u16::MAX))
    }

    /// A NUL-terminated string of at most `max` bytes, moving past the NUL.
    pub fn cstr(&mut self, max: usize) -> Result<&'a [u8], CfiError> {
        let rest = slice_at(self.buf, self.pos, self.end.saturating_sub(self.pos));
        let rest = rest.ok_or(CfiError::Truncated)?;
        let rest = rest.get(..rest.len().min(max)).unwrap_or_default();
        let nul = rest.iter().position(|&c| c == 0);
        let nul = nul.ok_or(CfiError::Malformed("unterminated augmentation string"))?;
        let s = self.bytes(nul)?;
        self.pos += 1;
        Ok(s)
    }

    /// A value in format `enc & 0x0f` (absptr is `address_size` bytes), as a u64 (signed
    /// formats sign-extended).
    pub fn raw(&mut self, enc: u8, address_size: u8) -> Result<u64, CfiError> {
        Ok(match enc & 0x0f {
            DW_EH_PE_ABSPTR => match address_size {
                8 => self.u64()?,
                4 => u64::from(self.u32()?),
                _ => return Err(CfiError::Malformed("address size")),
            },
            DW_EH_PE_ULEB128 => self.uleb()?,
            DW_EH_PE_UDATA2 => u64::from(self.u16()?),
            DW_EH_PE_UDATA4 => u64::from(self.u32()?),
            DW_EH_PE_UDATA8 => self.u64()?,
            DW_EH_PE_SLEB128 => self.sleb()? as u64,
            DW_EH_PE_SDATA2 => self.u16()? as i16 as u64,
            DW_EH_PE_SDATA4 => self.u32()? as i32 as u64,
            DW_EH_PE_SDATA8 => self.u64()?,
            _ => return Err(CfiError::Encoding(enc)),
        })
    }

    /// A DW_EH_PE_* pointer: absolute, pc-relative (to the field's own address) or data-
    /// relative (to `.eh_frame_hdr`). Indirect, textrel, funcrel and aligned are refused.
    pub fn pointer(&mut self, enc: u8, address_size: u8, bases: Bases) -> Result<u64, CfiError> {
        if enc == DW_EH_PE_OMIT {
            return Err(CfiError::Encoding(enc));
        }
        let here = bases.section.wrapping_add(self.pos as u64);
        let value = self.raw(enc, address_size)?;
        match enc & 0xf0 {
            0 => Ok(value),
            DW_EH_PE_PCREL => Ok(here.wrapping_add(value)),
            DW_EH_PE_DATAREL => match bases.data {
                Some(base) => Ok(base.wrapping_add(value)),
                None => Err(CfiError::Encoding(enc)),
            },
            _ => Err(CfiError::Encoding(enc)),
        }
    }
}

/// The size in bytes of a fixed-size format (`enc & 0x0f`), None for LEB128 or invalid ones.
pub fn fixed_size(enc: u8, address_size: u8) -> Option<usize> {
    match enc & 0x0f {
        DW_EH_PE_ABSPTR => Some(usize::from(address_size)),
        DW_EH_PE_UDATA2 | DW_EH_PE_SDATA2 => Some(2),
        DW_EH_PE_UDATA4 | DW_EH_PE_SDATA4 => Some(4),
        DW_EH_PE_UDATA8 | DW_EH_PE_SDATA8 => Some(8),
        _ => None,
    }
}
