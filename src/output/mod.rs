//! Writing results: where they go (stdout or `-o FILE`), which format a profile is written in,
//! what its title says about the run, and the formats themselves, as pure functions over
//! samples that never touch the target.

pub mod collapsed;
pub mod dump;
pub mod escape;
pub mod fixed;
pub mod flame;
pub mod flamechart;
pub mod speedscope;
pub mod status;
pub mod svg;
pub mod tasks;
#[cfg(test)]
pub mod testing;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::profile::Profile;

/// How a profile is written (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Collapsed,
    Flamechart,
    Svg,
    Speedscope,
}

impl Format {
    pub const NAMES: &'static str = "collapsed, flamechart, svg or speedscope";

    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "collapsed" => Some(Format::Collapsed),
            "flamechart" => Some(Format::Flamechart),
            "svg" => Some(Format::Svg),
            "speedscope" => Some(Format::Speedscope),
            _ => None,
        }
    }

    /// The format an `-o` file's extension asks for: `.svg`, `.json`; None for the rest.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("svg") {
            Some(Format::Svg)
        } else if ext.eq_ignore_ascii_case("json") {
            Some(Format::Speedscope)
        } else {
            None
        }
    }
}

/// What a profile's title says about the run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub pid: i32,
    /// The target's command line, read when sampling started.
    pub command: String,
    /// The Python version, or "?" when no interpreter was found.
    pub python: String,
    /// How long sampling ran, in seconds.
    pub seconds: f64,
    /// `-r`: seconds between samples.
    pub interval: f64,
    /// `--threads`: counts are thread-samples.
    pub threads: bool,
    /// Process trees: how many processes were sampled (None: one, the usual run).
    pub processes: Option<usize>,
}

impl RunInfo {
    /// `PID 42: python3 app.py (Python 3.12.1)`, at most `max` characters: a long command
    /// line loses its start (the interpreter's path) rather than its end (the script).
    pub fn target(&self, max: usize) -> String {
        let head = format!("PID {}: ", self.pid);
        let tail = match self.processes {
            Some(1) => format!(" (Python {}; 1 process)", self.python),
            Some(n) => format!(" (Python {}; {n} processes)", self.python),
            None => format!(" (Python {})", self.python),
        };
        let room = max.saturating_sub(head.len() + tail.len()).max(20);
        let chars = self.command.chars().count();
        let command = if chars > room {
            let kept: String = self.command.chars().skip(chars - (room - 1)).collect();
            format!("\u{2026}{kept}")
        } else {
            self.command.clone()
        };
        format!("{head}{command}{tail}")
    }

    /// `2.00 s, 200 samples at 100/s (-r 0.01), 3 idle, 0 failed`.
    pub fn summary(&self, p: &Profile) -> String {
        let rate = if self.interval > 0.0 {
            let hz = 1.0 / self.interval;
            if hz >= 10.0 {
                format!("{}/s", fixed::fixed(hz, 0))
            } else {
                format!("{}/s", fixed::fixed(hz, 2))
            }
        } else {
            "back to back".to_string()
        };
        let mut text = format!(
            "{} s, {} samples at {rate} (-r {})",
            fixed::fixed(self.seconds, 2),
            p.samples,
            fixed::trimmed(self.interval, 9)
        );
        if self.threads {
            let stacks: u64 = p.stacks.iter().map(|s| s.count).sum();
            text.push_str(&format!(", {stacks} thread stacks"));
        }
        text.push_str(&format!(", {} idle, {} failed", p.idle, p.failed));
        text
    }
}

/// A recorded profile in `format`; `per_thread` gives every thread its own tower in an SVG.
pub fn render_profile(format: Format, p: &Profile, run: &RunInfo, per_thread: bool) -> String {
    match format {
        Format::Collapsed => collapsed::render(p),
        Format::Flamechart => flamechart::render(p),
        Format::Svg => svg::render(p, run, per_thread),
        Format::Speedscope => speedscope::render(p, run),
    }
}

/// Where the profile or dump goes.
pub enum Sink {
    Stdout,
    File(PathBuf, File),
}

impl Sink {
    /// Opens (and truncates) `-o PATH` up front, so a bad path fails before attaching.
    pub fn open(path: Option<&Path>) -> Result<Sink> {
        match path {
            None => Ok(Sink::Stdout),
            Some(p) => match File::create(p) {
                Ok(f) => Ok(Sink::File(p.to_path_buf(), f)),
                Err(e) => Err(Error::Fatal(format!(
                    "cannot open file \"{}\" as output: {}",
                    p.display(),
                    crate::permissions::errno_text(&e)
                ))),
            },
        }
    }

    /// Writes `text` and flushes. A closed stdout (`pyflame ... | head`) is not an error.
    pub fn write(self, text: &[u8]) -> Result<()> {
        self.write_with(|out| out.write_all(text))
    }

    /// Lets `write` write the output, then flushes it.
    pub fn write_with(self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        let result = match self {
            Sink::Stdout => {
                let mut out = BufWriter::new(io::stdout().lock());
                write(&mut out).and_then(|()| out.flush())
            }
            Sink::File(path, file) => {
                let mut out = BufWriter::new(file);
                let r = write(&mut out).and_then(|()| out.flush());
                return r.map_err(|e| {
                    Error::Fatal(format!("cannot write to \"{}\": {e}", path.display()))
                });
            }
        };
        match result {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                Err(Error::Fatal(format!("cannot write output: {e}")))
            }
            _ => Ok(()),
        }
    }
}
