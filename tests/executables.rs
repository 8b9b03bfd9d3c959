//! Interpreters in unusual shapes, on every interpreter: the file holding the runtime deleted,
//! or replaced by another file after start (a package upgrade renames over it; a bind mount in
//! the target's namespace hides it under the same path), started through the dynamic loader,
//! a virtualenv's symlinked python, a copy with a fully stripped runtime (`strip --strip-all`:
//! 2.7 and 3.6 then have no interp_head symbol); and a 32-bit program (a clear error).

use crate::util::copies::{runtime_file, Copied};
use crate::util::launch::{chain_stack, check_idle_dump, launch, Launched, Ready};
use crate::util::prereq;
use crate::util::process::{pyflame_bin, temp_dir, Output};
use crate::util::target::script_path;
use crate::util::trace_check::check_trace;
use crate::util::{assert_target_running, per_interpreter, pyflame, ChildGuard, Interp};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

/// idle.py started by `cmd`, dumped: exactly its one stack, tid the process.
fn dump_idle(py: &Interp, what: &str, cmd: &mut Command) -> Launched {
    let script = script_path("idle.py");
    let t = launch(what, cmd.arg(&script), &script, Ready::StdinRead);
    check_dump(py, &t);
    t
}

fn check_dump(py: &Interp, t: &Launched) {
    let out: Output = pyflame(&["-d", "-p", &t.pid.to_string()]);
    out.assert_clean_success(&format!("pyflame -d\n{}", t.describe()));
    check_idle_dump(t, py.is_py2(), &out.stdout, t.pid);
    assert_target_running(t.pid);
}

/// The /proc/PID/maps lines that name `path`.
fn maps_of(pid: u32, path: &Path) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let path = path.to_string_lossy().into_owned();
    maps.lines()
        .filter(|l| l.contains(&path))
        .map(String::from)
        .collect()
}

/// Some ELF file other than `py`'s runtime: another interpreter's, or pyflame itself.
fn other_elf(py: &Interp) -> PathBuf {
    let (mine, _) = runtime_file(py);
    crate::util::interp::interpreters()
        .iter()
        .filter(|o| o.name != py.name)
        .map(|o| runtime_file(o).0)
        .find(|f| *f != mine)
        .unwrap_or_else(|| pyflame_bin().to_path_buf())
}

/// idle.py, run by `copy` and parked in its read.
fn idle_in(copy: &Copied, what: &str) -> Launched {
    let script = script_path("idle.py");
    launch(
        what,
        &mut copy.command(&script, &[]),
        &script,
        Ready::StdinRead,
    )
}

per_interpreter!(runtime_file_deleted);

fn runtime_file_deleted(py: &Interp) {
    if !py.has_own_executable("runtime_file_deleted") {
        return;
    }
    let copy = Copied::new(py, "deleted");
    let t = idle_in(&copy, "a copy");
    std::fs::remove_file(&copy.runtime).expect("delete the runtime");
    let _ = std::fs::remove_file(&copy.exe);
    let lines = maps_of(t.pid, &copy.runtime);
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.ends_with(" (deleted)")),
        "{lines:?}"
    );
    check_dump(py, &t);
}

per_interpreter!(runtime_file_replaced);

/// A package upgrade: a new file renamed over the old one, which stays mapped.
fn runtime_file_replaced(py: &Interp) {
    if !py.has_own_executable("runtime_file_replaced") {
        return;
    }
    let copy = Copied::new(py, "replaced");
    let t = idle_in(&copy, "a copy");
    let new = copy.dir.join("new");
    std::fs::copy(other_elf(py), &new).expect("copy the other file");
    std::fs::rename(&new, &copy.runtime).expect("rename over the runtime");
    check_dump(py, &t);
}

per_interpreter!(runtime_file_overmounted);

/// In the target's mount namespace another file is bound over the runtime's path: the path
/// in /proc/PID/maps is not marked deleted, yet it names another file; only its inode tells.
fn runtime_file_overmounted(py: &Interp) {
    if !py.has_own_executable("runtime_file_overmounted") {
        return;
    }
    let test = "runtime_file_overmounted";
    if !prereq::namespaces(test) {
        return;
    }
    let (runtime, _) = runtime_file(py);
    let script = script_path("idle.py");
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--"])
        .arg(&py.path)
        .args(["-E", "-s", "-B"]);
    let t = launch(
        "in a private mount namespace",
        cmd.arg(&script),
        &script,
        Ready::StdinRead,
    );
    let other = other_elf(py);
    let bound = Command::new("nsenter")
        .args([
            "--target",
            &t.pid.to_string(),
            "--mount",
            "--",
            "mount",
            "--bind",
        ])
        .arg(&other)
        .arg(&runtime)
        .status();
    assert!(
        bound.is_ok_and(|s| s.success()),
        "mount --bind in the target's namespace"
    );
    let through_root = PathBuf::from(format!("/proc/{}/root{}", t.pid, runtime.display()));
    let lines = maps_of(t.pid, &runtime);
    assert!(
        std::fs::metadata(&through_root).map(|m| m.ino()).ok()
            != std::fs::metadata(&runtime).map(|m| m.ino()).ok()
            && !lines.is_empty()
            && lines.iter().all(|l| !l.ends_with(" (deleted)")),
        "the setup did not hide the runtime: {lines:?}"
    );
    check_dump(py, &t);
}

per_interpreter!(through_the_dynamic_loader);

fn through_the_dynamic_loader(py: &Interp) {
    if !py.has_own_executable("through_the_dynamic_loader") {
        return;
    }
    if !prereq::check(
        "through_the_dynamic_loader",
        Path::new(LOADER).exists(),
        LOADER,
    ) {
        return;
    }
    let mut cmd = Command::new(LOADER);
    cmd.arg(&py.path).args(["-E", "-s", "-B"]);
    let t = dump_idle(py, "through ld.so", &mut cmd);
    let exe = std::fs::read_link(format!("/proc/{}/exe", t.pid)).expect("exe");
    assert!(exe.to_string_lossy().contains("ld-linux"), "exe is {exe:?}");
    check_trace(&[LOADER.into(), py.path.clone().into_os_string()]);
}

per_interpreter!(virtualenv_python);

fn virtualenv_python(py: &Interp) {
    if !py.has_own_executable("virtualenv_python") {
        return;
    }
    if py.is_py2() {
        eprintln!("virtualenv_python: python {} has no venv module", py.name);
        return;
    }
    let dir = temp_dir("venv");
    let venv = dir.join("venv");
    let made = Command::new(&py.path)
        .args(["-E", "-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .expect("run venv");
    assert!(made.status.success(), "python -m venv: {made:?}");
    let python = venv.join("bin/python");
    assert!(python
        .symlink_metadata()
        .expect("venv python")
        .file_type()
        .is_symlink());
    dump_idle(
        py,
        "a virtualenv's python",
        Command::new(&python).args(["-E", "-s", "-B"]),
    );
    check_trace(&[python.into_os_string()]);
    let _ = std::fs::remove_dir_all(dir);
}

per_interpreter!(stripped_runtime);

fn stripped_runtime(py: &Interp) {
    if !py.has_own_executable("stripped_runtime") {
        return;
    }
    if !prereq::programs("stripped_runtime", &["strip", "nm"]) {
        return;
    }
    let copy = Copied::new(py, "stripped");
    let stripped = Command::new("strip")
        .arg("--strip-all")
        .arg(&copy.runtime)
        .status();
    assert!(stripped.is_ok_and(|s| s.success()), "strip --strip-all");
    let nm = Command::new("nm").arg(&copy.runtime).output().expect("nm");
    assert!(
        String::from_utf8_lossy(&nm.stderr).contains("no symbols"),
        "{nm:?}"
    );
    let t = idle_in(&copy, "stripped");
    check_dump(py, &t);
    let spinner = script_path("spinner.py");
    let busy = launch(
        "stripped",
        &mut copy.command(&spinner, &["chain"]),
        &spinner,
        Ready::Spinning,
    );
    let out = pyflame(&["-s", "1", "-p", &busy.pid.to_string()]);
    out.assert_clean_success("pyflame -s 1 on a stripped runtime");
    let want = format!("{} ", chain_stack(&busy.script, &busy.marks).join(";"));
    assert!(
        !out.stdout.is_empty() && out.stdout.lines().all(|l| l.starts_with(&want)),
        "{}",
        out.describe()
    );
    assert_target_running(busy.pid);
}

/// A static i386 program that loops on pause(2): an ELF header, one PT_LOAD, nine bytes of code.
fn elf32_program() -> Vec<u8> {
    let base: u32 = 0x0804_8000;
    let code = [0xb8, 0x1d, 0, 0, 0, 0xcd, 0x80, 0xeb, 0xf7]; // mov $29,%eax; int $0x80; jmp
    let size = 52 + 32 + code.len() as u32;
    let mut elf = b"\x7fELF\x01\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    for half in [2u16, 3] {
        elf.extend(half.to_le_bytes()); // e_type EXEC, e_machine 386
    }
    for word in [1, base + 84, 52, 0, 0] {
        elf.extend(word.to_le_bytes()); // e_version, e_entry, e_phoff, e_shoff, e_flags
    }
    for half in [52u16, 32, 1, 0, 0, 0] {
        elf.extend(half.to_le_bytes()); // e_ehsize, e_phentsize, e_phnum, e_sh*
    }
    for word in [1, 0, base, base, size, size, 5, 0x1000] {
        elf.extend(word.to_le_bytes()); // PT_LOAD r-x
    }
    elf.extend(code);
    elf
}

#[test]
fn thirty_two_bit_program() {
    let dir = temp_dir("elf32");
    let path = dir.join("python-i386");
    std::fs::write(&path, elf32_program()).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let program = match Command::new(&path).spawn() {
        Ok(child) => ChildGuard::new(child),
        Err(e) => {
            prereq::check(
                "thirty_two_bit_program",
                false,
                &format!("32-bit support ({e})"),
            );
            return;
        }
    };
    let pid = program.pid();
    crate::util::live::wait_until(
        std::time::Duration::from_secs(30),
        || std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == path),
        || "the 32-bit program did not start".into(),
    );
    let out = pyflame(&["-d", "-p", &pid.to_string()]);
    assert_eq!(
        crate::util::cli::one_line_error(&out),
        format!(
            "Target ELF file has EI_CLASS=1, but for this architecture we expected EI_CLASS=2: PID {pid} ({}) is a 32-bit program, and pyflame reads 64-bit x86-64 processes only: run the program with a 64-bit Python",
            path.display()
        )
    );
    assert_target_running(pid);
}
