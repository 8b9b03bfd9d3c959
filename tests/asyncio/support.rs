//! What tests/asyncio's tests share: tasks.py started and settled (its loop spinning in a task
//! or waiting in epoll), the comparison of a loop's section with the one the script described,
//! the stderr rule of `-d`, collapsed samples whose frames include `task <name>`.

use super::format::{draw_tree, parse_async, Section, Shown};
use crate::util::live::{collect, lines_of, wait_until, wait_until_spinning};
use crate::util::process::{ChildGuard, Output};
use crate::util::procfs;
use crate::util::target::{script_command, script_path, STARTUP_TIMEOUT};
use crate::util::Interp;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

/// What the script does once it has printed READY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settle {
    /// Its main thread runs fetch-3, which spins in busy() (named, uvloop).
    Spinning,
    /// Its main thread blocks in a system call: epoll (many, cycle) or read(0) (noloop, bare,
    /// and every mode that says SKIPPED).
    Blocked,
}

/// tasks.py running. Dropping it kills (SIGKILL) and reaps it.
pub(super) struct AsyncTarget {
    _child: ChildGuard,
    pub(super) pid: u32,
    /// stdout before READY: what pyflame must show after the thread dump.
    pub(super) preamble: Vec<String>,
    /// The script's `SKIPPED <why>` line, without `SKIPPED `.
    pub(super) skipped: Option<String>,
    pub(super) python: Interp,
    script: PathBuf,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl AsyncTarget {
    pub(super) fn describe(&self) -> String {
        format!(
            "python {} running {}\n--- preamble ---\n{}\n{}\n--- target stderr ---\n{}",
            self.python.name,
            self.script.display(),
            self.preamble.join("\n"),
            procfs::describe_tasks(self.pid),
            String::from_utf8_lossy(&self.stderr.lock().unwrap())
        )
    }

    /// What the preamble says pyflame must show.
    pub(super) fn expected(&self) -> Shown {
        let lines: Vec<&str> = self.preamble.iter().map(String::as_str).collect();
        parse_async(&lines, false)
            .unwrap_or_else(|e| panic!("bad preamble: {e}\n{}", self.describe()))
    }

    /// Prints SKIPPED and returns true when the script said it cannot run its mode here.
    pub(super) fn skips(&self, test: &str) -> bool {
        if let Some(why) = &self.skipped {
            eprintln!("SKIPPED: {test} on python {}: {why}", self.python.name);
        }
        self.skipped.is_some()
    }
}

/// Starts `tasks.py args...` under `py`, reads its preamble up to READY and waits until it is
/// as `settle` says (or, when it says SKIPPED, blocked in its read of stdin).
pub(super) fn spawn_tasks(py: &Interp, args: &[&str], settle: Settle) -> AsyncTarget {
    let script = script_path("tasks.py");
    let mut cmd = script_command(py, &script, args, Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd);
    let pid = child.pid();
    let lines = lines_of(child.child().stdout.take().expect("piped"));
    let stderr = collect(child.child().stderr.take().expect("piped"));
    let mut target = AsyncTarget {
        _child: child,
        pid,
        preamble: Vec::new(),
        skipped: None,
        python: py.clone(),
        script,
        stderr,
    };
    let deadline = std::time::Instant::now() + STARTUP_TIMEOUT;
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now())) {
            Ok(line) if line == "READY" => break,
            Ok(line) => target.preamble.push(line),
            Err(e) => panic!("tasks.py {args:?}: no READY ({e})\n{}", target.describe()),
        }
    }
    target.skipped = target
        .preamble
        .iter()
        .find_map(|l| l.strip_prefix("SKIPPED "))
        .map(String::from);
    match settle {
        Settle::Spinning if target.skipped.is_none() => {
            wait_until_spinning(pid, || target.describe())
        }
        _ => wait_until(
            STARTUP_TIMEOUT,
            || blocked_in_syscall(pid),
            || {
                format!(
                    "main thread not blocked in a system call\n{}",
                    target.describe()
                )
            },
        ),
    }
    target
}

/// The main thread sleeps in a system call (epoll_wait, read, ...).
pub(super) fn blocked_in_syscall(pid: u32) -> bool {
    let state = procfs::task_stat(pid, pid).map(|s| s.state);
    let call = procfs::task_syscall(pid, pid).unwrap_or_default();
    let number = call.split_whitespace().next().unwrap_or("");
    state == Some('S') && number.parse::<u64>().is_ok()
}

/// Compares a section pyflame printed with the one the script described: the header, every
/// task (state, frames, what it awaits and who awaits it, the last two as sets), and the
/// tree drawn from the script's tasks; no `asyncio: ` line (nothing was left out).
pub(super) fn check_section(got: &Section, want: &Section, what: &str) {
    assert_eq!(got.header, want.header, "{what}: the section's header");
    let names = |s: &Section| s.tasks.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "{what}: the tasks shown");
    for (name, w) in &want.tasks {
        let g = &got.tasks[name];
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v
        };
        assert_eq!(g.state, w.state, "{what}: task {name}'s state");
        assert_eq!(g.frames, w.frames, "{what}: task {name}'s frames");
        assert_eq!(
            sorted(&g.awaits),
            sorted(&w.awaits),
            "{what}: {name} awaits"
        );
        assert_eq!(
            sorted(&g.awaited_by),
            sorted(&w.awaited_by),
            "{what}: {name} is awaited by"
        );
    }
    let tree = draw_tree(&want.tasks);
    assert_eq!(
        got.tree.as_deref().unwrap_or_default().join("\n"),
        tree.join("\n"),
        "{what}: the tree"
    );
    assert!(got.notes.is_empty(), "{what}: notes {:?}", got.notes);
}

/// The stderr rules of plain `-d`: nothing, or one line `pyflame: PID <pid>: ...`.
pub(super) fn check_stderr(out: &Output, pid: u32, what: &str) {
    let prefix = format!("pyflame: PID {pid}: ");
    let ok = out.stderr.is_empty()
        || (out.stderr.starts_with(&prefix)
            && out.stderr.ends_with('\n')
            && out.stderr.matches('\n').count() == 1);
    assert!(
        ok,
        "{what}: stderr is not empty nor one line {prefix:?}\n{}",
        out.describe()
    );
}

/// Stacks root first, with their counts.
pub(super) type Stacks = Vec<(Vec<String>, u64)>;

/// Collapsed output: (idle + failed, the stacks root first with their counts).
pub(super) fn parse_samples(text: &str) -> Result<(u64, Stacks), String> {
    let mut other = 0;
    let mut stacks = Vec::new();
    let mut previous: Option<&str> = None;
    for line in text.lines() {
        let (stack, count) = line.rsplit_once(' ').ok_or(format!("line {line:?}"))?;
        let count: u64 = count.parse().map_err(|_| format!("count in {line:?}"))?;
        if stack == "(idle)" || stack == "(failed)" {
            other += count;
            continue;
        }
        if previous.is_some_and(|p| p >= line) {
            return Err(format!("not sorted and unique: {previous:?} then {line:?}"));
        }
        previous = Some(line);
        stacks.push((stack.split(';').map(String::from).collect(), count));
    }
    Ok((other, stacks))
}
