//! `--async` when sampling, in fake memory (issue 17): a running task's chain outermost,
//! bounded, and nothing labelled when the running coroutine is not on the stack.

use super::fake_tasks::{text, Py, UNMAPPED};
use super::Running;
use crate::budget;
use crate::python::debug_offsets::layout;
use crate::python::published::PY314;
use crate::python::walk::Walker;
use crate::python::{Runtime, Source};

impl Py {
    /// A thread running task `name` (awaited by `by`), whose coroutine runs `coro`, on the
    /// stack (compute <- coro <- _run_once) or not (compute <- _run_once).
    fn running(&mut self, name: &str, by: u64, coro: &str, on_stack: bool) -> (u64, u64) {
        let o = self.o;
        let code = self
            .py
            .code("/usr/lib/asyncio/base_events.py", "_run_once", 2000);
        let f_run = self.py.frame(code, 0);
        let c = self.coro("/app/main.py", coro, 30, 0, 0);
        self.py.set(c + o.gi_iframe + 8, f_run);
        let code = self.py.code("/app/main.py", "compute", 40);
        let f = self
            .py
            .frame(code, if on_stack { c + o.gi_iframe } else { f_run });
        let (t, task) = (self.tstate(f), self.named(name, c, 0));
        self.awaited_by(task, by, false);
        self.py.set(t + o.tstate_running_task, task);
        (t, task)
    }

    /// The frames of these threads after `Running::label`.
    fn label(&mut self, tstates: &[u64]) -> Vec<String> {
        self.interp(tstates);
        let (version, layout) = layout(&PY314.bytes(None)).unwrap();
        let (roots, source) = (self.py.roots, Source::DebugOffsets);
        let path = String::new();
        let runtime = Runtime {
            version,
            layout,
            roots,
            source,
            path,
        };
        let mut running = Running::with_offsets(0, runtime, self.o);
        let mut w = Walker::new(&self.py.mem, layout, roots);
        w.begin(budget::SAMPLE);
        let mut threads: Vec<_> = tstates.iter().map(|&t| w.thread(t).unwrap()).collect();
        running.label(&self.py.mem, &mut w, &mut threads);
        threads.iter().map(|t| text(&t.frames).join(" ")).collect()
    }
}

const COMPUTE: &str = "/app/main.py:compute:43";
const RUN_ONCE: &str = "/usr/lib/asyncio/base_events.py:_run_once:2003";

#[test]
fn sampling_puts_the_running_chain_outermost() {
    let mut p = Py::new();
    // runner, awaited by worker, awaited (through a set) by root.
    let root = p.named("root", 0, 0);
    let worker = p.named("worker", 0, 0);
    let set = p.set(&[UNMAPPED, 0, root, 0], 1, 3);
    p.awaited_by(worker, set, true);
    let (t1, _) = p.running("runner", worker, "work", true);
    // x awaited by y awaited by x.
    let (t2, x) = p.running("x", 0, "spin", true);
    let y = p.named("y", 0, 0);
    p.awaited_by(y, x, false);
    p.awaited_by(x, y, false);
    // The running coroutine is not on the stack; the running task cannot be read.
    let (t3, _) = p.running("z", root, "elsewhere", false);
    let (t4, _) = p.running("g", root, "work", true);
    p.py.set(t4 + p.o.tstate_running_task, UNMAPPED);
    // 100 tasks, each awaited by the next: the first MAX_DEPTH (64).
    let mut by = 0;
    for i in (1..100).rev() {
        let task = p.named(&format!("d{i}"), 0, 0);
        p.awaited_by(task, by, false);
        by = task;
    }
    let (t5, _) = p.running("d0", by, "deep", true);
    let frames = p.label(&[t1, t2, t3, t4, t5]);
    let stack = |coro: &str, tasks: &str| format!("{COMPUTE} /app/main.py:{coro}:33 {tasks}");
    let deep: Vec<_> = (0..64).map(|i| format!(":task d{i}:0")).collect();
    let want = [
        stack("work", ":task runner:0 :task worker:0 :task root:0"),
        stack("spin", ":task x:0 :task y:0"),
        format!("{COMPUTE} {RUN_ONCE}"),
        stack("work", RUN_ONCE),
        stack("deep", &deep.join(" ")),
    ];
    assert_eq!(frames, want);
}

/// A running task whose coroutine cannot be read is not the frame on the stack that cannot
/// be read either.
#[test]
fn an_unreadable_coroutine_matches_no_frame() {
    let mut p = Py::new();
    let (t, task) = p.running("g", 0, "work", true);
    let coro = p.py.mem_u64(task + p.o.task_coro);
    let s = p.py.string("not code");
    p.py.set(coro + p.o.gi_iframe, s);
    p.py.set(task + p.o.task_coro, UNMAPPED);
    let unreadable = "<unreadable>:<unreadable>:0";
    assert_eq!(
        p.label(&[t]),
        [format!("{COMPUTE} {unreadable} {RUN_ONCE}")]
    );
}
