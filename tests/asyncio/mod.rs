//! `--async` (issue 17) end to end, on every interpreter from 3.8 on: tests/scripts/tasks.py
//! builds task graphs of known shapes and prints the section `pyflame -d --async` must show
//! for its event loop; the tests compare every task (state, coroutine frames, what it awaits,
//! who awaits it) and the tree, which they draw themselves from the script's tasks with
//! children and roots sorted by name. Samples of the spinning task must be rooted at its
//! chain of awaiting tasks.
//!
//! Older interpreters (whose tasks have no names) must answer exactly `asyncio: not supported
//! on Python X.Y` (`older_are_not_supported`); from 3.8 that line is a failure. Builds without
//! asyncio (source builds without `_socket`) and machines without uvloop
//! (tests/servers/uvloop) say SKIPPED.

mod format;
mod support;

use crate::util::live::wait_until;
use crate::util::process::{run_pyflame, PYFLAME_TIMEOUT};
use crate::util::watch::watch_pyflame;
use crate::util::{assert_target_running, per_interpreter, pyflame, spawn_script, Interp, Output};
use format::*;
use std::path::Path;
use std::time::Duration;
use support::*;

/// A whole dump of 1,000 tasks (the 1 s goal is `make bench`'s; this machine is small and
/// loaded).
const MAX_DUMP_WALL: Duration = Duration::from_secs(30);
/// The longest a target thread may be seen stopped during a dump (as tests/hostile.rs).
const MAX_STOP: Duration = Duration::from_secs(1);
/// pyflame's peak RSS (as tests/hostile.rs).
const MAX_RSS_KIB: u64 = 64 * 1024;

/// The first version whose tasks have names (`Task.get_name()`), which tasks.py needs and
/// pyflame reads tasks of.
const SINCE: (u32, u32) = (3, 8);

/// False (and SKIPPED) before 3.8 (see `older_are_not_supported`).
fn modern(test: &str, py: &Interp) -> bool {
    let ok = (py.major, py.minor) >= SINCE;
    if !ok {
        eprintln!("SKIPPED: {test} on python {}: before 3.8", py.name);
    }
    ok
}

/// `pyflame -d --async -p PID` (plus `extra`), which must exit 0 with the stderr of `-d`.
fn dump(t: &AsyncTarget, extra: &[&str]) -> (Dumped, Output) {
    let pid = t.pid.to_string();
    let mut args = vec!["-d", "--async", "-p", &pid];
    args.extend_from_slice(extra);
    let out = pyflame(&args);
    (parsed(t, &out, &args.join(" ")), out)
}

fn parsed(t: &AsyncTarget, out: &Output, what: &str) -> Dumped {
    assert!(
        out.status.success(),
        "{what}\n{}\n{}",
        out.describe(),
        t.describe()
    );
    check_stderr(out, t.pid, what);
    parse_output(&out.stdout)
        .unwrap_or_else(|e| panic!("{what}: {e}\n{}\n{}", out.describe(), t.describe()))
}

/// A build that says its tasks are not supported fails: every one from 3.8 is.
fn assert_supported(test: &str, t: &AsyncTarget, shown: &Shown) {
    if let Shown::NotSupported(version) = shown {
        panic!(
            "{test}: pyflame says asyncio is not supported on Python {version}\n{}",
            t.describe()
        );
    }
}

/// The one section the script described and the one pyflame printed, compared.
fn check_loop(t: &AsyncTarget, shown: &Shown, out: &Output, what: &str) -> Section {
    let (Shown::Loops(want), Shown::Loops(got)) = (t.expected(), shown) else {
        panic!(
            "{what}: expected a loop's section\n{}\n{}",
            out.describe(),
            t.describe()
        );
    };
    assert_eq!(got.len(), 1, "{what}: sections\n{}", out.describe());
    let context = format!("{what}\n{}\n{}", out.describe(), t.describe());
    check_section(&got[0], &want[0], &context);
    want[0].clone()
}

per_interpreter!(dump_named_tasks);

/// The named graph: every task's state, frames, awaits and awaiters, and the tree; the thread
/// dump before it is the plain `-d`'s, the main thread spinning in busy() under fetch().
fn dump_named_tasks(py: &Interp) {
    const TEST: &str = "dump_named_tasks";
    if !modern(TEST, py) {
        return;
    }
    let t = spawn_tasks(py, &["named"], Settle::Spinning);
    if t.skips(TEST) {
        return;
    }
    let (d, out) = dump(&t, &[]);
    assert_supported(TEST, &t, &d.shown);
    let want = check_loop(&t, &d.shown, &out, "-d --async named");
    let running = &want.tasks["fetch-3"].frames;
    let main = d.threads.iter().find(|th| th.tid() == Some(t.pid));
    let main = main.unwrap_or_else(|| panic!("no main thread\n{}", out.describe()));
    let leaf: Vec<String> = main.frames.iter().take(2).map(|f| f.to_string()).collect();
    assert_eq!(
        &leaf,
        running,
        "the main thread's stack\n{}",
        out.describe()
    );
    assert!(main.frames.len() > 2, "no loop frames\n{}", out.describe());
    assert_target_running(t.pid);
}

per_interpreter!(sample_busy_task);

/// Samples of the spinning task (the GIL holder, every thread, and with --native) are rooted
/// at its chain of awaiting tasks, Task-1 down to fetch-3, then its coroutine's frames: fetch,
/// busy (with --native, then only native frames).
fn sample_busy_task(py: &Interp) {
    const TEST: &str = "sample_busy_task";
    if !modern(TEST, py) {
        return;
    }
    let t = spawn_tasks(py, &["named"], Settle::Spinning);
    if t.skips(TEST) {
        return;
    }
    let (d, _) = dump(&t, &[]);
    assert_supported(TEST, &t, &d.shown);
    let Shown::Loops(want) = t.expected() else {
        panic!("{TEST}: no loop in the preamble\n{}", t.describe());
    };
    let tasks = &want[0].tasks;
    let mut expected = vec!["fetch-3".to_string()];
    loop {
        let by = &tasks[expected.last().unwrap()].awaited_by;
        match by.as_slice() {
            [] => break,
            [one] => expected.push(one["task ".len()..].to_string()),
            _ => panic!("{TEST}: a chain with several awaiters: {by:?}"),
        }
    }
    let mut stack: Vec<String> = expected.iter().rev().map(|n| format!("task {n}")).collect();
    stack.extend(tasks["fetch-3"].frames.iter().rev().cloned());
    assert_eq!(stack[..3], ["task Task-1", "task main", "task fetch-3"]);
    let pid = t.pid.to_string();
    // With --native, the samples go on past busy() into the interpreter's native frames
    // (`object:function:0`, no Python frame); the event loop's, outer of the task, are gone.
    let native_tail = |s: &[String]| {
        s.iter()
            .all(|f| f.ends_with(":0") && !f.split(':').next().unwrap_or("").ends_with(".py"))
    };
    for extra in [&[][..], &["--threads"][..], &["--native"][..]] {
        let mut args = vec!["--async", "-s", "3", "-r", "0.005", "-p", &pid];
        args.extend_from_slice(extra);
        let out = pyflame(&args);
        let what = args.join(" ");
        assert!(
            out.status.success(),
            "{what}\n{}\n{}",
            out.describe(),
            t.describe()
        );
        let (other, stacks) = parse_samples(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: {e}\n{}", out.describe()));
        let total = other + stacks.iter().map(|(_, n)| n).sum::<u64>();
        let native = extra == ["--native"];
        let good: u64 = stacks
            .iter()
            .filter(|(s, _)| match native {
                false => *s == stack,
                true => s.starts_with(&stack) && native_tail(&s[stack.len()..]),
            })
            .map(|(_, n)| n)
            .sum();
        assert!(
            total >= 100 && good * 10 >= total * 9,
            "{what}: {good} of {total} samples are {}\n{}\n{}",
            stack.join(";"),
            out.describe(),
            t.describe()
        );
    }
    assert_target_running(t.pid);
}

per_interpreter!(thousand_tasks);

/// 1,000 sleeping tasks under one gather: all shown, exactly, none left out, within the
/// bounds of wall time, stopped time and memory; the target goes on waiting.
fn thousand_tasks(py: &Interp) {
    const TEST: &str = "thousand_tasks";
    if !modern(TEST, py) {
        return;
    }
    let t = spawn_tasks(py, &["many", "1000"], Settle::Blocked);
    if t.skips(TEST) {
        return;
    }
    let pid = t.pid.to_string();
    let args = ["-d", "--async", "-p", &pid];
    let run = watch_pyflame(&args, t.pid, PYFLAME_TIMEOUT);
    let what = format!("-d --async many 1000 on python {}", py.name);
    eprintln!(
        "{what}: {:?}, peak RSS {} KiB, longest stop {:?}",
        run.wall, run.peak_rss_kib, run.longest_stop
    );
    let d = parsed(&t, &run.output, &what);
    assert_supported(TEST, &t, &d.shown);
    assert!(run.wall < MAX_DUMP_WALL, "{what}\n{}", run.describe());
    assert!(run.longest_stop < MAX_STOP, "{what}\n{}", run.describe());
    assert!(run.peak_rss_kib < MAX_RSS_KIB, "{what}\n{}", run.describe());
    let want = check_loop(&t, &d.shown, &run.output, &what);
    let Shown::Loops(got) = &d.shown else {
        unreachable!()
    };
    let sleepers = got[0].tasks.keys().filter(|n| n.starts_with("sleeper-"));
    assert_eq!(sleepers.count(), 1000, "{what}");
    assert_eq!(want.tasks.len(), 1001, "{what}: the preamble");
    assert!(!run.output.stdout.contains("\nasyncio: "), "{what}: cut");
    assert_target_running(t.pid);
    wait_until(
        Duration::from_secs(10),
        || blocked_in_syscall(t.pid),
        || format!("{what}: the loop is not back in epoll\n{}", t.describe()),
    );
}

per_interpreter!(cycle_terminates);

/// A cycle in the graph (cycle-a awaits cycle-b, which awaits cycle-a): pyflame ends, marks it
/// `(cycle)` and shows the graph exactly.
fn cycle_terminates(py: &Interp) {
    const TEST: &str = "cycle_terminates";
    if !modern(TEST, py) {
        return;
    }
    let t = spawn_tasks(py, &["cycle"], Settle::Blocked);
    if t.skips(TEST) {
        return;
    }
    let pid = t.pid.to_string();
    let out = run_pyflame(&["-d", "--async", "-p", &pid], Duration::from_secs(30));
    let d = parsed(&t, &out, "-d --async cycle");
    assert_supported(TEST, &t, &d.shown);
    check_loop(&t, &d.shown, &out, "-d --async cycle");
    assert!(
        out.stdout.contains(" (cycle)\n"),
        "no (cycle)\n{}",
        out.describe()
    );
    assert_target_running(t.pid);
}

per_interpreter!(no_event_loop);

/// A process that never imported asyncio, and one that imported it but runs no loop: the one
/// line `asyncio: no event loop` after the thread dump.
fn no_event_loop(py: &Interp) {
    const TEST: &str = "no_event_loop";
    if !modern(TEST, py) {
        return;
    }
    for mode in ["bare", "noloop"] {
        let t = spawn_tasks(py, &[mode], Settle::Blocked);
        if t.skips(TEST) {
            continue;
        }
        let (d, out) = dump(&t, &[]);
        assert_supported(TEST, &t, &d.shown);
        assert_eq!(
            d.shown,
            Shown::NoLoop,
            "{mode}\n{}\n{}",
            out.describe(),
            t.describe()
        );
        assert_eq!(t.expected(), Shown::NoLoop, "{mode}: the preamble");
        assert_eq!(d.threads.len(), 1, "{mode}\n{}", out.describe());
    }
}

per_interpreter!(without_async_unchanged);

/// Without `--async`, `-d` shows no asyncio line; with it, the thread dump before the
/// asyncio part is the same (the target spins at one line, so its stack does not change).
fn without_async_unchanged(py: &Interp) {
    const TEST: &str = "without_async_unchanged";
    if !modern(TEST, py) {
        return;
    }
    let t = spawn_tasks(py, &["named"], Settle::Spinning);
    if t.skips(TEST) {
        return;
    }
    let pid = t.pid.to_string();
    let plain = pyflame(&["-d", "-p", &pid]);
    assert!(plain.status.success(), "{}", plain.describe());
    check_stderr(&plain, t.pid, "-d");
    assert!(
        !plain.stdout.lines().any(|l| l.starts_with("asyncio")),
        "-d without --async\n{}",
        plain.describe()
    );
    crate::util::dump_format::parse_dump(&plain.stdout)
        .unwrap_or_else(|e| panic!("-d: {e}\n{}", plain.describe()));
    let (d, out) = dump(&t, &[]);
    assert_supported(TEST, &t, &d.shown);
    assert_eq!(
        d.threads_text,
        plain.stdout,
        "the thread dump with --async\n{}",
        out.describe()
    );
}

per_interpreter!(uvloop);

/// The named graph under uvloop's loop (tests/servers/uvloop puts it in target/venvs): shown
/// exactly as under asyncio's, or the one line saying the loop is not supported.
fn uvloop(py: &Interp) {
    const TEST: &str = "uvloop";
    if !modern(TEST, py) {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/venvs/uvloop")
        .join(format!("{}.{}", py.major, py.minor));
    let t = spawn_tasks(py, &["uvloop", dir.to_str().unwrap()], Settle::Spinning);
    if t.skips(TEST) {
        return;
    }
    let pid = t.pid.to_string();
    let out = pyflame(&["-d", "--async", "-p", &pid]);
    let what = "-d --async uvloop";
    if let Ok((_, lines)) = split_output(&out.stdout) {
        let not_python = !lines[0].starts_with("asyncio: not supported on Python ");
        if let [line] = lines[..] {
            if line.starts_with("asyncio: ") && line.contains("not supported") && not_python {
                assert!(out.status.success(), "{what}\n{}", out.describe());
                check_stderr(&out, t.pid, what);
                eprintln!("{TEST} on python {}: {line}", py.name);
                return;
            }
        }
    }
    let d = parsed(&t, &out, what);
    assert_supported(TEST, &t, &d.shown);
    check_loop(&t, &d.shown, &out, what);
    assert_target_running(t.pid);
}

per_interpreter!(older_are_not_supported);

/// Before 3.8, `-d --async` prints the thread dump, then exactly `asyncio: not supported on
/// Python X.Y`, and exits 0; the target runs on.
fn older_are_not_supported(py: &Interp) {
    if (py.major, py.minor) >= SINCE {
        eprintln!(
            "SKIPPED: older_are_not_supported on python {}: supported",
            py.name
        );
        return;
    }
    let t = spawn_script(py, "idle.py", &[]);
    let pid = t.pid.to_string();
    let out = pyflame(&["-d", "--async", "-p", &pid]);
    assert!(out.status.success(), "{}", out.describe());
    let want = format!("asyncio: not supported on Python {}.{}", py.major, py.minor);
    let last = out.stdout.lines().last().unwrap_or("");
    assert_eq!(last, want, "{}", out.describe());
    let before = out.stdout.lines().rev().nth(1).unwrap_or("x");
    assert_eq!(before, "", "a blank line before it\n{}", out.describe());
    assert_target_running(t.pid);
}
