//! A session on one process: attach (`-p`) or start it (`-t`), find its Python runtime, then
//! dump its stacks (`-d`) or sample them and write the profile.

use std::ffi::OsString;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use crate::attach::{Ended, Tracee};
use crate::budget::{self, Budget, Exhausted};
use crate::cli::{Args, Target};
use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::output::{self, dump::DumpThread, status::Status, RunInfo, Sink};
use crate::prefetch::Prefetcher;
use crate::proc::{self, TaskId};
use crate::profile::Profile;
use crate::python::walk::{FrameKind, Issues, Thread, WalkError, Walker};
use crate::python::{self, layout::GilHolder, Runtime};
use crate::sampler::{Finish, Plan, Sampler};
use crate::sys::{self, ptrace, signal};
use crate::tasks::Tasks;

/// How long `-t` waits for a command to map a Python runtime before giving up.
const TRACE_STARTUP: Duration = Duration::from_secs(10);

/// `-d`: stop every thread, read every stack within the dump's budget, resume, print, and say
/// on stderr, in one line, what could not be read and why.
pub fn dump(pid: i32, args: &Args) -> Result<()> {
    let sink = Sink::open(args.output.as_deref())?;
    let mut tracee = Tracee::seize(pid, 0)?;
    let mem = RemoteMemory::new(pid);
    let runtime = find_runtime(pid, args.abi, &mem)?;
    describe(args, pid, &runtime);
    // Free-threaded builds have no GIL: `*` marks the threads on a CPU, seen before stopping.
    let running = match runtime.layout.gil {
        GilHolder::Disabled => proc::running_tasks(pid).unwrap_or_default(),
        _ => Vec::new(),
    };
    let prefetch = Prefetcher::new(&mem);
    let mut walker = Walker::new(&prefetch, runtime.layout, runtime.roots);
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
    let walked = tracee.stop_all().and_then(|()| {
        walker.budget().stopped(Instant::now());
        read(&mut walker).map_err(Error::from)
    });
    // Detaching resumes every thread, with any signal it was stopping for.
    drop(tracee);
    walker.budget().resumed();
    let late = walker.budget().take_overrun();
    let walked = match late {
        true => {
            drop(walked);
            read(&mut walker).map_err(Error::from)
        }
        false => walked,
    };
    let read = walked.and_then(|((raw, mut issues), open)| {
        let threads = walker.name_threads(raw, &mut issues);
        drop(open);
        Ok((threads?, issues))
    });
    let (mut threads, issues) = read.map_err(|e| match e {
        Error::Sample(why) => failed(why),
        Error::TargetGone => failed("the process exited".into()),
        e => e,
    })?;
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
    // Free-threaded: `*` marks the threads that were on a CPU.
    for (t, task) in threads.iter_mut().zip(&found) {
        t.holds_gil |= task.is_some_and(|k| running.contains(&k.outer));
    }
    let rows: Vec<DumpThread> = threads
        .iter()
        .zip(&found)
        .map(|(t, task)| DumpThread {
            thread: t,
            tid: task.map(|k| k.inner as u32),
            outer_tid: task.filter(|k| k.outer != k.inner).map(|k| k.outer as u32),
        })
        .collect();
    sink.write_with(|out| output::dump::write(out, &rows))?;
    if let Some(note) = dump_note(&threads, &issues, walker.budget(), late) {
        eprintln!("pyflame: PID {pid}: {}", output::escape::message(&note));
    }
    Ok(())
}

/// What a dump could not read, and why, in one line; None when it read everything.
fn dump_note(threads: &[Thread], issues: &Issues, budget: &Budget, late: bool) -> Option<String> {
    let plural = |n: usize, one: &str, many: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    let mut parts = Vec::new();
    let unreadable: usize = threads
        .iter()
        .map(|t| t.frames.iter().filter(|f| f.is_unreadable()).count())
        .sum();
    if unreadable > 0 {
        let frames = plural(unreadable, "frame", "frames");
        parts.push(format!(
            "{frames} could not be read (shown as <unreadable>)"
        ));
    }
    if issues.unreadable_threads > 0 {
        let states = plural(issues.unreadable_threads, "thread state", "thread states");
        parts.push(format!("{states} could not be read (left out)"));
    }
    parts.extend(issues.lists.iter().cloned());
    let cycles = threads
        .iter()
        .filter(|t| {
            t.frames
                .last()
                .is_some_and(|f| f.code.kind == FrameKind::Cycle)
        })
        .count();
    if cycles > 0 {
        let chains = plural(cycles, "frame chain loops", "frame chains loop");
        parts.push(format!("{chains} (cut at <pyflame>:<cycle>:0)"));
    }
    let cut = threads
        .iter()
        .filter(|t| {
            t.frames
                .last()
                .is_some_and(|f| f.code.kind == FrameKind::NotRead)
        })
        .count();
    if cut > 0 || issues.unread_threads > 0 {
        let limits = budget.limits();
        let why = match budget.exhausted() {
            Some(Exhausted::Bytes) => format!("it may read at most {} MiB", limits.bytes >> 20),
            Some(Exhausted::Time) => format!("it may take at most {} s", limits.total.as_secs()),
            _ => format!(
                "it may walk at most {} frames, shared among the threads",
                limits.frames
            ),
        };
        let mut what = Vec::new();
        if cut > 0 {
            let stacks = plural(cut, "stack ends", "stacks end");
            what.push(format!("{stacks} with <pyflame>:<frames not read>:0"));
        }
        if issues.unread_threads > 0 {
            let threads = plural(issues.unread_threads, "thread was", "threads were");
            what.push(format!("{threads} not read"));
        }
        parts.push(format!("the dump was cut ({why}): {}", what.join(", ")));
    }
    if late {
        parts.push(format!(
            "reading took longer than the {} ms the target may be kept stopped, so it was resumed and read again while running (stacks may be inconsistent)",
            budget.limits().stopped.as_millis()
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn find_runtime(pid: i32, abi: Option<(u8, u8)>, mem: &RemoteMemory) -> Result<Runtime> {
    if let Ok(class @ 1) = proc::exe_class(pid) {
        let exe = proc::exe(pid).map_or_else(|_| "?".into(), |p| p.display().to_string());
        return Err(Error::Fatal(format!(
            "Target ELF file has EI_CLASS={class}, but for this architecture we expected EI_CLASS=2: PID {pid} ({exe}) is a 32-bit program, and pyflame reads 64-bit x86-64 processes only: run the program with a 64-bit Python"
        )));
    }
    let maps = proc::maps(pid).map_err(|_| {
        Error::Fatal(format!(
            "Failed to read /proc/{pid}/maps: the process exited"
        ))
    })?;
    python::find(pid, &maps, abi, mem)
}

/// `--verbose`: one line on stderr about the runtime found.
fn describe(args: &Args, pid: i32, runtime: &Runtime) {
    if args.verbose {
        eprintln!(
            "PID {pid}: {}",
            output::escape::message(&runtime.describe())
        );
    }
}

/// Sampling (`-p PID` or `-t command`): returns pyflame's exit status.
pub fn record(args: &Args) -> Result<ExitCode> {
    let sink = Sink::open(args.output.as_deref())?;
    // From here SIGINT, SIGTERM and SIGHUP end sampling instead of pyflame, and SIGCHLD tells
    // of target events; all are taken synchronously by the sampler.
    signal::block_waited();
    let (mut tracee, pid, traced) = match &args.target {
        Target::Pid(pid) => (
            Tracee::seize(*pid, ptrace::PTRACE_O_TRACEEXEC)?,
            *pid,
            false,
        ),
        Target::Trace(command) => {
            let (tracee, pid) = start(command)?;
            (tracee, pid, true)
        }
    };
    let mem = RemoteMemory::new(pid);
    let mut profile = Profile::new(!args.no_line_numbers, args.exclude_idle, args.flamechart);
    let runtime = if traced {
        wait_for_python(pid, &mut tracee, args, &mem)?
    } else {
        Ok(find_runtime(pid, args.abi, &mem)?)
    };
    let mut run = RunInfo {
        pid,
        command: String::new(),
        python: "?".to_string(),
        seconds: 0.0,
        interval: args.rate,
        threads: args.threads,
    };
    let finish = match runtime {
        Ok(runtime) => {
            describe(args, pid, &runtime);
            // Read now: under -t, launchers (pyenv's shims) have exec'd the interpreter.
            let command = proc::cmdline(pid).unwrap_or_default();
            run.command = output::escape::message(&command).into_owned();
            run.python = runtime.version.to_string();
            let plan = Plan {
                interval: args.interval(),
                duration: args.duration(),
                all_threads: args.threads,
                nonblocking: args.nonblocking,
            };
            let prefetch = Prefetcher::new(&mem);
            let mut status = Status::new(pid, &runtime.version.to_string());
            let mut sampler = Sampler::new(pid, &mut tracee, &prefetch, &runtime, plan);
            let started = Instant::now();
            let finish = sampler.run(&mut profile, |p| status.update(p));
            run.seconds = started.elapsed().as_secs_f64();
            status.clear();
            finish?
        }
        Err(finish) => finish,
    };
    drop(tracee);
    if finish == Finish::Ended(Ended::Exec) {
        eprintln!("pyflame: PID {pid} called exec() and is no longer the program being profiled; the profile covers the time before");
    }
    if run.command.is_empty() {
        if let Target::Trace(command) = &args.target {
            let words: Vec<_> = command.iter().map(|w| w.to_string_lossy()).collect();
            run.command = words.join(" ");
        }
    }
    let text = output::render_profile(args.format, &profile, &run, args.per_thread);
    sink.write(text.as_bytes())?;
    Ok(match finish {
        Finish::Ended(Ended::Exited(Some(code))) if traced => ExitCode::from(code as u8),
        Finish::Ended(Ended::Killed(signal)) if traced => {
            ExitCode::from(128u8.wrapping_add(signal as u8))
        }
        _ => ExitCode::SUCCESS,
    })
}

/// `-t`: starts the command stopped right after its exec, and seizes it.
fn start(command: &[OsString]) -> Result<(Tracee, i32)> {
    let program = &command[0];
    if program.to_string_lossy().ends_with("pyflame") {
        return Err(Error::fatal("You tried to pyflame a pyflame, naughty!"));
    }
    let mut cmd = Command::new(program);
    cmd.args(&command[1..]);
    let child = sys::process::spawn_traced(&mut cmd).map_err(|e| {
        Error::Fatal(format!(
            "Child process exited with status: 1 (cannot run {}: {})",
            program.to_string_lossy(),
            crate::permissions::errno_text(&e)
        ))
    })?;
    let pid = child.id() as i32;
    // PTRACE_TRACEME makes the child stop with SIGTRAP once exec has succeeded.
    match ptrace::wait(pid, false) {
        Ok(Some((_, ptrace::WaitStatus::Stopped { .. }))) => {}
        Ok(Some((_, ptrace::WaitStatus::Exited(code)))) => {
            return Err(Error::Fatal(format!(
                "Child process exited with status: {code}"
            )))
        }
        other => {
            return Err(Error::Fatal(format!(
                "Child process did not start: {other:?}"
            )))
        }
    }
    Ok((Tracee::adopt(pid, ptrace::PTRACE_O_TRACEEXEC)?, pid))
}

/// `-t`: lets the command run until its Python interpreter is initialized. Err(finish) when
/// it ended (or pyflame was stopped) first.
fn wait_for_python(
    pid: i32,
    tracee: &mut Tracee,
    args: &Args,
    mem: &RemoteMemory,
) -> Result<std::result::Result<Runtime, Finish>> {
    let give_up = Instant::now() + TRACE_STARTUP;
    let mut seen_python = false;
    let poll = args
        .interval()
        .clamp(Duration::from_millis(1), Duration::from_millis(20));
    loop {
        match tracee.poll()? {
            // A shell script or a launcher (pyenv's shims) execs the real interpreter.
            Some(Ended::Exec) => tracee.resume(pid),
            Some(ended) if seen_python => return Ok(Err(Finish::Ended(ended))),
            Some(ended) => {
                let how = match ended {
                    Ended::Killed(sig) => format!("was killed by signal {sig}"),
                    Ended::Exited(Some(code)) => format!("exited with status {code}"),
                    _ => "exited".to_string(),
                };
                return Err(Error::Fatal(format!(
                    "Failed to locate libpython: the command {how} before a Python interpreter was found in it"
                )));
            }
            None => {}
        }
        match find_runtime(pid, args.abi, mem) {
            Ok(runtime) => {
                seen_python = true;
                let walker = Walker::new(mem, runtime.layout, runtime.roots);
                // Initialized: an interpreter exists and its GIL is set up (free-threaded:
                // its first thread state exists). Memory that cannot be read at all (a seccomp
                // filter) will not become readable by waiting.
                let interps = match walker.interpreters().map_err(Error::from) {
                    Err(Error::Fatal(why)) => return Err(Error::Fatal(why)),
                    other => other.unwrap_or_default(),
                };
                let initialized = match runtime.layout.gil {
                    GilHolder::Disabled => interps
                        .first()
                        .is_some_and(|&i| walker.thread_states(i).is_ok_and(|t| !t.is_empty())),
                    _ => !interps.is_empty() && walker.gils().is_ok_and(|g| !g.is_empty()),
                };
                if initialized {
                    return Ok(Ok(runtime));
                }
            }
            Err(e) if !seen_python && Instant::now() > give_up => {
                return Err(Error::Fatal(format!(
                    "{e} (waited {} s for the command to load one; pyflame does not follow child processes)",
                    TRACE_STARTUP.as_secs()
                )));
            }
            Err(_) => {}
        }
        match signal::wait_signal(poll) {
            None | Some(libc::SIGCHLD) => {}
            Some(sig) => return Ok(Err(Finish::Stopped(sig))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::walk::Frame;

    fn thread(frames: Vec<Frame>) -> Thread {
        let mut t = crate::output::testing::thread(1, &[("a.py", "f", 1)]);
        t.frames = frames;
        t
    }

    #[test]
    fn the_dump_note_says_what_could_not_be_read_in_one_line() {
        let budget = Budget::new(budget::DUMP);
        let ok = crate::output::testing::frames(&[("a.py", "f", 1)]);
        assert_eq!(
            dump_note(&[thread(ok.clone())], &Issues::default(), &budget, false),
            None
        );
        let unreadable = vec![ok[0].clone(), Frame::unreadable(), Frame::unreadable()];
        let cut = vec![ok[0].clone(), Frame::marker(FrameKind::NotRead)];
        let looped = vec![ok[0].clone(), Frame::marker(FrameKind::Cycle)];
        let issues = Issues {
            unreadable_threads: 1,
            unread_threads: 2,
            lists: vec!["the thread list of interpreter 0 loops after 2 entries".into()],
        };
        let threads = [thread(unreadable), thread(cut), thread(looped)];
        let note = dump_note(&threads, &issues, &budget, true).unwrap();
        assert_eq!(
            note.split("; ").collect::<Vec<_>>(),
            [
                "2 frames could not be read (shown as <unreadable>)",
                "1 thread state could not be read (left out)",
                "the thread list of interpreter 0 loops after 2 entries",
                "1 frame chain loops (cut at <pyflame>:<cycle>:0)",
                "the dump was cut (it may walk at most 1000000 frames, shared among the threads): 1 stack ends with <pyflame>:<frames not read>:0, 2 threads were not read",
                "reading took longer than the 200 ms the target may be kept stopped, so it was resumed and read again while running (stacks may be inconsistent)"
            ]
        );
        assert!(!note.contains('\n'));
    }
}
