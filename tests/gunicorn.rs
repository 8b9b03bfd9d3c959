//! gunicorn (pip-installed by tests/servers/provision into target/venvs/gunicorn, a virtualenv
//! of Debian's python3.11) with 3 sync workers serving tests/scripts/gunicorn_app.py on a unix
//! socket. `--subprocesses -p ARBITER` samples the workers serving a stream of requests, each
//! under its own `process <PID> <cmdline>` root, and gunicorn serves on with the same workers,
//! none of them killed for a timeout.

use crate::util::live::wait_until;
use crate::util::prereq;
use crate::util::process::temp_dir;
use crate::util::target::script_path;
use crate::util::{assert_target_running, pyflame, ChildGuard};
use crate::uwsgi::servers;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);
const WORKERS: usize = 3;

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
struct Arbiter {
    arbiter: ChildGuard,
    dir: PathBuf,
    /// The arbiter's children once all booted, sorted.
    workers: Vec<u32>,
}

impl Arbiter {
    fn start(label: &str) -> Self {
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
            .arg(dir.join("gunicorn.log"))
            .arg("gunicorn_app:app")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let arbiter = ChildGuard::spawn(&mut cmd);
        let mut server = Arbiter {
            arbiter,
            dir,
            workers: Vec::new(),
        };
        let pid = server.pid();
        wait_until(
            WAIT,
            || {
                let workers = servers::children(pid);
                let log = server.log();
                workers.len() == WORKERS
                    && workers
                        .iter()
                        .all(|w| log.contains(&format!("Booting worker with pid: {w}\n")))
            },
            || format!("gunicorn did not boot {WORKERS} workers\n{}", server.log()),
        );
        server.workers = servers::children(pid);
        server
    }

    fn pid(&self) -> u32 {
        self.arbiter.pid()
    }

    fn sock(&self) -> PathBuf {
        self.dir.join("sock")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gunicorn.log")).unwrap_or_default()
    }

    /// After profiling: gunicorn answers another request with the same workers, and its log
    /// tells of no worker timed out, killed or booted again.
    fn assert_healthy(&self) {
        let response = servers::http_get(&self.sock(), "/").unwrap_or_default();
        let pid = response
            .strip_suffix('\n')
            .and_then(|r| r.rsplit_once("\r\n\r\nhello "))
            .and_then(|(_, pid)| pid.parse::<u32>().ok());
        assert!(
            response.starts_with("HTTP/1.0 200 ") && pid.is_some_and(|p| self.workers.contains(&p)),
            "gunicorn does not serve after profiling: {response:?}\n{}",
            self.log()
        );
        assert_eq!(
            servers::children(self.pid()),
            self.workers,
            "gunicorn's workers changed while profiling\n{}",
            self.log()
        );
        let log = self.log();
        for bad in ["WORKER TIMEOUT", "[ERROR]", "[CRITICAL]", "[WARNING]"] {
            assert!(!log.contains(bad), "gunicorn's log has {bad:?}\n{log}");
        }
        assert_eq!(
            log.matches("Booting worker").count(),
            WORKERS,
            "gunicorn booted workers again\n{log}"
        );
        assert_target_running(self.pid());
    }
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
    let server = Arbiter::start("gunicorn-tree-sample");
    let stream = servers::RequestStream::start(&server.sock(), 2, 0.3);
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
    out.assert_clean_success("pyflame --subprocesses on gunicorn's arbiter");
    assert!(
        served.errors.is_empty(),
        "requests failed while pyflame sampled: {:?}\n{}",
        served.errors,
        server.log()
    );
    let _ = servers::assert_handler_sampled(
        &out,
        &served,
        &script_path("gunicorn_app.py"),
        "app",
        server.pid(),
        &server.workers,
    );
    server.assert_healthy();
}
