//! What tests/native's tests share: targets as scripts, dumps and samples parsed, the
//! checks of threads waiting, the extension module built against an interpreter's headers.

use crate::util::build::compile;
use crate::util::launch::Launched;
use crate::util::process::temp_dir;
use crate::util::target::Target;
use crate::util::{pyflame, Interp, Output};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command};
use std::time::{Duration, Instant};

/// A script running as a target: started here, or in namespaces of its own.
pub(super) trait Script {
    fn pid(&self) -> u32;
    fn script(&self) -> &Path;
    fn marks(&self) -> &HashMap<String, u32>;
    fn stdin(&mut self) -> Option<ChildStdin>;
    fn describe(&self) -> String;
    /// Whether its Python names its threads in the kernel (3.14+).
    fn names_threads(&self) -> bool;
    /// Whether it has a thread in the garbage collector whose functions have names (3.x with
    /// a GIL, and symbols: not Debian's stripped executables).
    fn collects_named(&self) -> bool;
}

/// `Script` for a target type, given whether its Python names threads and has a named
/// collector.
macro_rules! script {
    ($target:ty, $names_threads:expr, $collects_named:expr) => {
        impl Script for $target {
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
                <$target>::describe(self)
            }
            fn names_threads(&self) -> bool {
                ($names_threads)(self)
            }
            fn collects_named(&self) -> bool {
                ($collects_named)(self)
            }
        }
    };
}

script!(
    Target,
    |t: &Target| (t.python.major, t.python.minor) >= (3, 14),
    |t: &Target| {
        let py = &t.python;
        py.major >= 3 && !py.free_threaded && !py.name.starts_with("debian")
    }
);
// Started in namespaces of its own (3.12 in tests/native): neither is checked.
script!(Launched, |_: &Launched| false, |_: &Launched| false);

/// One thread of a `-d --native` dump.
#[derive(Debug)]
pub(super) struct Shown {
    pub(super) header: String,
    pub(super) frames: Vec<String>,
}

pub(super) fn parse(text: &str) -> Vec<Shown> {
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
pub(super) fn dump(target: &impl Script) -> (Vec<Shown>, Output) {
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
pub(super) fn dump_spinning(target: &mut impl Script, leaf: &str) -> (usize, Vec<Shown>, Output) {
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
pub(super) fn at(target: &impl Script, function: &str, mark: &str) -> String {
    format!(
        "{}:{function}:{}",
        target.script().display(),
        target.marks()[mark]
    )
}

/// A native frame, `function (object)`: (function, object).
pub(super) fn native(frame: &str) -> Option<(&str, &str)> {
    let (function, rest) = frame.rsplit_once(" (")?;
    Some((function, rest.strip_suffix(')')?))
}

pub(super) fn is_python(frame: &str) -> bool {
    native(frame).is_none()
}

/// Checks `frames` from `from` on are exactly `python`, then only native frames.
pub(super) fn python_then_native(frames: &[String], from: usize, python: &[String], whole: &str) {
    assert_eq!(&frames[from..from + python.len()], python, "{whole}");
    let after = &frames[from + python.len()..];
    assert!(
        after.iter().all(|f| !is_python(f)),
        "Python frames outer of the outermost expected one\n{whole}"
    );
}

/// The thread whose first Python frame is `first`, and where that frame is.
pub(super) fn thread_at<'a>(threads: &'a [Shown], first: &str) -> (&'a Shown, usize) {
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
pub(super) fn check_waiting(target: &impl Script, threads: &[Shown], whole: &str) {
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
    // 3.14 and later name their threads in the kernel after threading's names.
    if target.names_threads() {
        assert!(sleeper.header.contains(" name=sleeper "), "{whole}");
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
    if target.collects_named() {
        let (collector, _) = thread_at(threads, &at(target, "in_gc", "gc_wait"));
        let header = &collector.header;
        assert!(
            header.contains("(collecting garbage; in the system call "),
            "{whole}"
        );
        let python: Vec<&String> = collector.frames.iter().filter(|f| is_python(f)).collect();
        assert_eq!(*python[1], at(target, "collector", "collect"), "{whole}");
    }
}

/// `pyflame --native -s 2 -r 0.01 -p PID [extra]`: the count of each stack (root first).
pub(super) fn sample(target: &impl Script, extra: &[&str]) -> (Vec<(Vec<String>, u64)>, Output) {
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
pub(super) fn share(
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
pub(super) fn collapsed_native(frame: &str) -> Option<(&str, &str)> {
    let rest = frame.strip_suffix(":0")?;
    let (object, function) = rest.split_once(':')?;
    (!object.contains('/')).then_some((object, function))
}

/// Builds tests/c/nativeext.c against `py`'s headers into a directory of its own, named as
/// `py` imports extension modules; None when `py` has no headers.
pub(super) fn build_extension(py: &Interp) -> Option<PathBuf> {
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
