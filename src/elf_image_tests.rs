//! ELF reader tests on images from the in-test ELF64 writer: parsing, lookup, load bias and
//! address translation.

use super::*;

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
