//! Interpreters in unusual shapes: which mapped file holds an interpreter's runtime (its
//! libpython, or the executable itself for Debian's static build), and private copies of an
//! interpreter that a test may delete, replace or strip.

use super::interp::Interp;
use super::process::temp_dir;
use super::target::spawn_script;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The file holding `py`'s runtime, and whether it is a shared libpython: found by running
/// idle.py once and reading its /proc/PID/maps (sysconfig says Debian's python3.11 is a shared
/// build, but its executable has libpython linked in).
pub fn runtime_file(py: &Interp) -> (PathBuf, bool) {
    static FOUND: OnceLock<Mutex<HashMap<String, (PathBuf, bool)>>> = OnceLock::new();
    let found = FOUND.get_or_init(Default::default);
    if let Some(known) = found.lock().unwrap().get(&py.name) {
        return known.clone();
    }
    let target = spawn_script(py, "idle.py", &[]);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", target.pid)).expect("maps");
    let libpython = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| {
            p.rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with("libpython"))
        })
        .map(PathBuf::from);
    let result = match libpython {
        Some(lib) => (lib, true),
        None => (py.path.canonicalize().expect("interpreter path"), false),
    };
    found
        .lock()
        .unwrap()
        .insert(py.name.clone(), result.clone());
    result
}

/// A private copy of an interpreter: `dir/bin/<executable>` and, for a shared build,
/// `dir/lib/<libpython>` (found first through LD_LIBRARY_PATH). Its standard library is the
/// original's (found through the prefix compiled in).
pub struct Copied {
    pub dir: PathBuf,
    pub exe: PathBuf,
    /// The copy of the file that holds the runtime (the library, or the executable).
    pub runtime: PathBuf,
}

impl Copied {
    pub fn new(py: &Interp, label: &str) -> Copied {
        let dir = temp_dir(label);
        let (runtime, shared) = runtime_file(py);
        let real_exe = py.path.canonicalize().expect("interpreter path");
        std::fs::create_dir_all(dir.join("bin")).expect("mkdir bin");
        let exe = dir
            .join("bin")
            .join(real_exe.file_name().expect("exe name"));
        std::fs::copy(&real_exe, &exe).expect("copy the executable");
        let copy = if shared {
            std::fs::create_dir_all(dir.join("lib")).expect("mkdir lib");
            let lib = dir.join("lib").join(runtime.file_name().expect("lib name"));
            std::fs::copy(&runtime, &lib).expect("copy libpython");
            lib
        } else {
            exe.clone()
        };
        Copied {
            dir,
            exe,
            runtime: copy,
        }
    }

    /// `exe -E -s -B <script> args`, with the copied library first in the search path.
    pub fn command(&self, script: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.env("LD_LIBRARY_PATH", self.dir.join("lib"))
            .args(["-E", "-s", "-B"])
            .arg(script)
            .args(args);
        cmd
    }
}

impl Drop for Copied {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
