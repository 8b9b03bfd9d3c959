//! Tests of `_Py_DebugOffsets` parsing: the 3.13 and 3.14 tables as the interpreters publish
//! them, and tables that must not validate.

use super::*;
use crate::python::layout::for_version;

/// A table of `size` bytes: the cookie, a PY_VERSION_HEX and these (offset, value) members.
fn table(size: usize, hex: u64, members: &[(usize, u64)]) -> Vec<u8> {
    let mut t = vec![0u8; size];
    t[..8].copy_from_slice(COOKIE);
    t[8..16].copy_from_slice(&hex.to_le_bytes());
    for &(at, value) in members {
        t[at..at + 8].copy_from_slice(&value.to_le_bytes());
    }
    t
}

/// The members of `libpython3.13.so.1.0` (3.13.0) that pyflame uses, as read from the file.
fn python313() -> Vec<u8> {
    table(
        584,
        0x030d_00f0,
        &[
            (24, 283_320),
            (32, 608),
            (40, 632),
            (48, 194_968),
            (56, 7272),
            (64, 7264),
            (72, 7344),
            (112, 16),
            (120, 7752),
            (136, 7768),
            (144, 7760),
            (152, 304),
            (160, 0),
            (168, 8),
            (176, 16),
            (184, 72),
            (192, 152),
            (200, 160),
            (224, 80),
            (232, 8),
            (240, 0),
            (248, 56),
            (256, 72),
            (264, 70),
            (272, 208),
            (280, 112),
            (288, 120),
            (296, 128),
            (304, 136),
            (312, 68),
            (344, 200),
            (352, 16),
            (360, 8),
            (368, 416),
            (376, 24),
            (512, 40),
            (520, 16),
            (528, 32),
            (536, 64),
            (544, 32),
            (552, 16),
            (560, 40),
        ],
    )
}

/// The same for Debian's `libpython3.14.so.1.0` (3.14.10).
fn python314(hex: u64) -> Vec<u8> {
    table(
        760,
        hex,
        &[
            (24, 316_616),
            (32, 784),
            (40, 808),
            (48, 225_864),
            (56, 7280),
            (64, 7272),
            (72, 7344),
            (120, 16),
            (128, 7784),
            (144, 7800),
            (152, 7792),
            (176, 832),
            (184, 0),
            (192, 8),
            (200, 16),
            (208, 72),
            (216, 152),
            (224, 160),
            (248, 88),
            (256, 8),
            (264, 0),
            (272, 56),
            (280, 80),
            (288, 74),
            (312, 216),
            (320, 112),
            (328, 120),
            (344, 136),
            (352, 68),
            (384, 208),
            (400, 16),
            (408, 8),
            (416, 416),
            (424, 24),
            (592, 40),
            (600, 16),
            (608, 32),
            (616, 64),
            (624, 32),
            (632, 16),
            (640, 40),
        ],
    )
}

#[test]
fn the_313_table_gives_the_measured_313_layout() {
    let (version, layout) = layout(&python313()).unwrap();
    assert_eq!(version, Version::new(3, 13, Some(0)));
    assert_eq!(layout, *for_version(3, 13).unwrap());
}

#[test]
fn the_314_table_gives_the_314_layout() {
    let (version, l) = layout(&python314(0x030e_0af0)).unwrap();
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
            tag_bits: 3,
            size: 88
        }
    );
    assert_eq!(
        (l.code.code_adaptive, l.code.size, l.code.firstlineno),
        (Some(208), 216, 68)
    );
    assert_eq!(
        l.string,
        Str::Pep393 {
            length: 16,
            state: 32,
            ascii_data: 40,
            compact_data: 56,
            data: 56,
            ready_mask: None
        }
    );
}

#[test]
fn a_newer_minor_is_read_with_the_newest_table_when_it_validates() {
    let (version, l) = layout(&python314(0x030f_00a1)).unwrap();
    assert_eq!((version.major, version.minor), (3, 15));
    assert_eq!(l.version, (3, 15));
    // The same bytes read as a 3.13 table would not validate: the layouts differ.
    let mut as313 = python314(0x030d_00f0);
    as313.truncate(600);
    assert!(layout(&as313).is_err());
}

#[test]
fn tables_that_must_not_validate() {
    let mut bad_cookie = python313();
    bad_cookie[0] = b'X';
    assert!(layout(&bad_cookie).unwrap_err().contains("cookie"));
    assert!(version(&bad_cookie).is_none());
    assert!(layout(&[]).is_err());

    for hex in [0x030c_01f0, 0x0400_00f0, 0x0200_00f0] {
        assert!(
            layout(&table(584, hex, &[]))
                .unwrap_err()
                .contains("announces"),
            "{hex:#x}"
        );
    }
    let mut short = python313();
    short.truncate(300);
    assert!(layout(&short).unwrap_err().contains("shorter"));

    let mut free_threaded = python313();
    free_threaded[16] = 1;
    assert!(layout(&free_threaded)
        .unwrap_err()
        .contains("free-threaded"));

    // Absurd sizes, a field outside its struct, a zero size.
    for (at, value) in [
        (152, 1u64 << 40),
        (184, 4000),
        (272, 0),
        (48, u64::MAX),
        (560, 9000),
        (344, 1 << 20),
    ] {
        let mut t = python313();
        t[at..at + 8].copy_from_slice(&value.to_le_bytes());
        let err = layout(&t).unwrap_err();
        assert!(
            err.contains("does not validate"),
            "member at {at} = {value}: {err}"
        );
    }
}
