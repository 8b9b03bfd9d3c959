//! pyflame as a library: everything the binary does (`run`), and the entry points the fuzz
//! targets under `tests/fuzz` call (`fuzz`). Nothing else is public.
#![deny(unsafe_code)]

mod arch;
mod attach;
mod budget;
mod bytes;
mod cli;
mod elf;
mod error;
#[doc(hidden)]
pub mod fuzz;
mod hash;
mod memory;
mod native;
mod order;
mod output;
mod permissions;
mod prefetch;
mod proc;
mod profile;
mod python;
mod sampler;
mod session;
mod sys;
mod tasks;

use std::process::ExitCode;

/// The allocator the program uses (see `sys::alloc`).
pub use sys::alloc::Caching as Allocator;

use cli::{Parsed, Target};
use error::Error;

/// Parses the command line, runs, and turns an error into one line on stderr and exit status 1.
pub fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        // The cause, not the manual: the original's first usage line (its test suite looks
        // for `Usage: `), then what was wrong. No arguments at all: the whole usage.
        Err(Error::Usage(msg)) if msg.is_empty() => {
            eprint!("{}", cli::USAGE);
            ExitCode::FAILURE
        }
        Err(Error::Usage(msg)) => {
            eprintln!("{}", cli::USAGE_LINE);
            let msg = output::escape::message(&msg);
            eprintln!("pyflame: {msg} (pyflame --help lists the options)");
            ExitCode::FAILURE
        }
        Err(e) => {
            // A message may name files the target chose: nothing in it may act on a terminal.
            eprintln!("{}", output::escape::message(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn run() -> error::Result<ExitCode> {
    let args = match cli::parse(std::env::args_os().skip(1))? {
        Parsed::Help => {
            print!("{}\n\n{}", cli::version_line(), cli::USAGE);
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::Version => {
            println!("{} (ABI list: {})", cli::version_line(), cli::abi_list());
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::Run(args) => args,
    };
    if let Some(w) = &args.warning {
        eprintln!("{w}");
    }
    sys::signal::precise_timers();
    sys::signal::start_watchdog(std::time::Duration::from_millis(100))
        .map_err(|e| Error::Fatal(format!("cannot install a SIGALRM handler: {e}")))?;
    // From here SIGINT, SIGTERM and SIGHUP (stop), SIGTSTP, SIGTTIN and SIGTTOU (suspend) and
    // SIGCHLD (a tracee event) stay pending until pyflame takes them, never while it holds a
    // thread of the target stopped.
    sys::signal::block_waited();
    match &args.target {
        Target::Pids(_) if args.dump => {
            let dumped = session::dump(&args);
            // The target is let go: a pending stop or suspend signal now acts as usual.
            sys::signal::unblock_waited();
            dumped.map(|()| ExitCode::SUCCESS)
        }
        _ => session::record(&args),
    }
}
