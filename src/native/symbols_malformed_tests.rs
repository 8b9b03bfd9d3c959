//! Symbols from malformed objects, made by patching the library gcc builds: tables outside the
//! file, sh_link out of range, names outside or unterminated in the string table, caps, random
//! corruption. Each gives an error or fewer names, never a panic or a wrong name.

use super::*;

/// The built library's bytes, its functions per nm, and the index of `.symtab`.
fn fixture(dir: &TempDir) -> (Vec<u8>, Vec<Func>, usize) {
    let lib = build(&dir.0);
    let bytes = std::fs::read(&lib).unwrap();
    let elf = Elf::parse(&bytes[..]).unwrap();
    let symtab = elf.sections.iter().position(|s| s.sh_type == SHT_SYMTAB);
    (bytes, nm(&lib, false), symtab.unwrap())
}

/// Byte offset of field `at` of section header `index`.
fn shdr(b: &[u8], index: usize, at: usize) -> usize {
    let e_shoff = u64::from_le_bytes(b[40..48].try_into().unwrap()) as usize;
    e_shoff + 64 * index + at
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

/// Section header field `at` (sh_offset 24, sh_size 32 as u64; sh_link 40 as u32) of `index`.
fn set(b: &mut [u8], index: usize, at: usize, v: u64) {
    let off = shdr(b, index, at);
    match at {
        40 => put(b, off, &(v as u32).to_le_bytes()),
        _ => put(b, off, &v.to_le_bytes()),
    }
}

fn get(b: &[u8], index: usize, at: usize) -> u64 {
    let off = shdr(b, index, at);
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// The file offset of the Elf64_Sym in `.symtab` named `name`.
fn symbol_entry(b: &[u8], symtab: usize, name: &str) -> usize {
    let strtab = get(b, symtab, 40) as u32 as usize;
    let (strs, syms) = (get(b, strtab, 24) as usize, get(b, symtab, 24) as usize);
    let count = get(b, symtab, 32) as usize / 24;
    (0..count)
        .map(|i| syms + 24 * i)
        .find(|&e| {
            let st_name = u32::from_le_bytes(b[e..e + 4].try_into().unwrap()) as usize;
            b[strs + st_name..].starts_with(name.as_bytes()) && b[strs + st_name + name.len()] == 0
        })
        .unwrap()
}

/// `b` falls back to `.dynsym`: global functions named, static ones not, nothing misnamed.
fn falls_back_to_dynsym(b: Vec<u8>, funcs: &[Func]) {
    let symbols = Symbols::from_source(Bytes(b)).unwrap();
    assert_eq!(symbols.origin(), &Origin::Dynsym);
    check_every_pc(&symbols, funcs, |f| f.global);
}

#[test]
fn unusable_symtab_headers_fall_back_to_dynsym() {
    let dir = TempDir::new("bad-headers");
    let (good, funcs, symtab) = fixture(&dir);
    let len = good.len() as u64;
    let strtab = get(&good, symtab, 40) as u32 as usize;
    let cases: [(usize, usize, u64); 8] = [
        (symtab, 32, len),                 // sh_size: runs past the end (truncated)
        (symtab, 24, len - 48),            // sh_offset: the table runs past the end
        (symtab, 24, u64::MAX - 10),       // sh_offset + sh_size overflows
        (symtab, 40, 9999),                // sh_link out of range
        (symtab, 40, u64::from(u32::MAX)), // sh_link = u32::MAX
        (symtab, 40, symtab as u64),       // sh_link: the symbol table itself, not SHT_STRTAB
        (strtab, 32, len),                 // the string table runs past the end
        (strtab, 24, u64::MAX),            // the string table's offset overflows
    ];
    for (index, at, v) in cases {
        let mut b = good.clone();
        set(&mut b, index, at, v);
        falls_back_to_dynsym(b, &funcs);
    }
    // sh_entsize other than 24.
    let mut b = good.clone();
    set(&mut b, symtab, 56, 16);
    falls_back_to_dynsym(b, &funcs);
}

#[test]
fn both_tables_unusable_name_nothing() {
    let dir = TempDir::new("no-tables");
    let (mut b, _, symtab) = fixture(&dir);
    let dynsym = Elf::parse(&b[..])
        .unwrap()
        .sections
        .iter()
        .position(|s| s.sh_type == 11);
    set(&mut b, symtab, 40, 9999);
    set(&mut b, dynsym.unwrap(), 32, u64::MAX / 2);
    let symbols = Symbols::from_source(Bytes(b)).unwrap();
    assert_eq!(symbols.origin(), &Origin::Nothing);
    assert_eq!(symbols.len(), 0);
    assert!((0..0x4000).all(|pc| symbols.name(pc).is_none()));
    assert_eq!(symbols.label("/x/libsym.so", 0x1234), "libsym.so+0x1234");
}

#[test]
fn a_name_outside_or_unterminated_in_the_string_table_is_no_name() {
    let dir = TempDir::new("bad-names");
    let (good, funcs, symtab) = fixture(&dir);
    let strtab = get(&good, symtab, 40) as u32 as usize;
    let strtab_size = get(&good, strtab, 32);
    // The last string of the table: with its NUL overwritten it runs off the end too.
    let strs = get(&good, strtab, 24) as usize;
    let table = &good[strs..strs + strtab_size as usize - 1];
    let last = &table[table.iter().rposition(|&c| c == 0).unwrap() + 1..];
    let last = String::from_utf8_lossy(last).into_owned();
    for st_name in [
        strtab_size,
        strtab_size + 100,
        u64::from(u32::MAX),
        strtab_size - 1,
    ] {
        let mut b = good.clone();
        let entry = symbol_entry(&b, symtab, "pair_other");
        put(&mut b, entry, &(st_name as u32).to_le_bytes());
        let unterminated = st_name == strtab_size - 1;
        if unterminated {
            b[strs + strtab_size as usize - 1] = b'z';
        }
        let symbols = Symbols::from_source(Bytes(b)).unwrap();
        assert_eq!(symbols.origin(), &Origin::Symtab);
        let named = |f: &Func| f.name != "pair_other" && !(unterminated && f.name == last);
        let (some, _) = check_every_pc(&symbols, &funcs, named);
        assert!(some > 100);
        let f = funcs.iter().find(|f| f.name == "pair_other").unwrap();
        assert_eq!(symbols.name(f.addr), None);
    }
}

#[test]
fn truncated_files_are_errors_not_panics() {
    let dir = TempDir::new("truncated");
    let (good, _, symtab) = fixture(&dir);
    let cuts = [
        0,
        3,
        63,
        64,
        get(&good, symtab, 24) as usize + 100,
        good.len() - 1,
    ];
    for cut in cuts {
        let _ = Symbols::from_source(Bytes(good[..cut].to_vec()));
    }
    assert!(Symbols::from_source(Bytes(good[..63].to_vec())).is_err());
}

#[test]
fn the_index_is_capped() {
    let dir = TempDir::new("cap");
    let (mut b, funcs, symtab) = fixture(&dir);
    // A symbol table of MAX_SYMBOLS + 10 copies of one function's entry, appended to the file.
    let entry = symbol_entry(&b, symtab, "pair_global");
    let one = b[entry..entry + 24].to_vec();
    let at = b.len() as u64;
    let count = symbols_table::MAX_SYMBOLS + 10;
    b.extend(one.iter().copied().cycle().take(24 * count));
    set(&mut b, symtab, 24, at);
    set(&mut b, symtab, 32, 24 * count as u64);
    let symbols = Symbols::from_source(Bytes(b)).unwrap();
    assert_eq!(symbols.len(), symbols_table::MAX_SYMBOLS);
    assert!(symbols.truncated());
    let f = funcs.iter().find(|f| f.name == "pair_global").unwrap();
    assert_eq!(
        symbols.name(f.addr + 1),
        Some(("pair_global".to_string(), 1))
    );
    let other = funcs.iter().find(|f| f.name == "pair_other").unwrap();
    assert_eq!(symbols.name(other.addr), None);
}

#[test]
fn random_corruption_never_panics() {
    let dir = TempDir::new("corrupt");
    let (good, funcs, symtab) = fixture(&dir);
    let strtab = get(&good, symtab, 40) as u32 as usize;
    // Corrupt the symbol table, the string table and the section headers.
    let regions = [
        (get(&good, symtab, 24), get(&good, symtab, 32)),
        (get(&good, strtab, 24), get(&good, strtab, 32)),
        (
            shdr(&good, 0, 0) as u64,
            good.len() as u64 - shdr(&good, 0, 0) as u64,
        ),
    ];
    let lo = funcs.iter().map(|f| f.addr).min().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..600 {
        let mut b = good.clone();
        let (start, len) = regions[round % regions.len()];
        for _ in 0..1 + next() % 8 {
            let at = (start + next() % len.max(1)) as usize;
            b[at] = next() as u8;
        }
        if let Ok(symbols) = Symbols::from_source(Bytes(b)) {
            for pc in (lo..lo + 0x400).step_by(7) {
                let _ = symbols.label("libsym.so", pc);
            }
        }
    }
}
