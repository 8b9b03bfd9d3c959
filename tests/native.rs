//! `-d --native` end to end, on every interpreter: C code built here (a library called
//! through ctypes, with and without frame pointers, and stripped; an extension module built
//! against the interpreter's own headers that calls back into Python), threads blocked in a
//! sleep, on a lock and on the GIL. The merged stacks are checked frame by frame.

use crate::util::build::compile;
use crate::util::cli::one_line_error;
use crate::util::container::contained;
use crate::util::events::has_ctypes;
use crate::util::launch::{Launched, Ready};
use crate::util::prereq;
use crate::util::process::temp_dir;
use crate::util::target::{spawn_script, Target};
use crate::util::{per_interpreter, pyflame, Interp, Output};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ChildStdin;
use std::process::Command;
use std::time::{Duration, Instant};

/// A script running as a target: started here, or in namespaces of its own.
trait Script {
    fn pid(&self) -> u32;
    fn script(&self) -> &Path;
    fn marks(&self) -> &HashMap<String, u32>;
    fn stdin(&mut self) -> Option<ChildStdin>;
    fn describe(&self) -> String;
    /// Whether its Python names its threads in the kernel (3.14+).
    fn names_threads(&self) -> bool;
}

impl Script for Target {
    fn pid(&self) -> u32 {
        self.pid
    }
    fn script(&self) -> &Path {
        &self.script
    }
    fn marks(&self) -> &HashMap<String, u32> {
        &self.marks
    }
    fn stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }
    fn describe(&self) -> String {
        Target::describe(self)
    }
    fn names_threads(&self) -> bool {
        (self.python.major, self.python.minor) >= (3, 14)
    }
}

impl Script for Launched {
    fn pid(&self) -> u32 {
        self.pid
    }
    fn script(&self) -> &Path {
        &self.script
    }
    fn marks(&self) -> &HashMap<String, u32> {
        &self.marks
    }
    fn stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }
    fn describe(&self) -> String {
        Launched::describe(self)
    }
    fn names_threads(&self) -> bool {
        false
    }
}

/// One thread of a `-d --native` dump.
#[derive(Debug)]
struct Shown {
    header: String,
    frames: Vec<String>,
}

fn parse(text: &str) -> Vec<Shown> {
    text.split("\n\n")
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            let mut lines = t.lines().map(str::to_string);
            let header = lines.next().unwrap_or_default();
            Shown {
                header,
                frames: lines.collect(),
            }
        })
        .collect()
}

/// `pyflame -d --native -p PID`, which must succeed.
fn dump(target: &impl Script) -> (Vec<Shown>, Output) {
    let out = pyflame(&["-d", "--native", "-p", &target.pid().to_string()]);
    assert!(
        out.status.success(),
        "-d --native\n{}\n{}",
        out.describe(),
        target.describe()
    );
    (parse(&out.stdout), out)
}

/// Lets the target's main thread go on into C, then dumps until its stack shows `leaf` (60 s
/// at most): the thread that shows it, and all of them.
fn dump_spinning(target: &mut impl Script, leaf: &str) -> (usize, Vec<Shown>, Output) {
    let mut stdin = target.stdin().expect("stdin");
    stdin.write_all(b"go\n").expect("write to the target");
    let start = Instant::now();
    loop {
        let (threads, out) = dump(target);
        let spinning = |t: &Shown| t.frames.first().is_some_and(|f| f.starts_with(leaf));
        if let Some(i) = threads.iter().position(spinning) {
            // Once the thread spins, the target stays as it is: a dump with nothing to say.
            out.assert_clean_success(&format!("-d --native\n{}", target.describe()));
            return (i, threads, out);
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no thread in {leaf} after 60 s\n{}\n{}",
            out.describe(),
            target.describe()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `file:function:line` of the script's frame at its mark.
fn at(target: &impl Script, function: &str, mark: &str) -> String {
    format!(
        "{}:{function}:{}",
        target.script().display(),
        target.marks()[mark]
    )
}

/// A native frame, `function (object)`: (function, object).
fn native(frame: &str) -> Option<(&str, &str)> {
    let (function, rest) = frame.rsplit_once(" (")?;
    Some((function, rest.strip_suffix(')')?))
}

fn is_python(frame: &str) -> bool {
    native(frame).is_none()
}

/// Checks `frames` from `from` on are exactly `python`, then only native frames.
fn python_then_native(frames: &[String], from: usize, python: &[String], whole: &str) {
    assert_eq!(&frames[from..from + python.len()], python, "{whole}");
    let after = &frames[from + python.len()..];
    assert!(
        after.iter().all(|f| !is_python(f)),
        "Python frames outer of the outermost expected one\n{whole}"
    );
}

/// The thread whose first Python frame is `first`, and where that frame is.
fn thread_at<'a>(threads: &'a [Shown], first: &str) -> (&'a Shown, usize) {
    threads
        .iter()
        .find_map(|t| {
            Some((t, t.frames.iter().position(|f| is_python(f))?))
                .filter(|(t, i)| t.frames[*i] == first)
        })
        .unwrap_or_else(|| panic!("no thread whose first Python frame is {first}\n{threads:#?}"))
}

/// The sleeping and the locked threads: libc's frames under their Python frame, and the
/// system call each waits in.
fn check_waiting(target: &impl Script, threads: &[Shown], whole: &str) {
    let (sleeper, i) = thread_at(threads, &at(target, "sleeper", "sleep"));
    assert!(
        i > 0 && sleeper.frames[..i].iter().all(|f| native(f).is_some()),
        "{whole}"
    );
    assert!(
        sleeper.frames[..i]
            .iter()
            .any(|f| f.contains("sleep") || f.contains("select")),
        "no libc sleep under sleeper()\n{whole}"
    );
    // 3.14 and later name their threads in the kernel (Thread-1 (sleeper), cut to 15 bytes).
    if target.names_threads() {
        assert!(sleeper.header.contains(" name=Thread-"), "{whole}");
    }
    let calls = ["clock_nanosleep", "nanosleep", "select", "pselect6"];
    assert!(
        calls.iter().any(|c| sleeper
            .header
            .contains(&format!("(in the system call {c})"))),
        "{whole}"
    );
    let (locked, i) = thread_at(threads, &at(target, "locked", "lock"));
    assert!(
        i > 0 && locked.frames[..i].iter().all(|f| native(f).is_some()),
        "{whole}"
    );
    assert!(
        locked.header.contains("(in the system call futex)"),
        "{whole}"
    );
}

/// `pyflame --native -s 2 -r 0.01 -p PID [extra]`: the count of each stack (root first).
fn sample(target: &impl Script, extra: &[&str]) -> (Vec<(Vec<String>, u64)>, Output) {
    let pid = target.pid().to_string();
    let mut args = vec!["--native", "-s", "2", "-r", "0.01", "-p", &pid];
    args.extend_from_slice(extra);
    let out = pyflame(&args);
    assert!(
        out.status.success(),
        "{}\n{}",
        out.describe(),
        target.describe()
    );
    let stacks = out
        .stdout
        .lines()
        .filter_map(|l| {
            let (stack, count) = l.rsplit_once(' ')?;
            Some((
                stack.split(';').map(str::to_string).collect(),
                count.parse().ok()?,
            ))
        })
        .collect();
    (stacks, out)
}

/// Of the samples whose stack holds `root` (a frame of the thread sampled), the share that
/// `expected` accepts; and how many samples held `root`.
fn share(
    stacks: &[(Vec<String>, u64)],
    root: &str,
    expected: impl Fn(&[String]) -> bool,
) -> (f64, u64) {
    let of_thread = stacks.iter().filter(|(s, _)| s.iter().any(|f| f == root));
    let total: u64 = of_thread.clone().map(|(_, n)| n).sum();
    let good: u64 = of_thread.filter(|(s, _)| expected(s)).map(|(_, n)| n).sum();
    (good as f64 / total.max(1) as f64, total)
}

/// A collapsed native frame: (object, function).
fn collapsed_native(frame: &str) -> Option<(&str, &str)> {
    let rest = frame.strip_suffix(":0")?;
    let (object, function) = rest.split_once(':')?;
    (!object.contains('/')).then_some((object, function))
}

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

/// Builds tests/c/nativeext.c against `py`'s headers into a directory of its own, named as
/// `py` imports extension modules; None when `py` has no headers.
fn build_extension(py: &Interp) -> Option<PathBuf> {
    const FIND: &str = r#"
import os, sys
dirs = []
try:
    import sysconfig
    paths = sysconfig.get_paths()
    # Debian's pyconfig.h includes <x86_64-linux-gnu/python3.X/pyconfig.h>.
    dirs += [paths['include'], paths['platinclude'], os.path.dirname(paths['include'])]
except Exception:
    pass
here = os.path.dirname(os.path.realpath(sys.executable))
dirs += [os.path.join(here, 'Include'), here]
try:
    import importlib.machinery
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
except ImportError:
    import imp
    suffix = [s for s, _, kind in imp.get_suffixes() if kind == imp.C_EXTENSION][0]
print(suffix)
for d in dirs:
    if os.path.isdir(d):
        print(d)
"#;
    let out = Command::new(&py.path)
        .args(["-E", "-s", "-c", FIND])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let suffix = lines.next()?.to_string();
    let dirs: Vec<&str> = lines.collect();
    if !dirs.iter().any(|d| Path::new(d).join("Python.h").exists()) {
        return None;
    }
    let mut flags: Vec<String> = ["-fno-optimize-sibling-calls", "-shared", "-fPIC"]
        .map(String::from)
        .to_vec();
    flags.extend(dirs.iter().map(|d| format!("-I{d}")));
    let built = compile(
        "nativeext.c",
        &format!("nativeext-{}.so", py.name),
        &flags,
        &[],
    );
    let dir = temp_dir(&format!("nativeext-{}", py.name));
    std::fs::copy(&built, dir.join(format!("nativeext{suffix}"))).ok()?;
    Some(dir)
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

    let flags = ["-O2", "-shared", "-fPIC"].map(String::from);
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
