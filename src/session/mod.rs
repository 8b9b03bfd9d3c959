//! A session on one process: attach (`-p`) or start it (`-t`), find its Python runtime, then
//! dump its stacks (`-d`, in `dump.rs`) or sample them and write the profile.

use std::ffi::OsString;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use crate::attach::{Ended, Tracee};
use crate::cli::{Args, Target};
use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::output::{self, status::Status, RunInfo, Sink};
use crate::proc;
use crate::profile::Profile;
use crate::python::{self, Runtime};
use crate::sampler::{Finish, Plan, Sampler};
use crate::sys::{self, ptrace};

mod descendants;
mod dump;
mod native;
mod note;
mod tasks;
mod tree;
pub use dump::dump;
use tree::Tree;

/// `PYFLAME_ALWAYS_STOP=1` makes every sample of the default mode stop the threads that can
/// move, as it does when a read without stopping keeps failing its check: the tests of how
/// pyflame behaves while it holds threads stopped (signals, job control) use it.
const ALWAYS_STOP: &str = "PYFLAME_ALWAYS_STOP";

/// The Python runtime of `pid` (a 32-bit program is refused with the original's words).
pub(super) fn find_runtime(pid: i32, abi: Option<(u8, u8)>, mem: &RemoteMemory) -> Result<Runtime> {
    find_known(pid, abi, mem, &mut python::Known::default())
}

/// `find_runtime`, through the runtimes already found in other processes.
pub(super) fn find_known(
    pid: i32,
    abi: Option<(u8, u8)>,
    mem: &RemoteMemory,
    known: &mut python::Known,
) -> Result<Runtime> {
    if let Ok(class @ 1) = proc::exe_class(pid) {
        let exe = proc::exe(pid).map_or_else(|_| "?".into(), |p| p.display().to_string());
        return Err(Error::Fatal(format!(
            "Target ELF file has EI_CLASS={class}, but for this architecture we expected EI_CLASS=2: PID {pid} ({exe}) is a 32-bit program, and pyflame reads 64-bit {} processes only: run the program with a 64-bit Python",
            crate::arch::NAME
        )));
    }
    let maps = proc::maps(pid).map_err(|_| {
        Error::Fatal(format!(
            "Failed to read /proc/{pid}/maps: the process exited"
        ))
    })?;
    python::find_known(pid, &maps, abi, mem, known)
}

/// `--verbose`: one line on stderr about the runtime found.
pub(super) fn describe(args: &Args, pid: i32, runtime: &Runtime) {
    if args.verbose {
        eprintln!(
            "PID {pid}: {}",
            output::escape::message(&runtime.describe())
        );
    }
}

/// Sampling (`-p PID`, several, or `-t command`, with or without their descendants): returns
/// pyflame's exit status.
pub fn record(args: &Args) -> Result<ExitCode> {
    let sink = Sink::open(args.output.as_deref())?;
    let plan = Plan {
        interval: args.interval(),
        duration: args.duration(),
        all_threads: args.threads,
        nonblocking: args.nonblocking,
        always_stop: std::env::var_os(ALWAYS_STOP).is_some_and(|v| v == "1"),
        native: args.native,
        tasks: args.tasks,
    };
    let (named, command, tracee) = match &args.target {
        Target::Pids(pids) => (pids.clone(), None, None),
        Target::Trace(command) => {
            let (tracee, pid) = start(command)?;
            (vec![pid], Some(pid), Some(tracee))
        }
    };
    let pid = named[0];
    let mut tree = Tree::new(args, plan, named, command);
    tree.start(tracee)?;
    let mut profile = Profile::new(!args.no_line_numbers, args.exclude_idle, args.flamechart);
    profile.by_thread = args.threads;
    let python = tree
        .first
        .as_ref()
        .map_or("?", |(v, _)| v.as_str())
        .to_string();
    let mut status = Status::new(pid, &python);
    let rooted = tree.rooted();
    let mut sampler = Sampler::new(plan);
    let started = Instant::now();
    let finish = sampler.run(&mut tree, &mut profile, |p, set, s| {
        let live = set.live();
        status.processes = rooted.then_some(live.len());
        if let Some(first) = live.first() {
            status.python(&first.version);
        }
        let stops = live.iter().fold(Default::default(), |a, p| a + p.stops());
        status.update(p, stops, s.behind)
    });
    let seconds = started.elapsed().as_secs_f64();
    status.clear();
    let stops = tree.stops();
    let (seen, first, command_end) = (tree.seen, tree.first.take(), tree.command_end);
    let nothing = tree.nothing_sampled();
    // Lets go of every process.
    drop(tree);
    let finish = finish?;
    if let (Some(e), false) = (nothing, matches!(finish, Finish::Stopped(_))) {
        return Err(e);
    }
    if args.verbose {
        let summary = status.summary(&profile, seconds, stops, sampler.behind);
        eprintln!("pyflame: PID {pid}: {summary}");
    }
    if finish == Finish::Ended(Ended::Exec) && command.is_none() && !args.subprocesses {
        eprintln!("pyflame: PID {pid} called exec() and is no longer the program being profiled; the profile covers the time before");
    }
    // The command's status when its exit was not seen while it was traced (it exited while
    // pyflame let go of it).
    let command_end = match command_end {
        Some(Ended::Exited(Some(code))) => Ended::Exited(Some(code)),
        Some(Ended::Killed(sig)) => Ended::Killed(sig),
        _ if command.is_some() => child_exit(pid),
        _ => Ended::Exited(None),
    };
    let mut run = RunInfo {
        pid,
        command: String::new(),
        python: "?".to_string(),
        seconds,
        interval: args.rate,
        threads: args.threads,
        processes: rooted.then_some(seen),
    };
    if let Some((python, command)) = first {
        run.python = python;
        run.command = output::escape::message(&command).into_owned();
    }
    if run.command.is_empty() {
        if let Target::Trace(command) = &args.target {
            let words: Vec<_> = command.iter().map(|w| w.to_string_lossy()).collect();
            run.command = words.join(" ");
        }
    }
    let text = output::render_profile(args.format, &profile, &run, args.per_thread);
    sink.write(text.as_bytes())?;
    Ok(match command_end {
        Ended::Exited(Some(code)) if command.is_some() => ExitCode::from(code as u8),
        Ended::Killed(signal) if command.is_some() => {
            ExitCode::from(128u8.wrapping_add(signal as u8))
        }
        _ => ExitCode::SUCCESS,
    })
}

/// `-t`: the exit of the command, pyflame's child, once it is no longer traced (bounded: a
/// command still running is left to run).
fn child_exit(pid: i32) -> Ended {
    let deadline = Instant::now() + Duration::from_secs(2);
    match crate::attach::mailbox::wait_until(pid, deadline) {
        Ok(Some((_, ptrace::WaitStatus::Exited(code)))) => Ended::Exited(Some(code)),
        Ok(Some((_, ptrace::WaitStatus::Signaled(signal)))) => Ended::Killed(signal),
        _ => Ended::Exited(None),
    }
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
