//! pyflame: the command-line program; everything it does is in the library (`src/lib.rs`).

fn main() -> std::process::ExitCode {
    pyflame::main()
}
