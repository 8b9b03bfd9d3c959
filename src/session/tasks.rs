//! `-d --async`: the asyncio tasks of a dumped process, read after its threads (while it
//! runs, within a dump's budget of its own), and the section that follows the thread dump.

use std::io::{self, Write};

use crate::budget;
use crate::memory::Memory;
use crate::output;
use crate::proc::TaskId;
use crate::python::asyncio::{self, Tasks, Unavailable};
use crate::python::walk::{Thread, Walker};
use crate::python::Runtime;

/// The tasks, or the one line that says why there are none to show.
pub type Read = Result<Tasks, String>;

pub fn read(
    pid: i32,
    runtime: &Runtime,
    mem: &dyn Memory,
    walker: &mut Walker,
    threads: &[Thread],
) -> Read {
    let offsets = asyncio::find(pid, runtime, mem).map_err(|u| match u {
        Unavailable::Version(v) => format!("asyncio: not supported on Python {v}"),
        Unavailable::NotLoaded => "asyncio: no event loop".into(),
        Unavailable::Garbage(why) => format!("asyncio: cannot read the tasks: {why}"),
    })?;
    walker.begin(budget::DUMP);
    asyncio::read(walker, &offsets, threads)
        .map_err(|e| format!("asyncio: cannot read the tasks: {e}"))
}

/// The section: a blank line, then the loops and their tasks, or the line saying why not.
pub fn write(
    out: &mut dyn Write,
    read: &Read,
    threads: &[Thread],
    found: &[Option<TaskId>],
) -> io::Result<()> {
    writeln!(out)?;
    let tasks = match read {
        Ok(tasks) => tasks,
        Err(line) => return writeln!(out, "{}", output::escape::message(line)),
    };
    let thread = |tstate: u64| {
        let Some(i) = threads.iter().position(|t| t.tstate == tstate) else {
            return Some(format!("state {tstate:#x}"));
        };
        let tid = found.get(i).copied().flatten();
        Some(match tid {
            Some(k) => format!("{}: tid={}", threads[i].thread_id, k.inner),
            None => threads[i].thread_id.to_string(),
        })
    };
    output::tasks::write(out, tasks, &thread)
}
