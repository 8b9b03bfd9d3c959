//! Finding the CPython runtime in a process: which mapped file holds it, where its symbols
//! are at run time, which version it is, and so which layout to walk it with.

pub mod asyncio;
pub mod code;
pub mod debug_offsets;
#[cfg(test)]
mod fake;
mod interp_head;
mod known;
pub use known::{find_known, Known};
pub mod layout;
pub mod lines;
#[cfg(test)]
mod published;
pub mod strings;
pub mod types;
pub mod version;
pub mod walk;

use std::fs::File;
use std::os::unix::fs::MetadataExt;

use crate::arch;
use crate::elf::{Elf, Symbol, ET_DYN, ET_EXEC};
use crate::error::{Error, Result};
use crate::memory::Memory;
use crate::proc::{self, Mapping};
use interp_head::interp_head;
use layout::{InterpRoot, Layout};
use version::Version;
use walk::Roots;

/// The `sh_flags` bit of sections that occupy memory (ELF gABI).
const SHF_ALLOC: u64 = 2;

/// Symbols looked up in `.dynsym`, in this order.
const DYNAMIC: [&str; 5] = [
    "_PyRuntime",
    "_PyThreadState_Current",
    "PyInterpreterState_Head",
    "PyCode_Type",
    "Py_Version",
];
const RUNTIME: usize = 0;
const TSTATE_CURRENT: usize = 1;
const HEAD_FN: usize = 2;
const CODE_TYPE: usize = 3;
const PY_VERSION: usize = 4;

/// The CPython runtime of a process.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub version: Version,
    pub layout: Layout,
    pub roots: Roots,
    pub source: Source,
    /// The file that holds it, as the target sees it.
    pub path: String,
}

impl Runtime {
    /// What `--verbose` says about the runtime found.
    pub fn describe(&self) -> String {
        let build = match self.layout.gil {
            layout::GilHolder::Disabled => " (free-threaded)",
            _ => "",
        };
        let source = match self.source {
            Source::Table => "pyflame's table",
            Source::DebugOffsets => "the target's own _Py_DebugOffsets",
        };
        format!(
            "Python {}{build} in {}; layout from {source}",
            self.version, self.path
        )
    }
}

/// Where the layout came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// pyflame's own table (2.6 to 3.12).
    Table,
    /// The target's `_Py_DebugOffsets` (3.13+).
    DebugOffsets,
}

/// A mapped ELF file that defines the runtime's symbols.
struct Object<'a> {
    mapping: &'a Mapping,
    file: File,
    elf: Elf,
    bias: u64,
    symbols: Vec<Option<Symbol>>,
}

impl Object<'_> {
    fn addr(&self, i: usize) -> Option<u64> {
        self.symbols[i].map(|s| self.bias.wrapping_add(s.value))
    }
}

/// Finds the runtime of process `pid`. `abi` forces the layout of that version.
pub fn find(
    pid: i32,
    maps: &[Mapping],
    abi: Option<(u8, u8)>,
    mem: &dyn Memory,
) -> Result<Runtime> {
    let mut looked = Vec::new();
    for mapping in candidates(pid, maps) {
        match inspect(pid, mapping) {
            Ok(Some(object)) => return runtime(object, abi, mem),
            Ok(None) => looked.push(mapping.file_name().to_string()),
            Err(why) => looked.push(format!("{} ({why})", mapping.file_name())),
        }
    }
    let looked = if looked.is_empty() {
        "it maps no libpython and its executable is not a python".to_string()
    } else {
        format!(
            "none of {} defines _PyRuntime, _PyThreadState_Current or interp_head",
            looked.join(", ")
        )
    };
    Err(Error::Fatal(format!(
        "Failed to locate libpython in PID {pid}: {looked}; is it a Python process? (for a libpython that is not mapped yet, retry later)"
    )))
}

/// The files worth inspecting, most likely first: libpython, the executable, then other
/// shared objects with "python" in their name (embedders such as uWSGI plugins). One mapping
/// per file: its first executable mapping, which the dynamic loader made (a stray mmap of the
/// whole file, as some runtimes make, is not executable), else its first mapping.
pub(crate) fn candidates(pid: i32, maps: &[Mapping]) -> Vec<&Mapping> {
    let exe = proc::exe(pid)
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    let mut files: Vec<&Mapping> = Vec::new();
    for m in maps.iter().filter(|m| m.is_file()) {
        match files.iter_mut().find(|f| f.path == m.path) {
            None => files.push(m),
            Some(f) if !f.perms.contains('x') && m.perms.contains('x') => *f = m,
            Some(_) => {}
        }
    }
    let rank = |m: &Mapping| {
        let name = m.file_name();
        if version::from_file_name(name, "libpython").is_some() {
            0
        } else if exe.as_deref().is_some_and(|e| e == m.file_path()) {
            1
        } else if name.contains("python") {
            2
        } else {
            3
        }
    };
    files.retain(|m| rank(m) < 3);
    crate::order::by_key(&mut files, |m| rank(m));
    files
}

/// Opens a mapped file through the target's root (so containers work), checking that it is
/// still the mapped inode; otherwise through /proc/PID/map_files (a deleted or replaced file).
fn open(pid: i32, m: &Mapping) -> std::io::Result<File> {
    if !m.is_deleted() {
        if let Ok(f) = File::open(proc::in_root(pid, m.file_path())) {
            if f.metadata().map(|md| md.ino() == m.inode).unwrap_or(false) {
                return Ok(f);
            }
        }
    }
    File::open(format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end))
}

/// The runtime's symbols in this file, if it has them.
fn inspect(pid: i32, mapping: &Mapping) -> std::result::Result<Option<Object<'_>>, String> {
    let file = open(pid, mapping).map_err(|e| e.to_string())?;
    let elf = Elf::parse(&file).map_err(|e| e.to_string())?;
    if elf.e_machine != arch::EM {
        return Err(format!(
            "not an {} ELF file (e_machine {})",
            arch::NAME,
            elf.e_machine
        ));
    }
    let symbols = elf
        .lookup_dynamic(&file, &DYNAMIC)
        .map_err(|e| e.to_string())?;
    if symbols[RUNTIME].is_none() && symbols[TSTATE_CURRENT].is_none() {
        return Ok(None);
    }
    let bias = match elf.e_type {
        // Linked at fixed addresses: symbol values are run-time addresses.
        ET_EXEC => 0,
        ET_DYN => elf
            .load_bias(mapping.start, mapping.offset)
            .ok_or_else(|| format!("no PT_LOAD segment covers offset {:#x}", mapping.offset))?,
        other => {
            return Err(format!(
                "not an executable or shared object (e_type {other})"
            ))
        }
    };
    Ok(Some(Object {
        mapping,
        file,
        elf,
        bias,
        symbols,
    }))
}

fn runtime(object: Object, abi: Option<(u8, u8)>, mem: &dyn Memory) -> Result<Runtime> {
    let path = object.mapping.file_path().to_string();
    let version = match abi {
        Some((major, minor)) => Version::new(major, minor, None),
        None => detect_version(&object, mem)?,
    };
    // 3.13+ publishes its own offsets, and the table has no row for them.
    let published = ((version.major, version.minor) >= layout::DEBUG_OFFSETS_SINCE).then(|| {
        let rt = object
            .addr(RUNTIME)
            .ok_or("it defines no _PyRuntime".to_string())?;
        let mut table = vec![0u8; debug_offsets::READ_LEN];
        match mem.read_prefix(rt, &mut table) {
            Ok(n) => debug_offsets::layout(&table[..n]),
            Err(e) => Err(format!("cannot read _PyRuntime: {e}")),
        }
    });
    let (layout, source) = match (published, layout::for_version(version.major, version.minor)) {
        (Some(Ok((_, layout))), _) => (layout, Source::DebugOffsets),
        (_, Some(row)) => (*row, Source::Table),
        (Some(Err(why)), None) => {
            return Err(Error::Fatal(format!(
                "Target has Python ABI {} (Python {version}, in {path}), which pyflame reads through its _Py_DebugOffsets, but {why}",
                version.abi()
            )))
        }
        (None, None) => {
            return Err(Error::Fatal(format!(
                "Target has Python ABI {} (Python {version}, in {path}), which is not supported by this pyflame build (ABI list: {})",
                version.abi(),
                crate::cli::abi_list()
            )))
        }
    };
    let mut roots = Roots {
        runtime: object.addr(RUNTIME),
        interp_head: None,
        tstate_current: object.addr(TSTATE_CURRENT),
        code_type: object.addr(CODE_TYPE),
    };
    match layout.interp_root {
        InterpRoot::Runtime(_) if roots.runtime.is_none() => {
            return Err(Error::Fatal(format!(
                "Failed to locate _PyRuntime in {path} (Python {version})"
            )));
        }
        InterpRoot::Runtime(_) => {}
        InterpRoot::InterpHead => {
            roots.interp_head = Some(interp_head(&object).ok_or_else(|| {
                Error::Fatal(format!(
                    "Failed to locate interp_head in {path} (Python {version}): it is stripped and PyInterpreterState_Head could not be decoded"
                ))
            })?);
        }
    }
    let runtime = Runtime {
        version,
        layout,
        roots,
        source,
        path: path.clone(),
    };
    let newer = !debug_offsets::known(version.minor);
    let forced = std::env::var_os(CHECK_WALK).is_some_and(|v| v == "1");
    if source == Source::DebugOffsets && (newer || forced) {
        // A release newer than this build: its table validated, now so must a walk through it.
        walk::Walker::check(mem, layout, roots).map_err(|why| {
            let newer = match newer {
                true => ", newer than this pyflame build knows;",
                false => ":",
            };
            Error::Fatal(format!(
                "Target has Python ABI {} (Python {version}, in {path}){newer} its _Py_DebugOffsets table looked valid, but a walk through it failed: {why}",
                version.abi()
            ))
        })?;
    }
    Ok(runtime)
}

/// Set to 1, the walk that checks the table of a release newer than this build is made for
/// every 3.13+ target too: a hook for the tests, which have no newer release to run.
const CHECK_WALK: &str = "PYFLAME_CHECK_WALK";
/// The version, most reliable source first: the `_Py_DebugOffsets` header (3.13+),
/// `Py_Version` (3.11+), the library's file name, the `PY_VERSION` string in the image, the
/// executable's file name.
fn detect_version(object: &Object, mem: &dyn Memory) -> Result<Version> {
    if let Some(rt) = object.addr(RUNTIME) {
        let mut head = [0u8; 16];
        if mem.read(rt, &mut head).is_ok() && &head[..8] == b"xdebugpy" {
            return Ok(Version::from_hex(u64::from_le_bytes(
                head[8..].try_into().unwrap_or_default(),
            )));
        }
    }
    if let Some(addr) = object.addr(PY_VERSION) {
        let mut b = [0u8; 4];
        if mem.read(addr, &mut b).is_ok() {
            return Ok(Version::from_hex(u32::from_le_bytes(b) as u64));
        }
    }
    let name = object.mapping.file_name();
    if let Some(v) = version::from_file_name(name, "libpython") {
        return Ok(v);
    }
    // _PyRuntime appeared in 3.7; before it, the thread-state pointer was a global.
    let major = object.symbols[RUNTIME].map(|_| 3);
    if let Some(v) = version_string(object, major, mem) {
        return Ok(v);
    }
    version::from_file_name(name, "python").ok_or_else(|| {
        Error::Fatal(format!(
            "Failed to detect a Python ABI in {}: no Py_Version, no version in its file name, no PY_VERSION string; use --abi",
            object.mapping.file_path()
        ))
    })
}

/// Searches `.rodata`, as mapped in the process, for the PY_VERSION literal, a piece at a time
/// (the section's size comes from the file: at most `MAX_RODATA` of it is searched).
fn version_string(object: &Object, major: Option<u8>, mem: &dyn Memory) -> Option<Version> {
    const PIECE: usize = 1 << 20;
    const OVERLAP: usize = 32;
    const MAX_RODATA: u64 = 32 << 20;
    let rodata = object
        .elf
        .section(".rodata")
        .filter(|s| s.sh_flags & SHF_ALLOC != 0)?;
    let start = object.bias.wrapping_add(rodata.sh_addr);
    let len = rodata.sh_size.min(MAX_RODATA);
    let mut piece = vec![0u8; PIECE];
    let mut first = None;
    let mut at = 0;
    while at < len {
        let n = (len - at).min(PIECE as u64) as usize;
        // From memory: the file may have been replaced since the process mapped it.
        mem.read(start.wrapping_add(at), &mut piece[..n]).ok()?;
        let (exact, tail) = version::scan_version_string(&piece[..n], major);
        if exact.is_some() {
            return exact;
        }
        first = first.or(tail);
        at += (n.saturating_sub(OVERLAP)).max(1) as u64;
        if n < PIECE {
            break;
        }
    }
    first
}
