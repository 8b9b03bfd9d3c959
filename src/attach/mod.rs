//! The attach guard: seizes a process's threads, stops and resumes them within a deadline,
//! handles their ptrace events, and always detaches.
//!
//! The rules that keep the target unharmed (man 2 ptrace):
//! - threads are seized (PTRACE_SEIZE) and stopped with PTRACE_INTERRUPT: no SIGSTOP is sent;
//! - a thread that stops for a signal (signal-delivery-stop) gets that signal back when it is
//!   resumed or detached, so no signal is swallowed;
//! - a thread in group-stop (someone sent SIGSTOP/SIGTSTP) is resumed with PTRACE_LISTEN, so
//!   it stays stopped as job control wants;
//! - a thread in uninterruptible sleep (`D`: it cannot change Python state there) that does
//!   not stop by the deadline is not waited for: its stop, when it comes, is resumed at once;
//! - an exec() by any thread, the leader's exit alone (pthread_exit) and threads coming and
//!   going are recognised, never taken for one another;
//! - Drop detaches every thread; if pyflame dies instead, the kernel detaches them (and drops
//!   a pending PTRACE_INTERRUPT with the tracer).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::permissions;
use crate::proc;
use crate::sys::ptrace::{self, Stop, WaitStatus};

mod events;
pub mod mailbox;
pub use events::exec_since;

/// How long a thread that stopped late is waited for when pyflame lets go of the target.
const RELEASE_WAIT: Duration = Duration::from_millis(100);
/// How long a thread that is not in uninterruptible sleep may take to stop, and how often it
/// is looked at meanwhile (it may enter it).
const PATIENCE: Duration = Duration::from_secs(1);
const LOOK_AGAIN: Duration = Duration::from_millis(5);
/// How long to poll for a stop before sleeping until it comes.
const SPIN: Duration = Duration::from_micros(50);
/// How often, at most, /proc is asked whether the leader is still the one pyflame traces.
const LEADER_CHECK: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// PTRACE_INTERRUPT was sent and the stop not seen yet.
    Interrupted,
    Stopped {
        /// The signal it was about to receive (signal-delivery-stop), to pass on at resume.
        pending: i32,
        /// Stopped by job control (group-stop): resume with PTRACE_LISTEN.
        group_stop: bool,
    },
}

impl State {
    fn of(stop: Stop) -> State {
        match stop {
            Stop::Signal(signal) => State::Stopped {
                pending: signal,
                group_stop: false,
            },
            Stop::Group(_) => State::Stopped {
                pending: 0,
                group_stop: true,
            },
            Stop::Interrupt | Stop::Exec | Stop::Event(_) => State::Stopped {
                pending: 0,
                group_stop: false,
            },
        }
    }
}

/// How a traced process ended, as far as pyflame is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this status (None when only its disappearance was seen).
    Exited(Option<i32>),
    /// It was killed by this signal.
    Killed(i32),
    /// It called exec(): pyflame's view of its memory is stale.
    Exec,
}

/// What asking a thread to stop came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopping {
    Stopped,
    /// It exited (or is not a thread of the process).
    Gone,
    /// It did not stop by the deadline (uninterruptible sleep): it is left running.
    Late,
}

/// What one thread reported after PTRACE_INTERRUPT.
enum Waited {
    Stop(Stop),
    Exit(Option<WaitStatus>),
    Late,
}

/// Counts for `--verbose`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Threads stopped (PTRACE_INTERRUPT sent).
    pub stops: u64,
    /// Stops that did not come by their deadline.
    pub late: u64,
    /// Reads made without stopping whose check found that the stacks moved (read again).
    pub moved: u64,
}

pub struct Tracee {
    pid: i32,
    options: u64,
    threads: BTreeMap<i32, State>,
    /// The leader was seized (a leader that already exited alone cannot be).
    leader_traced: bool,
    /// Set once the process's end has been seen.
    ended: Option<Ended>,
    /// The process called exec().
    exec: bool,
    /// pyflame's own pid: a leader whose TracerPid is another is no longer the one seized.
    me: i32,
    /// The program image seized (`proc::image`): another one at the same pid means exec().
    image: Option<[u64; 3]>,
    /// The `-t` command, pyflame's own child (`adopt`): its exit status is pyflame's.
    adopted: bool,
    leader_checked: Instant,
    pub counts: Counts,
}

impl std::ops::Add for Counts {
    type Output = Counts;
    fn add(self, other: Counts) -> Counts {
        Counts {
            stops: self.stops + other.stops,
            late: self.late + other.late,
            moved: self.moved + other.moved,
        }
    }
}

impl Tracee {
    /// Seizes the thread-group leader with `options` (PTRACE_O_*). Nothing is stopped yet. A
    /// leader that exited alone (pthread_exit) while other threads run on is left out: those
    /// are seized when they are stopped.
    pub fn seize(pid: i32, options: u64) -> Result<Tracee> {
        let leader_exited = proc::live_task(pid).is_some_and(|tid| tid != pid);
        // Read before seizing: an exec() in the meantime (one that starts as soon as the
        // process is traced) then shows as another image.
        let image = proc::image(pid);
        let mut tracee = Tracee {
            pid,
            options,
            threads: BTreeMap::new(),
            leader_traced: false,
            ended: None,
            exec: false,
            me: std::process::id() as i32,
            image: None,
            adopted: false,
            leader_checked: Instant::now(),
            counts: Counts::default(),
        };
        if !leader_exited {
            if let Err(e) = ptrace::seize(pid, options) {
                return Err(Error::Fatal(permissions::seize_failure(pid, &e)));
            }
            tracee.threads.insert(pid, State::Running);
            tracee.leader_traced = true;
            tracee.reaped()?;
        }
        tracee.image = image.or_else(|| proc::image(pid));
        Ok(tracee)
    }

    /// Takes over a child that stopped after PTRACE_TRACEME + exec: detaches the old-style
    /// attachment and seizes it, so that PTRACE_INTERRUPT works (man 2 ptrace: it requires
    /// PTRACE_SEIZE).
    pub fn adopt(pid: i32, options: u64) -> Result<Tracee> {
        ptrace::detach(pid, 0)
            .map_err(|e| Error::Fatal(format!("Failed to detach PID {pid}: {e}")))?;
        let mut tracee = Tracee::seize(pid, options)?;
        tracee.adopted = true;
        Ok(tracee)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Seizes `tid` if it is not yet; false if it no longer exists or is not a thread of this
    /// process. A thread id read from a target in another PID namespace (a container seen
    /// from the host) names, in pyflame's namespace, some other process or none: never seize
    /// it. The leader is seized once, at the start: if it is gone from the list since, it
    /// exited or an exec() replaced it.
    fn ensure(&mut self, tid: i32) -> Result<bool> {
        if self.threads.contains_key(&tid) {
            return Ok(true);
        }
        if tid == self.pid || !proc::is_task(self.pid, tid) {
            return Ok(false);
        }
        let seized = ptrace::seize(tid, self.options).is_ok();
        self.reaped()?;
        if seized {
            self.threads.insert(tid, State::Running);
        }
        Ok(seized)
    }

    /// Stops one thread (seizing it first if needed), waiting for the stop until `deadline`.
    pub fn stop(&mut self, tid: i32, deadline: Instant) -> Result<Stopping> {
        if !self.ensure(tid)? {
            return Ok(Stopping::Gone);
        }
        match self.threads[&tid] {
            State::Stopped { .. } => return Ok(Stopping::Stopped),
            // Late already (uninterruptible sleep): only look whether the stop came.
            State::Interrupted => return self.collect(tid, Instant::now()),
            State::Running => {
                if ptrace::interrupt(tid).is_err() {
                    self.lost(tid)?;
                    return Ok(Stopping::Gone);
                }
                self.threads.insert(tid, State::Interrupted);
                self.counts.stops += 1;
            }
        }
        let stopping = self.collect(tid, deadline)?;
        self.counts.late += u64::from(stopping == Stopping::Late);
        Ok(stopping)
    }

    /// Seizes every thread of the process and stops them all (interrupt all, then wait for
    /// each until `deadline`). Threads created meanwhile are picked up by listing
    /// /proc/PID/task again, a bounded number of times. Returns the threads that did not stop
    /// by the deadline.
    pub fn stop_all(&mut self, deadline: Instant) -> Result<Vec<i32>> {
        for _ in 0..4 {
            let tids = proc::tasks(self.pid).map_err(|_| Error::TargetGone)?;
            let new = tids
                .iter()
                .any(|t| !self.threads.contains_key(t) && *t != self.pid);
            let mut asked = Vec::with_capacity(tids.len());
            let mut earlier = Vec::new();
            for tid in tids {
                if !self.ensure(tid)? {
                    continue;
                }
                match self.threads[&tid] {
                    State::Running if ptrace::interrupt(tid).is_ok() => {
                        self.threads.insert(tid, State::Interrupted);
                        self.counts.stops += 1;
                        asked.push(tid);
                    }
                    State::Running => self.lost(tid)?,
                    State::Interrupted => earlier.push(tid),
                    State::Stopped { .. } => {}
                }
            }
            for tid in asked {
                let stopping = self.collect(tid, deadline)?;
                self.counts.late += u64::from(stopping == Stopping::Late);
            }
            // Late already (uninterruptible sleep): only look whether the stop came.
            for tid in earlier.drain(..) {
                self.collect(tid, Instant::now())?;
            }
            if !new {
                break;
            }
        }
        Ok(self.tids(|s| s == State::Interrupted))
    }

    /// Waits for the stop of a thread that was interrupted: until `deadline` if it is in
    /// uninterruptible sleep (`D`, where its Python frames cannot change), else up to
    /// `PATIENCE` (a thread waiting for a CPU on a loaded machine, or waking from a sleep,
    /// stops as soon as it runs).
    fn collect(&mut self, tid: i32, deadline: Instant) -> Result<Stopping> {
        let patience = Instant::now() + PATIENCE;
        let mut until = deadline;
        let waited = loop {
            match wait_stop(tid, until) {
                // An exec() that was not reported ended the thread asked (or gave the leader's
                // id to one that was not): no stop will come.
                Waited::Late if self.replaced() => return Err(Error::TargetGone),
                Waited::Late
                    if until < patience && !proc::in_uninterruptible_sleep(self.pid, tid) =>
                {
                    until = (until.max(Instant::now()) + LOOK_AGAIN).min(patience);
                }
                waited => break waited,
            }
        };
        match waited {
            Waited::Stop(Stop::Exec) => {
                self.exec_seen();
                Err(Error::TargetGone)
            }
            Waited::Stop(stop) => {
                self.threads.insert(tid, State::of(stop));
                Ok(Stopping::Stopped)
            }
            Waited::Exit(status) => self.forget(tid, status).map(|()| Stopping::Gone),
            Waited::Late => Ok(Stopping::Late),
        }
    }

    /// Resumes a stopped thread, handing back any signal it was about to receive. A thread
    /// still on its way to a stop is resumed when the stop comes (`poll`).
    pub fn resume(&mut self, tid: i32) {
        let resumed = match self.threads.get(&tid) {
            None | Some(State::Running | State::Interrupted) => return,
            Some(State::Stopped {
                group_stop: true, ..
            }) => ptrace::listen(tid),
            Some(&State::Stopped { pending, .. }) => ptrace::cont(tid, pending),
        };
        match resumed {
            Ok(()) => self.threads.insert(tid, State::Running),
            Err(_) => self.threads.remove(&tid),
        };
        if tid == self.pid {
            self.exec = false;
        }
    }

    /// The threads that are stopped now.
    pub fn stopped_tids(&self) -> Vec<i32> {
        self.tids(|s| matches!(s, State::Stopped { .. }))
    }

    fn tids(&self, which: impl Fn(State) -> bool) -> Vec<i32> {
        let chosen = self.threads.iter().filter(|(_, s)| which(**s));
        chosen.map(|(&tid, _)| tid).collect()
    }

    /// True once an exec() has been seen and its stop not resumed.
    pub fn exec_pending(&self) -> bool {
        self.exec
    }
}

impl Drop for Tracee {
    fn drop(&mut self) {
        let known: Vec<i32> = self.threads.keys().copied().collect();
        self.detach_all(Instant::now() + RELEASE_WAIT);
        // Nobody will ask for the events of its threads any more (the leader's exit may still
        // be asked for: `-t` reports its command's status).
        mailbox::forget(&|tid| tid != self.pid && known.contains(&tid));
    }
}

fn ended(status: WaitStatus) -> Ended {
    match status {
        WaitStatus::Exited(code) => Ended::Exited(Some(code)),
        WaitStatus::Signaled(signal) => Ended::Killed(signal),
        _ => Ended::Exited(None),
    }
}

/// Waits until `deadline` for `tid` to report the stop asked for by PTRACE_INTERRUPT.
fn wait_stop(tid: i32, deadline: Instant) -> Waited {
    // A running thread reaches the stop within microseconds: poll for it briefly before
    // sleeping, since being woken costs more than that (and the target stays stopped
    // meanwhile).
    let spin = Instant::now();
    let mut early = None;
    while early.is_none() && spin.elapsed() < SPIN {
        early = mailbox::poll(tid).ok().flatten();
    }
    loop {
        let waited = match early.take() {
            Some(got) => Ok(Some(got)),
            None => mailbox::wait_until(tid, deadline),
        };
        match waited {
            Ok(None) => return Waited::Late,
            Err(_) => return Waited::Exit(None),
            Ok(Some((_, WaitStatus::Continued))) => continue,
            Ok(Some((_, WaitStatus::Stopped(stop)))) => return Waited::Stop(stop),
            Ok(Some((_, status))) => return Waited::Exit(Some(status)),
        }
    }
}
