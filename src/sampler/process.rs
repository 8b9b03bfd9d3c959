//! One sampled process: its attach guard, its memory and walker, and what the sampler keeps
//! about it from one sample to the next (where its GILs are, which threads it last stopped,
//! how long it must now run free). The schedule loop (`mod.rs`) holds any number of these;
//! how one is read is in `read.rs`, `running.rs`, `settle.rs` and `unmoved.rs`.

use crate::hash::Map;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{unmoved, with_frames, Plan, ATTEMPTS};

/// Reads without stopping anything a sample tries, in the default mode before it stops the
/// GIL holders, and with `--nonblocking` before it fails.
const UNSTOPPED_READS: usize = 3;
const NONBLOCKING_READS: usize = 12;
use crate::attach::{Ended, Tracee};
use crate::budget;
use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::native::threads::Native;
use crate::prefetch::Prefetcher;
use crate::proc;
use crate::python::asyncio::Running;
use crate::python::layout::GilHolder;
use crate::python::walk::{Code, Gil, Leaf, Thread, Walker};
use crate::python::Runtime;
use crate::tasks::Tasks;

pub struct Process {
    pub(super) pid: i32,
    pub(super) tracee: Tracee,
    /// The memory the walker reads, batched per sample.
    pub(super) prefetch: Rc<Prefetcher<RemoteMemory>>,
    pub(super) walker: Walker<'static>,
    pub(super) plan: Plan,
    /// The frame each of its stacks starts with (process trees), None for a lone process.
    pub root: Option<Rc<Code>>,
    /// The Python version it runs.
    pub version: String,
    /// Set once a sample found that it ended or exec()'d: it is not sampled again.
    pub ended: Option<Ended>,
    /// The target's threads, as it numbers them and as pyflame does.
    pub(super) tasks: Tasks,
    /// Where the GILs are, and since when that is known.
    pub(super) gils: Option<(Instant, Vec<Gil>)>,
    /// A thread of this sample did not stop by its deadline: the sample is read unstopped.
    pub(super) late: bool,
    /// Not before then may the target be stopped again: it runs at least as long as the
    /// last sample held it stopped.
    pub(super) free_until: Instant,
    /// How long the last sample that stopped threads held them.
    pub(super) held: Duration,
    /// No GIL: sample the threads on a CPU.
    pub(super) free_threaded: bool,
    /// /proc/PID/task/TID/stat of each thread seen, open (free-threaded builds).
    pub(super) stats: Map<i32, Option<std::fs::File>>,
    /// The threads the last sample held stopped (see `unmoved.rs`).
    pub(super) unmoved: unmoved::Unmoved,
    /// A thread found between two states that stayed so (see `settle.rs`).
    pub(super) still: Option<(u64, Leaf)>,
    /// Samples still to take by stopping the GIL holders straight away: a read without
    /// stopping found a stack too deep to check (see `unstopped.rs`).
    pub(super) deep: u32,
    /// Reads without stopping whose check found that the stacks moved.
    pub(super) moved: u64,
    /// Each thread's outermost frame (address, code) as last read whole (see `unstopped.rs`).
    pub(super) outermost: Map<u64, (u64, u64)>,
    /// `--native`: the threads' machine stacks (None when /proc/PID/maps cannot be read).
    pub(super) native: Option<Native>,
    /// `--async`: what labels a sample with its task chain.
    asyncio: Option<Running>,
}

impl Process {
    /// A process seized as `tracee`, whose Python runtime is `runtime`.
    pub fn new(tracee: Tracee, runtime: &Runtime, plan: Plan, root: Option<Rc<Code>>) -> Self {
        let pid = tracee.pid();
        // Through a thread that has not exited (a leader that called pthread_exit has none).
        let mem = RemoteMemory::new(proc::live_task(pid).unwrap_or(pid));
        let prefetch = Rc::new(Prefetcher::new(mem));
        let walker = Walker::shared(prefetch.clone(), runtime.layout, runtime.roots);
        Process {
            pid,
            tracee,
            prefetch,
            walker,
            plan,
            root,
            version: runtime.version.to_string(),
            ended: None,
            tasks: Tasks::new(pid),
            gils: None,
            late: false,
            free_until: Instant::now(),
            held: Duration::ZERO,
            free_threaded: runtime.layout.gil == GilHolder::Disabled,
            stats: Map::default(),
            still: None,
            unmoved: Default::default(),
            deep: 0,
            moved: 0,
            outermost: Map::default(),
            native: match plan.native {
                true => Native::new(pid, &runtime.path, runtime.version, false).ok(),
                false => None,
            },
            asyncio: plan.tasks.then(|| Running::new(pid, runtime.clone())),
        }
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn tracee(&mut self) -> &mut Tracee {
        &mut self.tracee
    }

    /// How many threads were stopped for samples, and how many of those stops came late.
    pub fn stops(&self) -> crate::attach::Counts {
        crate::attach::Counts {
            moved: self.moved,
            ..self.tracee.counts
        }
    }

    /// Not before then may the process be stopped again (see `Sampler::run`).
    pub fn free_until(&self) -> Instant {
        self.free_until
    }

    /// Job control is about to stop pyflame: let go of the process.
    pub fn release(&mut self) {
        self.tracee.release();
        self.gils = None;
    }

    /// Seizes it again after `release`; notes its end if it ended or exec()'d meanwhile.
    pub fn reattach(&mut self) {
        if self.tracee.reattach().is_err() {
            self.ended = Some(self.tracee.ended());
        }
    }

    /// One sample: the threads seen with a Python frame (none: idle).
    pub fn sample(&mut self) -> Result<Vec<Thread>> {
        self.walker.begin(budget::SAMPLE);
        let mut threads = self.settled(Self::read).and_then(with_frames)?;
        if let Some(asyncio) = &mut self.asyncio {
            asyncio.label(&*self.prefetch, &mut self.walker, &mut threads);
        }
        Ok(threads)
    }

    /// The threads of one read of the sample: read without stopping anything and checked
    /// (see `unstopped.rs`); in the default mode, when such reads keep moving or a stack is
    /// too deep to check, read with the threads that can move stopped.
    fn read(&mut self) -> Result<Vec<Thread>> {
        self.late = false;
        if self.plan.native {
            return self.read_native();
        }
        let tries = match (self.plan.nonblocking, self.deep) {
            (true, _) => NONBLOCKING_READS,
            (false, _) if self.plan.always_stop => 0,
            (false, 0) => UNSTOPPED_READS,
            (false, _) => {
                self.deep -= 1;
                0
            }
        };
        for _ in 0..tries {
            let deep = self.deep;
            let read = self.read_unstopped(false)?;
            if self.deep > deep && !self.plan.nonblocking {
                // Too deep to check: read stopped, with the frames this read took given back.
                self.walker.budget().discarded();
                break;
            }
            if let Some(threads) = read {
                // The stacks the last stopping sample read are no longer the latest.
                self.read_with(None);
                return Ok(threads);
            }
        }
        if self.plan.nonblocking {
            return Err(Error::Sample(
                "the stacks kept changing during every attempt to read them".into(),
            ));
        }
        if self.free_threaded {
            return match self.plan.all_threads {
                true => self.read_all_stopped(),
                false => self.sample_running(),
            };
        }
        for _ in 0..ATTEMPTS {
            if let Some(threads) = self.read_stopped()? {
                return Ok(threads);
            }
        }
        // The GIL kept moving between threads faster than they could be stopped one by one:
        // stop them all for this one sample, which is always consistent.
        self.read_all_stopped()
    }
}
