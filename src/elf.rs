//! Minimal ELF64 little-endian reader: headers, named sections, symbol lookup and load bias.
//!
//! The file holding a target's CPython runtime (libpythonX.Y.so or the python executable) may be
//! huge (20+ MB with `.symtab`) and hostile, and start-up has a budget of a few milliseconds. So
//! the file is never loaded: positional reads fetch the ELF header, the program and section
//! header tables, the section-name table, and only the symbol and string tables a lookup scans.
//! Every table is checked against the file size and a cap before it is read; every field is
//! decoded with `crate::bytes`. Names and offsets follow the System V gABI, "Object Files".

use crate::bytes::{array_at, cstr_at, slice_at, u16_at, u32_at, u64_at, u8_at};
use std::fmt;
use std::io;

/// Positional reads from an ELF image: a file on disk, or bytes in memory (tests).
pub trait Source {
    /// Fills `buf` from byte `offset`; an error if the source is shorter.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Total size in bytes.
    fn size(&self) -> io::Result<u64>;
}

impl Source for std::fs::File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

impl Source for [u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let bytes = usize::try_from(offset).ok();
        let bytes = bytes.and_then(|off| slice_at(self, off, buf.len()));
        buf.copy_from_slice(bytes.ok_or(io::ErrorKind::UnexpectedEof)?);
        Ok(())
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

/// `e_type` of an executable linked at fixed addresses (load bias 0).
pub const ET_EXEC: u16 = 2;
/// `e_type` of a shared object or position-independent executable.
pub const ET_DYN: u16 = 3;
/// `p_type` of a loadable segment.
pub const PT_LOAD: u32 = 1;

const ELFMAG: [u8; 4] = *b"\x7fELF";
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
/// sizeof(Elf64_Ehdr), sizeof(Elf64_Phdr), sizeof(Elf64_Shdr), sizeof(Elf64_Sym).
const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: usize = 56;
const SHDR_SIZE: usize = 64;
pub(crate) const SYM_SIZE: u64 = 24;
pub(crate) const SHN_UNDEF: u16 = 0;
const SHN_XINDEX: u16 = 0xffff;
const PN_XNUM: u16 = 0xffff;
pub(crate) const SHT_SYMTAB: u32 = 2;
pub(crate) const SHT_NOBITS: u32 = 8;
pub(crate) const SHT_DYNSYM: u32 = 11;
/// Largest table we agree to read: real symbol tables are a few MB, a hostile header must not
/// make us allocate gigabytes.
const MAX_TABLE: u64 = 256 << 20;
/// The page size the kernel uses to map PT_LOAD segments on x86-64.
const PAGE: u64 = 4096;
/// Symbol-table bytes read per pread: 64 KiB rounded down to whole Elf64_Sym entries.
const SYM_BLOCK: usize = 65536 / 24 * 24;
const TRUNCATED: &str = "truncated ELF header";
const SHT_OUTSIDE: &str = "section header table outside the file";

#[derive(Debug, Clone)]
pub struct Segment {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    pub sh_type: u32,
    pub sh_flags: u64,
    pub sh_addr: u64,
    pub sh_offset: u64,
    pub sh_size: u64,
    pub sh_link: u32,
    pub sh_entsize: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol {
    pub value: u64,
    pub size: u64,
    /// Found in `.symtab` (not `.dynsym`).
    pub in_symtab: bool,
}

#[derive(Debug)]
pub enum ElfError {
    Io(io::Error),
    NotElf,
    WrongClass(u8),
    Malformed(&'static str),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::Io(e) => write!(f, "{e}"),
            ElfError::NotElf => f.write_str("does not have the ELF magic header"),
            // Worded exactly like the original Pyflame, whose message users search for.
            ElfError::WrongClass(c) => write!(
                f,
                "Target ELF file has EI_CLASS={c}, but for this architecture we expected EI_CLASS=2"
            ),
            ElfError::Malformed(what) => write!(f, "malformed ELF file: {what}"),
        }
    }
}

impl From<io::Error> for ElfError {
    fn from(e: io::Error) -> Self {
        ElfError::Io(e)
    }
}

#[derive(Debug)]
pub struct Elf {
    pub e_type: u16,
    pub e_machine: u16,
    pub segments: Vec<Segment>,
    pub sections: Vec<Section>,
}

/// A decoded field, or `Malformed(what)` if its bytes were not there.
fn need<T>(v: Option<T>, what: &'static str) -> Result<T, ElfError> {
    v.ok_or(ElfError::Malformed(what))
}

/// A source and its size. All reads go through `read`, which checks the range first.
struct Image<'a, S: Source + ?Sized> {
    src: &'a S,
    size: u64,
}

impl<S: Source + ?Sized> Image<'_, S> {
    /// Checks that `len` bytes at `offset` lie inside the image and under `MAX_TABLE`, so a
    /// hostile header can neither send reads past the end nor make us allocate gigabytes.
    fn check(&self, offset: u64, len: u64, what: &'static str) -> Result<usize, ElfError> {
        let end = need(offset.checked_add(len), what)?;
        if end > self.size || len > MAX_TABLE {
            return Err(ElfError::Malformed(what));
        }
        need(usize::try_from(len).ok(), what)
    }

    /// The `len` bytes at `offset`, after `check`.
    fn read(&self, offset: u64, len: u64, what: &'static str) -> Result<Vec<u8>, ElfError> {
        let mut buf = vec![0; self.check(offset, len, what)?];
        self.src.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }

    /// The table of `count` entries of `N` bytes at `offset`, each decoded by `decode`.
    fn entries<const N: usize, T>(
        &self,
        (offset, count): (u64, u64),
        what: &'static str,
        decode: fn(&[u8]) -> Option<T>,
    ) -> Result<Vec<T>, ElfError> {
        let table = self.read(offset, need(count.checked_mul(N as u64), what)?, what)?;
        let entries = table.chunks_exact(N);
        entries.map(|e| need(decode(e), what)).collect()
    }
}

/// Decodes an Elf64_Phdr: p_type @0, p_flags @4, p_offset @8, p_vaddr @16, p_paddr @24,
/// p_filesz @32, p_memsz @40, p_align @48.
fn segment(ph: &[u8]) -> Option<Segment> {
    Some(Segment {
        p_type: u32_at(ph, 0)?,
        p_flags: u32_at(ph, 4)?,
        p_offset: u64_at(ph, 8)?,
        p_vaddr: u64_at(ph, 16)?,
        p_filesz: u64_at(ph, 32)?,
        p_memsz: u64_at(ph, 40)?,
        p_align: u64_at(ph, 48)?,
    })
}

/// Decodes an Elf64_Shdr with its sh_name (@0) apart, as names are resolved afterwards:
/// sh_type @4, sh_flags @8, sh_addr @16, sh_offset @24, sh_size @32, sh_link @40, sh_info @44,
/// sh_addralign @48, sh_entsize @56.
fn section(sh: &[u8]) -> Option<(u32, Section)> {
    let section = Section {
        name: String::new(),
        sh_type: u32_at(sh, 4)?,
        sh_flags: u64_at(sh, 8)?,
        sh_addr: u64_at(sh, 16)?,
        sh_offset: u64_at(sh, 24)?,
        sh_size: u64_at(sh, 32)?,
        sh_link: u32_at(sh, 40)?,
        sh_entsize: u64_at(sh, 56)?,
    };
    Some((u32_at(sh, 0)?, section))
}

/// Whether the NUL-terminated string at `off` in the string table `strs` is exactly `want`.
/// Compared in place (one memcmp, usually failing on the first byte) rather than extracted:
/// a name outside the table or without its NUL inside it matches nothing. (`off + len` cannot
/// overflow once `slice_at` has succeeded.)
fn name_is(strs: &[u8], off: usize, want: &str) -> bool {
    slice_at(strs, off, want.len()) == Some(want.as_bytes())
        && u8_at(strs, off + want.len()) == Some(0)
}

/// (st_name, st_value, st_size) of an Elf64_Sym (st_name @0, st_info @4, st_other @5,
/// st_shndx @6, st_value @8, st_size @16), or None if it is SHN_UNDEF: a reference to another
/// object (an import), with no address in this one.
fn defined_symbol(sym: &[u8]) -> Option<(usize, u64, u64)> {
    if u16_at(sym, 6)? == SHN_UNDEF {
        return None;
    }
    Some((u32_at(sym, 0)? as usize, u64_at(sym, 8)?, u64_at(sym, 16)?))
}

/// `x` rounded down to a multiple of `align`; gABI: p_align 0 or 1 means no alignment.
fn align_down(x: u64, align: u64) -> u64 {
    x - x % align.max(1)
}

impl Elf {
    /// Parses the ELF header, program headers and section headers (with names). Requires
    /// ELFCLASS64, little-endian (EI_DATA=1; else Malformed). Validates every table against the
    /// source size before reading it.
    pub fn parse(src: &(impl Source + ?Sized)) -> Result<Elf, ElfError> {
        let img = Image {
            src,
            size: src.size()?,
        };
        if img.size < ELFMAG.len() as u64 {
            return Err(ElfError::NotElf);
        }
        // Read what there is of the header, so a short non-ELF file is still reported NotElf.
        let eh = img.read(0, img.size.min(EHDR_SIZE), TRUNCATED)?;
        if array_at::<4>(&eh, 0) != Some(ELFMAG) {
            return Err(ElfError::NotElf);
        }
        // e_ident[EI_CLASS] is byte 4, e_ident[EI_DATA] byte 5.
        let class = need(u8_at(&eh, 4), TRUNCATED)?;
        if class != ELFCLASS64 {
            return Err(ElfError::WrongClass(class));
        }
        if need(u8_at(&eh, 5), TRUNCATED)? != ELFDATA2LSB {
            return Err(ElfError::Malformed("EI_DATA is not ELFDATA2LSB"));
        }
        let e_type = need(u16_at(&eh, 16), TRUNCATED)?;
        let e_machine = need(u16_at(&eh, 18), TRUNCATED)?;
        let e_phoff = need(u64_at(&eh, 32), TRUNCATED)?;
        let e_shoff = need(u64_at(&eh, 40), TRUNCATED)?;
        let e_phentsize = need(u16_at(&eh, 54), TRUNCATED)?;
        let e_phnum = need(u16_at(&eh, 56), TRUNCATED)?;
        let e_shentsize = need(u16_at(&eh, 58), TRUNCATED)?;
        let e_shnum = need(u16_at(&eh, 60), TRUNCATED)?;
        let e_shstrndx = need(u16_at(&eh, 62), TRUNCATED)?;

        // gABI: e_shoff == 0 means no section header table. When there is one, section header
        // 0 holds the values that overflow the 16-bit header fields ("extended numbering"):
        // the section count in sh_size (e_shnum == 0), the index of the section-name table in
        // sh_link (e_shstrndx == SHN_XINDEX) and the segment count in sh_info (PN_XNUM).
        let sh0 = if e_shoff == 0 {
            None
        } else if usize::from(e_shentsize) != SHDR_SIZE {
            return Err(ElfError::Malformed("e_shentsize is not 64"));
        } else {
            Some(img.read(e_shoff, SHDR_SIZE as u64, SHT_OUTSIDE)?)
        };
        let shnum = match &sh0 {
            None => 0,
            Some(sh0) if e_shnum == 0 => need(u64_at(sh0, 32), SHT_OUTSIDE)?,
            Some(_) => u64::from(e_shnum),
        };
        let shstrndx = match &sh0 {
            Some(sh0) if e_shstrndx == SHN_XINDEX => need(u32_at(sh0, 40), SHT_OUTSIDE)?,
            _ => u32::from(e_shstrndx),
        };
        let phnum = match &sh0 {
            Some(sh0) if e_phnum == PN_XNUM => u64::from(need(u32_at(sh0, 44), SHT_OUTSIDE)?),
            _ => u64::from(e_phnum),
        };

        // gABI: e_phoff == 0 means no program header table.
        let mut segments = Vec::new();
        if e_phoff != 0 && phnum != 0 {
            if usize::from(e_phentsize) != PHDR_SIZE {
                return Err(ElfError::Malformed("e_phentsize is not 56"));
            }
            let what = "program header table outside the file";
            segments = img.entries::<PHDR_SIZE, _>((e_phoff, phnum), what, segment)?;
        }
        let sections = img.entries::<SHDR_SIZE, _>((e_shoff, shnum), SHT_OUTSIDE, section)?;

        // Names are sh_name offsets into section e_shstrndx. Without a usable one (SHN_UNDEF,
        // out of range, SHT_NOBITS or outside the file) the sections just stay nameless.
        let names = match sections.get(shstrndx as usize) {
            Some((_, s)) if shstrndx != 0 && s.sh_type != SHT_NOBITS => {
                match img.read(s.sh_offset, s.sh_size, "e_shstrndx") {
                    Ok(table) => table,
                    Err(ElfError::Malformed(_)) => Vec::new(),
                    Err(e) => return Err(e),
                }
            }
            _ => Vec::new(),
        };
        let sections = sections.into_iter().map(|(sh_name, mut s)| {
            if let Some(name) = cstr_at(&names, sh_name as usize, names.len()) {
                s.name = String::from_utf8_lossy(name).into_owned();
            }
            s
        });
        Ok(Elf {
            e_type,
            e_machine,
            segments,
            sections: sections.collect(),
        })
    }

    /// The first section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Looks every name in `names` up in `.dynsym` (SHT_DYNSYM) first, then, only for the names
    /// still missing, in `.symtab` (SHT_SYMTAB), if present. Only defined symbols count
    /// (st_shndx != SHN_UNDEF); in a table, the first match wins. Result i is for names[i].
    pub fn lookup(
        &self,
        src: &(impl Source + ?Sized),
        names: &[&str],
    ) -> Result<Vec<Option<Symbol>>, ElfError> {
        // .dynsym first: it is small and survives `strip`.
        self.lookup_in(src, names, &[(SHT_DYNSYM, false), (SHT_SYMTAB, true)])
    }

    /// `lookup` in `.dynsym` only: for names not worth scanning the much larger `.symtab` for
    /// when they are not exported (e.g. symbols only some Python versions have).
    pub fn lookup_dynamic(
        &self,
        src: &(impl Source + ?Sized),
        names: &[&str],
    ) -> Result<Vec<Option<Symbol>>, ElfError> {
        self.lookup_in(src, names, &[(SHT_DYNSYM, false)])
    }

    /// Fills the results from the symbol tables of the given sh_types in turn, each only for
    /// the names still missing; the flag says whether it is `.symtab`.
    fn lookup_in(
        &self,
        src: &(impl Source + ?Sized),
        names: &[&str],
        tables: &[(u32, bool)],
    ) -> Result<Vec<Option<Symbol>>, ElfError> {
        let img = Image {
            src,
            size: src.size()?,
        };
        let mut found = vec![None; names.len()];
        // gABI: an object has at most one section of each of these types.
        for &(sh_type, in_symtab) in tables {
            if found.iter().all(Option::is_some) {
                break;
            }
            let Some(table) = self.sections.iter().find(|s| s.sh_type == sh_type) else {
                continue;
            };
            // sh_entsize is sizeof(Elf64_Sym); 0 is tolerated as "not filled in".
            if table.sh_entsize != SYM_SIZE && table.sh_entsize != 0 {
                return Err(ElfError::Malformed("symbol table sh_entsize is not 24"));
            }
            // For SHT_SYMTAB and SHT_DYNSYM, sh_link is the section index of the string table.
            let strtab = self.sections.get(table.sh_link as usize);
            let strtab = need(strtab, "symbol table sh_link is not a section")?;
            let what = "string table outside the file or over 256 MiB";
            let strs = img.read(strtab.sh_offset, strtab.sh_size, what)?;
            // Only whole entries: a trailing partial Elf64_Sym is ignored.
            let len = table.sh_size - table.sh_size % SYM_SIZE;
            let what = "symbol table outside the file or over 256 MiB";
            let mut buf = vec![0; img.check(table.sh_offset, len, what)?.min(SYM_BLOCK)];
            // Read in blocks through one buffer, and only until everything is found. Entries
            // are walked with chunks_exact, not a narrow counter: the original Pyflame's u16
            // loop counter never reached the symbols past index 65535.
            let mut done = 0;
            while done < len && found.iter().any(Option::is_none) {
                let n = (len - done).min(SYM_BLOCK as u64);
                let Some(block) = buf.get_mut(..n as usize) else {
                    break;
                };
                // No overflow: sh_offset + len was checked above.
                src.read_exact_at(block, table.sh_offset + done)?;
                let syms = block.chunks_exact(SYM_SIZE as usize);
                for (st_name, value, size) in syms.filter_map(defined_symbol) {
                    for (slot, want) in found.iter_mut().zip(names) {
                        if slot.is_none() && !want.is_empty() && name_is(&strs, st_name, want) {
                            *slot = Some(Symbol {
                                value,
                                size,
                                in_symtab,
                            });
                        }
                    }
                }
                done += n;
            }
        }
        Ok(found)
    }

    /// Load bias of this object in a process where a mapping starting at `map_start` maps file
    /// offset `map_offset` (both from /proc/PID/maps), so that runtime address = bias + vaddr.
    /// None if no PT_LOAD covers `map_offset`.
    ///
    /// The bias comes from the `p_vaddr - p_offset` of the very segment the mapping belongs to.
    /// Taking the start of the r-xp mapping as the base (the original Pyflame) breaks with
    /// `-z separate-code`, where the mapping at offset 0 is r--p and code starts further on.
    pub fn load_bias(&self, map_start: u64, map_offset: u64) -> Option<u64> {
        // 4 KiB pages first, then each segment's p_align for kernels with larger pages.
        let seg = self
            .covering_load(map_offset, |_| PAGE)
            .or_else(|| self.covering_load(map_offset, |s| s.p_align))?;
        let delta = seg.p_vaddr.wrapping_sub(seg.p_offset);
        Some(map_start.wrapping_sub(map_offset).wrapping_sub(delta))
    }

    /// The PT_LOAD a mapping at file offset `map_offset` belongs to. The kernel maps a segment
    /// from p_offset rounded down to a page, and an mprotect (PT_GNU_RELRO) may split it later,
    /// so the offset is anywhere from that rounded start to p_offset + p_filesz. When segments
    /// share a file page (lld, or ld without separate-code), the one starting latest is the
    /// one whose own mapping begins there.
    fn covering_load(&self, map_offset: u64, page: impl Fn(&Segment) -> u64) -> Option<&Segment> {
        let loads = self.segments.iter().filter(|s| s.p_type == PT_LOAD);
        loads
            .filter_map(|s| {
                let start = align_down(s.p_offset, page(s));
                let end = s.p_offset.checked_add(s.p_filesz)?;
                (start <= map_offset && map_offset < end).then_some((start, s))
            })
            .max_by_key(|&(start, _)| start)
            .map(|(_, s)| s)
    }

    /// File offset holding virtual address `vaddr` (inside some PT_LOAD's p_filesz), or None.
    pub fn vaddr_to_offset(&self, vaddr: u64) -> Option<u64> {
        let loads = self.segments.iter().filter(|s| s.p_type == PT_LOAD);
        loads
            .filter_map(|s| Some((vaddr.checked_sub(s.p_vaddr)?, s)))
            .find(|&(rel, s)| rel < s.p_filesz)
            .and_then(|(rel, s)| s.p_offset.checked_add(rel))
    }
}

#[cfg(test)]
#[path = "elf_tests.rs"]
mod tests;
