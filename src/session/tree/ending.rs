//! When a run is over: every process sampled has ended and none is left to wait for; for
//! `-t`, how the command ended (also while pyflame did not trace it), or why it never became
//! Python.

use super::{Tree, TRACE_STARTUP};
use crate::attach::{mailbox, Ended};
use crate::error::{Error, Result};
use crate::memory::RemoteMemory;
use crate::session::descendants::alive;
use crate::session::find_runtime;
use crate::sys::ptrace::WaitStatus;

impl Tree<'_> {
    /// `-t`: the command's exit while it is not traced (not Python yet, or between two
    /// programs).
    pub(super) fn command_gone(&mut self) {
        let Some(pid) = self.command else { return };
        if self.command_end.is_some() || self.live.iter().any(|p| p.pid() == pid) {
            return;
        }
        match mailbox::poll(pid) {
            Ok(Some((_, WaitStatus::Exited(code)))) => {
                self.command_end = Some(Ended::Exited(Some(code)))
            }
            Ok(Some((_, WaitStatus::Signaled(sig)))) => self.command_end = Some(Ended::Killed(sig)),
            Ok(_) => return,
            Err(_) => self.command_end = Some(Ended::Exited(None)),
        }
        self.unwait(pid);
    }

    /// Some(how) once nothing is left to sample.
    pub(super) fn finished(&mut self) -> Result<Option<Ended>> {
        if !self.live.is_empty() {
            return Ok(None);
        }
        if let Some(command) = self.command {
            let Some(end) = self.command_end else {
                let waited = self.started.elapsed();
                if self.seen == 0 && !self.args.subprocesses && waited > TRACE_STARTUP {
                    let why =
                        match find_runtime(command, self.args.abi, &RemoteMemory::new(command)) {
                            Err(e) => e.to_string(),
                            Ok(_) => "its Python interpreter did not finish starting".into(),
                        };
                    return Err(Error::Fatal(format!(
                        "{why} (waited {} s for the command to load one; with --subprocesses, pyflame profiles the Python processes it starts)",
                        TRACE_STARTUP.as_secs()
                    )));
                }
                return Ok(None);
            };
            if self.seen == 0 && !self.args.subprocesses {
                let how = match end {
                    Ended::Killed(sig) => format!("was killed by signal {sig}"),
                    Ended::Exited(Some(code)) => format!("exited with status {code}"),
                    _ => "exited".to_string(),
                };
                return Err(Error::Fatal(format!(
                    "Failed to locate libpython: the command {how} before a Python interpreter was found in it"
                )));
            }
            return Ok(Some(end));
        }
        if self.args.subprocesses && self.named.iter().any(|&p| alive(p)) {
            return Ok(None);
        }
        Ok(Some(self.last_end.unwrap_or(Ended::Exited(None))))
    }
}
