//! Tests for the ELF reader: real files (this test binary, the libc it maps, pyenv's libpython),
//! images from a tiny in-test ELF64 writer, and malformed input that must never panic.

use super::*;
use std::cell::Cell;
use std::fs::File;
use std::path::{Path, PathBuf};

const SHT_PROGBITS: u32 = 1;
const SHT_STRTAB: u32 = 3;
const PT_NOTE: u32 = 4;
const PT_GNU_RELRO: u32 = 0x6474_e552;
/// st_info of a global function: STB_GLOBAL << 4 | STT_FUNC.
const GLOBAL_FUNC: u8 = 0x12;
const TEXT: u16 = 1;

// ---------------------------------------------------------------------------------------------
// A tiny ELF64 writer.

struct Sym {
    name: String,
    value: u64,
    shndx: u16,
}

fn sym(name: &str, value: u64, shndx: u16) -> Sym {
    Sym {
        name: name.to_string(),
        value,
        shndx,
    }
}

fn seg(p_type: u32, p_offset: u64, p_vaddr: u64, p_filesz: u64, p_memsz: u64) -> Segment {
    Segment {
        p_type,
        p_flags: 4,
        p_offset,
        p_vaddr,
        p_filesz,
        p_memsz,
        p_align: 0x1000,
    }
}

fn load(p_offset: u64, p_vaddr: u64, p_filesz: u64) -> Segment {
    seg(PT_LOAD, p_offset, p_vaddr, p_filesz, p_filesz)
}

/// What to write: an ELF header, program headers, and the sections NULL, .text, optionally
/// .dynsym + .dynstr and .symtab + .strtab, and .shstrtab.
struct Spec {
    e_type: u16,
    segments: Vec<Segment>,
    dynsym: Option<Vec<Sym>>,
    symtab: Option<Vec<Sym>>,
    /// Put the section header table before the section contents instead of at the end.
    shdrs_first: bool,
}

/// One section: name, sh_type, contents, sh_link, sh_entsize (sh_addr is 0 but for .text).
struct Sec(&'static str, u32, Vec<u8>, u32, u64);

fn put(b: &mut [u8], off: usize, width: usize, v: u64) {
    b[off..off + width].copy_from_slice(&v.to_le_bytes()[..width]);
}

fn get(b: &[u8], off: usize, width: usize) -> u64 {
    let mut v = [0u8; 8];
    v[..width].copy_from_slice(&b[off..off + width]);
    u64::from_le_bytes(v)
}

/// Byte offset of section header `i` in an image.
fn shdr(b: &[u8], i: usize) -> usize {
    get(b, 40, 8) as usize + 64 * i
}

/// A string table and the offset of each string in it.
fn strings<'a>(names: impl Iterator<Item = &'a str>) -> (Vec<u8>, Vec<u32>) {
    let mut table = vec![0u8];
    let mut offsets = Vec::new();
    for name in names {
        offsets.push(table.len() as u32);
        table.extend_from_slice(name.as_bytes());
        table.push(0);
    }
    (table, offsets)
}

/// A symbol table (with its leading null entry) and its string table.
fn symbols(syms: &[Sym]) -> (Vec<u8>, Vec<u8>) {
    let (strtab, offsets) = strings(syms.iter().map(|s| s.name.as_str()));
    let mut table = vec![0u8; 24];
    for (s, name) in syms.iter().zip(offsets) {
        let mut e = [0u8; 24];
        put(&mut e, 0, 4, name.into());
        e[4] = GLOBAL_FUNC;
        put(&mut e, 6, 2, s.shndx.into());
        put(&mut e, 8, 8, s.value);
        put(&mut e, 16, 8, 8);
        table.extend_from_slice(&e);
    }
    (table, strtab)
}

impl Spec {
    fn build(&self) -> Vec<u8> {
        let mut secs = vec![
            Sec("", 0, vec![], 0, 0),
            Sec(".text", SHT_PROGBITS, vec![0xc3; 16], 0, 0),
        ];
        let tables = [
            (&self.dynsym, ".dynsym", SHT_DYNSYM, ".dynstr"),
            (&self.symtab, ".symtab", SHT_SYMTAB, ".strtab"),
        ];
        for (syms, name, sh_type, strname) in tables {
            if let Some(syms) = syms {
                let (table, strtab) = symbols(syms);
                let link = secs.len() as u32 + 1;
                secs.push(Sec(name, sh_type, table, link, 24));
                secs.push(Sec(strname, SHT_STRTAB, strtab, 0, 0));
            }
        }
        let shstrndx = secs.len();
        let names = secs.iter().map(|s| s.0).chain([".shstrtab"]);
        let (shstrtab, name_offsets) = strings(names);
        secs.push(Sec(".shstrtab", SHT_STRTAB, shstrtab, 0, 0));

        let mut out = vec![0u8; 64 + 56 * self.segments.len()];
        let shdrs_len = 64 * secs.len();
        let mut shoff = 0;
        if self.shdrs_first {
            shoff = out.len();
            out.resize(out.len() + shdrs_len, 0);
        }
        let mut offsets = Vec::new();
        for s in &secs {
            out.resize(out.len().next_multiple_of(8), 0);
            offsets.push(out.len());
            out.extend_from_slice(&s.2);
        }
        if !self.shdrs_first {
            out.resize(out.len().next_multiple_of(8), 0);
            shoff = out.len();
            out.resize(out.len() + shdrs_len, 0);
        }
        for (i, s) in secs.iter().enumerate() {
            let h = shoff + 64 * i;
            let (addr, offset) = (if s.0 == ".text" { 0x1000 } else { 0 }, offsets[i] as u64);
            put(&mut out, h, 4, name_offsets[i].into());
            put(&mut out, h + 4, 4, s.1.into());
            put(&mut out, h + 16, 8, addr);
            put(&mut out, h + 24, 8, if i == 0 { 0 } else { offset });
            put(&mut out, h + 32, 8, s.2.len() as u64);
            put(&mut out, h + 40, 4, s.3.into());
            put(&mut out, h + 56, 8, s.4);
        }
        for (i, p) in self.segments.iter().enumerate() {
            let h = 64 + 56 * i;
            put(&mut out, h, 4, p.p_type.into());
            put(&mut out, h + 4, 4, p.p_flags.into());
            put(&mut out, h + 8, 8, p.p_offset);
            put(&mut out, h + 16, 8, p.p_vaddr);
            put(&mut out, h + 24, 8, p.p_vaddr);
            put(&mut out, h + 32, 8, p.p_filesz);
            put(&mut out, h + 40, 8, p.p_memsz);
            put(&mut out, h + 48, 8, p.p_align);
        }
        out[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        put(&mut out, 16, 2, self.e_type.into());
        put(&mut out, 18, 2, 62); // EM_X86_64
        put(&mut out, 20, 4, 1); // e_version
        put(
            &mut out,
            32,
            8,
            if self.segments.is_empty() { 0 } else { 64 },
        );
        put(&mut out, 40, 8, shoff as u64);
        put(&mut out, 52, 2, 64); // e_ehsize
        put(&mut out, 54, 2, 56);
        put(&mut out, 56, 2, self.segments.len() as u64);
        put(&mut out, 58, 2, 64);
        put(&mut out, 60, 2, secs.len() as u64);
        put(&mut out, 62, 2, shstrndx as u64);
        out
    }
}

/// A separate-code shared object like pyenv's libpython3.12: r--p at offset 0, r-xp from
/// 0x5c000, and an RW segment whose p_vaddr is 0x1000 past its p_offset. Non-PT_LOAD headers
/// with misleading offsets must be ignored.
fn sample() -> Spec {
    Spec {
        e_type: ET_DYN,
        segments: vec![
            load(0, 0, 0x5b123),
            seg(PT_NOTE, 0x5c000, 0x9999_9000, 0x20, 0x20),
            load(0x5c000, 0x5c000, 0x20000),
            seg(PT_LOAD, 0x7c6d0, 0x7d6d0, 0x1000, 0x3000),
            seg(PT_GNU_RELRO, 0x7c6d0, 0x7d6d0, 0x930, 0x930),
        ],
        dynsym: Some(vec![
            sym("undef_in_dyn", 0, SHN_UNDEF),
            sym("both", 0x1000, TEXT),
            sym("dyn_only", 0x1100, TEXT),
            sym("undef_everywhere", 0, SHN_UNDEF),
        ]),
        symtab: Some(vec![
            sym("both", 0x2000, TEXT),
            sym("undef_in_dyn", 0x2100, TEXT),
            sym("sym_only", 0x2200, TEXT),
            sym("undef_everywhere", 0, SHN_UNDEF),
            sym("last", 0x2300, TEXT),
        ]),
        shdrs_first: false,
    }
}

fn parse(b: &[u8]) -> Elf {
    Elf::parse(b).expect("image parses")
}

fn value(found: &Option<Symbol>) -> Option<(u64, bool)> {
    found.map(|s| (s.value, s.in_symtab))
}

/// Lookup results as (value, in_symtab).
fn look(b: &[u8], names: &[&str]) -> Vec<Option<(u64, bool)>> {
    let found = parse(b).lookup(b, names).expect("lookup succeeds");
    found.iter().map(value).collect()
}

fn malformed<T: std::fmt::Debug>(r: Result<T, ElfError>) -> &'static str {
    match r {
        Err(ElfError::Malformed(what)) => what,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

fn section_index(b: &[u8], name: &str) -> usize {
    let elf = parse(b);
    elf.sections.iter().position(|s| s.name == name).unwrap()
}

/// A bias such as the kernel picks for a shared object.
const BIAS: u64 = 0x7f12_3456_7000;

#[path = "elf_image_tests.rs"]
mod image;
#[path = "elf_malformed_tests.rs"]
mod malformed;
#[path = "elf_real_tests.rs"]
mod real;
