//! Symbol tests on real objects: a shared library gcc builds here (whole, stripped, and
//! stripped with its debug file found by build id), pyenv's libpython and the system libc,
//! each checked against what `nm` lists (real libraries: `symbols_real_tests.rs`; malformed
//! tables: `symbols_malformed_tests.rs`).

use super::*;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

#[path = "symbols_malformed_tests.rs"]
mod malformed;
#[path = "symbols_real_tests.rs"]
mod real;

/// A directory removed on drop.
pub(super) struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("pyflame-symbols-{tag}-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A function as `nm --defined-only -S` lists it: size 0 when nm shows none.
#[derive(Debug, Clone)]
pub(super) struct Func {
    pub name: String,
    pub addr: u64,
    pub size: u64,
    pub global: bool,
}

/// Runs a tool, panicking with its stderr if it fails.
pub(super) fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} {args:?}: {err}");
    String::from_utf8(out.stdout).unwrap()
}

/// The functions (T, t, W, i: code) `nm` lists in `path`'s `.symtab` or, with `dynamic`, its
/// `.dynsym`; symbol versions (`@GLIBC_2.2.5`) cut off.
pub(super) fn nm(path: &Path, dynamic: bool) -> Vec<Func> {
    let path = path.to_str().unwrap();
    let args = if dynamic {
        vec!["-D", path]
    } else {
        vec![path]
    };
    let out = run("nm", &[&["--defined-only", "-S"][..], &args].concat());
    let mut funcs = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (addr, size, kind, name) = match f[..] {
            [a, s, k, n] => (a, s, k, n),
            [a, k, n] => (a, "0", k, n),
            _ => continue,
        };
        if !["T", "t", "W", "i"].contains(&kind) {
            continue;
        }
        funcs.push(Func {
            name: name.split('@').next().unwrap().to_string(),
            addr: u64::from_str_radix(addr, 16).unwrap(),
            size: u64::from_str_radix(size, 16).unwrap(),
            global: kind != "t",
        });
    }
    funcs
}

/// A 600-byte function name, longer than MAX_NAME.
pub(super) fn long_name() -> String {
    format!("long_{}", "x".repeat(595))
}

/// Static and global functions, one noinline pair calling each other, one static kept only by
/// `used`, and one very long name. Bodies differ so no two are folded into one.
fn source() -> String {
    let long = long_name();
    format!(
        r#"
static volatile int sink;
static __attribute__((noinline)) int step_static(int x) {{ sink += x; return x * 3 + sink; }}
static __attribute__((noinline)) int twist_static(int x) {{
    for (int i = 0; i < x; i++) sink ^= i * 7;
    return sink - x;
}}
static __attribute__((used, noinline)) int kept_static(int x) {{ return x * sink + 11; }}
__attribute__((noinline)) int pair_global(int x) {{ return step_static(x) ^ twist_static(x + 1); }}
__attribute__((noinline)) int pair_other(int x) {{ return pair_global(x) * 5 + sink; }}
int exported_entry(int x) {{ return pair_other(x) + twist_static(x * 2); }}
int {long}(int x) {{ sink = x; return x + 9; }}
"#
    )
}

/// The library gcc builds in `dir`: functions aligned to 64 bytes, so padding lies between
/// them, with a build id.
pub(super) fn build(dir: &Path) -> PathBuf {
    let src = dir.join("lib.c");
    std::fs::write(&src, source()).unwrap();
    let lib = dir.join("libsym.so");
    let args = [
        "-O2",
        "-fPIC",
        "-shared",
        "-falign-functions=64",
        "-fno-ipa-icf",
    ];
    let (src, out) = (src.to_str().unwrap(), lib.to_str().unwrap());
    run(
        "gcc",
        &[&args[..], &["-Wl,--build-id", "-o", out, src]].concat(),
    );
    lib
}

/// Whether `ours` (as `Symbols` returns it, maybe cut to MAX_NAME) is `full`.
fn same_name(ours: &str, full: &str) -> bool {
    match ours.strip_suffix('…') {
        Some(cut) => cut.len() == symbols_table::MAX_NAME && full.starts_with(cut),
        None => ours == full,
    }
}

/// Checks every pc from the first function to 64 bytes past the last: a pc inside a sized
/// function that `named` accepts gets a name; any name given is that of a function holding the
/// pc, with the right offset; pcs in no function (padding) get none. Returns the number of pcs
/// named and unnamed.
pub(super) fn check_every_pc<S: Source>(
    symbols: &Symbols<S>,
    funcs: &[Func],
    named: impl Fn(&Func) -> bool,
) -> (usize, usize) {
    let sized: Vec<&Func> = funcs.iter().filter(|f| f.size > 0).collect();
    let lo = sized.iter().map(|f| f.addr).min().unwrap();
    let hi = sized.iter().map(|f| f.addr + f.size).max().unwrap() + 64;
    let (mut some, mut none) = (0, 0);
    for pc in lo..hi {
        let holders: Vec<&&Func> = sized
            .iter()
            .filter(|f| f.addr <= pc && pc < f.addr + f.size)
            .collect();
        match symbols.name(pc) {
            Some((name, off)) => {
                let right = |f: &&&Func| same_name(&name, &f.name) && pc - f.addr == off;
                assert!(holders.iter().any(right), "{pc:#x}: {name}+{off:#x}");
                some += 1;
            }
            None => {
                let want = holders.iter().find(|f| named(f));
                assert!(want.is_none(), "{pc:#x}: no name, want {want:?}");
                none += 1;
            }
        }
    }
    (some, none)
}

/// The first, last and a middle pc of `f` all get its name, with the right offsets.
fn check_ends(symbols: &Symbols<impl Source>, f: &Func) {
    for off in [0, f.size / 2, f.size - 1] {
        let (name, got) = symbols
            .name(f.addr + off)
            .unwrap_or_else(|| panic!("{f:?}"));
        assert!(same_name(&name, &f.name), "{f:?}+{off}: {name}");
        assert_eq!(got, off, "{f:?}");
    }
    assert_eq!(
        symbols.name(f.addr + f.size),
        None,
        "{f:?}: just past the end"
    );
}

#[test]
fn names_every_function_of_a_library_with_symtab() {
    let dir = TempDir::new("whole");
    let lib = build(&dir.0);
    let funcs = nm(&lib, false);
    let symbols = Symbols::load(&lib, &dir.0).unwrap();
    assert_eq!(symbols.origin(), &Origin::Symtab);
    assert!(!symbols.truncated());
    let ours = [
        "step_static",
        "twist_static",
        "kept_static",
        "pair_global",
        "pair_other",
    ];
    for name in ours.iter().chain(&["exported_entry"]) {
        let f = funcs.iter().find(|f| f.name.starts_with(name));
        check_ends(&symbols, f.unwrap_or_else(|| panic!("{name}: {funcs:?}")));
    }
    let long = funcs.iter().find(|f| f.name == long_name()).unwrap();
    check_ends(&symbols, long);
    let (name, _) = symbols.name(long.addr).unwrap();
    assert_eq!(name, format!("{}…", &long_name()[..512]));
    let (some, none) = check_every_pc(&symbols, &funcs, |_| true);
    assert!(some > 100 && none > 100, "{some} named, {none} in padding");
    // The same from bytes in memory.
    let bytes = Bytes(std::fs::read(&lib).unwrap());
    let symbols = Symbols::from_source(bytes).unwrap();
    assert_eq!(symbols.origin(), &Origin::Symtab);
    check_every_pc(&symbols, &funcs, |_| true);
}

/// `lib` with `strip --strip-all`: only `.dynsym` is left.
pub(super) fn strip(lib: &Path) -> PathBuf {
    let stripped = lib.with_extension("stripped.so");
    let (out, lib) = (stripped.to_str().unwrap(), lib.to_str().unwrap());
    run("strip", &["--strip-all", "-o", out, lib]);
    stripped
}

/// A byte buffer as a `Source`.
pub(super) struct Bytes(pub Vec<u8>);

impl Source for Bytes {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.0[..].read_exact_at(buf, offset)
    }
    fn size(&self) -> std::io::Result<u64> {
        Ok(self.0.len() as u64)
    }
}

#[test]
fn stripped_library_names_only_exported_functions() {
    let dir = TempDir::new("stripped");
    let lib = build(&dir.0);
    let funcs = nm(&lib, false);
    let stripped = strip(&lib);
    let symbols = Symbols::load(&stripped, &dir.0).unwrap();
    assert_eq!(symbols.origin(), &Origin::Dynsym);
    let (some, none) = check_every_pc(&symbols, &funcs, |f| f.global);
    assert!(some > 50 && none > 200, "{some} named, {none} unnamed");
    for f in funcs.iter().filter(|f| f.size > 0) {
        match f.global {
            true => check_ends(&symbols, f),
            false => assert_eq!(symbols.name(f.addr + 1), None, "{f:?}"),
        }
    }
}

/// `lib`'s debug file (`objcopy --only-keep-debug`) and `lib` stripped.
fn split_debug(lib: &Path) -> (PathBuf, PathBuf) {
    let debug = lib.with_extension("debug");
    run(
        "objcopy",
        &[
            "--only-keep-debug",
            lib.to_str().unwrap(),
            debug.to_str().unwrap(),
        ],
    );
    (strip(lib), debug)
}

/// The build id `readelf -n` prints for `path`.
fn readelf_build_id(path: &Path) -> String {
    let out = run("readelf", &["-n", path.to_str().unwrap()]);
    let line = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "));
    line.unwrap().trim().to_string()
}

/// Places `debug` in `root` where a debug file for build id `id` is looked for.
fn install_debug(root: &Path, id: &str, debug: &[u8]) -> PathBuf {
    let dir = root.join("usr/lib/debug/.build-id").join(&id[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.debug", &id[2..]));
    std::fs::write(&path, debug).unwrap();
    path
}

#[test]
fn debug_file_found_by_build_id_names_static_functions_again() {
    let dir = TempDir::new("debug");
    let lib = build(&dir.0);
    let funcs = nm(&lib, false);
    let (stripped, debug) = split_debug(&lib);
    let root = TempDir::new("root");
    // No debug file yet: .dynsym.
    let symbols = Symbols::load(&stripped, &root.0).unwrap();
    assert_eq!(symbols.origin(), &Origin::Dynsym);
    let id = build_id_hex(symbols.build_id().unwrap());
    assert_eq!(id, readelf_build_id(&stripped));
    assert_eq!(id, readelf_build_id(&debug));

    let at = install_debug(&root.0, &id, &std::fs::read(&debug).unwrap());
    let symbols = Symbols::load(&stripped, &root.0).unwrap();
    assert_eq!(symbols.origin(), &Origin::DebugFile(at));
    assert_eq!(build_id_hex(symbols.build_id().unwrap()), id);
    let (some, _) = check_every_pc(&symbols, &funcs, |_| true);
    for f in funcs.iter().filter(|f| f.size > 0) {
        check_ends(&symbols, f);
    }
    let statics = funcs.iter().filter(|f| !f.global && f.size > 0);
    assert!(statics.count() >= 3 && some > 100);
    // An object with its own .symtab does not look for a debug file.
    let symbols = Symbols::load(&lib, &root.0).unwrap();
    assert_eq!(symbols.origin(), &Origin::Symtab);
}

#[test]
fn debug_file_of_another_build_or_not_elf_is_ignored() {
    let dir = TempDir::new("wrong");
    let lib = build(&dir.0);
    let funcs = nm(&lib, false);
    let (stripped, debug) = split_debug(&lib);
    let id = readelf_build_id(&stripped);
    let id_bytes: Vec<u8> = (0..id.len() / 2)
        .map(|i| u8::from_str_radix(&id[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut other = std::fs::read(&debug).unwrap();
    let at = other.windows(id_bytes.len()).position(|w| w == id_bytes);
    other[at.unwrap() + 3] ^= 0x5a;
    let cases: [&[u8]; 3] = [&other, b"not an ELF file", b""];
    for debug in cases {
        let root = TempDir::new("wrong-root");
        install_debug(&root.0, &id, debug);
        let symbols = Symbols::load(&stripped, &root.0).unwrap();
        assert_eq!(symbols.origin(), &Origin::Dynsym);
        check_every_pc(&symbols, &funcs, |f| f.global);
        let statics = funcs.iter().filter(|f| !f.global && f.size > 0);
        for f in statics {
            assert_eq!(symbols.name(f.addr), None, "{f:?}");
        }
    }
}

#[test]
fn labels_name_or_object_and_offset() {
    assert_eq!(
        label(Some("PyObject_Call"), "/usr/lib/libpython3.12.so", 9),
        "PyObject_Call"
    );
    let lib = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    assert_eq!(label(None, lib, 0x1a2b), "libc.so.6+0x1a2b");
    assert_eq!(label(None, "[vdso]", 0x10), "[vdso]+0x10");
    let dir = TempDir::new("label");
    let lib = build(&dir.0);
    let funcs = nm(&lib, false);
    let symbols = Symbols::load(&strip(&lib), &dir.0).unwrap();
    let path = "/opt/app/libsym.so";
    for f in funcs.iter().filter(|f| f.size > 0) {
        let want = match f.global {
            true => f.name.clone(),
            false => format!("libsym.so+0x{:x}", f.addr + 2),
        };
        if f.name != long_name() {
            assert_eq!(symbols.label(path, f.addr + 2), want);
        }
    }
}
