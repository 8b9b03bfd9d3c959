//! Tests of string decoding: every PEP 393 kind, 2.x str, legacy strings, and garbage.

use super::*;
use crate::memory::FakeMemory;
use crate::python::layout::for_version;

const AT: u64 = 0x10_0000;

fn pep393(layout: &Layout, s: &str) -> Vec<u8> {
    crate::python::fake::str_object(layout, s)
}

fn read(layout: &Layout, obj: &[u8]) -> Result<String, WalkError> {
    let mut m = FakeMemory::default();
    m.write(AT, obj);
    read_str(&m, layout, AT)
}

#[test]
fn decodes_every_pep393_kind() {
    for l in crate::python::published::layouts() {
        let l = &l;
        if !matches!(l.string, Str::Pep393 { .. }) {
            continue;
        }
        for s in [
            "<module>",
            "café",
            "函数",
            "𓀀𓀁",
            "",
            "/a/very/long/path/".repeat(40).as_str(),
            "ß函𓀀",
        ] {
            assert_eq!(
                read(l, &pep393(l, s)).as_deref(),
                Ok(s),
                "{:?} {s}",
                l.version
            );
        }
    }
}

#[test]
fn decodes_python2_str_and_bytes() {
    let l = for_version(2, 7).unwrap();
    let mut obj = vec![0u8; 36];
    obj[16..24].copy_from_slice(&5i64.to_le_bytes());
    obj.extend_from_slice(b"hello\0");
    assert_eq!(read(l, &obj).as_deref(), Ok("hello"));
    let mut m = FakeMemory::default();
    m.write(AT, &obj);
    assert_eq!(read_bytes(&m, l, AT), Ok(b"hello".to_vec()));

    let l3 = for_version(3, 9).unwrap();
    let mut b = vec![0u8; 32];
    b[16..24].copy_from_slice(&3i64.to_le_bytes());
    b.extend_from_slice(&[1, 2, 3, 0]);
    m.write(AT, &b);
    assert_eq!(read_bytes(&m, l3, AT), Ok(vec![1, 2, 3]));
}

#[test]
fn reads_legacy_strings_through_their_data_pointer() {
    let l = for_version(3, 6).unwrap();
    let mut obj = vec![0u8; 80];
    obj[16..24].copy_from_slice(&2i64.to_le_bytes());
    // kind 2, not compact, ready.
    obj[32..36].copy_from_slice(&((2u32 << 2) | 0x80).to_le_bytes());
    obj[72..80].copy_from_slice(&(AT + 0x1000).to_le_bytes());
    let mut m = FakeMemory::default();
    m.write(AT, &obj);
    m.write(AT + 0x1000, &[0xfd, 0x51, 0x70, 0x65]);
    assert_eq!(read_str(&m, l, AT).as_deref(), Ok("函数"));
}

#[test]
fn refuses_garbage_without_allocating_it() {
    let l = for_version(3, 12).unwrap();
    let good = pep393(l, "name");
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut o = good.clone();
        f(&mut o);
        read(l, &o)
    };
    // Absurd and negative lengths.
    assert!(with(&|o| o[16..24].copy_from_slice(&(1i64 << 40).to_le_bytes())).is_err());
    assert!(with(&|o| o[16..24].copy_from_slice(&(-5i64).to_le_bytes())).is_err());
    // Invalid kind.
    assert!(with(&|o| o[32..36].copy_from_slice(&((3u32 << 2) | 0x60).to_le_bytes())).is_err());
    // Data running past the end of mapped memory.
    assert!(with(&|o| o[16..24].copy_from_slice(&1000i64.to_le_bytes())).is_err());
    // 3.6 strings that are not ready.
    let l36 = for_version(3, 6).unwrap();
    let mut o = pep393(l36, "x");
    o[32] &= 0x7f;
    assert!(read(l36, &o).is_err());
    // A UCS-4 value beyond Unicode.
    let mut o = pep393(l, "𓀀");
    let at = o.len() - 5;
    o[at..at + 4].copy_from_slice(&0x11_0000u32.to_le_bytes());
    assert!(read(l, &o).is_err());
    // Nothing mapped at all.
    assert!(read_str(&FakeMemory::default(), l, AT).is_err());
    // A bytes object claiming to be huge.
    let mut b = vec![0u8; 40];
    b[16..24].copy_from_slice(&(1i64 << 50).to_le_bytes());
    let mut m = FakeMemory::default();
    m.write(AT, &b);
    assert!(read_bytes(&m, l, AT).is_err());
}

#[test]
fn lone_surrogates_become_replacement_characters() {
    let l = for_version(3, 12).unwrap();
    let mut o = pep393(l, "ab");
    // Rewrite as UCS-2 with a lone surrogate.
    o.resize(56, 0);
    o[32..36].copy_from_slice(&((2u32 << 2) | 0x20).to_le_bytes());
    o.extend_from_slice(&[0x00, 0xd8, 0x61, 0x00]);
    assert_eq!(read(l, &o).as_deref(), Ok("\u{fffd}a"));
}
