//! The unwinder on real processes: C programs built here by gcc, with and without frame
//! pointers, stopped by ptrace where they spin or sleep, unwound to `_start`.

use super::*;
use crate::memory::RemoteMemory;
use crate::sys::ptrace::{self, Stop, WaitStatus};
use std::path::PathBuf;
use std::process::{Child, Command};

const PROGRAM: &str = r#"
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
volatile unsigned long sink;
__attribute__((noinline)) void spin_inner(int sleep) {
    struct timespec t = {100, 0};
    if (sleep) nanosleep(&t, 0);
    for (;;) sink++;
}
__attribute__((noinline)) void spin_outer(int sleep) { spin_inner(sleep); sink--; }
/* Overwrites its own frame and those above it: saved registers, return addresses (garbage,
 * then its own address, which would unwind into itself for ever), then spins. */
__attribute__((noinline)) void smash(int loop) {
    volatile unsigned long *p = (unsigned long *)__builtin_frame_address(0);
    for (int i = 0; i < 64; i++)
        p[i] = loop ? (unsigned long)&smash + 8 : 0x4141414141414141UL * (i + 1);
    for (;;) sink++;
}
/* Spins in a SIGALRM handler, which interrupted interrupted()'s loop 100 ms in. */
__attribute__((noinline)) void handler(int s) {
    (void)s;
    for (;;) sink++;
}
__attribute__((noinline)) void interrupted(void) {
    struct itimerval t = {{0, 0}, {0, 100000}};
    signal(SIGALRM, handler);
    setitimer(ITIMER_REAL, &t, 0);
    for (;;) sink++;
}
int main(int argc, char **argv) {
    if (argc > 2 && argv[2][0] == 's') interrupted();
    if (argc > 2) smash(argv[2][0] == 'l');
    spin_outer(argc > 1 && argv[1][1] == 'l');
    return 0;
}
"#;

/// Builds the program with `flags` in a directory of its own.
fn build(name: &str, flags: &[&str]) -> PathBuf {
    build_with("gcc", name, flags).expect("gcc")
}

/// Builds the program with compiler `cc`; None if it is not installed.
fn build_with(cc: &str, name: &str, flags: &[&str]) -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("pyflame-stack-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("spin.c");
    std::fs::write(&src, PROGRAM).unwrap();
    let exe = dir.join("spin");
    let status = Command::new(cc)
        .args(flags)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .ok()?;
    assert!(status.success(), "{cc} {flags:?}");
    Some(exe)
}

/// A running program, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The function names of the program's stack, stopped once it runs `spin_inner`.
fn stack_of(exe: &Path, sleep: bool) -> (Vec<String>, End) {
    stack_with(exe, &[if sleep { "sleep" } else { "spin" }], sleep)
}

/// The stack of the program run with `args`, stopped once it is where they send it.
fn stack_with(exe: &Path, args: &[&str], sleep: bool) -> (Vec<String>, End) {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    let child = Running(cmd.spawn().unwrap());
    let pid = child.0.id() as i32;
    std::thread::sleep(std::time::Duration::from_millis(200));
    ptrace::seize(pid, 0).unwrap();
    ptrace::interrupt(pid).unwrap();
    loop {
        match ptrace::wait(pid, false).unwrap() {
            Some((_, WaitStatus::Stopped(Stop::Interrupt))) => break,
            Some((_, WaitStatus::Stopped(Stop::Signal(s)))) => ptrace::cont(pid, s).unwrap(),
            Some((_, WaitStatus::Stopped(_))) => ptrace::cont(pid, 0).unwrap(),
            other => panic!("{other:?}"),
        }
    }
    let mem = RemoteMemory::new(pid);
    let mut snap = Snapshot::new();
    snap.take((pid, pid), &mem, STACK_WINDOW, true).unwrap();
    ptrace::detach(pid, 0).unwrap();
    // In the sleep, nanosleep's system call (the thread runs again: the stack it spins on
    // stays as it was).
    assert_eq!(snap.syscall.is_some(), sleep);
    let mut objects = Objects::new(pid).unwrap();
    let Unwound { frames, end, .. } = unwind(&mut objects, &mem, &snap);
    let names = frames
        .iter()
        .map(|f| match &f.function {
            Some((name, _)) => name.to_string(),
            None => format!("{}+{:#x}", f.object, f.offset),
        })
        .collect();
    (names, end)
}

/// `names` holds `want` in order, one right after the other, and ends at the C runtime's start.
fn check(names: &[String], end: End, want: &[&str]) {
    let at = names.iter().position(|n| n == want[0]);
    let at = at.unwrap_or_else(|| panic!("{} not in {names:?}", want[0]));
    assert_eq!(&names[at..at + want.len()], want, "{names:?}");
    assert_eq!(end, End::Root, "{names:?}");
    assert!(names.iter().any(|n| n == "_start"), "{names:?}");
}

#[test]
#[cfg_attr(
    target_arch = "aarch64",
    ignore = "ptraces a program: qemu-user has no ptrace (tests/aarch64/checks runs it in the emulated system)"
)]
fn unwinds_with_and_without_frame_pointers() {
    for (name, flags) in [
        ("omit", &["-O2", "-fomit-frame-pointer"][..]),
        ("keep", &["-O0", "-fno-omit-frame-pointer"][..]),
        (
            "nocfi",
            &[
                "-O1",
                "-fno-omit-frame-pointer",
                "-fno-asynchronous-unwind-tables",
                "-fno-unwind-tables",
            ][..],
        ),
    ] {
        let exe = build(name, flags);
        let (names, end) = stack_of(&exe, false);
        check(&names, end, &["spin_inner", "spin_outer", "main"]);
        assert_eq!(names[0], "spin_inner", "{name}: {names:?}");
    }
}

#[test]
#[cfg_attr(
    target_arch = "aarch64",
    ignore = "ptraces a program: qemu-user has no ptrace (tests/aarch64/checks runs it in the emulated system)"
)]
fn unwinds_out_of_a_system_call_in_libc() {
    let exe = build("sleep", &["-O2", "-fomit-frame-pointer"]);
    let (names, end) = stack_of(&exe, true);
    // glibc's nanosleep calls clock_nanosleep, which makes the call, itself or (glibc 2.41+)
    // through the local `__syscall_cancel_arch` (unnamed where libc is stripped): the
    // innermost frame is libc's, and nanosleep's among the first two.
    assert!(
        names[0].starts_with("libc.so.6+0x")
            || names[0].contains("nanosleep")
            || names[0].contains("syscall_cancel"),
        "{names:?}"
    );
    assert!(
        names[..2].iter().any(|n| n.contains("nanosleep")),
        "{names:?}"
    );
    check(&names, end, &["spin_inner", "spin_outer", "main"]);
}

#[test]
#[cfg_attr(
    target_arch = "aarch64",
    ignore = "ptraces a program: qemu-user has no ptrace (tests/aarch64/checks runs it in the emulated system)"
)]
fn a_smashed_stack_ends_where_it_can_be_followed_no_further() {
    for (name, flags) in [
        ("smash", &["-O1", "-fno-omit-frame-pointer"][..]),
        ("smash2", &["-O2"]),
    ] {
        let exe = build(name, flags);
        for how in ["garbage", "loop"] {
            let (names, end) = stack_with(&exe, &["spin", how], false);
            assert_eq!(names[0], "smash", "{name} {how}: {names:?}");
            assert!(
                names.len() <= MAX_FRAMES,
                "{name} {how}: {} frames",
                names.len()
            );
            assert_ne!(end, End::Root, "{name} {how}: {names:?}");
        }
    }
}

/// A thread stopped in a signal handler: through the return trampoline (glibc's has
/// call-frame information, musl's none: its ucontext is read) to the code it interrupted.
#[test]
#[cfg_attr(
    target_arch = "aarch64",
    ignore = "ptraces a program: qemu-user has no ptrace (tests/aarch64/checks runs it in the emulated system)"
)]
fn unwinds_out_of_a_signal_handler() {
    let mut builds = vec![("glibc", build("signal-glibc", &["-O1"]))];
    match build_with("musl-gcc", "signal-musl", &["-O1", "-static"]) {
        Some(exe) => builds.push(("musl", exe)),
        None => eprintln!("SKIPPED: unwinds_out_of_a_signal_handler with musl: no musl-gcc"),
    }
    for (libc, exe) in builds {
        let (names, _) = stack_with(&exe, &["spin", "signal"], false);
        let want = ["handler", "<signal handler called>", "interrupted", "main"];
        assert_eq!(
            names.get(..4),
            Some(&want.map(String::from)[..]),
            "{libc}: {names:?}"
        );
    }
}

/// The vdso (no file: its image is read from the process) has its functions' names and
/// call-frame information, so a thread stopped in `clock_gettime` unwinds out of it.
#[test]
#[cfg_attr(
    target_arch = "aarch64",
    ignore = "qemu-user gives its guest no vdso (tests/aarch64/checks runs it in the emulated system)"
)]
fn the_vdso_is_read_from_the_process() {
    let me = std::process::id() as i32;
    let vdso = proc::maps(me)
        .unwrap()
        .into_iter()
        .find(|m| m.path == "[vdso]");
    let vdso = vdso.expect("a vdso");
    let mem = RemoteMemory::new(me);
    let mut objects = Objects::new(me).unwrap();
    let (object, bias) = objects.at(vdso.start, &mem).expect("the vdso as an object");
    assert_eq!(&*object.name, "[vdso]");
    assert!(object.vdso);
    assert_eq!(bias, vdso.start);
    let names = object.symbols.as_ref().expect("symbols");
    let table = object.table.as_ref().expect("call-frame information");
    // Every function the vdso exports has a name and a row.
    let exported: Vec<(String, u64)> = (0..(vdso.end - vdso.start))
        .filter_map(|off| {
            names
                .name(off)
                .filter(|(_, at)| *at == 0)
                .map(|(n, _)| (n, off))
        })
        .collect();
    let gettime = exported.iter().find(|(n, _)| n.contains("clock_gettime"));
    let (_, at) = gettime.unwrap_or_else(|| panic!("no clock_gettime in {exported:?}"));
    // x86-64's vdso describes its functions; arm64's (Linux 6.12 in tests/aarch64) has a
    // table with no row for them: there a thread stopped in one is unwound by frame pointers.
    if cfg!(target_arch = "x86_64") {
        assert!(table.row(*at).is_some(), "no row for clock_gettime");
    }
}
