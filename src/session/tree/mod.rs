//! The processes one run samples, as they come and go: the PIDs given (`-p`, several allowed)
//! or the `-t` command and, with `--subprocesses`, every process descending from them.
//!
//! A process is sampled once it is a Python process whose interpreter is initialised; until
//! then it waits here, looked at again when its program image or its mapped Python files
//! change (an exec(), a late libpython), and for the `-t` command at the sampling rate.
//! Descendants are found by passes over /proc (`descendants.rs`), not by tracing fork(): a
//! process pyflame never seizes keeps its parent's waitpid() exactly as it was, and one seized
//! is let go of as soon as it exits or execs. A process that exits is dropped silently; one
//! that cannot be seized (permissions, another tracer) is named once on stderr and not tried
//! again.

use std::time::{Duration, Instant};

use super::descendants::{self, alive, fingerprint, initialized, label};

mod ending;
use super::find_known;
use crate::attach::{Counts, Ended, Tracee};
use crate::cli::Args;
use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::output;
use crate::proc;
use crate::python::{self, Runtime};
use crate::sampler::{Plan, Process, Processes};
use crate::sys::ptrace;

/// How often, at least, /proc is looked at for new descendants; a pass that costs more is
/// spaced by `SCAN_SHARE` times its cost, so that it never takes more than 5% of a CPU.
const SCAN_EVERY: Duration = Duration::from_millis(100);
const SCAN_SHARE: u32 = 20;
/// How long `-t` waits for its command to become Python before giving up (without
/// `--subprocesses`, where a child may be the Python one).
const TRACE_STARTUP: Duration = Duration::from_secs(10);

/// What is known of a process not sampled: its program image and how many of its mappings
/// name Python (None: look again at every pass, an interpreter still starting).
type Look = Option<(Option<[u64; 3]>, usize)>;

pub struct Tree<'a> {
    args: &'a Args,
    plan: Plan,
    /// The PIDs given, or the command's.
    named: Vec<i32>,
    /// `-t`: the command, pyflame's child.
    command: Option<i32>,
    /// Stacks start with their process: `--subprocesses`, or several PIDs.
    rooted: bool,
    /// exec() is followed: the process is looked at again (`-t`, `--subprocesses`).
    follow: bool,
    live: Vec<Process>,
    /// Processes of the tree not sampled, with what was seen of them.
    waiting: Vec<(i32, Look)>,
    /// Processes that could not be seized, named once and not tried again.
    refused: Vec<i32>,
    /// When /proc and the processes waiting are looked at next; when the `-t` command is.
    next_scan: Instant,
    next_command: Instant,
    poll_every: Duration,
    started: Instant,
    /// How the last process to end ended (a lone process: how the run ended).
    last_end: Option<Ended>,
    /// `-t`: how the command ended, when that was seen.
    pub command_end: Option<Ended>,
    /// Processes sampled so far, counting each program image.
    pub seen: usize,
    /// The first runtime sampled: its version and the command line of its process.
    pub first: Option<(String, String)>,
    /// Why the first PID given could not be sampled, for the error if none could be.
    why_not: Option<Error>,
    /// The stops of the processes no longer sampled.
    stopped_before: Counts,
    /// The runtimes found so far, for the processes forked from those.
    known: python::Known,
    /// Every process's parent, as the last pass over /proc saw them.
    parents: descendants::Parents,
}

impl<'a> Tree<'a> {
    pub fn new(args: &'a Args, plan: Plan, named: Vec<i32>, command: Option<i32>) -> Self {
        let rooted = args.subprocesses || named.len() > 1;
        Tree {
            args,
            plan,
            named,
            command,
            rooted,
            follow: command.is_some() || args.subprocesses,
            live: Vec::new(),
            waiting: Vec::new(),
            refused: Vec::new(),
            next_scan: Instant::now(),
            next_command: Instant::now(),
            poll_every: args
                .interval()
                .clamp(Duration::from_millis(1), Duration::from_millis(20)),
            started: Instant::now(),
            last_end: None,
            command_end: None,
            seen: 0,
            first: None,
            why_not: None,
            stopped_before: Counts::default(),
            known: python::Known::default(),
            parents: descendants::Parents::default(),
        }
    }

    /// Takes the PIDs given. A lone PID that is not Python or cannot be seized is the run's
    /// error, as it always was; with several, each is named on stderr once, and the error
    /// comes only if none can be sampled. With `--subprocesses` a PID that is not Python
    /// (yet) waits: its descendants may be.
    pub fn start(&mut self, tracee: Option<Tracee>) -> Result<()> {
        if let Some(tracee) = tracee {
            // `-t`: the command, seized at its exec; sampled as soon as it is Python.
            let pid = tracee.pid();
            match self.python(pid) {
                Ok(Some(runtime)) => self.add(tracee, &runtime),
                Err(e) if !self.args.subprocesses => return Err(e),
                _ => {
                    drop(tracee);
                    self.wait(pid, None);
                }
            }
            return Ok(());
        }
        for pid in self.named.clone() {
            match self.try_add(pid) {
                Ok(true) => {}
                Ok(false) if self.args.subprocesses => {
                    self.wait(pid, None);
                }
                Ok(false) => {
                    let e = self.why_not.clone().unwrap_or(Error::TargetGone);
                    self.refuse(pid, &e);
                }
                Err(e) if self.named.len() == 1 && !self.args.subprocesses => return Err(e),
                Err(e) => {
                    self.refuse(pid, &e);
                    self.why_not.get_or_insert(e);
                }
            }
        }
        if self.live.is_empty() && !self.args.subprocesses {
            return Err(self.why_not.take().unwrap_or(Error::TargetGone));
        }
        Ok(())
    }

    /// After the run: an error if no process could be sampled at all.
    pub fn nothing_sampled(&mut self) -> Option<Error> {
        if self.seen > 0 {
            return None;
        }
        Some(self.why_not.take().unwrap_or_else(|| {
            let pids: Vec<String> = self.named.iter().map(|p| p.to_string()).collect();
            Error::Fatal(format!(
                "Failed to locate libpython in PID {} or any process descending from it: none was a Python process while pyflame ran",
                pids.join(", ")
            ))
        }))
    }

    /// The Python runtime of `pid` if it has an initialised interpreter; Ok(None) if it is not
    /// Python (yet); Err if it cannot be looked at (permissions, 32-bit).
    fn python(&mut self, pid: i32) -> Result<Option<Runtime>> {
        let mem_pid = proc::live_task(pid).unwrap_or(pid);
        if let Err(e) = proc::maps(mem_pid) {
            return match e.kind() {
                std::io::ErrorKind::PermissionDenied => Err(Error::Fatal(format!(
                    "Failed to read /proc/{pid}/maps: {} (it belongs to another user, or pyflame lacks CAP_SYS_PTRACE)",
                    crate::permissions::errno_text(&e)
                ))),
                _ => Ok(None),
            };
        }
        let mem = RemoteMemory::new(mem_pid);
        let named = self.named.contains(&pid) && self.command.is_none();
        let runtime = match find_known(mem_pid, self.args.abi, &mem, &mut self.known) {
            Ok(runtime) => runtime,
            Err(e) if self.named == [pid] && !self.args.subprocesses && self.command.is_none() => {
                return Err(e)
            }
            Err(e) => {
                if self.named.contains(&pid) {
                    self.why_not = Some(e);
                }
                return Ok(None);
            }
        };
        // A PID given is sampled as it is (idle until its interpreter is ready); a process
        // that appears is taken once its interpreter is initialised.
        Ok((named || initialized(&runtime, &mem)?).then_some(runtime))
    }

    /// Seizes `pid` and samples it if it is Python. Ok(false): not Python (yet).
    fn try_add(&mut self, pid: i32) -> Result<bool> {
        let Some(runtime) = self.python(pid)? else {
            return Ok(false);
        };
        let tracee = Tracee::seize(pid, ptrace::PTRACE_O_TRACEEXEC)?;
        self.add(tracee, &runtime);
        Ok(true)
    }

    fn add(&mut self, tracee: Tracee, runtime: &Runtime) {
        let pid = tracee.pid();
        super::describe(self.args, pid, runtime);
        let command = proc::cmdline(pid).unwrap_or_default();
        let root = self.rooted.then(|| label(pid, &command));
        if self.first.is_none() {
            self.first = Some((runtime.version.to_string(), command));
        }
        self.seen += 1;
        self.unwait(pid);
        let at = self.live.partition_point(|p| p.pid() < pid);
        self.live
            .insert(at, Process::new(tracee, runtime, self.plan, root));
    }

    /// Whether `pid` is all the run is about: the `-t` command or the one PID given, without
    /// `--subprocesses`.
    fn lone(&self, pid: i32) -> bool {
        !self.args.subprocesses && (Some(pid) == self.command || self.named == [pid])
    }

    /// Notes what was seen of a process not sampled.
    fn wait(&mut self, pid: i32, look: Look) {
        match self.waiting.iter_mut().find(|w| w.0 == pid) {
            Some(w) => w.1 = look,
            None => self.waiting.push((pid, look)),
        }
    }

    fn unwait(&mut self, pid: i32) {
        self.waiting.retain(|w| w.0 != pid);
    }

    /// Names a process that cannot be sampled, once.
    fn refuse(&mut self, pid: i32, why: &Error) {
        self.unwait(pid);
        if !self.refused.contains(&pid) {
            self.refused.push(pid);
            let why = why.to_string();
            eprintln!(
                "pyflame: PID {pid} is left out: {}",
                output::escape::message(&why)
            );
        }
    }

    /// A sampled process ended or exec()'d.
    fn ended(&mut self, pid: i32, ended: Ended) {
        self.last_end = Some(ended);
        match ended {
            Ended::Exec if self.follow => {
                self.wait(pid, None);
            }
            _ if Some(pid) == self.command => self.command_end = Some(ended),
            _ => {}
        }
    }

    /// Looks for processes to sample: the ones waiting whose program changed, and new
    /// descendants (a pass every `SCAN_EVERY` at most); the `-t` command while it is not
    /// Python yet at the sampling rate (a short command must not be missed); notes the end of
    /// the command while it is not traced.
    fn scan(&mut self) -> Result<()> {
        let now = Instant::now();
        let command = self
            .command
            .filter(|&c| self.waiting.iter().any(|w| w.0 == c));
        let full = now >= self.next_scan;
        if !full && (command.is_none() || now < self.next_command) {
            return Ok(());
        }
        self.command_gone();
        if full && self.args.subprocesses {
            // The processes of the tree too: a child whose parent exited is re-parented
            // (to init or a subreaper), and its own children are still the tree's.
            let mut roots = self.named.clone();
            roots.extend(self.command);
            roots.extend(self.live.iter().map(Process::pid));
            roots.extend(self.waiting.iter().map(|w| w.0));
            self.parents.refresh();
            for pid in descendants::descendants(&roots, self.parents.all()) {
                let known = self.live.iter().any(|p| p.pid() == pid);
                if !known
                    && !self.refused.contains(&pid)
                    && !self.waiting.iter().any(|w| w.0 == pid)
                {
                    self.wait(pid, None);
                }
            }
        }
        let candidates: Vec<(i32, Look)> = match full {
            true => self.waiting.clone(),
            false => self
                .waiting
                .iter()
                .filter(|w| Some(w.0) == command)
                .copied()
                .collect(),
        };
        for (pid, look) in candidates {
            let seen = fingerprint(pid);
            if look.is_some() && look == seen {
                continue;
            }
            if !alive(pid) {
                self.unwait(pid);
                continue;
            }
            match self.try_add(pid) {
                Ok(true) => {}
                // Not Python: looked at again when its program or its mappings change.
                // One that maps a Python file is looked at every pass: an interpreter starting.
                Ok(false) => self.wait(pid, seen.filter(|&(_, python)| python == 0)),
                // The command, or the one process given: its error is the run's.
                Err(e) if self.lone(pid) => return Err(e),
                Err(e) => self.refuse(pid, &e),
            }
        }
        if full {
            self.next_scan = Instant::now() + SCAN_EVERY.max(now.elapsed() * SCAN_SHARE);
        }
        self.next_command = Instant::now() + self.poll_every;
        Ok(())
    }

    /// Threads stopped for samples, in every process sampled.
    pub fn stops(&self) -> Counts {
        let live = self.live.iter().map(Process::stops);
        live.fold(self.stopped_before, |a, b| a + b)
    }

    /// Whether stacks start with their process.
    pub fn rooted(&self) -> bool {
        self.rooted
    }
}

impl Processes for Tree<'_> {
    fn update(&mut self) -> Result<Option<Ended>> {
        for p in self.live.iter_mut().filter(|p| p.ended.is_none()) {
            if let Some(ended) = p.tracee().poll()? {
                p.ended = Some(ended);
            }
        }
        let mut i = 0;
        while i < self.live.len() {
            match self.live[i].ended {
                Some(ended) => {
                    // Dropping it lets go of it (an exec() stop is resumed).
                    let gone = self.live.remove(i);
                    self.stopped_before = self.stopped_before + gone.stops();
                    let pid = gone.pid();
                    drop(gone);
                    self.ended(pid, ended);
                }
                None => i += 1,
            }
        }
        self.scan()?;
        self.finished()
    }

    fn live(&mut self) -> &mut [Process] {
        &mut self.live
    }

    fn release(&mut self) {
        for p in &mut self.live {
            p.release();
        }
    }

    fn reattach(&mut self) {
        for p in &mut self.live {
            p.reattach();
        }
    }
}
