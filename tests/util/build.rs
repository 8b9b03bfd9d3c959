//! Building things at test time, once per test process: the C programs under tests/c with
//! gcc (into Cargo's temporary directory), and the static release binary with the Makefile's
//! own command (`make build`, which leaves it at target/pyflame; cargo's incremental build
//! makes this a no-op when it is fresh, and a stale copy is never used).

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

/// target/pyflame, freshly built; panics if it cannot be built or is not static.
pub fn static_pyflame() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // At the lowest priority and on one core: the suite's timing-sensitive tests run
        // meanwhile, and must not be starved by a compiler.
        let mut cmd = Command::new("nice");
        cmd.args(["-n", "19", "make", "-s", "build"])
            .env("CARGO_BUILD_JOBS", "1")
            .current_dir(root);
        // The cargo running these tests, in case it is not on PATH.
        if let Some(dir) = std::env::var_os("CARGO")
            .map(PathBuf::from)
            .and_then(|c| c.parent().map(Path::to_path_buf))
        {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut dirs = vec![dir];
            dirs.extend(std::env::split_paths(&path));
            cmd.env("PATH", std::env::join_paths(dirs).expect("PATH"));
        }
        let out = run_with_watchdog(&mut cmd, "make build", Duration::from_secs(1800));
        let binary = root.join("target/pyflame");
        if !out.status.success() || !binary.is_file() {
            return Err(format!("make build failed\n{}", out.describe()));
        }
        let bytes = std::fs::read(&binary).map_err(|e| e.to_string())?;
        if has_interpreter(&bytes) {
            return Err(format!(
                "{} is not static: it has PT_INTERP",
                binary.display()
            ));
        }
        Ok(binary)
    });
    match built {
        Ok(path) => path,
        Err(why) => panic!("{why}"),
    }
}

/// Whether an ELF64 image names a dynamic loader (a PT_INTERP program header).
fn has_interpreter(elf: &[u8]) -> bool {
    let u = |at: usize, n: usize| {
        elf.get(at..at + n)
            .map(|b| b.iter().rev().fold(0u64, |v, &x| v << 8 | x as u64))
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u(0x20, 8), u(0x36, 2), u(0x38, 2)) else {
        return true;
    };
    (0..phnum).any(|i| u((phoff + i * phentsize) as usize, 4) == Some(3))
}
