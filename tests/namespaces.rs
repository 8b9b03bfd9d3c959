//! Containers, on every interpreter: a target in its own mount and PID namespaces whose
//! interpreter exists only in its mount namespace, profiled from outside with its outer PID
//! (the host's view) and from inside its PID namespace with a mount namespace of pyflame's own
//! (a debug container's view). Dumps name threads as the target numbers them, plus pyflame's
//! number where it differs; and a thread id from the target never makes pyflame touch the
//! process that id names in pyflame's namespace (a canary holds it).

use crate::util::collapsed::{parse_collapsed, Collapsed};
use crate::util::container::{contained, pyflame_in_pid_namespace, Contained};
use crate::util::dump_format::{parse_dump, DumpThread};
use crate::util::launch::{chain_stack, Launched, Ready};
use crate::util::live::TracerWatch;
use crate::util::prereq;
use crate::util::{assert_target_running, per_interpreter, pyflame, ChildGuard, Interp, Output};
use std::process::Command;

/// The one thread of spinner.py chain: its whole stack, holding the GIL.
fn check_chain_dump(t: &Launched, out: &Output) -> DumpThread {
    let threads =
        parse_dump(&out.stdout).unwrap_or_else(|e| panic!("bad dump: {e}\n{}", out.describe()));
    let mut want = chain_stack(&t.script, &t.marks);
    want.reverse();
    let got: Vec<String> = threads
        .iter()
        .flat_map(|th| th.frames.iter().map(|f| f.to_string()))
        .collect();
    assert!(
        threads.len() == 1 && threads[0].holds_gil && got == want,
        "expected spinner.py chain's one stack, holding the GIL\n{}\n{}",
        out.describe(),
        t.describe()
    );
    threads[0].clone()
}

/// `-s 1`: every sample is the chain stack.
fn check_chain_profile(t: &Launched, out: &Output) {
    out.assert_clean_success("pyflame -s 1");
    let p = parse_collapsed(&out.stdout, true)
        .unwrap_or_else(|e| panic!("bad profile: {e}\n{}", out.describe()));
    let want = Collapsed {
        stacks: vec![(chain_stack(&t.script, &t.marks), p.total())],
        ..Collapsed::default()
    };
    assert!(
        p == want && p.total() > 0,
        "expected only spinner.py chain's stack\n{}\n{}",
        out.describe(),
        t.describe()
    );
}

/// The canary must never have been traced, and must still be running.
fn check_canary(canary: &ChildGuard, watch: TracerWatch) {
    let tracer = watch.finish();
    assert_eq!(
        tracer, 0,
        "pyflame traced the canary (PID {}), an unrelated process whose PID equals the target's thread id inside its namespace",
        canary.pid()
    );
    assert_target_running(canary.pid());
}

per_interpreter!(namespace_from_host);

/// pyflame outside the target's namespaces, given its outer PID. The target's PID inside its
/// namespace is the PID of a canary process in ours.
fn namespace_from_host(py: &Interp) {
    if !prereq::namespaces("namespace_from_host") {
        return;
    }
    let canary = ChildGuard::spawn(Command::new("sleep").arg("1000"));
    let c: Contained = contained(
        py,
        "spinner.py",
        &["chain"],
        Ready::Spinning,
        Some(canary.pid()),
    );
    let t = &c.target;
    let pid = t.pid.to_string();
    let watch = TracerWatch::start(canary.pid());
    let dump = pyflame(&["-d", "-p", &pid]);
    dump.assert_clean_success("pyflame -d -p <contained python>");
    let thread = check_chain_dump(t, &dump);
    assert_eq!(
        (thread.tid(), thread.info_value("outer_tid")),
        (Some(c.ns_pid), Some(pid.as_str())),
        "the thread must be tid={} (the target's view) outer_tid={pid} (ours)\n{}",
        c.ns_pid,
        dump.describe()
    );
    let profile = pyflame(&["-s", "1", "-p", &pid]);
    check_chain_profile(t, &profile);
    check_canary(&canary, watch);
    assert_target_running(t.pid);
}

per_interpreter!(namespace_from_debug_container);

/// pyflame in the target's PID namespace but not its mount namespace, given the PID the target
/// has there.
fn namespace_from_debug_container(py: &Interp) {
    if !prereq::namespaces("namespace_from_debug_container") {
        return;
    }
    let c = contained(py, "spinner.py", &["chain"], Ready::Spinning, None);
    let t = &c.target;
    let pid = c.ns_pid.to_string();
    let dump = pyflame_in_pid_namespace(c.init, &["-d", "-p", &pid]);
    dump.assert_clean_success("pyflame -d -p <pid in its namespace>, from inside");
    let thread = check_chain_dump(t, &dump);
    assert_eq!(
        (thread.tid(), thread.info_value("outer_tid")),
        (Some(c.ns_pid), None),
        "in the target's own PID namespace the thread is tid={pid}, and nothing else\n{}",
        dump.describe()
    );
    let profile = pyflame_in_pid_namespace(c.init, &["-s", "1", "-p", &pid]);
    check_chain_profile(t, &profile);
    assert_target_running(t.pid);
}
