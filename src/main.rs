//! pyflame: the command-line program; everything it does is in the library (`src/lib.rs`).

/// The system's allocator with a cache of small blocks in front (see `sys/alloc.rs`).
#[global_allocator]
static ALLOCATOR: pyflame::Allocator = pyflame::Allocator::new();

fn main() -> std::process::ExitCode {
    pyflame::main()
}
