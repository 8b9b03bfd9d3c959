//! `pyflame -t <command> traced.py exit 3` through any launcher (an embedding program, the
//! dynamic loader, a virtualenv's python): pyflame passes on the status 3, writes nothing to
//! stderr, and work() was sampled.

use super::collapsed::{marked_stack, parse_collapsed};
use super::marks::marks;
use super::process::pyflame;
use super::target::script_path;
use std::ffi::OsString;

/// Runs `pyflame -t <command...> traced.py exit 3` and checks the result.
pub fn check_trace(command: &[OsString]) {
    let traced = script_path("traced.py");
    let mut args: Vec<OsString> = vec!["-t".into()];
    args.extend_from_slice(command);
    args.extend([traced.clone().into(), "exit".into(), "3".into()]);
    let out = pyflame(&args);
    let context = || format!("pyflame {args:?}\n{}", out.describe());
    assert!(
        out.status.code() == Some(3) && out.stderr.is_empty(),
        "{}",
        context()
    );
    let profile = out
        .stdout
        .strip_prefix("traced.py says hello\n")
        .unwrap_or_else(|| panic!("{}", context()));
    let p = parse_collapsed(profile, true).unwrap_or_else(|e| panic!("{e}\n{}", context()));
    let work = marked_stack(
        &traced,
        &marks(&traced),
        &[
            ("<module>", "module"),
            ("main", "main_work"),
            ("work", "work"),
            ("spin", "spin"),
        ],
    );
    assert!(
        p.count_of(&work) > 0,
        "work() was not sampled\n{}",
        context()
    );
}
