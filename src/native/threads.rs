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
    /// `-d`: each thread's system call, name and states too.
    describe: bool,
    /// By thread id (pyflame's view): the capture that last took it (`taken`), its snapshot,
    /// and how deep into its stack the last unwind of it read.
    snaps: Map<i32, (u64, Snapshot, usize)>,
    taken: u64,
    /// Frames as the outputs show them, by pc: the same pc is the same frame, sample after
    /// sample.
    frames: Map<u64, Frame>,
    /// Threads stopped whose snapshot could not be taken (out of stopped time, or gone).
    pub missed: usize,
}

/// Threads and frames remembered, at most (then forgotten: threads come and go).
const MAX_REMEMBERED: usize = 8192;

/// A thread's merged stack and what it is waiting in.
pub struct NativeThread {
    pub frames: Vec<Frame>,
    /// `waiting for the GIL`, `in the system call futex`, `collecting garbage`.
    pub states: Vec<String>,
    /// The thread's name, where the kernel has one that differs from the process's.
    pub name: Option<String>,
}

impl Native {
    /// For process `pid`, whose runtime (version `version`) is in the file `runtime_path`;
    /// `describe` (`-d`): with what each thread waits in and its name.
    pub fn new(
        pid: i32,
        runtime_path: &str,
        version: Version,
        describe: bool,
    ) -> std::io::Result<Native> {
        let object = runtime_path.rsplit('/').next().unwrap_or(runtime_path);
        let interp = Interpreter::new(object, version);
        let mut objects = Objects::new(pid)?;
        objects.interpreter(object, interp.eval());
        Ok(Native {
            pid,
            mem: RemoteMemory::new(proc::live_task(pid).unwrap_or(pid)),
            objects,
            interp,
            describe,
            snaps: Map::default(),
            taken: 0,
            frames: Map::default(),
            missed: 0,
        })
    }

    /// While threads `tids` are stopped: the snapshot of each, with at most `window` bytes of
    /// its stack (less where its last unwind read less), until `deadline` (the time the
    /// target may be kept stopped).
    pub fn capture(&mut self, tids: &[i32], window: usize, deadline: Instant) {
        self.taken += 1;
        self.missed = 0;
        if self.snaps.len() > MAX_REMEMBERED {
            self.snaps.clear();
        }
        let window = (STACKS_BUDGET / tids.len().max(1)).min(window);
        for &tid in tids {
            if Instant::now() >= deadline {
                self.missed += 1;
                continue;
            }
            let (taken, snap, depth) = self
                .snaps
                .entry(tid)
                .or_insert_with(|| (0, Snapshot::new(), usize::MAX));
            let want = match *depth {
                usize::MAX => window,
                d => (d + d / 2 + 1024).clamp(4096, window),
            };
            match snap.take((self.pid, tid), &self.mem, want, self.describe) {
                Ok(()) => *taken = self.taken,
                Err(_) => self.missed += 1,
            }
        }
    }

    /// Thread `t`, which is `tid` in pyflame's view, with its native frames, if the last
    /// capture took its snapshot.
    pub fn thread(&mut self, tid: i32, t: &Thread) -> Option<NativeThread> {
        let (taken, snap, depth) = self.snaps.get_mut(&tid)?;
        if *taken != self.taken {
            return None;
        }
        let unwound = stack::unwind(&mut self.objects, &self.mem, snap);
        *depth = unwound.depth;
        let syscall = snap.syscall;
        let native = unwound.frames;
        let mut states = Vec::new();
        let mut name = None;
        if self.describe {
            if self.waits_for_gil(&native, syscall) {
                states.push("waiting for the GIL".to_string());
            }
            if native.iter().any(|f| self.collects(f)) {
                states.push("collecting garbage".to_string());
            }
            if let Some(n) = syscall {
                states.push(format!("in the system call {}", syscalls::name(n)));
            }
            let process = proc::task_comm(self.pid, self.pid);
            name = proc::task_comm(self.pid, tid).filter(|n| Some(n) != process.as_ref());
        }
        if self.frames.len() > MAX_REMEMBERED {
            self.frames.clear();
        }
        let cache = &mut self.frames;
        let mut frame =
            |f: &NativeFrame| cache.entry(f.pc).or_insert_with(|| merge::frame(f)).clone();
        let frames = merge::merge(
            &self.interp,
            &native,
            unwound.end,
            &t.frames,
            &t.entries,
            &mut frame,
        );
        Some(NativeThread {
            frames,
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
