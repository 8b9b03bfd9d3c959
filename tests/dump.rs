//! `pyflame -d -p PID` end to end, on every interpreter, against stacks.py: every
//! frame of every thread checked exactly, the GIL holder marked, the target left
//! running, `-o FILE` and repeated dumps giving the same text.

use crate::util::dump_format::{parse_dump, render_dump, DumpThread};
use crate::util::process::temp_dir;
use crate::util::stacks::{assert_spinner_spins, match_stacks, spawn_stacks, Role, Stacks};
use crate::util::{assert_target_running, per_interpreter, pyflame, Interp, Output};
use std::collections::HashSet;

per_interpreter!(dump_known_stacks);

fn dump_known_stacks(py: &Interp) {
    let stacks = spawn_stacks(py);
    let out = dump(&stacks, &[]);
    check_known_stacks(&stacks, &out.stdout);
    assert_spinner_spins(&stacks);
}

per_interpreter!(dump_to_file);

fn dump_to_file(py: &Interp) {
    let stacks = spawn_stacks(py);
    let dir = temp_dir("dump_to_file");
    let file = dir.join("dump.txt");
    let to_file = dump(&stacks, &["-o".as_ref(), file.as_os_str()]);
    assert!(
        to_file.stdout.is_empty(),
        "-o: stdout must be empty\n{}",
        to_file.describe()
    );
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("-o {}: {e}", file.display()));
    let written = String::from_utf8(bytes).expect("the dump file is not UTF-8");
    check_known_stacks(&stacks, &written);
    let to_stdout = dump(&stacks, &[]);
    assert_eq!(
        comparable(py, &written),
        comparable(py, &to_stdout.stdout),
        "-o FILE and stdout dumps differ"
    );
    let _ = std::fs::remove_dir_all(dir);
}

per_interpreter!(dump_twice_same);

fn dump_twice_same(py: &Interp) {
    let stacks = spawn_stacks(py);
    let first = dump(&stacks, &[]);
    let second = dump(&stacks, &[]);
    check_known_stacks(&stacks, &first.stdout);
    assert_eq!(
        comparable(py, &first.stdout),
        comparable(py, &second.stdout),
        "two dumps of a frozen target differ"
    );
}

/// A dump as two dumps of the same frozen target must agree on it. Free-threaded builds mark
/// with `*` the threads runnable when the dump started, a moment's observation: the stops of
/// a dump just before leave the waiting threads runnable until the scheduler runs them back
/// into their waits, which a loaded machine may take longer than the next dump takes to
/// start. The first dump of each test is checked with its `*` (`check_known_stacks`).
fn comparable(py: &Interp, text: &str) -> String {
    match py.free_threaded {
        true => text.replace("*:", ":"),
        false => text.to_string(),
    }
}

/// Runs `pyflame -d -p PID [extra]`, which must succeed silently and leave the
/// target running.
pub(crate) fn dump(stacks: &Stacks, extra: &[&std::ffi::OsStr]) -> Output {
    let pid = stacks.target.pid.to_string();
    let mut args = vec!["-d".as_ref(), "-p".as_ref(), pid.as_ref()];
    args.extend_from_slice(extra);
    let out = pyflame(&args);
    out.assert_clean_success(&format!(
        "pyflame -d -p {pid} on python {}",
        stacks.target.python.name
    ));
    assert_target_running(stacks.target.pid);
    out
}

/// The whole contract for a dump of stacks.py.
pub(crate) fn check_known_stacks(stacks: &Stacks, text: &str) {
    let python = &stacks.target.python.name;
    let threads =
        parse_dump(text).unwrap_or_else(|e| panic!("python {python}: bad dump: {e}\n{text}"));
    let by_role =
        match_stacks(&threads, &stacks.expected).unwrap_or_else(|e| panic!("python {python}: {e}"));
    let context = || format!("python {python}\n{}", render_dump(&threads));
    for (role, thread) in &by_role {
        assert_eq!(
            thread.holds_gil,
            *role == Role::Spinner,
            "only the spinner must carry '*' (it holds the GIL); {} thread: {}\n{}",
            role.name(),
            thread.holds_gil,
            context()
        );
    }
    let ids: HashSet<u64> = threads.iter().map(|t| t.id).collect();
    assert_eq!(
        ids.len(),
        threads.len(),
        "thread ids are not distinct\n{}",
        context()
    );
    check_tids(stacks, &by_role.into_iter().collect::<Vec<_>>(), &context());
}

/// `tid=N` header info, where present, names distinct existing threads, and the
/// right ones where we know them: main is the PID, the spinner the busy thread.
fn check_tids(stacks: &Stacks, threads: &[(Role, &DumpThread)], context: &str) {
    let pid = stacks.target.pid;
    let tasks = crate::util::procfs::task_ids(pid);
    let mut seen = HashSet::new();
    for (role, thread) in threads {
        let Some(tid) = thread.tid() else { continue };
        assert!(
            tasks.contains(&tid),
            "tid={tid} is not a thread of {pid} ({tasks:?})\n{context}"
        );
        assert!(seen.insert(tid), "tid={tid} appears twice\n{context}");
        let known = match role {
            Role::Main => Some(pid),
            Role::Spinner => Some(stacks.spinner_tid),
            _ => None,
        };
        if let Some(want) = known {
            assert_eq!(
                tid,
                want,
                "{} thread has tid={tid}, expected {want}\n{context}",
                role.name()
            );
        }
    }
}

per_interpreter!(layout_source);

/// `--verbose` names the version found and where its layout came from: pyflame's table up to
/// 3.12, the target's own `_Py_DebugOffsets` from 3.13 (free-threaded builds included).
fn layout_source(py: &Interp) {
    let stacks = spawn_stacks(py);
    let pid = stacks.target.pid.to_string();
    let out = pyflame(&["--verbose", "-d", "-p", &pid]);
    assert!(out.status.success(), "--verbose -d\n{}", out.describe());
    let line = out.stderr.lines().next().unwrap_or_default();
    // Before 3.11 the micro version is often unknown ("Python 3.9 in ...").
    let version = format!("PID {pid}: Python {}.{}", py.major, py.minor);
    let after = line.strip_prefix(&version).unwrap_or_default();
    let source = match (py.major, py.minor) >= (3, 13) {
        true => "layout from the target's own _Py_DebugOffsets",
        false => "layout from pyflame's table",
    };
    assert!(
        (after.starts_with('.') || after.starts_with(' '))
            && line.ends_with(source)
            && line.contains("(free-threaded)") == py.free_threaded
            && out.stderr.lines().count() == 1,
        "--verbose: want {version:?} ... {source:?}\n{}",
        out.describe()
    );
    check_known_stacks(&stacks, &out.stdout);
}
