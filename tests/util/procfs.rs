//! Reading a target's state from /proc (proc(5)): its threads, their scheduler
//! state and CPU time, the syscall they block in, and its tracer.

use std::fs;

/// The fields of /proc/PID/task/TID/stat the tests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskStat {
    /// R running, S sleeping, D disk sleep, T stopped, t tracing stop, Z zombie, ...
    pub state: char,
    /// utime + stime, in clock ticks (USER_HZ, 100 per second on Linux).
    pub cpu_ticks: u64,
}

/// The thread ids of a process, sorted; empty if the process is gone.
pub fn task_ids(pid: u32) -> Vec<u32> {
    let mut tids: Vec<u32> = fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    tids
}

/// One thread's state and CPU time; None if it does not exist (any more).
pub fn task_stat(pid: u32, tid: u32) -> Option<TaskStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses a stat line. comm (field 2) may contain spaces and parentheses, so the
/// fields are counted from the LAST ')'.
pub fn parse_stat(text: &str) -> Option<TaskStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    let state = fields.first()?.chars().next()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(TaskStat {
        state,
        cpu_ticks: utime + stime,
    })
}

/// /proc/PID/task/TID/syscall: "NR arg1 ... sp pc" when blocked in a syscall,
/// "-1 sp pc" when blocked elsewhere, "running" when running.
pub fn task_syscall(pid: u32, tid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall"))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The number of read(2) in /proc/PID/syscall (asm/unistd.h).
#[cfg(target_arch = "aarch64")]
const SYS_READ: &str = "63";
#[cfg(not(target_arch = "aarch64"))]
const SYS_READ: &str = "0";

/// Whether the thread is blocked in read(2) on fd 0.
pub fn blocked_in_stdin_read(pid: u32, tid: u32) -> bool {
    let Some(line) = task_syscall(pid, tid) else {
        return false;
    };
    let mut fields = line.split_whitespace();
    fields.next() == Some(SYS_READ) && fields.next() == Some("0x0")
}

/// A numeric field of /proc/PID/status, e.g. "TracerPid".
pub fn status_field(pid: u32, field: &str) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

/// A one-line summary of every thread, for failure messages:
/// "tid state cpu syscall" per thread.
pub fn describe_tasks(pid: u32) -> String {
    let tids = task_ids(pid);
    if tids.is_empty() {
        return format!("process {pid} does not exist");
    }
    let tracer = status_field(pid, "TracerPid").unwrap_or(0);
    let mut out = format!("process {pid} (TracerPid {tracer}):");
    for tid in tids {
        let stat = task_stat(pid, tid);
        let syscall = task_syscall(pid, tid).unwrap_or_default();
        let syscall: String = syscall
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        match stat {
            Some(s) => {
                out += &format!(" [{tid} {} cpu={} syscall={syscall}]", s.state, s.cpu_ticks)
            }
            None => out += &format!(" [{tid} gone]"),
        }
    }
    out
}

/// Asserts that a target survived a pyflame run untouched: it exists, none of its
/// threads is stopped (`T`) or in a tracing stop (`t`), and nobody traces it.
/// A profiler must never leave its target stopped.
pub fn assert_target_running(pid: u32) {
    let tids = task_ids(pid);
    assert!(!tids.is_empty(), "target {pid} is gone after pyflame ran");
    let mut bad = Vec::new();
    for tid in tids {
        if let Some(stat) = task_stat(pid, tid) {
            if matches!(stat.state, 't' | 'T' | 'Z' | 'X') {
                bad.push(format!("thread {tid} in state {}", stat.state));
            }
        }
    }
    let tracer = status_field(pid, "TracerPid");
    assert!(
        bad.is_empty() && tracer == Some(0),
        "pyflame left its target in a bad state: {} TracerPid={tracer:?}\n{}",
        bad.join(", "),
        describe_tasks(pid)
    );
}
