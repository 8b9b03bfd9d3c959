//! Process trees (`--subprocesses`, several `-p`): the tree-mode outputs parsed strictly, the
//! root frame a process must get (`process <PID> <cmdline>`), a process's descendants from
//! /proc, and a guard for a test program that starts children: it runs in a process group of
//! its own, and the whole group is killed (SIGKILL) on Drop.
//!
//! Collapsed, in a tree (every line has a process root; no bare `(idle) N`):
//! ```text
//! process <PID> <cmdline>;(idle) N
//! process <PID> <cmdline>;(failed) N
//! process <PID> <cmdline>;file:function:line;... N
//! ```
//! `-d`, in a tree: per process a line `process <PID> <cmdline>`, then its threads as a single
//! dump prints them (util::dump_format); processes separated by one blank line, in PID order.

use super::collapsed::{check_frame, frame_function};
use super::dump_format::{parse_dump, DumpThread};
use super::interp::Interp;
use super::launch::children;
use super::live::{collect, lines_of, WAIT};
use super::procfs;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How many characters of a command line a root frame keeps (then `…`).
pub const CMDLINE_CHARS: usize = 80;

/// What follows a process root on one line of a tree-mode collapsed profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    Idle,
    Failed,
    /// Root-first, without the process root.
    Frames(Vec<String>),
}

/// One line of a tree-mode collapsed profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLine {
    /// The whole root frame, `process <PID> <cmdline>`.
    pub root: String,
    pub pid: u32,
    pub tail: Tail,
    pub count: u64,
}

/// A parsed tree-mode collapsed profile, lines in output order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeProfile {
    pub lines: Vec<TreeLine>,
}

impl TreeProfile {
    /// Every PID that has a root.
    pub fn pids(&self) -> BTreeSet<u32> {
        self.lines.iter().map(|l| l.pid).collect()
    }

    /// The PIDs under whose root some stack has a frame of function `func`.
    pub fn pids_with_function(&self, func: &str) -> BTreeSet<u32> {
        self.lines
            .iter()
            .filter(|l| match &l.tail {
                Tail::Frames(frames) => frames.iter().any(|f| frame_function(f) == Some(func)),
                _ => false,
            })
            .map(|l| l.pid)
            .collect()
    }

    /// The PIDs with a stack whose innermost frame is exactly `leaf`.
    pub fn pids_with_leaf(&self, leaf: &str) -> BTreeSet<u32> {
        self.lines
            .iter()
            .filter(|l| matches!(&l.tail, Tail::Frames(f) if f.last().map(String::as_str) == Some(leaf)))
            .map(|l| l.pid)
            .collect()
    }

    /// The distinct root frames of `pid` (one, unless it exec'd).
    pub fn roots_of(&self, pid: u32) -> BTreeSet<&str> {
        self.lines
            .iter()
            .filter(|l| l.pid == pid)
            .map(|l| l.root.as_str())
            .collect()
    }

    /// The `(idle)` count under `pid`'s root (0 if none).
    pub fn idle_of(&self, pid: u32) -> u64 {
        self.lines
            .iter()
            .filter(|l| l.pid == pid && l.tail == Tail::Idle)
            .map(|l| l.count)
            .sum()
    }

    /// The samples with frames under `pid`'s root.
    pub fn busy_of(&self, pid: u32) -> u64 {
        self.lines
            .iter()
            .filter(|l| l.pid == pid && matches!(l.tail, Tail::Frames(_)))
            .map(|l| l.count)
            .sum()
    }
}

/// Decimal digits only, no leading zero, not zero.
fn positive(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0'))
        .then(|| text.parse().ok())
        .flatten()
}

/// The PID of a root frame `process <PID> <cmdline>` (the command line non-empty, without a
/// raw control character or `;`).
pub fn parse_root(frame: &str) -> Result<u32, String> {
    let rest = frame
        .strip_prefix("process ")
        .ok_or_else(|| format!("root {frame:?} does not start with \"process \""))?;
    let (pid, cmdline) = rest
        .split_once(' ')
        .ok_or_else(|| format!("root {frame:?} is not \"process <PID> <cmdline>\""))?;
    let pid = positive(pid)
        .and_then(|p| u32::try_from(p).ok())
        .ok_or_else(|| format!("root {frame:?}: bad PID {pid:?}"))?;
    if cmdline.is_empty() || cmdline.chars().any(|c| c.is_control() || c == ';') {
        return Err(format!("root {frame:?}: empty or unescaped command line"));
    }
    Ok(pid)
}

/// Parses tree-mode collapsed output: every line `<root>;<tail> <count>`, unique, ending '\n'.
pub fn parse_tree_collapsed(text: &str, line_numbers: bool) -> Result<TreeProfile, String> {
    let mut out = TreeProfile::default();
    if text.is_empty() {
        return Ok(out);
    }
    let body = text
        .strip_suffix('\n')
        .ok_or("the output does not end with a newline")?;
    let mut seen = BTreeSet::new();
    for line in body.split('\n') {
        let (stack, n) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("line {line:?} is not \"<stack> <count>\""))?;
        let count = positive(n).ok_or_else(|| format!("line {line:?}: bad count {n:?}"))?;
        let (root, tail) = stack
            .split_once(';')
            .ok_or_else(|| format!("line {line:?} has no frame under its root"))?;
        let pid = parse_root(root).map_err(|e| format!("line {line:?}: {e}"))?;
        let tail = match tail {
            "(idle)" => Tail::Idle,
            "(failed)" => Tail::Failed,
            _ => {
                let frames: Vec<String> = tail.split(';').map(String::from).collect();
                for frame in &frames {
                    check_frame(frame, line_numbers).map_err(|e| format!("line {line:?}: {e}"))?;
                }
                Tail::Frames(frames)
            }
        };
        if !seen.insert(stack) {
            return Err(format!("stack {stack:?} appears twice"));
        }
        out.lines.push(TreeLine {
            root: root.to_string(),
            pid,
            tail,
            count,
        });
    }
    Ok(out)
}

/// One process of a tree-mode dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpSection {
    pub pid: u32,
    /// The header line, `process <PID> <cmdline>`.
    pub header: String,
    pub threads: Vec<DumpThread>,
}

impl DumpSection {
    /// Whether some thread has a frame of function `func` among its innermost `depth` frames.
    pub fn has_function_within(&self, func: &str, depth: usize) -> bool {
        self.threads
            .iter()
            .any(|t| t.frames.iter().take(depth).any(|f| f.func == func))
    }
}

/// Parses a tree-mode dump: sections in increasing PID order, one blank line between them.
pub fn parse_tree_dump(text: &str) -> Result<Vec<DumpSection>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_suffix('\n')
        .ok_or("the dump does not end with a newline")?;
    // Blocks are separated by one blank line; a block starting with "process " opens a section
    // (a thread's block starts with its numeric id).
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    for block in body.split("\n\n") {
        if block.is_empty() || block.starts_with('\n') || block.ends_with('\n') {
            return Err(format!("two blank lines in a row near {block:?}"));
        }
        if block.starts_with("process ") {
            let (header, threads) = match block.split_once('\n') {
                Some((header, threads)) => (header, vec![threads]),
                None => (block, Vec::new()),
            };
            sections.push((header.to_string(), threads));
        } else {
            let Some((_, threads)) = sections.last_mut() else {
                return Err(format!(
                    "the dump does not start with a process line: {block:?}"
                ));
            };
            threads.push(block);
        }
    }
    let mut out: Vec<DumpSection> = Vec::new();
    for (header, blocks) in sections {
        let pid = parse_root(&header)?;
        if let Some(last) = out.last() {
            if last.pid >= pid {
                return Err(format!(
                    "process {pid} after process {}: not in PID order",
                    last.pid
                ));
            }
        }
        let threads = if blocks.is_empty() {
            Vec::new()
        } else {
            parse_dump(&format!("{}\n", blocks.join("\n\n")))
                .map_err(|e| format!("{header:?}: {e}"))?
        };
        out.push(DumpSection {
            pid,
            header,
            threads,
        });
    }
    Ok(out)
}

/// The root frame for a process with these arguments: joined by spaces, cut to
/// [`CMDLINE_CHARS`] characters plus `…` if longer, escaped as a name.
pub fn root_text(pid: u32, args: &[String]) -> String {
    let joined = args.join(" ");
    let mut cmdline: String = joined.chars().take(CMDLINE_CHARS).collect();
    if joined.chars().count() > CMDLINE_CHARS {
        cmdline.push('…');
    }
    let mut escaped = String::new();
    for c in cmdline.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            ';' => escaped.push_str("\\x3b"),
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                escaped.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => escaped.push(c),
        }
    }
    format!("process {pid} {escaped}")
}

/// The arguments of a live process (/proc/PID/cmdline); None once it has gone (or is a zombie,
/// whose command line is empty).
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if raw.is_empty() {
        return None;
    }
    let raw = raw.strip_suffix(b"\0").unwrap_or(&raw);
    Some(
        raw.split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// The root frame a live process must get; None once it has gone.
pub fn expected_root(pid: u32) -> Option<String> {
    cmdline(pid).map(|args| root_text(pid, &args))
}

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
fn parse_tree_collapsed_accepts_the_contract_and_nothing_else() {
    let text = "process 7 python3 a.py;(failed) 1\n\
                process 7 python3 a.py;t.py:<module>:9;t.py:spin:3 4\n\
                process 9 x\\x3by\\n;(idle) 2\n\
                process 9 x\\x3by\\n;t.py:<module>:9;t.py:spin:3 1\n";
    let p = parse_tree_collapsed(text, true).unwrap();
    assert_eq!(p.pids(), BTreeSet::from([7, 9]));
    assert_eq!(p.pids_with_function("spin"), BTreeSet::from([7, 9]));
    assert_eq!(p.pids_with_leaf("t.py:spin:3"), BTreeSet::from([7, 9]));
    assert_eq!((p.idle_of(9), p.idle_of(7), p.busy_of(7)), (2, 0, 4));
    assert_eq!(p.roots_of(9), BTreeSet::from(["process 9 x\\x3by\\n"]));
    assert_eq!(
        parse_tree_collapsed("", true).unwrap(),
        TreeProfile::default()
    );
    for bad in [
        "(idle) 3\n",                                   // bare idle
        "t.py:spin:3 1\n",                              // no root
        "process 7 a;t.py:spin:3 1",                    // no final newline
        "process 7 a;t.py:spin:3 0\n",                  // zero count
        "process 7 a;t.py:spin:3 01\n",                 // leading zero
        "process 7 a 1\n",                              // root alone
        "process 07 a;(idle) 1\n",                      // bad PID
        "process 7;(idle) 1\n",                         // no command line
        "process 7 a\tb;(idle) 1\n",                    // unescaped control
        "process 7 a;(idle) 1\nprocess 7 a;(idle) 2\n", // twice
        "process 7 a;t.py:spin 1\n",                    // no line number
        "process 7 a;process 8 b;t.py:spin:3 1\n",      // a root under a root
        "process 7 a;(idle);t.py:spin:3 1\n",           // idle with frames
        "process 7 a;t.py:spin:3 1\n\n",                // blank line
    ] {
        assert!(parse_tree_collapsed(bad, true).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn parse_tree_dump_accepts_the_contract_and_nothing_else() {
    let text = "process 7 python3 a.py\n140*: tid=7\n/a.py:f:1\n/a.py:<module>:2\n\n\
                141: tid=8\n/a.py:g:3\n\nprocess 12 python3 b.py\n150: tid=12\n/b.py:h:4\n";
    let d = parse_tree_dump(text).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!((d[0].pid, d[0].threads.len(), d[1].pid), (7, 2, 12));
    assert_eq!(d[0].header, "process 7 python3 a.py");
    assert!(d[0].has_function_within("f", 1) && !d[0].has_function_within("<module>", 1));
    assert_eq!(d[1].threads[0].leaf(), "h");
    assert_eq!(parse_tree_dump("process 7 a\n").unwrap()[0].threads, vec![]);
    for bad in [
        "140: tid=7\n/a.py:f:1\n", // no process line
        "process 12 a\n150:\n/b.py:h:4\n\nprocess 7 b\n140:\n/a.py:f:1\n", // not in PID order
        "process 7 a\n140:\n/a.py:f:1\n\n\nprocess 8 b\n141:\n/a.py:f:1\n", // two blank lines
        "process 7 a\n140:\n/a.py:f:1\n\n", // blank line at the end
        "process 7 a\n140:\n/a.py:f:1", // no final newline
        "process 7 a\n140:\n/a.py:f\n", // bad frame
    ] {
        assert!(parse_tree_dump(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn root_text_cuts_and_escapes() {
    let args = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    assert_eq!(
        root_text(5, &args(&["python3", "a.py"])),
        "process 5 python3 a.py"
    );
    let long = "x".repeat(100);
    assert_eq!(
        root_text(5, &args(&[&long])),
        format!("process 5 {}…", "x".repeat(80))
    );
    assert_eq!(
        root_text(5, &args(&["a;b", "c\nd"])),
        "process 5 a\\x3bb c\\nd"
    );
    assert_eq!(
        numbers_in("Failed to seize PID 123: x 45"),
        BTreeSet::from([123, 45])
    );
}
