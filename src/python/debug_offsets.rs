//! `_Py_DebugOffsets` (CPython 3.13+): the offsets a debugger needs, published by the
//! interpreter itself at the start of `_PyRuntime`, read from the target at attach time and
//! turned into a `Layout`.
//!
//! The table is itself versioned: 3.14 and 3.15 inserted members in the middle, so where each
//! member sits is chosen from the major.minor the table announces, by name, from the member
//! lists below (copied from `Include/internal/pycore_debug_offsets.h`). A newer minor is read
//! with the newest known list and accepted only if every size and offset it gives is plausible
//! (and, in `python::find`, if a walk through it succeeds). What the table does not give (the
//! shim frame owner, tag bits, string state bits) is `layout::debug_extras`.

use super::layout::{
    debug_extras, Code, Frame, FrameRoot, GilHolder, Interp, InterpRoot, Layout, LineFormat,
    Objects, Str, Tstate,
};
use super::version::Version;
use crate::bytes::u64_at;

pub const COOKIE: &[u8; 8] = b"xdebugpy";
/// Bytes to read from `_PyRuntime` (the 3.15 table is 888 bytes).
pub const READ_LEN: usize = 1024;

/// One table layout: its groups, each with its members in declaration order, exactly as in
/// `struct _Py_DebugOffsets`. Every member is 8 bytes (the cookie is `char[8]`), so a member's
/// offset is 8 times its position. Adding a CPython release that changed the table is pasting
/// its member list here.
type Members = &'static [(&'static str, &'static str)];

/// 3.13 (`Include/internal/pycore_runtime.h`).
const V313: Members = &[
    ("", "cookie version free_threaded"),
    ("runtime_state", "size finalizing interpreters_head"),
    (
        "interpreter_state",
        "size id next threads_head gc imports_modules sysdict builtins",
    ),
    (
        "interpreter_state",
        "ceval_gil gil_runtime_state gil_runtime_state_enabled",
    ),
    (
        "interpreter_state",
        "gil_runtime_state_locked gil_runtime_state_holder",
    ),
    (
        "thread_state",
        "size prev next interp current_frame thread_id native_thread_id",
    ),
    ("thread_state", "datastack_chunk status"),
    (
        "interpreter_frame",
        "size previous executable instr_ptr localsplus owner",
    ),
    (
        "code_object",
        "size filename name qualname linetable firstlineno argcount",
    ),
    (
        "code_object",
        "localsplusnames localspluskinds co_code_adaptive",
    ),
    ("pyobject", "size ob_type"),
    ("type_object", "size tp_name tp_repr tp_flags"),
    ("tuple_object", "size ob_item ob_size"),
    ("list_object", "size ob_item ob_size"),
    ("dict_object", "size ma_keys ma_values"),
    ("float_object", "size ob_fval"),
    ("long_object", "size lv_tag ob_digit"),
    ("bytes_object", "size ob_size ob_sval"),
    ("unicode_object", "size state length asciiobject_size"),
    ("gc", "size collecting"),
];

/// 3.14 (`Include/internal/pycore_debug_offsets.h`): threads_main, the tlbc members and a
/// set_object group were inserted, generators and debugger support appended.
const V314: Members = &[
    ("", "cookie version free_threaded"),
    ("runtime_state", "size finalizing interpreters_head"),
    (
        "interpreter_state",
        "size id next threads_head threads_main gc imports_modules",
    ),
    (
        "interpreter_state",
        "sysdict builtins ceval_gil gil_runtime_state",
    ),
    (
        "interpreter_state",
        "gil_runtime_state_enabled gil_runtime_state_locked",
    ),
    (
        "interpreter_state",
        "gil_runtime_state_holder code_object_generation tlbc_generation",
    ),
    (
        "thread_state",
        "size prev next interp current_frame thread_id native_thread_id",
    ),
    ("thread_state", "datastack_chunk status"),
    (
        "interpreter_frame",
        "size previous executable instr_ptr localsplus owner",
    ),
    ("interpreter_frame", "stackpointer tlbc_index"),
    (
        "code_object",
        "size filename name qualname linetable firstlineno argcount",
    ),
    (
        "code_object",
        "localsplusnames localspluskinds co_code_adaptive co_tlbc",
    ),
    ("pyobject", "size ob_type"),
    ("type_object", "size tp_name tp_repr tp_flags"),
    ("tuple_object", "size ob_item ob_size"),
    ("list_object", "size ob_item ob_size"),
    ("set_object", "size used table mask"),
    ("dict_object", "size ma_keys ma_values"),
    ("float_object", "size ob_fval"),
    ("long_object", "size lv_tag ob_digit"),
    ("bytes_object", "size ob_size ob_sval"),
    ("unicode_object", "size state length asciiobject_size"),
    ("gc", "size collecting"),
    ("gen_object", "size gi_name gi_iframe gi_frame_state"),
    ("llist_node", "next prev"),
    (
        "debugger_support",
        "eval_breaker remote_debugger_support remote_debugging_enabled",
    ),
    (
        "debugger_support",
        "debugger_pending_call debugger_script_path",
    ),
    ("debugger_support", "debugger_script_path_size"),
];

/// 3.15: profiling members in thread_state, err_stackitem and heap_type_object groups, type
/// sizes, compactunicodeobject_size, gc statistics.
const V315: Members = &[
    ("", "cookie version free_threaded"),
    ("runtime_state", "size finalizing interpreters_head"),
    (
        "interpreter_state",
        "size id next threads_head threads_main gc imports_modules",
    ),
    (
        "interpreter_state",
        "sysdict builtins ceval_gil gil_runtime_state",
    ),
    (
        "interpreter_state",
        "gil_runtime_state_enabled gil_runtime_state_locked",
    ),
    (
        "interpreter_state",
        "gil_runtime_state_holder code_object_generation tlbc_generation",
    ),
    (
        "thread_state",
        "size prev next interp current_frame base_frame",
    ),
    (
        "thread_state",
        "last_profiled_frame last_profiled_frame_seq thread_id",
    ),
    (
        "thread_state",
        "native_thread_id datastack_chunk status holds_gil gil_requested",
    ),
    ("thread_state", "current_exception exc_state"),
    ("err_stackitem", "exc_value"),
    (
        "interpreter_frame",
        "size previous executable instr_ptr localsplus owner",
    ),
    ("interpreter_frame", "stackpointer tlbc_index"),
    (
        "code_object",
        "size filename name qualname linetable firstlineno argcount",
    ),
    (
        "code_object",
        "localsplusnames localspluskinds co_code_adaptive co_tlbc",
    ),
    ("pyobject", "size ob_type"),
    (
        "type_object",
        "size tp_name tp_repr tp_flags tp_basicsize tp_dictoffset",
    ),
    ("heap_type_object", "size ht_cached_keys"),
    ("tuple_object", "size ob_item ob_size"),
    ("list_object", "size ob_item ob_size"),
    ("set_object", "size used table mask"),
    ("dict_object", "size ma_keys ma_values"),
    ("float_object", "size ob_fval"),
    ("long_object", "size lv_tag ob_digit"),
    ("bytes_object", "size ob_size ob_sval"),
    (
        "unicode_object",
        "size state length asciiobject_size compactunicodeobject_size",
    ),
    (
        "gc",
        "size collecting frame generation_stats_size generation_stats",
    ),
    ("gen_object", "size gi_name gi_iframe gi_frame_state"),
    ("llist_node", "next prev"),
    (
        "debugger_support",
        "eval_breaker remote_debugger_support remote_debugging_enabled",
    ),
    (
        "debugger_support",
        "debugger_pending_call debugger_script_path",
    ),
    ("debugger_support", "debugger_script_path_size"),
];

/// The table layout of a major.minor: a newer minor than any known is read, provisionally,
/// with the newest layout and must then validate.
fn members(minor: u8) -> Members {
    match minor {
        ..=13 => V313,
        14 => V314,
        _ => V315,
    }
}

/// Whether this build has the member list of `3.minor`'s table (a newer one is read with
/// the newest list, provisionally).
pub fn known(minor: u8) -> bool {
    minor <= NEWEST
}

/// The newest minor version whose member list is above.
const NEWEST: u8 = 15;

/// Every member of a table layout as (group, member), in order.
fn all(members: Members) -> impl Iterator<Item = (&'static str, &'static str)> {
    members
        .iter()
        .flat_map(|&(group, names)| names.split_whitespace().map(move |n| (group, n)))
}

/// Where `group.member` sits in a table layout.
fn offset_of(members: Members, group: &str, member: &str) -> Option<usize> {
    all(members)
        .position(|(g, n)| g == group && n == member)
        .map(|i| i * 8)
}

/// sizeof(_Py_DebugOffsets) for a table layout.
fn table_size(members: Members) -> usize {
    all(members).count() * 8
}

/// The version announced by a `_PyRuntime` header, if it starts with the cookie.
pub fn version(head: &[u8]) -> Option<Version> {
    (head.get(..8)? == COOKIE).then(|| Version::from_hex(u64_at(head, 8).unwrap_or(0)))
}

/// `group.member` of the `_Py_DebugOffsets` table at the start of `table`, for the members the
/// layout does not hold (asyncio's: generators, sets, ints, list nodes). None when the table's
/// version has no such member or `table` is short.
pub fn member(table: &[u8], group: &str, member: &str) -> Option<u64> {
    let m = members(version(table)?.minor);
    u64_at(table, offset_of(m, group, member)?)
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
    let m = members(version.minor);
    if table.len() < table_size(m) {
        return Err(format!(
            "the _Py_DebugOffsets table is shorter than {} bytes",
            table_size(m)
        ));
    }
    // A member the layout lacks reads as None; a required one as an absurd offset, which
    // `plausible` rejects.
    let opt =
        |group: &str, member: &str| offset_of(m, group, member).and_then(|at| u64_at(table, at));
    let get = |group: &str, member: &str| opt(group, member).unwrap_or(u64::MAX);
    let free_threaded = match get("", "free_threaded") {
        0 => false,
        1 => true,
        other => return Err(format!("free_threaded is {other}")),
    };
    let extras = debug_extras(version.minor, free_threaded);
    let interp = |member| get("interpreter_state", member);
    let tstate = |member| get("thread_state", member);
    let frame = |member| get("interpreter_frame", member);
    let code = |member| get("code_object", member);
    let unicode = |member| get("unicode_object", member);
    let gil = if free_threaded {
        GilHolder::Disabled
    } else {
        // `locked` and `holder` are published as offsets from the interpreter state.
        let base = interp("gil_runtime_state");
        GilHolder::Interp {
            ceval_gil: interp("ceval_gil"),
            last_holder: interp("gil_runtime_state_holder").wrapping_sub(base),
            locked: interp("gil_runtime_state_locked").wrapping_sub(base),
        }
    };
    // 0 means "not in this build" for the tlbc members (3.14+ default builds).
    let nonzero = |v: Option<u64>| v.filter(|&v| v != 0);
    let ascii = unicode("asciiobject_size");
    let compact = opt("unicode_object", "compactunicodeobject_size")
        .unwrap_or(ascii.wrapping_add(extras.compact_extra));
    let layout = Layout {
        version: (version.major, version.minor),
        interp_root: InterpRoot::Runtime(get("runtime_state", "interpreters_head")),
        gil,
        interp: Interp {
            next: interp("next"),
            threads_head: interp("threads_head"),
            id: Some(interp("id")),
            size: interp("size"),
        },
        tstate: Tstate {
            next: tstate("next"),
            interp: tstate("interp"),
            frame: FrameRoot::CurrentFrame(tstate("current_frame")),
            thread_id: tstate("thread_id"),
            native_thread_id: Some(tstate("native_thread_id")),
            size: tstate("size"),
        },
        frame: Frame::Interpreter {
            previous: frame("previous"),
            code: frame("executable"),
            instr: frame("instr_ptr"),
            owner: frame("owner"),
            shim_owner: Some(extras.shim_owner),
            is_entry: None,
            tag_bits: extras.tag_bits,
            tlbc_index: nonzero(opt("interpreter_frame", "tlbc_index")),
            size: frame("size"),
        },
        code: Code {
            filename: code("filename"),
            name: code("name"),
            firstlineno: code("firstlineno"),
            linetable: code("linetable"),
            code_adaptive: Some(code("co_code_adaptive")),
            tlbc: nonzero(opt("code_object", "co_tlbc")),
            lines: LineFormat::Location,
            size: code("size"),
        },
        objects: Objects {
            ob_type: get("pyobject", "ob_type"),
            tp_name: get("type_object", "tp_name"),
            tp_flags: get("type_object", "tp_flags"),
            bytes_size: get("bytes_object", "ob_size"),
            bytes_data: get("bytes_object", "ob_sval"),
        },
        // PyUnicodeObject.data follows the PyCompactUnicodeObject header.
        string: Str::Pep393 {
            length: unicode("length"),
            state: unicode("state"),
            ascii_data: ascii,
            compact_data: compact,
            data: compact,
            ready_mask: None,
            bits: extras.state,
        },
    };
    plausible(&layout, |group| get(group, "size")).map_err(|why| {
        format!("the _Py_DebugOffsets table of Python {version} does not validate: {why}")
    })?;
    Ok((version, layout))
}

/// Every size in a sane range and every field read inside its struct, so that no offset the
/// walker adds to an address or a length is absurd. `size_of(group)` is the `size` member the
/// table publishes for a group.
fn plausible(l: &Layout, size_of: impl Fn(&str) -> u64) -> Result<(), String> {
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
    if let InterpRoot::Runtime(head) = l.interp_root {
        check(
            "_PyRuntimeState",
            size_of("runtime_state"),
            1 << 24,
            &[head],
        )?;
    }
    let i = &l.interp;
    let ceval_gil = match l.gil {
        GilHolder::Interp {
            ceval_gil,
            last_holder,
            locked,
        } => {
            // Offsets from the GIL struct, whose size is not published (the walker reads its
            // first 32 bytes); one published before the struct wrapped around to an absurd value.
            check("_gil_runtime_state", 256, 256, &[last_holder, locked])?;
            ceval_gil
        }
        _ => 0,
    };
    check(
        "PyInterpreterState",
        i.size,
        1 << 24,
        &[i.next, i.threads_head, i.id.unwrap_or(0), ceval_gil],
    )?;
    let current = match t.frame {
        FrameRoot::CurrentFrame(o) | FrameRoot::Frame(o) => o,
        FrameRoot::CFrame { cframe, .. } => cframe,
    };
    check(
        "PyThreadState",
        t.size,
        1 << 16,
        &[
            t.next,
            t.interp,
            current,
            t.thread_id,
            t.native_thread_id.unwrap_or(0),
        ],
    )?;
    let o = &l.objects;
    check("PyObject", size_of("pyobject"), 256, &[o.ob_type])?;
    check(
        "PyTypeObject",
        size_of("type_object"),
        4096,
        &[o.tp_name, o.tp_flags],
    )?;
    // ob_sval is the first byte of the data.
    let data = o.bytes_data.saturating_sub(7);
    check(
        "PyBytesObject",
        size_of("bytes_object"),
        256,
        &[o.bytes_size, data],
    )?;
    if let Str::Pep393 { length, state, .. } = l.string {
        check(
            "PyUnicodeObject",
            size_of("unicode_object"),
            256,
            &[length, state],
        )?;
    }
    if let Frame::Interpreter {
        previous,
        code,
        instr,
        owner,
        tlbc_index,
        size,
        ..
    } = l.frame
    {
        // owner is one byte and tlbc_index four: `check` tests 8-byte fields.
        let tlbc_index = tlbc_index.map_or(0, |o| o.saturating_sub(4));
        check(
            "_PyInterpreterFrame",
            size,
            1024,
            &[previous, code, instr, owner.saturating_sub(7), tlbc_index],
        )?;
    }
    let c = &l.code;
    let adaptive = c.code_adaptive.unwrap_or(0);
    check(
        "PyCodeObject",
        c.size,
        4096,
        &[
            c.filename,
            c.name,
            c.linetable,
            c.firstlineno,
            adaptive,
            c.tlbc.unwrap_or(0),
        ],
    )?;
    if l.frame_read_len() > 256 || l.code_read_len() > 256 || l.tstate_read_len() > 512 {
        return Err("the fields pyflame reads lie too far into their structs".to_string());
    }
    match l.string {
        Str::Pep393 {
            ascii_data,
            compact_data,
            ..
        } if (24..=256).contains(&ascii_data)
            && (ascii_data..=ascii_data + 64).contains(&compact_data) =>
        {
            Ok(())
        }
        _ => Err("implausible PyASCIIObject or PyCompactUnicodeObject size".to_string()),
    }
}

#[cfg(test)]
#[path = "debug_offsets_tests.rs"]
mod tests;
