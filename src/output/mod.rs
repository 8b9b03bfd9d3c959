//! Writing results: where they go (stdout or `-o FILE`) and the text formats, as pure
//! functions over samples that never touch the target.

pub mod collapsed;
pub mod dump;
pub mod flamechart;
pub mod status;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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
        let result = match self {
            Sink::Stdout => {
                let mut out = BufWriter::new(io::stdout().lock());
                out.write_all(text).and_then(|()| out.flush())
            }
            Sink::File(path, file) => {
                let mut out = BufWriter::new(file);
                let r = out.write_all(text).and_then(|()| out.flush());
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
