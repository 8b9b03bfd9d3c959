//! Command-line checks shared by the test modules: one-line errors, a harmless
//! bystander PID, the `-v` line's format.

use super::process::{ChildGuard, Output};
use std::process::Command;

/// Exit 1, empty stdout, exactly one stderr line (returned, without its newline).
pub fn one_line_error(out: &Output) -> String {
    assert!(
        out.status.code() == Some(1)
            && out.stdout.is_empty()
            && out.stderr.ends_with('\n')
            && out.stderr.matches('\n').count() == 1,
        "expected exit 1 and one stderr line\n{}",
        out.describe()
    );
    out.stderr.trim_end().to_string()
}

/// A process that is not Python (`sleep 1000`), as the PID for commands that must
/// fail before attaching; killed on Drop.
pub fn bystander() -> ChildGuard {
    ChildGuard::spawn(Command::new("sleep").arg("1000"))
}

/// `^pyflame \d+\.\d+\.\d+ (\(commit [0-9a-f]+\) )?\S+ \S+ \(ABI list: [\d ]+\+?\)$`: the
/// original suite's regex (whose ABI list is `.+`), stricter: numbers, the last one may end
/// with `+` (`313+`: that minor and every later one).
pub fn version_line_ok(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("pyflame ") else {
        return false;
    };
    let Some((version, rest)) = rest.split_once(' ') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() != 3 || !parts.iter().all(|p| digits(p)) {
        return false;
    }
    let rest = match rest.strip_prefix("(commit ") {
        Some(commit) => match commit.split_once(") ") {
            Some((sha, rest))
                if !sha.is_empty()
                    && sha
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) =>
            {
                rest
            }
            _ => return false,
        },
        None => rest,
    };
    let Some((host, rest)) = rest.split_once(' ') else {
        return false;
    };
    let Some((cpu, rest)) = rest.split_once(' ') else {
        return false;
    };
    let abis = rest
        .strip_prefix("(ABI list: ")
        .and_then(|r| r.strip_suffix(')'));
    !host.is_empty()
        && !cpu.is_empty()
        && abis.is_some_and(|a| {
            let a = a.strip_suffix('+').unwrap_or(a);
            !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit() || b == b' ')
        })
}

#[test]
fn version_line_ok_follows_the_original_regex() {
    assert!(version_line_ok(
        "pyflame 2.0.0 linux-gnu x86_64 (ABI list: 27 313)"
    ));
    assert!(version_line_ok(
        "pyflame 1.6.6 (commit 0af3) linux-gnu x86_64 (ABI list: 26 36)"
    ));
    assert!(version_line_ok(
        "pyflame 2.0.0 linux-gnu x86_64 (ABI list: 27 312 313+)"
    ));
    for bad in [
        "pyflame 2.0.0 linux-gnu x86_64 (ABI list: 313+ 27)",
        "pyflame 2.0.0 linux-gnu x86_64 (ABI list: +)",
        "pyflame 2.0 linux x86_64 (ABI list: 27)",
        "pyflame 2.0.0 linux-gnu x86_64",
        "pyflame 2.0.0 (commit XYZ) linux-gnu x86_64 (ABI list: 27)",
        "pyflame 2.0.0 linux-gnu x86_64 (ABI list: 27) ",
        "pyflame 2.0.0 linux gnu x86_64 (ABI list: 27)",
    ] {
        assert!(!version_line_ok(bad), "accepted {bad:?}");
    }
}
