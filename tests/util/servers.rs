//! What the server tests (tests/uwsgi.rs, tests/gunicorn.rs) share: HTTP over a unix socket, a
//! stream of /busy requests (see tests/scripts/uwsgi_app.py), a pre-forking server under test
//! with the checks that it serves on unharmed after profiling, and the checks of a
//! `--subprocesses` profile of it (the tree-mode output parsed by util::tree).

use super::live::wait_until;
use super::marks::{line_of, marks};
use super::tree::{expected_root, parse_tree_collapsed, TreeProfile};
use super::{assert_target_running, pyflame, ChildGuard, Output};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
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
    let mut pids = super::launch::children(pid);
    pids.sort_unstable();
    pids
}

/// The root frame pyflame gives the live process `pid` in tree mode (util::tree).
pub fn live_root(pid: u32) -> String {
    expected_root(pid).unwrap_or_else(|| panic!("process {pid} has no command line: gone"))
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
        wait_until(
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

/// What differs between the servers a [`Server`] runs.
pub struct Kind {
    /// The server in failure messages: "uWSGI".
    pub name: &'static str,
    /// Its parent process in failure messages: "the uWSGI master".
    pub parent: &'static str,
    /// Its log, in the server's directory.
    pub log_file: &'static str,
    /// Whether the log tells that `worker` has booted (once it is a child).
    pub booted: fn(log: &str, worker: u32) -> bool,
    /// A request any worker answers at once, and which worker answered it, from the whole
    /// response (None if it is not the right answer).
    pub probe: &'static str,
    pub answered_by: fn(response: &str) -> Option<u32>,
    /// What the log must not mention after profiling ...
    pub bad_in_log: &'static [&'static str],
    /// ... ignoring case?
    pub ignore_case: bool,
    /// What the log says once for each worker started.
    pub worker_started: &'static str,
}

/// A pre-forking server serving on the unix socket `sock` of its directory, logging there.
pub struct Server {
    pub kind: &'static Kind,
    parent: ChildGuard,
    pub dir: PathBuf,
    /// The parent's children once all are there (and booted), sorted.
    pub workers: Vec<u32>,
}

impl Server {
    /// Starts `cmd` (the server's parent), then waits until it listens on `dir`/sock and has
    /// `workers` children, each booted as its log tells.
    pub fn start(kind: &'static Kind, cmd: &mut Command, dir: PathBuf, workers: usize) -> Self {
        let mut server = Server {
            kind,
            parent: ChildGuard::spawn(cmd),
            dir,
            workers: Vec::new(),
        };
        let sock = server.sock();
        wait_until(
            WAIT,
            || sock.exists(),
            || format!("{} never listened\n{}", kind.name, server.log()),
        );
        let pid = server.pid();
        wait_until(
            WAIT,
            || {
                let children = children(pid);
                let log = server.log();
                children.len() == workers && children.iter().all(|&w| (kind.booted)(&log, w))
            },
            || {
                let name = kind.name;
                format!("{name} did not start {workers} workers\n{}", server.log())
            },
        );
        server.workers = children(pid);
        server
    }

    pub fn pid(&self) -> u32 {
        self.parent.pid()
    }

    pub fn sock(&self) -> PathBuf {
        self.dir.join("sock")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(self.kind.log_file)).unwrap_or_default()
    }

    /// Two clients sending `/busy?0.3` requests, once two were answered.
    pub fn busy_stream(&self) -> RequestStream {
        let stream = RequestStream::start(&self.sock(), 2, 0.3);
        stream.wait_for(2, || self.log());
        stream
    }

    /// No request of `served` failed while pyflame `did` something.
    pub fn assert_no_errors(&self, served: &Served, did: &str) {
        assert!(
            served.errors.is_empty(),
            "requests failed while pyflame {did}: {:?}\n{}",
            served.errors,
            self.log()
        );
    }

    /// After profiling: the server answers another request with the same workers, and its log
    /// tells of nothing bad and of no worker started again.
    pub fn assert_healthy(&self) {
        let name = self.kind.name;
        let response = http_get(&self.sock(), self.kind.probe)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log()));
        assert!(
            (self.kind.answered_by)(&response).is_some_and(|p| self.workers.contains(&p)),
            "{name} does not serve after profiling: {response:?}\n{}",
            self.log()
        );
        assert_eq!(
            children(self.pid()),
            self.workers,
            "{name}'s workers changed while profiling\n{}",
            self.log()
        );
        let log = self.log();
        for bad in self.kind.bad_in_log {
            let mentions = if self.kind.ignore_case {
                log.to_lowercase().contains(&bad.to_lowercase())
            } else {
                log.contains(bad)
            };
            assert!(!mentions, "{name}'s log mentions {bad:?}\n{log}");
        }
        assert_eq!(
            log.matches(self.kind.worker_started).count(),
            self.workers.len(),
            "{name} started workers again\n{log}"
        );
        assert_target_running(self.pid());
    }

    /// `pyflame --subprocesses -p PARENT -s 3 -r 0.005` while a [`Server::busy_stream`] runs:
    /// it succeeds cleanly, no request fails, and [`assert_handler_sampled`] holds for `app`,
    /// whose WSGI entry point is `entry`.
    pub fn sample_tree(&self, app: &Path, entry: &str) -> (Output, TreeProfile) {
        let stream = self.busy_stream();
        let pid = self.pid().to_string();
        let out = pyflame(&["--subprocesses", "-p", &pid, "-s", "3", "-r", "0.005"]);
        let served = stream.finish();
        out.assert_clean_success(&format!("pyflame --subprocesses on {}", self.kind.parent));
        self.assert_no_errors(&served, "sampled");
        let profile = assert_handler_sampled(&out, &served, app, entry, self.pid(), &self.workers);
        (out, profile)
    }
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
) -> TreeProfile {
    let profile =
        parse_tree_collapsed(&out.stdout, true).unwrap_or_else(|e| panic!("{e}\n{}", whole(out)));
    let answers = || format!("answers (worker PID, stops): {:?}", served.answers);
    let mut all: BTreeSet<u32> = workers.iter().copied().collect();
    all.insert(parent);
    assert_eq!(
        profile.pids(),
        all,
        "expected samples (if only idle ones) of the parent {parent} and each worker\n{}",
        whole(out)
    );
    for line in &profile.lines {
        assert!(
            line.pid == parent || workers.contains(&line.pid),
            "root of a process outside the server (parent {parent}, workers {workers:?}): \
             {:?}\n{}",
            line.root,
            whole(out)
        );
        assert_eq!(line.root, live_root(line.pid), "{}", whole(out));
    }
    let m = marks(app);
    let file = app.display();
    let handler = format!("{file}:busy_request_handler:");
    let tail = [
        format!("{file}:{entry}:{}", line_of(&m, "app_busy")),
        format!("{file}:busy_request_handler:{}", line_of(&m, "busy")),
    ];
    let with_handler = profile.pids_where(|frames| frames.iter().any(|f| f.starts_with(&handler)));
    let spinning = profile.pids_where(|frames| frames.ends_with(&tail));
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
    profile
}

#[test]
fn parse_busy_accepts_a_busy_answer_only() {
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
