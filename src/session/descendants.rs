//! Which processes descend from the ones pyflame was given, and what each is (alive, Python
//! with an initialised interpreter, changed since last looked at), from /proc: every process's
//! parent (field 4 of /proc/PID/stat). The kernel's /proc/PID/task/TID/children would say it
//! directly but needs CONFIG_PROC_CHILDREN, which many kernels lack (this one too); instead a
//! pass lists /proc and reads the parent of only the processes it has not seen before.

use std::fs;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::proc;
use crate::python::walk::{Code, Frame, Walker};
use crate::python::{layout::GilHolder, Runtime};

/// The parent of a process, from its /proc/PID/stat (None: not readable or malformed).
pub fn parent_of(stat: &[u8]) -> Option<i32> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
    // `rest` starts at field 3 (the state); field 4 is the parent.
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every process with its parent, as /proc showed them at the last `refresh`, by PID.
#[derive(Default)]
pub struct Parents(Vec<(i32, i32)>);

impl Parents {
    /// Looks at /proc again. Only the processes not there at the last look have their
    /// /proc/PID/stat read: a pass over an unchanged host is one directory listing. (A
    /// process's parent changes only when its parent exits; the tree keeps such an orphan as
    /// one of its own, so its children are still found.)
    pub fn refresh(&mut self) {
        let Ok(dir) = fs::read_dir("/proc") else {
            return;
        };
        let mut now = Vec::with_capacity(self.0.len() + 16);
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            // /proc lists processes by increasing PID, so the last look is searched as it
            // is; out of order, a process is only read again.
            match self.0.binary_search_by_key(&pid, |p| p.0) {
                Ok(i) => now.push(self.0[i]),
                Err(_) => {
                    let stat = fs::read(format!("/proc/{pid}/stat")).ok();
                    if let Some(ppid) = stat.and_then(|s| parent_of(&s)) {
                        now.push((pid, ppid));
                    }
                }
            }
        }
        self.0 = now;
    }

    pub fn all(&self) -> &[(i32, i32)] {
        &self.0
    }
}

/// The processes that descend from `roots` (not the roots themselves), in PID order.
pub fn descendants(roots: &[i32], parents: &[(i32, i32)]) -> Vec<i32> {
    let mut found: Vec<i32> = Vec::new();
    let mut todo: Vec<i32> = roots.to_vec();
    // Each process is visited once: a loop in what /proc said (a PID reused during the pass)
    // cannot make this run forever.
    while let Some(pid) = todo.pop() {
        for &(child, _) in parents.iter().filter(|&&(_, parent)| parent == pid) {
            if !roots.contains(&child) && !found.contains(&child) {
                found.push(child);
                todo.push(child);
            }
        }
    }
    crate::order::by_key(&mut found, |&p| p as u32 as u64);
    found
}

/// Whether the interpreter of `runtime` is initialised: an interpreter exists and its GIL is
/// set up (free-threaded: its first thread state exists).
/// Memory that cannot be read at all (a seccomp filter) is an error: it will not become
/// readable by waiting.
pub fn initialized(runtime: &Runtime, mem: &RemoteMemory) -> Result<bool> {
    let walker = Walker::new(mem, runtime.layout, runtime.roots);
    let interps = match walker.interpreters().map_err(Error::from) {
        Err(Error::Fatal(why)) => return Err(Error::Fatal(why)),
        Err(_) => return Ok(false),
        Ok(interps) => interps,
    };
    Ok(match runtime.layout.gil {
        GilHolder::Disabled => interps
            .first()
            .is_some_and(|&i| walker.thread_states(i).is_ok_and(|t| !t.is_empty())),
        _ => !interps.is_empty() && walker.gils().is_ok_and(|g| !g.is_empty()),
    })
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    proc::status(pid).is_ok_and(|s| !matches!(s.state, 'Z' | 'X'))
}

/// What `Look` remembers of a process.
pub fn fingerprint(pid: i32) -> Option<(Option<[u64; 3]>, usize)> {
    let maps = proc::maps(pid).ok()?;
    let python = maps.iter().filter(|m| m.path.contains("python")).count();
    Some((proc::image(pid), python))
}

/// A process label keeps this many characters of the command line.
const LABEL_CHARS: usize = 80;

/// `process <PID> <command line>`, the root frame of a process's stacks (escaped with every
/// other name when it enters the profile).
pub fn label(pid: i32, command: &str) -> Rc<Code> {
    let mut text = format!("process {pid}");
    if !command.is_empty() {
        text.push(' ');
        text.extend(command.chars().take(LABEL_CHARS));
        if command.chars().nth(LABEL_CHARS).is_some() {
            text.push('\u{2026}');
        }
    }
    Frame::label(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cut_long_command_lines() {
        assert_eq!(label(7, "").name, "process 7");
        assert_eq!(label(7, "python3 a.py").name, "process 7 python3 a.py");
        let long = "x".repeat(100);
        let cut = label(7, &long).name.clone();
        assert_eq!(cut, format!("process 7 {}\u{2026}", "x".repeat(80)));
    }

    #[test]
    fn parent_from_stat() {
        assert_eq!(parent_of(b"42 (a b) c) S 7 42 42 0"), Some(7));
        assert_eq!(parent_of(b"42 (x"), None);
    }

    #[test]
    fn descendants_of_roots() {
        let parents = [
            (1, 0),
            (10, 1),
            (11, 10),
            (12, 11),
            (13, 10),
            (20, 1),
            (30, 30),
        ];
        assert_eq!(descendants(&[10], &parents), [11, 12, 13]);
        assert_eq!(descendants(&[11, 20], &parents), [12]);
        assert_eq!(descendants(&[30], &parents), Vec::<i32>::new());
        // The live system: pyflame's own test process has this thread's process as a root.
        let me = std::process::id() as i32;
        let mut live = Parents::default();
        live.refresh();
        assert!(live.all().iter().any(|&(pid, _)| pid == me));
        // A process started since is found by the next look.
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        live.refresh();
        let found = descendants(&[me], live.all()).contains(&(child.id() as i32));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found);
    }
}
