//! The budgets every walk draws on: remote bytes read, frames walked, time the target is kept
//! stopped and time spent, per sample and per dump, whatever the target's memory holds.
//!
//! The per-object caps (a name, a line table, a list) bound one read; a budget bounds their
//! sum, so that many objects pointing at one large table, thousands of thread states or a
//! frame chain a million long cost a fixed amount of pyflame's time and memory and of the
//! target's stopped time. A walk that runs out ends early with what it read (a stack then ends
//! with a marker frame); running out of stopped time only means the stopped threads must be
//! resumed before the walk goes on.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use crate::memory::{Memory, ReadError};

/// What one sample or one dump may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the target's memory asked for (cached reads included).
    pub bytes: u64,
    /// Frames walked, over every thread.
    pub frames: u64,
    /// How long any thread of the target may be kept stopped.
    pub stopped: Duration,
    /// How long the read may take, from when the target was stopped for it (or from the
    /// start, for a read that stops nothing): waiting for threads to stop is not reading.
    pub total: Duration,
}

/// One sample: a 50,000-frame stack fits. The frames and bytes bound the work; the total time
/// is wall time, a backstop generous enough that a loaded machine (pyflame waiting for a CPU)
/// does not fail samples.
pub const SAMPLE: Limits = Limits {
    bytes: 16 << 20,
    frames: 100_000,
    stopped: Duration::from_millis(10),
    total: Duration::from_secs(1),
};

/// One dump (`-d`): every thread of a large process, consistent when it can be.
pub const DUMP: Limits = Limits {
    bytes: 128 << 20,
    frames: 1_000_000,
    stopped: Duration::from_millis(200),
    total: Duration::from_secs(5),
};

/// How many reads may be charged between two looks at the clock.
const CLOCK_EVERY: u32 = 16;

/// Which budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exhausted {
    /// The target has been stopped as long as it may be: resume it, then go on reading.
    Stopped,
    Time,
    Bytes,
    Frames,
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Exhausted::Stopped => "the time the target may be kept stopped ran out",
            Exhausted::Time => "the time a read may take ran out",
            Exhausted::Bytes => "the bytes a read may take ran out",
            Exhausted::Frames => "the frames a read may walk ran out",
        })
    }
}

/// What a walk has used of its limits.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    /// When the time runs out, and when a walk stops taking frames (a quarter before).
    deadline: Cell<Instant>,
    walk_deadline: Cell<Instant>,
    bytes: Cell<u64>,
    frames: Cell<u64>,
    /// While threads of the target are stopped: when they must be resumed.
    stop_until: Cell<Option<Instant>>,
    /// The first budget that ran out (other than stopped time), for reporting.
    exhausted: Cell<Option<Exhausted>>,
    /// The stopped time ran out at least once.
    overran: Cell<bool>,
    /// Reads charged since the clock was last looked at.
    reads: Cell<u32>,
    /// Frames taken since the clock was last looked at.
    frame_clock: Cell<u32>,
    /// A read was thrown away and its frames and bytes given back (at most once).
    refunded: Cell<bool>,
}

impl Budget {
    pub fn new(limits: Limits) -> Budget {
        let now = Instant::now();
        Budget {
            limits,
            deadline: Cell::new(now + limits.total),
            walk_deadline: Cell::new(now + limits.total / 4 * 3),
            bytes: Cell::new(0),
            frames: Cell::new(0),
            stop_until: Cell::new(None),
            exhausted: Cell::new(None),
            overran: Cell::new(false),
            reads: Cell::new(0),
            frame_clock: Cell::new(0),
            refunded: Cell::new(false),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Threads of the target are stopped since `since` (when the stop was seen). The time of
    /// the read counts from there too.
    pub fn stopped(&self, since: Instant) {
        self.frame_clock.set(0);
        if self.stop_until.get().is_none() {
            self.stop_until.set(Some(since + self.limits.stopped));
            self.deadline.set(since + self.limits.total);
            self.walk_deadline.set(since + self.limits.total / 4 * 3);
        }
    }

    /// Until when a thread asked to stop now may take to stop: the end of the stopped time if
    /// threads are stopped already (they wait for it), else that much from now.
    pub fn stop_deadline(&self) -> Instant {
        let until = self.stop_until.get();
        until.unwrap_or_else(|| Instant::now() + self.limits.stopped)
    }

    /// Every stopped thread has been resumed.
    pub fn resumed(&self) {
        self.stop_until.set(None);
    }

    /// Whether a read ran out of stopped time since the last call: what was read while stopped
    /// is incomplete, and must be read again with the target running.
    pub fn take_overrun(&self) -> bool {
        self.overran.replace(false)
    }

    /// What was read so far is thrown away (it ran out of stopped time, or a thread did not
    /// stop) and read again without stopping: the frames and bytes it took are given back,
    /// once, so that the read that replaces it has the whole budget. A sample or a dump thus
    /// costs at most twice its limits. Time is not given back.
    pub fn discarded(&self) {
        if !self.refunded.replace(true) {
            self.frames.set(0);
            self.bytes.set(0);
            if matches!(
                self.exhausted.get(),
                Some(Exhausted::Frames | Exhausted::Bytes)
            ) {
                self.exhausted.set(None);
            }
        }
    }

    /// The budget that ran out first, if one did (stopped time aside).
    pub fn exhausted(&self) -> Option<Exhausted> {
        self.exhausted.get()
    }

    pub fn frames_left(&self) -> u64 {
        self.limits.frames.saturating_sub(self.frames.get())
    }

    fn run_out(&self, what: Exhausted) -> Exhausted {
        if self.exhausted.get().is_none() {
            self.exhausted.set(Some(what));
        }
        what
    }

    /// Checks the clocks: stopped time first (the caller can resume and go on), then the total.
    pub fn check(&self) -> Result<(), Exhausted> {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Result<(), Exhausted> {
        if self.stop_until.get().is_some_and(|until| now >= until) {
            self.overran.set(true);
            return Err(Exhausted::Stopped);
        }
        if now >= self.deadline.get() {
            return Err(self.run_out(Exhausted::Time));
        }
        Ok(())
    }

    /// Takes one frame from the budget. Once any budget has run out, no more frames are
    /// walked; and a walk stops taking frames when a quarter of the bytes or of the time is
    /// left, so that the code objects of the frames it took can still be read.
    pub fn frame(&self) -> Result<(), Exhausted> {
        // The clock every `CLOCK_EVERY` frames, and at the first after threads were stopped:
        // a frame from the batch takes tens of nanoseconds, one read from the target a
        // microsecond or two (and `bytes` looks then too).
        let tick = self.frame_clock.get();
        self.frame_clock.set((tick + 1) % CLOCK_EVERY);
        if tick == 0 {
            let now = Instant::now();
            self.check_at(now)?;
            if now >= self.walk_deadline.get() {
                return Err(self.run_out(Exhausted::Time));
            }
        }
        if let Some(exhausted) = self.exhausted.get() {
            return Err(exhausted);
        }
        if self.bytes.get() > self.limits.bytes / 4 * 3 {
            return Err(self.run_out(Exhausted::Bytes));
        }
        let n = self.frames.get() + 1;
        if n > self.limits.frames {
            return Err(self.run_out(Exhausted::Frames));
        }
        self.frames.set(n);
        Ok(())
    }

    /// Takes `n` bytes from the budget. The clock is looked at every `CLOCK_EVERY` reads (a
    /// read takes a microsecond or two; a walk looks at it for every frame anyway).
    pub fn bytes(&self, n: usize) -> Result<(), Exhausted> {
        let reads = self.reads.get();
        self.reads.set((reads + 1) % CLOCK_EVERY);
        if reads == 0 {
            self.check()?;
        }
        let total = self.bytes.get().saturating_add(n as u64);
        if total > self.limits.bytes {
            return Err(self.run_out(Exhausted::Bytes));
        }
        self.bytes.set(total);
        Ok(())
    }
}

/// A `Memory` whose reads are charged to a budget: once it runs out, reads fail with
/// `ReadError::Budget`.
pub struct Charged<'a> {
    pub mem: &'a dyn Memory,
    pub budget: &'a Budget,
}

impl Memory for Charged<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.budget.bytes(buf.len()).map_err(ReadError::Budget)?;
        self.mem.read(addr, buf)
    }

    fn read_prefix(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        self.budget.bytes(buf.len()).map_err(ReadError::Budget)?;
        self.mem.read_prefix(addr, buf)
    }

    fn read_many(&self, parts: &mut [(u64, &mut [u8])]) -> Result<usize, ReadError> {
        let total = parts.iter().map(|p| p.1.len()).sum();
        self.budget.bytes(total).map_err(ReadError::Budget)?;
        self.mem.read_many(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::FakeMemory;

    #[test]
    fn frames_and_bytes_run_out_and_stay_out() {
        let b = Budget::new(Limits {
            bytes: 100,
            frames: 2,
            stopped: Duration::from_secs(60),
            total: Duration::from_secs(60),
        });
        assert_eq!(b.frame(), Ok(()));
        assert_eq!(b.frame(), Ok(()));
        assert_eq!(b.frames_left(), 0);
        assert_eq!(b.frame(), Err(Exhausted::Frames));
        assert_eq!(b.exhausted(), Some(Exhausted::Frames));
        // The frames walked can still be read.
        assert_eq!(b.bytes(1), Ok(()));
        // A walk leaves a quarter of the bytes for reading what it walked.
        let b = Budget::new(Limits { bytes: 100, ..DUMP });
        assert_eq!(b.bytes(76), Ok(()));
        assert_eq!(b.frame(), Err(Exhausted::Bytes));
        assert_eq!(b.bytes(24), Ok(()));
        assert_eq!(b.bytes(1), Err(Exhausted::Bytes));

        let mut mem = FakeMemory::default();
        mem.write(0x1000, &[7; 64]);
        let b = Budget::new(Limits { bytes: 40, ..DUMP });
        let charged = Charged {
            mem: &mem,
            budget: &b,
        };
        let mut buf = [0u8; 32];
        assert_eq!(charged.read(0x1000, &mut buf), Ok(()));
        assert_eq!(
            charged.read(0x1000, &mut buf),
            Err(ReadError::Budget(Exhausted::Bytes))
        );
        // What failed was not charged: 8 more bytes fit, 9 would not.
        assert!(charged.u64(0x1000).is_ok());
        assert_eq!(
            charged.u64(0x1000),
            Err(ReadError::Budget(Exhausted::Bytes))
        );
    }

    #[test]
    fn stopped_time_runs_out_until_resumed() {
        let b = Budget::new(Limits {
            stopped: Duration::ZERO,
            ..DUMP
        });
        assert_eq!(b.frame(), Ok(()));
        b.stopped(Instant::now());
        assert_eq!(b.frame(), Err(Exhausted::Stopped));
        assert!(b.take_overrun());
        assert!(!b.take_overrun());
        // Stopped time is not a budget that ends the walk: resuming clears it.
        assert_eq!(b.exhausted(), None);
        b.resumed();
        assert_eq!(b.frame(), Ok(()));
        let late = Budget::new(Limits {
            total: Duration::ZERO,
            ..DUMP
        });
        assert_eq!(late.check(), Err(Exhausted::Time));
    }

    #[test]
    fn a_discarded_read_is_given_back_once() {
        let b = Budget::new(Limits { frames: 3, ..DUMP });
        for _ in 0..3 {
            assert_eq!(b.frame(), Ok(()));
        }
        assert_eq!(b.frame(), Err(Exhausted::Frames));
        b.discarded();
        assert_eq!(b.exhausted(), None);
        for _ in 0..3 {
            assert_eq!(b.frame(), Ok(()));
        }
        assert_eq!(b.frame(), Err(Exhausted::Frames));
        b.discarded();
        assert_eq!(b.frame(), Err(Exhausted::Frames));
    }
}
