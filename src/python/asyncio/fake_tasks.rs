//! A CPython 3.14 process in fake memory with the objects asyncio's task reader reads
//! (thread states and interpreters with task lists, tasks, names, sets, coroutines), for the
//! hostile-task and sampling tests.

use super::{offsets, read, Offsets, Task, Tasks};
use crate::budget::{self, Limits};
use crate::python::debug_offsets::layout;
use crate::python::fake::{put, FakePython};
use crate::python::layout::{FrameRoot, GilHolder, InterpRoot};
use crate::python::published::PY314;
use crate::python::walk::{Frame, Walker};

/// `ASYNCIO_314` of tests.rs (Debian's 3.14.10).
const ASYNCIO_314: [u64; 13] = [
    168, 136, 96, 108, 109, 128, 152, 225864, 10880, 936, 864, 872, 880,
];
/// tasks.rs's `MAX_CHAIN`.
pub(super) const MAX_CHAIN: usize = 256;
pub(super) const UNMAPPED: u64 = 0xdead_0000;

pub(super) fn table() -> Vec<u8> {
    ASYNCIO_314.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub(super) fn each<T>(tasks: &Tasks, f: impl Fn(&Task) -> T) -> Vec<T> {
    tasks.tasks.iter().map(f).collect()
}

pub(super) fn text(frames: &[Frame]) -> Vec<String> {
    let f = |f: &Frame| format!("{}:{}:{}", f.code.filename, f.code.name, f.line);
    frames.iter().map(f).collect()
}

/// A 3.14 process in fake memory, with the objects asyncio reads.
pub(super) struct Py {
    pub(super) py: FakePython,
    pub(super) o: Offsets,
    coro_type: u64,
    task_type: u64,
    int_type: u64,
}

impl Py {
    pub(super) fn new() -> Py {
        let (_, layout) = layout(&PY314.bytes(None)).unwrap();
        let mut py = FakePython::new(layout);
        // `_PyRuntime` starts with `_Py_DebugOffsets`, which `find` reads (1024 bytes).
        let mut runtime = PY314.bytes(None);
        runtime.resize(1024, 0);
        py.roots.runtime = Some(py.alloc(runtime));
        Py {
            o: offsets(&PY314.bytes(None), &table(), 14).unwrap(),
            coro_type: py.type_object("coroutine", 0),
            task_type: py.type_object("_asyncio.Task", 0),
            int_type: py.type_object("int", 1 << 24),
            py,
        }
    }

    /// A thread state (bigger than FakePython's: the asyncio members are past 832) whose
    /// innermost frame is `frame`, with an empty task list.
    pub(super) fn tstate(&mut self, frame: u64) -> u64 {
        let l = self.py.layout.tstate;
        let FrameRoot::CurrentFrame(at) = l.frame else {
            unreachable!()
        };
        let mut b = vec![0u8; 1024];
        put(&mut b, at, frame);
        let t = self.py.alloc(b);
        self.py.set(t + l.thread_id, t);
        self.empty(t + self.o.tstate_tasks_head);
        t
    }

    pub(super) fn empty(&mut self, head: u64) {
        self.py.set(head + self.o.llist_next, head);
    }

    /// An interpreter (big enough for its task list) with these thread states.
    pub(super) fn interp(&mut self, tstates: &[u64]) -> u64 {
        let l = self.py.layout;
        for pair in tstates.windows(2) {
            self.py.set(pair[0] + l.tstate.next, pair[1]);
        }
        let (InterpRoot::Runtime(head), GilHolder::Interp { ceval_gil, .. }) =
            (l.interp_root, l.gil)
        else {
            unreachable!()
        };
        let head = self.py.roots.runtime.unwrap() + head;
        let mut b = vec![0u8; self.o.interp_tasks_head as usize + 16];
        let first = tstates.first().copied().unwrap_or(0);
        put(&mut b, l.interp.threads_head, first);
        put(&mut b, l.interp.next, self.py.mem_u64(head));
        put(&mut b, ceval_gil, self.py.alloc(vec![0; 32]));
        let i = self.py.alloc(b);
        self.py.set(head, i);
        self.empty(i + self.o.interp_tasks_head);
        i
    }

    /// Links `tasks` into the list at `head`, the last back to it.
    pub(super) fn link(&mut self, head: u64, tasks: &[u64]) {
        let nodes: Vec<u64> = tasks.iter().map(|t| t + self.o.task_node).collect();
        let mut at = head;
        for &n in nodes.iter().chain([head].iter()) {
            self.py.set(at + self.o.llist_next, n);
            at = n;
        }
    }

    /// One thread state holding `tasks` on its list, in its own interpreter.
    pub(super) fn listed(&mut self, tasks: &[u64]) -> u64 {
        let t = self.tstate(0);
        self.interp(&[t]);
        self.link(t + self.o.tstate_tasks_head, tasks);
        t
    }

    /// A task named by the object `name`, running `coro`, in `fut_state` (0 pending, 1
    /// cancelled, 2 done); 512 bytes, what the reader reads at most.
    pub(super) fn task(&mut self, name: u64, coro: u64, fut_state: u32) -> u64 {
        let o = self.o;
        let mut b = vec![0u8; 512];
        put(&mut b, o.ob_type, self.task_type);
        put(&mut b, o.task_name, name);
        put(&mut b, o.task_coro, coro);
        b[o.fut_state as usize..][..4].copy_from_slice(&fut_state.to_le_bytes());
        b[o.task_is_task as usize] = 1;
        self.py.alloc(b)
    }

    pub(super) fn named(&mut self, name: &str, coro: u64, fut_state: u32) -> u64 {
        let name = self.py.string(name);
        self.task(name, coro, fut_state)
    }

    /// `task` is awaited by `by`: one task, or the set at `by`.
    pub(super) fn awaited_by(&mut self, task: u64, by: u64, is_set: bool) {
        self.py.set(task + self.o.task_awaited_by, by);
        let flag = task + self.o.task_awaited_by_is_set;
        self.py.mem.patch(flag, &[u8::from(is_set)]);
    }

    /// A set whose table holds `keys` (0: an empty slot), with these `used` and `mask`.
    pub(super) fn set(&mut self, keys: &[u64], used: u64, mask: u64) -> u64 {
        let table: Vec<u8> = keys
            .iter()
            .flat_map(|k| [*k, 1])
            .flat_map(u64::to_le_bytes)
            .collect();
        let table = self.py.alloc(table);
        let mut b = vec![0u8; 64];
        put(&mut b, self.o.set_used, used);
        put(&mut b, self.o.set_mask, mask);
        put(&mut b, self.o.set_table, table);
        self.py.alloc(b)
    }

    /// An int with this `lv_tag` and these 30-bit digits (one a `u32`).
    pub(super) fn int(&mut self, tag: u64, digits: u64) -> u64 {
        let mut b = vec![0u8; 32];
        put(&mut b, self.o.ob_type, self.int_type);
        put(&mut b, self.o.long_tag, tag);
        put(&mut b, self.o.long_digit, digits);
        self.py.alloc(b)
    }

    /// A coroutine running `file:name` (line `first + 3`) in frame state `state`, awaiting
    /// `awaited` (tagged, as a stack reference is) on top of its frame's stack.
    pub(super) fn coro(
        &mut self,
        file: &str,
        name: &str,
        first: i32,
        state: i8,
        awaited: u64,
    ) -> u64 {
        let (o, l) = (self.o, self.py.layout);
        let code = self.py.code(file, name, first);
        let mut b = vec![0u8; o.gen_size as usize + 32];
        put(&mut b, o.ob_type, self.coro_type);
        b[o.gi_frame_state as usize] = state as u8;
        let frame = o.gi_iframe;
        let crate::python::layout::Frame::Interpreter { code: c, instr, .. } = l.frame else {
            unreachable!()
        };
        put(&mut b, frame + c, code);
        let at = code + l.code.code_adaptive.unwrap() + 8;
        put(&mut b, frame + instr, at);
        let coro = self.py.alloc(b);
        let top = coro + o.gen_size + 16;
        self.py.set(coro + frame + o.stackpointer, top);
        let tagged = awaited | u64::from(awaited != 0);
        self.py.set(top - 8 * o.awaited_slot, tagged);
        coro
    }

    /// The tasks, read with a dump's budget, or `limits`.
    pub(super) fn read(
        &self,
        threads: &[u64],
        limits: Limits,
    ) -> (Tasks, Option<budget::Exhausted>) {
        let mut w = Walker::new(&self.py.mem, self.py.layout, self.py.roots);
        w.begin(limits);
        let threads: Vec<_> = threads.iter().map(|&t| w.thread(t).unwrap()).collect();
        let tasks = read(&mut w, &self.o, &threads).unwrap();
        (tasks, w.budget().exhausted())
    }

    /// The names of the tasks read with a dump's budget, how many could not be, and whether
    /// they were cut.
    pub(super) fn names(&self) -> (String, usize, bool) {
        let (t, _) = self.read(&[], budget::DUMP);
        (each(&t, |t| t.name.clone()).join(" "), t.unreadable, t.cut)
    }
}
