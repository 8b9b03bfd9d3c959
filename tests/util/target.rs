//! Starting a Python test script as a profiling target and waiting until it is
//! ready: it printed `READY` and its main thread is blocked in read(2) on stdin,
//! which is where every script parks once its Python stacks are final.

use super::interp::Interp;
use super::marks::marks;
use super::process::ChildGuard;
use super::procfs;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a script may take to get ready (interpreter start-up is ~0.2 s when
/// idle; the machines running the suite are small and loaded).
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running script. Dropping it kills (SIGKILL) and reaps the process.
#[derive(Debug)]
pub struct Target {
    pub child: ChildGuard,
    pub pid: u32,
    /// The script blocks reading this; `take()` it to close the pipe.
    pub stdin: Option<ChildStdin>,
    /// The `# MARK:` lines of the script.
    pub marks: HashMap<String, u32>,
    /// The script's absolute, canonical path: its `co_filename`.
    pub script: PathBuf,
    /// stdout lines printed before `READY`.
    pub preamble: Vec<String>,
    pub python: Interp,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Target {
    /// What the script wrote to stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// The script, its threads' states and its stderr, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "python {} running {}\n{}\n--- target stderr ---\n{}",
            self.python.name,
            self.script.display(),
            procfs::describe_tasks(self.pid),
            self.stderr()
        )
    }
}

/// The canonical path of `tests/scripts/<name>`.
pub fn script_path(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scripts")
        .join(name);
    path.canonicalize()
        .unwrap_or_else(|e| panic!("test script {}: {e}", path.display()))
}

/// `py -E -s -B <path> args...` with stdout and stderr piped: no PYTHON* variables, no user
/// site, no `__pycache__` written into the source tree.
pub fn script_command(py: &Interp, path: &Path, args: &[&str], stdin: Stdio) -> Command {
    let mut cmd = Command::new(&py.path);
    cmd.args(["-E", "-s", "-B"])
        .arg(path)
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts `tests/scripts/<script>` with `args` under `py`, then waits (up to
/// [`STARTUP_TIMEOUT`]) for a `READY` line on its stdout and for its main thread to
/// block in read(2) on fd 0. The script gets its canonical absolute path, so that
/// `co_filename` is that path. `-E -s -B`: no PYTHON* variables, no user site, no
/// `__pycache__` written into the source tree.
pub fn spawn_script(py: &Interp, script: &str, args: &[&str]) -> Target {
    let path = script_path(script);
    let mut cmd = script_command(py, &path, args, Stdio::piped());
    let mut child = ChildGuard::spawn(&mut cmd);
    let pid = child.pid();
    let stdin = child.child().stdin.take();
    let lines = read_lines(child.child().stdout.take().expect("stdout is piped"));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    collect(
        child.child().stderr.take().expect("stderr is piped"),
        &stderr,
    );
    let mut target = Target {
        child,
        pid,
        stdin,
        marks: marks(&path),
        script: path,
        preamble: Vec::new(),
        python: py.clone(),
        stderr,
    };
    let started = Instant::now();
    wait_for_ready(&mut target, &lines, started + STARTUP_TIMEOUT);
    wait_for_stdin_read(&mut target, started + STARTUP_TIMEOUT);
    target
}

/// Sends stdout lines through a channel; keeps draining after the receiver is gone.
fn read_lines(stdout: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(1..)) {
            let text = String::from_utf8_lossy(&line);
            let _ = sender.send(text.trim_end_matches(['\n', '\r']).to_string());
            line.clear();
        }
    });
    receiver
}

fn collect(mut pipe: impl Read + Send + 'static, into: &Arc<Mutex<Vec<u8>>>) {
    let into = Arc::clone(into);
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut chunk) {
            into.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
}

fn wait_for_ready(target: &mut Target, lines: &mpsc::Receiver<String>, deadline: Instant) {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line == "READY" => return,
            Ok(line) => target.preamble.push(line),
            Err(RecvTimeoutError::Timeout) => panic!(
                "{} printed no READY within {STARTUP_TIMEOUT:?}\n{}",
                target.script.display(),
                target.describe()
            ),
            Err(RecvTimeoutError::Disconnected) => {
                let status = wait_exit(target);
                panic!(
                    "{} exited ({status}) before printing READY\nstdout: {:?}\n{}",
                    target.script.display(),
                    target.preamble,
                    target.describe()
                );
            }
        }
    }
}

/// The exit status after stdout closed (the process normally exits right after).
fn wait_exit(target: &mut Target) -> String {
    for _ in 0..500 {
        if let Ok(Some(status)) = target.child.child().try_wait() {
            thread::sleep(Duration::from_millis(50)); // let the stderr reader finish
            return status.to_string();
        }
        thread::sleep(Duration::from_millis(10));
    }
    "still running, stdout closed".to_string()
}

fn wait_for_stdin_read(target: &mut Target, deadline: Instant) {
    while !procfs::blocked_in_stdin_read(target.pid, target.pid) {
        if let Ok(Some(status)) = target.child.child().try_wait() {
            panic!(
                "{} exited ({status}) after READY\n{}",
                target.script.display(),
                target.describe()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the main thread of {} is not blocked in read(0, ...) {STARTUP_TIMEOUT:?} after start; \
             syscall: {:?}\n{}",
            target.script.display(),
            procfs::task_syscall(target.pid, target.pid),
            target.describe()
        );
        thread::sleep(Duration::from_millis(10));
    }
}
