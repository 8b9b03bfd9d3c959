//! ELF reader tests on malformed input: wrong class, bad magic, tables outside the file,
//! truncations, random blobs and corruptions, none of which may panic.

use super::*;

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
