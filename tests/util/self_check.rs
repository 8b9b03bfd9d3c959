//! Tests of the harness itself, needing no profiler: interpreter discovery, the
//! stacks.py target reaching its frozen state, and Python's own view of its stacks
//! agreeing with what the dump tests expect.

use super::dump_format::parse_dump;
use super::interp::{interpreters, per_interpreter, required, Interp};
use super::procfs;
use super::stacks::{expected_stacks, match_stacks, spawn_stacks, Role};
use super::target::spawn_script;

#[test]
fn discovered_interpreters() {
    for py in interpreters() {
        eprintln!(
            "{:<12} {}.{} {}",
            py.name,
            py.major,
            py.minor,
            py.path.display()
        );
    }
    eprintln!("required: {:?}", required());
}

per_interpreter!(harness_self_check);

/// stacks.py gets ready: main blocked in read(0), one thread spinning, the other
/// two asleep, nobody tracing it.
fn harness_self_check(py: &Interp) {
    let stacks = spawn_stacks(py);
    let pid = stacks.target.pid;
    assert!(procfs::blocked_in_stdin_read(pid, pid));
    for tid in procfs::task_ids(pid) {
        if tid != stacks.spinner_tid {
            let stat = procfs::task_stat(pid, tid).expect("thread exists");
            assert_eq!(
                stat.state,
                'S',
                "thread {tid} should sleep\n{}",
                stacks.target.describe()
            );
        }
    }
    assert_eq!(stacks.expected[&Role::Main].len(), main_depth(py));
    procfs::assert_target_running(pid);
}

per_interpreter!(harness_python_view);

/// In its self-check mode, stacks.py prints every thread's stack as Python itself
/// sees it, in dump format: it must match the expectations frame for frame.
fn harness_python_view(py: &Interp) {
    let target = spawn_script(py, "stacks.py", &["--self-check"]);
    let begin = target.preamble.iter().position(|l| l == "SELFCHECK BEGIN");
    let end = target.preamble.iter().position(|l| l == "SELFCHECK END");
    let (Some(begin), Some(end)) = (begin, end) else {
        panic!(
            "no SELFCHECK block in {:?}\n{}",
            target.preamble,
            target.describe()
        );
    };
    let text = target.preamble[begin + 1..end].join("\n") + "\n";
    let threads = parse_dump(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let expected = expected_stacks(py, &target.marks, "self_check_view");
    let by_role =
        match_stacks(&threads, &expected).unwrap_or_else(|e| panic!("python {}: {e}", py.name));
    for (role, thread) in by_role {
        assert_eq!(thread.info_value("role"), Some(role.name()));
    }
}

fn main_depth(py: &Interp) -> usize {
    // wait_for_test + base + 500 recursions + [3 unicode] + 9 frames to <module>
    1 + 1 + 500 + if py.is_py2() { 0 } else { 3 } + 9
}
