//! Issue 12, "never harm the target whatever it does": what a profiled target may do
//! while pyflame is attached, and how pyflame must behave, end to end with real
//! interpreters under real ptrace. One file per kind of event:
//!
//! - `exec`: exec() from a thread that is not the main thread (`-p` sampling at 1 and
//!   10 kHz, `-d` in a loop, `-t` following the exec);
//! - `behind`: signals to the target while pyflame is behind its schedule (`-r 0`), the
//!   SIGTERM handler of a target of 2,000 threads, SIGINT to pyflame at `-r 0`;
//! - `dstate`: threads in uninterruptible sleep (D, a vfork parent), GIL holders among them;
//! - `ctrl_z`: SIGTSTP and SIGCONT to pyflame;
//! - `rates`: the idle share at 10 kHz against `--nonblocking`'s, slow rates that end;
//! - `leader`: a main thread that called pthread_exit(), and `-t` on a command that
//!   re-executes itself;
//! - `pair`: signals to two processes sampled at once (`-p A,B`), whose events share one
//!   wait queue.
//!
//! Every pyflame run has a deadline (a run past it fails the test, naming pyflame's kernel
//! wait channel) and every process is killed when its guard drops. The interpreters of
//! `util::events::FULL` (3.12, 2.7) run every scenario in full; the others run fewer
//! repetitions, to keep the suite's time in bounds.

mod behind;
mod ctrl_z;
mod dstate;
mod exec;
mod leader;
mod pair;
mod rates;
