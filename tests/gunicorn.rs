//! gunicorn (pip-installed by tests/servers/provision into target/venvs/gunicorn, a virtualenv
//! of Debian's python3.11) with 3 sync workers serving tests/scripts/gunicorn_app.py on a unix
//! socket. `--subprocesses -p ARBITER` samples the workers serving a stream of requests, each
//! under its own `process <PID> <cmdline>` root, and gunicorn serves on with the same workers,
//! none of them killed for a timeout.

use crate::util::prereq;
use crate::util::process::temp_dir;
use crate::util::servers::{Kind, Server};
use crate::util::target::script_path;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WORKERS: usize = 3;

static GUNICORN: Kind = Kind {
    name: "gunicorn",
    parent: "gunicorn's arbiter",
    log_file: "gunicorn.log",
    booted: |log, worker| log.contains(&format!("Booting worker with pid: {worker}\n")),
    probe: "/",
    answered_by: hello_pid,
    bad_in_log: &["WORKER TIMEOUT", "[ERROR]", "[CRITICAL]", "[WARNING]"],
    ignore_case: false,
    worker_started: "Booting worker",
};

/// The worker's PID in a whole response with status 200 and the body "hello PID\n".
fn hello_pid(response: &str) -> Option<u32> {
    let pid = response
        .strip_suffix('\n')
        .and_then(|r| r.rsplit_once("\r\n\r\nhello "))
        .and_then(|(_, pid)| pid.parse::<u32>().ok());
    pid.filter(|_| response.starts_with("HTTP/1.0 200 "))
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venvs/gunicorn")
}

fn have_gunicorn(test: &str) -> bool {
    let works = venv().join("bin/gunicorn").is_file()
        && Command::new(venv().join("bin/python"))
            .args(["-c", "import gunicorn"])
            .stdin(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    prereq::check(
        test,
        works,
        "gunicorn in target/venvs/gunicorn (tests/servers/provision, `make servers`)",
    )
}

/// gunicorn's arbiter with its sync workers.
fn start_gunicorn(label: &str) -> Server {
    let dir = temp_dir(label);
    let scripts = script_path("gunicorn_app.py")
        .parent()
        .expect("tests/scripts")
        .to_path_buf();
    let mut cmd = Command::new(venv().join("bin/gunicorn"));
    cmd.args(["-w", &WORKERS.to_string(), "-b"])
        .arg(format!("unix:{}", dir.join("sock").display()))
        .arg("--chdir")
        .arg(&scripts)
        .arg("--error-logfile")
        .arg(dir.join(GUNICORN.log_file))
        .arg("gunicorn_app:app")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Server::start(&GUNICORN, &mut cmd, dir, WORKERS)
}

/// `--subprocesses -p ARBITER -s 3 -r 0.005` on gunicorn with 3 sync workers serving two
/// clients' stream of requests that spin in busy_request_handler(): the handler's stack is under
/// the root of each worker that was stopped while it spun (the answer gives the worker's PID
/// and how often), under no root of a worker that served nothing; every root names its process;
/// gunicorn goes on serving with the same workers and none timed out.
#[test]
fn gunicorn_subprocesses_sample() {
    let test = "gunicorn_subprocesses_sample";
    if !have_gunicorn(test) {
        return;
    }
    let server = start_gunicorn("gunicorn-tree-sample");
    let _ = server.sample_tree(&script_path("gunicorn_app.py"), "app");
    server.assert_healthy();
}
