//! Which Python interpreters this machine has, which ones CI requires, and the
//! `per_interpreter!` macro that turns one test function into one `#[test]` per
//! interpreter (plus one for interpreters nobody listed, e.g. a 3.14 elsewhere).
//!
//! Discovery: every `$PYENV_ROOT/versions/<X.Y...>/bin/pythonX.Y` (named "X.Y",
//! or by its full directory name when one minor version has several builds),
//! every real `/usr/bin/pythonX.Y` that is not a link into pyenv (named
//! "debian-X.Y"), and every `target/pythons/<name>/python` that
//! `tests/pythons/provision` made (Debian's 3.14 and 3.15, free-threaded 3.13t and
//! 3.14t; `make test` runs it). Each is run once to learn its real version.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// One Python interpreter found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interp {
    /// "3.12" (pyenv), "3.12.1" (pyenv, when several 3.12 builds exist) or "debian-3.11".
    pub name: String,
    pub path: PathBuf,
    pub major: u32,
    pub minor: u32,
    /// A free-threaded build (3.13t+): it runs without a GIL.
    pub free_threaded: bool,
    /// `path` is a script that execs the interpreter (those `tests/pythons/provision` made).
    pub wrapped: bool,
}

impl Interp {
    pub fn is_py2(&self) -> bool {
        self.major == 2
    }

    /// For tests that copy, strip, relaunch or wrap the interpreter's own executable: false
    /// (and the test says SKIPPED) when `path` is a wrapper script, not that executable.
    pub fn has_own_executable(&self, test: &str) -> bool {
        if self.wrapped {
            eprintln!(
                "SKIPPED: {test} on python {}: {} is a script that starts the interpreter, not its executable",
                self.name,
                self.path.display()
            );
        }
        !self.wrapped
    }
}

/// The variable `.ci/run` sets: `1` means [`DEFAULT_REQUIRED`], anything else is a
/// comma-separated list of names.
pub const REQUIRE_VAR: &str = "PYFLAME_REQUIRE_INTERPRETERS";

/// What `PYFLAME_REQUIRE_INTERPRETERS=1` requires on this kind of machine.
pub const DEFAULT_REQUIRED: &[&str] = &[
    "2.7",
    "3.6",
    "3.7",
    "3.8",
    "3.9",
    "3.10",
    "3.11",
    "3.12",
    "3.13",
    "debian-3.11",
    "debian-3.14",
    "debian-3.15",
    "3.13t",
    "3.14t",
    "3.14-tailcall",
];

/// Every interpreter on this machine, discovered once per test process.
pub fn interpreters() -> &'static [Interp] {
    static FOUND: OnceLock<Vec<Interp>> = OnceLock::new();
    FOUND.get_or_init(discover)
}

/// The names that must be present (empty unless `PYFLAME_REQUIRE_INTERPRETERS` is set).
pub fn required() -> Vec<String> {
    let value = std::env::var(REQUIRE_VAR).unwrap_or_default();
    match value.trim() {
        "" | "0" => Vec::new(),
        "1" => DEFAULT_REQUIRED.iter().map(|s| s.to_string()).collect(),
        list => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    }
}

/// Whether the interpreter called `name` is what a test listed as `wanted`: the
/// same name, or a patch-level build of it ("3.12" covers "3.12.1" and "3.12.2").
pub fn name_matches(wanted: &str, name: &str) -> bool {
    name == wanted
        || name
            .strip_prefix(wanted)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// The first interpreter found, for tests that need "some Python".
pub fn any_interp() -> Option<&'static Interp> {
    interpreters().first()
}

/// Runs `test` on the interpreter(s) named `wanted`; skips (or, when required, fails) if none.
pub fn run_on(test: &str, wanted: &str, f: fn(&Interp)) {
    let matching: Vec<&Interp> = interpreters()
        .iter()
        .filter(|py| name_matches(wanted, &py.name))
        .collect();
    if matching.is_empty() {
        if required().iter().any(|r| r == wanted) {
            panic!(
                "{test}: python {wanted} is required ({REQUIRE_VAR}) but not installed; found: [{}]",
                names(interpreters().iter())
            );
        }
        eprintln!("SKIPPED: {test} on python {wanted}: not installed");
        return;
    }
    run_all(test, &matching, f);
}

/// Runs `test` on every discovered interpreter that no name in `listed` covers, and
/// fails if a required interpreter outside `listed` is missing.
pub fn run_on_others(test: &str, listed: &[&str], f: fn(&Interp)) {
    let covered = |name: &str| listed.iter().any(|w| name_matches(w, name));
    let missing: Vec<String> = required()
        .into_iter()
        .filter(|r| !covered(r))
        .filter(|r| !interpreters().iter().any(|py| name_matches(r, &py.name)))
        .collect();
    let others: Vec<&Interp> = interpreters()
        .iter()
        .filter(|py| !covered(&py.name))
        .collect();
    if others.is_empty() {
        eprintln!(
            "{test}: no interpreters beyond the fixed list [{}]",
            listed.join(", ")
        );
    } else {
        eprintln!(
            "{test}: running on other interpreters: {}",
            names(others.iter().copied())
        );
        run_all(test, &others, f);
    }
    assert!(
        missing.is_empty(),
        "{test}: python {} required ({REQUIRE_VAR}) but not installed",
        missing.join(", ")
    );
}

/// Runs `f` on each interpreter, even after one fails, then fails naming every failure.
fn run_all(test: &str, pys: &[&Interp], f: fn(&Interp)) {
    let mut failed = Vec::new();
    for py in pys {
        eprintln!("{test}: python {} ({})", py.name, py.path.display());
        if panic::catch_unwind(AssertUnwindSafe(|| f(py))).is_err() {
            failed.push(py.name.clone());
        }
    }
    assert!(
        failed.is_empty(),
        "{test} failed on python {}",
        failed.join(", ")
    );
}

fn names<'a>(pys: impl Iterator<Item = &'a Interp>) -> String {
    pys.map(|py| py.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn pyenv_root() -> PathBuf {
    match std::env::var_os("PYENV_ROOT") {
        Some(root) if !root.is_empty() => PathBuf::from(root),
        _ => home().join(".pyenv"),
    }
}

/// $HOME, or (when a CI runner does not set it) the user's home directory in /etc/passwd.
fn home() -> PathBuf {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or("0")
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[2] == uid)
        .map(|f| PathBuf::from(f[5]))
        .unwrap_or_else(|| PathBuf::from("/root"))
}

fn discover() -> Vec<Interp> {
    let mut candidates: Vec<(String, PathBuf, bool)> = pyenv_candidates(&pyenv_root())
        .into_iter()
        .chain(system_candidates(&pyenv_root()))
        .map(|(name, path)| (name, path, false))
        .collect();
    candidates.extend(
        provisioned_candidates(&provisioned_root())
            .into_iter()
            .map(|(name, path)| (name, path, true)),
    );
    let mut found = Vec::new();
    for (name, path, wrapped) in candidates {
        match probe_version(&path) {
            Ok((major, minor, free_threaded)) => found.push(Interp {
                name,
                path,
                major,
                minor,
                free_threaded,
                wrapped,
            }),
            Err(why) => eprintln!("warning: ignoring {}: {why}", path.display()),
        }
    }
    found
}

/// "3.12.1" -> (3, 12); None for "pypy3.10-7.3", "system", "miniconda3-latest".
fn leading_minor(dir_name: &str) -> Option<(u32, u32)> {
    let mut parts = dir_name.splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((major, minor.parse().ok()?))
}

fn sorted_dir(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut entries: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    entries.sort();
    entries
}

fn pyenv_candidates(root: &Path) -> Vec<(String, PathBuf)> {
    let mut by_minor: BTreeMap<(u32, u32), Vec<(String, PathBuf)>> = BTreeMap::new();
    for (dir_name, dir) in sorted_dir(&root.join("versions")) {
        let Some((major, minor)) = leading_minor(&dir_name) else {
            continue;
        };
        let exe = dir.join("bin").join(format!("python{major}.{minor}"));
        if exe.is_file() {
            by_minor
                .entry((major, minor))
                .or_default()
                .push((dir_name, exe));
        }
    }
    let mut out = Vec::new();
    for ((major, minor), builds) in by_minor {
        let unique = builds.len() == 1;
        for (dir_name, exe) in builds {
            let name = if unique {
                format!("{major}.{minor}")
            } else {
                dir_name
            };
            out.push((name, exe));
        }
    }
    out
}

fn system_candidates(pyenv_root: &Path) -> Vec<(String, PathBuf)> {
    let pyenv_real = pyenv_root
        .canonicalize()
        .unwrap_or_else(|_| pyenv_root.to_path_buf());
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (file_name, path) in sorted_dir(Path::new("/usr/bin")) {
        let Some(version) = file_name.strip_prefix("python") else {
            continue;
        };
        let Some((major, minor)) = leading_minor(version) else {
            continue;
        };
        if version != format!("{major}.{minor}") {
            continue; // python3.11-config, python3.11m, ...
        }
        let Ok(real) = path.canonicalize() else {
            continue;
        };
        if real.starts_with(&pyenv_real) || seen.contains(&real) || !real.is_file() {
            continue;
        }
        seen.push(real);
        out.push((format!("debian-{major}.{minor}"), path));
    }
    out
}

/// Where `tests/pythons/provision` puts its interpreters (`PYFLAME_TEST_PYTHONS` overrides).
pub fn provisioned_root() -> PathBuf {
    match std::env::var_os("PYFLAME_TEST_PYTHONS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pythons"),
    }
}

fn provisioned_candidates(root: &Path) -> Vec<(String, PathBuf)> {
    sorted_dir(root)
        .into_iter()
        .map(|(name, dir)| (name, dir.join("python")))
        .filter(|(_, python)| python.is_file())
        .collect()
}

/// (major, minor, free-threaded) of an interpreter, from running it.
fn probe_version(path: &Path) -> Result<(u32, u32, bool), String> {
    // Python 2 prints a tuple for print(a, b): write the numbers explicitly.
    let code = "import sys; sys.stdout.write('%d %d %d\\n' % (sys.version_info[0], \
        sys.version_info[1], not getattr(sys, '_is_gil_enabled', lambda: True)()))";
    let out = Command::new(path)
        .args(["-E", "-s", "-c", code])
        .output()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace().map(str::parse::<u32>);
    match (
        out.status.success(),
        words.next(),
        words.next(),
        words.next(),
    ) {
        (true, Some(Ok(major)), Some(Ok(minor)), Some(Ok(ft))) => Ok((major, minor, ft == 1)),
        _ => Err(format!(
            "version probe failed ({}): {text:?} {:?}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// `per_interpreter!(test_fn);` (the default list) or
/// `per_interpreter!(test_fn, [py27 => "2.7", ...]);` makes a module `test_fn` with
/// one `#[test]` per listed interpreter (`test_fn::py27`, ...) and
/// `test_fn::other_interpreters`, each calling `fn test_fn(py: &Interp)`;
/// `per_interpreter!(test_fn, only [...]);` makes the listed ones only (for tests too
/// heavy to run on every interpreter).
macro_rules! per_interpreter {
    ($test:ident) => {
        $crate::util::interp::per_interpreter!($test, [
            py27 => "2.7",
            py36 => "3.6",
            py37 => "3.7",
            py38 => "3.8",
            py39 => "3.9",
            py310 => "3.10",
            py311 => "3.11",
            py312 => "3.12",
            py313 => "3.13",
            debian311 => "debian-3.11",
            debian314 => "debian-3.14",
            debian315 => "debian-3.15",
            py313t => "3.13t",
            py314t => "3.14t",
        ]);
    };
    ($test:ident, [$($case:ident => $name:literal),+ $(,)?]) => {
        mod $test {
            $(
                #[test]
                fn $case() {
                    $crate::util::interp::run_on(stringify!($test), $name, super::$test);
                }
            )+

            #[test]
            fn other_interpreters() {
                $crate::util::interp::run_on_others(stringify!($test), &[$($name),+], super::$test);
            }
        }
    };
    ($test:ident, only [$($case:ident => $name:literal),+ $(,)?]) => {
        mod $test {
            $(
                #[test]
                fn $case() {
                    $crate::util::interp::run_on(stringify!($test), $name, super::$test);
                }
            )+
        }
    };
}
pub(crate) use per_interpreter;
