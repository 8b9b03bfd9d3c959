//! A session on one process: attached, its Python runtime found, its memory readable; and
//! the `-d` dump built on it.

use crate::attach::Tracee;
use crate::cli::Args;
use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::output::{self, dump::DumpThread, Sink};
use crate::proc;
use crate::python::{self, walk::Walker, Runtime};

pub struct Session {
    pub pid: i32,
    pub tracee: Tracee,
    pub mem: RemoteMemory,
    pub runtime: Runtime,
}

impl Session {
    /// Seizes `pid` (without stopping it) and finds its runtime.
    pub fn attach(pid: i32, abi: Option<(u8, u8)>) -> Result<Session> {
        let tracee = Tracee::seize(pid)?;
        let maps = proc::maps(pid).map_err(|_| Error::Fatal(format!("Failed to read /proc/{pid}/maps: the process exited")))?;
        let mem = RemoteMemory::new(pid);
        let runtime = python::find(pid, &maps, abi, &mem)?;
        Ok(Session { pid, tracee, mem, runtime })
    }
}

/// `-d`: stop every thread, read every stack, resume, print.
pub fn dump(pid: i32, args: &Args) -> Result<()> {
    let sink = Sink::open(args.output.as_deref())?;
    let mut s = Session::attach(pid, args.abi)?;
    let mut walker = Walker::new(&s.mem, s.runtime.layout, s.runtime.roots);
    let stopped = s.tracee.stop_all();
    let threads = stopped.and_then(|()| walker.all_threads().map_err(Error::from));
    s.tracee.resume_all();
    let threads = threads.map_err(|e| match e {
        Error::Sample(why) => Error::Fatal(format!("Failed to read the Python stacks of PID {pid}: {why}")),
        Error::TargetGone => Error::Fatal(format!("Failed to read the Python stacks of PID {pid}: the process exited")),
        e => e,
    })?;
    // Kernel thread ids: from the thread state (3.11+), else from glibc's struct pthread;
    // either way only when /proc/PID/task confirms it.
    let tasks = proc::tasks(pid).unwrap_or_default();
    let rows: Vec<DumpThread> = threads
        .iter()
        .map(|t| {
            let tid = t.native_id.or_else(|| walker.glibc_tid(t.thread_id));
            DumpThread { thread: t, tid: tid.filter(|&tid| tasks.contains(&(tid as i32))) }
        })
        .collect();
    sink.write(output::dump::render(&rows).as_bytes())
}
