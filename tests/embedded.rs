//! Embedded interpreters, on every interpreter with a libpython: a C program linked against
//! it (`pythonX.Y-config --embed`), and one that dlopen()s it half a second after it starts
//! (tests/c/embed.c). Both are found without --abi: `-d` of stacks.py gives every frame
//! exactly, and `-t` waits for the interpreter, profiles traced.py and passes on its status.

use crate::util::build;
use crate::util::prereq;
use crate::util::process::run_with_watchdog;
use crate::util::stacks::{match_stacks, spawn_stacks, Role};
use crate::util::target::script_path;
use crate::util::trace_check::check_trace;
use crate::util::{assert_target_running, per_interpreter, pyflame, ChildGuard, Interp};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The two embedding programs for `py`: (linked, dlopen).
fn programs(test: &str, py: &Interp) -> Option<(PathBuf, PathBuf)> {
    // A wrapper-started interpreter has no pythonX.Y-config of its own to embed it with.
    if !py.has_own_executable(test) {
        return None;
    }
    let config = PathBuf::from(format!("{}-config", py.path.display()));
    if !prereq::programs(test, &["gcc"])
        || !prereq::check(test, config.is_file(), &format!("{}", config.display()))
    {
        return None;
    }
    let ask = |args: &[&str]| {
        let mut cmd = Command::new(&config);
        cmd.args(args);
        let out = run_with_watchdog(&mut cmd, "python-config", Duration::from_secs(60));
        assert!(
            out.status.success(),
            "{config:?} {args:?}\n{}",
            out.describe()
        );
        out.stdout
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // --embed (3.8+) adds -lpythonX.Y, which --ldflags stopped giving.
    let embed = (py.major, py.minor) >= (3, 8);
    let ldflags = ask(if embed {
        &["--embed", "--ldflags"]
    } else {
        &["--ldflags"]
    });
    let prefix = ask(&["--prefix"]).join(" ");
    let mut cflags = ask(&["--includes"]);
    cflags.push(format!("-DPREFIX=\"{prefix}\""));
    let libpython = Command::new(&py.path)
        .args(["-c", "import sysconfig; v = sysconfig.get_config_var; print(v('LIBDIR') + '/' + v('INSTSONAME'))"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert!(
        Path::new(&libpython).is_file(),
        "no libpython for {}: {libpython:?}",
        py.name
    );
    let linked = build::compile(
        "embed.c",
        &format!("embed-linked-{}", py.name),
        &cflags,
        &ldflags,
    );
    cflags.push(format!("-DLIBPYTHON=\"{libpython}\""));
    let late = build::compile(
        "embed.c",
        &format!("embed-dlopen-{}", py.name),
        &cflags,
        &["-ldl".into()],
    );
    Some((linked, late))
}

/// The embedding program as an "interpreter" the harness can run scripts with.
fn as_interp(py: &Interp, program: &Path) -> Interp {
    Interp {
        path: program.to_path_buf(),
        ..py.clone()
    }
}

/// `-d` of stacks.py run by `program`: every frame of every thread, the spinner holding the GIL.
fn check_dump(py: &Interp, program: &Path) {
    let stacks = spawn_stacks(&as_interp(py, program));
    let pid = stacks.target.pid;
    let out = pyflame(&["-d", "-p", &pid.to_string()]);
    out.assert_clean_success(&format!("pyflame -d on {}", program.display()));
    let threads = crate::util::dump_format::parse_dump(&out.stdout).expect("a dump");
    let by_role = match_stacks(&threads, &stacks.expected)
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(by_role[&Role::Spinner].holds_gil, "{}", out.stdout);
    assert_eq!(by_role[&Role::Main].tid(), Some(pid), "{}", out.stdout);
    assert_target_running(pid);
}

per_interpreter!(embedded_linked);

fn embedded_linked(py: &Interp) {
    let Some((linked, _)) = programs("embedded_linked", py) else {
        return;
    };
    check_dump(py, &linked);
    check_trace(&[linked.into_os_string()]);
}

per_interpreter!(embedded_dlopen);

fn embedded_dlopen(py: &Interp) {
    let Some((_, late)) = programs("embedded_dlopen", py) else {
        return;
    };
    // Before its dlopen() the program has no Python at all.
    let idle = script_path("idle.py");
    let mut waiting = Command::new(&late);
    waiting
        .arg(&idle)
        .env("EMBED_DELAY_MS", "600000")
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let waiting = ChildGuard::spawn(&mut waiting);
    let out = pyflame(&["-d", "-p", &waiting.pid().to_string()]);
    assert!(
        out.status.code() == Some(1)
            && out.stderr.starts_with(&format!(
                "Failed to locate libpython in PID {}: none of embed-dlopen-{} defines",
                waiting.pid(),
                py.name
            )),
        "before dlopen()\n{}",
        out.describe()
    );
    drop(waiting);
    check_dump(py, &late);
    check_trace(&[late.into_os_string()]);
}
