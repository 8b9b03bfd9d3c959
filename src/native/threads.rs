//! `--native` for one process: each thread's registers and stack taken while it is stopped,
//! then, once it runs again, its machine stack unwound and merged with its Python frames, and
//! what it is waiting in.

use std::time::Instant;

use super::merge::{self, Interpreter};
use super::stack::{self, NativeFrame, Objects, Snapshot};
use super::syscalls;
use crate::hash::Map;
use crate::memory::RemoteMemory;
use crate::proc;
use crate::python::version::Version;
use crate::python::walk::{Frame, Thread};

/// Bytes of stack kept for all the threads of one stop, at most: each thread's share of it,
/// up to `STACK_WINDOW`.
const STACKS_BUDGET: usize = 32 << 20;

pub struct Native {
    pid: i32,
    /// The target's memory (through a thread that has not exited).
    mem: RemoteMemory,
    objects: Objects,
    interp: Interpreter,
    /// By thread id (pyflame's view).
    snaps: Map<i32, Snapshot>,
    /// Threads stopped whose snapshot could not be taken (out of stopped time, or gone).
    pub missed: usize,
}

/// A thread's merged stack and what it is waiting in.
pub struct NativeThread {
    pub frames: Vec<Frame>,
    /// `waiting for the GIL`, `in the system call futex`, `collecting garbage`.
    pub states: Vec<String>,
    /// The thread's name, where the kernel has one that differs from the process's.
    pub name: Option<String>,
}

impl Native {
    /// For process `pid`, whose runtime (version `version`) is in the file `runtime_path`.
    pub fn new(pid: i32, runtime_path: &str, version: Version) -> std::io::Result<Native> {
        let object = runtime_path.rsplit('/').next().unwrap_or(runtime_path);
        let interp = Interpreter::new(object, version);
        let mut objects = Objects::new(pid)?;
        objects.interpreter(object, interp.eval());
        Ok(Native {
            pid,
            mem: RemoteMemory::new(proc::live_task(pid).unwrap_or(pid)),
            objects,
            interp,
            snaps: Map::default(),
            missed: 0,
        })
    }

    /// While threads `tids` are stopped: the snapshot of each, with at most `window` bytes of
    /// its stack, until `deadline` (the time the target may be kept stopped).
    pub fn capture(&mut self, tids: &[i32], window: usize, deadline: Instant) {
        self.snaps.clear();
        self.missed = 0;
        let window = (STACKS_BUDGET / tids.len().max(1)).min(window);
        for &tid in tids {
            if Instant::now() >= deadline {
                self.missed += 1;
                continue;
            }
            match stack::capture(self.pid, tid, &self.mem, window) {
                Ok(snap) => {
                    self.snaps.insert(tid, snap);
                }
                Err(_) => self.missed += 1,
            }
        }
    }

    /// Thread `t`, which is `tid` in pyflame's view, with its native frames, once its
    /// snapshot is taken; None without one.
    pub fn thread(&mut self, tid: i32, t: &Thread) -> Option<NativeThread> {
        let snap = self.snaps.get(&tid)?;
        let (native, end) = stack::unwind(&mut self.objects, &self.mem, snap);
        let mut states = Vec::new();
        if self.waits_for_gil(&native, snap.syscall) {
            states.push("waiting for the GIL".to_string());
        }
        if native.iter().any(|f| self.collects(f)) {
            states.push("collecting garbage".to_string());
        }
        if let Some(n) = snap.syscall {
            states.push(format!("in the system call {}", syscalls::name(n)));
        }
        let name = proc::task_comm(self.pid, tid)
            .filter(|n| Some(n) != proc::task_comm(self.pid, self.pid).as_ref());
        Some(NativeThread {
            frames: merge::merge(&self.interp, &native, end, &t.frames, &t.entries),
            states,
            name,
        })
    }

    fn function<'a>(&self, f: &'a NativeFrame) -> Option<&'a str> {
        let (name, _) = f.function.as_ref()?;
        (*f.object == *self.interp.object).then_some(&**name)
    }

    /// An interpreter function's name without what the compiler appends to a clone
    /// (`take_gil.constprop.0`).
    fn base<'a>(&self, f: &'a NativeFrame) -> Option<&'a str> {
        self.function(f).map(|n| n.split('.').next().unwrap_or(n))
    }

    /// Whether the thread waits for the GIL: in `take_gil` (3.2+), or in a futex wait called
    /// straight from where the interpreter takes the GIL (`take_gil` inlined there, or 2.x's
    /// `PyThread_acquire_lock` on the interpreter lock).
    fn waits_for_gil(&self, native: &[NativeFrame], syscall: Option<u64>) -> bool {
        if native.iter().any(|f| self.base(f) == Some("take_gil")) {
            return true;
        }
        if syscall != Some(libc::SYS_futex as u64) {
            return false;
        }
        let takers = [
            "PyEval_RestoreThread",
            "PyEval_AcquireThread",
            "PyEval_AcquireLock",
            "PyGILState_Ensure",
            self.interp.eval(),
        ];
        // The interpreter's named frames from the innermost (a stripped interpreter does not
        // name its static take_gil).
        let mut ours = native
            .iter()
            .skip_while(|f| *f.object != *self.interp.object)
            .filter_map(|f| self.base(f));
        match ours.next() {
            Some("PyThread_acquire_lock" | "PyThread_acquire_lock_timed") => {
                ours.next().is_some_and(|n| takers.contains(&n))
            }
            Some(n) => takers.contains(&n),
            None => false,
        }
    }

    /// The cyclic garbage collector: `collect` (to 3.7), `gc_collect_main` (3.8-3.12) and the
    /// `gc_collect_*` of 3.13+, `_PyGC_Collect`.
    fn collects(&self, f: &NativeFrame) -> bool {
        self.function(f).is_some_and(|n| {
            n == "collect"
                || n == "collect_with_callback"
                || n.starts_with("gc_collect")
                || n.ends_with("PyGC_Collect")
        })
    }
}
