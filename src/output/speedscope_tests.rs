//! Tests of the speedscope writer: the exact file for a small profile, escaping, one profile
//! per thread, time order, `-n`.

use super::*;
use crate::output::testing::{frames, profile, run_info, thread};
use crate::profile::Observation;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// Parses the file with Python's JSON parser, when there is a python3 to run, and returns
/// what the checker prints: per profile `name: weights sum`.
fn parsed(json: &str) -> Option<String> {
    let code = "import sys, json\n\
                d = json.loads(sys.stdin.buffer.read())\n\
                for p in d['profiles']: print('%s: %d' % (p['name'], sum(p['weights'])))";
    let Ok(mut child) = Command::new("/usr/bin/python3")
        .args(["-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("SKIPPED: JSON parse check: no /usr/bin/python3");
        return None;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not valid JSON: {}\n{json}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn the_whole_file_for_a_small_profile() {
    let p = profile(
        &[
            (&[("a.py", "main", 1), ("a.py", "work", 5)], 3),
            (&[("a.py", "main", 1)], 1),
        ],
        2,
        1,
    );
    let json = render(&p, &run_info());
    assert_eq!(
        json,
        "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\
         \"shared\":{\"frames\":[{\"name\":\"(idle)\"},{\"name\":\"(failed)\"},\
         {\"name\":\"main\",\"file\":\"a.py\",\"line\":1},\
         {\"name\":\"work\",\"file\":\"a.py\",\"line\":5}]},\"profiles\":[\n\
         {\"type\":\"sampled\",\"name\":\"PID 42: python3 app.py (Python 3.12.1)\",\
         \"unit\":\"none\",\"startValue\":0,\"endValue\":7,\
         \"samples\":[[0],[1],[2,3],[2]],\"weights\":[2,1,3,1]}],\n\
         \"name\":\"PID 42: python3 app.py (Python 3.12.1): 2.00 s, 7 samples at 100/s \
         (-r 0.01), 2 idle, 1 failed\",\"activeProfileIndex\":0,\
         \"exporter\":\"pyflame@2.0.0\"}\n"
    );
    if let Some(sums) = parsed(&json) {
        assert_eq!(sums, "PID 42: python3 app.py (Python 3.12.1): 7\n");
    }
    // Without line numbers, frames have no line.
    let mut n = Profile::new(false, true, false);
    n.record(0, Observation::Stacks(&[frames(&[("a.py", "main", 1)])]));
    n.record(0, Observation::Idle);
    let json = render(&n, &run_info());
    assert!(json.contains("\"frames\":[{\"name\":\"main\",\"file\":\"a.py\"}]"));
    assert!(json.contains("\"samples\":[[0]],\"weights\":[1]"));
}

#[test]
fn strings_are_escaped() {
    let p = profile(
        &[(
            &[
                ("C:\\x\\\"q\".py", "<lambda>", 1),
                ("a.py", "tab\there\u{1}é", 2),
            ],
            1,
        )],
        0,
        0,
    );
    let mut run = run_info();
    run.command = "python3 -c \"print('\\\\')\"".into();
    let json = render(&p, &run);
    assert!(json.contains("\"name\":\"<lambda>\",\"file\":\"C:\\\\x\\\\\\\"q\\\".py\""));
    // Names arrive escaped (`escape.rs`): `tab\there\x01é`, whose backslashes JSON doubles.
    assert!(json.contains("\"name\":\"tab\\\\there\\\\x01é\""));
    if let Some(sums) = parsed(&json) {
        assert!(sums.ends_with(": 1\n"), "{sums}");
    }
}

#[test]
fn one_profile_per_thread_with_threads() {
    let mut p = Profile::new(true, false, false);
    let a = thread(7, &[("a.py", "main", 1), ("a.py", "a", 2)]);
    let b = thread(8, &[("a.py", "main", 1), ("a.py", "b", 3)]);
    for _ in 0..3 {
        p.record(0, Observation::Threads(&[b.clone(), a.clone()]));
    }
    p.record(0, Observation::Threads(std::slice::from_ref(&b)));
    p.record(0, Observation::Idle);
    let mut run = run_info();
    run.threads = true;
    let json = render(&p, &run);
    let names: Vec<&str> = json
        .split("{\"type\":\"sampled\",\"name\":\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(
        names,
        [
            "thread 7 tid=1007",
            "thread 8 tid=1008",
            "(idle) and (failed)"
        ]
    );
    assert!(json.contains("\"weights\":[3]}"));
    assert!(json.contains("\"weights\":[4]}"));
    // The busiest profile (thread 8) opens first.
    assert!(json.contains("\"activeProfileIndex\":1,"));
    if let Some(sums) = parsed(&json) {
        assert_eq!(
            sums,
            "thread 7 tid=1007: 3\nthread 8 tid=1008: 4\n(idle) and (failed): 1\n"
        );
    }
    // Without --threads, one profile has it all.
    let json = render(&p, &run_info());
    assert_eq!(json.matches("\"type\":\"sampled\"").count(), 1);
    assert!(json.contains("\"weights\":[1,4,3]}"));
}

#[test]
fn time_order_is_kept() {
    let x = frames(&[("a.py", "main", 1), ("a.py", "x", 2)]);
    let y = frames(&[("a.py", "main", 1), ("a.py", "y", 3)]);
    let mut p = Profile::new(true, false, true);
    for seen in [&x, &x, &y, &x, &x, &x] {
        p.record(0, Observation::Stacks(std::slice::from_ref(seen)));
    }
    p.record(0, Observation::Failed);
    p.record(0, Observation::Failed);
    let json = render(&p, &run_info());
    assert!(
        json.contains("\"samples\":[[0,1],[0,2],[0,1],[3]],\"weights\":[2,1,3,2]}"),
        "{json}"
    );
    assert!(json.contains("\"endValue\":8,"));
}

#[test]
fn a_process_tree_has_a_profile_per_process() {
    use crate::python::walk::Frame;
    let (a, b) = (
        Frame::label("process 7 python3 a.py"),
        Frame::label("process 12 python3 \"b\".py"),
    );
    let work = frames(&[("a.py", "main", 1), ("a.py", "work", 5)]);
    let mut p = Profile::new(true, false, false);
    for _ in 0..3 {
        p.record_in(&b, 0, Observation::Stacks(std::slice::from_ref(&work)));
        p.record_in(&a, 0, Observation::Idle);
        p.tick();
    }
    p.record_in(&a, 0, Observation::Stacks(std::slice::from_ref(&work)));
    p.record_in(&b, 0, Observation::Failed);
    p.tick();
    let mut run = run_info();
    run.processes = Some(2);
    let json = render(&p, &run);
    // The labels are frames without a file, and each process's idle and failed samples are
    // its own stacks.
    assert!(
        json.contains("{\"name\":\"process 7 python3 a.py\"}"),
        "{json}"
    );
    assert!(json.contains("(Python 3.12.1; 2 processes)"), "{json}");
    if let Some(parsed) = parsed(&json) {
        assert_eq!(
            parsed,
            "process 7 python3 a.py: 4\nprocess 12 python3 \"b\".py: 4\n"
        );
    }
    // With --threads: one profile per thread, named after its process.
    let mut t = Profile::new(true, false, false);
    t.record_in(
        &a,
        0,
        Observation::Threads(&[thread(3, &[("a.py", "main", 1)])]),
    );
    t.record_in(
        &b,
        0,
        Observation::Threads(&[thread(3, &[("a.py", "main", 1)])]),
    );
    t.record_in(&b, 0, Observation::Idle);
    run.threads = true;
    if let Some(parsed) = parsed(&render(&t, &run)) {
        assert_eq!(
            parsed,
            "(idle) and (failed): 1\n\
             process 7 python3 a.py: thread 3 tid=1003: 1\n\
             process 12 python3 \"b\".py: thread 3 tid=1003: 1\n"
        );
    }
}
