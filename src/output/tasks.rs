//! `-d --async`: after the thread dump, one section per event loop: each task (sorted by
//! name) with its state, its coroutine stack innermost first (as the dump prints frames), what
//! it awaits and who awaits it; then a tree rooted at the tasks nobody awaits, drawn as
//! `python -m asyncio pstree` draws it, children sorted by name. A task already on the path
//! from its root is marked `(cycle)` and not descended; the tree stops at `MAX_TREE_LINES`.

use std::io::{self, Write};

use super::escape;
use crate::hash::{Map, Set};
use crate::python::asyncio::{State, Task, Tasks, Waiter, MAX_TASKS};
use crate::python::walk::FrameKind;

/// Lines of one loop's tree at most (a task awaited by many, each awaited by many, draws
/// every path).
const MAX_TREE_LINES: usize = 100_000;
/// Levels of a tree at most.
const MAX_DEPTH: usize = 256;

/// Writes the sections. `thread` gives the header's thread of a loop from the thread state
/// running it: `thread 123: tid=45`.
pub fn write(
    out: &mut dyn Write,
    tasks: &Tasks,
    thread: &dyn Fn(u64) -> Option<String>,
) -> io::Result<()> {
    if tasks.loops.is_empty() && tasks.tasks.is_empty() {
        return writeln!(out, "asyncio: no event loop");
    }
    let by_addr: Map<u64, &Task> = tasks.tasks.iter().map(|t| (t.addr, t)).collect();
    for (i, lp) in tasks.loops.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let mut mine: Vec<&Task> = tasks
            .tasks
            .iter()
            .filter(|t| t.loop_addr == lp.addr)
            .collect();
        mine.sort_by(by_name);
        let running = match lp.tstate.and_then(thread) {
            Some(t) => format!("thread {t}"),
            None => "not running".into(),
        };
        writeln!(
            out,
            "asyncio event loop {:#x} ({running}): {} tasks",
            lp.addr,
            mine.len()
        )?;
        let mut awaits: Map<u64, Vec<&Task>> = Map::default();
        for t in &mine {
            for a in &t.awaited_by {
                awaits.entry(*a).or_default().push(t);
            }
        }
        for list in awaits.values_mut() {
            list.sort_by(by_name);
            list.dedup_by_key(|t| t.addr);
        }
        for t in &mine {
            task(out, t, &by_addr, awaits.get(&t.addr).map_or(&[], |v| v))?;
        }
        writeln!(out, "tree:")?;
        let mut d = Drawer {
            out,
            awaits: &awaits,
            lines: 0,
            drawn: Set::default(),
            path: Vec::new(),
        };
        // Roots first; then what only a cycle reaches, from its first task by name.
        for t in mine.iter().filter(|t| t.awaited_by.is_empty()) {
            d.node(t, "", true)?;
        }
        for t in &mine {
            if !d.drawn.contains(&t.addr) {
                d.node(t, "", true)?;
            }
        }
        if d.lines >= MAX_TREE_LINES {
            writeln!(out, "asyncio: the tree was cut at {MAX_TREE_LINES} lines")?;
        }
    }
    if tasks.cut {
        writeln!(
            out,
            "asyncio: the tasks were cut (at most {MAX_TASKS}, within the dump's budget)"
        )?;
    }
    if tasks.unreadable > 0 {
        writeln!(out, "asyncio: {} tasks could not be read", tasks.unreadable)?;
    }
    Ok(())
}

fn task(
    out: &mut dyn Write,
    t: &Task,
    by_addr: &Map<u64, &Task>,
    awaited: &[&Task],
) -> io::Result<()> {
    let state = match t.state {
        State::Running => "running",
        State::Pending => "pending",
        State::Done => "done",
        State::Cancelled => "cancelled",
    };
    writeln!(out, "task {} [{state}]", escape::name(&t.name))?;
    for f in &t.frames {
        let (file, name) = (escape::name(&f.code.filename), escape::name(&f.code.name));
        match f.code.kind {
            FrameKind::Label => writeln!(out, "  {name}")?,
            _ => writeln!(out, "  {file}:{name}:{}", f.line)?,
        }
    }
    let mut items: Vec<String> = awaited
        .iter()
        .map(|a| format!("task {}", escape::name(&a.name)))
        .collect();
    match &t.waiter {
        // A future awaited for tasks (gather's) is shown as the tasks.
        Some(Waiter::Future(what)) if awaited.is_empty() => {
            items.push(format!("future ({})", escape::name(what)))
        }
        Some(Waiter::Task(w)) if !awaited.iter().any(|a| a.addr == *w) => {
            let name = by_addr.get(w).map_or("?", |t| t.name.as_str());
            items.push(format!("task {}", escape::name(name)));
        }
        _ => {}
    }
    if !items.is_empty() {
        writeln!(out, "  awaits: {}", items.join(", "))?;
    }
    let mut by: Vec<&Task> = t
        .awaited_by
        .iter()
        .filter_map(|a| by_addr.get(a))
        .copied()
        .collect();
    by.sort_by(by_name);
    let by: Vec<String> = by
        .iter()
        .map(|a| format!("task {}", escape::name(&a.name)))
        .collect();
    if !by.is_empty() {
        writeln!(out, "  awaited by: {}", by.join(", "))?;
    }
    Ok(())
}

/// Tasks by name, then address (one comparator, so one sort in the binary).
fn by_name(a: &&Task, b: &&Task) -> std::cmp::Ordering {
    (&a.name, a.addr).cmp(&(&b.name, b.addr))
}

/// Draws a loop's tree, counting its lines and remembering the tasks drawn.
struct Drawer<'a, 'o> {
    out: &'o mut dyn Write,
    awaits: &'o Map<u64, Vec<&'a Task>>,
    lines: usize,
    drawn: Set<u64>,
    path: Vec<u64>,
}

impl<'a> Drawer<'a, '_> {
    /// One node and, unless it closes a cycle, the tasks it awaits. A root is drawn as the
    /// last child of an invisible root, as pstree does.
    fn node(&mut self, t: &'a Task, prefix: &str, last: bool) -> io::Result<()> {
        if self.lines >= MAX_TREE_LINES {
            return Ok(());
        }
        self.lines += 1;
        self.drawn.insert(t.addr);
        let connector = if last { "└── " } else { "├── " };
        let name = escape::name(&t.name);
        if self.path.contains(&t.addr) {
            return writeln!(self.out, "{prefix}{connector}task {name} (cycle)");
        }
        writeln!(self.out, "{prefix}{connector}task {name}")?;
        if self.path.len() >= MAX_DEPTH {
            return Ok(());
        }
        let children = self.awaits.get(&t.addr).map_or(&[][..], |v| v);
        let inner = format!("{prefix}{}", if last { "    " } else { "│   " });
        self.path.push(t.addr);
        for (i, c) in children.iter().enumerate() {
            self.node(c, &inner, i + 1 == children.len())?;
        }
        self.path.pop();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::asyncio::Loop;
    use crate::python::walk::{Code, Frame};
    use std::rc::Rc;

    fn task(addr: u64, name: &str, state: State, awaited_by: &[u64]) -> Task {
        Task {
            addr,
            name: name.into(),
            state,
            frames: vec![Frame {
                code: Rc::new(Code {
                    filename: "app.py".into(),
                    name: format!("co_{name}"),
                    kind: FrameKind::Python,
                }),
                line: addr as i32,
            }],
            awaited_by: awaited_by.to_vec(),
            waiter: None,
            loop_addr: 0x100,
        }
    }

    fn render(tasks: &Tasks) -> String {
        let mut out = Vec::new();
        let thread = |tstate: u64| Some(format!("{tstate}: tid=7"));
        write(&mut out, tasks, &thread).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// main awaits a and b, both await a shared pool, which sleeps; names sorted; the
    /// shared task drawn under each parent; a name with a newline escaped.
    #[test]
    fn tasks_and_their_tree() {
        let mut pool = task(4, "pool", State::Pending, &[2, 3]);
        pool.waiter = Some(Waiter::Future("asyncio.sleep".into()));
        let mut a = task(2, "a\nb", State::Running, &[1]);
        a.waiter = Some(Waiter::Task(4));
        let tasks = Tasks {
            tasks: vec![
                pool,
                task(3, "b", State::Done, &[1]),
                a,
                task(1, "main", State::Pending, &[]),
            ],
            loops: vec![Loop {
                addr: 0x100,
                tstate: Some(9),
            }],
            cut: false,
            unreadable: 2,
        };
        let want = "\
asyncio event loop 0x100 (thread 9: tid=7): 4 tasks
task a\\nb [running]
  app.py:co_a\\nb:2
  awaits: task pool
  awaited by: task main
task b [done]
  app.py:co_b:3
  awaits: task pool
  awaited by: task main
task main [pending]
  app.py:co_main:1
  awaits: task a\\nb, task b
task pool [pending]
  app.py:co_pool:4
  awaits: future (asyncio.sleep)
  awaited by: task a\\nb, task b
tree:
└── task main
    ├── task a\\nb
    │   └── task pool
    └── task b
        └── task pool
asyncio: 2 tasks could not be read
";
        assert_eq!(render(&tasks), want);
    }

    /// x and y await each other and nobody else awaits them: drawn from x, the cycle marked.
    #[test]
    fn a_cycle_is_drawn_once_and_marked() {
        let tasks = Tasks {
            tasks: vec![
                task(1, "x", State::Pending, &[2]),
                task(2, "y", State::Pending, &[1]),
            ],
            loops: vec![Loop {
                addr: 0x100,
                tstate: None,
            }],
            cut: true,
            unreadable: 0,
        };
        let text = render(&tasks);
        assert!(text.starts_with("asyncio event loop 0x100 (not running): 2 tasks\n"));
        assert!(text.ends_with(
            "tree:\n└── task x\n    └── task y\n        └── task x (cycle)\n\
             asyncio: the tasks were cut (at most 10000, within the dump's budget)\n"
        ));
    }

    #[test]
    fn no_loop_is_one_line() {
        assert_eq!(render(&Tasks::default()), "asyncio: no event loop\n");
    }

    /// Every task awaits every task before it: the paths multiply, the lines do not.
    #[test]
    fn a_dense_graph_stops_at_the_line_limit() {
        let tasks: Vec<Task> = (1..=40u64)
            .map(|i| {
                task(
                    i,
                    &format!("t{i:02}"),
                    State::Pending,
                    &(1..i).collect::<Vec<_>>(),
                )
            })
            .collect();
        let tasks = Tasks {
            tasks,
            loops: vec![Loop {
                addr: 0x100,
                tstate: None,
            }],
            ..Tasks::default()
        };
        let text = render(&tasks);
        let tree = text.split("tree:\n").nth(1).unwrap();
        assert_eq!(tree.lines().count(), MAX_TREE_LINES + 1);
        assert!(tree.ends_with("asyncio: the tree was cut at 100000 lines\n"));
    }
}
