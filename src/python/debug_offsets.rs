//! `_Py_DebugOffsets` (CPython 3.13+): the offsets a debugger needs, published by the
//! interpreter itself at the start of `_PyRuntime`, read from the target at attach time and
//! turned into a `Layout`.
//!
//! The table is itself versioned: 3.14 inserted fields in the middle (`threads_main`,
//! `code_object_generation`, `co_tlbc`, a `set_object` group ...), so where each member sits is
//! chosen from the major.minor the table announces (`Include/internal/pycore_debug_offsets.h`).
//! A newer minor is read with the newest known table layout and accepted only if every size
//! and offset it gives is plausible. What the table does not give (the shim frame owner, the
//! tag bits of `_PyStackRef`, the compact string header) is in `extras`, keyed the same way.

use super::layout::{
    Code, Frame, FrameRoot, GilHolder, Interp, InterpRoot, Layout, LineFormat, Objects, Str, Tstate,
};
use super::version::Version;
use crate::bytes::u64_at;

pub const COOKIE: &[u8; 8] = b"xdebugpy";
/// Bytes to read from `_PyRuntime` (the 3.14 table is 760 bytes).
pub const READ_LEN: usize = 1024;

/// Where the members pyflame uses sit inside `_Py_DebugOffsets`, for one table layout.
struct Members {
    /// sizeof(_Py_DebugOffsets), to check the read covers it.
    size: usize,
    free_threaded: usize,
    interpreters_head: usize,
    interp_size: usize,
    interp_id: usize,
    interp_next: usize,
    threads_head: usize,
    ceval_gil: usize,
    gil_runtime_state: usize,
    gil_locked: usize,
    gil_holder: usize,
    tstate_size: usize,
    tstate_next: usize,
    tstate_interp: usize,
    current_frame: usize,
    thread_id: usize,
    native_thread_id: usize,
    frame_size: usize,
    frame_previous: usize,
    frame_executable: usize,
    frame_instr_ptr: usize,
    frame_owner: usize,
    code_size: usize,
    code_filename: usize,
    code_name: usize,
    code_linetable: usize,
    code_firstlineno: usize,
    code_adaptive: usize,
    ob_type: usize,
    tp_name: usize,
    bytes_ob_size: usize,
    bytes_ob_sval: usize,
    unicode_state: usize,
    unicode_length: usize,
    asciiobject_size: usize,
}

/// 3.13 (measured with offsetof against the 3.13.0 headers).
const V313: Members = Members {
    size: 584,
    free_threaded: 16,
    interpreters_head: 40,
    interp_size: 48,
    interp_id: 56,
    interp_next: 64,
    threads_head: 72,
    ceval_gil: 112,
    gil_runtime_state: 120,
    gil_locked: 136,
    gil_holder: 144,
    tstate_size: 152,
    tstate_next: 168,
    tstate_interp: 176,
    current_frame: 184,
    thread_id: 192,
    native_thread_id: 200,
    frame_size: 224,
    frame_previous: 232,
    frame_executable: 240,
    frame_instr_ptr: 248,
    frame_owner: 264,
    code_size: 272,
    code_filename: 280,
    code_name: 288,
    code_linetable: 304,
    code_firstlineno: 312,
    code_adaptive: 344,
    ob_type: 360,
    tp_name: 376,
    bytes_ob_size: 520,
    bytes_ob_sval: 528,
    unicode_state: 544,
    unicode_length: 552,
    asciiobject_size: 560,
};

/// 3.14 (from the 3.14.10 headers; the same numbers are embedded in Debian's libpython3.14).
const V314: Members = Members {
    size: 760,
    free_threaded: 16,
    interpreters_head: 40,
    interp_size: 48,
    interp_id: 56,
    interp_next: 64,
    threads_head: 72,
    ceval_gil: 120,
    gil_runtime_state: 128,
    gil_locked: 144,
    gil_holder: 152,
    tstate_size: 176,
    tstate_next: 192,
    tstate_interp: 200,
    current_frame: 208,
    thread_id: 216,
    native_thread_id: 224,
    frame_size: 248,
    frame_previous: 256,
    frame_executable: 264,
    frame_instr_ptr: 272,
    frame_owner: 288,
    code_size: 312,
    code_filename: 320,
    code_name: 328,
    code_linetable: 344,
    code_firstlineno: 352,
    code_adaptive: 384,
    ob_type: 408,
    tp_name: 424,
    bytes_ob_size: 600,
    bytes_ob_sval: 608,
    unicode_state: 624,
    unicode_length: 632,
    asciiobject_size: 640,
};

/// What the table lacks, per table layout: frames owned by the C stack or the interpreter
/// (entry shims) have `owner >= shim_owner`; `f_executable` carries `tag_bits` in its low bits
/// (a `_PyStackRef` from 3.14).
struct Extras {
    shim_owner: u8,
    tag_bits: u64,
}

fn members(minor: u8) -> (&'static Members, Extras) {
    match minor {
        13 => (
            &V313,
            Extras {
                shim_owner: 3,
                tag_bits: 0,
            },
        ),
        // 3.14 and, provisionally, anything newer.
        _ => (
            &V314,
            Extras {
                shim_owner: 3,
                tag_bits: 3,
            },
        ),
    }
}

/// The version announced by a `_PyRuntime` header, if it starts with the cookie.
pub fn version(head: &[u8]) -> Option<Version> {
    (head.get(..8)? == COOKIE).then(|| Version::from_hex(u64_at(head, 8).unwrap_or(0)))
}

/// The layout described by the `_Py_DebugOffsets` table at the start of `table` (bytes read
/// from `_PyRuntime`). Err says what did not validate.
pub fn layout(table: &[u8]) -> Result<(Version, Layout), String> {
    let version = version(table).ok_or("the _Py_DebugOffsets cookie \"xdebugpy\" is missing")?;
    if version.major != 3 || version.minor < 13 {
        return Err(format!(
            "the _Py_DebugOffsets table announces version {version}"
        ));
    }
    let (m, extras) = members(version.minor);
    if table.len() < m.size {
        return Err(format!(
            "the _Py_DebugOffsets table is shorter than {} bytes",
            m.size
        ));
    }
    let get = |at: usize| u64_at(table, at).unwrap_or(u64::MAX);
    if get(m.free_threaded) != 0 {
        return Err("it is a free-threaded build, which this pyflame cannot walk yet".to_string());
    }
    let ascii = get(m.asciiobject_size);
    let layout = Layout {
        version: (version.major, version.minor),
        interp_root: InterpRoot::Runtime(get(m.interpreters_head)),
        gil: GilHolder::Interp {
            ceval_gil: get(m.ceval_gil),
            last_holder: get(m.gil_holder).wrapping_sub(get(m.gil_runtime_state)),
            locked: get(m.gil_locked).wrapping_sub(get(m.gil_runtime_state)),
        },
        interp: Interp {
            next: get(m.interp_next),
            threads_head: get(m.threads_head),
            id: Some(get(m.interp_id)),
            size: get(m.interp_size),
        },
        tstate: Tstate {
            next: get(m.tstate_next),
            interp: get(m.tstate_interp),
            frame: FrameRoot::CurrentFrame(get(m.current_frame)),
            thread_id: get(m.thread_id),
            native_thread_id: Some(get(m.native_thread_id)),
            size: get(m.tstate_size),
        },
        frame: Frame::Interpreter {
            previous: get(m.frame_previous),
            code: get(m.frame_executable),
            instr: get(m.frame_instr_ptr),
            owner: get(m.frame_owner),
            shim_owner: Some(extras.shim_owner),
            tag_bits: extras.tag_bits,
            size: get(m.frame_size),
        },
        code: Code {
            filename: get(m.code_filename),
            name: get(m.code_name),
            firstlineno: get(m.code_firstlineno),
            linetable: get(m.code_linetable),
            code_adaptive: Some(get(m.code_adaptive)),
            lines: LineFormat::Location,
            size: get(m.code_size),
        },
        objects: Objects {
            ob_type: get(m.ob_type),
            tp_name: get(m.tp_name),
            bytes_size: get(m.bytes_ob_size),
            bytes_data: get(m.bytes_ob_sval),
        },
        // A compact non-ASCII string adds utf8_length and utf8 (16 bytes) to the ASCII header
        // (PyCompactUnicodeObject), and so does PyUnicodeObject before its data pointer.
        string: Str::Pep393 {
            length: get(m.unicode_length),
            state: get(m.unicode_state),
            ascii_data: ascii,
            compact_data: ascii.wrapping_add(16),
            data: ascii.wrapping_add(16),
            ready_mask: None,
        },
    };
    plausible(&layout).map_err(|why| {
        format!("the _Py_DebugOffsets table of Python {version} does not validate: {why}")
    })?;
    Ok((version, layout))
}

/// Every size in a sane range and every field read inside its struct.
fn plausible(l: &Layout) -> Result<(), String> {
    let check = |what: &str, size: u64, max: u64, fields: &[u64]| {
        if size == 0 || size > max {
            return Err(format!("sizeof({what}) is {size}"));
        }
        match fields.iter().find(|&&f| f.saturating_add(8) > size) {
            Some(f) => Err(format!(
                "a {what} field at {f} lies outside its {size} bytes"
            )),
            None => Ok(()),
        }
    };
    let t = &l.tstate;
    check(
        "PyInterpreterState",
        l.interp.size,
        1 << 24,
        &[l.interp.next, l.interp.threads_head],
    )?;
    let current = match t.frame {
        FrameRoot::CurrentFrame(o) | FrameRoot::Frame(o) => o,
        FrameRoot::CFrame { cframe, .. } => cframe,
    };
    check(
        "PyThreadState",
        t.size,
        1 << 16,
        &[t.next, t.interp, current, t.thread_id],
    )?;
    if let Frame::Interpreter {
        previous,
        code,
        instr,
        owner,
        size,
        ..
    } = l.frame
    {
        check(
            "_PyInterpreterFrame",
            size,
            1024,
            &[previous, code, instr, owner.saturating_sub(7)],
        )?;
    }
    let c = &l.code;
    let adaptive = c.code_adaptive.unwrap_or(0);
    check(
        "PyCodeObject",
        c.size,
        4096,
        &[c.filename, c.name, c.linetable, c.firstlineno, adaptive],
    )?;
    if l.frame_read_len() > 256 || l.code_read_len() > 256 || l.tstate_read_len() > 512 {
        return Err("the fields pyflame reads lie too far into their structs".to_string());
    }
    match l.string {
        Str::Pep393 { ascii_data, .. } if (24..=256).contains(&ascii_data) => Ok(()),
        _ => Err("implausible PyASCIIObject size".to_string()),
    }
}

#[cfg(test)]
#[path = "debug_offsets_tests.rs"]
mod tests;
