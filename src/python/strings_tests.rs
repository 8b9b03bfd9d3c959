//! Tests of string decoding: every PEP 393 kind, 2.x str, legacy strings, type checks, long
//! names cut with a marker, and garbage refused without allocating it.

use super::*;
use crate::python::fake::{put, put32, FakePython};
use crate::python::layout::for_version;

fn read(py: &FakePython, addr: u64) -> Result<String, WalkError> {
    read_str(&py.mem, &py.layout, &mut Types::default(), addr)
}

/// A fake process with the string object `obj` (made by `make` from the layout and the str
/// type's address) in it, and that object's address.
fn with(layout: &Layout, make: impl Fn(&Layout, u64) -> Vec<u8>) -> (FakePython, u64) {
    let mut py = FakePython::new(*layout);
    let obj = make(layout, py.str_type);
    let at = py.alloc(obj);
    (py, at)
}

fn pep393(layout: &Layout, ty: u64, s: &str) -> Vec<u8> {
    crate::python::fake::str_object(layout, ty, s)
}

#[test]
fn decodes_every_pep393_kind() {
    for l in crate::python::published::layouts() {
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
            let (py, at) = with(&l, |l, ty| pep393(l, ty, s));
            assert_eq!(read(&py, at).as_deref(), Ok(s), "{:?} {s}", l.version);
        }
    }
}

#[test]
fn decodes_python2_str_and_bytes() {
    let l = *for_version(2, 7).unwrap();
    let mut py = FakePython::new(l);
    let hello = py.string("hello");
    assert_eq!(read(&py, hello).as_deref(), Ok("hello"));
    let mut types = Types::default();
    assert_eq!(
        read_bytes(&py.mem, &l, &mut types, hello, 100),
        Ok(b"hello".to_vec())
    );

    let l3 = *for_version(3, 9).unwrap();
    let mut py = FakePython::new(l3);
    let b = py.bytes(&[1, 2, 3]);
    assert_eq!(
        read_bytes(&py.mem, &l3, &mut types, b, 100),
        Ok(vec![1, 2, 3])
    );
    // Longer than the cap the caller gives: refused, not cut (a line table is all or nothing).
    assert!(read_bytes(&py.mem, &l3, &mut Types::default(), b, 2).is_err());
    // A str is not a bytes object, nor a bytes object a str, in 3.x.
    let s = py.string("abc");
    assert!(read_bytes(&py.mem, &l3, &mut Types::default(), s, 100).is_err());
    assert!(read(&py, b).is_err());
}

#[test]
fn reads_legacy_strings_through_their_data_pointer() {
    let l = *for_version(3, 6).unwrap();
    let mut py = FakePython::new(l);
    let chars = py.alloc(vec![0xfd, 0x51, 0x70, 0x65, 0, 0]);
    let mut obj = vec![0u8; 80];
    put(&mut obj, 8, py.str_type);
    put(&mut obj, 16, 2);
    // kind 2, not compact, ready.
    put32(&mut obj, 32, (2 << 2) | 0x80);
    put(&mut obj, 72, chars);
    let at = py.alloc(obj);
    assert_eq!(read(&py, at).as_deref(), Ok("函数"));
    // Without its terminating NUL, the length is not to be trusted.
    py.mem.patch(chars + 4, &[1, 0]);
    assert!(read(&py, at).is_err());

    // From 3.12 only a subclass's instance keeps its characters elsewhere: an exact str that
    // says it is not compact has been corrupted.
    let l = *for_version(3, 12).unwrap();
    let (mut py, at) = with(&l, |l, ty| pep393(l, ty, "name"));
    let state = py.mem_u64(at + 32) as u32;
    py.mem.patch(at + 32, &(state & !0x20).to_le_bytes());
    assert!(read(&py, at).is_err());
    // The same in an instance of a subclass reads through `data`.
    let sub = py.type_object("MyStr", 1 << 28);
    let chars = py.alloc(b"sub\0".to_vec());
    let mut obj = vec![0u8; 72];
    put(&mut obj, 8, sub);
    put(&mut obj, 16, 3);
    put32(&mut obj, 32, (1 << 2) | 0x40);
    put(&mut obj, 56, chars);
    let at = py.alloc(obj);
    assert_eq!(read(&py, at).as_deref(), Ok("sub"));
}

#[test]
fn objects_that_are_not_strings_are_refused() {
    for (major, minor) in [(2, 7), (3, 6), (3, 11), (3, 12)] {
        let l = *for_version(major, minor).unwrap();
        let mut py = FakePython::new(l);
        let int = py.object("int", 1 << 24);
        let dict = py.object("dict", 1 << 29);
        let code = py.code("f.py", "f", 1);
        for at in [int, dict, code] {
            assert!(read(&py, at).is_err(), "{major}.{minor}");
        }
    }
}

#[test]
fn long_names_are_cut_with_a_marker() {
    for l in crate::python::published::layouts() {
        let v = l.version;
        for (s, chars) in [
            ("n".repeat(17 * 1024), 17 * 1024),
            ("n".repeat(1 << 20), 1 << 20),
            ("\u{3b1}".repeat(4608), 4608),
        ] {
            if v.0 == 2 && chars == 4608 {
                continue;
            }
            let (py, at) = with(&l, |l, ty| pep393_or_bytes(l, ty, &s));
            let kept: String = s.chars().take(MAX_NAME_CHARS).collect();
            let want = format!("{kept}...[{chars} chars]");
            assert_eq!(read(&py, at), Ok(want), "{v:?}");
        }
        // Exactly the limit is not cut.
        let s = "x".repeat(MAX_NAME_CHARS);
        let (py, at) = with(&l, |l, ty| pep393_or_bytes(l, ty, &s));
        assert_eq!(read(&py, at), Ok(s), "{v:?}");
    }
}

fn pep393_or_bytes(l: &Layout, ty: u64, s: &str) -> Vec<u8> {
    crate::python::fake::str_object(l, ty, s)
}

#[test]
fn refuses_garbage_without_allocating_it() {
    let l = *for_version(3, 12).unwrap();
    let set_len = |n: i64| {
        move |l: &Layout, ty: u64| {
            let mut o = pep393(l, ty, "name");
            o[16..24].copy_from_slice(&n.to_le_bytes());
            o
        }
    };
    // Absurd and negative lengths, and one that points the terminator elsewhere.
    for n in [1 << 40, -5, i64::MIN, i64::MAX, 3, 1000] {
        let (py, at) = with(&l, set_len(n));
        assert!(read(&py, at).is_err(), "length {n}");
    }
    // Invalid kind, and an ASCII string of another kind.
    for state in [(3u32 << 2) | 0x60, (2 << 2) | 0x60] {
        let (py, at) = with(&l, |l, ty| {
            let mut o = pep393(l, ty, "name");
            o[32..36].copy_from_slice(&state.to_le_bytes());
            o
        });
        assert!(read(&py, at).is_err(), "state {state:#x}");
    }
    // An ASCII string holding a byte above 127.
    let (py, at) = with(&l, |l, ty| {
        let mut o = pep393(l, ty, "name");
        o[40] = 0xe9;
        o
    });
    assert!(read(&py, at).is_err());
    // 3.6 strings that are not ready.
    let l36 = *for_version(3, 6).unwrap();
    let (py, at) = with(&l36, |l, ty| {
        let mut o = pep393(l, ty, "x");
        o[32] &= 0x7f;
        o
    });
    assert!(read(&py, at).is_err());
    // A UCS-4 value beyond Unicode.
    let (py, at) = with(&l, |l, ty| {
        let mut o = pep393(l, ty, "𓀀");
        let at = o.len() - 5;
        o[at..at + 4].copy_from_slice(&0x11_0000u32.to_le_bytes());
        o
    });
    assert!(read(&py, at).is_err());
    // Nothing mapped at all, or a NULL pointer.
    let py = FakePython::new(l);
    assert!(read(&py, 0x10).is_err());
    assert!(read(&py, 0).is_err());
    // A bytes object claiming to be huge.
    let mut py = FakePython::new(l);
    let b = py.bytes(b"xy");
    py.set(b + 16, 1 << 50);
    assert!(read_bytes(&py.mem, &l, &mut Types::default(), b, MAX_TABLE_BYTES).is_err());
}

#[test]
fn lone_surrogates_become_replacement_characters() {
    let l = *for_version(3, 12).unwrap();
    let (py, at) = with(&l, |l, ty| {
        let mut o = pep393(l, ty, "ab");
        // Rewrite as UCS-2 with a lone surrogate.
        o.resize(56, 0);
        o[32..36].copy_from_slice(&((2u32 << 2) | 0x20).to_le_bytes());
        o.extend_from_slice(&[0x00, 0xd8, 0x61, 0x00, 0, 0]);
        o
    });
    assert_eq!(read(&py, at).as_deref(), Ok("\u{fffd}a"));
}
