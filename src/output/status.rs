//! The live status line on a terminal: elapsed time, samples, target; cleared at the end.
//! Nothing is written when stderr is not a terminal, so scripts see an empty stderr.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::profile::Profile;

/// How often the line is redrawn.
const EVERY: Duration = Duration::from_millis(250);

pub struct Status {
    enabled: bool,
    start: Instant,
    last: Option<Instant>,
    target: String,
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
        }
    }

    pub fn update(&mut self, p: &Profile) {
        if !self.enabled || self.last.is_some_and(|l| l.elapsed() < EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let line = format!(
            "\rpyflame: {} | {:.1} s | {} samples ({} idle, {} failed)\x1b[K",
            self.target,
            self.start.elapsed().as_secs_f64(),
            p.samples,
            p.idle,
            p.failed
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    pub fn clear(&mut self) {
        if self.enabled && self.last.is_some() {
            let _ = std::io::stderr().write_all(b"\r\x1b[K");
        }
    }
}
