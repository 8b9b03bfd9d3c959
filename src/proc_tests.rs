//! Tests of the /proc readers: task states, status and stat fields, thread ids, images.

use super::*;

#[test]
fn reads_the_task_state_after_the_command() {
    assert_eq!(task_state(b"12 (python3) R 1 12 12 0"), Some(b'R'));
    assert_eq!(task_state(b"12 (a) S (b)) t 1 12"), Some(b't'));
    assert_eq!(task_state(b"12 (py"), None);
    assert_eq!(task_state(b""), None);
    let own = fs::read("/proc/thread-self/stat").unwrap();
    assert_eq!(task_state(&own), Some(b'R'), "this thread is running");
}

#[test]
fn parses_maps_lines() {
    let text = "\
55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1234    /usr/bin/python3.11
7f00aa000000-7f00aa05c000 r--p 00000000 08:02 99 /root/.pyenv/versions/3.6.15/lib/libpython3.6m.so.1.0
7f00aa05c000-7f00aa200000 r-xp 0005c000 08:02 99 /root/.pyenv/versions/3.6.15/lib/libpython3.6m.so.1.0
7ffd1000-7ffd2000 rw-p 00000000 00:00 0                          [stack]
7f00bb000000-7f00bb001000 rw-p 00000000 00:00 0
7f00cc000000-7f00cc001000 r-xp 00001000 08:02 77 /opt/my app/lib python.so (deleted)
garbage line
";
    let m = parse_maps(text.as_bytes());
    assert_eq!(m.len(), 6);
    assert_eq!(m[0].start, 0x55d0c0a00000);
    assert_eq!(m[0].file_name(), "python3.11");
    assert_eq!(m[2].offset, 0x5c000);
    assert_eq!(m[2].perms, "r-xp");
    assert!(m[2].is_file());
    assert_eq!(m[3].path, "[stack]");
    assert!(!m[3].is_file());
    assert_eq!(m[4].path, "");
    assert!(m[5].is_deleted());
    assert_eq!(m[5].file_path(), "/opt/my app/lib python.so");
    assert_eq!(m[5].file_name(), "lib python.so");
}

#[test]
fn parses_status() {
    let s = parse_status(
        b"Name:\tpython3\nState:\tZ (zombie)\nTracerPid:\t42\nUid:\t0\t1000\t0\t0\nNSpid:\t900\t1\nCapEff:\t000001ffffffffff\n",
    );
    assert_eq!(s.name, "python3");
    assert_eq!(s.state, 'Z');
    assert_eq!(s.tracer_pid, 42);
    assert_eq!(s.uids, vec![0, 1000, 0, 0]);
    assert_eq!(s.nspid, vec![900, 1]);
    assert_eq!(s.cap_eff, 0x1ff_ffff_ffff);
}

/// A mapped file whose name is not UTF-8 (the kernel prints path bytes as they are) used to
/// make `maps` fail with InvalidData, and with it every attach to that process.
#[test]
fn parses_maps_with_a_path_that_is_not_utf8() {
    let text = b"7f60ea1a7000-7f60ea1a8000 r--s 00000000 fe:00 10010844   /tmp/lib\xff.so\n\
7f00aa05c000-7f00aa200000 r-xp 0005c000 08:02 99 /usr/lib/libpython3.11.so\n";
    let m = parse_maps(text);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].path, "/tmp/lib\u{fffd}.so");
    assert_eq!(m[1].file_name(), "libpython3.11.so");
}

/// prctl(PR_SET_NAME) takes any bytes, and status prints them raw: a name that is not
/// UTF-8 used to make `status` fail (and hide TracerPid, Uid and CapEff).
#[test]
fn parses_status_with_a_name_that_is_not_utf8() {
    let s = parse_status(b"Name:\tpy\xff\xfe\nState:\tS (sleeping)\nTracerPid:\t7\nNSpid:\t12\n");
    assert_eq!(s.name, "py\u{fffd}\u{fffd}");
    assert_eq!((s.state, s.tracer_pid, s.nspid), ('S', 7, vec![12]));
}

#[test]
fn reads_the_flags_after_the_command() {
    let line = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0";
    assert_eq!(stat_flags(line), Some(2_129_984));
    assert_eq!(stat_flags(b"9 (a) b) \xff) R 1 2 3 4 5 64 0"), Some(64));
    assert_eq!(stat_flags(b"9 (\xff) R 1 2 3 4 5 x"), None);
    assert_eq!(stat_flags(b"9 (a) R 1 2"), None);
    assert_eq!(stat_flags(b"9 (a"), None);
    assert_eq!(stat_flags(b")"), None);
}

#[test]
fn reads_our_own_process() {
    let pid = std::process::id() as i32;
    assert!(maps(pid).unwrap().iter().any(|m| m.is_file()));
    assert!(tasks(pid).unwrap().contains(&pid));
    assert_eq!(status(pid).unwrap().nspid.last().copied(), Some(pid));
    let ids = task_ids(pid).unwrap();
    assert!(ids.contains(&TaskId {
        outer: pid,
        inner: pid
    }));
    assert!(is_task(pid, pid) && !is_task(pid, 0) && !is_task(pid, -1));
    assert!(!is_kernel_thread(pid));
    if fs::read_to_string("/proc/2/comm").is_ok_and(|c| c == "kthreadd\n") {
        assert!(is_kernel_thread(2));
    }
    assert_eq!(exe_class(pid).unwrap(), 2);
    assert_eq!(
        in_root(7, "/usr/lib/x.so"),
        PathBuf::from("/proc/7/root/usr/lib/x.so")
    );
}

#[test]
fn a_live_leader_is_not_exiting() {
    assert!(!leader_exiting(std::process::id() as i32));
    assert!(!leader_exiting(i32::MAX));
}

#[test]
fn image_fields_follow_a_comm_with_spaces_and_parentheses() {
    let mut stat = String::from("42 (a) b (c) S");
    for n in 4..=52 {
        stat.push_str(&format!(" {n}"));
    }
    assert_eq!(image_of(stat.as_bytes()), Some([28, 47, 48]));
    assert_eq!(image_of(b"42 (x) S 1 2"), None);
    let me = std::process::id() as i32;
    // qemu-user (make test-aarch64's unit tests) shows zeros for its guest's image fields.
    if cfg!(target_arch = "x86_64") {
        assert!(image(me).is_some_and(|i| i != [0, 0, 0]));
    }
    assert_eq!(live_task(me), Some(me));
}

#[test]
fn a_long_command_line_is_read_up_to_a_cap() {
    // A process whose arguments take 1 MiB (`sleep` ignores all but its first).
    let long = "x".repeat(64 << 10);
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .args(std::iter::repeat_n(&long, 16))
        .spawn()
        .expect("sleep runs");
    // Until the child has exec()'d, its command line is the test's.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let line = loop {
        let line = cmdline(child.id() as i32).expect("its cmdline reads");
        if line.starts_with("sleep") || std::time::Instant::now() > deadline {
            break line;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.starts_with("sleep 30 xxx"), "{:.40}", line);
    assert!(line.ends_with(" …"), "{:.40}", line);
    assert!(
        line.len() <= MAX_CMDLINE as usize + 8,
        "{} bytes",
        line.len()
    );
    let own = cmdline(std::process::id() as i32).expect("ours reads");
    assert!(!own.is_empty() && !own.ends_with('…'), "{own}");
}
