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

// ---------------------------------------------------------------------------------------------
// Built images: parsing and lookup.

#[test]
fn built_image_parses() {
    for shdrs_first in [false, true] {
        let b = Spec {
            shdrs_first,
            ..sample()
        }
        .build();
        let elf = parse(&b);
        assert_eq!((elf.e_type, elf.e_machine), (ET_DYN, 62));
        assert_eq!(elf.segments.len(), 5);
        let rw = &elf.segments[3];
        assert_eq!(
            (rw.p_type, rw.p_offset, rw.p_vaddr),
            (PT_LOAD, 0x7c6d0, 0x7d6d0)
        );
        assert_eq!(
            (rw.p_filesz, rw.p_memsz, rw.p_align),
            (0x1000, 0x3000, 0x1000)
        );
        let names: Vec<&str> = elf.sections.iter().map(|s| s.name.as_str()).collect();
        let want = [
            "",
            ".text",
            ".dynsym",
            ".dynstr",
            ".symtab",
            ".strtab",
            ".shstrtab",
        ];
        assert_eq!(names, want);
        let text = elf.section(".text").unwrap();
        assert_eq!(
            (text.sh_type, text.sh_addr, text.sh_size),
            (SHT_PROGBITS, 0x1000, 16)
        );
        assert_eq!(&b[text.sh_offset as usize..][..16], &[0xc3; 16]);
        assert_eq!(elf.section(".dynsym").unwrap().sh_link, 3);
        assert!(elf.section(".nope").is_none());
    }
}

#[test]
fn dynsym_takes_precedence_and_symtab_fills_the_rest() {
    let b = sample().build();
    let names = [
        "both",
        "dyn_only",
        "sym_only",
        "undef_in_dyn",
        "undef_everywhere",
        "missing",
        "",
        "both",
        "last",
    ];
    let got = look(&b, &names);
    let want = [
        Some((0x1000, false)),
        Some((0x1100, false)),
        Some((0x2200, true)),
        Some((0x2100, true)),
        None,
        None,
        None,
        Some((0x1000, false)),
        Some((0x2300, true)),
    ];
    assert_eq!(got, want);
    let elf = parse(&b);
    let full = elf.lookup(&b[..], &["dyn_only"]).unwrap()[0].unwrap();
    assert_eq!(full.size, 8);
    assert!(elf.lookup(&b[..], &[]).unwrap().is_empty());
}

#[test]
fn lookup_dynamic_never_reads_symtab() {
    let good = sample().build();
    let elf = parse(&good);
    let names = ["both", "dyn_only", "sym_only", "undef_in_dyn", "missing"];
    let got = elf.lookup_dynamic(&good[..], &names).unwrap();
    let got: Vec<_> = got.iter().map(value).collect();
    let want = [
        Some((0x1000, false)),
        Some((0x1100, false)),
        None,
        None,
        None,
    ];
    assert_eq!(got, want);
    // Not even a broken .symtab is noticed.
    let mut b = good.clone();
    put(
        &mut b,
        shdr(&good, section_index(&good, ".symtab")) + 56,
        8,
        16,
    );
    let got = parse(&b).lookup_dynamic(&b[..], &names).unwrap();
    assert_eq!(got.iter().map(value).collect::<Vec<_>>(), want);
    malformed(parse(&b).lookup(&b[..], &names));
}

#[test]
fn names_are_matched_exactly() {
    let b = Spec {
        dynsym: Some(vec![sym("Py_Version", 0x10, TEXT), sym("Py", 0x20, TEXT)]),
        symtab: None,
        ..sample()
    }
    .build();
    let got = look(&b, &["Py", "Py_Version", "Py_Ver", "Py_Version2"]);
    assert_eq!(got, [Some((0x20, false)), Some((0x10, false)), None, None]);
}

#[test]
fn without_symtab_only_dynsym_is_used() {
    let b = Spec {
        symtab: None,
        ..sample()
    }
    .build();
    let got = look(&b, &["both", "sym_only", "undef_in_dyn"]);
    assert_eq!(got, [Some((0x1000, false)), None, None]);
    let b = Spec {
        dynsym: None,
        ..sample()
    }
    .build();
    let got = look(&b, &["both", "dyn_only", "undef_in_dyn"]);
    assert_eq!(got, [Some((0x2000, true)), None, Some((0x2100, true))]);
}

#[test]
fn no_sections_at_all() {
    let mut b = sample().build();
    put(&mut b, 40, 8, 0); // e_shoff
    put(&mut b, 60, 2, 0); // e_shnum
    put(&mut b, 62, 2, 0); // e_shstrndx
    let elf = parse(&b);
    assert!(elf.sections.is_empty());
    assert_eq!(elf.segments.len(), 5);
    assert_eq!(look(&b, &["both", "sym_only"]), [None, None]);
    // e_shoff == 0 means "no table" even if e_shnum says otherwise.
    put(&mut b, 60, 2, 7);
    assert!(parse(&b).sections.is_empty());
    // No program headers either (e_phoff == 0).
    put(&mut b, 32, 8, 0);
    assert!(parse(&b).segments.is_empty());
    assert_eq!(parse(&b).load_bias(0x1000, 0), None);
}

#[test]
fn extended_numbering() {
    let mut b = sample().build();
    let shnum = get(&b, 60, 2);
    let shstrndx = get(&b, 62, 2);
    let phnum = get(&b, 56, 2);
    let sh0 = shdr(&b, 0);
    put(&mut b, 60, 2, 0);
    put(&mut b, 62, 2, 0xffff); // SHN_XINDEX
    put(&mut b, 56, 2, 0xffff); // PN_XNUM
    put(&mut b, sh0 + 32, 8, shnum); // sh_size
    put(&mut b, sh0 + 40, 4, shstrndx); // sh_link
    put(&mut b, sh0 + 44, 4, phnum); // sh_info
    let elf = parse(&b);
    assert_eq!(elf.sections.len() as u64, shnum);
    assert_eq!(elf.segments.len() as u64, phnum);
    assert_eq!(elf.sections[shstrndx as usize].name, ".shstrtab");
    assert_eq!(look(&b, &["sym_only"]), [Some((0x2200, true))]);
    // A real count of 0 in section 0 means no sections.
    put(&mut b, sh0 + 32, 8, 0);
    assert!(parse(&b).sections.is_empty());
    // Extended count pointing past the end of the file.
    put(&mut b, sh0 + 32, 8, 1 << 40);
    malformed(Elf::parse(&b[..]));
}

#[test]
fn unusable_shstrndx_leaves_sections_nameless() {
    let good = sample().build();
    let n = get(&good, 60, 2) as usize;
    let shstr = shdr(&good, n - 1);
    let mut cases = Vec::new();
    for idx in [0, n as u64, 0xfeff] {
        let mut b = good.clone();
        put(&mut b, 62, 2, idx);
        cases.push(b);
    }
    let mut b = good.clone();
    put(&mut b, shstr + 24, 8, 1 << 40); // sh_offset past the end
    cases.push(b);
    let mut b = good.clone();
    put(&mut b, shstr + 32, 8, u64::MAX); // sh_size overflows
    cases.push(b);
    let mut b = good.clone();
    put(&mut b, shstr + 4, 4, 8); // SHT_NOBITS has no bytes in the file
    cases.push(b);
    for b in cases {
        let elf = parse(&b);
        assert_eq!(elf.sections.len(), n);
        assert!(elf.sections.iter().all(|s| s.name.is_empty()));
        // Symbol tables are found by type, so lookups still work.
        assert_eq!(look(&b, &["sym_only"]), [Some((0x2200, true))]);
    }
    // A name offset outside the table, or one without its NUL, gives an empty name only.
    let mut b = good.clone();
    put(&mut b, shdr(&good, 1), 4, 1 << 20);
    let names: Vec<String> = parse(&b).sections.into_iter().map(|s| s.name).collect();
    assert_eq!(&names[1..3], ["", ".dynsym"]);
    let mut b = good.clone();
    let len = get(&b, shstr + 32, 8);
    put(&mut b, shstr + 32, 8, len - 1); // cut the NUL ending ".shstrtab"
    let names: Vec<String> = parse(&b).sections.into_iter().map(|s| s.name).collect();
    assert_eq!(names[1], ".text");
    assert_eq!(names[n - 1], "");
}

#[test]
fn symbol_table_entsize() {
    let good = sample().build();
    let symtab = shdr(&good, section_index(&good, ".symtab"));
    let mut b = good.clone();
    put(&mut b, symtab + 56, 8, 0); // 0: "not filled in", taken as 24
    assert_eq!(look(&b, &["sym_only"]), [Some((0x2200, true))]);
    put(&mut b, symtab + 56, 8, 16);
    // .dynsym is fine and answers everything: .symtab is not even looked at.
    assert_eq!(look(&b, &["both"]), [Some((0x1000, false))]);
    let elf = parse(&b);
    malformed(elf.lookup(&b[..], &["sym_only"]));
}

#[test]
fn partial_symbol_entries_are_ignored() {
    let good = sample().build();
    let symtab = shdr(&good, section_index(&good, ".symtab"));
    let size = get(&good, symtab + 32, 8);
    let mut b = good.clone();
    put(&mut b, symtab + 32, 8, size + 10);
    assert_eq!(look(&b, &["last"]), [Some((0x2300, true))]);
    put(&mut b, symtab + 32, 8, size - 1); // "last" is now a partial entry
    assert_eq!(
        look(&b, &["sym_only", "last"]),
        [Some((0x2200, true)), None]
    );
    put(&mut b, symtab + 32, 8, 0);
    assert_eq!(look(&b, &["sym_only"]), [None]);
}

#[test]
fn unusable_symbol_names_are_skipped() {
    let good = sample().build();
    let strtab = shdr(&good, section_index(&good, ".strtab"));
    let symtab = shdr(&good, section_index(&good, ".symtab"));
    let entries = get(&good, symtab + 24, 8) as usize;
    // Cut the string table before the NUL that ends "last", the last string in it.
    let mut b = good.clone();
    let len = get(&b, strtab + 32, 8);
    put(&mut b, strtab + 32, 8, len - 1);
    assert_eq!(
        look(&b, &["last", "sym_only"]),
        [None, Some((0x2200, true))]
    );
    // st_name far outside the string table, and at u32::MAX.
    let mut b = good.clone();
    put(&mut b, entries + 24 * 3, 4, 1 << 20); // entry 3 is "sym_only"
    put(&mut b, entries + 24 * 5, 4, u32::MAX.into()); // entry 5 is "last"
    assert_eq!(
        look(&b, &["sym_only", "last", "both"]),
        [None, None, Some((0x1000, false))]
    );
}

#[test]
fn symbol_tables_are_bounded() {
    let good = sample().build();
    let symtab = shdr(&good, section_index(&good, ".symtab"));
    let strtab = shdr(&good, section_index(&good, ".strtab"));
    let cases: [(usize, usize, u64); 6] = [
        (symtab, 32, 1 << 40),   // sh_size of 1 TiB
        (symtab, 32, 300 << 20), // bigger than the cap
        (symtab, 24, 1 << 40),   // sh_offset past the end
        (symtab, 24, u64::MAX),  // offset + size overflows
        (symtab, 40, 1000),      // sh_link is no section
        (strtab, 32, 1 << 40),   // string table of 1 TiB
    ];
    for (h, field, v) in cases {
        let mut b = good.clone();
        put(&mut b, h + field, if field == 40 { 4 } else { 8 }, v);
        let elf = parse(&b);
        malformed(elf.lookup(&b[..], &["sym_only"]));
        assert_eq!(look(&b, &["dyn_only"]), [Some((0x1100, false))]);
    }
}

#[test]
fn more_than_65535_symbols() {
    // The original Pyflame walked symbol tables with a u16 counter and wrapped at 65536.
    let mut syms: Vec<Sym> = (0..70_000)
        .map(|i| sym(&format!("s{i}"), i, TEXT))
        .collect();
    syms.push(sym("after_70000", 0xabc, TEXT));
    let b = Spec {
        symtab: Some(syms),
        ..sample()
    }
    .build();
    // Symbol "s{i}" (value i) is entry i + 1: check both sides of entry 65536 and of the
    // 64 KiB read blocks, the last ones, and a name that is not there.
    let per_block = 65536 / 24;
    let wanted = [
        65534,
        65535,
        65536,
        per_block - 2,
        per_block - 1,
        2 * per_block - 1,
        69999,
    ];
    let mut names: Vec<String> = wanted.iter().map(|i| format!("s{i}")).collect();
    names.extend(["after_70000".to_string(), "s70000".to_string()]);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut want: Vec<_> = wanted.iter().map(|&i| Some((i, true))).collect();
    want.extend([Some((0xabc, true)), None]);
    assert_eq!(look(&b, &names), want);
}

/// A Source over bytes that counts how much is read.
struct Counted<'a> {
    bytes: &'a [u8],
    read: Cell<u64>,
}

impl Source for Counted<'_> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.read.set(self.read.get() + buf.len() as u64);
        self.bytes.read_exact_at(buf, offset)
    }
    fn size(&self) -> std::io::Result<u64> {
        self.bytes.size()
    }
}

#[test]
fn only_the_needed_tables_are_read() {
    let syms: Vec<Sym> = (0..50_000)
        .map(|i| sym(&format!("s{i}"), i, TEXT))
        .collect();
    let b = Spec {
        symtab: Some(syms),
        ..sample()
    }
    .build();
    assert!(b.len() > 1_500_000);
    let src = Counted {
        bytes: &b,
        read: Cell::new(0),
    };
    let elf = Elf::parse(&src).unwrap();
    assert!(src.read.get() < 2048, "parse read {}", src.read.get());
    src.read.set(0);
    let got = elf.lookup(&src, &["dyn_only"]).unwrap();
    assert_eq!(got[0].map(|s| s.value), Some(0x1100));
    assert!(
        src.read.get() < 1024,
        "dynsym lookup read {}",
        src.read.get()
    );
    // An early .symtab entry: only the string table and the first block are read.
    src.read.set(0);
    assert_eq!(
        elf.lookup(&src, &["s3"]).unwrap()[0].map(|s| s.value),
        Some(3)
    );
    let strtab = elf.section(".strtab").unwrap().sh_size;
    assert!(
        src.read.get() < strtab + 70_000,
        "early symtab lookup read {}",
        src.read.get()
    );
}

// ---------------------------------------------------------------------------------------------
// Load bias and address translation.

/// A bias such as the kernel picks for a shared object.
const BIAS: u64 = 0x7f12_3456_7000;

#[test]
fn load_bias_with_separate_code() {
    let elf = parse(&sample().build());
    // The mappings the kernel makes: each PT_LOAD from its page-rounded p_offset, plus the RW
    // segment split in two by the PT_GNU_RELRO mprotect (r--p then rw-p at a later offset).
    let maps = [
        (BIAS, 0),                 // r--p
        (BIAS + 0x5c000, 0x5c000), // r-xp
        (BIAS + 0x7d000, 0x7c000), // r--p (relro)
        (BIAS + 0x7e000, 0x7d000), // rw-p
        (BIAS + 0x10000, 0x10000), // inside the first segment (a split mapping)
        (BIAS + 0x7bfff, 0x7bfff), // last byte of the r-xp segment
    ];
    for (start, offset) in maps {
        assert_eq!(
            elf.load_bias(start, offset),
            Some(BIAS),
            "map {start:#x} {offset:#x}"
        );
    }
    // The original Pyflame took the r-xp mapping's start as the base: that is not the bias.
    assert_ne!(elf.load_bias(BIAS + 0x5c000, 0x5c000), Some(BIAS + 0x5c000));
    // Offsets no PT_LOAD covers: between segments, just past the RW file bytes, past the end.
    for offset in [0x5b200, 0x7d6d0, 0x20_0000, u64::MAX] {
        assert_eq!(elf.load_bias(BIAS, offset), None, "offset {offset:#x}");
    }
    // Nonsense addresses wrap instead of panicking.
    assert_eq!(elf.load_bias(0, 0x7c000), Some(0u64.wrapping_sub(0x7d000)));
}

#[test]
fn load_bias_of_an_executable_is_zero() {
    let b = Spec {
        e_type: ET_EXEC,
        segments: vec![
            load(0, 0x40_0000, 0x1234),
            load(0x2000, 0x40_2000, 0x5000),
            seg(PT_LOAD, 0x7e10, 0x60_8e10, 0x300, 0x1000),
        ],
        ..sample()
    }
    .build();
    let elf = parse(&b);
    assert_eq!(elf.e_type, ET_EXEC);
    for (start, offset) in [(0x40_0000, 0), (0x40_2000, 0x2000), (0x60_8000, 0x7000)] {
        assert_eq!(elf.load_bias(start, offset), Some(0));
    }
}

#[test]
fn load_bias_when_segments_share_a_file_page() {
    // Without separate-code (old ld, or lld), the next segment starts in the same file page
    // as the previous one ends, at a different p_vaddr - p_offset. The mapping at that page is
    // the later segment's.
    let elf = Elf {
        e_type: ET_DYN,
        e_machine: 62,
        segments: vec![load(0, 0, 0x1d_5100), load(0x1d_5d88, 0x3d_5d88, 0x9000)],
        sections: Vec::new(),
    };
    assert_eq!(elf.load_bias(BIAS, 0), Some(BIAS));
    assert_eq!(elf.load_bias(BIAS + 0x1d_4000, 0x1d_4000), Some(BIAS));
    assert_eq!(elf.load_bias(BIAS + 0x3d_5000, 0x1d_5000), Some(BIAS));
}

#[test]
fn load_bias_with_pages_larger_than_4k() {
    // On a 64 KiB-page kernel the r-xp mapping starts at p_offset rounded down to p_align.
    let mut rx = load(0x6_1000, 0x7_1000, 0x2_0000);
    rx.p_align = 0x1_0000;
    let elf = Elf {
        e_type: ET_DYN,
        e_machine: 62,
        segments: vec![load(0, 0, 0x5_b123), rx],
        sections: Vec::new(),
    };
    assert_eq!(elf.load_bias(BIAS + 0x7_0000, 0x6_0000), Some(BIAS));
    assert_eq!(elf.load_bias(BIAS + 0x7_1000, 0x6_1000), Some(BIAS));
}

#[test]
fn vaddr_to_offset_edges() {
    let elf = parse(&sample().build());
    let cases = [
        (0, Some(0)),
        (0x5b122, Some(0x5b122)),
        (0x5b123, None), // past p_filesz of the first segment
        (0x5c000, Some(0x5c000)),
        (0x7bfff, Some(0x7bfff)),
        (0x7d6cf, None),
        (0x7d6d0, Some(0x7c6d0)),
        (0x7e6cf, Some(0x7d6cf)),
        (0x7e6d0, None),     // bss: inside p_memsz but not p_filesz
        (0x9999_9000, None), // only a PT_NOTE there
        (u64::MAX, None),
    ];
    for (vaddr, want) in cases {
        assert_eq!(elf.vaddr_to_offset(vaddr), want, "vaddr {vaddr:#x}");
    }
    let wrapping = Elf {
        e_type: ET_DYN,
        e_machine: 62,
        segments: vec![load(u64::MAX - 5, u64::MAX - 10, 100)],
        sections: Vec::new(),
    };
    assert_eq!(wrapping.vaddr_to_offset(u64::MAX - 10), Some(u64::MAX - 5));
    assert_eq!(wrapping.vaddr_to_offset(u64::MAX), None);
    assert_eq!(wrapping.load_bias(0, u64::MAX - 1), None);
}

// ---------------------------------------------------------------------------------------------
// Malformed input.

#[test]
fn elf32_is_wrong_class() {
    let mut b = sample().build();
    b[4] = 1; // ELFCLASS32
    let err = Elf::parse(&b[..]).unwrap_err();
    assert!(matches!(err, ElfError::WrongClass(1)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Target ELF file has EI_CLASS=1, but for this architecture we expected EI_CLASS=2"
    );
    // Even a bare 52-byte ELF32 header is reported as the wrong class.
    let err = Elf::parse(&b[..52]).unwrap_err();
    assert!(matches!(err, ElfError::WrongClass(1)));
    b[4] = 0;
    assert!(matches!(Elf::parse(&b[..]), Err(ElfError::WrongClass(0))));
}

#[test]
fn bad_magic_is_not_elf() {
    let mut b = sample().build();
    b[1] = b'F';
    assert!(matches!(Elf::parse(&b[..]), Err(ElfError::NotElf)));
    for short in [&b""[..], b"\x7fEL", b"#!/bin/sh\n"] {
        assert!(matches!(Elf::parse(short), Err(ElfError::NotElf)));
    }
    let err = Elf::parse(&b"\x7fELF"[..]).unwrap_err();
    assert_eq!(err.to_string(), "malformed ELF file: truncated ELF header");
}

#[test]
fn big_endian_is_malformed() {
    let mut b = sample().build();
    b[5] = 2; // ELFDATA2MSB
    malformed(Elf::parse(&b[..]));
}

#[test]
fn header_entry_sizes_are_checked() {
    let good = sample().build();
    let mut b = good.clone();
    put(&mut b, 54, 2, 32); // e_phentsize
    assert_eq!(malformed(Elf::parse(&b[..])), "e_phentsize is not 56");
    let mut b = good.clone();
    put(&mut b, 58, 2, 40); // e_shentsize
    assert_eq!(malformed(Elf::parse(&b[..])), "e_shentsize is not 64");
    // Without a program header table its entry size does not matter.
    put(&mut b, 58, 2, 64);
    put(&mut b, 56, 2, 0);
    put(&mut b, 54, 2, 0);
    assert!(parse(&b).segments.is_empty());
}

#[test]
fn tables_outside_the_file() {
    let good = sample().build();
    let len = good.len() as u64;
    let cases: [(usize, usize, u64); 8] = [
        (60, 2, 0xfffe),       // e_shnum: far more headers than the file holds
        (40, 8, len),          // e_shoff at the very end
        (40, 8, len - 63),     // e_shoff: section 0 cut short
        (40, 8, 1 << 40),      // e_shoff past the end
        (40, 8, u64::MAX - 8), // e_shoff + size overflows
        (56, 2, 0xfff0),       // e_phnum
        (32, 8, len - 10),     // e_phoff
        (32, 8, u64::MAX),     // e_phoff overflows
    ];
    for (off, width, v) in cases {
        let mut b = good.clone();
        put(&mut b, off, width, v);
        malformed(Elf::parse(&b[..]));
    }
}

#[test]
fn error_messages() {
    let io = ElfError::from(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
    assert_eq!(io.to_string(), "gone");
    assert_eq!(
        ElfError::NotElf.to_string(),
        "does not have the ELF magic header"
    );
    let what = ElfError::Malformed("e_phentsize is not 56").to_string();
    assert_eq!(what, "malformed ELF file: e_phentsize is not 56");
    assert_eq!(
        ElfError::WrongClass(7).to_string(),
        "Target ELF file has EI_CLASS=7, but for this architecture we expected EI_CLASS=2"
    );
}

#[test]
fn byte_sources_refuse_reads_past_the_end() {
    let b = [1u8, 2, 3, 4];
    let mut buf = [0u8; 2];
    b[..].read_exact_at(&mut buf, 2).unwrap();
    assert_eq!(buf, [3, 4]);
    assert!(b[..].read_exact_at(&mut buf, 3).is_err());
    assert!(b[..].read_exact_at(&mut buf, u64::MAX).is_err());
    assert_eq!(b[..].size().unwrap(), 4);
    let exe = File::open(std::env::current_exe().unwrap()).unwrap();
    let size = exe.size().unwrap();
    assert!(exe.read_exact_at(&mut buf, size - 1).is_err());
    exe.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(buf, *b"\x7fE");
}

/// Everything a caller might do with an image; none of it may panic.
fn exercise(b: &[u8]) {
    if let Ok(elf) = Elf::parse(b) {
        if let Ok(found) = elf.lookup(b, &["both", "sym_only", "", "last"]) {
            assert_eq!(found.len(), 4);
        }
        for off in [0, 0x5c000, 0x7c000, u64::MAX] {
            let _ = elf.load_bias(BIAS.wrapping_add(off), off);
        }
        for vaddr in [0, 0x1000, 0x7d6d0, u64::MAX] {
            let _ = elf.vaddr_to_offset(vaddr);
        }
        let _ = elf.section(".text");
    }
}

#[test]
fn every_prefix_of_a_built_image() {
    for shdrs_first in [false, true] {
        let b = Spec {
            shdrs_first,
            ..sample()
        }
        .build();
        for len in 0..b.len() {
            exercise(&b[..len]);
        }
        // With the section headers at the end, no proper prefix parses.
        if !shdrs_first {
            for len in 0..b.len() {
                assert!(Elf::parse(&b[..len]).is_err(), "prefix {len}");
            }
        }
    }
}

#[test]
fn every_prefix_of_a_real_binary_head() {
    let mut head = vec![0u8; 64 * 1024];
    let exe = File::open(std::env::current_exe().unwrap()).unwrap();
    let len = (exe.size().unwrap() as usize).min(head.len());
    exe.read_exact_at(&mut head[..len], 0).unwrap();
    for n in 0..=len {
        exercise(&head[..n]);
    }
}

/// xorshift64: a deterministic stream of pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_blobs_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..3000 {
        let len = rng.below(600);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Most blobs get a valid ident so the parser goes past the magic check.
        if i % 4 != 0 && len >= 6 {
            b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        }
        exercise(&b);
    }
}

#[test]
fn random_corruptions_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for shdrs_first in [false, true] {
        let good = Spec {
            shdrs_first,
            ..sample()
        }
        .build();
        for i in 0..3000 {
            let mut b = good.clone();
            // Mostly one byte, sometimes a few; often aimed at the headers.
            for _ in 0..1 + (i % 5 == 0) as usize * 3 {
                let at = if i % 2 == 0 {
                    rng.below(64)
                } else {
                    rng.below(b.len())
                };
                b[at] = rng.next() as u8;
            }
            exercise(&b);
            // Same again with a header table entry hit.
            let shoff = get(&good, 40, 8) as usize;
            let mut b = good.clone();
            let at = shoff + rng.below(b.len() - shoff);
            b[at] = rng.next() as u8;
            exercise(&b);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Real files.

/// Marker whose address and code the self-tests compare with what the file says.
#[inline(never)]
pub fn elf_test_marker_function(x: u64) -> u64 {
    x.wrapping_mul(0x9e37_79b9).rotate_left(7) ^ 0x5a5a
}

/// Mappings of `path` in /proc/self/maps as (start, offset, perms).
fn self_mappings(path: &Path) -> Vec<(u64, u64, String)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut out = Vec::new();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || Path::new(fields[5]) != path {
            continue;
        }
        let start = u64::from_str_radix(fields[0].split('-').next().unwrap(), 16).unwrap();
        let offset = u64::from_str_radix(fields[2], 16).unwrap();
        out.push((start, offset, fields[1].to_string()));
    }
    out
}

/// `n` bytes of this process's memory at `addr`.
fn self_memory(addr: u64, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    let mem = File::open("/proc/self/mem").unwrap();
    mem.read_exact_at(&mut buf, addr).unwrap();
    buf
}

/// `n` bytes of `file` at the file offset of `vaddr`.
fn file_bytes(elf: &Elf, file: &File, vaddr: u64, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    file.read_exact_at(&mut buf, elf.vaddr_to_offset(vaddr).unwrap())
        .unwrap();
    buf
}

/// The bias all the loader's mappings of `path` agree on; panics if they disagree. Other
/// mappings of the file (std's backtrace code maps the executable whole to read its debug
/// info) are told apart by lying outside the image placed by the r-xp mapping.
fn agreed_bias(elf: &Elf, path: &Path) -> u64 {
    let maps = self_mappings(path);
    let code: Vec<_> = maps.iter().filter(|m| m.2 == "r-xp").collect();
    assert_eq!(code.len(), 1, "{path:?}: {maps:x?}");
    let bias = elf.load_bias(code[0].0, code[0].1).unwrap();
    let loads = elf.segments.iter().filter(|s| s.p_type == PT_LOAD);
    let extent = loads.map(|s| s.p_vaddr + s.p_memsz).max().unwrap();
    let image: Vec<_> = maps
        .iter()
        .filter(|m| m.0 >= bias && m.0 < bias + extent)
        .collect();
    let offsets: std::collections::BTreeSet<u64> = image.iter().map(|m| m.1).collect();
    assert!(offsets.len() >= 3, "{path:?}: {maps:x?}");
    for &&(start, offset, _) in &image {
        assert_eq!(elf.load_bias(start, offset), Some(bias), "{maps:x?}");
    }
    bias
}

/// The full name of the first .symtab symbol whose name contains `needle`, read without the
/// code under test beyond the section headers.
fn symtab_name_containing(elf: &Elf, file: &File, needle: &str) -> Option<String> {
    let symtab = elf.section(".symtab")?;
    let strtab = &elf.sections[symtab.sh_link as usize];
    let mut syms = vec![0u8; symtab.sh_size as usize];
    file.read_exact_at(&mut syms, symtab.sh_offset).unwrap();
    let mut strs = vec![0u8; strtab.sh_size as usize];
    file.read_exact_at(&mut strs, strtab.sh_offset).unwrap();
    syms.chunks_exact(24).find_map(|e| {
        let off = get(e, 0, 4) as usize;
        let name = strs.get(off..)?.split(|&c| c == 0).next()?;
        let name = std::str::from_utf8(name).ok()?;
        name.contains(needle).then(|| name.to_string())
    })
}

#[test]
fn this_test_binary() {
    let path = std::env::current_exe().unwrap();
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    assert!(
        elf.e_type == ET_DYN || elf.e_type == ET_EXEC,
        "e_type {}",
        elf.e_type
    );
    assert_eq!(elf.e_machine, 62); // EM_X86_64
    assert!(elf.segments.iter().filter(|s| s.p_type == PT_LOAD).count() >= 2);
    let text = elf.section(".text").expect(".text");
    assert!(text.sh_size > 0 && text.sh_flags & 4 != 0); // SHF_EXECINSTR
    if elf.section(".symtab").is_none() {
        eprintln!("test binary is stripped: skipping its symbol checks");
        return;
    }
    let found = elf
        .lookup(&file, &["main", "no_such_symbol_anywhere"])
        .unwrap();
    let main = found[0].expect("main is defined");
    assert!(main.value >= text.sh_addr && main.value < text.sh_addr + text.sh_size);
    assert_eq!(found[1], None);
    // A libc function this binary imports is SHN_UNDEF in both tables: never "found".
    #[cfg(all(target_env = "gnu", not(target_feature = "crt-static")))]
    {
        assert!(elf.section(".interp").is_some());
        assert_eq!(
            elf.lookup(&file, &["getpid", "malloc"]).unwrap(),
            [None, None]
        );
    }
}

#[test]
fn this_test_binary_mappings_agree_on_the_bias() {
    // The separate-code regression test: the executable is mapped at several file offsets
    // (r--p, r-xp, r--p, rw-p), and each mapping must give the same, correct bias.
    let path = std::fs::read_link("/proc/self/exe").unwrap();
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    let bias = agreed_bias(&elf, &path);
    if elf.e_type == ET_EXEC {
        assert_eq!(bias, 0);
    }
    let Some(name) = symtab_name_containing(&elf, &file, "elf_test_marker_function") else {
        eprintln!("test binary is stripped: skipping the marker address check");
        return;
    };
    let marker = elf.lookup(&file, &[&name]).unwrap()[0].expect("marker in .symtab");
    assert!(marker.in_symtab);
    let marker_fn: fn(u64) -> u64 = elf_test_marker_function;
    let addr = marker_fn as usize as u64;
    assert_eq!(bias.wrapping_add(marker.value), addr);
    assert_eq!(
        self_memory(addr, 32),
        file_bytes(&elf, &file, marker.value, 32)
    );
    assert_eq!(elf_test_marker_function(1), elf_test_marker_function(1));
}

/// The dynamic C library this process has mapped, if any.
fn mapped_libc() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| {
        let path = Path::new(line.split_whitespace().nth(5)?);
        let name = path.file_name()?.to_str()?;
        let libc = name.starts_with("libc.so") || name.starts_with("libc-");
        (libc || name.starts_with("ld-musl")).then(|| path.to_path_buf())
    })
}

#[test]
fn mapped_libc_agrees_with_memory() {
    let Some(path) = mapped_libc() else {
        eprintln!("no dynamic libc mapped (static build): skipping");
        return;
    };
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    assert_eq!(elf.e_type, ET_DYN);
    let bias = agreed_bias(&elf, &path);
    let found = elf.lookup(&file, &["getpid", "malloc"]).unwrap();
    for sym in found {
        let sym = sym.expect("libc defines getpid and malloc");
        assert!(!sym.in_symtab);
        // Code is not relocated: the bytes at bias + st_value are the bytes in the file.
        let code = self_memory(bias + sym.value, 16);
        assert_eq!(code, file_bytes(&elf, &file, sym.value, 16));
    }
}

fn pyenv_lib(version: &str, file: &str) -> Option<PathBuf> {
    let path = PathBuf::from(format!("/root/.pyenv/versions/{version}/lib/{file}"));
    path.exists().then_some(path)
}

/// The allocated, non-TLS section whose address range holds `vaddr`.
fn section_at(elf: &Elf, vaddr: u64) -> &Section {
    let mapped = |s: &&Section| s.sh_flags & 0x402 == 2; // SHF_ALLOC and not SHF_TLS
    let mut hits = elf.sections.iter().filter(mapped);
    hits.find(|s| s.sh_addr <= vaddr && vaddr < s.sh_addr + s.sh_size)
        .unwrap()
}

#[test]
fn pyenv_libpython_3_12() {
    let Some(path) = pyenv_lib("3.12.1", "libpython3.12.so.1.0") else {
        eprintln!("no pyenv 3.12.1: skipping");
        return;
    };
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    assert_eq!(elf.e_type, ET_DYN);
    let found = elf.lookup(&file, &["_PyRuntime", "Py_Version"]).unwrap();
    let runtime = found[0].expect("_PyRuntime");
    let version = found[1].expect("Py_Version");
    assert!(!runtime.in_symtab && !version.in_symtab);
    assert_eq!(version.size, 8);
    // Py_Version holds PY_VERSION_HEX: 3.12.1 final.
    let bytes = file_bytes(&elf, &file, version.value, 8);
    assert_eq!(u64::from_le_bytes(bytes.try_into().unwrap()), 0x030c_01f0);
    // Segments and sections must agree on where _PyRuntime is in the file.
    let sec = section_at(&elf, runtime.value);
    assert!(
        sec.name == ".PyRuntime" || sec.name == ".data",
        "{}",
        sec.name
    );
    let offset = elf.vaddr_to_offset(runtime.value).unwrap();
    assert_eq!(offset, sec.sh_offset + (runtime.value - sec.sh_addr));
    // The mappings ld.so makes: each PT_LOAD from its page-rounded p_offset, and the RW one
    // split where PT_GNU_RELRO ends (mprotect up to the page-rounded end of its p_memsz).
    let relro = elf
        .segments
        .iter()
        .find(|s| s.p_type == PT_GNU_RELRO)
        .unwrap();
    let relro_end = (relro.p_vaddr + relro.p_memsz) & !0xfff;
    let mut maps = 0;
    for seg in elf.segments.iter().filter(|s| s.p_type == PT_LOAD) {
        let (offset, vaddr) = (seg.p_offset & !0xfff, seg.p_vaddr & !0xfff);
        assert_eq!(elf.load_bias(BIAS + vaddr, offset), Some(BIAS));
        maps += 1;
        if relro_end > vaddr && relro_end < seg.p_vaddr + seg.p_filesz {
            let split = offset + (relro_end - vaddr);
            assert_eq!(elf.load_bias(BIAS + relro_end, split), Some(BIAS));
            maps += 1;
        }
    }
    assert_eq!(maps, 5);
}

#[test]
fn pyenv_libpython_2_7_static_symbol() {
    let Some(path) = pyenv_lib("2.7.18", "libpython2.7.so.1.0") else {
        eprintln!("no pyenv 2.7.18: skipping");
        return;
    };
    let file = File::open(&path).unwrap();
    let elf = Elf::parse(&file).unwrap();
    let names = ["_PyThreadState_Current", "interp_head"];
    let found = elf.lookup(&file, &names).unwrap();
    // interp_head is static in pystate.c: a LOCAL symbol, only in .symtab.
    let current = found[0].expect("_PyThreadState_Current");
    let head = found[1].expect("interp_head");
    assert!(!current.in_symtab && head.in_symtab);
    for s in [current, head] {
        assert_eq!(s.size, 8);
        let sec = section_at(&elf, s.value);
        assert!(sec.name == ".bss" || sec.name == ".data", "{}", sec.name);
    }
}

#[test]
fn every_pyenv_libpython() {
    let Ok(versions) = std::fs::read_dir("/root/.pyenv/versions") else {
        return;
    };
    for dir in versions.flatten() {
        let Ok(libs) = std::fs::read_dir(dir.path().join("lib")) else {
            continue;
        };
        for lib in libs.flatten() {
            let name = lib.file_name().to_string_lossy().into_owned();
            if !name.starts_with("libpython") || !name.ends_with(".so.1.0") {
                continue;
            }
            let file = File::open(lib.path()).unwrap();
            let elf = Elf::parse(&file).unwrap();
            let found = elf
                .lookup(&file, &["Py_Initialize", "PyEval_SaveThread"])
                .unwrap();
            for s in found {
                let s = s.unwrap_or_else(|| panic!("{name}: missing a Py_ function"));
                let text = section_at(&elf, s.value);
                assert_eq!(text.name, ".text", "{name}");
                let offset = elf.vaddr_to_offset(s.value);
                assert_eq!(
                    offset,
                    Some(text.sh_offset + (s.value - text.sh_addr)),
                    "{name}"
                );
            }
        }
    }
}
