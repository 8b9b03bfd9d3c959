//! The release binary alone in an empty directory, `chroot`ed there with only /proc mounted
//! (in a private mount namespace), dumps and samples a Python process running outside, on every
//! interpreter: pyflame needs nothing from the filesystem but /proc. The binary is built by
//! the test with `make build` (see util::release).

use crate::util::build::static_pyflame;
use crate::util::collapsed::{parse_collapsed, Collapsed};
use crate::util::dump_format::parse_dump;
use crate::util::launch::chain_stack;
use crate::util::live::spawn_busy;
use crate::util::prereq;
use crate::util::process::{run_with_watchdog, temp_dir, Output, PYFLAME_TIMEOUT};
use crate::util::stacks::{match_stacks, spawn_stacks, Role};
use crate::util::{assert_target_running, per_interpreter, Interp};
use std::path::Path;
use std::process::Command;

/// Runs `/pyflame args` chrooted into `root`, with a fresh /proc mounted there.
fn in_empty_root(root: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--", "sh", "-c"])
        .arg("mount -t proc proc \"$0/proc\" && exec chroot \"$0\" /pyflame \"$@\"")
        .arg(root)
        .args(args);
    run_with_watchdog(&mut cmd, "pyflame in an empty root", PYFLAME_TIMEOUT)
}

per_interpreter!(empty_root);

fn empty_root(py: &Interp) {
    let test = "empty_root";
    if !prereq::namespaces(test) || !prereq::programs(test, &["chroot", "make", "nice"]) {
        return;
    }
    let root = temp_dir("empty-root");
    std::fs::copy(static_pyflame(), root.join("pyflame")).expect("copy the binary");
    std::fs::create_dir(root.join("proc")).expect("mkdir proc");
    let mut entries: Vec<String> = std::fs::read_dir(&root)
        .expect("read the root")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        ["proc", "pyflame"],
        "the root must hold nothing else"
    );

    let stacks = spawn_stacks(py);
    let pid = stacks.target.pid;
    let dump = in_empty_root(&root, &["-d", "-p", &pid.to_string()]);
    dump.assert_clean_success("-d in an empty root");
    let threads = parse_dump(&dump.stdout).expect("a dump");
    let by_role = match_stacks(&threads, &stacks.expected)
        .unwrap_or_else(|e| panic!("python {}: {e}", py.name));
    assert_eq!(by_role[&Role::Main].tid(), Some(pid), "{}", dump.stdout);
    assert!(by_role[&Role::Spinner].holds_gil, "{}", dump.stdout);
    assert_target_running(pid);
    drop(stacks);

    let busy = spawn_busy(py, "spinner.py", &["chain"]);
    let out = in_empty_root(&root, &["-s", "1", "-p", &busy.pid.to_string()]);
    out.assert_clean_success("-s 1 in an empty root");
    let p = parse_collapsed(&out.stdout, true).expect("a profile");
    let want = Collapsed {
        stacks: vec![(chain_stack(&busy.script, &busy.marks), p.total())],
        ..Collapsed::default()
    };
    assert!(p == want && p.total() > 0, "{}", out.describe());
    assert_target_running(busy.pid);
    let _ = std::fs::remove_dir_all(&root);
}
