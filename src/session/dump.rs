//! `-d`: every thread's stack once, read within the dump's budget, and one line on stderr about
//! what could not be read and why.

use std::io::{self, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::note::dump_note;
use super::{descendants, describe, find_runtime};
use crate::attach::{exec_since, Tracee};
use crate::budget;
use crate::cli::{Args, Target};
use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::native::stack::STACK_WINDOW;
use crate::native::threads::{Native, NativeThread};
use crate::output::{self, dump::DumpThread, Sink};
use crate::prefetch::Prefetcher;
use crate::proc::{self, TaskId};
use crate::python::layout::GilHolder;
use crate::python::walk::{Thread, WalkError, Walker};
use crate::sys::ptrace;
use crate::tasks::Tasks;

/// How long the threads of a dump may take to stop, out of the time they may be kept stopped.
pub(super) const STOP_WAIT: Duration = Duration::from_millis(50);
/// Reads of a dump at most, how long one waits for a thread caught between two interpreter
/// states to move on, and how often it looks (as a sample does: `sampler/settle.rs`).
const SETTLE_READS: usize = 4;
const SETTLE: Duration = Duration::from_millis(10);
const SETTLE_POLL: Duration = Duration::from_micros(20);

/// `-d`: one process, or (several `-p`, `--subprocesses`) each Python process of the tree under
/// a `process <PID> <command line>` line, in PID order, separated by blank lines. A process of
/// the tree that is not Python is passed over; one that cannot be read is named on stderr.
pub fn dump(args: &Args) -> Result<()> {
    let sink = Sink::open(args.output.as_deref())?;
    let Target::Pids(named) = &args.target else {
        return Err(Error::fatal("-d needs -p"));
    };
    // One process: written as it is formatted, never whole in memory (a dump of a million
    // frames is tens of megabytes of text).
    if named.len() == 1 && !args.subprocesses {
        let dumped = dump_one(named[0], args)?;
        sink.write_with(|out| dumped.write(out))?;
        dumped.report();
        return Ok(());
    }
    let mut pids = named.clone();
    if args.subprocesses {
        let mut parents = descendants::Parents::default();
        parents.refresh();
        pids.extend(descendants::descendants(named, parents.all()));
    }
    crate::order::by_key(&mut pids, |&p| p as u32 as u64);
    pids.dedup();
    // Each process's dump is written as it is read, under a `process` line.
    let mut first_error = None;
    let mut dumped = 0;
    sink.write_with(|out| {
        for pid in pids {
            // Only Python processes (a shell, a non-Python master is passed over silently); a
            // PID given that is not Python is named.
            let mem = RemoteMemory::new(proc::live_task(pid).unwrap_or(pid));
            let python = match proc::maps(pid) {
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(Error::Fatal(format!(
                    "Failed to read /proc/{pid}/maps: {} (it belongs to another user, or pyflame lacks CAP_SYS_PTRACE)",
                    crate::permissions::errno_text(&e)
                ))),
                Err(_) => continue,
                Ok(_) => find_runtime(pid, args.abi, &mem).map(drop),
            };
            match python.and_then(|()| dump_one(pid, args)) {
                Ok(section) => {
                    if dumped > 0 {
                        out.write_all(b"\n")?;
                    }
                    let command = proc::cmdline(pid).unwrap_or_default();
                    let label = descendants::label(pid, &command);
                    writeln!(out, "{}", output::escape::name(&label.name))?;
                    section.write(out)?;
                    section.report();
                    dumped += 1;
                }
                Err(e) => {
                    // Not Python: a descendant, or (with --subprocesses) a PID given whose
                    // descendants are, is passed over as sampling passes over it.
                    let passed_over = !named.contains(&pid) || args.subprocesses;
                    let not_python = e.to_string().starts_with("Failed to locate libpython");
                    let quiet = (passed_over && not_python) || matches!(e, Error::TargetGone);
                    if !quiet {
                        eprintln!(
                            "pyflame: PID {pid} is left out: {}",
                            output::escape::message(&e.to_string())
                        );
                    }
                    if named.contains(&pid) {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        Ok(())
    })?;
    match dumped {
        0 => Err(first_error.unwrap_or_else(|| {
            Error::fatal("Failed to dump: none of the processes was a Python process")
        })),
        _ => Ok(()),
    }
}

/// One process's dump as read: its threads, their kernel ids and native frames, and the line
/// that says what could not be read and why.
struct Dumped {
    pid: i32,
    threads: Vec<Thread>,
    found: Vec<Option<TaskId>>,
    natives: Vec<NativeThread>,
    /// `--async`: the tasks, or why there are none.
    tasks: Option<super::tasks::Read>,
    note: Option<String>,
}

impl Dumped {
    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let rows: Vec<DumpThread> = (self.threads.iter().zip(&self.found).enumerate())
            .map(|(i, (t, task))| DumpThread {
                thread: t,
                tid: task.map(|k| k.inner as u32),
                outer_tid: task.filter(|k| k.outer != k.inner).map(|k| k.outer as u32),
                name: self.natives.get(i).and_then(|n| n.name.clone()),
                states: (self.natives.get(i)).map_or_else(Vec::new, |n| n.states.clone()),
            })
            .collect();
        output::dump::write(out, &rows)?;
        match &self.tasks {
            Some(tasks) => super::tasks::write(out, tasks, &self.threads, &self.found),
            None => Ok(()),
        }
    }

    /// Says on stderr, in one line, what could not be read and why.
    fn report(&self) {
        if let Some(note) = &self.note {
            eprintln!(
                "pyflame: PID {}: {}",
                self.pid,
                output::escape::message(note)
            );
        }
    }
}

/// `-d` of one process: stop every thread, read every stack within the dump's budget, resume.
fn dump_one(pid: i32, args: &Args) -> Result<Dumped> {
    // An exec() while the dump is read is reported, not read as the old program.
    let mut tracee = Tracee::seize(pid, ptrace::PTRACE_O_TRACEEXEC)?;
    // Through a thread that has not exited (a leader that called pthread_exit has no memory).
    let mem_pid = proc::live_task(pid).unwrap_or(pid);
    let mem = RemoteMemory::new(mem_pid);
    let exec_error = || {
        Error::Fatal(format!(
            "Failed to read the Python stacks of PID {pid}: it called exec() while they were being read and is now another program: run pyflame again"
        ))
    };
    // An exec() under way makes what is found of the runtime a mix of two programs.
    let runtime = find_runtime(mem_pid, args.abi, &mem).map_err(|e| {
        if tracee.execed() || tracee.exec_completes() {
            exec_error()
        } else {
            e
        }
    })?;
    describe(args, pid, &runtime);
    let mut native = match args.native {
        true => Some(
            Native::new(pid, &runtime.path, runtime.version, true).map_err(|e| {
                Error::Fatal(format!(
                    "Failed to read /proc/{pid}/maps for --native: {}",
                    crate::permissions::errno_text(&e)
                ))
            })?,
        ),
        false => None,
    };
    // Free-threaded builds have no GIL: `*` marks the threads on a CPU, seen before stopping.
    let running = match runtime.layout.gil {
        GilHolder::Disabled => proc::running_tasks(pid).unwrap_or_default(),
        _ => Vec::new(),
    };
    let prefetch = Rc::new(Prefetcher::new(mem));
    let mut walker = Walker::new(&*prefetch, runtime.layout, runtime.roots);
    walker.begin(budget::DUMP);
    let failed = |why: String| {
        Error::Fatal(format!(
            "Failed to read the Python stacks of PID {pid}: {why}"
        ))
    };
    let read = |walker: &mut Walker| {
        let open = prefetch.open().map_err(WalkError::read("memory"))?;
        walker.read_threads().map(|read| (read, open))
    };
    // Every thread is stopped (in one round: interrupt all, then wait for all) while the frame
    // chains are walked, so the dump is consistent whatever the build, GIL or not, unless that
    // takes longer than the target may be kept stopped: then it is resumed and walked again
    // while it runs. The frames are named from their code objects after it is resumed.
    // A thread that does not stop within the stopped time (uninterruptible sleep, where its
    // Python frames cannot change) is read as it is, running.
    // The stopped time counts from when the stops are seen (a loaded machine may take long to
    // run a thread to its stop; a thread in uninterruptible sleep is not waited for).
    let mut unstopped = 0;
    let mut walked = Err(Error::TargetGone);
    for attempt in 1..=SETTLE_READS {
        walked = tracee
            .stop_all(Instant::now() + STOP_WAIT)
            .and_then(|late| {
                unstopped = late.len();
                walker.budget().stopped(Instant::now());
                read(&mut walker).map_err(Error::from)
            });
        // The GIL holder caught between two interpreter states (see `sampler/settle.rs`):
        // every thread runs again until it has moved on (at most SETTLE), then all are
        // stopped and read again.
        let caught = match &walked {
            Ok(((raw, _), _)) if attempt < SETTLE_READS => raw
                .iter()
                .find(|t| t.holds_gil && walker.raw_between_states(t))
                .map(|t| (t.tstate, t.leaf)),
            _ => None,
        };
        let Some((tstate, leaf)) = caught else { break };
        drop(std::mem::replace(&mut walked, Err(Error::TargetGone)));
        for tid in tracee.stopped_tids() {
            tracee.resume(tid);
        }
        walker.budget().resumed();
        let start = Instant::now();
        while start.elapsed() < SETTLE && walker.unchanged(tstate, leaf).unwrap_or(false) {
            std::thread::sleep(SETTLE_POLL);
        }
    }
    // --native: each thread's registers and stack, while it is still stopped.
    if let (Some(native), Ok(_)) = (&mut native, &walked) {
        let deadline = walker.budget().stop_deadline();
        native.capture(&tracee.stopped_tids(), STACK_WINDOW, deadline);
    }
    // A leader that died during the dump: perhaps an exec() from another thread under way,
    // which ends every other thread first (the dump would show a process being torn down).
    let leader_died = proc::leader_exiting(pid);
    let exec = tracee.exec_pending()
        || tracee.execed()
        || (walked.is_err() || leader_died && tracee.leader_traced()) && tracee.exec_completes();
    let (image, leader_traced) = (tracee.image(), tracee.leader_traced());
    // Detaching resumes every thread, with any signal it was stopping for.
    drop(tracee);
    if exec {
        return Err(exec_error());
    }
    walker.budget().resumed();
    let late = walker.budget().take_overrun();
    let walked = match late {
        true => {
            drop(walked);
            walker.budget().discarded();
            read(&mut walker).map_err(Error::from)
        }
        false => walked,
    };
    let read = walked.and_then(|((raw, mut issues), open)| {
        let threads = walker.name_threads(raw, &mut issues);
        drop(open);
        Ok((threads?, issues))
    });
    // An exec() since the seize (the re-read and the naming run unstopped): a read that
    // failed, or found what it could not read, waits (bounded) for a process being torn down
    // to settle; else the program image is looked at once.
    let troubled = read.as_ref().map_or(true, |(threads, issues)| {
        issues.unreadable_threads > 0
            || threads
                .iter()
                .any(|t| t.frames.iter().any(|f| f.is_unreadable()))
    });
    // A leader that exited alone (pthread_exit) never settles: looked at once.
    let execed = || match leader_traced {
        true => exec_since(pid, image),
        false => proc::image(pid).is_some_and(|now| image.is_some_and(|then| then != now)),
    };
    if troubled && execed() {
        return Err(exec_error());
    }
    let (mut threads, issues) = read.map_err(|e| match e {
        Error::Sample(why) => failed(why),
        Error::TargetGone => failed("the process exited".into()),
        e => e,
    })?;
    // A GIL holder that read as no stack is kept for the check above; it has no frame to show.
    threads.retain(|t| !t.frames.is_empty());
    if threads.is_empty() && issues.unreadable_threads > 0 {
        return Err(failed(format!(
            "{} thread states could not be read",
            issues.unreadable_threads
        )));
    }
    // Kernel thread ids: from the thread state (3.11+), else from glibc's struct pthread;
    // either way as the target sees them (its PID namespace), and only when NSpid in
    // /proc/PID/task confirms them, with pyflame's view of the same thread when it differs.
    // A process forked from a Python process without PyOS_AfterFork_Child (a uWSGI worker)
    // keeps its parent's native_id: glibc's copy is the right one then.
    let mut tasks = Tasks::new(pid);
    let found: Vec<Option<TaskId>> = threads
        .iter()
        .map(|t| tasks.find(&[t.native_id, walker.glibc_tid(t.thread_id)]))
        .collect();
    // Last, as the thread ids come from the process as it is now: an exec() after the read.
    if execed() {
        return Err(exec_error());
    }
    // Free-threaded: `*` marks the threads that were on a CPU.
    for (t, task) in threads.iter_mut().zip(&found) {
        t.holds_gil |= task.is_some_and(|k| running.contains(&k.outer));
    }
    let natives = match &mut native {
        Some(n) => super::native::merge(n, &mut threads, &found),
        None => Vec::new(),
    };
    let without_native = natives.iter().filter(|n| n.frames.is_empty()).count();
    let note = dump_note(&threads, &issues, walker.budget(), late, unstopped)
        .into_iter()
        .chain(super::native::note(without_native))
        .reduce(|a, b| format!("{a}; {b}"));
    let tasks = args
        .tasks
        .then(|| super::tasks::read(pid, &runtime, &*prefetch, &mut walker, &threads));
    Ok(Dumped {
        pid,
        threads,
        found,
        natives,
        tasks,
        note,
    })
}
