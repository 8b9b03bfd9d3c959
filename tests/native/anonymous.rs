//! `--native` through code in no object file: the vdso (`clock_gettime`), read from the
//! target, and CPython's perf trampolines (3.12+), stepped over by their epilogue.

use super::support::*;
use crate::util::target::spawn_script;
use crate::util::{per_interpreter, Interp};
use std::io::Write;
use std::process::Command;

per_interpreter!(a_thread_in_the_vdso_is_unwound);

/// A thread calling `time.time()` for ever is mostly in the vdso (the kernel's code, in no
/// file: its image is read from the target): sampled, its stacks are whole, from the vdso's
/// frames through the Python frames to the program's start; never cut at the vdso.
fn a_thread_in_the_vdso_is_unwound(py: &Interp) {
    let mut target = spawn_script(py, "native.py", &["clock"]);
    let mut stdin = target.stdin.take().expect("stdin");
    stdin.write_all(b"go\n").expect("write to the target");
    let clock = at(&target, "clock", "clock");
    let (stacks, out) = sample(&target, &[]);
    let marker = "<pyflame>:<native frames end here>:0";
    let (good, total) = share(&stacks, &clock, |s| {
        !s.iter().any(|f| f == marker) && collapsed_native(&s[0]).is_some()
    });
    let in_vdso: u64 = stacks
        .iter()
        .filter(|(s, _)| s.last().is_some_and(|f| f.starts_with("[vdso]:")))
        .map(|(_, n)| n)
        .sum();
    assert!(
        total >= 100 && good >= 0.95 && in_vdso > 0,
        "{good} of {total} samples whole, {in_vdso} in the vdso\n{}\n{}",
        out.describe(),
        target.describe()
    );
}

per_interpreter!(perf_trampolines_are_stepped_over);

/// CPython's perf trampolines (3.12+, `sys.activate_stack_trampoline("perf")`, as `-X perf`
/// does), in anonymous memory with no call-frame information, between each evaluation and its
/// caller: sampled, the stacks are whole, the Python frames in order with no trampoline left
/// between them (every stack ended at the first one before they were stepped over).
fn perf_trampolines_are_stepped_over(py: &Interp) {
    let test = "perf_trampolines_are_stepped_over";
    if (py.major, py.minor) < (3, 12) {
        return;
    }
    let probe = Command::new(&py.path)
        .args(["-c", "import sys; sys.activate_stack_trampoline('perf')"])
        .output()
        .expect("the interpreter runs");
    if !probe.status.success() {
        let why = String::from_utf8_lossy(&probe.stderr);
        let why = why.lines().last().unwrap_or("");
        eprintln!(
            "SKIPPED: {test}: {} has no perf trampolines: {why}",
            py.name
        );
        return;
    }
    let mut target = spawn_script(py, "native.py", &["perf"]);
    let mut stdin = target.stdin.take().expect("stdin");
    stdin.write_all(b"go\n").expect("write to the target");
    let python = [
        at(&target, "<module>", "module"),
        at(&target, "main", "main_perf"),
        at(&target, "perf", "perf"),
        at(&target, "perf_outer", "perf_outer"),
        at(&target, "perf_spin", "perf_spin"),
    ];
    let (stacks, out) = sample(&target, &[]);
    let marker = "<pyflame>:<native frames end here>:0";
    let (good, total) = share(&stacks, &python[4], |s| {
        let Some(m) = s.iter().position(|f| *f == python[0]) else {
            return false;
        };
        !s.iter().any(|f| f == marker || f.starts_with("[anon]:"))
            && collapsed_native(&s[0]).is_some()
            && s.get(m..m + 5) == Some(&python[..])
    });
    assert!(
        total >= 100 && good >= 0.95,
        "{good} of {total} samples whole\n{}\n{}",
        out.describe(),
        target.describe()
    );
}
