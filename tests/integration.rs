//! pyflame's end-to-end tests: one test crate, one module per area.
//! Live tests start real Python interpreters (see util::interp) and profile them.

mod util;

mod asyncio;
mod browser;
mod conduct;
mod dump;
mod embedded;
mod empty_root;
mod errors;
mod exact;
mod executables;
mod formats;
mod future;
mod gunicorn;
mod hostile;
mod namespaces;
mod native;
mod permissions;
mod record;
mod signals;
mod subinterpreters;
mod trace;
mod trees;
mod uwsgi;
mod windows;
