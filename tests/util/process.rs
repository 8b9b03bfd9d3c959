//! Running processes safely from tests: a guard that SIGKILLs and reaps a child on
//! Drop, and a watchdog that runs pyflame (or anything) with a deadline, so a hung
//! profiler fails the test instead of hanging the suite.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long one pyflame run may take before the test calls it hung. Generous:
/// the suite runs on loaded 2-core machines.
pub const PYFLAME_TIMEOUT: Duration = Duration::from_secs(60);

/// A child process that is killed (SIGKILL) and reaped when the guard drops, even
/// when the test panics.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
}

impl ChildGuard {
    pub fn new(child: Child) -> Self {
        ChildGuard { child }
    }

    /// Spawns `cmd`, panicking with the program name if that fails.
    pub fn spawn(cmd: &mut Command) -> Self {
        match cmd.spawn() {
            Ok(child) => ChildGuard::new(child),
            Err(e) => panic!("cannot start {:?}: {e}", cmd.get_program()),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished process printed. Text is decoded lossily (invalid UTF-8 shows as
/// U+FFFD, which no expected output contains).
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The whole result, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "status: {}\n--- stderr ---\n{}--- stdout ({} bytes, first 3000 chars) ---\n{}",
            self.status,
            self.stderr,
            self.stdout.len(),
            self.stdout.chars().take(3000).collect::<String>()
        )
    }

    /// Asserts exit status 0 and an empty stderr.
    pub fn assert_clean_success(&self, what: &str) {
        assert!(
            self.status.success() && self.stderr.is_empty(),
            "{what}: expected exit 0 and empty stderr\n{}",
            self.describe()
        );
    }
}

pub fn pyflame_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pyflame"))
}

/// Runs pyflame with `args` under the watchdog (see [`run_with_watchdog`]).
pub fn run_pyflame<S: AsRef<OsStr>>(args: &[S], timeout: Duration) -> Output {
    let mut cmd = Command::new(pyflame_bin());
    cmd.args(args);
    run_with_watchdog(&mut cmd, "pyflame", timeout)
}

/// [`run_pyflame`] with the default [`PYFLAME_TIMEOUT`].
pub fn pyflame<S: AsRef<OsStr>>(args: &[S]) -> Output {
    run_pyflame(args, PYFLAME_TIMEOUT)
}

/// Runs `cmd` (stdin closed, stdout and stderr captured). If it does not finish
/// within `timeout`, kills it and fails the test with "<what> hung" and its
/// output so far.
pub fn run_with_watchdog(cmd: &mut Command, what: &str, timeout: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = ChildGuard::spawn(cmd);
    let stdout = Collector::start(guard.child().stdout.take());
    let stderr = Collector::start(guard.child().stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match guard.child().try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                drop(guard); // SIGKILL + reap
                panic!(
                    "{what} hung: {:?} did not finish within {timeout:?} and was killed\n\
                     --- stderr so far ---\n{}--- stdout so far (first 3000 chars) ---\n{}",
                    cmd,
                    stderr.snapshot(),
                    stdout.snapshot().chars().take(3000).collect::<String>()
                );
            }
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    Output {
        status,
        stdout: stdout.finish(),
        stderr: stderr.finish(),
    }
}

/// Reads a pipe to its end on a thread, so the output so far is available at any time.
struct Collector {
    buffer: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Collector {
    fn start<R: Read + Send + 'static>(pipe: Option<R>) -> Self {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let reader = pipe.map(|mut pipe| {
            let buffer = Arc::clone(&buffer);
            thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    buffer.lock().unwrap().extend_from_slice(&chunk[..n]);
                }
            })
        });
        Collector { buffer, reader }
    }

    fn snapshot(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }

    /// The whole output, once the process has exited. If a grandchild still holds
    /// the pipe open, gives up waiting for end-of-file after a few seconds.
    fn finish(mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !reader.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        self.snapshot()
    }
}

/// A fresh, empty directory under Cargo's per-target temp dir, unique per call.
pub fn temp_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

#[test]
#[should_panic(expected = "sleep hung")]
fn watchdog_kills_a_hung_command() {
    run_with_watchdog(
        Command::new("sleep").arg("30"),
        "sleep",
        Duration::from_millis(300),
    );
}

/// A copy of pyflame that nobody may run (the build directory may not be reachable), in a
/// fresh 0755 directory under /tmp; removed on Drop.
pub struct NobodyCopy {
    dir: PathBuf,
    pub binary: PathBuf,
}

impl NobodyCopy {
    pub fn new() -> NobodyCopy {
        static COPIES: AtomicUsize = AtomicUsize::new(0);
        let n = COPIES.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("pyflame-perm-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let binary = dir.join("pyflame");
        std::fs::copy(pyflame_bin(), &binary).expect("copy pyflame");
        for path in [&dir, &binary] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        // A child another test thread forked while the copy was open for writing holds it open
        // until that child execs, and meanwhile running the copy fails with ETXTBSY ("Text file
        // busy"): wait until it runs.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match Command::new(&binary).arg("--version").output() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(10))
                }
                Err(e) => panic!("cannot run the copy {}: {e}", binary.display()),
                Ok(_) => break,
            }
        }
        NobodyCopy { dir, binary }
    }
}

impl Drop for NobodyCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
