//! Live runs: pyflame running in the background (so a test can signal it or its
//! target meanwhile), targets whose MAIN thread is busy (spinner.py, signals.py:
//! not the read(0) protocol of target.rs), signals sent with kill(1), and waits on
//! /proc: for a tracer, for samples, for CPU progress.

use super::interp::Interp;
use super::marks::marks;
use super::process::{pyflame_bin, ChildGuard, Output};
use super::procfs;
use super::target::{script_command, script_path, STARTUP_TIMEOUT};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long anything the tests wait for may take on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(30);

/// Polls `cond` every 5 ms until it holds; panics with `what()` after `timeout`.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool, what: impl Fn() -> String) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?}: {}",
            what()
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Sends signal `name` ("USR1", "KILL", ...) to `pid` with kill(1).
pub fn send_signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
    assert!(status.success(), "kill -s {name} {pid}: {status}");
}

/// A numeric field of /proc/PID/task/TID/status.
pub fn task_status_field(pid: u32, tid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

/// Voluntary context switches of a thread. A thread spinning in Python makes none
/// of its own; every ptrace stop (one per sample in blocking mode) makes one.
pub fn stops(pid: u32, tid: u32) -> u64 {
    task_status_field(pid, tid, "voluntary_ctxt_switches").unwrap_or(0)
}

/// Waits (up to the start-up timeout) until the main thread of `pid` has burnt 3 more
/// clock ticks of CPU: it spins.
pub fn wait_until_spinning(pid: u32, describe: impl Fn() -> String) {
    let start = cpu_ticks(pid, pid);
    wait_until(
        STARTUP_TIMEOUT,
        || cpu_ticks(pid, pid) >= start + 3,
        || format!("the main thread does not spin\n{}", describe()),
    );
}

pub fn cpu_ticks(pid: u32, tid: u32) -> u64 {
    procfs::task_stat(pid, tid).map_or(0, |s| s.cpu_ticks)
}

/// Where a thread that is not in a system call stopped: the user-mode program
/// counter from /proc/PID/task/TID/syscall ("-1 sp pc"); None while it is running
/// (in user or kernel mode) or in a system call. A stopped thread that never
/// returns to user mode keeps the same value.
pub fn stopped_pc(pid: u32, tid: u32) -> Option<String> {
    let line = procfs::task_syscall(pid, tid)?;
    let mut fields = line.split_whitespace();
    (fields.next() == Some("-1")).then(|| fields.nth(1).unwrap_or_default().to_string())
}

/// Clock ticks thread `tid` spent in user mode (field 14 of its stat line).
pub fn user_ticks(pid: u32, tid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap_or_default();
    let fields = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    fields
        .split_whitespace()
        .nth(11)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// Waits until thread `tid` burns `ticks` more clock ticks of CPU: it runs.
pub fn wait_for_progress(pid: u32, tid: u32, ticks: u64) {
    let start = cpu_ticks(pid, tid);
    wait_until(
        WAIT,
        || cpu_ticks(pid, tid) >= start + ticks,
        || {
            format!(
                "thread {tid} makes no progress\n{}",
                procfs::describe_tasks(pid)
            )
        },
    );
}

/// Waits until `tracer` traces `pid` (pyflame has attached).
pub fn wait_for_tracer(pid: u32, tracer: u32) {
    wait_until(
        WAIT,
        || procfs::status_field(pid, "TracerPid") == Some(u64::from(tracer)),
        || {
            format!(
                "pyflame {tracer} never attached\n{}",
                procfs::describe_tasks(pid)
            )
        },
    );
}

/// Waits until the spinning thread `tid` was stopped `n` more times than `before`
/// (see [`stops`]): pyflame is sampling it, stopping it (a pyflame started with
/// [`Background::stopping`]).
pub fn wait_for_samples(pid: u32, tid: u32, before: u64, n: u64) {
    wait_until(
        WAIT,
        || stops(pid, tid) >= before + n,
        || {
            format!(
                "pyflame is not sampling thread {tid}\n{}",
                procfs::describe_tasks(pid)
            )
        },
    );
}

/// Waits until pyflame (`pid`) was woken `n` more times after it attached to `target` (the
/// run count of its /proc/PID/schedstat): it runs its sampling loop. The default mode reads
/// a stable stack without stopping its thread, so the target shows nothing of a sample.
pub fn wait_for_wakeups(target: u32, pid: u32, n: u64) {
    wait_for_tracer(target, pid);
    let runs = || {
        let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap_or_default();
        text.split_whitespace()
            .nth(2)
            .and_then(|v| v.parse::<u64>().ok())
    };
    let before = runs().unwrap_or(0);
    wait_until(
        WAIT,
        || runs().is_some_and(|r| r >= before + n),
        || format!("pyflame {pid} does not run its sampling loop"),
    );
}

/// Watches a process's TracerPid every half millisecond on a thread, to prove
/// that nobody attached to it during a run.
pub struct TracerWatch {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicU64>,
    watcher: thread::JoinHandle<()>,
}

impl TracerWatch {
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicU64::new(0));
        let (stop2, max2) = (Arc::clone(&stop), Arc::clone(&max));
        let watcher = thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let tracer = procfs::status_field(pid, "TracerPid").unwrap_or(0);
                max2.fetch_max(tracer, Ordering::Relaxed);
                thread::sleep(Duration::from_micros(500));
            }
        });
        TracerWatch { stop, max, watcher }
    }

    /// Stops watching; the largest TracerPid seen (0: never traced).
    pub fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.watcher.join().expect("the watcher panicked");
        self.max.load(Ordering::Relaxed)
    }
}

/// Whether every thread of `pid` is stopped (T) or in a tracing stop (t).
pub fn all_stopped(pid: u32) -> bool {
    let tids = procfs::task_ids(pid);
    !tids.is_empty()
        && tids
            .iter()
            .all(|&tid| procfs::task_stat(pid, tid).is_some_and(|s| matches!(s.state, 'T' | 't')))
}

/// Reads a pipe to its end on a thread.
/// The lines `stdout` gives, through a channel fed by a thread of their own.
pub fn lines_of(stdout: impl Read + Send + 'static) -> Receiver<String> {
    let (sender, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

pub fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let into = Arc::clone(&buffer);
    thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            into.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    buffer
}

fn text(buffer: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}

/// pyflame running in the background; killed (SIGKILL) and reaped on Drop.
pub struct Background {
    pub guard: ChildGuard,
    pub pid: u32,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Background {
    pub fn start<S: AsRef<OsStr>>(args: &[S]) -> Self {
        Self::spawn(Command::new(pyflame_bin()).args(args))
    }

    /// pyflame made to stop the threads it samples every time (what the default mode does
    /// when a read without stopping keeps failing its check), for the tests of how it
    /// behaves while it holds threads stopped.
    pub fn stopping<S: AsRef<OsStr>>(args: &[S]) -> Self {
        Self::spawn(
            Command::new(pyflame_bin())
                .args(args)
                .env("PYFLAME_ALWAYS_STOP", "1"),
        )
    }

    fn spawn(cmd: &mut Command) -> Self {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut guard = ChildGuard::spawn(cmd);
        let stdout = collect(guard.child().stdout.take().expect("piped"));
        let stderr = collect(guard.child().stderr.take().expect("piped"));
        let pid = guard.pid();
        Background {
            guard,
            pid,
            stdout,
            stderr,
        }
    }

    pub fn signal(&self, name: &str) {
        send_signal(self.pid, name);
    }

    /// Waits for pyflame to exit; kills it and fails the test ("pyflame hung")
    /// after `timeout`. The pipes are read to their end (a few seconds at most).
    pub fn finish(mut self, timeout: Duration) -> Output {
        let deadline = Instant::now() + timeout;
        let status = loop {
            match self.guard.child().try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => panic!(
                    "pyflame hung: still running {timeout:?} after the test asked it to end\n\
                     --- stderr so far ---\n{}",
                    text(&self.stderr)
                ),
                Err(e) => panic!("waiting for pyflame: {e}"),
            }
        };
        let end = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.stdout) + Arc::strong_count(&self.stderr) > 2
            && Instant::now() < end
        {
            thread::sleep(Duration::from_millis(5));
        }
        Output {
            status,
            stdout: text(&self.stdout),
            stderr: text(&self.stderr),
        }
    }
}

/// A script whose main thread spins: started, printed READY, and burning CPU.
/// Dropping it kills (SIGKILL) and reaps the process.
pub struct Busy {
    pub child: ChildGuard,
    pub pid: u32,
    /// `take()` it to close the script's stdin.
    pub stdin: Option<ChildStdin>,
    /// stdout lines after READY.
    pub lines: Receiver<String>,
    pub marks: HashMap<String, u32>,
    pub script: PathBuf,
    pub python: Interp,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Busy {
    pub fn describe(&self) -> String {
        format!(
            "python {} running {}\n{}\n--- target stderr ---\n{}",
            self.python.name,
            self.script.display(),
            procfs::describe_tasks(self.pid),
            text(&self.stderr)
        )
    }

    /// The next stdout line, waiting up to [`WAIT`].
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no line from the target ({e})\n{}", self.describe()))
    }

    /// Reaps the target once it has exited (waiting up to [`WAIT`]).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.child().try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "target did not exit\n{}",
                self.describe()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Starts `tests/scripts/<script>` (as target.rs does: `-E -s -B`, canonical path),
/// waits for READY, then until its main thread has burnt a few clock ticks: it is
/// in its loop (only microseconds of bytecode separate READY from the loop line).
pub fn spawn_busy(py: &Interp, script: &str, args: &[&str]) -> Busy {
    let path = script_path(script);
    let mut cmd = script_command(py, &path, args, Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd);
    let pid = child.pid();
    let stdin = child.child().stdin.take();
    let stdout = child.child().stdout.take().expect("piped");
    let stderr = collect(child.child().stderr.take().expect("piped"));
    let lines = lines_of(stdout);
    let busy = Busy {
        child,
        pid,
        stdin,
        lines,
        marks: marks(&path),
        script: path,
        python: py.clone(),
        stderr,
    };
    match busy.lines.recv_timeout(STARTUP_TIMEOUT) {
        Ok(line) if line == "READY" => {}
        other => panic!("expected READY, got {other:?}\n{}", busy.describe()),
    }
    wait_until_spinning(pid, || busy.describe());
    busy
}
