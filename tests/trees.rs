//! Process trees (issue 14), end to end on real processes: `--subprocesses` on a
//! multiprocessing pool (sampling and `-d`), on a pool whose workers exit and are replaced
//! while it is sampled, on `-t sh -c` starting two scripts, on a parent with a child that is
//! not Python; several `-p` of unrelated processes, one of which exits mid-run; a child of
//! another user skipped by an unprivileged pyflame with one line; and no process frame without
//! `--subprocesses`. Every stack of a tree starts at `process <PID> <cmdline>`; the tests
//! check which PIDs' roots hold which function, and that a live process's root is exactly
//! its command line (cut to 80 characters and escaped).

use crate::util::collapsed::{frame_text, parse_collapsed};
use crate::util::dump_format::parse_dump;
use crate::util::group::{descendants, describe_pids, imports, numbers_in, Group};
use crate::util::interp::interpreters;
use crate::util::live::{
    spawn_busy, stops, wait_for_samples, wait_until, wait_until_spinning, Background, Busy,
};
use crate::util::marks::{line_of, marks};
use crate::util::prereq;
use crate::util::process::{run_with_watchdog, NobodyCopy, Output, PYFLAME_TIMEOUT};
use crate::util::procfs::blocked_in_stdin_read;
use crate::util::target::{script_path, STARTUP_TIMEOUT};
use crate::util::tree::{
    expected_root, parse_tree_collapsed, parse_tree_dump, root_text, DumpSection, Tail, TreeProfile,
};
use crate::util::{assert_target_running, per_interpreter, pyflame, Interp};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SPINNERS: [&str; 3] = ["spin_a", "spin_b", "spin_c"];

/// A finished pyflame run: its output, and what it was and how long it took, for failure
/// messages.
struct Run {
    out: Output,
    what: String,
}

impl Run {
    fn new(command: String, started: Instant, out: Output) -> Run {
        let what = format!("{command} (took {:.2} s)", started.elapsed().as_secs_f64());
        Run { out, what }
    }

    fn describe(&self) -> String {
        format!("{}\n{}", self.what, self.out.describe())
    }
}

impl std::ops::Deref for Run {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.out
    }
}

/// `pyflame ARGS` under the watchdog.
fn run_pyflame(args: &[&str]) -> Run {
    let started = Instant::now();
    let out = pyflame(args);
    Run::new(format!("pyflame {}", args.join(" ")), started, out)
}

fn tree_profile(out: &Run, context: &str) -> TreeProfile {
    parse_tree_collapsed(&out.stdout, true).unwrap_or_else(|e| {
        panic!(
            "bad tree-mode collapsed output: {e}\n{}{context}",
            out.describe()
        )
    })
}

fn tree_dump(out: &Run, context: &str) -> Vec<DumpSection> {
    parse_tree_dump(&out.stdout)
        .unwrap_or_else(|e| panic!("bad tree-mode dump: {e}\n{}{context}", out.describe()))
}

/// Exit 0, nothing on stderr.
fn assert_clean(out: &Run, what: &str, context: &str) {
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{what}: expected exit 0 and an empty stderr\n{}{context}",
        out.describe()
    );
}

/// Every root of a process that is still alive is exactly `process <PID> <its cmdline>`.
fn assert_live_roots(p: &TreeProfile, out: &Run, context: &str) {
    for pid in p.pids() {
        if let Some(want) = expected_root(pid) {
            assert_eq!(
                p.roots_of(pid),
                BTreeSet::from([want.as_str()]),
                "the root frame of PID {pid} is not its command line\n{}{context}",
                out.describe()
            );
        }
    }
}

fn assert_live_headers(sections: &[DumpSection], out: &Run, context: &str) {
    for s in sections {
        if let Some(want) = expected_root(s.pid) {
            assert_eq!(
                s.header,
                want,
                "the process line of PID {} is not its command line\n{}{context}",
                s.pid,
                out.describe()
            );
        }
    }
}

fn section(sections: &[DumpSection], pid: u32, out: &Run, context: &str) -> DumpSection {
    sections
        .iter()
        .find(|s| s.pid == pid)
        .cloned()
        .unwrap_or_else(|| panic!("no section for process {pid}\n{}{context}", out.describe()))
}

fn set(pids: &[u32]) -> BTreeSet<u32> {
    pids.iter().copied().collect()
}

/// `'text'` for sh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// tests/scripts/pool.py running: the parent spins in parent_wait, each worker in its spin_x.
struct Pool {
    group: Group,
    /// spin_a, spin_b, spin_c -> the PID of the worker spinning in it.
    workers: BTreeMap<String, u32>,
    script: PathBuf,
    marks: std::collections::HashMap<String, u32>,
}

impl Pool {
    fn start(py: &Interp) -> Pool {
        let script = script_path("pool.py");
        let group = Group::python(py, &script, &[&path_text(&py.path)]);
        let workers: BTreeMap<String, u32> = SPINNERS
            .iter()
            .map(|f| (f.to_string(), group.preamble_pid(&format!("WORKER {f}"))))
            .collect();
        for pid in std::iter::once(group.pid).chain(workers.values().copied()) {
            wait_until_spinning(pid, || group.describe());
        }
        Pool {
            group,
            workers,
            marks: marks(&script),
            script,
        }
    }

    fn parent(&self) -> u32 {
        self.group.pid
    }

    /// `file:func:line` at the marker named like the function.
    fn leaf(&self, func: &str) -> String {
        frame_text(&self.script, func, Some(line_of(&self.marks, func)))
    }

    fn describe(&self) -> String {
        format!(
            "\n--- the pool (workers {}) ---\n{}",
            describe_pids(&self.workers),
            self.group.describe()
        )
    }

    fn assert_running(&self) {
        assert_target_running(self.parent());
        for &pid in self.workers.values() {
            assert_target_running(pid);
        }
    }
}

per_interpreter!(pool_tree);

/// What tests/scripts/pool.py imports: a pool, and the semaphores of its queue
/// (`_multiprocessing`, which the source builds of the free-threaded interpreters lack).
const POOL_MODULES: &str = "multiprocessing.pool, multiprocessing.synchronize";

/// multiprocessing.Pool(3), each worker spinning in its own function: sampled with
/// --subprocesses, each function is under its worker's root and no other, the parent's
/// parent_wait under the parent's; -d --subprocesses gives one section per Python process of
/// the tree, in PID order, each a dump, the workers' spinning functions at their tops.
fn pool_tree(py: &Interp) {
    if !imports("pool_tree", py, POOL_MODULES) {
        return;
    }
    let pool = Pool::start(py);
    let parent = pool.parent();
    let pid = parent.to_string();

    let out = run_pyflame(&["--subprocesses", "-p", &pid, "-s", "2", "-r", "0.005"]);
    let context = pool.describe();
    assert_clean(&out, "pyflame --subprocesses -p PARENT -s 2", &context);
    let p = tree_profile(&out, &context);
    for (func, &worker) in &pool.workers {
        assert_eq!(
            p.pids_with_function(func),
            set(&[worker]),
            "{func} must be under the root of worker {worker} and no other\n{}{context}",
            out.describe()
        );
        assert!(
            p.pids_with_leaf(&pool.leaf(func)).contains(&worker),
            "no stack of worker {worker} ends at {}\n{}{context}",
            pool.leaf(func),
            out.describe()
        );
    }
    assert_eq!(
        p.pids_with_leaf(&pool.leaf("parent_wait")),
        set(&[parent]),
        "the parent's parent_wait must be under the parent's root\n{}{context}",
        out.describe()
    );
    let mut family = descendants(parent);
    family.insert(parent);
    assert!(
        p.pids().is_subset(&family),
        "roots of processes outside the pool's tree {family:?}\n{}{context}",
        out.describe()
    );
    assert_live_roots(&p, &out, &context);
    pool.assert_running();

    let dump = run_pyflame(&["-d", "--subprocesses", "-p", &pid]);
    assert_clean(&dump, "pyflame -d --subprocesses -p PARENT", &context);
    let sections = tree_dump(&dump, &context);
    let mut family = descendants(parent);
    family.insert(parent);
    let dumped: BTreeSet<u32> = sections.iter().map(|s| s.pid).collect();
    assert_eq!(
        dumped,
        family,
        "one section per Python process of the tree (all of them are Python)\n{}{context}",
        dump.describe()
    );
    for (func, &worker) in &pool.workers {
        // The innermost frame, or the caller of alive() (called every 10,000 iterations).
        assert!(
            section(&sections, worker, &dump, &context).has_function_within(func, 2),
            "worker {worker} is not dumped in {func}\n{}{context}",
            dump.describe()
        );
    }
    assert!(
        section(&sections, parent, &dump, &context).has_function_within("parent_wait", 1),
        "the parent is not dumped in parent_wait\n{}{context}",
        dump.describe()
    );
    assert_live_headers(&sections, &dump, &context);
    pool.assert_running();
}

per_interpreter!(one_pid_has_no_process_frame);

/// Without --subprocesses, one -p: the output of before (no process frame, the strict
/// single-process grammars), and only the parent's own stacks, not its workers'.
fn one_pid_has_no_process_frame(py: &Interp) {
    if !imports("one_pid_has_no_process_frame", py, POOL_MODULES) {
        return;
    }
    let pool = Pool::start(py);
    let pid = pool.parent().to_string();
    let context = pool.describe();
    let out = run_pyflame(&["-s", "1", "-r", "0.005", "-p", &pid]);
    assert_clean(&out, "pyflame -s 1 -p PARENT", &context);
    let p = parse_collapsed(&out.stdout, true).unwrap_or_else(|e| {
        panic!(
            "not the single-process collapsed grammar: {e}\n{}{context}",
            out.describe()
        )
    });
    assert!(
        p.has_function("parent_wait")
            && SPINNERS.iter().all(|f| !p.has_function(f))
            && !out.stdout.contains("process "),
        "only the parent's stacks, without a process frame\n{}{context}",
        out.describe()
    );
    let dump = run_pyflame(&["-d", "-p", &pid]);
    assert_clean(&dump, "pyflame -d -p PARENT", &context);
    let threads = parse_dump(&dump.stdout).unwrap_or_else(|e| {
        panic!(
            "not the single-process dump grammar: {e}\n{}{context}",
            dump.describe()
        )
    });
    assert!(
        threads
            .iter()
            .any(|t| t.frames.iter().any(|f| f.func == "parent_wait"))
            && threads.iter().all(|t| t
                .frames
                .iter()
                .all(|f| !SPINNERS.contains(&f.func.as_str())))
            && !dump.stdout.lines().any(|l| l.starts_with("process ")),
        "only the parent's threads, without a process line\n{}{context}",
        dump.describe()
    );
    pool.assert_running();
}

per_interpreter!(pool_workers_replaced);

/// Pool(2, maxtasksperchild=1) mapping 100 ms tasks: workers exit and are replaced all the
/// time. Sampled for 3 s with --subprocesses: churn_task in at least 3 worker PIDs (each one
/// the parent reports), exit 0, nothing on stderr; the parent is not left traced or stopped,
/// and its pool still works (it finishes its round, maps once more and joins its workers).
fn pool_workers_replaced(py: &Interp) {
    if !imports("pool_workers_replaced", py, POOL_MODULES) {
        return;
    }
    let script = script_path("pool_churn.py");
    let mut group = Group::python(py, &script, &[&path_text(&py.path)]);
    let parent = group.pid;
    let pid = parent.to_string();
    let out = run_pyflame(&["--subprocesses", "-p", &pid, "-s", "3", "-r", "0.005"]);
    let context = format!("\n--- pool_churn.py ---\n{}", group.describe());
    assert_clean(&out, "pyflame --subprocesses -p PARENT -s 3", &context);
    let p = tree_profile(&out, &context);
    let churners = p.pids_with_function("churn_task");
    assert!(
        churners.len() >= 3 && !churners.contains(&parent),
        "churn_task under {} worker roots ({churners:?}); want at least 3\n{}{context}",
        churners.len(),
        out.describe()
    );
    let leaf = frame_text(
        &script,
        "churn_task",
        Some(line_of(&marks(&script), "churn_task")),
    );
    assert!(
        p.pids_with_leaf(&leaf).len() >= 3,
        "fewer than 3 workers with a stack ending at {leaf}\n{}{context}",
        out.describe()
    );
    assert_live_roots(&p, &out, &context);
    assert_target_running(parent);

    drop(group.stdin.take());
    let pids_line = group.next_line();
    let result = group.next_line();
    let status = group.finish();
    let context = format!("\n--- pool_churn.py ---\n{}", group.describe());
    assert!(
        status.success() && result.starts_with("RESULT 285 "),
        "the pool no longer works after pyflame: exit {status}, said {pids_line:?} {result:?}\n{}{context}",
        out.describe()
    );
    let reported: BTreeSet<u32> = pids_line
        .strip_prefix("PIDS ")
        .unwrap_or_else(|| panic!("not a PIDS line: {pids_line:?}{context}"))
        .split(' ')
        .map(|p| p.parse().expect("a PID"))
        .collect();
    assert!(
        churners.is_subset(&reported),
        "churn_task under roots {churners:?}, but the pool's workers were {reported:?}\n{}{context}",
        out.describe()
    );
}

per_interpreter!(shell_starts_two_scripts);

/// `-t sh -c 'PY a & PY b; wait; exit 3'` with --subprocesses: the shell is passed over, each
/// script's function is under its own root (exactly its command line, cut), and pyflame exits
/// with the shell's status 3 once both scripts have exited. Then a shell that exits while its
/// script still runs: pyflame runs until the script has exited, and exits with status 3.
fn shell_starts_two_scripts(py: &Interp) {
    let spin = script_path("tree_spin.py");
    let (py_q, spin_q) = (sh_quote(&path_text(&py.path)), sh_quote(&path_text(&spin)));
    let shell =
        format!("{py_q} -E -s -B {spin_q} one 2 & {py_q} -E -s -B {spin_q} two 2; wait; exit 3");
    let out = run_pyflame(&["--subprocesses", "-r", "0.005", "-t", "sh", "-c", &shell]);
    let context = format!("\n--- command ---\nsh -c {shell}\n");
    assert!(
        out.status.code() == Some(3) && out.stderr.is_empty(),
        "pyflame -t must exit with the shell's status 3, with an empty stderr\n{}{context}",
        out.describe()
    );
    let p = tree_profile(&out, &context);
    let m = marks(&spin);
    let mut scripts = Vec::new();
    for (name, func) in [("one", "spin_one"), ("two", "spin_two")] {
        let leaf = frame_text(&spin, func, Some(line_of(&m, func)));
        let pids = p.pids_with_function(func);
        assert!(
            pids.len() == 1 && p.pids_with_leaf(&leaf) == pids,
            "{func} must be under one root, ending at {leaf}: {pids:?}\n{}{context}",
            out.describe()
        );
        let pid = *pids.first().unwrap();
        if !py.wrapped {
            let args: Vec<String> = [&path_text(&py.path), "-E", "-s", "-B", &path_text(&spin)]
                .into_iter()
                .map(String::from)
                .chain([name.to_string(), "2".to_string()])
                .collect();
            assert_eq!(
                p.roots_of(pid),
                BTreeSet::from([root_text(pid, &args).as_str()]),
                "the root of the script spinning in {func}\n{}{context}",
                out.describe()
            );
        }
        scripts.push(pid);
    }
    assert!(
        scripts[0] != scripts[1] && p.pids() == set(&scripts),
        "two scripts, two roots, nothing else (not the shell)\n{}{context}",
        out.describe()
    );

    // The shell exits (status 3) a second after starting a script that spins for 3 s:
    // pyflame follows the script to its end, then exits with the shell's status.
    let shell = format!("{py_q} -E -s -B {spin_q} three 3 & sleep 1; exit 3");
    let started = Instant::now();
    let out = run_pyflame(&["--subprocesses", "-r", "0.005", "-t", "sh", "-c", &shell]);
    let elapsed = started.elapsed();
    let context = format!("\n--- command ---\nsh -c {shell}\npyflame took {elapsed:?}\n");
    assert!(
        out.status.code() == Some(3) && out.stderr.is_empty(),
        "pyflame -t must exit with the shell's status 3, with an empty stderr\n{}{context}",
        out.describe()
    );
    let p = tree_profile(&out, &context);
    let pids = p.pids_with_function("spin_three");
    assert!(
        pids.len() == 1 && p.pids() == pids,
        "spin_three under the script's root, and nothing else\n{}{context}",
        out.describe()
    );
    assert!(
        elapsed >= Duration::from_secs(3),
        "pyflame ended before the script it profiled (it spins for 3 s)\n{}{context}",
        out.describe()
    );
}

per_interpreter!(child_not_python);

/// A Python parent (blocked in a read) with two children, `sleep` and a spinning script:
/// --subprocesses says nothing about sleep, profiles the script under its root and counts the
/// parent's samples as idle under the parent's (with -x, the parent has no line at all); -d has
/// sections for the two Python processes.
fn child_not_python(py: &Interp) {
    let script = script_path("tree_parent.py");
    let group = Group::python(py, &script, &[&path_text(&py.path)]);
    let (parent, sleeper, child) = (
        group.pid,
        group.preamble_pid("SLEEP"),
        group.preamble_pid("PYTHON"),
    );
    wait_until_spinning(child, || group.describe());
    wait_until(
        STARTUP_TIMEOUT,
        || blocked_in_stdin_read(parent, parent),
        || format!("the parent is not in its read\n{}", group.describe()),
    );
    let pid = parent.to_string();
    let context = format!(
        "\n--- tree_parent.py (sleep {sleeper}, python {child}) ---\n{}",
        group.describe()
    );

    let out = run_pyflame(&["--subprocesses", "-p", &pid, "-s", "2", "-r", "0.005"]);
    assert_clean(&out, "pyflame --subprocesses -p PARENT -s 2", &context);
    let p = tree_profile(&out, &context);
    let spin = script_path("tree_spin.py");
    let leaf = frame_text(&spin, "spin_one", Some(line_of(&marks(&spin), "spin_one")));
    assert!(
        p.pids() == set(&[parent, child])
            && p.pids_with_function("spin_one") == set(&[child])
            && p.pids_with_leaf(&leaf) == set(&[child]),
        "spin_one under the Python child's root, the parent, and nothing else\n{}{context}",
        out.describe()
    );
    assert!(
        p.idle_of(parent) > 0 && p.busy_of(parent) == 0,
        "the parent, blocked in a read, must be idle under its root\n{}{context}",
        out.describe()
    );
    assert_live_roots(&p, &out, &context);

    // -x: no idle lines at all, so the idle parent has none.
    let out = run_pyflame(&["-x", "--subprocesses", "-p", &pid, "-s", "1", "-r", "0.005"]);
    assert_clean(&out, "pyflame -x --subprocesses -p PARENT -s 1", &context);
    let p = tree_profile(&out, &context);
    assert!(
        p.pids() == set(&[child]) && p.lines.iter().all(|l| l.tail != Tail::Idle),
        "-x: the Python child's stacks only, no idle line\n{}{context}",
        out.describe()
    );

    let dump = run_pyflame(&["-d", "--subprocesses", "-p", &pid]);
    assert_clean(&dump, "pyflame -d --subprocesses -p PARENT", &context);
    let sections = tree_dump(&dump, &context);
    let dumped: BTreeSet<u32> = sections.iter().map(|s| s.pid).collect();
    assert!(
        dumped == set(&[parent, child])
            && section(&sections, child, &dump, &context).has_function_within("spin_one", 2)
            && section(&sections, parent, &dump, &context).has_function_within("main", 1),
        "sections for the parent (in main's read) and the Python child (in spin_one) only\n{}{context}",
        dump.describe()
    );
    assert_live_headers(&sections, &dump, &context);
    for pid in [parent, child, sleeper] {
        assert_target_running(pid);
    }
}

per_interpreter!(several_pids_one_exits);

/// `-p A,C -p B` (a comma list and a repeated -p) of three unrelated scripts; C exits while
/// pyflame runs, and pyflame keeps sampling A and B. After SIGINT: exit 0, nothing on stderr,
/// each function under its own process's root, C's samples from before it exited included.
fn several_pids_one_exits(py: &Interp) {
    let a = spawn_busy(py, "tree_spin.py", &["one", "stdin"]);
    let b = spawn_busy(py, "tree_spin.py", &["two", "stdin"]);
    let mut c = spawn_busy(py, "tree_spin.py", &["three", "stdin"]);
    let c_root = expected_root(c.pid).expect("C runs");
    let list = format!("{},{}", a.pid, c.pid);
    let b_pid = b.pid.to_string();
    let describe = |all: &[&Busy]| {
        all.iter()
            .map(|t| t.describe())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let before = stops(c.pid, c.pid);
    let args = ["-s", "60", "-r", "0.005", "-p", &list, "-p", &b_pid];
    let started = Instant::now();
    // Stopping the threads it samples, so that the targets show each sample.
    let run = Background::stopping(&args);
    wait_for_samples(c.pid, c.pid, before, 20);
    drop(c.stdin.take());
    let status = c.wait_exit();
    assert!(status.success(), "C: {status}\n{}", c.describe());
    let (sa, sb) = (stops(a.pid, a.pid), stops(b.pid, b.pid));
    wait_for_samples(a.pid, a.pid, sa, 20);
    wait_for_samples(b.pid, b.pid, sb, 20);
    run.signal("INT");
    let out = Run::new(
        format!("pyflame {}", args.join(" ")),
        started,
        run.finish(PYFLAME_TIMEOUT),
    );
    let context = format!(
        "\n--- A {} B {} C {} (exited) ---\n{}",
        a.pid,
        b.pid,
        c.pid,
        describe(&[&a, &b])
    );
    assert_clean(&out, "pyflame -p A,C -p B (C exits, then SIGINT)", &context);
    let p = tree_profile(&out, &context);
    let spin = script_path("tree_spin.py");
    let m = marks(&spin);
    for (func, pid) in [
        ("spin_one", a.pid),
        ("spin_two", b.pid),
        ("spin_three", c.pid),
    ] {
        let leaf = frame_text(&spin, func, Some(line_of(&m, func)));
        assert!(
            p.pids_with_function(func) == set(&[pid]) && p.pids_with_leaf(&leaf) == set(&[pid]),
            "{func} must be under the root of {pid} alone, ending at {leaf}\n{}{context}",
            out.describe()
        );
    }
    assert_eq!(
        p.pids(),
        set(&[a.pid, b.pid, c.pid]),
        "roots for A, B and C only\n{}{context}",
        out.describe()
    );
    assert_eq!(
        p.roots_of(c.pid),
        BTreeSet::from([c_root.as_str()]),
        "C's root (read while it ran)\n{}{context}",
        out.describe()
    );
    assert_live_roots(&p, &out, &context);
    assert_target_running(a.pid);
    assert_target_running(b.pid);
}

/// The unprivileged user pyflame runs as, and the other user.
const USER: &str = "65534";
const OTHER_USER: &str = "65533";

/// `setpriv` switching to `uid` (and the same gid), no groups.
fn as_user(uid: &str) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={uid}"),
        &format!("--regid={uid}"),
        "--clear-groups",
    ]);
    cmd
}

/// An interpreter both users can run tree_spin.py with, started by a shell as in the test (a
/// direct `setpriv ... PYTHON` may resolve a path the user cannot reach: setpriv still holds
/// root's capabilities when it execs).
fn python_for_both(spin: &Path) -> Option<&'static Interp> {
    interpreters().iter().find(|py| {
        let shell = format!(
            "exec {} -E -s -B {} one 0",
            sh_quote(&path_text(&py.path)),
            sh_quote(&path_text(spin))
        );
        [USER, OTHER_USER].iter().all(|uid| {
            as_user(uid)
                .args(["--inh-caps=-all", "--ambient-caps=-all", "sh", "-c", &shell])
                .output()
                .is_ok_and(|o| o.status.success())
        })
    })
}

fn status_line(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// pyflame as user U on a shell of U's (no capabilities) whose children are a script of U's
/// and a script of user V's: the V child is skipped with exactly one stderr line naming its
/// PID, exit 0, and U's script is profiled (sampling and -d).
///
/// The tree: root starts the shell as U keeping CAP_SETUID and CAP_SETGID (ambient), which
/// starts V's script through setpriv with every capability dropped, then execs itself as a
/// shell without capabilities (a process whose permitted capabilities are not a subset of the
/// tracer's may not be read or traced: man 2 ptrace, "Ptrace access mode checking"), which
/// starts U's script. Both scripts read the shell's stdin (fd 3: a background job's stdin is
/// /dev/null otherwise) and exit when it closes.
#[test]
fn other_users_child_is_skipped() {
    let test = "other_users_child_is_skipped";
    if !prereq::check(test, prereq::is_root(), "root") || !prereq::programs(test, &["setpriv"]) {
        return;
    }
    let yama = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").ok();
    if let Some(scope) = yama.as_deref().map(str::trim).filter(|s| *s != "0") {
        eprintln!(
            "SKIPPED: {test}: kernel.yama.ptrace_scope is {scope}: an unprivileged user may not trace a process it did not start"
        );
        return;
    }
    let spin = script_path("tree_spin.py");
    let py = python_for_both(&spin);
    if !prereq::check(
        test,
        py.is_some(),
        &format!("a Python that users {USER} and {OTHER_USER} can run"),
    ) {
        return;
    }
    let py = py.unwrap();
    let (py_q, spin_q) = (sh_quote(&path_text(&py.path)), sh_quote(&path_text(&spin)));
    let mine = format!("{py_q} -E -s -B {spin_q} one stdin <&3 & echo \"MINE $!\"; wait");
    let outer = format!(
        "exec 3<&0; setpriv --reuid={OTHER_USER} --regid={OTHER_USER} --clear-groups \
         --inh-caps=-all --ambient-caps=-all {py_q} -E -s -B {spin_q} two stdin <&3 & \
         echo \"OTHER $!\"; exec setpriv --inh-caps=-all --ambient-caps=-all sh -c {}",
        sh_quote(&mine)
    );
    let mut cmd = as_user(USER);
    cmd.args([
        "--inh-caps=+setuid,+setgid",
        "--ambient-caps=+setuid,+setgid",
        "sh",
        "-c",
        &outer,
    ]);
    let group = Group::start(test, &mut cmd);
    let shell = group.pid;
    let (mut my_child, mut other_child, mut ready) = (None, None, 0);
    while my_child.is_none() || other_child.is_none() || ready < 2 {
        let line = group.next_line();
        let pid = |prefix: &str| {
            line.strip_prefix(prefix)
                .and_then(|p| p.parse::<u32>().ok())
        };
        match line.as_str() {
            "READY" => ready += 1,
            _ if pid("MINE ").is_some() => my_child = pid("MINE "),
            _ if pid("OTHER ").is_some() => other_child = pid("OTHER "),
            _ => panic!("unexpected line {line:?}\n{}", group.describe()),
        }
    }
    let (mine, other) = (my_child.unwrap(), other_child.unwrap());
    wait_until_spinning(mine, || group.describe());
    wait_until_spinning(other, || group.describe());
    let context = format!(
        "\n--- shell {shell} (uid {USER}), its children {mine} (uid {USER}) and {other} (uid {OTHER_USER}) ---\n{}",
        group.describe()
    );
    for (pid, uid) in [(shell, USER), (mine, USER), (other, OTHER_USER)] {
        assert_eq!(
            status_line(pid, "Uid"),
            format!("{uid} {uid} {uid} {uid}"),
            "PID {pid}{context}"
        );
    }
    for pid in [shell, mine] {
        assert_eq!(
            status_line(pid, "CapPrm"),
            "0000000000000000",
            "PID {pid} kept capabilities{context}"
        );
    }
    let copy = NobodyCopy::new();
    let shell_pid = shell.to_string();
    let run = |args: &[&str]| {
        let mut cmd = as_user(USER);
        cmd.arg(&copy.binary).args(args);
        let started = Instant::now();
        let out = run_with_watchdog(&mut cmd, "pyflame as an unprivileged user", PYFLAME_TIMEOUT);
        Run::new(format!("{cmd:?}"), started, out)
    };
    // Exit 0 and one stderr line, naming the other user's child and no other process.
    let one_line_about_other = |out: &Run, what: &str| {
        let named = numbers_in(&out.stderr);
        assert!(
            out.status.success()
                && out.stderr.ends_with('\n')
                && out.stderr.lines().count() == 1
                && named.contains(&other)
                && !named.contains(&mine)
                && !named.contains(&shell),
            "{what}: expected exit 0 and one stderr line naming PID {other} (uid {OTHER_USER})\n{}{context}",
            out.describe()
        );
    };

    let out = run(&["--subprocesses", "-p", &shell_pid, "-s", "2", "-r", "0.005"]);
    one_line_about_other(&out, "pyflame --subprocesses -p SHELL -s 2");
    let p = tree_profile(&out, &context);
    let leaf = frame_text(&spin, "spin_one", Some(line_of(&marks(&spin), "spin_one")));
    assert!(
        p.pids() == set(&[mine]) && p.pids_with_leaf(&leaf) == set(&[mine]),
        "only the user's own script, spinning in spin_one\n{}{context}",
        out.describe()
    );
    assert_live_roots(&p, &out, &context);

    let dump = run(&["-d", "--subprocesses", "-p", &shell_pid]);
    one_line_about_other(&dump, "pyflame -d --subprocesses -p SHELL");
    let sections = tree_dump(&dump, &context);
    assert!(
        sections.len() == 1
            && sections[0].pid == mine
            && sections[0].has_function_within("spin_one", 2),
        "one section, the user's own script in spin_one\n{}{context}",
        dump.describe()
    );
    assert_live_headers(&sections, &dump, &context);
    for pid in [shell, mine, other] {
        assert_target_running(pid);
    }
}
