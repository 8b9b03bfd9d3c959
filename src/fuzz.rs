//! Entry points for the fuzz targets in `tests/fuzz`: each decodes untrusted bytes with the
//! code pyflame runs on a target's memory or files, and must return (never panic, hang or
//! allocate beyond its caps) whatever the bytes are.
//!
//! Where a decoder takes parameters besides the bytes, the first bytes of the input choose them,
//! so that the fuzzer explores them too; `split` says how.

use crate::elf::{Elf, Source, PT_LOAD};
use crate::memory::{Memory, ReadError};
use crate::native::cfi::{self, Arch, Regs, SectionData, Sections, UnwindTable};
use crate::proc;
use crate::python::layout::{debug_extras, for_version, Layout, Str};
use crate::python::types::Types;
use crate::python::{debug_offsets, lines, strings};

/// The symbols `python::find` looks up: its `.dynsym` list, then `interp_head` (all tables).
const DYNAMIC: [&str; 5] = [
    "_PyRuntime",
    "_PyThreadState_Current",
    "PyInterpreterState_Head",
    "PyCode_Type",
    "Py_Version",
];
const SYMTAB: [&str; 1] = ["interp_head"];

/// Where a shared object is typically mapped, for `load_bias`.
const MAP_START: u64 = 0x7f00_0000_0000;

/// Where the input sits in the fake address space of `str_object`.
const STR_BASE: u64 = 0x10_0000;

/// `N` leading bytes as an array, and the rest; None if the input is shorter.
fn split<const N: usize>(data: &[u8]) -> Option<([u8; N], &[u8])> {
    let (head, rest) = data.split_at_checked(N)?;
    Some((head.try_into().ok()?, rest))
}

/// The whole input is an ELF file (so a crash input is one, as `Elf::parse` would read it from
/// disk); the mapping offsets and addresses tried come from its own headers and symbols.
pub fn elf(data: &[u8]) {
    let Ok(elf) = Elf::parse(data) else {
        return;
    };
    for name in [".rodata", ".text", ".dynsym", ""] {
        let _ = elf.section(name);
    }
    let _ = elf.lookup_dynamic(data, &DYNAMIC);
    let dynamic = elf.lookup(data, &DYNAMIC).unwrap_or_default();
    let symtab = elf.lookup(data, &SYMTAB).unwrap_or_default();
    for s in elf.segments.iter().filter(|s| s.p_type == PT_LOAD) {
        let end = s.p_offset.wrapping_add(s.p_filesz);
        for offset in [s.p_offset, s.p_offset & !0xfff, end.wrapping_sub(1), end] {
            let _ = elf.load_bias(MAP_START, offset);
        }
        let _ = elf.vaddr_to_offset(s.p_vaddr);
        let _ = elf.vaddr_to_offset(s.p_vaddr.wrapping_add(s.p_memsz));
    }
    // As `python::interp_head` does with PyInterpreterState_Head: read code at a symbol.
    for sym in dynamic.iter().chain(&symtab).flatten() {
        if let Some(offset) = elf.vaddr_to_offset(sym.value) {
            let _ = data.read_exact_at(&mut [0; 16], offset);
        }
    }
}

/// `co_firstlineno` and the offset (little-endian i32s), then the table.
fn line_args(data: &[u8]) -> Option<(i32, i32, &[u8])> {
    let (first, rest) = split::<4>(data)?;
    let (lasti, table) = split::<4>(rest)?;
    Some((i32::from_le_bytes(first), i32::from_le_bytes(lasti), table))
}

/// `co_lnotab`: a flag byte (bit 0: signed line increments, 3.6+), then `line_args`.
pub fn lnotab(data: &[u8]) {
    let Some(([flag], rest)) = split::<1>(data) else {
        return;
    };
    let Some((first, lasti, table)) = line_args(rest) else {
        return;
    };
    let signed = flag & 1 != 0;
    for lasti in [lasti, 0, i32::MAX] {
        lines::lnotab_line(table, first, lasti, signed);
    }
    assert_eq!(lines::lnotab_line(table, first, -1, signed), first);
}

/// 3.10's `co_linetable`: `line_args`.
pub fn linetable310(data: &[u8]) {
    let Some((first, lasti, table)) = line_args(data) else {
        return;
    };
    for lasti in [lasti, 0, i32::MAX] {
        lines::linetable310_line(table, first, lasti);
    }
    assert_eq!(lines::linetable310_line(table, first, -1), first);
}

/// The 3.11+ location table: `line_args`.
pub fn location_table(data: &[u8]) {
    let Some((first, lasti, table)) = line_args(data) else {
        return;
    };
    for lasti in [lasti, 0, i32::MAX] {
        lines::location_table_line(table, first, lasti);
    }
    assert_eq!(lines::location_table_line(table, first, -1), first);
}

/// The input as the target's memory, from `base` on; nothing is mapped elsewhere.
struct InputMemory<'a> {
    base: u64,
    bytes: &'a [u8],
}

impl Memory for InputMemory<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        match self.read_prefix(addr, buf)? {
            n if n == buf.len() => Ok(()),
            _ => Err(ReadError::Fault {
                addr,
                len: buf.len(),
            }),
        }
    }

    fn read_prefix(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        let fault = ReadError::Fault {
            addr,
            len: buf.len(),
        };
        let offset = addr.checked_sub(self.base).ok_or(fault.clone())?;
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|o| self.bytes.get(o..));
        let rest = rest
            .filter(|r| !r.is_empty() || buf.is_empty())
            .ok_or(fault)?;
        let n = buf.len().min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

/// The layout `str_object` decodes with: 2.7, 3.6, 3.11, 3.12, or 3.12's with the string state
/// bits of a 3.14 free-threaded build (the 3.13+ layouts come from `_Py_DebugOffsets`).
fn string_layout(which: u8) -> Layout {
    let mut layout = *match which % 5 {
        0 => for_version(2, 7),
        1 => for_version(3, 6),
        2 => for_version(3, 11),
        _ => for_version(3, 12),
    }
    .expect("a version with a row");
    if which % 5 == 4 {
        if let Str::Pep393 { bits, .. } = &mut layout.string {
            *bits = debug_extras(14, true).state;
        }
    }
    layout
}

/// A `str` (bit 7 of the first byte clear) or `bytes` object at `STR_BASE`, in the layout the
/// first byte picks (`string_layout`); the rest of the input is the memory from `STR_BASE` on.
pub fn str_object(data: &[u8]) {
    let Some(([which], bytes)) = split::<1>(data) else {
        return;
    };
    let layout = string_layout(which & 0x7f);
    let mem = InputMemory {
        base: STR_BASE,
        bytes,
    };
    let mut types = Types::default();
    if which & 0x80 == 0 {
        let _ = strings::read_str(&mem, &layout, &mut types, STR_BASE);
    } else {
        let cap = strings::MAX_TABLE_BYTES;
        let _ = strings::read_bytes(&mem, &layout, &mut types, STR_BASE, cap);
    }
}

/// The bytes read from `_PyRuntime` (at most `debug_offsets::READ_LEN` in pyflame).
pub fn debug_offsets(data: &[u8]) {
    let _ = debug_offsets::version(data);
    if let Ok((version, layout)) = debug_offsets::layout(data) {
        debug_offsets::known(version.minor);
        layout.tstate_read_len();
        layout.frame_read_len();
        layout.code_read_len();
        assert_small_numbers(&layout);
    }
}

/// Every number in an accepted layout is a size, a bit mask, or an offset inside a struct whose
/// size the validation capped at 16 MiB: a bigger one is a member it let through, which the
/// walker would add to an address or a length. Checked on the `Debug` text so that it covers
/// every member, those added later too.
fn assert_small_numbers(layout: &Layout) {
    let text = format!("{layout:?}");
    let numbers = text.split(|c: char| !c.is_ascii_digit());
    for n in numbers.filter_map(|n| n.parse::<u64>().ok()) {
        assert!(n <= 1 << 24, "{n} in {text}");
    }
}

/// /proc/PID/maps, and what `python::find` asks of each mapping.
pub fn maps(data: &[u8]) {
    for m in proc::parse_maps(data) {
        let _ = (m.is_file(), m.is_deleted(), m.file_path(), m.file_name());
    }
}

/// /proc/PID/status.
pub fn status(data: &[u8]) {
    proc::parse_status(data);
}

/// /proc/PID/stat (or task/TID/stat): the state letter and the flags.
pub fn stat(data: &[u8]) {
    proc::task_state(data);
    proc::stat_flags(data);
}

/// Link-time addresses of the sections `cfi` builds a table from.
const EH_FRAME_HDR_ADDR: u64 = 0x1000;
const EH_FRAME_ADDR: u64 = 0x2000;

/// Call-frame information: a flag byte (bit 0: `.debug_frame`, else `.eh_frame`; bit 1:
/// AArch64, else x86-64; bit 2: an `.eh_frame_hdr` follows), a pc (little-endian u64), with bit
/// 2 a u16 length and that many bytes of `.eh_frame_hdr`, then the section. The rows around the
/// pc are computed and stepped through, memory being the input itself at address 0.
pub fn cfi(data: &[u8]) {
    let Some(([flags], rest)) = split::<1>(data) else {
        return;
    };
    let Some((pc, mut rest)) = split::<8>(rest) else {
        return;
    };
    let pc = u64::from_le_bytes(pc);
    let mut hdr = None;
    if flags & 4 != 0 {
        let Some((len, tail)) = split::<2>(rest) else {
            return;
        };
        let Some((bytes, tail)) = tail.split_at_checked(usize::from(u16::from_le_bytes(len)))
        else {
            return;
        };
        hdr = Some(SectionData {
            bytes,
            addr: EH_FRAME_HDR_ADDR,
        });
        rest = tail;
    }
    let arch = match flags & 2 {
        0 => Arch::X86_64,
        _ => Arch::Aarch64,
    };
    let sections = match flags & 1 {
        0 => Sections {
            eh_frame: Some(SectionData {
                bytes: rest,
                addr: EH_FRAME_ADDR,
            }),
            eh_frame_hdr: hdr,
            debug_frame: None,
        },
        _ => Sections {
            debug_frame: Some(rest),
            ..Sections::default()
        },
    };
    let Ok(table) = UnwindTable::new(arch, &sections) else {
        return;
    };
    let read = |addr: u64| {
        let off = usize::try_from(addr).ok()?;
        crate::bytes::u64_at(data, off)
    };
    for pc in [pc, pc.wrapping_sub(1), pc.wrapping_add(1)] {
        let Ok(row) = table.find_row(pc) else {
            continue;
        };
        assert!(row.start <= pc && pc < row.end, "{row:?} for {pc:#x}");
        let regs = Regs::new(arch, pc, 0x100, 0x80);
        if let Some(caller) = cfi::step(&row, &regs, read) {
            let _ = table.row(caller.pc);
        }
        let _ = cfi::step_fp(&regs, read);
    }
}

#[path = "fuzz_asyncio.rs"]
mod asyncio_target;
pub use asyncio_target::asyncio;
#[cfg(test)]
pub(crate) use asyncio_target::{asyncio_run, ASYNCIO_HEADER, IMAGE_BASE};

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry point, by the name of its fuzz target and seed directory.
    type Entry = (&'static str, fn(&[u8]));

    const ENTRIES: [Entry; 10] = [
        ("cfi", cfi),
        ("elf", elf),
        ("lnotab", lnotab),
        ("linetable310", linetable310),
        ("location_table", location_table),
        ("str_object", str_object),
        ("debug_offsets", debug_offsets),
        ("maps", maps),
        ("status", status),
        ("stat", stat),
    ];

    /// Every entry point takes the empty input, a short one, and bytes of every value.
    #[test]
    fn every_entry_returns_on_small_inputs() {
        let all: Vec<u8> = (0..=255).collect();
        for (_, entry) in ENTRIES {
            for input in [&[][..], &[0x80], b"\x7fELF\x02\x01", &all] {
                entry(input);
            }
        }
    }

    /// `cfi`: small inputs, each section kind, with and without an
    /// `.eh_frame_hdr`.
    #[test]
    fn cfi_returns_on_small_inputs() {
        let all: Vec<u8> = (0..=255).collect();
        for flags in 0..8u8 {
            for rest in [&[][..], &[0x80], &[4, 0, 0xff, 0xff], &all] {
                let mut input = vec![flags];
                input.extend_from_slice(&0x1000u64.to_le_bytes());
                input.extend_from_slice(rest);
                cfi(&input);
                cfi(&input[..input.len().min(5)]);
            }
        }
    }

    /// Every committed seed goes through its entry point, and the real `_Py_DebugOffsets`
    /// tables among them validate (so `assert_small_numbers` holds for real layouts).
    #[test]
    fn every_seed_runs() {
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds");
        for (name, entry) in ENTRIES {
            let files = std::fs::read_dir(seeds.join(name)).expect("a seed directory");
            for file in files {
                let bytes = std::fs::read(file.unwrap().path()).unwrap();
                entry(&bytes);
                if name == "debug_offsets" {
                    assert!(debug_offsets::layout(&bytes).is_ok());
                }
                if name == "str_object" {
                    assert_str_seed_decodes(&bytes);
                }
            }
        }
    }

    /// A `str_object` seed is a real object followed by its type object: the reader accepts it
    /// (except 2.x `unicode`, which is not what 2.x names are), so the fuzzer starts from
    /// inputs that get past the type check.
    fn assert_str_seed_decodes(seed: &[u8]) {
        let (which, bytes) = (seed[0], &seed[1..]);
        let layout = string_layout(which & 0x7f);
        let mem = InputMemory {
            base: STR_BASE,
            bytes,
        };
        let mut types = Types::default();
        let read = match which & 0x80 {
            0 => strings::read_str(&mem, &layout, &mut types, STR_BASE).map(|_| ()),
            _ => strings::read_bytes(&mem, &layout, &mut types, STR_BASE, 64).map(|_| ()),
        };
        let py2_unicode = matches!(layout.string, Str::Bytes { .. })
            && bytes.windows(8).any(|w| w == b"unicode\0");
        assert_eq!(read.is_ok(), !py2_unicode, "{which:#x}: {read:?}");
    }

    #[test]
    fn input_memory_maps_the_input_at_its_base() {
        let mem = InputMemory {
            base: STR_BASE,
            bytes: &[1, 2, 3],
        };
        let mut buf = [0; 2];
        assert_eq!(mem.read(STR_BASE + 1, &mut buf), Ok(()));
        assert_eq!(buf, [2, 3]);
        assert!(mem.read(STR_BASE + 2, &mut buf).is_err());
        assert!(mem.read(STR_BASE - 1, &mut buf).is_err());
        assert_eq!(mem.read_prefix(STR_BASE + 2, &mut [0; 8]), Ok(1));
        assert!(mem.read_prefix(STR_BASE + 3, &mut [0; 8]).is_err());
        assert_eq!(
            mem.u64(STR_BASE),
            Err(ReadError::Fault {
                addr: STR_BASE,
                len: 8
            })
        );
    }

    /// A 3.11 `str` object holding "ab": the `str_object` input format.
    #[test]
    fn str_object_reads_a_real_layout() {
        let layout = string_layout(2);
        let Str::Pep393 {
            length,
            state,
            ascii_data,
            ready_mask,
            bits,
            ..
        } = layout.string
        else {
            panic!("3.11 has PEP 393 strings");
        };
        let mut obj = vec![0u8; ascii_data as usize];
        obj[length as usize..][..8].copy_from_slice(&2i64.to_le_bytes());
        let st = (1 << bits.kind_shift) | bits.compact | bits.ascii | ready_mask.unwrap_or(0);
        obj[state as usize..][..4].copy_from_slice(&st.to_le_bytes());
        obj.extend_from_slice(b"ab\0");
        // Its type object, `str` (Py_TPFLAGS_UNICODE_SUBCLASS), after it in the input.
        let o = layout.objects;
        let tp = obj.len().next_multiple_of(8);
        obj.resize(tp + 256, 0);
        obj[o.ob_type as usize..][..8].copy_from_slice(&(STR_BASE + tp as u64).to_le_bytes());
        let name = STR_BASE + tp as u64 + 248;
        obj[tp + o.tp_name as usize..][..8].copy_from_slice(&name.to_le_bytes());
        obj[tp + o.tp_flags as usize..][..8].copy_from_slice(&(1u64 << 28).to_le_bytes());
        obj[tp + 248..][..4].copy_from_slice(b"str\0");
        let mem = InputMemory {
            base: STR_BASE,
            bytes: &obj,
        };
        assert_eq!(
            strings::read_str(&mem, &layout, &mut Types::default(), STR_BASE).as_deref(),
            Ok("ab")
        );
    }
}
