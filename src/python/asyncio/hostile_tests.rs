//! Hostile task graphs in fake memory (issue 17): the reader stays bounded, and what it
//! cannot read is counted or shown as such, never the whole read lost.

use std::time::{Duration, Instant};

use super::fake_tasks::{each, text, Py, MAX_CHAIN, UNMAPPED};
use super::{State, Waiter, MAX_TASKS};
use crate::budget::{self, Limits};

#[test]
fn a_sane_graph_reads_exactly() {
    let mut p = Py::new();
    let o = p.o;
    // The thread runs D: compute <- work (D's coroutine's own frame) <- _run_once <- <module>.
    let module = p.py.code("/app/main.py", "<module>", 1);
    let run_once =
        p.py.code("/usr/lib/asyncio/base_events.py", "_run_once", 2000);
    let f_module = p.py.frame(module, 0);
    let f_run = p.py.frame(run_once, f_module);
    let d_coro = p.coro("/app/main.py", "work", 30, 0, 0);
    p.py.set(d_coro + o.gi_iframe + 8, f_run);
    let compute = p.py.code("/app/main.py", "compute", 40);
    let f_compute = p.py.frame(compute, d_coro + o.gi_iframe);
    let t = p.tstate(f_compute);
    p.interp(&[t]);
    let (l1, l2) = (p.py.object("Loop", 0), p.py.object("Loop", 0));
    let fut = p.py.object("_asyncio.Future", 0);
    // R awaits A in main, which awaits fetch; A (Task-7) is done; B sleeps; D runs.
    let inner = p.coro("/app/main.py", "fetch", 20, -2, 0);
    let outer = p.coro("/app/main.py", "main", 10, -1, inner);
    let r = p.named("root", outer, 0);
    let seven = p.int(1 << 3, 7);
    let a = p.task(seven, 0, 2);
    let sleep = p.coro("/usr/lib/python3.14/asyncio/tasks.py", "sleep", 700, -2, 0);
    let b = p.named("worker", sleep, 1);
    let d = p.named("runner", d_coro, 0);
    p.awaited_by(a, r, false);
    let set = p.set(&[0xdead, 0, r, 0], 1, 3);
    p.awaited_by(b, set, true);
    p.awaited_by(d, b, false);
    for (task, lp, waiter) in [(r, l1, a), (a, l2, fut), (b, l1, fut), (d, l1, 0)] {
        p.py.set(task + o.fut_loop, lp);
        p.py.set(task + o.task_fut_waiter, waiter);
    }
    // The running task is on its list too, and read once.
    p.link(t + o.tstate_tasks_head, &[r, a, b, d]);
    p.py.set(t + o.tstate_running_task, d);
    p.py.set(t + o.tstate_running_loop, l1);
    let (tasks, _) = p.read(&[t], budget::DUMP);
    assert_eq!(each(&tasks, |t| t.addr), [r, a, b, d]);
    assert_eq!(
        each(&tasks, |t| t.name.clone()),
        ["root", "Task-7", "worker", "runner"]
    );
    let states = [
        State::Pending,
        State::Done,
        State::Cancelled,
        State::Running,
    ];
    assert_eq!(each(&tasks, |t| t.state), states);
    let frames = each(&tasks, |t| text(&t.frames).join(" "));
    let main = "/app/main.py:fetch:23 /app/main.py:main:13";
    let sleep = "/usr/lib/python3.14/asyncio/tasks.py:sleep:703";
    let work = "/app/main.py:compute:43 /app/main.py:work:33";
    assert_eq!(frames, [main, "", sleep, work]);
    let links = each(&tasks, |t| {
        (t.awaited_by.clone(), t.waiter.clone(), t.loop_addr)
    });
    let future = |s: &str| Some(Waiter::Future(s.into()));
    let want = [
        (vec![], Some(Waiter::Task(a)), l1),
        (vec![r], future("_asyncio.Future"), l2),
        (vec![r], future("asyncio.sleep"), l1),
        (vec![b], None, l1),
    ];
    assert_eq!(links, want);
    assert_eq!((tasks.unreadable, tasks.cut), (0, false));
    let loops: Vec<_> = tasks.loops.iter().map(|l| (l.addr, l.tstate)).collect();
    assert_eq!(loops, [(l1, Some(t)), (l2, None)]);
}

#[test]
fn hostile_lists_end() {
    // A list looping back to its second task, not to its head: each task once.
    let mut p = Py::new();
    let tasks = [p.named("r", 0, 0), p.named("a", 0, 0), p.named("b", 0, 0)];
    let t = p.listed(&tasks);
    p.py.set(tasks[2] + p.o.task_node, tasks[1] + p.o.task_node);
    assert_eq!(p.names(), ("r a b".into(), 0, false));
    // A next pointer to unmapped memory: the whole read goes on.
    p.py.set(tasks[1] + p.o.task_node, UNMAPPED);
    let (names, unreadable, cut) = p.names();
    assert_eq!((&*names, cut), ("r a", false));
    assert!(unreadable >= 1);
    // 20,000 tasks: cut at MAX_TASKS.
    let name = p.py.string("n");
    let many: Vec<u64> = (0..20_000).map(|_| p.task(name, 0, 0)).collect();
    p.link(t + p.o.tstate_tasks_head, &many);
    let (t, _) = p.read(&[], budget::DUMP);
    assert_eq!((t.tasks.len(), t.unreadable, t.cut), (MAX_TASKS, 0, true));
}

/// One node that cannot be read is one task that cannot be read.
#[test]
fn an_unmapped_node_is_counted_once() {
    let mut p = Py::new();
    let r = p.named("r", 0, 0);
    p.listed(&[r]);
    p.py.set(r + p.o.task_node, UNMAPPED);
    assert_eq!(p.names(), ("r".into(), 1, false));
}

/// A thread state whose list link cannot be read (the thread dump leaves it out) leaves the
/// other threads' tasks readable.
#[test]
fn a_broken_thread_list_keeps_the_tasks() {
    let mut p = Py::new();
    let r = p.named("r", 0, 0);
    let t = p.listed(&[r]);
    p.py.set(t + p.py.layout.tstate.next, UNMAPPED);
    assert_eq!(p.names(), ("r".into(), 0, false));
}

#[test]
fn awaited_by_sets_are_read_within_bounds() {
    let mut p = Py::new();
    let r = p.named("r", 0, 0);
    // mask and used 2^40: 4096 slots read (64 KiB), the task at slot 4000 found.
    let mut keys = vec![0x1234_5670; 4096];
    keys[4000] = r;
    let huge = p.set(&keys, 1 << 40, 1 << 40);
    let a = p.named("a", 0, 0);
    p.awaited_by(a, huge, true);
    // The same with a one-slot table: the set cannot be read, the task is kept without waiters.
    let short = p.set(&[r], 1 << 40, 1 << 40);
    let b = p.named("b", 0, 0);
    p.awaited_by(b, short, true);
    p.listed(&[r, a, b]);
    let start = Instant::now();
    let limits = Limits {
        bytes: 256 << 10,
        ..budget::DUMP
    };
    let (tasks, exhausted) = p.read(&[], limits);
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(exhausted, None);
    assert_eq!(
        each(&tasks, |t| (t.name.clone(), t.awaited_by.clone())),
        [
            ("r".into(), vec![]),
            ("a".into(), vec![r]),
            ("b".into(), vec![])
        ]
    );
    assert_eq!((tasks.unreadable, tasks.cut), (0, false));
}

#[test]
fn coroutine_chains_are_bounded() {
    let mut p = Py::new();
    // A coroutine awaiting itself.
    let own = p.coro("a.py", "own", 1, -1, 0);
    p.py.set(
        own + p.o.gi_iframe + p.o.stackpointer,
        own + p.o.gen_size + 16,
    );
    p.py.set(own + p.o.gen_size + 8, own);
    let a = p.named("a", own, 0);
    // 1,000 coroutines, each awaiting the next: the outermost MAX_CHAIN.
    let mut next = 0;
    for i in (0..1000).rev() {
        next = p.coro(
            "c.py",
            &format!("c{i}"),
            1,
            if i == 999 { -2 } else { -1 },
            next,
        );
    }
    let b = p.named("b", next, 0);
    p.listed(&[a, b]);
    let (tasks, _) = p.read(&[], budget::DUMP);
    let frames = &tasks.tasks[0].frames;
    assert_eq!(frames.len(), MAX_CHAIN);
    assert!(frames.iter().all(|f| f.code.name == "own"));
    let frames = text(&tasks.tasks[1].frames);
    assert_eq!(frames.len(), MAX_CHAIN);
    assert_eq!(
        (&*frames[0], &*frames[MAX_CHAIN - 1]),
        ("c.py:c255:4", "c.py:c0:4")
    );
}

#[test]
fn names_and_coroutines_that_make_no_sense() {
    let mut p = Py::new();
    let float = p.py.object("float", 0);
    let ints = [
        p.int(2 << 3, 5 | 1 << 32), // two digits
        p.int(1, 9),                // zero
        p.int(1 << 3 | 2, 3),       // negative
        p.int(u64::MAX << 3, 1),    // 2^61 digits
    ];
    let mut tasks = vec![p.task(float, 0, 0)];
    tasks.extend(ints.map(|i| p.task(i, 0, 0)));
    // Neither a coroutine nor readable: no frames; one whose frame runs no code object.
    let s = p.py.string("s");
    let bad_code = p.coro("x.py", "x", 1, -2, 0);
    p.py.set(bad_code + p.o.gi_iframe, s);
    tasks.extend([p.named("str", s, 0), p.named("code", bad_code, 0)]);
    // A name or a coroutine that cannot be read: shown as such (the task is isolated from
    // what it points at); a fut_state out of range: the task object is not one.
    tasks.extend([
        p.task(UNMAPPED, 0, 0),
        p.named("c", UNMAPPED, 0),
        p.named("st", 0, 3),
    ]);
    p.listed(&tasks);
    let (t, _) = p.read(&[], budget::DUMP);
    let names = each(&t, |t| t.name.clone()).join(" ");
    assert_eq!(
        names,
        "<unreadable> Task-1073741829 Task-0 Task-? Task-? str code <unreadable> c"
    );
    let frames = each(&t, |t| text(&t.frames).join(" "));
    let unreadable = "<unreadable>:<unreadable>:0";
    assert_eq!(frames[5..], ["", unreadable, "", unreadable]);
    assert_eq!((t.unreadable, t.cut), (1, false));
}

#[test]
fn task_sizes_past_the_read_buffer() {
    let mut p = Py::new();
    let r = p.named("r", 0, 0);
    p.listed(&[r]);
    p.o.task_size = 1 << 20;
    assert_eq!(p.names(), ("r".into(), 0, false));
    p.o.task_name = 600;
    assert_eq!(p.names(), ("".into(), 1, false));
}

/// A coroutine awaiting what cannot be read (a stale pointer: tasks are read while they run)
/// ends its chain there, as a first coroutine that is not one does.
#[test]
fn a_chain_that_breaks_keeps_the_task() {
    let mut p = Py::new();
    let coro = p.coro("x.py", "x", 1, -1, UNMAPPED);
    let a = p.named("a", coro, 0);
    p.listed(&[a]);
    let (t, _) = p.read(&[], budget::DUMP);
    assert_eq!(each(&t, |t| text(&t.frames)), [["x.py:x:4"]]);
}
