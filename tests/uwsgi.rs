//! uWSGI from Debian's packages (uwsgi-core, uwsgi-plugin-python3: the plugin loads libpython
//! at run time) serving tests/scripts/uwsgi_app.py. `-d` on a worker in the middle of a request
//! shows the application's frames exactly, and on the master (an interpreter, but no Python
//! running) shows nothing; sampling a worker never touches the master; `pyflame -t uwsgi ...`
//! waits for the interpreter, profiles the requests it serves and passes on uWSGI's status.
//! With `--processes 4`, `--subprocesses -p MASTER` dumps and samples every worker, each under
//! its own `process <PID> <cmdline>` root, and uWSGI serves on with the same workers.

use crate::util::collapsed::{marked_stack, parse_collapsed};
use crate::util::dump_format::{parse_dump, Frame};
use crate::util::live::{wait_for_progress, wait_until, Background, TracerWatch};
use crate::util::marks::{line_of, marks};
use crate::util::prereq;
use crate::util::process::{temp_dir, PYFLAME_TIMEOUT};
use crate::util::target::script_path;
use crate::util::{assert_target_running, pyflame, ChildGuard};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);
const PLUGIN: &str = "/usr/lib/uwsgi/plugins/python3_plugin.so";

fn have_uwsgi(test: &str) -> bool {
    prereq::programs(test, &["uwsgi", "mkfifo"])
        && prereq::check(test, Path::new(PLUGIN).exists(), PLUGIN)
}

/// `uwsgi --plugin python3` serving the test app on `dir/sock`, logging to `dir/uwsgi.log`.
fn uwsgi_args(dir: &Path) -> Vec<String> {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    vec![
        "uwsgi".into(),
        "--plugin".into(),
        "python3".into(),
        "--http-socket".into(),
        path(&dir.join("sock")),
        "--wsgi-file".into(),
        path(&script_path("uwsgi_app.py")),
        "--need-app".into(),
        "--logto".into(),
        path(&dir.join("uwsgi.log")),
    ]
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("uwsgi.log")).unwrap_or_default()
}

fn wait_for_socket(dir: &Path) {
    let sock = dir.join("sock");
    wait_until(
        WAIT,
        || sock.exists(),
        || format!("uWSGI never listened\n{}", log(dir)),
    );
}

/// One HTTP/1.0 request over the unix socket; the response (empty if uWSGI went away).
fn request(dir: &Path, path: &str) -> String {
    servers::http_get(&dir.join("sock"), path).unwrap_or_else(|e| panic!("{e}\n{}", log(dir)))
}

/// Kills (SIGKILL) a process we did not start ourselves (a uWSGI worker) on Drop.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.0.to_string()])
            .status();
    }
}

#[test]
fn uwsgi_worker_dump() {
    let test = "uwsgi_worker_dump";
    if !have_uwsgi(test) {
        return;
    }
    let dir = temp_dir("uwsgi-dump");
    let gate = dir.join("gate");
    assert!(Command::new("mkfifo")
        .arg(&gate)
        .status()
        .is_ok_and(|s| s.success()));
    let args = uwsgi_args(&dir);
    let mut cmd = Command::new(&args[0]);
    cmd.args(&args[1..])
        .args(["--master", "--processes", "1"])
        .env("PYFLAME_TEST_DIR", &dir)
        .stdin(Stdio::null());
    let master = ChildGuard::spawn(&mut cmd);
    wait_for_socket(&dir);
    let in_flight = {
        let dir = dir.clone();
        std::thread::spawn(move || request(&dir, "/block"))
    };
    let handling = dir.join("handling");
    wait_until(
        WAIT,
        || std::fs::read_to_string(&handling).is_ok_and(|s| !s.is_empty()),
        || log(&dir),
    );
    let worker: u32 = std::fs::read_to_string(&handling)
        .unwrap()
        .trim()
        .parse()
        .expect("a PID");
    let _worker_guard = KillOnDrop(worker);
    // In open(2) of the FIFO (openat is 257 on x86-64): its stack is final.
    wait_until(
        WAIT,
        || crate::util::procfs::task_syscall(worker, worker).is_some_and(|s| s.starts_with("257 ")),
        || {
            format!(
                "the worker is not blocked opening the gate\n{}",
                crate::util::procfs::describe_tasks(worker)
            )
        },
    );

    let out = pyflame(&["-d", "-p", &worker.to_string()]);
    out.assert_clean_success("pyflame -d on a uWSGI worker");
    let app = script_path("uwsgi_app.py");
    let m = marks(&app);
    let file = app.to_string_lossy();
    let want = vec![
        Frame::new(&file, "wait_for_gate", line_of(&m, "gate")),
        Frame::new(&file, "application", line_of(&m, "app_block")),
    ];
    let threads = parse_dump(&out.stdout).expect("a dump");
    assert!(
        threads.len() == 1 && threads[0].frames == want && threads[0].tid() == Some(worker),
        "expected the request's two frames, tid={worker}\n{}",
        out.describe()
    );
    let master_dump = pyflame(&["-d", "-p", &master.pid().to_string()]);
    master_dump.assert_clean_success("pyflame -d on the uWSGI master");
    assert_eq!(master_dump.stdout, "", "the master runs no Python");
    assert_target_running(worker);
    assert_target_running(master.pid());

    std::fs::OpenOptions::new()
        .write(true)
        .open(&gate)
        .and_then(|mut g| g.write_all(b"x"))
        .expect("open the gate");
    let response = in_flight.join().expect("the request thread");
    assert!(response.ends_with("done\n"), "{response:?}\n{}", log(&dir));

    // Sampling the worker while a request spins. Its thread state still holds the master's
    // thread id (uWSGI forks without PyOS_AfterFork_Child): the master must not be touched.
    let spinning = dir.join("spinning");
    std::thread::spawn({
        let dir = dir.clone();
        move || request(&dir, "/spin?600")
    });
    wait_until(
        WAIT,
        || std::fs::read_to_string(&spinning).is_ok_and(|s| !s.is_empty()),
        || log(&dir),
    );
    wait_for_progress(worker, worker, 3);
    let watch = TracerWatch::start(master.pid());
    let out = pyflame(&["-s", "1", "-p", &worker.to_string()]);
    let tracer = watch.finish();
    out.assert_clean_success("pyflame -s 1 on a uWSGI worker");
    assert_eq!(tracer, 0, "profiling the worker traced the master");
    let p =
        parse_collapsed(&out.stdout, true).unwrap_or_else(|e| panic!("{e}\n{}", out.describe()));
    let spin = marked_stack(&app, &m, &[("application", "app_spin"), ("spin", "spin")]);
    assert!(p.count_of(&spin) > 0 && p.failed == 0, "{}", out.describe());
    assert_target_running(worker);
    assert_target_running(master.pid());
}

#[test]
fn uwsgi_trace() {
    let test = "uwsgi_trace";
    if !have_uwsgi(test) {
        return;
    }
    let dir = temp_dir("uwsgi-trace");
    let profile: PathBuf = dir.join("profile.txt");
    let mut args: Vec<String> = vec![
        "-o".into(),
        profile.to_string_lossy().into_owned(),
        "-t".into(),
    ];
    // env(1) sets the app's directory and execs uWSGI: -t follows the exec.
    args.extend(["env".into(), format!("PYFLAME_TEST_DIR={}", dir.display())]);
    args.extend(uwsgi_args(&dir));
    let traced = Background::start(&args);
    wait_for_socket(&dir);
    let response = request(&dir, "/spin");
    assert!(response.ends_with("done\n"), "{response:?}\n{}", log(&dir));
    request(&dir, "/quit");
    let out = traced.finish(PYFLAME_TIMEOUT);
    assert!(
        out.status.code() == Some(7) && out.stderr.is_empty() && out.stdout.is_empty(),
        "pyflame -t uwsgi must end with uWSGI's status 7\n{}\n{}",
        out.describe(),
        log(&dir)
    );
    let text = std::fs::read_to_string(&profile).expect("the profile");
    let p = parse_collapsed(&text, true).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let app = script_path("uwsgi_app.py");
    let spin = marked_stack(
        &app,
        &marks(&app),
        &[("application", "app_spin"), ("spin", "spin")],
    );
    assert!(
        p.count_of(&spin) > 0,
        "the /spin request was not sampled\n{text}"
    );
}

/// uWSGI with a master and `--processes 4`, serving tests/scripts/uwsgi_app.py.
struct Preforked {
    master: ChildGuard,
    dir: PathBuf,
    /// The master's children once all 4 are there, sorted.
    workers: Vec<u32>,
}

const WORKERS: usize = 4;

impl Preforked {
    fn start(label: &str) -> Self {
        let dir = temp_dir(label);
        let args = uwsgi_args(&dir);
        let mut cmd = Command::new(&args[0]);
        cmd.args(&args[1..])
            .args(["--master", "--processes", &WORKERS.to_string()])
            .env("PYFLAME_TEST_DIR", &dir)
            .stdin(Stdio::null());
        let master = ChildGuard::spawn(&mut cmd);
        wait_for_socket(&dir);
        let pid = master.pid();
        wait_until(
            WAIT,
            || servers::children(pid).len() == WORKERS,
            || format!("uWSGI did not start {WORKERS} workers\n{}", log(&dir)),
        );
        let workers = servers::children(pid);
        Preforked {
            master,
            dir,
            workers,
        }
    }

    fn pid(&self) -> u32 {
        self.master.pid()
    }

    fn log(&self) -> String {
        log(&self.dir)
    }

    /// After profiling: uWSGI serves another request with the same workers, and its log tells
    /// of no worker that died, was killed or respawned.
    fn assert_healthy(&self) {
        let response = request(&self.dir, "/busy?0.01");
        assert!(
            servers::parse_busy(&response).is_ok_and(|b| self.workers.contains(&b.pid)),
            "uWSGI does not serve after profiling: {response:?}\n{}",
            self.log()
        );
        assert_eq!(
            servers::children(self.pid()),
            self.workers,
            "uWSGI's workers changed while profiling\n{}",
            self.log()
        );
        let log = self.log();
        for bad in ["DAMN", "died", "respawn", "HARAKIRI", "killed", "error"] {
            assert!(
                !log.to_lowercase().contains(&bad.to_lowercase()),
                "uWSGI's log mentions {bad:?}\n{log}"
            );
        }
        assert_eq!(
            log.matches("spawned uWSGI worker").count(),
            WORKERS,
            "uWSGI spawned workers again\n{log}"
        );
        assert_target_running(self.pid());
    }
}

/// `-d --subprocesses -p MASTER` on uWSGI with 4 workers under a stream of requests, one of
/// them held in wait_for_gate(): one `process` section for each worker, in PID order, headed
/// by its command line, each a dump of its own: the held worker's shows the request's two
/// frames, a busy one the application's, an idle one nothing; the master (an interpreter
/// running no Python) a section without threads. uWSGI goes on serving with the same workers.
#[test]
fn uwsgi_subprocesses_dump() {
    let test = "uwsgi_subprocesses_dump";
    if !have_uwsgi(test) {
        return;
    }
    let server = Preforked::start("uwsgi-tree-dump");
    let dir = &server.dir;
    let gate = dir.join("gate");
    assert!(Command::new("mkfifo")
        .arg(&gate)
        .status()
        .is_ok_and(|s| s.success()));
    let in_flight = {
        let dir = dir.clone();
        std::thread::spawn(move || request(&dir, "/block"))
    };
    let handling = dir.join("handling");
    wait_until(
        WAIT,
        || std::fs::read_to_string(&handling).is_ok_and(|s| !s.is_empty()),
        || server.log(),
    );
    let held: u32 = std::fs::read_to_string(&handling)
        .unwrap()
        .trim()
        .parse()
        .expect("a PID");
    assert!(server.workers.contains(&held), "{held} is no worker");
    wait_until(
        WAIT,
        || crate::util::procfs::task_syscall(held, held).is_some_and(|s| s.starts_with("257 ")),
        || {
            format!(
                "the worker is not blocked opening the gate\n{}",
                crate::util::procfs::describe_tasks(held)
            )
        },
    );
    let stream = servers::RequestStream::start(&dir.join("sock"), 2, 0.3);
    stream.wait_for(2, || server.log());

    let out = pyflame(&["-d", "--subprocesses", "-p", &server.pid().to_string()]);
    let served = stream.finish();
    out.assert_clean_success("pyflame -d --subprocesses on the uWSGI master");
    let sections = servers::parse_tree_dump(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}", servers::whole(&out)));
    let pids: Vec<u32> = sections.iter().map(|s| s.pid).collect();
    let mut want = server.workers.clone();
    want.push(server.pid());
    want.sort_unstable();
    assert_eq!(
        pids,
        want,
        "expected a section for the master {} and each worker {:?}, in PID order\n{}",
        server.pid(),
        server.workers,
        servers::whole(&out)
    );
    let app = script_path("uwsgi_app.py");
    let m = marks(&app);
    let file = app.to_string_lossy();
    for section in &sections {
        assert_eq!(
            section.header,
            servers::process_root(section.pid),
            "{}",
            servers::whole(&out)
        );
        let threads = &section.threads;
        if section.pid == server.pid() {
            assert!(
                threads.is_empty(),
                "the master runs no Python\n{}",
                servers::whole(&out)
            );
        } else if section.pid == held {
            let want = vec![
                Frame::new(&file, "wait_for_gate", line_of(&m, "gate")),
                Frame::new(&file, "application", line_of(&m, "app_block")),
            ];
            assert!(
                threads.len() == 1 && threads[0].frames == want && threads[0].tid() == Some(held),
                "expected the held request's two frames in process {held}, tid={held}\n{}",
                servers::whole(&out)
            );
        } else {
            // Idle (no thread), or in a /busy request: its outermost frame is the application's.
            let outer = threads.first().and_then(|t| t.frames.last());
            assert!(
                threads.len() <= 1
                    && outer.is_none_or(|f| f.file == file && f.func == "application"),
                "process {}: neither idle nor in a request\n{}",
                section.pid,
                servers::whole(&out)
            );
        }
    }
    assert!(
        served.errors.is_empty(),
        "requests failed while pyflame dumped: {:?}\n{}",
        served.errors,
        server.log()
    );

    std::fs::OpenOptions::new()
        .write(true)
        .open(&gate)
        .and_then(|mut g| g.write_all(b"x"))
        .expect("open the gate");
    let response = in_flight.join().expect("the request thread");
    assert!(
        response.ends_with("done\n"),
        "{response:?}\n{}",
        server.log()
    );
    server.assert_healthy();
}

/// `--subprocesses -p MASTER -s 3 -r 0.005` on uWSGI with 4 workers serving a stream of
/// requests that spin in busy_request_handler(): the handler's stack is under the root of each
/// worker that was stopped while it spun (the request's answer says how often), under no other
/// root; every root names its process; the master has idle samples only; uWSGI goes on serving
/// with the same workers.
#[test]
fn uwsgi_subprocesses_sample() {
    let test = "uwsgi_subprocesses_sample";
    if !have_uwsgi(test) {
        return;
    }
    let server = Preforked::start("uwsgi-tree-sample");
    let stream = servers::RequestStream::start(&server.dir.join("sock"), 2, 0.3);
    stream.wait_for(2, || server.log());
    let out = pyflame(&[
        "--subprocesses",
        "-p",
        &server.pid().to_string(),
        "-s",
        "3",
        "-r",
        "0.005",
    ]);
    let served = stream.finish();
    out.assert_clean_success("pyflame --subprocesses on the uWSGI master");
    assert!(
        served.errors.is_empty(),
        "requests failed while pyflame sampled: {:?}\n{}",
        served.errors,
        server.log()
    );
    let app = script_path("uwsgi_app.py");
    let stacks = servers::assert_handler_sampled(
        &out,
        &served,
        &app,
        "application",
        server.pid(),
        &server.workers,
    );
    assert!(
        stacks
            .iter()
            .all(|s| s.pid != server.pid() || s.leaf == servers::Leaf::Idle),
        "the master runs no Python: idle samples only\n{}",
        servers::whole(&out)
    );
    server.assert_healthy();
}

/// What the server tests share (tests/gunicorn.rs too): HTTP over a unix socket, a stream of
/// /busy requests, the process-tree outputs (`process <PID> <cmdline>` roots) parsed strictly.
pub(crate) mod servers {
    use crate::util::collapsed::check_frame;
    use crate::util::dump_format::{parse_dump, DumpThread};
    use crate::util::marks::{line_of, marks};
    use crate::util::Output;
    use std::collections::{BTreeSet, HashSet};
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    const WAIT: Duration = Duration::from_secs(60);

    /// pyflame's status, stderr and stdout (up to 60,000 characters) for a failure message.
    pub fn whole(out: &Output) -> String {
        let shown: String = out.stdout.chars().take(60_000).collect();
        let cut = if shown.len() < out.stdout.len() {
            "[cut]\n"
        } else {
            ""
        };
        format!(
            "status: {}\n--- stderr ---\n{}--- stdout ({} bytes) ---\n{shown}{cut}",
            out.status,
            out.stderr,
            out.stdout.len()
        )
    }

    /// The children of `pid`, sorted.
    pub fn children(pid: u32) -> Vec<u32> {
        let mut pids = crate::util::launch::children(pid);
        pids.sort_unstable();
        pids
    }

    /// One HTTP/1.0 GET over the unix socket `sock`: the whole response, or what was read
    /// before the server closed or went quiet for a minute. Err if it cannot be sent.
    pub fn http_get(sock: &Path, path: &str) -> Result<String, String> {
        // The socket file appears at bind(), a moment before the server listens on it: until
        // then a connection is refused.
        let deadline = Instant::now() + WAIT;
        let mut stream = loop {
            match UnixStream::connect(sock) {
                Err(e)
                    if e.kind() == std::io::ErrorKind::ConnectionRefused
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other.map_err(|e| format!("connect to {}: {e}", sock.display()))?,
            }
        };
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n")
            .map_err(|e| format!("send GET {path}: {e}"))?;
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        Ok(response)
    }

    /// The answer of a `/busy?N` request (see tests/scripts/uwsgi_app.py).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Busy {
        /// The worker that served it.
        pub pid: u32,
        /// How often the worker's thread was stopped while it spun.
        pub stops: u64,
    }

    /// A whole HTTP response with status 200 and the body "busy PID STOPS\n".
    pub fn parse_busy(response: &str) -> Result<Busy, String> {
        let bad = || format!("not a 200 response \"busy PID STOPS\": {response:?}");
        let (head, body) = response.split_once("\r\n\r\n").ok_or_else(bad)?;
        let status = head.lines().next().unwrap_or_default();
        if !status.starts_with("HTTP/1.") || status.split(' ').nth(1) != Some("200") {
            return Err(bad());
        }
        let words: Vec<&str> = body
            .strip_suffix('\n')
            .ok_or_else(bad)?
            .split(' ')
            .collect();
        match words.as_slice() {
            ["busy", pid, stops] => Ok(Busy {
                pid: pid.parse().map_err(|_| bad())?,
                stops: stops.parse().map_err(|_| bad())?,
            }),
            _ => Err(bad()),
        }
    }

    /// What a [`RequestStream`] got.
    #[derive(Debug, Default)]
    pub struct Served {
        pub answers: Vec<Busy>,
        pub errors: Vec<String>,
    }

    /// Clients on threads, each sending `/busy?SECONDS` requests one after the other until
    /// [`RequestStream::finish`] (at most 1000 requests or 5 minutes each).
    pub struct RequestStream {
        stop: Arc<AtomicBool>,
        answered: Arc<AtomicUsize>,
        clients: Vec<JoinHandle<Served>>,
    }

    impl RequestStream {
        pub fn start(sock: &Path, clients: usize, seconds: f64) -> Self {
            let stop = Arc::new(AtomicBool::new(false));
            let answered = Arc::new(AtomicUsize::new(0));
            let clients = (0..clients)
                .map(|_| {
                    let (stop, answered) = (Arc::clone(&stop), Arc::clone(&answered));
                    let sock: PathBuf = sock.to_path_buf();
                    std::thread::spawn(move || {
                        let mut served = Served::default();
                        let end = Instant::now() + Duration::from_secs(300);
                        for _ in 0..1000 {
                            if stop.load(Ordering::SeqCst) || Instant::now() > end {
                                break;
                            }
                            let path = format!("/busy?{seconds}");
                            match http_get(&sock, &path).and_then(|r| parse_busy(&r)) {
                                Ok(busy) => served.answers.push(busy),
                                Err(e) => served.errors.push(e),
                            }
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        served
                    })
                })
                .collect();
            RequestStream {
                stop,
                answered,
                clients,
            }
        }

        /// Waits until `n` requests were answered.
        pub fn wait_for(&self, n: usize, describe: impl Fn() -> String) {
            crate::util::live::wait_until(
                WAIT,
                || self.answered.load(Ordering::SeqCst) >= n,
                || format!("the server answered no {n} requests\n{}", describe()),
            );
        }

        /// Stops the clients once their requests in flight are answered.
        pub fn finish(self) -> Served {
            self.stop.store(true, Ordering::SeqCst);
            let mut all = Served::default();
            for client in self.clients {
                let served = client.join().expect("a client thread panicked");
                all.answers.extend(served.answers);
                all.errors.extend(served.errors);
            }
            all
        }
    }

    /// The root frame pyflame gives process `pid` in tree mode: `process PID CMDLINE`, the
    /// arguments joined by spaces, cut to 80 characters and `…`. (The test servers' command
    /// lines need no escaping; this checks that they do not.)
    pub fn process_root(pid: u32) -> String {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).expect("the command line");
        let text = String::from_utf8(raw).expect("an ASCII command line");
        let args: Vec<&str> = text
            .strip_suffix('\0')
            .unwrap_or(&text)
            .split('\0')
            .collect();
        let line = args.join(" ");
        assert!(
            line.chars().all(|c| c.is_ascii_graphic() || c == ' ') && !line.contains(';'),
            "the test's command line needs escaping: {line:?}"
        );
        let cut: String = line.chars().take(80).collect();
        let ellipsis = if line.chars().count() > 80 { "…" } else { "" };
        format!("process {pid} {cut}{ellipsis}")
    }

    /// The PID of a root frame `process PID ...`.
    fn root_pid(root: &str) -> Result<u32, String> {
        let mut words = root.splitn(3, ' ');
        match (words.next(), words.next().map(str::parse::<u32>)) {
            (Some("process"), Some(Ok(pid))) if words.next().is_some() => Ok(pid),
            _ => Err(format!("{root:?} is not \"process <PID> <cmdline>\"")),
        }
    }

    /// One process of a tree-mode dump.
    #[derive(Debug)]
    pub struct Section {
        pub pid: u32,
        /// `process PID CMDLINE`.
        pub header: String,
        pub threads: Vec<DumpThread>,
    }

    /// A tree-mode dump: per process a `process <PID> <cmdline>` line then its threads as a
    /// dump prints them (none if no thread has a frame), one blank line between threads and
    /// between processes, in PID order (checked by the caller).
    pub fn parse_tree_dump(text: &str) -> Result<Vec<Section>, String> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let body = text
            .strip_suffix('\n')
            .ok_or("the dump does not end with a newline")?;
        let mut sections: Vec<Section> = Vec::new();
        for block in body.split("\n\n") {
            let thread = if block.starts_with("process ") {
                let (header, rest) = block.split_once('\n').unwrap_or((block, ""));
                sections.push(Section {
                    pid: root_pid(header)?,
                    header: header.to_string(),
                    threads: Vec::new(),
                });
                rest
            } else {
                block
            };
            if thread.is_empty() {
                continue;
            }
            let section = sections
                .last_mut()
                .ok_or_else(|| format!("a thread before any process line: {block:?}"))?;
            let parsed = parse_dump(&format!("{thread}\n"))
                .map_err(|e| format!("process {}: {e}", section.pid))?;
            section.threads.extend(parsed);
        }
        Ok(sections)
    }

    /// Under one process's root: frames (root-first, the root left out), or idle, or failed.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Leaf {
        Frames(Vec<String>),
        Idle,
        Failed,
    }

    /// One line of a tree-mode collapsed profile.
    #[derive(Debug, Clone)]
    pub struct TreeStack {
        pub pid: u32,
        pub root: String,
        pub leaf: Leaf,
        pub count: u64,
    }

    /// A tree-mode collapsed profile: every line `process <PID> <cmdline>;` then frames
    /// (`file:function:line`), `(idle)` or `(failed)`, then a space and a positive count;
    /// no line twice, none without a root.
    pub fn parse_tree_collapsed(text: &str) -> Result<Vec<TreeStack>, String> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let body = text
            .strip_suffix('\n')
            .ok_or("the profile does not end with a newline")?;
        let mut seen = HashSet::new();
        body.split('\n')
            .map(|line| {
                let (stack, n) = line
                    .rsplit_once(' ')
                    .ok_or_else(|| format!("line {line:?} is not \"<stack> <count>\""))?;
                let count = n
                    .parse::<u64>()
                    .ok()
                    .filter(|&c| c > 0 && !n.starts_with('0'))
                    .ok_or_else(|| format!("line {line:?}: bad count"))?;
                if !seen.insert(stack) {
                    return Err(format!("stack {stack:?} appears twice"));
                }
                let (root, rest) = stack
                    .split_once(';')
                    .ok_or_else(|| format!("line {line:?}: a root alone"))?;
                let pid = root_pid(root).map_err(|e| format!("line {line:?}: {e}"))?;
                let leaf = match rest {
                    "(idle)" => Leaf::Idle,
                    "(failed)" => Leaf::Failed,
                    _ => {
                        let frames: Vec<String> = rest.split(';').map(String::from).collect();
                        for frame in &frames {
                            check_frame(frame, true).map_err(|e| format!("line {line:?}: {e}"))?;
                        }
                        Leaf::Frames(frames)
                    }
                };
                Ok(TreeStack {
                    pid,
                    root: root.to_string(),
                    leaf,
                    count,
                })
            })
            .collect()
    }

    /// Stopped at least this often inside busy_request_handler() (every stop the request
    /// counts is: its two counts are taken there), a worker was sampled there. Not 1: pyflame
    /// may stop a process it has just found for more than a sample.
    pub const SAMPLED: u64 = 5;

    /// The checks of a `--subprocesses -s` profile of a server (`parent` and its `workers`)
    /// that served `served`, /busy requests of `app` whose WSGI entry point is `entry`:
    /// - it parses; every root is `process PID CMDLINE`, of the parent and each worker (their
    ///   idle samples at least) and of no other process;
    /// - (a `(failed)` sample is allowed: on a loaded machine a read may overrun its 10 ms stop
    ///   budget, and one read running that finds the stack moved is `(failed)`, see README);
    /// - busy_request_handler() is under no root but those of workers that answered requests;
    /// - some worker has a stack ending `entry;busy_request_handler` at their marked lines;
    /// - every worker stopped SAMPLED times inside busy_request_handler() (as a request's
    ///   answer says) has that function in a stack under its root. (How many samples a request
    ///   gets depends on the load, so no number of them is required.)
    pub fn assert_handler_sampled(
        out: &Output,
        served: &Served,
        app: &Path,
        entry: &str,
        parent: u32,
        workers: &[u32],
    ) -> Vec<TreeStack> {
        let stacks =
            parse_tree_collapsed(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", whole(out)));
        let answers = || format!("answers (worker PID, stops): {:?}", served.answers);
        let roots: BTreeSet<u32> = stacks.iter().map(|s| s.pid).collect();
        let mut all: BTreeSet<u32> = workers.iter().copied().collect();
        all.insert(parent);
        assert_eq!(
            roots,
            all,
            "expected samples (if only idle ones) of the parent {parent} and each worker\n{}",
            whole(out)
        );
        for s in &stacks {
            assert!(
                s.pid == parent || workers.contains(&s.pid),
                "root of a process outside the server (parent {parent}, workers {workers:?}): \
                 {:?}\n{}",
                s.root,
                whole(out)
            );
            assert_eq!(s.root, process_root(s.pid), "{}", whole(out));
        }
        let m = marks(app);
        let file = app.display();
        let handler = format!("{file}:busy_request_handler:");
        let tail = [
            format!("{file}:{entry}:{}", line_of(&m, "app_busy")),
            format!("{file}:busy_request_handler:{}", line_of(&m, "busy")),
        ];
        let mut with_handler = BTreeSet::new();
        let mut spinning = BTreeSet::new();
        for s in &stacks {
            if let Leaf::Frames(frames) = &s.leaf {
                if frames.iter().any(|f| f.starts_with(&handler)) {
                    with_handler.insert(s.pid);
                }
                if frames.ends_with(&tail) {
                    spinning.insert(s.pid);
                }
            }
        }
        let answered: BTreeSet<u32> = served.answers.iter().map(|b| b.pid).collect();
        assert!(
            with_handler.is_subset(&answered),
            "busy_request_handler under the root of processes {:?} that answered no request\n{}\n{}",
            with_handler.difference(&answered).collect::<Vec<_>>(),
            answers(),
            whole(out)
        );
        assert!(
            !spinning.is_empty(),
            "no stack under a worker's root ends {tail:?}\n{}\n{}",
            answers(),
            whole(out)
        );
        let stopped: BTreeSet<u32> = served
            .answers
            .iter()
            .filter(|b| b.stops >= SAMPLED)
            .map(|b| b.pid)
            .collect();
        for pid in &stopped {
            assert!(
                with_handler.contains(pid),
                "worker {pid} was stopped {SAMPLED} times or more inside busy_request_handler(), \
                 but no stack under its root has it\n{}\n{}",
                answers(),
                whole(out)
            );
        }
        stacks
    }

    #[test]
    fn tree_parsers_accept_the_contract_and_nothing_else() {
        let dump =
            "process 7 uwsgi --x\n\nprocess 9 uwsgi --x\n140*: tid=9\n/a.py:f:3\n/a.py:g:1\n\n\
                    141:\n/a.py:h:2\n\nprocess 12 python3 w.py\n";
        let sections = parse_tree_dump(dump).unwrap();
        let shape: Vec<(u32, &str, usize)> = sections
            .iter()
            .map(|s| (s.pid, s.header.as_str(), s.threads.len()))
            .collect();
        assert_eq!(
            shape,
            [
                (7, "process 7 uwsgi --x", 0),
                (9, "process 9 uwsgi --x", 2),
                (12, "process 12 python3 w.py", 0)
            ]
        );
        assert_eq!(sections[1].threads[1].leaf(), "h");
        assert!(parse_tree_dump("").unwrap().is_empty());
        for bad in [
            "140:\n/a.py:f:1\n",                // a thread outside any process
            "process 7 x\n140:\n/a.py:f:1",     // no final newline
            "process x y\n",                    // bad PID
            "process 7\n",                      // no command line
            "process 7 x\n140:\n/a.py:f\n",     // bad frame
            "process 7 x\n140:\n/a.py:f:1\n\n", // blank line at the end
        ] {
            assert!(parse_tree_dump(bad).is_err(), "accepted {bad:?}");
        }

        let profile = "process 7 uwsgi --x;(idle) 5\nprocess 9 uwsgi --x;(failed) 1\n\
                       process 9 uwsgi --x;/a.py:f:3;/a.py:g:1 17\n";
        let stacks = parse_tree_collapsed(profile).unwrap();
        assert_eq!(stacks.len(), 3);
        assert_eq!(
            (stacks[0].pid, &stacks[0].leaf, stacks[0].count),
            (7, &Leaf::Idle, 5)
        );
        assert_eq!(stacks[1].leaf, Leaf::Failed);
        assert_eq!(
            stacks[2].leaf,
            Leaf::Frames(vec!["/a.py:f:3".into(), "/a.py:g:1".into()])
        );
        assert_eq!(stacks[2].root, "process 9 uwsgi --x");
        for bad in [
            "(idle) 5\n",                                   // a bare idle line
            "/a.py:f:1 3\n",                                // no root
            "process 7 x 3\n",                              // a root alone
            "process 7 x;/a.py:f:1 0\n",                    // zero count
            "process 7 x;/a.py:f:1 03\n",                   // leading zero
            "process 7 x;/a.py:f 3\n",                      // frame without line
            "process 7 x;/a.py:f:1 3",                      // no final newline
            "process 7 x;(idle) 1\nprocess 7 x;(idle) 2\n", // twice
            "proc 7 x;/a.py:f:1 3\n",                       // not a process root
        ] {
            assert!(parse_tree_collapsed(bad).is_err(), "accepted {bad:?}");
        }
        let ok = |body: &str| format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n{body}");
        assert_eq!(
            parse_busy(&ok("busy 12 60\n")),
            Ok(Busy { pid: 12, stops: 60 })
        );
        for bad in [
            ok("busy 12 60"),
            ok("busy 12\n"),
            ok("done\n"),
            "HTTP/1.1 500 Internal Server Error\r\n\r\nbusy 12 60\n".into(),
            String::new(),
        ] {
            assert!(parse_busy(&bad).is_err(), "accepted {bad:?}");
        }
    }
}
