//! `--native` end to end, dumps and samples, on every interpreter: C code built here (a
//! library called through ctypes, with and without frame pointers, and stripped; an extension
//! module built against the interpreter's own headers that calls back into Python), threads
//! blocked in a sleep, on a lock and on the GIL, a target in its own mount namespace, a process
//! tree, the SVG and speedscope formats. The merged stacks are checked frame by frame.

mod anonymous;
mod support;

use crate::util::build::compile;
use crate::util::cli::one_line_error;
use crate::util::container::contained;
use crate::util::events::has_ctypes;
use crate::util::launch::Ready;
use crate::util::prereq;
use crate::util::process::temp_dir;
use crate::util::target::spawn_script;
use crate::util::{per_interpreter, pyflame, Interp};
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

per_interpreter!(native_frames_through_ctypes);

fn native_frames_through_ctypes(py: &Interp) {
    if !has_ctypes(py) {
        eprintln!(
            "SKIPPED: native_frames_through_ctypes: {} has no ctypes",
            py.name
        );
        return;
    }
    for (name, flag) in [
        ("omit", "-fomit-frame-pointer"),
        ("keep", "-fno-omit-frame-pointer"),
    ] {
        let lib_name = format!("libnative_spin_{name}.so");
        let flags = ["-O2", flag, "-shared", "-fPIC"].map(String::from);
        let lib = compile("native_spin.c", &lib_name, &flags, &[]);
        let mut target = spawn_script(py, "native.py", &["ctypes", lib.to_str().unwrap()]);
        let (main, threads, out) = dump_spinning(&mut target, "spin_inner ");
        let whole = format!("{}\n{}", out.describe(), target.describe());
        let frames = &threads[main].frames;
        assert_eq!(frames[0], format!("spin_inner ({lib_name})"), "{whole}");
        assert_eq!(frames[1], format!("spin_outer ({lib_name})"), "{whole}");
        // ctypes' and libffi's frames, then the Python frames, with nothing between.
        let first = frames
            .iter()
            .position(|f| is_python(f))
            .expect("Python frames");
        for f in &frames[2..first] {
            let (_, object) = native(f).expect("native");
            assert!(
                object.contains("ffi") || object.contains("ctypes"),
                "{f} between spin_outer and call_spin\n{whole}"
            );
        }
        assert!(first > 2, "no ctypes frame\n{whole}");
        let python = [
            at(&target, "call_spin", "call_spin"),
            at(&target, "main", "main_ctypes"),
            at(&target, "<module>", "module"),
        ];
        python_then_native(frames, first, &python, &whole);
        check_waiting(&target, &threads, &whole);
        // Sampled (--threads: ctypes lets go of the GIL), the main thread has that stack.
        let (stacks, out) = sample(&target, &["--threads"]);
        let module = at(&target, "<module>", "module");
        let (good, total) = share(&stacks, &module, |s| {
            let Some(m) = s.iter().position(|f| *f == module) else {
                return false;
            };
            let n = s.len();
            n > m + 5
                && s[m..m + 3] == [python[2].clone(), python[1].clone(), python[0].clone()]
                && s[n - 2] == format!("{lib_name}:spin_outer:0")
                && s[n - 1] == format!("{lib_name}:spin_inner:0")
                && s[m + 3..n - 2].iter().all(|f| {
                    collapsed_native(f)
                        .is_some_and(|(o, _)| o.contains("ffi") || o.contains("ctypes"))
                })
        });
        assert!(
            total >= 100 && good >= 0.95,
            "{good} of {total} samples\n{}",
            out.describe()
        );
    }
}

per_interpreter!(native_and_python_frames_interleave);

fn native_and_python_frames_interleave(py: &Interp) {
    let Some(dir) = build_extension(py) else {
        eprintln!(
            "SKIPPED: native_and_python_frames_interleave: no headers for {}",
            py.name
        );
        return;
    };
    let mut target = spawn_script(py, "native.py", &["ext", dir.to_str().unwrap()]);
    check_interleaved(py, &mut target);
}

/// The extension's target, let go: its main thread's exact stack in a dump and in samples,
/// the waiting threads, the thread waiting for the GIL.
fn check_interleaved(py: &Interp, target: &mut impl Script) {
    let (main, threads, out) = dump_spinning(target, "ext_spin_inner ");
    let whole = format!("{}\n{}", out.describe(), target.describe());
    let frames = &threads[main].frames;
    let object = native(&frames[0]).expect("native").1.to_string();
    assert!(object.starts_with("nativeext"), "{whole}");
    let c = |f: &str| format!("{f} ({object})");
    let want = [
        c("ext_spin_inner"),
        c("ext_spin"),
        at(&*target, "inner_py", "inner_py"),
        c("ext_call_back"),
        c("ext_call"),
        at(&*target, "via_c", "via_c"),
    ];
    assert_eq!(&frames[..want.len()], want, "{whole}");
    let python = [
        at(&*target, "main", "main_ext"),
        at(&*target, "<module>", "module"),
    ];
    python_then_native(frames, want.len(), &python, &whole);
    check_waiting(&*target, &threads, &whole);
    // Sampled, the GIL holder (the main thread, spinning) has that stack.
    let (stacks, out) = sample(&*target, &[]);
    let module = at(&*target, "<module>", "module");
    let line = |f: &str| match native(f) {
        Some((function, object)) => format!("{object}:{function}:0"),
        None => f.to_string(),
    };
    let mut expected: Vec<String> = want.iter().chain(&python).map(|f| line(f)).collect();
    expected.reverse();
    let (good, total) = share(&stacks, &module, |s| s.ends_with(&expected));
    assert!(
        total >= 100 && good >= 0.95,
        "{good} of {total} samples\n{}",
        out.describe()
    );
    // The main thread spins in C holding the GIL: once `waiter`'s sleep ends, it waits for
    // the GIL for ever (free-threaded builds have none).
    if !py.free_threaded {
        let start = Instant::now();
        loop {
            let (threads, out) = dump(&*target);
            let (waiter, _) = thread_at(&threads, &at(&*target, "waiter", "wait"));
            if waiter.header.contains("waiting for the GIL") {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waiter not waiting for the GIL after 30 s\n{}",
                out.describe()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A target in its own mount and PID namespaces, its interpreter at a path that exists only
/// there: the interpreter's symbols (which place the Python frames) come from the target's
/// files, through /proc/PID/root.
#[test]
fn symbols_come_from_the_targets_mount_namespace() {
    if !prereq::namespaces("symbols_come_from_the_targets_mount_namespace") {
        return;
    }
    let pythons = crate::util::interp::interpreters();
    let Some(py) = pythons.iter().find(|p| p.name == "3.12") else {
        eprintln!("SKIPPED: symbols_come_from_the_targets_mount_namespace: no 3.12");
        return;
    };
    let dir = build_extension(py).expect("3.12's headers");
    let mut c = contained(
        py,
        "native.py",
        &["ext", dir.to_str().unwrap()],
        Ready::StdinRead,
        None,
    );
    check_interleaved(py, &mut c.target);
}

/// A stripped library: its exported function by name (`.dynsym`), the static one it calls
/// as `object+0x<offset>`, never as another function.
#[test]
fn a_stripped_library_is_named_from_dynsym_or_by_offset() {
    let Some(py) = crate::util::interp::interpreters()
        .iter()
        .find(|p| !p.is_py2() && has_ctypes(p))
        .cloned()
    else {
        eprintln!("SKIPPED: no interpreter with ctypes");
        return;
    };
    let flags = ["-O2", "-DSTATIC_INNER", "-shared", "-fPIC"].map(String::from);
    let built = compile("native_spin.c", "libnative_spin_static.so", &flags, &[]);
    let dir = temp_dir("native_stripped");
    let lib = dir.join("libnative_stripped.so");
    std::fs::copy(&built, &lib).expect("copy");
    let strip = Command::new("strip")
        .arg("--strip-all")
        .arg(&lib)
        .status()
        .expect("strip");
    assert!(strip.success());
    let mut target = spawn_script(&py, "native.py", &["ctypes", lib.to_str().unwrap()]);
    let (main, threads, out) = dump_spinning(&mut target, "libnative_stripped.so+0x");
    let frames = &threads[main].frames;
    let whole = out.describe();
    let (inner, object) = native(&frames[0]).expect("native");
    assert_eq!(object, "libnative_stripped.so", "{whole}");
    assert!(inner.starts_with("libnative_stripped.so+0x"), "{whole}");
    assert_eq!(frames[1], "spin_outer (libnative_stripped.so)", "{whole}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn native_needs_stopped_threads() {
    let pid = std::process::id().to_string();
    for dump in [&["-d"][..], &["-s", "1"]] {
        let mut args = vec!["--native", "--nonblocking", "-p", &pid];
        args.extend_from_slice(dump);
        let out = pyflame(&args);
        assert!(
            one_line_error(&out).contains("--nonblocking"),
            "{}",
            out.describe()
        );
    }
}

/// `--native` in a process tree (`--subprocesses`: the spinning Python child's samples have
/// its native frames, `_start` first) and in the SVG and speedscope formats.
#[test]
fn native_in_a_process_tree_and_every_format() {
    let pythons = crate::util::interp::interpreters();
    let Some(py) = pythons.iter().find(|p| p.name == "3.12") else {
        eprintln!("SKIPPED: native_in_a_process_tree_and_every_format: no 3.12");
        return;
    };
    let script = crate::util::target::script_path("tree_parent.py");
    let python = py.path.to_str().expect("UTF-8 path").to_string();
    let group = crate::util::group::Group::python(py, &script, &[&python]);
    let child = group.preamble_pid("PYTHON");
    crate::util::live::wait_until_spinning(child, || group.describe());
    let pid = group.pid.to_string();
    let out = pyflame(&[
        "--native",
        "--subprocesses",
        "-s",
        "1",
        "-r",
        "0.01",
        "-p",
        &pid,
    ]);
    assert!(out.status.success(), "{}", out.describe());
    let root = format!("process {child}");
    let native_rooted = out.stdout.lines().any(|l| {
        let frames: Vec<&str> = l.split(';').collect();
        frames[0].starts_with(&root)
            && frames.get(1).is_some_and(|f| f.ends_with(":_start:0"))
            && l.contains("spin_one")
    });
    assert!(
        native_rooted,
        "no sample of the child with its native frames\n{}",
        out.describe()
    );
    drop(group);

    // A library loaded after pyflame attached (ctypes loads it once the target is let go).
    let flags = ["-O2", "-shared", "-fPIC"].map(String::from);
    let late = compile("native_spin.c", "libnative_spin_late.so", &flags, &[]);
    let mut target = spawn_script(py, "native.py", &["ctypes", late.to_str().unwrap()]);
    let pid = target.pid.to_string();
    let sampler = Command::new(crate::util::process::pyflame_bin())
        .args(["--native", "--threads", "-s", "4", "-r", "0.01", "-p", &pid])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("pyflame starts");
    std::thread::sleep(Duration::from_secs(1));
    target
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("go");
    let out = sampler.wait_with_output().expect("pyflame ends");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("libnative_spin_late.so:spin_inner:0"),
        "no sample named the library loaded after pyflame attached\n{text}"
    );
    drop(target);

    let lib = compile("native_spin.c", "libnative_spin_formats.so", &flags, &[]);
    let mut target = spawn_script(py, "native.py", &["ctypes", lib.to_str().unwrap()]);
    dump_spinning(&mut target, "spin_inner ");
    let dir = temp_dir("native_formats");
    for file in ["native.svg", "native.json"] {
        let path = dir.join(file);
        let pid = target.pid.to_string();
        let args = [
            "--native",
            "--threads",
            "-s",
            "1",
            "-p",
            &pid,
            "-o",
            path.to_str().unwrap(),
        ];
        let out = pyflame(&args);
        assert!(out.status.success(), "{}", out.describe());
        let text = std::fs::read_to_string(&path).expect("the output file");
        assert!(
            text.contains("spin_inner") && text.contains("libnative_spin_formats.so"),
            "{file}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
