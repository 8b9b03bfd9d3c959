//! Tests of `_Py_DebugOffsets` parsing: the tables of real 3.13, 3.13t, 3.14 and 3.15
//! interpreters, a newer minor, and tables that must not validate.

use super::*;
use crate::python::layout::{for_version, StateBits};
use crate::python::published::{Published, PY313, PY313T, PY314, PY314T, PY315};

#[test]
fn the_313_table_gives_the_313_layout() {
    let (version, l) = layout(&PY313.bytes(None)).unwrap();
    assert_eq!(version, Version::new(3, 13, Some(0)));
    let py312 = *for_version(3, 12).unwrap();
    // What changed from 3.12 (measured with offsetof against the 3.13.0 headers).
    let expected = Layout {
        version: (3, 13),
        interp_root: InterpRoot::Runtime(632),
        gil: GilHolder::Interp {
            ceval_gil: 16,
            last_holder: 8,
            locked: 16,
        },
        interp: Interp {
            next: 7264,
            threads_head: 7344,
            id: Some(7272),
            size: 194_968,
        },
        tstate: Tstate {
            frame: FrameRoot::CurrentFrame(72),
            thread_id: 152,
            native_thread_id: Some(160),
            size: 304,
            ..py312.tstate
        },
        code: Code {
            code_adaptive: Some(200),
            size: 208,
            ..py312.code
        },
        ..py312
    };
    assert_eq!(l, expected);
    assert!(known(13));
}

#[test]
fn the_314_table_gives_the_314_layout() {
    let (version, l) = layout(&PY314.bytes(None)).unwrap();
    assert_eq!(version.to_string(), "3.14.10");
    assert_eq!(l.version, (3, 14));
    assert_eq!(l.interp_root, InterpRoot::Runtime(808));
    assert_eq!(
        (l.interp.next, l.interp.threads_head, l.interp.id),
        (7272, 7344, Some(7280))
    );
    assert_eq!(
        l.gil,
        GilHolder::Interp {
            ceval_gil: 16,
            last_holder: 8,
            locked: 16
        }
    );
    assert_eq!(l.tstate.frame, FrameRoot::CurrentFrame(72));
    assert_eq!(
        l.frame,
        Frame::Interpreter {
            previous: 8,
            code: 0,
            instr: 56,
            owner: 74,
            shim_owner: Some(3),
            is_entry: None,
            tag_bits: 3,
            tlbc_index: None,
            size: 88
        }
    );
    assert_eq!(
        (
            l.code.code_adaptive,
            l.code.tlbc,
            l.code.size,
            l.code.firstlineno
        ),
        (Some(208), None, 216, 68)
    );
    assert_eq!(
        l.string,
        Str::Pep393 {
            length: 16,
            state: 32,
            ascii_data: 40,
            compact_data: 56,
            data: 56,
            ready_mask: None,
            bits: StateBits {
                kind_shift: 2,
                compact: 0x20,
                ascii: 0x40
            },
        }
    );
}

/// 3.15 inserted members into thread_state and new groups before the objects: read by name,
/// the offsets are the same as 3.14's where the structs did not change.
#[test]
fn the_315_table_gives_the_315_layout() {
    let (version, l) = layout(&PY315.bytes(None)).unwrap();
    assert_eq!(version.to_string(), "3.15.2");
    let (_, l314) = layout(&PY314.bytes(None)).unwrap();
    assert_eq!(l.interp_root, InterpRoot::Runtime(936));
    assert_eq!(
        (l.tstate.thread_id, l.tstate.native_thread_id),
        (176, Some(184))
    );
    assert_eq!((l.tstate.size, l.interp.threads_head), (888, 7336));
    assert_eq!(
        (l.frame, l.code, l.string),
        (l314.frame, l314.code, l314.string)
    );
    // 3.15 publishes sizeof(PyCompactUnicodeObject) itself.
    assert!(matches!(
        l.string,
        Str::Pep393 {
            compact_data: 56,
            ..
        }
    ));
    assert_eq!(l.objects.tp_name, 24);
    assert!(known(15));
}

#[test]
fn the_313t_table_gives_a_free_threaded_layout() {
    let (version, l) = layout(&PY313T.bytes(None)).unwrap();
    assert_eq!(version.to_string(), "3.13.5");
    assert_eq!(l.gil, GilHolder::Disabled);
    // Every object struct moved by the 16 bytes of the larger object header.
    assert_eq!((l.objects.ob_type, l.objects.tp_name), (24, 40));
    assert_eq!((l.objects.bytes_size, l.objects.bytes_data), (32, 48));
    assert_eq!(
        (
            l.code.filename,
            l.code.name,
            l.code.firstlineno,
            l.code.linetable
        ),
        (128, 136, 84, 152)
    );
    assert_eq!((l.code.code_adaptive, l.code.tlbc), (Some(216), None));
    // 3.13t keeps the default string state bits.
    assert!(matches!(
        l.string,
        Str::Pep393 {
            state: 48,
            ascii_data: 56,
            compact_data: 72,
            bits: StateBits { kind_shift: 2, .. },
            ..
        }
    ));
}

#[test]
fn the_314t_table_gives_a_free_threaded_layout_with_per_thread_bytecode() {
    let (version, l) = layout(&PY314T.bytes(None)).unwrap();
    assert_eq!(version.to_string(), "3.14.7");
    assert_eq!(l.gil, GilHolder::Disabled);
    assert_eq!(
        l.frame,
        Frame::Interpreter {
            previous: 8,
            code: 0,
            instr: 56,
            owner: 78,
            shim_owner: Some(3),
            is_entry: None,
            tag_bits: 1,
            tlbc_index: Some(72),
            size: 88
        }
    );
    assert_eq!((l.code.tlbc, l.code.code_adaptive), (Some(224), Some(232)));
    // `interned` became a whole byte: the other state bits moved up.
    assert!(matches!(
        l.string,
        Str::Pep393 {
            state: 48,
            ascii_data: 56,
            bits: StateBits {
                kind_shift: 8,
                compact: 0x800,
                ascii: 0x1000
            },
            ..
        }
    ));
}

#[test]
fn a_newer_minor_is_read_with_the_newest_table_when_it_validates() {
    let (version, l) = layout(&PY315.bytes(Some(0x0310_00a1))).unwrap();
    assert_eq!((version.major, version.minor), (3, 16));
    assert_eq!(l.version, (3, 16));
    assert!(!known(16));
    // Read with the wrong member list, a table does not validate: the layouts differ.
    assert!(layout(&PY315.bytes(Some(0x030e_00f0))).is_err());
    assert!(layout(&PY314.bytes(Some(0x030d_00f0))).is_err());
}

#[test]
fn tables_that_must_not_validate() {
    let mut bad_cookie = PY313.bytes(None);
    bad_cookie[0] = b'X';
    assert!(layout(&bad_cookie).unwrap_err().contains("cookie"));
    assert!(version(&bad_cookie).is_none());
    assert!(layout(&[]).is_err());

    for hex in [0x030c_01f0, 0x0400_00f0, 0x0200_00f0] {
        assert!(
            layout(&Published { hex, ..PY313 }.bytes(None))
                .unwrap_err()
                .contains("announces"),
            "{hex:#x}"
        );
    }
    let mut short = PY313.bytes(None);
    short.truncate(300);
    assert!(layout(&short).unwrap_err().contains("shorter"));

    let mut free_threaded = PY313.bytes(None);
    free_threaded[16] = 2;
    assert!(layout(&free_threaded)
        .unwrap_err()
        .contains("free_threaded is 2"));

    // Absurd sizes, a field outside its struct, a zero size.
    for (at, value) in [
        (152, 1u64 << 40),
        (184, 4000),
        (272, 0),
        (48, u64::MAX),
        (560, 9000),
        (344, 1 << 20),
    ] {
        let mut t = PY313.bytes(None);
        t[at..at + 8].copy_from_slice(&value.to_le_bytes());
        let err = layout(&t).unwrap_err();
        assert!(
            err.contains("does not validate"),
            "member at {at} = {value}: {err}"
        );
    }
}

/// sizeof(_Py_DebugOffsets) as compiled: 584 (3.13), 760 (3.14), 888 (3.15); no member twice.
#[test]
fn member_lists_match_the_compiled_tables() {
    for (members, size) in [(V313, 584), (V314, 760), (V315, 888)] {
        assert_eq!(table_size(members), size);
        let mut seen: Vec<_> = all(members).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len() * 8, size, "a member is listed twice");
    }
    assert_eq!(offset_of(V314, "code_object", "co_tlbc"), Some(392));
    assert_eq!(offset_of(V313, "code_object", "co_tlbc"), None);
}

/// Found by the `debug_offsets` fuzz target: a 3.13 table with `pyobject.ob_type` =
/// u64::MAX (and a garbage `thread_state.native_thread_id`) passed the member checks and
/// overflowed in `Layout::code_read_len` (a panic in debug builds; in release a layout whose
/// offsets the walker adds to addresses). Every member the walker reads must lie inside the
/// size its group publishes, whatever its value.
#[test]
fn every_member_read_must_lie_inside_its_struct() {
    let used = [
        ("runtime_state", "interpreters_head"),
        ("interpreter_state", "id"),
        ("interpreter_state", "ceval_gil"),
        ("interpreter_state", "gil_runtime_state_holder"),
        ("interpreter_state", "gil_runtime_state_locked"),
        ("thread_state", "native_thread_id"),
        ("pyobject", "ob_type"),
        ("type_object", "tp_name"),
        ("type_object", "tp_flags"),
        ("bytes_object", "ob_size"),
        ("bytes_object", "ob_sval"),
        ("unicode_object", "length"),
        ("unicode_object", "state"),
    ];
    for (group, member) in used {
        let at = offset_of(V313, group, member).unwrap();
        let size = u64_at(&PY313.bytes(None), offset_of(V313, group, "size").unwrap()).unwrap();
        for value in [u64::MAX, 1 << 40, size] {
            let mut t = PY313.bytes(None);
            t[at..at + 8].copy_from_slice(&value.to_le_bytes());
            let err = layout(&t).unwrap_err();
            assert!(
                err.contains("does not validate"),
                "{group}.{member} = {value}: {err}"
            );
        }
    }
    // The fuzzer's input, as found (720 bytes: the 3.13.0 table with these two members changed).
    let mut t = PY313.bytes(None);
    t[200..208].copy_from_slice(&0x2000_0000_0000_35a0u64.to_le_bytes());
    t[360..368].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(layout(&t).is_err());
    // The holder and the locked flag are read relative to the GIL struct: before it is absurd.
    let mut t = PY313.bytes(None);
    let holder = offset_of(V313, "interpreter_state", "gil_runtime_state_holder").unwrap();
    t[holder..holder + 8].copy_from_slice(&8u64.to_le_bytes());
    assert!(layout(&t).is_err());
}
