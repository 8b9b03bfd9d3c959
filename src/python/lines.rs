//! Source line of a frame's current instruction, decoded from a code object's line table.
//!
//! CPython has used three encodings; each function below takes the raw table bytes copied out of
//! the target, `co_firstlineno`, and the frame's instruction offset in the unit that format counts
//! (the caller converts `f_lasti` / `prev_instr` / `instr_ptr` per version):
//!
//! | CPython   | table          | function                | offset unit                        |
//! |-----------|----------------|-------------------------|------------------------------------|
//! | 2.x – 3.9 | `co_lnotab`    | [`lnotab_line`]         | bytes (`f_lasti`)                  |
//! | 3.10      | `co_linetable` | [`linetable310_line`]   | bytes (the C field `f_lasti` * 2)  |
//! | 3.11+     | `co_linetable` | [`location_table_line`] | 2-byte code units (`_Py_CODEUNIT`) |
//!
//! Choices where CPython answers "no line" (`PyCode_Addr2Line` returns -1, Python shows `None`):
//!
//! * A range explicitly marked as having no line (3.10 `ldelta == -128`, 3.11+ code 15) gives the
//!   *running line*: CPython's `computed_line`, i.e. the line of the most recent entry that had
//!   one (`co_firstlineno` before any). These ranges are compiler-generated glue (3.10
//!   `GEN_START`, the `POP_TOP` after 3.12's `RETURN_GENERATOR`, `PUSH_EXC_INFO` / `POP_EXCEPT` /
//!   `RERAISE` around exception handlers, the cleanup of 3.12's inlined comprehensions), and in
//!   a profile the statement just before them is more useful than line 0.
//! * An offset past the end of the table gives the running line after the whole table.
//! * A negative offset (a frame that has not started) gives `co_firstlineno`, as CPython does.
//!
//! The tables come from another process and may be torn or garbage, so every function makes one
//! forward pass over the slice, never indexes out of bounds, never allocates, and uses saturating
//! arithmetic: any input returns some `i32` in time linear in the table length.

/// Line executing at byte offset `lasti_bytes` for a `co_lnotab` table (CPython 2.x – 3.9;
/// `PyCode_Addr2Line`). `signed_line_incr`: false for 2.x and 3.0–3.5 (line increments are
/// unsigned bytes), true for 3.6–3.9 (int8). `lasti_bytes < 0` (frame not started) gives
/// `firstlineno`.
///
/// The table is `(addr_incr: u8, line_incr)` pairs. A pair's line increment applies from the
/// address reached after adding its address increment (`Objects/lnotab_notes.txt`), so the
/// loop stops before applying the line of the first pair whose address passes `lasti_bytes`. Large
/// jumps are split over several pairs, which needs no special case here: `(255, 0)…` for
/// addresses, then line chunks with the rest of the address on the first one: `(a, 255), (0, 255)…`
/// before 3.6, `(a, 127), (0, 127)…` up and `(a, -128), (0, -128)…` down from 3.6. A trailing odd
/// byte is ignored, as CPython's `size / 2` does.
pub fn lnotab_line(
    table: &[u8],
    firstlineno: i32,
    lasti_bytes: i32,
    signed_line_incr: bool,
) -> i32 {
    let mut line = firstlineno;
    let mut addr: i32 = 0;
    for pair in table.chunks_exact(2) {
        addr = addr.saturating_add(i32::from(pair[0]));
        if addr > lasti_bytes {
            break;
        }
        let incr = if signed_line_incr {
            i32::from(i8::from_ne_bytes([pair[1]]))
        } else {
            i32::from(pair[1])
        };
        line = line.saturating_add(incr);
    }
    line
}

/// 3.10's `ldelta` value meaning "this range has no line number" (`advance()` in 3.10's
/// `Objects/codeobject.c`).
const NO_LINE_310: i8 = -128;

/// Line for the 3.10 `co_linetable` format ((sdelta u8, ldelta i8) pairs, ldelta == -128 means
/// "no line"), given the byte offset of the instruction (= f_lasti * 2 in 3.10).
/// `lasti_bytes < 0` gives `firstlineno`.
///
/// Each pair covers `sdelta` bytes starting where the previous one ended (`advance()` in 3.10's
/// `Objects/codeobject.c`); its line is the running line plus `ldelta`. A `-128` range leaves the
/// running line alone, and this returns it (see the module doc). `(0, ±127)` pairs carry big line
/// jumps as empty ranges and `(254, 0)` pairs split long ranges; both fall out of the loop.
pub fn linetable310_line(table: &[u8], firstlineno: i32, lasti_bytes: i32) -> i32 {
    if lasti_bytes < 0 {
        return firstlineno;
    }
    let mut line = firstlineno;
    let mut end: i32 = 0;
    for pair in table.chunks_exact(2) {
        // Every earlier range ended at or before lasti, so this one starts at or before it.
        end = end.saturating_add(i32::from(pair[0]));
        let ldelta = i8::from_ne_bytes([pair[1]]);
        if ldelta != NO_LINE_310 {
            line = line.saturating_add(i32::from(ldelta));
        }
        if lasti_bytes < end {
            return line;
        }
    }
    line
}

/// `_PyCodeLocationInfoKind` codes whose line is not "same as the previous entry"
/// (`Include/cpython/code.h`, `Objects/locations.md`).
const ONE_LINE1: u8 = 11;
const ONE_LINE2: u8 = 12;
const NO_COLUMNS: u8 = 13;
const LONG: u8 = 14;

/// Line for the 3.11+ location table (PEP 626/657 varint format), given the instruction index in
/// 2-byte code units. `lasti_units < 0` gives `firstlineno`.
///
/// Entries are a head byte `1 CCCC LLL` (code, length - 1 in code units) followed by bytes with
/// bit 7 clear (`Objects/locations.md`). Like `advance()` in `Objects/codeobject.c`, an entry
/// ends at the next byte with bit 7 set, so only the line delta needs decoding: `code - 10` for
/// the one-line forms 10–12, a signed varint right after the head for 13 (no columns) and 14
/// (long form), 0 otherwise. Code 15 ("no location") adds nothing and returns the running line
/// (see the module doc).
pub fn location_table_line(table: &[u8], firstlineno: i32, lasti_units: i32) -> i32 {
    if lasti_units < 0 {
        return firstlineno;
    }
    let mut line = firstlineno;
    let mut end: i32 = 0;
    let mut i = 0;
    while let Some(&head) = table.get(i) {
        // The head byte is taken as one even without bit 7 (garbage): CPython only asserts it.
        let body_start = i + 1;
        i = body_start;
        while table.get(i).is_some_and(|b| b & 0x80 == 0) {
            i += 1;
        }
        let body = &table[body_start..i];
        let delta = match (head >> 3) & 15 {
            ONE_LINE1 => 1,
            ONE_LINE2 => 2,
            NO_COLUMNS | LONG => signed_varint(body),
            _ => 0,
        };
        line = line.saturating_add(delta);
        end = end.saturating_add(i32::from(head & 7) + 1);
        if lasti_units < end {
            return line;
        }
    }
    line
}

/// `scan_signed_varint()` from `Objects/codeobject.c`: 6-bit chunks, least significant first,
/// bit 6 = "more follows"; the low bit of the result is the sign. Reads only within `body` (the
/// entry's own bytes), so a truncated varint just ends early; bits beyond 32 are dropped where
/// C would shift out of range.
fn signed_varint(body: &[u8]) -> i32 {
    let mut value: u32 = 0;
    let mut shift: u32 = 0;
    for &b in body {
        if shift < 32 {
            value |= u32::from(b & 63) << shift;
        }
        shift = shift.saturating_add(6);
        if b & 64 == 0 {
            break;
        }
    }
    // value >> 1 < 2^31, so neither the cast nor the negation can overflow.
    let magnitude = (value >> 1) as i32;
    if value & 1 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
#[path = "lines_tests.rs"]
mod tests;
