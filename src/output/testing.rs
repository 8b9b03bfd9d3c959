//! Profiles for the output tests, built from frames written root first as
//! `(file, function, line)`, the order the outputs print them in.

use std::rc::Rc;

use super::RunInfo;
use crate::profile::{Observation, Profile};
use crate::python::walk::{Code, Frame, FrameKind, Thread};

pub type Spec<'a> = &'a [(&'a str, &'a str, i32)];

/// The frames of a stack, innermost first, as the walker returns them.
pub fn frames(root_first: Spec) -> Vec<Frame> {
    root_first
        .iter()
        .rev()
        .map(|&(file, name, line)| Frame {
            code: Rc::new(Code {
                filename: file.into(),
                name: name.into(),
                kind: FrameKind::Python,
            }),
            line,
        })
        .collect()
}

/// A profile with `count` samples of each stack, then `idle` and `failed` ones.
pub fn profile(stacks: &[(Spec, u64)], idle: u64, failed: u64) -> Profile {
    let mut p = Profile::new(true, false, false);
    for &(spec, count) in stacks {
        let f = frames(spec);
        for _ in 0..count {
            p.record(0, Observation::Stacks(std::slice::from_ref(&f)));
        }
    }
    for _ in 0..idle {
        p.record(0, Observation::Idle);
    }
    for _ in 0..failed {
        p.record(0, Observation::Failed);
    }
    p
}

/// A thread (pthread_t `id`, kernel thread id `id + 1000`) with a stack.
pub fn thread(id: u64, root_first: Spec) -> Thread {
    Thread {
        entries: Vec::new(),
        tstate: id,
        thread_id: id,
        native_id: Some(id as u32 + 1000),
        interp_id: None,
        holds_gil: false,
        frames: frames(root_first),
        omitted: 0,
        anchored: true,
        leaf: Default::default(),
    }
}

pub fn run_info() -> RunInfo {
    RunInfo {
        pid: 42,
        command: "python3 app.py".into(),
        python: "3.12.1".into(),
        seconds: 2.0,
        interval: 0.01,
        threads: false,
        processes: None,
    }
}

/// `n` distinct stacks, 4 to 19 frames deep over 7 files and 11 functions, each ending in a
/// leaf of its own, with 1 to 3 samples each: a large, flat profile.
pub fn distinct_stacks(n: u64) -> Profile {
    let mut p = Profile::new(true, false, false);
    let mut seed: u64 = 1;
    for i in 0..n {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let depth = 3 + (seed >> 60);
        let mut spec: Vec<(String, String, i32)> = (0..depth)
            .map(|d| {
                let file = format!("/srv/app/m{}.py", (seed >> (8 * d % 56)) % 7);
                (file, format!("fn{}", (seed >> (d + 3)) % 11), d as i32)
            })
            .collect();
        spec.push(("/srv/app/leaf.py".into(), format!("leaf{i}"), 1));
        let spec: Vec<(&str, &str, i32)> = spec
            .iter()
            .map(|(f, name, l)| (f.as_str(), name.as_str(), *l))
            .collect();
        let stack = frames(&spec);
        for _ in 0..1 + i % 3 {
            p.record(0, Observation::Stacks(std::slice::from_ref(&stack)));
        }
    }
    p
}
