//! The live status line on a terminal: elapsed time, samples, target, and what sampling costs
//! the target (threads stopped, how far behind its schedule pyflame is); cleared at the end.
//! Nothing is written when stderr is not a terminal, so scripts see an empty stderr. The same
//! account, once, is `--verbose`'s closing line.

use std::io::Write;
use std::time::{Duration, Instant};

use super::fixed::fixed;
use crate::attach::Counts;
use crate::profile::Profile;
use crate::sampler::Behind;

/// How often the line is redrawn.
const EVERY: Duration = Duration::from_millis(250);

pub struct Status {
    enabled: bool,
    start: Instant,
    last: Option<Instant>,
    target: String,
    /// Whether the target line still lacks the Python version (`-t`, before it was found).
    unknown_python: bool,
    /// Processes being sampled, shown when more than one may be (process trees).
    pub processes: Option<usize>,
}

impl Status {
    pub fn new(pid: i32, python: &str) -> Status {
        let cmd = crate::proc::cmdline(pid).unwrap_or_default();
        let mut cmd = super::escape::message(&cmd).into_owned();
        if cmd.chars().count() > 40 {
            cmd = cmd.chars().take(39).chain(['…']).collect();
        }
        Status {
            enabled: crate::sys::process::is_terminal(2),
            start: Instant::now(),
            last: None,
            target: format!("PID {pid} {cmd} (Python {python})"),
            unknown_python: python == "?",
            processes: None,
        }
    }

    pub fn update(&mut self, p: &Profile, stops: Counts, behind: Behind) {
        if !self.enabled || self.last.is_some_and(|l| l.elapsed() < EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let processes = match self.processes {
            Some(1) => " | 1 process".to_string(),
            Some(n) => format!(" | {n} processes"),
            None => String::new(),
        };
        let line = format!(
            "\rpyflame: {}{processes} | {} s | {} samples ({} idle, {} failed) | {}\x1b[K",
            self.target,
            fixed(self.start.elapsed().as_secs_f64(), 1),
            p.samples,
            p.idle,
            p.failed,
            cost(stops, behind),
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    /// `--verbose`'s account of a run, in one line.
    pub fn summary(&self, p: &Profile, seconds: f64, stops: Counts, behind: Behind) -> String {
        format!(
            "{} samples in {} s ({} idle, {} failed); {}",
            p.samples,
            fixed(seconds, 1),
            p.idle,
            p.failed,
            cost(stops, behind)
        )
    }

    /// The Python version, once known (`-t`: the command became Python after the start).
    pub fn python(&mut self, python: &str) {
        if self.unknown_python {
            self.unknown_python = false;
            self.target = self
                .target
                .replace("(Python ?)", &format!("(Python {python})"));
        }
    }

    pub fn clear(&mut self) {
        if self.enabled && self.last.is_some() {
            let _ = std::io::stderr().write_all(b"\r\x1b[K");
        }
    }
}

/// Threads stopped (and stops that came late), and samples skipped behind the schedule.
fn cost(stops: Counts, behind: Behind) -> String {
    let mut text = match stops.stops {
        1 => "1 thread stop".to_string(),
        n => format!("{n} thread stops"),
    };
    if stops.late > 0 {
        text += &format!(" ({} late)", stops.late);
    }
    match stops.moved {
        0 => {}
        1 => text += ", 1 read taken again (the stack moved)",
        n => text += &format!(", {n} reads taken again (the stacks moved)"),
    }
    match behind.skipped {
        0 => text += &format!(", at most {} ms behind", behind.most.as_millis()),
        n => {
            text += &format!(
                ", {n} samples skipped (up to {} ms behind)",
                behind.most.as_millis()
            )
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_says_stops_and_how_far_behind() {
        let stops = Counts {
            stops: 12,
            ..Default::default()
        };
        let on_time = Behind::default();
        assert_eq!(cost(stops, on_time), "12 thread stops, at most 0 ms behind");
        let moved = Counts { moved: 3, ..stops };
        assert_eq!(
            cost(moved, on_time),
            "12 thread stops, 3 reads taken again (the stacks moved), at most 0 ms behind"
        );
        let late = Counts {
            stops: 12,
            late: 2,
            moved: 0,
        };
        let behind = Behind {
            skipped: 40,
            most: Duration::from_millis(300),
        };
        assert_eq!(
            cost(late, behind),
            "12 thread stops (2 late), 40 samples skipped (up to 300 ms behind)"
        );
    }
}
