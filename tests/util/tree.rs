//! Process trees (`--subprocesses`, several `-p`): the tree-mode outputs parsed strictly, and
//! the root frame a process must get (`process <PID> <cmdline>`). (Test programs that start
//! children: util::group.)
//!
//! Collapsed, in a tree (every line has a process root; no bare `(idle) N`):
//! ```text
//! process <PID> <cmdline>;(idle) N
//! process <PID> <cmdline>;(failed) N
//! process <PID> <cmdline>;file:function:line;... N
//! ```
//! `-d`, in a tree: per process a line `process <PID> <cmdline>`, then its threads as a single
//! dump prints them (util::dump_format); processes separated by one blank line, in PID order.

use super::collapsed::{check_frame, frame_function};
use super::dump_format::{parse_dump, DumpThread};
use std::collections::BTreeSet;

/// How many characters of a command line a root frame keeps (then `…`).
pub const CMDLINE_CHARS: usize = 80;

/// What follows a process root on one line of a tree-mode collapsed profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    Idle,
    Failed,
    /// Root-first, without the process root.
    Frames(Vec<String>),
}

/// One line of a tree-mode collapsed profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLine {
    /// The whole root frame, `process <PID> <cmdline>`.
    pub root: String,
    pub pid: u32,
    pub tail: Tail,
    pub count: u64,
}

/// A parsed tree-mode collapsed profile, lines in output order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeProfile {
    pub lines: Vec<TreeLine>,
}

impl TreeProfile {
    /// Every PID that has a root.
    pub fn pids(&self) -> BTreeSet<u32> {
        self.lines.iter().map(|l| l.pid).collect()
    }

    /// The PIDs under whose root some stack's frames (root-first, without the root) satisfy
    /// `pred`.
    pub fn pids_where(&self, pred: impl Fn(&[String]) -> bool) -> BTreeSet<u32> {
        self.lines
            .iter()
            .filter(|l| matches!(&l.tail, Tail::Frames(frames) if pred(frames)))
            .map(|l| l.pid)
            .collect()
    }

    /// The PIDs under whose root some stack has a frame of function `func`.
    pub fn pids_with_function(&self, func: &str) -> BTreeSet<u32> {
        self.pids_where(|frames| frames.iter().any(|f| frame_function(f) == Some(func)))
    }

    /// The PIDs with a stack whose innermost frame is exactly `leaf`.
    pub fn pids_with_leaf(&self, leaf: &str) -> BTreeSet<u32> {
        self.pids_where(|frames| frames.last().map(String::as_str) == Some(leaf))
    }

    /// The distinct root frames of `pid` (one, unless it exec'd).
    pub fn roots_of(&self, pid: u32) -> BTreeSet<&str> {
        self.lines
            .iter()
            .filter(|l| l.pid == pid)
            .map(|l| l.root.as_str())
            .collect()
    }

    /// The `(idle)` count under `pid`'s root (0 if none).
    pub fn idle_of(&self, pid: u32) -> u64 {
        self.lines
            .iter()
            .filter(|l| l.pid == pid && l.tail == Tail::Idle)
            .map(|l| l.count)
            .sum()
    }

    /// The samples with frames under `pid`'s root.
    pub fn busy_of(&self, pid: u32) -> u64 {
        self.lines
            .iter()
            .filter(|l| l.pid == pid && matches!(l.tail, Tail::Frames(_)))
            .map(|l| l.count)
            .sum()
    }
}

/// Decimal digits only, no leading zero, not zero.
fn positive(text: &str) -> Option<u64> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0'))
        .then(|| text.parse().ok())
        .flatten()
}

/// The PID of a root frame `process <PID> <cmdline>` (the command line non-empty, without a
/// raw control character or `;`).
pub fn parse_root(frame: &str) -> Result<u32, String> {
    let rest = frame
        .strip_prefix("process ")
        .ok_or_else(|| format!("root {frame:?} does not start with \"process \""))?;
    let (pid, cmdline) = rest
        .split_once(' ')
        .ok_or_else(|| format!("root {frame:?} is not \"process <PID> <cmdline>\""))?;
    let pid = positive(pid)
        .and_then(|p| u32::try_from(p).ok())
        .ok_or_else(|| format!("root {frame:?}: bad PID {pid:?}"))?;
    if cmdline.is_empty() || cmdline.chars().any(|c| c.is_control() || c == ';') {
        return Err(format!("root {frame:?}: empty or unescaped command line"));
    }
    Ok(pid)
}

/// Parses tree-mode collapsed output: every line `<root>;<tail> <count>`, unique, ending '\n'.
pub fn parse_tree_collapsed(text: &str, line_numbers: bool) -> Result<TreeProfile, String> {
    let mut out = TreeProfile::default();
    if text.is_empty() {
        return Ok(out);
    }
    let body = text
        .strip_suffix('\n')
        .ok_or("the output does not end with a newline")?;
    let mut seen = BTreeSet::new();
    for line in body.split('\n') {
        let (stack, n) = line
            .rsplit_once(' ')
            .ok_or_else(|| format!("line {line:?} is not \"<stack> <count>\""))?;
        let count = positive(n).ok_or_else(|| format!("line {line:?}: bad count {n:?}"))?;
        let (root, tail) = stack
            .split_once(';')
            .ok_or_else(|| format!("line {line:?} has no frame under its root"))?;
        let pid = parse_root(root).map_err(|e| format!("line {line:?}: {e}"))?;
        let tail = match tail {
            "(idle)" => Tail::Idle,
            "(failed)" => Tail::Failed,
            _ => {
                let frames: Vec<String> = tail.split(';').map(String::from).collect();
                for frame in &frames {
                    check_frame(frame, line_numbers).map_err(|e| format!("line {line:?}: {e}"))?;
                }
                Tail::Frames(frames)
            }
        };
        if !seen.insert(stack) {
            return Err(format!("stack {stack:?} appears twice"));
        }
        out.lines.push(TreeLine {
            root: root.to_string(),
            pid,
            tail,
            count,
        });
    }
    Ok(out)
}

/// One process of a tree-mode dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpSection {
    pub pid: u32,
    /// The header line, `process <PID> <cmdline>`.
    pub header: String,
    pub threads: Vec<DumpThread>,
}

impl DumpSection {
    /// Whether some thread has a frame of function `func` among its innermost `depth` frames.
    pub fn has_function_within(&self, func: &str, depth: usize) -> bool {
        self.threads
            .iter()
            .any(|t| t.frames.iter().take(depth).any(|f| f.func == func))
    }
}

/// Parses a tree-mode dump: sections in increasing PID order, one blank line between them.
pub fn parse_tree_dump(text: &str) -> Result<Vec<DumpSection>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_suffix('\n')
        .ok_or("the dump does not end with a newline")?;
    // Blocks are separated by one blank line; a block starting with "process " opens a section
    // (a thread's block starts with its numeric id).
    let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
    for block in body.split("\n\n") {
        if block.is_empty() || block.starts_with('\n') || block.ends_with('\n') {
            return Err(format!("two blank lines in a row near {block:?}"));
        }
        if block.starts_with("process ") {
            let (header, threads) = match block.split_once('\n') {
                Some((header, threads)) => (header, vec![threads]),
                None => (block, Vec::new()),
            };
            sections.push((header.to_string(), threads));
        } else {
            let Some((_, threads)) = sections.last_mut() else {
                return Err(format!(
                    "the dump does not start with a process line: {block:?}"
                ));
            };
            threads.push(block);
        }
    }
    let mut out: Vec<DumpSection> = Vec::new();
    for (header, blocks) in sections {
        let pid = parse_root(&header)?;
        if let Some(last) = out.last() {
            if last.pid >= pid {
                return Err(format!(
                    "process {pid} after process {}: not in PID order",
                    last.pid
                ));
            }
        }
        let threads = if blocks.is_empty() {
            Vec::new()
        } else {
            parse_dump(&format!("{}\n", blocks.join("\n\n")))
                .map_err(|e| format!("{header:?}: {e}"))?
        };
        out.push(DumpSection {
            pid,
            header,
            threads,
        });
    }
    Ok(out)
}

/// The root frame for a process with these arguments: joined by spaces, cut to
/// [`CMDLINE_CHARS`] characters plus `…` if longer, escaped as a name.
pub fn root_text(pid: u32, args: &[String]) -> String {
    let joined = args.join(" ");
    let mut cmdline: String = joined.chars().take(CMDLINE_CHARS).collect();
    if joined.chars().count() > CMDLINE_CHARS {
        cmdline.push('…');
    }
    let mut escaped = String::new();
    for c in cmdline.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            ';' => escaped.push_str("\\x3b"),
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                escaped.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => escaped.push(c),
        }
    }
    format!("process {pid} {escaped}")
}

/// The arguments of a live process (/proc/PID/cmdline); None once it has gone (or is a zombie,
/// whose command line is empty).
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if raw.is_empty() {
        return None;
    }
    let raw = raw.strip_suffix(b"\0").unwrap_or(&raw);
    Some(
        raw.split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// The root frame a live process must get; None once it has gone.
pub fn expected_root(pid: u32) -> Option<String> {
    cmdline(pid).map(|args| root_text(pid, &args))
}

#[test]
fn parse_tree_collapsed_accepts_the_contract_and_nothing_else() {
    let text = "process 7 python3 a.py;(failed) 1\n\
                process 7 python3 a.py;t.py:<module>:9;t.py:spin:3 4\n\
                process 9 x\\x3by\\n;(idle) 2\n\
                process 9 x\\x3by\\n;t.py:<module>:9;t.py:spin:3 1\n";
    let p = parse_tree_collapsed(text, true).unwrap();
    assert_eq!(p.pids(), BTreeSet::from([7, 9]));
    assert_eq!(p.pids_with_function("spin"), BTreeSet::from([7, 9]));
    assert_eq!(p.pids_with_leaf("t.py:spin:3"), BTreeSet::from([7, 9]));
    assert_eq!((p.idle_of(9), p.idle_of(7), p.busy_of(7)), (2, 0, 4));
    assert_eq!(p.roots_of(9), BTreeSet::from(["process 9 x\\x3by\\n"]));
    let first = &p.lines[0];
    assert_eq!((first.pid, &first.tail, first.count), (7, &Tail::Failed, 1));
    assert_eq!(
        p.lines[1].tail,
        Tail::Frames(vec!["t.py:<module>:9".into(), "t.py:spin:3".into()])
    );
    assert_eq!(
        p.pids_where(|f| f.iter().any(|x| x.starts_with("t.py:spin:"))),
        BTreeSet::from([7, 9])
    );
    assert!(p.pids_where(|f| f.len() != 2).is_empty());
    assert_eq!(
        parse_tree_collapsed("", true).unwrap(),
        TreeProfile::default()
    );
    for bad in [
        "(idle) 3\n",                                   // bare idle
        "t.py:spin:3 1\n",                              // no root
        "process 7 a;t.py:spin:3 1",                    // no final newline
        "process 7 a;t.py:spin:3 0\n",                  // zero count
        "process 7 a;t.py:spin:3 01\n",                 // leading zero
        "process 7 a 1\n",                              // root alone
        "process 07 a;(idle) 1\n",                      // bad PID
        "process 7;(idle) 1\n",                         // no command line
        "process 7 a\tb;(idle) 1\n",                    // unescaped control
        "process 7 a;(idle) 1\nprocess 7 a;(idle) 2\n", // twice
        "process 7 a;t.py:spin 1\n",                    // no line number
        "process 7 a;process 8 b;t.py:spin:3 1\n",      // a root under a root
        "process 7 a;(idle);t.py:spin:3 1\n",           // idle with frames
        "process 7 a;t.py:spin:3 1\n\n",                // blank line
        "proc 7 a;t.py:spin:3 1\n",                     // not a process root
    ] {
        assert!(parse_tree_collapsed(bad, true).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn parse_tree_dump_accepts_the_contract_and_nothing_else() {
    let text = "process 7 python3 a.py\n140*: tid=7\n/a.py:f:1\n/a.py:<module>:2\n\n\
                141: tid=8\n/a.py:g:3\n\nprocess 12 python3 b.py\n150: tid=12\n/b.py:h:4\n";
    let d = parse_tree_dump(text).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!((d[0].pid, d[0].threads.len(), d[1].pid), (7, 2, 12));
    assert_eq!(d[0].header, "process 7 python3 a.py");
    assert!(d[0].has_function_within("f", 1) && !d[0].has_function_within("<module>", 1));
    assert_eq!(d[1].threads[0].leaf(), "h");
    assert_eq!(parse_tree_dump("process 7 a\n").unwrap()[0].threads, vec![]);
    // Sections without threads (a process running no Python) first and last.
    let text = "process 7 uwsgi --x\n\nprocess 9 uwsgi --x\n140*: tid=9\n/a.py:f:3\n/a.py:g:1\n\n\
                141:\n/a.py:h:2\n\nprocess 12 python3 w.py\n";
    let sections = parse_tree_dump(text).unwrap();
    let shape: Vec<(u32, &str, usize)> = sections
        .iter()
        .map(|s| (s.pid, s.header.as_str(), s.threads.len()))
        .collect();
    assert_eq!(
        shape,
        [
            (7, "process 7 uwsgi --x", 0),
            (9, "process 9 uwsgi --x", 2),
            (12, "process 12 python3 w.py", 0)
        ]
    );
    assert_eq!(sections[1].threads[1].leaf(), "h");
    assert!(parse_tree_dump("").unwrap().is_empty());
    for bad in [
        "140: tid=7\n/a.py:f:1\n", // no process line
        "140:\n/a.py:f:1\n",       // no process line, a thread without tid
        "process x y\n",           // bad PID
        "process 7\n",             // no command line
        "process 12 a\n150:\n/b.py:h:4\n\nprocess 7 b\n140:\n/a.py:f:1\n", // not in PID order
        "process 7 a\n140:\n/a.py:f:1\n\n\nprocess 8 b\n141:\n/a.py:f:1\n", // two blank lines
        "process 7 a\n140:\n/a.py:f:1\n\n", // blank line at the end
        "process 7 a\n140:\n/a.py:f:1", // no final newline
        "process 7 a\n140:\n/a.py:f\n", // bad frame
    ] {
        assert!(parse_tree_dump(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn root_text_cuts_and_escapes() {
    let args = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    assert_eq!(
        root_text(5, &args(&["python3", "a.py"])),
        "process 5 python3 a.py"
    );
    let long = "x".repeat(100);
    assert_eq!(
        root_text(5, &args(&[&long])),
        format!("process 5 {}…", "x".repeat(80))
    );
    assert_eq!(
        root_text(5, &args(&["a;b", "c\nd"])),
        "process 5 a\\x3bb c\\nd"
    );
}
