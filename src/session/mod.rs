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
use crate::prefetch::Prefetcher;
use crate::proc;
use crate::profile::Profile;
use crate::python::walk::Walker;
use crate::python::{self, layout::GilHolder, Runtime};
use crate::sampler::{Finish, Plan, Sampler};
use crate::sys::{self, ptrace, signal};

mod dump;
pub use dump::dump;

/// How long `-t` waits for a command to map a Python runtime before giving up.
const TRACE_STARTUP: Duration = Duration::from_secs(10);

/// The Python runtime of `pid` (a 32-bit program is refused with the original's words).
pub(super) fn find_runtime(pid: i32, abi: Option<(u8, u8)>, mem: &RemoteMemory) -> Result<Runtime> {
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
pub(super) fn describe(args: &Args, pid: i32, runtime: &Runtime) {
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
    let mut profile = Profile::new(!args.no_line_numbers, args.exclude_idle, args.flamechart);
    profile.by_thread = args.threads;
    let mut run = RunInfo {
        pid,
        command: String::new(),
        python: "?".to_string(),
        seconds: 0.0,
        interval: args.rate,
        threads: args.threads,
    };
    let mut following = false;
    let finish = loop {
        // Through a thread that has not exited (a leader that called pthread_exit has none).
        let mem_pid = proc::live_task(pid).unwrap_or(pid);
        let mem = RemoteMemory::new(mem_pid);
        let runtime = match traced {
            true => wait_for_python(pid, &mut tracee, args, &mem, following)?,
            false => match find_runtime(mem_pid, args.abi, &mem) {
                Ok(runtime) => Ok(runtime),
                // An exec() under way: what was found is a mix of two programs.
                Err(_) if tracee.execed() || tracee.exec_completes() => {
                    Err(Finish::Ended(Ended::Exec))
                }
                Err(e) => return Err(e),
            },
        };
        let finish = match runtime {
            Ok(runtime) => sample(&mut tracee, &mem, &runtime, args, &mut profile, &mut run)?,
            Err(finish) => finish,
        };
        // `-t` profiles the command until it exits, through every exec() (a launcher, a
        // re-exec after start-up, os.execv from any thread): the process is seized again.
        if traced && finish == Finish::Ended(Ended::Exec) {
            if tracee.seize_again().is_err() {
                break Finish::Ended(tracee.ended());
            }
            following = true;
            continue;
        }
        break finish;
    };
    drop(tracee);
    if finish == Finish::Ended(Ended::Exec) {
        eprintln!("pyflame: PID {pid} called exec() and is no longer the program being profiled; the profile covers the time before");
    }
    // The command's status when the exit was not seen while it was traced (it exited
    // while pyflame let go of it).
    let finish = match finish {
        Finish::Ended(Ended::Exited(None)) if traced => Finish::Ended(child_exit(pid)),
        finish => finish,
    };
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

/// Samples one program image of the process until the time is up, it ends or exec()s, or
/// pyflame is stopped.
fn sample(
    tracee: &mut Tracee,
    mem: &RemoteMemory,
    runtime: &Runtime,
    args: &Args,
    profile: &mut Profile,
    run: &mut RunInfo,
) -> Result<Finish> {
    let pid = tracee.pid();
    describe(args, pid, runtime);
    if run.python == "?" {
        // Read now: under -t, launchers (pyenv's shims) have exec'd the interpreter.
        let command = proc::cmdline(pid).unwrap_or_default();
        run.command = output::escape::message(&command).into_owned();
        run.python = runtime.version.to_string();
    }
    let plan = Plan {
        interval: args.interval(),
        duration: args.duration(),
        all_threads: args.threads,
        nonblocking: args.nonblocking,
    };
    let prefetch = Prefetcher::new(mem);
    let mut status = Status::new(pid, &runtime.version.to_string());
    let mut sampler = Sampler::new(pid, tracee, &prefetch, runtime, plan);
    let started = Instant::now();
    let finish = sampler.run(profile, |p, s| status.update(p, s.stops(), s.behind));
    let seconds = started.elapsed().as_secs_f64();
    run.seconds += seconds;
    status.clear();
    if args.verbose {
        let summary = status.summary(profile, seconds, sampler.stops(), sampler.behind);
        eprintln!("pyflame: PID {pid}: {summary}");
    }
    finish
}

/// `-t`: the exit of the command, pyflame's child, once it is no longer traced (bounded: a
/// command still running is left to run).
fn child_exit(pid: i32) -> Ended {
    let deadline = Instant::now() + Duration::from_secs(2);
    match ptrace::wait_until(pid, deadline) {
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

/// `-t`: lets the command run until its Python interpreter is initialized. Err(finish) when
/// it ended (or pyflame was stopped) first. `following`: after an exec() of a command already
/// profiled, which may never be Python again: waited for until it ends.
fn wait_for_python(
    pid: i32,
    tracee: &mut Tracee,
    args: &Args,
    mem: &RemoteMemory,
    following: bool,
) -> Result<std::result::Result<Runtime, Finish>> {
    let give_up = Instant::now() + TRACE_STARTUP;
    let mut seen_python = false;
    let poll = args
        .interval()
        .clamp(Duration::from_millis(1), Duration::from_millis(20));
    loop {
        match tracee.poll()? {
            // A shell script or a launcher (pyenv's shims) execs the real interpreter.
            Some(Ended::Exec) if tracee.seize_again().is_err() => {
                return Ok(Err(Finish::Ended(tracee.ended())))
            }
            Some(Ended::Exec) => {}
            Some(ended) if seen_python || following => return Ok(Err(Finish::Ended(ended))),
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
            Err(e) if !seen_python && !following && Instant::now() > give_up => {
                return Err(Error::Fatal(format!(
                    "{e} (waited {} s for the command to load one; pyflame does not follow child processes)",
                    TRACE_STARTUP.as_secs()
                )));
            }
            Err(_) => {}
        }
        match signal::wait_until(&signal::WAITED, Instant::now() + poll) {
            None | Some(libc::SIGCHLD) => {}
            Some(sig) if signal::SUSPEND.contains(&sig) => {
                tracee.release();
                signal::suspend_self();
                if tracee.reattach().is_err() {
                    return Ok(Err(Finish::Ended(tracee.ended())));
                }
            }
            Some(sig) => return Ok(Err(Finish::Stopped(sig))),
        }
    }
}
