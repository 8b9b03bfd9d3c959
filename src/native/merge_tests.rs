//! Merging: stacks as 3.10 and 3.12 lay them out, unwound whole or in part, with evaluations
//! that have no C frame yet and without the eval function's symbol.

use super::*;

const LIBPY: &str = "libpython3.12.so.1.0";

fn native(spec: &[(&str, &str)]) -> Vec<NativeFrame> {
    spec.iter()
        .enumerate()
        .map(|(i, &(object, function))| NativeFrame {
            pc: 0x1000 + i as u64,
            object: Rc::from(object),
            function: (!function.is_empty()).then(|| (Rc::from(function), 4)),
            offset: 0x40 + i as u64,
        })
        .collect()
}

fn python(names: &[&str]) -> Vec<Frame> {
    names
        .iter()
        .map(|&n| Frame {
            code: Rc::new(Code {
                filename: "app.py".into(),
                name: n.into(),
                kind: FrameKind::Python,
            }),
            line: 1,
        })
        .collect()
}

/// The merged stack as `object:function` for native frames, the name alone for Python ones.
fn names(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|f| match f.code.kind {
            FrameKind::Native => format!("{}:{}", f.code.filename, f.code.name),
            _ => f.code.name.clone(),
        })
        .collect()
}

/// A ctypes call as 3.10 runs it: one eval frame per Python frame, the interpreter's calls
/// between them.
fn ctypes_310() -> Vec<NativeFrame> {
    native(&[
        ("libspin.so", "spin_inner"),
        ("libspin.so", "spin_outer"),
        ("libffi.so.8", "ffi_call_unix64"),
        ("_ctypes.so", "_ctypes_callproc"),
        (LIBPY, "_PyObject_MakeTpCall"),
        (LIBPY, "_PyEval_EvalFrameDefault"),
        (LIBPY, "_PyFunction_Vectorcall"),
        (LIBPY, "_PyEval_EvalFrameDefault"),
        (LIBPY, "_PyFunction_Vectorcall"),
        (LIBPY, "_PyEval_EvalFrameDefault"),
        (LIBPY, "Py_BytesMain"),
        ("python3", "main"),
        ("libc.so.6", "__libc_start_main@GLIBC_2.34"),
        ("python3", "_start"),
    ])
}

#[test]
fn each_eval_frame_becomes_its_python_frames() {
    let interp = Interpreter::new(LIBPY, Version::new(3, 10, None));
    let py = python(&["call_spin", "work", "<module>"]);
    let merged = merge(
        &interp,
        &ctypes_310(),
        End::Root,
        &py,
        &[true; 3],
        &mut frame,
    );
    assert_eq!(
        names(&merged),
        [
            "libspin.so:spin_inner",
            "libspin.so:spin_outer",
            "libffi.so.8:ffi_call_unix64",
            "_ctypes.so:_ctypes_callproc",
            "call_spin",
            "work",
            "<module>",
            "python3:main",
            "libc.so.6:__libc_start_main",
            "python3:_start",
        ]
    );
}

#[test]
fn from_3_11_one_eval_frame_runs_frames_up_to_an_entry() {
    // 3.12: <module> calls work calls helper in one evaluation; helper calls a C function that
    // calls back into Python (callback, in an evaluation of its own) which spins in C.
    let interp = Interpreter::new(LIBPY, Version::new(3, 12, None));
    let stack = native(&[
        ("ext.so", "spin"),
        (LIBPY, "_PyEval_EvalFrameDefault"),
        (LIBPY, "PyObject_Call"),
        ("ext.so", "call_back"),
        (LIBPY, "_PyEval_EvalFrameDefault"),
        (LIBPY, "PyEval_EvalCode"),
        ("python3", "main"),
    ]);
    let py = python(&["callback", "helper", "work", "<module>"]);
    let entries = [true, false, false, true];
    let merged = merge(&interp, &stack, End::Root, &py, &entries, &mut frame);
    assert_eq!(
        names(&merged),
        [
            "ext.so:spin",
            "callback",
            "ext.so:call_back",
            "helper",
            "work",
            "<module>",
            "python3:main"
        ]
    );
}

#[test]
fn the_interpreter_is_shown_where_the_thread_is_in_it() {
    // re: the interpreter's own matching code, inner of everything else, is kept; a sleep
    // shows libc's frame, not the interpreter's calls to it.
    let interp = Interpreter::new(LIBPY, Version::new(3, 12, None));
    let py = python(&["search"]);
    let sre = native(&[
        (LIBPY, "sre_ucs1_match"),
        (LIBPY, "pattern_search"),
        (LIBPY, "_PyEval_EvalFrameDefault"),
    ]);
    let merged = merge(&interp, &sre, End::Root, &py, &[true], &mut frame);
    let want = [
        "libpython3.12.so.1.0:sre_ucs1_match",
        "libpython3.12.so.1.0:pattern_search",
        "search",
    ];
    assert_eq!(names(&merged), want);
    let sleep = native(&[
        ("libc.so.6", "clock_nanosleep@@GLIBC_2.17"),
        (LIBPY, "pysleep"),
        (LIBPY, "_PyEval_EvalFrameDefault"),
    ]);
    let merged = merge(&interp, &sleep, End::Root, &py, &[true], &mut frame);
    assert_eq!(names(&merged), ["libc.so.6:clock_nanosleep", "search"]);
}

#[test]
fn an_evaluation_just_started_or_not_found_pairs_from_the_right_end() {
    let interp = Interpreter::new(LIBPY, Version::new(3, 10, None));
    // An eval frame whose Python frame is not linked in yet: the innermost one stays native,
    // and so does the call into it (the thread is in the interpreter).
    let stack = native(&[
        (LIBPY, "_PyEval_EvalFrameDefault"),
        (LIBPY, "_PyFunction_Vectorcall"),
        (LIBPY, "_PyEval_EvalFrameDefault"),
        ("python3", "main"),
    ]);
    let merged = merge(
        &interp,
        &stack,
        End::Root,
        &python(&["outer"]),
        &[true],
        &mut frame,
    );
    let want = [
        "libpython3.12.so.1.0:_PyEval_EvalFrameDefault",
        "libpython3.12.so.1.0:_PyFunction_Vectorcall",
        "outer",
        "python3:main",
    ];
    assert_eq!(names(&merged), want);
    // A machine stack unwound part of the way: pairs from the innermost, the rest after a
    // marker.
    let stack = native(&[("ext.so", "spin"), (LIBPY, "_PyEval_EvalFrameDefault")]);
    let py = python(&["inner", "outer"]);
    let merged = merge(&interp, &stack, End::Lost, &py, &[true, true], &mut frame);
    let want = ["ext.so:spin", "inner", "<native frames end here>", "outer"];
    assert_eq!(names(&merged), want);
    // No eval function found at all (a pc without a symbol): native frames, then Python.
    let stack = native(&[("ext.so", ""), (LIBPY, "")]);
    let merged = merge(&interp, &stack, End::Root, &py, &[true, true], &mut frame);
    assert_eq!(merged[0].code.name, "ext.so+0x40");
    assert_eq!(merged[1].code.name, "libpython3.12.so.1.0+0x41");
    assert_eq!(
        names(&merged[2..]),
        ["<native frames end here>", "inner", "outer"]
    );
}

#[test]
fn a_stack_unwound_part_of_the_way_ends_in_a_marker() {
    let interp = Interpreter::new(LIBPY, Version::new(3, 10, None));
    let stack = native(&[("ext.so", "spin"), (LIBPY, "_PyEval_EvalFrameDefault")]);
    let merged = merge(
        &interp,
        &stack,
        End::NoObject,
        &python(&["only"]),
        &[true],
        &mut frame,
    );
    assert_eq!(
        names(&merged),
        ["ext.so:spin", "only", "<native frames end here>"]
    );
}

#[test]
fn versions_name_their_eval_function() {
    let old = Interpreter::new("libpython2.7.so.1.0", Version::new(2, 7, None));
    let stack = native(&[("libpython2.7.so.1.0", "PyEval_EvalFrameEx")]);
    let merged = merge(
        &old,
        &stack,
        End::Root,
        &python(&["f"]),
        &[true],
        &mut frame,
    );
    assert_eq!(names(&merged), ["f"]);
}
