//! CIEs and FDEs (DWARF 5 §6.4.1; LSB "The .eh_frame section"): entry headers in 32- and
//! 64-bit DWARF, the CIE id conventions of `.eh_frame` and `.debug_frame`, CIE augmentations.

use super::read::{Bases, Reader, DW_EH_PE_ABSPTR, DW_EH_PE_OMIT};
use super::CfiError;
use std::ops::Range;

/// Which section's conventions apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `.eh_frame`: CIE id 0, an FDE's CIE pointer is relative to itself, pointers encoded.
    EhFrame,
    /// `.debug_frame`: CIE id all ones, an FDE's CIE pointer is a section offset.
    DebugFrame,
}

/// One call-frame section: its bytes, link-time address and conventions.
#[derive(Clone, Debug)]
pub struct Frames {
    pub kind: Kind,
    pub bytes: Vec<u8>,
    pub addr: u64,
    /// `.eh_frame_hdr`'s address, the base of DW_EH_PE_datarel.
    pub data_base: Option<u64>,
    /// The size of DW_EH_PE_absptr and of `.debug_frame` addresses (8 on 64-bit machines).
    pub address_size: u8,
}

/// What an entry header says.
#[derive(Clone, Copy, Debug)]
pub enum Header {
    /// A zero length: the end of `.eh_frame`.
    Terminator,
    Cie {
        body: usize,
        end: usize,
    },
    /// An FDE and the section offset of its CIE.
    Fde {
        body: usize,
        end: usize,
        cie: usize,
    },
}

#[derive(Clone, Debug)]
pub struct Cie {
    pub code_align: u64,
    pub data_align: i64,
    pub ra: u16,
    /// DW_EH_PE_* of an FDE's pc_begin and pc_range ("R"; absptr without it).
    pub fde_encoding: u8,
    pub address_size: u8,
    /// "z": FDEs carry augmentation data (with its length).
    pub augmented: bool,
    /// "S": a signal frame.
    pub signal_frame: bool,
    pub instructions: Range<usize>,
}

#[derive(Clone, Debug)]
pub struct Fde {
    pub cie: Cie,
    pub pc_begin: u64,
    pub pc_end: u64,
    pub instructions: Range<usize>,
}

impl Frames {
    fn bases(&self) -> Bases {
        Bases {
            section: self.addr,
            data: self.data_base,
        }
    }

    /// The header of the entry at `off`; `next` of a CIE or FDE is its `end`.
    pub fn header(&self, off: usize) -> Result<Header, CfiError> {
        let mut r = Reader::new(&self.bytes, off, self.bytes.len());
        let (length, offset_size) = match r.u32()? {
            0 => return Ok(Header::Terminator),
            0xffff_ffff => (r.u64()?, 8),
            n if n >= 0xffff_fff0 => return Err(CfiError::Malformed("reserved entry length")),
            n => (u64::from(n), 4),
        };
        let body = r.pos;
        let end = usize::try_from(length)
            .ok()
            .and_then(|n| body.checked_add(n))
            .filter(|&end| end <= self.bytes.len())
            .ok_or(CfiError::Malformed("entry length past the section"))?;
        let mut r = Reader::new(&self.bytes, body, end);
        let id_pos = r.pos;
        let id = match (self.kind, offset_size) {
            (Kind::EhFrame, _) | (Kind::DebugFrame, 4) => u64::from(r.u32()?),
            _ => r.u64()?,
        };
        let body = r.pos;
        let cie = match self.kind {
            Kind::EhFrame if id == 0 => None,
            Kind::EhFrame => Some(
                u64::try_from(id_pos)
                    .ok()
                    .and_then(|p| p.checked_sub(id))
                    .ok_or(CfiError::Malformed("CIE pointer before the section"))?,
            ),
            Kind::DebugFrame if id == 0xffff_ffff && offset_size == 4 => None,
            Kind::DebugFrame if id == u64::MAX => None,
            Kind::DebugFrame => Some(id),
        };
        Ok(match cie {
            None => Header::Cie { body, end },
            Some(cie) => Header::Fde {
                body,
                end,
                cie: usize::try_from(cie).map_err(|_| CfiError::Malformed("CIE pointer"))?,
            },
        })
    }

    /// The CIE at section offset `off`.
    pub fn cie(&self, off: usize) -> Result<Cie, CfiError> {
        let Header::Cie { body, end } = self.header(off)? else {
            return Err(CfiError::Malformed("CIE pointer to something else"));
        };
        let mut r = Reader::new(&self.bytes, body, end);
        let version = r.u8()?;
        if !matches!(version, 1 | 3 | 4) {
            return Err(CfiError::Malformed("CIE version"));
        }
        let augmentation = r.cstr(32)?;
        let mut address_size = self.address_size;
        if version == 4 {
            address_size = r.u8()?;
            if r.u8()? != 0 {
                return Err(CfiError::Malformed("segment selectors"));
            }
        }
        let code_align = r.uleb()?;
        let data_align = r.sleb()?;
        let ra = if version == 1 {
            u16::from(r.u8()?)
        } else {
            r.reg()?
        };
        let mut cie = Cie {
            code_align,
            data_align,
            ra,
            fde_encoding: DW_EH_PE_ABSPTR,
            address_size,
            augmented: false,
            signal_frame: false,
            instructions: 0..0,
        };
        if let Some(letters) = augmentation.strip_prefix(b"z") {
            cie.augmented = true;
            let len = usize::try_from(r.uleb()?).map_err(|_| CfiError::Truncated)?;
            let data = r.bytes(len)?;
            cie_augmentation(&mut cie, letters, data)?;
        } else if !augmentation.is_empty() {
            // Without "z" nothing says where the data ends ("eh" of GCC 2.x included).
            return Err(CfiError::Malformed("CIE augmentation without 'z'"));
        }
        cie.instructions = r.pos..end;
        Ok(cie)
    }

    /// The FDE at section offset `off`, with its CIE.
    pub fn fde(&self, off: usize) -> Result<Fde, CfiError> {
        let Header::Fde { body, end, cie } = self.header(off)? else {
            return Err(CfiError::Malformed("not an FDE"));
        };
        let cie = self.cie(cie)?;
        let mut r = Reader::new(&self.bytes, body, end);
        let enc = cie.fde_encoding;
        let pc_begin = r.pointer(enc, cie.address_size, self.bases())?;
        let pc_range = r.raw(enc & 0x0f, cie.address_size)?;
        let pc_end = pc_begin
            .checked_add(pc_range)
            .ok_or(CfiError::Malformed("FDE range past the address space"))?;
        if cie.augmented {
            let len = usize::try_from(r.uleb()?).map_err(|_| CfiError::Truncated)?;
            r.bytes(len)?;
        }
        Ok(Fde {
            cie,
            pc_begin,
            pc_end,
            instructions: r.pos..end,
        })
    }
}

/// The letters after "z" and their data: "L" (LSDA encoding), "P" (personality encoding and
/// pointer, not read: the data's length says where it ends), "R", "S", "B" (AArch64 BTI),
/// "G" (AArch64 MTE). An unknown letter ends the parse; "z" says how long the data is.
fn cie_augmentation(cie: &mut Cie, letters: &[u8], data: &[u8]) -> Result<(), CfiError> {
    let mut d = Reader::new(data, 0, data.len());
    for &letter in letters {
        match letter {
            b'L' => {
                d.u8()?;
            }
            b'P' => {
                let enc = d.u8()?;
                // Skip the pointer's bytes; its value (a personality routine) is not needed.
                d.raw(enc & 0x0f, cie.address_size)?;
            }
            b'R' => {
                cie.fde_encoding = d.u8()?;
                if cie.fde_encoding == DW_EH_PE_OMIT {
                    return Err(CfiError::Encoding(DW_EH_PE_OMIT));
                }
            }
            b'S' => cie.signal_frame = true,
            b'B' | b'G' => {}
            _ => break,
        }
    }
    Ok(())
}
