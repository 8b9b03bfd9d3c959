//! Helpers of the conduct tests (issue 12, tests/conduct): a target started without
//! conditions on its main thread ([`Proc`]), signals sent with kill(2) itself so that
//! they can be paced and timed, waits for pyflame against a deadline counted from a
//! moment the test chose (with pyflame's kernel wait channel in the failure message, which
//! tells a ptrace deadlock from a slow run), thread states and vfork children in /proc, a
//! small seeded random generator, and the choice of repetitions per interpreter.

use super::interp::{name_matches, Interp};
use super::live::{collect, lines_of, Background};
use super::marks::marks;
use super::process::{ChildGuard, Output};
use super::procfs;
use super::target::{script_command, script_path, STARTUP_TIMEOUT};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The interpreters every scenario runs on in full; the others run fewer repetitions.
pub const FULL: [&str; 2] = ["3.12", "2.7"];

/// `full` repetitions on the interpreters of [`FULL`], `other` elsewhere.
pub fn repetitions(py: &Interp, full: usize, other: usize) -> usize {
    match FULL.iter().any(|w| name_matches(w, &py.name)) {
        true => full,
        false => other,
    }
}

/// Whether `py` has ctypes (the free-threaded builds made by tests/pythons/provision have
/// not).
pub fn has_ctypes(py: &Interp) -> bool {
    Command::new(&py.path)
        .args(["-E", "-s", "-c", "import ctypes"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Sends signal `signal` to `pid` with kill(2); panics if that fails.
pub fn kill(pid: u32, signal: i32) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert!(
        rc == 0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// Sends signal `signal` to thread `tid` of process `pid` with tgkill(2); panics if that
/// fails.
pub fn tgkill(pid: u32, tid: u32, signal: i32) {
    // SAFETY: tgkill(2) takes plain integers and touches no memory of ours.
    let (pid, tid) = (libc::c_long::from(pid), libc::c_long::from(tid));
    let rc = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::c_long::from(signal)) };
    assert!(
        rc == 0,
        "tgkill({pid}, {tid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// The state letter of a process (its thread-group leader) or thread, from its stat line.
pub fn state(pid: u32, tid: u32) -> Option<char> {
    procfs::task_stat(pid, tid).map(|s| s.state)
}

/// What a process is doing, for failure messages: its state and kernel wait channel.
pub fn doing(pid: u32) -> String {
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    match state(pid, pid) {
        Some(s) => format!("PID {pid} in state {s}, wchan {wchan:?}"),
        None => format!("PID {pid} has exited"),
    }
}

/// The threads of `pid` in a tracing stop (state `t`).
pub fn traced_stopped(pid: u32) -> Vec<u32> {
    procfs::task_ids(pid)
        .into_iter()
        .filter(|&tid| state(pid, tid) == Some('t'))
        .collect()
}

/// CPU ticks of every thread of `pid` added up.
pub fn process_ticks(pid: u32) -> u64 {
    procfs::task_ids(pid)
        .into_iter()
        .filter_map(|tid| procfs::task_stat(pid, tid))
        .map(|s| s.cpu_ticks)
        .sum()
}

/// A thread in uninterruptible sleep inside a vfork, and the child it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InVfork {
    pub tid: u32,
    pub child: u32,
}

/// The threads of `pid` in state D that have a child process (a vfork parent waits in D
/// until its child exits or execs; /proc/PID/task/TID/children lists the child).
pub fn in_vfork(pid: u32) -> Vec<InVfork> {
    procfs::task_ids(pid)
        .into_iter()
        .filter(|&tid| state(pid, tid) == Some('D'))
        .filter_map(|tid| {
            let children =
                std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/children")).ok()?;
            let child = children.split_whitespace().next()?.parse().ok()?;
            // Still D after reading the child: the child is the one it waits for.
            (state(pid, tid) == Some('D')).then_some(InVfork { tid, child })
        })
        .collect()
}

/// Waits until pyflame exits, at most until `deadline`; on time, returns its output
/// (pipes read to their end). Past the deadline, fails the test with `what`, pyflame's
/// state and wait channel (`ptrace_attach` there is the exec deadlock) and `context()`;
/// pyflame is then killed (SIGKILL) when the Background drops.
pub fn finish_by(
    mut pyflame: Background,
    deadline: Instant,
    what: &str,
    context: impl Fn() -> String,
) -> (Output, Instant) {
    loop {
        match pyflame.guard.child().try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
            Ok(None) => panic!(
                "{what}: pyflame did not exit in time: {}\n{}",
                doing(pyflame.pid),
                context()
            ),
            Err(e) => panic!("waiting for pyflame: {e}"),
        }
    }
    let exited = Instant::now();
    (pyflame.finish(Duration::from_secs(5)), exited)
}

/// A Python script started as a target, its stdout read line by line; killed (SIGKILL)
/// and reaped on Drop. Unlike `live::spawn_busy`, nothing is assumed of its main thread.
pub struct Proc {
    pub guard: ChildGuard,
    pub pid: u32,
    pub lines: Receiver<String>,
    pub script: PathBuf,
    pub marks: HashMap<String, u32>,
    pub python: Interp,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Proc {
    /// Starts `python -E -s -B tests/scripts/<script> args...` and waits for its READY line.
    pub fn start(py: &Interp, script: &str, args: &[&str]) -> Proc {
        let path = script_path(script);
        let mut cmd = script_command(py, &path, args, Stdio::null());
        let mut guard = ChildGuard::spawn(&mut cmd);
        let pid = guard.pid();
        let lines = lines_of(guard.child().stdout.take().expect("piped"));
        let stderr = collect(guard.child().stderr.take().expect("piped"));
        let proc = Proc {
            guard,
            pid,
            lines,
            marks: marks(&path),
            script: path,
            python: py.clone(),
            stderr,
        };
        match proc.lines.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) if line == "READY" => proc,
            other => panic!("expected READY, got {other:?}\n{}", proc.describe()),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "python {} running {}\n{}\n--- target stderr ---\n{}",
            self.python.name,
            self.script.display(),
            procfs::describe_tasks(self.pid),
            String::from_utf8_lossy(&self.stderr.lock().unwrap())
        )
    }

    /// The next stdout line, waiting until `timeout` has passed.
    pub fn line_within(&self, timeout: Duration) -> Result<String, RecvTimeoutError> {
        self.lines.recv_timeout(timeout)
    }

    /// Reaps the target once it has exited, waiting up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.guard.child().try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the target did not exit within {timeout:?}\n{}",
                self.describe()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// A small xorshift generator, seeded from the clock; the seed is printed so that a
/// failing sequence of random moments can be replayed (`Random::new(seed)`).
pub struct Random(u64);

impl Random {
    pub fn from_clock(what: &str) -> Random {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        eprintln!("{what}: random seed {seed}");
        Random(seed)
    }

    pub fn new(seed: u64) -> Random {
        Random(seed | 1)
    }

    /// A duration uniformly in [low, high).
    pub fn between(&mut self, low: Duration, high: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let span = (high - low).as_micros().max(1) as u64;
        low + Duration::from_micros(self.0 % span)
    }
}

#[test]
fn random_stays_in_range() {
    let mut r = Random::new(42);
    let (low, high) = (Duration::from_millis(50), Duration::from_millis(400));
    for _ in 0..1000 {
        let d = r.between(low, high);
        assert!(low <= d && d < high, "{d:?}");
    }
}
