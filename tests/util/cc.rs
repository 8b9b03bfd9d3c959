//! Compiling the C programs under tests/c with gcc at test time, once per test process and
//! set of flags, into Cargo's temporary directory.

use super::process::run_with_watchdog;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// `tests/c/<name>`.
pub fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/c")
        .join(name)
}

/// Compiles `tests/c/<source>` with `flags` (compiler flags before the source, linker flags
/// after) into `<tmp>/c/<output>`; panics with gcc's messages if that fails.
pub fn compile(source_name: &str, output: &str, cflags: &[String], ldflags: &[String]) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let key = format!("{source_name} {output} {cflags:?} {ldflags:?}");
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c");
    std::fs::create_dir_all(&dir).expect("create the C output directory");
    let out = dir.join(output);
    let mut cmd = Command::new("gcc");
    cmd.args(["-O1", "-g", "-Wall", "-Wno-deprecated-declarations"])
        .args(cflags)
        .arg("-o")
        .arg(&out)
        .arg(source(source_name))
        .args(ldflags);
    let result = run_with_watchdog(&mut cmd, "gcc", Duration::from_secs(300));
    assert!(
        result.status.success(),
        "cannot compile {source_name}: {cmd:?}\n{}",
        result.describe()
    );
    built.insert(key, out.clone());
    out
}
