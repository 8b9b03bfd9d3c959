//! One error type, classified by what pyflame does next.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The target exited or was killed: write what was collected and exit 0.
    TargetGone,
    /// One sample could not be read (memory changed under the reader, or garbage): count it
    /// as `(failed)` and go on.
    Sample(String),
    /// A bad command line: print the message, then the usage text, and exit 1.
    Usage(String),
    /// Anything else: print this one line and exit 1.
    Fatal(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn fatal(msg: impl Into<String>) -> Error {
        Error::Fatal(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::TargetGone => f.write_str("the target process exited"),
            Error::Sample(m) | Error::Usage(m) | Error::Fatal(m) => f.write_str(m),
        }
    }
}
