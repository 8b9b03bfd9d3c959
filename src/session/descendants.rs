//! Which processes descend from the ones pyflame was given, from /proc: every process's parent
//! (field 4 of /proc/PID/stat), read in one pass over /proc. The kernel's
//! /proc/PID/task/TID/children would be cheaper but needs CONFIG_PROC_CHILDREN, which many
//! kernels lack; a pass costs about 10 µs per process on the host, and `Tree` spaces passes
//! by their cost.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

/// The parent of a process, from its /proc/PID/stat (None: not readable or malformed).
pub fn parent_of(stat: &[u8]) -> Option<i32> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
    // `rest` starts at field 3 (the state); field 4 is the parent.
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every process's parent, as /proc shows them now.
pub fn parents() -> BTreeMap<i32, i32> {
    let mut parents = BTreeMap::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return parents;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(ppid) = fs::read(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| parent_of(&s))
        {
            parents.insert(pid, ppid);
        }
    }
    parents
}

/// The processes that descend from `roots` (not the roots themselves), in PID order.
pub fn descendants(roots: &[i32], parents: &BTreeMap<i32, i32>) -> Vec<i32> {
    let mut children: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for (&pid, &ppid) in parents {
        children.entry(ppid).or_default().push(pid);
    }
    let mut found = BTreeSet::new();
    let mut todo: Vec<i32> = roots.to_vec();
    // Each process is visited once: a loop in what /proc said (a PID reused during the pass)
    // cannot make this run forever.
    while let Some(pid) = todo.pop() {
        for &child in children.get(&pid).map_or(&[][..], |c| c.as_slice()) {
            if !roots.contains(&child) && found.insert(child) {
                todo.push(child);
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_from_stat() {
        assert_eq!(parent_of(b"42 (a b) c) S 7 42 42 0"), Some(7));
        assert_eq!(parent_of(b"42 (x"), None);
    }

    #[test]
    fn descendants_of_roots() {
        let parents: BTreeMap<i32, i32> = [
            (1, 0),
            (10, 1),
            (11, 10),
            (12, 11),
            (13, 10),
            (20, 1),
            (30, 30),
        ]
        .into_iter()
        .collect();
        assert_eq!(descendants(&[10], &parents), [11, 12, 13]);
        assert_eq!(descendants(&[11, 20], &parents), [12]);
        assert_eq!(descendants(&[30], &parents), Vec::<i32>::new());
        // The live system: pyflame's own test process has this thread's process as a root.
        let me = std::process::id() as i32;
        assert!(super::parents().contains_key(&me));
    }
}
