//! A CPython newer than this pyflame knows, on the day it ships: Debian's 3.15 with its
//! `_Py_DebugOffsets` patched to announce 3.16. pyflame must read it with the newest table
//! layout it knows, check it by walking it, and dump it exactly; and when the walk does not
//! hold up, refuse it naming the version and what failed.

use crate::dump::{check_known_stacks, dump};
use crate::util::interp::interpreters;
use crate::util::live::spawn_busy;
use crate::util::process::temp_dir;
use crate::util::stacks::spawn_stacks;
use crate::util::{pyflame, Interp};
use crate::windows::check_attaches;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

/// `thread_state.current_frame` in the 3.15 table: where a thread's innermost frame is.
const CURRENT_FRAME_MEMBER: usize = 208;

#[test]
fn a_newer_minor_with_a_valid_table_is_walked() {
    let Some(py) = newer(&[]) else { return };
    let stacks = spawn_stacks(&py);
    let pid = stacks.target.pid.to_string();
    let out = dump(&stacks, &[]);
    check_known_stacks(&stacks, &out.stdout);
    let verbose = pyflame(&["--verbose", "-d", "-p", &pid]);
    assert!(
        verbose.stderr.contains("Python 3.16.2 in ")
            && verbose
                .stderr
                .contains("layout from the target's own _Py_DebugOffsets"),
        "{}",
        verbose.describe()
    );
}

#[test]
fn a_newer_minor_is_accepted_every_time() {
    // The walk that checks the table, against a target that never stops calling: a walk
    // that catches it between two states is not a wrong table.
    let Some(py) = newer(&[]) else { return };
    check_attaches(&spawn_busy(&py, "calls.py", &[]));
}

#[test]
fn a_newer_minor_whose_table_does_not_walk_is_refused() {
    // A table that is plausible (every offset inside its struct) but wrong: threads' frames
    // are looked for in `prev`, so no frame with a code object is found.
    let Some(py) = newer(&[(CURRENT_FRAME_MEMBER, 0)]) else {
        return;
    };
    let stacks = spawn_stacks(&py);
    let pid = stacks.target.pid.to_string();
    let out = pyflame(&["-d", "-p", &pid]);
    let err = out.stderr.trim_end();
    assert!(
        out.status.code() == Some(1)
            && out.stdout.is_empty()
            && !err.contains('\n')
            && err.starts_with("Target has Python ABI 316 (Python 3.16.2, in ")
            && err.contains("newer than this pyflame build knows")
            && err.contains("a walk through it failed"),
        "{}",
        out.describe()
    );
    crate::util::assert_target_running(stacks.target.pid);
}

/// Debian's 3.15, copied with its `_Py_DebugOffsets` announcing 3.16 and these table members
/// (offset in the table, value) overwritten. None (test skipped) without debian-3.15.
fn newer(members: &[(usize, u64)]) -> Option<Interp> {
    let Some(base) = interpreters().iter().find(|p| p.name == "debian-3.15") else {
        let required = crate::util::interp::required();
        assert!(
            !required.iter().any(|r| r == "debian-3.15"),
            "debian-3.15 is required (tests/pythons/provision makes it)"
        );
        eprintln!("SKIPPED: no debian-3.15 (run tests/pythons/provision)");
        return None;
    };
    let root = base.path.parent().unwrap().join("root");
    let dir = temp_dir("future");
    let bin = dir.join("usr/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(dir.join("usr/lib")).unwrap();
    // The interpreter finds its standard library next to its executable.
    symlink(
        root.join("usr/lib/python3.15"),
        dir.join("usr/lib/python3.15"),
    )
    .unwrap();
    let mut image = std::fs::read(root.join("usr/bin/python3.15")).unwrap();
    let table = find_table(&image, 0x030f_02f0).expect("3.15.2's _Py_DebugOffsets");
    image[table + 8..table + 16].copy_from_slice(&0x0310_02f0u64.to_le_bytes());
    for &(at, value) in members {
        image[table + at..table + at + 8].copy_from_slice(&value.to_le_bytes());
    }
    let python = bin.join("python3.15");
    std::fs::write(&python, image).unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let wrapper = dir.join("python");
    let libs = format!(
        "{0}/usr/lib/x86_64-linux-gnu:{0}/lib/x86_64-linux-gnu",
        root.display()
    );
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec {} --library-path {libs} {} \"$@\"\n",
            loader(&root).display(),
            python.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    Some(Interp {
        name: "3.16 (debian-3.15, patched)".into(),
        path: wrapper,
        major: 3,
        minor: 16,
        free_threaded: false,
        wrapped: true,
    })
}

/// Where the cookie and this PY_VERSION_HEX start a `_Py_DebugOffsets` table in an image.
fn find_table(image: &[u8], hex: u64) -> Option<usize> {
    let mut head = b"xdebugpy".to_vec();
    head.extend_from_slice(&hex.to_le_bytes());
    image.windows(head.len()).position(|w| w == head.as_slice())
}

fn loader(root: &Path) -> PathBuf {
    ["usr/lib64", "lib64", "usr/lib/x86_64-linux-gnu"]
        .iter()
        .map(|d| root.join(d).join("ld-linux-x86-64.so.2"))
        .find(|p| p.exists())
        .expect("the Debian root has its dynamic loader")
}
