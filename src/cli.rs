//! The command line: one lexopt loop into `Args`, validated, with the original Pyflame's
//! options, defaults and messages (and errors where it silently did the wrong thing).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::output::Format;
use crate::python::{layout, version};

/// The original's one-line usage, which starts every message about a bad command line.
pub const USAGE_LINE: &str =
    "Usage: pyflame [options] [-p] PID | pyflame [options] -t command arg1 arg2...";

pub const USAGE: &str = "\
Usage: pyflame [options] [-p] PID
       pyflame [options] -t command arg1 arg2...

Common Options:
  --threads                Enable multi-threading support
  -d, --dump               Dump stacks from all threads (implies --threads)
  --format=FORMAT          collapsed (the default), flamechart, svg or speedscope; without it,
                           -o FILE.svg writes svg and -o FILE.json speedscope
  -h, --help               Show help
  -n, --no-line-numbers    Do not append line numbers to function names
  -o, --output=PATH        Output to file path
  -p, --pid=PID            The PID to trace (repeat -p, or PID,PID,..., for several)
  -r, --rate=RATE          Sample rate, as a fractional value of seconds (default 0.01)
  -s, --seconds=SECS       How many seconds to run for (default 1)
  -t, --trace              Trace a child process
  -v, --version            Show the version
  -x, --exclude-idle       Exclude idle time from statistics

Advanced Options:
  --async                  asyncio tasks (3.14+): with -d, every task, what it awaits and the await tree;
                           sampling, a running task's chain of awaiting tasks as the outermost frames
  --abi                    Force a particular Python ABI (26, 27, 34, 35, 36, 37 ... 312, or 3.7 ... 3.12;
                           313 and later, free-threaded too: read the target's own _Py_DebugOffsets)
  --flamechart             Include timestamps for generating Chrome \"flamecharts\"
  --native                 Also the C/C++/Rust frames under and between the Python frames (read with
                           the threads stopped); with -d, what each thread waits in (GIL, system call)
  --nonblocking            Never stop the target; count a sample torn by a running thread as (failed)
  --verbose                Say on stderr which Python was found, where, and how its layout was read
  --per-thread             One tower per thread in an SVG (implies --threads)
  --subprocesses           Also every process descending from the PIDs or the command, as they
                           come and go: one profile or dump, each process under its own root
";

/// What to profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `-p`: one or more processes.
    Pids(Vec<i32>),
    /// `-t`: the command and its arguments.
    Trace(Vec<OsString>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    pub target: Target,
    /// `-s`: negative means until the target exits or pyflame is interrupted.
    pub seconds: f64,
    /// `-r`: the period between samples, in seconds.
    pub rate: f64,
    pub output: Option<PathBuf>,
    pub exclude_idle: bool,
    pub no_line_numbers: bool,
    pub dump: bool,
    pub threads: bool,
    /// `--flamechart`: keep the samples' time order (the flamechart format, or a flame chart
    /// in an SVG or speedscope file).
    pub flamechart: bool,
    /// How the profile is written: `--format`, else from the `-o` file's extension.
    pub format: Format,
    /// `--per-thread`: a tower per thread in an SVG.
    pub per_thread: bool,
    /// Never stop the target.
    pub nonblocking: bool,
    /// `--native`: native frames too (read while each thread is stopped).
    pub native: bool,
    /// `--async`: asyncio tasks.
    pub tasks: bool,
    pub abi: Option<(u8, u8)>,
    /// Describe the runtime found on stderr.
    pub verbose: bool,
    /// Printed to stderr before running (the deprecated bare PID).
    pub warning: Option<String>,
    /// `--subprocesses`: every descendant of the processes given too.
    pub subprocesses: bool,
}

impl Args {
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.rate)
    }

    /// How long to sample; None for no limit.
    pub fn duration(&self) -> Option<Duration> {
        (self.seconds >= 0.0).then(|| Duration::from_secs_f64(self.seconds))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Run(Args),
    Help,
    Version,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

/// The original's PID rule (0 < pid <= INT_MAX), without its strtol leniency ("12x" was 12).
fn parse_pid(v: &OsString) -> Result<i32> {
    let s = v.to_string_lossy();
    match s.parse::<i32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(Error::Fatal(format!(
            "Error: failed to parse \"{s}\" as a PID (-p/--pid takes a process id, a positive integer)"
        ))),
    }
}

fn parse_seconds(v: &OsString, option: &str) -> Result<f64> {
    let s = v.to_string_lossy();
    match decimal(s.trim()) {
        Some(x) if x.is_finite() && x.abs() < 1e9 => Ok(x),
        _ => Err(Error::Fatal(format!(
            "Error: failed to parse \"{s}\" as a number of seconds for {option}"
        ))),
    }
}

/// A decimal number: `[+-]digits[.digits][e[+-]digits]` (digits on at least one side of the
/// point), as `str::parse::<f64>` reads it but without its 20 KB of tables: the first 19
/// significant digits, divided or multiplied by an exact power of ten (exact for what a
/// number of seconds needs; the caller rejects what is not finite or over 1e9).
fn decimal(s: &str) -> Option<f64> {
    let (negative, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (number, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| d.bytes().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return None;
    }
    let mut exp: i64 = match exponent {
        Some(e) => {
            let body = e.strip_prefix(['+', '-']).unwrap_or(e);
            if body.is_empty() || body.len() > 6 || !digits(body) {
                return None;
            }
            e.parse().ok()?
        }
        None => 0,
    };
    let mut mantissa: u64 = 0;
    let mut kept = 0;
    for (i, c) in whole.bytes().chain(fraction.bytes()).enumerate() {
        let in_fraction = i >= whole.len();
        if kept < 19 {
            mantissa = mantissa * 10 + u64::from(c - b'0');
            kept += usize::from(mantissa > 0);
            exp -= i64::from(in_fraction);
        } else {
            exp += i64::from(!in_fraction);
        }
    }
    let mut x = mantissa as f64;
    while exp > 0 {
        let k = exp.min(22);
        x *= 10f64.powi(k as i32);
        exp -= k;
    }
    while exp < 0 {
        let k = (-exp).min(22);
        x /= 10f64.powi(k as i32);
        exp += k;
    }
    Some(if negative { -x } else { x })
}

fn parse_abi(v: &OsString) -> Result<(u8, u8)> {
    let s = v.to_string_lossy();
    version::parse_abi(&s)
        // 3.13 and later are read from the target's own _Py_DebugOffsets.
        .filter(|&(major, minor)| {
            layout::for_version(major, minor).is_some() || (major == 3 && minor >= 13)
        })
        .ok_or_else(|| Error::Fatal(format!("Unknown or unsupported ABI version: {s}")))
}

fn parse_format(v: &OsString) -> Result<Format> {
    let s = v.to_string_lossy();
    Format::from_name(&s).ok_or_else(|| {
        Error::Fatal(format!(
            "Unknown output format: {s} (--format takes {})",
            Format::NAMES
        ))
    })
}

/// `--format` wins; else `-o *.svg` / `*.json` choose; else `--flamechart` or collapsed, as
/// the original did.
fn choose_format(args: &mut Args, explicit: Option<Format>) -> Result<()> {
    if args.dump {
        return match (explicit, args.per_thread) {
            (None, false) => Ok(()),
            _ => Err(Error::fatal(
                "Options --format and --per-thread do not apply to -d (the dump is text).",
            )),
        };
    }
    let from_file = args.output.as_deref().and_then(Format::from_extension);
    args.format = match explicit.or(from_file) {
        Some(format) => format,
        None if args.flamechart => Format::Flamechart,
        None => Format::Collapsed,
    };
    match args.format {
        Format::Flamechart => args.flamechart = true,
        Format::Collapsed if args.flamechart => {
            return Err(Error::fatal(
                "Options --flamechart and --format collapsed are not mutually compatible.",
            ))
        }
        _ => {}
    }
    if args.per_thread {
        if args.format != Format::Svg {
            return Err(Error::fatal(
                "Option --per-thread applies to SVG output (--format svg, or -o FILE.svg); \
                 speedscope files have one profile per thread with --threads.",
            ));
        }
        args.threads = true;
    }
    Ok(())
}

/// The ABI numbers of pyflame's own table, which `--version` lists.
/// The ABIs of the built-in table, then `313+`: 3.13 and every later minor, free-threaded
/// builds too, read from the target's own `_Py_DebugOffsets` (one line, as the original's).
pub fn abi_list() -> String {
    let mut abis: Vec<String> = layout::VERSIONS
        .iter()
        .map(|(a, b)| format!("{a}{b}"))
        .collect();
    abis.push("313+".into());
    abis.join(" ")
}

pub fn parse(argv: impl IntoIterator<Item = OsString>) -> Result<Parsed> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(argv);
    let mut pids: Vec<i32> = Vec::new();
    let mut trace: Option<Vec<OsString>> = None;
    let mut positional = Vec::new();
    let mut args = Args {
        target: Target::Pids(Vec::new()),
        seconds: 1.0,
        rate: 0.01,
        output: None,
        exclude_idle: false,
        no_line_numbers: false,
        dump: false,
        threads: false,
        flamechart: false,
        format: Format::Collapsed,
        per_thread: false,
        nonblocking: false,
        native: false,
        tasks: false,
        verbose: false,
        abi: None,
        warning: None,
        subprocesses: false,
    };
    let mut format = None;
    let lex = |e: lexopt::Error| usage(e.to_string());
    while let Some(arg) = parser.next().map_err(lex)? {
        match arg {
            Short('p') | Long("pid") => {
                let value = parser.value().map_err(lex)?;
                // A comma-separated list, and -p repeated: each PID once, in order.
                for one in value.to_string_lossy().split(',') {
                    let pid = parse_pid(&OsString::from(one.trim()))?;
                    if !pids.contains(&pid) {
                        pids.push(pid);
                    }
                }
            }
            Long("subprocesses") => args.subprocesses = true,
            Short('s') | Long("seconds") => {
                args.seconds = parse_seconds(&parser.value().map_err(lex)?, "-s/--seconds")?
            }
            Short('r') | Long("rate") => {
                let value = parser.value().map_err(lex)?;
                let rate = parse_seconds(&value, "-r/--rate")?;
                if rate < 0.0 {
                    return Err(Error::Fatal(format!(
                        "Error: -r/--rate must not be negative (got {})",
                        value.to_string_lossy()
                    )));
                }
                args.rate = rate;
            }
            Short('o') | Long("output") => args.output = Some(parser.value().map_err(lex)?.into()),
            Short('x') | Long("exclude-idle") => args.exclude_idle = true,
            Short('n') | Long("no-line-numbers") => args.no_line_numbers = true,
            Short('d') | Long("dump") => args.dump = true,
            Long("threads") => args.threads = true,
            Long("flamechart") => args.flamechart = true,
            Long("format") => format = Some(parse_format(&parser.value().map_err(lex)?)?),
            Long("per-thread") => args.per_thread = true,
            Long("nonblocking") => args.nonblocking = true,
            Long("native") => args.native = true,
            Long("async") => args.tasks = true,
            Long("verbose") => args.verbose = true,
            Long("abi") => args.abi = Some(parse_abi(&parser.value().map_err(lex)?)?),
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('v') | Long("version") => return Ok(Parsed::Version),
            Short('t') | Long("trace") => {
                // Everything after -t is the command, as in the original (getopt stopped there).
                trace = Some(parser.raw_args().map_err(lex)?.collect());
                break;
            }
            Value(v) => positional.push(v),
            _ => return Err(usage(arg.unexpected().to_string())),
        }
    }
    let pid = (!pids.is_empty()).then_some(());
    args.target = match (trace, pid) {
        (Some(_), _) if args.dump => {
            return Err(Error::fatal(
                "Options -t and -d are not mutually compatible.",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(Error::fatal(
                "Options -t and -p are not mutually compatible.",
            ))
        }
        (Some(cmd), None) if cmd.is_empty() => return Err(usage("-t requires a command to run")),
        (Some(cmd), None) => {
            if !positional.is_empty() {
                return Err(usage(format!(
                    "unexpected argument {:?} before -t",
                    positional[0]
                )));
            }
            args.seconds = -1.0;
            Target::Trace(cmd)
        }
        (None, Some(())) => match positional.first() {
            None => Target::Pids(pids),
            Some(extra) => return Err(usage(format!("unexpected argument {extra:?}"))),
        },
        (None, None) => match positional.as_slice() {
            [one] => {
                let pid = parse_pid(one)?;
                args.warning = Some(
                    "WARNING: Specifying a PID to trace without -p is deprecated; see Pyflame issue #99 for details."
                        .to_string(),
                );
                Target::Pids(vec![pid])
            }
            [] => return Err(usage("")),
            [_, extra, ..] => return Err(usage(format!("unexpected argument {extra:?}"))),
        },
    };
    if args.dump {
        // -d always covers every thread, as the original's x86-64 builds did.
        args.threads = true;
    }
    if args.native && args.nonblocking {
        return Err(Error::fatal(
            "--native reads each thread's registers while it is stopped: it cannot be used with --nonblocking",
        ));
    }

    choose_format(&mut args, format)?;
    Ok(Parsed::Run(args))
}

/// `pyflame <version> [(commit <hash>)] <os> <cpu>`, as the original printed before its ABI list.
pub fn version_line() -> String {
    let commit = match option_env!("PYFLAME_GIT_HASH") {
        Some(h) if !h.is_empty() => format!(" (commit {h})"),
        _ => String::new(),
    };
    let os = if cfg!(target_env = "musl") {
        "linux-musl"
    } else {
        "linux-gnu"
    };
    format!(
        "pyflame {}{commit} {os} {}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
