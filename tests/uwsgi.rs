//! uWSGI from Debian's packages (uwsgi-core, uwsgi-plugin-python3: the plugin loads libpython
//! at run time) serving tests/scripts/uwsgi_app.py. `-d` on a worker in the middle of a request
//! shows the application's frames exactly, and on the master (an interpreter, but no Python
//! running) shows nothing; sampling a worker never touches the master; `pyflame -t uwsgi ...`
//! waits for the interpreter, profiles the requests it serves and passes on uWSGI's status.

use crate::util::collapsed::{marked_stack, parse_collapsed};
use crate::util::dump_format::{parse_dump, Frame};
use crate::util::live::{wait_for_progress, wait_until, Background, TracerWatch};
use crate::util::marks::{line_of, marks};
use crate::util::prereq;
use crate::util::process::{temp_dir, PYFLAME_TIMEOUT};
use crate::util::target::script_path;
use crate::util::{assert_target_running, pyflame, ChildGuard};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
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
    // The socket file appears at bind(), a moment before uWSGI listens on it: until then a
    // connection is refused.
    let deadline = std::time::Instant::now() + WAIT;
    let mut stream = loop {
        match UnixStream::connect(dir.join("sock")) {
            Err(e)
                if e.kind() == std::io::ErrorKind::ConnectionRefused
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other.expect("connect to uWSGI"),
        }
    };
    stream.set_read_timeout(Some(WAIT)).expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").expect("send the request");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
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
