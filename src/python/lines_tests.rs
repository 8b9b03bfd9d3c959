//! Tests for the line-table decoders: hand-written tables for each format, vectors captured from
//! real interpreters (2.7.18, 3.6.15 – 3.13.0), and a robustness sweep over random and truncated
//! tables.

use super::*;

/// A decoder as `(table, firstlineno, lasti) -> line`.
type Decoder = fn(&[u8], i32, i32) -> i32;

/// `co_lnotab` read as 2.x – 3.5 do.
fn unsigned(table: &[u8], first: i32, lasti: i32) -> i32 {
    lnotab_line(table, first, lasti, false)
}

/// `co_lnotab` read as 3.6 – 3.9 do.
fn signed(table: &[u8], first: i32, lasti: i32) -> i32 {
    lnotab_line(table, first, lasti, true)
}

/// Asserts `decode(table, first, lasti) == line` for every `(lasti, line)` in `cases`.
fn expect(decode: Decoder, table: &[u8], first: i32, cases: &[(i32, i32)]) {
    for &(lasti, line) in cases {
        assert_eq!(decode(table, first, lasti), line, "{table:02X?} at {lasti}");
    }
}

// ---------------------------------------------------------------------------------------------
// co_lnotab (2.x – 3.9)

#[test]
fn lnotab_empty_table_and_unstarted_frame_give_firstlineno() {
    for decode in [unsigned, signed] {
        expect(decode, &[], 7, &[(-1, 7), (0, 7), (1000, 7)]);
        // f_lasti == -1: even a pair at address 0 is already past it.
        expect(decode, &[0, 1, 6, 1], 7, &[(-2, 7), (-1, 7), (0, 8)]);
    }
}

/// The worked example of `Objects/lnotab_notes.txt`: rows (0,1) (6,2) (50,7) (350,207)
/// (361,208), with the row (+300, +200) split as (255,0) (45,127) (0,73).
#[test]
fn lnotab_notes_example_with_address_split() {
    let t = [0, 1, 6, 1, 44, 5, 255, 0, 45, 127, 0, 73, 11, 1];
    let cases = [
        (0, 1),
        (5, 1),
        (6, 2), // exactly at a boundary: the new line
        (49, 2),
        (50, 7),
        (304, 7),
        (305, 7), // after (255, 0): the address moved, the line did not
        (349, 7),
        (350, 207), // (45, 127) then (0, 73)
        (360, 207),
        (361, 208),
        (100_000, 208), // past the end: the last line
    ];
    expect(unsigned, &t, 0, &cases);
    expect(signed, &t, 0, &cases);
}

#[test]
fn lnotab_large_line_jumps_split_per_version() {
    // 2.7 compiles +301 at address 10 as (10, 255), (0, 46) (2.7.18 `gap`).
    expect(
        unsigned,
        &[0, 1, 10, 255, 0, 46],
        39,
        &[(9, 40), (10, 341), (50, 341)],
    );
    // 3.6+ compiles it as (8, 127), (0, 127), (0, 47).
    expect(
        signed,
        &[0, 1, 8, 127, 0, 127, 0, 47],
        39,
        &[(7, 40), (8, 341)],
    );
    // 3.8 compiles -301 as (2, -128), (0, -128), (0, -45) (3.8.18 `gap`).
    expect(
        signed,
        &[2, 0x80, 0, 0x80, 0, 0xD3],
        643,
        &[(1, 643), (2, 342), (9, 342)],
    );
    // (0, -127) splits read the same way.
    expect(signed, &[4, 0x81, 0, 0x81], 300, &[(3, 300), (4, 46)]);
}

#[test]
fn lnotab_same_bytes_signed_from_36_unsigned_before() {
    // 0xFE: -2 as int8 (3.6+), +254 as u8 (2.x, 3.0 – 3.5). 0x80: -128 / +128. 0x7F: 127 both.
    let t = [2, 0xFE, 2, 0x80, 2, 0x7F];
    expect(signed, &t, 300, &[(1, 300), (2, 298), (4, 170), (6, 297)]);
    expect(unsigned, &t, 300, &[(1, 300), (2, 554), (4, 682), (6, 809)]);
}

#[test]
fn lnotab_odd_trailing_byte_is_ignored() {
    // CPython iterates size / 2 pairs.
    expect(signed, &[0, 1, 4], 10, &[(0, 11), (4, 11), (9, 11)]);
}

// ---------------------------------------------------------------------------------------------
// 3.10 co_linetable

#[test]
fn linetable310_empty_unstarted_and_past_end() {
    expect(linetable310_line, &[], 7, &[(-1, 7), (0, 7), (50, 7)]);
    let t = [6, 1, 4, 2];
    expect(
        linetable310_line,
        &t,
        10,
        &[(-2, 10), (-1, 10), (0, 11), (5, 11)],
    );
    // Exactly at the boundary: the next range. Past the end: the running line.
    expect(
        linetable310_line,
        &t,
        10,
        &[(6, 13), (9, 13), (10, 13), (999, 13)],
    );
}

#[test]
fn linetable310_no_line_ranges_give_running_line() {
    // [0,4) line 11, [4,10) no line, [10,12) line 14: CPython says None for [4,10).
    let t = [4, 1, 6, 0x80, 2, 3];
    expect(
        linetable310_line,
        &t,
        10,
        &[(3, 11), (4, 11), (9, 11), (10, 14)],
    );
    // No line before any line (3.10's GEN_START): co_firstlineno.
    expect(
        linetable310_line,
        &[2, 0x80, 2, 1],
        647,
        &[(0, 647), (1, 647), (2, 648)],
    );
    // No line at the end, and past it: still the last line there was.
    expect(
        linetable310_line,
        &[4, 1, 2, 0x80],
        10,
        &[(4, 11), (5, 11), (6, 11)],
    );
    // A no-line range does not move the running line: the next delta is relative to line 11.
    expect(
        linetable310_line,
        &[4, 1, 2, 0x80, 2, 0x7F],
        10,
        &[(6, 138)],
    );
}

#[test]
fn linetable310_big_jumps_and_long_ranges() {
    // (0, 127) pairs are empty ranges that only move the line; (254, d) then (254, 0) split a
    // long range (the first chunk carries the delta, as 3.10's compile.c emits it).
    let t = [0, 127, 254, 5, 254, 0, 2, 0xFD];
    let cases = [
        (0, 133),
        (253, 133),
        (254, 133),
        (507, 133),
        (508, 130),
        (510, 130),
    ];
    expect(linetable310_line, &t, 1, &cases);
    // 3.10.13 `gap`: -301 as (0, -127), (0, -127), (4, -47).
    let t = [2, 0, 0, 0x81, 0, 0x81, 4, 0xD1];
    expect(linetable310_line, &t, 643, &[(1, 643), (2, 342), (5, 342)]);
}

/// The same bytes mean different things: a lnotab pair's line applies from the address *after*
/// its increment, a 3.10 pair's line to the range the pair itself covers.
#[test]
fn lnotab_and_linetable310_apply_deltas_to_different_ranges() {
    let t = [4, 1, 4, 1];
    expect(signed, &t, 10, &[(0, 10), (3, 10), (4, 11), (8, 12)]);
    expect(
        linetable310_line,
        &t,
        10,
        &[(0, 11), (3, 11), (4, 12), (8, 12)],
    );
}

// ---------------------------------------------------------------------------------------------
// 3.11+ location table

/// Head byte of a location entry: `1 CCCC LLL` (`Objects/locations.md`).
const fn head(code: u8, units: u8) -> u8 {
    0x80 | (code << 3) | (units - 1)
}

#[test]
fn locations_empty_unstarted_and_past_end() {
    expect(location_table_line, &[], 7, &[(-1, 7), (0, 7), (50, 7)]);
    let t = [head(13, 2), 2, head(11, 3), 0, 1];
    let cases = [
        (-2, 7),
        (-1, 7),
        (0, 8),
        (1, 8),
        (2, 9),
        (4, 9),
        (5, 9),
        (1000, 9),
    ];
    expect(location_table_line, &t, 7, &cases);
}

#[test]
fn locations_every_code_form() {
    #[rustfmt::skip]
    let t = [
        head(3, 2), 0x25,         // short form (codes 0-9): same line, 2 units
        head(10, 1), 4, 9,        // one-line form, +0
        head(11, 1), 4, 9,        // +1
        head(12, 8), 4, 9,        // +2, 8 units (the longest entry)
        head(13, 1), 7,           // no columns, svarint 7 = -3
        head(14, 1), 20, 1, 2, 3, // long form, svarint 20 = +10, then end line and columns
        head(15, 3),              // no location: the running line
        head(13, 1), 6,           // +3 from the running line
    ];
    let cases = [
        (0, 100),
        (2, 100),
        (3, 101),
        (4, 103),
        (11, 103),
        (12, 100),
        (13, 110),
        (14, 110),
        (16, 110),
        (17, 113),
        (18, 113),
    ];
    expect(location_table_line, &t, 100, &cases);
}

#[test]
fn locations_multi_chunk_varints() {
    // +300: svarint 600 = 0x258 -> chunks 0x18|0x40, 0x09. -400: 801 = 0x321 -> 0x21|0x40, 0x0C.
    #[rustfmt::skip]
    let t = [
        head(13, 1), 0x58, 0x09,
        head(14, 2), 0x61, 0x0C, 0, 1, 1,
        head(0, 1), 0,
    ];
    expect(
        location_table_line,
        &t,
        100,
        &[(0, 400), (1, 0), (2, 0), (3, 0), (4, 0)],
    );
    // No location first (3.12's POP_TOP after RETURN_GENERATOR): co_firstlineno.
    let t = [head(15, 1), head(13, 1), 2];
    expect(
        location_table_line,
        &t,
        647,
        &[(0, 647), (1, 648), (2, 648)],
    );
}

#[test]
fn locations_garbage_is_bounded() {
    // A varint cut off by the end of the table, or by the next head byte, ends there.
    expect(location_table_line, &[head(13, 1), 0x4A], 0, &[(0, 5)]);
    let t = [head(13, 1), 0x4A, head(0, 1), 0];
    expect(location_table_line, &t, 0, &[(0, 5), (1, 5)]);
    // More chunks than fit in 32 bits: the high ones are dropped, nothing panics.
    let mut long = vec![head(13, 1)];
    long.extend([0x7F; 40]);
    long.push(0x01);
    assert_eq!(location_table_line(&long, 0, 0), -((u32::MAX >> 1) as i32));
    // A first byte without bit 7 is still read as a head byte (CPython only asserts it).
    expect(location_table_line, &[0x68, 2], 0, &[(0, 1), (1, 1)]);
}

#[test]
fn arithmetic_saturates() {
    assert_eq!(unsigned(&[0, 255, 0, 255], i32::MAX - 300, 0), i32::MAX);
    assert_eq!(signed(&[0, 0x80], i32::MIN + 5, 0), i32::MIN);
    assert_eq!(linetable310_line(&[2, 127], i32::MAX, 0), i32::MAX);
    assert_eq!(linetable310_line(&[255, 0], 1, i32::MAX), 1);
    // i32::MAX - 1, then +(2^30 - 1), then +(2^23 - 1) from a varint cut by the table end.
    #[rustfmt::skip]
    let t = [
        head(13, 8), 0x7E, 0x7F, 0x7F, 0x7F, 0x7F, 0x01,
        head(13, 8), 0x7E, 0x7F, 0x7F, 0x7F,
    ];
    assert_eq!(location_table_line(&t, i32::MAX - 1, i32::MAX), i32::MAX);
    assert_eq!(location_table_line(&[head(15, 8)], 3, i32::MAX), 3);
}

#[test]
fn huge_tables_are_one_pass() {
    // A megabyte of each: every call walks it once (lasti far past the end) and returns.
    let mb = 1 << 20;
    assert_eq!(unsigned(&vec![255; mb], 0, i32::MAX), 255 * (1 << 19));
    assert_eq!(linetable310_line(&vec![0x80; mb], 5, i32::MAX), 5);
    assert_eq!(location_table_line(&vec![head(15, 8); mb], 5, i32::MAX), 5);
    let mut one_varint = vec![head(13, 1)];
    one_varint.resize(mb, 0x40);
    assert_eq!(location_table_line(&one_varint, 5, i32::MAX), 5);
}

// ---------------------------------------------------------------------------------------------
// Vectors captured from real interpreters

/// Which decoder a vector is read with.
#[derive(Clone, Copy, Debug)]
enum Fmt {
    Lnotab { signed: bool },
    Linetable310,
    Locations,
}

fn decode(fmt: Fmt, table: &[u8], first: i32, lasti: i32) -> i32 {
    match fmt {
        Fmt::Lnotab { signed } => lnotab_line(table, first, lasti, signed),
        Fmt::Linetable310 => linetable310_line(table, first, lasti),
        Fmt::Locations => location_table_line(table, first, lasti),
    }
}

/// The expected line of a span of offsets.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Line {
    /// CPython's own `PyCode_Addr2Line` gave this line.
    L(i32),
    /// CPython gave "no line" (-1 / `None`); expected is the running line (module doc).
    N(i32),
}
use Line::{L, N};

impl Line {
    fn get(self) -> i32 {
        match self {
            L(line) | N(line) => line,
        }
    }
}

/// One code object as a real interpreter compiled it.
struct Vector {
    /// "<interpreter version> <co_name>".
    name: &'static str,
    /// `co_firstlineno`.
    first: i32,
    /// `co_lnotab` (≤ 3.9) or `co_linetable` (3.10+), verbatim.
    table: &'static [u8],
    /// `(start, end, line)`: every offset in `start..end` has that line. The spans cover every
    /// offset of `co_code`, in the unit the decoder takes (bytes ≤ 3.10, code units 3.11+), and
    /// were produced by calling the interpreter's `PyCode_Addr2Line` at each one (through
    /// ctypes), after checking it against `dis.findlinestarts` (≤ 3.9), `co_lines()` (3.10) or
    /// `co_positions()` (3.11+) at every instruction.
    lines: &'static [(i32, i32, Line)],
    /// `(lasti, f_lineno, what)` seen on live frames (`sys._getframe(1)` inside the code, a
    /// suspended generator's `gi_frame`) and tracebacks (`tb_lasti`, `tb_lineno`). `lasti` is the
    /// Python-level `f_lasti` (always bytes, 3.10 included), halved for 3.11+.
    live: &'static [(i32, i32, &'static str)],
}

/// All vectors of one interpreter.
struct Set {
    fmt: Fmt,
    vectors: &'static [Vector],
}

fn check_set(set: &Set) {
    for v in set.vectors {
        let line = |lasti| decode(set.fmt, v.table, v.first, lasti);
        let mut next = 0;
        for &(start, end, want) in v.lines {
            assert_eq!(start, next, "{}: spans must be contiguous", v.name);
            for lasti in start..end {
                assert_eq!(line(lasti), want.get(), "{} at {lasti} ({want:?})", v.name);
            }
            next = end;
        }
        let last = v.lines.last().map_or(v.first, |&(_, _, l)| l.get());
        assert_eq!(line(next), last, "{}: just past the end", v.name);
        assert_eq!(line(next + 1000), last, "{}: far past the end", v.name);
        assert_eq!(line(-1), v.first, "{}: frame not started", v.name);
        for &(lasti, lineno, what) in v.live {
            let name = v.name;
            assert_eq!(line(lasti), lineno, "{name}: f_lineno of {what} at {lasti}");
        }
    }
}

#[test]
fn python_2_7() {
    check_set(&PY27);
}

#[test]
fn python_3_6() {
    check_set(&PY36);
}

#[test]
fn python_3_7() {
    check_set(&PY37);
}

#[test]
fn python_3_8() {
    check_set(&PY38);
}

#[test]
fn python_3_9() {
    check_set(&PY39);
}

#[test]
fn python_3_10() {
    check_set(&PY310);
}

#[test]
fn python_3_11() {
    check_set(&PY311);
}

#[test]
fn python_3_12() {
    check_set(&PY312);
}

#[test]
fn python_3_13() {
    check_set(&PY313);
}

const ALL: [&Set; 9] = [
    &PY27, &PY36, &PY37, &PY38, &PY39, &PY310, &PY311, &PY312, &PY313,
];

fn pairs(table: &[u8]) -> impl Iterator<Item = (u8, u8)> + '_ {
    table.chunks_exact(2).map(|p| (p[0], p[1]))
}

/// The captured vectors really contain the cases they are meant to cover.
#[test]
fn vectors_cover_the_cases() {
    // Address splits: (255, 0) in 2.7 – 3.9, (254, d) in 3.10, for the one-line `big`.
    for v in [&PY27_BIG, &PY36_BIG, &PY37_BIG, &PY38_BIG, &PY39_BIG] {
        assert!(pairs(v.table).any(|p| p == (255, 0)), "{}", v.name);
    }
    assert!(pairs(PY310_BIG.table).any(|(a, _)| a == 254));
    // Line splits: (x, 255) in 2.7, (x, 127) from 3.6, (0, -127) in 3.10.
    assert!(pairs(PY27_GAP.table).any(|(_, l)| l == 255));
    for v in [&PY36_GAP, &PY38_GAP, &PY310_GAP] {
        assert!(pairs(v.table).any(|(_, l)| l == 127), "{}", v.name);
    }
    assert!(pairs(PY310_GAP.table).any(|p| p == (0, 0x81)));
    // Negative deltas: a span whose line is lower than the one before. 3.6 and 3.7 read them but
    // their compilers (like 2.7's) emitted none here; 3.8 and 3.9 do for multi-line calls, and
    // from 3.10 the loop's backward jump has one too.
    let goes_back = |v: &Vector| v.lines.windows(2).any(|w| w[1].2.get() < w[0].2.get());
    for (i, set) in ALL.iter().enumerate() {
        let compiled = || set.vectors.iter().filter(|v| !v.name.contains("crafted"));
        assert_eq!(compiled().any(goes_back), i >= 3, "{}", set.vectors[0].name);
    }
    for v in [&PY310_LOOP, &PY311_LOOP, &PY312_LOOP, &PY313_LOOP] {
        assert!(goes_back(v), "{}", v.name);
    }
    assert!(
        pairs(PY38_GAP.table).any(|p| p == (0, 0x80)),
        "3.8 splits -301 by -128"
    );
    // The crafted lnotab bytes are the same for 2.7 and 3.6, and the interpreters disagree.
    assert_eq!(PY27_CRAFTED.table, PY36_CRAFTED.table);
    assert_ne!(PY27_CRAFTED.lines, PY36_CRAFTED.lines);
    // No-line ranges (3.10 -128, 3.11+ code 15) occur in compiled code.
    for set in &ALL[5..] {
        let compiled = set.vectors.iter().filter(|v| !v.name.contains("crafted"));
        let mut lines = compiled.flat_map(|v| v.lines);
        assert!(
            lines.any(|&(_, _, l)| matches!(l, N(_))),
            "{}",
            set.vectors[0].name
        );
    }
    // 3.11+: multi-chunk varints for the 300-line gaps, and `big` is over 256 bytes.
    for v in [&PY311_GAP, &PY312_GAP, &PY313_GAP] {
        assert!(
            v.table
                .windows(2)
                .any(|w| w[0] & 0xC0 == 0x40 && w[1] & 0x80 == 0),
            "{}",
            v.name
        );
    }
    for v in [&PY311_BIG, &PY312_BIG, &PY313_BIG] {
        assert!(v.lines.last().unwrap().1 * 2 > 256, "{}", v.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Robustness: any bytes, any lasti, any firstlineno

/// xorshift64: a fixed, dependency-free stream of test bytes.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Calls every decoder at every lasti in -2..len*2+4 and at the i32 extremes. Reaching the end
/// is the test: no panic (overflow, index, shift), no endless loop.
fn sweep(table: &[u8], first: i32) {
    let len = i32::try_from(table.len()).unwrap();
    let lastis = (-2..len * 2 + 4).chain([i32::MIN, i32::MAX]);
    for lasti in lastis {
        for signed in [false, true] {
            let line = lnotab_line(table, first, lasti, signed);
            let bound = 255 * i64::from(len / 2);
            assert!((i64::from(line) - i64::from(first)).abs() <= bound);
        }
        let line = linetable310_line(table, first, lasti);
        assert!((i64::from(line) - i64::from(first)).abs() <= 128 * i64::from(len / 2));
        location_table_line(table, first, lasti);
        if lasti < 0 {
            assert_eq!(linetable310_line(table, first, lasti), first);
            assert_eq!(location_table_line(table, first, lasti), first);
            assert_eq!(lnotab_line(table, first, lasti, true), first);
        }
    }
}

#[test]
fn random_tables_never_panic() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    // Bytes that matter to the decoders, mixed with uniform noise.
    let special = [
        0x00, 0x01, 0x40, 0x7F, 0x80, 0x81, 0xF8, 0xFF, 0xC0, 0xE8, 0xF0, 0xFE,
    ];
    for round in 0..3000 {
        let len = (rng.next() % 48) as usize;
        let table: Vec<u8> = (0..len)
            .map(|_| match rng.next() % 3 {
                0 => special[(rng.next() % special.len() as u64) as usize],
                _ => rng.next() as u8,
            })
            .collect();
        let first = [0, 1, -1, i32::MAX, i32::MIN, 1 << 30][round % 6];
        sweep(&table, first);
    }
}

#[test]
fn truncated_real_tables_never_panic() {
    for set in ALL {
        for v in set.vectors {
            for cut in 0..=v.table.len() {
                sweep(&v.table[..cut], v.first);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Captured vectors. A throwaway script (not kept) compiled the snippet below with each interpreter
// and printed, per code object, the table, co_firstlineno, PyCode_Addr2Line at every offset, and
// the live-frame samples; the crafted_* code objects carry hand-made tables, built with
// types.CodeType / code.replace() so that the interpreter itself answers for them.

// Snippet compiled by every interpreter, with its line numbers:
//
//    1  # header line 1
//    2  # header line 2
//    3  import sys
//    4  LIVE = []
//    5  def P():
//    6      f = sys._getframe(1)
//    7      LIVE.append((f.f_code, f.f_lasti, f.f_lineno))
//    8
//    9  def loop(n):
//   10      total = 0
//   11      for i in range(n):
//   12          if i % 3:
//   13              total += i
//   14          else:
//   15              total -= 1
//   16          P()
//   17      while n > 0:
//   18          n -= 1
//   19      P()
//   20      return total
//   21
//   22  def call(a, b):
//   23      P()
//   24      return max(
//   25          a,
//   26          b,
//   27          len([a,
//   28               P()]),
//   29      )
//   30
//   31  def big(x):
//   32      y = [x + 0, x + 1, x + 2, ... x + 44]  (x + 23] from 3.11: one line > 256 bytecode bytes)
//   33      P()
//   34      for i in range(2):
//   35          x = x - i
//   36      P()
//   37      return x
//   38
//   39  def gap(x):
//   40      y = x + 1
//   41      # pad ... (300 comment lines)
//  341      P()
//  342      z = max(y,
//  343          # pad ... (300 comment lines)
//  643              y)
//  644      P()
//  645      return z
//  646
//  647  def gen(n):
//  648      for i in range(n):
//  649          yield i
//  650      yield -1
//  651
//  652  def tryexc(x):
//  653      try:
//  654          y = 1 // x
//  655      except ZeroDivisionError:
//  656          P()
//  657          y = 0
//  658      finally:
//  659          x = None
//  660      return y
//  661
//  662  def comp(xs):
//  663      return [x * 2
//  664              for x in xs
//  665              if x and P() is None]
//  666
//  667  lam = (lambda a,
//  668         b: a + b + (P() or 0))

const PY27: Set = Set {
    fmt: Fmt::Lnotab { signed: false },
    vectors: &[
        PY27_LOOP,
        PY27_CALL,
        PY27_BIG,
        PY27_GAP,
        PY27_GEN,
        PY27_TRYEXC,
        PY27_LAMBDA,
        PY27_CRAFTED,
    ],
};

const PY36: Set = Set {
    fmt: Fmt::Lnotab { signed: true },
    vectors: &[
        PY36_LOOP,
        PY36_CALL,
        PY36_BIG,
        PY36_GAP,
        PY36_GEN,
        PY36_TRYEXC,
        PY36_LISTCOMP,
        PY36_LAMBDA,
        PY36_CRAFTED,
    ],
};

const PY37: Set = Set {
    fmt: Fmt::Lnotab { signed: true },
    vectors: &[
        PY37_LOOP,
        PY37_CALL,
        PY37_BIG,
        PY37_GAP,
        PY37_GEN,
        PY37_TRYEXC,
        PY37_LISTCOMP,
        PY37_LAMBDA,
        PY37_CRAFTED,
    ],
};

const PY38: Set = Set {
    fmt: Fmt::Lnotab { signed: true },
    vectors: &[
        PY38_LOOP,
        PY38_CALL,
        PY38_BIG,
        PY38_GAP,
        PY38_GEN,
        PY38_TRYEXC,
        PY38_LISTCOMP,
        PY38_LAMBDA,
        PY38_CRAFTED,
    ],
};

const PY39: Set = Set {
    fmt: Fmt::Lnotab { signed: true },
    vectors: &[
        PY39_LOOP,
        PY39_CALL,
        PY39_BIG,
        PY39_GAP,
        PY39_GEN,
        PY39_TRYEXC,
        PY39_LISTCOMP,
        PY39_LAMBDA,
        PY39_CRAFTED,
    ],
};

const PY310: Set = Set {
    fmt: Fmt::Linetable310,
    vectors: &[
        PY310_LOOP,
        PY310_CALL,
        PY310_BIG,
        PY310_GAP,
        PY310_GEN,
        PY310_TRYEXC,
        PY310_LISTCOMP,
        PY310_LAMBDA,
        PY310_CRAFTED,
    ],
};

const PY311: Set = Set {
    fmt: Fmt::Locations,
    vectors: &[
        PY311_LOOP,
        PY311_CALL,
        PY311_BIG,
        PY311_GAP,
        PY311_GEN,
        PY311_TRYEXC,
        PY311_LISTCOMP,
        PY311_LAMBDA,
        PY311_CRAFTED,
    ],
};

const PY312: Set = Set {
    fmt: Fmt::Locations,
    vectors: &[
        PY312_LOOP,
        PY312_CALL,
        PY312_BIG,
        PY312_GAP,
        PY312_GEN,
        PY312_TRYEXC,
        PY312_COMP,
        PY312_LAMBDA,
        PY312_CRAFTED,
    ],
};

const PY313: Set = Set {
    fmt: Fmt::Locations,
    vectors: &[
        PY313_LOOP,
        PY313_CALL,
        PY313_BIG,
        PY313_GAP,
        PY313_GEN,
        PY313_TRYEXC,
        PY313_COMP,
        PY313_LAMBDA,
        PY313_CRAFTED,
    ],
};

#[rustfmt::skip]
const PY27_LOOP: Vector = Vector {
    name: "2.7.18 loop",
    first: 9,
    table: &[
        0x00, 0x01,  0x06, 0x01,  0x13, 0x01,  0x0A, 0x01,  0x0D, 0x02,  0x0A, 0x01,
        0x0B, 0x01,  0x0F, 0x01,  0x0E, 0x01,  0x07, 0x01,
    ],
    lines: &[
        (0, 6, L(10)), (6, 25, L(11)), (25, 35, L(12)), (35, 48, L(13)), (48, 58, L(15)),
        (58, 69, L(16)), (69, 84, L(17)), (84, 98, L(18)), (98, 105, L(19)), (105, 109, L(20)),
    ],
    live: &[
        (61, 16, "probe"), (101, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY27_CALL: Vector = Vector {
    name: "2.7.18 call",
    first: 22,
    table: &[
        0x00, 0x01,  0x07, 0x01,  0x03, 0x01,  0x03, 0x01,  0x03, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 7, L(23)), (7, 10, L(24)), (10, 13, L(25)), (13, 16, L(26)), (16, 22, L(27)),
        (22, 38, L(28)),
    ],
    live: &[
        (3, 23, "probe"), (25, 28, "probe"),
    ],
};

#[rustfmt::skip]
const PY27_BIG: Vector = Vector {
    name: "2.7.18 big",
    first: 31,
    table: &[
        0x00, 0x01,  0xFF, 0x00,  0x42, 0x01,  0x07, 0x01,  0x13, 0x01,  0x0E, 0x01,
        0x07, 0x01,
    ],
    lines: &[
        (0, 321, L(32)), (321, 328, L(33)), (328, 347, L(34)), (347, 361, L(35)), (361, 368, L(36)),
        (368, 372, L(37)),
    ],
    live: &[
        (324, 33, "probe"), (364, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY27_GAP: Vector = Vector {
    name: "2.7.18 gap",
    first: 39,
    table: &[
        0x00, 0x01,  0x0A, 0xFF,  0x00, 0x2E,  0x07, 0x01,  0x06, 0xFF,  0x00, 0x2E,
        0x09, 0x01,  0x07, 0x01,
    ],
    lines: &[
        (0, 10, L(40)), (10, 17, L(341)), (17, 23, L(342)), (23, 32, L(643)), (32, 39, L(644)),
        (39, 43, L(645)),
    ],
    live: &[
        (13, 341, "probe"), (35, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY27_GEN: Vector = Vector {
    name: "2.7.18 gen",
    first: 647,
    table: &[
        0x00, 0x01,  0x13, 0x01,  0x09, 0x01,
    ],
    lines: &[
        (0, 19, L(648)), (19, 28, L(649)), (28, 37, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (22, 649, "suspended gen"), (31, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY27_TRYEXC: Vector = Vector {
    name: "2.7.18 tryexc",
    first: 652,
    table: &[
        0x00, 0x01,  0x03, 0x00,  0x03, 0x01,  0x0E, 0x01,  0x0D, 0x01,  0x07, 0x01,
        0x0E, 0x02,  0x07, 0x01,
    ],
    lines: &[
        (0, 6, L(653)), (6, 20, L(654)), (20, 33, L(655)), (33, 40, L(656)), (40, 54, L(657)),
        (54, 61, L(659)), (61, 65, L(660)),
    ],
    live: &[
        (36, 656, "probe"), (12, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY27_LAMBDA: Vector = Vector {
    name: "2.7.18 <lambda>",
    first: 667,
    table: &[
        0x00, 0x01,
    ],
    lines: &[
        (0, 21, L(668)),
    ],
    live: &[
        (10, 668, "probe"),
    ],
};

#[rustfmt::skip]
const PY27_CRAFTED: Vector = Vector {
    name: "2.7.18 crafted_lnotab",
    first: 100,
    table: &[
        0x00, 0x01,  0x04, 0xFE,  0xFF, 0x00,  0x05, 0x03,  0x02, 0x81,  0x00, 0x81,
        0x04, 0x7F,  0x00, 0xFF,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(101)), (4, 264, L(355)), (264, 266, L(358)), (266, 270, L(616)),
        (270, 276, L(998)), (276, 288, L(999)),
    ],
    live: &[],
};

#[rustfmt::skip]
const PY36_LOOP: Vector = Vector {
    name: "3.6.15 loop",
    first: 9,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0E, 0x01,  0x08, 0x01,  0x0A, 0x02,  0x08, 0x01,
        0x0A, 0x01,  0x0A, 0x01,  0x0C, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(10)), (4, 18, L(11)), (18, 26, L(12)), (26, 36, L(13)), (36, 44, L(15)),
        (44, 54, L(16)), (54, 64, L(17)), (64, 76, L(18)), (76, 82, L(19)), (82, 86, L(20)),
    ],
    live: &[
        (46, 16, "probe"), (78, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY36_CALL: Vector = Vector {
    name: "3.6.15 call",
    first: 22,
    table: &[
        0x00, 0x01,  0x06, 0x01,  0x02, 0x01,  0x02, 0x01,  0x02, 0x01,  0x04, 0x01,
    ],
    lines: &[
        (0, 6, L(23)), (6, 8, L(24)), (8, 10, L(25)), (10, 12, L(26)), (12, 16, L(27)),
        (16, 28, L(28)),
    ],
    live: &[
        (2, 23, "probe"), (18, 28, "probe"),
    ],
};

#[rustfmt::skip]
const PY36_BIG: Vector = Vector {
    name: "3.6.15 big",
    first: 31,
    table: &[
        0x00, 0x01,  0xFF, 0x00,  0x13, 0x01,  0x06, 0x01,  0x0E, 0x01,  0x0E, 0x01,
        0x06, 0x01,
    ],
    lines: &[
        (0, 274, L(32)), (274, 280, L(33)), (280, 294, L(34)), (294, 308, L(35)), (308, 314, L(36)),
        (314, 318, L(37)),
    ],
    live: &[
        (276, 33, "probe"), (310, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY36_GAP: Vector = Vector {
    name: "3.6.15 gap",
    first: 39,
    table: &[
        0x00, 0x01,  0x08, 0x7F,  0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 8, L(40)), (8, 14, L(341)), (14, 18, L(342)), (18, 24, L(643)), (24, 30, L(644)),
        (30, 34, L(645)),
    ],
    live: &[
        (10, 341, "probe"), (26, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY36_GEN: Vector = Vector {
    name: "3.6.15 gen",
    first: 647,
    table: &[
        0x00, 0x01,  0x0E, 0x01,  0x0A, 0x01,
    ],
    lines: &[
        (0, 14, L(648)), (14, 24, L(649)), (24, 34, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (16, 649, "suspended gen"), (26, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY36_TRYEXC: Vector = Vector {
    name: "3.6.15 tryexc",
    first: 652,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x0E, 0x01,  0x06, 0x01,  0x0E, 0x02,
        0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(653)), (4, 16, L(654)), (16, 30, L(655)), (30, 36, L(656)), (36, 50, L(657)),
        (50, 56, L(659)), (56, 60, L(660)),
    ],
    live: &[
        (32, 656, "probe"), (8, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY36_LISTCOMP: Vector = Vector {
    name: "3.6.15 <listcomp>",
    first: 663,
    table: &[
        0x06, 0x01,  0x02, 0x01,
    ],
    lines: &[
        (0, 6, L(663)), (6, 8, L(664)), (8, 34, L(665)),
    ],
    live: &[
        (14, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY36_LAMBDA: Vector = Vector {
    name: "3.6.15 <lambda>",
    first: 667,
    table: &[
        0x00, 0x01,
    ],
    lines: &[
        (0, 18, L(668)),
    ],
    live: &[
        (8, 668, "probe"),
    ],
};

#[rustfmt::skip]
const PY36_CRAFTED: Vector = Vector {
    name: "3.6.15 crafted_lnotab",
    first: 100,
    table: &[
        0x00, 0x01,  0x04, 0xFE,  0xFF, 0x00,  0x05, 0x03,  0x02, 0x81,  0x00, 0x81,
        0x04, 0x7F,  0x00, 0xFF,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(101)), (4, 264, L(99)), (264, 266, L(102)), (266, 270, L(-152)),
        (270, 276, L(-26)), (276, 288, L(-25)),
    ],
    live: &[],
};

#[rustfmt::skip]
const PY37_LOOP: Vector = Vector {
    name: "3.7.16 loop",
    first: 9,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0E, 0x01,  0x08, 0x01,  0x0A, 0x02,  0x08, 0x01,
        0x0A, 0x01,  0x0A, 0x01,  0x0C, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(10)), (4, 18, L(11)), (18, 26, L(12)), (26, 36, L(13)), (36, 44, L(15)),
        (44, 54, L(16)), (54, 64, L(17)), (64, 76, L(18)), (76, 82, L(19)), (82, 86, L(20)),
    ],
    live: &[
        (46, 16, "probe"), (78, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY37_CALL: Vector = Vector {
    name: "3.7.16 call",
    first: 22,
    table: &[
        0x00, 0x01,  0x06, 0x01,  0x02, 0x01,  0x02, 0x01,  0x02, 0x01,  0x04, 0x01,
    ],
    lines: &[
        (0, 6, L(23)), (6, 8, L(24)), (8, 10, L(25)), (10, 12, L(26)), (12, 16, L(27)),
        (16, 28, L(28)),
    ],
    live: &[
        (2, 23, "probe"), (18, 28, "probe"),
    ],
};

#[rustfmt::skip]
const PY37_BIG: Vector = Vector {
    name: "3.7.16 big",
    first: 31,
    table: &[
        0x00, 0x01,  0xFF, 0x00,  0x13, 0x01,  0x06, 0x01,  0x0E, 0x01,  0x0E, 0x01,
        0x06, 0x01,
    ],
    lines: &[
        (0, 274, L(32)), (274, 280, L(33)), (280, 294, L(34)), (294, 308, L(35)), (308, 314, L(36)),
        (314, 318, L(37)),
    ],
    live: &[
        (276, 33, "probe"), (310, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY37_GAP: Vector = Vector {
    name: "3.7.16 gap",
    first: 39,
    table: &[
        0x00, 0x01,  0x08, 0x7F,  0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 8, L(40)), (8, 14, L(341)), (14, 18, L(342)), (18, 24, L(643)), (24, 30, L(644)),
        (30, 34, L(645)),
    ],
    live: &[
        (10, 341, "probe"), (26, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY37_GEN: Vector = Vector {
    name: "3.7.16 gen",
    first: 647,
    table: &[
        0x00, 0x01,  0x0E, 0x01,  0x0A, 0x01,
    ],
    lines: &[
        (0, 14, L(648)), (14, 24, L(649)), (24, 34, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (16, 649, "suspended gen"), (26, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY37_TRYEXC: Vector = Vector {
    name: "3.7.16 tryexc",
    first: 652,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x0E, 0x01,  0x06, 0x01,  0x0E, 0x02,
        0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(653)), (4, 16, L(654)), (16, 30, L(655)), (30, 36, L(656)), (36, 50, L(657)),
        (50, 56, L(659)), (56, 60, L(660)),
    ],
    live: &[
        (32, 656, "probe"), (8, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY37_LISTCOMP: Vector = Vector {
    name: "3.7.16 <listcomp>",
    first: 663,
    table: &[
        0x06, 0x01,  0x02, 0x01,
    ],
    lines: &[
        (0, 6, L(663)), (6, 8, L(664)), (8, 34, L(665)),
    ],
    live: &[
        (14, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY37_LAMBDA: Vector = Vector {
    name: "3.7.16 <lambda>",
    first: 667,
    table: &[
        0x00, 0x01,
    ],
    lines: &[
        (0, 18, L(668)),
    ],
    live: &[
        (8, 668, "probe"),
    ],
};

#[rustfmt::skip]
const PY37_CRAFTED: Vector = Vector {
    name: "3.7.16 crafted_lnotab",
    first: 100,
    table: &[
        0x00, 0x01,  0x04, 0xFE,  0xFF, 0x00,  0x05, 0x03,  0x02, 0x81,  0x00, 0x81,
        0x04, 0x7F,  0x00, 0xFF,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(101)), (4, 264, L(99)), (264, 266, L(102)), (266, 270, L(-152)),
        (270, 276, L(-26)), (276, 288, L(-25)),
    ],
    live: &[],
};

#[rustfmt::skip]
const PY38_LOOP: Vector = Vector {
    name: "3.8.18 loop",
    first: 9,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x08, 0x01,  0x0A, 0x02,  0x08, 0x01,
        0x08, 0x01,  0x08, 0x01,  0x0A, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(10)), (4, 16, L(11)), (16, 24, L(12)), (24, 34, L(13)), (34, 42, L(15)),
        (42, 50, L(16)), (50, 58, L(17)), (58, 68, L(18)), (68, 74, L(19)), (74, 78, L(20)),
    ],
    live: &[
        (44, 16, "probe"), (70, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY38_CALL: Vector = Vector {
    name: "3.8.18 call",
    first: 22,
    table: &[
        0x00, 0x01,  0x06, 0x01,  0x02, 0x01,  0x02, 0x01,  0x02, 0x01,  0x04, 0x01,
        0x04, 0xFF,  0x04, 0xFD,
    ],
    lines: &[
        (0, 6, L(23)), (6, 8, L(24)), (8, 10, L(25)), (10, 12, L(26)), (12, 16, L(27)),
        (16, 20, L(28)), (20, 24, L(27)), (24, 28, L(24)),
    ],
    live: &[
        (2, 23, "probe"), (18, 28, "probe"),
    ],
};

#[rustfmt::skip]
const PY38_BIG: Vector = Vector {
    name: "3.8.18 big",
    first: 31,
    table: &[
        0x00, 0x01,  0xFF, 0x00,  0x13, 0x01,  0x06, 0x01,  0x0C, 0x01,  0x0C, 0x01,
        0x06, 0x01,
    ],
    lines: &[
        (0, 274, L(32)), (274, 280, L(33)), (280, 292, L(34)), (292, 304, L(35)), (304, 310, L(36)),
        (310, 314, L(37)),
    ],
    live: &[
        (276, 33, "probe"), (306, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY38_GAP: Vector = Vector {
    name: "3.8.18 gap",
    first: 39,
    table: &[
        0x00, 0x01,  0x08, 0x7F,  0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x2F,  0x02, 0x80,  0x00, 0x80,  0x00, 0xD3,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x30,  0x06, 0x01,
    ],
    lines: &[
        (0, 8, L(40)), (8, 14, L(341)), (14, 18, L(342)), (18, 20, L(643)), (20, 24, L(342)),
        (24, 30, L(644)), (30, 34, L(645)),
    ],
    live: &[
        (10, 341, "probe"), (26, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY38_GEN: Vector = Vector {
    name: "3.8.18 gen",
    first: 647,
    table: &[
        0x00, 0x01,  0x0C, 0x01,  0x08, 0x01,
    ],
    lines: &[
        (0, 12, L(648)), (12, 20, L(649)), (20, 30, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (14, 649, "suspended gen"), (22, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY38_TRYEXC: Vector = Vector {
    name: "3.8.18 tryexc",
    first: 652,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x0E, 0x01,  0x06, 0x01,  0x0E, 0x02,
        0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(653)), (4, 16, L(654)), (16, 30, L(655)), (30, 36, L(656)), (36, 50, L(657)),
        (50, 56, L(659)), (56, 60, L(660)),
    ],
    live: &[
        (32, 656, "probe"), (8, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY38_LISTCOMP: Vector = Vector {
    name: "3.8.18 <listcomp>",
    first: 663,
    table: &[
        0x06, 0x01,  0x02, 0x01,  0x04, 0x00,  0x0A, 0xFE,
    ],
    lines: &[
        (0, 6, L(663)), (6, 8, L(664)), (8, 22, L(665)), (22, 34, L(663)),
    ],
    live: &[
        (14, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY38_LAMBDA: Vector = Vector {
    name: "3.8.18 <lambda>",
    first: 667,
    table: &[
        0x00, 0x01,
    ],
    lines: &[
        (0, 18, L(668)),
    ],
    live: &[
        (8, 668, "probe"),
    ],
};

#[rustfmt::skip]
const PY38_CRAFTED: Vector = Vector {
    name: "3.8.18 crafted_lnotab",
    first: 100,
    table: &[
        0x00, 0x01,  0x04, 0xFE,  0xFF, 0x00,  0x05, 0x03,  0x02, 0x81,  0x00, 0x81,
        0x04, 0x7F,  0x00, 0xFF,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(101)), (4, 264, L(99)), (264, 266, L(102)), (266, 270, L(-152)),
        (270, 276, L(-26)), (276, 288, L(-25)),
    ],
    live: &[],
};

#[rustfmt::skip]
const PY39_LOOP: Vector = Vector {
    name: "3.9.18 loop",
    first: 9,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x08, 0x01,  0x0A, 0x02,  0x08, 0x01,
        0x08, 0x01,  0x08, 0x01,  0x0A, 0x01,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(10)), (4, 16, L(11)), (16, 24, L(12)), (24, 34, L(13)), (34, 42, L(15)),
        (42, 50, L(16)), (50, 58, L(17)), (58, 68, L(18)), (68, 74, L(19)), (74, 78, L(20)),
    ],
    live: &[
        (44, 16, "probe"), (70, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_CALL: Vector = Vector {
    name: "3.9.18 call",
    first: 22,
    table: &[
        0x00, 0x01,  0x06, 0x01,  0x02, 0x01,  0x02, 0x01,  0x02, 0x01,  0x04, 0x01,
        0x04, 0xFF,  0x04, 0xFD,
    ],
    lines: &[
        (0, 6, L(23)), (6, 8, L(24)), (8, 10, L(25)), (10, 12, L(26)), (12, 16, L(27)),
        (16, 20, L(28)), (20, 24, L(27)), (24, 28, L(24)),
    ],
    live: &[
        (2, 23, "probe"), (18, 28, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_BIG: Vector = Vector {
    name: "3.9.18 big",
    first: 31,
    table: &[
        0x00, 0x01,  0xFF, 0x00,  0x13, 0x01,  0x06, 0x01,  0x0C, 0x01,  0x0C, 0x01,
        0x06, 0x01,
    ],
    lines: &[
        (0, 274, L(32)), (274, 280, L(33)), (280, 292, L(34)), (292, 304, L(35)), (304, 310, L(36)),
        (310, 314, L(37)),
    ],
    live: &[
        (276, 33, "probe"), (306, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_GAP: Vector = Vector {
    name: "3.9.18 gap",
    first: 39,
    table: &[
        0x00, 0x01,  0x08, 0x7F,  0x00, 0x7F,  0x00, 0x2F,  0x06, 0x01,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x2F,  0x02, 0x80,  0x00, 0x80,  0x00, 0xD3,  0x04, 0x7F,
        0x00, 0x7F,  0x00, 0x30,  0x06, 0x01,
    ],
    lines: &[
        (0, 8, L(40)), (8, 14, L(341)), (14, 18, L(342)), (18, 20, L(643)), (20, 24, L(342)),
        (24, 30, L(644)), (30, 34, L(645)),
    ],
    live: &[
        (10, 341, "probe"), (26, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_GEN: Vector = Vector {
    name: "3.9.18 gen",
    first: 647,
    table: &[
        0x00, 0x01,  0x0C, 0x01,  0x08, 0x01,
    ],
    lines: &[
        (0, 12, L(648)), (12, 20, L(649)), (20, 30, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (14, 649, "suspended gen"), (22, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY39_TRYEXC: Vector = Vector {
    name: "3.9.18 tryexc",
    first: 652,
    table: &[
        0x00, 0x01,  0x04, 0x01,  0x0C, 0x01,  0x0C, 0x01,  0x06, 0x01,  0x0C, 0x02,
        0x0C, 0x01,
    ],
    lines: &[
        (0, 4, L(653)), (4, 16, L(654)), (16, 28, L(655)), (28, 34, L(656)), (34, 46, L(657)),
        (46, 58, L(659)), (58, 62, L(660)),
    ],
    live: &[
        (30, 656, "probe"), (8, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY39_LISTCOMP: Vector = Vector {
    name: "3.9.18 <listcomp>",
    first: 663,
    table: &[
        0x06, 0x01,  0x02, 0x01,  0x0E, 0xFE,
    ],
    lines: &[
        (0, 6, L(663)), (6, 8, L(664)), (8, 22, L(665)), (22, 34, L(663)),
    ],
    live: &[
        (14, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_LAMBDA: Vector = Vector {
    name: "3.9.18 <lambda>",
    first: 667,
    table: &[
        0x00, 0x01,
    ],
    lines: &[
        (0, 18, L(668)),
    ],
    live: &[
        (8, 668, "probe"),
    ],
};

#[rustfmt::skip]
const PY39_CRAFTED: Vector = Vector {
    name: "3.9.18 crafted_lnotab",
    first: 100,
    table: &[
        0x00, 0x01,  0x04, 0xFE,  0xFF, 0x00,  0x05, 0x03,  0x02, 0x81,  0x00, 0x81,
        0x04, 0x7F,  0x00, 0xFF,  0x06, 0x01,
    ],
    lines: &[
        (0, 4, L(101)), (4, 264, L(99)), (264, 266, L(102)), (266, 270, L(-152)),
        (270, 276, L(-26)), (276, 288, L(-25)),
    ],
    live: &[],
};

#[rustfmt::skip]
const PY310_LOOP: Vector = Vector {
    name: "3.10.13 loop",
    first: 9,
    table: &[
        0x04, 0x01,  0x0C, 0x01,  0x08, 0x01,  0x0A, 0x01,  0x08, 0x02,  0x08, 0x01,
        0x08, 0x01,  0x08, 0x01,  0x08, 0xFF,  0x06, 0x02,  0x04, 0x01,
    ],
    lines: &[
        (0, 4, L(10)), (4, 16, L(11)), (16, 24, L(12)), (24, 34, L(13)), (34, 42, L(15)),
        (42, 50, L(16)), (50, 58, L(17)), (58, 66, L(18)), (66, 74, L(17)), (74, 80, L(19)),
        (80, 84, L(20)),
    ],
    live: &[
        (44, 16, "probe"), (76, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY310_CALL: Vector = Vector {
    name: "3.10.13 call",
    first: 22,
    table: &[
        0x06, 0x01,  0x02, 0x01,  0x02, 0x01,  0x02, 0x01,  0x04, 0x01,  0x04, 0x01,
        0x04, 0xFF,  0x04, 0xFD,
    ],
    lines: &[
        (0, 6, L(23)), (6, 8, L(24)), (8, 10, L(25)), (10, 12, L(26)), (12, 16, L(27)),
        (16, 20, L(28)), (20, 24, L(27)), (24, 28, L(24)),
    ],
    live: &[
        (2, 23, "probe"), (18, 28, "probe"),
    ],
};

#[rustfmt::skip]
const PY310_BIG: Vector = Vector {
    name: "3.10.13 big",
    first: 31,
    table: &[
        0xFE, 0x01,  0x6E, 0x00,  0x06, 0x01,  0x0C, 0x01,  0x0A, 0x01,  0x06, 0x01,
        0x04, 0x01,
    ],
    lines: &[
        (0, 364, L(32)), (364, 370, L(33)), (370, 382, L(34)), (382, 392, L(35)), (392, 398, L(36)),
        (398, 402, L(37)),
    ],
    live: &[
        (366, 33, "probe"), (394, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY310_GAP: Vector = Vector {
    name: "3.10.13 gap",
    first: 39,
    table: &[
        0x08, 0x01,  0x00, 0x7F,  0x00, 0x7F,  0x06, 0x2F,  0x04, 0x01,  0x00, 0x7F,
        0x00, 0x7F,  0x02, 0x2F,  0x00, 0x81,  0x00, 0x81,  0x04, 0xD1,  0x00, 0x7F,
        0x00, 0x7F,  0x06, 0x30,  0x04, 0x01,
    ],
    lines: &[
        (0, 8, L(40)), (8, 14, L(341)), (14, 18, L(342)), (18, 20, L(643)), (20, 24, L(342)),
        (24, 30, L(644)), (30, 34, L(645)),
    ],
    live: &[
        (10, 341, "probe"), (26, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY310_GEN: Vector = Vector {
    name: "3.10.13 gen",
    first: 647,
    table: &[
        0x02, 0x80,  0x0C, 0x01,  0x08, 0x01,  0x0A, 0x01,
    ],
    lines: &[
        (0, 2, N(647)), (2, 14, L(648)), (14, 22, L(649)), (22, 32, L(650)),
    ],
    live: &[
        (-1, 647, "unstarted gen"), (16, 649, "suspended gen"), (24, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY310_TRYEXC: Vector = Vector {
    name: "3.10.13 tryexc",
    first: 652,
    table: &[
        0x04, 0x01,  0x0C, 0x01,  0x0C, 0x01,  0x06, 0x01,  0x08, 0x01,  0x02, 0xFE,
        0x02, 0xFF,  0x04, 0x05,  0x04, 0x01,  0x02, 0xFD,  0x04, 0x02,  0x04, 0x01,
        0x06, 0xFF,
    ],
    lines: &[
        (0, 4, L(653)), (4, 16, L(654)), (16, 28, L(655)), (28, 34, L(656)), (34, 42, L(657)),
        (42, 44, L(655)), (44, 46, L(654)), (46, 50, L(659)), (50, 54, L(660)), (54, 56, L(657)),
        (56, 60, L(659)), (60, 64, L(660)), (64, 70, L(659)),
    ],
    live: &[
        (30, 656, "probe"), (8, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY310_LISTCOMP: Vector = Vector {
    name: "3.10.13 <listcomp>",
    first: 663,
    table: &[
        0x06, 0x00,  0x02, 0x01,  0x02, 0x01,  0x02, 0xFE,  0x0A, 0x02,  0x06, 0xFE,
        0x06, 0x02,
    ],
    lines: &[
        (0, 6, L(663)), (6, 8, L(664)), (8, 10, L(665)), (10, 12, L(663)), (12, 22, L(665)),
        (22, 28, L(663)), (28, 34, L(665)),
    ],
    live: &[
        (14, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY310_LAMBDA: Vector = Vector {
    name: "3.10.13 <lambda>",
    first: 667,
    table: &[
        0x12, 0x01,
    ],
    lines: &[
        (0, 18, L(668)),
    ],
    live: &[
        (8, 668, "probe"),
    ],
};

#[rustfmt::skip]
const PY310_CRAFTED: Vector = Vector {
    name: "3.10.13 crafted_linetable",
    first: 100,
    table: &[
        0x00, 0x01,  0x04, 0x00,  0x06, 0x80,  0x00, 0x7F,  0xFE, 0x05,  0xFE, 0x00,
        0x02, 0x80,  0x00, 0x81,  0x04, 0xFD,  0x06, 0x80,
    ],
    lines: &[
        (0, 4, L(101)), (4, 10, N(101)), (10, 518, L(233)), (518, 520, N(233)), (520, 524, L(103)),
        (524, 530, N(103)),
    ],
    live: &[],
};

#[rustfmt::skip]
const PY311_LOOP: Vector = Vector {
    name: "3.11.7 loop",
    first: 9,
    table: &[
        0x80, 0x00,  0xD8, 0x0C, 0x0D,  0x80, 0x45,  0xDD, 0x0D, 0x12,  0x90, 0x31,
        0x89, 0x58,  0x8C, 0x58,  0xF0, 0x00, 0x05, 0x05, 0x0C,
        0xF0, 0x00, 0x05, 0x05, 0x0C,  0x88, 0x01,  0xD8, 0x0B, 0x0C,  0x88, 0x71,
        0x89, 0x35,  0xF0, 0x00, 0x03, 0x09, 0x17,  0xD8, 0x0C, 0x11,  0x90, 0x51,
        0x89, 0x4A,  0x88, 0x45,  0x88, 0x45,  0xE0, 0x0C, 0x11,  0x90, 0x51,  0x89, 0x4A,
        0x88, 0x45,  0xDD, 0x08, 0x09,  0x89, 0x03,  0x8C, 0x03,  0x88, 0x03,  0x88, 0x03,
        0xD8, 0x0A, 0x0B,  0x88, 0x61,  0x8A, 0x25,  0x88, 0x25,  0xD8, 0x08, 0x09,
        0x88, 0x51,  0x89, 0x06,  0x88, 0x01,  0xF0, 0x03, 0x00, 0x0B, 0x0C,  0x88, 0x61,
        0x8A, 0x25,  0x88, 0x25,  0xE5, 0x04, 0x05,  0x81, 0x43,  0x84, 0x43,  0x80, 0x43,
        0xD8, 0x0B, 0x10,  0x80, 0x4C,
    ],
    lines: &[
        (0, 1, L(9)), (1, 3, L(10)), (3, 20, L(11)), (20, 25, L(12)), (25, 31, L(13)),
        (31, 36, L(15)), (36, 51, L(16)), (51, 57, L(17)), (57, 62, L(18)), (62, 68, L(17)),
        (68, 82, L(19)), (82, 84, L(20)),
    ],
    live: &[
        (48, 16, "probe"), (80, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY311_CALL: Vector = Vector {
    name: "3.11.7 call",
    first: 22,
    table: &[
        0x80, 0x00,  0xDD, 0x04, 0x05,  0x81, 0x43,  0x84, 0x43,  0x80, 0x43,
        0xDD, 0x0B, 0x0E,  0xD8, 0x08, 0x09,  0xD8, 0x08, 0x09,  0xDD, 0x08, 0x0B,
        0x88, 0x51,  0xDD, 0x0D, 0x0E,  0x89, 0x53,  0x8C, 0x53,
        0xF0, 0x03, 0x01, 0x0D, 0x12,  0xF1, 0x00, 0x01, 0x09, 0x13,
        0xF4, 0x00, 0x01, 0x09, 0x13,  0xF1, 0x07, 0x05, 0x0C, 0x06,
        0xF4, 0x00, 0x05, 0x0C, 0x06,  0xF0, 0x00, 0x05, 0x05, 0x06,
    ],
    lines: &[
        (0, 1, L(22)), (1, 15, L(23)), (15, 21, L(24)), (21, 22, L(25)), (22, 23, L(26)),
        (23, 30, L(27)), (30, 43, L(28)), (43, 51, L(27)), (51, 59, L(24)),
    ],
    live: &[
        (13, 23, "probe"), (42, 28, "probe"),
    ],
};

#[rustfmt::skip]
const PY311_BIG: Vector = Vector {
    name: "3.11.7 big",
    first: 31,
    table: &[
        0x80, 0x00,  0xD8, 0x09, 0x0A,  0x88, 0x51,  0x89, 0x15,  0x90, 0x01,  0x90, 0x41,
        0x91, 0x05,  0x90, 0x71,  0x98, 0x31,  0x91, 0x75,  0x98, 0x61,  0xA0, 0x21,
        0x99, 0x65,  0xA0, 0x51,  0xA8, 0x11,  0xA1, 0x55,  0xA8, 0x41,  0xB0, 0x01,
        0xA9, 0x45,  0xB0, 0x31,  0xB0, 0x71,  0xB1, 0x35,  0xB8, 0x21,  0xB8, 0x61,
        0xB9, 0x25,  0xC0, 0x11,  0xC0, 0x51,  0xC1, 0x15,  0xC8, 0x01,  0xC8, 0x41,
        0xC9, 0x05,  0xC8, 0x71,  0xD0, 0x53, 0x55,  0xC9, 0x76,  0xD0, 0x57, 0x58,
        0xD0, 0x5B, 0x5D,  0xD1, 0x57, 0x5D,  0xD0, 0x5F, 0x60,  0xD0, 0x63, 0x65,
        0xD1, 0x5F, 0x65,  0xD0, 0x67, 0x68,  0xD0, 0x6B, 0x6D,  0xD1, 0x67, 0x6D,
        0xD0, 0x6F, 0x70,  0xD0, 0x73, 0x75,  0xD1, 0x6F, 0x75,  0xD0, 0x77, 0x78,
        0xD0, 0x7B, 0x7D,  0xD1, 0x77, 0x7D,  0xF0, 0x00, 0x00, 0x40, 0x02, 0x41, 0x02,
        0xF0, 0x00, 0x00, 0x44, 0x02, 0x46, 0x02,  0xF1, 0x00, 0x00, 0x40, 0x02, 0x46, 0x02,
        0xF0, 0x00, 0x00, 0x48, 0x02, 0x49, 0x02,  0xF0, 0x00, 0x00, 0x4C, 0x02, 0x4E, 0x02,
        0xF1, 0x00, 0x00, 0x48, 0x02, 0x4E, 0x02,  0xF0, 0x00, 0x00, 0x50, 0x02, 0x51, 0x02,
        0xF0, 0x00, 0x00, 0x54, 0x02, 0x56, 0x02,  0xF1, 0x00, 0x00, 0x50, 0x02, 0x56, 0x02,
        0xF0, 0x00, 0x00, 0x58, 0x02, 0x59, 0x02,  0xF0, 0x00, 0x00, 0x5C, 0x02, 0x5E, 0x02,
        0xF1, 0x00, 0x00, 0x58, 0x02, 0x5E, 0x02,  0xF0, 0x00, 0x00, 0x60, 0x02, 0x61, 0x02,
        0xF0, 0x00, 0x00, 0x64, 0x02, 0x66, 0x02,  0xF1, 0x00, 0x00, 0x60, 0x02, 0x66, 0x02,
        0xF0, 0x00, 0x00, 0x68, 0x02, 0x69, 0x02,  0xF0, 0x00, 0x00, 0x6C, 0x02, 0x6E, 0x02,
        0xF1, 0x00, 0x00, 0x68, 0x02, 0x6E, 0x02,  0xF0, 0x00, 0x00, 0x70, 0x02, 0x71, 0x02,
        0xF0, 0x00, 0x00, 0x74, 0x02, 0x76, 0x02,  0xF1, 0x00, 0x00, 0x70, 0x02, 0x76, 0x02,
        0xF0, 0x00, 0x00, 0x78, 0x02, 0x79, 0x02,  0xF0, 0x00, 0x00, 0x7C, 0x02, 0x7E, 0x02,
        0xF1, 0x00, 0x00, 0x78, 0x02, 0x7E, 0x02,  0xF0, 0x00, 0x00, 0x09, 0x7F, 0x02,
        0x80, 0x41,  0xDD, 0x04, 0x05,  0x81, 0x43,  0x84, 0x43,  0x80, 0x43,
        0xDD, 0x0D, 0x12,  0x90, 0x31,  0x89, 0x58,  0x8C, 0x58,
        0xF0, 0x00, 0x01, 0x05, 0x12,  0xF0, 0x00, 0x01, 0x05, 0x12,  0x88, 0x01,
        0xD8, 0x0C, 0x0D,  0x90, 0x01,  0x89, 0x45,  0x88, 0x01,  0x88, 0x01,
        0xDD, 0x04, 0x05,  0x81, 0x43,  0x84, 0x43,  0x80, 0x43,  0xD8, 0x0B, 0x0C,
        0x80, 0x48,
    ],
    lines: &[
        (0, 1, L(31)), (1, 99, L(32)), (99, 113, L(33)), (113, 130, L(34)), (130, 136, L(35)),
        (136, 150, L(36)), (150, 152, L(37)),
    ],
    live: &[
        (111, 33, "probe"), (148, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY311_GAP: Vector = Vector {
    name: "3.11.7 gap",
    first: 39,
    table: &[
        0x80, 0x00,  0xD8, 0x08, 0x09,  0x88, 0x41,  0x89, 0x05,  0x80, 0x41,
        0xF5, 0x5A, 0x09, 0x00, 0x05, 0x06,  0x81, 0x43,  0x84, 0x43,  0x80, 0x43,
        0xDD, 0x08, 0x0B,  0x88, 0x41,  0xF0, 0x5A, 0x09, 0x00, 0x0D, 0x0E,
        0xF1, 0x5B, 0x09, 0x6D, 0x04, 0x09, 0x0F,  0xF4, 0x00, 0x6D, 0x04, 0x09, 0x0F,
        0x80, 0x41,  0xF5, 0x5C, 0x09, 0x00, 0x05, 0x06,  0x81, 0x43,  0x84, 0x43,
        0x80, 0x43,  0xD8, 0x0B, 0x0C,  0x80, 0x48,
    ],
    lines: &[
        (0, 1, L(39)), (1, 6, L(40)), (6, 20, L(341)), (20, 27, L(342)), (27, 28, L(643)),
        (28, 36, L(342)), (36, 50, L(644)), (50, 52, L(645)),
    ],
    live: &[
        (18, 341, "probe"), (48, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY311_GEN: Vector = Vector {
    name: "3.11.7 gen",
    first: 647,
    table: &[
        0xE8, 0x00,  0xE8, 0x00,  0x80, 0x00,  0xDD, 0x0D, 0x12,  0x90, 0x31,  0x89, 0x58,
        0x8C, 0x58,  0xF0, 0x00, 0x01, 0x05, 0x10,  0xF0, 0x00, 0x01, 0x05, 0x10,
        0x88, 0x01,  0xD8, 0x0E, 0x0F,  0x88, 0x07,  0x88, 0x07,  0x88, 0x07,  0x88, 0x07,
        0xD8, 0x0A, 0x0C,  0x80, 0x48,  0x80, 0x48,  0x80, 0x48,  0x80, 0x48,  0x80, 0x48,
    ],
    lines: &[
        (0, 3, L(647)), (3, 20, L(648)), (20, 25, L(649)), (25, 31, L(650)),
    ],
    live: &[
        (0, 647, "unstarted gen"), (21, 649, "suspended gen"), (26, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY311_TRYEXC: Vector = Vector {
    name: "3.11.7 tryexc",
    first: 652,
    table: &[
        0x80, 0x00,  0xF0, 0x02, 0x06, 0x05, 0x11,  0xD8, 0x0C, 0x0D,  0x90, 0x11,
        0x89, 0x46,  0x88, 0x01,  0x88, 0x01,  0xF8,  0xDD, 0x0B, 0x1C,
        0xF0, 0x00, 0x02, 0x05, 0x0E,  0xF0, 0x00, 0x02, 0x05, 0x0E,
        0xF0, 0x00, 0x02, 0x05, 0x0E,  0xDD, 0x08, 0x09,  0x89, 0x03,  0x8C, 0x03,
        0x88, 0x03,  0xD8, 0x0C, 0x0D,  0x88, 0x01,  0x88, 0x01,  0x88, 0x01,
        0xF0, 0x05, 0x02, 0x05, 0x0E,  0xF8,  0xF8,  0xF8,  0xF0, 0x08, 0x00, 0x0D, 0x11,
        0x88, 0x01,  0x88, 0x01,  0xF8,  0x88, 0x44,  0x88, 0x01,  0x88, 0x08,  0x88, 0x08,
        0x88, 0x08,  0x88, 0x08,  0xD8, 0x0B, 0x0C,  0x80, 0x48,
    ],
    lines: &[
        (0, 1, L(652)), (1, 2, L(653)), (2, 8, L(654)), (8, 9, N(654)), (9, 18, L(655)),
        (18, 32, L(656)), (32, 36, L(657)), (36, 37, L(655)), (37, 40, N(655)), (40, 43, L(659)),
        (43, 44, N(659)), (44, 50, L(659)), (50, 52, L(660)),
    ],
    live: &[
        (30, 656, "probe"), (4, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY311_LISTCOMP: Vector = Vector {
    name: "3.11.7 <listcomp>",
    first: 663,
    table: &[
        0x80, 0x00,  0xF0, 0x00, 0x02, 0x0C, 0x22,  0xF0, 0x00, 0x02, 0x0C, 0x22,
        0xF0, 0x00, 0x02, 0x0C, 0x22,  0xD8, 0x10, 0x11,  0xD8, 0x0F, 0x10,
        0xF0, 0x05, 0x02, 0x0C, 0x22,  0xE5, 0x15, 0x16,  0x91, 0x53,  0x94, 0x53,
        0x90, 0x5B,  0xF0, 0x05, 0x00, 0x0D, 0x0E,  0x90, 0x01,  0x89, 0x45,
        0xE0, 0x15, 0x20,  0x90, 0x5B,  0x90, 0x5B,
    ],
    lines: &[
        (0, 4, L(663)), (4, 5, L(664)), (5, 6, L(665)), (6, 7, L(663)), (7, 21, L(665)),
        (21, 25, L(663)), (25, 28, L(665)),
    ],
    live: &[
        (19, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY311_LAMBDA: Vector = Vector {
    name: "3.11.7 <lambda>",
    first: 667,
    table: &[
        0x80, 0x00,  0xD8, 0x0A, 0x0B,  0x88, 0x61,  0x89, 0x25,  0x95, 0x31,  0x91, 0x33,
        0x94, 0x33,  0x90, 0x38,  0x98, 0x21,  0xD1, 0x0A, 0x1C,
        0xF0, 0x03, 0x00, 0x01, 0x01,
    ],
    lines: &[
        (0, 1, L(667)), (1, 22, L(668)), (22, 23, L(667)),
    ],
    live: &[
        (17, 668, "probe"),
    ],
};

#[rustfmt::skip]
const PY311_CRAFTED: Vector = Vector {
    name: "3.11.7 crafted_locations",
    first: 100,
    table: &[
        0xE8, 0x0A,  0xFA,  0x99, 0x25,  0xE0, 0x01, 0x02,
        0xF7, 0x58, 0x09, 0x02, 0x02, 0x06,  0xEB, 0x61, 0x0C,  0xD0, 0x00, 0x03,
        0xD8, 0x01, 0x02,  0xFF,  0xE9, 0x07,
    ],
    lines: &[
        (0, 1, L(105)), (1, 4, N(105)), (4, 6, L(105)), (6, 7, L(107)), (7, 15, L(407)),
        (15, 20, L(7)), (20, 21, L(8)), (21, 29, N(8)), (29, 31, L(5)),
    ],
    live: &[],
};

#[rustfmt::skip]
const PY312_LOOP: Vector = Vector {
    name: "3.12.1 loop",
    first: 9,
    table: &[
        0x80, 0x00,  0xD8, 0x0C, 0x0D,  0x80, 0x45,  0xDC, 0x0D, 0x12,  0x90, 0x31,
        0x8B, 0x58,  0xF2, 0x00, 0x05, 0x05, 0x0C,  0x88, 0x01,  0xD8, 0x0B, 0x0C,
        0x88, 0x71,  0x8A, 0x35,  0xD8, 0x0C, 0x11,  0x90, 0x51,  0x89, 0x4A,  0x89, 0x45,
        0xE0, 0x0C, 0x11,  0x90, 0x51,  0x89, 0x4A,  0x88, 0x45,  0xDC, 0x08, 0x09,
        0x8D, 0x03,  0xF0, 0x0B, 0x05, 0x05, 0x0C,  0xF0, 0x0C, 0x00, 0x0B, 0x0C,
        0x88, 0x61,  0x8A, 0x25,  0xD8, 0x08, 0x09,  0x88, 0x51,  0x89, 0x06,  0x88, 0x01,
        0xF0, 0x03, 0x00, 0x0B, 0x0C,  0x88, 0x61,  0x8B, 0x25,  0xE4, 0x04, 0x05,
        0x84, 0x43,  0xD8, 0x0B, 0x10,  0x80, 0x4C,
    ],
    lines: &[
        (0, 1, L(9)), (1, 3, L(10)), (3, 17, L(11)), (17, 22, L(12)), (22, 28, L(13)),
        (28, 33, L(15)), (33, 44, L(16)), (44, 45, L(11)), (45, 50, L(17)), (50, 55, L(18)),
        (55, 61, L(17)), (61, 71, L(19)), (71, 73, L(20)),
    ],
    live: &[
        (41, 16, "probe"), (69, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY312_CALL: Vector = Vector {
    name: "3.12.1 call",
    first: 22,
    table: &[
        0x80, 0x00,  0xDC, 0x04, 0x05,  0x84, 0x43,  0xDC, 0x0B, 0x0E,  0xD8, 0x08, 0x09,
        0xD8, 0x08, 0x09,  0xDC, 0x08, 0x0B,  0x88, 0x51,  0xDC, 0x0D, 0x0E,  0x8B, 0x53,
        0xF0, 0x03, 0x01, 0x0D, 0x12,  0xF3, 0x00, 0x01, 0x09, 0x13,
        0xF3, 0x07, 0x05, 0x0C, 0x06,  0xF0, 0x00, 0x05, 0x05, 0x06,
    ],
    lines: &[
        (0, 1, L(22)), (1, 11, L(23)), (11, 16, L(24)), (16, 17, L(25)), (17, 18, L(26)),
        (18, 24, L(27)), (24, 33, L(28)), (33, 38, L(27)), (38, 43, L(24)),
    ],
    live: &[
        (9, 23, "probe"), (32, 28, "probe"),
    ],
};

#[rustfmt::skip]
const PY312_BIG: Vector = Vector {
    name: "3.12.1 big",
    first: 31,
    table: &[
        0x80, 0x00,  0xD8, 0x09, 0x0A,  0x88, 0x51,  0x89, 0x15,  0x90, 0x01,  0x90, 0x41,
        0x91, 0x05,  0x90, 0x71,  0x98, 0x31,  0x91, 0x75,  0x98, 0x61,  0xA0, 0x21,
        0x99, 0x65,  0xA0, 0x51,  0xA8, 0x11,  0xA1, 0x55,  0xA8, 0x41,  0xB0, 0x01,
        0xA9, 0x45,  0xB0, 0x31,  0xB0, 0x71,  0xB1, 0x35,  0xB8, 0x21,  0xB8, 0x61,
        0xB9, 0x25,  0xC0, 0x11,  0xC0, 0x51,  0xC1, 0x15,  0xC8, 0x01,  0xC8, 0x41,
        0xC9, 0x05,  0xC8, 0x71,  0xD0, 0x53, 0x55,  0xC9, 0x76,  0xD0, 0x57, 0x58,
        0xD0, 0x5B, 0x5D,  0xD1, 0x57, 0x5D,  0xD0, 0x5F, 0x60,  0xD0, 0x63, 0x65,
        0xD1, 0x5F, 0x65,  0xD0, 0x67, 0x68,  0xD0, 0x6B, 0x6D,  0xD1, 0x67, 0x6D,
        0xD0, 0x6F, 0x70,  0xD0, 0x73, 0x75,  0xD1, 0x6F, 0x75,  0xD0, 0x77, 0x78,
        0xD0, 0x7B, 0x7D,  0xD1, 0x77, 0x7D,  0xF0, 0x00, 0x00, 0x40, 0x02, 0x41, 0x02,
        0xF0, 0x00, 0x00, 0x44, 0x02, 0x46, 0x02,  0xF1, 0x00, 0x00, 0x40, 0x02, 0x46, 0x02,
        0xF0, 0x00, 0x00, 0x48, 0x02, 0x49, 0x02,  0xF0, 0x00, 0x00, 0x4C, 0x02, 0x4E, 0x02,
        0xF1, 0x00, 0x00, 0x48, 0x02, 0x4E, 0x02,  0xF0, 0x00, 0x00, 0x50, 0x02, 0x51, 0x02,
        0xF0, 0x00, 0x00, 0x54, 0x02, 0x56, 0x02,  0xF1, 0x00, 0x00, 0x50, 0x02, 0x56, 0x02,
        0xF0, 0x00, 0x00, 0x58, 0x02, 0x59, 0x02,  0xF0, 0x00, 0x00, 0x5C, 0x02, 0x5E, 0x02,
        0xF1, 0x00, 0x00, 0x58, 0x02, 0x5E, 0x02,  0xF0, 0x00, 0x00, 0x60, 0x02, 0x61, 0x02,
        0xF0, 0x00, 0x00, 0x64, 0x02, 0x66, 0x02,  0xF1, 0x00, 0x00, 0x60, 0x02, 0x66, 0x02,
        0xF0, 0x00, 0x00, 0x68, 0x02, 0x69, 0x02,  0xF0, 0x00, 0x00, 0x6C, 0x02, 0x6E, 0x02,
        0xF1, 0x00, 0x00, 0x68, 0x02, 0x6E, 0x02,  0xF0, 0x00, 0x00, 0x70, 0x02, 0x71, 0x02,
        0xF0, 0x00, 0x00, 0x74, 0x02, 0x76, 0x02,  0xF1, 0x00, 0x00, 0x70, 0x02, 0x76, 0x02,
        0xF0, 0x00, 0x00, 0x78, 0x02, 0x79, 0x02,  0xF0, 0x00, 0x00, 0x7C, 0x02, 0x7E, 0x02,
        0xF1, 0x00, 0x00, 0x78, 0x02, 0x7E, 0x02,  0xF0, 0x00, 0x00, 0x09, 0x7F, 0x02,
        0x80, 0x41,  0xDC, 0x04, 0x05,  0x84, 0x43,  0xDC, 0x0D, 0x12,  0x90, 0x31,
        0x8B, 0x58,  0xF2, 0x00, 0x01, 0x05, 0x12,  0x88, 0x01,  0xD8, 0x0C, 0x0D,
        0x90, 0x01,  0x89, 0x45,  0x89, 0x01,  0xF0, 0x03, 0x01, 0x05, 0x12,
        0xE4, 0x04, 0x05,  0x84, 0x43,  0xD8, 0x0B, 0x0C,  0x80, 0x48,
    ],
    lines: &[
        (0, 1, L(31)), (1, 99, L(32)), (99, 109, L(33)), (109, 123, L(34)), (123, 129, L(35)),
        (129, 130, L(34)), (130, 140, L(36)), (140, 142, L(37)),
    ],
    live: &[
        (107, 33, "probe"), (138, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY312_GAP: Vector = Vector {
    name: "3.12.1 gap",
    first: 39,
    table: &[
        0x80, 0x00,  0xD8, 0x08, 0x09,  0x88, 0x41,  0x89, 0x05,  0x80, 0x41,
        0xF4, 0x5A, 0x09, 0x00, 0x05, 0x06,  0x84, 0x43,  0xDC, 0x08, 0x0B,  0x88, 0x41,
        0xF0, 0x5A, 0x09, 0x00, 0x0D, 0x0E,  0xF3, 0x5B, 0x09, 0x6D, 0x04, 0x09, 0x0F,
        0x80, 0x41,  0xF4, 0x5C, 0x09, 0x00, 0x05, 0x06,  0x84, 0x43,  0xD8, 0x0B, 0x0C,
        0x80, 0x48,
    ],
    lines: &[
        (0, 1, L(39)), (1, 6, L(40)), (6, 16, L(341)), (16, 22, L(342)), (22, 23, L(643)),
        (23, 28, L(342)), (28, 38, L(644)), (38, 40, L(645)),
    ],
    live: &[
        (14, 341, "probe"), (36, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY312_GEN: Vector = Vector {
    name: "3.12.1 gen",
    first: 647,
    table: &[
        0xE8, 0x00,  0xF8,  0x80, 0x00,  0xDC, 0x0D, 0x12,  0x90, 0x31,  0x8B, 0x58,
        0xF2, 0x00, 0x01, 0x05, 0x10,  0x88, 0x01,  0xD8, 0x0E, 0x0F,  0x8B, 0x07,
        0xF0, 0x03, 0x01, 0x05, 0x10,  0xE0, 0x0A, 0x0C,  0x83, 0x48,  0xF9,
    ],
    lines: &[
        (0, 1, L(647)), (1, 2, N(647)), (2, 3, L(647)), (3, 17, L(648)), (17, 22, L(649)),
        (22, 23, L(648)), (23, 28, L(650)), (28, 30, N(650)),
    ],
    live: &[
        (0, 647, "unstarted gen"), (18, 649, "suspended gen"), (24, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY312_TRYEXC: Vector = Vector {
    name: "3.12.1 tryexc",
    first: 652,
    table: &[
        0x80, 0x00,  0xF0, 0x02, 0x06, 0x05, 0x11,  0xD8, 0x0C, 0x0D,  0x90, 0x11,
        0x89, 0x46,  0x88, 0x01,  0xF0, 0x0A, 0x00, 0x0D, 0x11,  0x88, 0x01,
        0xD8, 0x0B, 0x0C,  0x80, 0x48,  0xF8,  0xF4, 0x0B, 0x00, 0x0C, 0x1D,
        0xF2, 0x00, 0x02, 0x05, 0x0E,  0xDC, 0x08, 0x09,  0x8C, 0x03,  0xD8, 0x0C, 0x0D,
        0x8A, 0x01,  0xF0, 0x05, 0x02, 0x05, 0x0E,  0xFB,  0xF0, 0x08, 0x00, 0x0D, 0x11,
        0x89, 0x01,  0xFA,
    ],
    lines: &[
        (0, 1, L(652)), (1, 2, L(653)), (2, 7, L(654)), (7, 9, L(659)), (9, 11, L(660)),
        (11, 12, N(660)), (12, 20, L(655)), (20, 30, L(656)), (30, 34, L(657)), (34, 35, L(655)),
        (35, 39, N(655)), (39, 42, L(659)), (42, 45, N(659)),
    ],
    live: &[
        (28, 656, "probe"), (4, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY312_COMP: Vector = Vector {
    name: "3.12.1 comp",
    first: 662,
    table: &[
        0x80, 0x00,  0xE0, 0x15, 0x17,  0xF6, 0x03, 0x02, 0x0C, 0x22,  0xD8, 0x10, 0x11,
        0xD9, 0x0F, 0x10,  0x94, 0x51,  0x93, 0x53,  0x90, 0x5B,
        0xF0, 0x05, 0x00, 0x0D, 0x0E,  0x90, 0x01,  0x8B, 0x45,
        0xF2, 0x00, 0x02, 0x0C, 0x22,  0xF0, 0x00, 0x02, 0x05, 0x22,  0xF9,
        0xF2, 0x00, 0x02, 0x0C, 0x22,
    ],
    lines: &[
        (0, 1, L(662)), (1, 2, L(664)), (2, 9, L(663)), (9, 10, L(664)), (10, 22, L(665)),
        (22, 32, L(663)), (32, 34, N(663)), (34, 37, L(663)),
    ],
    live: &[
        (20, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY312_LAMBDA: Vector = Vector {
    name: "3.12.1 <lambda>",
    first: 667,
    table: &[
        0x80, 0x00,  0xD8, 0x0A, 0x0B,  0x88, 0x61,  0x89, 0x25,  0x94, 0x31,  0x93, 0x33,
        0x92, 0x38,  0x98, 0x21,  0xD1, 0x0A, 0x1C,  0xF0, 0x03, 0x00, 0x01, 0x01,
    ],
    lines: &[
        (0, 1, L(667)), (1, 20, L(668)), (20, 21, L(667)),
    ],
    live: &[
        (13, 668, "probe"),
    ],
};

#[rustfmt::skip]
const PY312_CRAFTED: Vector = Vector {
    name: "3.12.1 crafted_locations",
    first: 100,
    table: &[
        0xE8, 0x0A,  0xFA,  0x99, 0x25,  0xE0, 0x01, 0x02,
        0xF7, 0x58, 0x09, 0x02, 0x02, 0x06,  0xEB, 0x61, 0x0C,  0xD0, 0x00, 0x03,
        0xD8, 0x01, 0x02,  0xFF,  0xE9, 0x07,
    ],
    lines: &[
        (0, 1, L(105)), (1, 4, N(105)), (4, 6, L(105)), (6, 7, L(107)), (7, 15, L(407)),
        (15, 20, L(7)), (20, 21, L(8)), (21, 29, N(8)), (29, 31, L(5)),
    ],
    live: &[],
};

#[rustfmt::skip]
const PY313_LOOP: Vector = Vector {
    name: "3.13.0 loop",
    first: 9,
    table: &[
        0x80, 0x00,  0xD8, 0x0C, 0x0D,  0x80, 0x45,  0xDC, 0x0D, 0x12,  0x90, 0x31,
        0x8E, 0x58,  0x88, 0x01,  0xD8, 0x0B, 0x0C,  0x88, 0x71,  0x8F, 0x35,
        0xD8, 0x0C, 0x11,  0x89, 0x4A,  0x89, 0x45,  0xE0, 0x0C, 0x11,  0x90, 0x51,
        0x89, 0x4A,  0x88, 0x45,  0xDC, 0x08, 0x09,  0x8E, 0x03,
        0xF1, 0x0B, 0x00, 0x0E, 0x16,  0xF0, 0x0C, 0x00, 0x0B, 0x0C,  0x88, 0x61,
        0x8B, 0x25,  0xD8, 0x08, 0x09,  0x88, 0x51,  0x89, 0x06,  0x88, 0x01,
        0xF0, 0x03, 0x00, 0x0B, 0x0C,  0x88, 0x61,  0x8D, 0x25,  0xE4, 0x04, 0x05,
        0x84, 0x43,  0xD8, 0x0B, 0x10,  0x80, 0x4C,
    ],
    lines: &[
        (0, 1, L(9)), (1, 3, L(10)), (3, 17, L(11)), (17, 27, L(12)), (27, 32, L(13)),
        (32, 37, L(15)), (37, 49, L(16)), (49, 51, L(11)), (51, 57, L(17)), (57, 62, L(18)),
        (62, 70, L(17)), (70, 80, L(19)), (80, 82, L(20)),
    ],
    live: &[
        (42, 16, "probe"), (75, 19, "probe"),
    ],
};

#[rustfmt::skip]
const PY313_CALL: Vector = Vector {
    name: "3.13.0 call",
    first: 22,
    table: &[
        0x80, 0x00,  0xDC, 0x04, 0x05,  0x84, 0x43,  0xDC, 0x0B, 0x0E,  0xD8, 0x08, 0x09,
        0xD8, 0x08, 0x09,  0xDC, 0x08, 0x0B,  0x88, 0x51,  0xDC, 0x0D, 0x0E,  0x8B, 0x53,
        0xF0, 0x03, 0x01, 0x0D, 0x12,  0xF3, 0x00, 0x01, 0x09, 0x13,
        0xF3, 0x07, 0x05, 0x0C, 0x06,  0xF0, 0x00, 0x05, 0x05, 0x06,
    ],
    lines: &[
        (0, 1, L(22)), (1, 11, L(23)), (11, 16, L(24)), (16, 17, L(25)), (17, 18, L(26)),
        (18, 24, L(27)), (24, 33, L(28)), (33, 38, L(27)), (38, 43, L(24)),
    ],
    live: &[
        (6, 23, "probe"), (29, 28, "probe"),
    ],
};

#[rustfmt::skip]
const PY313_BIG: Vector = Vector {
    name: "3.13.0 big",
    first: 31,
    table: &[
        0x80, 0x00,  0xD8, 0x09, 0x0A,  0x88, 0x51,  0x89, 0x15,  0x90, 0x01,  0x90, 0x41,
        0x91, 0x05,  0x90, 0x71,  0x98, 0x31,  0x91, 0x75,  0x98, 0x61,  0xA0, 0x21,
        0x99, 0x65,  0xA0, 0x51,  0xA8, 0x11,  0xA1, 0x55,  0xA8, 0x41,  0xB0, 0x01,
        0xA9, 0x45,  0xB0, 0x31,  0xB0, 0x71,  0xB1, 0x35,  0xB8, 0x21,  0xB8, 0x61,
        0xB9, 0x25,  0xC0, 0x11,  0xC0, 0x51,  0xC1, 0x15,  0xC8, 0x01,  0xC8, 0x41,
        0xC9, 0x05,  0xC8, 0x71,  0xD0, 0x53, 0x55,  0xC9, 0x76,  0xD0, 0x57, 0x58,
        0xD0, 0x5B, 0x5D,  0xD1, 0x57, 0x5D,  0xD0, 0x5F, 0x60,  0xD0, 0x63, 0x65,
        0xD1, 0x5F, 0x65,  0xD0, 0x67, 0x68,  0xD0, 0x6B, 0x6D,  0xD1, 0x67, 0x6D,
        0xD0, 0x6F, 0x70,  0xD0, 0x73, 0x75,  0xD1, 0x6F, 0x75,  0xD0, 0x77, 0x78,
        0xD0, 0x7B, 0x7D,  0xD1, 0x77, 0x7D,  0xF0, 0x00, 0x00, 0x40, 0x02, 0x41, 0x02,
        0xF0, 0x00, 0x00, 0x44, 0x02, 0x46, 0x02,  0xF1, 0x00, 0x00, 0x40, 0x02, 0x46, 0x02,
        0xF0, 0x00, 0x00, 0x48, 0x02, 0x49, 0x02,  0xF0, 0x00, 0x00, 0x4C, 0x02, 0x4E, 0x02,
        0xF1, 0x00, 0x00, 0x48, 0x02, 0x4E, 0x02,  0xF0, 0x00, 0x00, 0x50, 0x02, 0x51, 0x02,
        0xF0, 0x00, 0x00, 0x54, 0x02, 0x56, 0x02,  0xF1, 0x00, 0x00, 0x50, 0x02, 0x56, 0x02,
        0xF0, 0x00, 0x00, 0x58, 0x02, 0x59, 0x02,  0xF0, 0x00, 0x00, 0x5C, 0x02, 0x5E, 0x02,
        0xF1, 0x00, 0x00, 0x58, 0x02, 0x5E, 0x02,  0xF0, 0x00, 0x00, 0x60, 0x02, 0x61, 0x02,
        0xF0, 0x00, 0x00, 0x64, 0x02, 0x66, 0x02,  0xF1, 0x00, 0x00, 0x60, 0x02, 0x66, 0x02,
        0xF0, 0x00, 0x00, 0x68, 0x02, 0x69, 0x02,  0xF0, 0x00, 0x00, 0x6C, 0x02, 0x6E, 0x02,
        0xF1, 0x00, 0x00, 0x68, 0x02, 0x6E, 0x02,  0xF0, 0x00, 0x00, 0x70, 0x02, 0x71, 0x02,
        0xF0, 0x00, 0x00, 0x74, 0x02, 0x76, 0x02,  0xF1, 0x00, 0x00, 0x70, 0x02, 0x76, 0x02,
        0xF0, 0x00, 0x00, 0x78, 0x02, 0x79, 0x02,  0xF0, 0x00, 0x00, 0x7C, 0x02, 0x7E, 0x02,
        0xF1, 0x00, 0x00, 0x78, 0x02, 0x7E, 0x02,  0xF0, 0x00, 0x00, 0x09, 0x7F, 0x02,
        0x80, 0x41,  0xDC, 0x04, 0x05,  0x84, 0x43,  0xDC, 0x0D, 0x12,  0x90, 0x31,
        0x8E, 0x58,  0x88, 0x01,  0xD8, 0x0C, 0x0D,  0x89, 0x45,  0x8A, 0x01,
        0xF1, 0x03, 0x00, 0x0E, 0x16,  0xE4, 0x04, 0x05,  0x84, 0x43,  0xD8, 0x0B, 0x0C,
        0x80, 0x48,
    ],
    lines: &[
        (0, 1, L(31)), (1, 99, L(32)), (99, 109, L(33)), (109, 123, L(34)), (123, 129, L(35)),
        (129, 131, L(34)), (131, 141, L(36)), (141, 143, L(37)),
    ],
    live: &[
        (104, 33, "probe"), (136, 36, "probe"),
    ],
};

#[rustfmt::skip]
const PY313_GAP: Vector = Vector {
    name: "3.13.0 gap",
    first: 39,
    table: &[
        0x80, 0x00,  0xD8, 0x08, 0x09,  0x88, 0x41,  0x89, 0x05,  0x80, 0x41,
        0xF4, 0x5A, 0x09, 0x00, 0x05, 0x06,  0x84, 0x43,  0xDC, 0x08, 0x0B,  0x88, 0x41,
        0xF0, 0x5A, 0x09, 0x00, 0x0D, 0x0E,  0xF3, 0x5B, 0x09, 0x6D, 0x04, 0x09, 0x0F,
        0x80, 0x41,  0xF4, 0x5C, 0x09, 0x00, 0x05, 0x06,  0x84, 0x43,  0xD8, 0x0B, 0x0C,
        0x80, 0x48,
    ],
    lines: &[
        (0, 1, L(39)), (1, 6, L(40)), (6, 16, L(341)), (16, 22, L(342)), (22, 23, L(643)),
        (23, 28, L(342)), (28, 38, L(644)), (38, 40, L(645)),
    ],
    live: &[
        (11, 341, "probe"), (33, 644, "probe"),
    ],
};

#[rustfmt::skip]
const PY313_GEN: Vector = Vector {
    name: "3.13.0 gen",
    first: 647,
    table: &[
        0xE9, 0x00,  0x80, 0x00,  0xDC, 0x0D, 0x12,  0x90, 0x31,  0x8E, 0x58,  0x88, 0x01,
        0xD8, 0x0E, 0x0F,  0x8C, 0x07,  0xF1, 0x03, 0x00, 0x0E, 0x16,  0xE0, 0x0A, 0x0C,
        0x83, 0x48,  0xF9,
    ],
    lines: &[
        (0, 3, L(647)), (3, 17, L(648)), (17, 23, L(649)), (23, 25, L(648)), (25, 30, L(650)),
        (30, 32, N(650)),
    ],
    live: &[
        (1, 647, "unstarted gen"), (19, 649, "suspended gen"), (27, 650, "suspended gen"),
    ],
};

#[rustfmt::skip]
const PY313_TRYEXC: Vector = Vector {
    name: "3.13.0 tryexc",
    first: 652,
    table: &[
        0x80, 0x00,  0xF0, 0x02, 0x06, 0x05, 0x11,  0xD8, 0x0C, 0x0D,  0x90, 0x11,
        0x89, 0x46,  0x88, 0x01,  0xF0, 0x0A, 0x00, 0x0D, 0x11,  0x88, 0x01,
        0xD8, 0x0B, 0x0C,  0x80, 0x48,  0xF8,  0xF4, 0x0B, 0x00, 0x0C, 0x1D,
        0xF3, 0x00, 0x02, 0x05, 0x0E,  0xDC, 0x08, 0x09,  0x8C, 0x03,  0xD8, 0x0C, 0x0D,
        0x8A, 0x01,  0xF0, 0x05, 0x02, 0x05, 0x0E,  0xFB,  0xF0, 0x08, 0x00, 0x0D, 0x11,
        0x89, 0x01,  0xFA,
    ],
    lines: &[
        (0, 1, L(652)), (1, 2, L(653)), (2, 7, L(654)), (7, 9, L(659)), (9, 11, L(660)),
        (11, 12, N(660)), (12, 21, L(655)), (21, 31, L(656)), (31, 35, L(657)), (35, 36, L(655)),
        (36, 40, N(655)), (40, 43, L(659)), (43, 46, N(659)),
    ],
    live: &[
        (26, 656, "probe"), (4, 654, "traceback"),
    ],
};

#[rustfmt::skip]
const PY313_COMP: Vector = Vector {
    name: "3.13.0 comp",
    first: 662,
    table: &[
        0x80, 0x00,  0xE1, 0x15, 0x17,  0xF3, 0x03, 0x02, 0x0C, 0x22,  0xD9, 0x15, 0x17,
        0x90, 0x01,  0xDC, 0x0F, 0x10,  0xF3, 0x05, 0x00, 0x0D, 0x12,  0xE4, 0x15, 0x16,
        0x93, 0x53,  0xF3, 0x05, 0x00, 0x0D, 0x12,  0x88, 0x41,  0x90, 0x01,  0x8C, 0x45,
        0xD9, 0x15, 0x17,  0xF1, 0x03, 0x02, 0x0C, 0x22,  0xF0, 0x00, 0x02, 0x05, 0x22,
        0xF9,  0xF2, 0x00, 0x02, 0x0C, 0x22,
    ],
    lines: &[
        (0, 1, L(662)), (1, 3, L(664)), (3, 7, L(663)), (7, 10, L(664)), (10, 15, L(665)),
        (15, 19, L(663)), (19, 28, L(665)), (28, 39, L(663)), (39, 41, L(664)), (41, 44, L(663)),
        (44, 46, N(663)), (46, 49, L(663)),
    ],
    live: &[
        (24, 665, "probe"),
    ],
};

#[rustfmt::skip]
const PY313_LAMBDA: Vector = Vector {
    name: "3.13.0 <lambda>",
    first: 667,
    table: &[
        0x80, 0x00,  0xD8, 0x0A, 0x0B,  0x89, 0x25,  0x94, 0x31,  0x93, 0x33,  0x97, 0x38,
        0x98, 0x21,  0xD2, 0x0A, 0x1C,
    ],
    lines: &[
        (0, 1, L(667)), (1, 25, L(668)),
    ],
    live: &[
        (9, 668, "probe"),
    ],
};

#[rustfmt::skip]
const PY313_CRAFTED: Vector = Vector {
    name: "3.13.0 crafted_locations",
    first: 100,
    table: &[
        0xE8, 0x0A,  0xFA,  0x99, 0x25,  0xE0, 0x01, 0x02,
        0xF7, 0x58, 0x09, 0x02, 0x02, 0x06,  0xEB, 0x61, 0x0C,  0xD0, 0x00, 0x03,
        0xD8, 0x01, 0x02,  0xFF,  0xE9, 0x07,
    ],
    lines: &[
        (0, 1, L(105)), (1, 4, N(105)), (4, 6, L(105)), (6, 7, L(107)), (7, 15, L(407)),
        (15, 20, L(7)), (20, 21, L(8)), (21, 29, N(8)), (29, 31, L(5)),
    ],
    live: &[],
};
