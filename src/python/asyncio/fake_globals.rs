//! A CPython 3.8 to 3.13 process in fake memory whose tasks are where pyflame looks for them
//! before 3.14 (`globals.rs`): `sys.modules['asyncio.tasks']` and its globals (the WeakSet of
//! scheduled tasks, the eager set, `_current_tasks`), a thread state's running loop, tasks,
//! coroutines and a `gather()` future, in each version's layout (`layout/asyncio.rs`). For
//! the hostile-globals tests and the fuzz target's seeds.

use super::fake_registry::Objects;
use super::fake_registry::DICT_AT;
use super::globals::{offsets, Globals};
use super::{read, Offsets, Tasks};
use crate::budget::{self, Limits};
use crate::python::debug_offsets::layout;
use crate::python::fake::{put, put32, sample_linetable, FakePython};
use crate::python::layout::{
    for_version, Frame, FrameRoot, GenFrame, GilHolder, InterpRoot, RunningLoop, StackTop,
};
use crate::python::published::{PY313, PY313T};
use crate::python::version::Version;
use crate::python::walk::{Thread, Walker};
use crate::python::{Runtime, Source};

/// Every layout with a row: 3.8 to 3.13, and 3.13t.
pub(super) const VERSIONS: [(u8, bool); 7] = [
    (8, false),
    (9, false),
    (10, false),
    (11, false),
    (12, false),
    (13, false),
    (13, true),
];

/// A 3.8 to 3.13 process in fake memory.
pub(super) struct Old {
    pub py: FakePython,
    pub runtime: Runtime,
    pub o: Offsets,
    pub g: Globals,
    pub interp: u64,
    task_type: u64,
    coro_type: u64,
    pub(super) dict_type: u64,
    pub(super) object_type: u64,
    /// `dummy`, the key of a set's deleted slots.
    pub dummy: u64,
}

impl Old {
    /// An empty process of 3.`minor` (13 and `free_threaded`: 3.13t), with one interpreter
    /// and no thread.
    pub fn new(minor: u8, free_threaded: bool) -> Old {
        let (layout, table, source) = match minor {
            13 => {
                let table = if free_threaded { &PY313T } else { &PY313 }.bytes(None);
                (layout(&table).unwrap().1, Some(table), Source::DebugOffsets)
            }
            m => (*for_version(3, m).unwrap(), None, Source::Table),
        };
        let mut py = FakePython::new(layout);
        // 3.13: `_PyRuntime` starts with `_Py_DebugOffsets`, which pyflame reads (1024 bytes).
        if let Some(mut t) = table {
            t.resize(1024, 0);
            py.roots.runtime = Some(py.alloc(t));
        }
        let runtime = Runtime {
            version: Version::new(3, minor, None),
            layout,
            roots: py.roots,
            source,
            path: String::new(),
        };
        let o = offsets(&runtime, &py.mem).unwrap().unwrap();
        let g = o.globals.unwrap();
        let mut old = Old {
            task_type: 0,
            coro_type: 0,
            dict_type: 0,
            object_type: 0,
            dummy: 0,
            interp: 0,
            py,
            runtime,
            o,
            g,
        };
        old.task_type = old.type_object("_asyncio.Task", 0, 0);
        old.coro_type = old.type_object("coroutine", 0, 0);
        old.dict_type = old.type_object("dict", 1 << 29, 0);
        old.object_type = old.type_object("object", 0, 0);
        old.dummy = old.with(&[]);
        old.interp = old.new_interp();
        old
    }

    /// A type object named `name` deriving from `base`, up to `tp_dictoffset` (a heap type's
    /// `ht_cached_keys` is read only for an instance without a dict, which none here is).
    pub fn type_object(&mut self, name: &str, flags: u64, base: u64) -> u64 {
        let (o, a) = (self.py.layout.objects, self.g.row);
        let name = self.py.alloc([name.as_bytes(), b"\0"].concat());
        let size = [
            o.tp_name,
            o.tp_flags,
            a.tp_base,
            a.tp_dictoffset,
            a.tp_basicsize,
        ];
        let mut ty = vec![0u8; size.into_iter().max().unwrap_or(0) as usize + 8];
        put(&mut ty, o.tp_name, name);
        put(&mut ty, o.tp_flags, flags);
        put(&mut ty, a.tp_base, base);
        put(&mut ty, a.tp_dictoffset, DICT_AT);
        put(&mut ty, a.tp_basicsize, 64);
        self.py.alloc(ty)
    }

    /// The interpreter, first in the runtime's list, with room up to `sys.modules`.
    fn new_interp(&mut self) -> u64 {
        let l = self.py.layout;
        let InterpRoot::Runtime(head) = l.interp_root else {
            unreachable!("3.8+ keep their interpreters in _PyRuntime")
        };
        let i = l.interp;
        let mut b = vec![0u8; (i.next.max(i.threads_head).max(self.g.modules) + 64) as usize];
        if let GilHolder::Interp { ceval_gil, .. } = l.gil {
            b.resize(b.len().max(ceval_gil as usize + 8), 0);
            put(&mut b, ceval_gil, self.py.alloc(vec![0; 32]));
        }
        let interp = self.py.alloc(b);
        self.py.set(self.py.roots.runtime.unwrap() + head, interp);
        interp
    }

    /// A thread state of the interpreter (the first of its list) whose innermost frame is
    /// `frame`, running the loop `lp` (0: none).
    pub fn tstate(&mut self, frame: u64, lp: u64) -> u64 {
        let (l, g) = (self.py.layout.tstate, self.g);
        let dict = match g.row.running_loop {
            RunningLoop::Dict { dict, .. } => dict,
            RunningLoop::AfterThreadState => 0,
        };
        let mut b = vec![0u8; (l.size.max(dict).max(g.tstate_size) + 64) as usize];
        put(&mut b, l.thread_id, 0x7000);
        put(&mut b, l.interp, self.interp);
        put(
            &mut b,
            l.next,
            self.py
                .mem_u64(self.interp + self.py.layout.interp.threads_head),
        );
        match l.frame {
            FrameRoot::Frame(at) | FrameRoot::CurrentFrame(at) => put(&mut b, at, frame),
            FrameRoot::CFrame {
                cframe,
                current_frame,
            } => {
                let mut cf = vec![0u8; 24];
                put(&mut cf, current_frame, frame);
                put(&mut b, cframe, self.py.alloc(cf));
            }
        }
        match g.row.running_loop {
            RunningLoop::AfterThreadState => put(&mut b, g.tstate_size, lp),
            RunningLoop::Dict { holder, .. } if lp != 0 => {
                let value = match holder {
                    Some(at) => self.with(&[(at, lp)]),
                    None => lp,
                };
                put(
                    &mut b,
                    dict,
                    self.dict(&[("__asyncio_running_event_loop__", value)]),
                );
            }
            RunningLoop::Dict { .. } => {}
        }
        let t = self.py.alloc(b);
        let threads = self.interp + self.py.layout.interp.threads_head;
        self.py.set(threads, t);
        t
    }

    /// A task of type `_asyncio.Task` named `name`, on loop `lp`, running `coro` (0: none),
    /// awaiting `waiter` (0: nothing), in `fut_state` (0 pending, 1 cancelled, 2 done).
    pub fn task(&mut self, name: &str, lp: u64, coro: u64, waiter: u64, fut_state: u32) -> u64 {
        let o = self.o;
        let mut b = vec![0u8; o.task_size as usize];
        put(&mut b, o.ob_type, self.task_type);
        put(&mut b, o.fut_loop, lp);
        put32(&mut b, o.fut_state, fut_state);
        put(&mut b, o.task_fut_waiter, waiter);
        put(&mut b, o.task_coro, coro);
        put(&mut b, o.task_name, self.py.string(name));
        self.py.alloc(b)
    }

    /// A coroutine running `file:name` (line `first + 3`), its frame called from `back`;
    /// suspended awaiting `awaited` unless that is 0. Returns it and its frame.
    pub fn coro(
        &mut self,
        file: &str,
        name: &str,
        first: i32,
        back: u64,
        awaited: u64,
    ) -> (u64, u64) {
        let l = self.py.layout;
        let code = self.py.code(file, name, first);
        let mut b = vec![0u8; 512];
        put(&mut b, l.objects.ob_type, self.coro_type);
        match self.o.frame.unwrap() {
            GenFrame::Object {
                gi_frame,
                f_valuestack,
                top,
            } => {
                let frame = self.py.frame(code, back);
                let stack = self.py.alloc([awaited, 0].map(u64::to_le_bytes).concat());
                match (top, awaited) {
                    (_, 0) => {}
                    (StackTop::Pointer { f_stacktop, .. }, _) => {
                        self.py.set(frame + f_stacktop, stack + 8)
                    }
                    (
                        StackTop::Depth {
                            f_stackdepth,
                            f_state,
                        },
                        _,
                    ) => {
                        self.py.set(frame + f_valuestack, stack);
                        self.py.mem.patch(frame + f_stackdepth, &1u32.to_le_bytes());
                        self.py.mem.patch(frame + f_state, &[0xff]);
                    }
                }
                put(&mut b, gi_frame, frame);
                (self.py.alloc(b), frame)
            }
            GenFrame::Inline {
                gi_frame_state,
                gi_iframe,
                stacktop,
                localsplus,
            } => {
                let Frame::Interpreter {
                    previous,
                    code: c,
                    instr,
                    ..
                } = l.frame
                else {
                    unreachable!("3.11+ frames are interpreter frames")
                };
                let at = u64::from(sample_linetable(&l).1);
                let start = code + l.code.code_adaptive.unwrap_or(0);
                put(&mut b, gi_iframe + previous, back);
                put(&mut b, gi_iframe + c, code);
                put(&mut b, gi_iframe + instr, start + 2 * at);
                if awaited != 0 {
                    b[gi_frame_state as usize] = 0xff;
                    put32(&mut b, gi_iframe + stacktop, 1);
                    put(&mut b, gi_iframe + localsplus, awaited);
                }
                let coro = self.py.alloc(b);
                (coro, coro + gi_iframe)
            }
        }
    }
}

/// The tasks of `Old::scene`, and the thread running one.
pub(super) struct Scene {
    pub tstate: u64,
    pub lp: u64,
    pub main: u64,
    pub fetch1: u64,
    pub fetch2: u64,
    pub db: u64,
    /// 0 before 3.12.
    pub eager: u64,
    pub registry: Objects,
}

impl Old {
    /// A thread running loop `lp` in `compute`, called by `work`, the coroutine of task
    /// fetch-1; main gathers fetch-1 and fetch-2; fetch-2 awaits task db, whose `pool`
    /// awaits asyncio's `sleep`; an eager task (3.12+) waits for nothing.
    pub fn scene(minor: u8, free_threaded: bool) -> (Old, Scene) {
        let mut p = Old::new(minor, free_threaded);
        let module = p.py.code("/app/main.py", "<module>", 1);
        let f_module = p.py.frame(module, 0);
        let run_once =
            p.py.code("/usr/lib/asyncio/base_events.py", "_run_once", 2000);
        let f_run = p.py.frame(run_once, f_module);
        let (work, f_work) = p.coro("/app/main.py", "work", 30, f_run, 0);
        let compute = p.py.code("/app/main.py", "compute", 40);
        let f_compute = p.py.frame(compute, f_work);
        let lp = p.with(&[]);
        let tstate = p.tstate(f_compute, lp);
        let fetch1 = p.task("fetch-1", lp, work, 0, 0);
        let future = p.with(&[]);
        let sleep = p
            .coro("/usr/lib/python3/asyncio/tasks.py", "sleep", 700, 0, future)
            .0;
        let pool = p.coro("/app/main.py", "pool", 50, 0, sleep).0;
        let db = p.task("db", lp, pool, future, 0);
        let fetch = p.coro("/app/main.py", "fetch", 20, 0, db).0;
        let fetch2 = p.task("fetch-2", lp, fetch, db, 0);
        let children = p.list(&[fetch1, fetch2]);
        let gather = p.instance("_GatheringFuture", &[("_children", children)]);
        let main = p.coro("/app/main.py", "main", 10, 0, gather).0;
        let main = p.task("main", lp, main, gather, 0);
        let eager = match p.g.row.eager {
            Some(_) => p.task("eager", lp, 0, 0, 0),
            None => 0,
        };
        let eagers: Vec<u64> = [eager].into_iter().filter(|&e| e != 0).collect();
        let registry = p.registry(&[main, fetch1, fetch2, db], &eagers, &[(lp, fetch1)]);
        let scene = Scene {
            tstate,
            lp,
            main,
            fetch1,
            fetch2,
            db,
            eager,
            registry,
        };
        (p, scene)
    }
}

impl Old {
    /// The threads and the tasks, read as `-d --async` reads them, with these limits; and
    /// whether a limit ran out.
    pub fn dump_with(&self, limits: Limits) -> (Vec<Thread>, Tasks, bool) {
        let mut w = Walker::new(&self.py.mem, self.py.layout, self.py.roots);
        let (threads, _) = w.all_threads().unwrap();
        w.begin(limits);
        let tasks = read(&mut w, &self.o, &threads).unwrap();
        let exhausted = w.budget().exhausted().is_some();
        (threads, tasks, exhausted)
    }

    pub fn dump(&self) -> Tasks {
        self.dump_with(budget::DUMP).1
    }
}

pub(super) fn names(t: &Tasks) -> Vec<&str> {
    t.tasks.iter().map(|t| t.name.as_str()).collect()
}
