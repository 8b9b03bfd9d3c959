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
use crate::util::servers::{self, live_root, parse_busy, whole, Kind, Server};
use crate::util::target::script_path;
use crate::util::tree::{parse_tree_dump, Tail};
use crate::util::{assert_target_running, pyflame};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);
const PLUGIN: &str = "/usr/lib/uwsgi/plugins/python3_plugin.so";
const WORKERS: usize = 4;

static UWSGI: Kind = Kind {
    name: "uWSGI",
    parent: "the uWSGI master",
    log_file: "uwsgi.log",
    booted: |_, _| true,
    probe: "/busy?0.01",
    answered_by: |response| parse_busy(response).ok().map(|b| b.pid),
    bad_in_log: &["DAMN", "died", "respawn", "HARAKIRI", "killed", "error"],
    ignore_case: true,
    worker_started: "spawned uWSGI worker",
};

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
        path(&dir.join(UWSGI.log_file)),
    ]
}

/// uWSGI with a master and `processes` workers, its directory `PYFLAME_TEST_DIR`.
fn start_uwsgi(label: &str, processes: usize) -> Server {
    let dir = temp_dir(label);
    let args = uwsgi_args(&dir);
    let mut cmd = Command::new(&args[0]);
    cmd.args(&args[1..])
        .args(["--master", "--processes", &processes.to_string()])
        .env("PYFLAME_TEST_DIR", &dir)
        .stdin(Stdio::null());
    Server::start(&UWSGI, &mut cmd, dir, processes)
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(UWSGI.log_file)).unwrap_or_default()
}

/// One HTTP/1.0 request over the unix socket; the response (empty if uWSGI went away).
fn request(dir: &Path, path: &str) -> String {
    servers::http_get(&dir.join("sock"), path).unwrap_or_else(|e| panic!("{e}\n{}", log(dir)))
}

/// Waits until the file `name` in `dir` (written by the app) is not empty; its content.
fn wait_for_file(dir: &Path, name: &str) -> String {
    let file = dir.join(name);
    wait_until(
        WAIT,
        || std::fs::read_to_string(&file).is_ok_and(|s| !s.is_empty()),
        || log(dir),
    );
    std::fs::read_to_string(&file).unwrap()
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

/// A `/block` request, held in wait_for_gate() until [`Held::release`].
struct Held {
    dir: PathBuf,
    in_flight: JoinHandle<String>,
    /// The worker serving it.
    worker: u32,
}

impl Held {
    /// Makes the gate (a FIFO), sends /block and waits until a worker has it.
    fn send(dir: &Path) -> Held {
        assert!(Command::new("mkfifo")
            .arg(dir.join("gate"))
            .status()
            .is_ok_and(|s| s.success()));
        let in_flight = {
            let dir = dir.to_path_buf();
            std::thread::spawn(move || request(&dir, "/block"))
        };
        let worker = wait_for_file(dir, "handling")
            .trim()
            .parse()
            .expect("a PID");
        Held {
            dir: dir.to_path_buf(),
            in_flight,
            worker,
        }
    }

    /// Waits until the worker is in open(2) of the FIFO (openat is 257 on x86-64): its stack
    /// is final.
    fn wait_blocked(&self) {
        let worker = self.worker;
        wait_until(
            WAIT,
            || {
                crate::util::procfs::task_syscall(worker, worker)
                    .is_some_and(|s| s.starts_with("257 "))
            },
            || {
                format!(
                    "the worker is not blocked opening the gate\n{}",
                    crate::util::procfs::describe_tasks(worker)
                )
            },
        );
    }

    /// The held request's two frames, innermost first.
    fn frames() -> Vec<Frame> {
        let app = script_path("uwsgi_app.py");
        let (m, file) = (marks(&app), app.to_string_lossy());
        vec![
            Frame::new(&file, "wait_for_gate", line_of(&m, "gate")),
            Frame::new(&file, "application", line_of(&m, "app_block")),
        ]
    }

    /// Opens the gate: the request is answered.
    fn release(self) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(self.dir.join("gate"))
            .and_then(|mut g| g.write_all(b"x"))
            .expect("open the gate");
        let response = self.in_flight.join().expect("the request thread");
        assert!(
            response.ends_with("done\n"),
            "{response:?}\n{}",
            log(&self.dir)
        );
    }
}

/// The stack of a `/spin` request, root-first.
fn spin_stack() -> Vec<String> {
    let app = script_path("uwsgi_app.py");
    let spin = [("application", "app_spin"), ("spin", "spin")];
    marked_stack(&app, &marks(&app), &spin)
}

#[test]
fn uwsgi_worker_dump() {
    let test = "uwsgi_worker_dump";
    if !have_uwsgi(test) {
        return;
    }
    let server = start_uwsgi("uwsgi-dump", 1);
    let (dir, master) = (&server.dir, server.pid());
    let held = Held::send(dir);
    let worker = held.worker;
    let _worker_guard = KillOnDrop(worker);
    held.wait_blocked();

    let out = pyflame(&["-d", "-p", &worker.to_string()]);
    out.assert_clean_success("pyflame -d on a uWSGI worker");
    let threads = parse_dump(&out.stdout).expect("a dump");
    assert!(
        threads.len() == 1
            && threads[0].frames == Held::frames()
            && threads[0].tid() == Some(worker),
        "expected the request's two frames, tid={worker}\n{}",
        out.describe()
    );
    let master_dump = pyflame(&["-d", "-p", &master.to_string()]);
    master_dump.assert_clean_success("pyflame -d on the uWSGI master");
    assert_eq!(master_dump.stdout, "", "the master runs no Python");
    assert_target_running(worker);
    assert_target_running(master);
    held.release();

    // Sampling the worker while a request spins. Its thread state still holds the master's
    // thread id (uWSGI forks without PyOS_AfterFork_Child): the master must not be touched.
    std::thread::spawn({
        let dir = dir.clone();
        move || request(&dir, "/spin?600")
    });
    wait_for_file(dir, "spinning");
    wait_for_progress(worker, worker, 3);
    let watch = TracerWatch::start(master);
    let out = pyflame(&["-s", "1", "-p", &worker.to_string()]);
    let tracer = watch.finish();
    out.assert_clean_success("pyflame -s 1 on a uWSGI worker");
    assert_eq!(tracer, 0, "profiling the worker traced the master");
    let p =
        parse_collapsed(&out.stdout, true).unwrap_or_else(|e| panic!("{e}\n{}", out.describe()));
    assert!(
        p.count_of(&spin_stack()) > 0 && p.failed == 0,
        "{}",
        out.describe()
    );
    assert_target_running(worker);
    assert_target_running(master);
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
    let sock = dir.join("sock");
    wait_until(
        WAIT,
        || sock.exists(),
        || format!("uWSGI never listened\n{}", log(&dir)),
    );
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
    assert!(
        p.count_of(&spin_stack()) > 0,
        "the /spin request was not sampled\n{text}"
    );
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
    let server = start_uwsgi("uwsgi-tree-dump", WORKERS);
    let held = Held::send(&server.dir);
    let worker = held.worker;
    assert!(server.workers.contains(&worker), "{worker} is no worker");
    held.wait_blocked();
    let stream = server.busy_stream();

    let out = pyflame(&["-d", "--subprocesses", "-p", &server.pid().to_string()]);
    let served = stream.finish();
    out.assert_clean_success("pyflame -d --subprocesses on the uWSGI master");
    let sections = parse_tree_dump(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", whole(&out)));
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
        whole(&out)
    );
    let file = script_path("uwsgi_app.py").to_string_lossy().into_owned();
    for section in &sections {
        assert_eq!(section.header, live_root(section.pid), "{}", whole(&out));
        let threads = &section.threads;
        if section.pid == server.pid() {
            assert!(
                threads.is_empty(),
                "the master runs no Python\n{}",
                whole(&out)
            );
        } else if section.pid == worker {
            assert!(
                threads.len() == 1
                    && threads[0].frames == Held::frames()
                    && threads[0].tid() == Some(worker),
                "expected the held request's two frames in process {worker}, tid={worker}\n{}",
                whole(&out)
            );
        } else {
            // Idle (no thread), or in a /busy request: its outermost frame is the application's.
            let outer = threads.first().and_then(|t| t.frames.last());
            assert!(
                threads.len() <= 1
                    && outer.is_none_or(|f| f.file == file && f.func == "application"),
                "process {}: neither idle nor in a request\n{}",
                section.pid,
                whole(&out)
            );
        }
    }
    server.assert_no_errors(&served, "dumped");
    held.release();
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
    let server = start_uwsgi("uwsgi-tree-sample", WORKERS);
    let (out, profile) = server.sample_tree(&script_path("uwsgi_app.py"), "application");
    assert!(
        profile
            .lines
            .iter()
            .all(|l| l.pid != server.pid() || l.tail == Tail::Idle),
        "the master runs no Python: idle samples only\n{}",
        whole(&out)
    );
    server.assert_healthy();
}
