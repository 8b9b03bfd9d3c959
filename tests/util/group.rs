//! A test program that starts children, run in a process group of its own: the whole group is
//! killed (SIGKILL) on Drop. A process's descendants from /proc, and what failure messages
//! about a process tree need.

use super::interp::Interp;
use super::launch::children;
use super::live::{collect, lines_of, WAIT};
use super::procfs;
use super::tree::cmdline;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Every descendant of `pid` (children of any of its threads, recursively), now.
pub fn descendants(pid: u32) -> BTreeSet<u32> {
    let mut found = BTreeSet::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for child in children(p) {
            if found.insert(child) {
                todo.push(child);
            }
        }
    }
    found
}

/// `pid` and its descendants with their command lines and thread states, for failure messages.
pub fn describe_tree(pid: u32) -> String {
    let mut out = String::new();
    for p in std::iter::once(pid).chain(descendants(pid)) {
        let args = cmdline(p).map(|a| a.join(" ")).unwrap_or_default();
        let args: String = args.chars().take(160).collect();
        out += &format!("{}\n    {args}\n", procfs::describe_tasks(p));
    }
    out
}

/// Whether `py` can import `module` (the free-threaded builds `tests/pythons/provision` makes
/// have no `_struct`, so no multiprocessing); if not, says SKIPPED with the import's error.
pub fn imports(test: &str, py: &Interp, module: &str) -> bool {
    let out = Command::new(&py.path)
        .args(["-E", "-s", "-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", py.path.display()));
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "SKIPPED: {test} on python {}: this build cannot import {module} ({})",
            py.name,
            stderr.trim_end().lines().last().unwrap_or_default()
        );
    }
    out.status.success()
}

/// A program that starts other processes, in a process group of its own: stdin piped (closing
/// it is how the test programs are told to finish), stdout read line by line, stderr collected.
/// Dropping it kills (SIGKILL) the whole group and reaps the leader.
pub struct Group {
    pub child: Child,
    pub pid: u32,
    pub stdin: Option<ChildStdin>,
    pub lines: Receiver<String>,
    /// stdout lines before READY.
    pub preamble: Vec<String>,
    what: String,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Group {
    pub fn start(what: &str, cmd: &mut Command) -> Group {
        cmd.process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({cmd:?}): {e}"));
        let pid = child.id();
        let stdin = child.stdin.take();
        let lines = lines_of(child.stdout.take().expect("piped"));
        let stderr = collect(child.stderr.take().expect("piped"));
        Group {
            child,
            pid,
            stdin,
            lines,
            preamble: Vec::new(),
            what: format!("{what}: {cmd:?}"),
            stderr,
        }
    }

    /// `script` (a path) run by `py` with `-E -s -B`, then [`Group::wait_ready`].
    pub fn python(py: &Interp, script: &std::path::Path, args: &[&str]) -> Group {
        let mut cmd = Command::new(&py.path);
        cmd.args(["-E", "-s", "-B"]).arg(script).args(args);
        let mut group = Group::start(&format!("python {}", py.name), &mut cmd);
        group.wait_ready();
        group
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// The command, its process tree and its stderr, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "{}\n--- process tree ---\n{}--- stdout before READY ---\n{}\n--- stderr ---\n{}",
            self.what,
            describe_tree(self.pid),
            self.preamble.join("\n"),
            self.stderr()
        )
    }

    /// Reads stdout until a READY line (kept lines in `preamble`), up to [`WAIT`] x 2.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + 2 * WAIT;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) if line == "READY" => return,
                Ok(line) => self.preamble.push(line),
                Err(e) => panic!("no READY ({e})\n{}", self.describe()),
            }
        }
    }

    /// The next stdout line, waiting up to [`WAIT`].
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no line ({e})\n{}", self.describe()))
    }

    /// The PID in the preamble line `<word> <pid>`, e.g. `WORKER spin_a 123` with
    /// `prefix` "WORKER spin_a".
    pub fn preamble_pid(&self, prefix: &str) -> u32 {
        self.preamble
            .iter()
            .find_map(|l| l.strip_prefix(prefix)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no line \"{prefix} <pid>\"\n{}", self.describe()))
    }

    /// Closes stdin (the test programs finish) and waits up to [`WAIT`] for the leader to exit.
    pub fn finish(&mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "did not exit {WAIT:?} after its stdin closed\n{}",
                self.describe()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: kill(2) with a negative PID signals a process group; no memory is involved.
        unsafe { libc::kill(-(self.pid as libc::pid_t), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The words of `text` that are decimal numbers.
pub fn numbers_in(text: &str) -> BTreeSet<u32> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// A map from function name to PID, for failure messages.
pub fn describe_pids(pids: &BTreeMap<String, u32>) -> String {
    pids.iter()
        .map(|(f, p)| format!("{f}={p}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn numbers_in_finds_the_numbers() {
    assert_eq!(
        numbers_in("Failed to seize PID 123: x 45"),
        BTreeSet::from([123, 45])
    );
}
