//! The unwind table of one object file: its `.eh_frame` (searched through `.eh_frame_hdr`'s
//! binary-search table when there is one, else through an index of its FDEs sorted here) and
//! its `.debug_frame`, and the row for a pc.

use super::entry::{Frames, Header, Kind};
use super::exec::row_at;
use super::read::{fixed_size, Bases, Reader, DW_EH_PE_OMIT};
use super::{Arch, CfiError, Row, MAX_FDES, MAX_SECTION};
use crate::elf::{Elf, Source};

/// `sh_type` of a section with no bytes in the file.
const SHT_NOBITS: u32 = 8;

/// A section's bytes and its link-time address (`sh_addr`).
#[derive(Clone, Copy, Debug)]
pub struct SectionData<'a> {
    pub bytes: &'a [u8],
    pub addr: u64,
}

/// The call-frame sections of an object file, as far as it has them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sections<'a> {
    pub eh_frame: Option<SectionData<'a>>,
    pub eh_frame_hdr: Option<SectionData<'a>>,
    pub debug_frame: Option<&'a [u8]>,
}

/// How the FDE for a pc is found.
#[derive(Clone, Debug)]
enum Index {
    /// `.eh_frame_hdr`'s table of (initial location, FDE address), sorted by the linker.
    Hdr {
        bytes: Vec<u8>,
        addr: u64,
        table: usize,
        count: usize,
        encoding: u8,
        entry_size: usize,
    },
    /// (pc_begin, pc_end, section offset) of every FDE, sorted here.
    Sorted(Vec<(u64, u64, u32)>),
}

/// The unwind rows of one object file, in its link-time addresses.
#[derive(Clone, Debug)]
pub struct UnwindTable {
    arch: Arch,
    eh_frame: Option<(Frames, Index)>,
    debug_frame: Option<(Frames, Index)>,
}

impl UnwindTable {
    /// Copies and indexes the sections. A malformed `.eh_frame_hdr` is ignored (the FDEs are
    /// indexed instead); an error only for a section over `MAX_SECTION` or too many FDEs.
    pub fn new(arch: Arch, sections: &Sections<'_>) -> Result<UnwindTable, CfiError> {
        let mut table = UnwindTable {
            arch,
            eh_frame: None,
            debug_frame: None,
        };
        if let Some(eh) = sections.eh_frame {
            let frames = Frames {
                kind: Kind::EhFrame,
                bytes: capped(eh.bytes)?.to_vec(),
                addr: eh.addr,
                data_base: sections.eh_frame_hdr.map(|h| h.addr),
                address_size: 8,
            };
            let hdr = sections.eh_frame_hdr.and_then(|h| hdr_index(h, &frames));
            let index = match hdr {
                Some(index) => index,
                None => sorted_index(&frames)?,
            };
            table.eh_frame = Some((frames, index));
        }
        if let Some(bytes) = sections.debug_frame {
            let frames = Frames {
                kind: Kind::DebugFrame,
                bytes: capped(bytes)?.to_vec(),
                addr: 0,
                data_base: None,
                address_size: 8,
            };
            let index = sorted_index(&frames)?;
            table.debug_frame = Some((frames, index));
        }
        Ok(table)
    }

    /// Reads `.eh_frame`, `.eh_frame_hdr` and `.debug_frame` of `elf` from `src`.
    pub fn from_elf(
        arch: Arch,
        elf: &Elf,
        src: &(impl Source + ?Sized),
    ) -> Result<UnwindTable, CfiError> {
        let read = |name: &str| -> Result<Option<(Vec<u8>, u64)>, CfiError> {
            let Some(s) = elf.section(name).filter(|s| s.sh_type != SHT_NOBITS) else {
                return Ok(None);
            };
            if s.sh_size > MAX_SECTION {
                return Err(CfiError::Limit("call-frame section size"));
            }
            let mut buf = vec![0; s.sh_size as usize];
            src.read_exact_at(&mut buf, s.sh_offset)
                .map_err(|e| CfiError::Io(e.kind()))?;
            Ok(Some((buf, s.sh_addr)))
        };
        let eh = read(".eh_frame")?;
        let hdr = read(".eh_frame_hdr")?;
        let debug = read(".debug_frame")?;
        fn data(s: &Option<(Vec<u8>, u64)>) -> Option<SectionData<'_>> {
            s.as_ref().map(|(b, a)| SectionData { bytes: b, addr: *a })
        }
        let sections = Sections {
            eh_frame: data(&eh),
            eh_frame_hdr: data(&hdr),
            debug_frame: debug.as_ref().map(|(b, _)| &b[..]),
        };
        UnwindTable::new(arch, &sections)
    }

    /// The row for `pc`, None if no FDE covers it or its instructions are bad.
    pub fn row(&self, pc: u64) -> Option<Row<'_>> {
        self.find_row(pc).ok()
    }

    /// The row for `pc`: from `.eh_frame` if an FDE there covers it, else from `.debug_frame`.
    pub fn find_row(&self, pc: u64) -> Result<Row<'_>, CfiError> {
        let mut result = Err(CfiError::NoFde(pc));
        for (frames, index) in [&self.eh_frame, &self.debug_frame].into_iter().flatten() {
            let fde = lookup(frames, index, pc).and_then(|off| frames.fde(off));
            match fde {
                Ok(fde) if fde.pc_begin <= pc && pc < fde.pc_end => {
                    return row_at(frames, &fde, self.arch, pc);
                }
                Ok(_) => {}
                Err(e) => result = Err(e),
            }
        }
        result
    }

    /// FDEs indexed (or listed in `.eh_frame_hdr`), `.eh_frame` and `.debug_frame` together.
    #[cfg(test)]
    pub fn fde_count(&self) -> usize {
        let count = |i: &Option<(Frames, Index)>| match i {
            Some((_, Index::Hdr { count, .. })) => *count,
            Some((_, Index::Sorted(v))) => v.len(),
            None => 0,
        };
        count(&self.eh_frame) + count(&self.debug_frame)
    }

    /// The pc range of the longest function `.eh_frame` describes, and the length of the next
    /// longest (see `native::stack`: in an interpreter without symbols, its evaluation loop).
    pub fn longest_fde(&self) -> Option<((u64, u64), u64)> {
        let (frames, _) = self.eh_frame.as_ref()?;
        let (mut best, mut second) = (None::<(u64, u64)>, 0);
        let (mut off, mut seen) = (0usize, 0usize);
        while off < frames.bytes.len() && seen < MAX_FDES {
            off = match frames.header(off) {
                Ok(Header::Cie { end, .. }) if end > off => end,
                Ok(Header::Fde { end, .. }) if end > off => {
                    seen += 1;
                    if let Ok(fde) = frames.fde(off) {
                        let len = fde.pc_end.saturating_sub(fde.pc_begin);
                        match best {
                            Some((b, e)) if len <= e - b => second = second.max(len),
                            _ => {
                                second = best.map_or(0, |(b, e)| e - b);
                                best = Some((fde.pc_begin, fde.pc_end));
                            }
                        }
                    }
                    end
                }
                _ => break,
            };
        }
        best.map(|b| (b, second))
    }

    /// Whether `.eh_frame` is searched through `.eh_frame_hdr`.
    #[cfg(test)]
    pub fn uses_eh_frame_hdr(&self) -> bool {
        matches!(self.eh_frame, Some((_, Index::Hdr { .. })))
    }
}

fn capped(bytes: &[u8]) -> Result<&[u8], CfiError> {
    match bytes.len() as u64 > MAX_SECTION {
        true => Err(CfiError::Limit("call-frame section size")),
        false => Ok(bytes),
    }
}

/// The section offset of the FDE whose range may cover `pc` (the last starting at or before).
fn lookup(frames: &Frames, index: &Index, pc: u64) -> Result<usize, CfiError> {
    match index {
        Index::Sorted(entries) => {
            let i = entries.partition_point(|&(begin, _, _)| begin <= pc);
            let &(_, end, off) = i
                .checked_sub(1)
                .and_then(|i| entries.get(i))
                .ok_or(CfiError::NoFde(pc))?;
            match pc < end {
                true => Ok(off as usize),
                false => Err(CfiError::NoFde(pc)),
            }
        }
        Index::Hdr {
            bytes,
            addr,
            table,
            count,
            encoding,
            entry_size,
        } => {
            let entry = |i: usize| -> Result<(u64, u64), CfiError> {
                let at = i
                    .checked_mul(2 * entry_size)
                    .and_then(|o| o.checked_add(*table));
                let mut r = Reader::new(bytes, at.ok_or(CfiError::Truncated)?, bytes.len());
                let bases = Bases {
                    section: *addr,
                    data: Some(*addr),
                };
                Ok((
                    r.pointer(*encoding, 8, bases)?,
                    r.pointer(*encoding, 8, bases)?,
                ))
            };
            // The last entry whose initial location is <= pc.
            let (mut lo, mut hi) = (0usize, *count);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match entry(mid)?.0 <= pc {
                    true => lo = mid + 1,
                    false => hi = mid,
                }
            }
            let (_, fde) = entry(lo.checked_sub(1).ok_or(CfiError::NoFde(pc))?)?;
            let off = fde
                .checked_sub(frames.addr)
                .and_then(|o| usize::try_from(o).ok());
            off.ok_or(CfiError::Malformed(
                ".eh_frame_hdr points outside .eh_frame",
            ))
        }
    }
}

/// `.eh_frame_hdr` (LSB): version 1, the encodings of eh_frame_ptr, fde_count and the table,
/// then the table; None unless the table has fixed-size entries and at least one of them.
fn hdr_index(hdr: SectionData<'_>, frames: &Frames) -> Option<Index> {
    let bytes = hdr.bytes;
    let mut r = Reader::new(bytes, 0, bytes.len());
    let bases = Bases {
        section: hdr.addr,
        data: Some(hdr.addr),
    };
    let (version, ptr_enc, count_enc, table_enc) =
        (r.u8().ok()?, r.u8().ok()?, r.u8().ok()?, r.u8().ok()?);
    if version != 1 || count_enc == DW_EH_PE_OMIT || table_enc == DW_EH_PE_OMIT {
        return None;
    }
    let eh_frame_ptr = r.pointer(ptr_enc, 8, bases).ok()?;
    if eh_frame_ptr != frames.addr {
        return None;
    }
    let count = r.pointer(count_enc, 8, bases).ok()?;
    let entry_size = fixed_size(table_enc, 8).filter(|&n| n > 0)?;
    let room = bytes.len().saturating_sub(r.pos) / (2 * entry_size);
    let count = usize::try_from(count).ok()?.min(room);
    (count > 0).then(|| Index::Hdr {
        bytes: bytes.to_vec(),
        addr: hdr.addr,
        table: r.pos,
        count,
        encoding: table_enc,
        entry_size,
    })
}

/// Every FDE of the section with a non-empty range, sorted by pc_begin. A malformed FDE is
/// left out; a malformed entry header ends the walk (nothing says where the next one starts).
fn sorted_index(frames: &Frames) -> Result<Index, CfiError> {
    let mut entries = Vec::new();
    let mut off = 0usize;
    while off < frames.bytes.len() {
        let next = match frames.header(off) {
            Ok(Header::Terminator) if frames.kind == Kind::EhFrame => break,
            Ok(Header::Terminator) => off + 4,
            Ok(Header::Cie { end, .. }) => end,
            Ok(Header::Fde { end, .. }) => {
                if let Ok(fde) = frames.fde(off) {
                    if fde.pc_begin < fde.pc_end {
                        if entries.len() >= MAX_FDES {
                            return Err(CfiError::Limit("FDEs in a section"));
                        }
                        entries.push((fde.pc_begin, fde.pc_end, off as u32));
                    }
                }
                end
            }
            Err(_) => break,
        };
        off = next;
    }
    entries.sort_unstable_by_key(|&(begin, end, _)| (begin, end));
    Ok(Index::Sorted(entries))
}
