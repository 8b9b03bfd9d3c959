//! Subinterpreters (3.12+): `-d` and `--threads` include the threads of every interpreter in
//! the runtime's list, and the dump names the subinterpreter of a thread.

use crate::util::dump_format::parse_dump;
use crate::util::target::spawn_script;
use crate::util::{assert_target_running, per_interpreter, pyflame, Interp};

per_interpreter!(
    subinterpreter_threads,
    [
        py312 => "3.12",
        py313 => "3.13",
        debian314 => "debian-3.14",
        debian315 => "debian-3.15",
        py313t => "3.13t",
        py314t => "3.14t",
    ]
);

/// The subinterpreter's frames, innermost first, as `SUB` in subinterp.py places them.
const SUB_STACK: [(&str, u32); 2] = [("sub_sleep", 4), ("<module>", 5)];

/// The file name `run_string` gives its code: "<string>", and "<script>" from 3.14.
fn sub_file(py: &Interp) -> &'static str {
    match (py.major, py.minor) >= (3, 14) {
        true => "<script>",
        false => "<string>",
    }
}

fn subinterpreter_threads(py: &Interp) {
    if (py.major, py.minor) < (3, 12) {
        eprintln!(
            "SKIPPED: subinterpreter_threads on python {}: no _xxsubinterpreters before 3.12",
            py.name
        );
        return;
    }
    let t = spawn_script(py, "subinterp.py", &[]);
    let pid = t.pid.to_string();
    let out = pyflame(&["-d", "-p", &pid]);
    out.assert_clean_success("pyflame -d of a target with a subinterpreter");
    let threads = parse_dump(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.describe()));
    let sub = threads
        .iter()
        .find(|th| {
            let frames: Vec<(&str, &str, u32)> = th
                .frames
                .iter()
                .map(|f| (f.file.as_str(), f.func.as_str(), f.line))
                .collect();
            let expected: Vec<(&str, &str, u32)> = SUB_STACK
                .iter()
                .map(|&(func, line)| (sub_file(py), func, line))
                .collect();
            frames == expected
        })
        .unwrap_or_else(|| {
            panic!(
                "no thread runs the subinterpreter's code\n{}",
                out.describe()
            )
        });
    let id: i64 = sub
        .info_value("interp")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "the subinterpreter's thread does not name its interpreter\n{}",
                out.describe()
            )
        });
    assert!(id > 0, "interp={id}");
    // The main interpreter's threads are there too, without an interp= label.
    let run_string = t.marks["run_string"];
    assert!(
        threads.iter().any(|th| th.info_value("interp").is_none()
            && th.frames.iter().any(|f| f.line == run_string)),
        "the main interpreter's thread waiting in run_string is missing\n{}",
        out.describe()
    );
    // Sampling every thread sees the subinterpreter's stack in every sample.
    let out = pyflame(&["--threads", "-s", "0.2", "-p", &pid]);
    out.assert_clean_success("pyflame --threads of a target with a subinterpreter");
    let file = sub_file(py);
    let stack = format!("{file}:<module>:5;{file}:sub_sleep:4 ");
    assert!(
        out.stdout.lines().any(|l| l.starts_with(&stack)),
        "--threads: no sample of the subinterpreter's stack\n{}",
        out.describe()
    );
    assert_target_running(t.pid);
}
