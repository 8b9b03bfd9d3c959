//! What /proc says about a process: its mappings, threads, status and paths (man 5 proc).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One line of /proc/PID/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    /// The device of the file (`major:minor`, as the kernel writes it), with `inode` naming it.
    pub dev: String,
    pub inode: u64,
    /// The pathname as the target sees it (in its own mount namespace); empty for anonymous
    /// mappings. A file deleted or replaced since it was mapped ends in " (deleted)".
    pub path: String,
}

impl Mapping {
    pub fn is_file(&self) -> bool {
        self.inode != 0 && self.path.starts_with('/')
    }

    pub fn is_deleted(&self) -> bool {
        self.path.ends_with(" (deleted)")
    }

    /// The path without a " (deleted)" suffix.
    pub fn file_path(&self) -> &str {
        self.path.strip_suffix(" (deleted)").unwrap_or(&self.path)
    }

    /// The last component of the path.
    pub fn file_name(&self) -> &str {
        let p = self.file_path();
        p.rsplit('/').next().unwrap_or(p)
    }
}

/// Parses one line: `start-end perms offset dev inode [path]`.
fn parse_mapping(line: &str) -> Option<Mapping> {
    let mut rest = line;
    let mut field = || {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ').unwrap_or(rest.len());
        let (f, r) = rest.split_at(end);
        rest = r;
        f
    };
    let (start, end) = field().split_once('-')?;
    let perms = field().to_string();
    let offset = u64::from_str_radix(field(), 16).ok()?;
    let dev = field().to_string();
    let inode = field().parse().ok()?;
    let path = rest.trim_start_matches(' ').to_string();
    Some(Mapping {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        perms,
        offset,
        dev,
        inode,
        path,
    })
}

/// Parses /proc/PID/maps. Paths are bytes the kernel does not re-encode: one that is not UTF-8
/// gets U+FFFD in place of its bad bytes (`python::find` then opens such a file through
/// /proc/PID/map_files), rather than making the whole file unreadable.
pub fn parse_maps(text: &[u8]) -> Vec<Mapping> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(parse_mapping)
        .collect()
}

pub fn maps(pid: i32) -> io::Result<Vec<Mapping>> {
    Ok(parse_maps(&fs::read(format!("/proc/{pid}/maps"))?))
}

/// The thread ids of a process (/proc/PID/task).
pub fn tasks(pid: i32) -> io::Result<Vec<i32>> {
    let mut tids: Vec<i32> = fs::read_dir(format!("/proc/{pid}/task"))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    crate::order::by_key(&mut tids, |&t| t as u32 as u64);
    Ok(tids)
}

/// The threads of `pid` running or runnable now: state `R` in /proc/PID/task/TID/stat.
pub fn running_tasks(pid: i32) -> io::Result<Vec<i32>> {
    let mut running = Vec::new();
    for tid in tasks(pid)? {
        let stat = fs::read(format!("/proc/{pid}/task/{tid}/stat")).unwrap_or_default();
        if task_state(&stat) == Some(b'R') {
            running.push(tid);
        }
    }
    Ok(running)
}

/// The state letter of a `stat` line: the field after `(comm)`, where comm may itself hold
/// parentheses and spaces.
pub fn task_state(stat: &[u8]) -> Option<u8> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).copied()
}

/// Where this program image of process `pid` put its stack, heap and arguments (fields 28, 47
/// and 48 of /proc/PID/stat): chosen anew at every exec() (address-space randomisation), so a
/// change tells that the process is another program. None: gone, not visible to pyflame, or
/// not all known (a zombie has none; an exec() sets them one by one).
pub fn image(pid: i32) -> Option<[u64; 3]> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    image_of(&stat).filter(|fields| !fields.contains(&0))
}

fn image_of(stat: &[u8]) -> Option<[u64; 3]> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
    // `rest` starts at field 3 (the state).
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some([field(28)?, field(47)?, field(48)?])
}

/// Whether the leader of `pid` is exiting or has exited (a zombie, or PF_EXITING in the
/// flags, field 9 of /proc/PID/stat): as in an exec() from another thread, which ends every
/// other thread first.
pub fn leader_exiting(pid: i32) -> bool {
    const PF_EXITING: u64 = 0x4;
    let Ok(stat) = fs::read(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.iter().rposition(|&b| b == b')') else {
        return false;
    };
    let rest = String::from_utf8_lossy(stat.get(close + 2..).unwrap_or_default()).into_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let flags = fields.get(9 - 3).and_then(|f| f.parse::<u64>().ok());
    matches!(fields.first(), Some(&("Z" | "X"))) || flags.is_some_and(|f| f & PF_EXITING != 0)
}

/// A thread of `pid` that has not exited, the leader if it has not: the one through which
/// its memory is read (a leader that called pthread_exit() is a zombie without memory while
/// its other threads run on).
pub fn live_task(pid: i32) -> Option<i32> {
    let live = |tid: i32| {
        let stat = fs::read(format!("/proc/{pid}/task/{tid}/stat")).ok();
        stat.and_then(|s| task_state(&s))
            .is_some_and(|state| !matches!(state, b'Z' | b'X'))
    };
    if live(pid) {
        return Some(pid);
    }
    tasks(pid)
        .ok()?
        .into_iter()
        .find(|&tid| tid != pid && live(tid))
}

/// Whether thread `tid` of `pid` is in uninterruptible sleep (state `D`).
pub fn in_uninterruptible_sleep(pid: i32, tid: i32) -> bool {
    let stat = fs::read(format!("/proc/{pid}/task/{tid}/stat"));
    stat.is_ok_and(|s| task_state(&s) == Some(b'D'))
}

/// The fields of /proc/PID/status that pyflame uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub name: String,
    /// The state letter: R, S, D, T, t, Z (zombie), X, I...
    pub state: char,
    pub tracer_pid: i32,
    /// Real, effective, saved and filesystem uids.
    pub uids: Vec<u32>,
    /// The PID in each nested PID namespace, outermost first.
    pub nspid: Vec<i32>,
    pub cap_eff: u64,
}

/// Parses /proc/PID/status. `Name` is the thread's comm, which any process can set to
/// arbitrary bytes (prctl(PR_SET_NAME)); a non-UTF-8 one is decoded lossily, so it cannot hide
/// the other fields.
pub fn parse_status(text: &[u8]) -> Status {
    let mut s = Status::default();
    for line in String::from_utf8_lossy(text).lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Name" => s.name = value.to_string(),
            "State" => s.state = value.chars().next().unwrap_or('?'),
            "TracerPid" => s.tracer_pid = value.parse().unwrap_or(0),
            "Uid" => {
                s.uids = value
                    .split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            }
            "NSpid" => {
                s.nspid = value
                    .split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            }
            "CapEff" => s.cap_eff = u64::from_str_radix(value, 16).unwrap_or(0),
            _ => {}
        }
    }
    s
}

pub fn status(pid: i32) -> io::Result<Status> {
    Ok(parse_status(&fs::read(format!("/proc/{pid}/status"))?))
}

/// Whether `tid` is a thread of process `pid` as pyflame's /proc sees it. A thread id read
/// from the target's memory is in the target's PID namespace; in pyflame's it may name an
/// unrelated process, which must never be touched.
pub fn is_task(pid: i32, tid: i32) -> bool {
    tid > 0 && Path::new(&format!("/proc/{pid}/task/{tid}")).exists()
}

/// One thread's id as pyflame's /proc shows it (`outer`) and as the target itself sees it
/// (`inner`, from the last NSpid entry); equal unless the target is in a nested PID namespace
/// (a container seen from the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskId {
    pub outer: i32,
    pub inner: i32,
}

/// Every thread of `pid` with both of its ids. Without NSpid (kernels before 4.1) the ids
/// are taken as equal.
pub fn task_ids(pid: i32) -> io::Result<Vec<TaskId>> {
    Ok(tasks(pid)?
        .into_iter()
        .map(|outer| {
            let inner = fs::read(format!("/proc/{pid}/task/{outer}/status"))
                .ok()
                .and_then(|text| parse_status(&text).nspid.last().copied())
                .unwrap_or(outer);
            TaskId { outer, inner }
        })
        // NSpid reads 0 for a thread on its way out (an exec() from another thread).
        .filter(|k| k.inner > 0)
        .collect())
}

/// The ELF class byte (`e_ident[EI_CLASS]`: 1 for 32-bit, 2 for 64-bit) of the target's
/// executable, read through /proc/PID/exe (which works even after the file was deleted).
pub fn exe_class(pid: i32) -> io::Result<u8> {
    use std::io::Read;
    let mut ident = [0u8; 5];
    fs::File::open(format!("/proc/{pid}/exe"))?.read_exact(&mut ident)?;
    match ident {
        [0x7f, b'E', b'L', b'F', class] => Ok(class),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an ELF file",
        )),
    }
}

/// Whether `pid` is a kernel thread (PF_KTHREAD in the flags, field 9 of /proc/PID/stat).
pub fn is_kernel_thread(pid: i32) -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let stat = fs::read(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat_flags(&stat).is_some_and(|flags| flags & PF_KTHREAD != 0)
}

/// The `flags` field (the 9th) of a `stat` line. Counted from the last `)`: the command name
/// before it may hold spaces, parentheses and bytes that are not UTF-8; what follows is ASCII.
pub fn stat_flags(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let fields = std::str::from_utf8(&stat[close + 1..]).ok()?;
    fields.split_whitespace().nth(6)?.parse().ok()
}

/// The owner of /proc/PID: the process's effective uid, or root when it is not dumpable
/// (a set-user-ID program, or one that called prctl(PR_SET_DUMPABLE, 0)), see proc(5).
pub fn proc_owner(pid: i32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(format!("/proc/{pid}")).ok().map(|m| m.uid())
}

/// The target's executable, as the target sees it.
pub fn exe(pid: i32) -> io::Result<PathBuf> {
    fs::read_link(format!("/proc/{pid}/exe"))
}

/// A path as seen in the target's mount namespace, reachable from ours
/// (/proc/PID/root/<path>), so a target in a container is read from its own filesystem.
pub fn in_root(pid: i32, path: &str) -> PathBuf {
    Path::new(&format!("/proc/{pid}/root")).join(path.trim_start_matches('/'))
}

/// The most of a command line read: it only labels a process (a target's arguments may
/// take megabytes).
const MAX_CMDLINE: u64 = 4096;

/// The command line, arguments joined by spaces; its first `MAX_CMDLINE` bytes, then ` …`.
pub fn cmdline(pid: i32) -> io::Result<String> {
    use std::io::Read;
    let mut raw = Vec::new();
    fs::File::open(format!("/proc/{pid}/cmdline"))?
        .take(MAX_CMDLINE + 1)
        .read_to_end(&mut raw)?;
    let cut = raw.len() as u64 > MAX_CMDLINE;
    raw.truncate(MAX_CMDLINE as usize);
    let mut args: Vec<String> = raw
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if cut {
        args.push("…".to_string());
    }
    Ok(args.join(" "))
}

/// kernel.yama.ptrace_scope, if the Yama LSM is present.
pub fn yama_ptrace_scope() -> Option<u32> {
    fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
#[path = "proc_tests.rs"]
mod tests;

/// The system call thread `tid` of `pid` is in, blocked or stopped (the first field of
/// /proc/PID/task/TID/syscall; `running` or -1 when it is in none).
pub fn task_syscall(pid: i32, tid: i32) -> Option<u64> {
    let text = fs::read(format!("/proc/{pid}/task/{tid}/syscall")).ok()?;
    let first = text.split(|&b| b == b' ' || b == b'\n').next()?;
    std::str::from_utf8(first).ok()?.parse().ok()
}

/// A thread's name (/proc/PID/task/TID/comm: at most 15 bytes, any but NUL).
pub fn task_comm(pid: i32, tid: i32) -> Option<String> {
    let text = fs::read(format!("/proc/{pid}/task/{tid}/comm")).ok()?;
    let name = text.strip_suffix(b"\n").unwrap_or(&text);
    Some(String::from_utf8_lossy(name).into_owned())
}
