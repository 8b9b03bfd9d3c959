//! Function symbols of an object file (`.symtab`, `.dynsym`, a debug file found by build id).
//!
//! The unwinder yields program counters; each falls in a mapping of some object file, and once
//! the load bias is taken off (`Elf::load_bias`) it is an address in the file's link-time terms,
//! the terms of st_value. `Symbols` turns such a pc into `function + offset` from the object's
//! own files, read through `/proc/PID/root` so a container's libraries are used, never the
//! host's. Where to look, best first:
//!
//! 1. the object's `.symtab` (every function, static ones too);
//! 2. if it has none but has a build id, `.symtab` of the debug file
//!    `<root>/usr/lib/debug/.build-id/xx/yyyy.debug` whose build id is the same;
//! 3. the object's `.dynsym` (exported functions only: what `strip --strip-all` leaves).
//!
//! Rule: never a wrong name. A pc gets a name only if it lies inside a sized function symbol;
//! in padding, in a function the tables don't describe (a static one in a stripped library)
//! or past a cap, it gets none, and the caller labels it `object+0x<offset>` (`label`).
//! Zero-sized symbols are not used at all (see `symbols_table::function`).
//! `.gnu_debuglink` is not followed: the build-id path is what distributions install.

use crate::elf::{Elf, ElfError, Source, SHT_DYNSYM, SHT_SYMTAB};
use std::fs::File;
use std::path::{Path, PathBuf};

#[path = "symbols_debug.rs"]
mod debug;
#[path = "symbols_table.rs"]
mod symbols_table;

use symbols_table::Table;

/// Which table the names come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The object's own `.symtab`.
    Symtab,
    /// `.symtab` of the separate debug file at this path, found by build id.
    DebugFile(PathBuf),
    /// The object's `.dynsym`: exported functions only.
    Dynsym,
    /// No usable symbol table: every pc is unnamed.
    Nothing,
}

/// The function symbols of one object file, indexed by address; names are read from the file
/// (`S`: the object or its debug file, kept open) when asked for.
#[derive(Debug)]
pub(crate) struct Symbols<S = File> {
    src: S,
    table: Option<Table>,
    /// Where the names come from, and the object's build id: what the tests check.
    #[cfg_attr(not(test), allow(dead_code))]
    origin: Origin,
    #[cfg_attr(not(test), allow(dead_code))]
    build_id: Option<Vec<u8>>,
}

/// The object's own table of type `sh_type`. A table with a malformed header counts as absent
/// (the other table or the debug file may still serve); only an I/O error is an error.
fn own_table(
    elf: &Elf,
    src: &(impl Source + ?Sized),
    sh_type: u32,
) -> Result<Option<Table>, ElfError> {
    match Table::read(elf, src, sh_type) {
        Ok(table) => Ok(table),
        Err(ElfError::Malformed(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

impl<S: Source> Symbols<S> {
    /// Indexes an object from any source: `.symtab`, else `.dynsym`. No debug-file lookup (see
    /// `load`). Err if the ELF headers cannot be read (not ELF, ELFCLASS32, truncated) or on
    /// I/O errors; a malformed symbol table is passed over.
    pub fn from_source(src: S) -> Result<Symbols<S>, ElfError> {
        let elf = Elf::parse(&src)?;
        let build_id = debug::build_id(&elf, &src)?;
        let mut symbols = Symbols {
            table: None,
            origin: Origin::Nothing,
            build_id,
            src,
        };
        symbols.table = own_table(&elf, &symbols.src, SHT_SYMTAB)?;
        if symbols.table.is_some() {
            symbols.origin = Origin::Symtab;
        } else {
            symbols.table = own_table(&elf, &symbols.src, SHT_DYNSYM)?;
            if symbols.table.is_some() {
                symbols.origin = Origin::Dynsym;
            }
        }
        Ok(symbols)
    }

    /// The function holding `pc` (a link-time address) and pc's offset into it, or None when
    /// no sized function symbol holds it or its name cannot be read. Costs a binary search and
    /// one pread of at most 513 bytes; callers that name the same pc often cache the result.
    pub fn name(&self, pc: u64) -> Option<(String, u64)> {
        let table = self.table.as_ref()?;
        let entry = table.find(pc)?;
        let name = table.name(&self.src, entry.st_name)?;
        Some((name, pc - entry.st_value))
    }

    /// The frame label for `pc` in the object at `object` (a path as /proc/PID/maps shows it):
    /// the function's name, else `label(None, object, pc)`.
    #[cfg(test)]
    pub fn label(&self, object: &str, pc: u64) -> String {
        label(self.name(pc).as_ref().map(|(n, _)| n.as_str()), object, pc)
    }

    /// The NT_GNU_BUILD_ID descriptor of the object (not its debug file's, though they match),
    /// to key caches by; None if it has none.
    #[cfg(test)]
    pub fn build_id(&self) -> Option<&[u8]> {
        self.build_id.as_deref()
    }

    /// Where the names come from.
    #[cfg(test)]
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Number of functions indexed.
    pub fn len(&self) -> usize {
        self.table.as_ref().map_or(0, Table::len)
    }

    /// A cap cut the index short (a hostile or gigantic table): some functions are unnamed.
    #[cfg(test)]
    pub fn truncated(&self) -> bool {
        self.table.as_ref().is_some_and(|t| t.truncated)
    }
}

impl Symbols<File> {
    /// Indexes the object file at `path` (already inside the target's root, e.g.
    /// `/proc/PID/root/usr/lib/libc.so.6`), looking for its debug file under `root` (the
    /// target's `/proc/PID/root`) when it has a build id but no usable `.symtab`.
    pub fn load(path: &Path, root: &Path) -> Result<Symbols<File>, ElfError> {
        let file = File::open(path)?;
        let elf = Elf::parse(&file)?;
        let build_id = debug::build_id(&elf, &file)?;
        let own = |table, origin, src| Symbols {
            src,
            table,
            origin,
            build_id: build_id.clone(),
        };
        if let Some(table) = own_table(&elf, &file, SHT_SYMTAB)? {
            return Ok(own(Some(table), Origin::Symtab, file));
        }
        if let Some((debug, table, at)) = build_id.as_ref().and_then(|id| debug::open(root, id)) {
            return Ok(own(Some(table), Origin::DebugFile(at), debug));
        }
        match own_table(&elf, &file, SHT_DYNSYM)? {
            Some(table) => Ok(own(Some(table), Origin::Dynsym, file)),
            None => Ok(own(None, Origin::Nothing, file)),
        }
    }
}

/// A native frame's label: `name` when known, else `<basename of object>+0x<pc in hex>`, pc
/// being the link-time address (what `addr2line -e object` and `objdump` take), not a runtime
/// address that changes with ASLR.
pub(crate) fn label(name: Option<&str>, object: &str, pc: u64) -> String {
    match name {
        Some(name) => name.to_string(),
        None => {
            let base = object.rsplit('/').next().unwrap_or(object);
            format!("{base}+0x{pc:x}")
        }
    }
}

/// Lower-case hex of a build id, as the debug-file paths and `file(1)` spell it.
#[cfg(test)]
pub(crate) fn build_id_hex(id: &[u8]) -> String {
    debug::hex(id)
}

#[cfg(test)]
#[path = "symbols_tests.rs"]
mod tests;
