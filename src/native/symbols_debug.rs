//! An object's build id (the NT_GNU_BUILD_ID note) and the separate debug file it names:
//! `<root>/usr/lib/debug/.build-id/<first 2 hex digits>/<the rest>.debug`.
//!
//! Distributions strip `.symtab` from their libraries and ship it (with the DWARF) in a debug
//! package, installed at that path; gdb, perf and elfutils look there first. The debug file is
//! used only if its own build id is the object's: a debug file of another build would give
//! names at the wrong addresses.

use super::symbols_table::Table;
use crate::bytes::{slice_at, u32_at};
use crate::elf::{Elf, Source, SHT_SYMTAB};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

const SHT_NOTE: u32 = 7;
/// n_type of the GNU build-id note (elf.h), whose n_name is "GNU\0".
const NT_GNU_BUILD_ID: u32 = 3;
const GNU: &[u8] = b"GNU\0";
/// Largest note section read. `.note.gnu.build-id` is 36 bytes (a 20-byte SHA-1 id).
const MAX_NOTES: u64 = 64 << 10;
/// Longest build id accepted (ld --build-id=sha1 gives 20 bytes, md5 16, uuid 16).
const MAX_BUILD_ID: usize = 64;
/// Where debug files are installed, under the target's root.
const DEBUG_DIR: &str = "usr/lib/debug/.build-id";

/// `x` rounded up to a multiple of 4, the alignment of note fields in the GNU notes (ld writes
/// SHT_NOTE sections with sh_addralign 4 even in ELF64).
fn align4(x: usize) -> Option<usize> {
    x.checked_add(3).map(|x| x & !3)
}

/// The descriptor of the first NT_GNU_BUILD_ID note owned by "GNU" in a note section:
/// Elf64_Nhdr is n_namesz @0, n_descsz @4, n_type @8, then the name and the descriptor, each
/// padded to 4 bytes. None if there is none, or it is empty or over MAX_BUILD_ID bytes.
fn build_id_note(notes: &[u8]) -> Option<&[u8]> {
    let mut off = 0;
    while let (Some(namesz), Some(descsz), Some(n_type)) = (
        u32_at(notes, off),
        u32_at(notes, off + 4),
        u32_at(notes, off + 8),
    ) {
        let name_at = off.checked_add(12)?;
        let desc_at = name_at.checked_add(align4(namesz as usize)?)?;
        let desc = slice_at(notes, desc_at, descsz as usize)?;
        if n_type == NT_GNU_BUILD_ID && slice_at(notes, name_at, namesz as usize) == Some(GNU) {
            return (1..=MAX_BUILD_ID).contains(&desc.len()).then_some(desc);
        }
        off = desc_at.checked_add(align4(descsz as usize)?)?;
    }
    None
}

/// The object's build id: from `.note.gnu.build-id`, else from any other SHT_NOTE section.
/// A note section outside the file or over MAX_NOTES is skipped; only I/O errors are errors.
pub(super) fn build_id(elf: &Elf, src: &(impl Source + ?Sized)) -> io::Result<Option<Vec<u8>>> {
    let size = src.size()?;
    let notes = elf.sections.iter().filter(|s| s.sh_type == SHT_NOTE);
    let (named, others): (Vec<_>, Vec<_>) = notes.partition(|s| s.name == ".note.gnu.build-id");
    for s in named.into_iter().chain(others) {
        let end = s.sh_offset.checked_add(s.sh_size);
        if s.sh_size > MAX_NOTES || end.is_none_or(|end| end > size) {
            continue;
        }
        let mut buf = vec![0; s.sh_size as usize];
        src.read_exact_at(&mut buf, s.sh_offset)?;
        if let Some(id) = build_id_note(&buf) {
            return Ok(Some(id.to_vec()));
        }
    }
    Ok(None)
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `<root>/usr/lib/debug/.build-id/ab/cdef….debug` for build id ab cd ef …; None for an id
/// too short to split.
pub(super) fn debug_path(root: &Path, id: &[u8]) -> Option<PathBuf> {
    let hex = hex(id);
    let (dir, rest) = (hex.get(..2)?, hex.get(2..).filter(|r| !r.is_empty())?);
    Some(root.join(DEBUG_DIR).join(dir).join(format!("{rest}.debug")))
}

/// The debug file for build id `id` under `root`, its `.symtab` index and its path, if there
/// is such a file, it is ELF, its build id is `id` and its `.symtab` is usable. Any failure
/// (missing, unreadable, malformed, another build) is just "no debug file".
pub(super) fn open(root: &Path, id: &[u8]) -> Option<(File, Table, PathBuf)> {
    let path = debug_path(root, id)?;
    let file = File::open(&path).ok()?;
    let elf = Elf::parse(&file).ok()?;
    if build_id(&elf, &file).ok()?.as_deref() != Some(id) {
        return None;
    }
    let table = Table::read(&elf, &file, SHT_SYMTAB).ok()??;
    Some((file, table, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A note: n_namesz, n_descsz, n_type, then name and descriptor padded to 4 bytes.
    fn note(name: &[u8], desc: &[u8], n_type: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend((name.len() as u32).to_le_bytes());
        b.extend((desc.len() as u32).to_le_bytes());
        b.extend(n_type.to_le_bytes());
        for part in [name, desc] {
            b.extend(part);
            b.resize(align4(b.len()).unwrap(), 0);
        }
        b
    }

    #[test]
    fn finds_the_gnu_build_id_among_notes() {
        let mut b = note(b"GNU\0", &[9; 16], 5); // NT_GNU_PROPERTY_TYPE_0
        b.extend(note(b"Go\0", &[1, 2, 3, 4, 5], NT_GNU_BUILD_ID));
        b.extend(note(b"GNU\0", &[0xab, 0xcd, 0xef], NT_GNU_BUILD_ID));
        assert_eq!(build_id_note(&b), Some(&[0xab, 0xcd, 0xef][..]));
        assert_eq!(hex(&[0xab, 0x01]), "ab01");
    }

    #[test]
    fn malformed_notes_give_no_id() {
        let good = note(b"GNU\0", &[7; 20], NT_GNU_BUILD_ID);
        assert_eq!(build_id_note(&good), Some(&[7; 20][..]));
        assert_eq!(build_id_note(&good[..good.len() - 1]), None);
        assert_eq!(build_id_note(&note(b"GNU\0", &[], NT_GNU_BUILD_ID)), None);
        assert_eq!(
            build_id_note(&note(b"GNU\0", &[1; 65], NT_GNU_BUILD_ID)),
            None
        );
        let mut huge = good.clone();
        huge[0..4].copy_from_slice(&u32::MAX.to_le_bytes()); // n_namesz
        assert_eq!(build_id_note(&huge), None);
        huge[0..8].copy_from_slice(&[4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]); // n_descsz
        assert_eq!(build_id_note(&huge), None);
        assert_eq!(build_id_note(&[]), None);
        assert_eq!(build_id_note(&[0; 11]), None);
    }

    #[test]
    fn debug_paths_split_the_id() {
        let root = Path::new("/proc/42/root");
        let path = debug_path(root, &[0x93, 0xac, 0x61]).unwrap();
        let want = "/proc/42/root/usr/lib/debug/.build-id/93/ac61.debug";
        assert_eq!(path, Path::new(want));
        assert_eq!(debug_path(root, &[0x93]), None);
    }
}
