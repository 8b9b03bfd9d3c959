//! Prerequisites outside Python (unshare, setpriv, capsh, gcc, strip, uWSGI, root): a test
//! whose prerequisite is missing says SKIPPED, except under CI (`PYFLAME_REQUIRE_INTERPRETERS`
//! set, as `.ci/run` does), where a missing prerequisite fails the test.

use super::interp::required;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Under CI: every prerequisite must be there.
pub fn ci() -> bool {
    !required().is_empty()
}

/// True if `ok`; otherwise prints SKIPPED (or, under CI, fails) naming `what` is missing.
pub fn check(test: &str, ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    assert!(
        !ci(),
        "{test}: {what} is missing, and CI requires it (.ci/run installs it)"
    );
    eprintln!("SKIPPED: {test}: {what} is missing");
    false
}

/// `program` in $PATH or in the sbin directories root's PATH has.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file());
    found
}

/// Every program in `programs` exists (else SKIPPED / fails under CI).
pub fn programs(test: &str, programs: &[&str]) -> bool {
    programs
        .iter()
        .all(|p| check(test, find_program(p).is_some(), &format!("the program {p}")))
}

pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// Root, and `unshare` can make mount and PID namespaces here (not in every container).
pub fn namespaces(test: &str) -> bool {
    if !check(test, is_root(), "root") || !programs(test, &["unshare", "nsenter", "mount"]) {
        return false;
    }
    let works = Command::new("unshare")
        .args(["--mount", "--pid", "--fork", "--mount-proc", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    check(
        test,
        works,
        "support for mount and PID namespaces (unshare)",
    )
}
