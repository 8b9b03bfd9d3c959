//! The asyncio part of `pyflame -d --async`, parsed strictly (the contract of issue 17):
//!
//! ```text
//! <the thread dump, as plain -d prints it>
//!
//! asyncio event loop 0x<address> (thread <id>[: tid=<tid>] | not running): <N> tasks
//! task <name> [running|pending|done|cancelled]
//!   <file>:<function>:<line>        coroutine frames, innermost first
//!   awaits: task <name>, future (<what>), ...
//!   awaited by: task <name>, ...
//! tree:
//! └── task <root>
//!     ├── task <child>
//!     │   └── task <grandchild> (cycle)
//! ```
//!
//! or the one line `asyncio: no event loop` or `asyncio: not supported on Python X.Y`; lines
//! starting `asyncio: ` inside a section say what a budget left out. Also the tree as the
//! contract draws it, from the tasks.

use crate::util::dump_format::{parse_dump, parse_frame, DumpThread};
use std::collections::{BTreeMap, BTreeSet};
/// A task as a section shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Task {
    pub(super) state: String,
    /// `file:function:line`, innermost first.
    pub(super) frames: Vec<String>,
    pub(super) awaits: Vec<String>,
    pub(super) awaited_by: Vec<String>,
}

/// One event loop's section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Section {
    pub(super) header: String,
    pub(super) tasks: BTreeMap<String, Task>,
    /// The lines after `tree:` (None in a preamble, which has no tree).
    pub(super) tree: Option<Vec<String>>,
    /// Lines starting `asyncio: ` inside the section (what a budget left out).
    pub(super) notes: Vec<String>,
}

/// What follows the thread dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Shown {
    NoLoop,
    /// `asyncio: not supported on Python X.Y`: X.Y.
    NotSupported(String),
    Loops(Vec<Section>),
}

/// A whole `-d --async` output: the thread dump (its text and threads) and what follows.
pub(super) struct Dumped {
    pub(super) threads_text: String,
    pub(super) threads: Vec<DumpThread>,
    pub(super) shown: Shown,
}

/// Splits and parses `-d --async` stdout: the thread dump, a blank line, the asyncio part.
pub(super) fn parse_output(stdout: &str) -> Result<Dumped, String> {
    let (threads_text, lines) = split_output(stdout)?;
    let threads = parse_dump(&threads_text).map_err(|e| format!("thread dump: {e}"))?;
    let shown = parse_async(&lines, true)?;
    Ok(Dumped {
        threads_text,
        threads,
        shown,
    })
}

/// `-d --async` stdout split: the thread dump's text, and the lines of the asyncio part
/// (from the first line starting `asyncio` after a blank line).
pub(super) fn split_output(stdout: &str) -> Result<(String, Vec<&str>), String> {
    let body = stdout.strip_suffix('\n').ok_or("no final newline")?;
    let lines: Vec<&str> = body.split('\n').collect();
    let start = (1..lines.len())
        .find(|&i| lines[i - 1].is_empty() && lines[i].starts_with("asyncio"))
        .ok_or("no asyncio part after a blank line")?;
    Ok((
        lines[..start - 1].join("\n") + "\n",
        lines[start..].to_vec(),
    ))
}

/// Parses the asyncio part (`with_tree`: each section ends with its tree).
pub(super) fn parse_async(lines: &[&str], with_tree: bool) -> Result<Shown, String> {
    match lines {
        ["asyncio: no event loop"] => return Ok(Shown::NoLoop),
        [one] if one.starts_with("asyncio: not supported on Python ") => {
            let version = &one["asyncio: not supported on Python ".len()..];
            return Ok(Shown::NotSupported(version.to_string()));
        }
        _ => {}
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut current: Option<String> = None; // the task being read
    for (n, line) in lines.iter().enumerate() {
        let bad = |why: &str| format!("asyncio line {}: {why}: {line:?}", n + 1);
        if line.starts_with("asyncio event loop 0x") {
            sections.push(Section {
                header: line.to_string(),
                ..Section::default()
            });
            current = None;
            continue;
        }
        let next_is_header = lines
            .get(n + 1)
            .is_some_and(|l| l.starts_with("asyncio event loop 0x"));
        if line.is_empty() && next_is_header && !sections.is_empty() {
            continue;
        }
        let section = sections
            .last_mut()
            .ok_or_else(|| bad("before any section"))?;
        if let Some(note) = line.strip_prefix("asyncio: ") {
            section.notes.push(note.to_string());
        } else if let Some(tree) = &mut section.tree {
            tree.push(line.to_string());
        } else if *line == "tree:" && with_tree {
            section.tree = Some(Vec::new());
        } else if let Some(rest) = line.strip_prefix("task ") {
            let (name, state) = rest
                .strip_suffix(']')
                .and_then(|r| r.rsplit_once(" ["))
                .ok_or_else(|| bad("not `task <name> [<state>]`"))?;
            if !["running", "pending", "done", "cancelled"].contains(&state) {
                return Err(bad("unknown state"));
            }
            let task = Task {
                state: state.to_string(),
                ..Task::default()
            };
            if section.tasks.insert(name.to_string(), task).is_some() {
                return Err(bad("task shown twice"));
            }
            current = Some(name.to_string());
        } else {
            let name = current.as_ref().ok_or_else(|| bad("outside a task"))?;
            let task = section.tasks.get_mut(name).expect("inserted");
            if let Some(items) = line.strip_prefix("  awaits: ") {
                if !task.awaits.is_empty() || !task.awaited_by.is_empty() {
                    return Err(bad("awaits out of place"));
                }
                task.awaits = items.split(", ").map(String::from).collect();
            } else if let Some(items) = line.strip_prefix("  awaited by: ") {
                if !task.awaited_by.is_empty() {
                    return Err(bad("awaited by twice"));
                }
                task.awaited_by = items.split(", ").map(String::from).collect();
            } else if let Some(frame) = line.strip_prefix("  ") {
                if !task.awaits.is_empty() || !task.awaited_by.is_empty() {
                    return Err(bad("a frame after awaits or awaited by"));
                }
                parse_frame(frame).map_err(|e| bad(&e))?;
                task.frames.push(frame.to_string());
            } else {
                return Err(bad("unexpected"));
            }
        }
    }
    if sections.is_empty() {
        return Err("no section".into());
    }
    for s in &sections {
        let count = header_count(&s.header)?;
        if count != s.tasks.len() {
            return Err(format!("{:?}: {} tasks shown", s.header, s.tasks.len()));
        }
        if with_tree && s.tree.is_none() {
            return Err(format!("{:?}: no tree", s.header));
        }
    }
    Ok(Shown::Loops(sections))
}

/// The N of a header `asyncio event loop 0x<hex> (thread <id>[: tid=<tid>]): N tasks` or
/// `asyncio event loop 0x<hex> (not running): N tasks`.
fn header_count(header: &str) -> Result<usize, String> {
    let bad = || format!("bad section header {header:?}");
    let rest = header
        .strip_prefix("asyncio event loop 0x")
        .ok_or_else(bad)?;
    let (address, rest) = rest.split_once(" (").ok_or_else(bad)?;
    let (who, rest) = rest.split_once("): ").ok_or_else(bad)?;
    let count = rest.strip_suffix(" tasks").ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let thread = who
        .strip_prefix("thread ")
        .map(|t| match t.split_once(": tid=") {
            Some((id, tid)) => digits(id) && digits(tid),
            None => digits(t),
        });
    let hex = !address.is_empty() && address.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex || !(who == "not running" || thread == Some(true)) || !digits(count) {
        return Err(bad());
    }
    count.parse().map_err(|_| bad())
}

/// The tree the contract draws: a root is a task nobody awaits, children the tasks a task
/// awaits; both sorted by name (byte order); a task already on the path from its root is
/// `(cycle)` and not descended; a task under several parents is drawn under each.
pub(super) fn draw_tree(tasks: &BTreeMap<String, Task>) -> Vec<String> {
    let children = |name: &str| -> Vec<String> {
        let awaited: BTreeSet<&str> = tasks[name]
            .awaits
            .iter()
            .filter_map(|a| a.strip_prefix("task "))
            .collect();
        awaited.into_iter().map(String::from).collect()
    };
    let awaited: BTreeSet<String> = tasks.keys().flat_map(|n| children(n)).collect();
    let mut out = Vec::new();
    for root in tasks.keys().filter(|n| !awaited.contains(*n)) {
        let mut path = Vec::new();
        draw(root, "", true, &mut path, &children, &mut out);
    }
    out
}

fn draw(
    name: &str,
    prefix: &str,
    last: bool,
    path: &mut Vec<String>,
    children: &dyn Fn(&str) -> Vec<String>,
    out: &mut Vec<String>,
) {
    let branch = if last { "└── " } else { "├── " };
    if path.iter().any(|p| p == name) {
        out.push(format!("{prefix}{branch}task {name} (cycle)"));
        return;
    }
    out.push(format!("{prefix}{branch}task {name}"));
    let inner = format!("{prefix}{}", if last { "    " } else { "│   " });
    let kids = children(name);
    path.push(name.to_string());
    for (i, kid) in kids.iter().enumerate() {
        draw(kid, &inner, i + 1 == kids.len(), path, children, out);
    }
    path.pop();
}

#[test]
fn draws_trees_and_parses_sections() {
    let text = "asyncio event loop 0x7f00 (thread 1: tid=2): 3 tasks\n\
        task a [pending]\n  /x.py:f:1\n  awaits: task b, future (asyncio.sleep)\n\
        task b [running]\n  /x.py:g:2\n  awaits: task a\n  awaited by: task a\n\
        task c [done]\n  awaits: task b\n\
        tree:\n└── task c\n    └── task b\n        └── task a\n            └── task b (cycle)";
    let lines: Vec<&str> = text.lines().collect();
    let Ok(Shown::Loops(s)) = parse_async(&lines, true) else {
        panic!("not parsed")
    };
    assert_eq!(s[0].tasks["a"].frames, ["/x.py:f:1"]);
    assert_eq!(
        draw_tree(&s[0].tasks).join("\n"),
        s[0].tree.as_ref().unwrap().join("\n")
    );
    let mut two = s[0].tasks.clone();
    two.get_mut("c").unwrap().awaits = vec!["task a".into(), "task b".into()];
    two.get_mut("b").unwrap().awaits.clear();
    let want = "└── task c\n    ├── task a\n    │   └── task b\n    └── task b";
    assert_eq!(draw_tree(&two).join("\n"), want);
    for bad in [
        "asyncio event loop 0x7f00 (thread 1: tid=2): 2 tasks\ntask a [pending]\ntree:",
        "asyncio event loop 0xzz (not running): 0 tasks\ntree:",
        "asyncio event loop 0x7f00 (not running): 1 tasks\ntask a [asleep]\ntree:",
        "asyncio event loop 0x7f00 (not running): 1 tasks\ntask a [done]\n  awaits: x\n  /a.py:f:1\ntree:",
    ] {
        let lines: Vec<&str> = bad.lines().collect();
        assert!(parse_async(&lines, true).is_err(), "accepted {bad:?}");
    }
}
