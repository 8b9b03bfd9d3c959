//! One symbol table (SHT_SYMTAB or SHT_DYNSYM) as an address-sorted index of function symbols,
//! whose names are read from the string table only when asked.
//!
//! The table is read in blocks through one buffer and never kept: the index holds 16 bytes a
//! function (st_value, st_size, st_name), under caps on the bytes scanned and the entries kept,
//! so a hostile or huge file (libpython's `.symtab`, a debug file) costs bounded time and memory.

use crate::bytes::{u16_at, u32_at, u64_at, u8_at};
use crate::elf::{Elf, ElfError, Section, Source, SHN_UNDEF, SHT_NOBITS, SYM_SIZE};

/// Most function symbols indexed (16 MB of index). libpython's `.symtab` holds about 15,000
/// symbols, a large C++ program's a few hundred thousand.
pub(super) const MAX_SYMBOLS: usize = 1_000_000;
/// Most symbol-table bytes scanned (about 2.8 million Elf64_Sym).
const MAX_SCAN: u64 = 64 << 20;
/// Longest name returned; a longer one (a C++ template instance) is cut and ends in `…`.
pub(super) const MAX_NAME: usize = 512;
/// Entries examined below the last one starting at or before a pc, for a pc past the end of an
/// inner symbol but still inside an enclosing one. Bounds the lookup.
const WALK: usize = 16;
/// Symbol-table bytes read per pread: 64 KiB rounded down to whole Elf64_Sym entries.
const BLOCK: u64 = 65536 / SYM_SIZE * SYM_SIZE;
const SHT_STRTAB: u32 = 3;
/// sh_flags bit of a section holding machine instructions.
const SHF_EXECINSTR: u64 = 0x4;
/// ELF64_ST_TYPE(st_info) values: no type, code, and a GNU indirect function (its st_value is
/// the resolver, which is code too).
const STT_NOTYPE: u8 = 0;
const STT_FUNC: u8 = 2;
const STT_GNU_IFUNC: u8 = 10;
/// st_shndx values from here up are special (SHN_ABS, SHN_COMMON, SHN_XINDEX): not a section.
const SHN_LORESERVE: u16 = 0xff00;

/// A function symbol: [st_value, st_value + st_size) in link-time addresses, and its name's
/// offset in the string table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub st_value: u64,
    pub st_size: u32,
    pub st_name: u32,
}

#[derive(Debug)]
pub(super) struct Table {
    /// Sorted by st_value; among equal ones, in table order.
    entries: Vec<Entry>,
    /// File range of the string table (sh_link), checked to lie inside the file.
    strtab_offset: u64,
    strtab_size: u64,
    /// A cap stopped the scan: some functions are missing (their pcs get no name).
    #[cfg_attr(not(test), allow(dead_code))]
    pub truncated: bool,
}

/// The function an Elf64_Sym names, if it is one we index: st_name @0, st_info @4, st_other
/// @5, st_shndx @6, st_value @8, st_size @16.
///
/// Kept: STT_FUNC, STT_GNU_IFUNC and STT_NOTYPE (hand-written assembly) symbols with a name and
/// a nonzero size, defined in a section with SHF_EXECINSTR (still set on a debug file's
/// SHT_NOBITS `.text`). Zero-sized symbols are never used: nothing says where they end, so any
/// pc after them could be misnamed. A size over 4 GiB, or a range that wraps, is not code.
fn function(sym: &[u8], sections: &[Section]) -> Option<Entry> {
    let st_name = u32_at(sym, 0)?;
    let st_type = u8_at(sym, 4)? & 0xf;
    let st_shndx = u16_at(sym, 6)?;
    let st_value = u64_at(sym, 8)?;
    let st_size = u64_at(sym, 16)?;
    if st_name == 0 || st_size == 0 || st_shndx == SHN_UNDEF || st_shndx >= SHN_LORESERVE {
        return None;
    }
    if !matches!(st_type, STT_FUNC | STT_GNU_IFUNC | STT_NOTYPE) {
        return None;
    }
    if sections.get(usize::from(st_shndx))?.sh_flags & SHF_EXECINSTR == 0 {
        return None;
    }
    st_value.checked_add(st_size)?;
    Some(Entry {
        st_value,
        st_size: u32::try_from(st_size).ok()?,
        st_name,
    })
}

/// `len` bytes at `offset` lie inside a file of `size` bytes.
fn inside(offset: u64, len: u64, size: u64) -> bool {
    offset.checked_add(len).is_some_and(|end| end <= size)
}

impl Table {
    /// Indexes the function symbols of the first section of type `sh_type` (gABI: there is at
    /// most one SHT_SYMTAB and one SHT_DYNSYM). Ok(None) if there is none; Malformed if its
    /// header is unusable: sh_entsize not sizeof(Elf64_Sym), contents outside the file or not
    /// in it (SHT_NOBITS), sh_link not a string table inside the file.
    pub fn read(
        elf: &Elf,
        src: &(impl Source + ?Sized),
        sh_type: u32,
    ) -> Result<Option<Table>, ElfError> {
        let Some(table) = elf.sections.iter().find(|s| s.sh_type == sh_type) else {
            return Ok(None);
        };
        let size = src.size()?;
        let bad = |what| Err(ElfError::Malformed(what));
        // sh_entsize 0 is tolerated as "not filled in", like `Elf::lookup` does.
        if table.sh_entsize != SYM_SIZE && table.sh_entsize != 0 {
            return bad("symbol table sh_entsize is not 24");
        }
        if table.sh_type == SHT_NOBITS || !inside(table.sh_offset, table.sh_size, size) {
            return bad("symbol table outside the file");
        }
        let Some(strtab) = elf.sections.get(table.sh_link as usize) else {
            return bad("symbol table sh_link is not a section");
        };
        if strtab.sh_type != SHT_STRTAB || !inside(strtab.sh_offset, strtab.sh_size, size) {
            return bad("symbol table sh_link is not a string table in the file");
        }

        // Only whole entries: a trailing partial Elf64_Sym is ignored.
        let whole = table.sh_size - table.sh_size % SYM_SIZE;
        let len = whole.min(MAX_SCAN);
        let mut truncated = len < whole;
        let mut entries = Vec::new();
        let mut buf = vec![0; len.min(BLOCK) as usize];
        let mut done = 0;
        'scan: while done < len {
            let n = (len - done).min(BLOCK);
            let Some(block) = buf.get_mut(..n as usize) else {
                break;
            };
            // No overflow: sh_offset + sh_size was checked above.
            src.read_exact_at(block, table.sh_offset + done)?;
            for sym in block.chunks_exact(SYM_SIZE as usize) {
                let Some(entry) = function(sym, &elf.sections) else {
                    continue;
                };
                if entries.len() == MAX_SYMBOLS {
                    truncated = true;
                    break 'scan;
                }
                entries.push(entry);
            }
            done += n;
        }
        // Stable: symbols at one address stay in table order, where (gABI) STB_LOCAL ones come
        // first, so `find` prefers a global or weak name to a local alias.
        crate::order::by_key(&mut entries, |e| e.st_value);
        entries.shrink_to_fit();
        Ok(Some(Table {
            entries,
            strtab_offset: strtab.sh_offset,
            strtab_size: strtab.sh_size,
            truncated,
        }))
    }

    /// Number of functions indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The innermost symbol whose [st_value, st_value + st_size) holds `pc`: the entry with the
    /// greatest st_value ≤ pc that holds it, among the last `WALK` of those (latest in table
    /// order on a tie). A pc in padding between functions is in none.
    pub fn find(&self, pc: u64) -> Option<&Entry> {
        let end = self.entries.partition_point(|e| e.st_value <= pc);
        let mut below = self.entries.get(..end)?.iter().rev().take(WALK);
        // No underflow: st_value <= pc for every entry below `end`.
        below.find(|e| pc - e.st_value < u64::from(e.st_size))
    }

    /// The name at `st_name` in the string table: one positional read of at most MAX_NAME + 1
    /// bytes, cut at the NUL. None if it starts outside the table, is empty, or runs off the
    /// end of the table without a NUL (a malformed table: better no name than a wrong one).
    /// Names stay as the file has them (C++ and Rust names mangled); bytes that are not UTF-8
    /// become U+FFFD.
    pub fn name(&self, src: &(impl Source + ?Sized), st_name: u32) -> Option<String> {
        let at = u64::from(st_name);
        let left = self.strtab_size.checked_sub(at).filter(|&n| n > 0)?;
        let len = left.min(MAX_NAME as u64 + 1) as usize;
        let mut buf = vec![0; len];
        // No overflow: the string table was checked to lie inside the file.
        src.read_exact_at(&mut buf, self.strtab_offset + at).ok()?;
        match buf.iter().position(|&c| c == 0) {
            Some(0) => None,
            Some(nul) => Some(String::from_utf8_lossy(&buf[..nul]).into_owned()),
            None if len > MAX_NAME => {
                let cut = String::from_utf8_lossy(&buf[..MAX_NAME]);
                Some(format!("{cut}…"))
            }
            None => None,
        }
    }
}
