//! Targets started through something other than `python script`: a wrapper (unshare, the
//! dynamic loader, an embedding C program, uWSGI), found as the deepest descendant whose
//! command line names the script; plus what idle.py and spinner.py dumps and profiles must be.

use super::collapsed::marked_stack;
use super::dump_format::{parse_dump, Frame};
use super::live::{collect, lines_of, wait_until, wait_until_spinning};
use super::marks::{line_of, marks};
use super::process::ChildGuard;
use super::procfs;
use super::target::STARTUP_TIMEOUT;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the script does once it has printed READY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// Its main thread blocks in read(2) on stdin (idle.py, spinner.py two).
    StdinRead,
    /// Its main thread spins (spinner.py chain).
    Spinning,
}

/// A running script. Dropping it kills (SIGKILL) the process that was started, which must
/// take the script down with it (unshare --kill-child does).
pub struct Launched {
    pub guard: ChildGuard,
    /// The process running the script, as pyflame's namespace numbers it.
    pub pid: u32,
    /// `take()` it to close the script's stdin.
    pub stdin: Option<ChildStdin>,
    pub script: PathBuf,
    pub marks: HashMap<String, u32>,
    /// stdout lines after READY.
    pub lines: Receiver<String>,
    what: String,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Launched {
    pub fn describe(&self) -> String {
        format!(
            "{}\n{}\n--- stderr ---\n{}",
            self.what,
            procfs::describe_tasks(self.pid),
            String::from_utf8_lossy(&self.stderr.lock().unwrap())
        )
    }
}

/// Runs `cmd` (whose arguments name `script`), waits for READY, finds the process running the
/// script and waits until it is in the state `ready` describes.
pub fn launch(what: &str, cmd: &mut Command, script: &Path, ready: Ready) -> Launched {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = ChildGuard::spawn(cmd);
    let root = guard.pid();
    let stdin = guard.child().stdin.take();
    let stdout = guard.child().stdout.take().expect("piped");
    let stderr = collect(guard.child().stderr.take().expect("piped"));
    let lines = lines_of(stdout);
    let mut launched = Launched {
        guard,
        pid: root,
        stdin,
        script: script.to_path_buf(),
        marks: marks(script),
        lines,
        what: format!("{what}: {cmd:?}"),
        stderr,
    };
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        match launched
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(line) if line == "READY" => break,
            Ok(_) => continue,
            Err(e) => panic!("no READY ({e})\n{}", launched.describe()),
        }
    }
    let name = script.to_string_lossy().into_owned();
    launched.pid = runs_script(root, &name)
        .unwrap_or_else(|| panic!("no process runs {name}\n{}", launched.describe()));
    let pid = launched.pid;
    match ready {
        Ready::StdinRead => wait_until(
            STARTUP_TIMEOUT,
            || procfs::blocked_in_stdin_read(pid, pid),
            || format!("main thread not in read(0)\n{}", launched.describe()),
        ),
        Ready::Spinning => wait_until_spinning(pid, || launched.describe()),
    }
    launched
}

/// The deepest process under `root` (itself included) whose command line contains `needle`.
pub fn runs_script(root: u32, needle: &str) -> Option<u32> {
    let cmdline = |pid: u32| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
            .unwrap_or_default()
    };
    let mut found = cmdline(root).contains(needle).then_some(root);
    for child in children(root) {
        if let Some(deeper) = runs_script(child, needle) {
            found = Some(deeper);
        }
    }
    found
}

/// The children of every thread of `pid` (/proc/PID/task/TID/children).
pub fn children(pid: u32) -> Vec<u32> {
    procfs::task_ids(pid)
        .into_iter()
        .flat_map(|tid| {
            std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The thread's id in each PID namespace it belongs to, outermost (ours) first.
pub fn nspid(pid: u32, tid: u32) -> Vec<u32> {
    let text =
        std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|v| {
            v.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// idle.py's only stack: `<module>` at its read of stdin.
pub fn idle_frames(t: &Launched, py2: bool) -> Vec<Frame> {
    let mark = if py2 { "wait_read" } else { "wait_read_3" };
    let file = t.script.to_string_lossy();
    vec![Frame::new(&file, "<module>", line_of(&t.marks, mark))]
}

/// Checks a dump of idle.py: one thread, not holding the GIL (it waits in read), whose stack is
/// exactly `<module>` at the read, with `tid=` the main thread. Returns the header's extra text.
pub fn check_idle_dump(t: &Launched, py2: bool, text: &str, tid: u32) -> String {
    let threads =
        parse_dump(text).unwrap_or_else(|e| panic!("bad dump: {e}\n{text}\n{}", t.describe()));
    assert!(
        threads.len() == 1
            && !threads[0].holds_gil
            && threads[0].frames == idle_frames(t, py2)
            && threads[0].tid() == Some(tid),
        "expected idle.py's one stack, <module> at its read, tid={tid}; got\n{text}\n{}",
        t.describe()
    );
    threads[0].info.clone()
}

/// spinner.py chain's stack, root first: <module> -> main -> chain_root -> descend x 51 -> hot.
pub fn chain_stack(script: &Path, marks: &HashMap<String, u32>) -> Vec<String> {
    let mut frames = vec![
        ("<module>", "module"),
        ("main", "main_chain"),
        ("chain_root", "chain_root"),
    ];
    frames.extend(std::iter::repeat_n(("descend", "descend"), 50));
    frames.extend([("descend", "descend_base"), ("hot", "hot")]);
    marked_stack(script, marks, &frames)
}
